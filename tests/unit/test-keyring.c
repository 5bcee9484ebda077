/* SPDX-License-Identifier: ISC */
/* Unit tests for common/keyring.c: the ticket key directory. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "keyring.h"

#define HEX1	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX2	"FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100"

/* Each test gets a fresh directory: the state is its path. */
static int
setup(void **state)
{
	char	*dir;

	if ((dir = strdup("/tmp/paprika-test-keyring.XXXXXX")) == NULL)
		return -1;
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int
teardown(void **state)
{
	char		*dir = *state;
	DIR		*d;
	struct dirent	*de;
	char		 path[512];
	int		 rc;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (unlink(path) == -1)
			rmdir(path);
	}
	closedir(d);
	rc = rmdir(dir);
	free(dir);
	return rc;
}

/* Writes a file with the given mode into dir. */
static void
put(const char *dir, const char *name, const char *text, mode_t mode)
{
	char	 path[512];
	FILE	*fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
assert_secret(const struct ticket_key *key, uint8_t first, uint8_t last)
{
	assert_non_null(key);
	assert_int_equal(key->secret[0], first);
	assert_int_equal(key->secret[TICKET_KEY_LEN - 1], last);
}

/* "signing" picks the key new tickets are signed with; every key verifies. */
static void
test_signing(void **state)
{
	const char	*dir = *state;
	struct keyring	 ring;
	char		 err[512];

	put(dir, "1.key", HEX1 "\n", 0600);
	put(dir, "2.key", HEX2 "\n", 0600);
	memset(&ring, 0, sizeof ring);
	assert_int_equal(keyring_load(dir, &ring, err, sizeof err), 0);
	assert_int_equal(keyring_signing(&ring)->id, 2);

	/* Staged rotation: key 2 is known everywhere, key 1 still signs. */
	put(dir, "signing", "1\n", 0644);
	if (keyring_load(dir, &ring, err, sizeof err) != 0)
		fail_msg("keyring_load: %s", err);
	assert_int_equal(keyring_signing(&ring)->id, 1);
	assert_int_equal(keyring_newest(&ring)->id, 2);
	assert_non_null(keyring_find(&ring, 2));

	/* A pointer to a key that is not there is an error, not a fallback. */
	put(dir, "signing", "3\n", 0644);
	err[0] = '\0';
	assert_int_equal(keyring_load(dir, &ring, err, sizeof err), -1);
	if (strstr(err, "names key 3") == NULL)
		fail_msg("unexpected message: %s", err);
	/* ... and the ring loaded before is kept. */
	assert_int_equal(keyring_signing(&ring)->id, 1);

	put(dir, "signing", "one\n", 0644);
	assert_int_equal(keyring_load(dir, &ring, err, sizeof err), -1);
	assert_non_null(strstr(err, "expected one key id"));
	put(dir, "signing", "0\n", 0644);
	assert_int_equal(keyring_load(dir, &ring, err, sizeof err), -1);
	keyring_clear(&ring);
}

static void
test_load_two(void **state)
{
	const char	*dir = *state;
	struct keyring	 ring;
	char		 err[512];

	put(dir, "1.key", HEX1 "\n", 0600);
	put(dir, "2.key", HEX2, 0640);
	memset(&ring, 0xaa, sizeof ring);
	err[0] = '\0';
	if (keyring_load(dir, &ring, err, sizeof err) != 0)
		fail_msg("keyring_load: %s", err);
	assert_int_equal(ring.nkeys, 2);
	assert_secret(keyring_find(&ring, 1), 0x00, 0x1f);
	assert_int_equal(keyring_find(&ring, 1)->id, 1);
	assert_secret(keyring_find(&ring, 2), 0xff, 0x00);
	assert_int_equal(keyring_find(&ring, 2)->secret[1], 0xee);
	assert_null(keyring_find(&ring, 3));
	assert_null(keyring_find(&ring, 0));
	assert_int_equal(keyring_newest(&ring)->id, 2);

	keyring_clear(&ring);
	assert_int_equal(ring.nkeys, 0);
	assert_null(keyring_find(&ring, 1));
	assert_null(keyring_newest(&ring));
}

static void
test_ignores_other_names(void **state)
{
	static const char	*names[] = {
		"README", "0.key", "256.key", "1.key.bak", "01.key", "1.KEY",
		"1key", ".1.key", "1.key~", "-1.key", "+3.key", " 3.key",
		"3 .key", "3.keys", "1000.key", "key", ".key", "3.key.tmp",
	};
	const char	*dir = *state;
	struct keyring	 ring;
	char		 err[512];
	size_t		 i;

	put(dir, "7.key", HEX1, 0600);
	/* Readable by all and of the wrong length: loading them would fail. */
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		put(dir, names[i], "not a key\n", 0644);
	if (keyring_load(dir, &ring, err, sizeof err) != 0)
		fail_msg("keyring_load: %s", err);
	assert_int_equal(ring.nkeys, 1);
	assert_non_null(keyring_find(&ring, 7));
	assert_int_equal(keyring_newest(&ring)->id, 7);
}

static void
test_highest_ids(void **state)
{
	const char	*dir = *state;
	struct keyring	 ring;
	char		 err[512];

	put(dir, "255.key", HEX1, 0600);
	put(dir, "9.key", HEX2, 0600);
	put(dir, "10.key", HEX2, 0600);
	put(dir, "100.key", HEX1, 0600);
	if (keyring_load(dir, &ring, err, sizeof err) != 0)
		fail_msg("keyring_load: %s", err);
	assert_int_equal(ring.nkeys, 4);
	/* Numerically highest, whatever the directory order. */
	assert_int_equal(keyring_newest(&ring)->id, 255);
	assert_secret(keyring_find(&ring, 255), 0x00, 0x1f);
	assert_non_null(keyring_find(&ring, 9));
	assert_non_null(keyring_find(&ring, 10));
	assert_non_null(keyring_find(&ring, 100));
}

static void
test_newest_in_memory(void **state)
{
	struct keyring	ring;

	memset(&ring, 0, sizeof ring);
	assert_null(keyring_newest(&ring));
	ring.keys[0].id = 3;
	ring.keys[1].id = 200;
	ring.keys[2].id = 17;
	ring.nkeys = 3;
	assert_int_equal(keyring_newest(&ring)->id, 200);
	assert_ptr_equal(keyring_newest(&ring), &ring.keys[1]);
	assert_ptr_equal(keyring_find(&ring, 17), &ring.keys[2]);
}

/* keyring_load must fail, name the file, and leave the ring as it was. */
static void
expect_refused(const char *dir, const char *file, const char *words)
{
	struct keyring	ring;
	char		err[512];

	memset(&ring, 0, sizeof ring);
	ring.keys[0].id = 99;
	ring.nkeys = 1;
	err[0] = '\0';
	assert_int_equal(keyring_load(dir, &ring, err, sizeof err), -1);
	if (file != NULL && strstr(err, file) == NULL)
		fail_msg("error \"%s\" does not name %s", err, file);
	if (words != NULL && strstr(err, words) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, words);
	assert_int_equal(ring.nkeys, 1);
	assert_int_equal(ring.keys[0].id, 99);
}

static void
test_refuses_readable(void **state)
{
	const char	*dir = *state;
	char		 path[512];

	put(dir, "1.key", HEX1, 0600);
	put(dir, "2.key", HEX2, 0644);
	snprintf(path, sizeof path, "%s/2.key", dir);
	expect_refused(dir, path, "0644");

	put(dir, "2.key", HEX2, 0604);
	expect_refused(dir, path, NULL);
	put(dir, "2.key", HEX2, 0620);
	expect_refused(dir, path, NULL);
	put(dir, "2.key", HEX2, 0601);
	expect_refused(dir, path, NULL);
	/* Group-readable is fine (a daemon's group may read keys). */
	put(dir, "2.key", HEX2, 0640);
	{
		struct keyring	ring;
		char		err[512];

		assert_int_equal(keyring_load(dir, &ring, err, sizeof err), 0);
		assert_int_equal(ring.nkeys, 2);
	}
}

static void
test_refuses_bad_content(void **state)
{
	static const char	*bad[] = {
		"",
		"\n",
		HEX1 "00",				/* too long */
		HEX1 "0\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e\n",
		"g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		" 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1 ",
		HEX1 "\n\n",
		HEX1 "\r\n",
		HEX1 "\n" HEX1 "\n",
		"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	};
	const char	*dir = *state;
	char		 path[512];
	size_t		 i;

	put(dir, "1.key", HEX1, 0600);
	snprintf(path, sizeof path, "%s/5.key", dir);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		put(dir, "5.key", bad[i], 0600);
		expect_refused(dir, path, NULL);
	}
}

static void
test_refuses_other_files(void **state)
{
	const char	*dir = *state;
	char		 path[512], target[512];

	/* A directory named like a key. */
	snprintf(path, sizeof path, "%s/3.key", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	expect_refused(dir, path, NULL);
	assert_int_equal(rmdir(path), 0);

	/* A symbolic link, even to a good key. */
	put(dir, "target", HEX1, 0600);
	snprintf(target, sizeof target, "%s/target", dir);
	assert_int_equal(symlink(target, path), 0);
	expect_refused(dir, path, NULL);
}

static void
test_empty_dir(void **state)
{
	const char	*dir = *state;

	expect_refused(dir, dir, NULL);
	/* Only files with other names: still no keys. */
	put(dir, "README", "keys go here\n", 0644);
	put(dir, "0.key", HEX1, 0600);
	expect_refused(dir, dir, NULL);
}

static void
test_missing_dir(void **state)
{
	char	path[512];

	snprintf(path, sizeof path, "%s/nope", (const char *)*state);
	expect_refused(path, path, "No such file");
}

static void
test_too_many(void **state)
{
	const char	*dir = *state;
	struct keyring	 ring;
	char		 name[32], err[512];
	int		 i;

	for (i = 1; i <= KEYRING_MAX; i++) {
		snprintf(name, sizeof name, "%d.key", i);
		put(dir, name, HEX1, 0600);
	}
	assert_int_equal(keyring_load(dir, &ring, err, sizeof err), 0);
	assert_int_equal(ring.nkeys, KEYRING_MAX);
	assert_int_equal(keyring_newest(&ring)->id, KEYRING_MAX);
	snprintf(name, sizeof name, "%d.key", KEYRING_MAX + 1);
	put(dir, name, HEX1, 0600);
	expect_refused(dir, dir, NULL);
}

static void
test_read_key(void **state)
{
	const char		*dir = *state;
	struct ticket_key	 key;
	char			 path[512], err[512];

	put(dir, "any-name", HEX2 "\n", 0400);
	snprintf(path, sizeof path, "%s/any-name", dir);
	memset(&key, 0, sizeof key);
	assert_int_equal(keyring_read_key(path, 42, &key, err, sizeof err), 0);
	assert_int_equal(key.id, 42);
	assert_secret(&key, 0xff, 0x00);
	assert_int_equal(key.secret[15], 0x00);
	assert_int_equal(key.secret[16], 0xff);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_load_two, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignores_other_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_highest_ids, setup,
		    teardown),
		cmocka_unit_test(test_newest_in_memory),
		cmocka_unit_test_setup_teardown(test_refuses_readable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_content, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuses_other_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_empty_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_key, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
