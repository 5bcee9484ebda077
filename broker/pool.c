/* SPDX-License-Identifier: ISC */
/*
 * Pools and their guests. Static pools give each user a named guest;
 * shared pools lend any free guest of a list and revert it to the pool's
 * snapshot before the next user; template pools clone guests from a
 * template (copy-on-write disks), keep spares running, and delete a
 * clone once its user is done, so nothing of one user reaches the next.
 */
#include <arpa/inet.h>

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker.h"
#include "log.h"
#include "virt.h"
#include "xmalloc.h"

#define POOL_SPARE_RETRY	60	/* seconds after a spare failed */

/* The session layer above, as it registered itself (none: no sessions). */
static const struct pool_sessions	*pool_sessions;

void
pool_set_sessions(const struct pool_sessions *ps)
{
	pool_sessions = ps;
}

/* Tells the session waiting for guest name of p that it is ready. */
static void
pool_tell_ready(struct conf_pool *p, const char *name,
    const struct virt_result *failed)
{
	if (pool_sessions != NULL)
		pool_sessions->guest_ready(p, name, failed);
}

const char *
pool_guest_state_name(enum guest_state st)
{
	switch (st) {
	case GUEST_FREE:
		return "free";
	case GUEST_ASSIGNED:
		return "assigned";
	case GUEST_CLEANING:
		return "cleaning";
	case GUEST_CREATING:
		return "creating";
	case GUEST_SPARE:
		return "spare";
	case GUEST_BROKEN:
		return "broken";
	}
	return "?";
}

static void
pool_key(char *key, size_t len, const struct conf_pool *p, const char *name)
{
	snprintf(key, len, "%s/%s", p->name, name);
}

struct guest *
pool_guest_find(const struct conf_pool *p, const char *name)
{
	struct guest	*g;
	char		 key[sizeof(g->key)];

	pool_key(key, sizeof(key), p, name);
	HASH_FIND_STR(broker->guests, key, g);
	return g;
}

static struct guest *
pool_guest_add(struct conf_pool *p, const char *name, enum guest_state st)
{
	struct guest	*g;

	g = xcalloc(1, sizeof(*g));
	g->pool = p;
	g->host = p->host;
	strlcpy(g->name, name, sizeof(g->name));
	pool_key(g->key, sizeof(g->key), p, name);
	g->state = st;
	HASH_ADD_STR(broker->guests, key, g);
	return g;
}

void
pool_guest_save(struct guest *g, enum guest_state st)
{
	if (g->state != st)
		log_debug("guest %s: %s -> %s", g->key,
		    pool_guest_state_name(g->state), pool_guest_state_name(st));
	g->state = st;
	if (st == GUEST_FREE || st == GUEST_SPARE) {
		g->user[0] = '\0';
		g->session = 0;
	}
	if (st != GUEST_BROKEN)
		g->error[0] = '\0';
	g->updated = time(NULL);
	if (db_guest_save(broker->db, g) == -1)
		log_warnx("guest %s: could not save its state", g->key);
	events_publish("desktop", ROLE_HELPDESK | ROLE_ADMIN,
	    json_pack("{s:o}", "desktop", pool_guest_json(g)));
}

static int
pool_power_runs(enum virt_state st)
{
	return st == VIRT_STATE_RUNNING || st == VIRT_STATE_PAUSED ||
	    st == VIRT_STATE_SHUTDOWN;
}

/*
 * Records domain dom's power state on host for its guests; returns since
 * when it runs, 0 when it does not or that is not known. Uptime counts from
 * a start or reboot the broker saw: a domain found running in a listing (the
 * broker's start, a host's return) ran since a time libvirt does not tell.
 */
time_t
pool_guest_power(const char *host, const char *dom, enum virt_state st,
    enum power_news how)
{
	struct guest	*g, *tmp;
	time_t		 since = 0;

	HASH_ITER(hh, broker->guests, g, tmp) {
		if (strcmp(g->host->name, host) != 0 ||
		    strcmp(g->name, dom) != 0)
			continue;
		if (!pool_power_runs(st))
			g->up_since = 0;
		else if (how == POWER_REBOOTED ||
		    (how == POWER_EVENT && !pool_power_runs(g->power)))
			g->up_since = time(NULL);
		g->power = st;
		since = g->up_since;
	}
	return since;
}

