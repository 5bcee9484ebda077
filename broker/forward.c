/* SPDX-License-Identifier: ISC */
/*
 * A standby serves the whole API by forwarding: each request it does not
 * answer itself (api_gate) goes over HTTPS to the leader's advertised URL,
 * and the leader's answer comes back to the client, streamed ones (the
 * event stream, audit export) piece by piece as they arrive. The leader
 * still does all the work; a load balancer may send anyone anywhere.
 *
 * The leader learns the client's address from a Paprika-Forwarded header
 * that the standby signs with a key every broker of the deployment derives
 * from its ticket keys (forward-header.c); the leader (forward-leader.c)
 * trusts the address only when the MAC checks out and the header is at
 * most FORWARD_SKEW seconds old. A forwarded request is never forwarded again: a broker that does
 * not lead refuses one.
 *
 * A login's password is checked where the login arrives (api-login.c):
 * the standby forwards it with its verdict in a Paprika-Verified header
 * (forward.h), signed the same way and bound to the body it sends and to
 * the Paprika-Forwarded header, and the leader takes the verdict in place
 * of a check of its own (forward_verdict_accept).
 *
 * Each forward has its own connection to the leader (TLS verified against
 * cluster_ca and the leader's name), a connect deadline, a stall timeout
 * longer than the longest hold the leader makes a request wait, and a cap
 * on forwards at once (max_forwards). One teardown path: forward_reap,
 * run from the loop, never from inside evhttp's callbacks.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "broker.h"
#include "encode.h"
#include "forwardpriv.h"
#include "http.h"
#include "log.h"
#include "sql.h"
#include "tls.h"

/* Seconds to a TLS session with the leader. */
#define FORWARD_CONNECT_SECONDS	5
/*
 * Seconds the leader's answer may stall: more than the longest a request
 * is held there (a connect's wait=, a failed login's delay: 60 s each)
 * and than an event stream's heartbeat.
 */
#define FORWARD_STALL_SECONDS	90
/* A whole answer held in memory; longer ones stream. */
#define FORWARD_BUFFER_MAX	(1024 * 1024)
/* Bytes a slow client may leave unsent before the leader is paused. */
#define FORWARD_UNSENT_MAX	(256 * 1024)
#define FORWARD_HEADERS_MAX	(16 * 1024)
/* Seconds a probe of the leader's health may take, all of it. */
#define FORWARD_PROBE_SECONDS	2
/* The most of the leader's health answer a probe reads. */
#define FORWARD_PROBE_MAX	(16 * 1024)

/* A verdict carries what auth_check found, whole. */
_Static_assert(VERIFIED_NAME_MAX == AUTH_NAME_MAX, "VERIFIED_NAME_MAX");
_Static_assert(VERIFIED_GROUPS == AUTH_GROUPS_MAX, "VERIFIED_GROUPS");

/* The request headers the leader reads, sent on as they came. */
static const char *const forward_request_headers[] = {
	"Authorization", "Cookie", "Content-Type", "Accept",
	"X-Paprika-Request", "User-Agent", NULL
};

/* The answer's headers clients use (Content-Type travels on its own). */
static const char *const forward_answer_headers[] = {
	"Set-Cookie", "Retry-After", "Content-Disposition", "Cache-Control",
	"Location", "WWW-Authenticate", "Allow", "X-Accel-Buffering", NULL
};

enum forward_result {
	FORWARD_RELAYED,	/* the leader answered */
	FORWARD_UNREACHABLE,	/* no answer from the leader: 503 */
	FORWARD_BROKEN,		/* cut short after the answer began */
	FORWARD_GONE,		/* the client left first */
	FORWARD_BUSY,		/* over max_forwards: 503 */
	FORWARD_NRESULTS
};

static const char *const forward_result_names[] = {
	"relayed", "unreachable", "broken", "client_gone", "busy"
};

