/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/conftab.c: a small table of every type, parsed from
 * real files; defaults only where the file is silent, errors that name
 * file:line, the key and what it allows, the lines checks after parsing
 * report, named sections, and the dump.
 */
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

#include "conftab.h"
#include "netaddr.h"

struct room {
	char		 name[9];
	char		*title;
	unsigned	 seats;
};

struct demo {
	char			*path;
	char			 tag[8];
	int			 on;
	unsigned		 count;
	size_t			 bytes;
	unsigned		 wait;
	int			 colour;
	char			**people;
	size_t			 npeople;
	struct netaddr_net	 nets[4];
	size_t			 nnets;
	struct room		*rooms;
	size_t			 nrooms;
};

static const char *const colours[] = { "red", "green", "blue", NULL };

static int
tag_ok(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyz") == strlen(s);
}

static const struct conftab_key main_keys[] = {
	CONFTAB_KEY_STR("path", struct demo, path, "/etc/demo", "a file"),
	CONFTAB_KEY_CHECKED("tag", CONFTAB_CHARS, struct demo, tag, tag_ok,
	    "lower-case letters", NULL, "a short word"),
	CONFTAB_KEY_BOOL("on", struct demo, on, "yes", "a switch"),
	CONFTAB_KEY_NUM("count", CONFTAB_UINT, struct demo, count, 1, 10,
	    "3", "a number"),
	CONFTAB_KEY_NUM("bytes", CONFTAB_SIZE, struct demo, bytes, 1024,
	    1024 * 1024, "4k", "a size"),
	CONFTAB_KEY_NUM("wait", CONFTAB_SECS, struct demo, wait, 1, 86400,
	    "90", "a duration"),
	CONFTAB_KEY_ENUM("colour", struct demo, colour, colours, "green",
	    "a word"),
	CONFTAB_KEY_LIST("people", struct demo, people, npeople, "names"),
	CONFTAB_KEY_NETS("nets", struct demo, nets, nnets,
	    CONFTAB_ADD | CONFTAB_NONE, "10.0.0.0/8", "networks"),
	CONFTAB_KEY_END
};

static const struct conftab_key room_keys[] = {
	CONFTAB_KEY_STR("title", struct room, title, NULL, "its title"),
	CONFTAB_KEY_NUM("seats", CONFTAB_UINT, struct room, seats, 0, 100,
	    "4", "chairs"),
	CONFTAB_KEY_END
};

static const struct conftab_section sections[] = {
	CONFTAB_SECTION("main", main_keys),
	CONFTAB_SECTION_ARRAY("room", "NAME", room_keys, struct demo, rooms,
	    nrooms, tag_ok, "1 to 8 lower-case letters"),
	CONFTAB_SECTION_END
};

/*
 * Loads text into *d (zeroed first); 0 or -1 with err. f stays open and
 * names the file (gone by then), until the next load.
 */
static int
load(struct conftab_file *f, struct demo *d, const char *text, char *err,
    size_t errlen)
{
	static char	path[64];
	int		fd, rc;

	strlcpy(path, "/tmp/paprika-conftab.XXXXXX", sizeof(path));
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	memset(d, 0, sizeof(*d));
	err[0] = '\0';
	rc = conftab_load(f, path, sections, d, err, errlen);
	unlink(path);
	return rc;
}

/* Loads text, which must fail with err containing want ("FILE": path). */
static void
refused(const char *text, const char *want)
{
	struct conftab_file	f;
	struct demo		d;
	char			err[512], full[600];

	assert_int_equal(load(&f, &d, text, err, sizeof(err)), -1);
	if (strncmp(want, "FILE", 4) == 0) {
		fmt(full, sizeof(full), "%s%s", f.path, want + 4);
		want = full;
	}
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err, want);
	conftab_done(&f);
	conftab_free(sections, &d);
}

static void
test_defaults(void **state)
{
	struct conftab_file	f;
	struct demo		d;
	char			err[512], a[64];

	assert_int_equal(load(&f, &d, "[main]\ncount = 7\n", err,
	    sizeof(err)), 0);
	assert_string_equal(d.path, "/etc/demo");
	assert_string_equal(d.tag, "");
	assert_int_equal(d.on, 1);
	assert_int_equal(d.count, 7);
	assert_int_equal(d.bytes, 4096);
	assert_int_equal(d.wait, 90);
	assert_int_equal(d.colour, 1);
	assert_int_equal(d.npeople, 0);
	assert_int_equal(d.nnets, 1);
	assert_string_equal(netaddr_net_str(&d.nets[0], a, sizeof(a)),
	    "10.0.0.0/8");
	conftab_done(&f);
	conftab_free(sections, &d);
	assert_null(d.path);
}

