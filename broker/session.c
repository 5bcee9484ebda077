/* SPDX-License-Identifier: ISC */
/*
 * Desktop sessions: one user on one guest. A session is prepared (guest
 * started, SPICE port read) in steps driven by libvirt job completions,
 * follows the SPICE client through libvirt's graphics events, runs the
 * pool's disconnect action after the grace delay, and ends on logout,
 * helpdesk request, idle or maximum time. Every change is saved first.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "broker.h"
#include "log.h"
#include "virt.h"
#include "xmalloc.h"

#define SESSION_SPICE_POLL_MS	250
#define SESSION_FAILED_KEEP	600	/* seconds a failed session is shown */
#define SESSION_BOOT_PROGRESS	75	/* percent when the guest boots */

/* Connect requests waiting for a session to leave SESSION_STARTING. */
struct session_waiter {
	uint64_t		 id;
	void			(*cb)(void *);
	void			*arg;
	struct event		*timer;
	struct session_waiter	*next;
};
static struct session_waiter	*waiters;

static void	session_prepare(struct session *s);
static void	session_wake(uint64_t id);

const char *
session_state_name(enum session_state st)
{
	switch (st) {
	case SESSION_STARTING:
		return "starting";
	case SESSION_READY:
		return "ready";
	case SESSION_CONNECTED:
		return "connected";
	case SESSION_DISCONNECTED:
		return "disconnected";
	case SESSION_FAILED:
		return "failed";
	case SESSION_ENDED:
		return "ended";
	}
	return "?";
}

int
session_is_live(const struct session *s)
{
	return s->state != SESSION_ENDED;
}

static void
session_save(struct session *s)
{
	s->updated = time(NULL);
	if (db_session_save(broker->db, s) == -1)
		log_warnx("session %016" PRIx64 ": could not save its state",
		    s->id);
}

void
session_set_state(struct session *s, enum session_state st,
    unsigned progress, const char *step)
{
	if (s->state != st)
		log_debug("session %016" PRIx64 " (%s on %s/%s): %s -> %s",
		    s->id, s->user, s->pool->name, s->guest,
		    session_state_name(s->state), session_state_name(st));
	s->state = st;
	s->progress = progress;
	strlcpy(s->step, step, sizeof(s->step));
	session_save(s);
	events_publish("session", ROLE_HELPDESK | ROLE_ADMIN,
	    json_pack("{s:o}", "session", session_json(s)));
	if (st != SESSION_STARTING)
		session_wake(s->id);
}

/* Calls each waiter of session id (all when id is 0), once. */
static void
session_wake_matching(uint64_t id, struct session_waiter *only)
{
	struct session_waiter	**wp, *w;

	for (wp = &waiters; (w = *wp) != NULL;) {
		if ((only != NULL && w != only) ||
		    (only == NULL && id != 0 && w->id != id)) {
			wp = &w->next;
			continue;
		}
		*wp = w->next;
		event_free(w->timer);
		w->cb(w->arg);
		free(w);
		/* The callback may have added or woken waiters. */
		wp = &waiters;
	}
}

static void
session_wake(uint64_t id)
{
	session_wake_matching(id, NULL);
}

static void
session_wait_timeout(evutil_socket_t fd, short ev, void *arg)
{
	session_wake_matching(0, arg);
}

void
session_wait(struct session *s, unsigned seconds, void (*cb)(void *),
    void *arg)
{
	struct session_waiter	*w;
	struct timeval		 tv = { (time_t)seconds, 0 };

	w = xcalloc(1, sizeof(*w));
	w->id = s->id;
	w->cb = cb;
	w->arg = arg;
	w->timer = evtimer_new(broker->base, session_wait_timeout, w);
	evtimer_add(w->timer, &tv);
	w->next = waiters;
	waiters = w;
}

struct session *
session_find(uint64_t id)
{
	struct session	*s;

	HASH_FIND(hh, broker->sessions, &id, sizeof(id), s);
	return s;
}

