/* SPDX-License-Identifier: ISC */
/*
 * What auth.c (PAM) needs of users.c (the users file and libsodium); not
 * for callers outside lib/auth.
 */
#ifndef AUTHPRIV_H
#define AUTHPRIV_H

#include <stddef.h>

#include "auth.h"

/* libsodium started once for the process; -1 when it cannot be. */
int	auth_start(void);
/* Spends the time a real check would, for a user that does not exist. */
void	auth_dummy_verify(const char *password, size_t len);
/*
 * Reads and checks the whole users file; with user set, copies the hash
 * of the entry that matches it whatever the case into hash, and the
 * entry's name and groups into u. Returns 1 when user was found, 0 when
 * not, -1 with "file:line: message" (or "file: message") in err.
 */
int	auth_users_read(const char *path, const char *user, char *hash,
	    size_t hashlen, struct auth_user *u, char *err, size_t errlen);

#endif
