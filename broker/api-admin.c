/* SPDX-License-Identifier: ISC */
/*
 * The API's admin routes: the audit log's search and export, the GPUs and
 * their quarantine.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "broker.h"
#include "api.h"
#include "gpujson.h"
#include "http.h"
#include "virt.h"
#include "xmalloc.h"

#define API_AUDIT_LIMIT_MAX	1000

static int	api_audit_bound(struct http_req *, const char *, int64_t,
		    int64_t *);

/* The search's filters from the query (their strings are the query's). */
static void
api_audit_filter(struct http_req *req, struct audit_filter *f)
{
	f->actor = http_query(req, "user");
	f->action = http_query(req, "action");
	f->target = http_query(req, "target");
	f->result = http_query(req, "result");
}

/* A page of the audit log, newest first, searched by user, action,
 * target, result and time. */
void
api_audit(struct http_req *req)
{
	struct api_caller	 c;
	struct audit_filter	 f;
	const char		*v;
	long long		 limit = 100, before = 0;
	int64_t			 since, until;
	char			*end;
	json_t			*list, *last;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	if ((v = http_query(req, "limit")) != NULL) {
		limit = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || limit < 1 ||
		    limit > API_AUDIT_LIMIT_MAX) {
			http_reply_error(req, 400, "bad_request", "limit is 1 "
			    "to %d", API_AUDIT_LIMIT_MAX);
			return;
		}
	}
	if ((v = http_query(req, "before")) != NULL) {
		before = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || before < 1) {
			http_reply_error(req, 400, "bad_request", "before is "
			    "an audit record id");
			return;
		}
	}
	if (api_audit_bound(req, "since", 0, &since) == -1 ||
	    api_audit_bound(req, "until", INT64_MAX, &until) == -1)
		return;
	api_audit_filter(req, &f);
	if ((list = db_audit_list(broker->db, before, (int)limit, &f, since,
	    until)) == NULL) {
		http_reply_error(req, 500, "state", "the broker cannot read "
		    "its audit log");
		return;
	}
	/* A whole page: there may be more, before its last record. */
	if (json_array_size(list) == (size_t)limit &&
	    (last = json_array_get(list, json_array_size(list) - 1)) != NULL)
		http_reply_json(req, 200, json_pack("{s:o,s:O}", "audit", list,
		    "next_before", json_object_get(last, "id")));
	else
		http_reply_json(req, 200, json_pack("{s:o}", "audit", list));
}

/* A time bound of the export from the query, or dflt; -1 after a 400. */
static int
api_audit_bound(struct http_req *req, const char *name, int64_t dflt,
    int64_t *out)
{
	const char	*v;

	*out = dflt;
	if ((v = http_query(req, name)) == NULL || auditfmt_time(v, out) == 0)
		return 0;
	http_reply_error(req, 400, "bad_request", "%s is seconds since 1970 "
	    "or a UTC date: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", name);
	return -1;
}

/* The whole audit log, or a time range of it, as a file (admin). */
void
api_audit_export(struct http_req *req)
{
	struct api_caller	 c;
	struct audit_filter	 filter;
	const char		*v;
	enum auditfmt		 f = AUDITFMT_JSONL;
	int64_t			 since, until;
	char			 range[32];

	if (api_auth(req, ROLE_ADMIN, &c) == -1)
		return;
	if ((v = http_query(req, "format")) != NULL &&
	    auditfmt_parse(v, &f) == -1) {
		http_reply_error(req, 400, "bad_request", "format is jsonl or "
		    "csv");
		return;
	}
	if (api_audit_bound(req, "since", 0, &since) == -1 ||
	    api_audit_bound(req, "until", INT64_MAX, &until) == -1)
		return;
	snprintf(range, sizeof(range), " until %lld", (long long)until);
	broker_audit(c.login.user, req->peer_str, "audit export", "", "ok",
	    "%s since %lld%s", f == AUDITFMT_CSV ? "csv" : "jsonl",
	    (long long)since, until == INT64_MAX ? "" : range);
	http_add_header(req, "Content-Disposition", f == AUDITFMT_CSV ?
	    "attachment; filename=\"audit.csv\"" :
	    "attachment; filename=\"audit.jsonl\"");
	if (req->method == EVHTTP_REQ_HEAD)
		http_reply_data(req, 200, auditfmt_type(f), NULL, 0, NULL);
	else {
		api_audit_filter(req, &filter);
		audit_export(req, f, since, until, &filter);
	}
}

