/* SPDX-License-Identifier: ISC */
/* Counters and histograms, rendered in the Prometheus text format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "gateway.h"
#include "log.h"
#include "metrics-parse.h"

static const double	buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10
};
#define NBUCKETS	(sizeof buckets / sizeof buckets[0])
_Static_assert(NBUCKETS == METRICS_NBUCKETS, "METRICS_NBUCKETS");

/* Each worker counts in its own gw->m; a render adds them up. */

static const char *const refusal_names[REFUSE_MAX] = {
	[REFUSE_MALFORMED] = "malformed",
	[REFUSE_METHOD] = "method",
	[REFUSE_TOO_LARGE] = "too_large",
	[REFUSE_NO_TICKET] = "no_ticket",
	[REFUSE_BAD_TICKET] = "bad_ticket",
	[REFUSE_EXPIRED] = "expired",
	[REFUSE_REVOKED] = "revoked",
	[REFUSE_PORT] = "port",
	[REFUSE_NETWORK] = "network",
	[REFUSE_OVERLOADED] = "overloaded",
	[REFUSE_PENDING] = "pending",
	[REFUSE_UPSTREAM_FAILED] = "upstream_failed",
	[REFUSE_UPSTREAM_TIMEOUT] = "upstream_timeout",
	[REFUSE_TIMEOUT] = "timeout",
	[REFUSE_TLS] = "tls",
	[REFUSE_NOT_FOUND] = "not_found",
	[REFUSE_UPGRADE] = "upgrade",
	[REFUSE_ORIGIN] = "origin",
	[REFUSE_UPSTREAM_TLS] = "upstream_tls",
	[REFUSE_WEBSOCKET] = "websocket",
};

void
metrics_refusal(enum refusal r)
{
	gw->m.refusals[r]++;
}

void
metrics_tunnel_opened(enum listener_kind kind)
{
	gw->m.opened[kind]++;
}

void
metrics_tls_handshake(int resumed)
{
	gw->m.tls_handshakes++;
	if (resumed)
		gw->m.tls_resumed++;
}

void
metrics_tunnel_closed(const struct tunnel *t)
{
	gw->m.closed++;
	gw->m.bytes_up += t->up.bytes;
	gw->m.bytes_down += t->down.bytes;
}

void
metrics_observe(enum metrics_hist h, double seconds)
{
	struct histogram	*hi = &gw->m.hist[h];
	size_t			 i;

	for (i = 0; i < NBUCKETS && seconds > buckets[i]; i++)
		;
	hi->counts[i]++;
	hi->sum += seconds;
	hi->n++;
}

static void
render_histogram(FILE *fp, const char *name, const char *help,
    const struct histogram *h)
{
	uint64_t	cum = 0;
	size_t		i;

	fprintf(fp, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (i = 0; i < NBUCKETS; i++) {
		cum += h->counts[i];
		fprintf(fp, "%s_bucket{le=\"%g\"} %llu\n", name, buckets[i],
		    (unsigned long long)cum);
	}
	cum += h->counts[NBUCKETS];
	fprintf(fp, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)cum);
	fprintf(fp, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name,
	    (unsigned long long)h->n);
}

/* What a render gathers from every worker. */
struct metrics_sum {
	struct metrics_counts	 m;
	uint64_t		 live_up;
	uint64_t		 live_down;
	unsigned int		 connections;
	unsigned int		 relaying;
	uint64_t		 accepted[GATEWAY_MAX_WORKERS];
};

