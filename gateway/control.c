/* SPDX-License-Identifier: ISC */
/*
 * The control socket: root (or the daemon's own user) sends one JSON object
 * on a line, the gateway answers with one JSON object and closes.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <jansson.h>

#include "control-parse.h"
#include "gateway.h"
#include "log.h"

static json_t *
control_error(const char *fmt, const char *arg)
{
	char	msg[1024];

	snprintf(msg, sizeof msg, fmt, arg);
	return json_pack("{s:s}", "error", msg);
}

/* On each worker: adds its tunnels to their sessions, made as they come. */
static void
control_sessions_here(void *arg)
{
	json_t		*byid = arg, *o;
	struct tunnel	*t;
	struct session	*s;
	char		 id[24], peer[NETADDR_STRLEN], up[NETADDR_STRLEN];

	TAILQ_FOREACH(t, &gw->tunnels, entry) {
		/* Its session lives while it holds this worker's tunnel. */
		if ((s = t->session) == NULL)
			continue;
		snprintf(id, sizeof id, "%016" PRIx64, s->id);
		if ((o = json_object_get(byid, id)) == NULL) {
			o = json_pack("{s:s,s:s,s:I,s:[]}", "session", id,
			    "user", s->user, "since", (json_int_t)s->since,
			    "tunnels");
			if (o == NULL || json_object_set_new(byid, id, o) == -1)
				continue;
		}
		netaddr_str(&t->peer.sa, peer, sizeof peer);
		netaddr_str(&t->target.sa, up, sizeof up);
		json_array_append_new(json_object_get(o, "tunnels"), json_pack(
		    "{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:f,s:i}",
		    "id", (json_int_t)t->id,
		    "listener", listener_name(t->kind),
		    "state", tunnel_state_name(t->state),
		    "peer", peer, "upstream", up,
		    "bytes_up", (json_int_t)t->up.bytes,
		    "bytes_down", (json_int_t)t->down.bytes,
		    "age", timespec_since(&t->started),
		    "worker", (int)gw->id));
	}
}

static json_t *
control_sessions(void)
{
	json_t		*byid, *list, *o;
	const char	*id;

	if ((byid = json_object()) == NULL || (list = json_array()) == NULL) {
		json_decref(byid);
		return NULL;
	}
	worker_run_all(control_sessions_here, byid);
	json_object_foreach(byid, id, o)
		json_array_append(list, o);
	json_decref(byid);
	return json_pack("{s:o}", "sessions", list);
}

static json_t *
control_revoke(const struct control_request *req)
{
	struct ticket	 tk;
	unsigned int	 n;
	char		 buf[24];
	int		 rc;

	if (req->ticket != NULL) {
		/* Verified, so nobody can fill the list with made-up ids. */
		rc = ticket_decode(req->ticket, strlen(req->ticket), gw->keys,
		    time(NULL), &tk);
		if (rc != TICKET_OK && rc != TICKET_EXPIRED)
			return control_error("cannot revoke: %s",
			    ticket_strerror(rc));
		if (revoke_add_ticket(tk.ticket_id, tk.expiry) == -1)
			return control_error("%s", "cannot save the revocation");
		snprintf(buf, sizeof buf, "%016" PRIx64, tk.ticket_id);
		log_info("control: revoked ticket %s of session %016" PRIx64
		    " (user %s)", buf, tk.session_id, tk.user);
		return json_pack("{s:s}", "revoked_ticket", buf);
	}
	if (revoke_add_session(req->session, time(NULL) + req->seconds) == -1)
		return control_error("%s", "cannot save the revocation");
	n = session_kill(req->session, "session revoked");
	log_info("control: revoked session %016" PRIx64 ", closed %u "
	    "tunnel(s)", req->session, n);
	return json_pack("{s:i}", "closed", n);
}

