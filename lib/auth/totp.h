/* SPDX-License-Identifier: ISC */
/*
 * The second factor: time-based one-time passwords (RFC 6238: HMAC-SHA1,
 * 6 digits, 30 s steps), their secrets sealed at rest under the broker's
 * TOTP key, and one-time recovery codes kept as keyed hashes. Everything
 * here is a pure function of its arguments (the clock and the key come in
 * as arguments; only the generators read the system's random numbers), so
 * the broker, paprika-users and the unit tests share it. The policy (who
 * must give a code) and the storage are the broker's: twofactor.c, db.c.
 */
#ifndef PAPRIKA_TOTP_H
#define PAPRIKA_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOTP_SECRET_LEN		20	/* bytes: RFC 4226's recommendation */
#define TOTP_SECRET_B32		32	/* its base32 text */
#define TOTP_DIGITS		6
#define TOTP_PERIOD		30	/* seconds per step */
#define TOTP_SKEW		1	/* steps accepted either side of now */
#define TOTP_KEY_LEN		32	/* the key file: 64 hex characters */
#define TOTP_SEALED_MAX		160	/* hex of nonce, sealed secret, tag */
#define TOTP_RECOVERY_CODES	10	/* made at each enrolment */
#define TOTP_RECOVERY_CHARS	10	/* base32: 50 bits */
#define TOTP_RECOVERY_TEXT	(TOTP_RECOVERY_CHARS + 2) /* "xxxxx-xxxxx" */
#define TOTP_HASH_HEX		64
#define TOTP_CODE_MAX		32	/* longest second factor a login gives */
#define TOTP_URI_MAX		256

/* The broker's TOTP key, as two keys derived from the file's: one seals
 * secrets, the other keys the recovery codes' hashes. */
struct totp_keys {
	uint8_t	seal[32];
	uint8_t	recovery[32];
};

enum totp_result {
	TOTP_MATCH = 0,		/* *step is the step it matched */
	TOTP_WRONG = -1,	/* no step within the skew gives this code */
	TOTP_REPLAY = -2,	/* right code of a step already used */
};

/* RFC 4226's HOTP value of counter, reduced to digits digits (6..8). */
uint32_t totp_hotp(const uint8_t *secret, size_t len, uint64_t counter,
	    unsigned digits);
/* The RFC 6238 step that time t falls in. */
int64_t	totp_step(time_t t);
/*
 * Checks code (TOTP_DIGITS digits) against the steps within TOTP_SKEW of
 * now's, each compared in constant time. A match whose step is not newer
 * than last_step (-1: none used yet) is a replay. Returns a totp_result;
 * on TOTP_MATCH *step is set.
 */
int	totp_verify(const uint8_t *secret, size_t len, const char *code,
	    time_t now, int64_t last_step, int64_t *step);
/* Whether s is TOTP_DIGITS digits. */
int	totp_code_syntax(const char *s);

/* Reads the key file (one line of 64 hex characters, mode 0600 or 0640)
 * and derives keys; 0, or -1 with "path: ..." in err. */
int	totp_keys_load(const char *path, struct totp_keys *keys, char *err,
	    size_t errlen);
/* Derives the keys from the file's bytes. */
void	totp_keys_derive(const uint8_t master[TOTP_KEY_LEN],
	    struct totp_keys *keys);
/* A fresh random secret. */
void	totp_secret_new(uint8_t secret[TOTP_SECRET_LEN]);
/*
 * Seals secret for user (the name is bound as associated data, so a
 * sealed secret copied to another user's row does not open) as hex text
 * in out (TOTP_SEALED_MAX + 1 bytes). totp_open reverses it: 0, or -1
 * when the text is not one this key sealed for this user.
 */
int	totp_seal(const struct totp_keys *keys, const char *user,
	    const uint8_t secret[TOTP_SECRET_LEN], char *out, size_t outlen);
int	totp_open(const struct totp_keys *keys, const char *user,
	    const char *sealed, uint8_t secret[TOTP_SECRET_LEN]);
/* The secret in upper-case base32 without padding, as apps want it. */
void	totp_secret_text(const uint8_t secret[TOTP_SECRET_LEN],
	    char out[TOTP_SECRET_B32 + 1]);
/* The otpauth:// URI an authenticator app reads from a QR code; 0 or -1
 * when it does not fit. */
int	totp_uri(const char *issuer, const char *user,
	    const uint8_t secret[TOTP_SECRET_LEN], char *out, size_t outlen);

/* A fresh recovery code, "xxxxx-xxxxx" (lower-case base32). */
void	totp_recovery_new(char out[TOTP_RECOVERY_TEXT]);
/* A recovery code as typed (any case, with or without '-' and spaces) in
 * its stored form; 0, or -1 when it cannot be one. */
int	totp_recovery_norm(const char *in, char out[TOTP_RECOVERY_CHARS + 1]);
/* The keyed hash a normalised recovery code of user is stored as. */
void	totp_recovery_hash(const struct totp_keys *keys, const char *user,
	    const char *norm, char out[TOTP_HASH_HEX + 1]);

#endif
