/* SPDX-License-Identifier: ISC */
/*
 * The live event stream, GET /api/v1/events: server-sent events of
 * session, desktop, domain and GPU changes for the helpdesk board and
 * scripts.
 *
 * Each subscriber has a queue of its own, bounded by events_queue bytes,
 * and at most one chunk on its connection at a time: the next goes out
 * once the last is written. A subscriber that does not keep up (its queue
 * would pass the bound) is dropped and counted; nothing waits for it, so
 * a stalled page costs its own connection and at most events_queue bytes
 * plus a small socket buffer, never the loop. A comment line every
 * events_heartbeat keeps proxies from closing a quiet stream, and finds
 * subscribers that stopped reading even when nothing happens.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "broker.h"
#include "log.h"
#include "xmalloc.h"

/* The kernel's send buffer of a stream: the queue is the bound, not it. */
#define EVENTS_SNDBUF		(16 * 1024)

struct events_sub {
	struct http_req		*req;
	unsigned		 roles;
	struct evbuffer		*queue;		/* not yet on the connection */
	int			 writing;	/* a chunk is being written */
	int			 dropped;	/* fell behind */
	struct event		*reap;
	unsigned long long	 sent;		/* events */
	TAILQ_ENTRY(events_sub)	 entry;
};

static TAILQ_HEAD(, events_sub) events_subs =
    TAILQ_HEAD_INITIALIZER(events_subs);
static struct event		*events_heartbeat;
static uint64_t			 events_id;
static struct events_stats	 events_st;

const struct events_stats *
events_stats(void)
{
	return &events_st;
}

/* The one way a subscriber goes: from the loop, never from a callback of
 * its own connection. */
static void
events_close(struct events_sub *sub, int complete)
{
	TAILQ_REMOVE(&events_subs, sub, entry);
	events_st.subscribers--;
	log_info("events: %s: %s after %llu events", sub->req->peer_str,
	    sub->dropped ? "dropped, too slow" : complete ? "ended" : "left",
	    sub->sent);
	http_reply_end(sub->req, complete);
	http_req_release(sub->req);
	evbuffer_free(sub->queue);
	event_free(sub->reap);
	free(sub);
}

static void
events_reap(evutil_socket_t fd, short ev, void *arg)
{
	events_close(arg, 0);
}

static void
events_gone(void *arg)
{
	struct events_sub	*sub = arg;

	event_active(sub->reap, EV_TIMEOUT, 0);
}

static void	events_written(void *arg);

/* Puts what is queued on the connection, unless a chunk is on its way. */
static void
events_flush(struct events_sub *sub)
{
	if (sub->writing || sub->dropped ||
	    evbuffer_get_length(sub->queue) == 0)
		return;
	sub->writing = 1;
	if (http_reply_chunk(sub->req, sub->queue, events_written) == -1) {
		sub->writing = 0;
		event_active(sub->reap, EV_TIMEOUT, 0);
	}
}

static void
events_written(void *arg)
{
	struct events_sub	*sub = arg;

	sub->writing = 0;
	events_flush(sub);
}

/* Adds len bytes to sub's queue, or drops sub when they do not fit. */
static void
events_queue(struct events_sub *sub, const char *text, size_t len)
{
	if (sub->dropped)
		return;
	if (evbuffer_get_length(sub->queue) + len >
	    broker->conf->events_queue ||
	    evbuffer_add(sub->queue, text, len) == -1) {
		sub->dropped = 1;
		events_st.dropped++;
		event_active(sub->reap, EV_TIMEOUT, 0);
		return;
	}
	events_flush(sub);
}

void
events_publish(const char *type, unsigned role, json_t *data)
{
	struct events_sub	*sub;
	struct timespec		 ts;
	char			*json = NULL, *text = NULL;
	int			 len;

	if (data == NULL)
		return;
	if (TAILQ_EMPTY(&events_subs))
		goto out;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(data, "type", json_string(type));
	json_object_set_new(data, "time", json_integer((json_int_t)ts.tv_sec *
	    1000 + ts.tv_nsec / 1000000));
	/* Compact: one line, as a data: field must be. */
	if ((json = json_dumps(data, JSON_COMPACT)) == NULL ||
	    (len = asprintf(&text, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n",
	    ++events_id, type, json)) == -1) {
		text = NULL;
		goto out;
	}
	events_st.published++;
	TAILQ_FOREACH(sub, &events_subs, entry) {
		if ((sub->roles & role) == 0)
			continue;
		sub->sent++;
		events_queue(sub, text, (size_t)len);
	}
out:
	free(json);
	free(text);
	json_decref(data);
}

static void
events_beat(evutil_socket_t fd, short ev, void *arg)
{
	static const char	 ping[] = ": ping\n\n";
	struct events_sub	*sub;

	TAILQ_FOREACH(sub, &events_subs, entry)
		events_queue(sub, ping, sizeof(ping) - 1);
}

/* A small send buffer: a stalled reader holds kilobytes in the kernel. */
static void
events_sndbuf(struct http_req *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;
	evutil_socket_t			 fd;
	int				 size = EVENTS_SNDBUF;

	if ((evcon = evhttp_request_get_connection(req->ev)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) == -1)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) == -1)
		log_debug("events: SO_SNDBUF: %s", strerror(errno));
}

void
events_subscribe(struct http_req *req, unsigned roles)
{
	static const char	 hello[] = "retry: 2000\n\n";
	struct events_sub	*sub;
	struct timeval		 tv = { 0, 0 };
	char			 retry[16];

	if (events_st.subscribers >= broker->conf->events_subscribers) {
		events_st.refused++;
		snprintf(retry, sizeof(retry), "%u",
		    broker->conf->events_heartbeat);
		http_add_header(req, "Retry-After", retry);
		http_reply_error(req, 503, "too_many_subscribers", "the broker "
		    "serves %u event streams at most",
		    broker->conf->events_subscribers);
		return;
	}
	if (events_heartbeat == NULL) {
		events_heartbeat = event_new(broker->base, -1, EV_PERSIST,
		    events_beat, NULL);
		tv.tv_sec = broker->conf->events_heartbeat;
		evtimer_add(events_heartbeat, &tv);
	}
	sub = xcalloc(1, sizeof(*sub));
	sub->req = req;
	sub->roles = roles;
	if ((sub->queue = evbuffer_new()) == NULL ||
	    (sub->reap = event_new(broker->base, -1, 0, events_reap,
	    sub)) == NULL) {
		http_reply_error(req, 500, "internal", "out of memory");
		goto fail;
	}
	/* Proxies (nginx) must pass each event on as it comes. */
	http_add_header(req, "X-Accel-Buffering", "no");
	events_sndbuf(req);
	if (http_reply_start(req, 200, "text/event-stream", events_gone,
	    sub) == -1)
		goto fail;
	http_req_hold(req);
	TAILQ_INSERT_TAIL(&events_subs, sub, entry);
	events_st.subscribers++;
	events_st.served++;
	log_info("events: %s: subscribed", req->peer_str);
	events_queue(sub, hello, sizeof(hello) - 1);
	return;
fail:
	if (sub->queue != NULL)
		evbuffer_free(sub->queue);
	if (sub->reap != NULL)
		event_free(sub->reap);
	free(sub);
}

void
events_stop(void)
{
	struct events_sub	*sub;

	while ((sub = TAILQ_FIRST(&events_subs)) != NULL)
		events_close(sub, 1);
	if (events_heartbeat != NULL)
		event_free(events_heartbeat);
	events_heartbeat = NULL;
}
