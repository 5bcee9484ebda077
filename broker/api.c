/* SPDX-License-Identifier: ISC */
/*
 * The HTTPS JSON API under /api/v1 (docs/broker-api.md documents every
 * route): the route table, who the caller of a request is and what their
 * login may do, and the replies the route groups share. The routes live by
 * group: api-login.c, api-totp.c, api-desktops.c, api-helpdesk.c and
 * api-admin.c. Handlers check input fully before changing anything, so a
 * bad request changes nothing.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <openssl/evp.h>

#include "broker.h"
#include "api.h"
#include "encode.h"
#include "http.h"
#include "virt.h"

#define API_CSRF_HEADER		"X-Paprika-Request"

void
api_token_hash(const char *token, char *out)
{
	uint8_t		md[32];
	unsigned	mdlen = sizeof(md);

	EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), out, BROKER_TOKEN_HEX + 1);
}

const char *
api_header(struct http_req *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req->ev),
	    name);
}

/* The login of a token of the right length: 0, 1 if none, -1 on error. */
static int
api_login_of(const char *token, struct api_caller *c)
{
	api_token_hash(token, c->token);
	return db_token_get(broker->db, c->token, time(NULL), &c->login);
}

/*
 * Finds the caller from the bearer token or the portal's cookie and checks
 * its role; replies and returns -1 when it does not hold. changes: the
 * route changes state even when it is a GET (console.vv), so a cookie
 * needs the anti-CSRF header there too.
 */
int
api_auth_as(struct http_req *req, unsigned role, int changes,
    struct api_caller *c)
{
	const char	*token = req->bearer;
	int		 rc;

	if (token == NULL) {
		token = req->cookie_token;
		/* A cookie rides along on any request: state changes from
		 * the portal must also carry a header no form or link can
		 * set. */
		if (token != NULL && (changes || req->method !=
		    EVHTTP_REQ_GET) && api_header(req, API_CSRF_HEADER) ==
		    NULL) {
			http_reply_error(req, 403, "csrf", "requests "
			    "authenticated by cookie need the %s header",
			    API_CSRF_HEADER);
			return -1;
		}
	}
	if (token == NULL || strlen(token) != BROKER_TOKEN_HEX) {
		http_add_header(req, "WWW-Authenticate", "Bearer");
		http_reply_error(req, 401, "unauthenticated", "log in first: "
		    "POST /api/v1/login");
		return -1;
	}
	rc = api_login_of(token, c);
	if (rc == -1) {
		http_reply_error(req, 500, "state", "the broker cannot read "
		    "its state");
		return -1;
	}
	if (rc == 1) {
		http_add_header(req, "WWW-Authenticate", "Bearer");
		http_reply_error(req, 401, "unauthenticated", "the login has "
		    "expired or was ended: log in again");
		return -1;
	}
	if ((c->login.roles & ROLE_ENROLLING) && !(role & ROLE_ENROLLING)) {
		http_reply_error(req, 403, "totp_enrol_required", "enrol a "
		    "second factor first: POST /api/v1/totp/enroll");
		return -1;
	}
	if ((c->login.roles & role) == 0) {
		http_reply_error(req, 403, "forbidden", "this needs the %s "
		    "role", role == ROLE_ADMIN ? "admin" : "helpdesk");
		return -1;
	}
	return 0;
}

/* api_auth_as for a route whose GET only reads. */
int
api_auth(struct http_req *req, unsigned role, struct api_caller *c)
{
	return api_auth_as(req, role, 0, c);
}

/*
 * Replies 200 with json, which holds a secret (a token, a SPICE password):
 * the text and json's strings are wiped before they are freed.
 */
void
api_reply_secret(struct http_req *req, json_t *json)
{
	char	*text;
	size_t	 len;

	if ((text = json_dumps(json, JSON_COMPACT)) == NULL)
		http_reply_error(req, 500, "internal", "out of memory");
	else {
		len = strlen(text);
		text[len++] = '\n';	/* the NUL, as http_reply_json does */
		http_reply_data(req, 200, "application/json", text, len,
		    NULL);
		explicit_bzero(text, len);
		free(text);
	}
	json_decref(json);
}

