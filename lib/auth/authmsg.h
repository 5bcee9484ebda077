/* SPDX-License-Identifier: ISC */
/*
 * The messages between the unprivileged broker and its PAM helper
 * (authsep.c): one request, one reply, each one datagram of a
 * SOCK_SEQPACKET socketpair. Pure functions: the helper decodes what a
 * possibly compromised broker sends, so every length is bounded and
 * checked, and trailing bytes are an error.
 *
 * Request: version (1 byte), user (1-byte length, 1..AUTH_NAME_MAX),
 * password (2-byte big-endian length, 1..AUTH_PASSWORD_MAX), rhost
 * (1-byte length, 0..AUTHMSG_RHOST_MAX). Reply: version, status (1 byte:
 * 0 ok, 1 denied, 2 error), name (1-byte length, 1..AUTH_NAME_MAX on ok,
 * else 0), groups (1-byte count up to AUTH_GROUPS_MAX, each 1-byte length,
 * 1..AUTH_NAME_MAX), err (1-byte length, up to AUTHMSG_ERR_MAX). No field
 * may hold a NUL byte.
 */
#ifndef PAPRIKA_AUTHMSG_H
#define PAPRIKA_AUTHMSG_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define AUTHMSG_VERSION		1
#define AUTHMSG_RHOST_MAX	64
#define AUTHMSG_ERR_MAX		255
#define AUTHMSG_REQ_MAX		(1 + 1 + AUTH_NAME_MAX + 2 + \
				    AUTH_PASSWORD_MAX + 1 + AUTHMSG_RHOST_MAX)
#define AUTHMSG_REPLY_MAX	(1 + 1 + 1 + AUTH_NAME_MAX + 1 + \
				    AUTH_GROUPS_MAX * (1 + AUTH_NAME_MAX) + \
				    1 + AUTHMSG_ERR_MAX)

struct authmsg_req {
	char	user[AUTH_NAME_MAX + 1];
	char	password[AUTH_PASSWORD_MAX + 1];
	char	rhost[AUTHMSG_RHOST_MAX + 1];	/* "": none */
};

struct authmsg_reply {
	int			status;		/* an auth_status */
	struct auth_user	user;		/* on AUTH_OK; source unset */
	char			err[AUTHMSG_ERR_MAX + 1];
};

/* Each encoder writes at most its _MAX bytes into buf and returns the
 * length, or -1 when a field is too long, empty where it may not be, or
 * buflen too small. Each decoder returns 0 with out filled, or -1 (out
 * then holds nothing of a password). */
int	authmsg_req_encode(const struct authmsg_req *req, uint8_t *buf,
	    size_t buflen);
int	authmsg_req_decode(const uint8_t *buf, size_t len,
	    struct authmsg_req *out);
int	authmsg_reply_encode(const struct authmsg_reply *rep, uint8_t *buf,
	    size_t buflen);
int	authmsg_reply_decode(const uint8_t *buf, size_t len,
	    struct authmsg_reply *out);

#endif
