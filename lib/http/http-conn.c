/* SPDX-License-Identifier: ISC */
/*
 * The HTTPS server's connections and listeners. Each accepted connection
 * gets its own bufferevent_openssl (evhttp_set_bevcb). Connections are
 * counted from the bevcb until their bufferevent is destroyed (an SSL
 * ex_data free hook, or a filter's free_context for plain HTTP): evhttp
 * 2.1 has no other hook that sees a connection that never sends a request.
 *
 * evhttp's own timeout restarts with every byte, so a client that sends a
 * header line every few seconds would hold its connection for ever. Each
 * connection therefore has a deadline of its own: request_timeout from
 * accept, and again from each reply, to a whole request. The deadline's
 * first run, right after accept, also learns the peer (the bevcb runs
 * before evhttp gives the bufferevent its socket) and counts it against
 * its source's cap. accept() failing (EMFILE) pauses every listener for a
 * second.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <uthash.h>

#include "http.h"
#include "httppriv.h"
#include "log.h"
#include "netaddr.h"

void
http_limits_defaults(struct http_limits *l)
{
	l->max_body = 64 * 1024;
	l->max_headers = 16 * 1024;
	l->timeout = 30;
	l->request_timeout = 10;
	l->max_connections = 1024;
	l->max_per_source = 128;
	l->source_prefix_v6 = 64;
}

static void
http_source_release(struct http_server *s, struct http_source *src)
{
	if (--src->conns > 0) {
		if (src->conns < s->limits.max_per_source)
			src->warned = 0;
		return;
	}
	HASH_DEL(s->sources, src);
	free(src);
}

/* Connection bookkeeping: called when the connection's bufferevent dies. */
static void
http_conn_free(void *arg)
{
	struct http_conn	*conn = arg;

	if (conn == NULL)
		return;
	if (conn->server != NULL) {
		HASH_DEL(conn->server->conns, conn);
		conn->server->counters.connections_open--;
		if (conn->source != NULL)
			http_source_release(conn->server, conn->source);
	}
	if (conn->deadline != NULL)
		event_free(conn->deadline);
	free(conn);
}

/*
 * Learns the connection's peer and counts it against its source: 0, or
 * -1 when the source is over max_per_source (the connection is not
 * counted then, and should be closed).
 */
int
http_conn_identify(struct http_server *s, struct http_conn *conn)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	struct http_source	*src;
	char			 key[NETADDR_STRLEN];
	evutil_socket_t		 fd;
	int			 on = 1;

	if (conn->identified)
		return conn->over_source ? -1 : 0;
	conn->identified = 1;
	if ((fd = bufferevent_getfd(conn->bev)) == -1)
		return 0;	/* gone already: evhttp will notice */
	/*
	 * A reply leaves as several TLS records; with Nagle's algorithm the
	 * last one waits for the client's delayed ACK of the first, about
	 * 40 ms on every request after the first on a connection.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	if (s->limits.max_per_source == 0)
		return 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	netaddr_source((struct sockaddr *)&ss, s->limits.source_prefix_v6,
	    key, sizeof key);
	HASH_FIND_STR(s->sources, key, src);
	if (src != NULL && src->conns >= s->limits.max_per_source) {
		s->counters.connections_refused_source++;
		if (!src->warned)
			log_warnx("http: %s has %u connections open, the most "
			    "one source may have (max_connections_per_source):"
			    " refusing more", key, src->conns);
		src->warned = 1;
		conn->over_source = 1;
		return -1;
	}
	if (src == NULL) {
		if ((src = calloc(1, sizeof *src)) == NULL)
			return 0;
		strlcpy(src->key, key, sizeof src->key);
		HASH_ADD_STR(s->sources, key, src);
	}
	src->conns++;
	conn->source = src;
	return 0;
}

/* Closes the connection the way evhttp's own timeout does. */
static void
http_conn_close(struct http_conn *conn)
{
	bufferevent_trigger_event(conn->bev, BEV_EVENT_READING |
	    BEV_EVENT_TIMEOUT, 0);
}

/* (Re)starts the time the connection has to send a whole request. */
static void
http_conn_arm(struct http_conn *conn)
{
	struct timeval	tv = { 0, 0 };

	tv.tv_sec = conn->server->limits.request_timeout;
	evtimer_add(conn->deadline, &tv);
}

/*
 * The deadline: at once after accept, to identify the peer; then when the
 * connection has had request_timeout without sending a whole request.
 */
static void
http_conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*conn = arg;
	struct http_server	*s = conn->server;

	(void)fd;
	(void)what;
	if (s == NULL || conn->busy)
		return;
	if (!conn->identified) {
		if (http_conn_identify(s, conn) == -1)
			http_conn_close(conn);
		else
			http_conn_arm(conn);
		return;
	}
	/* A reply still being written is evhttp's timeout's business. */
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) > 0) {
		http_conn_arm(conn);
		return;
	}
	s->counters.connections_timed_out++;
	log_debug("http: %s: closed: no whole request in %u s",
	    conn->source != NULL ? conn->source->key : "?",
	    s->limits.request_timeout);
	http_conn_close(conn);
}

