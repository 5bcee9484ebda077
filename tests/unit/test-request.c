/* SPDX-License-Identifier: ISC */
/* Unit tests for gateway/request.c: the CONNECT request parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include <openssl/evp.h>

#include "request.h"

#define BIG	20000

static const struct request_limits	deflimits = { 8192, 32 };


/* "Proxy-Authorization: Basic" of GLib: base64 of "user:password". */
static const char *
basic(const char *cred, size_t len)
{
	static unsigned char	out[2048];

	assert_true(len * 4 / 3 + 4 < sizeof out);
	EVP_EncodeBlock(out, (const unsigned char *)cred, (int)len);
	return (const char *)out;
}

/* What GLib's GProxy sends for a CONNECT through an HTTP proxy. */
static size_t
glib_request(char *buf, size_t size, const char *target, const char *cred,
    const char *eol)
{
	size_t	n;

	n = fmt(buf, size,
	    "CONNECT %s HTTP/1.0%s"
	    "Host: %s%s"
	    "Proxy-Connection: keep-alive%s"
	    "User-Agent: GLib/2.74%s"
	    "Proxy-Authorization: Basic %s%s"
	    "%s",
	    target, eol, target, eol, eol, eol, basic(cred, strlen(cred)), eol,
	    eol);
	return n;
}

static int
parse_n(const char *buf, size_t len, const struct request_limits *limits,
    struct request *req)
{
	const char	*reason = NULL;
	int		 rc;

	memset(req, 0x5a, sizeof *req);
	rc = request_parse(buf, len, limits, req, &reason);
	if (rc < 0) {
		assert_non_null(reason);
		assert_true(strlen(reason) > 0);
		assert_true(rc == -400 || rc == -405 || rc == -431 ||
		    rc == -505);
	} else
		assert_true((size_t)rc <= len);
	return rc;
}

static int
parse(const char *s, struct request *req)
{
	return parse_n(s, strlen(s), &deflimits, req);
}

/* The status for a request line followed by a plain end of headers. */
static int
parse_line(const char *line, struct request *req)
{
	char	buf[1024];

	fmt(buf, sizeof buf, "%s\r\nHost: x\r\n\r\n", line);
	return parse(buf, req);
}

/* The status for one header after a good request line. */
static int
parse_header(const char *header, struct request *req)
{
	char	buf[2048];

	fmt(buf, sizeof buf, "CONNECT host:5901 HTTP/1.1\r\n%s\r\n\r\n",
	    header);
	return parse(buf, req);
}

static void
test_glib_request(void **state)
{
	struct request	req;
	char		buf[1024];
	size_t		len;

	len = glib_request(buf, sizeof buf, "host:5901", "user:pass", "\r\n");
	assert_int_equal(parse(buf, &req), (int)len);
	assert_string_equal(req.host, "host");
	assert_int_equal(req.port, 5901);
	assert_int_equal(req.http_minor, 0);
	assert_int_equal(req.has_credentials, 1);
	assert_string_equal(req.cred_user, "user");
	assert_string_equal(req.cred_password, "pass");
	assert_int_equal(req.nheaders, 4);

	/* A ticket as the host, the way the .vv file carries it. */
	len = glib_request(buf, sizeof buf,
	    "pk.aeaqaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aeaqaaaa:5901", "paprika:x", "\r\n");
	assert_int_equal(parse(buf, &req), (int)len);
	assert_string_equal(req.host,
	    "pk.aeaqaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aeaqaaaa");
	assert_int_equal(req.port, 5901);
}