struct session *
session_find_live(const char *user, const struct conf_pool *p)
{
	struct session	*s, *tmp;

	HASH_ITER(hh, broker->sessions, s, tmp) {
		if (s->pool == p && strcmp(s->user, user) == 0 &&
		    session_is_live(s))
			return s;
	}
	return NULL;
}

static struct session *
session_find_guest(const char *host, const char *dom)
{
	struct session	*s, *tmp;

	HASH_ITER(hh, broker->sessions, s, tmp) {
		if (strcmp(s->host->name, host) == 0 &&
		    strcmp(s->guest, dom) == 0 && session_is_live(s))
			return s;
	}
	return NULL;
}

/* A libvirt job's argument: the session id, as the session may be gone. */
static uint64_t *
session_ref(const struct session *s)
{
	uint64_t	*id = xmalloc(sizeof(*id));

	*id = s->id;
	return id;
}

static struct session *
session_deref(void *arg)
{
	uint64_t	id = *(uint64_t *)arg;

	free(arg);
	return session_find(id);
}

/*
 * The session failed: why is what its user reads; detail, where it says
 * more (libvirt's own words), goes only to the log and the audit detail.
 */
static void
session_fail(struct session *s, const char *why, const char *detail)
{
	if (detail == NULL)
		detail = why;
	strlcpy(s->error, why, sizeof(s->error));
	session_set_state(s, SESSION_FAILED, s->progress, "failed");
	broker_audit(s->user, s->source, "connect", s->pool->name, "failed",
	    "desktop %s: %s", s->guest, detail);
	log_warnx("session %016" PRIx64 " (%s on %s/%s) failed: %s", s->id,
	    s->user, s->pool->name, s->guest, detail);
	broker->stats.grant_failures++;
}

/* A failed libvirt job ends the start: users get its reason in words. */
static void
session_fail_virt(struct session *s, const struct virt_result *res)
{
	session_fail(s, virt_result_reason(res), res->error);
}

static void
session_spice_poll(evutil_socket_t fd, short ev, void *arg);

/* The guest's boot, watched by ready.c until the desktop can be used. */
static int
session_booted(const struct ready_status *st, void *arg)
{
	struct session	*s = session_find(*(uint64_t *)arg);
	unsigned	 progress;

	if (s == NULL || s->state != SESSION_STARTING)
		return -1;
	if (st->done == 0) {
		progress = SESSION_BOOT_PROGRESS + st->percent *
		    (99 - SESSION_BOOT_PROGRESS) / 100;
		if (progress != s->progress)
			session_set_state(s, SESSION_STARTING, progress,
			    "booting");
		return 0;
	}
	s->busy = 0;
	if (st->done == -1) {
		session_fail(s, st->error, st->detail);
		return 0;
	}
	/* Idle time counts from here, not from the click: a boot is not
	 * the user's idleness. */
	s->ready_at = time(NULL);
	session_set_state(s, SESSION_READY, 100, "ready");
	log_info("session %016" PRIx64 " (%s on %s/%s) ready in %llds (%s), "
	    "SPICE %s port %u", s->id, s->user, s->pool->name, s->guest,
	    (long long)(time(NULL) - s->created), st->how, s->spice_host,
	    s->tls_port);
	return 0;
}

