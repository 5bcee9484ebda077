/* SPDX-License-Identifier: ISC */
/*
 * RFC 6238 one-time passwords, sealed secrets and recovery codes (totp.h).
 * HMAC-SHA1 is OpenSSL's; sealing, key derivation and the keyed hashes are
 * libsodium's (XChaCha20-Poly1305, crypto_kdf, BLAKE2b).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "encode.h"
#include "secretfile.h"
#include "totp.h"

#define TOTP_KDF_CONTEXT	"paprtotp"	/* crypto_kdf: 8 bytes */
#define TOTP_KDF_SEAL		1
#define TOTP_KDF_RECOVERY	2

static const uint32_t totp_pow10[] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000
};

uint32_t
totp_hotp(const uint8_t *secret, size_t len, uint64_t counter,
    unsigned digits)
{
	uint8_t		msg[8], md[EVP_MAX_MD_SIZE];
	unsigned	mdlen = sizeof(md), off;
	uint32_t	bin;
	int		i;

	if (digits < 6 || digits > 8)
		digits = TOTP_DIGITS;
	for (i = 7; i >= 0; i--) {
		msg[i] = (uint8_t)(counter & 0xff);
		counter >>= 8;
	}
	HMAC(EVP_sha1(), secret, (int)len, msg, sizeof(msg), md, &mdlen);
	/* RFC 4226 5.3: dynamic truncation. */
	off = md[mdlen - 1] & 0x0f;
	bin = ((uint32_t)(md[off] & 0x7f) << 24) |
	    ((uint32_t)md[off + 1] << 16) | ((uint32_t)md[off + 2] << 8) |
	    (uint32_t)md[off + 3];
	OPENSSL_cleanse(md, sizeof(md));
	return bin % totp_pow10[digits];
}

int64_t
totp_step(time_t t)
{
	return t < 0 ? 0 : (int64_t)t / TOTP_PERIOD;
}