static void
test_trailing_bytes(void **state)
{
	static char		 big[BIG];
	struct request_limits	 l = { 512, 32 };
	struct request		 req;
	char			 buf[1024];
	size_t			 len;

	len = glib_request(buf, sizeof buf, "10.0.0.5:5902", "a:b", "\r\n");
	/* The client may send its first TLS bytes right behind. */
	memcpy(buf + len, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
	assert_int_equal(parse_n(buf, len + 11, &deflimits, &req), (int)len);
	assert_string_equal(req.host, "10.0.0.5");
	assert_int_equal(req.port, 5902);

	/* And more than the size limit beyond the request. */
	memcpy(big, buf, len);
	memset(big + len, 0, sizeof big - len);
	assert_int_equal(parse_n(big, sizeof big, &l, &req), (int)len);
}

static void
test_every_prefix(void **state)
{
	struct request	req;
	char		buf[1024];
	size_t		len, i;
	int		rc;

	len = glib_request(buf, sizeof buf, "host:5901", "user:pass", "\r\n");
	for (i = 0; i < len; i++) {
		rc = parse_n(buf, i, &deflimits, &req);
		if (rc != 0)
			fail_msg("prefix of %zu bytes: %d", i, rc);
	}
	assert_int_equal(parse_n(buf, len, &deflimits, &req), (int)len);

	len = glib_request(buf, sizeof buf, "[::1]:5900", "user:pass", "\n");
	for (i = 0; i < len; i++) {
		rc = parse_n(buf, i, &deflimits, &req);
		if (rc != 0)
			fail_msg("LF prefix of %zu bytes: %d", i, rc);
	}
	assert_int_equal(parse_n(buf, len, &deflimits, &req), (int)len);
}

static void
test_lf_only(void **state)
{
	struct request	req;
	char		buf[1024];
	size_t		len;

	len = glib_request(buf, sizeof buf, "host:5901", "user:pass", "\n");
	assert_int_equal(parse(buf, &req), (int)len);
	assert_string_equal(req.host, "host");
	assert_int_equal(req.port, 5901);
	assert_string_equal(req.cred_user, "user");
	assert_string_equal(req.cred_password, "pass");
	assert_int_equal(req.nheaders, 4);

	/* Mixed line ends, and a request without headers. */
	assert_int_equal(parse("CONNECT h:1 HTTP/1.1\r\nHost: h:1\n\r\n", &req),
	    34);
	assert_int_equal(parse("CONNECT h:1 HTTP/1.1\n\n", &req), 22);
	assert_int_equal(req.nheaders, 0);
	assert_int_equal(req.has_credentials, 0);
	assert_int_equal(req.http_minor, 1);
	assert_int_equal(parse("CONNECT h:1 HTTP/1.1\r\n\r\n", &req), 24);
	/* A blank line of "\r\r\n" is not blank. */
	assert_int_equal(parse("CONNECT h:1 HTTP/1.1\r\n\r\r\n", &req), -400);
}

/* A request of exactly len bytes with n headers, padded in the last one. */
static size_t
sized_request(char *buf, size_t len, size_t n)
{
	size_t	o, i;

	o = (size_t)fmt(buf, len + 1, "CONNECT host:5901 HTTP/1.1\r\n");
	for (i = 0; i + 1 < n; i++)
		o += (size_t)fmt(buf + o, len + 1 - o, "X-%zu: v\r\n", i);
	assert_true(o + 10 <= len);
	memcpy(buf + o, "X-Pad: ", 7);
	o += 7;
	while (o < len - 4)
		buf[o++] = 'p';
	memcpy(buf + o, "\r\n\r\n", 4);
	return len;
}

static void
test_size_limit(void **state)
{
	static char		buf[BIG];
	struct request		req;
	struct request_limits	l;
	size_t			size;

	for (size = 100; size <= 8192; size = size * 3 + 1) {
		sized_request(buf, size, 3);
		l.max_headers = 32;
		/* Exactly at the limit. */
		l.max_size = size;
		assert_int_equal(parse_n(buf, size, &l, &req), (int)size);
		assert_int_equal(req.nheaders, 3);
		/* One byte more than the limit. */
		l.max_size = size - 1;
		assert_int_equal(parse_n(buf, size, &l, &req), -431);
		/* Known as soon as the limit is reached, not later. */
		assert_int_equal(parse_n(buf, size - 1, &l, &req), -431);
		assert_int_equal(parse_n(buf, size - 2, &l, &req), 0);
	}
	/* The default limit: 8192 bytes pass, 8193 do not. */
	sized_request(buf, 8192, 1);
	assert_int_equal(parse_n(buf, 8192, &deflimits, &req), 8192);
	sized_request(buf, 8193, 1);
	assert_int_equal(parse_n(buf, 8193, &deflimits, &req), -431);
	assert_int_equal(parse_n(buf, 8192, &deflimits, &req), -431);
	assert_int_equal(parse_n(buf, 8191, &deflimits, &req), 0);

	/* A request line that never ends. */
	memcpy(buf, "CONNECT ", 8);
	memset(buf + 8, 'h', sizeof buf - 8);
	assert_int_equal(parse_n(buf, 8191, &deflimits, &req), 0);
	assert_int_equal(parse_n(buf, 8192, &deflimits, &req), -431);
	assert_int_equal(parse_n(buf, sizeof buf, &deflimits, &req), -431);
}

static void
test_header_limit(void **state)
{
	static char		buf[BIG];
	struct request		req;
	struct request_limits	l = { 8192, 0 };
	size_t			n, len;

	for (n = 1; n <= 40; n++) {
		len = sized_request(buf, 100 + 12 * n, n);
		l.max_headers = n;
		assert_int_equal(parse_n(buf, len, &l, &req), (int)len);
		assert_int_equal(req.nheaders, n);
		l.max_headers = n - 1;
		assert_int_equal(parse_n(buf, len, &l, &req), -431);
	}
	/* The default: 32 headers pass, 33 do not. */
	len = sized_request(buf, 1000, 32);
	assert_int_equal(parse_n(buf, len, &deflimits, &req), (int)len);
	len = sized_request(buf, 1000, 33);
	assert_int_equal(parse_n(buf, len, &deflimits, &req), -431);
	/* Known at the 33rd header, before the request ends. */
	assert_int_equal(parse_n(buf, len - 2, &deflimits, &req), -431);
}

static void
test_early_errors(void **state)
{
	struct request	req;

	assert_int_equal(parse("GET / HTTP/1.1\r\n", &req), -405);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n", &req), -405);
	/* Eight bytes that cannot start "CONNECT " are enough. */
	assert_int_equal(parse("GET /xxxx", &req), -405);
	assert_int_equal(parse("GET /xxx", &req), -405);
	assert_int_equal(parse("CONNECTX", &req), -405);
	assert_int_equal(parse("connect host:1 HTTP/1.1", &req), -405);
	assert_int_equal(parse("POST /api HTTP/1.1", &req), -405);
	/* A TLS ClientHello sent to the plain port. */
	assert_int_equal(parse_n("\x16\x03\x01\x02\x00\x01\x00\x01", 8,
	    &deflimits, &req), -405);
	assert_int_equal(parse_n("\x16\x03\x01\x02\x00\x01\x00", 7,
	    &deflimits, &req), 0);
	/* Less cannot tell. */
	assert_int_equal(parse("CONNECT", &req), 0);
	assert_int_equal(parse("CONNECT ", &req), 0);
	assert_int_equal(parse("CONNECT host:5901 HTTP/1.0", &req), 0);
	/* A bad header is refused without waiting for the blank line. */
	assert_int_equal(parse("CONNECT h:1 HTTP/1.1\r\nNo colon here\r\n",
	    &req), -400);
	assert_int_equal(parse("CONNECT h:1 HTTP/1.1\r\n"
	    "Proxy-Authorization: Bearer x\r\n", &req), -400);
	/* And a bad request line without waiting for the headers. */
	assert_int_equal(parse("CONNECT host HTTP/1.1\r\n", &req), -400);
	assert_int_equal(parse("CONNECT host:1 HTTP/1.7\r\n", &req), -505);
}

static void
test_request_line(void **state)
{
	static const char	*bad[] = {
		"CONNECT",
		"CONNECT host:5901",
		"CONNECT host:5901 ",
		"CONNECT  host:5901 HTTP/1.0",
		"CONNECT host:5901  HTTP/1.0",
		"CONNECT host:5901 HTTP/1.0 ",
		"CONNECT host:5901 HTTP/1.0 extra",
		"CONNECT host:5901 http/1.0",
		"CONNECT host:5901 HTTP/1.",
		"CONNECT host:5901 HTTP/1.10",
		"CONNECT host:5901 HTTP/1.0\r",
		"CONNECT host:5901 HTTP/1.x",
		"CONNECT host:5901 HTTP/11.0",
		"CONNECT host:5901 HTTPS/1.",
		"CONNECT host:5901\tHTTP/1.0",
		"",
	};
	struct request	req;
	size_t		i;
	int		rc;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rc = parse_line(bad[i], &req);
		if (rc != -400)
			fail_msg("\"%s\": %d, not -400", bad[i], rc);
	}
	/* A method that is not "CONNECT" followed by a space. */
	assert_int_equal(parse_line("CONNECT\thost:5901 HTTP/1.0", &req), -405);
	assert_int_equal(parse_line("CONNECTS host:5901 HTTP/1.0", &req), -405);
	assert_int_equal(parse_line(" CONNECT host:5901 HTTP/1.0", &req), -405);
	assert_int_equal(parse_line("CONNECT host:5901 HTTP/1.0", &req), 28 + 9 + 2);
	assert_int_equal(req.http_minor, 0);
	assert_int_equal(parse_line("CONNECT host:5901 HTTP/1.1", &req), 28 + 9 + 2);
	assert_int_equal(req.http_minor, 1);
}

