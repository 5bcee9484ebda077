/* SPDX-License-Identifier: ISC */
/*
 * The broker's HTTPS server on evhttp: requests and replies. One generic
 * callback matches the route table, checks and parses JSON bodies, and
 * hands a struct http_req to the handler. Replies add the security headers
 * and write one access-log line. The connections under the requests (TLS,
 * limits, deadlines, listeners) are http-conn.c's.
 *
 * Lifetimes: a request (struct http_call, which wraps the public
 * struct http_req) is reference counted. While a handler holds it, the
 * evhttp_request may die under it (the server is freed, or evhttp drops
 * the connection); the connection's close callback then clears call->r.ev
 * and marks the call gone, so that the late reply does nothing.
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

int		http_ex_index = -1;

/* From the quick token check to a desktop's start held by ?wait=. */
const double	http_duration_bounds[HTTP_DURATION_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10
};

static void	http_call_free(struct http_call *);

const char *
http_method_str(int method)
{
	switch (method) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	default:
		return "OTHER";
	}
}

/*
 * evhttp is freeing a connection. Requests still held by handlers lose
 * their evhttp_request: evhttp either frees it right after this call or,
 * if it detached it (EOF or timeout before the reply), left it to us.
 */
static void
http_closecb(struct evhttp_connection *evcon, void *arg)
{
	struct http_server	*s = arg;
	struct http_call	*c;

	TAILQ_FOREACH(c, &s->calls, entry) {
		if (c->evcon != evcon || c->r.ev == NULL)
			continue;
		if (evhttp_request_get_connection(c->r.ev) == NULL)
			evhttp_request_free(c->r.ev);
		c->r.ev = NULL;
		c->evcon = NULL;
		c->gone = 1;
		if (c->gone_cb != NULL)
			c->gone_cb(c->stream_arg);
	}
}

static void
http_extract_credentials(struct evkeyvalq *h, const char *cookie_name,
    char *bearer, char *cookie, size_t len)
{
	struct evkeyval	*kv;

	http_bearer_value(evhttp_find_header(h, "Authorization"), bearer, len);
	if (cookie_name == NULL)
		return;
	TAILQ_FOREACH(kv, h, next) {
		if (strcasecmp(kv->key, "Cookie") == 0 &&
		    http_cookie_value(kv->value, cookie_name, cookie, len) == 0)
			return;
	}
}

