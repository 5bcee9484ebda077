/* SPDX-License-Identifier: ISC */
/*
 * What a standby knows of the leader, for its health check: whether it
 * reaches it. By how its last forward went when that was less than
 * REACH_FRESH seconds ago (REACH_RETRY when it failed), else by a probe,
 * a forward of the health check itself (forward_probe; one at a time, and
 * the health checks that come meanwhile wait for it), so that a load
 * balancer sends nobody to a standby that could only fail them.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "broker.h"
#include "forwardpriv.h"
#include "http.h"
#include "log.h"

/* Seconds a forward's or a probe's outcome answers health checks: the
 * leader reached, or not (a standby comes back soon after the leader). */
#define REACH_FRESH	3
#define REACH_RETRY	1

/* A health check waiting for a probe. */
struct reach_waiter {
	struct http_req			*req;	/* held */
	TAILQ_ENTRY(reach_waiter)	 entry;
};

static struct {
	int			 known;
	int			 up;
	struct timespec		 at;		/* CLOCK_MONOTONIC */
	char			 leader[256];	/* the URL it is about */
	char			 why[160];	/* down: what the leader
						 * did, in words */
	int			 probing;
	TAILQ_HEAD(, reach_waiter) waiters;
	unsigned long long	 probes[2];	/* down, up */
} reach = { .waiters = TAILQ_HEAD_INITIALIZER(reach.waiters) };

void
forward_reach_note(const char *url, int up, const char *why)
{
	if (!up && (!reach.known || reach.up ||
	    strcmp(reach.leader, url) != 0))
		log_warnx("forward: the leading broker %s %s", url, why);
	else if (up && reach.known && !reach.up &&
	    strcmp(reach.leader, url) == 0)
		log_info("forward: the leading broker %s answers again", url);
	reach.known = 1;
	reach.up = up;
	clock_gettime(CLOCK_MONOTONIC, &reach.at);
	strlcpy(reach.leader, url, sizeof(reach.leader));
	strlcpy(reach.why, up ? "" : why, sizeof(reach.why));
}

/* Whether what was last seen of the leader answers a health check. */
static int
reach_fresh(void)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return reach.known && strcmp(reach.leader, cluster_leader()) == 0 &&
	    now.tv_sec - reach.at.tv_sec < (reach.up ? REACH_FRESH :
	    REACH_RETRY);
}

/* A standby's health by what was last seen of the leader. */
static void
reach_reply(struct http_req *req)
{
	if (reach.up) {
		http_reply_json(req, 200, json_pack("{s:s,s:s,s:s}", "status",
		    "up", "role", "standby", "leader", cluster_leader()));
		return;
	}
	http_reply_json(req, 503, json_pack("{s:s,s:s,s:s,s:s+++}", "status",
	    "down", "role", "standby", "leader", cluster_leader(), "reason",
	    "the leading broker ", reach.leader, " ", reach.why));
}

/* Answers the health checks that waited for a probe. */
static void
reach_answer(void)
{
	struct reach_waiter	*w;

	while ((w = TAILQ_FIRST(&reach.waiters)) != NULL) {
		TAILQ_REMOVE(&reach.waiters, w, entry);
		reach_reply(w->req);
		http_req_release(w->req);
		free(w);
	}
}

/*
 * The leader is up when it answered its health check 200 as the leader.
 * Its words are the leader's, who holds a certificate of the site; they
 * are shortened and made printable all the same.
 */
void
forward_reach_probed(const char *url, int status, const void *body,
    size_t len, const char *failure)
{
	json_t		*j = NULL;
	const char	*role, *msg;
	char		 why[160];
	size_t		 i;
	int		 up = 0;

	if (status == 0)
		snprintf(why, sizeof(why), "is unreachable: %s",
		    failure[0] != '\0' ? failure : "no answer");
	else {
		if (len > 0)
			j = json_loadb(body, len, 0, NULL);
		if (status == 200 && json_unpack(j, "{s:s}", "role",
		    &role) == 0 && strcmp(role, "leader") == 0)
			up = 1;
		else if (json_unpack(j, "{s:{s:s}}", "error", "message",
		    &msg) == 0)
			snprintf(why, sizeof(why), "answers %d: %.100s",
			    status, msg);
		else
			snprintf(why, sizeof(why), "answers %d, not as the "
			    "leader", status);
		for (i = 0; !up && why[i] != '\0'; i++)
			if (!isprint((unsigned char)why[i]))
				why[i] = '?';
		json_decref(j);
	}
	reach.probing = 0;
	reach.probes[up]++;
	forward_reach_note(url, up, up ? "" : why);
	reach_answer();
}

void
forward_health(struct http_req *req)
{
	struct reach_waiter	*w;

	if (reach_fresh() && !reach.probing) {
		reach_reply(req);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		http_reply_error(req, 503, "overloaded", "out of memory");
		return;
	}
	w->req = req;
	http_req_hold(req);
	TAILQ_INSERT_TAIL(&reach.waiters, w, entry);
	if (reach.probing)
		return;
	reach.probing = 1;
	if (forward_probe(req->peer_str) == -1) {
		reach.probing = 0;
		reach.probes[0]++;
		forward_reach_note(cluster_leader(), 0, "cannot be probed: this "
		    "broker cannot sign or start a forward");
		reach_answer();
	}
}

void
forward_reach_metrics(struct evbuffer *b)
{
	evbuffer_add_printf(b, "# HELP paprika_broker_leader_reachable Whether "
	    "this standby reached the leading broker at its last forward or "
	    "health probe (1 on the leader itself).\n"
	    "# TYPE paprika_broker_leader_reachable gauge\n"
	    "paprika_broker_leader_reachable %d\n", cluster_leading() ||
	    (reach.known && reach.up));
	evbuffer_add_printf(b, "# HELP paprika_broker_leader_probes_total "
	    "Health probes this standby sent the leading broker, by whether "
	    "it answered as the leader.\n"
	    "# TYPE paprika_broker_leader_probes_total counter\n"
	    "paprika_broker_leader_probes_total{result=\"up\"} %llu\n"
	    "paprika_broker_leader_probes_total{result=\"down\"} %llu\n",
	    reach.probes[1], reach.probes[0]);
}
