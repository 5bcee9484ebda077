/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the gateway's CONNECT request parser.
 *
 * Each input is parsed whole and at a few split points (as if it arrived in
 * pieces), under the default limits and under small ones, each time from a
 * heap copy of exactly that many bytes so that reading past the end is caught.
 * Besides memory errors, it checks what request.h promises.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "fuzz.h"

static const struct request_limits	fuzz_limits[] = {
	{ 8192, 32 },		/* the gateway's defaults */
	{ 256, 4 },
	{ 40, 1 },
};

/* Parses the first len bytes on their own; checks the result. */
static int
parse(const uint8_t *data, size_t len, const struct request_limits *l,
    struct request *req)
{
	const char	*reason = NULL;
	char		*buf;
	size_t		 i, hlen;
	int		 rc;

	/* malloc(0) may return NULL; one spare byte is never read. */
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(buf, data, len);
	rc = request_parse(buf, len, l, req, &reason);

	if (rc < 0) {
		CHECK(rc == -400 || rc == -405 || rc == -431 || rc == -505);
		CHECK(reason != NULL && reason[0] != '\0');
	} else if (rc > 0) {
		CHECK((size_t)rc <= len);
		CHECK((size_t)rc <= l->max_size);
		CHECK(buf[rc - 1] == '\n');
		hlen = strlen(req->host);
		CHECK(hlen > 0 && hlen <= REQUEST_HOST_MAX);
		for (i = 0; i < hlen; i++)
			CHECK(isgraph((unsigned char)req->host[i]));
		CHECK(req->port != 0);
		CHECK(req->http_minor == 0 || req->http_minor == 1);
		CHECK(req->nheaders <= l->max_headers);
		if (req->has_credentials) {
			CHECK(strlen(req->cred_user) <= REQUEST_CRED_MAX);
			CHECK(strlen(req->cred_password) <= REQUEST_CRED_MAX);
			CHECK(strchr(req->cred_user, ':') == NULL);
		}
		/* The request starts with "CONNECT " and has no NUL. */
		CHECK(memcmp(buf, "CONNECT ", 8) == 0);
		CHECK(memchr(buf, '\0', (size_t)rc) == NULL);
	}
	free(buf);
	return rc;
}

static void
fuzz_one(const uint8_t *data, size_t size, const struct request_limits *l)
{
	struct request	req, again;
	size_t		split[4], i;
	int		full, part;

	full = parse(data, size, l, &req);
	if (full > 0) {
		/* The request alone parses to the same length and target. */
		CHECK(parse(data, (size_t)full, l, &again) == full);
		CHECK(strcmp(again.host, req.host) == 0);
		CHECK(again.port == req.port);
		CHECK(again.has_credentials == req.has_credentials);
		CHECK(strcmp(again.cred_user, req.cred_user) == 0);
		CHECK(strcmp(again.cred_password, req.cred_password) == 0);
		/* One byte less is incomplete. */
		CHECK(parse(data, (size_t)full - 1, l, &again) == 0);
	}

	/*
	 * The bytes so far decide as much as the whole: a complete request
	 * stays complete, a refusal stays a refusal (the status may differ:
	 * "GET /xxxx" is 405 before its line ends and can be 400 after).
	 */
	split[0] = size / 2;
	split[1] = size / 3;
	split[2] = size > 0 ? size - 1 : 0;
	split[3] = 8;
	for (i = 0; i < 4; i++) {
		if (split[i] >= size)
			continue;
		part = parse(data, split[i], l, &again);
		if (part > 0)
			CHECK(full == part);
		else if (part < 0)
			CHECK(full < 0);
	}
	request_clear(&req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	i;

	for (i = 0; i < sizeof fuzz_limits / sizeof fuzz_limits[0]; i++)
		fuzz_one(data, size, &fuzz_limits[i]);
	return 0;
}
