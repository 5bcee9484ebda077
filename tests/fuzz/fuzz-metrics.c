/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the metrics endpoint's request parser.
 *
 * Each input is judged whole and at every prefix length that matters, from
 * heap copies of exactly that many bytes so that reading past the end is
 * caught. Besides memory errors, it checks what metrics-parse.h promises:
 * once a prefix is decided, every longer input gets the same answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics-parse.h"
#include "fuzz.h"

static enum metrics_parse_result
judge(const uint8_t *data, size_t len)
{
	enum metrics_parse_result	 rc;
	char				*buf;

	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(buf, data, len);
	rc = metrics_parse(buf, len);
	free(buf);
	CHECK(rc == METRICS_PARSE_MORE || rc == METRICS_PARSE_METRICS ||
	    rc == METRICS_PARSE_NOT_FOUND || rc == METRICS_PARSE_TOO_LARGE);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum metrics_parse_result	 full, part;
	size_t				 cut, look;
	const uint8_t			*end;

	full = judge(data, size);
	look = size < METRICS_REQUEST_MAX ? size : METRICS_REQUEST_MAX;
	end = memmem(data, look, "\r\n\r\n", 4);
	/* Decided exactly when the headers end within the limit, or the limit
	 * is reached without their end. */
	if (end != NULL)
		CHECK(full == METRICS_PARSE_METRICS ||
		    full == METRICS_PARSE_NOT_FOUND);
	else if (size >= METRICS_REQUEST_MAX)
		CHECK(full == METRICS_PARSE_TOO_LARGE);
	else
		CHECK(full == METRICS_PARSE_MORE);
	if (full == METRICS_PARSE_METRICS)
		CHECK(memcmp(data, "GET /metrics HTTP/1.", 20) == 0);

	/* Every prefix is undecided or decided the same way. */
	for (cut = 1; cut < size && cut <= METRICS_REQUEST_MAX; cut *= 2) {
		part = judge(data, cut);
		CHECK(part == METRICS_PARSE_MORE || part == full);
	}
	if (end != NULL) {
		cut = (size_t)(end - data) + 4;
		CHECK(judge(data, cut) == full);
		CHECK(judge(data, cut - 1) == METRICS_PARSE_MORE);
	}
	return 0;
}
