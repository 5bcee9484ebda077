/* SPDX-License-Identifier: ISC */
/*
 * Readiness: a started guest is ready when its user can use it, by its
 * pool's ready_when. agent: qemu-ga answers a guest-ping, or the SPICE
 * agent is connected. display: the primary screen is drawn (not QEMU's
 * "not initialized" screen, not blank) and has not changed for
 * ready_settle seconds, so firmware text with a blinking cursor does not
 * count. port: at once. Each watch looks again until then, or fails with
 * the reason at ready_timeout; sessions and spares wait on it. Boot times
 * of each pool give the "booting" step its percentage.
 *
 * A guest reverted to a snapshot of its running desktop did not boot: each
 * pool keeps the digests of its last settled screens, and such a guest
 * showing one of them is ready at that look, without waiting ready_settle
 * again. Booting guests always wait: a splash screen that once stayed
 * still would otherwise pass for the desktop at every later boot.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "broker.h"
#include "log.h"
#include "virt.h"
#include "xmalloc.h"

#define READY_LOOK_DISPLAY_MS	250
#define READY_LOOK_AGENT_MS	500
#define READY_ERRORS_MAX	3	/* looks that fail in a row */
#define READY_BOOTS_KEPT	8	/* boot times kept per pool */
#define READY_GUESS		20.0	/* seconds, before any boot is seen */
#define READY_SCREENS_KEPT	4	/* settled screens kept per pool */

struct ready_watch {
	uint64_t		 id;
	const struct conf_host	*host;
	const struct conf_pool	*pool;		/* ready_when and its times */
	char			 dom[VIRT_NAME_MAX];
	double			 started;
	double			 still_since;	/* the screen as it is now */
	uint8_t			 digest[SCREEN_DIGEST_LEN];
	enum screen_look	 look;		/* the last look's (the
						 * placeholder before one) */
	enum virt_ready		 checked;	/* auto resolved */
	int			 known_ok;	/* a known settled screen
						 * is ready (no boot) */
	int			 errors;
	char			 error[VIRT_ERROR_MAX];	/* the last failed
						 * look's, for the log */
	char			 reason[VIRT_ERROR_MAX]; /* and for users */
	ready_cb		 cb;
	void			*arg;
	struct event		*timer;
	UT_hash_handle		 hh;
};

/* Guests seen ready since they last started, by "host/dom". */
struct ready_seen {
	char			 key[BROKER_NAME_MAX + VIRT_NAME_MAX + 2];
	UT_hash_handle		 hh;
};

/* A pool's last boot times, seconds from start to ready. */
struct ready_boots {
	char			 pool[BROKER_NAME_MAX + 1];
	double			 seconds[READY_BOOTS_KEPT];
	unsigned		 n;		/* ever recorded */
	UT_hash_handle		 hh;
};

/* A pool's last settled screens. */
struct ready_screens {
	char			 pool[BROKER_NAME_MAX + 1];
	uint8_t			 digest[READY_SCREENS_KEPT][SCREEN_DIGEST_LEN];
	unsigned		 n;		/* ever recorded */
	UT_hash_handle		 hh;
};

static struct ready_watch	*watches;
static struct ready_seen	*seen;
static struct ready_boots	*boots;
static struct ready_screens	*screens;
static uint64_t			 next_id = 1;

static void	ready_look(evutil_socket_t fd, short ev, void *arg);

static double
ready_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
ready_seen_key(char *key, size_t len, const char *host, const char *dom)
{
	snprintf(key, len, "%s/%s", host, dom);
}

static int
ready_is_seen(const char *host, const char *dom)
{
	struct ready_seen	*r;
	char			 key[sizeof(r->key)];

	ready_seen_key(key, sizeof(key), host, dom);
	HASH_FIND_STR(seen, key, r);
	return r != NULL;
}

static void
ready_set_seen(const char *host, const char *dom)
{
	struct ready_seen	*r;

	if (ready_is_seen(host, dom))
		return;
	r = xcalloc(1, sizeof(*r));
	ready_seen_key(r->key, sizeof(r->key), host, dom);
	HASH_ADD_STR(seen, key, r);
}

void
ready_forget(const char *host, const char *dom)
{
	struct ready_seen	*r;
	char			 key[sizeof(r->key)];

	ready_seen_key(key, sizeof(key), host, dom);
	HASH_FIND_STR(seen, key, r);
	if (r != NULL) {
		HASH_DEL(seen, r);
		free(r);
	}
}

static void
ready_boot_record(const char *pool, double seconds)
{
	struct ready_boots	*b;

	HASH_FIND_STR(boots, pool, b);
	if (b == NULL) {
		b = xcalloc(1, sizeof(*b));
		strlcpy(b->pool, pool, sizeof(b->pool));
		HASH_ADD_STR(boots, pool, b);
	}
	b->seconds[b->n++ % READY_BOOTS_KEPT] = seconds;
}

