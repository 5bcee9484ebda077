/* SPDX-License-Identifier: ISC */
/*
 * paprika-brokerd: the private header of the daemon's own modules (the
 * libvirt, auth, throttle, HTTP and work-queue modules have their own).
 *
 * The modules call downwards only, never up:
 *
 *	brokerd.c		main(): configuration, restore, the loop
 *	  api*.c, metrics.c	the routes, on lib/http
 *	  hostevents.c		libvirt's events, routed to the modules below
 *	    grant.c		a connection for a ready session
 *	      session.c		who uses which desktop, and its state
 *	        pool.c		the guests of each pool, spares, cleaning
 *	          gpualloc.c	which GPUs a guest gets
 *	          gpuquarantine.c  which are kept out of service
 *	            ready.c	whether a started guest is ready
 *	              lib/virt, lib/gpu, db*.c
 *	state.c, events.c, audit.c, gwctl.c, conf.c, policy.c: used from any
 *	level
 *
 * A lower module that must tell a higher one something takes a callback:
 * pool.c reports a guest's readiness and asks about sessions through the
 * struct pool_sessions that session.c registers; gpualloc.c and ready.c
 * call the done or watch callback their caller gave. The lists of sessions
 * and guests are walked only by their own module: others use its queries.
 */
#ifndef PAPRIKA_BROKER_H
#define PAPRIKA_BROKER_H

#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>
#include <uthash.h>

#include "auth.h"
#include "gpu.h"
#include "http.h"
#include "forward.h"
#include "keyring.h"
#include "netaddr.h"
#include "throttle.h"
#include "totp.h"
#include "virt.h"

#define BROKER_DEFAULT_CONFIG	SYSCONFDIR "/paprika/paprika-brokerd.conf"
#define BROKER_NAME_MAX		64	/* pool, host and gateway names */
#define BROKER_LISTEN_MAX	8
#define BROKER_TOKEN_BYTES	32
#define BROKER_TOKEN_HEX	(BROKER_TOKEN_BYTES * 2)
#define BROKER_PASSWORD_LEN	24	/* random SPICE passwords */
#define SESSION_CHANNELS_MAX	32

enum broker_role {
	ROLE_USER = 1 << 0,
	ROLE_HELPDESK = 1 << 1,
	ROLE_ADMIN = 1 << 2,
	/* Not a role: a login that must enrol a second factor before it may
	 * do anything else (twofactor.h); routes that allow it ask for it. */
	ROLE_ENROLLING = 1 << 3,
};

enum pool_kind {
	POOL_STATIC,
	POOL_SHARED,
	POOL_TEMPLATE,
};

enum disconnect_action {
	DISCONNECT_NONE,
	DISCONNECT_LOCK,
	DISCONNECT_SHUTDOWN,
	DISCONNECT_REVERT,
};

struct conf_host {
	char			 name[BROKER_NAME_MAX + 1];
	char			*uri;
	/* Where the gateway reaches SPICE: empty means the listen address. */
	char			*spice_address;
	char			*spice_subject;		/* .vv host-subject */
	char			*spice_cert;		/* or read from here */
	struct virt_host	*virt;
};

struct conf_proxy_rule {
	struct netaddr_net	 net;
	char			*proxy;
};

struct conf_gateway {
	char			 name[BROKER_NAME_MAX + 1];
	char			*proxy;			/* default proxy= URL */
	struct conf_proxy_rule	*rules;			/* per client network */
	size_t			 nrules;
	char			*control;		/* PATH or tls://HOST:PORT */
	char			*control_cert;		/* tls://: the client's */
	char			*control_key;
	char			*control_ca;		/* tls://: the gateway's CA */
	char			*websocket;		/* wss:// for browsers */
};

struct conf_assign {
	char	user[AUTH_NAME_MAX + 1];
	char	guest[128];
};

enum gpu_mode {
	GPU_MODE_NONE,
	GPU_MODE_PASSTHROUGH,	/* whole PCI devices through VFIO */
	GPU_MODE_MDEV,		/* a mediated device (vGPU) */
};

#define CONF_GPU_MATCH_MAX	8
#define CONF_GPU_DEVICES_MAX	32
#define CONF_GPU_COUNT_MAX	4	/* passthrough GPUs per guest */

/* vendor:product; product -1 matches any of the vendor's devices. */
struct conf_gpu_match {
	uint16_t	vendor;
	int		product;
};

/* What a pool's guests get of a host's GPUs. */
struct conf_gpu {
	enum gpu_mode		 mode;
	unsigned		 count;		/* passthrough GPUs per guest */
	struct conf_gpu_match	 match[CONF_GPU_MATCH_MAX];
	size_t			 nmatch;	/* 0: any display device */
	struct gpu_addr		 devices[CONF_GPU_DEVICES_MAX];
	size_t			 ndevices;	/* 0: any that matches */
	char			 mdev_type[64];
	int			 detach;	/* broker binds to vfio-pci */
	int			 reset;		/* reset before each start */
	int			 display;	/* QXL + streaming channel */
	int			 mdev_display;	/* display='on' */
	int			 ovmf;
	int			 kvm_hidden;
	char			 vendor_id[13];	/* hyperv vendor_id, "" */
};