static struct http_call *
http_call_new(struct http_server *s, struct evhttp_request *ev)
{
	struct http_call		*c;
	struct evhttp_connection	*evcon;
	const struct evhttp_uri		*uri;
	const struct sockaddr		*sa;
	const char			*raw, *q;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	c->refs = 1;
	c->server = s;
	TAILQ_INIT(&c->query);
	TAILQ_INSERT_TAIL(&s->calls, c, entry);
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	c->r.ev = ev;
	c->r.method = evhttp_request_get_command(ev);
	c->r.route_arg = s->route_arg;
	c->evcon = evcon = evhttp_request_get_connection(ev);
	c->r.path = "";
	strlcpy(c->r.peer_str, "?", sizeof c->r.peer_str);
	if ((sa = evhttp_connection_get_addr(evcon)) != NULL &&
	    (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
		memcpy(&c->r.peer, sa, sa->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		netaddr_host(sa, c->r.peer_str, sizeof c->r.peer_str);
	}
	uri = evhttp_request_get_evhttp_uri(ev);
	raw = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (raw == NULL)
		raw = "";
	log_printable(raw, strlen(raw), c->logpath, sizeof c->logpath);
	if (uri != NULL && (q = evhttp_uri_get_query(uri)) != NULL &&
	    evhttp_parse_query_str(q, &c->query) == -1)
		evhttp_clear_headers(&c->query);
	http_extract_credentials(evhttp_request_get_input_headers(ev),
	    s->cookie_name, c->bearer, c->cookie, sizeof c->bearer);
	if (c->bearer[0] != '\0')
		c->r.bearer = c->bearer;
	if (c->cookie[0] != '\0')
		c->r.cookie_token = c->cookie;
	return c;
}

/* The access-log line and the counters, once per request. */
static void
http_call_log(struct http_call *c, int status, size_t bytes)
{
	struct http_server	*s = c->server;
	struct http_route_stats	*rs;
	struct timespec		 now;
	long long		 ms;
	double			 secs;
	size_t			 i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (now.tv_sec - c->start.tv_sec) +
	    (now.tv_nsec - c->start.tv_nsec) / 1e9;
	ms = (long long)(secs * 1000);
	log_info("http: %s %s %s %d %zu bytes %lld ms%s", c->r.peer_str,
	    http_method_str(c->r.method), c->logpath, status, bytes, ms,
	    c->gone ? " (client gone)" : "");
	if (s == NULL)
		return;
	s->counters.requests++;
	if (status >= 200 && status < 300)
		s->counters.status_2xx++;
	else if (status >= 400 && status < 500)
		s->counters.status_4xx++;
	else if (status >= 500)
		s->counters.status_5xx++;
	if (c->route == NULL)
		return;
	rs = &s->route_stats[c->route - s->routes];
	rs->count++;
	rs->sum += secs;
	for (i = 0; i < HTTP_DURATION_BUCKETS; i++)
		if (secs <= http_duration_bounds[i]) {
			rs->bucket[i]++;
			break;
		}
}

static void
http_set_header(struct evkeyvalq *h, const char *name, const char *value)
{
	if (evhttp_find_header(h, name) == NULL)
		evhttp_add_header(h, name, value);
}

static void
http_security_headers(struct http_call *c)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(c->r.ev);

	http_set_header(h, "Cache-Control", "no-store");
	http_set_header(h, "X-Content-Type-Options", "nosniff");
	http_set_header(h, "Content-Security-Policy",
	    c->server != NULL && c->server->csp != NULL ? c->server->csp :
	    HTTP_CSP);
	http_set_header(h, "X-Frame-Options", "DENY");
	if (c->server != NULL && c->server->ctx != NULL)
		http_set_header(h, "Strict-Transport-Security", HTTP_HSTS);
}

/*
 * Plain HTTP runs through a pass-through filter (http_bevcb). A reply made
 * after its request's callback returned (a held request) lands in the
 * filter while evhttp has its writing disabled, and enabling it later does
 * not move those bytes on to the socket: the reply would never leave.
 */
static void
http_plain_flush(struct http_call *c)
{
	struct bufferevent	*bev;

	if (c->server != NULL && c->server->ctx == NULL && c->evcon != NULL &&
	    (bev = evhttp_connection_get_bufferevent(c->evcon)) != NULL)
		bufferevent_flush(bev, EV_WRITE, BEV_NORMAL);
}

/* Sends status and body (may be NULL), once; a no-op for a gone client. */
static void
http_send(struct http_call *c, int status, struct evbuffer *body)
{
	size_t	len;

	len = body != NULL ? evbuffer_get_length(body) : 0;
	if (c->r.method == EVHTTP_REQ_HEAD)
		len = 0;
	if (c->replied) {
		log_warnx("http: %s %s: second reply ignored",
		    http_method_str(c->r.method), c->logpath);
		return;
	}
	c->replied = 1;
	if (c->r.ev != NULL) {
		http_security_headers(c);
		http_conn_replied(c);
		evhttp_send_reply(c->r.ev, status, NULL, body);
		http_plain_flush(c);
		/* evhttp owns it now and frees it when written. */
		c->r.ev = NULL;
	}
	http_call_log(c, status, len);
}

static void
http_call_free(struct http_call *c)
{
	if (!c->replied && c->r.ev != NULL) {
		log_warnx("http: %s %s: released without a reply",
		    http_method_str(c->r.method), c->logpath);
		http_reply_error(&c->r, 500, "internal", "no reply");
	} else if (!c->replied)
		http_call_log(c, 0, 0);
	else if (c->r.ev != NULL)
		http_reply_end(&c->r, 0);	/* a stream left open */
	if (c->server != NULL)
		TAILQ_REMOVE(&c->server->calls, c, entry);
	if (c->r.gate_free != NULL)
		c->r.gate_free(c->r.gate_data);
	json_decref(c->r.body);	/* zeroed by http_json_free */
	evhttp_clear_headers(&c->query);
	explicit_bzero(c->bearer, sizeof c->bearer);
	explicit_bzero(c->cookie, sizeof c->cookie);
	free(c->path);
	free(c);
}

void
http_req_hold(struct http_req *req)
{
	((struct http_call *)req)->refs++;
}

void
http_req_release(struct http_req *req)
{
	struct http_call	*c = (struct http_call *)req;

	if (req == NULL || --c->refs > 0)
		return;
	http_call_free(c);
}

int
http_req_gone(const struct http_req *req)
{
	const struct http_call	*c = (const struct http_call *)req;

	return c->gone || c->r.ev == NULL;
}

void
http_add_header(struct http_req *req, const char *name, const char *value)
{
	if (req->ev != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req->ev),
		    name, value);
}

