/* SPDX-License-Identifier: ISC */
/*
 * Brute-force protection: a failure count per key in a hash table. The
 * table's insertion order doubles as the age order: each failure moves its
 * key to the end, so the first key is the one that failed longest ago and
 * is the one evicted when the table is full, unless it is locked: keys
 * that are only counting go first, so that a spray of new names cannot
 * push a lockout out of the table.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "throttle.h"

/* Delays double at most this many times before delay_max caps them. */
#define THROTTLE_SHIFT_MAX	30

struct throttle_node {
	struct throttle_entry	 e;
	time_t			 refusal_noted;	/* 0: none yet */
	UT_hash_handle		 hh;
};

/* Attempts being checked now, per key: they count as failures until they
 * end, so that attempts made at once cannot outrun the delays. */
struct throttle_busy {
	char			 key[THROTTLE_KEY_MAX + 1];
	unsigned		 n;
	int			 refusal_noted;
	UT_hash_handle		 hh;
};

struct throttle {
	struct throttle_config	 c;
	struct throttle_node	*nodes;
	struct throttle_busy	*busy;
};

void
throttle_config_defaults(struct throttle_config *c)
{
	memset(c, 0, sizeof *c);
	c->free_failures = 3;
	c->delay_base = 1;
	c->delay_max = 30;
	c->lockout_failures = 10;
	c->lockout = 900;
	c->window = 3600;
	c->max_keys = 100000;
}

