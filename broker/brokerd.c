/* SPDX-License-Identifier: ISC */
/*
 * paprika-brokerd: logs users in, gives each a KVM desktop through libvirt
 * and hands out connections through the gateways. One libevent loop runs
 * everything: HTTP, libvirt's events, timers; blocking calls go to worker
 * threads and come back to the loop (workq.c).
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "broker.h"
#include "sql.h"
#include "http.h"
#include "log.h"
#include "privsep.h"
#include "tls.h"
#include "virt.h"
#include "workq.h"
#include "xmalloc.h"

#define BROKER_SWEEP_SECONDS	1
#define BROKER_PURGE_SECONDS	60
#define BROKER_FD_RESERVE	256	/* descriptors not for API clients */

static void
usage(void)
{
	fprintf(stderr, "usage: paprika-brokerd [-dnv] [-f file] "
	    "[--migrate-from sqlite:PATH]\n"
	    "  -d       stay in the foreground and log to stderr\n"
	    "  -f file  configuration (default %s)\n"
	    "  -n       check the configuration and exit; with -v print the "
	    "effective one\n"
	    "  -v       more verbose logging (twice: debug)\n"
	    "  --migrate-from sqlite:PATH\n"
	    "           copy a stopped broker's SQLite state into the empty "
	    "database\n           the configuration names, and exit\n",
	    BROKER_DEFAULT_CONFIG);
	exit(2);
}

/* Reads a whole small file (a PEM certificate); NULL with err. */
static char *
broker_read_file(const char *path, char *err, size_t errlen)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(65536);
	n = fread(buf, 1, 65535, fp);
	fclose(fp);
	buf[n] = '\0';
	if (n == 0 || n == 65535 || strstr(buf, "-----BEGIN") == NULL) {
		snprintf(err, errlen, "%s: not a PEM certificate", path);
		free(buf);
		return NULL;
	}
	return buf;
}

/* The subject of cert as spice-gtk's host-subject wants it: "C=..,CN=..". */
static char *
broker_cert_subject(const char *path, char *err, size_t errlen)
{
	FILE		*fp;
	X509		*x;
	X509_NAME	*name;
	X509_NAME_ENTRY	*e;
	unsigned char	*val;
	char		*out = xstrdup(""), *old;
	int		 i;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(out);
		return NULL;
	}
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL) {
		snprintf(err, errlen, "%s: not a PEM certificate", path);
		free(out);
		return NULL;
	}
	name = X509_get_subject_name(x);
	for (i = 0; i < X509_NAME_entry_count(name); i++) {
		e = X509_NAME_get_entry(name, i);
		if (ASN1_STRING_to_UTF8(&val, X509_NAME_ENTRY_get_data(e)) < 0)
			continue;
		old = out;
		xasprintf(&out, "%s%s%s=%s", old, i > 0 ? "," : "",
		    OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))),
		    val);
		free(old);
		OPENSSL_free(val);
	}
	X509_free(x);
	return out;
}

/* Everything a configuration needs beyond its syntax; 0 or -1 with err. */
/*
 * The portal's browser console needs spice-html5: without it, a pool that
 * opens in a browser is a configuration error, and other deployments only
 * lose the console.
 */
static int
broker_spice_html5_load(const struct broker_config *c, char *err,
    size_t errlen)
{
	char	why[1100];
	size_t	i;

	if (portal_spice_load(c->spice_html5_dir, why, sizeof(why)) == 0)
		return 0;
	for (i = 0; i < c->npools; i++) {
		if (c->pools[i].browser) {
			snprintf(err, errlen, "pool %s has browser = yes but "
			    "spice-html5 is missing (%.200s): install the "
			    "spice-html5 package or set spice_html5_dir",
			    c->pools[i].name, why);
			return -1;
		}
	}
	log_warnx("no browser console: %s", why);
	return 0;
}

