/* SPDX-License-Identifier: ISC */
/*
 * A tunnel's life: TLS handshake (TLS listener), the CONNECT request, the
 * ticket check, the upstream connect, the relay, and one teardown path that
 * writes one log line.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gateway.h"
#include "log.h"

static void	tunnel_event(evutil_socket_t, short, void *);
static void	tunnel_timeout(evutil_socket_t, short, void *);
static void	tunnel_advance(struct tunnel *);

static const struct {
	int		 status;
	const char	*text;
} refusal_status[REFUSE_MAX] = {
	[REFUSE_MALFORMED] = { 400, "Bad Request" },
	[REFUSE_METHOD] = { 405, "Method Not Allowed" },
	[REFUSE_TOO_LARGE] = { 431, "Request Header Fields Too Large" },
	[REFUSE_NO_TICKET] = { 407, "Proxy Authentication Required" },
	[REFUSE_BAD_TICKET] = { 403, "Forbidden" },
	[REFUSE_EXPIRED] = { 403, "Forbidden" },
	[REFUSE_REVOKED] = { 403, "Forbidden" },
	[REFUSE_PORT] = { 403, "Forbidden" },
	[REFUSE_NETWORK] = { 403, "Forbidden" },
	[REFUSE_OVERLOADED] = { 503, "Service Unavailable" },
	[REFUSE_PENDING] = { 503, "Service Unavailable" },
	[REFUSE_UPSTREAM_FAILED] = { 502, "Bad Gateway" },
	[REFUSE_UPSTREAM_TIMEOUT] = { 504, "Gateway Timeout" },
	[REFUSE_TIMEOUT] = { 408, "Request Timeout" },
	[REFUSE_TLS] = { 0, NULL },
	[REFUSE_NOT_FOUND] = { 404, "Not Found" },
	[REFUSE_UPGRADE] = { 426, "Upgrade Required" },
	[REFUSE_ORIGIN] = { 403, "Forbidden" },
	[REFUSE_UPSTREAM_TLS] = { 502, "Bad Gateway" },
	[REFUSE_WEBSOCKET] = { 0, NULL },
};

const char *
tunnel_state_name(enum tunnel_state s)
{
	switch (s) {
	case TUNNEL_HANDSHAKE:
		return "handshake";
	case TUNNEL_REQUEST:
		return "request";
	case TUNNEL_CONNECTING:
		return "connecting";
	case TUNNEL_UPSTREAM_TLS:
		return "upstream-tls";
	case TUNNEL_RELAY:
		return "relay";
	case TUNNEL_REFUSING:
		return "refusing";
	case TUNNEL_CLOSED:
		return "closed";
	}
	return "unknown";
}

double
timespec_since(const struct timespec *ts)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - ts->tv_sec) +
	    (double)(now.tv_nsec - ts->tv_nsec) / 1e9;
}

/*
 * Arms the tunnel's timer; 0 gives it back, so that a relaying tunnel
 * without an idle_timeout holds none. A state that needs one again (a
 * WebSocket's closing handshake) makes it anew, or closes the tunnel
 * rather than go without its limit.
 */
static void
tunnel_set_timer(struct tunnel *t, unsigned int seconds)
{
	struct timeval	tv = { seconds, 0 };

	if (seconds == 0) {
		if (t->timer != NULL)
			event_free(t->timer);
		t->timer = NULL;
		return;
	}
	if (t->timer == NULL &&
	    (t->timer = evtimer_new(gw->base, tunnel_timeout, t)) == NULL) {
		tunnel_close(t, "out of memory");
		return;
	}
	evtimer_add(t->timer, &tv);
}

void
tunnel_enter(struct tunnel *t, enum tunnel_state state, unsigned int timeout)
{
	t->state = state;
	clock_gettime(CLOCK_MONOTONIC, &t->phase_started);
	tunnel_set_timer(t, timeout);
}