json_t *
pool_guest_json(const struct guest *g)
{
	json_t		*o, *so;

	/* s*: a key without a value is left out, as docs/broker-api.md says. */
	o = json_pack("{s:s,s:s,s:s,s:s,s:s*,s:s*,s:I}", "pool",
	    g->pool->name, "name", g->name, "host", g->host->name, "state",
	    pool_guest_state_name(g->state), "user", g->user[0] != '\0' ?
	    g->user : NULL, "error", g->error[0] != '\0' ? g->error : NULL,
	    "updated", (json_int_t)g->updated);
	if (o != NULL && g->power != VIRT_STATE_UNKNOWN)
		json_object_set_new(o, "power",
		    json_string(virt_state_name(g->power)));
	if (o != NULL && g->up_since != 0)
		json_object_set_new(o, "up_since", json_integer(g->up_since));
	if (o != NULL && pool_sessions != NULL &&
	    (so = pool_sessions->json(g->session)) != NULL)
		json_object_set_new(o, "session", so);
	return o;
}

/* How many guests p may have: configured, or the template's maximum. */
static unsigned
pool_capacity(const struct conf_pool *p)
{
	switch (p->kind) {
	case POOL_STATIC:
		return (unsigned)p->nassign;
	case POOL_SHARED:
		return (unsigned)p->nguests;
	case POOL_TEMPLATE:
		return p->max;
	}
	return 0;
}

json_t *
pool_summary_json(void)
{
	struct conf_pool	*p;
	struct guest		*g, *tmp;
	unsigned		 n[GUEST_BROKEN + 1], sessions;
	json_t			*list, *hosts, *o;
	size_t			 i, j;
	int			 st;

	list = json_array();
	for (i = 0; i < broker->conf->npools; i++) {
		p = &broker->conf->pools[i];
		memset(n, 0, sizeof(n));
		HASH_ITER(hh, broker->guests, g, tmp)
			if (g->pool == p)
				n[g->state]++;
		sessions = pool_sessions != NULL ?
		    pool_sessions->live(p) : 0;
		hosts = json_array();
		for (j = 0; j < p->nhosts; j++)
			json_array_append_new(hosts,
			    json_string(p->hosts[j]->name));
		if (p->nhosts == 0 && p->host != NULL)
			json_array_append_new(hosts,
			    json_string(p->host->name));
		o = json_pack("{s:s,s:s?,s:s,s:o,s:i,s:i,s:i,s:b,s:i}",
		    "name", p->name, "title", p->title, "kind",
		    conf_pool_kind_name(p->kind), "hosts", hosts, "capacity",
		    (int)pool_capacity(p), "spares_wanted", (int)p->spares,
		    "sessions", (int)sessions, "gpu", p->gpu.mode !=
		    GPU_MODE_NONE, "gpus_in_use", (int)gpualloc_count_pool(p->name));
		for (st = GUEST_FREE; st <= GUEST_BROKEN; st++)
			json_object_set_new(o, pool_guest_state_name(st),
			    json_integer(n[st]));
		json_array_append_new(list, o);
	}
	return list;
}

static void
pool_guest_remove(struct guest *g)
{
	if (db_guest_del(broker->db, g) == -1)
		log_warnx("guest %s: could not delete its state", g->key);
	events_publish("desktop", ROLE_HELPDESK | ROLE_ADMIN,
	    json_pack("{s:{s:s,s:s,s:s}}", "desktop", "pool", g->pool->name,
	    "name", g->name, "state", "removed"));
	HASH_DEL(broker->guests, g);
	free(g);
}

static void
pool_broken(struct guest *g, const char *why)
{
	strlcpy(g->error, why, sizeof(g->error));
	pool_guest_save(g, GUEST_BROKEN);
	log_warnx("guest %s is out of service: %s", g->key, why);
	broker_audit("broker", NULL, "desktop broken", g->pool->name, "failed",
	    "desktop %s: %s", g->name, why);
}

