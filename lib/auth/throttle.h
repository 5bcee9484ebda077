/* SPDX-License-Identifier: ISC */
/*
 * Brute-force protection. Each key ("user:NAME" or "addr:ADDRESS") has a
 * failure count: after free_failures failures each further attempt must
 * wait a delay doubling from delay_base up to delay_max; after
 * lockout_failures the key is locked for lockout seconds. A success clears
 * the user key. Counts age out after window seconds without a failure.
 * State is in memory; the broker saves and restores it through
 * throttle_foreach / throttle_restore so a restart forgets nothing.
 */
#ifndef PAPRIKA_THROTTLE_H
#define PAPRIKA_THROTTLE_H

#include <stddef.h>
#include <time.h>

#define THROTTLE_KEY_MAX	96

struct throttle;

struct throttle_config {
	unsigned	free_failures;		/* default 3 */
	unsigned	delay_base;		/* seconds, default 1 */
	unsigned	delay_max;		/* seconds, default 30 */
	unsigned	lockout_failures;	/* default 10; 0: never lock */
	unsigned	lockout;		/* seconds, default 900 */
	unsigned	window;			/* seconds, default 3600 */
	size_t		max_keys;		/* default 100000; oldest evicted */
};

struct throttle_entry {
	char		key[THROTTLE_KEY_MAX + 1];
	unsigned	failures;
	time_t		last_failure;
	time_t		locked_until;	/* 0: not locked */
};

void		 throttle_config_defaults(struct throttle_config *c);
struct throttle	*throttle_new(const struct throttle_config *c);
void		 throttle_free(struct throttle *t);
/*
 * Seconds key must still wait before its next attempt (0: go ahead), the
 * attempts still being checked counted as failures made now; *locked is
 * set to 1 when the wait is a lockout.
 */
unsigned	 throttle_wait(struct throttle *t, const char *key, time_t now,
		    int *locked);
/* Records a failure; returns the entry as it is now (NULL on no memory). */
const struct throttle_entry *throttle_fail(struct throttle *t, const char *key,
		    time_t now);
void		 throttle_clear(struct throttle *t, const char *key);
/*
 * An attempt for key is being checked (throttle_begin, 0 or -1 on no
 * memory) until throttle_end: parallel attempts cannot outrun the delays.
 * Kept in memory only: a restart has nothing in flight.
 */
int		 throttle_begin(struct throttle *t, const char *key);
void		 throttle_end(struct throttle *t, const char *key);
unsigned	 throttle_inflight(const struct throttle *t, const char *key);
/*
 * A login for key is being turned away: 1 when that should be recorded,
 * 0 when one already was within window (while its failures last, or while
 * one check is under way), so that a flood writes one record, not one per
 * refusal.
 */
int		 throttle_note_refusal(struct throttle *t, const char *key,
		    time_t now);
/* The failures on record for key (0: none, or aged out). */
unsigned	 throttle_failures(struct throttle *t, const char *key,
		    time_t now);
/* Puts back a saved entry (dropped when it has aged out). */
void		 throttle_restore(struct throttle *t,
		    const struct throttle_entry *e, time_t now);
void		 throttle_foreach(struct throttle *t,
		    void (*cb)(const struct throttle_entry *, void *), void *arg);
size_t		 throttle_count(const struct throttle *t);

#endif
