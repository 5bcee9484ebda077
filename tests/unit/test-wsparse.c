/* SPDX-License-Identifier: ISC */
/* Unit tests for gateway/wsparse.c: the WebSocket upgrade and frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "wsparse.h"

static const struct request_limits	deflimits = { 8192, 32 };

/* The example of RFC 6455, 1.3. */
#define KEY	"dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT	"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static int
upgrade(const char *extra_line, const char *target, const char *headers,
    struct ws_upgrade *u)
{
	char		 buf[2048];
	const char	*reason = NULL;
	size_t		 n;
	int		 rc;

	n = fmt(buf, sizeof buf, "%s %s HTTP/1.1\r\n%s\r\n",
	    extra_line != NULL ? extra_line : "GET", target, headers);
	rc = ws_upgrade_parse(buf, n, &deflimits, u, &reason);
	if (rc < 0)
		assert_non_null(reason);
	if (rc > 0)
		assert_int_equal(rc, (int)n);
	return rc;
}

#define GOOD_HEADERS \
	"Host: gw.example:3130\r\n" \
	"Upgrade: websocket\r\n" \
	"Connection: keep-alive, Upgrade\r\n" \
	"Sec-WebSocket-Key: " KEY "\r\n" \
	"Sec-WebSocket-Version: 13\r\n" \
	"Origin: https://portal.example.com\r\n" \
	"Sec-WebSocket-Protocol: binary, base64\r\n"

static void
test_browser_upgrade(void **state)
{
	struct ws_upgrade	u;
	char			accept[WS_ACCEPT_LEN + 1];

	assert_true(upgrade(NULL, "/spice?ticket=pk.abc.def&port=5901&x=1",
	    GOOD_HEADERS, &u) > 0);
	assert_string_equal(u.ticket, "pk.abc.def");
	assert_int_equal(u.port, 5901);
	assert_string_equal(u.origin, "https://portal.example.com");
	assert_true(u.proto_binary);
	ws_accept(u.key, accept);
	assert_string_equal(accept, ACCEPT);
	ws_upgrade_clear(&u);
	assert_string_equal(u.ticket, "");

	/* Without a query or port: the gateway decides (401, one port). */
	assert_true(upgrade(NULL, "/spice", GOOD_HEADERS, &u) > 0);
	assert_string_equal(u.ticket, "");
	assert_int_equal(u.port, 0);
}

static void
test_upgrade_refusals(void **state)
{
	struct ws_upgrade	u;

	assert_int_equal(upgrade("POST", "/spice", GOOD_HEADERS, &u), -405);
	assert_int_equal(upgrade("CONNECT", "a:1", GOOD_HEADERS, &u), -405);
	assert_int_equal(upgrade(NULL, "/vnc?ticket=x", GOOD_HEADERS, &u),
	    -404);
	assert_int_equal(upgrade(NULL, "/spicey", GOOD_HEADERS, &u), -404);
	assert_int_equal(upgrade(NULL, "/spice?ticket=a%20b", GOOD_HEADERS,
	    &u), -400);
	assert_int_equal(upgrade(NULL, "/spice?ticket=a&ticket=b",
	    GOOD_HEADERS, &u), -400);
	assert_int_equal(upgrade(NULL, "/spice?port=0", GOOD_HEADERS, &u),
	    -400);
	assert_int_equal(upgrade(NULL, "/spice?port=65536", GOOD_HEADERS, &u),
	    -400);
	assert_int_equal(upgrade(NULL, "/spice?port=5x", GOOD_HEADERS, &u),
	    -400);
	/* Not an upgrade, another version: 426. */
	assert_int_equal(upgrade(NULL, "/spice", "Host: a\r\n", &u), -426);
	assert_int_equal(upgrade(NULL, "/spice", "Host: a\r\n"
	    "Upgrade: websocket\r\nConnection: upgrade\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 8\r\n", &u),
	    -426);
	/* Missing pieces: 400. */
	assert_int_equal(upgrade(NULL, "/spice", "Host: a\r\n"
	    "Upgrade: websocket\r\nConnection: upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n", &u), -400);
	assert_int_equal(upgrade(NULL, "/spice",
	    "Upgrade: websocket\r\nConnection: upgrade\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n", &u),
	    -400);
	assert_int_equal(upgrade(NULL, "/spice", "Host: a\r\n"
	    "Upgrade: websocket\r\nConnection: close\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n", &u),
	    -400);
	assert_int_equal(upgrade(NULL, "/spice", GOOD_HEADERS
	    "Sec-WebSocket-Key: " KEY "\r\n", &u), -400);
	assert_int_equal(upgrade(NULL, "/spice", GOOD_HEADERS
	    "Origin: https://b\r\n", &u), -400);
	assert_int_equal(upgrade(NULL, "/spice", "Host: a\r\n"
	    "Sec-WebSocket-Key: c2hvcnQ=\r\n", &u), -400);
}