struct throttle *
throttle_new(const struct throttle_config *c)
{
	struct throttle	*t;

	if ((t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	t->c = *c;
	if (t->c.max_keys == 0)
		t->c.max_keys = 1;
	return t;
}

static void
throttle_remove(struct throttle *t, struct throttle_node *n)
{
	HASH_DEL(t->nodes, n);
	free(n);
}

void
throttle_free(struct throttle *t)
{
	struct throttle_node	*n, *tmp;
	struct throttle_busy	*b, *btmp;

	if (t == NULL)
		return;
	HASH_ITER(hh, t->nodes, n, tmp)
		throttle_remove(t, n);
	HASH_ITER(hh, t->busy, b, btmp) {
		HASH_DEL(t->busy, b);
		free(b);
	}
	free(t);
}

/* Keys longer than THROTTLE_KEY_MAX are cut: two of them then share one
 * count, which errs on the strict side. */
static void
throttle_key(char *buf, const char *key)
{
	size_t	len = strlen(key);

	if (len > THROTTLE_KEY_MAX)
		len = THROTTLE_KEY_MAX;
	memset(buf, 0, THROTTLE_KEY_MAX + 1);
	memcpy(buf, key, len);
}

/*
 * Whether an entry no longer counts at now: its lockout is over, or it is
 * not locked and its last failure is a window old. A lockout that ends
 * forgets the count too, so the next failure does not lock again at once.
 */
static int
throttle_expired(const struct throttle *t, const struct throttle_entry *e,
    time_t now)
{
	if (e->locked_until != 0)
		return now >= e->locked_until;
	return now - e->last_failure >= (time_t)t->c.window;
}

/* The live node for key, or NULL; drops an expired one on the way. */
static struct throttle_node *
throttle_find(struct throttle *t, const char *key, time_t now)
{
	struct throttle_node	*n;
	char			 k[THROTTLE_KEY_MAX + 1];

	throttle_key(k, key);
	HASH_FIND_STR(t->nodes, k, n);
	if (n != NULL && throttle_expired(t, &n->e, now)) {
		throttle_remove(t, n);
		n = NULL;
	}
	return n;
}

/* Seconds of delay after the given number of failures (0 while free). */
static unsigned
throttle_delay(const struct throttle *t, unsigned failures)
{
	unsigned	shift;
	unsigned long	d;

	if (failures <= t->c.free_failures)
		return 0;
	shift = failures - t->c.free_failures - 1;
	if (shift > THROTTLE_SHIFT_MAX)
		shift = THROTTLE_SHIFT_MAX;
	d = (unsigned long)t->c.delay_base << shift;
	if (d > t->c.delay_max)
		d = t->c.delay_max;
	return (unsigned)d;
}

static struct throttle_busy *
throttle_busy_find(const struct throttle *t, const char *key)
{
	struct throttle_busy	*b;
	char			 k[THROTTLE_KEY_MAX + 1];

	throttle_key(k, key);
	HASH_FIND_STR(t->busy, k, b);
	return b;
}

unsigned
throttle_failures(struct throttle *t, const char *key, time_t now)
{
	struct throttle_node	*n = throttle_find(t, key, now);

	return n != NULL ? n->e.failures : 0;
}

unsigned
throttle_inflight(const struct throttle *t, const char *key)
{
	struct throttle_busy	*b = throttle_busy_find(t, key);

	return b != NULL ? b->n : 0;
}

int
throttle_begin(struct throttle *t, const char *key)
{
	struct throttle_busy	*b;

	if ((b = throttle_busy_find(t, key)) == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return -1;
		throttle_key(b->key, key);
		HASH_ADD_STR(t->busy, key, b);
	}
	b->n++;
	return 0;
}

void
throttle_end(struct throttle *t, const char *key)
{
	struct throttle_busy	*b;

	if ((b = throttle_busy_find(t, key)) == NULL)
		return;
	if (--b->n == 0) {
		HASH_DEL(t->busy, b);
		free(b);
	}
}

unsigned
throttle_wait(struct throttle *t, const char *key, time_t now, int *locked)
{
	struct throttle_node	*n;
	unsigned		 failures, busy = throttle_inflight(t, key);
	time_t			 last, until;

	*locked = 0;
	if ((n = throttle_find(t, key, now)) != NULL &&
	    n->e.locked_until != 0) {
		*locked = 1;
		return (unsigned)(n->e.locked_until - now);
	}
	failures = n != NULL ? n->e.failures : 0;
	if (busy > UINT_MAX - failures)
		busy = UINT_MAX - failures;
	/* An attempt still being checked is taken as a failure made now. */
	last = busy > 0 ? now : n != NULL ? n->e.last_failure : now;
	until = last + throttle_delay(t, failures + busy);
	return until > now ? (unsigned)(until - now) : 0;
}

/*
 * Makes room for one more key: drops the key that failed longest ago and
 * is not locked (an expired lock does not count), or the oldest lock when
 * every key is locked.
 */
static void
throttle_evict(struct throttle *t, time_t now)
{
	struct throttle_node	*n;

	while (t->nodes != NULL && HASH_COUNT(t->nodes) >= t->c.max_keys) {
		for (n = t->nodes; n != NULL; n = n->hh.next)
			if (n->e.locked_until == 0 || now >= n->e.locked_until)
				break;
		throttle_remove(t, n != NULL ? n : t->nodes);
	}
}

/* Adds a node for key at the end of the age order; NULL on no memory. */
static struct throttle_node *
throttle_add(struct throttle *t, const char *key, time_t now)
{
	struct throttle_node	*n;

	throttle_evict(t, now);
	if ((n = calloc(1, sizeof *n)) == NULL)
		return NULL;
	throttle_key(n->e.key, key);
	HASH_ADD_STR(t->nodes, e.key, n);
	return n;
}

const struct throttle_entry *
throttle_fail(struct throttle *t, const char *key, time_t now)
{
	struct throttle_node	*n;

	if ((n = throttle_find(t, key, now)) != NULL) {
		/* Move it to the end: it is now the newest. */
		HASH_DEL(t->nodes, n);
		HASH_ADD_STR(t->nodes, e.key, n);
	} else if ((n = throttle_add(t, key, now)) == NULL)
		return NULL;

	if (n->e.failures < UINT_MAX)
		n->e.failures++;
	n->e.last_failure = now;
	if (t->c.lockout_failures != 0 &&
	    n->e.failures >= t->c.lockout_failures && n->e.locked_until == 0)
		n->e.locked_until = now + t->c.lockout;
	return &n->e;
}

void
throttle_clear(struct throttle *t, const char *key)
{
	struct throttle_node	*n;
	char			 k[THROTTLE_KEY_MAX + 1];

	throttle_key(k, key);
	HASH_FIND_STR(t->nodes, k, n);
	if (n != NULL)
		throttle_remove(t, n);
}

/*
 * Restored entries go to the end of the age order, so restoring in
 * throttle_foreach order (oldest first) keeps the order.
 */
void
throttle_restore(struct throttle *t, const struct throttle_entry *e,
    time_t now)
{
	struct throttle_node	*n;
	char			 k[THROTTLE_KEY_MAX + 1];

	if (e->failures == 0 || throttle_expired(t, e, now))
		return;
	throttle_key(k, e->key);
	HASH_FIND_STR(t->nodes, k, n);
	if (n != NULL)
		throttle_remove(t, n);
	if ((n = throttle_add(t, k, now)) == NULL)
		return;
	n->e.failures = e->failures;
	n->e.last_failure = e->last_failure;
	n->e.locked_until = e->locked_until;
}

int
throttle_note_refusal(struct throttle *t, const char *key, time_t now)
{
	struct throttle_node	*n;
	struct throttle_busy	*b;

	if ((n = throttle_find(t, key, now)) != NULL) {
		if (n->refusal_noted != 0 &&
		    now - n->refusal_noted < (time_t)t->c.window)
			return 0;
		n->refusal_noted = now;
		return 1;
	}
	if ((b = throttle_busy_find(t, key)) != NULL) {
		if (b->refusal_noted)
			return 0;
		b->refusal_noted = 1;
	}
	return 1;
}

/* Visits the entries oldest first; cb must not change the table. */
void
throttle_foreach(struct throttle *t,
    void (*cb)(const struct throttle_entry *, void *), void *arg)
{
	struct throttle_node	*n;

	for (n = t->nodes; n != NULL; n = n->hh.next)
		cb(&n->e, arg);
}

size_t
throttle_count(const struct throttle *t)
{
	return HASH_COUNT(t->nodes);
}
