/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for gateway/revoke.c: the revocation table, its bound, and
 * the file its writer thread appends to and rewrites.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "gateway.h"
#include "log.h"

#define TABLE_MAX	100000	/* REVOKE_MAX */

static char	dir[64];
static char	file[128];

static int
setup(void **state)
{
	(void)state;
	strlcpy(dir, "/tmp/test-revoke.XXXXXX", sizeof dir);
	assert_non_null(mkdtemp(dir));
	fmt(file, sizeof file, "%s/revocations", dir);
	return 0;
}

static int
teardown(void **state)
{
	char	path[160];

	(void)state;
	revoke_stop();
	unlink(file);
	fmt(path, sizeof path, "%s.tmp", file);
	unlink(path);
	rmdir(dir);
	return 0;
}

static int
revoked_session(uint64_t id)
{
	struct ticket	t;

	memset(&t, 0, sizeof t);
	t.session_id = id;
	t.ticket_id = ~id;
	return revoke_check(&t);
}

/* Lines in the file that are not comments. */
static size_t
file_lines(void)
{
	char	line[256];
	FILE	*fp;
	size_t	n = 0;

	if ((fp = fopen(file, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, fp) != NULL)
		if (line[0] != '#')
			n++;
	fclose(fp);
	return n;
}

/* Revocations are written as they come and read back after a restart. */
static void
test_restart(void **state)
{
	time_t	now = time(NULL);

	(void)state;
	assert_int_equal(revoke_load(dir), 0);
	revoke_start();
	assert_int_equal(revoke_add_session(0x1234, now + 600), 0);
	assert_int_equal(revoke_add_session(0x5678, now - 1), 0);
	assert_true(revoked_session(0x1234));
	assert_false(revoked_session(0x5678));	/* already over */
	assert_false(revoked_session(0x9999));
	revoke_stop();
	assert_int_equal(file_lines(), 1);
	assert_int_equal(revoke_load(dir), 0);
	assert_true(revoked_session(0x1234));
	assert_int_equal(revoke_count(), 1);
}

/* A file of mostly dead lines is rewritten with only the live ones. */
static void
test_compaction(void **state)
{
	time_t	now = time(NULL);
	FILE	*fp;
	int	i;

	(void)state;
	assert_non_null(fp = fopen(file, "w"));
	for (i = 0; i < 5000; i++)
		fprintf(fp, "session %016x %lld\n", i, (long long)now - 10);
	for (i = 0; i < 10; i++)
		fprintf(fp, "ticket %016x %lld\n", i, (long long)now + 600);
	fprintf(fp, "ticket 0000000000000001 %lld\n", (long long)now + 900);
	fprintf(fp, "nonsense line\n");
	fclose(fp);
	assert_int_equal(revoke_load(dir), 0);
	assert_int_equal(revoke_count(), 10);
	revoke_start();
	revoke_stop();
	/* Ten live keys, the longer of ticket 1's two lines kept. */
	assert_int_equal(file_lines(), 10);
	assert_int_equal(revoke_load(dir), 0);
	assert_int_equal(revoke_count(), 10);
}

/* A full table never refuses: what ends soonest makes way. */
static void
test_full_table(void **state)
{
	time_t		now = time(NULL);
	struct ticket	t;
	uint64_t	i;

	(void)state;
	assert_int_equal(revoke_load(dir), 0);
	for (i = 0; i < TABLE_MAX; i++)
		assert_int_equal(revoke_add_session(i, now + 1000 +
		    (time_t)i), 0);
	assert_int_equal(revoke_count(), TABLE_MAX);
	for (i = 0; i < 5; i++)
		assert_int_equal(revoke_add_ticket(0xabc0 + i, now + 5000),
		    0);
	assert_int_equal(revoke_count(), TABLE_MAX);
	memset(&t, 0, sizeof t);
	t.ticket_id = 0xabc4;
	assert_true(revoke_check(&t));
	/* The five that ended soonest went; the next did not. */
	assert_false(revoked_session(4));
	assert_true(revoked_session(5));
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_full_table, setup,
		    teardown),
	};

	log_init("test-revoke", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