/*
 * A host's whole listing: a guest the pool holds that is not there any more
 * (deleted by hand while the broker was down) is never handed out. A
 * template pool's idle clone is forgotten, and the pool clones anew; a
 * shared guest is out of service until an admin brings it back.
 */
void
pool_host_listed(const char *host, const char *const *names, size_t n)
{
	struct guest	*g, *tmp;
	size_t		 i;

	HASH_ITER(hh, broker->guests, g, tmp) {
		if (strcmp(g->host->name, host) != 0 || g->busy ||
		    (g->state != GUEST_FREE && g->state != GUEST_SPARE))
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(names[i], g->name) == 0)
				break;
		if (i < n)
			continue;
		if (g->pool->kind == POOL_TEMPLATE) {
			log_warnx("guest %s is gone from host %s: forgotten; "
			    "the pool makes another", g->key, host);
			pool_guest_remove(g);
		} else
			pool_broken(g, "it is not on its host any more");
	}
}

/* A job's argument: the guest's key, as the guest may be gone. */
static char *
pool_ref(const struct guest *g)
{
	return xstrdup(g->key);
}

static struct guest *
pool_deref(void *arg)
{
	struct guest	*g;

	HASH_FIND_STR(broker->guests, (char *)arg, g);
	free(arg);
	return g;
}

static unsigned
pool_count(const struct conf_pool *p, int spare_only)
{
	struct guest	*g, *tmp;
	unsigned	 n = 0;

	HASH_ITER(hh, broker->guests, g, tmp) {
		if (g->pool != p)
			continue;
		if (!spare_only || g->state == GUEST_SPARE ||
		    (g->state == GUEST_CREATING && g->session == 0))
			n++;
	}
	return n;
}

static void	pool_spare_started(const struct virt_result *res, void *arg);
static void	pool_cleaned(const struct virt_result *res, void *arg);

static void
pool_cloned(const struct virt_result *res, void *arg)
{
	struct guest		*g = pool_deref(arg);
	struct domxml_opts	 xml;

	if (g == NULL)
		return;
	g->busy = 0;
	if (!res->ok) {
		if (g->session != 0)
			pool_tell_ready(g->pool, g->name, res);
		/* Nothing was made, or virt_clone cleaned up: forget it. */
		log_warnx("guest %s: cloning %s failed: %s", g->key,
		    g->pool->template, res->error);
		broker_audit("broker", NULL, "desktop create", g->pool->name,
		    "failed", "desktop %s: %s", g->name, res->error);
		pool_guest_remove(g);
		return;
	}
	broker_audit("broker", NULL, "desktop create", g->pool->name, "ok",
	    "desktop %s from %s", g->name, g->pool->template);
	if (g->session != 0) {
		pool_guest_save(g, GUEST_ASSIGNED);
		pool_tell_ready(g->pool, g->name, NULL);
		return;
	}
	/* A spare: started now so that a user gets it at once. */
	g->busy = 1;
	if (g->pool->gpu.mode != GPU_MODE_NONE) {
		memset(&xml, 0, sizeof(xml));
		pool_spice_policy(g->pool, &xml);
		gpualloc_start(g->pool, g->host, g->name, 0, &xml,
		    pool_spare_started, pool_ref(g));
	}
	else
		virt_start(g->host->virt, g->name, pool_spare_started,
		    pool_ref(g));
}

/* Nobody waits for a spare that failed: remove it, try again later. */
static void
pool_spare_failed(struct guest *g, const char *why)
{
	log_warnx("guest %s: the spare did not get ready, removing it and "
	    "making no spare for %d s: %s", g->key, POOL_SPARE_RETRY, why);
	g->pool->spares_after = time(NULL) + POOL_SPARE_RETRY;
	pool_guest_save(g, GUEST_CLEANING);
	g->busy = 1;
	virt_remove_clone(g->host->virt, g->name, pool_cleaned, pool_ref(g));
}