double
ready_boot_estimate(const char *pool)
{
	struct ready_boots	*b;
	double			 sum = 0;
	unsigned		 i, n;

	HASH_FIND_STR(boots, pool, b);
	if (b == NULL || b->n == 0)
		return READY_GUESS;
	n = b->n < READY_BOOTS_KEPT ? b->n : READY_BOOTS_KEPT;
	for (i = 0; i < n; i++)
		sum += b->seconds[i];
	return sum / n;
}

static struct ready_screens *
ready_screens_of(const char *pool)
{
	struct ready_screens	*r;

	HASH_FIND_STR(screens, pool, r);
	return r;
}

static int
ready_screen_known(const char *pool, const uint8_t *digest)
{
	struct ready_screens	*r = ready_screens_of(pool);
	unsigned		 i, n;

	if (r == NULL)
		return 0;
	n = r->n < READY_SCREENS_KEPT ? r->n : READY_SCREENS_KEPT;
	for (i = 0; i < n; i++)
		if (memcmp(r->digest[i], digest, SCREEN_DIGEST_LEN) == 0)
			return 1;
	return 0;
}

static void
ready_screen_record(const char *pool, const uint8_t *digest)
{
	struct ready_screens	*r;

	if (ready_screen_known(pool, digest))
		return;
	if ((r = ready_screens_of(pool)) == NULL) {
		r = xcalloc(1, sizeof(*r));
		strlcpy(r->pool, pool, sizeof(r->pool));
		HASH_ADD_STR(screens, pool, r);
	}
	memcpy(r->digest[r->n++ % READY_SCREENS_KEPT], digest,
	    SCREEN_DIGEST_LEN);
}

static void
ready_free(struct ready_watch *w)
{
	HASH_DEL(watches, w);
	event_free(w->timer);
	free(w->arg);
	free(w);
}

/*
 * Tells the watcher; frees the watch when done or when it is not wanted.
 * error is for users, detail (NULL: the same) for the log.
 */
static void
ready_report(struct ready_watch *w, int done, const char *how,
    const char *error, const char *detail)
{
	struct ready_status	 st;
	double			 elapsed = ready_now() - w->started;
	double			 pct;

	memset(&st, 0, sizeof(st));
	st.done = done;
	st.how = how;
	st.error = error;
	st.detail = detail != NULL ? detail : error;
	st.elapsed = elapsed;
	pct = 100.0 * elapsed / ready_boot_estimate(w->pool->name);
	st.percent = done == 1 ? 100 : pct > 99 ? 99 : (unsigned)pct;
	if (w->cb(&st, w->arg) == -1 || done != 0)
		ready_free(w);
}

static void
ready_schedule(struct ready_watch *w, unsigned ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(w->timer, &tv);
}

/* Why a guest that never got ready did not, for its user (for the log
 * with detail: libvirt's words of the last failed look). */
static void
ready_timeout_reason(const struct ready_watch *w, int detail, char *buf,
    size_t len)
{
	char		 still[160];
	const char	*why;

	if (w->errors > 0)
		why = detail ? w->error : w->reason;
	else if (w->checked == VIRT_READY_AGENT)
		why = "its guest agent never answered (is qemu-ga or "
		    "spice-vdagent running in the guest?)";
	else if (w->look == SCREEN_DRAWN) {
		snprintf(still, sizeof(still), "its screen never stayed still "
		    "for %u s (a blinking cursor or a clock keeps changing "
		    "it: give the pool ready_when = agent or port)",
		    w->pool->ready_settle);
		why = still;
	} else if (w->look == SCREEN_BLANK)
		why = "its screen stayed blank";
	else
		why = "the guest never initialised its display";
	snprintf(buf, len, "desktop %s did not become ready in %u s: %s",
	    w->dom, w->pool->ready_timeout, why);
}

/* The guest is ready: remembered until it stops, its boot time kept. */
static void
ready_done(struct ready_watch *w, const char *how)
{
	double	elapsed = ready_now() - w->started;

	ready_set_seen(w->host->name, w->dom);
	if (w->pool->ready_when != VIRT_READY_PORT)
		ready_boot_record(w->pool->name, elapsed);
	log_debug("desktop %s/%s ready after %.1f s: %s", w->pool->name,
	    w->dom, elapsed, how);
	ready_report(w, 1, how, NULL, NULL);
}

