/* SPDX-License-Identifier: ISC */
/*
 * The API's routes for a user's own desktops: the list, connect and
 * console.vv, end and reset.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker.h"
#include "api.h"
#include "http.h"
#include "virt.h"
#include "xmalloc.h"

static json_t *
api_desktop_json(const struct api_caller *c, struct conf_pool *p)
{
	struct session	*s = session_find_live(c->login.user, p);
	const char	*state;
	json_t		*o;
	int		 up = pool_host_up(p) != NULL;

	if (s != NULL)
		state = session_state_name(s->state);
	else if (!up)
		state = "unavailable";
	else if (p->kind != POOL_STATIC && pool_available(p) == 0)
		state = "full";
	else
		state = "available";
	o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b}", "id", p->name,
	    "title", p->title, "kind", conf_pool_kind_name(p->kind), "state",
	    state, "host_up", up, "can_reset", p->user_reset, "clipboard",
	    p->clipboard, "usbredir", p->usbredir, "browser", p->browser);
	if (s != NULL)
		json_object_set_new(o, "session", session_json(s));
	/* The host's own error quotes libvirt: it is in the log. */
	if (!up)
		json_object_set_new(o, "reason", json_string(p->nhosts == 1 ?
		    "the pool's host is unreachable at the moment" : "every "
		    "host of the pool is unreachable at the moment"));
	return o;
}

void
api_desktops(struct http_req *req)
{
	struct api_caller	 c;
	json_t			*list;
	size_t			 i;

	if (api_auth(req, ROLE_USER, &c) == -1)
		return;
	list = json_array();
	for (i = 0; i < broker->conf->npools; i++)
		if (conf_entitled(&broker->conf->pools[i], &c.login))
			json_array_append_new(list, api_desktop_json(&c,
			    &broker->conf->pools[i]));
	http_reply_json(req, 200, json_pack("{s:o}", "desktops", list));
}

static struct conf_pool *
api_pool(struct http_req *req, const struct api_caller *c)
{
	struct conf_pool	*p;

	p = conf_pool_find(broker->conf, req->params[0]);
	if (p == NULL || !conf_entitled(p, &c->login)) {
		http_reply_error(req, 404, "no_desktop", "you have no desktop "
		    "\"%s\"", req->params[0]);
		return NULL;
	}
	return p;
}

struct api_connect {
	struct http_req	*req;
	int		 vv;
};

static void
api_connect_granted(json_t *conn, const char *error, void *arg)
{
	struct api_connect	*a = arg;
	char			*vv;
	static const char *const vv_headers[] = {
		"Content-Disposition: attachment; filename=\"console.vv\"",
		NULL
	};

	if (conn == NULL)
		http_reply_error(a->req, 502, "connect_failed", "%s", error);
	else if (a->vv) {
		vv = grant_vv(conn);
		http_reply_data(a->req, 200, "application/x-virt-viewer", vv,
		    strlen(vv), vv_headers);
		explicit_bzero(vv, strlen(vv));
		free(vv);
		json_decref(conn);
	} else
		api_reply_secret(a->req, conn);
	http_req_release(a->req);
	free(a);
}

#define API_WAIT_MAX	60	/* seconds a connect may wait for its desktop */

struct api_wait {
	struct http_req	*req;
	int		 vv;
	uint64_t	 session;
};

static void	api_connect_answer(struct http_req *req, int vv,
		    struct session *s, unsigned wait);

/* The desktop left its start (or the wait ran out): answer now. */
static void
api_connect_resume(void *arg)
{
	struct api_wait	*w = arg;
	struct session	*s;

	if (!http_req_gone(w->req)) {
		if ((s = session_find(w->session)) == NULL ||
		    !session_is_live(s))
			http_reply_error(w->req, 502, "start_failed", "the "
			    "session ended while the desktop was starting");
		else
			api_connect_answer(w->req, w->vv, s, 0);
	}
	http_req_release(w->req);
	free(w);
}

/*
 * Answers a connect for session s: 202 with the progress while it starts
 * (after waiting up to wait seconds for it), 502 if it failed, else a
 * fresh connection.
 */
