/* SPDX-License-Identifier: ISC */
/*
 * The second factor of a login, over the state (db-totp.c) and the TOTP key
 * (totp.h). The broker calls these on its loop once the password has been
 * accepted, never from the password check itself; paprika-users calls the
 * enrolment functions on the state file directly. Every function takes
 * the database and keys it works on; none keeps anything between calls.
 * User names are folded (auth_fold_name) before they key a row.
 */
#ifndef PAPRIKA_TWOFACTOR_H
#define PAPRIKA_TWOFACTOR_H

#include <stddef.h>
#include <time.h>

#include "totp.h"

struct db;

#define TWOFACTOR_ISSUER	"Paprika"	/* the label in the apps */

enum twofactor_verdict {
	TWOFACTOR_PASS,		/* no second factor for this user */
	TWOFACTOR_ENROL,	/* required, not enrolled: may only enrol */
	TWOFACTOR_ASK,		/* enrolled, no code given */
	TWOFACTOR_OK,		/* a right code or an unused recovery code */
	TWOFACTOR_WRONG,	/* wrong, replayed or used */
	TWOFACTOR_ERROR,	/* the state or the key failed */
};

/*
 * The verdict on the second factor of user (password already accepted):
 * code is what the login gave (NULL or "": none), a TOTP code or a
 * recovery code; required says whether the policy asks it of this user.
 * A code that matches is used up. detail gets words for the audit log,
 * never the code.
 */
enum twofactor_verdict twofactor_login(struct db *db,
	    const struct totp_keys *k, const char *user, int required,
	    const char *code, time_t now, char *detail, size_t detaillen);
/*
 * Starts an enrolment: a fresh secret kept unconfirmed until
 * twofactor_confirm, replacing any unconfirmed one; uri gets its
 * otpauth:// URI. Returns 0, 1 when user has a confirmed second factor
 * (nothing changed), -1 on error.
 */
int	twofactor_begin(struct db *db, const struct totp_keys *k,
	    const char *user, time_t now, char *uri, size_t urilen);
/* The otpauth:// URI of user's unconfirmed enrolment: 0, 1 if none, -1. */
int	twofactor_pending_uri(struct db *db, const struct totp_keys *k,
	    const char *user, char *uri, size_t urilen);
/*
 * Finishes user's enrolment with its first code (NULL: an administrator's
 * enrolment, taken as it is) and makes the recovery codes, returned in
 * codes. Returns 0, 1 when there is no enrolment to finish, 2 for a wrong
 * code, -1 on error.
 */
int	twofactor_confirm(struct db *db, const struct totp_keys *k,
	    const char *user, const char *code, time_t now,
	    char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_TEXT]);
/* Removes user's second factor and recovery codes: 1, 0 if none, -1. */
int	twofactor_remove(struct db *db, const char *user);
/* Whether user has a confirmed second factor: 1, 0, or -1 on error;
 * *left gets the recovery codes not yet used. */
int	twofactor_enrolled(struct db *db, const char *user, int *left);

#endif
