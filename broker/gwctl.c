/* SPDX-License-Identifier: ISC */
/*
 * Revocation at the gateways: each gateway with a control channel is told
 * to close a session's tunnels and refuse its tickets for as long as one of
 * them could still be valid. The channel is the gateway's Unix socket, or
 * for a gateway on another host its control_listen in TLS, where the broker
 * shows a client certificate and checks the gateway's name.
 *
 * Each gateway has a queue of the revocations it has not acknowledged, sent
 * one at a time, in order, on a worker thread (a gateway that hangs must not
 * stall the broker), each step under a timeout. A gateway that cannot be
 * reached (restarting, its host down, the network cut) keeps its queue and
 * is asked again after 1, 2, 4... up to GWCTL_BACKOFF_MAX seconds; once it
 * answers, the rest follows at once. An entry leaves the queue when the
 * gateway acknowledges it, or once every ticket it revokes has expired
 * anyway (a ticket_lifetime at most), or to make room past GWCTL_QUEUE_MAX.
 * Each is logged when it is queued and when it is delivered or dropped.
 *
 * A revocation that was not delivered at once is also kept in the state
 * (db-revocation.c) until it leaves the queue, so that a broker restarted
 * meanwhile, or the standby that takes over from a dead leader, delivers
 * it (gwctl_restore). Until then the SPICE password of the revoked session
 * has already been changed, so no client gets into the desktop with an old
 * ticket; what it could do until the ticket expires is open a tunnel.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "broker.h"
#include "log.h"
#include "tls.h"
#include "workq.h"
#include "xmalloc.h"

#define GWCTL_TIMEOUT_MS	3000
#define GWCTL_SKEW		60	/* seconds of clock skew allowed for */
#define GWCTL_BACKOFF_MAX	60	/* seconds between tries, at most */
#define GWCTL_QUEUE_MAX		4096	/* revocations waiting, a gateway */
#define GWCTL_TLS_PREFIX	"tls://"

struct gwctl_entry {
	TAILQ_ENTRY(gwctl_entry) entry;
	uint64_t	 session;
	time_t		 until;		/* refuse the tickets until then */
	time_t		 queued;	/* when it first failed; 0: not yet */
};

TAILQ_HEAD(gwctl_queue, gwctl_entry);

/*
 * A gateway's channel and queue. The loop thread owns it, except that
 * while busy the worker thread reads the channel and the request and writes
 * error and reply.
 */
struct gwctl_gw {
	char			 name[BROKER_NAME_MAX + 1];
	char			*path;		/* Unix socket, or NULL */
	char			*host;		/* tls:// */
	char			*port;
	SSL_CTX			*ctx;
	struct gwctl_queue	 queue;
	size_t			 n;
	struct gwctl_entry	*sending;	/* in flight, still queued */
	int			 busy;
	unsigned int		 failures;	/* in a row */
	struct event		*retry;
	/* The request in flight, copied for the worker thread. */
	uint64_t		 session;
	time_t			 until;
	char			 error[800];
	char			 reply[512];
	/* Why the last try failed: the loop thread's copy of error. */
	char			 last_error[800];
};

static struct gwctl_gw	*gwctl_gws;
static size_t		 gwctl_ngws;
static int		 gwctl_ready;

/* One side of a control connection: a socket, with TLS or not. */
struct gwctl_io {
	int	 fd;
	SSL	*ssl;
};

static void	gwctl_kick(struct gwctl_gw *);

