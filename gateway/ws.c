/* SPDX-License-Identifier: ISC */
/*
 * WebSocket tunnels (listen_ws): the upgrade request and its Origin, SPICE
 * TLS from the gateway to the guest with the host's exact subject, and the
 * framing the relay applies to each buffer it moves. A browser cannot run
 * SPICE's TLS inside a WebSocket, so on this listener the gateway holds both
 * TLS sessions and relays the SPICE stream between them.
 *
 * The framing keeps the relay's memory rule: each direction still holds at
 * most one pool buffer. Client bytes are unmasked in place (a payload is
 * never longer than the frame it came in); guest bytes are read behind room
 * for one frame header, so each down buffer is one whole binary frame, and
 * pongs and the close frame go out only between such buffers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "gateway.h"
#include "log.h"
#include "tls.h"

static time_t
ws_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int
ws_new(struct tunnel *t)
{
	struct ws_state	*ws;

	if ((ws = calloc(1, sizeof *ws)) == NULL)
		return -1;
	ws_decoder_init(&ws->dec, gw->conf->ws_max_message);
	ws->ping_tokens = 2 * WS_PINGS_PER_SECOND;
	ws->ping_refilled = ws_now();
	t->ws = ws;
	return 0;
}

void
ws_free(struct tunnel *t)
{
	free(t->ws);
	t->ws = NULL;
}

static int
ws_origin_allowed(const char *origin)
{
	size_t	i;

	for (i = 0; i < gw->conf->nws_origins; i++) {
		if (strcasecmp(origin, gw->conf->ws_origins[i]) == 0)
			return 1;
	}
	return 0;
}

int
ws_request(struct tunnel *t, const struct request_limits *lim)
{
	struct ws_upgrade	 u;
	const char		*reason = NULL;
	int			 rc;

	rc = ws_upgrade_parse((const char *)t->up.buf, t->up.len, lim, &u,
	    &reason);
	if (rc == 0) {
		ws_upgrade_clear(&u);
		return 0;
	}
	if (rc < 0)
		tunnel_refuse_parse(t, rc, reason);
	else if ((uint32_t)rc != t->up.len)
		/* RFC 6455 4.1: no frame before the server's answer. */
		tunnel_refuse(t, REFUSE_MALFORMED, "data before the upgrade's "
		    "answer");
	else if (!u.has_origin || !ws_origin_allowed(u.origin))
		tunnel_refuse(t, REFUSE_ORIGIN, u.has_origin ? "origin not "
		    "allowed (ws_origins)" : "no Origin header");
	else {
		relay_dir_release(&t->up);
		ws_accept(u.key, t->ws->accept);
		t->ws->proto_binary = u.proto_binary;
		tunnel_authorize(t, u.ticket, u.port);
	}
	ws_upgrade_clear(&u);
	return 1;
}