static void
session_spice_done(const struct virt_result *res, void *arg)
{
	struct session		*s = session_deref(arg);
	struct timeval		 tv = { 0, SESSION_SPICE_POLL_MS * 1000 };
	char			 err[128];

	if (s == NULL || s->state != SESSION_STARTING)
		return;
	s->busy = 0;
	if (!res->ok) {
		session_fail_virt(s, res);
		return;
	}
	if (res->state != VIRT_STATE_RUNNING) {
		session_fail(s, "the desktop stopped while it was starting",
		    NULL);
		return;
	}
	if (res->tls_port == 0) {
		if (time(NULL) - s->created > broker->conf->start_timeout) {
			session_fail(s, "the desktop's SPICE TLS port did not "
			    "appear in time: does its <graphics> have a "
			    "tls port and the host spice_tls = 1?", NULL);
			return;
		}
		s->busy = 1;
		event_base_once(broker->base, -1, EV_TIMEOUT,
		    session_spice_poll, session_ref(s), &tv);
		return;
	}
	if (pool_spice_address(s->host, res->listen, s->spice_host,
	    sizeof(s->spice_host), err, sizeof(err)) == -1) {
		session_fail(s, err, NULL);
		return;
	}
	s->tls_port = res->tls_port;
	session_set_state(s, SESSION_STARTING, SESSION_BOOT_PROGRESS,
	    "booting");
	s->busy = 1;
	if (ready_watch(s->pool, s->host, s->guest, session_booted,
	    session_ref(s)) == -1) {
		s->busy = 0;
		session_fail(s, "out of memory", NULL);
	}
}

static void
session_spice_poll(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = session_deref(arg);

	if (s == NULL || s->state != SESSION_STARTING)
		return;
	if (virt_spice_info(s->host->virt, s->guest, session_spice_done,
	    session_ref(s)) == -1)
		session_fail(s, "out of memory", NULL);
}

static void
session_started(const struct virt_result *res, void *arg)
{
	struct session	*s = session_deref(arg);

	if (s == NULL || s->state != SESSION_STARTING)
		return;
	s->busy = 0;
	if (!res->ok) {
		session_fail_virt(s, res);
		return;
	}
	session_set_state(s, SESSION_STARTING, 70, "waiting for SPICE");
	s->busy = 1;
	session_spice_poll(-1, 0, session_ref(s));
}

/* Starts the guest and reads its SPICE port, unless that is under way. */
static void
session_prepare(struct session *s)
{
	struct virt_start_plan	 plan;
	struct guest		*g;
	int			 rc;

	memset(&plan, 0, sizeof(plan));
	pool_spice_policy(s->pool, &plan.xml);

	if (s->busy || s->state != SESSION_STARTING)
		return;
	g = pool_guest_find(s->pool, s->guest);
	if (g != NULL && g->state == GUEST_CREATING)
		return;		/* pool.c calls session_guest_ready */
	if (!virt_host_is_up(s->host->virt)) {
		session_set_state(s, SESSION_STARTING, s->progress,
		    "waiting for the host");
		return;
	}
	s->busy = 1;
	if (s->pool->gpu.mode != GPU_MODE_NONE) {
		session_set_state(s, SESSION_STARTING, 40, "starting the "
		    "desktop with its GPU");
		if (gpualloc_start(s->pool, s->host, s->guest, s->id,
		    &plan.xml, session_started, session_ref(s)) == -1) {
			s->busy = 0;
			session_fail(s, "out of memory", NULL);
		}
		return;
	}
	session_set_state(s, SESSION_STARTING, 40, "starting the desktop");
	if (!s->pool->clipboard) {
		/* The guest's SPICE server enforces it, not only clients. */
		rc = virt_start_prepared(s->host->virt, s->guest, &plan,
		    session_started, session_ref(s));
	} else
		rc = virt_start(s->host->virt, s->guest, session_started,
		    session_ref(s));
	if (rc == -1) {
		s->busy = 0;
		session_fail(s, "out of memory", NULL);
	}
}

void
session_guest_ready(struct conf_pool *p, const char *name,
    const struct virt_result *failed)
{
	struct session	*s, *tmp;

	HASH_ITER(hh, broker->sessions, s, tmp) {
		if (s->pool != p || strcmp(s->guest, name) != 0 ||
		    s->state != SESSION_STARTING)
			continue;
		if (failed != NULL)
			session_fail_virt(s, failed);
		else
			session_prepare(s);
	}
}