/* Well-formed versions other than 1.0 and 1.1 are 505, not 400. */
static void
test_version(void **state)
{
	struct request	req;
	char		line[64];
	int		d;

	for (d = '2'; d <= '9'; d++) {
		fmt(line, sizeof line, "CONNECT host:5901 HTTP/1.%c", d);
		assert_int_equal(parse_line(line, &req), -505);
	}
	assert_int_equal(parse_line("CONNECT host:5901 HTTP/0.9", &req), -505);
	assert_int_equal(parse_line("CONNECT host:5901 HTTP/2.0", &req), -505);
	assert_int_equal(parse_line("CONNECT host:5901 HTTP/3.0", &req), -505);
}

static void
test_target(void **state)
{
	static const char	*bad[] = {
		"host", "host:", ":5901", "host:0", "host:00000", "host:65536",
		"host:99999", "host:123456", "host:000080", "host:+80",
		"host:-1", "host:8a", "host:0x50", "host: 80", "[::1]", "[::1]:",
		"[::1]x:80", "[::1", "[::1]:0", "[::1]:65536", "[::1]::80",
		"ho\x01st:80", "ho\x7fst:80", "h\xc3\xa9:80", "ho\x1bst:80",
	};
	struct request	req;
	char		line[1024], host[300];
	size_t		i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fmt(line, sizeof line, "CONNECT %s HTTP/1.0", bad[i]);
		if (parse_line(line, &req) != -400)
			fail_msg("target \"%s\" accepted", bad[i]);
	}

	assert_true(parse_line("CONNECT host:65535 HTTP/1.0", &req) > 0);
	assert_int_equal(req.port, 65535);
	assert_true(parse_line("CONNECT host:1 HTTP/1.0", &req) > 0);
	assert_int_equal(req.port, 1);
	assert_true(parse_line("CONNECT host:00080 HTTP/1.0", &req) > 0);
	assert_int_equal(req.port, 80);

	/* IPv6 literals keep their brackets: the host as sent. */
	assert_true(parse_line("CONNECT [::1]:5900 HTTP/1.0", &req) > 0);
	assert_string_equal(req.host, "[::1]");
	assert_int_equal(req.port, 5900);
	assert_true(parse_line("CONNECT [2001:db8::1]:443 HTTP/1.1", &req) > 0);
	assert_string_equal(req.host, "[2001:db8::1]");
	assert_int_equal(req.port, 443);
	assert_true(parse_line("CONNECT 192.0.2.1:5901 HTTP/1.1", &req) > 0);
	assert_string_equal(req.host, "192.0.2.1");

	/* 253 characters of host pass, 254 do not. */
	memset(host, 'a', sizeof host);
	for (i = 63; i < 253; i += 64)
		host[i] = '.';
	host[253] = '\0';
	fmt(line, sizeof line, "CONNECT %s:5901 HTTP/1.0", host);
	assert_true(parse_line(line, &req) > 0);
	assert_string_equal(req.host, host);
	assert_int_equal(strlen(req.host), REQUEST_HOST_MAX);
	host[253] = 'a';
	host[254] = '\0';
	fmt(line, sizeof line, "CONNECT %s:5901 HTTP/1.0", host);
	assert_int_equal(parse_line(line, &req), -400);
	host[280] = '\0';
	memset(host + 253, 'b', 27);
	fmt(line, sizeof line, "CONNECT %s:5901 HTTP/1.0", host);
	assert_int_equal(parse_line(line, &req), -400);
}