int
totp_code_syntax(const char *s)
{
	size_t	i;

	for (i = 0; i < TOTP_DIGITS; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[i] == '\0';
}

int
totp_verify(const uint8_t *secret, size_t len, const char *code,
    time_t now, int64_t last_step, int64_t *step)
{
	char	want[TOTP_DIGITS + 1];
	int64_t	s, base = totp_step(now), found = -1;
	int	d;

	if (!totp_code_syntax(code))
		return TOTP_WRONG;
	/* Every step in the window is computed and compared whatever an
	 * earlier one gave: the time taken says nothing about the code. */
	for (d = -TOTP_SKEW; d <= TOTP_SKEW; d++) {
		s = base + d;
		if (s < 0)
			continue;
		snprintf(want, sizeof(want), "%0*u", TOTP_DIGITS,
		    (unsigned)totp_hotp(secret, len, (uint64_t)s,
		    TOTP_DIGITS));
		if (CRYPTO_memcmp(want, code, TOTP_DIGITS) == 0)
			found = s;
	}
	OPENSSL_cleanse(want, sizeof(want));
	if (found == -1)
		return TOTP_WRONG;
	if (found <= last_step)
		return TOTP_REPLAY;
	*step = found;
	return TOTP_MATCH;
}

void
totp_keys_derive(const uint8_t master[TOTP_KEY_LEN], struct totp_keys *keys)
{
	if (sodium_init() < 0)
		abort();	/* no usable random source: nothing is safe */
	crypto_kdf_derive_from_key(keys->seal, sizeof(keys->seal),
	    TOTP_KDF_SEAL, TOTP_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(keys->recovery, sizeof(keys->recovery),
	    TOTP_KDF_RECOVERY, TOTP_KDF_CONTEXT, master);
}

int
totp_keys_load(const char *path, struct totp_keys *keys, char *err,
    size_t errlen)
{
	uint8_t	master[TOTP_KEY_LEN];

	if (secretfile_read_hex(path, "TOTP key", master, sizeof(master), err,
	    errlen) == -1)
		return -1;
	totp_keys_derive(master, keys);
	OPENSSL_cleanse(master, sizeof(master));
	return 0;
}

void
totp_secret_new(uint8_t secret[TOTP_SECRET_LEN])
{
	arc4random_buf(secret, TOTP_SECRET_LEN);
}

#define TOTP_NONCE	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TOTP_TAG	crypto_aead_xchacha20poly1305_ietf_ABYTES
#define TOTP_SEALED_LEN	(TOTP_NONCE + TOTP_SECRET_LEN + TOTP_TAG)

int
totp_seal(const struct totp_keys *keys, const char *user,
    const uint8_t secret[TOTP_SECRET_LEN], char *out, size_t outlen)
{
	uint8_t			buf[TOTP_SEALED_LEN];
	unsigned long long	clen;

	if (outlen < TOTP_SEALED_LEN * 2 + 1)
		return -1;
	arc4random_buf(buf, TOTP_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(buf + TOTP_NONCE, &clen,
	    secret, TOTP_SECRET_LEN, (const uint8_t *)user, strlen(user),
	    NULL, buf, keys->seal);
	hex_encode(buf, sizeof(buf), out, outlen);
	return 0;
}

int
totp_open(const struct totp_keys *keys, const char *user, const char *sealed,
    uint8_t secret[TOTP_SECRET_LEN])
{
	uint8_t			buf[TOTP_SEALED_LEN];
	unsigned long long	mlen;

	if (strlen(sealed) != TOTP_SEALED_LEN * 2 || hex_decode(sealed,
	    TOTP_SEALED_LEN * 2, buf, sizeof(buf)) != TOTP_SEALED_LEN)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(secret, &mlen, NULL,
	    buf + TOTP_NONCE, TOTP_SECRET_LEN + TOTP_TAG,
	    (const uint8_t *)user, strlen(user), buf, keys->seal) != 0 ||
	    mlen != TOTP_SECRET_LEN) {
		sodium_memzero(secret, TOTP_SECRET_LEN);
		return -1;
	}
	return 0;
}

void
totp_secret_text(const uint8_t secret[TOTP_SECRET_LEN],
    char out[TOTP_SECRET_B32 + 1])
{
	size_t	i;

	base32_encode(secret, TOTP_SECRET_LEN, out, TOTP_SECRET_B32 + 1);
	for (i = 0; out[i] != '\0'; i++)
		out[i] = (char)toupper((unsigned char)out[i]);
}

/* Appends s to out percent-encoding all but RFC 3986's unreserved
 * characters; the new length, or outlen when it does not fit. */
static size_t
totp_uri_escape(char *out, size_t at, size_t outlen, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";

	for (; *s != '\0' && at < outlen; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			out[at++] = *s;
		else if (at + 3 < outlen) {
			out[at++] = '%';
			out[at++] = hex[(unsigned char)*s >> 4];
			out[at++] = hex[(unsigned char)*s & 0x0f];
		} else
			return outlen;
	}
	return *s == '\0' ? at : outlen;
}

int
totp_uri(const char *issuer, const char *user,
    const uint8_t secret[TOTP_SECRET_LEN], char *out, size_t outlen)
{
	char	b32[TOTP_SECRET_B32 + 1];
	size_t	at;
	int	n, ret = -1;

	/* otpauth://totp/ISSUER:USER?secret=...&issuer=ISSUER&... (the
	 * Key Uri Format authenticator apps read). */
	n = snprintf(out, outlen, "otpauth://totp/");
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	at = totp_uri_escape(out, (size_t)n, outlen, issuer);
	if (at + 1 < outlen)
		out[at++] = ':';
	else
		at = outlen;
	if (at < outlen)
		at = totp_uri_escape(out, at, outlen, user);
	if (at >= outlen)
		goto out;
	totp_secret_text(secret, b32);
	n = snprintf(out + at, outlen - at, "?secret=%s&issuer=", b32);
	if (n < 0 || (size_t)n >= outlen - at)
		goto out;
	at = totp_uri_escape(out, at + (size_t)n, outlen, issuer);
	if (at >= outlen)
		goto out;
	n = snprintf(out + at, outlen - at, "&algorithm=SHA1&digits=%d"
	    "&period=%d", TOTP_DIGITS, TOTP_PERIOD);
	if (n < 0 || (size_t)n >= outlen - at)
		goto out;
	ret = 0;
out:
	sodium_memzero(b32, sizeof(b32));
	if (ret == -1)
		sodium_memzero(out, outlen);
	return ret;
}

void
totp_recovery_new(char out[TOTP_RECOVERY_TEXT])
{
	uint8_t	raw[8];
	char	b32[BASE32_LEN(8) + 1];

	arc4random_buf(raw, sizeof(raw));
	base32_encode(raw, sizeof(raw), b32, sizeof(b32));
	memcpy(out, b32, 5);
	out[5] = '-';
	memcpy(out + 6, b32 + 5, 5);
	out[11] = '\0';
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(b32, sizeof(b32));
}

int
totp_recovery_norm(const char *in, char out[TOTP_RECOVERY_CHARS + 1])
{
	size_t	n = 0;
	char	c;

	for (; *in != '\0'; in++) {
		if (*in == '-' || *in == ' ')
			continue;
		c = (char)tolower((unsigned char)*in);
		if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) ||
		    n == TOTP_RECOVERY_CHARS)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == TOTP_RECOVERY_CHARS ? 0 : -1;
}

void
totp_recovery_hash(const struct totp_keys *keys, const char *user,
    const char *norm, char out[TOTP_HASH_HEX + 1])
{
	crypto_generichash_state	st;
	uint8_t				md[32];

	crypto_generichash_init(&st, keys->recovery, sizeof(keys->recovery),
	    sizeof(md));
	crypto_generichash_update(&st, (const uint8_t *)user,
	    strlen(user) + 1);
	crypto_generichash_update(&st, (const uint8_t *)norm, strlen(norm));
	crypto_generichash_final(&st, md, sizeof(md));
	hex_encode(md, sizeof(md), out, TOTP_HASH_HEX + 1);
}
