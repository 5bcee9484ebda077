/* SPDX-License-Identifier: ISC */
/*
 * The broker's HTTPS server: evhttp on TLS (bufferevent_openssl through
 * evhttp_set_bevcb), a route table, JSON bodies with size limits, and JSON
 * errors. One access-log line per request, never with a secret in it
 * (no query strings, no Authorization, no Cookie).
 */
#ifndef PAPRIKA_HTTP_H
#define PAPRIKA_HTTP_H

#include <sys/socket.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/ssl.h>

struct event_base;
struct evbuffer;
struct evhttp_request;
struct http_server;

#define HTTP_CSP		"default-src 'self'"
#define HTTP_PARAMS_MAX		4
#define HTTP_PARAM_MAX		128

struct http_limits {
	size_t		max_body;		/* default 64 KiB */
	size_t		max_headers;		/* default 16 KiB */
	unsigned	timeout;		/* seconds a read or write may
						   stall, default 30 */
	/*
	 * Seconds from accept, and from each reply, to a whole request
	 * (TLS handshake, head and body), however the bytes trickle in;
	 * default 10.
	 */
	unsigned	request_timeout;
	unsigned	max_connections;	/* default 1024 */
	unsigned	max_per_source;		/* default 128; 0: no cap */
	int		source_prefix_v6;	/* an IPv6 source's bits, 64 */
};

/* One request as a handler sees it. */
struct http_req {
	struct evhttp_request	*ev;
	int			 method;	/* EVHTTP_REQ_GET, ... */
	const char		*path;		/* decoded path, no query */
	char			 params[HTTP_PARAMS_MAX][HTTP_PARAM_MAX + 1];
	size_t			 nparams;	/* values of {name} segments */
	struct sockaddr_storage	 peer;
	char			 peer_str[64];	/* address only */
	json_t			*body;		/* parsed JSON object, or NULL;
						 * its strings are wiped when
						 * the request ends: copy what
						 * outlives it */
	const char		*bearer;	/* Authorization: Bearer VALUE */
	const char		*cookie_token;	/* the session cookie's value */
	void			*route_arg;
	/* What the gate found for the handler, given to gate_free when the
	 * request ends. */
	void			*gate_data;
	void			(*gate_free)(void *);
};

#define HTTP_TOKEN_MAX		1024	/* bearer and cookie values */

/* Handlers answer with http_reply_* exactly once (now or later, from the
 * loop; a deferred answer keeps req alive until then). */
typedef void (*http_handler)(struct http_req *req);

/*
 * A handler that answers later takes a reference with http_req_hold and
 * drops it with http_req_release after its reply. If the client or the
 * server goes away meanwhile the reply is a no-op: only req itself stays
 * valid while held. A handler that returns without replying or holding
 * gets a 500 sent for it.
 */
void	http_req_hold(struct http_req *req);
void	http_req_release(struct http_req *req);
/* 1 when the reply can no longer reach the client. */
int	http_req_gone(const struct http_req *req);

struct http_route {
	int		 methods;	/* EVHTTP_REQ_GET | ... */
	const char	*pattern;	/* "/api/v1/desktops/{id}/connect" */
	http_handler	 handler;
	int		 json_body;	/* 1: the body must be a JSON object */
};

/*
 * A server on base for the routes (the array ends with a NULL pattern);
 * ctx NULL means plain HTTP (tests and a TLS-terminating front only).
 * cookie_name names the session cookie read into cookie_token.
 */
struct http_server *http_server_new(struct event_base *base, SSL_CTX *ctx,
		    const struct http_route *routes, void *route_arg,
		    const struct http_limits *limits, const char *cookie_name);
/* Listens on "addr:port" / "[v6]:port"; 0, or -1 with a message in err. */
int		 http_server_listen(struct http_server *s, const char *addr,
		    char *err, size_t errlen);
void		 http_server_free(struct http_server *s);
/* Makes each request that matched a route first pass gate(req, route),
 * which answers it itself and returns -1 to keep it from the handler. */
void		 http_server_set_gate(struct http_server *s,
		    int (*gate)(struct http_req *, const struct http_route *));
/* The portal's script may also open WebSockets to these origins (words). */
void		 http_server_set_connect_src(struct http_server *s,
		    const char *sources);
void		 http_limits_defaults(struct http_limits *l);

