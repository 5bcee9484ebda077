/* SPDX-License-Identifier: ISC */
/*
 * What http.c and http-conn.c share: the server, its connections and its
 * requests. Only lib/http includes it.
 */
#ifndef PAPRIKA_HTTPPRIV_H
#define PAPRIKA_HTTPPRIV_H

#include <sys/queue.h>

#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <uthash.h>

#include "http.h"
#include "netaddr.h"

#define HTTP_LISTENERS_MAX	8
#define HTTP_LOGPATH_MAX	256
#define HTTP_MESSAGE_MAX	512
#define HTTP_BACKLOG		128
#define HTTP_HSTS		"max-age=31536000"
#define HTTP_METHODS		(EVHTTP_REQ_GET | EVHTTP_REQ_POST | \
	EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | \
	EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH)
#define HTTP_BODY_METHODS	(EVHTTP_REQ_POST | EVHTTP_REQ_PUT | \
	EVHTTP_REQ_PATCH)


struct http_source {
	char			 key[NETADDR_STRLEN];	/* netaddr_source */
	unsigned		 conns;
	int			 warned;	/* logged being over the cap */
	UT_hash_handle		 hh;
};

struct http_conn {
	struct http_server	*server;	/* NULL once detached */
	struct bufferevent	*bev;		/* hash key */
	int			 refused;	/* over max_connections */
	struct event		*deadline;
	struct http_source	*source;	/* NULL: not counted */
	int			 identified;
	int			 over_source;	/* past max_per_source */
	int			 busy;		/* a request is being handled */
	UT_hash_handle		 hh;
};

struct http_call {
	struct http_req		 r;		/* first: handlers get &c->r */
	struct http_server	*server;	/* NULL once the server is gone */
	struct evhttp_connection *evcon;
	int			 refs;
	int			 replied;
	int			 gone;
	struct timespec		 start;
	const struct http_route	*route;		/* matched, or NULL */
	char			*path;
	char			 logpath[HTTP_LOGPATH_MAX];
	struct evkeyvalq	 query;
	/* A streamed reply (http_reply_start): its status, bytes so far,
	 * and the handler's callbacks. */
	int			 status;
	size_t			 streamed;
	void			(*sent)(void *);
	void			(*gone_cb)(void *);
	void			*stream_arg;
	char			 bearer[HTTP_TOKEN_MAX + 1];
	char			 cookie[HTTP_TOKEN_MAX + 1];
	TAILQ_ENTRY(http_call)	 entry;
};

struct http_server {
	struct event_base		*base;
	struct evhttp			*http;
	SSL_CTX				*ctx;
	const struct http_route		*routes;
	void				*route_arg;
	int				(*gate)(struct http_req *,
					    const struct http_route *);
	struct http_limits		 limits;
	char				*cookie_name;
	char				*csp;		/* NULL: HTTP_CSP */
	struct http_conn		*conns;
	struct http_source		*sources;
	TAILQ_HEAD(, http_call)		 calls;
	struct evconnlistener		*listeners[HTTP_LISTENERS_MAX];
	size_t				 nlisteners;
	struct event			*backoff;
	struct http_counters		 counters;
	struct http_route_stats		*route_stats;	/* one per route */
	size_t				 nroutes;
};


/* http.c */
extern int	 http_ex_index;		/* the SSL ex_data of a connection */

/* http-conn.c */
struct bufferevent *http_bevcb(struct event_base *base, void *arg);
void		 http_conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad,
		    int idx, long argl, void *argp);
/* Learns the peer of conn and counts it against its source: 0, or -1 when
 * it is over a cap. */
int		 http_conn_identify(struct http_server *s,
		    struct http_conn *conn);
/* The next request on c's connection has request_timeout from now. */
void		 http_conn_replied(struct http_call *c);
void		 http_backoff_done(evutil_socket_t fd, short ev, void *arg);

#endif
