/* SPDX-License-Identifier: ISC */
/*
 * The relay: moves bytes between the two sockets of a tunnel. Sockets are
 * registered once, edge-triggered; each end remembers whether it is readable
 * and writable, so backpressure costs no epoll_ctl. Each direction holds at
 * most one buffer (or one pipe when splicing), taken from a pool only while
 * bytes are in flight: an idle tunnel holds none, and a slow reader can never
 * make a tunnel hold more than one buffer per direction.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gateway.h"
#include "log.h"

/* Reads per pump before the loop is given back to other tunnels. */
#define RELAY_BUDGET		16
#define RELAY_POOL_MAX		64
#define RELAY_PIPE_SIZE		(64 * 1024)

struct pool_buf {
	struct pool_buf	*next;
};

/* Each worker's own pools: a tunnel stays on the worker that accepted it. */
static __thread struct pool_buf	*buf_pool;
static __thread size_t		 buf_pool_len;
static __thread size_t		 buf_size;
static __thread int		 pipe_pool[RELAY_POOL_MAX][2];
static __thread size_t		 pipe_pool_len;
static __thread int		 pipes_unavailable;

/* The size of every pool buffer: buffer_size as the gateway started. */
size_t
relay_buf_size(void)
{
	if (buf_size == 0)
		buf_size = gw->conf->buffer_size;
	return buf_size;
}

static uint8_t *
relay_buf_get(void)
{
	struct pool_buf	*b;

	if ((b = buf_pool) != NULL) {
		buf_pool = b->next;
		buf_pool_len--;
		return (uint8_t *)b;
	}
	return malloc(relay_buf_size());
}

static void
relay_buf_put(uint8_t *p)
{
	struct pool_buf	*b = (struct pool_buf *)p;

	if (buf_pool_len >= RELAY_POOL_MAX) {
		free(p);
		return;
	}
	b->next = buf_pool;
	buf_pool = b;
	buf_pool_len++;
}

static int
relay_pipe_get(int fds[2])
{
	if (pipe_pool_len > 0) {
		pipe_pool_len--;
		fds[0] = pipe_pool[pipe_pool_len][0];
		fds[1] = pipe_pool[pipe_pool_len][1];
		return 0;
	}
	if (pipes_unavailable)
		return -1;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == -1) {
		/* Out of descriptors: copy through buffers for a while. */
		pipes_unavailable = 1;
		return -1;
	}
	return 0;
}

static void
relay_pipe_put(int fds[2])
{
	if (pipe_pool_len < RELAY_POOL_MAX) {
		pipe_pool[pipe_pool_len][0] = fds[0];
		pipe_pool[pipe_pool_len][1] = fds[1];
		pipe_pool_len++;
	} else {
		close(fds[0]);
		close(fds[1]);
	}
	fds[0] = fds[1] = -1;
	pipes_unavailable = 0;
}

void
relay_dir_release(struct relay_dir *d)
{
	if (d->buf != NULL) {
		relay_buf_put(d->buf);
		d->buf = NULL;
	}
	d->off = d->len = 0;
	if (d->pipe[0] != -1) {
		if (d->inpipe > 0) {
			/* A pipe with bytes in it cannot be reused. */
			close(d->pipe[0]);
			close(d->pipe[1]);
			d->pipe[0] = d->pipe[1] = -1;
		} else
			relay_pipe_put(d->pipe);
		d->inpipe = 0;
	}
}

void
relay_shutdown(void)
{
	struct pool_buf	*b;

	while ((b = buf_pool) != NULL) {
		buf_pool = b->next;
		free(b);
	}
	buf_pool_len = 0;
	while (pipe_pool_len > 0) {
		pipe_pool_len--;
		close(pipe_pool[pipe_pool_len][0]);
		close(pipe_pool[pipe_pool_len][1]);
	}
}

/* Maps an OpenSSL result onto the end's readiness; returns AGAIN or ERROR. */
static int
relay_ssl_error(struct tunnel *t, struct relay_end *e, int rc,
    const char **reason)
{
	int	client = e == &t->client;

	switch (SSL_get_error(e->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		e->readable = 0;
		return RELAY_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		e->writable = 0;
		return RELAY_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == ECONNRESET)
			*reason = client ? "client reset" : "upstream reset";
		else
			*reason = client ? "client connection error" :
			    "upstream connection error";
		break;
	default:
		*reason = client ? "client TLS error" : "upstream TLS error";
		break;
	}
	ERR_clear_error();
	return RELAY_ERROR;
}

