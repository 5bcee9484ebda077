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

struct histogram {
	uint64_t	counts[NBUCKETS + 1];
	double		sum;
	uint64_t	n;
};

static struct {
	uint64_t		opened[LISTENER_KINDS];
	uint64_t		closed;
	uint64_t		tls_handshakes;
	uint64_t		tls_resumed;
	uint64_t		bytes_up;
	uint64_t		bytes_down;
	uint64_t		refusals[REFUSE_MAX];
	struct histogram	hist[HIST_MAX];
} m;

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

const char *
refusal_name(enum refusal r)
{
	return refusal_names[r];
}

void
metrics_refusal(enum refusal r)
{
	m.refusals[r]++;
}

void
metrics_tunnel_opened(enum listener_kind kind)
{
	m.opened[kind]++;
}

void
metrics_tls_handshake(int resumed)
{
	m.tls_handshakes++;
	if (resumed)
		m.tls_resumed++;
}

void
metrics_tunnel_closed(const struct tunnel *t)
{
	m.closed++;
	m.bytes_up += t->up.bytes;
	m.bytes_down += t->down.bytes;
}

void
metrics_observe(enum metrics_hist h, double seconds)
{
	struct histogram	*hi = &m.hist[h];
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

char *
metrics_render(void)
{
	struct tunnel	*t;
	uint64_t	 live_up = 0, live_down = 0;
	unsigned int	 relaying = 0;
	char		*text = NULL;
	size_t		 len = 0;
	FILE		*fp;
	size_t		 i;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return NULL;
	TAILQ_FOREACH(t, &gw->tunnels, entry) {
		live_up += t->up.bytes;
		live_down += t->down.bytes;
		if (t->state == TUNNEL_RELAY)
			relaying++;
	}
	fprintf(fp, "# HELP paprika_gateway_connections Client connections "
	    "open now, in any phase.\n# TYPE paprika_gateway_connections "
	    "gauge\npaprika_gateway_connections %u\n", gw->ntunnels);
	fprintf(fp, "# HELP paprika_gateway_pending Client connections that "
	    "have not shown a valid ticket yet.\n# TYPE paprika_gateway_pending "
	    "gauge\npaprika_gateway_pending %u\n", gw->npending);
	fprintf(fp, "# HELP paprika_gateway_tunnels Tunnels relaying now.\n"
	    "# TYPE paprika_gateway_tunnels gauge\n"
	    "paprika_gateway_tunnels %u\n", relaying);
	fprintf(fp, "# HELP paprika_gateway_sessions Sessions with at least "
	    "one tunnel.\n# TYPE paprika_gateway_sessions gauge\n"
	    "paprika_gateway_sessions %u\n", HASH_COUNT(gw->sessions));
	fprintf(fp, "# HELP paprika_gateway_tunnels_opened_total Tunnels "
	    "established.\n# TYPE paprika_gateway_tunnels_opened_total "
	    "counter\n"
	    "paprika_gateway_tunnels_opened_total{listener=\"plain\"} %llu\n"
	    "paprika_gateway_tunnels_opened_total{listener=\"tls\"} %llu\n"
	    "paprika_gateway_tunnels_opened_total{listener=\"ws\"} %llu\n",
	    (unsigned long long)m.opened[LISTENER_PLAIN],
	    (unsigned long long)m.opened[LISTENER_TLS],
	    (unsigned long long)m.opened[LISTENER_WS]);
	fprintf(fp, "# HELP paprika_gateway_tls_handshakes_total Client TLS "
	    "handshakes completed.\n# TYPE paprika_gateway_tls_handshakes_total "
	    "counter\npaprika_gateway_tls_handshakes_total %llu\n"
	    "# HELP paprika_gateway_tls_resumed_total Client TLS handshakes "
	    "that resumed a session (a ticket).\n"
	    "# TYPE paprika_gateway_tls_resumed_total counter\n"
	    "paprika_gateway_tls_resumed_total %llu\n",
	    (unsigned long long)m.tls_handshakes,
	    (unsigned long long)m.tls_resumed);
	fprintf(fp, "# HELP paprika_gateway_bytes_total Bytes relayed.\n"
	    "# TYPE paprika_gateway_bytes_total counter\n"
	    "paprika_gateway_bytes_total{direction=\"up\"} %llu\n"
	    "paprika_gateway_bytes_total{direction=\"down\"} %llu\n",
	    (unsigned long long)(m.bytes_up + live_up),
	    (unsigned long long)(m.bytes_down + live_down));
	fprintf(fp, "# HELP paprika_gateway_refusals_total Connections "
	    "refused, by reason.\n"
	    "# TYPE paprika_gateway_refusals_total counter\n");
	for (i = 0; i < REFUSE_MAX; i++)
		fprintf(fp, "paprika_gateway_refusals_total{reason=\"%s\"} "
		    "%llu\n", refusal_names[i],
		    (unsigned long long)m.refusals[i]);
	fprintf(fp, "# HELP paprika_gateway_revocations Revoked sessions and "
	    "tickets remembered.\n# TYPE paprika_gateway_revocations gauge\n"
	    "paprika_gateway_revocations %zu\n", revoke_count());
	render_histogram(fp, "paprika_gateway_tls_handshake_seconds",
	    "Time from accept to the end of the client TLS handshake.",
	    &m.hist[HIST_HANDSHAKE]);
	render_histogram(fp, "paprika_gateway_upstream_connect_seconds",
	    "Time to connect to the upstream SPICE port.",
	    &m.hist[HIST_CONNECT]);
	fprintf(fp, "# HELP paprika_gateway_uptime_seconds Seconds since "
	    "start.\n# TYPE paprika_gateway_uptime_seconds gauge\n"
	    "paprika_gateway_uptime_seconds %lld\n",
	    (long long)(time(NULL) - gw->started));
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