json_t *
api_roles(unsigned roles)
{
	json_t	*a = json_array();

	json_array_append_new(a, json_string("user"));
	if (roles & ROLE_HELPDESK)
		json_array_append_new(a, json_string("helpdesk"));
	if (roles & ROLE_ADMIN)
		json_array_append_new(a, json_string("admin"));
	return a;
}

void
api_clear_cookie(struct http_req *req)
{
	char	cookie[256];

	snprintf(cookie, sizeof(cookie), "%s=; Path=/; Max-Age=0; Secure; "
	    "HttpOnly; SameSite=Strict", broker->conf->cookie);
	http_add_header(req, "Set-Cookie", cookie);
}
/* Whether the request comes from a helpdesk or admin login; no reply. */
static int
api_is_staff(struct http_req *req)
{
	struct api_caller	 c;
	const char		*token;

	token = req->bearer != NULL ? req->bearer : req->cookie_token;
	return token != NULL && strlen(token) == BROKER_TOKEN_HEX &&
	    api_login_of(token, &c) == 0 && (c.login.roles & ROLE_HELPDESK);
}

/*
 * Up when the broker reads its state and reaches a host (or has none);
 * 503 down otherwise. Only a helpdesk or admin login learns the hosts:
 * their names are nobody else's business.
 */
static void
api_health(struct http_req *req)
{
	json_t	*hosts = NULL;
	size_t	 i;
	int	 any = broker->conf->nhosts == 0, up;

	/* A standby serves what it forwards; one that cannot, or cannot
	 * reach the leader, gets no clients from a load balancer. */
	if (!cluster_leading()) {
		if (forward_possible())
			forward_health(req);
		else
			http_reply_json(req, 503, json_pack("{s:s,s:s,s:s,s:s}",
			    "status", "standby", "role", "standby", "leader",
			    cluster_leader(), "reason", "this broker cannot "
			    "forward: no leader known over https, or no "
			    "cluster_ca"));
		return;
	}

	if (api_is_staff(req))
		hosts = json_object();
	for (i = 0; i < broker->conf->nhosts; i++) {
		up = virt_host_is_up(broker->conf->hosts[i].virt);
		any |= up;
		if (hosts != NULL)
			json_object_set_new(hosts, broker->conf->hosts[i].name,
			    json_boolean(up));
	}
	up = any && db_schema_version(broker->db) != -1;
	/* Strangers learn up or down; a role only where there are others. */
	http_reply_json(req, up ? 200 : 503, json_pack("{s:s,s:s*,s:o*}",
	    "status", up ? "up" : "down", "role", cluster_shared() ? "leader" :
	    NULL, "hosts", hosts));
}

static void
api_metrics(struct http_req *req)
{
	size_t	i;

	for (i = 0; i < broker->conf->nmetrics_nets; i++)
		if (netaddr_net_contains(&broker->conf->metrics_nets[i],
		    (struct sockaddr *)&req->peer))
			break;
	if (i == broker->conf->nmetrics_nets) {
		http_reply_error(req, 403, "forbidden", "metrics are served "
		    "only to metrics_networks");
		return;
	}
	metrics_reply(req);
}

#define GET	EVHTTP_REQ_GET
#define POST	EVHTTP_REQ_POST