const char *
http_query(struct http_req *req, const char *name)
{
	struct http_call	*c = (struct http_call *)req;
	const char		*v;

	if ((v = evhttp_find_header(&c->query, name)) == NULL ||
	    strlen(v) > HTTP_TOKEN_MAX)
		return NULL;
	return v;
}

void
http_reply_data(struct http_req *req, int status, const char *type,
    const void *data, size_t len, const char *const *headers)
{
	struct http_call	*c = (struct http_call *)req;
	struct evbuffer		*buf = NULL;
	const char		*colon, *v;
	char			 name[64];
	size_t			 i, n;

	if (req->ev != NULL && !c->replied) {
		for (i = 0; headers != NULL && headers[i] != NULL; i++) {
			if ((colon = strchr(headers[i], ':')) == NULL ||
			    (n = colon - headers[i]) == 0 || n >= sizeof name)
				continue;
			memcpy(name, headers[i], n);
			name[n] = '\0';
			for (v = colon + 1; *v == ' '; v++)
				;
			http_add_header(req, name, v);
		}
		if (type != NULL)
			http_add_header(req, "Content-Type", type);
		if (len > 0 && ((buf = evbuffer_new()) == NULL ||
		    evbuffer_add(buf, data, len) == -1)) {
			evbuffer_free(buf);
			buf = NULL;
			status = 500;
		}
	}
	http_send(c, status, buf);
	if (buf != NULL)
		evbuffer_free(buf);
}

int
http_reply_start(struct http_req *req, int status, const char *type,
    void (*gone)(void *), void *arg)
{
	struct http_call	*c = (struct http_call *)req;

	if (c->replied || c->r.ev == NULL)
		return -1;
	c->replied = 1;
	c->status = status;
	c->gone_cb = gone;
	c->stream_arg = arg;
	http_add_header(req, "Content-Type", type);
	http_security_headers(c);
	evhttp_send_reply_start(c->r.ev, status, NULL);
	return 0;
}

static void
http_chunk_written(struct evhttp_connection *evcon, void *arg)
{
	struct http_call	*c = arg;
	void			(*sent)(void *) = c->sent;

	c->sent = NULL;
	if (sent != NULL)
		sent(c->stream_arg);
}

int
http_reply_chunk(struct http_req *req, struct evbuffer *buf,
    void (*sent)(void *))
{
	struct http_call	*c = (struct http_call *)req;

	/* HEAD has no body: evhttp would drop the chunk and never call. */
	if (c->r.ev == NULL || c->gone || c->r.method == EVHTTP_REQ_HEAD)
		return -1;
	c->streamed += evbuffer_get_length(buf);
	c->sent = sent;
	evhttp_send_reply_chunk_with_cb(c->r.ev, buf, sent != NULL ?
	    http_chunk_written : NULL, c);
	return 0;
}

void
http_reply_end(struct http_req *req, int complete)
{
	struct http_call		*c = (struct http_call *)req;
	struct evhttp_connection	*evcon;

	c->sent = NULL;
	c->gone_cb = NULL;
	if (c->r.ev != NULL && complete) {
		http_conn_replied(c);
		evhttp_send_reply_end(c->r.ev);
	}
	else if (c->r.ev != NULL &&
	    (evcon = evhttp_request_get_connection(c->r.ev)) != NULL) {
		/* No last chunk: the client sees the body cut short. The
		 * close callback frees the request and marks the call gone. */
		evhttp_connection_free(evcon);
	}
	/* evhttp owns it now (or freed it). */
	c->r.ev = NULL;
	http_call_log(c, c->status, c->streamed);
}

