/* SPDX-License-Identifier: ISC */
/* Listening sockets: bind before dropping privileges, accept with backoff. */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway.h"
#include "log.h"

#define LISTENER_BACKLOG	1024
/* Accepts per wakeup, so one busy listener does not starve the relay. */
#define LISTENER_BATCH		64

static const char	overloaded[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    "Content-Length: 20\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
    "gateway overloaded\r\n";

/*
 * Opens a listening socket; with reuseport, one of several on the address
 * (one per worker), among which the kernel spreads the connections.
 */
int
listener_open(struct listener *l, const struct sockaddr_storage *ss,
    socklen_t len, enum listener_kind kind, int reuseport)
{
	char	buf[NETADDR_STRLEN];
	int	fd, on = 1;

	l->fd = -1;
	l->kind = kind;
	l->addr = *ss;
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof on) == -1) {
		log_warn("SO_REUSEPORT");
		close(fd);
		return -1;
	}
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	if (bind(fd, (const struct sockaddr *)ss, len) == -1 ||
	    listen(fd, LISTENER_BACKLOG) == -1) {
		log_warn("listen on %s", netaddr_str((const struct sockaddr *)ss,
		    buf, sizeof buf));
		close(fd);
		return -1;
	}
	l->fd = fd;
	return 0;
}

/* Overload refusals are logged as a count, at most every 10 s. */
static void
listener_log_overload(void)
{
	static __thread time_t		last;
	static __thread unsigned long	count;
	time_t			now = time(NULL);

	count++;
	if (now - last < 10)
		return;
	log_warnx("max_tunnels (%u) reached: refused %lu connection(s) since "
	    "the last report", gw->conf->max_tunnels, count);
	last = now;
	count = 0;
}

static void
listener_resume(evutil_socket_t fd, short what, void *arg)
{
	if (gw->draining)
		return;
	if (gw->plain.ev != NULL)
		event_add(gw->plain.ev, NULL);
	if (gw->tls.ev != NULL)
		event_add(gw->tls.ev, NULL);
	if (gw->ws.ev != NULL)
		event_add(gw->ws.ev, NULL);
	if (gw->metrics_listener.ev != NULL)
		event_add(gw->metrics_listener.ev, NULL);
}

/* Out of descriptors: stop accepting for a second rather than spin. */
static void
listener_backoff(void)
{
	struct timeval	tv = { 1, 0 };

	log_warnx("accept: out of file descriptors; pausing accept for 1s");
	if (gw->plain.ev != NULL)
		event_del(gw->plain.ev);
	if (gw->tls.ev != NULL)
		event_del(gw->tls.ev);
	if (gw->ws.ev != NULL)
		event_del(gw->ws.ev);
	if (gw->metrics_listener.ev != NULL)
		event_del(gw->metrics_listener.ev);
	if (gw->accept_backoff == NULL)
		gw->accept_backoff = evtimer_new(gw->base, listener_resume,
		    NULL);
	if (gw->accept_backoff != NULL)
		evtimer_add(gw->accept_backoff, &tv);
}

static void
listener_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct listener		*l = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, i;

	for (i = 0; i < LISTENER_BATCH; i++) {
		len = sizeof ss;
		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				listener_backoff();
			else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		if (l == &gw->metrics_listener) {
			metrics_http_accept(fd);
			continue;
		}
		/*
		 * The slot is taken before the check, so that workers
		 * accepting at once cannot overshoot max_tunnels together;
		 * tunnel_accept owns it from here.
		 */
		if (__atomic_add_fetch(&shared.ntunnels, 1, __ATOMIC_RELAXED) >
		    gw->conf->max_tunnels) {
			__atomic_sub_fetch(&shared.ntunnels, 1, __ATOMIC_RELAXED);
			/* Best effort: the answer fits any socket buffer. */
			metrics_refusal(REFUSE_OVERLOADED);
			listener_log_overload();
			if (l->kind == LISTENER_PLAIN)
				(void)!write(fd, overloaded, sizeof overloaded - 1);
			close(fd);
			continue;
		}
		tunnel_accept(fd, &ss, l->kind);
	}
}

const char *
listener_name(enum listener_kind kind)
{
	switch (kind) {
	case LISTENER_PLAIN:
		return "plain";
	case LISTENER_TLS:
		return "tls";
	case LISTENER_WS:
		return "ws";
	case LISTENER_KINDS:
		break;
	}
	return "unknown";
}

void
listener_start(struct listener *l)
{
	if (l->fd == -1)
		return;
	l->ev = event_new(gw->base, l->fd, EV_READ | EV_PERSIST,
	    listener_accept, l);
	if (l->ev == NULL || event_add(l->ev, NULL) == -1)
		fatalx("cannot watch a listener");
}

void
listener_close(struct listener *l)
{
	if (l->ev != NULL) {
		event_free(l->ev);
		l->ev = NULL;
	}
	if (l->fd != -1) {
		close(l->fd);
		l->fd = -1;
	}
}
