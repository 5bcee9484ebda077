/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/auth/totp.c: RFC 4226 and RFC 6238 test vectors, the
 * step window and replays, sealed secrets, URIs and recovery codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "totp.h"

/* The RFCs' secret: the ASCII of "12345678901234567890". */
static const uint8_t rfc_secret[20] = "12345678901234567890";

/* RFC 4226 appendix D: HOTP values for counters 0 to 9. */
static void
test_hotp_vectors(void **state)
{
	static const uint32_t	want[] = { 755224, 287082, 359152, 969429,
	    338314, 254676, 287922, 162583, 399871, 520489 };
	uint64_t		c;

	for (c = 0; c < 10; c++)
		assert_int_equal(totp_hotp(rfc_secret, sizeof(rfc_secret), c,
		    6), want[c]);
}

/* RFC 6238 appendix B, the SHA1 rows (8 digits). */
static void
test_totp_vectors(void **state)
{
	static const struct {
		int64_t		t;
		uint32_t	code;
	} v[] = {
		{ 59, 94287082 }, { 1111111109, 7081804 },
		{ 1111111111, 14050471 }, { 1234567890, 89005924 },
		{ 2000000000, 69279037 }, { 20000000000LL, 65353130 },
	};
	size_t	i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(totp_hotp(rfc_secret, sizeof(rfc_secret),
		    (uint64_t)totp_step((time_t)v[i].t), 8), v[i].code);
}

static void
code_at(int64_t step, char out[TOTP_DIGITS + 1])
{
	snprintf(out, TOTP_DIGITS + 1, "%06u", (unsigned)totp_hotp(rfc_secret,
	    sizeof(rfc_secret), (uint64_t)step, 6));
}

/* The step before, of and after now match; two away do not; a step not
 * newer than the last one used is a replay. */
static void
test_verify_window_and_replay(void **state)
{
	char	code[TOTP_DIGITS + 1];
	int64_t	step = -1;
	time_t	now = 1700000000;
	int64_t	s = totp_step(now);

	code_at(s, code);
	assert_int_equal(totp_verify(rfc_secret, 20, code, now, -1, &step),
	    TOTP_MATCH);
	assert_int_equal(step, s);
	assert_int_equal(totp_verify(rfc_secret, 20, code, now, s, &step),
	    TOTP_REPLAY);
	code_at(s - 1, code);
	assert_int_equal(totp_verify(rfc_secret, 20, code, now, -1, &step),
	    TOTP_MATCH);
	assert_int_equal(step, s - 1);
	/* An older code after a newer one was used: a replay too. */
	assert_int_equal(totp_verify(rfc_secret, 20, code, now, s, &step),
	    TOTP_REPLAY);
	code_at(s + 1, code);
	assert_int_equal(totp_verify(rfc_secret, 20, code, now, s, &step),
	    TOTP_MATCH);
	assert_int_equal(step, s + 1);
	code_at(s - 2, code);
	assert_int_equal(totp_verify(rfc_secret, 20, code, now, -1, &step),
	    TOTP_WRONG);
	code_at(s + 2, code);
	assert_int_equal(totp_verify(rfc_secret, 20, code, now, -1, &step),
	    TOTP_WRONG);
}

static void
test_code_syntax(void **state)
{
	uint8_t	other[20];
	int64_t	step;

	assert_true(totp_code_syntax("012345"));
	assert_false(totp_code_syntax("12345"));
	assert_false(totp_code_syntax("1234567"));
	assert_false(totp_code_syntax("12345a"));
	assert_false(totp_code_syntax(""));
	assert_int_equal(totp_verify(rfc_secret, 20, "12 345", 59, -1, &step),
	    TOTP_WRONG);
	/* Another secret's code does not match. */
	memset(other, 7, sizeof(other));
	assert_int_equal(totp_verify(other, 20, "287082", 59, -1, &step),
	    TOTP_WRONG);
}

static void
keys(struct totp_keys *k, uint8_t fill)
{
	uint8_t	master[TOTP_KEY_LEN];

	memset(master, fill, sizeof(master));
	totp_keys_derive(master, k);
}