int
ws_upstream_start(struct tunnel *t)
{
	SSL	*ssl;

	if ((ssl = SSL_new(gw->spice_ctx)) == NULL ||
	    SSL_set_fd(ssl, t->upstream.fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return -1;
	}
	SSL_set_connect_state(ssl);
	t->upstream.ssl = ssl;
	tunnel_enter(t, TUNNEL_UPSTREAM_TLS, gw->conf->handshake_timeout);
	return 0;
}

/* Queues the 101 that opens the WebSocket; 0, or -1 when out of memory. */
static int
ws_queue_upgrade(struct tunnel *t)
{
	char	answer[256];
	int	n;

	n = snprintf(answer, sizeof answer,
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "%s"
	    "\r\n",
	    t->ws->accept,
	    t->ws->proto_binary ? "Sec-WebSocket-Protocol: binary\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof answer)
		return -1;
	return relay_queue_down(t, answer, (size_t)n);
}

/*
 * The guest's TLS is not what it must be. A page's script cannot read an
 * HTTP refusal (the browser shows it a failed WebSocket, code 1006), so
 * the ticket having passed, the gateway opens the WebSocket and closes it
 * at once with 1014 (bad gateway) and the reason, which the page can show.
 */
void
ws_refuse_upstream(struct tunnel *t, const char *why)
{
	uint8_t	frame[2 + WS_CONTROL_MAX];
	size_t	n;

	tunnel_refusing(t, REFUSE_UPSTREAM_TLS);
	tunnel_set_refusal(t, "refused %d: %s", WS_CLOSE_BAD_GATEWAY, why);
	n = ws_close_frame(frame, WS_CLOSE_BAD_GATEWAY, why);
	if (ws_queue_upgrade(t) == -1 ||
	    relay_queue_down(t, (const char *)frame, n) == -1) {
		tunnel_close(t, tunnel_refusal(t));
		return;
	}
	t->ws->close_sent = 1;
	t->up.eof = 1;
	t->down.eof = 1;
	tunnel_enter(t, TUNNEL_REFUSING, 5);
}

static void
ws_upstream_refuse(struct tunnel *t, const char *why)
{
	ERR_clear_error();
	SSL_free(t->upstream.ssl);
	t->upstream.ssl = NULL;
	session_detach(t);
	ws_refuse_upstream(t, why);
}

/* Whether the guest's certificate has exactly the configured subject. */
static int
ws_upstream_subject_ok(struct tunnel *t, char *why, size_t size)
{
	const char	*want;
	char		 got[512];
	X509		*x;

	want = conf_spice_subject(gw->conf, &t->target.sa);
	if ((x = SSL_get_peer_certificate(t->upstream.ssl)) == NULL) {
		snprintf(why, size, "the guest showed no SPICE certificate");
		return 0;
	}
	tls_subject(x, got, sizeof got);
	X509_free(x);
	if (want != NULL && strcmp(got, want) == 0)
		return 1;
	snprintf(why, size, "the guest's SPICE certificate is for %.100s, not "
	    "the configured spice_subject", got);
	return 0;
}

void
ws_upstream_handshake(struct tunnel *t)
{
	char		 why[200];
	long		 v;
	int		 rc;

	ERR_clear_error();
	if ((rc = SSL_connect(t->upstream.ssl)) != 1) {
		switch (SSL_get_error(t->upstream.ssl, rc)) {
		case SSL_ERROR_WANT_READ:
			t->upstream.readable = 0;
			return;
		case SSL_ERROR_WANT_WRITE:
			t->upstream.writable = 0;
			return;
		}
		v = SSL_get_verify_result(t->upstream.ssl);
		snprintf(why, sizeof why, "the guest's SPICE TLS failed: %s",
		    v != X509_V_OK ? X509_verify_cert_error_string(v) :
		    "handshake failed");
		ws_upstream_refuse(t, why);
		return;
	}
	if (!ws_upstream_subject_ok(t, why, sizeof why)) {
		ws_upstream_refuse(t, why);
		return;
	}
	if (ws_queue_upgrade(t) == -1) {
		tunnel_close(t, "out of memory");
		return;
	}
	t->ws->open = 1;
	metrics_tunnel_opened(t->kind);
	t->last_active = time(NULL);
	tunnel_enter(t, TUNNEL_RELAY, gw->conf->idle_timeout);
}

/* A token bucket: WS_PINGS_PER_SECOND, bursts of twice as many. */
static int
ws_ping_allowed(struct ws_state *ws)
{
	time_t	now = ws_now();

	if (now > ws->ping_refilled) {
		if (now - ws->ping_refilled >= 2)
			ws->ping_tokens = 2 * WS_PINGS_PER_SECOND;
		else
			ws->ping_tokens += WS_PINGS_PER_SECOND;
		if (ws->ping_tokens > 2 * WS_PINGS_PER_SECOND)
			ws->ping_tokens = 2 * WS_PINGS_PER_SECOND;
		ws->ping_refilled = now;
	}
	if (ws->ping_tokens == 0)
		return 0;
	ws->ping_tokens--;
	return 1;
}

void
ws_filter(struct tunnel *t, struct relay_dir *d)
{
	struct ws_state	*ws = t->ws;
	uint8_t		 hdr[WS_SERVER_HEADER_MAX];
	size_t		 in, out, hlen;
	int		 rc;

	if (d == &t->down) {
		/* relay_dir_pump left WS_SERVER_HEADER_MAX bytes in front. */
		hlen = ws_frame_header(hdr, WS_OP_BINARY, d->len - d->off);
		d->off -= (uint32_t)hlen;
		memcpy(d->buf + d->off, hdr, hlen);
		return;
	}
	in = out = d->off;
	while ((rc = ws_decode(&ws->dec, d->buf, d->len, &in, &out)) ==
	    WS_EV_PING) {
		if (!ws_ping_allowed(ws)) {
			ws->dec.reason = "too many pings";
			rc = -WS_CLOSE_POLICY;
			break;
		}
		/* Only the latest ping needs its pong (RFC 6455 5.5.3). */
		hlen = ws_frame_header(ws->pong, WS_OP_PONG, ws->dec.ctl_len);
		memcpy(ws->pong + hlen, ws->dec.ctl, ws->dec.ctl_len);
		ws->pong_len = hlen + ws->dec.ctl_len;
	}
	d->len = (uint32_t)out;
	if (rc < 0)
		ws_end(t, (uint16_t)-rc, ws->dec.reason);
	else if (rc == WS_EV_CLOSE) {
		/* The client sends nothing after it: no need to linger. */
		ws->close_done = 1;
		ws_end(t, ws->dec.close_code == WS_CLOSE_NO_STATUS ?
		    WS_CLOSE_NORMAL : ws->dec.close_code, NULL);
	}
}

int
ws_queue_control(struct tunnel *t)
{
	struct ws_state	*ws = t->ws;

	if (ws->pong_len == 0 || ws->close_sent)
		return 0;
	if (relay_queue_down(t, (const char *)ws->pong, ws->pong_len) == -1)
		return -1;
	ws->pong_len = 0;
	return 1;
}

void
ws_end(struct tunnel *t, uint16_t code, const char *why)
{
	struct ws_state	*ws = t->ws;
	uint8_t		 frame[2 + WS_CONTROL_MAX];
	size_t		 n;

	if (why != NULL) {
		metrics_refusal(REFUSE_WEBSOCKET);
		tunnel_set_refusal(t, "websocket %u: %s", code, why);
	} else
		tunnel_set_refusal(t, "closed");
	ws->pong_len = 0;
	if (!ws->close_sent) {
		/* Fits: down buffers keep WS_DOWN_RESERVE free (relay.c). */
		n = ws_close_frame(frame, code, why);
		(void)relay_queue_down(t, (const char *)frame, n);
		ws->close_sent = 1;
	}
	t->up.eof = 1;
	t->down.eof = 1;
	/* Send the close frame, wait a little for the client's, then close. */
	tunnel_enter(t, TUNNEL_REFUSING, 5);
}

void
ws_goodbye(struct tunnel *t, const char *reason)
{
	uint8_t	frame[2 + WS_CONTROL_MAX];
	size_t	n;

	/* Only between frames, and only what the socket takes at once. */
	if (t->ws->close_sent || t->client.ssl == NULL ||
	    t->down.off != t->down.len)
		return;
	n = ws_close_frame(frame, WS_CLOSE_GOING_AWAY, reason);
	ERR_clear_error();
	(void)SSL_write(t->client.ssl, frame, (int)n);
	ERR_clear_error();
	t->ws->close_sent = 1;
}