static int
tunnel_end_init(struct tunnel *t, struct relay_end *e, int fd)
{
	e->fd = fd;
	e->readable = e->writable = 1;
	e->ev = event_new(gw->base, fd, EV_READ | EV_WRITE | EV_PERSIST | EV_ET,
	    tunnel_event, t);
	if (e->ev == NULL || event_add(e->ev, NULL) == -1)
		return -1;
	return 0;
}

static void
socket_tune(int fd)
{
	int	on = 1;

	/* SPICE inputs and cursor are latency-bound. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	/* Silent channels are normal; dead peers are found by keepalive. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
}

/*
 * Counts a new connection against the limits on its source and on
 * connections without a ticket; returns NULL when it may go on, or why not.
 */
static const char *
tunnel_admit(struct tunnel *t, enum refusal *why)
{
	const struct gateway_config	*c = gw->conf;
	const struct source		*src = t->source;
	int				 over;

	*why = REFUSE_OVERLOADED;
	if (src == NULL)
		return "gateway out of memory";
	/* The counts are every worker's. */
	shared_lock();
	over = src->count > c->max_tunnels_per_source ||
	    src->pending >= c->max_pending_per_source;
	shared_unlock();
	if (over)
		return "too many connections from this address";
	if (pending_add(t) == -1) {
		*why = REFUSE_PENDING;
		return "too many connections waiting for a ticket";
	}
	return NULL;
}

void
tunnel_accept(int fd, struct sockaddr_storage *peer, enum listener_kind kind)
{
	struct tunnel	*t;
	const char	*reason;
	enum refusal	 why;

	if ((t = calloc(1, sizeof *t)) == NULL) {
		log_warnx("accept: out of memory");
		__atomic_sub_fetch(&shared.ntunnels, 1, __ATOMIC_RELAXED);
		close(fd);
		return;
	}
	t->id = __atomic_add_fetch(&shared.next_tunnel_id, 1, __ATOMIC_RELAXED);
	t->worker = gw;
	t->kind = kind;
	t->tls = kind != LISTENER_PLAIN;
	/* The listeners are TCP: the address fits. */
	memcpy(&t->peer, peer, sizeof t->peer);
	t->client.fd = t->upstream.fd = -1;
	t->up.pipe[0] = t->up.pipe[1] = t->down.pipe[0] = t->down.pipe[1] = -1;
	clock_gettime(CLOCK_MONOTONIC, &t->started);
	TAILQ_INSERT_TAIL(&gw->tunnels, t, entry);
	gw->ntunnels++;		/* shared.ntunnels: taken by the listener */
	gw->m.accepted++;
	socket_tune(fd);
	t->source = source_get(peer);
	if ((t->timer = evtimer_new(gw->base, tunnel_timeout, t)) == NULL ||
	    tunnel_end_init(t, &t->client, fd) == -1 ||
	    (kind == LISTENER_WS && ws_new(t) == -1)) {
		if (t->client.fd == -1)
			close(fd);
		tunnel_close(t, "out of memory");
		return;
	}
	if ((reason = tunnel_admit(t, &why)) != NULL) {
		tunnel_enter(t, TUNNEL_REQUEST, gw->conf->request_timeout);
		tunnel_turn_away(t, why, reason);
		return;
	}
	if (t->tls) {
		if ((t->client.ssl = SSL_new(gw->tls_ctx)) == NULL ||
		    SSL_set_fd(t->client.ssl, fd) != 1) {
			ERR_clear_error();
			tunnel_close(t, "out of memory");
			return;
		}
		tunnel_enter(t, TUNNEL_HANDSHAKE, gw->conf->handshake_timeout);
	} else
		tunnel_enter(t, TUNNEL_REQUEST, gw->conf->request_timeout);
	tunnel_advance(t);
}

void
tunnel_turn_away(struct tunnel *t, enum refusal why, const char *reason)
{
	char	text[160];

	if (t->tls && (t->client.ssl == NULL ||
	    t->state == TUNNEL_HANDSHAKE)) {
		/* No TLS session to answer in yet. */
		metrics_refusal(why);
		snprintf(text, sizeof text, "refused: %s", reason);
		tunnel_close(t, text);
		return;
	}
	tunnel_refuse(t, why, reason);
}

/*
 * Keeps why the tunnel is refused or closing (cut at 160 bytes), made only
 * then: idle tunnels hold no room for it. Returns it, as tunnel_refusal.
 */
const char *
tunnel_set_refusal(struct tunnel *t, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[160], *s;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if ((s = strdup(buf)) != NULL) {
		free(t->refusal);
		t->refusal = s;
	}
	return tunnel_refusal(t);
}

/* Why the tunnel is refused or closing, in words for the log. */
const char *
tunnel_refusal(const struct tunnel *t)
{
	return t->refusal != NULL ? t->refusal : "refused";
}

/*
 * What every refusal starts with, whatever answer follows: the tunnel no
 * longer holds a pending slot, is counted, and is given none of the TLS
 * tickets owed since the connect (a WebSocket can still be refused after it).
 */
void
tunnel_refusing(struct tunnel *t, enum refusal why)
{
	pending_remove(t);
	metrics_refusal(why);
	t->client.owes_tickets = 0;
}

/* Answers the client with an HTTP error, then closes once it is sent. */
void
tunnel_refuse(struct tunnel *t, enum refusal why, const char *reason)
{
	char		 answer[512];
	const char	*text = refusal_status[why].text, *extra = "";
	int		 n, status = refusal_status[why].status;

	tunnel_refusing(t, why);
	if (status == 0) {
		tunnel_close(t, tunnel_set_refusal(t, "refused: %s", reason));
		return;
	}
	if (status == 407 && t->ws != NULL) {
		/* Not a proxy: the ticket belongs in the URL. */
		status = 401;
		text = "Unauthorized";
		extra = "WWW-Authenticate: PaprikaTicket realm=\"paprika\"\r\n";
	} else if (status == 407)
		extra = "Proxy-Authenticate: Basic realm=\"paprika\"\r\n";
	else if (status == 503)
		extra = "Retry-After: 5\r\n";
	else if (status == 405)
		extra = t->ws != NULL ? "Allow: GET\r\n" : "Allow: CONNECT\r\n";
	else if (status == 426)
		extra = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
	tunnel_set_refusal(t, "refused %d: %s", status, reason);
	n = snprintf(answer, sizeof answer,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "Connection: close\r\n"
	    "\r\n"
	    "%s\n",
	    status, text, strlen(reason) + 1, extra, reason);
	relay_dir_release(&t->up);
	/* A reason too long for the answer closes without one: a cut
	 * answer would lie about its Content-Length. */
	if (n < 0 || (size_t)n >= sizeof answer ||
	    relay_queue_down(t, answer, (size_t)n) == -1) {
		tunnel_close(t, tunnel_refusal(t));
		return;
	}
	t->up.eof = 1;
	t->down.eof = 1;
	/* Half a second's grace on top is plenty for a few hundred bytes. */
	tunnel_enter(t, TUNNEL_REFUSING, 5);
	tunnel_advance(t);
}

/* Picks the ticket out of the request: the CONNECT host, or Basic creds. */
static const char *
tunnel_ticket_text(const struct request *req)
{
	if (ticket_is_candidate(req->host, strlen(req->host)))
		return req->host;
	if (!req->has_credentials)
		return NULL;
	if (ticket_is_candidate(req->cred_password,
	    strlen(req->cred_password)))
		return req->cred_password;
	if (ticket_is_candidate(req->cred_user, strlen(req->cred_user)))
		return req->cred_user;
	return req->cred_password;
}

static void
tunnel_connect(struct tunnel *t, const struct sockaddr_storage *ss,
    socklen_t len)
{
	int	fd;

	memcpy(&t->target, ss, sizeof t->target);
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		log_warn("upstream socket");
		tunnel_refuse(t, REFUSE_OVERLOADED, "gateway out of resources");
		return;
	}
	socket_tune(fd);
	if (connect(fd, (const struct sockaddr *)ss, len) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		tunnel_refuse(t, REFUSE_UPSTREAM_FAILED, strerror(errno));
		return;
	}
	if (tunnel_end_init(t, &t->upstream, fd) == -1) {
		close(fd);
		tunnel_refuse(t, REFUSE_OVERLOADED, "gateway out of resources");
		return;
	}
	/* Connected once the socket reports writable. */
	t->upstream.writable = 0;
	tunnel_enter(t, TUNNEL_CONNECTING, gw->conf->connect_timeout);
}