static void
test_nul(void **state)
{
	struct request	req;
	char		buf[256];
	size_t		len;

	len = glib_request(buf, sizeof buf, "host:5901", "user:pass", "\r\n");
	/* A NUL anywhere in the request line or a header. */
	buf[10] = '\0';
	assert_int_equal(parse_n(buf, len, &deflimits, &req), -400);
	len = glib_request(buf, sizeof buf, "host:5901", "user:pass", "\r\n");
	buf[30] = '\0';		/* in "Host" */
	assert_int_equal(parse_n(buf, len, &deflimits, &req), -400);
	len = glib_request(buf, sizeof buf, "host:5901", "user:pass", "\r\n");
	buf[40] = '\0';		/* in the value of "Host" */
	assert_int_equal(parse_n(buf, len, &deflimits, &req), -400);
	/* Right before the line end. */
	assert_int_equal(parse_n("CONNECT h:1 HTTP/1.1\0\r\n\r\n", 25,
	    &deflimits, &req), -400);
	assert_int_equal(parse_n("CONNECT h:1 HTTP/1.1\r\nA: b\0\r\n\r\n", 31,
	    &deflimits, &req), -400);
	assert_int_equal(parse_n("CONNECT h:1 HTTP/1.1\r\nA: b\r\n\0\r\n", 31,
	    &deflimits, &req), -400);
}

