/*
 * Connections that have not shown a valid ticket yet: they cost the gateway
 * a descriptor and a timer while proving nothing, so they share max_pending
 * slots of their own. When those are full, a newcomer from a group that
 * holds fewer of them than the busiest group takes the place of that
 * group's oldest one: whoever opens connections without ever sending a
 * ticket only pushes out its own, and a client that sends its ticket at
 * once gets through. A newcomer from the busiest group is refused.
 */
#include <stddef.h>

#include "gateway.h"

/* The most pending connections any one group holds. */
static unsigned int
pending_most(void)
{
	struct source	*src, *tmp;
	unsigned int	 most = 0;

	HASH_ITER(hh, gw->sources, src, tmp) {
		if (src->pending > most)
			most = src->pending;
	}
	return most;
}

/*
 * Turns away the oldest pending connection among the busiest groups for a
 * newcomer from src; -1 when src's group is itself among the busiest.
 */
static int
pending_evict(const struct source *src)
{
	struct tunnel	*t;
	unsigned int	 most = pending_most();

	if (most <= src->pending)
		return -1;
	TAILQ_FOREACH(t, &gw->pending, pentry) {
		if (t->source->pending == most)
			break;
	}
	if (t == NULL)
		return -1;
	tunnel_turn_away(t, REFUSE_PENDING, "too many connections waiting "
	    "for a ticket; this one waited longest");
	return 0;
}

int
pending_add(struct tunnel *t)
{
	if (gw->npending >= gw->conf->max_pending &&
	    pending_evict(t->source) == -1)
		return -1;
	TAILQ_INSERT_TAIL(&gw->pending, t, pentry);
	gw->npending++;
	t->source->pending++;
	t->pending = 1;
	return 0;
}

void
pending_remove(struct tunnel *t)
{
	if (!t->pending)
		return;
	TAILQ_REMOVE(&gw->pending, t, pentry);
	gw->npending--;
	t->source->pending--;
	t->pending = 0;
}
