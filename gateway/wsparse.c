/* SPDX-License-Identifier: ISC */
/* The WebSocket upgrade request and the client's frames: pure, bounded. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "wsparse.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define UTF8_REJECT	0xffffffffu

/* Whether the token list v (as in "Connection: keep-alive, Upgrade") holds
 * the token tok, compared without case. */
static int
ws_has_token(const char *v, size_t len, const char *tok)
{
	const char	*end = v + len, *comma, *a, *b;
	size_t		 toklen = strlen(tok);

	for (a = v; a < end; a = comma + 1) {
		if ((comma = memchr(a, ',', (size_t)(end - a))) == NULL)
			comma = end;
		for (b = comma; b > a && (b[-1] == ' ' || b[-1] == '\t'); b--)
			;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		if ((size_t)(b - a) == toklen && strncasecmp(a, tok, toklen) == 0)
			return 1;
		if (comma == end)
			break;
	}
	return 0;
}

static int
ws_unreserved(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* "ticket=...&port=N": the query of the request target; 0 or -1. */
static int
ws_parse_query(const char *q, size_t len, struct ws_upgrade *u,
    const char **reason)
{
	const char	*end = q + len, *amp, *eq, *v;
	size_t		 nlen, vlen, i;
	unsigned long	 port;

	for (; q < end; q = amp + 1) {
		if ((amp = memchr(q, '&', (size_t)(end - q))) == NULL)
			amp = end;
		eq = memchr(q, '=', (size_t)(amp - q));
		nlen = (size_t)((eq != NULL ? eq : amp) - q);
		v = eq != NULL ? eq + 1 : amp;
		vlen = (size_t)(amp - v);
		if (nlen == 6 && memcmp(q, "ticket", 6) == 0) {
			if (u->ticket[0] != '\0' || vlen == 0 ||
			    vlen > WS_TICKET_MAX) {
				*reason = "malformed or repeated ticket";
				return -1;
			}
			for (i = 0; i < vlen; i++) {
				if (!ws_unreserved((unsigned char)v[i])) {
					*reason = "malformed ticket";
					return -1;
				}
			}
			memcpy(u->ticket, v, vlen);
			u->ticket[vlen] = '\0';
		} else if (nlen == 4 && memcmp(q, "port", 4) == 0) {
			if (u->port != 0 || vlen == 0 || vlen > 5) {
				*reason = "malformed or repeated port";
				return -1;
			}
			for (i = 0, port = 0; i < vlen; i++) {
				if (!isdigit((unsigned char)v[i])) {
					*reason = "malformed port";
					return -1;
				}
				port = port * 10 + (unsigned long)(v[i] - '0');
			}
			if (port == 0 || port > 65535) {
				*reason = "malformed port";
				return -1;
			}
			u->port = (uint16_t)port;
		}
		/* Other parameters (a browser's cache buster) are ignored. */
		if (amp == end)
			break;
	}
	return 0;
}

/* "GET /spice?... HTTP/1.1"; returns 0 or a negative status. */
static int
ws_parse_line(const char *p, size_t len, struct ws_upgrade *u,
    const char **reason)
{
	const char	*sp1, *sp2, *target, *q;
	size_t		 plen, i;

	if ((sp1 = memchr(p, ' ', len)) == NULL) {
		*reason = "malformed request line";
		return -400;
	}
	if ((size_t)(sp1 - p) != 3 || memcmp(p, "GET", 3) != 0) {
		*reason = "only GET with a WebSocket upgrade is supported";
		return -405;
	}
	target = sp1 + 1;
	if ((sp2 = memchr(target, ' ', len - (size_t)(target - p))) == NULL ||
	    sp2 == target || target[0] != '/') {
		*reason = "malformed request line";
		return -400;
	}
	for (i = 0; target + i < sp2; i++) {
		if (!isgraph((unsigned char)target[i])) {
			*reason = "malformed request target";
			return -400;
		}
	}
	q = memchr(target, '?', (size_t)(sp2 - target));
	plen = (size_t)((q != NULL ? q : sp2) - target);
	if (plen != strlen(WS_PATH) || memcmp(target, WS_PATH, plen) != 0) {
		*reason = "no such path: WebSocket clients connect to " WS_PATH;
		return -404;
	}
	if (q != NULL && ws_parse_query(q + 1, (size_t)(sp2 - q - 1), u,
	    reason) == -1)
		return -400;
	sp2++;
	if (request_version(sp2, len - (size_t)(sp2 - p), reason) == -1)
		return -400;
	if (sp2[5] != '1' || sp2[7] != '1') {
		*reason = "a WebSocket upgrade needs HTTP/1.1";
		return -505;
	}
	return 0;
}

/* Sec-WebSocket-Key: base64 of 16 bytes; 0 or -1. */
static int
ws_parse_key(const char *v, size_t len, struct ws_upgrade *u)
{
	size_t	i;

	if (len != WS_KEY_LEN || v[22] != '=' || v[23] != '=')
		return -1;
	for (i = 0; i < 22; i++) {
		if (!isalnum((unsigned char)v[i]) && v[i] != '+' && v[i] != '/')
			return -1;
	}
	memcpy(u->key, v, len);
	u->key[len] = '\0';
	return 0;
}

#define HDR_IS(name)	(nlen == sizeof name - 1 && \
			    strncasecmp(n, name, sizeof name - 1) == 0)