static void
test_headers(void **state)
{
	static const char	*bad[] = {
		"No colon",
		": empty name",
		"Host : space before colon",
		"Host\t: tab before colon",
		" Host: leading space",
		"\tfolded continuation",
		"Ho st: space in name",
		"Ho\001st: control in name",
		"X: control \001 in value",
		"X: escape \033[0m in value",
		"X: unit \037 separator",
		"X: carriage\rreturn",
		"X: value\r",
		"X\r: y",
		"\xc3\xa9: y",
	};
	struct request	req;
	size_t		i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse_header(bad[i], &req) != -400)
			fail_msg("header \"%s\" accepted", bad[i]);
	}
	/* Tabs, empty values and odd but printable names are fine. */
	assert_true(parse_header("X: a\tb", &req) > 0);
	assert_true(parse_header("X:", &req) > 0);
	assert_true(parse_header("X:   ", &req) > 0);
	assert_true(parse_header("X-Y_Z.1: v", &req) > 0);
	assert_true(parse_header("X: a: b: c", &req) > 0);
	assert_true(parse_header("X: caf\xc3\xa9", &req) > 0);
	assert_int_equal(req.nheaders, 1);
	assert_int_equal(req.has_credentials, 0);
}

/* The status for a Proxy-Authorization header with this value. */
static int
parse_auth(const char *value, struct request *req)
{
	char	header[1024];

	fmt(header, sizeof header, "Proxy-Authorization: %s", value);
	return parse_header(header, req);
}