/* On each worker: adds its counters and live tunnels to the sum. */
static void
metrics_gather(void *arg)
{
	struct metrics_sum	*sum = arg;
	struct tunnel		*t;
	size_t			 i, k;

	TAILQ_FOREACH(t, &gw->tunnels, entry) {
		sum->live_up += t->up.bytes;
		sum->live_down += t->down.bytes;
		if (t->state == TUNNEL_RELAY)
			sum->relaying++;
	}
	sum->connections += gw->ntunnels;
	sum->accepted[gw->id] = gw->m.accepted;
	for (i = 0; i < LISTENER_KINDS; i++)
		sum->m.opened[i] += gw->m.opened[i];
	sum->m.closed += gw->m.closed;
	sum->m.tls_handshakes += gw->m.tls_handshakes;
	sum->m.tls_resumed += gw->m.tls_resumed;
	sum->m.bytes_up += gw->m.bytes_up;
	sum->m.bytes_down += gw->m.bytes_down;
	for (i = 0; i < REFUSE_MAX; i++)
		sum->m.refusals[i] += gw->m.refusals[i];
	for (i = 0; i < HIST_MAX; i++) {
		for (k = 0; k <= NBUCKETS; k++)
			sum->m.hist[i].counts[k] += gw->m.hist[i].counts[k];
		sum->m.hist[i].sum += gw->m.hist[i].sum;
		sum->m.hist[i].n += gw->m.hist[i].n;
	}
}

