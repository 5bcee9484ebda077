/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/auth/throttle.c: failure counts, delays and lockouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "throttle.h"

#define T0	1700000000

/* Small numbers so that each rule shows after a few calls. */
static struct throttle *
small(void)
{
	struct throttle_config	 c;
	struct throttle		*t;

	throttle_config_defaults(&c);
	c.free_failures = 2;
	c.delay_base = 1;
	c.delay_max = 8;
	c.lockout_failures = 8;
	c.lockout = 600;
	c.window = 3600;
	c.max_keys = 1000;
	assert_non_null(t = throttle_new(&c));
	return t;
}

static unsigned
wait_at(struct throttle *t, const char *key, time_t now, int want_locked)
{
	unsigned	w;
	int		locked = -1;

	w = throttle_wait(t, key, now, &locked);
	assert_int_equal(locked, want_locked);
	return w;
}

static void
test_defaults(void **state)
{
	struct throttle_config	c;

	throttle_config_defaults(&c);
	assert_int_equal(c.free_failures, 3);
	assert_int_equal(c.delay_base, 1);
	assert_int_equal(c.delay_max, 30);
	assert_int_equal(c.lockout_failures, 10);
	assert_int_equal(c.lockout, 900);
	assert_int_equal(c.window, 3600);
	assert_int_equal(c.max_keys, 100000);
}

static void
test_free_failures(void **state)
{
	struct throttle			*t = small();
	const struct throttle_entry	*e;

	assert_int_equal(wait_at(t, "user:bob", T0, 0), 0);
	assert_non_null(e = throttle_fail(t, "user:bob", T0));
	assert_int_equal(e->failures, 1);
	assert_string_equal(e->key, "user:bob");
	assert_int_equal(e->last_failure, T0);
	assert_int_equal(e->locked_until, 0);
	assert_int_equal(wait_at(t, "user:bob", T0, 0), 0);
	throttle_fail(t, "user:bob", T0);
	assert_int_equal(wait_at(t, "user:bob", T0, 0), 0);
	/* The third failure is the first that costs a delay. */
	throttle_fail(t, "user:bob", T0);
	assert_int_equal(wait_at(t, "user:bob", T0, 0), 1);
	assert_int_equal(wait_at(t, "user:bob", T0 + 1, 0), 0);
	/* Other keys are not affected. */
	assert_int_equal(wait_at(t, "user:alice", T0, 0), 0);
	assert_int_equal(throttle_count(t), 1);
	throttle_free(t);
}

static void
test_delay_doubles_capped(void **state)
{
	struct throttle	*t = small();
	unsigned	 want[] = { 0, 0, 1, 2, 4, 8, 8 };
	size_t		 i;

	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		throttle_fail(t, "addr:192.0.2.1", T0 + (time_t)i * 10);
		assert_int_equal(wait_at(t, "addr:192.0.2.1",
		    T0 + (time_t)i * 10, 0), want[i]);
	}
	/* The wait counts from the last failure. */
	assert_int_equal(wait_at(t, "addr:192.0.2.1", T0 + 63, 0), 5);
	throttle_free(t);
}

static void
test_lockout_and_expiry(void **state)
{
	struct throttle			*t = small();
	const struct throttle_entry	*e = NULL;
	int				 i;

	for (i = 0; i < 8; i++)
		e = throttle_fail(t, "user:bob", T0 + i);
	assert_non_null(e);
	assert_int_equal(e->failures, 8);
	assert_int_equal(e->locked_until, T0 + 7 + 600);
	assert_int_equal(wait_at(t, "user:bob", T0 + 7, 1), 600);
	assert_int_equal(wait_at(t, "user:bob", T0 + 300, 1), 307);
	/* Failing while locked does not extend the lock. */
	e = throttle_fail(t, "user:bob", T0 + 400);
	assert_int_equal(e->locked_until, T0 + 7 + 600);
	assert_int_equal(wait_at(t, "user:bob", T0 + 606, 1), 1);

	/* Once the lock ends, the key starts over. */
	assert_int_equal(wait_at(t, "user:bob", T0 + 607, 0), 0);
	assert_int_equal(throttle_count(t), 0);
	e = throttle_fail(t, "user:bob", T0 + 608);
	assert_int_equal(e->failures, 1);
	assert_int_equal(e->locked_until, 0);
	throttle_free(t);
}

