/* SPDX-License-Identifier: ISC */
/*
 * Connections that have not shown a valid ticket yet: they cost the gateway
 * a descriptor and a timer while proving nothing, so they share max_pending
 * slots of their own. When those are full, a newcomer from a group that
 * holds fewer of them than the busiest group takes the place of that
 * group's oldest one: whoever opens connections without ever sending a
 * ticket only pushes out its own, and a client that sends its ticket at
 * once gets through. A newcomer from the busiest group is refused.
 *
 * The slots, the list and the groups' counts are shared by the workers
 * (under shared.lock). The slot of one pushed out passes to the newcomer
 * at once; when another worker holds it, that worker is told to turn it
 * away (pending_evicted), since only a tunnel's own worker touches it.
 */
#include <stdlib.h>

#include "gateway.h"

/* With shared.lock held: the most pending connections one group holds. */
static unsigned int
pending_most(void)
{
	struct source	*src, *tmp;
	unsigned int	 most = 0;

	HASH_ITER(hh, shared.sources, src, tmp) {
		if (src->pending > most)
			most = src->pending;
	}
	return most;
}

/* With shared.lock held: takes t off the pending counts and list. */
static void
pending_unlink(struct tunnel *t)
{
	TAILQ_REMOVE(&shared.pending, t, pentry);
	shared.npending--;
	t->source->pending--;
	t->pending = 0;
}

/*
 * With shared.lock held: the oldest pending connection among the busiest
 * groups, for a newcomer from src; NULL when src's group is itself among
 * the busiest.
 */
static struct tunnel *
pending_victim(const struct source *src)
{
	struct tunnel	*t;
	unsigned int	 most = pending_most();

	if (most <= src->pending)
		return NULL;
	TAILQ_FOREACH(t, &shared.pending, pentry) {
		if (t->source->pending == most)
			return t;
	}
	return NULL;
}

/* With shared.lock held: asks victim's worker to turn it away; 0 or -1. */
static int
pending_tell(struct tunnel *victim)
{
	struct gateway	*w = victim->worker;
	uint64_t	*ids;

	if ((ids = reallocarray(w->evicted, w->nevicted + 1,
	    sizeof *ids)) == NULL)
		return -1;
	w->evicted = ids;
	w->evicted[w->nevicted++] = victim->id;
	event_active(w->evict_ev, EV_READ, 1);
	return 0;
}

int
pending_add(struct tunnel *t)
{
	struct tunnel	*victim = NULL;

	shared_lock();
	if (shared.npending >= gw->conf->max_pending) {
		if ((victim = pending_victim(t->source)) == NULL ||
		    (victim->worker != gw && pending_tell(victim) == -1)) {
			shared_unlock();
			return -1;
		}
		/* Its slot passes to t before another worker can take it. */
		pending_unlink(victim);
		if (victim->worker != gw)
			victim = NULL;
	}
	TAILQ_INSERT_TAIL(&shared.pending, t, pentry);
	shared.npending++;
	t->source->pending++;
	t->pending = 1;
	shared_unlock();
	if (victim != NULL)
		tunnel_turn_away(victim, REFUSE_PENDING, PENDING_EVICTED);
	return 0;
}

void
pending_remove(struct tunnel *t)
{
	shared_lock();
	if (t->pending)
		pending_unlink(t);
	shared_unlock();
}

void
pending_evicted(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel	*t, *next;
	uint64_t	*ids;
	size_t		 n, i;

	shared_lock();
	ids = gw->evicted;
	n = gw->nevicted;
	gw->evicted = NULL;
	gw->nevicted = 0;
	shared_unlock();
	/* Those that showed their ticket meanwhile keep their tunnel. */
	TAILQ_FOREACH_SAFE(t, &gw->tunnels, entry, next) {
		if (t->state != TUNNEL_HANDSHAKE && t->state != TUNNEL_REQUEST)
			continue;
		for (i = 0; i < n && ids[i] != t->id; i++)
			;
		if (i < n)
			tunnel_turn_away(t, REFUSE_PENDING, PENDING_EVICTED);
	}
	free(ids);
}

unsigned int
pending_count(void)
{
	unsigned int	n;

	shared_lock();
	n = shared.npending;
	shared_unlock();
	return n;
}