struct forward {
	struct http_req		*req;		/* held */
	struct evhttp_connection *evcon;
	struct evhttp_request	*up;		/* NULL once evhttp let go */
	struct event		*deadline;	/* the connect deadline */
	struct event		*reaper;
	struct event		*pauser;
	struct bufferevent	*bev;		/* evcon's */
	struct evbuffer		*body;		/* a buffered answer */
	char			 leader[256];
	char			 why[128];	/* the failure, for the log */
	char			 type[128];	/* a buffered answer's */
	int			 status;
	int			 handshook;
	int			 answered;	/* headers came */
	int			 streaming;
	int			 done;		/* the answer is whole */
	int			 paused;
	int			 probe;		/* of the leader's health;
						 * req is NULL */
	size_t			 unsent;
	enum forward_result	 result;
	TAILQ_ENTRY(forward)	 entry;
};

static struct {
	SSL_CTX			*ctx;		/* NULL: no forwarding */
	struct evdns_base	*dns;
	int			 ssl_index;
	unsigned		 active;
	TAILQ_HEAD(, forward)	 all;
	unsigned long long	 results[FORWARD_NRESULTS];
} fwd = { .ssl_index = -1, .all = TAILQ_HEAD_INITIALIZER(fwd.all) };


int
forward_init(const struct broker_config *c, char *err, size_t errlen)
{
	char	why[512];

	/* Only brokers sharing a database have a leader to forward to. */
	if (c->database == NULL || sql_url_path(conf_database(c)) != NULL)
		return 0;
	if ((fwd.ctx = tls_client_ctx_new(c->cluster_ca, why,
	    sizeof(why))) == NULL) {
		log_warnx("standbys will not forward to the leader: cannot "
		    "read cluster_ca: %s", why);
		return 0;
	}
	SSL_CTX_set_options(fwd.ctx, SSL_OP_CLEANSE_PLAINTEXT);
	if ((fwd.ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
	    NULL)) == -1) {
		snprintf(err, errlen, "cannot set up forwarding: %s",
		    tls_error());
		return -1;
	}
	return 0;
}

int
forward_possible(void)
{
	const char	*url = cluster_leader();

	return fwd.ctx != NULL && strncmp(url, "https://", 8) == 0;
}

/* Why the leader gave no answer, in words, into f->why. */
static void
forward_why(struct forward *f, const char *why)
{
	unsigned long	 e;
	const char	*reason;
	char		 words[96];

	/* why may be f->why itself. */
	strlcpy(words, why, sizeof(words));
	/* A certificate that does not verify says so. */
	if (f->bev != NULL && (e = bufferevent_get_openssl_error(f->bev)) != 0 &&
	    (reason = ERR_reason_error_string(e)) != NULL)
		snprintf(f->why, sizeof(f->why), "TLS: %s", reason);
	else if (!f->handshook && !f->answered)
		snprintf(f->why, sizeof(f->why), "cannot connect (%s)", words);
	else
		strlcpy(f->why, words, sizeof(f->why));
}

static void
forward_schedule_reap(struct forward *f)
{
	event_active(f->reaper, EV_TIMEOUT, 0);
}

