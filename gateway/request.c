/* SPDX-License-Identifier: ISC */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "request.h"

/* Finds the next line end at or after p; returns its length or -1. */
static ssize_t
request_line_len(const char *p, const char *end)
{
	const char	*nl;

	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return -1;
	return nl - p;
}

static int
request_parse_target(const char *t, size_t len, struct request *req)
{
	const char	*colon;
	size_t		 hlen, i;
	unsigned long	 port = 0;

	if (len > 0 && t[0] == '[') {
		colon = memchr(t, ']', len);
		if (colon == NULL || (size_t)(colon - t) + 1 >= len ||
		    colon[1] != ':')
			return -1;
		colon++;
	} else {
		/* The last colon: a ticket host never holds one. */
		for (colon = NULL, i = len; i > 0; i--) {
			if (t[i - 1] == ':') {
				colon = t + i - 1;
				break;
			}
		}
		if (colon == NULL)
			return -1;
	}
	hlen = (size_t)(colon - t);
	if (hlen == 0 || hlen > REQUEST_HOST_MAX)
		return -1;
	for (i = 0; i < hlen; i++) {
		if (!isgraph((unsigned char)t[i]))
			return -1;
	}
	if (colon + 1 == t + len || len - hlen - 1 > 5)
		return -1;
	for (i = hlen + 1; i < len; i++) {
		if (!isdigit((unsigned char)t[i]))
			return -1;
		port = port * 10 + (unsigned long)(t[i] - '0');
	}
	if (port == 0 || port > 65535)
		return -1;
	memcpy(req->host, t, hlen);
	req->host[hlen] = '\0';
	req->port = (uint16_t)port;
	return 0;
}

/* Why a request with another method than the listener's is refused. */
static const char *
request_other_method(const char *want, const char *p, size_t len)
{
	if (strcmp(want, "CONNECT") != 0)
		return "only GET with a WebSocket upgrade is supported";
	if (len >= 4 && memcmp(p, "GET ", 4) == 0)
		return "only CONNECT is supported: WebSocket clients use the "
		    "gateway's WebSocket listener";
	return "only CONNECT is supported";
}

int
request_version(const char *v, size_t len, const char **reason)
{
	if (len != 8 || memcmp(v, "HTTP/", 5) != 0 ||
	    !isdigit((unsigned char)v[5]) || v[6] != '.' ||
	    !isdigit((unsigned char)v[7])) {
		*reason = "malformed HTTP version";
		return -1;
	}
	return 0;
}

/* "CONNECT host:port HTTP/1.x"; returns 0 or a negative status. */
static int
request_parse_line(const char *p, size_t len, struct request *req,
    const char **reason)
{
	const char	*sp1, *sp2;

	if ((sp1 = memchr(p, ' ', len)) == NULL) {
		*reason = "malformed request line";
		return -400;
	}
	if ((size_t)(sp1 - p) != 7 || memcmp(p, "CONNECT", 7) != 0) {
		*reason = request_other_method("CONNECT", p, len);
		return -405;
	}
	sp1++;
	if ((sp2 = memchr(sp1, ' ', len - (size_t)(sp1 - p))) == NULL) {
		*reason = "malformed request line";
		return -400;
	}
	if (request_parse_target(sp1, (size_t)(sp2 - sp1), req) == -1) {
		*reason = "malformed CONNECT target (expected host:port)";
		return -400;
	}
	sp2++;
	if (request_version(sp2, len - (size_t)(sp2 - p), reason) == -1)
		return -400;
	if (sp2[5] != '1' || (sp2[7] != '0' && sp2[7] != '1')) {
		*reason = "HTTP version not supported";
		return -505;
	}
	req->http_minor = sp2[7] - '0';
	return 0;
}

static int
request_parse_basic(const char *v, size_t len, struct request *req)
{
	unsigned char	 out[(REQUEST_CRED_MAX * 2 + 2) / 3 * 3 + 3];
	char		*colon;
	int		 n;
	size_t		 pad = 0;

	size_t		 i;

	if (len == 0 || len % 4 != 0 || len > (sizeof out - 3) / 3 * 4)
		return -1;
	if (v[len - 1] == '=')
		pad++;
	if (v[len - 2] == '=')
		pad++;
	/* EVP_DecodeBlock skips blanks and '-': be strict before it. */
	for (i = 0; i < len - pad; i++) {
		if (!isalnum((unsigned char)v[i]) && v[i] != '+' && v[i] != '/')
			return -1;
	}
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)v, (int)len)) < 0)
		return -1;
	n -= (int)pad;
	out[n] = '\0';
	if (memchr(out, '\0', (size_t)n) != NULL ||
	    (colon = strchr((char *)out, ':')) == NULL) {
		OPENSSL_cleanse(out, sizeof out);
		return -1;
	}
	*colon = '\0';
	if (strlen((char *)out) > REQUEST_CRED_MAX ||
	    strlen(colon + 1) > REQUEST_CRED_MAX) {
		OPENSSL_cleanse(out, sizeof out);
		return -1;
	}
	strcpy(req->cred_user, (char *)out);
	strcpy(req->cred_password, colon + 1);
	req->has_credentials = 1;
	OPENSSL_cleanse(out, sizeof out);
	return 0;
}