struct session *
session_connect(const struct login *l, const char *token,
    struct conf_pool *pool, const char *source, int *status, char *err,
    size_t errlen)
{
	struct session	*s;
	struct guest	*g;
	uint64_t	 id;

	if ((s = session_find_live(l->user, pool)) != NULL) {
		if (s->state != SESSION_FAILED) {
			/* The user may come from another client now. */
			strlcpy(s->source, source, sizeof(s->source));
			strlcpy(s->token, token, sizeof(s->token));
			session_prepare(s);
			return s;
		}
		session_end(s, l->user, "retrying after a failure");
	}
	if (pool_host_up(pool) == NULL) {
		*status = 503;
		/* The host's error quotes libvirt: it is in the log. */
		if (pool->nhosts == 1)
			snprintf(err, errlen, "the host of pool %s is "
			    "unreachable at the moment: try again later",
			    pool->name);
		else
			snprintf(err, errlen, "every host of pool %s is "
			    "unreachable", pool->name);
		return NULL;
	}
	do
		id = broker_random_id();
	while (session_find(id) != NULL);
	if ((g = pool_pick(pool, l->user, id, status, err, errlen)) == NULL)
		return NULL;

	s = xcalloc(1, sizeof(*s));
	s->id = id;
	s->gw_id = broker_random_id();
	strlcpy(s->user, l->user, sizeof(s->user));
	strlcpy(s->token, token, sizeof(s->token));
	s->pool = pool;
	s->host = g->host;
	strlcpy(s->guest, g->name, sizeof(s->guest));
	strlcpy(s->source, source, sizeof(s->source));
	s->created = time(NULL);
	s->state = SESSION_STARTING;
	HASH_ADD(hh, broker->sessions, id, sizeof(s->id), s);
	session_set_state(s, SESSION_STARTING, g->state == GUEST_CREATING ?
	    10 : 20, g->state == GUEST_CREATING ? "creating the desktop" :
	    "desktop assigned");
	broker->stats.connects++;
	broker_audit(l->user, source, "session start", pool->name, "ok",
	    "desktop %s, session %016" PRIx64, s->guest, s->id);
	session_prepare(s);
	return s;
}

static void
session_kick_done(const struct virt_result *res, void *arg)
{
	char	*what = arg;

	if (!res->ok && res->state == VIRT_STATE_RUNNING)
		log_warnx("%s: could not change the SPICE password: %s", what,
		    res->error);
	free(what);
}

/* Drops the SPICE client with a password nobody knows, and the tunnels. */
static void
session_kick(struct session *s)
{
	char	 pw[BROKER_PASSWORD_LEN + 1], *what;

	gwctl_revoke(s->gw_id, s->gw_tickets_until);
	if (s->tls_port == 0)
		return;
	broker_random_password(pw, sizeof(pw));
	xasprintf(&what, "session %016" PRIx64 " (%s/%s)", s->id,
	    s->pool->name, s->guest);
	virt_set_password(s->host->virt, s->guest, pw, time(NULL),
	    VIRT_CONNECTED_DISCONNECT, session_kick_done, what);
	explicit_bzero(pw, sizeof(pw));
}

void
session_disconnect(struct session *s, const char *actor)
{
	session_kick(s);
	/* Tickets already handed out stay revoked; new ones get a new id. */
	s->gw_id = broker_random_id();
	s->gw_tickets_until = 0;
	if (s->state == SESSION_CONNECTED) {
		s->disconnected_at = time(NULL);
		s->action_done = 0;
		session_set_state(s, SESSION_DISCONNECTED, 100, "disconnected");
	} else
		session_save(s);
	broker_audit(actor, NULL, "session disconnect", s->pool->name, "ok",
	    "user %s, desktop %s, session %016" PRIx64, s->user, s->guest,
	    s->id);
}

