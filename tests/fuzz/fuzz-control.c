/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the gateway's control request parser.
 *
 * Each input is parsed from a heap copy of exactly its bytes, so reading past
 * the end is caught; leaks of the parsed JSON are caught by the sanitizer.
 * Besides memory errors, it checks what control-parse.h promises.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-parse.h"
#include "fuzz.h"

static void
check_parsed(const struct control_request *req)
{
	switch (req->command) {
	case CONTROL_SESSIONS:
	case CONTROL_KILL:
	case CONTROL_RELOAD:
	case CONTROL_METRICS:
	case CONTROL_STATUS:
		CHECK(req->ticket == NULL);
		break;
	case CONTROL_REVOKE:
		CHECK(req->seconds >= 1 && req->seconds <= CONTROL_REVOKE_MAX);
		break;
	default:
		CHECK(!"a command out of the enum");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request	 req, again;
	char			 err[256], err2[256];
	char			*buf;
	int			 rc;

	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	err[0] = '\0';
	rc = control_parse(buf, size, &req, err, sizeof err);
	CHECK(rc == 0 || rc == -1);
	if (rc == 0)
		check_parsed(&req);
	else
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);

	/* The same bytes give the same answer. */
	CHECK(control_parse(buf, size, &again, err2, sizeof err2) == rc);
	if (rc == 0) {
		CHECK(again.command == req.command);
		CHECK(again.session == req.session);
		CHECK((again.ticket == NULL) == (req.ticket == NULL));
		CHECK(req.ticket == NULL ||
		    strcmp(again.ticket, req.ticket) == 0);
	} else
		CHECK(strcmp(err, err2) == 0);
	control_request_clear(&req);
	control_request_clear(&again);
	CHECK(req.ticket == NULL);
	free(buf);
	return 0;
}