int
request_header_split(const char *p, size_t len, const char **name,
    size_t *namelen, const char **value, size_t *valuelen,
    const char **reason)
{
	const char	*colon, *v, *end = p + len;
	size_t		 i;

	if ((colon = memchr(p, ':', len)) == NULL || colon == p) {
		*reason = "malformed header";
		return -400;
	}
	for (i = 0; p + i < colon; i++) {
		/* A token: no blanks or controls, so no header smuggling. */
		if (!isgraph((unsigned char)p[i])) {
			*reason = "malformed header name";
			return -400;
		}
	}
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (i = 0; v + i < end; i++) {
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t') {
			*reason = "control character in header";
			return -400;
		}
	}
	*name = p;
	*namelen = (size_t)(colon - p);
	*value = v;
	*valuelen = (size_t)(end - v);
	return 0;
}

/* "Name: value"; returns 0 or a negative status. */
static int
request_parse_header(const char *p, size_t len, struct request *req,
    const char **reason)
{
	const char	*name, *v, *end;
	size_t		 nlen, vlen;
	int		 rc;

	if ((rc = request_header_split(p, len, &name, &nlen, &v, &vlen,
	    reason)) != 0)
		return rc;
	end = v + vlen;
	if (nlen == 19 && strncasecmp(name, "Proxy-Authorization", 19) == 0) {
		if (req->has_credentials) {
			*reason = "repeated Proxy-Authorization";
			return -400;
		}
		if ((size_t)(end - v) < 6 || strncasecmp(v, "Basic ", 6) != 0) {
			*reason = "only Basic proxy authorization is supported";
			return -400;
		}
		for (v += 6; v < end && *v == ' '; v++)
			;
		if (request_parse_basic(v, (size_t)(end - v), req) == -1) {
			*reason = "malformed Basic credentials";
			return -400;
		}
	}
	return 0;
}

int
request_head_parse(const char *buf, size_t len,
    const struct request_limits *limits, const char *method,
    request_line_cb line, void *arg, size_t *nheaders, const char **reason)
{
	const char	*p = buf, *end;
	ssize_t		 linelen;
	size_t		 l, mlen = strlen(method);
	int		 rc, first = 1;

	*nheaders = 0;
	if (len > limits->max_size)
		len = limits->max_size;
	end = buf + len;
	while (p < end) {
		if ((linelen = request_line_len(p, end)) == -1)
			break;
		l = (size_t)linelen;
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (memchr(p, '\0', l) != NULL) {
			*reason = "NUL byte in request";
			return -400;
		}
		if (!first && l == 0)
			return (int)(p + linelen + 1 - buf);
		if (!first && ++*nheaders > limits->max_headers) {
			*reason = "too many headers";
			return -431;
		}
		if ((rc = line(arg, p, l, first, reason)) != 0)
			return rc;
		first = 0;
		p += linelen + 1;
	}
	/* Incomplete: the first line must already show the method. */
	if (first && (size_t)(end - p) > mlen && (memcmp(p, method, mlen) != 0 ||
	    p[mlen] != ' ')) {
		*reason = request_other_method(method, p, (size_t)(end - p));
		return -405;
	}
	if (len >= limits->max_size) {
		*reason = "request too large";
		return -431;
	}
	return 0;
}

static int
request_connect_line(void *arg, const char *p, size_t len, int first,
    const char **reason)
{
	if (first)
		return request_parse_line(p, len, arg, reason);
	return request_parse_header(p, len, arg, reason);
}

int
request_parse(const char *buf, size_t len, const struct request_limits *limits,
    struct request *req, const char **reason)
{
	int	rc;

	request_clear(req);
	rc = request_head_parse(buf, len, limits, "CONNECT",
	    request_connect_line, req, &req->nheaders, reason);
	return rc;
}

void
request_clear(struct request *req)
{
	OPENSSL_cleanse(req, sizeof *req);
}