/* A key set in the file keeps its value: "" for a string is unset. */
static void
test_values(void **state)
{
	struct conftab_file	f;
	struct demo		d;
	char			err[512];

	assert_int_equal(load(&f, &d, "[main]\npath =\ntag = abc\non = off\n"
	    "bytes = 1m\nwait = 2h\ncolour = blue\npeople = ann, bob\n"
	    "people = cy\nnets = none\n", err, sizeof(err)), 0);
	assert_null(d.path);
	assert_string_equal(d.tag, "abc");
	assert_int_equal(d.on, 0);
	assert_int_equal(d.bytes, 1024 * 1024);
	assert_int_equal(d.wait, 7200);
	assert_int_equal(d.colour, 2);
	assert_int_equal(d.npeople, 3);
	assert_string_equal(d.people[2], "cy");
	assert_int_equal(d.nnets, 0);
	conftab_done(&f);
	conftab_free(sections, &d);
	assert_null(d.people);
	assert_int_equal(d.npeople, 0);
}

/* Each bound, in the key's own units, with the file's line. */
static void
test_bounds(void **state)
{
	refused("[main]\n\ncount = 11\n", "FILE:3: count 11 is out of range "
	    "(1 to 10)");
	refused("[main]\ncount = 0\n", "count 0 is out of range (1 to 10)");
	refused("[main]\ncount = -1\n", "count: \"-1\" is not a number");
	refused("[main]\ncount = 99999999999999999999\n", "is not a number");
	refused("[main]\nbytes = 100\n", "bytes 100 is out of range (1k to "
	    "1m)");
	refused("[main]\nbytes = 2m\n", "out of range (1k to 1m)");
	refused("[main]\nwait = 0\n", "wait 0 is out of range (1s to 1d)");
	refused("[main]\nwait = 2d\n", "wait 2d is out of range (1s to 1d)");
	refused("[main]\nwait = 5x\n", "wait: \"5x\" is not a valid value");
	refused("[room a]\nseats = 101\n", "FILE:2: seats 101 is out of range "
	    "(0 to 100)");
}

/* Words, yes/no, forms and names: the message says what is allowed. */
static void
test_words(void **state)
{
	refused("[main]\ncolour = pink\n", "FILE:2: colour \"pink\": use red, "
	    "green or blue");
	refused("[main]\non = maybe\n", "on: \"maybe\" is not yes or no");
	refused("[main]\ntag = ABC\n", "tag \"ABC\": lower-case letters");
	refused("[main]\ntag = abcdefghij\n", "tag \"abcdefghij\": lower-case");
	refused("[main]\ntag =\n", "tag \"\": lower-case letters");
	refused("[main]\npeople = a,,b\n", "people: empty item in \"a,,b\"");
	refused("[main]\nnets = 10.0.0.1/8\n", "nets: bad network "
	    "\"10.0.0.1/8\"");
	refused("[room Big]\nseats = 1\n", "section name \"Big\": 1 to 8 "
	    "lower-case letters");
	refused("[room abcdefghi]\nseats = 1\n", "section name \"abcdefghi\"");
}

/* Unknown keys and sections: small sections list their keys. */
static void
test_unknown(void **state)
{
	refused("[main]\ncolor = red\n", "FILE:2: unknown setting \"color\" "
	    "in [main]");
	refused("[room a]\nsofa = 1\n", "unknown setting \"sofa\" in [room a]: "
	    "use title or seats");
	refused("[kitchen]\na = b\n", "unknown section [kitchen]: use [main] "
	    "or [room NAME]");
	refused("[room]\nseats = 1\n", "unknown section [room]");
	refused("[main x]\ncount = 1\n", "unknown section [main x]");
}

/* Lists of networks add up with CONFTAB_ADD, to the array's size. */
static void
test_nets(void **state)
{
	struct conftab_file	f;
	struct demo		d;
	char			err[512];

	assert_int_equal(load(&f, &d, "[main]\nnets = 10.1.0.0/16\n"
	    "nets = 10.2.0.0/16, fd00::/8\n", err, sizeof(err)), 0);
	assert_int_equal(d.nnets, 3);
	conftab_done(&f);
	conftab_free(sections, &d);
	refused("[main]\nnets = 10.1.0.0/16, 10.2.0.0/16\nnets = 10.3.0.0/16, "
	    "10.4.0.0/16, 10.5.0.0/16\n", "FILE:3: nets: bad network");
}

