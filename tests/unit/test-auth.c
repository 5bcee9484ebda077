/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/auth/auth.c with the local users file only (PAM is
 * tested against pam_wrapper in tests/loopback/test-pam.sh).
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "unit.h"

/* Each test gets a fresh directory holding "users". */
struct fixture {
	char	dir[64];
	char	path[128];
};

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof *f)) == NULL)
		return -1;
	strlcpy(f->dir, "/tmp/paprika-test-auth.XXXXXX", sizeof f->dir);
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/users", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	int		 rc;

	unlink(f->path);
	rc = rmdir(f->dir);
	free(f);
	return rc;
}

static void
put(const char *path, const char *text, mode_t mode)
{
	FILE	*fp;

	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static char *
hash_of(const char *password)
{
	static char	hash[256];

	assert_int_equal(auth_hash_password(password, hash, sizeof hash), 0);
	return hash;
}

/* auth_check with the users file only. */
static int
check(const char *path, const char *user, const char *password,
    struct auth_user *u, char *err, size_t errlen)
{
	struct auth_config	cfg = { .pam_service = NULL, .users_file = path };

	memset(u, 0xa5, sizeof *u);
	return auth_check(&cfg, user, password, u, err, errlen);
}

static void
test_valid_name(void **state)
{
	char	long_name[AUTH_NAME_MAX + 2];

	assert_true(auth_valid_name("bob"));
	assert_true(auth_valid_name("bob.smith@example.org"));
	assert_true(auth_valid_name("a_b-c9"));
	assert_false(auth_valid_name(""));
	assert_false(auth_valid_name("-bob"));
	assert_false(auth_valid_name("bob smith"));
	assert_false(auth_valid_name("bob:x"));
	assert_false(auth_valid_name("b\xc3\xb6" "b"));
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[AUTH_NAME_MAX] = '\0';
	assert_true(auth_valid_name(long_name));
	long_name[AUTH_NAME_MAX] = 'a';
	long_name[AUTH_NAME_MAX + 1] = '\0';
	assert_false(auth_valid_name(long_name));
}

static void
test_hash_round_trip(void **state)
{
	struct fixture		*f = *state;
	struct auth_user	 u;
	char			 a[256], b[256], small[64], text[1024], err[256];

	assert_int_equal(auth_hash_password("pässwörd 1", a, sizeof a), 0);
	assert_int_equal(auth_hash_password("pässwörd 1", b, sizeof b), 0);
	assert_int_equal(strncmp(a, "$argon2id$", 10), 0);
	/* Salted: the same password never gives the same string. */
	assert_string_not_equal(a, b);
	assert_int_equal(auth_hash_password("x", small, sizeof small), -1);

	fmt(text, sizeof text, "bob:%s:\n", a);
	put(f->path, text, 0600);
	if (check(f->path, "bob", "pässwörd 1", &u, err, sizeof err) !=
	    AUTH_OK)
		fail_msg("auth_check: %s", err);
	assert_int_equal(check(f->path, "bob", "pässwörd 2", &u, err,
	    sizeof err), AUTH_DENIED);
}

static void
test_good_file(void **state)
{
	struct fixture		*f = *state;
	struct auth_user	 u;
	char			 text[2048], err[256];
	char			*h;

	h = hash_of("alice-pw");
	fmt(text, sizeof text,
	    "# Paprika users\n"
	    "\n"
	    "   \t\n"
	    "  # an indented comment\n"
	    "alice:%s:staff,vdi-users\n"
	    "bob:%s\n"
	    "carol:%s:\r\n",
	    h, h, h);
	put(f->path, text, 0640);
	if (auth_users_check(f->path, err, sizeof err) != 0)
		fail_msg("auth_users_check: %s", err);

	if (check(f->path, "alice", "alice-pw", &u, err, sizeof err) !=
	    AUTH_OK)
		fail_msg("auth_check: %s", err);
	assert_string_equal(u.name, "alice");
	assert_string_equal(u.source, "local");
	assert_int_equal(u.ngroups, 2);
	assert_string_equal(u.groups[0], "staff");
	assert_string_equal(u.groups[1], "vdi-users");

	assert_int_equal(check(f->path, "bob", "alice-pw", &u, err,
	    sizeof err), AUTH_OK);
	assert_int_equal(u.ngroups, 0);
	assert_int_equal(check(f->path, "carol", "alice-pw", &u, err,
	    sizeof err), AUTH_OK);
	assert_int_equal(u.ngroups, 0);
}

static void
test_passwords(void **state)
{
	struct fixture		*f = *state;
	struct auth_user	 u;
	char			 text[1024], err[256];
	char			 longpw[AUTH_PASSWORD_MAX + 2];
	size_t			 i;
	/* Unknown and unacceptable names get the answer of a wrong password. */
	const struct {
		const char	*user, *password;
		int		 want;
	} cases[] = {
		{ "bob", "right", AUTH_OK },
		{ "bob", "wrong", AUTH_DENIED },
		{ "bob", "right ", AUTH_DENIED },
		{ "bob", "", AUTH_DENIED },
		{ "alice", "right", AUTH_DENIED },
		{ "Bob", "right", AUTH_OK },
		{ "Bob", "wrong", AUTH_DENIED },
		{ "-bob", "right", AUTH_DENIED },
		{ "bob:x", "right", AUTH_DENIED },
	};

	fmt(text, sizeof text, "bob:%s:g1\n", hash_of("right"));
	put(f->path, text, 0600);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (check(f->path, cases[i].user, cases[i].password, &u, err,
		    sizeof err) != cases[i].want)
			fail_msg("%s/%s: not %d", cases[i].user,
			    cases[i].password, cases[i].want);
	}
	assert_string_equal(err, "");
	memset(longpw, 'p', sizeof longpw - 1);
	longpw[sizeof longpw - 1] = '\0';
	assert_int_equal(check(f->path, "bob", longpw, &u, err, sizeof err),
	    AUTH_DENIED);
	assert_int_equal(auth_hash_password(longpw, text, sizeof text), -1);
}

