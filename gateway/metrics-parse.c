/* SPDX-License-Identifier: ISC */
/*
 * The metrics endpoint's requests. Prometheus sends "GET /metrics HTTP/1.1"
 * and a few headers; everything else is answered 404 once its headers have
 * ended, and a request whose headers do not end within METRICS_REQUEST_MAX
 * bytes is dropped. Headers are not read: nothing in them matters here.
 */
#include <string.h>

#include "metrics-parse.h"

#define METRICS_PARSE_GET	"GET /metrics HTTP/1."

enum metrics_parse_result
metrics_parse(const char *buf, size_t len)
{
	const char	*end, *eol;
	size_t		 n = sizeof METRICS_PARSE_GET - 1;

	if (len > METRICS_REQUEST_MAX)
		len = METRICS_REQUEST_MAX;
	if ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
		return len == METRICS_REQUEST_MAX ? METRICS_PARSE_TOO_LARGE :
		    METRICS_PARSE_MORE;
	/* The request line: the path, HTTP/1.0 or 1.1, and nothing more. */
	eol = memchr(buf, '\r', (size_t)(end - buf) + 1);
	if ((size_t)(eol - buf) == n + 1 && memcmp(buf, METRICS_PARSE_GET,
	    n) == 0 && (buf[n] == '0' || buf[n] == '1'))
		return METRICS_PARSE_METRICS;
	return METRICS_PARSE_NOT_FOUND;
}