/* conftab_error: the key's last line, else the section's first, else none. */
static void
test_error_lines(void **state)
{
	struct conftab_file	f;
	struct demo		d;
	char			err[512], want[600];

	assert_int_equal(load(&f, &d, "# a comment\n[main]\ncount = 2\n\n"
	    "count = 4\n[room a]\n\nseats = 9\n[room b]\ntitle = B\n", err,
	    sizeof(err)), 0);
	assert_int_equal(conftab_line(&f, "main", NULL, "count"), 5);
	assert_int_equal(conftab_line(&f, "main", NULL, NULL), 3);
	assert_int_equal(conftab_line(&f, "main", NULL, "bytes"), 0);
	assert_int_equal(conftab_line(&f, "room", "a", "seats"), 8);
	assert_int_equal(conftab_line(&f, "room", "b", "seats"), 0);
	assert_int_equal(conftab_error(&f, "room", "a", "seats", err,
	    sizeof(err), "[room %s] has %u seats", "a", d.rooms[0].seats), -1);
	fmt(want, sizeof(want), "%s:8: [room a] has 9 seats", f.path);
	assert_string_equal(err, want);
	conftab_error(&f, "room", "b", "seats", err, sizeof(err), "too few");
	fmt(want, sizeof(want), "%s:10: too few", f.path);
	assert_string_equal(err, want);
	conftab_error(&f, "", NULL, NULL, err, sizeof(err), "no kitchen");
	fmt(want, sizeof(want), "%s: no kitchen", f.path);
	assert_string_equal(err, want);
	conftab_done(&f);
	conftab_free(sections, &d);
}

/* Named sections: one object per name, in file order, with defaults. */
static void
test_sections(void **state)
{
	struct conftab_file	f;
	struct demo		d;
	char			err[512];

	assert_int_equal(load(&f, &d, "[room b]\nseats = 9\n[room a]\n"
	    "title = A\n[room b]\ntitle = B\n", err, sizeof(err)), 0);
	assert_int_equal(d.nrooms, 2);
	assert_string_equal(d.rooms[0].name, "b");
	assert_int_equal(d.rooms[0].seats, 9);
	assert_string_equal(d.rooms[0].title, "B");
	assert_string_equal(d.rooms[1].name, "a");
	assert_int_equal(d.rooms[1].seats, 4);
	conftab_done(&f);
	conftab_free(sections, &d);
	assert_null(d.rooms);
	assert_int_equal(d.nrooms, 0);
}

/* What conftab_dump prints (the caller frees it). */
static char *
dump_of(const struct demo *d)
{
	char	*dump = NULL;
	size_t	 len = 0;
	FILE	*fp;

	assert_non_null(fp = open_memstream(&dump, &len));
	conftab_dump(sections, d, fp);
	fclose(fp);
	return dump;
}

static void
test_dump(void **state)
{
	struct conftab_file	f;
	struct demo		d;
	char			err[512], *dump;

	assert_int_equal(load(&f, &d, "[main]\ntag = x\npeople = a, b\n"
	    "nets = fd00::/8\n[room z]\ntitle = Zed\n", err, sizeof(err)), 0);
	dump = dump_of(&d);
	assert_string_equal(dump, "[main]\npath = /etc/demo\ntag = x\n"
	    "on = yes\ncount = 3\nbytes = 4096\nwait = 90s\ncolour = green\n"
	    "people = a, b\nnets = fd00::/8\n\n[room z]\ntitle = Zed\n"
	    "seats = 4\n");
	free(dump);
	conftab_done(&f);
	conftab_free(sections, &d);
	assert_int_equal(load(&f, &d, "[main]\nnets = none\n", err,
	    sizeof(err)), 0);
	dump = dump_of(&d);
	assert_non_null(strstr(dump, "people = \nnets = none\n"));
	free(dump);
	conftab_done(&f);
	conftab_free(sections, &d);
}

/* The key list documents every key with its range and default. */
static void
test_list(void **state)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*fp;

	assert_non_null(fp = open_memstream(&text, &len));
	conftab_list(sections, fp);
	fclose(fp);
	assert_non_null(strstr(text, "[main] wait: seconds 1s to 1d; default "
	    "90; a duration\n"));
	assert_non_null(strstr(text, "[room NAME] seats: number 0 to 100; "
	    "default 4; chairs\n"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_nets),
		cmocka_unit_test(test_error_lines),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