struct conf_pool {
	char			 name[BROKER_NAME_MAX + 1];
	char			*title;
	enum pool_kind		 kind;
	char			 host_name[BROKER_NAME_MAX + 1];
	struct conf_host	*host;			/* the first of hosts */
	char			**host_names;		/* template: hosts = */
	struct conf_host	**hosts;
	size_t			 nhosts;
	char			**guests;		/* shared */
	size_t			 nguests;
	struct conf_assign	*assign;		/* static */
	size_t			 nassign;
	char			*template;		/* template */
	char			*name_prefix;
	unsigned		 max;
	unsigned		 spares;
	char			*snapshot;		/* revert before reuse */
	char			**groups;		/* entitled groups */
	size_t			 ngroups;
	char			**users;		/* entitled users */
	size_t			 nusers;
	enum disconnect_action	 disconnect_action;
	unsigned		 disconnect_grace;	/* seconds */
	unsigned		 idle_timeout;		/* 0: none */
	unsigned		 max_session;		/* 0: none */
	int			 user_reset;		/* users may reset */
	struct conf_gpu		 gpu;
	int			 clipboard;		/* clients share it */
	int			 usbredir;		/* clients pass USB */
	int			 browser;		/* WebSocket connections */
	int			 totp_required;		/* users need a 2nd factor */
	enum virt_ready		 ready_when;
	unsigned		 ready_timeout;		/* seconds */
	unsigned		 ready_settle;		/* display: still for */
	time_t			 spares_after;		/* no new spare before:
							 * set after a failure */
};

enum conf_totp {
	CONF_TOTP_OFF,		/* never asked, nobody may enrol */
	CONF_TOTP_OPTIONAL,	/* asked of users who enrolled */
	CONF_TOTP_REQUIRED,	/* everybody: enrol at the first login */
};

struct broker_config {
	char			*listen[BROKER_LISTEN_MAX];
	size_t			 nlisten;
	char			*cert;
	char			*key;
	char			*state;			/* SQLite file */
	char			*database;	/* PostgreSQL URL, or NULL:
						   state */
	unsigned		 lease_time;	/* seconds (cluster.c) */
	char			*advertise;	/* our URL, for standbys */
	char			*cluster_ca;	/* of the other brokers (forward.c) */
	unsigned		 max_forwards;	/* to the leader at once */
	char			*user;			/* NULL: not root */
	char			*ticket_keys;
	char			*spice_ca;		/* .vv ca= */
	char			*pam_service;
	unsigned		 pam_min_uid;	/* PAM accounts below: refused */
	int			 pam_allow_root;
	char			*users_file;
	enum conf_totp		 totp;		/* the second factor's policy */
	char			*totp_key;
	char			**totp_groups;	/* members must use it */
	size_t			 ntotp_groups;
	char			*portal_dir;		/* NULL: no portal */
	char			*spice_html5_dir;	/* NULL: no browser client */
	char			*cookie;
	unsigned		 token_lifetime;
	unsigned		 ticket_lifetime;
	unsigned		 password_lifetime;
	unsigned		 start_timeout;
	unsigned		 auth_threads;
	struct netaddr_net	 metrics_nets[NETADDR_MAX_NETS];
	size_t			 nmetrics_nets;
	char			**helpdesk_groups;
	size_t			 nhelpdesk_groups;
	char			**admin_groups;
	size_t			 nadmin_groups;
	struct throttle_config	 throttle;
	unsigned		 login_fail_delay;	/* seconds; 0: none */
	struct http_limits	 http;	/* [limits]: the API's connections */
	unsigned		 audit_keep_days;	/* 0: forever */
	unsigned		 audit_purge_interval;	/* seconds */
	unsigned		 audit_screenshot_window; /* seconds; 0: none */
	unsigned		 events_subscribers;	/* streams at once */
	size_t			 events_queue;	/* bytes per subscriber */
	unsigned		 events_heartbeat;	/* seconds */

	struct conf_host	*hosts;
	size_t			 nhosts;
	struct conf_gateway	*gateways;
	size_t			 ngateways;
	struct conf_pool	*pools;
	size_t			 npools;
};

/* A desktop session: one user on one guest of one pool. */
enum session_state {
	SESSION_STARTING,	/* guest being prepared */
	SESSION_READY,		/* guest ready (ready.c), SPICE port known */
	SESSION_CONNECTED,	/* a SPICE client is on it */
	SESSION_DISCONNECTED,	/* the client left; grace running */
	SESSION_FAILED,		/* preparing failed; error says why */
	SESSION_ENDED,
};

struct session {
	uint64_t		 id;
	uint64_t		 gw_id;		/* id in gateway tickets */
	time_t			 gw_tickets_until; /* the last gw_id ticket's
						      expiry; 0: unknown */
	char			 user[AUTH_NAME_MAX + 1];
	char			 token[BROKER_TOKEN_HEX + 1];	/* hash */
	struct conf_pool	*pool;
	struct conf_host	*host;		/* the guest's */
	char			 guest[128];
	enum session_state	 state;
	unsigned		 progress;	/* 0..100 */
	char			 step[64];	/* what is happening now */
	char			 error[256];
	char			 source[64];	/* client address at connect */
	time_t			 created;
	time_t			 updated;
	time_t			 connected_at;
	time_t			 disconnected_at;
	time_t			 ready_at;	/* the guest got ready */
	/* SPICE channels connected, by client address:port: each channel
	 * is its own connection with its own graphics events. */
	char			 channels[SESSION_CHANNELS_MAX][64];
	int			 nchannels;
	int			 channels_unknown;	/* restored: connected
							 * before a restart */
	int			 action_done;	/* disconnect action ran */
	uint16_t		 tls_port;
	char			 spice_host[64];
	int			 busy;		/* a libvirt job is running */
	UT_hash_handle		 hh;
};