static int
ws_parse_header(const char *p, size_t len, struct ws_upgrade *u,
    const char **reason)
{
	const char	*n, *v;
	size_t		 nlen, vlen;
	int		 rc;

	if ((rc = request_header_split(p, len, &n, &nlen, &v, &vlen,
	    reason)) != 0)
		return rc;
	if (HDR_IS("Host")) {
		if (u->has_host++) {
			*reason = "repeated Host";
			return -400;
		}
	} else if (HDR_IS("Upgrade")) {
		if (ws_has_token(v, vlen, "websocket"))
			u->upgrade_websocket = 1;
	} else if (HDR_IS("Connection")) {
		if (ws_has_token(v, vlen, "upgrade"))
			u->connection_upgrade = 1;
	} else if (HDR_IS("Sec-WebSocket-Version")) {
		if (u->version != -1) {
			*reason = "repeated Sec-WebSocket-Version";
			return -400;
		}
		u->version = vlen == 2 && memcmp(v, "13", 2) == 0 ? 13 : 0;
	} else if (HDR_IS("Sec-WebSocket-Key")) {
		if (u->key[0] != '\0' || ws_parse_key(v, vlen, u) == -1) {
			*reason = "malformed or repeated Sec-WebSocket-Key";
			return -400;
		}
	} else if (HDR_IS("Origin")) {
		if (u->has_origin || vlen > WS_ORIGIN_MAX) {
			*reason = "repeated or oversized Origin";
			return -400;
		}
		memcpy(u->origin, v, vlen);
		u->origin[vlen] = '\0';
		u->has_origin = 1;
	} else if (HDR_IS("Sec-WebSocket-Protocol")) {
		if (ws_has_token(v, vlen, "binary"))
			u->proto_binary = 1;
	}
	return 0;
}

static int
ws_line(void *arg, const char *p, size_t len, int first, const char **reason)
{
	if (first)
		return ws_parse_line(p, len, arg, reason);
	return ws_parse_header(p, len, arg, reason);
}

int
ws_upgrade_parse(const char *buf, size_t len,
    const struct request_limits *limits, struct ws_upgrade *u,
    const char **reason)
{
	int	rc;

	ws_upgrade_clear(u);
	u->version = -1;
	rc = request_head_parse(buf, len, limits, "GET", ws_line, u,
	    &u->nheaders, reason);
	if (rc <= 0)
		return rc;
	if (!u->upgrade_websocket) {
		*reason = "not a WebSocket upgrade (Upgrade: websocket)";
		return -426;
	}
	if (u->version != 13) {
		*reason = "unsupported WebSocket version (13 only)";
		return -426;
	}
	if (!u->connection_upgrade || u->key[0] == '\0' || !u->has_host) {
		*reason = "incomplete WebSocket upgrade (Connection, "
		    "Sec-WebSocket-Key and Host are required)";
		return -400;
	}
	return rc;
}

void
ws_upgrade_clear(struct ws_upgrade *u)
{
	OPENSSL_cleanse(u, sizeof *u);
}