static int
pool_spare_booted(const struct ready_status *st, void *arg)
{
	struct guest	*g;

	HASH_FIND_STR(broker->guests, (char *)arg, g);
	if (g == NULL || g->state != GUEST_CREATING)
		return -1;
	if (st->done == 0)
		return 0;
	g->busy = 0;
	if (st->done == -1)
		pool_spare_failed(g, st->detail);
	else {
		pool_guest_save(g, GUEST_SPARE);
		log_info("guest %s: spare ready in %.1f s (%s)", g->key,
		    st->elapsed, st->how);
	}
	return 0;
}

static void
pool_spare_started(const struct virt_result *res, void *arg)
{
	struct guest	*g = pool_deref(arg);

	if (g == NULL)
		return;
	g->busy = 0;
	if (g->state != GUEST_CREATING)
		return;		/* handed to a user meanwhile */
	if (!res->ok) {
		pool_spare_failed(g, res->error);
		return;
	}
	/* It counts as a spare once a user would see a desktop on it. */
	g->busy = 1;
	if (ready_watch(g->pool, g->host, g->name, pool_spare_booted,
	    pool_ref(g)) == -1) {
		g->busy = 0;
		pool_spare_failed(g, "out of memory");
	}
}

/* The lowest free clone name of a template pool. */
static void
pool_clone_name(const struct conf_pool *p, char *name, size_t len)
{
	unsigned	i;

	for (i = 1;; i++) {
		snprintf(name, len, "%s%u", p->name_prefix, i);
		if (pool_guest_find(p, name) == NULL)
			return;
	}
}

struct conf_host *
pool_desktop_host(const struct conf_pool *p, const char *name)
{
	struct guest	*g = pool_guest_find(p, name);

	return g != NULL ? g->host : p->host;
}

struct conf_host *
pool_host_up(const struct conf_pool *p)
{
	size_t	i;

	for (i = 0; i < p->nhosts; i++)
		if (virt_host_is_up(p->hosts[i]->virt))
			return p->hosts[i];
	return NULL;
}

/* The pool's clones on h; only those still being made if creating. */
static unsigned
pool_count_on(const struct conf_pool *p, const struct conf_host *h,
    int creating)
{
	struct guest	*g, *tmp;
	unsigned	 n = 0;

	HASH_ITER(hh, broker->guests, g, tmp)
		if (g->pool == p && g->host == h &&
		    (!creating || g->state == GUEST_CREATING))
			n++;
	return n;
}

/*
 * Where a new clone goes: for GPU pools the reachable host with the most
 * free GPUs the pool may use, else the one with the fewest of its clones;
 * NULL when no host can take it.
 */
static struct conf_host *
pool_place(const struct conf_pool *p)
{
	struct conf_host	*h, *best = NULL;
	long			 room, best_room = 0;
	size_t			 i;

	for (i = 0; i < p->nhosts; i++) {
		h = p->hosts[i];
		if (!virt_host_is_up(h->virt))
			continue;
		if (p->gpu.mode != GPU_MODE_NONE) {
			/* Unknown until the host's first inventory: the
			 * start will tell. A clone being made has no GPU
			 * yet, so it counts against the room. */
			if ((room = gpualloc_room(p, h)) >= 0 &&
			    (room -= pool_count_on(p, h, 1)) <= 0)
				continue;
		} else
			room = LONG_MAX - pool_count_on(p, h, 0);
		if (best == NULL || room > best_room) {
			best = h;
			best_room = room;
		}
	}
	return best;
}

static struct guest *
pool_clone(struct conf_pool *p, const char *user, uint64_t session)
{
	struct guest		*g;
	struct conf_host	*h;
	char			 name[128];

	if ((h = pool_place(p)) == NULL)
		return NULL;
	pool_clone_name(p, name, sizeof(name));
	g = pool_guest_add(p, name, GUEST_CREATING);
	g->host = h;
	if (user != NULL) {
		strlcpy(g->user, user, sizeof(g->user));
		g->session = session;
	}
	pool_guest_save(g, GUEST_CREATING);
	g->busy = 1;
	log_info("guest %s: cloning %s on host %s", g->key, p->template,
	    h->name);
	if (virt_clone(h->virt, p->template, name, pool_cloned,
	    pool_ref(g)) == -1) {
		pool_guest_remove(g);
		return NULL;
	}
	return g;
}