void
session_end(struct session *s, const char *actor, const char *reason)
{
	if (s->state == SESSION_ENDED)
		return;
	if (s->state != SESSION_FAILED)
		session_kick(s);
	else
		gwctl_revoke(s->gw_id, s->gw_tickets_until);
	session_set_state(s, SESSION_ENDED, s->progress, reason);
	broker_audit(actor, NULL, "session end", s->pool->name, "ok",
	    "user %s, desktop %s, session %016" PRIx64 ": %s", s->user,
	    s->guest, s->id, reason);
	log_info("session %016" PRIx64 " (%s on %s/%s) ended: %s", s->id,
	    s->user, s->pool->name, s->guest, reason);
	broker->stats.sessions_ended++;
	pool_release(s->pool, s->guest);
	HASH_DEL(broker->sessions, s);
	free(s);
}

/* A disconnect action on the guest, for its result. */
struct session_action {
	char	action[16];		/* "lock", "shut down", "revert" */
	char	pool[BROKER_NAME_MAX + 1];
	char	guest[128];
	char	user[AUTH_NAME_MAX + 1];
};

static struct session_action *
session_action_new(const struct session *s, const char *action)
{
	struct session_action	*a = xcalloc(1, sizeof(*a));

	strlcpy(a->action, action, sizeof(a->action));
	strlcpy(a->pool, s->pool->name, sizeof(a->pool));
	strlcpy(a->guest, s->guest, sizeof(a->guest));
	strlcpy(a->user, s->user, sizeof(a->user));
	return a;
}

/* Logs and audits what the action did, once libvirt has answered. */
static void
session_action_done(const struct virt_result *res, void *arg)
{
	struct session_action	*a = arg;

	if (res->ok)
		log_info("%s %s/%s after %s disconnected", a->action, a->pool,
		    a->guest, a->user);
	else
		log_warnx("%s %s/%s after disconnect: %s", a->action, a->pool,
		    a->guest, res->error);
	broker_audit("broker", NULL, "disconnect action", a->pool,
	    res->ok ? "ok" : "failed", "%s desktop %s of %s%s%s", a->action,
	    a->guest, a->user, res->ok ? "" : ": ", res->ok ? "" : res->error);
	free(a);
}

/* The pool's disconnect action, once the grace delay has passed. */
static void
session_disconnect_action(struct session *s)
{
	struct conf_pool	*p = s->pool;

	s->action_done = 1;
	session_save(s);
	broker->stats.actions++;
	switch (p->disconnect_action) {
	case DISCONNECT_NONE:
		return;
	case DISCONNECT_LOCK:
		virt_lock(s->host->virt, s->guest, session_action_done,
		    session_action_new(s, "lock"));
		return;
	case DISCONNECT_SHUTDOWN:
		if (p->kind == POOL_STATIC)
			virt_power(s->host->virt, s->guest, VIRT_POWER_SHUTDOWN,
			    session_action_done,
			    session_action_new(s, "shut down"));
		session_end(s, "broker", "disconnect action: shut down");
		return;
	case DISCONNECT_REVERT:
		if (p->kind == POOL_STATIC)
			virt_revert(s->host->virt, s->guest, p->snapshot,
			    session_action_done, session_action_new(s, "revert"));
		session_end(s, "broker", "disconnect action: revert");
		return;
	}
}

/* SPICE channels come and go one by one; the session follows their count. */
void
session_graphics(const char *host, const char *dom, int phase,
    const char *peer)
{
	struct session	*s;
	int		 i;

	if ((s = session_find_guest(host, dom)) == NULL)
		return;
	for (i = 0; i < s->nchannels; i++)
		if (strcmp(s->channels[i], peer) == 0)
			break;
	if (phase == VIRT_GRAPHICS_INITIALIZE) {
		if (i == s->nchannels && s->nchannels < SESSION_CHANNELS_MAX)
			strlcpy(s->channels[s->nchannels++], peer,
			    sizeof(s->channels[0]));
		if (s->state == SESSION_READY ||
		    s->state == SESSION_DISCONNECTED) {
			s->connected_at = time(NULL);
			s->action_done = 0;
			session_set_state(s, SESSION_CONNECTED, 100,
			    "connected");
			broker_audit(s->user, peer, "desktop connected",
			    s->pool->name, "ok", "desktop %s", s->guest);
		}
		return;
	}
	if (phase != VIRT_GRAPHICS_DISCONNECT)
		return;
	if (i < s->nchannels) {
		memmove(s->channels[i], s->channels[i + 1],
		    (size_t)(s->nchannels - i - 1) * sizeof(s->channels[0]));
		s->nchannels--;
	} else if (!s->channels_unknown)
		return;		/* a channel that never got in */
	if (s->nchannels == 0 && s->state == SESSION_CONNECTED) {
		s->channels_unknown = 0;
		s->disconnected_at = time(NULL);
		s->action_done = 0;
		session_set_state(s, SESSION_DISCONNECTED, 100,
		    "disconnected");
		broker_audit(s->user, peer, "desktop disconnected",
		    s->pool->name, "ok", "desktop %s", s->guest);
	}
}