static void
test_never_lock(void **state)
{
	struct throttle_config	 c;
	struct throttle		*t;
	int			 i;

	throttle_config_defaults(&c);
	c.lockout_failures = 0;
	assert_non_null(t = throttle_new(&c));
	for (i = 0; i < 100; i++)
		throttle_fail(t, "user:bob", T0);
	assert_int_equal(wait_at(t, "user:bob", T0, 0), 30);
	throttle_free(t);
}

static void
test_success_clears(void **state)
{
	struct throttle	*t = small();
	int		 i;

	for (i = 0; i < 5; i++) {
		throttle_fail(t, "user:bob", T0);
		throttle_fail(t, "addr:192.0.2.1", T0);
	}
	assert_int_not_equal(wait_at(t, "user:bob", T0, 0), 0);
	throttle_clear(t, "user:bob");
	assert_int_equal(wait_at(t, "user:bob", T0, 0), 0);
	/* The address key still counts. */
	assert_int_not_equal(wait_at(t, "addr:192.0.2.1", T0, 0), 0);
	assert_int_equal(throttle_count(t), 1);
	throttle_clear(t, "user:nobody");
	assert_int_equal(throttle_count(t), 1);
	throttle_free(t);
}

static void
test_window_aging(void **state)
{
	struct throttle			*t = small();
	const struct throttle_entry	*e;
	int				 i;

	for (i = 0; i < 4; i++)
		throttle_fail(t, "user:bob", T0);
	/* A failure inside the window keeps counting ... */
	e = throttle_fail(t, "user:bob", T0 + 3599);
	assert_int_equal(e->failures, 5);
	/* ... and the window runs from the last one. */
	assert_int_equal(wait_at(t, "user:bob", T0 + 3599 + 3599, 0), 0);
	assert_int_equal(throttle_count(t), 1);
	e = throttle_fail(t, "user:bob", T0 + 3599 + 3600);
	assert_int_equal(e->failures, 1);

	throttle_fail(t, "user:carol", T0);
	assert_int_equal(throttle_count(t), 2);
	assert_int_equal(wait_at(t, "user:carol", T0 + 3600, 0), 0);
	assert_int_equal(throttle_count(t), 1);
	throttle_free(t);
}

struct saved {
	struct throttle_entry	e[8];
	size_t			n;
};

static void
save_one(const struct throttle_entry *e, void *arg)
{
	struct saved	*s = arg;

	assert_true(s->n < sizeof s->e / sizeof s->e[0]);
	s->e[s->n++] = *e;
}

static void
test_restore_round_trip(void **state)
{
	struct throttle	*t = small(), *u = small();
	struct saved	 s, s2;
	size_t		 i;
	int		 j;

	for (j = 0; j < 9; j++)
		throttle_fail(t, "user:locked", T0 + j);
	for (j = 0; j < 4; j++)
		throttle_fail(t, "addr:192.0.2.7", T0 + 100);
	throttle_fail(t, "user:old", T0 - 3000);
	throttle_fail(t, "user:bob", T0 + 200);
	memset(&s, 0, sizeof s);
	throttle_foreach(t, save_one, &s);
	assert_int_equal(s.n, 4);

	/* Ten minutes later the lockout is over and "user:old" aged out. */
	for (i = 0; i < s.n; i++)
		throttle_restore(u, &s.e[i], T0 + 700);
	assert_int_equal(throttle_count(u), 2);
	assert_int_equal(wait_at(u, "user:locked", T0 + 700, 0), 0);
	throttle_free(u);

	u = small();
	for (i = 0; i < s.n; i++)
		throttle_restore(u, &s.e[i], T0 + 300);
	assert_int_equal(throttle_count(u), 4);
	/* Locked by its eighth failure, at T0 + 7. */
	assert_int_equal(wait_at(u, "user:locked", T0 + 300, 1), 307);
	assert_int_equal(wait_at(u, "addr:192.0.2.7", T0 + 100, 0), 2);
	memset(&s2, 0, sizeof s2);
	throttle_foreach(u, save_one, &s2);
	assert_int_equal(s2.n, s.n);
	/* Same entries, same order. */
	for (i = 0; i < s.n; i++) {
		assert_string_equal(s2.e[i].key, s.e[i].key);
		assert_int_equal(s2.e[i].failures, s.e[i].failures);
		assert_int_equal(s2.e[i].last_failure, s.e[i].last_failure);
		assert_int_equal(s2.e[i].locked_until, s.e[i].locked_until);
	}
	throttle_free(u);
	throttle_free(t);
}