static int
gwctl_wait(int fd, short events)
{
	struct pollfd	pfd = { fd, events, 0 };
	int		n;

	while ((n = poll(&pfd, 1, GWCTL_TIMEOUT_MS)) == -1 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

/* Finishes a non-blocking connect within the timeout; 0 or -1 (errno). */
static int
gwctl_connect_wait(int fd)
{
	socklen_t	len = sizeof(int);
	int		err = 0;

	if (gwctl_wait(fd, POLLOUT) == -1) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* Connects to the control socket without blocking past the timeout. */
static int
gwctl_connect_unix(struct gwctl_gw *g)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, g->path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(g->error, sizeof(g->error), "socket path too long");
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		goto fail;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	/* A full backlog is EAGAIN on a Unix socket: busy, try later. */
	if (errno != EINPROGRESS || gwctl_connect_wait(fd) == -1)
		goto fail;
	return fd;
fail:
	snprintf(g->error, sizeof(g->error), "%s: %s", g->path,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/* Connects to HOST:PORT, each address in turn, within the timeout each. */
static int
gwctl_connect_tcp(struct gwctl_gw *g)
{
	struct addrinfo	 hints, *res, *ai;
	int		 fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(g->host, g->port, &hints, &res)) != 0) {
		snprintf(g->error, sizeof(g->error), "%s: %s", g->host,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && gwctl_connect_wait(fd) == 0))
			break;
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(g->error, sizeof(g->error), "%s:%s: %s", g->host,
		    g->port, strerror(errno));
	return fd;
}

/* What went wrong in TLS, from this thread's error queue. */
static void
gwctl_tls_error(struct gwctl_gw *g, SSL *ssl, const char *what)
{
	char	buf[256] = "the connection closed";
	long	v;

	if (ssl != NULL && (v = SSL_get_verify_result(ssl)) != X509_V_OK)
		snprintf(buf, sizeof(buf), "the gateway's certificate is "
		    "refused: %s", X509_verify_cert_error_string(v));
	else if (ERR_peek_last_error() != 0)
		ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
	ERR_clear_error();
	snprintf(g->error, sizeof(g->error), "%s:%s: %s: %s", g->host,
	    g->port, what, buf);
}

/*
 * Waits for what an SSL call wants; 0 to call it again, -1 on an error or
 * the timeout.
 */
static int
gwctl_tls_again(SSL *ssl, int fd, int r)
{
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return gwctl_wait(fd, POLLIN);
	case SSL_ERROR_WANT_WRITE:
		return gwctl_wait(fd, POLLOUT);
	default:
		return -1;
	}
}

/* TLS to the gateway: its certificate from the CA, for its name. */
static int
gwctl_tls_start(struct gwctl_gw *g, struct gwctl_io *io)
{
	struct in6_addr	 a;
	int		 r;

	if ((io->ssl = SSL_new(g->ctx)) == NULL ||
	    SSL_set_fd(io->ssl, io->fd) != 1) {
		gwctl_tls_error(g, NULL, "TLS");
		return -1;
	}
	if (inet_pton(AF_INET, g->host, &a) == 1 ||
	    inet_pton(AF_INET6, g->host, &a) == 1)
		r = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(io->ssl),
		    g->host);
	else
		r = SSL_set_tlsext_host_name(io->ssl, g->host) &&
		    SSL_set1_host(io->ssl, g->host);
	if (r != 1) {
		gwctl_tls_error(g, NULL, "TLS");
		return -1;
	}
	while ((r = SSL_connect(io->ssl)) != 1) {
		if (gwctl_tls_again(io->ssl, io->fd, r) == -1) {
			gwctl_tls_error(g, io->ssl, "TLS handshake");
			return -1;
		}
	}
	return 0;
}

static int
gwctl_write(struct gwctl_gw *g, struct gwctl_io *io, const char *buf,
    size_t len)
{
	ssize_t	n;
	int	r;

	if (io->ssl == NULL) {
		if (gwctl_wait(io->fd, POLLOUT) == -1 ||
		    (n = write(io->fd, buf, len)) != (ssize_t)len) {
			snprintf(g->error, sizeof(g->error), "%s: write: %s",
			    g->path, strerror(errno));
			return -1;
		}
		return 0;
	}
	while ((r = SSL_write(io->ssl, buf, (int)len)) <= 0) {
		if (gwctl_tls_again(io->ssl, io->fd, r) == -1) {
			gwctl_tls_error(g, io->ssl, "write");
			return -1;
		}
	}
	return 0;
}