/*
 * Checks the ticket and the gateway's rules; connects or refuses. port 0
 * (a WebSocket URL without port=) means the ticket's only port.
 */
void
tunnel_authorize(struct tunnel *t, const char *text, uint16_t port)
{
	const struct gateway_config	*c = gw->conf;
	struct ticket			 tk;
	struct sockaddr_storage		 ss;
	socklen_t			 len;
	int				 rc;

	if (text == NULL || text[0] == '\0') {
		tunnel_refuse(t, REFUSE_NO_TICKET, t->ws != NULL ?
		    "no ticket: the URL needs ticket=" : "no ticket: connect "
		    "with the connection file from the broker");
		return;
	}
	rc = ticket_decode(text, strlen(text), gw->keys, time(NULL), &tk);
	if (rc != TICKET_OK) {
		tunnel_refuse(t, rc == TICKET_EXPIRED ? REFUSE_EXPIRED :
		    REFUSE_BAD_TICKET, ticket_strerror(rc));
		return;
	}
	t->session_id = tk.session_id;
	memcpy(t->user, tk.user, sizeof t->user);
	if (port == 0 && tk.nports == 1)
		port = tk.ports[0];
	len = ticket_upstream(&tk, port, &ss);
	memcpy(&t->target, &ss, sizeof t->target);
	if (revoke_check(&tk)) {
		tunnel_refuse(t, REFUSE_REVOKED, "ticket revoked");
		return;
	}
	if (port == 0) {
		tunnel_refuse(t, REFUSE_MALFORMED, "the ticket names several "
		    "ports: the URL needs port=");
		return;
	}
	if (!ticket_allows_port(&tk, port)) {
		tunnel_refuse(t, REFUSE_PORT, "port not allowed by the ticket");
		return;
	}
	if (!netaddr_ports_contain(c->ports, c->nports, port)) {
		tunnel_refuse(t, REFUSE_PORT, "port outside the gateway's "
		    "upstream ports");
		return;
	}
	for (rc = 0; (size_t)rc < c->nnets; rc++) {
		if (netaddr_net_contains(&c->nets[rc],
		    (struct sockaddr *)&ss))
			break;
	}
	if ((size_t)rc == c->nnets) {
		tunnel_refuse(t, REFUSE_NETWORK, "upstream outside the "
		    "gateway's hypervisor networks");
		return;
	}
	if (t->ws != NULL && conf_spice_subject(c, (struct sockaddr *)&ss) == NULL) {
		ws_refuse_upstream(t, "no spice_subject is configured for "
		    "the guest's host");
		tunnel_advance(t);
		return;
	}
	switch (session_join(t, tk.session_id, tk.user,
	    c->max_tunnels_per_session)) {
	case -1:
		tunnel_refuse(t, REFUSE_OVERLOADED, "gateway out of memory");
		return;
	case -2:
		tunnel_refuse(t, REFUSE_OVERLOADED, "too many tunnels for this "
		    "session");
		return;
	}
	pending_remove(t);
	tunnel_connect(t, &ss, len);
}