static void
test_credentials(void **state)
{
	struct request	req;
	char		value[1024], cred[600];

	fmt(value, sizeof value, "Basic %s", basic("alice:s3cr:et", 13));
	assert_true(parse_auth(value, &req) > 0);
	assert_int_equal(req.has_credentials, 1);
	assert_string_equal(req.cred_user, "alice");
	assert_string_equal(req.cred_password, "s3cr:et");

	/* Padding of 0, 1 and 2. */
	fmt(value, sizeof value, "Basic %s", basic("abc:def", 7));
	assert_true(parse_auth(value, &req) > 0);
	assert_string_equal(req.cred_password, "def");
	fmt(value, sizeof value, "Basic %s", basic("abc:defg", 8));
	assert_true(parse_auth(value, &req) > 0);
	assert_string_equal(req.cred_password, "defg");
	fmt(value, sizeof value, "Basic %s", basic("abc:defgh", 9));
	assert_true(parse_auth(value, &req) > 0);
	assert_string_equal(req.cred_password, "defgh");

	/* Empty password; scheme and header name in any case; blanks. */
	fmt(value, sizeof value, "basic %s", basic("user:", 5));
	assert_true(parse_auth(value, &req) > 0);
	assert_string_equal(req.cred_user, "user");
	assert_string_equal(req.cred_password, "");
	fmt(value, sizeof value, "BASIC    %s  \t", basic("u:p", 3));
	assert_true(parse_auth(value, &req) > 0);
	assert_string_equal(req.cred_password, "p");
	fmt(value, sizeof value, "proxy-authorization: Basic %s",
	    basic("u:p", 3));
	assert_true(parse_header(value, &req) > 0);
	assert_int_equal(req.has_credentials, 1);

	/* A ticket as the password. */
	fmt(value, sizeof value, "Basic %s",
	    basic("paprika:pk.aeaqaaaa", 19));
	assert_true(parse_auth(value, &req) > 0);
	assert_string_equal(req.cred_password, "pk.aeaqaaaa");

	/* The longest user and password: 256 each. */
	memset(cred, 'u', 256);
	cred[256] = ':';
	memset(cred + 257, 'p', 256);
	fmt(value, sizeof value, "Basic %s", basic(cred, 513));
	assert_true(parse_auth(value, &req) > 0);
	assert_int_equal(strlen(req.cred_user), 256);
	assert_int_equal(strlen(req.cred_password), 256);
	/* One more on either side. */
	memset(cred, 'u', 257);
	cred[257] = ':';
	memset(cred + 258, 'p', 10);
	fmt(value, sizeof value, "Basic %s", basic(cred, 268));
	assert_int_equal(parse_auth(value, &req), -400);
	memset(cred, 'u', 10);
	cred[10] = ':';
	memset(cred + 11, 'p', 257);
	fmt(value, sizeof value, "Basic %s", basic(cred, 268));
	assert_int_equal(parse_auth(value, &req), -400);
	memset(cred, 'x', sizeof cred);
	cred[0] = ':';
	fmt(value, sizeof value, "Basic %s", basic(cred, sizeof cred));
	assert_int_equal(parse_auth(value, &req), -400);
}

static void
test_bad_credentials(void **state)
{
	static const char	*bad[] = {
		"Bearer abc",
		"Digest username=\"u\"",
		"Negotiate YIIB",
		"Basic",
		"Basic ",
		"BasicdTpw",
		"Basic !!!!",
		"Basic dTpw!",
		"Basic dTp",			/* not a multiple of 4 */
		"Basic dTpwc",
		"Basic dXNlcg==",		/* "user": no colon */
		"Basic dTpw\001AAA",
		"Basic ****",
		"Basic dTpw dTpw",
	};
	struct request	req;
	char		value[256];
	size_t		i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse_auth(bad[i], &req) != -400)
			fail_msg("\"%s\" accepted", bad[i]);
	}
	/* A NUL inside the decoded credentials. */
	fmt(value, sizeof value, "Basic %s", basic("u:p\0w", 5));
	assert_int_equal(parse_auth(value, &req), -400);
	fmt(value, sizeof value, "Basic %s", basic("\0u:pw", 5));
	assert_int_equal(parse_auth(value, &req), -400);
	/* Only one Proxy-Authorization. */
	fmt(value, sizeof value, "Proxy-Authorization: Basic %s\r\n"
	    "Proxy-Authorization: Basic %s", "dTpw", "dTpw");
	assert_int_equal(parse_header(value, &req), -400);
	fmt(value, sizeof value, "Proxy-Authorization: Basic %s\r\n"
	    "X: y\r\nproxy-authorization: Basic %s", "dTpw", "dTpx");
	assert_int_equal(parse_header(value, &req), -400);
	/* Other headers that merely start alike are not credentials. */
	assert_true(parse_header("Proxy-Authorization-X: Bearer y", &req) > 0);
	assert_int_equal(req.has_credentials, 0);
	assert_true(parse_header("Authorization: Bearer y", &req) > 0);
	assert_int_equal(req.has_credentials, 0);
}

