/* SPDX-License-Identifier: ISC */
/*
 * The HTTP server's own parsing of untrusted bytes, kept apart from the
 * server so that the unit tests and a fuzz harness reach it: request
 * paths, route patterns, bearer tokens and cookies; and the wipe of what
 * a parsed body held.
 */
#include <ctype.h>
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

static int
http_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower((unsigned char)ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/*
 * Splits a raw path into percent-decoded segments. Returns 0, -1 for a
 * malformed path (bad escape, NUL or '/' inside a segment, "." or ".."),
 * -2 for one that cannot name a route (too long, too many segments).
 */
int
http_path_parse(const char *raw, struct http_path *p)
{
	const char	*s;
	size_t		 n;
	int		 hi, lo;
	char		 ch, *seg;

	p->nseg = 0;
	if (raw == NULL || raw[0] != '/')
		return -1;
	s = raw + 1;
	if (*s == '\0')
		return 0;
	for (;;) {
		if (p->nseg == HTTP_SEGMENTS_MAX)
			return -2;
		seg = p->seg[p->nseg++];
		n = 0;
		for (; *s != '\0' && *s != '/'; s++) {
			ch = *s;
			if (ch == '%') {
				if ((hi = http_hexval(s[1])) == -1 ||
				    (lo = http_hexval(s[2])) == -1)
					return -1;
				ch = (char)(hi << 4 | lo);
				if (ch == '\0' || ch == '/')
					return -1;
				s += 2;
			}
			if (n == HTTP_PARAM_MAX)
				return -2;
			seg[n++] = ch;
		}
		seg[n] = '\0';
		if (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
			return -1;
		if (*s == '\0')
			return 0;
		s++;
	}
}

/* 1 when pattern matches p; the {name} values go into params. */
int
http_route_match(const char *pattern, const struct http_path *p,
    char params[][HTTP_PARAM_MAX + 1], size_t *nparams)
{
	const char	*s, *e;
	size_t		 i = 0, n;

	*nparams = 0;
	if (pattern[0] != '/')
		return 0;
	s = pattern + 1;
	if (*s == '\0')
		return p->nseg == 0;
	for (;;) {
		e = strchr(s, '/');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		if (i == p->nseg)
			return 0;
		if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
			if (p->seg[i][0] == '\0' || *nparams == HTTP_PARAMS_MAX)
				return 0;
			memcpy(params[(*nparams)++], p->seg[i],
			    strlen(p->seg[i]) + 1);
		} else if (strlen(p->seg[i]) != n ||
		    memcmp(p->seg[i], s, n) != 0)
			return 0;
		i++;
		if (e == NULL)
			break;
		s = e + 1;
	}
	return i == p->nseg;
}

/* The token of an "Authorization: Bearer TOKEN" value, if well formed. */
int
http_bearer_value(const char *v, char *out, size_t outlen)
{
	size_t	n, i;

	if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
		return -1;
	for (v += 7; *v == ' '; v++)
		;
	for (n = strlen(v); n > 0 && v[n - 1] == ' '; n--)
		;
	if (n == 0 || n >= outlen)
		return -1;
	for (i = 0; i < n; i++)		/* token68 */
		if (!isalnum((unsigned char)v[i]) &&
		    strchr("-._~+/=", v[i]) == NULL)
			return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

/* The value of cookie name in one Cookie header, if well formed. */
int
http_cookie_value(const char *header, const char *name, char *out,
    size_t outlen)
{
	const char	*s, *eq, *end;
	size_t		 nlen = strlen(name), vlen, i;

	for (s = header; *s != '\0'; s = *end ? end + 1 : end) {
		while (*s == ' ' || *s == '\t')
			s++;
		if ((end = strchr(s, ';')) == NULL)
			end = s + strlen(s);
		if ((eq = memchr(s, '=', end - s)) == NULL ||
		    (size_t)(eq - s) != nlen || memcmp(s, name, nlen))
			continue;
		s = eq + 1;
		vlen = end - s;
		while (vlen > 0 && (s[vlen - 1] == ' ' || s[vlen - 1] == '\t'))
			vlen--;
		if (vlen >= 2 && s[0] == '"' && s[vlen - 1] == '"') {
			s++;
			vlen -= 2;
		}
		if (vlen == 0 || vlen >= outlen)
			return -1;
		for (i = 0; i < vlen; i++)	/* cookie-octet */
			if (s[i] <= ' ' || s[i] >= 0x7f ||
			    strchr("\",;\\", s[i]) != NULL)
				return -1;
		memcpy(out, s, vlen);
		out[vlen] = '\0';
		return 0;
	}
	return -1;
}

/*
 * jansson's free (json_set_alloc_funcs): its lexer keeps the text of the
 * strings it parsed in buffers of its own, which no wipe of the values
 * reaches, so every block it gives back is zeroed first.
 */
void
http_json_free(void *p)
{
	if (p != NULL)
		explicit_bzero(p, malloc_usable_size(p));
	free(p);
}