void
http_reply_json(struct http_req *req, int status, json_t *json)
{
	char	*text = NULL;
	size_t	 len;

	if (json != NULL) {
		if ((text = json_dumps(json, JSON_COMPACT)) == NULL) {
			json_decref(json);
			http_reply_data(req, 500, NULL, NULL, 0, NULL);
			return;
		}
		len = strlen(text);
		/* The terminating NUL becomes the trailing newline. */
		text[len++] = '\n';
		http_reply_data(req, status, "application/json", text, len,
		    NULL);
		free(text);
	} else
		http_reply_data(req, status, NULL, NULL, 0, NULL);
	json_decref(json);
}

void
http_reply_error(struct http_req *req, int status, const char *code,
    const char *fmt, ...)
{
	char	 msg[HTTP_MESSAGE_MAX];
	va_list	 ap;
	size_t	 i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* Messages may quote what the client sent: keep them valid UTF-8. */
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] > 0x7e)
			msg[i] = '?';
	http_reply_json(req, status, json_pack("{s:{s:s,s:s}}", "error",
	    "code", code, "message", msg));
}

/* The Allow header's value for the methods in mask. */
static void
http_allow_str(int mask, char *buf, size_t len)
{
	static const int	 order[] = { EVHTTP_REQ_GET, EVHTTP_REQ_HEAD,
	    EVHTTP_REQ_POST, EVHTTP_REQ_PUT, EVHTTP_REQ_PATCH,
	    EVHTTP_REQ_DELETE, EVHTTP_REQ_OPTIONS };
	size_t			 i;

	buf[0] = '\0';
	if (mask & EVHTTP_REQ_GET)
		mask |= EVHTTP_REQ_HEAD;
	mask |= EVHTTP_REQ_OPTIONS;
	for (i = 0; i < sizeof order / sizeof order[0]; i++) {
		if ((mask & order[i]) == 0)
			continue;
		if (buf[0] != '\0')
			strlcat(buf, ", ", len);
		strlcat(buf, http_method_str(order[i]), len);
	}
}

/* 1 when the Content-Type is application/json, parameters allowed. */
static int
http_is_json(const char *type)
{
	size_t	n = strlen("application/json");

	if (type == NULL || strncasecmp(type, "application/json", n) != 0)
		return 0;
	type += n;
	while (*type == ' ')
		type++;
	return *type == '\0' || *type == ';';
}

/* Checks and parses a JSON body into req->body; replies and -1 if bad. */
static int
http_json_body(struct http_server *s, struct http_req *req)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req->ev);
	const char	*type;
	unsigned char	*data;
	json_error_t	 err;
	size_t		 len = evbuffer_get_length(in);
	json_t		*json;

	type = evhttp_find_header(evhttp_request_get_input_headers(req->ev),
	    "Content-Type");
	if (!http_is_json(type)) {
		http_reply_error(req, 415, "unsupported_media_type",
		    "the body must be application/json");
		return -1;
	}
	if (len > s->limits.max_body) {
		http_reply_error(req, 413, "body_too_large",
		    "the body is over %zu bytes", s->limits.max_body);
		return -1;
	}
	data = evbuffer_pullup(in, -1);
	json = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES,
	    &err);
	/* A login's body holds a password: wipe the bytes, then drop them. */
	if (data != NULL)
		explicit_bzero(data, len);
	evbuffer_drain(in, len);
	if (json == NULL) {
		http_reply_error(req, 400, "invalid_json",
		    "invalid JSON: %s at line %d column %d", err.text,
		    err.line, err.column);
		return -1;
	}
	if (!json_is_object(json)) {
		json_decref(json);
		http_reply_error(req, 400, "invalid_json",
		    "invalid JSON: the body must be an object");
		return -1;
	}
	req->body = json;
	return 0;
}