/* Reads what comes within the timeout: >0, 0 at the end, -1 on timeout. */
static ssize_t
gwctl_read(struct gwctl_io *io, char *buf, size_t len)
{
	int	r;

	if (io->ssl == NULL) {
		if (gwctl_wait(io->fd, POLLIN) == -1)
			return -1;
		return read(io->fd, buf, len);
	}
	while ((r = SSL_read(io->ssl, buf, (int)len)) <= 0) {
		if (SSL_get_error(io->ssl, r) == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (gwctl_tls_again(io->ssl, io->fd, r) == -1) {
			ERR_clear_error();
			return 0;
		}
	}
	return r;
}

/* On a worker thread: one request line, one reply line. */
static void
gwctl_work(void *arg)
{
	struct gwctl_gw	*g = arg;
	struct gwctl_io	 io = { -1, NULL };
	const char	*where = g->path != NULL ? g->path : g->host;
	char		 req[160];
	ssize_t		 n;
	size_t		 off = 0;
	time_t		 now = time(NULL);

	g->error[0] = g->reply[0] = '\0';
	if (g->path != NULL)
		io.fd = gwctl_connect_unix(g);
	else
		io.fd = gwctl_connect_tcp(g);
	if (io.fd == -1 || (g->ctx != NULL && gwctl_tls_start(g, &io) == -1))
		goto out;
	snprintf(req, sizeof(req), "{\"command\":\"revoke\",\"session\":"
	    "\"%016" PRIx64 "\",\"seconds\":%lld}\n", g->session,
	    (long long)(g->until > now ? g->until - now : 1));
	if (gwctl_write(g, &io, req, strlen(req)) == -1)
		goto out;
	while (off < sizeof(g->reply) - 1) {
		if ((n = gwctl_read(&io, g->reply + off, sizeof(g->reply) - 1 -
		    off)) == -1) {
			snprintf(g->error, sizeof(g->error), "%s: no reply "
			    "within %d ms", where, GWCTL_TIMEOUT_MS);
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
		if (memchr(g->reply, '\n', off) != NULL)
			break;
	}
	g->reply[off] = '\0';
	g->reply[strcspn(g->reply, "\n")] = '\0';
	if (strstr(g->reply, "\"error\"") != NULL || off == 0)
		snprintf(g->error, sizeof(g->error), "%s: %s", where,
		    off == 0 ? "closed without a reply" : g->reply);
out:
	if (io.ssl != NULL)
		SSL_free(io.ssl);
	if (io.fd != -1)
		close(io.fd);
}

/* The state's copy of e, kept from its first failed try on. */
static void
gwctl_keep(struct gwctl_gw *g, struct gwctl_entry *e)
{
	struct db_revocation	r;

	memset(&r, 0, sizeof(r));
	strlcpy(r.gateway, g->name, sizeof(r.gateway));
	r.session = e->session;
	r.expires = e->until;
	r.queued = e->queued;
	if (db_revocation_put(broker->db, &r) == -1)
		log_warnx("gateway %s: revocation of session %016" PRIx64
		    " not kept in the state: a restart would forget it",
		    g->name, e->session);
}

/* Takes e off the queue, and out of the state: it was delivered or no
 * longer matters. */
static void
gwctl_remove(struct gwctl_gw *g, struct gwctl_entry *e)
{
	if (e->queued != 0)
		db_revocation_del(broker->db, g->name, e->session);
	TAILQ_REMOVE(&g->queue, e, entry);
	g->n--;
	if (g->sending == e)
		g->sending = NULL;
	free(e);
}

/* Drops what no longer matters: every ticket it revokes has expired. */
static void
gwctl_expire(struct gwctl_gw *g, time_t now)
{
	struct gwctl_entry	*e, *next;

	TAILQ_FOREACH_SAFE(e, &g->queue, entry, next) {
		if (e->until > now || e == g->sending)
			continue;
		log_warnx("gateway %s: revocation of session %016" PRIx64
		    " dropped undelivered: its tickets have expired", g->name,
		    e->session);
		gwctl_remove(g, e);
	}
}

static void
gwctl_done(void *arg)
{
	struct gwctl_gw		*g = arg;
	struct gwctl_entry	*e = g->sending, *q;
	struct timeval		 tv = { 0, 0 };
	time_t			 now = time(NULL);

	g->busy = 0;
	if (g->error[0] == '\0') {
		if (e != NULL && e->queued != 0)
			log_info("gateway %s: revocation of session %016"
			    PRIx64 " delivered after %lld s: %s", g->name,
			    g->session, (long long)(now - e->queued), g->reply);
		else
			log_debug("gateway %s: revoked session %016" PRIx64
			    ": %s", g->name, g->session, g->reply);
		if (e != NULL)
			gwctl_remove(g, e);
		g->failures = 0;
		gwctl_kick(g);
		return;
	}
	g->sending = NULL;
	g->failures++;
	strlcpy(g->last_error, g->error, sizeof(g->last_error));
	/* Once each: the failures that follow are the same story. */
	TAILQ_FOREACH(q, &g->queue, entry) {
		if (q->queued != 0)
			continue;
		q->queued = now;
		log_warnx("gateway %s: revocation of session %016" PRIx64
		    " queued (%zu waiting): %s", g->name, q->session, g->n,
		    g->error);
		gwctl_keep(g, q);
	}
	tv.tv_sec = g->failures > 6 ? GWCTL_BACKOFF_MAX :
	    1 << (g->failures - 1);
	if (tv.tv_sec > GWCTL_BACKOFF_MAX)
		tv.tv_sec = GWCTL_BACKOFF_MAX;
	log_debug("gateway %s: unreachable (%s); trying again in %lld s",
	    g->name, g->error, (long long)tv.tv_sec);
	evtimer_add(g->retry, &tv);
}

static void
gwctl_retry(evutil_socket_t fd, short ev, void *arg)
{
	gwctl_kick(arg);
}

/* Sends the oldest revocation, unless one is on its way or a retry waits. */
static void
gwctl_kick(struct gwctl_gw *g)
{
	struct gwctl_entry	*e;

	if (g->busy || evtimer_pending(g->retry, NULL))
		return;
	gwctl_expire(g, time(NULL));
	if ((e = TAILQ_FIRST(&g->queue)) == NULL)
		return;
	g->sending = e;
	g->session = e->session;
	g->until = e->until;
	g->busy = 1;
	if (workq_push(broker->gwq, gwctl_work, gwctl_done, g) == -1) {
		g->busy = 0;
		g->sending = NULL;
		log_warnx("gateway %s: cannot queue a revocation", g->name);
	}
}

/* "tls://HOST:PORT" or "tls://[V6]:PORT" into host and port; 0 or -1. */
static int
gwctl_parse_tls(struct gwctl_gw *g, const char *url)
{
	const char	*h = url + strlen(GWCTL_TLS_PREFIX), *colon, *end;
	const char	*errstr = NULL;

	if (*h == '[') {
		if ((end = strchr(h, ']')) == NULL || end[1] != ':')
			return -1;
		xasprintf(&g->host, "%.*s", (int)(end - h - 1), h + 1);
		colon = end + 1;
	} else {
		if ((colon = strrchr(h, ':')) == NULL || colon == h ||
		    memchr(h, ':', (size_t)(colon - h)) != NULL)
			return -1;
		xasprintf(&g->host, "%.*s", (int)(colon - h), h);
	}
	strtonum(colon + 1, 1, 65535, &errstr);
	if (errstr != NULL || strchr(g->host, '/') != NULL)
		return -1;
	g->port = xstrdup(colon + 1);
	return 0;
}

/* A tls:// gateway's client context: its certificate, key and CA. */
static int
gwctl_tls_ctx(struct gwctl_gw *g, const struct conf_gateway *cg, char *err,
    size_t errlen)
{
	char	why[512];

	if ((g->ctx = tls_client_ctx_new(cg->control_ca, why,
	    sizeof(why))) == NULL ||
	    tls_ctx_use_cert(g->ctx, cg->control_cert, cg->control_key, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "[gateway %s] control: %s (control_ca, "
		    "control_cert, control_key; paprika-certs --only control "
		    "makes them)", cg->name, why);
		return -1;
	}
	return 0;
}

int
gwctl_init(const struct broker_config *c, char *err, size_t errlen)
{
	const struct conf_gateway	*cg;
	struct gwctl_gw			*g;
	size_t				 i;

	gwctl_shutdown();
	gwctl_ready = 1;
	gwctl_gws = xcalloc(c->ngateways + 1, sizeof(*gwctl_gws));
	for (i = 0; i < c->ngateways; i++) {
		cg = &c->gateways[i];
		if (cg->control == NULL)
			continue;
		g = &gwctl_gws[gwctl_ngws++];
		strlcpy(g->name, cg->name, sizeof(g->name));
		TAILQ_INIT(&g->queue);
		if (strncmp(cg->control, GWCTL_TLS_PREFIX,
		    strlen(GWCTL_TLS_PREFIX)) != 0) {
			g->path = xstrdup(cg->control);
			continue;
		}
		if (gwctl_parse_tls(g, cg->control) == -1) {
			snprintf(err, errlen, "[gateway %s] control = %s: "
			    "expected tls://HOST:PORT or a socket's path",
			    cg->name, cg->control);
			return -1;
		}
		if (gwctl_tls_ctx(g, cg, err, errlen) == -1)
			return -1;
	}
	return 0;
}

void
gwctl_shutdown(void)
{
	struct gwctl_gw		*g;
	struct gwctl_entry	*e;
	size_t			 i;

	for (i = 0; i < gwctl_ngws; i++) {
		g = &gwctl_gws[i];
		if (g->n != 0)
			log_warnx("gateway %s: %zu revocations undelivered at "
			    "the stop, left in the state for the next broker",
			    g->name, g->n);
		/* Not gwctl_remove: the state keeps them. */
		while ((e = TAILQ_FIRST(&g->queue)) != NULL) {
			TAILQ_REMOVE(&g->queue, e, entry);
			free(e);
		}
		g->n = 0;
		if (g->retry != NULL)
			event_free(g->retry);
		SSL_CTX_free(g->ctx);
		free(g->path);
		free(g->host);
		free(g->port);
	}
	free(gwctl_gws);
	gwctl_gws = NULL;
	gwctl_ngws = 0;
	gwctl_ready = 0;
}

void
gwctl_metrics(struct evbuffer *b)
{
	size_t	i;

	if (gwctl_ngws == 0)
		return;
	evbuffer_add_printf(b, "# HELP paprika_broker_gateway_revocations_"
	    "queued Revocations a gateway has not taken yet.\n# TYPE "
	    "paprika_broker_gateway_revocations_queued gauge\n");
	for (i = 0; i < gwctl_ngws; i++)
		evbuffer_add_printf(b, "paprika_broker_gateway_revocations_"
		    "queued{gateway=\"%s\"} %zu\n", gwctl_gws[i].name,
		    gwctl_gws[i].n);
}

/* Queues a revocation for g, making room by dropping the oldest; queued
 * is when an earlier broker's first try failed, or 0. */
static void
gwctl_enqueue(struct gwctl_gw *g, uint64_t session, time_t until,
    time_t queued)
{
	struct gwctl_entry	*e, *old;
	time_t			 now = time(NULL);

	if (g->retry == NULL &&
	    (g->retry = evtimer_new(broker->base, gwctl_retry, g)) == NULL)
		fatalx("gateway %s: cannot make its retry timer", g->name);
	gwctl_expire(g, now);
	if (g->n >= GWCTL_QUEUE_MAX) {
		old = TAILQ_FIRST(&g->queue);
		if (old == g->sending)
			old = TAILQ_NEXT(old, entry);
		log_warnx("gateway %s: %d revocations waiting: session %016"
		    PRIx64 "'s dropped undelivered", g->name, GWCTL_QUEUE_MAX,
		    old->session);
		gwctl_remove(g, old);
	}
	e = xcalloc(1, sizeof(*e));
	e->session = session;
	e->until = until;
	e->queued = queued;
	TAILQ_INSERT_TAIL(&g->queue, e, entry);
	g->n++;
	if (queued == 0 && g->failures > 0) {
		e->queued = now;
		log_warnx("gateway %s: revocation of session %016" PRIx64
		    " queued (%zu waiting): the last try failed: %s",
		    g->name, session, g->n, g->last_error);
		gwctl_keep(g, e);
	}
	gwctl_kick(g);
}

void
gwctl_revoke(uint64_t gw_id, time_t tickets_until)
{
	time_t	now = time(NULL), until;
	char	err[512];
	size_t	i;

	if (!gwctl_ready && gwctl_init(broker->conf, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return;
	}
	/* Unknown (a restart forgot it): the longest a ticket can live. */
	if (tickets_until == 0)
		tickets_until = now + broker->conf->ticket_lifetime;
	until = (tickets_until > now ? tickets_until : now) + GWCTL_SKEW;
	for (i = 0; i < gwctl_ngws; i++)
		gwctl_enqueue(&gwctl_gws[i], gw_id, until, 0);
}

struct gwctl_rows {
	struct db_revocation	*v;
	size_t			 n;
};

static void
gwctl_restore_row(const struct db_revocation *r, void *arg)
{
	struct gwctl_rows	*rows = arg;

	rows->v = xreallocarray(rows->v, rows->n + 1, sizeof(*rows->v));
	rows->v[rows->n++] = *r;
}

/* Queues again what an earlier broker left undelivered in the state (read
 * whole first: queueing writes to the state). */
int
gwctl_restore(void)
{
	struct gwctl_rows	 rows = { NULL, 0 };
	struct db_revocation	*r;
	size_t			 i, j, n = 0;

	if (db_revocation_each(broker->db, gwctl_restore_row, &rows) == -1) {
		free(rows.v);
		return -1;
	}
	for (i = 0; i < rows.n; i++) {
		r = &rows.v[i];
		for (j = 0; j < gwctl_ngws; j++)
			if (strcmp(gwctl_gws[j].name, r->gateway) == 0)
				break;
		if (j < gwctl_ngws) {
			gwctl_enqueue(&gwctl_gws[j], r->session, r->expires,
			    r->queued);
			n++;
			continue;
		}
		log_warnx("gateway %s: no longer configured with a control "
		    "channel: revocation of session %016" PRIx64 " dropped",
		    r->gateway, r->session);
		db_revocation_del(broker->db, r->gateway, r->session);
	}
	free(rows.v);
	if (n != 0)
		log_info("%zu revocations an earlier broker could not deliver "
		    "are on their way again", n);
	return 0;
}