static void
pool_assign(struct guest *g, const char *user, uint64_t session)
{
	pool_guest_save(g, GUEST_ASSIGNED);
	strlcpy(g->user, user, sizeof(g->user));
	g->session = session;
	db_guest_save(broker->db, g);
}

struct guest *
pool_pick(struct conf_pool *p, const char *user, uint64_t session,
    int *status, char *err, size_t errlen)
{
	struct guest	*g, *tmp, *pick = NULL;
	size_t		 i;
	unsigned	 cleaning = 0;

	switch (p->kind) {
	case POOL_STATIC:
		for (i = 0; i < p->nassign; i++)
			if (strcmp(p->assign[i].user, user) == 0)
				break;
		if (i == p->nassign) {
			*status = 404;
			snprintf(err, errlen, "pool %s has no desktop assigned "
			    "to you", p->name);
			return NULL;
		}
		if ((g = pool_guest_find(p, p->assign[i].guest)) == NULL)
			g = pool_guest_add(p, p->assign[i].guest,
			    GUEST_ASSIGNED);
		if (g->state == GUEST_BROKEN) {
			*status = 503;
			snprintf(err, errlen, "your desktop %s is out of "
			    "service: %s", g->name, g->error);
			return NULL;
		}
		pool_assign(g, user, session);
		return g;
	case POOL_SHARED:
	case POOL_TEMPLATE:
		/* A running spare first, then a free guest. */
		HASH_ITER(hh, broker->guests, g, tmp) {
			if (g->pool != p)
				continue;
			if (g->state == GUEST_CLEANING)
				cleaning++;
			if (g->busy)
				continue;
			if (g->state == GUEST_SPARE) {
				pick = g;
				break;
			}
			if (g->state == GUEST_FREE && pick == NULL)
				pick = g;
		}
		if (pick != NULL) {
			pool_assign(pick, user, session);
			return pick;
		}
		if (p->kind == POOL_TEMPLATE && pool_count(p, 0) < p->max) {
			if ((g = pool_clone(p, user, session)) != NULL)
				return g;
			if (p->gpu.mode != GPU_MODE_NONE) {
				*status = 503;
				snprintf(err, errlen, "no free GPU in pool %s "
				    "on any of its hosts", p->name);
				return NULL;
			}
		}
		*status = 503;
		if (cleaning > 0)
			snprintf(err, errlen, "every desktop of pool %s is in "
			    "use or being cleaned: try again in a minute",
			    p->name);
		else
			snprintf(err, errlen, "every desktop of pool %s is in "
			    "use", p->name);
		return NULL;
	}
	*status = 500;
	snprintf(err, errlen, "unknown pool kind");
	return NULL;
}

static void
pool_cleaned(const struct virt_result *res, void *arg)
{
	struct guest	*g = pool_deref(arg);

	if (g == NULL)
		return;
	g->busy = 0;
	if (!res->ok) {
		/* Never lend a guest that may hold the last user's data. */
		pool_broken(g, res->error);
		return;
	}
	if (g->pool->kind == POOL_TEMPLATE) {
		log_info("guest %s: removed after use", g->key);
		pool_guest_remove(g);
		return;
	}
	log_info("guest %s: reverted to %s, free", g->key, g->pool->snapshot);
	pool_guest_save(g, GUEST_FREE);
	/* A running snapshot: be ready before the next user asks. */
	if (res->state == VIRT_STATE_RUNNING &&
	    ready_warm(g->pool, g->host, g->name) == -1)
		log_warnx("guest %s: out of memory", g->key);
}