/* A guest the broker hands out (shared and template pools). */
enum guest_state {
	GUEST_FREE,
	GUEST_ASSIGNED,
	GUEST_CLEANING,		/* being reverted or removed */
	GUEST_CREATING,		/* template clone in progress */
	GUEST_SPARE,		/* template clone running, unassigned */
	GUEST_BROKEN,		/* a job failed; error says why */
};

struct guest {
	char			 key[BROKER_NAME_MAX + 130];	/* pool/name */
	struct conf_pool	*pool;
	struct conf_host	*host;		/* where the domain is */
	char			 name[128];
	enum guest_state	 state;
	char			 user[AUTH_NAME_MAX + 1];
	uint64_t		 session;
	char			 error[256];
	time_t			 updated;
	int			 busy;		/* a libvirt job is running */
	enum virt_state		 power;		/* libvirt's, as last heard */
	time_t			 up_since;	/* seen starting; 0: not known */
	UT_hash_handle		 hh;
};

/*
 * A GPU given to a guest, from the broker's choice until the guest stops:
 * a PCI device (its group's other functions go with it) or a mediated
 * device made on a parent GPU.
 */
struct gpu_alloc {
	char			 key[BROKER_NAME_MAX + GPU_UUID_LEN + 2];
	char			 host[BROKER_NAME_MAX + 1];
	char			 device[GPU_UUID_LEN];	/* PCI address, or
							 * the mdev UUID */
	char			 parent[GPU_ADDR_LEN];	/* mdev only */
	char			 mdev_type[64];
	char			 pool[BROKER_NAME_MAX + 1];
	char			 guest[128];
	uint64_t		 session;
	time_t			 since;
	int			 starting;	/* not yet seen running */
	UT_hash_handle		 hh;
};

/* A login: the bearer token's hash and what it grants. */
struct login {
	char		 user[AUTH_NAME_MAX + 1];
	unsigned	 roles;
	char		 groups[AUTH_GROUPS_MAX][AUTH_NAME_MAX + 1];
	size_t		 ngroups;
	char		 source[64];
	time_t		 created;
	time_t		 expires;
};

/* One audit record as read; the strings live until the next row. */
struct audit_row {
	int64_t		 id;
	int64_t		 time;
	const char	*actor;
	const char	*source;
	const char	*action;
	const char	*target;
	const char	*result;
	const char	*detail;
};

/* Where an export has got to: records with since <= time < until, in
 * (time, id) order, after (time, id). */
/* Which records a search or an export wants: NULL matches any value. */
struct audit_filter {
	const char	*actor;
	const char	*action;
	const char	*target;
	const char	*result;
};

struct audit_cursor {
	int64_t		 time;
	int64_t		 id;
	int64_t		 until;
	struct audit_filter filter;	/* db_audit_cursor: none */
};

struct db;
struct evbuffer;
struct http_req;
struct http_route;

/* db.c (dbpriv.h: what the db*.c files share) */
/* Opens the state at url (lib/sql's sql_open: a SQLite path or a
 * postgresql:// URL) and migrates it; with SQL_READONLY (paprikactl) only
 * reads it, never migrated. NULL with err. */
struct db	*db_open(const char *url, int flags, char *err, size_t errlen);
void		 db_close(struct db *db);
/* Makes every write first ask may_write() (lib/sql's sql_set_fence). */
void		 db_fence(struct db *db, int (*may_write)(void));
int		 db_schema_version(struct db *db);
/* The database for messages (never with a password). */
const char	*db_name(struct db *db);
/* Copies every row of the state at from (a SQLite url) into db, which
 * must be empty, in one transaction; the rows copied, or -1 with err. */
long		 db_migrate_from(struct db *db, const char *from, char *err,
		    size_t errlen);
/*
 * Writes that belong together (a login's token, throttle and audit
 * record) in one transaction: one commit, one append to SQLite's WAL.
 * db_commit rolls back what it could not commit; 0 or -1.
 */
int		 db_begin(struct db *db);
int		 db_commit(struct db *db);
void		 db_rollback(struct db *db);
int		 db_token_put(struct db *db, const char *hash,
		    const struct login *l);
/* 0 and *l filled, 1 when absent or expired, -1 on error. */
int		 db_token_get(struct db *db, const char *hash, time_t now,
		    struct login *l);
int		 db_token_del(struct db *db, const char *hash);
/* Deletes every token of user; the count, or -1. */
int		 db_token_del_user(struct db *db, const char *user);
int		 db_token_purge(struct db *db, time_t now);
int		 db_session_save(struct db *db, const struct session *s);
/* Calls cb for each session not ended; pool is looked up by name. */
int		 db_session_load(struct db *db, struct broker_config *c,
		    void (*cb)(struct session *, void *), void *arg);
