/* SPDX-License-Identifier: ISC */
/*
 * The API's helpdesk routes: sessions, users, the pools' desktops, their
 * power, repair and screenshots, the event stream.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker.h"
#include "api.h"
#include "http.h"
#include "log.h"
#include "virt.h"
#include "xmalloc.h"

#define API_SCREEN_MAX		15	/* a desktop's screens: as the client's monitors */

static struct session *
api_session(struct http_req *req)
{
	struct session	*s = NULL;
	uint64_t	 id;
	char		*end;

	id = strtoull(req->params[0], &end, 16);
	if (strlen(req->params[0]) == 16 && *end == '\0')
		s = session_find(id);
	if (s == NULL || !session_is_live(s))
		http_reply_error(req, 404, "no_session", "no live session "
		    "\"%s\"", req->params[0]);
	return s;
}

void
api_sessions(struct http_req *req)
{
	struct api_caller	 c;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	http_reply_json(req, 200, json_pack("{s:o}", "sessions",
	    session_list_json(NULL)));
}

void
api_session_disconnect(struct http_req *req)
{
	struct api_caller	 c;
	struct session		*s;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (s = api_session(req)) == NULL)
		return;
	session_disconnect(s, c.login.user);
	http_reply_json(req, 200, json_pack("{s:b,s:o}", "disconnected", 1,
	    "session", session_json(s)));
}

void
api_session_end(struct http_req *req)
{
	struct api_caller	 c;
	struct session		*s;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (s = api_session(req)) == NULL)
		return;
	session_end(s, c.login.user, "ended by the helpdesk");
	http_reply_json(req, 200, json_pack("{s:b}", "ended", 1));
}

/* Force logout: every login and session of a user. */
void
api_user_logout(struct http_req *req)
{
	struct api_caller	 c;
	const char		*user = req->params[0];
	int			 n, tokens;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	if (!auth_valid_name(user)) {
		http_reply_error(req, 400, "bad_request", "\"%s\" is not a "
		    "user name", user);
		return;
	}
	/* Logins carry the account's own name; a name given in another
	 * case is the same account (the users file, case-blind NSS). */
	n = session_end_user(user, NULL, c.login.user, "forced logout");
	tokens = db_token_del_user(broker->db, user);
	broker_audit(c.login.user, req->peer_str, "force logout", user, "ok",
	    "%d logins and %d sessions ended", tokens < 0 ? 0 : tokens, n);
	http_reply_json(req, 200, json_pack("{s:i,s:i}", "logins_ended",
	    tokens < 0 ? 0 : tokens, "sessions_ended", n));
}

#define API_USER_LOGINS	20	/* recent logins in a user lookup */

/* The user a route names, checked; NULL after a 400. */
static const char *
api_user_name(struct http_req *req)
{
	if (auth_valid_name(req->params[0]))
		return req->params[0];
	http_reply_error(req, 400, "bad_request", "\"%s\" is not a user name",
	    req->params[0]);
	return NULL;
}

/* Everything the helpdesk asks about a user: their sessions and desktops,
 * their recent logins, whether the name is held back by failed logins. */
void
api_user(struct http_req *req)
{
	struct api_caller	 c;
	struct audit_filter	 f = { 0 };
	const char		*user;
	char			 ukey[THROTTLE_KEY_MAX + 1], akey[8];
	json_t			*sessions, *desktops, *logins;
	unsigned		 wait;
	int			 locked = 0;
	time_t			 now = time(NULL);

	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (user = api_user_name(req)) == NULL)
		return;
	sessions = session_list_json(user);
	desktops = pool_guest_list_json(user);
	f.actor = user;
	f.action = "login";
	if ((logins = db_audit_list(broker->db, 0, API_USER_LOGINS, &f, 0,
	    INT64_MAX)) == NULL) {
		json_decref(sessions);
		json_decref(desktops);
		http_reply_error(req, 500, "state", "the broker cannot read "
		    "its audit log");
		return;
	}
	api_login_keys(user, "", ukey, sizeof(ukey), akey, sizeof(akey));
	wait = throttle_wait(broker->throttle, ukey, now, &locked);
	http_reply_json(req, 200, json_pack("{s:s,s:o,s:o,s:o,s:{s:i,s:b,"
	    "s:i}}", "user", user, "sessions", sessions, "desktops", desktops,
	    "logins", logins, "throttle", "failures",
	    (int)throttle_failures(broker->throttle, ukey, now), "locked",
	    locked, "wait", (int)wait));
}

/* Forgets a user name's failed logins: its delay or lockout ends. */
void
api_user_unlock(struct http_req *req)
{
	struct api_caller	 c;
	const char		*user;
	char			 ukey[THROTTLE_KEY_MAX + 1], akey[8];
	unsigned		 failures;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (user = api_user_name(req)) == NULL)
		return;
	api_login_keys(user, "", ukey, sizeof(ukey), akey, sizeof(akey));
	failures = throttle_failures(broker->throttle, ukey, time(NULL));
	throttle_clear(broker->throttle, ukey);
	if (db_throttle_del(broker->db, ukey) == -1)
		log_warnx("unlock %s: could not delete its saved count", user);
	broker_audit(c.login.user, req->peer_str, "unlock", user, "ok",
	    "%u failed logins forgotten", failures);
	http_reply_json(req, 200, json_pack("{s:b,s:i}", "unlocked", 1,
	    "failures_cleared", (int)failures));
}