/* A name given in another case is the entry's user, with its spelling. */
static void
test_name_case(void **state)
{
	struct fixture		*f = *state;
	struct auth_user	 u;
	char			 text[1024], err[256];
	const char		*given[] = { "Alice", "alice", "ALICE", "aLiCe" };
	size_t			 i;

	fmt(text, sizeof text, "Alice:%s:staff\n", hash_of("right"));
	put(f->path, text, 0600);
	for (i = 0; i < sizeof given / sizeof given[0]; i++) {
		if (check(f->path, given[i], "right", &u, err, sizeof err) !=
		    AUTH_OK)
			fail_msg("%s: not OK (%s)", given[i], err);
		assert_string_equal(u.name, "Alice");
		assert_string_equal(u.source, "local");
		assert_int_equal(check(f->path, given[i], "wrong", &u, err,
		    sizeof err), AUTH_DENIED);
	}
	auth_fold_name("ALice.Smith@EXAMPLE-1", text, sizeof text);
	assert_string_equal(text, "alice.smith@example-1");
	auth_fold_name("ABCDEF", text, 4);
	assert_string_equal(text, "abc");
}

/* UID_MIN from login.defs: the last setting, or 1000 without one. */
static void
test_uid_min(void **state)
{
	struct fixture	*f = *state;

	put(f->path, "# UID_MIN 5\nMAIL_DIR /var/mail\nUID_MIN\t\t 500\n"
	    "UID_MINIMUM 7\nUID_MAX 60000\n", 0600);
	assert_int_equal(auth_uid_min(f->path), 500);
	put(f->path, "UID_MIN 500\nUID_MIN 2000\n", 0600);
	assert_int_equal(auth_uid_min(f->path), 2000);
	put(f->path, "UID_MIN lots\n", 0600);
	assert_int_equal(auth_uid_min(f->path), AUTH_UID_MIN_DEFAULT);
	put(f->path, "UID_MAX 60000\n", 0600);
	assert_int_equal(auth_uid_min(f->path), AUTH_UID_MIN_DEFAULT);
	unlink(f->path);
	assert_int_equal(auth_uid_min(f->path), AUTH_UID_MIN_DEFAULT);
}

static void
test_no_backend(void **state)
{
	struct auth_config	cfg = { .pam_service = "", .users_file = "" };
	struct auth_user	u;
	char			err[256];

	assert_int_equal(auth_check(&cfg, "root", "root", &u, err, sizeof err),
	    AUTH_DENIED);
	cfg.users_file = NULL;
	cfg.pam_service = NULL;
	assert_int_equal(auth_check(&cfg, "root", "root", &u, err, sizeof err),
	    AUTH_DENIED);
}

static void
test_missing_file(void **state)
{
	struct fixture		*f = *state;
	struct auth_user	 u;
	char			 err[256];

	assert_int_equal(check(f->path, "bob", "pw", &u, err, sizeof err),
	    AUTH_ERROR);
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(auth_users_check(f->path, err, sizeof err), -1);
}

static void
test_insecure_mode(void **state)
{
	struct fixture		*f = *state;
	struct auth_user	 u;
	char			 text[1024], err[256], want[256];
	const mode_t		 bad[] = { 0644, 0604, 0660, 0620, 0602, 0666 };
	size_t			 i;

	fmt(text, sizeof text, "bob:%s:\n", hash_of("pw"));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		put(f->path, text, bad[i]);
		err[0] = '\0';
		assert_int_equal(auth_users_check(f->path, err, sizeof err), -1);
		fmt(want, sizeof want, "%s: users file is accessible by others "
		    "(mode %04o)", f->path, (unsigned)bad[i]);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("mode %04o: %s", (unsigned)bad[i], err);
		/* Refused for logins too, even with the right password. */
		assert_int_equal(check(f->path, "bob", "pw", &u, err,
		    sizeof err), AUTH_ERROR);
	}
	put(f->path, text, 0640);
	assert_int_equal(auth_users_check(f->path, err, sizeof err), 0);
	put(f->path, text, 0400);
	assert_int_equal(auth_users_check(f->path, err, sizeof err), 0);
}