/* The one teardown: answers what is unanswered, logs, frees. */
static void
forward_reap(evutil_socket_t fd, short ev, void *arg)
{
	struct forward	*f = arg;
	struct http_req	*req = f->req;
	char		 retry[16], words[160];

	(void)fd;
	(void)ev;
	if (f->bev != NULL)
		SSL_set_ex_data(bufferevent_openssl_get_ssl(f->bev),
		    fwd.ssl_index, NULL);
	/* Frees a request still under way without calling back. */
	if (f->evcon != NULL)
		evhttp_connection_free(f->evcon);
	f->evcon = NULL;
	f->bev = NULL;
	f->up = NULL;
	if (f->probe) {
		forward_reach_probed(f->leader, f->result == FORWARD_RELAYED &&
		    f->done ? f->status : 0, evbuffer_pullup(f->body, -1),
		    evbuffer_get_length(f->body), f->why);
		goto free;
	}
	if (f->result == FORWARD_RELAYED && !f->done) {
		f->result = http_req_gone(req) ? FORWARD_GONE : FORWARD_BROKEN;
		strlcpy(f->why, "the answer stopped short", sizeof(f->why));
	}
	if (f->result == FORWARD_RELAYED && f->streaming)
		http_reply_end(req, 1);
	else if (f->streaming)
		http_reply_end(req, 0);
	else if (f->result == FORWARD_RELAYED) {
		size_t	 len = evbuffer_get_length(f->body);
		void	*data = evbuffer_pullup(f->body, -1);

		http_reply_data(req, f->status, f->type[0] != '\0' ?
		    f->type : NULL, data, len, NULL);
		/* A login's token, a connection's SPICE password. */
		if (data != NULL)
			explicit_bzero(data, len);
	} else if (f->result == FORWARD_GONE || f->answered) {
		/* Half an answer is no answer: the client sees it cut. */
		http_reply_error(req, 502, "bad_gateway", "the leading broker's "
		    "answer was cut short");
	} else {
		snprintf(retry, sizeof(retry), "%u", broker->conf->lease_time);
		http_add_header(req, "Retry-After", retry);
		http_reply_error(req, 503, "standby", "this broker stands by "
		    "and cannot reach the leading broker %s (%s); try again",
		    f->leader, f->why[0] != '\0' ? f->why : "no answer");
	}
	if (f->result == FORWARD_GONE)
		log_debug("forward: %s %s to %s: the client left", req->peer_str,
		    http_method_str(req->method), f->leader);
	else if (f->result != FORWARD_RELAYED)
		log_warnx("forward: %s %s to %s: %s: %s", req->peer_str,
		    http_method_str(req->method), f->leader,
		    forward_result_names[f->result], f->why);
	/* What the health check says for the next few seconds; a stream
	 * cut short says nothing either way. */
	if (f->result == FORWARD_RELAYED)
		forward_reach_note(f->leader, 1, "");
	else if (f->result == FORWARD_UNREACHABLE) {
		snprintf(words, sizeof(words), "is unreachable: %s", f->why);
		forward_reach_note(f->leader, 0, words);
	}
	fwd.results[f->result]++;
	fwd.active--;
	http_req_release(req);
free:
	TAILQ_REMOVE(&fwd.all, f, entry);
	evbuffer_free(f->body);
	event_free(f->deadline);
	event_free(f->reaper);
	event_free(f->pauser);
	free(f);
}

static void
forward_fail(struct forward *f, enum forward_result r, const char *why)
{
	if (f->result == FORWARD_RELAYED) {
		f->result = r;
		if (r == FORWARD_UNREACHABLE || r == FORWARD_BROKEN)
			forward_why(f, why);
	}
	forward_schedule_reap(f);
}

static void
forward_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct forward	*f = arg;

	(void)fd;
	(void)ev;
	if (f->probe && !f->done)
		forward_fail(f, FORWARD_UNREACHABLE, f->handshook ? "no "
		    "answer within 2 s" : "no TLS session within 2 s");
	else if (!f->handshook && !f->answered)
		forward_fail(f, FORWARD_UNREACHABLE, "no TLS session within "
		    "5 s");
}

static void
forward_ssl_info(const SSL *ssl, int where, int ret)
{
	struct forward	*f;
	int		 fd, on = 1;

	(void)ret;
	/* The request and its body leave as separate records: without
	 * this, the second waits for the leader's delayed ACK (40 ms). */
	if ((where & SSL_CB_HANDSHAKE_START) && (fd = SSL_get_fd(ssl)) != -1)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((where & SSL_CB_HANDSHAKE_DONE) &&
	    (f = SSL_get_ex_data(ssl, fwd.ssl_index)) != NULL)
		f->handshook = 1;
}

static void
forward_copy_headers(struct evkeyvalq *from, struct evkeyvalq *to,
    const char *const *names)
{
	struct evkeyval	*kv;
	size_t		 i;

	TAILQ_FOREACH(kv, from, next)
		for (i = 0; names[i] != NULL; i++)
			if (strcasecmp(kv->key, names[i]) == 0)
				evhttp_add_header(to, names[i], kv->value);
}

/* The client went away from a streamed answer (from its close callback:
 * only arrange the teardown). */