/* Replies; each takes ownership of json (may be NULL for no body). */
void	http_reply_json(struct http_req *req, int status, json_t *json);
/* {"error": {"code": code, "message": message}} with status. */
void	http_reply_error(struct http_req *req, int status, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Any body with a content type (e.g. the .vv file); extra headers are
 * "Name: value" strings, NULL-terminated, may be NULL. */
void	http_reply_data(struct http_req *req, int status, const char *type,
	    const void *data, size_t len, const char *const *headers);
/*
 * A reply whose body is sent in pieces (chunked), for bodies too big to
 * build at once. http_reply_start sends status and headers (-1 if a reply
 * was sent already or the client is gone). Each http_reply_chunk empties
 * buf into the connection and calls sent(arg) once it is written, to ask
 * for the next piece; -1 when no body can go out (the client left, or a
 * HEAD request). http_reply_end finishes the reply, gone or not, and logs
 * it; complete 0 closes the connection without the last chunk, so that
 * the client knows the body is cut short. If the client leaves first, gone(arg) runs from the connection's
 * close and sent never will: gone must not release req there, only
 * arrange for it (the handler still ends the reply and releases req).
 */
int	http_reply_start(struct http_req *req, int status, const char *type,
	    void (*gone)(void *), void *arg);
int	http_reply_chunk(struct http_req *req, struct evbuffer *buf,
	    void (*sent)(void *));
void	http_reply_end(struct http_req *req, int complete);
/* "GET", "POST", ... for an EVHTTP_REQ_* method ("OTHER" if none). */
const char *http_method_str(int method);
/* Adds a response header before the reply. */
void	http_add_header(struct http_req *req, const char *name,
	    const char *value);
/* The value of query parameter name, or NULL (decoded, bounded). */
const char *http_query(struct http_req *req, const char *name);

/* Requests served, by status class, for metrics. */
struct http_counters {
	unsigned long long	requests;
	unsigned long long	status_2xx, status_4xx, status_5xx;
	unsigned long long	connections;	/* accepted */
	unsigned long long	connections_refused;	/* over max_connections */
	unsigned long long	connections_refused_source; /* over max_per_source */
	unsigned long long	connections_timed_out;	/* no request in time */
	unsigned		connections_open;
};
const struct http_counters *http_server_counters(const struct http_server *s);

/*
 * How long each route took, from the whole request to its reply (a held
 * request's wait included, the TLS handshake not): a histogram with the
 * upper bounds http_duration_bounds, counts per bucket (not cumulative)
 * and the rest above the last bound in count alone. Kept per route of the
 * table, so its size is the table's, whatever the paths asked for.
 */
#define HTTP_DURATION_BUCKETS	12
extern const double http_duration_bounds[HTTP_DURATION_BUCKETS];
struct http_route_stats {
	unsigned long long	count;
	double			sum;		/* seconds */
	unsigned long long	bucket[HTTP_DURATION_BUCKETS];
};
/* routes[i]'s durations, i below the table's length; NULL past it. */
const struct http_route_stats *http_server_route_stats(
		    const struct http_server *s, size_t i);

/* httpparse.c: the parsers, pure functions over untrusted bytes. */
#define HTTP_SEGMENTS_MAX	16

struct http_path {
	char	seg[HTTP_SEGMENTS_MAX][HTTP_PARAM_MAX + 1];
	size_t	nseg;
};

/* Splits a path into percent-decoded segments: 0, -1 malformed, -2 too
 * long or deep to name a route. */
int	http_path_parse(const char *raw, struct http_path *p);
/* 1 when pattern ("/a/{name}/b") matches p, its {name} values in params. */
int	http_route_match(const char *pattern, const struct http_path *p,
	    char params[][HTTP_PARAM_MAX + 1], size_t *nparams);
/* The token of an Authorization value "Bearer TOKEN": 0, or -1 if absent
 * or malformed. */
int	http_bearer_value(const char *value, char *out, size_t outlen);
/* Cookie name's value in one Cookie header: 0, or -1. */
int	http_cookie_value(const char *header, const char *name, char *out,
	    size_t outlen);
/*
 * A free for jansson that zeroes each block first (json_set_alloc_funcs):
 * the broker's passwords, parsed or built, leave no copy when freed.
 */
void	http_json_free(void *p);


#endif
