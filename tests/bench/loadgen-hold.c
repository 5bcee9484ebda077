/* SPDX-License-Identifier: ISC */
/* loadgen client -m hold: thousands of non-blocking tunnels held open at
 * once, each opened, greeted and echoed through, then idle. */
#include "loadgen.h"

static ssize_t
hold_ssl_result(struct hold_conn *h, int rc)
{
	switch (SSL_get_error(h->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		return IO_ERR;
	}
}

static ssize_t
hold_read(struct hold_conn *h, void *p, size_t len)
{
	ssize_t	n;
	int	rc;

	if (h->ssl != NULL) {
		ERR_clear_error();
		if ((rc = SSL_read(h->ssl, p, (int)len)) > 0)
			return rc;
		return hold_ssl_result(h, rc);
	}
	if ((n = recv(h->fd, p, len, 0)) >= 0)
		return n;
	return errno == EAGAIN || errno == EINTR ? IO_WANT_READ : IO_ERR;
}

static ssize_t
hold_write(struct hold_conn *h, const void *p, size_t len)
{
	ssize_t	n;
	int	rc;

	if (h->ssl != NULL) {
		ERR_clear_error();
		if ((rc = SSL_write(h->ssl, p, (int)len)) > 0)
			return rc;
		return hold_ssl_result(h, rc);
	}
	if ((n = send(h->fd, p, len, MSG_NOSIGNAL)) >= 0)
		return n;
	return errno == EAGAIN || errno == EINTR ? IO_WANT_WRITE : IO_ERR;
}

static const char *
hold_state_name(enum hold_state s)
{
	static const char	*names[] = { "connect", "TLS handshake",
	    "CONNECT request", "CONNECT reply", "greeting", "echo out",
	    "echo in", "idle", "closed" };

	return names[s];
}

/*
 * Moves a tunnel through its setup as far as its socket allows; returns
 * 0 (waiting for h->events), 1 (now idle) or -1 with err set.
 */
static int
hold_advance(const struct target *t, struct hold_conn *h, char *err,
    size_t errlen)
{
	ssize_t		n = 0, hdr;
	socklen_t	sl;
	uint8_t		b[256];
	int		soerr, rc;

	for (;;) {
		switch (h->state) {
		case HOLD_CONNECT:
			sl = sizeof soerr;
			if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) == -1)
				soerr = errno;
			if (soerr != 0) {
				snprintf(err, errlen, "connect: %s",
				    strerror(soerr));
				return -1;
			}
			if (t->ctx != NULL) {
				if ((h->ssl = tls_new(t, h->fd)) == NULL) {
					snprintf(err, errlen, "SSL_new failed");
					return -1;
				}
				h->state = HOLD_TLS;
			} else if (t->connect != NULL) {
				h->len = request_format(t, h->buf,
				    sizeof h->buf);
				h->off = 0;
				h->state = HOLD_REQUEST;
			} else
				h->state = HOLD_GREETING;
			break;
		case HOLD_TLS:
			ERR_clear_error();
			if ((rc = SSL_connect(h->ssl)) != 1) {
				n = hold_ssl_result(h, rc);
				if (n == IO_WANT_READ || n == IO_WANT_WRITE)
					goto wait;
				snprintf(err, errlen, "TLS handshake: %s",
				    tls_errstr(h->ssl, rc));
				return -1;
			}
			if (t->connect != NULL) {
				h->len = request_format(t, h->buf,
				    sizeof h->buf);
				h->off = 0;
				h->state = HOLD_REQUEST;
			} else
				h->state = HOLD_GREETING;
			break;
		case HOLD_REQUEST:
		case HOLD_ECHO_OUT:
			while (h->off < h->len) {
				n = hold_write(h, h->buf + h->off,
				    h->len - h->off);
				if (n == IO_WANT_READ || n == IO_WANT_WRITE)
					goto wait;
				if (n <= 0) {
					snprintf(err, errlen, "%s: write failed",
					    hold_state_name(h->state));
					return -1;
				}
				h->off += (size_t)n;
			}
			h->off = h->len = 0;
			h->state = h->state == HOLD_REQUEST ? HOLD_REPLY :
			    HOLD_ECHO_IN;
			break;
		case HOLD_REPLY:
			if (h->len == sizeof h->buf) {
				snprintf(err, errlen, "proxy reply too long");
				return -1;
			}
			n = hold_read(h, h->buf + h->len, sizeof h->buf - h->len);
			if (n == IO_WANT_READ || n == IO_WANT_WRITE)
				goto wait;
			if (n <= 0) {
				snprintf(err, errlen, "proxy closed before "
				    "its reply");
				return -1;
			}
			h->len += (size_t)n;
			if ((hdr = reply_parse(h->buf, h->len, err,
			    errlen)) < 0)
				return -1;
			if (hdr > 0) {
				memmove(h->buf, h->buf + hdr,
				    h->len - (size_t)hdr);
				h->len -= (size_t)hdr;
				h->state = HOLD_GREETING;
			}
			break;
		case HOLD_GREETING:
			if (h->len == 0) {
				n = hold_read(h, h->buf, 1);
				if (n == IO_WANT_READ || n == IO_WANT_WRITE)
					goto wait;
				if (n <= 0) {
					snprintf(err, errlen, "closed before "
					    "the sink's greeting");
					return -1;
				}
				h->len = (size_t)n;
			}
			if (h->len != 1 || h->buf[0] != 'P') {
				snprintf(err, errlen, "unexpected greeting");
				return -1;
			}
			cmd_encode((uint8_t *)h->buf, 'E', HOLD_ECHO_LEN);
			memcpy(h->buf + CMD_LEN, echo_pattern, HOLD_ECHO_LEN);
			h->off = 0;
			h->len = CMD_LEN + HOLD_ECHO_LEN;
			h->state = HOLD_ECHO_OUT;
			break;
		case HOLD_ECHO_IN:
			n = hold_read(h, h->buf + h->len, HOLD_ECHO_LEN - h->len);
			if (n == IO_WANT_READ || n == IO_WANT_WRITE)
				goto wait;
			if (n <= 0) {
				snprintf(err, errlen, "closed during the echo");
				return -1;
			}
			h->len += (size_t)n;
			if (h->len < HOLD_ECHO_LEN)
				break;
			if (memcmp(h->buf, echo_pattern, HOLD_ECHO_LEN) != 0) {
				snprintf(err, errlen, "echo came back wrong");
				return -1;
			}
			h->off = h->len = 0;
			h->state = HOLD_IDLE;
			h->events = EPOLLIN;
			return 1;
		case HOLD_IDLE:
			/* Nothing is expected: notice a close, skip TLS records. */
			n = hold_read(h, b, sizeof b);
			if (n == IO_WANT_READ || n == IO_WANT_WRITE)
				goto wait;
			if (n <= 0) {
				snprintf(err, errlen, "closed while idle");
				return -1;
			}
			return 0;
		case HOLD_CLOSED:
			return 0;
		}
	}
 wait:
	h->events = n == IO_WANT_WRITE ? EPOLLOUT : EPOLLIN;
	return 0;
}