/* Joins the decoded segments into c->path; -1 on memory exhaustion. */
static int
http_call_path(struct http_call *c, const struct http_path *p)
{
	size_t	i, len = 2;

	for (i = 0; i < p->nseg; i++)
		len += strlen(p->seg[i]) + 1;
	if ((c->path = malloc(len)) == NULL)
		return -1;
	strlcpy(c->path, "/", len);
	for (i = 0; i < p->nseg; i++) {
		if (i > 0)
			strlcat(c->path, "/", len);
		strlcat(c->path, p->seg[i], len);
	}
	c->r.path = c->path;
	return 0;
}

/* Finds the route for the request and calls its handler, or answers. */
static void
http_route(struct http_server *s, struct http_call *c)
{
	struct http_req		*req = &c->r;
	const struct http_route	*rt, *found = NULL;
	struct http_path	 p;
	int			 allow = 0, method = req->method, rc;
	char			 allowstr[128];

	if ((rc = http_path_parse(evhttp_uri_get_path(
	    evhttp_request_get_evhttp_uri(req->ev)), &p)) == -1) {
		http_reply_error(req, 400, "bad_path", "malformed path");
		return;
	}
	if (rc == -2) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return;
	}
	for (rt = s->routes; rt->pattern != NULL; rt++) {
		if (!http_route_match(rt->pattern, &p, req->params, &req->nparams))
			continue;
		allow |= rt->methods;
		if (found == NULL && (rt->methods & method))
			found = rt;
	}
	/* HEAD is GET without the body (evhttp drops it). */
	if (found == NULL && method == EVHTTP_REQ_HEAD)
		for (rt = s->routes; rt->pattern != NULL && found == NULL; rt++)
			if ((rt->methods & EVHTTP_REQ_GET) &&
			    http_route_match(rt->pattern, &p, req->params, &req->nparams))
				found = rt;
	if (allow == 0) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return;
	}
	http_allow_str(allow, allowstr, sizeof allowstr);
	if (found == NULL && method == EVHTTP_REQ_OPTIONS) {
		http_add_header(req, "Allow", allowstr);
		http_reply_json(req, 204, NULL);
		return;
	}
	if (found == NULL) {
		http_add_header(req, "Allow", allowstr);
		http_reply_error(req, 405, "method_not_allowed",
		    "%s is not allowed here", http_method_str(method));
		return;
	}
	/* Matching again puts this route's {name} values in req->params. */
	http_route_match(found->pattern, &p, req->params, &req->nparams);
	if (http_call_path(c, &p) == -1) {
		http_reply_error(req, 503, "overloaded", "out of memory");
		return;
	}
	c->route = found;
	if (s->gate != NULL && s->gate(req, found) == -1)
		return;
	if (found->json_body && (method & HTTP_BODY_METHODS) &&
	    http_json_body(s, req) == -1)
		return;
	found->handler(req);
	if (!c->replied && c->refs == 1) {
		log_warnx("http: %s %s: the handler did not reply",
		    http_method_str(method), c->logpath);
		http_reply_error(req, 500, "internal", "no reply");
	}
}

static void
http_gencb(struct evhttp_request *ev, void *arg)
{
	struct http_server		*s = arg;
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;
	struct http_conn		*conn = NULL;
	struct http_call		*c;

	evcon = evhttp_request_get_connection(ev);
	bev = evhttp_connection_get_bufferevent(evcon);
	HASH_FIND_PTR(s->conns, &bev, conn);
	if (conn != NULL) {
		/* The request is whole: its handler's time is its own. */
		conn->busy = 1;
		evtimer_del(conn->deadline);
	}
	if ((c = http_call_new(s, ev)) == NULL) {
		evhttp_send_error(ev, 503, NULL);
		return;
	}
	evhttp_connection_set_closecb(evcon, http_closecb, s);
	if (conn == NULL || conn->refused ||
	    http_conn_identify(s, conn) == -1) {
		http_add_header(&c->r, "Connection", "close");
		http_reply_error(&c->r, 503, "overloaded",
		    "too many connections");
	} else
		http_route(s, c);
	http_req_release(&c->r);
}