void
ws_accept(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	char		in[WS_KEY_LEN + sizeof WS_GUID];
	unsigned int	mdlen = 0;
	size_t		n = strnlen(key, WS_KEY_LEN);

	memcpy(in, key, n);
	memcpy(in + n, WS_GUID, sizeof WS_GUID - 1);
	if (EVP_Digest(in, n + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(),
	    NULL) != 1 || mdlen != 20) {
		/* Only out of memory: an answer no client accepts. */
		memset(out, 'A', WS_ACCEPT_LEN);
		out[WS_ACCEPT_LEN] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

/*
 * One step of UTF-8 validation: 0 between characters, or the bytes still
 * needed in the low byte with the range the next one must fall in above it
 * (which refuses overlong forms, surrogates and code points past U+10FFFF).
 */
static uint32_t
ws_utf8_step(uint32_t st, uint8_t c)
{
	uint32_t	lo, hi, need;

	if (st == 0) {
		if (c < 0x80)
			return 0;
		if (c < 0xc2 || c > 0xf4)
			return UTF8_REJECT;
		if (c < 0xe0)
			return 1 | 0x80 << 8 | 0xbfu << 16;
		if (c == 0xe0)
			return 2 | 0xa0 << 8 | 0xbfu << 16;
		if (c == 0xed)
			return 2 | 0x80 << 8 | 0x9fu << 16;
		if (c < 0xf0)
			return 2 | 0x80 << 8 | 0xbfu << 16;
		if (c == 0xf0)
			return 3 | 0x90 << 8 | 0xbfu << 16;
		if (c == 0xf4)
			return 3 | 0x80 << 8 | 0x8fu << 16;
		return 3 | 0x80 << 8 | 0xbfu << 16;
	}
	lo = (st >> 8) & 0xff;
	hi = (st >> 16) & 0xff;
	if (c < lo || c > hi)
		return UTF8_REJECT;
	need = (st & 0xff) - 1;
	return need == 0 ? 0 : need | 0x80 << 8 | 0xbfu << 16;
}

int
ws_utf8_valid(const uint8_t *buf, size_t len)
{
	uint32_t	st = 0;
	size_t		i;

	for (i = 0; i < len; i++) {
		if ((st = ws_utf8_step(st, buf[i])) == UTF8_REJECT)
			return 0;
	}
	return st == 0;
}

void
ws_decoder_init(struct ws_decoder *d, uint64_t max_message)
{
	memset(d, 0, sizeof *d);
	d->max_message = max_message;
	d->close_code = WS_CLOSE_NO_STATUS;
}

static int
ws_fail(struct ws_decoder *d, int code, const char *reason)
{
	d->reason = reason;
	return -code;
}

static int
ws_is_control(uint8_t opcode)
{
	return (opcode & 0x8) != 0;
}

/* Checks the first two header bytes as soon as they are in. */
static int
ws_check_start(struct ws_decoder *d)
{
	uint8_t	b0 = d->hdr[0], b1 = d->hdr[1], op = b0 & 0x0f;

	if (b0 & 0x70)
		return ws_fail(d, WS_CLOSE_PROTOCOL, "reserved bits set");
	if (!(b1 & 0x80))
		return ws_fail(d, WS_CLOSE_PROTOCOL, "unmasked client frame");
	switch (op) {
	case WS_OP_CONTINUATION:
		if (d->msg_opcode == 0)
			return ws_fail(d, WS_CLOSE_PROTOCOL,
			    "continuation outside a message");
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (d->msg_opcode != 0)
			return ws_fail(d, WS_CLOSE_PROTOCOL,
			    "new message inside a fragmented one");
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!(b0 & 0x80) || (b1 & 0x7f) > WS_CONTROL_MAX)
			return ws_fail(d, WS_CLOSE_PROTOCOL,
			    "fragmented or oversized control frame");
		break;
	default:
		return ws_fail(d, WS_CLOSE_PROTOCOL, "unknown opcode");
	}
	return 0;
}

/* The header is whole: takes its length and mask; 0 or a failure. */
static int
ws_start_payload(struct ws_decoder *d)
{
	uint8_t		len7 = d->hdr[1] & 0x7f;
	uint64_t	len = len7;
	int		i;

	d->opcode = d->hdr[0] & 0x0f;
	d->fin = (d->hdr[0] & 0x80) != 0;
	if (len7 == 126) {
		len = (uint64_t)d->hdr[2] << 8 | d->hdr[3];
		if (len < 126)
			return ws_fail(d, WS_CLOSE_PROTOCOL,
			    "length not in its shortest form");
	} else if (len7 == 127) {
		for (len = 0, i = 2; i < 10; i++)
			len = len << 8 | d->hdr[i];
		if (len >> 63)
			return ws_fail(d, WS_CLOSE_PROTOCOL,
			    "length out of range");
		if (len <= 0xffff)
			return ws_fail(d, WS_CLOSE_PROTOCOL,
			    "length not in its shortest form");
	}
	if (!ws_is_control(d->opcode)) {
		if (len > d->max_message - d->msg_len)
			return ws_fail(d, WS_CLOSE_TOO_BIG,
			    "message too big");
		if (++d->msg_frames > WS_MAX_FRAGMENTS)
			return ws_fail(d, WS_CLOSE_TOO_BIG,
			    "too many fragments in one message");
		if (d->opcode != WS_OP_CONTINUATION) {
			d->msg_opcode = d->opcode;
			d->utf8 = 0;
		}
		d->msg_len += len;
	}
	d->left = len;
	d->pos = 0;
	d->in_payload = 1;
	return 0;
}

/* The bytes a header needs, from what it holds so far. */
static uint8_t
ws_header_need(const struct ws_decoder *d)
{
	uint8_t	len7;

	if (d->hlen < 2)
		return 2;
	len7 = d->hdr[1] & 0x7f;
	return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
}

/* A frame's payload has all arrived; returns an event or a failure. */
static int
ws_end_frame(struct ws_decoder *d)
{
	size_t	i;

	d->in_payload = 0;
	d->hlen = 0;
	if (!ws_is_control(d->opcode)) {
		if (!d->fin)
			return WS_EV_NONE;
		if (d->msg_opcode == WS_OP_TEXT && d->utf8 != 0)
			return ws_fail(d, WS_CLOSE_BAD_DATA,
			    "text message ends inside a UTF-8 sequence");
		d->msg_opcode = 0;
		d->msg_len = 0;
		d->msg_frames = 0;
		return WS_EV_NONE;
	}
	d->ctl_len = (size_t)d->pos;
	switch (d->opcode) {
	case WS_OP_PING:
		return WS_EV_PING;
	case WS_OP_CLOSE:
		if (d->ctl_len == 1)
			return ws_fail(d, WS_CLOSE_PROTOCOL,
			    "close frame with a one-byte payload");
		if (d->ctl_len == 0) {
			d->close_code = WS_CLOSE_NO_STATUS;
			return WS_EV_CLOSE;
		}
		d->close_code = (uint16_t)(d->ctl[0] << 8 | d->ctl[1]);
		i = d->close_code;
		if (i < 1000 || (i >= 1004 && i <= 1006) ||
		    (i >= 1015 && i < 3000) || i >= 5000)
			return ws_fail(d, WS_CLOSE_PROTOCOL,
			    "invalid close code");
		if (!ws_utf8_valid(d->ctl + 2, d->ctl_len - 2))
			return ws_fail(d, WS_CLOSE_BAD_DATA,
			    "close reason is not UTF-8");
		return WS_EV_CLOSE;
	}
	return WS_EV_NONE;	/* a pong */
}

int
ws_decode(struct ws_decoder *d, uint8_t *buf, size_t len, size_t *in,
    size_t *out)
{
	const uint8_t	*mask;
	uint8_t		 c;
	size_t		 n, i;
	int		 rc;

	while (*in < len) {
		if (!d->in_payload) {
			while (d->hlen < ws_header_need(d) && *in < len) {
				d->hdr[d->hlen++] = buf[(*in)++];
				if (d->hlen == 2 && (rc = ws_check_start(d)) < 0)
					return rc;
			}
			if (d->hlen < ws_header_need(d))
				break;
			if ((rc = ws_start_payload(d)) < 0)
				return rc;
		} else {
			mask = d->hdr + d->hlen - 4;
			n = len - *in;
			if (n > d->left)
				n = (size_t)d->left;
			for (i = 0; i < n; i++) {
				c = buf[*in + i] ^ mask[(d->pos + i) & 3];
				if (ws_is_control(d->opcode))
					d->ctl[d->pos + i] = c;
				else {
					if (d->msg_opcode == WS_OP_TEXT &&
					    (d->utf8 = ws_utf8_step(d->utf8,
					    c)) == UTF8_REJECT) {
						/* Keep *out behind *in. */
						*in += i;
						return ws_fail(d,
						    WS_CLOSE_BAD_DATA,
						    "text is not UTF-8");
					}
					buf[(*out)++] = c;
				}
			}
			*in += n;
			d->pos += n;
			d->left -= n;
		}
		if (d->in_payload && d->left == 0 &&
		    (rc = ws_end_frame(d)) != WS_EV_NONE)
			return rc;
	}
	return WS_EV_NONE;
}

size_t
ws_frame_header(uint8_t out[WS_SERVER_HEADER_MAX], unsigned int opcode,
    uint64_t len)
{
	int	i;

	out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

size_t
ws_close_frame(uint8_t out[2 + WS_CONTROL_MAX], uint16_t code,
    const char *reason)
{
	size_t	n = 2;

	out[n++] = (uint8_t)(code >> 8);
	out[n++] = (uint8_t)code;
	for (; reason != NULL && *reason != '\0' && n < 2 + WS_CONTROL_MAX;
	    reason++) {
		if (*reason >= 0x20 && *reason < 0x7f)
			out[n++] = (uint8_t)*reason;
	}
	out[0] = 0x80 | WS_OP_CLOSE;
	out[1] = (uint8_t)(n - 2);
	return n;
}