int		 db_guest_save(struct db *db, const struct guest *g);
int		 db_guest_del(struct db *db, const struct guest *g);
int		 db_guest_load(struct db *db, struct broker_config *c,
		    void (*cb)(struct guest *, void *), void *arg);

/* db-audit.c */
int		 db_audit(struct db *db, const char *actor, const char *source,
		    const char *action, const char *target, const char *result,
		    const char *detail);
/* The id of the record db_audit wrote last (0: none yet). */
int64_t		 db_audit_last(struct db *db);
/* Replaces record id's detail (a screenshot's count); 0, or -1. */
int		 db_audit_detail(struct db *db, int64_t id, const char *detail);
/* Newest first, ids below before (0: from the newest), up to limit, of
 * the records with since <= time < until that match f (NULL: all). */
json_t		*db_audit_list(struct db *db, int64_t before, int limit,
		    const struct audit_filter *f, int64_t since, int64_t until);
/* Deletes up to limit records older than before, oldest first; the
 * count, or -1. */
int		 db_audit_purge(struct db *db, int64_t before, int limit);
void		 db_audit_cursor(struct audit_cursor *cur, int64_t since,
		    int64_t until);
/* Calls cb for up to limit records after cur and moves cur past them;
 * the count (below limit: the last page), or -1. */
int		 db_audit_page(struct db *db, struct audit_cursor *cur,
		    int limit, void (*cb)(const struct audit_row *, void *),
		    void *arg);

/* db-gpu.c */
int		 db_gpu_alloc_save(struct db *db, const struct gpu_alloc *a);
int		 db_gpu_alloc_del(struct db *db, const struct gpu_alloc *a);
int		 db_gpu_alloc_load(struct db *db,
		    void (*cb)(struct gpu_alloc *, void *), void *arg);
int		 db_gpu_quarantine_put(struct db *db, const char *host,
		    const char *device, const char *reason);
/* Whether device of host is out of service: 1 with reason filled, 0 when
 * not, -1 on error (callers treat it as quarantined). */
int		 db_gpu_quarantined(struct db *db, const char *host,
		    const char *device, char *reason, size_t len);
/* The same, failing closed: 1 with reason filled when quarantined or
 * when that cannot be read, 0 when in service. Every check before a
 * device is given or shown as usable goes through it. */
int		 db_gpu_out_of_service(struct db *db, const char *host,
		    const char *device, char *reason, size_t len);
/* Calls cb(arg, device, reason) for each device host has quarantined;
 * 0, or -1. */
int		 db_gpu_quarantine_each(struct db *db, const char *host,
		    void (*cb)(void *, const char *, const char *), void *arg);
/* Rows deleted (0: it was not quarantined), or -1. */
int		 db_gpu_quarantine_del(struct db *db, const char *host,
		    const char *device);

/* db-revocation.c: what gwctl.c could not deliver yet */
struct db_revocation {
	char		 gateway[BROKER_NAME_MAX + 1];
	uint64_t	 session;	/* the session's gateway id */
	time_t		 expires;	/* its tickets refused until then */
	time_t		 queued;	/* when the first try failed */
};
int		 db_revocation_put(struct db *db,
		    const struct db_revocation *r);
int		 db_revocation_del(struct db *db, const char *gateway,
		    uint64_t session);
/* Calls cb(r, arg) for each, oldest first; 0, or -1. */
int		 db_revocation_each(struct db *db,
		    void (*cb)(const struct db_revocation *, void *), void *arg);

/* cluster.c */
/* A leader that loses its lease exits with it; a supervisor restarts it. */
#define BROKER_EXIT_LEASE_LOST	75
/* Takes part with the other brokers on the database: calls lead() once
 * this broker leads (at once on SQLite). */
void		 cluster_start(struct event_base *base, void (*lead)(void));
/* Gives the lease back (a stop). */
void		 cluster_stop(void);
/* Whether this broker shares its database with others (on PostgreSQL). */
int		 cluster_shared(void);
/* Whether this broker leads; a leader whose lease ran out exits here. */
int		 cluster_leading(void);
/* Whether the leader's lease still holds by the clock (any thread). */
int		 cluster_may_act(void);
/* The leader's URL while standing by ("" unknown). */
const char	*cluster_leader(void);

/* forward.c: a standby forwards the API to the leader */
/* Reads cluster_ca (as root) on PostgreSQL; without it standbys refuse
 * the API as before (a warning says so). 0, or -1 with a message. */
int		 forward_init(const struct broker_config *c, char *err,
		    size_t errlen);
/* Whether this standby can forward now (a leader known over https). */
int		 forward_possible(void);
/* Forwards req to the leader and relays the answer: 0 when it took the
 * request (it answers, now or later), -1 when the caller must answer. */
int		 forward_request(struct http_req *req);
/* As the leader: checks req's Paprika-Forwarded value and makes its
 * address the request's peer: 0, or -1 having answered 400. */
int		 forward_accept(struct http_req *req, const char *value);
/* The leader: checks a login's Paprika-Verified value against its
 * Paprika-Forwarded one (already accepted) and the body, into vd: 0, or
 * -1 after replying 400. */
