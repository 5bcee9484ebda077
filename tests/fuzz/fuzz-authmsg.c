/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the PAM helper's messages (lib/auth/authmsg.c): the
 * helper decodes requests from the unprivileged broker, the broker decodes
 * the helper's replies. The first byte picks which; the rest is decoded
 * from a heap copy of exactly its length. Besides memory errors it checks
 * what authmsg.h promises: a message decoded is one the encoder writes
 * byte for byte (one encoding for each, no trailing bytes), and no decoded
 * field holds more than its limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authmsg.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authmsg_req	 req;
	struct authmsg_reply	 rep;
	uint8_t			*in, out[AUTHMSG_REPLY_MAX];
	size_t			 i, len;
	int			 n;

	if (size == 0)
		return 0;
	len = size - 1;
	if ((in = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(in, data + 1, len);
	if (data[0] & 1) {
		if (authmsg_req_decode(in, len, &req) == 0) {
			CHECK(len <= AUTHMSG_REQ_MAX);
			CHECK(strlen(req.user) >= 1 &&
			    strlen(req.user) <= AUTH_NAME_MAX);
			CHECK(strlen(req.password) >= 1 &&
			    strlen(req.password) <= AUTH_PASSWORD_MAX);
			n = authmsg_req_encode(&req, out, sizeof(out));
			CHECK(n >= 0 && (size_t)n == len &&
			    memcmp(out, in, len) == 0);
		} else
			CHECK(req.password[0] == '\0');
	} else if (authmsg_reply_decode(in, len, &rep) == 0) {
		CHECK(len <= AUTHMSG_REPLY_MAX);
		CHECK(rep.user.ngroups <= AUTH_GROUPS_MAX);
		CHECK(rep.status == AUTH_OK || rep.user.ngroups == 0);
		for (i = 0; i < rep.user.ngroups; i++)
			CHECK(strlen(rep.user.groups[i]) >= 1);
		n = authmsg_reply_encode(&rep, out, sizeof(out));
		CHECK(n >= 0 && (size_t)n == len && memcmp(out, in, len) == 0);
	}
	free(in);
	return 0;
}