struct http_server *
http_server_new(struct event_base *base, SSL_CTX *ctx,
    const struct http_route *routes, void *route_arg,
    const struct http_limits *limits, const char *cookie_name)
{
	struct http_server	*s = NULL, *ret = NULL;
	size_t			 hard;

	if (ctx != NULL && http_ex_index == -1 &&
	    (http_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
	    http_conn_ex_free)) == -1)
		goto out;
	if ((s = calloc(1, sizeof *s)) == NULL)
		goto out;
	TAILQ_INIT(&s->calls);
	s->base = base;
	s->ctx = ctx;
	s->routes = routes;
	s->route_arg = route_arg;
	while (routes[s->nroutes].pattern != NULL)
		s->nroutes++;
	if ((s->route_stats = calloc(s->nroutes + 1,
	    sizeof(*s->route_stats))) == NULL)
		goto out;
	if (limits != NULL)
		s->limits = *limits;
	else
		http_limits_defaults(&s->limits);
	if (cookie_name != NULL && (s->cookie_name = strdup(cookie_name)) ==
	    NULL)
		goto out;
	if ((s->http = evhttp_new(base)) == NULL ||
	    (s->backoff = evtimer_new(base, http_backoff_done, s)) == NULL)
		goto out;
	/*
	 * evhttp answers bodies over its own limit with an HTML page; twice
	 * ours leaves room for our JSON 413 on anything just over the limit.
	 */
	hard = s->limits.max_body * 2;
	evhttp_set_max_body_size(s->http, hard);
	evhttp_set_max_headers_size(s->http, s->limits.max_headers);
	evhttp_set_timeout(s->http, s->limits.timeout);
	evhttp_set_allowed_methods(s->http, HTTP_METHODS);
	evhttp_set_default_content_type(s->http, NULL);
	evhttp_set_bevcb(s->http, http_bevcb, s);
	evhttp_set_gencb(s->http, http_gencb, s);
	ret = s;
	s = NULL;
out:
	http_server_free(s);
	return ret;
}

void
http_server_set_gate(struct http_server *s,
    int (*gate)(struct http_req *, const struct http_route *))
{
	s->gate = gate;
}

void
http_server_set_connect_src(struct http_server *s, const char *sources)
{
	free(s->csp);
	s->csp = NULL;
	if (sources != NULL && *sources != '\0' &&
	    asprintf(&s->csp, "%s; connect-src 'self' %s", HTTP_CSP,
	    sources) == -1)
		s->csp = NULL;
}

void
http_server_free(struct http_server *s)
{
	struct http_call	*c;
	struct http_conn	*conn, *tmp;
	struct http_source	*src, *stmp;

	if (s == NULL)
		return;
	/* Held requests outlive the server: their replies become no-ops. */
	while ((c = TAILQ_FIRST(&s->calls)) != NULL) {
		TAILQ_REMOVE(&s->calls, c, entry);
		if (c->r.ev != NULL &&
		    evhttp_request_get_connection(c->r.ev) == NULL)
			evhttp_request_free(c->r.ev);
		c->r.ev = NULL;
		c->evcon = NULL;
		c->gone = 1;
		c->server = NULL;
	}
	/* Bufferevents are destroyed later, from the loop. */
	HASH_ITER(hh, s->conns, conn, tmp) {
		HASH_DEL(s->conns, conn);
		conn->server = NULL;
		conn->source = NULL;
	}
	HASH_ITER(hh, s->sources, src, stmp) {
		HASH_DEL(s->sources, src);
		free(src);
	}
	if (s->http != NULL)
		evhttp_free(s->http);
	if (s->backoff != NULL)
		event_free(s->backoff);
	free(s->route_stats);
	free(s->cookie_name);
	free(s->csp);
	free(s);
}

const struct http_counters *
http_server_counters(const struct http_server *s)
{
	return &s->counters;
}

const struct http_route_stats *
http_server_route_stats(const struct http_server *s, size_t i)
{
	return i < s->nroutes ? &s->route_stats[i] : NULL;
}

