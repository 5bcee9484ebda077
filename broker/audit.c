/* SPDX-License-Identifier: ISC */
/*
 * The audit log's retention and its export over HTTP.
 *
 * The purge deletes records older than audit_keep_days at start-up and
 * every audit_purge_interval after, in batches: each batch is one short
 * statement, and the next waits for the loop to have served whatever else
 * was ready, so a big backlog never holds the loop for long.
 *
 * An export streams the records to an admin a page at a time; the next
 * page is read only once the last one is written, so neither a big table
 * nor a slow reader holds the loop or fills memory. Each page is its own
 * statement (db_audit_page), so no read transaction stays open meanwhile.
 *
 * A screenshot is audited once per viewer, address and screen within
 * audit_screenshot_window: the helpdesk board fetches every visible
 * desktop's thumbnail every 20 s, which would otherwise write a record
 * each time. Later fetches in the window update that record's detail with
 * their count and the last one's time, so the log says who looked, when
 * first and last, and how often, without growing. The decision is the
 * broker's alone: nothing a client sends can skip the record.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "broker.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

#define AUDIT_PURGE_BATCH	1000	/* records per DELETE */
#define AUDIT_EXPORT_PAGE	500	/* records per chunk */
#define AUDIT_DAY		86400
#define AUDIT_SEEN_MAX		4096	/* screenshot windows open at once */

struct audit_export {
	struct http_req		*req;
	enum auditfmt		 format;
	struct audit_cursor	 cur;
	struct evbuffer		*buf;
	struct event		*reap;		/* the client left: end it */
	unsigned long long	 rows;
	int			 failed;	/* a record could not be written */
	TAILQ_ENTRY(audit_export) entry;
};

static TAILQ_HEAD(, audit_export) audit_exports =
    TAILQ_HEAD_INITIALIZER(audit_exports);
/* A screenshot record whose window is open. */
struct audit_seen {
	char			 actor[AUTH_NAME_MAX + 1];
	char			 source[64];
	char			 pool[BROKER_NAME_MAX + 1];
	char			 desktop[128];
	unsigned		 screen;
	time_t			 first;		/* the record's fetch */
	unsigned long long	 count;		/* fetches in the window */
	int64_t			 id;		/* the record */
	TAILQ_ENTRY(audit_seen)	 entry;
};

static TAILQ_HEAD(, audit_seen) audit_seen =
    TAILQ_HEAD_INITIALIZER(audit_seen);
static unsigned			 audit_nseen;
static struct event		*audit_purge_ev;
static time_t			 audit_cutoff;	/* of the purge under way */
static unsigned long long	 audit_purged;

/* One batch of the purge; the next batch, or the next purge, by timer. */
static void
audit_purge(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	 tv = { 0, 0 };
	unsigned	 keep = broker->conf->audit_keep_days;
	int		 n;

	if (audit_cutoff == 0)
		audit_cutoff = time(NULL) - (time_t)keep * AUDIT_DAY;
	n = db_audit_purge(broker->db, audit_cutoff, AUDIT_PURGE_BATCH);
	if (n == AUDIT_PURGE_BATCH) {
		audit_purged += (unsigned long long)n;
		evtimer_add(audit_purge_ev, &tv);
		return;
	}
	if (n == -1)
		log_warnx("audit: purge of records older than %u days failed "
		    "after %llu records; next try in %us", keep, audit_purged,
		    broker->conf->audit_purge_interval);
	else {
		audit_purged += (unsigned long long)n;
		log_info("audit: purged %llu records older than %u days",
		    audit_purged, keep);
	}
	if (audit_purged > 0)
		broker_audit("broker", NULL, "audit purge", "", n == -1 ?
		    "failed" : "ok", "%llu records older than %u days",
		    audit_purged, keep);
	audit_cutoff = 0;
	audit_purged = 0;
	tv.tv_sec = broker->conf->audit_purge_interval;
	evtimer_add(audit_purge_ev, &tv);
}

/* Forgets the windows that closed (they are oldest first). */
static void
audit_seen_expire(time_t now)
{
	struct audit_seen	*a;
	time_t			 w = broker->conf->audit_screenshot_window;

	while ((a = TAILQ_FIRST(&audit_seen)) != NULL &&
	    (now < a->first || now - a->first >= w)) {
		TAILQ_REMOVE(&audit_seen, a, entry);
		audit_nseen--;
		free(a);
	}
}

