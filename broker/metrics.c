/* SPDX-License-Identifier: ISC */
/* Prometheus text exposition of the broker's counters and gauges. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "broker.h"
#include "http.h"
#include "virt.h"
#include "workq.h"

static void
metrics_add(struct evbuffer *b, const char *name, const char *type,
    const char *help, const char *fmt, ...)
{
	va_list	ap;

	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
	va_start(ap, fmt);
	evbuffer_add_vprintf(b, fmt, ap);
	va_end(ap);
}

/*
 * paprika_broker_request_seconds, a histogram per route of the table
 * (labelled by its pattern, never the path asked for) that has served a
 * request since the start.
 */
static void
metrics_routes(struct evbuffer *b)
{
	const struct http_route_stats	*rs;
	const char			*method;
	unsigned long long		 cum;
	size_t				 i, j;

	evbuffer_add_printf(b, "# HELP paprika_broker_request_seconds Time "
	    "from a whole request to its reply, by route.\n# TYPE "
	    "paprika_broker_request_seconds histogram\n");
	for (i = 0; (rs = http_server_route_stats(broker->http, i)) != NULL;
	    i++) {
		if (rs->count == 0)
			continue;
		method = api_routes[i].methods == EVHTTP_REQ_POST ? "POST" :
		    "GET";
		for (j = cum = 0; j < HTTP_DURATION_BUCKETS; j++) {
			cum += rs->bucket[j];
			evbuffer_add_printf(b, "paprika_broker_request_seconds_"
			    "bucket{route=\"%s\",method=\"%s\",le=\"%g\"} "
			    "%llu\n", api_routes[i].pattern, method,
			    http_duration_bounds[j], cum);
		}
		evbuffer_add_printf(b, "paprika_broker_request_seconds_bucket"
		    "{route=\"%s\",method=\"%s\",le=\"+Inf\"} %llu\n"
		    "paprika_broker_request_seconds_sum{route=\"%s\",method="
		    "\"%s\"} %.6f\n"
		    "paprika_broker_request_seconds_count{route=\"%s\","
		    "method=\"%s\"} %llu\n", api_routes[i].pattern, method,
		    rs->count, api_routes[i].pattern, method, rs->sum,
		    api_routes[i].pattern, method, rs->count);
	}
}