static const struct http_route api_route_table[] = {
	{ POST, "/api/v1/login", api_login, 1 },
	{ POST, "/api/v1/logout", api_logout, 0 },
	{ GET, "/api/v1/me", api_me, 0 },
	{ GET, "/api/v1/totp", api_totp_status, 0 },
	{ POST, "/api/v1/totp/enroll", api_totp_enroll, 0 },
	{ GET, "/api/v1/totp/qr.svg", api_totp_qr, 0 },
	{ POST, "/api/v1/totp/confirm", api_totp_confirm, 1 },
	{ GET, "/api/v1/desktops", api_desktops, 0 },
	{ POST, "/api/v1/desktops/{id}/connect", api_connect, 0 },
	{ GET, "/api/v1/desktops/{id}/console.vv", api_console_vv, 0 },
	{ POST, "/api/v1/desktops/{id}/end", api_desktop_end, 0 },
	{ POST, "/api/v1/desktops/{id}/reset", api_desktop_reset, 0 },
	{ GET, "/api/v1/sessions", api_sessions, 0 },
	{ POST, "/api/v1/sessions/{id}/disconnect", api_session_disconnect,
	    0 },
	{ POST, "/api/v1/sessions/{id}/end", api_session_end, 0 },
	{ POST, "/api/v1/users/{name}/logout", api_user_logout, 0 },
	{ GET, "/api/v1/pools", api_guests, 0 },
	{ POST, "/api/v1/pools/{pool}/desktops/{name}/{action}", api_power,
	    0 },
	{ GET, "/api/v1/pools/{pool}/desktops/{name}/screenshot",
	    api_screenshot, 0 },
	{ GET, "/api/v1/audit", api_audit, 0 },
	{ GET, "/api/v1/audit/export", api_audit_export, 0 },
	{ GET, "/api/v1/gpus", api_gpus, 0 },
	{ POST, "/api/v1/gpus/{host}/{device}/clear", api_gpu_clear, 0 },
	{ GET, "/api/v1/health", api_health, 0 },
	{ GET, "/api/v1/events", api_events, 0 },
	{ GET, "/api/v1/users/{name}", api_user, 0 },
	{ POST, "/api/v1/users/{name}/unlock", api_user_unlock, 0 },
	{ GET, "/metrics", api_metrics, 0 },
	{ GET, "/", portal_index, 0 },
	{ GET, "/portal/{file}", portal_file, 0 },
	{ GET, "/spice-html5/{file}", portal_spice_file, 0 },
	{ GET, "/spice-html5/thirdparty/{file}", portal_spice_thirdparty, 0 },
	{ 0, NULL, NULL, 0 },
};

const struct http_route *const api_routes = api_route_table;

/*
 * A standby broker has no sessions or guests loaded: it answers the health
 * check, metrics and the portal's files itself and forwards the rest to
 * the leader (forward.c), or refuses it with the leader's URL when it
 * cannot. A login it checks the password of itself first, when it can
 * (api_login_here). A forwarded request names its client, and a forwarded
 * login may carry the standby's verdict on its password; only a leader
 * takes either.
 */
int
api_gate(struct http_req *req, const struct http_route *rt)
{
	const char		*fwd = api_header(req, FORWARD_HEADER);
	const char		*verified = api_header(req, VERIFIED_HEADER);
	struct forward_verdict	 vd;
	char			 retry[16];
	int			 local;

	local = rt->handler == api_health || rt->handler == api_metrics ||
	    rt->handler == portal_index || rt->handler == portal_file ||
	    rt->handler == portal_spice_file ||
	    rt->handler == portal_spice_thirdparty;
	if (verified != NULL && cluster_leading() && (fwd == NULL ||
	    rt->handler != api_login)) {
		http_reply_error(req, 400, "bad_verdict", "the %s header comes "
		    "only with a login a standby forwards", VERIFIED_HEADER);
		return -1;
	}
	if (fwd != NULL && cluster_leading()) {
		if (forward_accept(req, fwd) == -1)
			return -1;
		if (verified == NULL)
			return 0;
		if (forward_verdict_accept(req, fwd, verified, &vd) == -1)
			return -1;
		if (api_login_verdict(req, &vd) == -1) {
			explicit_bzero(&vd, sizeof(vd));
			http_reply_error(req, 503, "overloaded", "out of memory");
			return -1;
		}
		explicit_bzero(&vd, sizeof(vd));
		return 0;
	}
	snprintf(retry, sizeof(retry), "%u", broker->conf->lease_time);
	if (fwd != NULL || verified != NULL) {
		/* Never forwarded twice: two standbys would bounce it. */
		http_add_header(req, "Retry-After", retry);
		http_reply_error(req, 503, "standby", "a forwarded request "
		    "reached a broker that does not lead; try again");
		return -1;
	}
	if (local || cluster_leading())
		return 0;
	if (rt->handler == api_login && api_login_here())
		return 0;
	if (forward_request(req) == 0) {
		/* Its password goes to the leader unchecked. */
		if (rt->handler == api_login)
			forward_note_unchecked();
		return -1;
	}
	http_add_header(req, "Retry-After", retry);
	http_reply_error(req, 503, "standby", "this broker stands by; %s "
	    "serves desktops", cluster_leader()[0] != '\0' ?
	    cluster_leader() : "the leading broker");
	return -1;
}
