/*
 * Revocation at the gateways: each gateway with a control socket is told to
 * close a session's tunnels and refuse its tickets. The calls run on a
 * worker thread (a gateway that hangs must not stall the broker); a
 * failure is logged, and the session's SPICE password has already been
 * changed, so no client gets back in either way.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "workq.h"
#include "xmalloc.h"

#define GWCTL_TIMEOUT_MS	3000

struct gwctl_call {
	char		*path;
	char		 name[BROKER_NAME_MAX + 1];
	uint64_t	 session;
	char		 error[800];
	char		 reply[512];
};

static int
gwctl_wait(int fd, short events)
{
	struct pollfd	pfd = { fd, events, 0 };
	int		n;

	while ((n = poll(&pfd, 1, GWCTL_TIMEOUT_MS)) == -1 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

/* On a worker thread: one request line, one reply line. */
static void
gwctl_work(void *arg)
{
	struct gwctl_call	*c = arg;
	struct sockaddr_un	 sun;
	char			 req[128];
	ssize_t			 n;
	size_t			 off = 0;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, c->path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(c->error, sizeof(c->error), "socket path too long");
		return;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(c->error, sizeof(c->error), "%s: %s", c->path,
		    strerror(errno));
		goto out;
	}
	snprintf(req, sizeof(req), "{\"command\":\"revoke\",\"session\":"
	    "\"%016" PRIx64 "\"}\n", c->session);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
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
gwctl_done(void *arg)
{
	struct gwctl_call	*c = arg;

	if (c->error[0] != '\0')
		log_warnx("gateway %s: revoking session %016" PRIx64
		    " failed: %s", c->name, c->session, c->error);
	else
		log_debug("gateway %s: revoked session %016" PRIx64 ": %s",
		    c->name, c->session, c->reply);
	free(c->path);
	free(c);
}

void
gwctl_revoke(uint64_t gw_id)
{
	struct conf_gateway	*g;
	struct gwctl_call	*c;
	size_t			 i;

	for (i = 0; i < broker->conf->ngateways; i++) {
		g = &broker->conf->gateways[i];
		if (g->control == NULL)
			continue;
		c = xcalloc(1, sizeof(*c));
		c->path = xstrdup(g->control);
		strlcpy(c->name, g->name, sizeof(c->name));
		c->session = gw_id;
		if (workq_push(broker->gwq, gwctl_work, gwctl_done, c) == -1) {
			log_warnx("gateway %s: cannot queue a revocation",
			    g->name);
			free(c->path);
			free(c);
		}
	}
}