static ssize_t
relay_read(struct tunnel *t, struct relay_end *e, void *buf, size_t len,
    const char **reason)
{
	ssize_t	n;
	int	rc;

	if (e->ssl != NULL) {
		ERR_clear_error();
		if ((rc = SSL_read(e->ssl, buf, (int)len)) > 0)
			return rc;
		return relay_ssl_error(t, e, rc, reason);
	}
	if ((n = read(e->fd, buf, len)) >= 0)
		return n;
	if (errno == EAGAIN || errno == EINTR) {
		e->readable = 0;
		return RELAY_AGAIN;
	}
	*reason = e == &t->client ? "client reset" : "upstream reset";
	return RELAY_ERROR;
}

static ssize_t
relay_write(struct tunnel *t, struct relay_end *e, const void *buf, size_t len,
    const char **reason)
{
	ssize_t	n;
	int	rc;

	if (e->ssl != NULL) {
		ERR_clear_error();
		if ((rc = SSL_write(e->ssl, buf, (int)len)) > 0) {
			if (e->owes_tickets) {
				e->owes_tickets = 0;
				tlsticket_give(e->ssl);
			}
			return rc;
		}
		rc = relay_ssl_error(t, e, rc, reason);
		if (rc == 0) {
			*reason = e == &t->client ? "client closed" :
			    "upstream closed";
			return RELAY_ERROR;
		}
		return rc;
	}
	if ((n = send(e->fd, buf, len, MSG_NOSIGNAL)) >= 0)
		return n;
	if (errno == EAGAIN || errno == EINTR) {
		e->writable = 0;
		return RELAY_AGAIN;
	}
	*reason = e == &t->client ? "client reset" : "upstream reset";
	return RELAY_ERROR;
}

/* Shuts the write side of an end after its direction has ended. */
static int
relay_shut(struct tunnel *t, struct relay_end *e, const char **reason)
{
	int	rc;

	if (e->ssl != NULL) {
		ERR_clear_error();
		if ((rc = SSL_shutdown(e->ssl)) < 0) {
			rc = relay_ssl_error(t, e, rc, reason);
			if (rc == RELAY_AGAIN)
				return rc;
			/* The peer is gone: shutting down TCP is enough. */
		}
	}
	shutdown(e->fd, SHUT_WR);
	return 0;
}

/* Moves one direction; returns 1 if the budget ran out, 0, or -1 on error. */
static int
relay_dir_pump(struct tunnel *t, struct relay_dir *d, struct relay_end *src,
    struct relay_end *dst, int *budget, const char **reason)
{
	ssize_t	n;
	size_t	start, room;
	int	ws = t->ws != NULL && t->ws->open;
	int	splice_ok, ws_down = ws && d == &t->down;

	splice_ok = gw->conf->splice && t->client.ssl == NULL &&
	    t->upstream.ssl == NULL;
	/* WebSocket frames: room for a header in front, a close frame after. */
	start = ws_down ? WS_SERVER_HEADER_MAX : 0;
	room = relay_buf_size() - start - (ws_down ? WS_DOWN_RESERVE -
	    WS_SERVER_HEADER_MAX : 0);
	for (;;) {
		if (d->len > d->off) {
			if (!dst->writable)
				return 0;
			n = relay_write(t, dst, d->buf + d->off,
			    d->len - d->off, reason);
			if (n == RELAY_AGAIN)
				return 0;
			if (n < 0)
				return -1;
			d->off += (uint32_t)n;
			d->bytes += (uint64_t)n;
			if (d->off == d->len)
				relay_dir_release(d);
			continue;
		}
		if (d->inpipe > 0) {
			if (!dst->writable)
				return 0;
			n = splice(d->pipe[0], NULL, dst->fd, NULL, d->inpipe,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					dst->writable = 0;
					return 0;
				}
				*reason = dst == &t->client ? "client reset" :
				    "upstream reset";
				return -1;
			}
			d->inpipe -= (uint32_t)n;
			d->bytes += (uint64_t)n;
			if (d->inpipe == 0)
				relay_dir_release(d);
			continue;
		}
		if (ws_down && (n = ws_queue_control(t)) != 0) {
			if (n < 0) {
				*reason = "out of memory";
				return -1;
			}
			continue;
		}
		if (d->eof) {
			if (ws_down && !t->ws->close_sent) {
				/* The guest closed: say so before closing. */
				ws_end(t, WS_CLOSE_NORMAL, NULL);
				continue;
			}
			if (!d->shut) {
				if (relay_shut(t, dst, reason) == RELAY_AGAIN)
					return 0;
				d->shut = 1;
			}
			return 0;
		}
		if (!src->readable)
			return 0;
		if (--*budget < 0)
			return 1;
		if (splice_ok && relay_pipe_get(d->pipe) == 0) {
			/* The pipe is empty, so EAGAIN can only mean the socket. */
			n = splice(src->fd, NULL, d->pipe[1], NULL,
			    RELAY_PIPE_SIZE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				d->inpipe = (uint32_t)n;
				continue;
			}
			relay_dir_release(d);
			if (n == 0) {
				d->eof = 1;
				continue;
			}
			if (errno == EAGAIN || errno == EINTR) {
				src->readable = 0;
				return 0;
			}
			*reason = src == &t->client ? "client reset" :
			    "upstream reset";
			return -1;
		}
		if (d->buf == NULL && (d->buf = relay_buf_get()) == NULL) {
			*reason = "out of memory";
			return -1;
		}
		n = relay_read(t, src, d->buf + start, room, reason);
		if (n > 0) {
			d->off = (uint32_t)start;
			d->len = (uint32_t)(start + (size_t)n);
			/* TLS hands out one record per call: fill the buffer. */
			while (src->ssl != NULL && d->len < start + room &&
			    (n = relay_read(t, src, d->buf + d->len,
			    start + room - d->len, reason)) > 0)
				d->len += (uint32_t)n;
			if (n == 0)
				d->eof = 1;
			else if (n == RELAY_ERROR)
				return -1;
			if (ws) {
				ws_filter(t, d);
				/* A failed or closing WebSocket reads no more. */
				if (t->state != TUNNEL_RELAY)
					return 0;
				if (d->off == d->len)
					relay_dir_release(d);
			}
			continue;
		}
		relay_dir_release(d);
		if (n == RELAY_AGAIN)
			return 0;
		if (n < 0)
			return -1;
		d->eof = 1;
	}
}