void
api_guests(struct http_req *req)
{
	struct api_caller	 c;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	http_reply_json(req, 200, json_pack("{s:o,s:o}", "desktops",
	    pool_guest_list_json(NULL), "pools", pool_summary_json()));
}

/* The live stream of changes (events.c), for the helpdesk. */
void
api_events(struct http_req *req)
{
	struct api_caller	 c;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	events_subscribe(req, c.login.roles);
}

/* A GPU desktop starts only with a GPU the broker gave it, and with its
 * pool's SPICE policy. */
static int
api_gpu_start(struct conf_pool *p, const char *name, struct api_power *a)
{
	struct domxml_opts	xml;

	memset(&xml, 0, sizeof(xml));
	pool_spice_policy(p, &xml);
	return gpualloc_start(p, pool_desktop_host(p, name), name, 0, &xml,
	    api_power_done, a);
}

/* The desktop a helpdesk route names: pool, then guest name. */
static struct conf_pool *
api_helpdesk_desktop(struct http_req *req)
{
	struct conf_pool	*p;
	size_t			 i;

	if ((p = conf_pool_find(broker->conf, req->params[0])) == NULL) {
		http_reply_error(req, 404, "no_pool", "no pool \"%s\"",
		    req->params[0]);
		return NULL;
	}
	if (pool_guest_find(p, req->params[1]) != NULL)
		return p;
	for (i = 0; i < p->nassign; i++)
		if (strcmp(p->assign[i].guest, req->params[1]) == 0)
			return p;
	http_reply_error(req, 404, "no_desktop", "pool \"%s\" has no desktop "
	    "\"%s\"", p->name, req->params[1]);
	return NULL;
}

/* An admin repairs a broken guest: cleaned again, then free (202: the
 * outcome comes as a desktop event). */
static void
api_repair(struct http_req *req)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	struct guest		*g;
	char			 target[BROKER_NAME_MAX + 130], err[256];

	if (api_auth(req, ROLE_ADMIN, &c) == -1 ||
	    (p = api_helpdesk_desktop(req)) == NULL)
		return;
	snprintf(target, sizeof(target), "%s/%s", p->name, req->params[1]);
	if (pool_repair(p, req->params[1], err, sizeof(err)) == -1) {
		broker_audit(c.login.user, req->peer_str, "repair", target,
		    "refused", "%s", err);
		http_reply_error(req, 409, "not_broken", "%s", err);
		return;
	}
	broker_audit(c.login.user, req->peer_str, "repair", target, "ok",
	    "cleaning again");
	g = pool_guest_find(p, req->params[1]);
	http_reply_json(req, 202, json_pack("{s:s,s:s}", "repairing", target,
	    "state", g != NULL ? pool_guest_state_name(g->state) : "removed"));
}

/* A power action, or "start", on a desktop of a pool. */
void
api_power(struct http_req *req)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	struct api_power	*a;
	const char		*action = req->params[2];
	enum virt_power		 op = VIRT_POWER_RESET;
	int			 start, rc;

	if (strcmp(action, "repair") == 0) {
		api_repair(req);
		return;
	}
	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (p = api_helpdesk_desktop(req)) == NULL)
		return;
	start = strcmp(action, "start") == 0;
	if (!start && (virt_power_parse(action, &op) == -1 ||
	    op == VIRT_POWER_DESTROY)) {
		http_reply_error(req, 404, "no_action", "actions are reset, "
		    "reboot, shutdown and start");
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->req = req;
	a->staff = 1;
	strlcpy(a->actor, c.login.user, sizeof(a->actor));
	strlcpy(a->action, action, sizeof(a->action));
	snprintf(a->target, sizeof(a->target), "%s/%s", p->name,
	    req->params[1]);
	http_req_hold(req);
	if (start && p->gpu.mode != GPU_MODE_NONE)
		rc = api_gpu_start(p, req->params[1], a);
	else if (start)
		rc = virt_start(pool_desktop_host(p, req->params[1])->virt,
		    req->params[1], api_power_done, a);
	else
		rc = virt_power(pool_desktop_host(p, req->params[1])->virt,
		    req->params[1], op, api_power_done, a);
	if (rc == -1) {
		free(a);
		http_reply_error(req, 503, "busy", "the broker is busy");
		http_req_release(req);
	}
}

static void
api_screenshot_done(const struct virt_result *res, void *arg)
{
	struct http_req	*req = arg;

	if (!res->ok)
		http_reply_error(req, 502, "libvirt", "%s", res->error);
	else
		http_reply_data(req, 200, res->image_mime != NULL ?
		    res->image_mime : "image/png", res->image, res->image_len,
		    NULL);
	http_req_release(req);
}

void
api_screenshot(struct http_req *req)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	const char		*v, *errstr = NULL;
	long long		 screen = 0;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (p = api_helpdesk_desktop(req)) == NULL)
		return;
	if ((v = http_query(req, "screen")) != NULL)
		screen = strtonum(v, 0, API_SCREEN_MAX, &errstr);
	if (errstr != NULL) {
		http_reply_error(req, 400, "bad_request", "screen is 0 to %d",
		    API_SCREEN_MAX);
		return;
	}
	audit_screenshot(c.login.user, req->peer_str, p->name, req->params[1],
	    (unsigned int)screen);
	http_req_hold(req);
	if (virt_screenshot(pool_desktop_host(p, req->params[1])->virt,
	    req->params[1], (unsigned int)screen, api_screenshot_done,
	    req) == -1) {
		http_reply_error(req, 503, "busy", "the broker is busy");
		http_req_release(req);
	}
}