int		 forward_verdict_accept(struct http_req *req,
		    const char *fwd_value, const char *value,
		    struct forward_verdict *vd);
/* A standby: forwards a login (req->body parsed), with vd when it checked
 * the password (user, ok, account, via, groups filled; the rest is made
 * here), without when it could not: 0, or -1 (no reply) as
 * forward_request. */
int		 forward_login(struct http_req *req, struct forward_verdict *vd);
/* Counts a password checked on this broker. */
void		 forward_note_check(void);
/* Counts a login forwarded without a verdict (not checked here). */
void		 forward_note_unchecked(void);
/* A standby's health check (forward_possible): 200 up when it reaches
 * the leader, 503 down with the reason in words when not; answers now,
 * or within a few seconds after a probe of the leader. */
void		 forward_health(struct http_req *req);
void		 forward_metrics(struct evbuffer *b);
/* Ends the forwards under way (the broker stops). */
void		 forward_shutdown(void);

/* db-lease.c: PostgreSQL only */
struct db_lease {
	char		 holder[128];
	char		 url[256];
	int64_t		 epoch;
	int64_t		 left_ms;	/* until it runs out */
};
/* Takes lease name for ms unless another holder's has not run out: 1
 * taken (l: ours), 0 held (l: the holder's), -1 on error. */
int		 db_lease_take(struct db *db, const char *name,
		    const char *holder, const char *url, unsigned ms,
		    struct db_lease *l);
/* Extends our lease by ms from now: 1, 0 when it is no longer ours at
 * epoch, -1 on error. */
int		 db_lease_renew(struct db *db, const char *name,
		    const char *holder, int64_t epoch, unsigned ms);
/* Ends our lease now, for a quick hand-over, and tells the listeners: 1,
 * 0 when not ours, -1. */
int		 db_lease_give_back(struct db *db, const char *name,
		    const char *holder, int64_t epoch);
/* Listens for leases given back: the socket to watch, or -1. */
int		 db_lease_listen(struct db *db);
/* Reads what the socket had: how many leases were given back. */
int		 db_lease_notified(struct db *db);

/* db-totp.c */
/* A user's second factor as stored (db.c migration 6). */
struct totp_row {
	char		 sealed[TOTP_SEALED_MAX + 1];
	int		 confirmed;	/* 0: enrolment not finished */
	int64_t		 last_step;	/* -1: no code used yet */
	time_t		 created;
	int		 recovery_left;
};
/* 0 and *r filled, 1 when user has none, -1 on error. */
int		 db_totp_get(struct db *db, const char *user,
		    struct totp_row *r);
/* Replaces user's second factor (and drops their recovery codes). */
int		 db_totp_put(struct db *db, const char *user,
		    const char *sealed, int confirmed, time_t now);
/* Marks step used: 1 when it was newer than the last one, 0 when not (a
 * replay that raced), -1 on error. */
int		 db_totp_use_step(struct db *db, const char *user,
		    int64_t step);
/* Finishes an enrolment at step with n recovery code hashes, in one
 * transaction; 0 or -1 (also when there is nothing to confirm). */
int		 db_totp_confirm(struct db *db, const char *user, int64_t step,
		    char hashes[][TOTP_HASH_HEX + 1], size_t n);
/* Deletes a recovery code: 1 when it was there, 0 when not, -1. */
int		 db_totp_recovery_use(struct db *db, const char *user,
		    const char *hash);
/* Removes user's second factor: 1 when there was one, 0, or -1. */
int		 db_totp_del(struct db *db, const char *user);

/* db.c */
int		 db_token_set_roles(struct db *db, const char *hash,
		    unsigned roles);
int		 db_throttle_save(struct db *db, const struct throttle_entry *e);
int		 db_throttle_del(struct db *db, const char *key);
int		 db_throttle_purge(struct db *db, time_t now, unsigned window);
/* key's saved count into e: 0, 1 when there is none, -1 on error. */
int		 db_throttle_get(struct db *db, const char *key,
		    struct throttle_entry *e);
int		 db_throttle_load(struct db *db,
		    void (*cb)(const struct throttle_entry *, void *), void *arg);

/* The daemon's state: owned by the loop's thread. */
struct broker {
	struct event_base	*base;
	struct broker_config	*conf;
	struct db		*db;
	struct keyring		 keys;
	struct totp_keys	 totp_keys;	/* when conf->totp is not off */
	struct throttle		*throttle;
	struct workq		*authq;		/* PAM and password hashes */
	struct workq		*gwq;		/* gateway control calls */
	struct http_server	*http;
	struct session		*sessions;	/* by id */
	struct guest		*guests;	/* by "pool/name" */
	struct gpu_alloc	*gpu_allocs;	/* by "host/device" */
	char			*spice_ca_pem;
	struct event		*sweep;
	time_t			 started;
	struct {
		unsigned long long	logins_ok, logins_failed, logins_throttled;
		unsigned long long	connects, grants, grant_failures;
		unsigned long long	sessions_ended, actions;
		double			auth_seconds;
	} stats;
};
extern struct broker	*broker;	/* state.c */