int
relay_pump(struct tunnel *t, const char **reason)
{
	int	budget = RELAY_BUDGET, rc1, rc2;

	if ((rc1 = relay_dir_pump(t, &t->up, &t->client, &t->upstream,
	    &budget, reason)) < 0)
		return -1;
	budget = RELAY_BUDGET;
	if ((rc2 = relay_dir_pump(t, &t->down, &t->upstream, &t->client,
	    &budget, reason)) < 0)
		return -1;
	if (rc1 == 1 || rc2 == 1)
		return 1;
	if (t->up.shut && t->down.shut) {
		*reason = "closed";
		return 2;
	}
	return 0;
}

/*
 * Writes bytes for the client (the CONNECT reply or an error answer) ahead
 * of anything from the upstream; returns 0, or -1 when they do not fit.
 */
int
relay_queue_down(struct tunnel *t, const char *data, size_t len)
{
	struct relay_dir	*d = &t->down;

	if (d->buf == NULL && (d->buf = relay_buf_get()) == NULL)
		return -1;
	if (d->inpipe > 0 || len > buf_size - d->len)
		return -1;
	memcpy(d->buf + d->len, data, len);
	d->len += (uint32_t)len;
	return 0;
}

/*
 * Reads what the upstream has sent already into the down buffer, behind
 * the CONNECT answer queued there, so that both leave in one TLS record
 * and one segment: a client waiting for a server that speaks first is
 * woken once, not twice. When nothing has come, it is the read the relay
 * would make next anyway. 0, or -1 with reason set.
 */
int
relay_fill_down(struct tunnel *t, const char **reason)
{
	struct relay_dir	*d = &t->down;
	ssize_t			 n;

	if (d->buf == NULL || d->inpipe > 0 || d->len >= buf_size ||
	    !t->upstream.readable)
		return 0;
	n = relay_read(t, &t->upstream, d->buf + d->len, buf_size - d->len,
	    reason);
	if (n > 0)
		d->len += (uint32_t)n;
	else if (n == 0)
		d->eof = 1;
	else if (n == RELAY_ERROR)
		return -1;
	return 0;
}

ssize_t
relay_read_request(struct tunnel *t, size_t max, const char **reason)
{
	struct relay_dir	*d = &t->up;
	ssize_t			 n;

	if (d->buf == NULL && (d->buf = relay_buf_get()) == NULL) {
		*reason = "out of memory";
		return RELAY_ERROR;
	}
	/* The buffer bounds the read, whatever the configuration says. */
	if (max > buf_size)
		max = buf_size;
	if (d->len >= max)
		return 0;
	n = relay_read(t, &t->client, d->buf + d->len, max - d->len, reason);
	if (n > 0)
		d->len += (uint32_t)n;
	return n;
}
