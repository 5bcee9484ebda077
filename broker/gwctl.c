/* SPDX-License-Identifier: ISC */
/*
 * Revocation at the gateways: each gateway with a control socket is told to
 * close a session's tunnels and refuse its tickets for as long as one of
 * them could still be valid. The calls run on a worker thread (a gateway
 * that hangs must not stall the broker), each step under a timeout; a
 * gateway that cannot be reached (restarting, say) is asked again after
 * 1, 2, 4 and 8 s. A final failure is logged; the session's SPICE password
 * has already been changed, so no client gets back in either way.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker.h"
#include "log.h"
#include "workq.h"
#include "xmalloc.h"

#define GWCTL_TIMEOUT_MS	3000
#define GWCTL_ATTEMPTS		5
#define GWCTL_SKEW		60	/* seconds of clock skew allowed for */

struct gwctl_call {
	char		*path;
	char		 name[BROKER_NAME_MAX + 1];
	uint64_t	 session;
	time_t		 until;		/* refuse the tickets until then */
	int		 attempts;
	struct event	*retry;
	TAILQ_ENTRY(gwctl_call) entry;	/* while waiting to retry */
	char		 error[800];
	char		 reply[512];
};

static TAILQ_HEAD(, gwctl_call) gwctl_waiting =
    TAILQ_HEAD_INITIALIZER(gwctl_waiting);

static void	gwctl_push(struct gwctl_call *);

static int
gwctl_wait(int fd, short events)
{
	struct pollfd	pfd = { fd, events, 0 };
	int		n;

	while ((n = poll(&pfd, 1, GWCTL_TIMEOUT_MS)) == -1 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

/* Connects to the control socket without blocking past the timeout. */
static int
gwctl_connect(struct gwctl_call *c)
{
	struct sockaddr_un	sun;
	socklen_t		len = sizeof(int);
	int			fd, err = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, c->path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(c->error, sizeof(c->error), "socket path too long");
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		goto fail;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	/* A full backlog is EAGAIN on a Unix socket: busy, try later. */
	if (errno != EINPROGRESS && errno != EAGAIN)
		goto fail;
	if (errno == EAGAIN || gwctl_wait(fd, POLLOUT) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		errno = err != 0 ? err : ETIMEDOUT;
		goto fail;
	}
	return fd;
fail:
	snprintf(c->error, sizeof(c->error), "%s: %s", c->path,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/* On a worker thread: one request line, one reply line. */
static void
gwctl_work(void *arg)
{
	struct gwctl_call	*c = arg;
	char			 req[160];
	ssize_t			 n;
	size_t			 off = 0;
	time_t			 now = time(NULL);
	int			 fd;

	c->error[0] = '\0';
	if ((fd = gwctl_connect(c)) == -1)
		return;
	snprintf(req, sizeof(req), "{\"command\":\"revoke\",\"session\":"
	    "\"%016" PRIx64 "\",\"seconds\":%lld}\n", c->session,
	    (long long)(c->until > now ? c->until - now : 1));
	if (gwctl_wait(fd, POLLOUT) == -1 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		snprintf(c->error, sizeof(c->error), "%s: write: %s", c->path,
		    strerror(errno));
		goto out;
	}
	while (off < sizeof(c->reply) - 1) {
		if (gwctl_wait(fd, POLLIN) == -1) {
			snprintf(c->error, sizeof(c->error), "%s: no reply "
			    "within %d ms", c->path, GWCTL_TIMEOUT_MS);
			goto out;
		}
		if ((n = read(fd, c->reply + off, sizeof(c->reply) - 1 -
		    off)) <= 0)
			break;
		off += (size_t)n;
		if (memchr(c->reply, '\n', off) != NULL)
			break;
	}
	c->reply[off] = '\0';
	c->reply[strcspn(c->reply, "\n")] = '\0';
	if (strstr(c->reply, "\"error\"") != NULL || off == 0)
		snprintf(c->error, sizeof(c->error), "%s: %s", c->path,
		    off == 0 ? "closed without a reply" : c->reply);
out:
	if (fd != -1)
		close(fd);
}

static void
gwctl_call_free(struct gwctl_call *c)
{
	if (c->retry != NULL)
		event_free(c->retry);
	free(c->path);
	free(c);
}

static void
gwctl_retry(evutil_socket_t fd, short ev, void *arg)
{
	struct gwctl_call	*c = arg;

	TAILQ_REMOVE(&gwctl_waiting, c, entry);
	gwctl_push(c);
}

static void
gwctl_done(void *arg)
{
	struct gwctl_call	*c = arg;
	struct timeval		 tv = { 0, 0 };

	if (c->error[0] == '\0') {
		log_debug("gateway %s: revoked session %016" PRIx64 ": %s",
		    c->name, c->session, c->reply);
		gwctl_call_free(c);
		return;
	}
	if (++c->attempts >= GWCTL_ATTEMPTS || c->retry == NULL) {
		log_warnx("gateway %s: revoking session %016" PRIx64
		    " failed %d times, giving up: %s", c->name, c->session,
		    c->attempts, c->error);
		gwctl_call_free(c);
		return;
	}
	tv.tv_sec = 1 << (c->attempts - 1);
	log_info("gateway %s: revoking session %016" PRIx64 " failed (%s); "
	    "trying again in %lld s", c->name, c->session, c->error,
	    (long long)tv.tv_sec);
	evtimer_add(c->retry, &tv);
	TAILQ_INSERT_TAIL(&gwctl_waiting, c, entry);
}

static void
gwctl_push(struct gwctl_call *c)
{
	if (workq_push(broker->gwq, gwctl_work, gwctl_done, c) == -1) {
		log_warnx("gateway %s: cannot queue a revocation", c->name);
		gwctl_call_free(c);
	}
}

void
gwctl_shutdown(void)
{
	struct gwctl_call	*c;

	while ((c = TAILQ_FIRST(&gwctl_waiting)) != NULL) {
		TAILQ_REMOVE(&gwctl_waiting, c, entry);
		log_warnx("gateway %s: revocation of session %016" PRIx64
		    " dropped at shutdown", c->name, c->session);
		gwctl_call_free(c);
	}
}

void
gwctl_revoke(uint64_t gw_id, time_t tickets_until)
{
	struct conf_gateway	*g;
	struct gwctl_call	*c;
	time_t			 now = time(NULL);
	size_t			 i;

	/* Unknown (a restart forgot it): the longest a ticket can live. */
	if (tickets_until == 0)
		tickets_until = now + broker->conf->ticket_lifetime;
	for (i = 0; i < broker->conf->ngateways; i++) {
		g = &broker->conf->gateways[i];
		if (g->control == NULL)
			continue;
		c = xcalloc(1, sizeof(*c));
		c->path = xstrdup(g->control);
		strlcpy(c->name, g->name, sizeof(c->name));
		c->session = gw_id;
		c->until = (tickets_until > now ? tickets_until : now) +
		    GWCTL_SKEW;
		c->retry = evtimer_new(broker->base, gwctl_retry, c);
		gwctl_push(c);
	}
}