/* A sealed secret opens for its user under its key only, and does not
 * hold the secret in the clear. */
static void
test_seal(void **state)
{
	struct totp_keys	k, k2;
	uint8_t			secret[TOTP_SECRET_LEN], back[TOTP_SECRET_LEN];
	char			sealed[TOTP_SEALED_MAX + 1];
	char			again[TOTP_SEALED_MAX + 1], b32[TOTP_SECRET_B32 + 1];

	keys(&k, 1);
	keys(&k2, 2);
	assert_memory_not_equal(k.seal, k.recovery, sizeof(k.seal));
	totp_secret_new(secret);
	assert_int_equal(totp_seal(&k, "alice", secret, sealed,
	    sizeof(sealed)), 0);
	assert_int_equal(totp_open(&k, "alice", sealed, back), 0);
	assert_memory_equal(secret, back, sizeof(secret));
	assert_int_equal(totp_open(&k, "bob", sealed, back), -1);
	assert_int_equal(totp_open(&k2, "alice", sealed, back), -1);
	totp_secret_text(secret, b32);
	assert_null(strstr(sealed, b32));
	/* A fresh nonce each time. */
	assert_int_equal(totp_seal(&k, "alice", secret, again,
	    sizeof(again)), 0);
	assert_string_not_equal(sealed, again);
	sealed[10] = sealed[10] == '0' ? '1' : '0';
	assert_int_equal(totp_open(&k, "alice", sealed, back), -1);
	assert_int_equal(totp_open(&k, "alice", "00", back), -1);
	assert_int_equal(totp_seal(&k, "alice", secret, sealed, 20), -1);
}

static void
test_uri(void **state)
{
	char	uri[TOTP_URI_MAX];

	assert_int_equal(totp_uri("Paprika", "al.ice@example.org", rfc_secret,
	    uri, sizeof(uri)), 0);
	assert_string_equal(uri, "otpauth://totp/Paprika:al.ice%40example.org"
	    "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Paprika"
	    "&algorithm=SHA1&digits=6&period=30");
	assert_int_equal(totp_uri("Paprika", "alice", rfc_secret, uri, 40),
	    -1);
}

static void
test_recovery(void **state)
{
	struct totp_keys	k, k2;
	char			code[TOTP_RECOVERY_TEXT], other[TOTP_RECOVERY_TEXT];
	char			norm[TOTP_RECOVERY_CHARS + 1];
	char			h1[TOTP_HASH_HEX + 1], h2[TOTP_HASH_HEX + 1];

	totp_recovery_new(code);
	totp_recovery_new(other);
	assert_int_equal(strlen(code), 11);
	assert_int_equal(code[5], '-');
	assert_string_not_equal(code, other);
	assert_int_equal(totp_recovery_norm("ABCDE-fgh27", norm), 0);
	assert_string_equal(norm, "abcdefgh27");
	assert_int_equal(totp_recovery_norm(" abcde fgh27 ", norm), 0);
	assert_int_equal(totp_recovery_norm("abcde-fgh2", norm), -1);
	assert_int_equal(totp_recovery_norm("abcde-fgh271", norm), -1);
	assert_int_equal(totp_recovery_norm("abcde-fgh18", norm), -1);
	assert_int_equal(totp_recovery_norm("123456", norm), -1);
	keys(&k, 1);
	keys(&k2, 2);
	totp_recovery_hash(&k, "alice", "abcdefgh27", h1);
	assert_int_equal(strlen(h1), TOTP_HASH_HEX);
	totp_recovery_hash(&k, "bob", "abcdefgh27", h2);
	assert_string_not_equal(h1, h2);
	totp_recovery_hash(&k2, "alice", "abcdefgh27", h2);
	assert_string_not_equal(h1, h2);
	totp_recovery_hash(&k, "alice", "abcdefgh27", h2);
	assert_string_equal(h1, h2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hotp_vectors),
		cmocka_unit_test(test_totp_vectors),
		cmocka_unit_test(test_verify_window_and_replay),
		cmocka_unit_test(test_code_syntax),
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_recovery),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