static void
ready_looked(const struct virt_result *res, void *arg)
{
	struct ready_watch	*w;
	uint64_t		 id = *(uint64_t *)arg;
	char			 why[2 * VIRT_ERROR_MAX], how[64];
	char			 detail[2 * VIRT_ERROR_MAX];
	double			 now = ready_now();

	free(arg);
	HASH_FIND(hh, watches, &id, sizeof(id), w);
	if (w == NULL)
		return;
	if (!res->ok) {
		strlcpy(w->error, res->error, sizeof(w->error));
		strlcpy(w->reason, virt_result_reason(res), sizeof(w->reason));
		if (++w->errors >= READY_ERRORS_MAX) {
			ready_report(w, -1, NULL, w->reason, w->error);
			return;
		}
	} else if (res->state != VIRT_STATE_RUNNING) {
		snprintf(why, sizeof(why), "desktop %s stopped while it was "
		    "booting (%s)", w->dom, virt_state_name(res->state));
		ready_report(w, -1, NULL, why, NULL);
		return;
	} else {
		w->errors = 0;
		w->checked = res->ready_mode;
		if (res->ready_mode == VIRT_READY_AGENT && res->agent_ok) {
			ready_done(w, "its guest agent answered");
			return;
		}
		if (res->ready_mode == VIRT_READY_DISPLAY) {
			/* Still since the first look at this very screen. */
			if (w->look != SCREEN_DRAWN || memcmp(w->digest,
			    res->screen.digest, sizeof(w->digest)) != 0)
				w->still_since = now;
			w->look = res->screen.look;
			memcpy(w->digest, res->screen.digest,
			    sizeof(w->digest));
			if (w->look == SCREEN_DRAWN &&
			    now - w->still_since >= w->pool->ready_settle) {
				ready_screen_record(w->pool->name, w->digest);
				snprintf(how, sizeof(how), "its screen was "
				    "drawn and still for %u s",
				    w->pool->ready_settle);
				ready_done(w, how);
				return;
			}
			if (w->look == SCREEN_DRAWN && w->known_ok &&
			    ready_screen_known(w->pool->name, w->digest)) {
				ready_done(w, "its screen is one the pool's "
				    "desktops settled on before");
				return;
			}
		}
	}
	if (now - w->started >= w->pool->ready_timeout) {
		ready_timeout_reason(w, 0, why, sizeof(why));
		ready_timeout_reason(w, 1, detail, sizeof(detail));
		ready_report(w, -1, NULL, why, detail);
		return;
	}
	ready_report(w, 0, NULL, NULL, NULL);
	/* ready_report may have freed it (nobody waits any more). */
	HASH_FIND(hh, watches, &id, sizeof(id), w);
	if (w != NULL)
		ready_schedule(w, w->checked == VIRT_READY_DISPLAY ?
		    READY_LOOK_DISPLAY_MS : READY_LOOK_AGENT_MS);
}

static void
ready_look(evutil_socket_t fd, short ev, void *arg)
{
	struct ready_watch	*w = arg;
	uint64_t		*id;

	if (w->pool->ready_when == VIRT_READY_PORT) {
		ready_done(w, "ready_when = port");
		return;
	}
	if (ready_is_seen(w->host->name, w->dom)) {
		ready_report(w, 1, "it was ready before", NULL, NULL);
		return;
	}
	id = xmalloc(sizeof(*id));
	*id = w->id;
	if (virt_ready_probe(w->host->virt, w->dom, w->pool->ready_when,
	    ready_looked, id) == -1) {
		free(id);
		ready_report(w, -1, NULL, "out of memory", NULL);
	}
}

static int
ready_watch_new(const struct conf_pool *p, const struct conf_host *h,
    const char *dom, int known_ok, ready_cb cb, void *arg)
{
	struct ready_watch	*w;

	w = xcalloc(1, sizeof(*w));
	w->id = next_id++;
	w->host = h;
	strlcpy(w->dom, dom, sizeof(w->dom));
	w->pool = p;
	w->checked = p->ready_when;
	w->known_ok = known_ok;
	w->started = ready_now();
	w->cb = cb;
	w->arg = arg;
	if ((w->timer = evtimer_new(broker->base, ready_look, w)) == NULL) {
		free(w->arg);
		free(w);
		return -1;
	}
	HASH_ADD(hh, watches, id, sizeof(w->id), w);
	ready_schedule(w, 0);
	return 0;
}

int
ready_watch(const struct conf_pool *p, const struct conf_host *h,
    const char *dom, ready_cb cb, void *arg)
{
	return ready_watch_new(p, h, dom, 0, cb, arg);
}

static int
ready_warmed(const struct ready_status *st, void *arg)
{
	const char	*key = arg;

	if (st->done == 1)
		log_debug("desktop %s: ready for its next user (%s)", key,
		    st->how);
	else if (st->done == -1)
		log_debug("desktop %s: not ready for its next user: %s", key,
		    st->detail);
	return 0;
}

/*
 * Watches a shared guest just reverted to a snapshot of its running
 * desktop, so that its next user finds it ready: nobody waits on it yet.
 */
int
ready_warm(const struct conf_pool *p, const struct conf_host *h,
    const char *dom)
{
	char	*key;

	if (ready_is_seen(h->name, dom))
		return 0;
	xasprintf(&key, "%s/%s", p->name, dom);
	return ready_watch_new(p, h, dom, 1, ready_warmed, key);
}