void
pool_release(struct conf_pool *p, const char *name)
{
	struct guest	*g;

	if ((g = pool_guest_find(p, name)) == NULL)
		return;
	switch (p->kind) {
	case POOL_STATIC:
		return;
	case POOL_SHARED:
		if (p->snapshot == NULL) {
			pool_guest_save(g, GUEST_FREE);
			return;
		}
		pool_guest_save(g, GUEST_CLEANING);
		g->busy = 1;
		log_info("guest %s: reverting to %s", g->key, p->snapshot);
		virt_revert(g->host->virt, g->name, p->snapshot, pool_cleaned,
		    pool_ref(g));
		return;
	case POOL_TEMPLATE:
		if (g->state == GUEST_CREATING && g->busy) {
			/* The clone finishes as a spare. */
			g->session = 0;
			g->user[0] = '\0';
			db_guest_save(broker->db, g);
			return;
		}
		pool_guest_save(g, GUEST_CLEANING);
		g->busy = 1;
		virt_remove_clone(g->host->virt, g->name, pool_cleaned,
		    pool_ref(g));
		return;
	}
}

/*
 * An admin's repair of a broken guest: cleaned as after a session (shared:
 * reverted to the snapshot; template: deleted, and the pool clones anew),
 * then free, or broken again with the new reason. 0 when it started, or -1
 * with a message: the guest is not broken, or is busy.
 */
int
pool_repair(struct conf_pool *p, const char *name, char *err, size_t errlen)
{
	struct guest	*g;

	if ((g = pool_guest_find(p, name)) == NULL ||
	    g->state != GUEST_BROKEN || p->kind == POOL_STATIC) {
		snprintf(err, errlen, "desktop %s is %s, not broken", name,
		    g != NULL ? pool_guest_state_name(g->state) : "unused");
		return -1;
	}
	if (g->busy) {
		snprintf(err, errlen, "desktop %s is busy", name);
		return -1;
	}
	log_info("guest %s: repair after \"%s\"", g->key, g->error);
	pool_release(p, name);
	return 0;
}

/* Template pools: keep the spares running; retry interrupted cleaning. */
void
pool_maintain(void)
{
	struct conf_pool	*p;
	struct guest		*g, *tmp;
	size_t			 i;

	HASH_ITER(hh, broker->guests, g, tmp) {
		if (g->busy || !virt_host_is_up(g->host->virt))
			continue;
		if (g->state == GUEST_CLEANING) {
			g->busy = 1;
			if (g->pool->kind == POOL_TEMPLATE)
				virt_remove_clone(g->host->virt, g->name,
				    pool_cleaned, pool_ref(g));
			else
				virt_revert(g->host->virt, g->name,
				    g->pool->snapshot, pool_cleaned,
				    pool_ref(g));
		} else if (g->state == GUEST_CREATING && g->session == 0) {
			/* Interrupted by a restart: start over. */
			g->busy = 1;
			virt_remove_clone(g->host->virt, g->name,
			    pool_cleaned, pool_ref(g));
			pool_guest_save(g, GUEST_CLEANING);
		}
	}
	for (i = 0; i < broker->conf->npools; i++) {
		p = &broker->conf->pools[i];
		if (p->kind != POOL_TEMPLATE || pool_host_up(p) == NULL ||
		    time(NULL) < p->spares_after)
			continue;
		while (pool_count(p, 1) < p->spares &&
		    pool_count(p, 0) < p->max) {
			if (pool_clone(p, NULL, 0) == NULL)
				break;
		}
	}
}

/*
 * A guest whose session is gone, back to its pool without a libvirt job:
 * the hosts are not connected yet, so pool_maintain cleans it once its
 * host is up.
 */
static void
pool_return(struct guest *g)
{
	if (g->pool->kind == POOL_SHARED && g->pool->snapshot == NULL)
		pool_guest_save(g, GUEST_FREE);
	else
		pool_guest_save(g, GUEST_CLEANING);
}

static void
pool_restore_one(struct guest *g, void *arg)
{
	pool_key(g->key, sizeof(g->key), g->pool, g->name);
	HASH_ADD_STR(broker->guests, key, g);
}

