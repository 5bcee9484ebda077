/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/http/httpparse.c: paths, routes, bearer tokens, cookies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

static void
test_path_segments(void **state)
{
	struct http_path	p;

	assert_int_equal(http_path_parse("/", &p), 0);
	assert_int_equal(p.nseg, 0);
	assert_int_equal(http_path_parse("/api/v1/desktops", &p), 0);
	assert_int_equal(p.nseg, 3);
	assert_string_equal(p.seg[2], "desktops");
	/* Percent escapes are decoded in either case, inside one segment. */
	assert_int_equal(http_path_parse("/a/x%20y%2e%7E", &p), 0);
	assert_string_equal(p.seg[1], "x y.~");
	/* A trailing slash makes an empty last segment: no route has one. */
	assert_int_equal(http_path_parse("/a/", &p), 0);
	assert_int_equal(p.nseg, 2);
	assert_string_equal(p.seg[1], "");
}

static void
test_path_refused(void **state)
{
	struct http_path	p;
	char			long_seg[HTTP_PARAM_MAX + 3];
	char			deep[HTTP_SEGMENTS_MAX * 2 + 3];
	size_t			i;

	assert_int_equal(http_path_parse("", &p), -1);
	assert_int_equal(http_path_parse("api", &p), -1);
	assert_int_equal(http_path_parse(NULL, &p), -1);
	/* Bad escapes, an encoded NUL or slash, dot segments. */
	assert_int_equal(http_path_parse("/a%2", &p), -1);
	assert_int_equal(http_path_parse("/a%zz", &p), -1);
	assert_int_equal(http_path_parse("/a%00b", &p), -1);
	assert_int_equal(http_path_parse("/a%2fb", &p), -1);
	assert_int_equal(http_path_parse("/a/../b", &p), -1);
	assert_int_equal(http_path_parse("/a/%2e%2e/b", &p), -1);
	assert_int_equal(http_path_parse("/./b", &p), -1);
	/* Too long a segment, too many segments. */
	long_seg[0] = '/';
	memset(long_seg + 1, 'x', HTTP_PARAM_MAX + 1);
	long_seg[HTTP_PARAM_MAX + 2] = '\0';
	assert_int_equal(http_path_parse(long_seg, &p), -2);
	long_seg[HTTP_PARAM_MAX + 1] = '\0';
	assert_int_equal(http_path_parse(long_seg, &p), 0);
	for (i = 0; i <= HTTP_SEGMENTS_MAX; i++) {
		deep[2 * i] = '/';
		deep[2 * i + 1] = 'a';
	}
	deep[2 * (HTTP_SEGMENTS_MAX + 1)] = '\0';
	assert_int_equal(http_path_parse(deep, &p), -2);
}

static void
test_route_match(void **state)
{
	struct http_path	p;
	char			params[HTTP_PARAMS_MAX][HTTP_PARAM_MAX + 1];
	size_t			n;

	assert_int_equal(http_path_parse("/api/v1/desktops/office/connect",
	    &p), 0);
	assert_int_equal(http_route_match("/api/v1/desktops/{id}/connect", &p,
	    params, &n), 1);
	assert_int_equal(n, 1);
	assert_string_equal(params[0], "office");
	assert_int_equal(http_route_match("/api/v1/desktops/{id}", &p, params,
	    &n), 0);
	assert_int_equal(http_route_match("/api/v1/desktops/{id}/connect/x",
	    &p, params, &n), 0);
	assert_int_equal(http_route_match("/api/v1/sessions/{id}/connect", &p,
	    params, &n), 0);

	assert_int_equal(http_path_parse("/api/v1/pools/lab/desktops/a%20b/"
	    "reset", &p), 0);
	assert_int_equal(http_route_match(
	    "/api/v1/pools/{pool}/desktops/{name}/{action}", &p, params, &n), 1);
	assert_int_equal(n, 3);
	assert_string_equal(params[1], "a b");
	assert_string_equal(params[2], "reset");

	/* A parameter is never empty. */
	assert_int_equal(http_path_parse("/api/v1/desktops//connect", &p), 0);
	assert_int_equal(http_route_match("/api/v1/desktops/{id}/connect", &p,
	    params, &n), 0);
	assert_int_equal(http_path_parse("/", &p), 0);
	assert_int_equal(http_route_match("/", &p, params, &n), 1);
	assert_int_equal(http_route_match("/metrics", &p, params, &n), 0);
}

static void
test_bearer(void **state)
{
	char	out[16];

	assert_int_equal(http_bearer_value("Bearer abc.DEF-_~+/=", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "abc.DEF-_~+/=");
	assert_int_equal(http_bearer_value("bearer   tok  ", out, sizeof(out)),
	    0);
	assert_string_equal(out, "tok");
	assert_int_equal(http_bearer_value(NULL, out, sizeof(out)), -1);
	assert_int_equal(http_bearer_value("Basic abc", out, sizeof(out)), -1);
	assert_int_equal(http_bearer_value("Bearer ", out, sizeof(out)), -1);
	assert_int_equal(http_bearer_value("Bearer a b", out, sizeof(out)), -1);
	assert_int_equal(http_bearer_value("Bearer a\"b", out, sizeof(out)),
	    -1);
	/* Too long for the buffer: refused, not cut. */
	assert_int_equal(http_bearer_value("Bearer 0123456789abcdef", out,
	    sizeof(out)), -1);
}

static void
test_cookie(void **state)
{
	char	out[16];

	assert_int_equal(http_cookie_value("a=1; paprika_session=tok; b=2",
	    "paprika_session", out, sizeof(out)), 0);
	assert_string_equal(out, "tok");
	assert_int_equal(http_cookie_value("paprika_session=\"q\"",
	    "paprika_session", out, sizeof(out)), 0);
	assert_string_equal(out, "q");
	/* The first of two wins; a prefix of the name does not match. */
	assert_int_equal(http_cookie_value("s=1;s=2", "s", out, sizeof(out)), 0);
	assert_string_equal(out, "1");
	assert_int_equal(http_cookie_value("xs=1", "s", out, sizeof(out)), -1);
	assert_int_equal(http_cookie_value("", "s", out, sizeof(out)), -1);
	assert_int_equal(http_cookie_value("s=", "s", out, sizeof(out)), -1);
	assert_int_equal(http_cookie_value("s=a\\b", "s", out, sizeof(out)), -1);
	assert_int_equal(http_cookie_value("s=0123456789abcdef", "s", out,
	    sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_segments),
		cmocka_unit_test(test_path_refused),
		cmocka_unit_test(test_route_match),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_cookie),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