static int
broker_check(struct broker_config *c, char *err, size_t errlen)
{
	struct conf_host	*h;
	SSL_CTX			*ctx;
	size_t			 i;

	if (c->user != NULL && getpwnam(c->user) == NULL) {
		snprintf(err, errlen, "user \"%s\" does not exist (create it, "
		    "or change \"user\" in [broker])", c->user);
		return -1;
	}
	if (keyring_load(c->ticket_keys, &broker->keys, err, errlen) == -1)
		return -1;
	if (keyring_signing(&broker->keys) == NULL) {
		snprintf(err, errlen, "%s: no ticket key to sign with",
		    c->ticket_keys);
		return -1;
	}
	if (c->totp != CONF_TOTP_OFF && totp_keys_load(c->totp_key,
	    &broker->totp_keys, err, errlen) == -1)
		return -1;
	if (c->spice_ca != NULL && (broker->spice_ca_pem =
	    broker_read_file(c->spice_ca, err, errlen)) == NULL)
		return -1;
	if (c->users_file != NULL && access(c->users_file, F_OK) == 0 &&
	    auth_users_check(c->users_file, err, errlen) == -1)
		return -1;
	for (i = 0; i < c->nhosts; i++) {
		h = &c->hosts[i];
		if (h->spice_subject == NULL && h->spice_cert != NULL &&
		    (h->spice_subject = broker_cert_subject(h->spice_cert, err,
		    errlen)) == NULL)
			return -1;
	}
	if (c->portal_dir != NULL && portal_load(c->portal_dir, err,
	    errlen) == -1)
		return -1;
	if (c->portal_dir != NULL && c->spice_html5_dir != NULL &&
	    broker_spice_html5_load(c, err, errlen) == -1)
		return -1;
	if ((ctx = tls_server_ctx_new(c->cert, c->key, err, errlen)) == NULL)
		return -1;
	SSL_CTX_free(ctx);
	if (forward_init(c, err, errlen) == -1)
		return -1;
	/* The gateways' client keys are read here, as root, and kept. */
	return gwctl_init(c, err, errlen);
}

/*
 * What the broker rereads after dropping root must be readable by its user:
 * the users file on every login (refused now rather than at the first one)
 * and the ticket keys on SIGHUP.
 */
static void
broker_check_unprivileged(const struct broker_config *c)
{
	struct keyring	ring;
	char		err[512];

	if (c->users_file != NULL && access(c->users_file, F_OK) == 0 &&
	    auth_users_check(c->users_file, err, sizeof(err)) == -1)
		fatalx("%s (as uid %ld, the broker's user)", err,
		    (long)geteuid());
	memset(&ring, 0, sizeof(ring));
	if (keyring_load(c->ticket_keys, &ring, err, sizeof(err)) == -1)
		log_warnx("SIGHUP will not reload the ticket keys as uid %ld: "
		    "%s", (long)geteuid(), err);
	keyring_clear(&ring);
}

static void
broker_sweep(evutil_socket_t fd, short ev, void *arg)
{
	static time_t	last_purge;
	time_t		now = time(NULL);

	/* Resumed after a pause past the lease: not one step. */
	if (!cluster_leading())
		return;
	session_sweep();
	pool_maintain();
	if (now - last_purge >= BROKER_PURGE_SECONDS) {
		last_purge = now;
		db_token_purge(broker->db, now);
		db_throttle_purge(broker->db, now,
		    broker->conf->throttle.window);
	}
}

static void
broker_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct keyring	ring;
	char		err[256];

	if (sig == SIGHUP) {
		memset(&ring, 0, sizeof(ring));
		if (keyring_load(broker->conf->ticket_keys, &ring, err,
		    sizeof(err)) == -1 || keyring_signing(&ring) == NULL) {
			log_warnx("SIGHUP: ticket keys not reloaded: %s", err);
			keyring_clear(&ring);
			return;
		}
		keyring_clear(&broker->keys);
		broker->keys = ring;
		log_info("SIGHUP: %zu ticket keys loaded, signing with key %u",
		    ring.nkeys, keyring_signing(&ring)->id);
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(broker->base, NULL);
}

static void
broker_throttle_restore(const struct throttle_entry *e, void *arg)
{
	throttle_restore(broker->throttle, e, time(NULL));
}

/*
 * Raises the open-file limit to its hard limit and keeps max_connections
 * below it, with room left for libvirt, the database, the gateways'
 * control sockets and the auth threads: running out of descriptors would
 * fail those, not only the newest connection.
 */