static void
forward_gone(void *arg)
{
	struct forward	*f = arg;

	forward_fail(f, FORWARD_GONE, "");
}

/* A streamed piece reached the client: the leader may send more. */
static void
forward_sent(void *arg)
{
	struct forward	*f = arg;

	f->unsent = 0;
	if (f->paused && f->bev != NULL && !f->done) {
		f->paused = 0;
		bufferevent_enable(f->bev, EV_READ);
		/* What is already decrypted waits for no new bytes. */
		bufferevent_trigger(f->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
	}
}

static int
forward_header_cb(struct evhttp_request *up, void *arg)
{
	struct forward		*f = arg;
	struct evkeyvalq	*in = evhttp_request_get_input_headers(up);
	const char		*te, *cl, *type;
	const char		*errstr = NULL;
	long long		 len = -1;

	f->answered = 1;
	f->status = evhttp_request_get_response_code(up);
	/* A probe's answer is short and read whole. */
	if (f->probe)
		return 0;
	if (http_req_gone(f->req)) {
		forward_fail(f, FORWARD_GONE, "");
		return -1;
	}
	type = evhttp_find_header(in, "Content-Type");
	te = evhttp_find_header(in, "Transfer-Encoding");
	if ((cl = evhttp_find_header(in, "Content-Length")) != NULL)
		len = strtonum(cl, 0, INT64_MAX, &errstr);
	if (type != NULL && strlen(type) < sizeof(f->type))
		strlcpy(f->type, type, sizeof(f->type));
	f->streaming = f->req->method != EVHTTP_REQ_HEAD &&
	    f->status != 204 && f->status != 304 &&
	    ((te != NULL && strcasecmp(te, "chunked") == 0) || len < 0 ||
	    errstr != NULL || len > FORWARD_BUFFER_MAX);
	if (f->streaming) {
		forward_copy_headers(in, evhttp_request_get_output_headers(
		    f->req->ev), forward_answer_headers);
		if (http_reply_start(f->req, f->status, type, forward_gone,
		    f) == -1) {
			f->streaming = 0;
			forward_fail(f, FORWARD_GONE, "");
			return -1;
		}
	}
	return 0;
}

/* Pauses the leader's connection outside evhttp's own read callback,
 * which would enable reading again on its way out. */
static void
forward_pause(evutil_socket_t fd, short ev, void *arg)
{
	struct forward	*f = arg;

	(void)fd;
	(void)ev;
	if (f->paused && f->bev != NULL)
		bufferevent_disable(f->bev, EV_READ);
}

static void
forward_chunk_cb(struct evhttp_request *up, void *arg)
{
	struct forward	*f = arg;
	struct evbuffer	*in = evhttp_request_get_input_buffer(up);
	size_t		 len = evbuffer_get_length(in);
	size_t		 max = f->probe ? FORWARD_PROBE_MAX : FORWARD_BUFFER_MAX;

	if (!f->streaming) {
		if (evbuffer_get_length(f->body) + len > max) {
			forward_fail(f, FORWARD_BROKEN, "answer over its "
			    "Content-Length");
			return;
		}
		evbuffer_add_buffer(f->body, in);
		return;
	}
	if (http_reply_chunk(f->req, in, forward_sent) == -1) {
		forward_fail(f, FORWARD_GONE, "");
		return;
	}
	f->unsent += len;
	if (f->unsent > FORWARD_UNSENT_MAX && !f->paused) {
		f->paused = 1;
		event_active(f->pauser, EV_TIMEOUT, 0);
	}
}

static void
forward_error_cb(enum evhttp_request_error err, void *arg)
{
	struct forward	*f = arg;
	const char	*why;

	switch (err) {
	case EVREQ_HTTP_TIMEOUT:
		why = "timed out";
		break;
	case EVREQ_HTTP_EOF:
		why = "the connection closed";
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		why = "an invalid answer";
		break;
	case EVREQ_HTTP_BUFFER_ERROR:
		why = "the connection failed";
		break;
	case EVREQ_HTTP_DATA_TOO_LONG:
		why = "an answer over the limits";
		break;
	default:
		why = "the request failed";
		break;
	}
	f->up = NULL;
	forward_fail(f, f->answered ? FORWARD_BROKEN : FORWARD_UNREACHABLE,
	    why);
}

static void
forward_done_cb(struct evhttp_request *up, void *arg)
{
	struct forward	*f = arg;
	struct evbuffer	*in;
	size_t		 max = f->probe ? FORWARD_PROBE_MAX : FORWARD_BUFFER_MAX;

	f->up = NULL;
	if (up == NULL || evhttp_request_get_response_code(up) == 0) {
		forward_fail(f, f->answered ? FORWARD_BROKEN :
		    FORWARD_UNREACHABLE, "refused, or closed without an answer");
		return;
	}
	in = evhttp_request_get_input_buffer(up);
	if (!f->streaming) {
		if (evbuffer_get_length(f->body) + evbuffer_get_length(in) >
		    max) {
			forward_fail(f, FORWARD_BROKEN, "answer too long");
			return;
		}
		evbuffer_add_buffer(f->body, in);
		/* Only a whole answer brings its headers (a cookie). */
		if (f->req != NULL && !http_req_gone(f->req))
			forward_copy_headers(evhttp_request_get_input_headers(up),
			    evhttp_request_get_output_headers(f->req->ev),
			    forward_answer_headers);
	} else if (evbuffer_get_length(in) > 0)
		http_reply_chunk(f->req, in, NULL);
	f->done = 1;
	forward_schedule_reap(f);
}

/* The request body, copied where its bytes are wiped once sent. */
static void
forward_wipe_body(const void *data, size_t len, void *arg)
{
	(void)arg;
	explicit_bzero((void *)data, len);
	free((void *)data);
}

/* Sends the request's body on, or body (len bytes) where it is given
 * (a login the standby parsed). */
static int
forward_add_body(struct http_req *req, const void *body, size_t len,
    struct evbuffer *out)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req->ev);
	unsigned char	*data, *copy;

	if (body == NULL)
		len = evbuffer_get_length(in);
	if (len == 0)
		return 0;
	if ((copy = malloc(len)) == NULL)
		return -1;
	if (body != NULL)
		memcpy(copy, body, len);
	else {
		data = evbuffer_pullup(in, -1);
		memcpy(copy, data, len);
		/* A login's body holds a password. */
		explicit_bzero(data, len);
		evbuffer_drain(in, len);
	}
	if (evbuffer_add_reference(out, copy, len, forward_wipe_body,
	    NULL) == -1) {
		forward_wipe_body(copy, len, NULL);
		return -1;
	}
	return 0;
}