static void
test_eviction(void **state)
{
	struct throttle_config	 c;
	struct throttle		*t;
	char			 key[32];
	int			 i;

	throttle_config_defaults(&c);
	c.max_keys = 3;
	assert_non_null(t = throttle_new(&c));
	for (i = 0; i < 3; i++) {
		snprintf(key, sizeof key, "addr:k%d", i);
		throttle_fail(t, key, T0 + i);
	}
	/* k0 failed again: k1 is now the oldest. */
	for (i = 0; i < 4; i++)
		throttle_fail(t, "addr:k0", T0 + 10);
	throttle_fail(t, "addr:k3", T0 + 11);
	assert_int_equal(throttle_count(t), 3);
	assert_int_equal(throttle_fail(t, "addr:k1", T0 + 12)->failures, 1);
	/* Adding k1 back evicted k2, not k0. */
	assert_int_equal(throttle_fail(t, "addr:k0", T0 + 13)->failures, 6);
	assert_int_equal(throttle_fail(t, "addr:k2", T0 + 14)->failures, 1);
	/* ... which evicted k3. */
	assert_int_equal(throttle_fail(t, "addr:k3", T0 + 15)->failures, 1);
	assert_int_equal(throttle_count(t), 3);
	throttle_free(t);
}

/* A spray of new keys cannot push a lockout out of a full table. */
static void
test_eviction_spares_locks(void **state)
{
	struct throttle_config	 c;
	struct throttle		*t;
	char			 key[32];
	int			 i, locked;

	throttle_config_defaults(&c);
	c.max_keys = 4;
	c.lockout_failures = 3;
	assert_non_null(t = throttle_new(&c));
	for (i = 0; i < 3; i++)
		throttle_fail(t, "user:alice", T0);
	assert_true(throttle_wait(t, "user:alice", T0 + 1, &locked) > 0);
	assert_int_equal(locked, 1);
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof key, "user:spray%d", i);
		throttle_fail(t, key, T0 + 1 + i);
	}
	assert_int_equal(throttle_count(t), 4);
	/* alice, the oldest key, is still locked out... */
	assert_true(throttle_wait(t, "user:alice", T0 + 60, &locked) > 0);
	assert_int_equal(locked, 1);
	/* ...and the newest sprayed keys kept their places. */
	assert_int_equal(throttle_failures(t, "user:spray49", T0 + 60), 1);
	assert_int_equal(throttle_failures(t, "user:spray0", T0 + 60), 0);
	/* A lock that has run out goes first, before the oldest count. */
	throttle_fail(t, "user:late", T0 + c.lockout + 1);
	assert_int_equal(throttle_failures(t, "user:spray47",
	    T0 + c.lockout + 2), 1);
	/* Every key locked: the oldest lock goes. */
	c.max_keys = 2;
	throttle_free(t);
	assert_non_null(t = throttle_new(&c));
	for (i = 0; i < 3; i++) {
		throttle_fail(t, "user:a", T0);
		throttle_fail(t, "user:b", T0 + 1);
	}
	throttle_fail(t, "user:c", T0 + 2);
	assert_int_equal(throttle_failures(t, "user:a", T0 + 3), 0);
	assert_int_equal(throttle_failures(t, "user:b", T0 + 3), 3);
	throttle_free(t);
}

