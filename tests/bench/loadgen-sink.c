/* SPDX-License-Identifier: ISC */
/* loadgen sink: the far end of every tunnel, on epoll (loadgen.c has the
 * protocol). */
#include "loadgen.h"

static uint32_t
sink_want(const struct sink_conn *c)
{
	uint32_t	ev = 0;

	if (c->outoff < c->outlen || c->mode == SINK_SOURCE)
		ev |= EPOLLOUT;
	else
		ev |= EPOLLIN;
	return ev;
}

static void
sink_queue(struct sink_conn *c, const void *p, size_t len)
{
	memcpy(c->out + c->outlen, p, len);
	c->outlen += len;
}

/* Acts on a complete command; returns 0, or -1 to close the connection. */
static int
sink_command(struct sink_conn *c)
{
	uint64_t	n = cmd_count(c->cmd);

	c->cmdlen = 0;
	switch (c->cmd[0]) {
	case 'U':
		if (n == 0)
			sink_queue(c, "K", 1);
		else {
			c->mode = SINK_DISCARD;
			c->left = n;
		}
		return 0;
	case 'D':
		if (n > 0) {
			c->mode = SINK_SOURCE;
			c->left = n;
		}
		return 0;
	case 'E':
		if (n == 0 || n > ECHO_MAX)
			return -1;
		c->mode = SINK_ECHO;
		c->left = n;
		c->echolen = 0;
		c->outoff = c->outlen = 0;
		return 0;
	default:	/* 'Q' and anything unknown */
		return -1;
	}
}

/* Reads what the current mode wants; returns 0, or -1 to close. */
static int
sink_input(struct sink_conn *c)
{
	ssize_t	 n;
	size_t	 want;
	void	*p;
	int	 budget, flags;

	for (budget = SINK_BUDGET; budget > 0; budget--) {
		if (c->outoff < c->outlen || c->mode == SINK_SOURCE)
			return 0;
		flags = 0;
		switch (c->mode) {
		case SINK_CMD:
			p = c->cmd + c->cmdlen;
			want = CMD_LEN - c->cmdlen;
			break;
		case SINK_DISCARD:
			/* MSG_TRUNC drops TCP bytes without copying them. */
			p = chunk;
			want = c->left < CHUNK ? (size_t)c->left : CHUNK;
			flags = MSG_TRUNC;
			break;
		case SINK_ECHO:
			p = c->out + c->echolen;
			want = (size_t)c->left;
			break;
		default:
			return -1;
		}
		n = recv(c->fd, p, want, flags);
		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		switch (c->mode) {
		case SINK_CMD:
			c->cmdlen += (size_t)n;
			if (c->cmdlen == CMD_LEN && sink_command(c) == -1)
				return -1;
			break;
		case SINK_DISCARD:
			c->left -= (uint64_t)n;
			if (c->left == 0) {
				c->mode = SINK_CMD;
				sink_queue(c, "K", 1);
			}
			break;
		case SINK_ECHO:
			c->left -= (uint64_t)n;
			c->echolen += (size_t)n;
			if (c->left == 0) {
				c->mode = SINK_CMD;
				c->outoff = 0;
				c->outlen = c->echolen;
			}
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* Writes queued bytes, then source bytes; returns 0, or -1 to close. */
static int
sink_output(struct sink_conn *c)
{
	ssize_t	n;
	size_t	want;
	int	budget;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	for (budget = SINK_BUDGET; budget > 0 && c->mode == SINK_SOURCE;
	    budget--) {
		want = c->left < CHUNK ? (size_t)c->left : CHUNK;
		n = send(c->fd, chunk, want, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->left -= (uint64_t)n;
		if (c->left == 0)
			c->mode = SINK_CMD;
	}
	return 0;
}

static void
sink_close(struct sink_conn *c)
{
	close(c->fd);	/* also leaves the epoll set */
	free(c);
}

static void
sink_accept(int ep, int lfd)
{
	struct sink_conn	*c;
	struct epoll_event	 ev;
	static double		 warned;
	int			 fd, i, on = 1;

	for (i = 0; i < SINK_ACCEPT_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				if (now() - warned > 1) {
					warnf("sink: out of descriptors");
					warned = now();
				}
				usleep(10000);
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
		if ((c = calloc(1, sizeof *c)) == NULL) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->mode = SINK_CMD;
		sink_queue(c, "P", 1);
		if (sink_output(c) == -1) {
			sink_close(c);
			continue;
		}
		c->events = sink_want(c);
		memset(&ev, 0, sizeof ev);
		ev.events = c->events;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			sink_close(c);
	}
}

static void
sink_event(int ep, struct sink_conn *c, uint32_t events)
{
	struct epoll_event	ev;

	if (events & (EPOLLERR | EPOLLHUP)) {
		sink_close(c);
		return;
	}
	if (sink_output(c) == -1 || sink_input(c) == -1 ||
	    sink_output(c) == -1) {
		sink_close(c);
		return;
	}
	if (sink_want(c) != c->events) {
		c->events = sink_want(c);
		memset(&ev, 0, sizeof ev);
		ev.events = c->events;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
			sink_close(c);
	}
}

int
sink_main(int argc, char *argv[])
{
	struct sockaddr_storage	 ss;
	struct epoll_event	 ev, evs[SINK_EVENTS];
	socklen_t		 sslen = 0;
	const char		*listen_at = NULL;
	int			 ch, ep, lfd, i, n, on = 1, watchdog = 7200;

	while ((ch = getopt(argc, argv, "l:w:")) != -1) {
		switch (ch) {
		case 'l':
			listen_at = optarg;
			break;
		case 'w':
			watchdog = (int)num_parse(optarg, 1, 86400, "-w");
			break;
		default:
			usage();
		}
	}
	if (listen_at == NULL || optind != argc)
		usage();
	addr_parse(listen_at, &ss, &sslen);
	signals_setup(watchdog);
	memset(chunk, 'x', sizeof chunk);

	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (lfd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (bind(lfd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(lfd, 4096) == -1)
		die("listen on %s: %s", listen_at, strerror(errno));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	fprintf(stderr, "loadgen: sink listening on %s\n", listen_at);

	while (!quit) {
		n = epoll_wait(ep, evs, SINK_EVENTS, 1000);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				sink_accept(ep, lfd);
			else
				sink_event(ep, evs[i].data.ptr, evs[i].events);
		}
	}
	return 0;
}

/* ---- client: shared pieces ---------------------------------------- */
