/* SPDX-License-Identifier: ISC */
/* Unit tests for gateway/metrics-parse.c: the metrics endpoint's requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics-parse.h"

static enum metrics_parse_result
parse(const char *text)
{
	return metrics_parse(text, strlen(text));
}

static void
test_metrics(void **state)
{
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
	    METRICS_PARSE_METRICS);
	assert_int_equal(parse("GET /metrics HTTP/1.0\r\n\r\n"),
	    METRICS_PARSE_METRICS);
	/* Bytes after the headers (a pipelined request) are not read. */
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n\r\nGET / HTTP/1.1"),
	    METRICS_PARSE_METRICS);
}

static void
test_not_found(void **state)
{
	static const char	*other[] = {
		"GET / HTTP/1.1\r\n\r\n",
		"GET /metrics?x=1 HTTP/1.1\r\n\r\n",
		"GET /metricsx HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.2\r\n\r\n",
		"GET /metrics HTTP/1.1 \r\n\r\n",
		"GET /metrics HTTP/1.\r\n\r\n",
		"GET /metrics HTTP/1.10\r\n\r\n",
		"POST /metrics HTTP/1.1\r\n\r\n",
		"get /metrics HTTP/1.1\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\n\r\n",
		"GET /metrics\r\n\r\n",
		"\r\n\r\n",
	};
	size_t			 i;

	for (i = 0; i < sizeof other / sizeof other[0]; i++) {
		if (parse(other[i]) != METRICS_PARSE_NOT_FOUND)
			fail_msg("not a 404: \"%s\"", other[i]);
	}
}

static void
test_incomplete(void **state)
{
	assert_int_equal(parse(""), METRICS_PARSE_MORE);
	assert_int_equal(parse("GET /metrics HTTP/1.1"), METRICS_PARSE_MORE);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n"), METRICS_PARSE_MORE);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n\r"),
	    METRICS_PARSE_MORE);
	/* A bare LF does not end the headers. */
	assert_int_equal(parse("GET /metrics HTTP/1.1\n\n"), METRICS_PARSE_MORE);
}

static void
test_too_large(void **state)
{
	char	*buf;
	size_t	 n = METRICS_REQUEST_MAX + 100;

	buf = malloc(n);
	assert_non_null(buf);
	memset(buf, 'a', n);
	memcpy(buf, "GET /metrics HTTP/1.1\r\nX: ", 26);
	/* Without an end within the limit: more, until the limit is reached. */
	assert_int_equal(metrics_parse(buf, METRICS_REQUEST_MAX - 1),
	    METRICS_PARSE_MORE);
	assert_int_equal(metrics_parse(buf, METRICS_REQUEST_MAX),
	    METRICS_PARSE_TOO_LARGE);
	/* An end past the limit does not count, even when it has arrived. */
	memcpy(buf + METRICS_REQUEST_MAX + 10, "\r\n\r\n", 4);
	assert_int_equal(metrics_parse(buf, n), METRICS_PARSE_TOO_LARGE);
	/* An end that finishes on the last byte allowed does. */
	memcpy(buf + METRICS_REQUEST_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(metrics_parse(buf, n), METRICS_PARSE_METRICS);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_too_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