/* Loads the guests and adds the configured ones the state lacks. */
int
pool_restore(void)
{
	struct conf_pool	*p;
	struct guest		*g;
	size_t			 i, j;

	struct guest		*tmp;

	if (db_guest_load(broker->db, broker->conf, pool_restore_one,
	    NULL) == -1)
		return -1;
	/* A guest lent to a session that no longer exists goes back. */
	HASH_ITER(hh, broker->guests, g, tmp) {
		if (g->pool->kind != POOL_STATIC &&
		    (g->state == GUEST_ASSIGNED ||
		    (g->state == GUEST_CREATING && g->session != 0)) &&
		    (pool_sessions == NULL ||
		    !pool_sessions->exists(g->session))) {
			log_info("guest %s: its session is gone, returning it",
			    g->key);
			pool_return(g);
		}
	}
	for (i = 0; i < broker->conf->npools; i++) {
		p = &broker->conf->pools[i];
		if (p->kind != POOL_SHARED)
			continue;
		for (j = 0; j < p->nguests; j++) {
			if (pool_guest_find(p, p->guests[j]) != NULL)
				continue;
			g = pool_guest_add(p, p->guests[j], GUEST_FREE);
			pool_guest_save(g, GUEST_FREE);
		}
	}
	return 0;
}

/* What a pool lets SPICE carry besides the screen, as domain edits: the
 * guest's SPICE server enforces it, not only clients. */
void
pool_spice_policy(const struct conf_pool *p, struct domxml_opts *o)
{
	o->clipboard = p->clipboard ? DOMXML_KEEP : DOMXML_OFF;
	o->filetransfer = p->clipboard ? DOMXML_KEEP : DOMXML_OFF;
}

static int
pool_address_ok(const char *a)
{
	uint8_t	buf[16];

	if (strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0)
		return 0;
	return inet_pton(AF_INET, a, buf) == 1 ||
	    inet_pton(AF_INET6, a, buf) == 1;
}

/*
 * Where a client's gateway reaches the SPICE server of a guest on h that
 * listens on listen: the host's spice_address, else the address the guest
 * listens on. 0 and out filled, or -1 with a sentence for the user.
 */
int
pool_spice_address(const struct conf_host *h, const char *listen, char *out,
    size_t outlen, char *err, size_t errlen)
{
	if (h->spice_address != NULL)
		strlcpy(out, h->spice_address, outlen);
	else if (pool_address_ok(listen))
		strlcpy(out, listen, outlen);
	else {
		strlcpy(err, "the desktop's SPICE server listens on all "
		    "addresses: set spice_address in its [host] section", errlen);
		return -1;
	}
	return 0;
}

/* How many desktops of a pool a user could get now. */
unsigned
pool_available(const struct conf_pool *p)
{
	struct guest	*g, *tmp;
	unsigned	 n = 0, total = 0;

	HASH_ITER(hh, broker->guests, g, tmp) {
		if (g->pool != p)
			continue;
		total++;
		if (g->state == GUEST_FREE || g->state == GUEST_SPARE)
			n++;
	}
	if (p->kind == POOL_TEMPLATE && total < p->max)
		n += p->max - total;
	return n;
}

/* Static desktops nobody has used yet are not guests: user's, as JSON. */
static void
pool_unused_json(json_t *list, const char *user)
{
	struct conf_pool	*p;
	size_t			 i, j;

	for (i = 0; i < broker->conf->npools; i++) {
		p = &broker->conf->pools[i];
		for (j = 0; j < p->nassign; j++)
			if (strcasecmp(p->assign[j].user, user) == 0 &&
			    pool_guest_find(p, p->assign[j].guest) == NULL)
				json_array_append_new(list, json_pack(
				    "{s:s,s:s,s:s,s:s}", "pool", p->name,
				    "name", p->assign[j].guest, "host",
				    p->host->name, "state", "unused"));
	}
}

json_t *
pool_guest_list_json(const char *user)
{
	struct guest	*g, *tmp;
	json_t		*list = json_array();

	HASH_ITER(hh, broker->guests, g, tmp)
		if (user == NULL || strcasecmp(g->user, user) == 0)
			json_array_append_new(list, pool_guest_json(g));
	if (user != NULL)
		pool_unused_json(list, user);
	return list;
}

void
pool_count_states(unsigned n[GUEST_BROKEN + 1])
{
	struct guest	*g, *tmp;

	HASH_ITER(hh, broker->guests, g, tmp)
		n[g->state]++;
}