/* Refuses a request its parser refused with a negative status. */
void
tunnel_refuse_parse(struct tunnel *t, int rc, const char *reason)
{
	tunnel_refuse(t, rc == -405 ? REFUSE_METHOD : rc == -431 ?
	    REFUSE_TOO_LARGE : rc == -404 ? REFUSE_NOT_FOUND : rc == -426 ?
	    REFUSE_UPGRADE : REFUSE_MALFORMED, reason);
}

/* Reads and parses the CONNECT (or WebSocket upgrade) request. */
static void
tunnel_read_request(struct tunnel *t)
{
	struct request_limits	 lim = gw->conf->request;
	struct request		 req;
	const char		*reason = NULL;
	ssize_t			 n;
	int			 rc;

	/* A request must fit the buffer it is read into (see gateway_reload). */
	if (lim.max_size > relay_buf_size())
		lim.max_size = relay_buf_size();
	for (;;) {
		n = relay_read_request(t, lim.max_size, &reason);
		if (n == RELAY_AGAIN)
			return;
		if (n < 0) {
			tunnel_close(t, reason);
			return;
		}
		if (n == 0 && t->up.len < lim.max_size) {
			tunnel_close(t, "client closed before its request");
			return;
		}
		if (t->ws != NULL) {
			if (ws_request(t, &lim) == 0)
				continue;
			return;
		}
		rc = request_parse((const char *)t->up.buf, t->up.len, &lim,
		    &req, &reason);
		if (rc == 0)
			continue;
		if (rc < 0) {
			tunnel_refuse_parse(t, rc, reason);
			return;
		}
		/* Bytes after the request are the client's first tunnel bytes. */
		t->up.off = (uint32_t)rc;
		if (t->up.off == t->up.len)
			relay_dir_release(&t->up);
		tunnel_authorize(t, tunnel_ticket_text(&req), req.port);
		request_clear(&req);
		return;
	}
}