/*
 * OpenSSL's EVP_DecodeBlock() skips leading blanks and trailing blanks, line
 * ends and '-', so "dXNlcjpw----" once passed as "user:p". Trailing garbage
 * is an error here as everywhere: only the base64 alphabet, with '=' padding
 * at the end, may follow "Basic ".
 */
static void
test_basic_strict(void **state)
{
	static const char	*bad[] = {
		"Basic dXNlcjpw----",
		"Basic dXNlcjpwYQ-=",
		"Basic \t\t\t\tdTpw",
		"Basic \tdTpwYXNz\t\t\t",
		"Basic dTpw=AAA",
		"Basic dT=wYXNz",
	};
	struct request	req;
	size_t		i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse_auth(bad[i], &req) != -400)
			fail_msg("\"%s\" accepted as \"%s\":\"%s\"", bad[i],
			    req.cred_user, req.cred_password);
	}
}

static void
test_state_reset(void **state)
{
	struct request	req;
	const char	*reason = NULL;
	char		buf[512];
	size_t		len;

	len = glib_request(buf, sizeof buf, "host:5901", "user:pass", "\r\n");
	assert_int_equal(request_parse(buf, len, &deflimits, &req, &reason),
	    (int)len);
	assert_int_equal(req.has_credentials, 1);
	/* Each call starts afresh. */
	assert_int_equal(request_parse("CONNECT h:2 HTTP/1.1\r\n\r\n", 24,
	    &deflimits, &req, &reason), 24);
	assert_int_equal(req.has_credentials, 0);
	assert_string_equal(req.cred_user, "");
	assert_string_equal(req.cred_password, "");
	assert_int_equal(req.nheaders, 0);
	assert_string_equal(req.host, "h");

	assert_int_equal(request_parse(buf, len, &deflimits, &req, &reason),
	    (int)len);
	request_clear(&req);
	assert_int_equal(req.has_credentials, 0);
	assert_string_equal(req.cred_user, "");
	assert_string_equal(req.cred_password, "");
	assert_int_equal(req.cred_password[3], 0);
}

static void
test_reasons(void **state)
{
	static const char	*bad[] = {
		"GET / HTTP/1.1\r\n\r\n",
		"GET /xxxx",
		"CONNECT\r\n\r\n",
		"CONNECT host HTTP/1.1\r\n\r\n",
		"CONNECT host:1 HTTP/1.2\r\n\r\n",
		"CONNECT host:1 HTTP/1.1\r\nX\r\n\r\n",
		"CONNECT host:1 HTTP/1.1\r\nX: \001\r\n\r\n",
		"CONNECT host:1 HTTP/1.1\r\nProxy-Authorization: x\r\n\r\n",
		"CONNECT host:1 HTTP/1.1\r\nProxy-Authorization: Basic x\r\n\r\n",
		"CONNECT host:1 HTTP/1.1\r\nA: b\r\nB: c\r\n\r\n",
	};
	const struct request_limits	l = { 64, 1 };
	struct request			req;
	const char			*reason;
	size_t				i;
	int				rc;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		reason = NULL;
		rc = request_parse(bad[i], strlen(bad[i]), &l, &req, &reason);
		if (rc >= 0 || reason == NULL || *reason == '\0')
			fail_msg("\"%s\": %d, reason %s", bad[i], rc,
			    reason != NULL ? reason : "NULL");
	}
	/* Too large, with its own reason. */
	reason = NULL;
	assert_int_equal(request_parse("CONNECT host:1 HTTP/1.1\r\nX-Long: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 80, &l, &req,
	    &reason), -431);
	assert_non_null(reason);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_glib_request),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_lf_only),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_header_limit),
		cmocka_unit_test(test_early_errors),
		cmocka_unit_test(test_request_line),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_bad_credentials),
		cmocka_unit_test(test_basic_strict),
		cmocka_unit_test(test_state_reset),
		cmocka_unit_test(test_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
