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

/*
 * The Paprika-Verified header: a standby's verdict on the password of a
 * login it forwards, "user=NAME; ok=1; account=NAME; via=local|pam;
 * groups=G1,G2; ts=UNIX; key=ID; body=HEX; mac=HEX" when the password was
 * right, "user=NAME; ok=0; ts=UNIX; key=ID; body=HEX; mac=HEX" when not.
 * body is the SHA-256 of the request body the standby sends. The MAC is
 * HMAC-SHA256 under a key derived from ticket key ID over
 * VERIFIED_MAC_INFO, over "USER\nOK\nACCOUNT\nVIA\nGROUPS\nTS\nBODY\n
 * FOR\nFOR_TS" (the last two: the Paprika-Forwarded header's address and
 * time), so it holds only with the very request it came with.
 */
#define VERIFIED_HEADER		"Paprika-Verified"
#define VERIFIED_MAC_INFO	"paprika verified login v1"
#define VERIFIED_NAME_MAX	64	/* AUTH_NAME_MAX */
#define VERIFIED_GROUPS		32	/* AUTH_GROUPS_MAX */
#define VERIFIED_GROUPS_MAX	(VERIFIED_GROUPS * (VERIFIED_NAME_MAX + 1))
#define VERIFIED_HEADER_MAX	(VERIFIED_GROUPS_MAX + 512)

struct forward_header {
	char		 addr[46];	/* INET6_ADDRSTRLEN */
	int		 af;		/* AF_INET or AF_INET6 */
	long long	 ts;
	uint8_t		 key_id;
	char		 mac[FORWARD_MAC_HEX + 1];	/* lower-case hex */
};

struct forward_verdict {
	char		 user[VERIFIED_NAME_MAX + 1];	/* as the body has it */
	int		 ok;				/* the password was right */
	char		 account[VERIFIED_NAME_MAX + 1];	/* ok: its own name */
	char		 via[8];			/* ok: "local" or "pam" */
	char		 groups[VERIFIED_GROUPS_MAX + 1];	/* ok: "a,b" or "" */
	long long	 ts;
	uint8_t		 key_id;
	char		 body[FORWARD_MAC_HEX + 1];	/* lower-case hex */
	char		 mac[FORWARD_MAC_HEX + 1];	/* lower-case hex */
};

/* Parses a header value: 0, or -1 unless it is exactly that form. */
int		 forward_header_parse(const char *v, struct forward_header *h);
/* The MAC in hex into hex (FORWARD_MAC_HEX + 1 bytes): 0, or -1. */
int		 forward_mac(const struct ticket_key *key, const char *addr,
		    long long ts, const char *method, const char *target,
		    char *hex, size_t hexlen);

/* Parses a Paprika-Verified value: 0, or -1 unless it is exactly that
 * form, with names of 1 to VERIFIED_NAME_MAX of [A-Za-z0-9._@-]. */
int		 forward_verdict_parse(const char *v, struct forward_verdict *vd);
/* Writes vd (mac included) in that form into out: 0, or -1 if too long. */
int		 forward_verdict_format(const struct forward_verdict *vd,
		    char *out, size_t outlen);
/* The verdict's MAC in hex into hex (FORWARD_MAC_HEX + 1 bytes), bound to
 * the Paprika-Forwarded header's address and time: 0, or -1. */
int		 forward_verdict_mac(const struct ticket_key *key,
		    const struct forward_verdict *vd, const char *for_addr,
		    long long for_ts, char *hex, size_t hexlen);

#endif