void
session_domain_state(const char *host, const char *dom, int running)
{
	struct session	*s;

	if (running || (s = session_find_guest(host, dom)) == NULL)
		return;
	if (s->state == SESSION_READY || s->state == SESSION_CONNECTED ||
	    s->state == SESSION_DISCONNECTED)
		session_end(s, "broker", "the desktop was powered off");
}

struct reconcile {
	char	host[BROKER_NAME_MAX + 1];
};

static void
session_reconcile_done(const struct virt_result *res, void *arg)
{
	struct reconcile	*r = arg;
	struct session		*s, *tmp;
	size_t			 i;
	int			 running;

	if (!res->ok) {
		log_warnx("host %s: cannot list its domains: %s", r->host,
		    res->error);
		free(r);
		return;
	}
	for (i = 0; i < res->ndomains; i++)
		pool_guest_power(r->host, res->domain_names[i],
		    res->domain_states[i], POWER_LISTED);
	pool_host_listed(r->host, res->domain_names, res->ndomains);
	HASH_ITER(hh, broker->sessions, s, tmp) {
		if (strcmp(s->host->name, r->host) != 0)
			continue;
		running = 0;
		for (i = 0; i < res->ndomains; i++)
			if (strcmp(res->domain_names[i], s->guest) == 0)
				running = res->domain_states[i] ==
				    VIRT_STATE_RUNNING ||
				    res->domain_states[i] == VIRT_STATE_PAUSED;
		if (s->state == SESSION_STARTING)
			session_prepare(s);
		else if (!running && s->state != SESSION_FAILED)
			session_end(s, "broker", "the desktop is not running "
			    "any more");
	}
	free(r);
}

/* A host is (back) up: sessions on it are checked against libvirt. */
void
session_host_up(const char *host)
{
	struct conf_host	*h = conf_host_find(broker->conf, host);
	struct reconcile	*r;

	if (h == NULL)
		return;
	r = xcalloc(1, sizeof(*r));
	strlcpy(r->host, host, sizeof(r->host));
	virt_list(h->virt, session_reconcile_done, r);
}

static time_t
session_last_seen(const struct session *s)
{
	time_t	t = s->created;

	if (s->ready_at > t)
		t = s->ready_at;
	if (s->connected_at > t)
		t = s->connected_at;
	if (s->disconnected_at > t)
		t = s->disconnected_at;
	return t;
}

void
session_sweep(void)
{
	struct session		*s, *tmp;
	struct conf_pool	*p;
	time_t			 now = time(NULL);

	HASH_ITER(hh, broker->sessions, s, tmp) {
		p = s->pool;
		if (s->state == SESSION_STARTING && !s->busy &&
		    now - s->created > broker->conf->start_timeout &&
		    virt_host_is_up(s->host->virt)) {
			session_fail(s, "the desktop did not start in time",
			    NULL);
			continue;
		}
		if (s->state == SESSION_FAILED &&
		    now - s->updated > SESSION_FAILED_KEEP) {
			session_end(s, "broker", "failed");
			continue;
		}
		if (p->max_session > 0 && s->state != SESSION_FAILED &&
		    now - s->created >= p->max_session) {
			session_end(s, "broker", "maximum session time");
			continue;
		}
		if (p->idle_timeout > 0 && (s->state == SESSION_READY ||
		    s->state == SESSION_DISCONNECTED) &&
		    now - session_last_seen(s) >= p->idle_timeout) {
			session_end(s, "broker", "idle: no client connected");
			continue;
		}
		if (s->state == SESSION_DISCONNECTED && !s->action_done &&
		    now - s->disconnected_at >= p->disconnect_grace)
			session_disconnect_action(s);
	}
}

