/* SPDX-License-Identifier: ISC */
/* paprika-gatewayd: startup, signals, reload, drain, privileges. */
#include <sys/resource.h>
#include <sys/types.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gateway.h"
#include "log.h"
#include "privdrop.h"
#include "tls.h"

static void
usage(void)
{
	fprintf(stderr, "usage: paprika-gatewayd [-dnv] [-f file]\n"
	    "  -d       stay in the foreground and log to stderr\n"
	    "  -f file  configuration (default %s)\n"
	    "  -n       check the configuration and exit; with -v print the "
	    "effective one\n"
	    "  -v       verbose logging\n", GATEWAY_DEFAULT_CONFIG);
	exit(2);
}

/*
 * A client that sends key shares for P-256 and X25519 gets X25519. OpenSSL
 * 3.0 takes the first share it supports, GnuTLS (so paprika-client) puts
 * P-256 first, and the P-256 key, kept for the connection's life, makes an
 * idle tunnel 3.6 KB bigger. A client without an X25519 share keeps every
 * group, so no one pays a HelloRetryRequest for this.
 */
static int
gateway_client_hello(SSL *ssl, int *alert, void *arg)
{
	static const int	 x25519[] = { NID_X25519 };
	const unsigned char	*p;
	size_t			 len, n;
	unsigned int		 group;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_key_share, &p,
	    &len) != 1 || len < 2)
		return SSL_CLIENT_HELLO_SUCCESS;
	/* KeyShareEntry: group (2), length (2), key; OpenSSL checks the rest. */
	for (p += 2, len -= 2; len >= 4; p += n, len -= n) {
		group = (unsigned int)p[0] << 8 | p[1];
		n = 4 + ((size_t)p[2] << 8 | p[3]);
		if (n > len)
			break;
		if (group == 0x001d) {
			if (SSL_set1_groups(ssl, x25519, 1) != 1)
				ERR_clear_error();
			break;
		}
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/*
 * Loads what a reload may change: keys, the TLS context, and the context
 * that verifies the guests' SPICE certificates for WebSocket tunnels.
 */
static int
gateway_load_secrets(struct gateway_config *c, struct keyring *keys,
    SSL_CTX **ctx, SSL_CTX **spice_ctx, char *err, size_t errlen)
{
	char	msg[512];

	if (keyring_load(c->ticket_keys, keys, msg, sizeof msg) == -1) {
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	*ctx = *spice_ctx = NULL;
	if ((c->listen_tls_len != 0 || c->listen_ws_len != 0) &&
	    (*ctx = tls_server_ctx_new(c->tls_cert, c->tls_key, msg,
	    sizeof msg)) == NULL)
		goto fail;
	if (*ctx != NULL) {
		tlsticket_setup(*ctx, c->tls_session_lifetime);
		SSL_CTX_set_client_hello_cb(*ctx, gateway_client_hello, NULL);
	}
	if (c->listen_ws_len != 0 && (*spice_ctx = tls_client_ctx_new(
	    c->spice_ca, msg, sizeof msg)) == NULL)
		goto fail;
	return 0;
 fail:
	SSL_CTX_free(*ctx);
	*ctx = NULL;
	keyring_clear(keys);
	snprintf(err, errlen, "%s", msg);
	return -1;
}

static int
same_addr(const struct sockaddr_storage *a, socklen_t alen,
    const struct sockaddr_storage *b, socklen_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* On each worker: takes up what a reload left in shared. */
static void
gateway_adopt(void *arg)
{
	gw->conf = shared.conf;
	gw->keys = shared.keys;
	gw->tls_ctx = shared.tls_ctx;
	gw->spice_ctx = shared.spice_ctx;
}

int
gateway_reload(char *err, size_t errlen)
{
	struct gateway_config	*c, *old_conf;
	struct keyring		 keys, *old_keys, *newkeys;
	SSL_CTX			*ctx, *spice_ctx, *old_ctx, *old_spice;

	memset(&keys, 0, sizeof keys);
	if ((c = conf_load(gw->conf->path, err, errlen)) == NULL)
		return -1;
	if (c->workers != gw->conf->workers)
		log_warnx("reload: workers changes at the next restart");
	c->workers = gw->conf->workers;
	/* Requests are read into buffers of the size the gateway started with. */
	if (c->request.max_size > gw->conf->buffer_size) {
		snprintf(err, errlen, "max_request_size (%zu) is larger than "
		    "the running buffer_size (%zu), which changes only at "
		    "restart", c->request.max_size, gw->conf->buffer_size);
		conf_free(c);
		return -1;
	}
	if (gateway_load_secrets(c, &keys, &ctx, &spice_ctx, err,
	    errlen) == -1) {
		conf_free(c);
		return -1;
	}
	if (!same_addr(&c->listen_plain, c->listen_plain_len,
	    &gw->conf->listen_plain, gw->conf->listen_plain_len) ||
	    !same_addr(&c->listen_tls, c->listen_tls_len,
	    &gw->conf->listen_tls, gw->conf->listen_tls_len) ||
	    !same_addr(&c->listen_ws, c->listen_ws_len,
	    &gw->conf->listen_ws, gw->conf->listen_ws_len) ||
	    !same_addr(&c->listen_metrics, c->listen_metrics_len,
	    &gw->conf->listen_metrics, gw->conf->listen_metrics_len))
		log_warnx("reload: listener addresses changed; they take "
		    "effect at the next restart");
	if (c->buffer_size != gw->conf->buffer_size)
		log_warnx("reload: buffer_size changes at the next restart");
	/* Listeners and the buffer pool keep what they were started with. */
	c->listen_plain = gw->conf->listen_plain;
	c->listen_plain_len = gw->conf->listen_plain_len;
	c->listen_tls = gw->conf->listen_tls;
	c->listen_tls_len = gw->conf->listen_tls_len;
	c->listen_ws = gw->conf->listen_ws;
	c->listen_ws_len = gw->conf->listen_ws_len;
	c->listen_metrics = gw->conf->listen_metrics;
	c->listen_metrics_len = gw->conf->listen_metrics_len;
	c->buffer_size = gw->conf->buffer_size;
	if ((ctx == NULL && (gw->tls.fd != -1 || gw->ws.fd != -1)) ||
	    (spice_ctx == NULL && gw->ws.fd != -1)) {
		snprintf(err, errlen, "the TLS or WebSocket listener is "
		    "running: keep listen_tls or listen_ws, tls_cert, tls_key "
		    "and spice_ca");
		SSL_CTX_free(ctx);
		SSL_CTX_free(spice_ctx);
		keyring_clear(&keys);
		conf_free(c);
		return -1;
	}
	if ((newkeys = malloc(sizeof *newkeys)) == NULL) {
		snprintf(err, errlen, "out of memory");
		SSL_CTX_free(ctx);
		SSL_CTX_free(spice_ctx);
		keyring_clear(&keys);
		conf_free(c);
		return -1;
	}
	*newkeys = keys;
	keyring_clear(&keys);
	old_conf = shared.conf;
	old_keys = shared.keys;
	old_ctx = shared.tls_ctx;
	old_spice = shared.spice_ctx;
	shared.conf = c;
	shared.keys = newkeys;
	shared.tls_ctx = ctx;
	shared.spice_ctx = spice_ctx;
	/* Once every worker has the new ones, none uses the old. */
	worker_run_all(gateway_adopt, NULL);
	keyring_clear(old_keys);
	free(old_keys);
	/* Live connections keep a reference to the old context. */
	SSL_CTX_free(old_ctx);
	SSL_CTX_free(old_spice);
	conf_free(old_conf);
	log_info("reloaded %s: %zu ticket key(s), %u tunnel(s) kept",
	    c->path, gw->keys->nkeys,
	    __atomic_load_n(&shared.ntunnels, __ATOMIC_RELAXED));
	return 0;
}

static void
gateway_sighup(evutil_socket_t sig, short what, void *arg)
{
	char	err[1024];

	if (gateway_reload(err, sizeof err) == -1)
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
}

/* On each worker: closes whatever it still holds. */
static void
gateway_drain_now(void *arg)
{
	struct tunnel	*t;

	while ((t = TAILQ_FIRST(&gw->tunnels)) != NULL)
		tunnel_close(t, "gateway shutting down");
	/* tunnel_reap ends the loop. */
	event_active(gw->reap_ev, EV_TIMEOUT, 1);
}

static void
gateway_drain_expired(evutil_socket_t fd, short what, void *arg)
{
	if (gw->ntunnels > 0)
		log_warnx("drain deadline reached: closing %u tunnel(s)",
		    gw->ntunnels);
	gateway_drain_now(NULL);
}

/* On each worker: stops accepting and waits for its tunnels to end. */
static void
gateway_drain(void *arg)
{
	struct tunnel	*t, *next;
	struct timeval	 tv = { gw->conf->drain_timeout, 0 };

	gw->draining = 1;
	listener_close(&gw->plain);
	listener_close(&gw->tls);
	listener_close(&gw->ws);
	/* Connections that are not tunnels yet are not worth waiting for. */
	TAILQ_FOREACH_SAFE(t, &gw->tunnels, entry, next) {
		if (t->state != TUNNEL_RELAY)
			tunnel_close(t, "gateway shutting down");
	}
	event_active(gw->reap_ev, EV_TIMEOUT, 1);
	gw->drain_timer = evtimer_new(gw->base, gateway_drain_expired, NULL);
	if (gw->drain_timer == NULL || evtimer_add(gw->drain_timer, &tv) == -1)
		gateway_drain_now(NULL);
}

static void
gateway_sigterm(evutil_socket_t sig, short what, void *arg)
{
	if (gw->draining) {
		log_info("second signal: closing now");
		worker_run_all(gateway_drain_now, NULL);
		return;
	}
	worker_run_all(gateway_drain, NULL);
	log_info("draining %u tunnel(s), at most %us (signal again to stop "
	    "now)", __atomic_load_n(&shared.ntunnels, __ATOMIC_RELAXED),
	    gw->conf->drain_timeout);
}

/* What the gateway keeps in its state directory. */
static const char *const state_files[] = {
	"revocations", "revocations.tmp", NULL
};

static void
raise_fd_limit(void)
{
	struct rlimit	rl;

	/* Two descriptors per tunnel, and pipes while splicing. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char *argv[])
{
	struct gateway_config	*c;
	struct event		*ev_hup, *ev_term, *ev_int;
	const char		*path = GATEWAY_DEFAULT_CONFIG;
	char			 err[1024], nworkers[32] = "";
	unsigned int		 i;
	int			 ch, foreground = 0, check = 0, verbose = 0;

	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
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
	log_init("paprika-gatewayd", foreground || check, verbose);

	if ((c = conf_load(path, err, sizeof err)) == NULL) {
		fprintf(stderr, "paprika-gatewayd: %s\n", err);
		return 1;
	}
	shared.conf = c;
	if ((shared.keys = calloc(1, sizeof *shared.keys)) == NULL)
		fatalx("out of memory");
	if (gateway_load_secrets(c, shared.keys, &shared.tls_ctx,
	    &shared.spice_ctx, err, sizeof err) == -1 ||
	    (c->control_listen_len != 0 && control_tls_check(c, err,
	    sizeof err) == -1)) {
		fprintf(stderr, "paprika-gatewayd: %s\n", err);
		return 1;
	}
	if (check) {
		if (verbose)
			conf_dump(c, stdout);
		printf("configuration OK\n");
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	/* One worker takes no locks in libevent, as before workers. */
	shared.nworkers = c->workers;
	if (shared.nworkers > 1 && evthread_use_pthreads() == -1)
		fatalx("evthread_use_pthreads failed");
	if (c->state_dir != NULL)
		privdrop_state_dir(c->state_dir, c->user, state_files,
		    "gateway");
	if (revoke_load(c->state_dir) == -1)
		fatalx("cannot read revocations from %s", c->state_dir);
	for (i = 0; i < shared.nworkers; i++) {
		if ((shared.workers[i] = worker_new(i)) == NULL)
			return 1;
	}
	gw = shared.workers[0];
	if (c->listen_metrics_len != 0 && listener_open(&gw->metrics_listener,
	    &c->listen_metrics, c->listen_metrics_len, LISTENER_PLAIN,
	    0) == -1)
		return 1;
	if (c->control_socket != NULL && control_open(c->control_socket) == -1)
		return 1;
	if (c->control_listen_len != 0 && control_tls_open(c) == -1)
		return 1;
	if (c->user != NULL)
		privdrop_become(c->user, 0, "gateway");
	else if (geteuid() == 0)
		log_warnx("running as root: set \"user\" in [gateway] to "
		    "drop privileges");
	if (!foreground && daemon(0, 0) == -1)
		fatal("daemon");

	gw->started = time(NULL);
	ev_hup = evsignal_new(gw->base, SIGHUP, gateway_sighup, NULL);
	ev_term = evsignal_new(gw->base, SIGTERM, gateway_sigterm, NULL);
	ev_int = evsignal_new(gw->base, SIGINT, gateway_sigterm, NULL);
	if (ev_hup == NULL || ev_term == NULL || ev_int == NULL ||
	    evsignal_add(ev_hup, NULL) == -1 ||
	    evsignal_add(ev_term, NULL) == -1 ||
	    evsignal_add(ev_int, NULL) == -1)
		fatalx("cannot watch signals");
	for (i = 0; i < shared.nworkers; i++)
		worker_start(shared.workers[i]);
	listener_start(&gw->metrics_listener);
	control_start();
	revoke_start();
	if (shared.nworkers > 1)
		snprintf(nworkers, sizeof nworkers, ", %u workers",
		    shared.nworkers);
	log_info("started: plain %s, tls %s, ws %s, %zu ticket key(s), "
	    "%zu upstream network(s)%s",
	    c->listen_plain_len ? netaddr_str((struct sockaddr *)
	    &c->listen_plain, err, 64) : "off",
	    c->listen_tls_len ? netaddr_str((struct sockaddr *)
	    &c->listen_tls, err + 64, 64) : "off",
	    c->listen_ws_len ? netaddr_str((struct sockaddr *)
	    &c->listen_ws, err + 128, 64) : "off",
	    gw->keys->nkeys, c->nnets, nworkers);

	event_base_dispatch(gw->base);

	for (i = 1; i < shared.nworkers; i++)
		worker_join(shared.workers[i]);
	log_info("stopped");
	control_close(gw->conf->control_socket);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	for (i = shared.nworkers; i-- > 0; )
		worker_free(shared.workers[i]);
	relay_shutdown();
	revoke_stop();
	keyring_clear(shared.keys);
	free(shared.keys);
	SSL_CTX_free(shared.tls_ctx);
	SSL_CTX_free(shared.spice_ctx);
	tlsticket_clear();
	conf_free(shared.conf);
	return 0;
}
