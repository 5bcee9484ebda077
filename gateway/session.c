/*
 * Sessions (the tunnels one ticket's session holds) and connection counts
 * per source address.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"

struct session *
session_find(uint64_t id)
{
	struct session	*s;

	HASH_FIND(hh, gw->sessions, &id, sizeof id, s);
	return s;
}

struct session *
session_get(uint64_t id, const char *user)
{
	struct session	*s;

	if ((s = session_find(id)) != NULL)
		return s;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	s->id = id;
	strlcpy(s->user, user, sizeof s->user);
	TAILQ_INIT(&s->tunnels);
	s->since = time(NULL);
	HASH_ADD(hh, gw->sessions, id, sizeof s->id, s);
	return s;
}

void
session_attach(struct session *s, struct tunnel *t)
{
	TAILQ_INSERT_TAIL(&s->tunnels, t, sentry);
	s->ntunnels++;
	t->session = s;
}

void
session_drop_empty(struct session *s)
{
	if (s->ntunnels > 0)
		return;
	HASH_DEL(gw->sessions, s);
	free(s);
}

void
session_detach(struct tunnel *t)
{
	struct session	*s = t->session;

	if (s == NULL)
		return;
	TAILQ_REMOVE(&s->tunnels, t, sentry);
	s->ntunnels--;
	t->session = NULL;
	session_drop_empty(s);
}

/* Closes every tunnel of a session; returns how many. */
unsigned int
session_kill(uint64_t id, const char *reason)
{
	struct session	*s;
	struct tunnel	*t;
	unsigned int	 n = 0;

	/* Each close may free the session with its last tunnel. */
	while ((s = session_find(id)) != NULL &&
	    (t = TAILQ_FIRST(&s->tunnels)) != NULL) {
		tunnel_close(t, reason);
		n++;
	}
	return n;
}

/*
 * Counts one more connection from a source (netaddr_source: an IPv4
 * address, or an IPv6 /64); NULL when out of memory.
 */
struct source *
source_get(const struct sockaddr_storage *ss)
{
	struct source	*src;
	char		 key[NETADDR_STRLEN];

	netaddr_source((const struct sockaddr *)ss, GATEWAY_SOURCE_PREFIX_V6,
	    key, sizeof key);
	HASH_FIND_STR(gw->sources, key, src);
	if (src == NULL) {
		if ((src = calloc(1, sizeof *src)) == NULL)
			return NULL;
		strlcpy(src->key, key, sizeof src->key);
		HASH_ADD_STR(gw->sources, key, src);
	}
	src->count++;
	return src;
}

void
source_put(struct source *src)
{
	if (src == NULL)
		return;
	if (--src->count == 0) {
		HASH_DEL(gw->sources, src);
		free(src);
	}
}