/* session.c */
struct session	*session_find(uint64_t id);
struct session	*session_find_live(const char *user, const struct conf_pool *p);
/*
 * Starts or continues user's session on pool for a connect request;
 * returns the session, or NULL with an HTTP status and a message.
 */
struct session	*session_connect(const struct login *l, const char *token,
		    struct conf_pool *pool, const char *source, int *status,
		    char *err, size_t errlen);
/* Ends a session: kicks the client, revokes its tickets, returns the
 * guest. reason goes to the audit log. */
void		 session_end(struct session *s, const char *actor,
		    const char *reason);
/* Kicks the client and revokes its tickets, keeping the session. */
void		 session_disconnect(struct session *s, const char *actor);
/* Calls cb(arg) once, on the loop, when s leaves SESSION_STARTING (or
 * ends) or after seconds. */
void		 session_wait(struct session *s, unsigned seconds,
		    void (*cb)(void *), void *arg);
void		 session_set_state(struct session *s, enum session_state st,
		    unsigned progress, const char *step);
int		 session_is_live(const struct session *s);
const char	*session_state_name(enum session_state st);
json_t		*session_json(const struct session *s);
void		 session_graphics(const char *host, const char *dom,
		    int phase, const char *peer);
struct virt_result;
/* A guest pool.c was creating is ready (failed NULL) or not (the job that
 * failed): pool.c calls it through struct pool_sessions. */
void		 session_guest_ready(struct conf_pool *p, const char *name,
		    const struct virt_result *failed);
void		 session_domain_state(const char *host, const char *dom,
		    int running);
void		 session_host_up(const char *host);
void		 session_sweep(void);
/* Registers the session layer with pool.c (session_restore calls it). */
void		 session_init(void);
int		 session_restore(void);
/*
 * Ends user's sessions made with login token, or with token NULL every
 * session of user (its name in any case); the count.
 */
int		 session_end_user(const char *user, const char *token,
		    const char *actor, const char *reason);
/* Every session (user NULL), or user's live ones, as a JSON array. */
json_t		*session_list_json(const char *user);
unsigned	 session_count(void);
/* Adds the number of sessions in each state to n. */
void		 session_count_states(unsigned n[SESSION_ENDED + 1]);

/* pool.c */
struct virt_result;
/* What pool.c needs of the sessions above it; session.c registers it. */
struct pool_sessions {
	/* A guest pool.c was creating for a session is ready (failed NULL)
	 * or not (the job that failed). */
	void		 (*guest_ready)(struct conf_pool *p, const char *name,
			    const struct virt_result *failed);
	/* Session id as JSON, or NULL when there is none. */
	json_t		*(*json)(uint64_t id);
	int		 (*exists)(uint64_t id);
	/* Live sessions on p. */
	unsigned	 (*live)(const struct conf_pool *p);
};
/* None registered: pool.c knows of no sessions. */
void		 pool_set_sessions(const struct pool_sessions *ps);
struct guest	*pool_guest_find(const struct conf_pool *p, const char *name);
/* A reachable host of p (the first), or NULL. */
struct conf_host *pool_host_up(const struct conf_pool *p);
/* The host of p's desktop name (the pool's first for one not made yet). */
struct conf_host *pool_desktop_host(const struct conf_pool *p,
		    const char *name);
/* A guest for user in p (assigned to the session), or NULL with a status. */
struct guest	*pool_pick(struct conf_pool *p, const char *user,
		    uint64_t session, int *status, char *err, size_t errlen);
/* Gives the guest back after a session: cleaned, then free. */
void		 pool_release(struct conf_pool *p, const char *name);
/* Cleans a broken guest again, then frees it; -1 with why not. */
int		 pool_repair(struct conf_pool *p, const char *name, char *err,
		    size_t errlen);
/* Keeps template pools' spares; called from the sweep. */
void		 pool_maintain(void);
const char	*pool_guest_state_name(enum guest_state st);
/* A desktop as the helpdesk sees it (GET /api/v1/pools, events). */
json_t		*pool_guest_json(const struct guest *g);
/* The pools with their capacity and use, for the helpdesk. */
json_t		*pool_summary_json(void);
void		 pool_guest_save(struct guest *g, enum guest_state st);
/* How the broker heard of a domain's power state: a lifecycle event, a
 * listing of the host's domains, or a reboot (the domain stays running). */
enum power_news { POWER_EVENT, POWER_LISTED, POWER_REBOOTED };
/* A host's listing of all its domains: guests gone from it are dropped
 * (template) or out of service (shared). */
void		 pool_host_listed(const char *host, const char *const *names,
		    size_t n);
time_t		 pool_guest_power(const char *host, const char *dom,
		     enum virt_state st, enum power_news how);
int		 pool_restore(void);
struct domxml_opts;
/* The pool's clipboard policy as domain edits (clipboard = no also turns
 * off SPICE file transfer). */
void		 pool_spice_policy(const struct conf_pool *p,
		    struct domxml_opts *o);
/*
 * The address a gateway reaches a guest's SPICE server at, on h, listening
 * on listen: 0 and out filled, or -1 with a sentence for the user.
 */
int		 pool_spice_address(const struct conf_host *h,
		    const char *listen, char *out, size_t outlen, char *err,
		    size_t errlen);