static void
hold_close(struct hold_conn *h)
{
	SSL_free(h->ssl);
	h->ssl = NULL;
	if (h->fd != -1)
		close(h->fd);
	h->fd = -1;
	h->state = HOLD_CLOSED;
}

static int
hold_start(const struct target *t, int ep, struct hold_conn *h, char *err,
    size_t errlen)
{
	struct epoll_event	ev;
	int			on = 1;

	h->started = now();
	h->state = HOLD_CONNECT;
	h->fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (h->fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	if (connect(h->fd, (struct sockaddr *)&t->ss, t->sslen) == -1 &&
	    errno != EINPROGRESS) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		return -1;
	}
	/* Writable once connected, at once or later: the same path. */
	h->events = EPOLLOUT;
	memset(&ev, 0, sizeof ev);
	ev.events = h->events;
	ev.data.ptr = h;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, h->fd, &ev) == -1) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
run_hold(const struct target *t, size_t count, size_t parallel)
{
	struct hold_conn	*conns, *h;
	struct epoll_event	 ev, evs[SINK_EVENTS];
	char			 err[512], first_err[512] = "";
	size_t			 next = 0, inflight = 0, idle = 0, failed = 0;
	size_t			 closed = 0, i;
	uint32_t		 before;
	double			 t0 = now(), last_sweep = t0;
	int			 ep, n, j, rc;

	if ((conns = calloc(count, sizeof *conns)) == NULL)
		die("out of memory for %zu tunnels", count);
	for (i = 0; i < count; i++)
		conns[i].fd = -1;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));

	while (idle + failed < count && !quit) {
		while (inflight < parallel && next < count) {
			h = &conns[next++];
			if (hold_start(t, ep, h, err, sizeof err) == -1) {
				if (failed++ == 0)
					snprintf(first_err, sizeof first_err,
					    "%s", err);
				hold_close(h);
			} else
				inflight++;
		}
		if ((n = epoll_wait(ep, evs, SINK_EVENTS, 200)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (j = 0; j < n; j++) {
			h = evs[j].data.ptr;
			if (h->state == HOLD_CLOSED)
				continue;
			before = h->events;
			rc = hold_advance(t, h, err, sizeof err);
			if (rc == -1) {
				if (h->state == HOLD_IDLE) {
					idle--;
					closed++;
				} else
					inflight--;
				if (failed++ == 0)
					snprintf(first_err, sizeof first_err,
					    "%s", err);
				hold_close(h);
				continue;
			}
			if (rc == 1) {
				inflight--;
				idle++;
			}
			if (h->events != before) {
				memset(&ev, 0, sizeof ev);
				ev.events = h->events;
				ev.data.ptr = h;
				epoll_ctl(ep, EPOLL_CTL_MOD, h->fd, &ev);
			}
		}
		if (now() - last_sweep < 1)
			continue;
		last_sweep = now();
		for (i = 0; i < next; i++) {
			h = &conns[i];
			if (h->state == HOLD_IDLE || h->state == HOLD_CLOSED ||
			    last_sweep - h->started < t->timeout)
				continue;
			if (failed++ == 0)
				snprintf(first_err, sizeof first_err,
				    "timeout in %s", hold_state_name(h->state));
			inflight--;
			hold_close(h);
		}
	}
	if (quit)
		die("interrupted with %zu of %zu tunnels open", idle, count);
	printf("ready n=%zu failed=%zu seconds=%.2f%s%s%s\n", idle, failed,
	    now() - t0, failed ? " first_error=\"" : "", first_err,
	    failed ? "\"" : "");
	fflush(stdout);
	if (idle == 0)
		die("no tunnel opened: %s", first_err);

	/* Hold until told (SIGUSR1, SIGTERM); the watchdog bounds the wait. */
	while (!quit) {
		if ((n = epoll_wait(ep, evs, SINK_EVENTS, 200)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (j = 0; j < n; j++) {
			h = evs[j].data.ptr;
			if (h->state != HOLD_IDLE)
				continue;
			if (hold_advance(t, h, err, sizeof err) == -1) {
				closed++;
				hold_close(h);
			}
		}
	}
	for (i = 0; i < count; i++)
		hold_close(&conns[i]);
	printf("released closed_while_idle=%zu\n", closed);
	free(conns);
	close(ep);
}