char *
metrics_render(void)
{
	struct metrics_sum	*sum;
	char			*text = NULL;
	size_t			 len = 0;
	FILE			*fp;
	size_t			 i;
	unsigned int		 npending;

	if ((sum = calloc(1, sizeof *sum)) == NULL)
		return NULL;
	if ((fp = open_memstream(&text, &len)) == NULL) {
		free(sum);
		return NULL;
	}
	worker_run_all(metrics_gather, sum);
	npending = pending_count();
	fprintf(fp, "# HELP paprika_gateway_connections Client connections "
	    "open now, in any phase.\n# TYPE paprika_gateway_connections "
	    "gauge\npaprika_gateway_connections %u\n", sum->connections);
	fprintf(fp, "# HELP paprika_gateway_pending Client connections that "
	    "have not shown a valid ticket yet.\n# TYPE paprika_gateway_pending "
	    "gauge\npaprika_gateway_pending %u\n", npending);
	fprintf(fp, "# HELP paprika_gateway_tunnels Tunnels relaying now.\n"
	    "# TYPE paprika_gateway_tunnels gauge\n"
	    "paprika_gateway_tunnels %u\n", sum->relaying);
	fprintf(fp, "# HELP paprika_gateway_sessions Sessions with at least "
	    "one tunnel.\n# TYPE paprika_gateway_sessions gauge\n"
	    "paprika_gateway_sessions %u\n", session_count());
	fprintf(fp, "# HELP paprika_gateway_tunnels_opened_total Tunnels "
	    "established.\n# TYPE paprika_gateway_tunnels_opened_total "
	    "counter\n"
	    "paprika_gateway_tunnels_opened_total{listener=\"plain\"} %llu\n"
	    "paprika_gateway_tunnels_opened_total{listener=\"tls\"} %llu\n"
	    "paprika_gateway_tunnels_opened_total{listener=\"ws\"} %llu\n",
	    (unsigned long long)sum->m.opened[LISTENER_PLAIN],
	    (unsigned long long)sum->m.opened[LISTENER_TLS],
	    (unsigned long long)sum->m.opened[LISTENER_WS]);
	fprintf(fp, "# HELP paprika_gateway_tls_handshakes_total Client TLS "
	    "handshakes completed.\n# TYPE paprika_gateway_tls_handshakes_total "
	    "counter\npaprika_gateway_tls_handshakes_total %llu\n"
	    "# HELP paprika_gateway_tls_resumed_total Client TLS handshakes "
	    "that resumed a session (a ticket).\n"
	    "# TYPE paprika_gateway_tls_resumed_total counter\n"
	    "paprika_gateway_tls_resumed_total %llu\n",
	    (unsigned long long)sum->m.tls_handshakes,
	    (unsigned long long)sum->m.tls_resumed);
	fprintf(fp, "# HELP paprika_gateway_bytes_total Bytes relayed.\n"
	    "# TYPE paprika_gateway_bytes_total counter\n"
	    "paprika_gateway_bytes_total{direction=\"up\"} %llu\n"
	    "paprika_gateway_bytes_total{direction=\"down\"} %llu\n",
	    (unsigned long long)(sum->m.bytes_up + sum->live_up),
	    (unsigned long long)(sum->m.bytes_down + sum->live_down));
	fprintf(fp, "# HELP paprika_gateway_refusals_total Connections "
	    "refused, by reason.\n"
	    "# TYPE paprika_gateway_refusals_total counter\n");
	for (i = 0; i < REFUSE_MAX; i++)
		fprintf(fp, "paprika_gateway_refusals_total{reason=\"%s\"} "
		    "%llu\n", refusal_names[i],
		    (unsigned long long)sum->m.refusals[i]);
	fprintf(fp, "# HELP paprika_gateway_revocations Revoked sessions and "
	    "tickets remembered.\n# TYPE paprika_gateway_revocations gauge\n"
	    "paprika_gateway_revocations %zu\n", revoke_count());
	render_histogram(fp, "paprika_gateway_tls_handshake_seconds",
	    "Time from accept to the end of the client TLS handshake.",
	    &sum->m.hist[HIST_HANDSHAKE]);
	render_histogram(fp, "paprika_gateway_upstream_connect_seconds",
	    "Time to connect to the upstream SPICE port.",
	    &sum->m.hist[HIST_CONNECT]);
	fprintf(fp, "# HELP paprika_gateway_worker_accepted_total Client "
	    "connections each worker accepted.\n"
	    "# TYPE paprika_gateway_worker_accepted_total counter\n");
	for (i = 0; i < shared.nworkers; i++)
		fprintf(fp, "paprika_gateway_worker_accepted_total{worker=\"%zu\"} "
		    "%llu\n", i, (unsigned long long)sum->accepted[i]);
	fprintf(fp, "# HELP paprika_gateway_uptime_seconds Seconds since "
	    "start.\n# TYPE paprika_gateway_uptime_seconds gauge\n"
	    "paprika_gateway_uptime_seconds %lld\n",
	    (long long)(time(NULL) - gw->started));
	free(sum);
	if (fclose(fp) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static void
metrics_http_done(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void
metrics_http_event(struct bufferevent *bev, short what, void *arg)
{
	bufferevent_free(bev);
}

static void
metrics_http_read(struct bufferevent *bev, void *arg)
{
	static const char	 not_found[] = "HTTP/1.1 404 Not Found\r\n"
	    "Content-Length: 10\r\nConnection: close\r\n\r\nnot found\n";
	struct evbuffer		*in = bufferevent_get_input(bev);
	const char		*buf;
	char			*text = NULL;
	size_t			 n;
	enum metrics_parse_result rc;

	n = evbuffer_get_length(in);
	if (n > METRICS_REQUEST_MAX)
		n = METRICS_REQUEST_MAX;
	if (n == 0)
		return;
	if ((buf = (const char *)evbuffer_pullup(in, (ssize_t)n)) == NULL ||
	    (rc = metrics_parse(buf, n)) == METRICS_PARSE_TOO_LARGE) {
		bufferevent_free(bev);
		return;
	}
	if (rc == METRICS_PARSE_MORE)
		return;
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, metrics_http_done, metrics_http_event,
	    NULL);
	if (rc != METRICS_PARSE_METRICS || (text = metrics_render()) == NULL) {
		bufferevent_write(bev, not_found, sizeof not_found - 1);
		return;
	}
	evbuffer_add_printf(bufferevent_get_output(bev),
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    strlen(text), text);
	free(text);
}

void
metrics_http_accept(int fd)
{
	struct bufferevent	*bev;
	struct timeval		 tv = { 10, 0 };

	if ((bev = bufferevent_socket_new(gw->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, metrics_http_read, NULL, metrics_http_event,
	    NULL);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ);
}