/* A flood of refusals is noted once per key and window. */
static void
test_refusal_noted_once(void **state)
{
	struct throttle	*t = small();

	/* While a check is under way, with no failure on record. */
	assert_int_equal(throttle_begin(t, "user:bob"), 0);
	assert_int_equal(throttle_note_refusal(t, "user:bob", T0), 1);
	assert_int_equal(throttle_note_refusal(t, "user:bob", T0), 0);
	throttle_end(t, "user:bob");
	/* Once failures are on record: once per window. */
	throttle_fail(t, "user:bob", T0);
	assert_int_equal(throttle_note_refusal(t, "user:bob", T0 + 1), 1);
	assert_int_equal(throttle_note_refusal(t, "user:bob", T0 + 2), 0);
	throttle_fail(t, "user:bob", T0 + 3);
	assert_int_equal(throttle_note_refusal(t, "user:bob", T0 + 4), 0);
	/* Other keys are their own. */
	assert_int_equal(throttle_note_refusal(t, "addr:192.0.2.1", T0 + 4),
	    1);
	throttle_free(t);
}

static void
test_long_key(void **state)
{
	struct throttle			*t = small();
	const struct throttle_entry	*e;
	char				 key[THROTTLE_KEY_MAX + 20];

	memset(key, 'a', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	assert_non_null(e = throttle_fail(t, key, T0));
	assert_int_equal(strlen(e->key), THROTTLE_KEY_MAX);
	assert_int_equal(throttle_fail(t, key, T0)->failures, 2);
	throttle_free(NULL);
	throttle_free(t);
}

/* Attempts being checked count as failures made now, until they end. */
static void
test_in_flight(void **state)
{
	struct throttle	*t = small();
	int		 i;

	assert_int_equal(throttle_inflight(t, "user:a"), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(throttle_begin(t, "user:a"), 0);
	assert_int_equal(throttle_inflight(t, "user:a"), 2);
	assert_int_equal(wait_at(t, "user:a", T0, 0), 0);	/* 2 free */
	assert_int_equal(throttle_begin(t, "user:a"), 0);
	assert_int_equal(wait_at(t, "user:a", T0, 0), 1);
	assert_int_equal(throttle_begin(t, "user:a"), 0);
	assert_int_equal(wait_at(t, "user:a", T0 + 100, 0), 2);
	assert_int_equal(wait_at(t, "user:b", T0, 0), 0);	/* its own */

	/* Two recorded failures and one still in flight: 3, one delay. */
	throttle_end(t, "user:a");
	throttle_end(t, "user:a");
	throttle_end(t, "user:a");
	throttle_fail(t, "user:a", T0);
	throttle_fail(t, "user:a", T0);
	assert_int_equal(wait_at(t, "user:a", T0 + 50, 0), 1);
	throttle_end(t, "user:a");
	assert_int_equal(throttle_inflight(t, "user:a"), 0);
	assert_int_equal(wait_at(t, "user:a", T0 + 50, 0), 0);
	throttle_end(t, "user:a");		/* one too many: harmless */
	assert_int_equal(throttle_inflight(t, "user:a"), 0);

	/* A lockout wins over anything in flight. */
	assert_int_equal(throttle_begin(t, "user:c"), 0);
	for (i = 0; i < 8; i++)
		throttle_fail(t, "user:c", T0);
	assert_int_equal(wait_at(t, "user:c", T0, 1), 600);
	throttle_free(t);		/* with an attempt still in flight */
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_free_failures),
		cmocka_unit_test(test_delay_doubles_capped),
		cmocka_unit_test(test_lockout_and_expiry),
		cmocka_unit_test(test_never_lock),
		cmocka_unit_test(test_success_clears),
		cmocka_unit_test(test_window_aging),
		cmocka_unit_test(test_restore_round_trip),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_eviction_spares_locks),
		cmocka_unit_test(test_refusal_noted_once),
		cmocka_unit_test(test_long_key),
		cmocka_unit_test(test_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