/* Sets up f's connection to the leader at url: 0, or -1 with f->why. */
static int
forward_connect(struct forward *f, const char *url)
{
	struct evhttp_uri	*uri = NULL;
	const char		*host;
	char			 name[256];
	SSL			*ssl = NULL;
	int			 port, ret = -1;
	size_t			 n;

	if ((uri = evhttp_uri_parse(url)) == NULL ||
	    (host = evhttp_uri_get_host(uri)) == NULL || *host == '\0') {
		strlcpy(f->why, "its advertised URL is not a URL", sizeof(f->why));
		goto out;
	}
	/* A literal IPv6 address comes in brackets. */
	n = strlen(host);
	if (host[0] == '[' && n > 2 && host[n - 1] == ']')
		snprintf(name, sizeof(name), "%.*s", (int)(n - 2), host + 1);
	else
		strlcpy(name, host, sizeof(name));
	if ((port = evhttp_uri_get_port(uri)) == -1)
		port = 443;
	if ((ssl = SSL_new(fwd.ctx)) == NULL)
		goto tls;
	/* The leader's certificate must name what it advertises. */
	if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) != 1) {
		if (SSL_set1_host(ssl, name) != 1 ||
		    SSL_set_tlsext_host_name(ssl, name) != 1)
			goto tls;
	}
	SSL_set_ex_data(ssl, fwd.ssl_index, f);
	SSL_set_info_callback(ssl, forward_ssl_info);
	f->bev = bufferevent_openssl_socket_new(broker->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (f->bev == NULL)
		goto tls;
	ssl = NULL;	/* the bufferevent's */
	bufferevent_openssl_set_allow_dirty_shutdown(f->bev, 1);
	if (fwd.dns == NULL)
		fwd.dns = evdns_base_new(broker->base,
		    EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if ((f->evcon = evhttp_connection_base_bufferevent_new(broker->base,
	    fwd.dns, f->bev, name, (unsigned short)port)) == NULL) {
		bufferevent_free(f->bev);
		f->bev = NULL;
		strlcpy(f->why, "out of memory", sizeof(f->why));
		goto out;
	}
	evhttp_connection_set_timeout(f->evcon, FORWARD_STALL_SECONDS);
	evhttp_connection_set_max_headers_size(f->evcon, FORWARD_HEADERS_MAX);
	ret = 0;
	goto out;
tls:
	snprintf(f->why, sizeof(f->why), "TLS: %s", tls_error());
out:
	SSL_free(ssl);
	evhttp_uri_free(uri);
	return ret;
}

/*
 * A forward of req to the leader at url, or a probe of its health when req
 * is NULL; held, counted and listed: NULL when out of memory (nothing
 * held).
 */
static struct forward *
forward_new(struct http_req *req, const char *url)
{
	struct forward	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->req = req;
	f->probe = req == NULL;
	strlcpy(f->leader, url, sizeof(f->leader));
	if ((f->body = evbuffer_new()) == NULL ||
	    (f->deadline = evtimer_new(broker->base, forward_deadline,
	    f)) == NULL ||
	    (f->reaper = event_new(broker->base, -1, 0, forward_reap,
	    f)) == NULL ||
	    (f->pauser = event_new(broker->base, -1, 0, forward_pause,
	    f)) == NULL) {
		if (f->body != NULL)
			evbuffer_free(f->body);
		if (f->deadline != NULL)
			event_free(f->deadline);
		if (f->reaper != NULL)
			event_free(f->reaper);
		free(f);
		return NULL;
	}
	if (req != NULL) {
		http_req_hold(req);
		fwd.active++;
	}
	TAILQ_INSERT_TAIL(&fwd.all, f, entry);
	return f;
}

/*
 * Opens f's request to the leader, with the Paprika-Forwarded header for
 * addr at now (mac made with key) and the Host and Connection ones: 0, or
 * -1 having arranged f's teardown.
 */
static int
forward_open(struct forward *f, const char *addr, long long now,
    const struct ticket_key *key, const char *mac)
{
	struct evkeyvalq	*out;
	char			 hdr[FORWARD_HEADER_MAX + 1], host[300];

	if (forward_connect(f, f->leader) == -1 ||
	    (f->up = evhttp_request_new(forward_done_cb, f)) == NULL) {
		if (f->why[0] == '\0')
			strlcpy(f->why, "out of memory", sizeof(f->why));
		forward_fail(f, FORWARD_UNREACHABLE, f->why);
		return -1;
	}
	evhttp_request_set_header_cb(f->up, forward_header_cb);
	evhttp_request_set_chunked_cb(f->up, forward_chunk_cb);
	evhttp_request_set_error_cb(f->up, forward_error_cb);
	out = evhttp_request_get_output_headers(f->up);
	snprintf(hdr, sizeof(hdr), "for=%s; ts=%lld; key=%u; mac=%s", addr,
	    now, key->id, mac);
	evhttp_add_header(out, FORWARD_HEADER, hdr);
	snprintf(host, sizeof(host), "%s", f->leader + 8);
	host[strcspn(host, "/")] = '\0';
	evhttp_add_header(out, "Host", host);
	evhttp_add_header(out, "Connection", "close");
	return 0;
}

/* Sends f's request, opened, with seconds to a TLS session (a probe: to
 * the whole answer). */
static void
forward_go(struct forward *f, int method, const char *target,
    unsigned seconds)
{
	struct timeval	tv = { seconds, 0 };

	evtimer_add(f->deadline, &tv);
	if (evhttp_make_request(f->evcon, f->up, method, target) == -1) {
		/* Whether evhttp freed it depends on where it failed (no
		 * socket, EMFILE): never touch it again. */
		f->up = NULL;
		forward_fail(f, FORWARD_UNREACHABLE, "cannot send the request");
	}
}

/*
 * Forwards req to the leader, with vd (its MAC made here) in a
 * Paprika-Verified header and body in place of the request's own when
 * given: 0 when answered or under way, -1 when it cannot (no reply).
 */
static int
forward_send(struct http_req *req, struct forward_verdict *vd,
    const char *body, size_t bodylen)
{
	struct forward		*f;
	const struct ticket_key	*key;
	char			 target[FORWARD_TARGET_MAX];
	char			 mac[FORWARD_MAC_HEX + 1];
	char			 vhdr[VERIFIED_HEADER_MAX + 1];
	long long		 now = time(NULL);
	int			 ret = -1;

	if (!forward_possible())
		return -1;
	if (fwd.active >= broker->conf->max_forwards) {
		fwd.results[FORWARD_BUSY]++;
		http_add_header(req, "Retry-After", "1");
		http_reply_error(req, 503, "overloaded", "this broker forwards "
		    "%u requests to the leading broker already, the most it "
		    "may (max_forwards); try again", fwd.active);
		return 0;
	}
	if (forward_target(req, target, sizeof(target)) == -1) {
		http_reply_error(req, 414, "uri_too_long", "the path and "
		    "query are too long to forward");
		return 0;
	}
	if ((key = keyring_signing(&broker->keys)) == NULL ||
	    forward_mac(key, req->peer_str, now, http_method_str(req->method),
	    target, mac, sizeof(mac)) == -1)
		return -1;
	if (vd != NULL) {
		vd->ts = now;
		vd->key_id = key->id;
		forward_body_digest(body, bodylen, vd->body, sizeof(vd->body));
		if (forward_verdict_mac(key, vd, req->peer_str, now, vd->mac,
		    sizeof(vd->mac)) == -1 ||
		    forward_verdict_format(vd, vhdr, sizeof(vhdr)) == -1)
			goto out;
	}
	if ((f = forward_new(req, cluster_leader())) == NULL)
		goto out;
	/* From here every end goes through forward_reap. */
	ret = 0;
	if (forward_open(f, req->peer_str, now, key, mac) == -1)
		goto out;
	forward_copy_headers(evhttp_request_get_input_headers(req->ev),
	    evhttp_request_get_output_headers(f->up), forward_request_headers);
	if (vd != NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(f->up),
		    VERIFIED_HEADER, vhdr);
		forward_counts.v_sent++;
	}
	if (forward_add_body(req, body, bodylen,
	    evhttp_request_get_output_buffer(f->up)) == -1) {
		evhttp_request_free(f->up);
		f->up = NULL;
		forward_fail(f, FORWARD_UNREACHABLE, "out of memory");
		goto out;
	}
	forward_go(f, req->method, target, FORWARD_CONNECT_SECONDS);
out:
	explicit_bzero(mac, sizeof(mac));
	explicit_bzero(vhdr, sizeof(vhdr));
	return ret;
}

