/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the Paprika-Forwarded and Paprika-Verified headers'
 * parsers, from a heap copy of exactly the input so that reading past it is
 * caught. Besides memory errors it checks what forward.h promises: what
 * parses names an address (or a user), a key id from 1, lower-case hex,
 * and written back in the one form the standby sends it parses to the same
 * thing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct forward_header	 h, again;
	struct forward_verdict	 vd, vagain;
	char			*buf, back[FORWARD_HEADER_MAX + 1];
	char			 vback[VERIFIED_HEADER_MAX + 1];
	size_t			 i;
	int			 n;

	if ((buf = malloc(size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (forward_header_parse(buf, &h) == 0) {
		CHECK(h.addr[0] != '\0' && h.key_id >= 1 && h.ts >= 0);
		CHECK(strlen(h.mac) == FORWARD_MAC_HEX);
		for (i = 0; i < FORWARD_MAC_HEX; i++)
			CHECK((h.mac[i] >= '0' && h.mac[i] <= '9') ||
			    (h.mac[i] >= 'a' && h.mac[i] <= 'f'));
		n = snprintf(back, sizeof(back), "for=%s; ts=%lld; key=%u; "
		    "mac=%s", h.addr, h.ts, h.key_id, h.mac);
		CHECK(n > 0 && (size_t)n < sizeof(back));
		CHECK(forward_header_parse(back, &again) == 0);
		CHECK(strcmp(h.addr, again.addr) == 0 && h.ts == again.ts &&
		    h.key_id == again.key_id && h.af == again.af &&
		    strcmp(h.mac, again.mac) == 0);
	}
	if (forward_verdict_parse(buf, &vd) == 0) {
		CHECK(vd.user[0] != '\0' && vd.key_id >= 1 && vd.ts >= 0);
		CHECK(strlen(vd.mac) == FORWARD_MAC_HEX &&
		    strlen(vd.body) == FORWARD_MAC_HEX);
		CHECK(vd.ok ? vd.account[0] != '\0' && vd.via[0] != '\0' :
		    vd.account[0] == '\0' && vd.groups[0] == '\0');
		CHECK(forward_verdict_format(&vd, vback, sizeof(vback)) == 0);
		CHECK(forward_verdict_parse(vback, &vagain) == 0);
		CHECK(memcmp(&vd, &vagain, sizeof(vd)) == 0);
	}
	free(buf);
	return 0;
}