static void
api_connect_answer(struct http_req *req, int vv, struct session *s,
    unsigned wait)
{
	struct api_connect	*a;
	struct api_wait		*w;

	switch (s->state) {
	case SESSION_STARTING:
		if (wait > 0) {
			w = xcalloc(1, sizeof(*w));
			w->req = req;
			w->vv = vv;
			w->session = s->id;
			http_req_hold(req);
			session_wait(s, wait, api_connect_resume, w);
			return;
		}
		http_add_header(req, "Retry-After", "1");
		http_reply_json(req, 202, json_pack("{s:s,s:i,s:s,s:o}",
		    "state", "starting", "progress", (int)s->progress, "step",
		    s->step, "session", session_json(s)));
		return;
	case SESSION_FAILED:
		http_reply_error(req, 502, "start_failed", "the desktop could "
		    "not be started: %s", s->error);
		return;
	default:
		break;
	}
	a = xcalloc(1, sizeof(*a));
	a->req = req;
	a->vv = vv;
	http_req_hold(req);
	if (grant_new(s, (struct sockaddr *)&req->peer, api_connect_granted,
	    a) == -1) {
		free(a);
		http_reply_error(req, 503, "busy", "the broker is busy");
		http_req_release(req);
	}
}

static void
api_connect_common(struct http_req *req, int vv)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	struct session		*s;
	const char		*v;
	char			 err[256], *end;
	long			 wait = 0;
	int			 status = 500;

	/* Both start a session and set a SPICE password, console.vv too. */
	if (api_auth_as(req, ROLE_USER, 1, &c) == -1 || (p = api_pool(req,
	    &c)) == NULL)
		return;
	if ((v = http_query(req, "wait")) != NULL) {
		wait = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || wait < 0 ||
		    wait > API_WAIT_MAX) {
			http_reply_error(req, 400, "bad_request", "wait is 0 "
			    "to %d seconds", API_WAIT_MAX);
			return;
		}
	}
	s = session_connect(&c.login, c.token, p, req->peer_str, &status,
	    err, sizeof(err));
	if (s == NULL) {
		if (status == 503)
			http_add_header(req, "Retry-After", "10");
		http_reply_error(req, status, status == 404 ? "no_desktop" :
		    "unavailable", "%s", err);
		return;
	}
	api_connect_answer(req, vv, s, (unsigned)wait);
}

void
api_connect(struct http_req *req)
{
	api_connect_common(req, 0);
}

void
api_console_vv(struct http_req *req)
{
	api_connect_common(req, 1);
}

/* The user ends their own session on a desktop. */
void
api_desktop_end(struct http_req *req)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	struct session		*s;

	if (api_auth(req, ROLE_USER, &c) == -1 || (p = api_pool(req,
	    &c)) == NULL)
		return;
	if ((s = session_find_live(c.login.user, p)) == NULL) {
		http_reply_error(req, 404, "no_session", "you have no session "
		    "on \"%s\"", p->name);
		return;
	}
	session_end(s, c.login.user, "ended by the user");
	http_reply_json(req, 200, json_pack("{s:b}", "ended", 1));
}

void
api_power_done(const struct virt_result *res, void *arg)
{
	struct api_power	*a = arg;

	broker_audit(a->actor, a->req->peer_str, a->action, a->target,
	    res->ok ? "ok" : "failed", "%s", res->ok ? "" : res->error);
	if (res->ok)
		http_reply_json(a->req, 200, json_pack("{s:s,s:s}", "done",
		    a->action, "state", virt_state_name(res->state)));
	else
		http_reply_error(a->req, 502, "libvirt", "%s", a->staff ?
		    res->error : virt_result_reason(res));
	http_req_release(a->req);
	free(a);
}

/* The user resets their own desktop, where the pool allows it. */
void
api_desktop_reset(struct http_req *req)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	struct session		*s;
	struct api_power	*a;

	if (api_auth(req, ROLE_USER, &c) == -1 || (p = api_pool(req,
	    &c)) == NULL)
		return;
	if (!p->user_reset) {
		http_reply_error(req, 403, "reset_not_allowed", "desktops of "
		    "\"%s\" can only be reset by the helpdesk", p->name);
		return;
	}
	if ((s = session_find_live(c.login.user, p)) == NULL ||
	    s->state == SESSION_STARTING || s->state == SESSION_FAILED) {
		http_reply_error(req, 409, "not_running", "you have no running "
		    "desktop on \"%s\" to reset", p->name);
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->req = req;
	a->staff = (c.login.roles & ROLE_HELPDESK) != 0;
	strlcpy(a->actor, c.login.user, sizeof(a->actor));
	strlcpy(a->action, "reset", sizeof(a->action));
	snprintf(a->target, sizeof(a->target), "%s/%s", p->name, s->guest);
	http_req_hold(req);
	if (virt_power(s->host->virt, s->guest, VIRT_POWER_RESET,
	    api_power_done, a) == -1) {
		free(a);
		http_reply_error(req, 503, "busy", "the broker is busy");
		http_req_release(req);
	}
}