/* How many desktops of p a user could get now. */
unsigned	 pool_available(const struct conf_pool *p);
/* Every guest (user NULL), or user's desktops including the static ones
 * never made yet, as a JSON array. */
json_t		*pool_guest_list_json(const char *user);
/* Adds the number of guests in each state to n. */
void		 pool_count_states(unsigned n[GUEST_BROKEN + 1]);

/* gpualloc.c */
struct virt_result;
struct domxml_opts;
/*
 * Starts guest of GPU pool p with free GPUs of its host (instead of
 * virt_start), with the domain edits xml (NULL: none) and the GPUs; done
 * as virt_start's, with a sentence when no GPU fits.
 */
int		 gpualloc_start(struct conf_pool *p, struct conf_host *h,
		    const char *guest, uint64_t session,
		    const struct domxml_opts *xml,
		    void (*done)(const struct virt_result *, void *),
		    void *arg);
/* GPUs given to guests of the pool named pool. */
unsigned	 gpualloc_count_pool(const char *pool);
/* How many more guests of GPU pool p host h could take now, by its last
 * inventory; -1 when there is none yet. */
long		 gpualloc_room(const struct conf_pool *p,
		    const struct conf_host *h);
void		 gpualloc_domain_state(const char *host, const char *dom,
		    int running);
void		 gpualloc_host_up(const char *host);
int		 gpualloc_restore(void);
json_t		*gpualloc_guest_json(const char *host, const char *guest);
const struct gpu_alloc *gpualloc_of(const char *host, const char *device);

/* gpuquarantine.c */
/* Quarantines device of host, for why, as the start of guest found. */
void		 gpuquarantine_put(const char *host, const char *device,
		    const char *why, const char *guest);
/* The quarantine's reason for a device that host does not have now:
 * vanished when the last inventory had it. */
void		 gpuquarantine_reason(const char *host, int vanished,
		    char *buf, size_t len);
/* A device at addr that guest's pool names is not on host (had: at the
 * last inventory): quarantined unless it was; the refusal's words in why
 * ("vanished ...", "is not on ...", or "quarantined: ..."). */
void		 gpuquarantine_vanished(const char *host, const char *guest,
		    const char *addr, int had, char *why, size_t len);
/* Puts a quarantined device back in service: 1, 0 when it was not
 * quarantined, -1 on error. */
int		 gpuquarantine_clear(const char *host, const char *device);

/* grant.c */
/* Mints a connection for a ready session: a fresh SPICE password on the
 * guest, then a gateway ticket; done(conn JSON or NULL, error) on the loop. */
typedef void (*grant_cb)(json_t *conn, const char *error, void *arg);
int		 grant_new(struct session *s, const struct sockaddr *client,
		    grant_cb done, void *arg);
/* The connection as a virt-viewer file. */
char		*grant_vv(json_t *conn);

/* ready.c */
/* How a watched guest's boot goes, for the watcher's callback. */
struct ready_status {
	int		 done;		/* 1 ready, -1 never will be, 0 booting */
	unsigned	 percent;	/* of the pool's recent boot time */
	double		 elapsed;	/* seconds since the watch began */
	const char	*how;		/* done == 1: "its guest agent answered" */
	const char	*error;		/* done == -1: for the user */
	const char	*detail;	/* done == -1: for the log */
};
/* Returns -1 when nobody waits any more: the watch stops. */
typedef int	(*ready_cb)(const struct ready_status *st, void *arg);
/*
 * Watches dom on h, started for pool p, until it is ready by the pool's
 * ready_when, or until ready_timeout. Calls cb on the loop after each look,
 * the last time with done != 0, then frees arg (a plain allocation). A
 * guest seen ready since it last started is ready at once. 0, or -1 (arg
 * freed).
 */
int		 ready_watch(const struct conf_pool *p,
		    const struct conf_host *h, const char *dom, ready_cb cb,
		    void *arg);
/* Watches dom, running and free, so that its next user finds it ready. */
int		 ready_warm(const struct conf_pool *p,
		    const struct conf_host *h, const char *dom);
/* dom on host stopped or was reset: it must prove itself ready again. */
void		 ready_forget(const char *host, const char *dom);
/* Seconds pool's guests took to get ready lately (a guess before any). */
double		 ready_boot_estimate(const char *pool);

/* auditfmt.c: the export formats, shared with paprikactl. */
enum auditfmt {
	AUDITFMT_JSONL,
	AUDITFMT_CSV,
};
/* "jsonl" or "csv": 0, or -1. */
int		 auditfmt_parse(const char *name, enum auditfmt *f);
/* Seconds since the epoch, "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC):
 * 0, or -1. */
int		 auditfmt_time(const char *s, int64_t *out);
const char	*auditfmt_type(enum auditfmt f);
/* The lines before the first record (CSV: its header); 0, or -1. */
int		 auditfmt_header(struct evbuffer *out, enum auditfmt f);
/* One record as a line; 0, or -1 when out of memory. */
int		 auditfmt_row(struct evbuffer *out, enum auditfmt f,
		    const struct audit_row *r);