struct api_gpus {
	struct http_req	*req;
	json_t		*hosts;		/* one object per [host], in order */
	int		 pending;
};

struct api_gpus_host {
	struct api_gpus	*g;
	size_t		 index;
};

static const char *
api_gpu_allocated_to(void *arg, const char *device)
{
	const struct gpu_alloc	*a = gpualloc_of(arg, device);

	return a != NULL ? a->guest : NULL;
}

static int
api_gpu_quarantined(void *arg, const char *device, char *reason, size_t len)
{
	return db_gpu_out_of_service(broker->db, arg, device, reason, len);
}

static void
api_gpu_quarantines(void *arg, void (*cb)(void *, const char *,
    const char *), void *cbarg)
{
	db_gpu_quarantine_each(broker->db, arg, cb, cbarg);
}

static void
api_gpus_reply(struct api_gpus *g)
{
	http_reply_json(g->req, 200, json_pack("{s:o}", "hosts", g->hosts));
	http_req_release(g->req);
	free(g);
}

static void
api_gpus_scanned(const struct virt_result *res, void *arg)
{
	struct api_gpus_host	*gh = arg;
	struct api_gpus		*g = gh->g;
	json_t			*o = json_array_get(g->hosts, gh->index);
	struct gpujson_state	 st = { api_gpu_allocated_to,
				    api_gpu_quarantined, api_gpu_quarantines,
				    NULL };

	st.arg = (void *)json_string_value(json_object_get(o, "name"));
	if (!res->ok)
		json_object_set_new(o, "error", json_string(res->error));
	else {
		json_object_set_new(o, "iommu", json_boolean(res->gpus->iommu));
		json_object_set_new(o, "memory_kib",
		    json_integer((json_int_t)res->host_memory));
		json_object_set_new(o, "committed_kib",
		    json_integer((json_int_t)res->committed_memory));
		json_object_set_new(o, "gpus", gpujson_inventory(res->gpus,
		    &st));
	}
	free(gh);
	if (--g->pending == 0)
		api_gpus_reply(g);
}

/* Every host's GPUs with a verdict each, the broker's allocations and
 * quarantines included (helpdesk). */
void
api_gpus(struct http_req *req)
{
	struct api_caller	 c;
	struct api_gpus		*g;
	struct api_gpus_host	*gh;
	struct conf_host	*h;
	size_t			 i;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	g = xcalloc(1, sizeof(*g));
	g->req = req;
	g->hosts = json_array();
	g->pending = 1;
	http_req_hold(req);
	for (i = 0; i < broker->conf->nhosts; i++) {
		h = &broker->conf->hosts[i];
		json_array_append_new(g->hosts, json_pack("{s:s,s:b}", "name",
		    h->name, "up", virt_host_is_up(h->virt)));
		if (!virt_host_is_up(h->virt)) {
			json_object_set_new(json_array_get(g->hosts, i),
			    "error", json_string(virt_host_error(h->virt)));
			continue;
		}
		gh = xcalloc(1, sizeof(*gh));
		gh->g = g;
		gh->index = i;
		g->pending++;
		if (virt_gpu_scan(h->virt, NULL, api_gpus_scanned, gh) == -1) {
			g->pending--;
			free(gh);
		}
	}
	if (--g->pending == 0)
		api_gpus_reply(g);
}

/* An admin puts a quarantined GPU back in service. */
void
api_gpu_clear(struct http_req *req)
{
	struct api_caller	 c;
	const char		*host = req->params[0], *device = req->params[1];
	int			 rc;

	if (api_auth(req, ROLE_ADMIN, &c) == -1)
		return;
	if (conf_host_find(broker->conf, host) == NULL) {
		http_reply_error(req, 404, "no_host", "no host \"%s\"", host);
		return;
	}
	if ((rc = gpuquarantine_clear(host, device)) == -1) {
		http_reply_error(req, 500, "state", "the broker cannot write "
		    "its state");
		return;
	}
	if (rc == 0) {
		http_reply_error(req, 404, "not_quarantined", "GPU %s on %s "
		    "is not quarantined", device, host);
		return;
	}
	broker_audit(c.login.user, req->peer_str, "gpu clear", host, "ok",
	    "GPU %s back in service", device);
	http_reply_json(req, 200, json_pack("{s:s,s:s,s:s}", "host", host,
	    "device", device, "verdict", "cleared"));
}