void
metrics_reply(struct http_req *req)
{
	struct evbuffer			*b = evbuffer_new();
	const struct http_counters	*hc = http_server_counters(broker->http);
	const struct events_stats	*es;
	struct virt_job_stats		 vs;
	unsigned			 by_state[SESSION_ENDED + 1] = { 0 };
	unsigned			 guests[GUEST_BROKEN + 1] = { 0 };
	size_t				 i, len;
	int				 st;

	session_count_states(by_state);
	pool_count_states(guests);

	metrics_add(b, "paprika_broker_logins_total", "counter",
	    "Login attempts by result.",
	    "paprika_broker_logins_total{result=\"ok\"} %llu\n"
	    "paprika_broker_logins_total{result=\"failed\"} %llu\n"
	    "paprika_broker_logins_total{result=\"throttled\"} %llu\n",
	    broker->stats.logins_ok, broker->stats.logins_failed,
	    broker->stats.logins_throttled);
	metrics_add(b, "paprika_broker_http_connections_refused_total",
	    "counter", "API connections closed unserved, by reason.",
	    "paprika_broker_http_connections_refused_total{reason=\"max_"
	    "connections\"} %llu\n"
	    "paprika_broker_http_connections_refused_total{reason=\"per_"
	    "source\"} %llu\n"
	    "paprika_broker_http_connections_refused_total{reason=\"request_"
	    "timeout\"} %llu\n", hc->connections_refused,
	    hc->connections_refused_source, hc->connections_timed_out);
	metrics_add(b, "paprika_broker_auth_seconds_total", "counter",
	    "Time spent checking passwords (PAM and argon2id).", "%s %.6f\n",
	    "paprika_broker_auth_seconds_total", broker->stats.auth_seconds);
	metrics_add(b, "paprika_broker_sessions_started_total", "counter",
	    "Desktop sessions started.", "%s %llu\n",
	    "paprika_broker_sessions_started_total", broker->stats.connects);
	metrics_add(b, "paprika_broker_sessions_ended_total", "counter",
	    "Desktop sessions ended.", "%s %llu\n",
	    "paprika_broker_sessions_ended_total",
	    broker->stats.sessions_ended);
	metrics_add(b, "paprika_broker_grants_total", "counter",
	    "Connections handed out (SPICE password and ticket).",
	    "paprika_broker_grants_total{result=\"ok\"} %llu\n"
	    "paprika_broker_grants_total{result=\"failed\"} %llu\n",
	    broker->stats.grants, broker->stats.grant_failures);
	metrics_add(b, "paprika_broker_disconnect_actions_total", "counter",
	    "Disconnect actions run after the grace delay.", "%s %llu\n",
	    "paprika_broker_disconnect_actions_total", broker->stats.actions);
	evbuffer_add_printf(b, "# HELP paprika_broker_sessions Live desktop "
	    "sessions by state.\n# TYPE paprika_broker_sessions gauge\n");
	for (st = SESSION_STARTING; st < SESSION_ENDED; st++)
		evbuffer_add_printf(b, "paprika_broker_sessions{state=\"%s\"} "
		    "%u\n", session_state_name(st), by_state[st]);
	evbuffer_add_printf(b, "# HELP paprika_broker_desktops Desktops of "
	    "shared and template pools by state.\n# TYPE "
	    "paprika_broker_desktops gauge\n");
	for (st = GUEST_FREE; st <= GUEST_BROKEN; st++)
		evbuffer_add_printf(b, "paprika_broker_desktops{state=\"%s\"} "
		    "%u\n", pool_guest_state_name(st), guests[st]);
	metrics_add(b, "paprika_broker_leader", "gauge", "Whether this broker "
	    "leads (1) or stands by (0) for others on its database.", "%s %d\n",
	    "paprika_broker_leader", cluster_leading());
	evbuffer_add_printf(b, "# HELP paprika_broker_host_up Whether the "
	    "broker reaches the host.\n# TYPE paprika_broker_host_up gauge\n");
	for (i = 0; i < broker->conf->nhosts; i++)
		evbuffer_add_printf(b, "paprika_broker_host_up{host=\"%s\"} "
		    "%d\n", broker->conf->hosts[i].name,
		    virt_host_is_up(broker->conf->hosts[i].virt));
	evbuffer_add_printf(b, "# HELP paprika_broker_libvirt_jobs_total "
	    "libvirt jobs done, by host.\n# TYPE paprika_broker_libvirt_jobs_"
	    "total counter\n");
	for (i = 0; i < broker->conf->nhosts; i++) {
		virt_host_jobs(broker->conf->hosts[i].virt, &vs);
		evbuffer_add_printf(b, "paprika_broker_libvirt_jobs_total{host="
		    "\"%s\"} %llu\n", broker->conf->hosts[i].name, vs.jobs);
	}
	evbuffer_add_printf(b, "# HELP paprika_broker_libvirt_seconds_total "
	    "Time of the libvirt jobs, by host and phase: waiting for the "
	    "host's worker, running there.\n# TYPE paprika_broker_libvirt_"
	    "seconds_total counter\n");
	for (i = 0; i < broker->conf->nhosts; i++) {
		virt_host_jobs(broker->conf->hosts[i].virt, &vs);
		evbuffer_add_printf(b, "paprika_broker_libvirt_seconds_total{"
		    "host=\"%s\",phase=\"wait\"} %.6f\n"
		    "paprika_broker_libvirt_seconds_total{host=\"%s\",phase="
		    "\"run\"} %.6f\n", broker->conf->hosts[i].name,
		    vs.wait_seconds, broker->conf->hosts[i].name,
		    vs.run_seconds);
	}
	gwctl_metrics(b);
	forward_metrics(b);
	metrics_add(b, "paprika_broker_http_requests_total", "counter",
	    "HTTP requests by status class.",
	    "paprika_broker_http_requests_total{class=\"2xx\"} %llu\n"
	    "paprika_broker_http_requests_total{class=\"4xx\"} %llu\n"
	    "paprika_broker_http_requests_total{class=\"5xx\"} %llu\n",
	    hc->status_2xx, hc->status_4xx, hc->status_5xx);
	metrics_routes(b);
	metrics_add(b, "paprika_broker_auth_queue", "gauge",
	    "Logins waiting for or in a password check.", "%s %zu\n",
	    "paprika_broker_auth_queue", workq_pending(broker->authq));

	es = events_stats();
	metrics_add(b, "paprika_broker_event_subscribers", "gauge",
	    "Live event streams open (GET /api/v1/events).", "%s %u\n",
	    "paprika_broker_event_subscribers", es->subscribers);
	metrics_add(b, "paprika_broker_event_streams_total", "counter",
	    "Event streams by how they went: served, refused over "
	    "events_subscribers, dropped for falling behind.",
	    "paprika_broker_event_streams_total{result=\"served\"} %llu\n"
	    "paprika_broker_event_streams_total{result=\"refused\"} %llu\n"
	    "paprika_broker_event_streams_total{result=\"dropped\"} %llu\n",
	    es->served, es->refused, es->dropped);
	metrics_add(b, "paprika_broker_events_total", "counter",
	    "Events published to the streams.", "%s %llu\n",
	    "paprika_broker_events_total", es->published);

	len = evbuffer_get_length(b);
	http_reply_data(req, 200, "text/plain; version=0.0.4",
	    evbuffer_pullup(b, -1), len, NULL);
	evbuffer_free(b);
}