static void
broker_fit_fd_limit(struct http_limits *limits)
{
	struct rlimit	rl;
	rlim_t		room;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return;
	room = rl.rlim_cur > 2 * BROKER_FD_RESERVE ?
	    rl.rlim_cur - BROKER_FD_RESERVE : rl.rlim_cur / 2;
	if (limits->max_connections > room) {
		log_warnx("max_connections %u lowered to %llu: the open-file "
		    "limit is %llu and the broker keeps %d descriptors for "
		    "itself", limits->max_connections,
		    (unsigned long long)room,
		    (unsigned long long)rl.rlim_cur, BROKER_FD_RESERVE);
		limits->max_connections = (unsigned)room;
	}
}

static const int	broker_signals[] = { SIGTERM, SIGINT, SIGHUP };
#define BROKER_NSIGNALS	(sizeof(broker_signals) / sizeof(broker_signals[0]))

/* The API's TLS context, HTTP server and listeners, opened while root. */
static SSL_CTX *
broker_http_start(const struct broker_config *c)
{
	struct http_limits	 limits;
	SSL_CTX			*ctx;
	char			 err[512], sources[4096];
	size_t			 i;

	if ((ctx = tls_server_ctx_new(c->cert, c->key, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	/* Passwords and .vv files sit in OpenSSL's buffers in clear. */
	SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT);
	limits = c->http;
	broker_fit_fd_limit(&limits);
	if ((broker->http = http_server_new(broker->base, ctx, api_routes,
	    NULL, &limits, c->cookie)) == NULL)
		fatalx("cannot create the HTTP server");
	conf_websocket_sources(c, sources, sizeof(sources));
	http_server_set_connect_src(broker->http, sources);
	http_server_set_gate(broker->http, api_gate);
	for (i = 0; i < c->nlisten; i++) {
		if (http_server_listen(broker->http, c->listen[i], err,
		    sizeof(err)) == -1)
			fatalx("%s", err);
		log_info("listening on https://%s", c->listen[i]);
	}
	return ctx;
}

/* The state and the worker threads, as the broker's user: what a standby
 * has too. */
static void
broker_state_start(struct broker_config *c)
{
	char	err[512];

	if (virt_init(broker->base) == -1)
		fatalx("cannot run libvirt's events on libevent");
	if ((broker->db = db_open(conf_database(c), 0, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	broker->throttle = throttle_new(&c->throttle);
	db_throttle_load(broker->db, broker_throttle_restore, NULL);
	if ((broker->authq = workq_new(broker->base, "auth",
	    (int)c->auth_threads)) == NULL ||
	    (broker->gwq = workq_new(broker->base, "gateway", 1)) == NULL)
		fatal("cannot start worker threads");
	/* Nothing is written or done on a guest without the lease. */
	db_fence(broker->db, cluster_may_act);
	virt_set_fence(cluster_may_act);
}

/* What only the leader does: what was running before (a restart, or
 * another broker's), a connection to each host, the sweep and the audit
 * purge. */
static void
broker_lead(void)
{
	struct broker_config	*c = broker->conf;
	struct conf_host	*h;
	struct timeval		 tv = { BROKER_SWEEP_SECONDS, 0 };
	size_t			 i;

	if (session_restore() == -1 || pool_restore() == -1 ||
	    gpualloc_restore() == -1 || gwctl_restore() == -1)
		fatalx("%s: cannot load the broker's state",
		    db_name(broker->db));
	for (i = 0; i < c->nhosts; i++) {
		h = &c->hosts[i];
		if ((h->virt = virt_host_new(h->name, h->uri,
		    &broker_virt_events, NULL)) == NULL)
			fatalx("host %s: cannot set up its connection",
			    h->name);
	}
	broker->sweep = event_new(broker->base, -1, EV_PERSIST, broker_sweep,
	    NULL);
	event_add(broker->sweep, &tv);
	audit_start();
	broker->started = time(NULL);
	log_info("started: %zu pools on %zu hosts, %u sessions restored",
	    c->npools, c->nhosts, session_count());
}

/* Everything broker_http_start and broker_state_start made, in the order
 * that lets pending work finish or drop cleanly. */
static void
broker_stop(SSL_CTX *ctx, struct event **sigs)
{
	struct broker_config	*c = broker->conf;
	size_t			 i;

	audit_stop();
	events_stop();
	http_server_free(broker->http);
	forward_shutdown();
	api_shutdown();
	for (i = 0; i < c->nhosts; i++)
		virt_host_free(c->hosts[i].virt);
	workq_free(broker->authq);
	authsep_stop();
	workq_free(broker->gwq);
	gwctl_shutdown();
	for (i = 0; i < BROKER_NSIGNALS; i++)
		event_free(sigs[i]);
	if (broker->sweep != NULL)
		event_free(broker->sweep);
	virt_shutdown();
	/* Nothing more is done here: a standby may lead at once. */
	cluster_stop();
	db_close(broker->db);
	throttle_free(broker->throttle);
	keyring_clear(&broker->keys);
	SSL_CTX_free(ctx);
	event_base_free(broker->base);
}

/*
 * --migrate-from: copies the SQLite state at from into the configured
 * database, as the broker's user (the file is its); the exit status.
 */
static int
broker_migrate_from(struct broker_config *c, const char *from)
{
	struct db	*db;
	char		 err[512];
	long		 rows;

	if (sql_url_path(from) == NULL) {
		fprintf(stderr, "paprika-brokerd: --migrate-from takes the "
		    "SQLite state, sqlite:PATH\n");
		return 2;
	}
	if (sql_url_path(conf_database(c)) != NULL) {
		fprintf(stderr, "paprika-brokerd: the configuration's state is "
		    "SQLite already: set database = postgresql://... first\n");
		return 1;
	}
	privsep_drop(c->user);
	if ((db = db_open(conf_database(c), 0, err, sizeof(err))) == NULL ||
	    (rows = db_migrate_from(db, from, err, sizeof(err))) == -1) {
		fprintf(stderr, "paprika-brokerd: %s\n", err);
		db_close(db);
		return 1;
	}
	printf("%ld rows copied from %s to %s\n", rows, sql_url_path(from),
	    db_name(db));
	db_close(db);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "migrate-from", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*path = BROKER_DEFAULT_CONFIG, *file;
	const char		*migrate = NULL;
	struct broker_config	*c;
	struct event		*sigs[BROKER_NSIGNALS];
	SSL_CTX			*ctx;
	char			 err[512];
	int			 ch, foreground = 0, check = 0, verbose = 0;
	size_t			 i;
	while ((ch = getopt_long(argc, argv, "df:nv", opts, NULL)) != -1) {
		switch (ch) {
		case 'M':
			migrate = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("paprika-brokerd", foreground || check, verbose);

	/* What jansson parsed or built may be a password: zeroed on free. */
	json_set_alloc_funcs(malloc, http_json_free);
	broker = xcalloc(1, sizeof(*broker));
	if ((c = conf_load(path, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	broker->conf = c;
	if (broker_check(c, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (check) {
		if (verbose)
			conf_dump(c, stdout);
		printf("configuration OK\n");
		return 0;
	}
	if (migrate != NULL)
		return broker_migrate_from(c, migrate);

	/* Before any thread starts: fork keeps only the calling thread. */
	if (!foreground && daemon(0, 0) == -1)
		fatal("daemon");
	signal(SIGPIPE, SIG_IGN);
	/* The PAM helper keeps root; everything else is opened as root,
	 * then the broker becomes its user for good. */
	if (c->pam_service != NULL && authsep_start(c, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((file = sql_url_path(conf_database(c))) != NULL)
		privsep_state_dir(file, c->user);
	if (evthread_use_pthreads() == -1)
		fatalx("libevent has no pthreads support");
	if ((broker->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	ctx = broker_http_start(c);
	privsep_drop(c->user);
	if (file != NULL)
		privsep_check_state(file);
	broker_check_unprivileged(c);

	broker_state_start(c);

	for (i = 0; i < BROKER_NSIGNALS; i++) {
		sigs[i] = evsignal_new(broker->base, broker_signals[i],
		    broker_signal, NULL);
		evsignal_add(sigs[i], NULL);
	}
	authsep_watch(broker->base);
	cluster_start(broker->base, broker_lead);

	event_base_dispatch(broker->base);

	broker_stop(ctx, sigs);
	log_info("stopped");
	return authsep_failed() ? 1 : 0;
}