/* audit.c: the audit log's retention and its export over HTTP. */
/* Purges now, then every audit_purge_interval (nothing for keep 0). */
void		 audit_start(void);
/* Stops the purge and any export still running. */
void		 audit_stop(void);
/* Audits actor's screenshot of screen of desktop in pool: one record per
 * actor, source and screen within audit_screenshot_window, counting. */
void		 audit_screenshot(const char *actor, const char *source,
		    const char *pool, const char *desktop, unsigned screen);
/* Streams the records with since <= time < until that match filter
 * (NULL: all; its strings must live as long as req) to an admin. */
void		 audit_export(struct http_req *req, enum auditfmt f,
		    int64_t since, int64_t until,
		    const struct audit_filter *filter);

/* events.c: the live event stream (GET /api/v1/events). */
struct events_stats {
	unsigned		 subscribers;	/* now */
	unsigned long long	 served;	/* streams opened */
	unsigned long long	 refused;	/* over events_subscribers */
	unsigned long long	 dropped;	/* fell behind their queue */
	unsigned long long	 published;
};
/*
 * Sends data (taken, may be NULL) as an event of type to every subscriber
 * holding one of role, adding "type" and "time" (milliseconds since
 * 1970); never blocks: a subscriber that cannot take it is dropped.
 */
void		 events_publish(const char *type, unsigned role, json_t *data);
/* Turns req (its caller holding roles) into a stream, or refuses it. */
void		 events_subscribe(struct http_req *req, unsigned roles);
/* Ends every stream and the heartbeat. */
void		 events_stop(void);
const struct events_stats *events_stats(void);

/* gwctl.c */
/*
 * Tells every gateway with a control channel to drop session gw_id and
 * refuse its tickets until tickets_until (0: unknown, a whole
 * ticket_lifetime from now) plus clock skew; queued, and retried with a
 * backoff, while a gateway cannot be reached, until then.
 */
void		 gwctl_revoke(uint64_t gw_id, time_t tickets_until);
/* Queues again the revocations the state kept undelivered: 0, or -1. */
int		 gwctl_restore(void);
/*
 * Reads what each gateway's control channel needs (a tls:// one's client
 * certificate and key, while root); 0, or -1 with err.
 */
int		 gwctl_init(const struct broker_config *, char *err,
		    size_t errlen);
/* Forgets the queues; the state keeps what was not delivered. */
void		 gwctl_shutdown(void);
/* The revocations waiting for each gateway, for /metrics. */
void		 gwctl_metrics(struct evbuffer *);

/* hostevents.c: the callbacks each virt_host_new gets. */
extern const struct virt_events	broker_virt_events;

/* state.c */
uint64_t	 broker_random_id(void);
/* A random SPICE password of up to BROKER_PASSWORD_LEN base64url
 * characters, NUL-terminated in out. */
void		 broker_random_password(char *out, size_t outlen);
void		 broker_audit(const char *actor, const char *source,
		    const char *action, const char *target, const char *result,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* api.c (api.h: what the api*.c files share) */
extern const struct http_route	*const api_routes;
/* The API's gate (http_server_set_gate): a standby serves no state. */
int		 api_gate(struct http_req *req, const struct http_route *rt);

/* api-login.c */
/* Ends the failed logins still waiting for their delayed 401. */
void		 api_shutdown(void);

/* portal.c */
int		 portal_load(const char *dir, char *err, size_t errlen);
void		 portal_index(struct http_req *req);
void		 portal_file(struct http_req *req);
int		 portal_spice_load(const char *dir, char *err, size_t errlen);
void		 portal_spice_file(struct http_req *req);
void		 portal_spice_thirdparty(struct http_req *req);

/* metrics.c */
void		 metrics_reply(struct http_req *req);

/* conf.c */
struct broker_config	*conf_load(const char *path, char *err, size_t errlen);
void			 conf_free(struct broker_config *c);
void			 conf_dump(const struct broker_config *c, FILE *fp);
/* Where the state lives: database, or else the SQLite file state. */
const char		*conf_database(const struct broker_config *c);
struct conf_pool	*conf_pool_find(struct broker_config *c,
			    const char *name);
struct conf_host	*conf_host_find(struct broker_config *c,
			    const char *name);
const char		*conf_pool_kind_name(enum pool_kind k);
const char		*conf_action_name(enum disconnect_action a);
const char		*conf_ready_name(enum virt_ready r);

/* policy.c */
/* Roles for a user's groups. */
unsigned		 conf_roles(const struct broker_config *c,
			    const struct auth_user *u);
/* Whether a user with these groups may use pool. */
int			 conf_entitled(const struct conf_pool *p,
			    const struct login *l);
/* Whether l must log in with a second factor: totp = required, a group
 * in totp_groups, or a pool l may use with totp = required. */
int			 conf_totp_required(const struct broker_config *c,
			    const struct login *l);
/* The gateways' websocket URLs, space separated, for the portal's CSP. */
void			 conf_websocket_sources(const struct broker_config *c,
			    char *out, size_t outlen);
/* The gateway and the proxy URL for a client address (proxy_for). */
const struct conf_gateway *conf_gateway_for(const struct broker_config *c,
			    const struct sockaddr *client);
const char		*conf_proxy_for(const struct broker_config *c,
			    const struct sockaddr *client);

#endif