static void
test_upgrade_incomplete(void **state)
{
	char			 buf[1024];
	const char		*reason;
	struct ws_upgrade	 u;
	size_t			 n, i;

	n = fmt(buf, sizeof buf, "GET /spice?ticket=pk.a HTTP/1.1\r\n%s\r\n",
	    GOOD_HEADERS);
	for (i = 0; i < n; i++)
		assert_int_equal(ws_upgrade_parse(buf, i, &deflimits, &u,
		    &reason), 0);
	assert_int_equal(ws_upgrade_parse(buf, n, &deflimits, &u, &reason),
	    (int)n);
	assert_int_equal(ws_upgrade_parse("CONNECT a", 9, &deflimits, &u,
	    &reason), -405);
	assert_int_equal(ws_upgrade_parse("GET /spice HTTP/1.0\r\n", 21,
	    &deflimits, &u, &reason), -505);
}

/* A masked client frame. */
static size_t
cframe(uint8_t *out, uint8_t b0, const uint8_t *payload, uint64_t len,
    uint64_t announce)
{
	static const uint8_t	mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	size_t			n = 0, i;

	out[n++] = b0;
	if (announce < 126)
		out[n++] = 0x80 | (uint8_t)announce;
	else if (announce <= 0xffff) {
		out[n++] = 0x80 | 126;
		out[n++] = (uint8_t)(announce >> 8);
		out[n++] = (uint8_t)announce;
	} else {
		out[n++] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			out[n++] = (uint8_t)(announce >> (56 - 8 * i));
	}
	memcpy(out + n, mask, 4);
	n += 4;
	for (i = 0; i < len; i++)
		out[n + i] = payload[i] ^ mask[i & 3];
	return n + (size_t)len;
}

/* Decodes buf whole, or byte by byte; returns the first non-NONE result. */
static int
decode(struct ws_decoder *d, uint8_t *buf, size_t len, size_t *outlen,
    int bytewise)
{
	size_t	in = 0, out = 0, end;
	int	rc;

	for (end = bytewise ? 1 : len; end <= len; end++) {
		if ((rc = ws_decode(d, buf, end, &in, &out)) != WS_EV_NONE) {
			*outlen = out;
			return rc;
		}
		assert_true(out <= in);
	}
	*outlen = out;
	return WS_EV_NONE;
}

static void
test_frames(void **state)
{
	struct ws_decoder	d;
	uint8_t			buf[70000], payload[66000];
	size_t			n, out, i;
	int			bytewise;

	for (i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7);
	for (bytewise = 0; bytewise < 2; bytewise++) {
		ws_decoder_init(&d, 1 << 20);
		n = cframe(buf, 0x82, payload, 5, 5);
		n += cframe(buf + n, 0x82, payload, 300, 300);
		assert_int_equal(decode(&d, buf, n, &out, bytewise),
		    WS_EV_NONE);
		assert_int_equal(out, 305);
		assert_memory_equal(buf, payload, 5);
		assert_memory_equal(buf + 5, payload, 300);

		/* Fragments with a ping between them. */
		ws_decoder_init(&d, 1 << 20);
		n = cframe(buf, 0x02, payload, 3, 3);
		n += cframe(buf + n, 0x89, (const uint8_t *)"hi", 2, 2);
		assert_int_equal(decode(&d, buf, n, &out, bytewise),
		    WS_EV_PING);
		assert_int_equal(d.ctl_len, 2);
		assert_memory_equal(d.ctl, "hi", 2);
		n = cframe(buf, 0x80, payload + 3, 66000 - 3, 66000 - 3);
		assert_int_equal(decode(&d, buf, n, &out, bytewise),
		    WS_EV_NONE);
		assert_int_equal(out, 66000 - 3);
		assert_memory_equal(buf, payload + 3, 66000 - 3);

		/* Text split inside a character, then a close. */
		ws_decoder_init(&d, 1 << 20);
		n = cframe(buf, 0x01, (const uint8_t *)"caf\xc3", 4, 4);
		n += cframe(buf + n, 0x80, (const uint8_t *)"\xa9", 1, 1);
		n += cframe(buf + n, 0x88, (const uint8_t *)"\x03\xe8ok", 4, 4);
		assert_int_equal(decode(&d, buf, n, &out, bytewise),
		    WS_EV_CLOSE);
		assert_int_equal(d.close_code, 1000);
		assert_memory_equal(buf, "caf\xc3\xa9", 5);
	}
}