static json_t *
control_dispatch(const struct control_request *req)
{
	char		 err[512];
	char		*text;
	unsigned int	 n;
	json_t		*o;

	switch (req->command) {
	case CONTROL_SESSIONS:
		return control_sessions();
	case CONTROL_KILL:
		n = session_kill(req->session, "killed by control");
		log_info("control: killed session %016" PRIx64 ", closed %u "
		    "tunnel(s)", req->session, n);
		return json_pack("{s:i}", "closed", n);
	case CONTROL_REVOKE:
		return control_revoke(req);
	case CONTROL_RELOAD:
		if (gateway_reload(err, sizeof err) == -1)
			return control_error("reload failed: %s", err);
		return json_pack("{s:b}", "reloaded", 1);
	case CONTROL_METRICS:
		if ((text = metrics_render()) == NULL)
			return control_error("%s", "out of memory");
		o = json_pack("{s:s}", "metrics", text);
		free(text);
		return o;
	case CONTROL_STATUS:
		return json_pack("{s:s,s:I,s:i,s:i,s:i,s:i,s:b}",
		    "version", PACKAGE_VERSION,
		    "uptime", (json_int_t)(time(NULL) - gw->started),
		    "connections", __atomic_load_n(&shared.ntunnels,
		    __ATOMIC_RELAXED),
		    "pending", pending_count(),
		    "sessions", session_count(),
		    "revocations", (int)revoke_count(),
		    "draining", gw->draining);
	}
	return control_error("%s", "unknown command");
}

/* A connection on the Unix socket (arg NULL) or a TLS one ends. */
static void
control_end(struct bufferevent *bev, void *arg)
{
	if (arg != NULL)
		control_tls_end(arg);
	else
		bufferevent_free(bev);
}

static void
control_done(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		control_end(bev, arg);
}

static void
control_event(struct bufferevent *bev, short what, void *arg)
{
	control_end(bev, arg);
}

void
control_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct control_request	 req;
	json_t			*reply;
	char			*line, *out, err[1024];
	size_t			 len;

	if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) == NULL) {
		if (evbuffer_get_length(in) > CONTROL_REQUEST_MAX)
			control_end(bev, arg);
		return;
	}
	bufferevent_disable(bev, EV_READ);
	if (control_parse(line, len, &req, err, sizeof err) == -1)
		reply = control_error("%s", err);
	else
		reply = control_dispatch(&req);
	control_request_clear(&req);
	/* The line may hold a ticket to revoke. */
	explicit_bzero(line, len);
	free(line);
	if (reply == NULL ||
	    (out = json_dumps(reply, JSON_COMPACT)) == NULL) {
		json_decref(reply);
		control_end(bev, arg);
		return;
	}
	json_decref(reply);
	bufferevent_setcb(bev, NULL, control_done, control_event, arg);
	evbuffer_add_printf(bufferevent_get_output(bev), "%s\n", out);
	free(out);
}

static void
control_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct bufferevent	*bev;
	struct ucred		 cred;
	struct timeval		 tv = { CONTROL_TIMEOUT, 0 };
	socklen_t		 len = sizeof cred;
	int			 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		log_warnx("control: refused connection from uid %d",
		    (int)cred.uid);
		close(fd);
		return;
	}
	if ((bev = bufferevent_socket_new(gw->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, control_read, NULL, control_event, NULL);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ);
}

int
control_open(const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof sun.sun_path) >=
	    sizeof sun.sun_path) {
		log_warnx("control socket path too long: %s", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control socket");
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("unlink %s", path);
		close(fd);
		return -1;
	}
	old = umask(S_IRWXG | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		log_warn("bind %s", path);
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	if (listen(fd, 16) == -1) {
		log_warn("listen %s", path);
		close(fd);
		return -1;
	}
	gw->control_fd = fd;
	return 0;
}

void
control_start(void)
{
	control_tls_start();
	if (gw->control_fd == -1)
		return;
	gw->control_ev = event_new(gw->base, gw->control_fd,
	    EV_READ | EV_PERSIST, control_accept, NULL);
	if (gw->control_ev == NULL || event_add(gw->control_ev, NULL) == -1)
		fatalx("cannot watch the control socket");
}

void
control_close(const char *path)
{
	control_tls_close();
	if (gw->control_ev != NULL)
		event_free(gw->control_ev);
	gw->control_ev = NULL;
	if (gw->control_fd != -1) {
		close(gw->control_fd);
		gw->control_fd = -1;
		if (path != NULL)
			unlink(path);
	}
}