static void
tunnel_handshake(struct tunnel *t)
{
	int	rc;

	ERR_clear_error();
	if ((rc = SSL_accept(t->client.ssl)) == 1) {
		metrics_observe(HIST_HANDSHAKE, timespec_since(&t->started));
		metrics_tls_handshake(SSL_session_reused(t->client.ssl));
		tunnel_enter(t, TUNNEL_REQUEST, gw->conf->request_timeout);
		return;
	}
	switch (SSL_get_error(t->client.ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		t->client.readable = 0;
		return;
	case SSL_ERROR_WANT_WRITE:
		t->client.writable = 0;
		return;
	}
	ERR_clear_error();
	metrics_refusal(REFUSE_TLS);
	tunnel_close(t, "TLS handshake failed");
}

static void
tunnel_connected(struct tunnel *t)
{
	static const char	 ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	const char		*reason = NULL;
	int			 err = 0;
	socklen_t		 len = sizeof err;

	if (getsockopt(t->upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		session_detach(t);
		tunnel_refuse(t, REFUSE_UPSTREAM_FAILED, strerror(err));
		return;
	}
	metrics_observe(HIST_CONNECT, timespec_since(&t->phase_started));
	t->client.owes_tickets = t->client.ssl != NULL;
	if (t->ws != NULL) {
		/* The tunnel opens once the guest's TLS is verified. */
		if (ws_upstream_start(t) == -1) {
			session_detach(t);
			tunnel_refuse(t, REFUSE_OVERLOADED, "gateway out of "
			    "resources");
		}
		return;
	}
	if (relay_queue_down(t, ok, sizeof ok - 1) == -1) {
		tunnel_close(t, "out of memory");
		return;
	}
	metrics_tunnel_opened(t->kind);
	if (relay_fill_down(t, &reason) == -1) {
		tunnel_close(t, reason);
		return;
	}
	t->last_active = time(NULL);
	tunnel_enter(t, TUNNEL_RELAY, gw->conf->idle_timeout);
}

/*
 * After an error answer is sent, reads and drops what the client still
 * sends until it closes: closing with unread bytes would send a reset that
 * can destroy the answer before the client reads it. Returns RELAY_AGAIN
 * while the client is still sending.
 */
static int
tunnel_linger(struct tunnel *t)
{
	char		 sink[4096];
	ssize_t		 n;
	int		 i;

	for (i = 0; i < 64; i++) {
		n = t->client.ssl != NULL ? SSL_read(t->client.ssl, sink,
		    sizeof sink) : read(t->client.fd, sink, sizeof sink);
		if (n > 0)
			continue;
		if (t->client.ssl != NULL) {
			n = SSL_get_error(t->client.ssl, (int)n);
			ERR_clear_error();
			if (n == SSL_ERROR_WANT_READ || n == SSL_ERROR_WANT_WRITE)
				return RELAY_AGAIN;
			return 0;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return RELAY_AGAIN;
		return 0;
	}
	return RELAY_AGAIN;
}

/* Does whatever the tunnel's state allows now. */
static void
tunnel_advance(struct tunnel *t)
{
	const char	*reason = NULL;
	int		 rc;

	for (;;) {
		switch (t->state) {
		case TUNNEL_HANDSHAKE:
			tunnel_handshake(t);
			if (t->state == TUNNEL_HANDSHAKE)
				return;
			continue;
		case TUNNEL_REQUEST:
			tunnel_read_request(t);
			if (t->state == TUNNEL_REQUEST)
				return;
			continue;
		case TUNNEL_CONNECTING:
			if (!t->upstream.writable)
				return;
			tunnel_connected(t);
			continue;
		case TUNNEL_UPSTREAM_TLS:
			ws_upstream_handshake(t);
			if (t->state == TUNNEL_UPSTREAM_TLS)
				return;
			continue;
		case TUNNEL_REFUSING:
			if (relay_pump(t, &reason) < 0 ||
			    (t->down.shut && ((t->ws != NULL &&
			    t->ws->close_done && t->up.shut) ||
			    tunnel_linger(t) != RELAY_AGAIN)))
				tunnel_close(t, tunnel_refusal(t));
			return;
		case TUNNEL_RELAY:
			rc = relay_pump(t, &reason);
			/* A WebSocket that ended flushes its close frame. */
			if (rc >= 0 && t->state != TUNNEL_RELAY)
				continue;
			if (rc < 0 || rc == 2) {
				tunnel_close(t, reason);
				return;
			}
			if (rc == 1) {
				/* Budget spent: come back after the others. */
				event_active(t->client.ev, 0, 0);
			}
			if (t->state == TUNNEL_RELAY && gw->conf->idle_timeout)
				t->last_active = time(NULL);
			return;
		case TUNNEL_CLOSED:
			return;
		}
	}
}

static void
tunnel_event(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel		*t = arg;
	struct relay_end	*e;

	e = fd == t->client.fd ? &t->client : &t->upstream;
	if (what & EV_READ)
		e->readable = 1;
	if (what & EV_WRITE)
		e->writable = 1;
	tunnel_advance(t);
}

static void
tunnel_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel	*t = arg;
	time_t		 idle;

	switch (t->state) {
	case TUNNEL_HANDSHAKE:
		metrics_refusal(REFUSE_TIMEOUT);
		tunnel_close(t, "TLS handshake timeout");
		break;
	case TUNNEL_REQUEST:
		tunnel_refuse(t, REFUSE_TIMEOUT, "request timeout");
		break;
	case TUNNEL_CONNECTING:
		session_detach(t);
		tunnel_refuse(t, REFUSE_UPSTREAM_TIMEOUT,
		    "upstream connect timeout");
		break;
	case TUNNEL_UPSTREAM_TLS:
		session_detach(t);
		tunnel_refuse(t, REFUSE_UPSTREAM_TIMEOUT,
		    "the guest's SPICE TLS handshake timed out");
		break;
	case TUNNEL_RELAY:
		idle = time(NULL) - t->last_active;
		if (idle >= (time_t)gw->conf->idle_timeout)
			tunnel_close(t, "idle timeout");
		else
			tunnel_set_timer(t, gw->conf->idle_timeout -
			    (unsigned int)idle);
		break;
	case TUNNEL_REFUSING:
		tunnel_close(t, tunnel_refusal(t));
		break;
	case TUNNEL_CLOSED:
		break;
	}
}

static void
tunnel_log(struct tunnel *t, const char *reason)
{
	char	peer[NETADDR_STRLEN], up[NETADDR_STRLEN], session[24];
	char	worker[24] = "";

	netaddr_str(&t->peer.sa, peer, sizeof peer);
	if (t->target.sa.sa_family != 0)
		netaddr_str(&t->target.sa, up, sizeof up);
	else
		strlcpy(up, "-", sizeof up);
	if (t->user[0] != '\0')
		snprintf(session, sizeof session, "%016llx",
		    (unsigned long long)t->session_id);
	else
		strlcpy(session, "-", sizeof session);
	/* One worker logs as before. */
	if (shared.nworkers > 1)
		snprintf(worker, sizeof worker, " worker=%u", gw->id);
	log_info("tunnel %llu %s: listener=%s peer=%s session=%s user=%s "
	    "upstream=%s up=%llu down=%llu duration=%.3fs%s",
	    (unsigned long long)t->id, reason, listener_name(t->kind), peer,
	    session, t->user[0] != '\0' ? t->user : "-", up,
	    (unsigned long long)t->up.bytes, (unsigned long long)t->down.bytes,
	    timespec_since(&t->started), worker);
}

/* Tears the tunnel down now and frees it from the loop later. */
void
tunnel_close(struct tunnel *t, const char *reason)
{
	if (t->state == TUNNEL_CLOSED)
		return;
	tunnel_log(t, reason);
	metrics_tunnel_closed(t);
	if (t->ws != NULL && t->state == TUNNEL_RELAY)
		ws_goodbye(t, reason);
	if (t->client.ev != NULL)
		event_free(t->client.ev);
	if (t->upstream.ev != NULL)
		event_free(t->upstream.ev);
	t->client.ev = t->upstream.ev = NULL;
	if (t->timer != NULL)
		evtimer_del(t->timer);
	if (t->client.ssl != NULL) {
		SSL_free(t->client.ssl);
		t->client.ssl = NULL;
	}
	if (t->upstream.ssl != NULL) {
		SSL_free(t->upstream.ssl);
		t->upstream.ssl = NULL;
	}
	if (t->client.fd != -1)
		close(t->client.fd);
	if (t->upstream.fd != -1)
		close(t->upstream.fd);
	t->client.fd = t->upstream.fd = -1;
	relay_dir_release(&t->up);
	relay_dir_release(&t->down);
	session_detach(t);
	pending_remove(t);
	source_put(t->source);
	t->source = NULL;
	t->state = TUNNEL_CLOSED;
	TAILQ_REMOVE(&gw->tunnels, t, entry);
	gw->ntunnels--;
	__atomic_sub_fetch(&shared.ntunnels, 1, __ATOMIC_RELAXED);
	TAILQ_INSERT_TAIL(&gw->reap, t, entry);
	event_active(gw->reap_ev, EV_TIMEOUT, 1);
}

void
tunnel_reap(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel	*t;

	while ((t = TAILQ_FIRST(&gw->reap)) != NULL) {
		TAILQ_REMOVE(&gw->reap, t, entry);
		if (t->timer != NULL)
			event_free(t->timer);
		ws_free(t);
		free(t->refusal);
		free(t);
	}
	/* Worker 0 holds the signals and the control socket till the last. */
	if (gw->draining && gw->ntunnels == 0 &&
	    (gw->id != 0 || worker_others_stopped()))
		event_base_loopexit(gw->base, NULL);
}