static void
session_restore_one(struct session *s, void *arg)
{
	HASH_ADD(hh, broker->sessions, id, sizeof(s->id), s);
	/* Its channels connected before the restart: the first disconnect
	 * heard of is taken as the client leaving. */
	if (s->state == SESSION_CONNECTED)
		s->channels_unknown = 1;
}

static json_t *
session_json_of(uint64_t id)
{
	struct session	*s = session_find(id);

	return s != NULL ? session_json(s) : NULL;
}

static int
session_exists(uint64_t id)
{
	return session_find(id) != NULL;
}

/* Live sessions on p. */
static unsigned
session_live(const struct conf_pool *p)
{
	struct session	*s, *tmp;
	unsigned	 n = 0;

	HASH_ITER(hh, broker->sessions, s, tmp)
		if (s->pool == p && session_is_live(s))
			n++;
	return n;
}

static const struct pool_sessions session_for_pool = {
	.guest_ready = session_guest_ready,
	.json = session_json_of,
	.exists = session_exists,
	.live = session_live,
};

void
session_init(void)
{
	pool_set_sessions(&session_for_pool);
}

int
session_restore(void)
{
	session_init();
	return db_session_load(broker->db, broker->conf, session_restore_one,
	    NULL);
}

json_t *
session_json(const struct session *s)
{
	char	id[17];

	snprintf(id, sizeof(id), "%016" PRIx64, s->id);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s?,s:s,s:I,s:I,"
	    "s:I,s:I,s:o?}", "id", id, "user", s->user, "pool", s->pool->name,
	    "desktop", s->guest, "host", s->host->name, "state",
	    session_state_name(s->state), "progress", (int)s->progress, "step",
	    s->step, "error", s->error[0] != '\0' ? s->error : NULL,
	    "source", s->source, "created", (json_int_t)s->created,
	    "updated", (json_int_t)s->updated,
	    "connected_at", (json_int_t)s->connected_at,
	    "disconnected_at", (json_int_t)s->disconnected_at,
	    "gpus", gpualloc_guest_json(s->host->name, s->guest));
}

/*
 * Ends user's sessions made with login token, or with token NULL every
 * session of user (its name in any case); the count.
 */
int
session_end_user(const char *user, const char *token, const char *actor,
    const char *reason)
{
	struct session	*s, *tmp;
	int		 n = 0;

	HASH_ITER(hh, broker->sessions, s, tmp) {
		if (token != NULL ? strcmp(s->user, user) != 0 ||
		    strcmp(s->token, token) != 0 :
		    strcasecmp(s->user, user) != 0)
			continue;
		session_end(s, actor, reason);
		n++;
	}
	return n;
}

json_t *
session_list_json(const char *user)
{
	struct session	*s, *tmp;
	json_t		*list = json_array();

	HASH_ITER(hh, broker->sessions, s, tmp)
		if (user == NULL || (strcasecmp(s->user, user) == 0 &&
		    session_is_live(s)))
			json_array_append_new(list, session_json(s));
	return list;
}

unsigned
session_count(void)
{
	return HASH_COUNT(broker->sessions);
}

void
session_count_states(unsigned n[SESSION_ENDED + 1])
{
	struct session	*s, *tmp;

	HASH_ITER(hh, broker->sessions, s, tmp)
		n[s->state]++;
}
