/* SPDX-License-Identifier: ISC */
/*
 * Second factors over the state file (twofactor.h): the login's verdict,
 * enrolment and recovery codes.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "broker.h"
#include "twofactor.h"

/* The folded name a user's rows are kept under. */
static void
twofactor_key(const char *user, char out[AUTH_NAME_MAX + 1])
{
	auth_fold_name(user, out, AUTH_NAME_MAX + 1);
}

/* A recovery code: 1 used now, 0 not a code of user's, -1 on error. */
static int
twofactor_recovery(struct db *db, const struct totp_keys *k, const char *key,
    const char *code)
{
	char	norm[TOTP_RECOVERY_CHARS + 1], hash[TOTP_HASH_HEX + 1];
	int	rc;

	if (totp_recovery_norm(code, norm) == -1)
		return 0;
	totp_recovery_hash(k, key, norm, hash);
	sodium_memzero(norm, sizeof(norm));
	rc = db_totp_recovery_use(db, key, hash);
	return rc == -1 ? -1 : rc > 0;
}

enum twofactor_verdict
twofactor_login(struct db *db, const struct totp_keys *k, const char *user,
    int required, const char *code, time_t now, char *detail,
    size_t detaillen)
{
	struct totp_row	r;
	uint8_t		secret[TOTP_SECRET_LEN];
	char		key[AUTH_NAME_MAX + 1];
	int64_t		step;
	int		rc;
	enum twofactor_verdict v = TWOFACTOR_ERROR;

	detail[0] = '\0';
	twofactor_key(user, key);
	if ((rc = db_totp_get(db, key, &r)) == -1) {
		snprintf(detail, detaillen, "cannot read the second factor");
		return TWOFACTOR_ERROR;
	}
	if (rc == 1 || !r.confirmed) {
		/* An unfinished enrolment protects nothing yet. */
		return required ? TWOFACTOR_ENROL : TWOFACTOR_PASS;
	}
	if (code == NULL || code[0] == '\0')
		return TWOFACTOR_ASK;
	if (!totp_code_syntax(code)) {
		if ((rc = twofactor_recovery(db, k, key, code)) == -1) {
			snprintf(detail, detaillen, "cannot use the recovery "
			    "code");
			return TWOFACTOR_ERROR;
		}
		snprintf(detail, detaillen, rc == 1 ? "recovery code used, %d "
		    "left" : "wrong or used recovery code", r.recovery_left -
		    rc);
		return rc == 1 ? TWOFACTOR_OK : TWOFACTOR_WRONG;
	}
	if (totp_open(k, key, r.sealed, secret) == -1) {
		snprintf(detail, detaillen, "the second factor's secret does "
		    "not open with the TOTP key");
		goto out;
	}
	switch (totp_verify(secret, sizeof(secret), code, now, r.last_step,
	    &step)) {
	case TOTP_MATCH:
		/* The update is the replay guard: only a newer step wins. */
		if ((rc = db_totp_use_step(db, key, step)) == -1) {
			snprintf(detail, detaillen, "cannot save the code's "
			    "step");
			goto out;
		}
		if (rc == 0) {
			snprintf(detail, detaillen, "code already used");
			v = TWOFACTOR_WRONG;
		} else {
			snprintf(detail, detaillen, "code");
			v = TWOFACTOR_OK;
		}
		break;
	case TOTP_REPLAY:
		snprintf(detail, detaillen, "code already used");
		v = TWOFACTOR_WRONG;
		break;
	default:
		snprintf(detail, detaillen, "wrong code");
		v = TWOFACTOR_WRONG;
	}
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(&r, sizeof(r));
	return v;
}

