/* SPDX-License-Identifier: ISC */
/* The metrics endpoint's HTTP request parser: pure, bounded, no I/O. */
#ifndef PAPRIKA_METRICS_PARSE_H
#define PAPRIKA_METRICS_PARSE_H

#include <stddef.h>

/* The request line and headers, in bytes. */
#define METRICS_REQUEST_MAX	4096

enum metrics_parse_result {
	METRICS_PARSE_MORE,		/* incomplete: wait for more bytes */
	METRICS_PARSE_METRICS,		/* GET /metrics: answer 200 */
	METRICS_PARSE_NOT_FOUND,	/* any other whole request: 404 */
	METRICS_PARSE_TOO_LARGE		/* no end within the limit: close */
};

/*
 * Judges the bytes received so far; only the first METRICS_REQUEST_MAX are
 * looked at. The answer for a prefix that is not METRICS_PARSE_MORE is the
 * answer for any longer input.
 */
enum metrics_parse_result	metrics_parse(const char *buf, size_t len);

#endif
