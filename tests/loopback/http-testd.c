/* SPDX-License-Identifier: ISC */
/*
 * A test server for lib/http/http.c: a few routes on one listener, driven by
 * tests/loopback/test-broker-http.py.
 *
 * usage: http-testd -l addr:port [-c cert -k key] [-t timeout] [-b max_body]
 *	  [-n max_connections] [-p source_prefix_v6] [-r request_timeout]
 *	  [-s max_per_source]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "http.h"
#include "log.h"
#include "tls.h"

#define TESTD_DEFER_MS	200

static struct http_server	*testd_server;

static void
testd_echo(struct http_req *req)
{
	http_reply_json(req, 200, json_pack("{s:O,s:b,s:b}", "body", req->body,
	    "bearer", req->bearer != NULL, "cookie", req->cookie_token != NULL));
}

static void
testd_item(struct http_req *req)
{
	json_t	*params = json_array();
	size_t	 i;

	for (i = 0; i < req->nparams; i++)
		json_array_append_new(params, json_string(req->params[i]));
	http_reply_json(req, 200, json_pack("{s:s,s:o,s:s}", "id",
	    req->params[0], "params", params, "path", req->path));
}

static void
testd_query(struct http_req *req)
{
	const char	*q = http_query(req, "q");

	http_reply_json(req, 200, json_pack("{s:s?}", "q", q));
}

static void
testd_deferred_done(evutil_socket_t fd, short ev, void *arg)
{
	struct http_req	*req = arg;

	(void)fd;
	(void)ev;
	log_info("deferred reply, client %s", http_req_gone(req) ?
	    "gone" : "here");
	http_reply_json(req, 200, json_pack("{s:b}", "deferred", 1));
	http_req_release(req);
}

static void
testd_deferred(struct http_req *req)
{
	struct timeval	tv = { 0, TESTD_DEFER_MS * 1000 };

	http_req_hold(req);
	event_base_once(evhttp_connection_get_base(
	    evhttp_request_get_connection(req->ev)), -1, EV_TIMEOUT,
	    testd_deferred_done, req, &tv);
}

static void
testd_vv(struct http_req *req)
{
	static const char	 vv[] = "[virt-viewer]\ntype=spice\n"
	    "host=127.0.0.1\nport=5900\n";
	static const char *const headers[] = {
		"Content-Disposition: attachment; filename=\"desktop.vv\"",
		NULL
	};

	http_reply_data(req, 200, "application/x-virt-viewer", vv,
	    sizeof vv - 1, headers);
}

static void
testd_text(struct http_req *req)
{
	static const char *const headers[] = { "X-Paprika-Test: yes", NULL };

	http_reply_data(req, 200, "text/plain", "hello\n", 6, headers);
}

static const struct http_route testd_routes[];

static void
testd_stats(struct http_req *req)
{
	const struct http_counters	*c = http_server_counters(testd_server);
	const struct http_route_stats	*rs;
	json_t				*routes = json_object();
	unsigned long long		 inbuckets;
	char				 key[128];
	size_t				 i, j;

	/* "METHOD pattern": [count, seconds, count within the buckets]. */
	for (i = 0; (rs = http_server_route_stats(testd_server, i)) != NULL;
	    i++) {
		for (j = inbuckets = 0; j < HTTP_DURATION_BUCKETS; j++)
			inbuckets += rs->bucket[j];
		snprintf(key, sizeof(key), "%s %s", testd_routes[i].methods ==
		    EVHTTP_REQ_GET ? "GET" : testd_routes[i].methods ==
		    EVHTTP_REQ_POST ? "POST" : "DELETE",
		    testd_routes[i].pattern);
		json_object_set_new(routes, key, json_pack(
		    "[I,f,I]", (json_int_t)rs->count, rs->sum,
		    (json_int_t)inbuckets));
	}
	http_reply_json(req, 200, json_pack(
	    "{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i}", "routes", routes,
	    "requests", (json_int_t)c->requests,
	    "2xx", (json_int_t)c->status_2xx,
	    "4xx", (json_int_t)c->status_4xx,
	    "5xx", (json_int_t)c->status_5xx,
	    "connections", (json_int_t)c->connections,
	    "refused", (json_int_t)c->connections_refused,
	    "refused_source", (json_int_t)c->connections_refused_source,
	    "timed_out", (json_int_t)c->connections_timed_out,
	    "open", (int)c->connections_open));
}