static void
test_bad_lines(void **state)
{
	struct fixture		*f = *state;
	struct auth_user	 u;
	char			 text[4096], err[512], want[256];
	char			 hash[256], groups[2048], line_long[1100];
	size_t			 i;
	int			 n;
	const struct {
		const char	*line;
		const char	*message;
	} bad[] = {
		{ "bob", "expected name:hash:groups" },
		{ "bob:$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA:",
		    "not an argon2id hash" },
		{ "bob:secret:", "not an argon2id hash" },
		{ "bob::", "not an argon2id hash" },
		{ ":H:", "invalid user name" },
		{ " bob:H:", "invalid user name" },
		{ "-bob:H:", "invalid user name" },
		{ "bo b:H:", "invalid user name" },
		{ "bob:H:g1,,g2", "invalid group name" },
		{ "bob:H:g1,", "invalid group name" },
		{ "bob:H:g 1", "invalid group name \"g 1\"" },
		{ "bob:H:g1:extra", "too many fields" },
		{ "alice:H:", "alice is listed twice" },
		{ "ALICE:H:", "ALICE is listed twice (as alice: user names do "
		    "not depend on case)" },
		{ "bob:H:@G@", "more than 32 groups" },
	};

	strlcpy(hash, hash_of("pw"), sizeof hash);
	groups[0] = '\0';
	for (n = 0; n <= AUTH_GROUPS_MAX; n++)
		fmt(groups + strlen(groups), sizeof groups - strlen(groups),
		    "%sg%d", n ? "," : "", n);

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char		 line[3072];
		const char	*p;
		size_t		 o = 0;

		/* H stands for a good hash, @G@ for 33 groups. */
		for (p = bad[i].line; *p != '\0'; p++) {
			if (*p == 'H' && p > bad[i].line && p[-1] == ':')
				o += fmt(line + o, sizeof line - o, "%s", hash);
			else if (strncmp(p, "@G@", 3) == 0) {
				o += fmt(line + o, sizeof line - o, "%s",
				    groups);
				p += 2;
			} else
				o += fmt(line + o, sizeof line - o, "%c", *p);
		}
		fmt(text, sizeof text, "# users\n\nalice:%s:staff\n%s\n"
		    "carol:%s:\n", hash, line, hash);
		put(f->path, text, 0600);
		err[0] = '\0';
		assert_int_equal(auth_users_check(f->path, err, sizeof err),
		    -1);
		fmt(want, sizeof want, "%s:4: ", f->path);
		if (strncmp(err, want, strlen(want)) != 0 ||
		    strstr(err, bad[i].message) == NULL)
			fail_msg("line \"%s\": got \"%s\"", bad[i].line, err);
		/* A broken file lets nobody in, even users on good lines. */
		assert_int_equal(check(f->path, "alice", "pw", &u, err,
		    sizeof err), AUTH_ERROR);
	}

	/* A line too long to be an entry. */
	memset(line_long, 'a', sizeof line_long - 1);
	line_long[sizeof line_long - 1] = '\0';
	fmt(text, sizeof text, "alice:%s:\n%s\n", hash, line_long);
	put(f->path, text, 0600);
	assert_int_equal(auth_users_check(f->path, err, sizeof err), -1);
	fmt(want, sizeof want, "%s:2: line too long", f->path);
	assert_string_equal(err, want);
}

static void
test_parse_line(void **state)
{
	char	 line[512], err[128];
	char	*name, *hash, *groups;

	strlcpy(line, "# comment\n", sizeof line);
	assert_int_equal(auth_users_parse_line(line, &name, &hash, &groups,
	    err, sizeof err), 0);
	strlcpy(line, "\n", sizeof line);
	assert_int_equal(auth_users_parse_line(line, &name, &hash, &groups,
	    err, sizeof err), 0);
	strlcpy(line, "bob:$argon2id$v=19$x:a,b\n", sizeof line);
	assert_int_equal(auth_users_parse_line(line, &name, &hash, &groups,
	    err, sizeof err), 1);
	assert_string_equal(name, "bob");
	assert_string_equal(hash, "$argon2id$v=19$x");
	assert_string_equal(groups, "a,b");
	strlcpy(line, "bob:$argon2id$v=19$x", sizeof line);
	assert_int_equal(auth_users_parse_line(line, &name, &hash, &groups,
	    err, sizeof err), 1);
	assert_string_equal(groups, "");
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_no_backend),
		cmocka_unit_test_setup_teardown(test_hash_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_good_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_passwords, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_name_case, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_uid_min, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_insecure_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