void
audit_screenshot(const char *actor, const char *source, const char *pool,
    const char *desktop, unsigned screen)
{
	struct audit_seen	*a;
	time_t			 now = time(NULL);
	char			 detail[256], last[32];
	struct tm		 tm;

	if (source == NULL)
		source = "";
	audit_seen_expire(now);
	TAILQ_FOREACH(a, &audit_seen, entry) {
		if (a->screen == screen && strcmp(a->actor, actor) == 0 &&
		    strcmp(a->source, source) == 0 &&
		    strcmp(a->desktop, desktop) == 0 &&
		    strcmp(a->pool, pool) == 0)
			break;
	}
	if (a != NULL) {
		a->count++;
		last[0] = '\0';
		if (gmtime_r(&now, &tm) != NULL)
			strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(detail, sizeof(detail), "pool %s, screen %u; fetched "
		    "%llu times, the last at %s", pool, screen, a->count, last);
		if (db_audit_detail(broker->db, a->id, detail) == -1)
			log_warnx("audit: could not count a screenshot by %s",
			    actor);
		return;
	}
	snprintf(detail, sizeof(detail), "pool %s, screen %u", pool, screen);
	if (db_audit(broker->db, actor, source, "screenshot", desktop, "ok",
	    detail) == -1) {
		log_warnx("audit: could not record \"screenshot\" by %s",
		    actor);
		return;
	}
	/* A full table only costs records, never one. */
	if (broker->conf->audit_screenshot_window == 0 ||
	    audit_nseen >= AUDIT_SEEN_MAX)
		return;
	a = xcalloc(1, sizeof(*a));
	if (strlcpy(a->actor, actor, sizeof(a->actor)) >= sizeof(a->actor) ||
	    strlcpy(a->source, source, sizeof(a->source)) >=
	    sizeof(a->source) ||
	    strlcpy(a->pool, pool, sizeof(a->pool)) >= sizeof(a->pool) ||
	    strlcpy(a->desktop, desktop, sizeof(a->desktop)) >=
	    sizeof(a->desktop)) {
		free(a);
		return;
	}
	a->screen = screen;
	a->first = now;
	a->count = 1;
	a->id = db_audit_last(broker->db);
	TAILQ_INSERT_TAIL(&audit_seen, a, entry);
	audit_nseen++;
}

void
audit_start(void)
{
	struct timeval	tv = { 0, 0 };

	if (broker->conf->audit_keep_days == 0) {
		log_info("audit: records are kept forever (audit_keep_days "
		    "= 0)");
		return;
	}
	audit_purge_ev = evtimer_new(broker->base, audit_purge, NULL);
	if (audit_purge_ev == NULL)
		fatalx("audit: cannot set up the purge");
	/* The first purge as soon as the loop runs. */
	evtimer_add(audit_purge_ev, &tv);
}

/* The one way an export ends: complete, or cut (the client sees a broken
 * body, not a short one that looks whole). */
static void
audit_export_close(struct audit_export *e, int complete)
{
	TAILQ_REMOVE(&audit_exports, e, entry);
	if (!complete)
		log_warnx("audit: export to %s cut after %llu records",
		    e->req->peer_str, e->rows);
	http_reply_end(e->req, complete);
	http_req_release(e->req);
	evbuffer_free(e->buf);
	event_free(e->reap);
	free(e);
}

static void
audit_export_row(const struct audit_row *r, void *arg)
{
	struct audit_export	*e = arg;

	if (auditfmt_row(e->buf, e->format, r) == -1)
		e->failed = 1;
	e->rows++;
}

/* The next page into e->buf: 0, 1 for the last page, -1 on error. */
static int
audit_export_read(struct audit_export *e)
{
	int	n;

	n = db_audit_page(broker->db, &e->cur, AUDIT_EXPORT_PAGE,
	    audit_export_row, e);
	if (n == -1 || e->failed)
		return -1;
	return n < AUDIT_EXPORT_PAGE;
}

static void	audit_export_next(void *arg);

/* Sends the page in e->buf; after the last, ends the reply. */
static void
audit_export_send(struct audit_export *e, int last)
{
	if (http_reply_chunk(e->req, e->buf, last ? NULL :
	    audit_export_next) == -1)
		audit_export_close(e, 0);
	else if (last)
		audit_export_close(e, 1);
}

/* The last page is written: the next one. */
static void
audit_export_next(void *arg)
{
	struct audit_export	*e = arg;
	int			 rc;

	if ((rc = audit_export_read(e)) == -1)
		audit_export_close(e, 0);
	else
		audit_export_send(e, rc);
}

static void
audit_export_gone(void *arg)
{
	struct audit_export	*e = arg;

	/* From the connection's close: end it from the loop instead. */
	event_active(e->reap, EV_TIMEOUT, 0);
}

static void
audit_export_reap(evutil_socket_t fd, short ev, void *arg)
{
	audit_export_close(arg, 0);
}

void
audit_export(struct http_req *req, enum auditfmt f, int64_t since,
    int64_t until, const struct audit_filter *filter)
{
	struct audit_export	*e;
	int			 rc = -1;

	e = xcalloc(1, sizeof(*e));
	e->req = req;
	e->format = f;
	db_audit_cursor(&e->cur, since, until);
	if (filter != NULL)
		e->cur.filter = *filter;
	e->buf = evbuffer_new();
	e->reap = event_new(broker->base, -1, 0, audit_export_reap, e);
	/* The first page before the status: a broken state gets a 500. */
	if (e->buf == NULL || e->reap == NULL ||
	    auditfmt_header(e->buf, f) == -1 ||
	    (rc = audit_export_read(e)) == -1) {
		http_reply_error(req, 500, "state", "the broker cannot read "
		    "its audit log");
		goto fail;
	}
	if (http_reply_start(req, 200, auditfmt_type(f), audit_export_gone,
	    e) == -1)
		goto fail;
	http_req_hold(req);
	TAILQ_INSERT_TAIL(&audit_exports, e, entry);
	audit_export_send(e, rc);
	return;
fail:
	if (e->buf != NULL)
		evbuffer_free(e->buf);
	if (e->reap != NULL)
		event_free(e->reap);
	free(e);
}

void
audit_stop(void)
{
	struct audit_export	*e;

	while ((e = TAILQ_FIRST(&audit_exports)) != NULL)
		audit_export_close(e, 0);
	if (audit_purge_ev != NULL)
		event_free(audit_purge_ev);
	audit_purge_ev = NULL;
	audit_seen_expire(0);	/* before every window: all of them */
}