int
twofactor_begin(struct db *db, const struct totp_keys *k, const char *user,
    time_t now, char *uri, size_t urilen)
{
	struct totp_row	r;
	uint8_t		secret[TOTP_SECRET_LEN];
	char		key[AUTH_NAME_MAX + 1], sealed[TOTP_SEALED_MAX + 1];
	int		rc, ret = -1;

	twofactor_key(user, key);
	if ((rc = db_totp_get(db, key, &r)) == -1)
		return -1;
	if (rc == 0 && r.confirmed)
		return 1;
	totp_secret_new(secret);
	if (totp_seal(k, key, secret, sealed, sizeof(sealed)) == -1 ||
	    totp_uri(TWOFACTOR_ISSUER, user, secret, uri, urilen) == -1 ||
	    db_totp_put(db, key, sealed, 0, now) == -1)
		goto out;
	ret = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	return ret;
}

/* user's unconfirmed enrolment, its secret opened: 0, 1 when there is
 * none (or it is confirmed), -1 on error. key gets the folded name. */
static int
twofactor_pending(struct db *db, const struct totp_keys *k, const char *user,
    char key[AUTH_NAME_MAX + 1], uint8_t secret[TOTP_SECRET_LEN])
{
	struct totp_row	r;
	int		rc;

	twofactor_key(user, key);
	if ((rc = db_totp_get(db, key, &r)) != 0)
		return rc;
	rc = r.confirmed ? 1 : totp_open(k, key, r.sealed, secret);
	sodium_memzero(&r, sizeof(r));
	return rc;
}

int
twofactor_pending_uri(struct db *db, const struct totp_keys *k,
    const char *user, char *uri, size_t urilen)
{
	uint8_t		secret[TOTP_SECRET_LEN];
	char		key[AUTH_NAME_MAX + 1];
	int		rc;

	if ((rc = twofactor_pending(db, k, user, key, secret)) == 0)
		rc = totp_uri(TWOFACTOR_ISSUER, user, secret, uri, urilen);
	sodium_memzero(secret, sizeof(secret));
	return rc;
}

int
twofactor_confirm(struct db *db, const struct totp_keys *k, const char *user,
    const char *code, time_t now,
    char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_TEXT])
{
	uint8_t		secret[TOTP_SECRET_LEN];
	char		key[AUTH_NAME_MAX + 1];
	char		norm[TOTP_RECOVERY_CHARS + 1];
	char		hashes[TOTP_RECOVERY_CODES][TOTP_HASH_HEX + 1];
	int64_t		step = -1;
	size_t		i;
	int		rc, ret = -1;

	if ((rc = twofactor_pending(db, k, user, key, secret)) != 0) {
		ret = rc;
		goto out;
	}
	if (code != NULL) {
		if (totp_verify(secret, sizeof(secret), code, now, -1,
		    &step) != TOTP_MATCH) {
			ret = 2;
			goto out;
		}
	}
	for (i = 0; i < TOTP_RECOVERY_CODES; i++) {
		totp_recovery_new(codes[i]);
		totp_recovery_norm(codes[i], norm);
		totp_recovery_hash(k, key, norm, hashes[i]);
	}
	sodium_memzero(norm, sizeof(norm));
	if (db_totp_confirm(db, key, step, hashes, TOTP_RECOVERY_CODES) == -1) {
		sodium_memzero(codes, TOTP_RECOVERY_CODES *
		    TOTP_RECOVERY_TEXT);
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	return ret;
}

int
twofactor_enrolled(struct db *db, const char *user, int *left)
{
	struct totp_row	r;
	char		key[AUTH_NAME_MAX + 1];
	int		rc;

	*left = 0;
	twofactor_key(user, key);
	if ((rc = db_totp_get(db, key, &r)) == -1)
		return -1;
	if (rc == 1 || !r.confirmed)
		return 0;
	*left = r.recovery_left;
	sodium_memzero(&r, sizeof(r));
	return 1;
}

int
twofactor_remove(struct db *db, const char *user)
{
	char	key[AUTH_NAME_MAX + 1];

	twofactor_key(user, key);
	return db_totp_del(db, key);
}
