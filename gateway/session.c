/* SPDX-License-Identifier: ISC */
/*
 * Sessions (the tunnels one ticket's session holds) and connection counts
 * per source address. Both are shared by the workers, under shared.lock:
 * a session's list holds tunnels of every worker, and only each tunnel's
 * own worker closes it.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"

/* With shared.lock held. */
static struct session *
session_find(uint64_t id)
{
	struct session	*s;

	HASH_FIND(hh, shared.sessions, &id, sizeof id, s);
	return s;
}

/* With shared.lock held: frees a session that holds no tunnel. */
static void
session_drop_empty(struct session *s)
{
	if (s->ntunnels > 0)
		return;
	HASH_DEL(shared.sessions, s);
	free(s);
}

int
session_join(struct tunnel *t, uint64_t id, const char *user,
    unsigned int max)
{
	struct session	*s;
	int		 rc = -1;

	shared_lock();
	if ((s = session_find(id)) == NULL) {
		if ((s = calloc(1, sizeof *s)) == NULL)
			goto out;
		s->id = id;
		strlcpy(s->user, user, sizeof s->user);
		TAILQ_INIT(&s->tunnels);
		s->since = time(NULL);
		HASH_ADD(hh, shared.sessions, id, sizeof s->id, s);
	}
	if (s->ntunnels >= max) {
		session_drop_empty(s);
		rc = -2;
		goto out;
	}
	TAILQ_INSERT_TAIL(&s->tunnels, t, sentry);
	s->ntunnels++;
	t->session = s;
	rc = 0;
 out:
	shared_unlock();
	return rc;
}

void
session_detach(struct tunnel *t)
{
	struct session	*s = t->session;

	if (s == NULL)
		return;
	shared_lock();
	TAILQ_REMOVE(&s->tunnels, t, sentry);
	s->ntunnels--;
	t->session = NULL;
	session_drop_empty(s);
	shared_unlock();
}

unsigned int
session_count(void)
{
	unsigned int	n;

	shared_lock();
	n = HASH_COUNT(shared.sessions);
	shared_unlock();
	return n;
}

struct session_kill_job {
	uint64_t	 id;
	const char	*reason;
	unsigned int	 closed;
};

/* On each worker: closes this worker's tunnels of the session. */
static void
session_kill_here(void *arg)
{
	struct session_kill_job	*job = arg;
	struct session		*s;
	struct tunnel		*t;

	for (;;) {
		/* Each close may free the session with its last tunnel. */
		t = NULL;
		shared_lock();
		if ((s = session_find(job->id)) != NULL) {
			TAILQ_FOREACH(t, &s->tunnels, sentry) {
				if (t->worker == gw)
					break;
			}
		}
		shared_unlock();
		if (t == NULL)
			return;
		tunnel_close(t, job->reason);
		job->closed++;
	}
}

unsigned int
session_kill(uint64_t id, const char *reason)
{
	struct session_kill_job	job = { id, reason, 0 };

	worker_run_all(session_kill_here, &job);
	return job.closed;
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
	shared_lock();
	HASH_FIND_STR(shared.sources, key, src);
	if (src == NULL) {
		if ((src = calloc(1, sizeof *src)) == NULL)
			goto out;
		strlcpy(src->key, key, sizeof src->key);
		HASH_ADD_STR(shared.sources, key, src);
	}
	src->count++;
 out:
	shared_unlock();
	return src;
}

void
source_put(struct source *src)
{
	if (src == NULL)
		return;
	shared_lock();
	if (--src->count == 0) {
		HASH_DEL(shared.sources, src);
		free(src);
	}
	shared_unlock();
}