int
forward_request(struct http_req *req)
{
	return forward_send(req, NULL, NULL, 0);
}

int
forward_login(struct http_req *req, struct forward_verdict *vd)
{
	char	*text;
	size_t	 len;
	int	 ret;

	/* The body is parsed and its bytes wiped: it goes as written here,
	 * and the verdict names the digest of what goes. */
	if ((text = json_dumps(req->body, JSON_COMPACT)) == NULL)
		return -1;
	len = strlen(text);
	ret = forward_send(req, vd, text, len);
	if (ret == 0 && vd == NULL)
		forward_note_unchecked();
	explicit_bzero(text, len);
	free(text);
	return ret;
}

int
forward_probe(const char *addr)
{
	static const char	 target[] = "/api/v1/health";
	struct forward		*f;
	const struct ticket_key	*key;
	char			 mac[FORWARD_MAC_HEX + 1];
	long long		 now = time(NULL);

	if ((key = keyring_signing(&broker->keys)) == NULL ||
	    forward_mac(key, addr, now, "GET", target, mac,
	    sizeof(mac)) == -1 || (f = forward_new(NULL, cluster_leader())) ==
	    NULL)
		return -1;
	/* Outside max_forwards: a standby forwarding its most still answers
	 * its health checks. A probe that fails from here on ends in
	 * forward_reap like any forward. */
	if (forward_open(f, addr, now, key, mac) == 0)
		forward_go(f, EVHTTP_REQ_GET, target, FORWARD_PROBE_SECONDS);
	explicit_bzero(mac, sizeof(mac));
	return 0;
}