static int
decode_fail(uint8_t b0, const char *payload, size_t len, uint64_t announce,
    uint64_t max)
{
	struct ws_decoder	d;
	uint8_t			buf[512];
	size_t			n, out;

	ws_decoder_init(&d, max);
	n = cframe(buf, b0, (const uint8_t *)payload, len, announce);
	return decode(&d, buf, n, &out, 0);
}

static void
test_frame_errors(void **state)
{
	struct ws_decoder	d;
	uint8_t			buf[64];
	size_t			in = 0, out = 0, i;
	int			rc = 0;

	assert_int_equal(decode_fail(0xc2, "a", 1, 1, 100), -1002);	/* rsv */
	assert_int_equal(decode_fail(0x83, "a", 1, 1, 100), -1002);
	assert_int_equal(decode_fail(0x80, "a", 1, 1, 100), -1002);
	assert_int_equal(decode_fail(0x09, "a", 1, 1, 100), -1002);
	assert_int_equal(decode_fail(0x89, "", 0, 126, 100), -1002);
	assert_int_equal(decode_fail(0x82, "", 0, 1ull << 63, 100), -1002);
	assert_int_equal(decode_fail(0x82, "", 0, 101, 100), -1009);
	assert_int_equal(decode_fail(0x81, "\xc0\xaf", 2, 2, 100), -1007);
	assert_int_equal(decode_fail(0x81, "\xed\xa0\x80", 3, 3, 100), -1007);
	assert_int_equal(decode_fail(0x81, "\xf4\x90\x80\x80", 4, 4, 100),
	    -1007);
	assert_int_equal(decode_fail(0x81, "\xe2\x82", 2, 2, 100), -1007);
	assert_int_equal(decode_fail(0x88, "\x03", 1, 1, 100), -1002);
	assert_int_equal(decode_fail(0x88, "\x03\xed", 2, 2, 100), -1002);
	assert_int_equal(decode_fail(0x88, "\x03\xe8\xff", 3, 3, 100), -1007);
	assert_int_equal(decode_fail(0x88, "\x0f\xa0", 2, 2, 100),
	    WS_EV_CLOSE);		/* 4000: private use */

	/* Unmasked. */
	ws_decoder_init(&d, 100);
	buf[0] = 0x82;
	buf[1] = 0x01;
	buf[2] = 'x';
	assert_int_equal(ws_decode(&d, buf, 3, &in, &out), -1002);
	assert_non_null(d.reason);

	/* Fragments forever. */
	ws_decoder_init(&d, 1 << 20);
	for (i = 0; i <= WS_MAX_FRAGMENTS && rc == 0; i++) {
		size_t	n = cframe(buf, i == 0 ? 0x02 : 0x00, NULL, 0, 0);

		in = out = 0;
		rc = ws_decode(&d, buf, n, &in, &out);
	}
	assert_int_equal(rc, -1009);
}

static void
test_encode(void **state)
{
	uint8_t	out[2 + WS_CONTROL_MAX], h[WS_SERVER_HEADER_MAX];
	char	longreason[300];

	assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 5), 2);
	assert_int_equal(h[0], 0x82);
	assert_int_equal(h[1], 5);
	assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 126), 4);
	assert_int_equal(h[1], 126);
	assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 70000), 10);
	assert_int_equal(h[1], 127);
	assert_int_equal(h[7], 0x01);
	assert_int_equal(ws_close_frame(out, 1002, "bad\nframe"), 2 + 2 + 8);
	assert_memory_equal(out, "\x88\x0a\x03\xea" "badframe", 12);
	memset(longreason, 'r', sizeof longreason - 1);
	longreason[sizeof longreason - 1] = '\0';
	assert_int_equal(ws_close_frame(out, 1001, longreason),
	    2 + WS_CONTROL_MAX);
	assert_true(ws_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
	assert_false(ws_utf8_valid((const uint8_t *)"\xf0\x9f\x98", 3));
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_browser_upgrade),
		cmocka_unit_test(test_upgrade_refusals),
		cmocka_unit_test(test_upgrade_incomplete),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_frame_errors),
		cmocka_unit_test(test_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
