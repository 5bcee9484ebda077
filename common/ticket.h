/* SPDX-License-Identifier: ISC */
/*
 * Gateway tickets: a signed, versioned, self-contained permission to open
 * tunnels to one upstream address and a few ports until an expiry time.
 *
 * Wire format, version 1 (integers big-endian):
 *   u8 version | u8 key id | u32 expiry (unix time) | u64 session id |
 *   u8 family (4 or 6) | 4 or 16 address bytes | u8 nports | u16 ports[] |
 *   u8 userlen | user | 16-byte HMAC-SHA256 (truncated) over all before it.
 * Text form: "pk." followed by lower-case base32 in DNS labels of at most
 * 56 characters, so it survives GLib lower-casing the CONNECT host and stays
 * far below the 253-character host name limit.
 */
#ifndef PAPRIKA_TICKET_H
#define PAPRIKA_TICKET_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "keyring.h"

#define TICKET_VERSION		1
#define TICKET_USER_MAX		32
#define TICKET_PORTS_MAX	4
#define TICKET_MAC_LEN		16
#define TICKET_PREFIX		"pk."
#define TICKET_LABEL_LEN	56
/* Longest text form, NUL included. */
#define TICKET_TEXT_MAX		200

enum ticket_status {
	TICKET_OK = 0,
	TICKET_MALFORMED = -1,
	TICKET_BAD_VERSION = -2,
	TICKET_UNKNOWN_KEY = -3,
	TICKET_BAD_SIGNATURE = -4,
	TICKET_EXPIRED = -5,
};

struct ticket {
	uint8_t		version;
	uint8_t		key_id;
	time_t		expiry;
	uint64_t	session_id;
	/* First 8 bytes of the MAC: names this ticket for revocation. */
	uint64_t	ticket_id;
	int		af;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];
	uint16_t	ports[TICKET_PORTS_MAX];
	size_t		nports;
	char		user[TICKET_USER_MAX + 1];
};

/* Signs t with key into out; returns the text length, or -1 if t is invalid. */
int		 ticket_encode(struct ticket *t, const struct ticket_key *key,
		     char *out, size_t outsize);
/* Verifies and decodes text; returns TICKET_OK or a negative ticket_status. */
int		 ticket_decode(const char *text, size_t len,
		     const struct keyring *ring, time_t now, struct ticket *out);
const char	*ticket_strerror(int status);
/* Whether a CONNECT host looks like a ticket rather than a host name. */
int		 ticket_is_candidate(const char *host, size_t len);
int		 ticket_allows_port(const struct ticket *t, uint16_t port);
/* Fills sa with the ticket's upstream address and the given port. */
socklen_t	 ticket_upstream(const struct ticket *t, uint16_t port,
		     struct sockaddr_storage *sa);
/* Checks a user name: 1 to TICKET_USER_MAX of [A-Za-z0-9._@+-]. */
int		 ticket_valid_user(const char *user);

#endif