void
forward_shutdown(void)
{
	struct forward	*f;

	/* The server is going: each forward answers (or not) and frees. */
	while ((f = TAILQ_FIRST(&fwd.all)) != NULL) {
		forward_fail(f, FORWARD_UNREACHABLE, "the broker stops");
		event_del(f->reaper);
		forward_reap(-1, 0, f);
	}
	if (fwd.dns != NULL)
		evdns_base_free(fwd.dns, 0);
	fwd.dns = NULL;
	SSL_CTX_free(fwd.ctx);
	fwd.ctx = NULL;
	/* Only a probe has waiters, and it answered them. */
}

void
forward_metrics(struct evbuffer *b)
{
	size_t	i;

	evbuffer_add_printf(b, "# HELP paprika_broker_forwarded_requests_total "
	    "Requests a standby forwarded to the leader, by how they went.\n"
	    "# TYPE paprika_broker_forwarded_requests_total counter\n");
	for (i = 0; i < FORWARD_NRESULTS; i++)
		evbuffer_add_printf(b, "paprika_broker_forwarded_requests_total"
		    "{result=\"%s\"} %llu\n", forward_result_names[i],
		    fwd.results[i]);
	evbuffer_add_printf(b, "# HELP paprika_broker_forwarded_received_total "
	    "Forwarded requests this broker received, by whether it trusted "
	    "their %s header.\n"
	    "# TYPE paprika_broker_forwarded_received_total counter\n"
	    "paprika_broker_forwarded_received_total{result=\"accepted\"} "
	    "%llu\n"
	    "paprika_broker_forwarded_received_total{result=\"refused\"} "
	    "%llu\n", FORWARD_HEADER, forward_counts.accepted, forward_counts.refused);
	evbuffer_add_printf(b, "# HELP paprika_broker_password_checks_total "
	    "Logins whose password was checked, by where: on this broker, or "
	    "on the standby that forwarded it (its verdict accepted here).\n"
	    "# TYPE paprika_broker_password_checks_total counter\n"
	    "paprika_broker_password_checks_total{where=\"here\"} %llu\n"
	    "paprika_broker_password_checks_total{where=\"standby\"} %llu\n",
	    forward_counts.checks, forward_counts.v_accepted);
	evbuffer_add_printf(b, "# HELP paprika_broker_verdicts_total Standbys' "
	    "%s headers: sent with a login, or a login forwarded without one "
	    "(not checked here), as a standby; accepted or refused, as the "
	    "leader.\n# TYPE paprika_broker_verdicts_total counter\n"
	    "paprika_broker_verdicts_total{result=\"sent\"} %llu\n"
	    "paprika_broker_verdicts_total{result=\"unchecked\"} %llu\n"
	    "paprika_broker_verdicts_total{result=\"accepted\"} %llu\n"
	    "paprika_broker_verdicts_total{result=\"refused\"} %llu\n",
	    VERIFIED_HEADER, forward_counts.v_sent, forward_counts.v_unchecked, forward_counts.v_accepted,
	    forward_counts.v_refused);
	forward_reach_metrics(b);
	evbuffer_add_printf(b, "# HELP paprika_broker_forwards Requests being "
	    "forwarded to the leader now.\n# TYPE paprika_broker_forwards "
	    "gauge\npaprika_broker_forwards %u\n", fwd.active);
}