void
http_conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	http_conn_free(ptr);
}

/*
 * evhttp's bevcb: a new bufferevent (no fd yet) for an accepted connection.
 * NULL makes evhttp fall back to a plain bufferevent; the generic callback
 * refuses connections it did not register here, so that fallback never
 * serves a request.
 */
struct bufferevent *
http_bevcb(struct event_base *base, void *arg)
{
	struct http_server	*s = arg;
	struct http_conn	*conn;
	struct bufferevent	*bev, *under;
	struct timeval		 now = { 0, 0 };
	SSL			*ssl;

	if ((conn = calloc(1, sizeof *conn)) == NULL)
		return NULL;
	if (s->ctx != NULL) {
		if ((ssl = SSL_new(s->ctx)) == NULL) {
			free(conn);
			return NULL;
		}
		/* 2.1.12 corrupts the stream on partial SSL writes. */
		SSL_clear_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
		/*
		 * With read-ahead OpenSSL takes more than one record off the
		 * socket (a TLS 1.3 request right behind the handshake), and
		 * 2.1.12 only reads again when the socket is readable: the
		 * request would wait for the timeout. Without it, what
		 * OpenSSL has not read stays readable on the socket.
		 */
		SSL_set_read_ahead(ssl, 0);
		/* Freeing the read buffer between records loses the bytes
		 * of a request that arrived with the last handshake record
		 * under 2.1.12: about one connection in ten stalled. */
		SSL_clear_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
		SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
		if (!SSL_set_ex_data(ssl, http_ex_index, conn)) {
			free(conn);
			SSL_free(ssl);
			return NULL;
		}
		/* From here SSL_free frees conn too. */
		bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL) {
			SSL_free(ssl);
			return NULL;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else {
		if ((under = bufferevent_socket_new(base, -1,
		    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
			free(conn);
			return NULL;
		}
		/* A pass-through filter only for its free_context hook. */
		bev = bufferevent_filter_new(under, NULL, NULL,
		    BEV_OPT_CLOSE_ON_FREE, http_conn_free, conn);
		if (bev == NULL) {
			bufferevent_free(under);
			free(conn);
			return NULL;
		}
	}
	if ((conn->deadline = evtimer_new(base, http_conn_deadline,
	    conn)) == NULL) {
		/* Frees conn with it (SSL ex_data or the filter's hook). */
		bufferevent_free(bev);
		return NULL;
	}
	conn->server = s;
	conn->bev = bev;
	evtimer_add(conn->deadline, &now);
	HASH_ADD_PTR(s->conns, bev, conn);
	s->counters.connections++;
	if (++s->counters.connections_open > s->limits.max_connections) {
		conn->refused = 1;
		s->counters.connections_refused++;
	}
	return bev;
}
void
http_backoff_done(evutil_socket_t fd, short ev, void *arg)
{
	struct http_server	*s = arg;
	size_t			 i;

	(void)fd;
	(void)ev;
	for (i = 0; i < s->nlisteners; i++)
		evconnlistener_enable(s->listeners[i]);
}

/* accept() failed (EMFILE and friends): pause accepting for a second. */
static void
http_accept_error(struct evconnlistener *l, void *arg)
{
	struct http_server	*s = arg;
	struct timeval		 tv = { 1, 0 };
	size_t			 i;

	(void)l;
	log_warn("http: accept");
	for (i = 0; i < s->nlisteners; i++)
		evconnlistener_disable(s->listeners[i]);
	evtimer_add(s->backoff, &tv);
}

/* The request's headers: one Authorization and any Cookie headers. */

/* The next request on c's connection has request_timeout from now. */
void
http_conn_replied(struct http_call *c)
{
	struct http_conn	*conn = NULL;
	struct bufferevent	*bev;

	if (c->server == NULL || c->evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(c->evcon)) == NULL)
		return;
	HASH_FIND_PTR(c->server->conns, &bev, conn);
	if (conn == NULL)
		return;
	conn->busy = 0;
	http_conn_arm(conn);
}
int
http_server_listen(struct http_server *s, const char *addr, char *err,
    size_t errlen)
{
	struct sockaddr_storage	 ss;
	struct evconnlistener	*l = NULL;
	socklen_t		 len;

	if (s->nlisteners == HTTP_LISTENERS_MAX) {
		snprintf(err, errlen, "%s: too many listeners", addr);
		return -1;
	}
	if ((len = netaddr_parse(addr, &ss)) == 0) {
		snprintf(err, errlen, "%s: expected address:port or "
		    "[v6address]:port", addr);
		return -1;
	}
	l = evconnlistener_new_bind(s->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    HTTP_BACKLOG, (struct sockaddr *)&ss, len);
	if (l == NULL) {
		snprintf(err, errlen, "listen on %s: %s", addr, strerror(errno));
		return -1;
	}
	if (evhttp_bind_listener(s->http, l) == NULL) {
		evconnlistener_free(l);
		snprintf(err, errlen, "listen on %s: out of memory", addr);
		return -1;
	}
	evconnlistener_set_error_cb(l, http_accept_error);
	s->listeners[s->nlisteners++] = l;
	return 0;
}
