/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the broker's HTTP parsing (lib/http/httpparse.c):
 * request paths and route matching, Authorization values and Cookie
 * headers. The input is split at newlines into a path, an Authorization
 * value and a Cookie header. Besides memory errors, it checks what
 * http.h promises of each result.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "fuzz.h"

/* Every route pattern of the broker's API. */
static const char *const fuzz_patterns[] = {
	"/", "/metrics", "/portal/{file}", "/api/v1/login",
	"/api/v1/desktops/{id}/connect", "/api/v1/desktops/{id}/console.vv",
	"/api/v1/sessions/{id}/disconnect", "/api/v1/users/{name}/logout",
	"/api/v1/pools/{pool}/desktops/{name}/{action}",
};

static void
fuzz_path(const char *path)
{
	struct http_path	p;
	char			params[HTTP_PARAMS_MAX][HTTP_PARAM_MAX + 1];
	size_t			i, j, n;

	if (http_path_parse(path, &p) != 0)
		return;
	CHECK(p.nseg <= HTTP_SEGMENTS_MAX);
	for (i = 0; i < p.nseg; i++) {
		CHECK(strlen(p.seg[i]) <= HTTP_PARAM_MAX);
		CHECK(strchr(p.seg[i], '/') == NULL);
		CHECK(strcmp(p.seg[i], ".") != 0 && strcmp(p.seg[i], "..") != 0);
	}
	for (i = 0; i < sizeof(fuzz_patterns) / sizeof(fuzz_patterns[0]); i++) {
		if (!http_route_match(fuzz_patterns[i], &p, params, &n))
			continue;
		CHECK(n <= HTTP_PARAMS_MAX);
		for (j = 0; j < n; j++)
			CHECK(params[j][0] != '\0' &&
			    strchr(params[j], '/') == NULL);
	}
}

static void
fuzz_token(const char *value, int cookie)
{
	char	out[64];
	int	rc;
	size_t	i;

	memset(out, 'X', sizeof(out));
	rc = cookie ? http_cookie_value(value, "paprika_session", out,
	    sizeof(out)) : http_bearer_value(value, out, sizeof(out));
	if (rc != 0)
		return;
	CHECK(memchr(out, '\0', sizeof(out)) != NULL);
	CHECK(out[0] != '\0');
	for (i = 0; out[i] != '\0'; i++)
		CHECK(out[i] > ' ' && out[i] < 0x7f && out[i] != ';' &&
		    out[i] != '"' && out[i] != ',');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*buf, *parts[3] = { "", "", "" }, *s, *nl;
	int	 i;

	if ((buf = malloc(len + 1)) == NULL)
		return 0;
	memcpy(buf, data, len);
	buf[len] = '\0';
	for (s = buf, i = 0; i < 3 && s != NULL; i++) {
		parts[i] = s;
		if ((nl = strchr(s, '\n')) != NULL)
			*nl++ = '\0';
		s = nl;
	}
	fuzz_path(parts[0]);
	fuzz_token(parts[1], 0);
	fuzz_token(parts[2], 1);
	free(buf);
	return 0;
}