static const struct http_route testd_routes[] = {
	{ EVHTTP_REQ_POST, "/echo", testd_echo, 1 },
	{ EVHTTP_REQ_GET, "/items/{id}", testd_item, 0 },
	{ EVHTTP_REQ_DELETE, "/items/{id}", testd_item, 0 },
	{ EVHTTP_REQ_GET, "/items/{id}/parts/{part}", testd_item, 0 },
	{ EVHTTP_REQ_GET, "/query", testd_query, 0 },
	{ EVHTTP_REQ_GET, "/deferred", testd_deferred, 0 },
	{ EVHTTP_REQ_GET, "/desktop.vv", testd_vv, 0 },
	{ EVHTTP_REQ_GET, "/text", testd_text, 0 },
	{ EVHTTP_REQ_GET, "/stats", testd_stats, 0 },
	{ 0, NULL, NULL, 0 }
};

static void
testd_stop(evutil_socket_t sig, short ev, void *arg)
{
	(void)sig;
	(void)ev;
	event_base_loopbreak(arg);
}

static unsigned long
testd_number(const char *s)
{
	char		*end;
	unsigned long	 v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0')
		fatalx("bad number: %s", s);
	return v;
}

int
main(int argc, char *argv[])
{
	struct event_base	*base;
	struct event		*sigterm, *sigint;
	struct http_limits	 limits;
	SSL_CTX			*ctx = NULL;
	const char		*cert = NULL, *key = NULL, *addr = NULL;
	char			 err[256];
	int			 ch;

	log_init("http-testd", 1, 0);
	http_limits_defaults(&limits);
	while ((ch = getopt(argc, argv, "b:c:k:l:n:p:r:s:t:")) != -1) {
		switch (ch) {
		case 'b':
			limits.max_body = testd_number(optarg);
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'l':
			addr = optarg;
			break;
		case 'n':
			limits.max_connections = testd_number(optarg);
			break;
		case 'p':
			limits.source_prefix_v6 = testd_number(optarg);
			break;
		case 'r':
			limits.request_timeout = testd_number(optarg);
			break;
		case 's':
			limits.max_per_source = testd_number(optarg);
			break;
		case 't':
			limits.timeout = testd_number(optarg);
			break;
		default:
			fprintf(stderr, "usage: http-testd -l addr:port "
			    "[-c cert -k key] [-b max_body] [-n max_conns] "
			    "[-p source_prefix_v6] [-r request_timeout] "
			    "[-s max_per_source] "
			    "[-t timeout]\n");
			return 2;
		}
	}
	if (addr == NULL)
		fatalx("-l is required");
	signal(SIGPIPE, SIG_IGN);
	if (cert != NULL &&
	    (ctx = tls_server_ctx_new(cert, key, err, sizeof err)) == NULL)
		fatalx("%s", err);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((testd_server = http_server_new(base, ctx, testd_routes, NULL,
	    &limits, "session")) == NULL)
		fatalx("http_server_new");
	if (http_server_listen(testd_server, addr, err, sizeof err) == -1)
		fatalx("%s", err);
	sigterm = evsignal_new(base, SIGTERM, testd_stop, base);
	sigint = evsignal_new(base, SIGINT, testd_stop, base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	log_info("listening on %s", addr);
	event_base_dispatch(base);
	log_info("stopping");
	http_server_free(testd_server);
	event_free(sigterm);
	event_free(sigint);
	/* Lets the bufferevents that evhttp_free released finish dying. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
	SSL_CTX_free(ctx);
	return 0;
}
