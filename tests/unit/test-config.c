/* SPDX-License-Identifier: ISC */
/* Unit tests for common/config.c: the INI reader and value helpers. */
#include <sys/stat.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "config.h"

#define SEEN_MAX	16

/* What the handler saw, and on which name it should fail. */
struct seen {
	size_t		 n;
	char		 section[SEEN_MAX][64];
	char		 name[SEEN_MAX][64];
	char		 value[SEEN_MAX][512];
	const char	*fail_on;
};

static char	tmpdir[] = "/tmp/paprika-test-config.XXXXXX";

static int
setup(void **state)
{
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[512];

	if ((d = opendir(tmpdir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(tmpdir);
}

/* Writes text to a file in the temporary directory; returns its path. */
static const char *
write_file(const char *name, const char *text)
{
	static char	 path[256];
	FILE		*fp;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
	return path;
}


static int
handler(void *arg, const char *section, const char *name, const char *value,
    char *err, size_t errlen)
{
	struct seen	*s = arg;

	if (s->fail_on != NULL && strcmp(name, s->fail_on) == 0) {
		snprintf(err, errlen, "%s: refused by the test", name);
		return -1;
	}
	assert_true(s->n < SEEN_MAX);
	snprintf(s->section[s->n], sizeof s->section[0], "%s", section);
	snprintf(s->name[s->n], sizeof s->name[0], "%s", name);
	snprintf(s->value[s->n], sizeof s->value[0], "%s", value);
	s->n++;
	return 0;
}

static void
test_parse_sections(void **state)
{
	struct seen	 s;
	char		 err[256];
	const char	*path;

	memset(&s, 0, sizeof s);
	path = write_file("ok.conf",
	    "# a comment\n"
	    "; another comment\n"
	    "top = level\n"
	    "\n"
	    "[gateway]\n"
	    "listen = 127.0.0.1:3128\n"
	    "max_headers =   32  \n"
	    "[tickets]\n"
	    "keys=/etc/paprika/keys\n"
	    "empty =\n");
	err[0] = '\0';
	assert_int_equal(config_parse_file(path, handler, &s, err, sizeof err),
	    0);
	assert_string_equal(err, "");
	assert_int_equal(s.n, 5);
	assert_string_equal(s.section[0], "");
	assert_string_equal(s.name[0], "top");
	assert_string_equal(s.value[0], "level");
	assert_string_equal(s.section[1], "gateway");
	assert_string_equal(s.name[1], "listen");
	assert_string_equal(s.value[1], "127.0.0.1:3128");
	assert_string_equal(s.section[2], "gateway");
	assert_string_equal(s.name[2], "max_headers");
	assert_string_equal(s.value[2], "32");
	assert_string_equal(s.section[3], "tickets");
	assert_string_equal(s.name[3], "keys");
	assert_string_equal(s.value[3], "/etc/paprika/keys");
	assert_string_equal(s.section[4], "tickets");
	assert_string_equal(s.name[4], "empty");
	assert_string_equal(s.value[4], "");
}

static void
test_handler_error_line(void **state)
{
	struct seen	 s;
	char		 err[512], want[512];
	const char	*path;

	memset(&s, 0, sizeof s);
	s.fail_on = "bad";
	path = write_file("handler.conf",
	    "[gateway]\n"
	    "listen = 127.0.0.1:3128\n"
	    "# comment\n"
	    "\n"
	    "bad = value\n"
	    "after = 1\n");
	assert_int_equal(config_parse_file(path, handler, &s, err, sizeof err),
	    -1);
	snprintf(want, sizeof want, "%s:5: bad: refused by the test", path);
	assert_string_equal(err, want);
	/* The error stops the handler calls that follow it. */
	assert_int_equal(s.n, 1);

	/* On the first line too. */
	memset(&s, 0, sizeof s);
	s.fail_on = "bad";
	path = write_file("first.conf", "bad = 1\nok = 2\n");
	assert_int_equal(config_parse_file(path, handler, &s, err, sizeof err),
	    -1);
	snprintf(want, sizeof want, "%s:1: bad: refused by the test", path);
	assert_string_equal(err, want);

	/* And on a last line with no newline. */
	memset(&s, 0, sizeof s);
	s.fail_on = "bad";
	path = write_file("last.conf", "[a]\nok = 2\nbad = 1");
	assert_int_equal(config_parse_file(path, handler, &s, err, sizeof err),
	    -1);
	snprintf(want, sizeof want, "%s:3: bad: refused by the test", path);
	assert_string_equal(err, want);
}

static void
test_syntax_error_line(void **state)
{
	struct seen	 s;
	char		 err[512], want[512];
	const char	*path;

	memset(&s, 0, sizeof s);
	path = write_file("syntax.conf",
	    "[gateway]\n"
	    "listen = 127.0.0.1:3128\n"
	    "\n"
	    "this line has no equals sign\n"
	    "after = 1\n");
	assert_int_equal(config_parse_file(path, handler, &s, err, sizeof err),
	    -1);
	snprintf(want, sizeof want, "%s:4: ", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, want);
	assert_non_null(strstr(err, "syntax error"));

	memset(&s, 0, sizeof s);
	path = write_file("section.conf", "[gateway\nlisten = 1\n");
	assert_int_equal(config_parse_file(path, handler, &s, err, sizeof err),
	    -1);
	snprintf(want, sizeof want, "%s:1: ", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, want);
}

/*
 * inih reads lines into a 200-byte buffer and would parse the rest of a
 * longer line as a line of its own: a long value cut short without an error,
 * its tail defining another name, every line number after it off by one.
 * A line that does not fit is refused, with its line number.
 */
static void
test_long_line(void **state)
{
	struct seen	 s;
	char		 text[1024], err[512], want[512];
	const char	*path;
	size_t		 i;
	int		 rc;

	memset(&s, 0, sizeof s);
	fmt(text, sizeof text, "[gateway]\nnets = %0*d, port=1\nok = 2\n", 220,
	    0);
	path = write_file("long.conf", text);
	err[0] = '\0';
	rc = config_parse_file(path, handler, &s, err, sizeof err);
	if (rc == 0) {
		/* Accepted: then it must have been read whole. */
		assert_int_equal(s.n, 2);
		assert_string_equal(s.name[0], "nets");
		assert_int_equal(strlen(s.value[0]), 220 + strlen(", port=1"));
		assert_string_equal(s.name[1], "ok");
		return;
	}
	/* Refused: on line 2, the long one, and with nothing defined. */
	fmt(want, sizeof want, "%s:2: ", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, want);
	for (i = 0; i < s.n; i++) {
		if (strcmp(s.name[i], "nets") == 0 ||
		    strcmp(s.name[i], "port") == 0)
			fail_msg("the cut line defined \"%s\"", s.name[i]);
	}

	/* Just under the limit: read whole, and the lines count right. */
	memset(&s, 0, sizeof s);
	s.fail_on = "bad";
	fmt(text, sizeof text, "[a]\nname = %0*d\nbad = 1\n", 190, 7);
	path = write_file("long-ok.conf", text);
	assert_int_equal(config_parse_file(path, handler, &s, err, sizeof err),
	    -1);
	assert_int_equal(s.n, 1);
	assert_int_equal(strlen(s.value[0]), 190);
	fmt(want, sizeof want, "%s:3: bad: refused by the test", path);
	assert_string_equal(err, want);
}

static void
test_missing_file(void **state)
{
	struct seen	 s;
	char		 err[512], path[256];

	memset(&s, 0, sizeof s);
	snprintf(path, sizeof path, "%s/does-not-exist.conf", tmpdir);
	assert_int_equal(config_parse_file(path, handler, &s, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(s.n, 0);
}

static void
test_seconds(void **state)
{
	static const struct {
		const char	*in;
		uint64_t	 want;
	} ok[] = {
		{ "0", 0 }, { "30", 30 }, { "30s", 30 }, { "5m", 300 },
		{ "2h", 7200 }, { "1d", 86400 }, { "7d", 604800 },
	};
	static const char	*bad[] = {
		"x", "5y", "", "-1", " 30", "30 ", "30ss", "s", "1.5h", "+5",
		"5M", "0x10", "99999999999999999999", "30s\n",
	};
	uint64_t	v;
	char		err[256];
	size_t		i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		v = 12345;
		if (config_seconds(ok[i].in, UINT64_MAX, &v, err,
		    sizeof err) != 0)
			fail_msg("config_seconds refused \"%s\": %s", ok[i].in,
			    err);
		assert_int_equal(v, ok[i].want);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		v = 12345;
		if (config_seconds(bad[i], UINT64_MAX, &v, err,
		    sizeof err) != -1)
			fail_msg("config_seconds accepted \"%s\"", bad[i]);
		assert_int_equal(v, 12345);
		assert_true(strlen(err) > 0);
	}

	/* The maximum, with and without a unit. */
	assert_int_equal(config_seconds("3600", 3600, &v, err, sizeof err), 0);
	assert_int_equal(config_seconds("60m", 3600, &v, err, sizeof err), 0);
	assert_int_equal(v, 3600);
	assert_int_equal(config_seconds("3601", 3600, &v, err, sizeof err), -1);
	assert_int_equal(config_seconds("61m", 3600, &v, err, sizeof err), -1);
	assert_int_equal(config_seconds("2h", 3600, &v, err, sizeof err), -1);
	assert_non_null(strstr(err, "out of range"));

	/* The multiplication must not wrap around. */
	assert_int_equal(config_seconds("213503982334601d", UINT64_MAX, &v,
	    err, sizeof err), 0);
	assert_int_equal(v, 213503982334601ULL * 86400);
	assert_int_equal(config_seconds("213503982334602d", UINT64_MAX, &v,
	    err, sizeof err), -1);
	assert_int_equal(config_seconds("18446744073709551615", UINT64_MAX, &v,
	    err, sizeof err), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(config_seconds("18446744073709551615s", UINT64_MAX,
	    &v, err, sizeof err), 0);
	assert_int_equal(config_seconds("18446744073709551615m", UINT64_MAX,
	    &v, err, sizeof err), -1);
	assert_int_equal(config_seconds("18446744073709551616", UINT64_MAX, &v,
	    err, sizeof err), -1);
	assert_int_equal(config_seconds("307445734561825861m", UINT64_MAX, &v,
	    err, sizeof err), -1);
}

static void
test_size(void **state)
{
	uint64_t	v;
	char		err[256];

	assert_int_equal(config_size("65536", 1, UINT64_MAX, &v, err,
	    sizeof err), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(config_size("64k", 1, UINT64_MAX, &v, err,
	    sizeof err), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(config_size("64K", 1, UINT64_MAX, &v, err,
	    sizeof err), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(config_size("1m", 1, UINT64_MAX, &v, err,
	    sizeof err), 0);
	assert_int_equal(v, 1048576);
	assert_int_equal(config_size("2M", 1, UINT64_MAX, &v, err,
	    sizeof err), 0);
	assert_int_equal(v, 2097152);

	/* Bounds, after the unit is applied. */
	assert_int_equal(config_size("4k", 4096, 8192, &v, err, sizeof err), 0);
	assert_int_equal(config_size("8k", 4096, 8192, &v, err, sizeof err), 0);
	assert_int_equal(config_size("3k", 4096, 8192, &v, err, sizeof err),
	    -1);
	assert_int_equal(config_size("9k", 4096, 8192, &v, err, sizeof err),
	    -1);
	assert_int_equal(config_size("4095", 4096, 8192, &v, err, sizeof err),
	    -1);
	assert_int_equal(config_size("0k", 1, 8192, &v, err, sizeof err), -1);

	v = 7;
	assert_int_equal(config_size("1g", 1, UINT64_MAX, &v, err, sizeof err),
	    -1);
	assert_int_equal(config_size("1kb", 1, UINT64_MAX, &v, err,
	    sizeof err), -1);
	assert_int_equal(config_size("k", 1, UINT64_MAX, &v, err, sizeof err),
	    -1);
	assert_int_equal(config_size("", 1, UINT64_MAX, &v, err, sizeof err),
	    -1);
	assert_int_equal(config_size("-1k", 1, UINT64_MAX, &v, err,
	    sizeof err), -1);
	assert_int_equal(config_size("18014398509481984k", 1, UINT64_MAX, &v,
	    err, sizeof err), -1);
	assert_int_equal(v, 7);
}

static void
test_bool(void **state)
{
	static const char	*yes[] = { "yes", "true", "on", "1" };
	static const char	*no[] = { "no", "false", "off", "0" };
	static const char	*bad[] = {
		"", "y", "n", "YES", "maybe", "2", "yes ", " no", "ja",
	};
	char	err[256];
	int	v;
	size_t	i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		v = -1;
		assert_int_equal(config_bool(yes[i], &v, err, sizeof err), 0);
		assert_int_equal(v, 1);
	}
	for (i = 0; i < sizeof no / sizeof no[0]; i++) {
		v = -1;
		assert_int_equal(config_bool(no[i], &v, err, sizeof err), 0);
		assert_int_equal(v, 0);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = -1;
		err[0] = '\0';
		if (config_bool(bad[i], &v, err, sizeof err) != -1)
			fail_msg("config_bool accepted \"%s\"", bad[i]);
		assert_int_equal(v, -1);
		assert_true(strlen(err) > 0);
	}
}

static void
test_uint(void **state)
{
	uint64_t	v;
	char		err[256];

	assert_int_equal(config_uint("1", 1, 1000, &v, err, sizeof err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(config_uint("1000", 1, 1000, &v, err, sizeof err), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(config_uint("0001", 1, 1000, &v, err, sizeof err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(config_uint("18446744073709551615", 0, UINT64_MAX, &v,
	    err, sizeof err), 0);
	assert_int_equal(v, UINT64_MAX);

	v = 42;
	assert_int_equal(config_uint("0", 1, 1000, &v, err, sizeof err), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(config_uint("1001", 1, 1000, &v, err, sizeof err), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(config_uint("-1", 0, UINT64_MAX, &v, err, sizeof err),
	    -1);
	assert_int_equal(config_uint(" 1", 0, 1000, &v, err, sizeof err), -1);
	assert_int_equal(config_uint("1 ", 0, 1000, &v, err, sizeof err), -1);
	assert_int_equal(config_uint("1k", 0, 100000, &v, err, sizeof err), -1);
	assert_int_equal(config_uint("", 0, 1000, &v, err, sizeof err), -1);
	assert_int_equal(config_uint("0x10", 0, 1000, &v, err, sizeof err), -1);
	assert_int_equal(config_uint("18446744073709551616", 0, UINT64_MAX, &v,
	    err, sizeof err), -1);
	assert_int_equal(v, 42);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_parse_sections),
		cmocka_unit_test(test_handler_error_line),
		cmocka_unit_test(test_syntax_error_line),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_uint),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
