/* SPDX-License-Identifier: ISC */
/*
 * The Paprika-Forwarded header: a standby's word to the leader about whom
 * it forwards for, "for=ADDR; ts=UNIX; key=ID; mac=HEX". The MAC is
 * HMAC-SHA256 under a key derived from ticket key ID (HMAC-SHA256 of the
 * key over FORWARD_MAC_INFO), over "ADDR\nTS\nMETHOD\nTARGET" (the target
 * being the path and query). Pure functions, over untrusted bytes.
 */
#ifndef PAPRIKA_FORWARD_H
#define PAPRIKA_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "keyring.h"

#define FORWARD_HEADER		"Paprika-Forwarded"
#define FORWARD_HEADER_MAX	200
#define FORWARD_MAC_HEX		64
#define FORWARD_MAC_INFO	"paprika forwarded request v1"
#define FORWARD_SKEW		30	/* seconds a header stays good */

struct forward_header {
	char		 addr[46];	/* INET6_ADDRSTRLEN */
	int		 af;		/* AF_INET or AF_INET6 */
	long long	 ts;
	uint8_t		 key_id;
	char		 mac[FORWARD_MAC_HEX + 1];	/* lower-case hex */
};

/* Parses a header value: 0, or -1 unless it is exactly that form. */
int		 forward_header_parse(const char *v, struct forward_header *h);
/* The MAC in hex into hex (FORWARD_MAC_HEX + 1 bytes): 0, or -1. */
int		 forward_mac(const struct ticket_key *key, const char *addr,
		    long long ts, const char *method, const char *target,
		    char *hex, size_t hexlen);

#endif
