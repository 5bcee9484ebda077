/* SPDX-License-Identifier: ISC */
/* Unit tests for common/encode.c: base32 and hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "encode.h"

/* A deterministic byte pattern that uses every bit position. */
static void
fill(uint8_t *buf, size_t len, unsigned seed)
{
	size_t	i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 131 + i * 29 + (i >> 3) * 7);
}

/* RFC 4648 section 10, lower-case and without padding. */
static void
test_base32_vectors(void **state)
{
	static const struct {
		const char	*in, *out;
	} v[] = {
		{ "", "" },
		{ "f", "my" },
		{ "fo", "mzxq" },
		{ "foo", "mzxw6" },
		{ "foob", "mzxw6yq" },
		{ "fooba", "mzxw6ytb" },
		{ "foobar", "mzxw6ytboi" },
	};
	char	out[32];
	uint8_t	back[16];
	size_t	i;
	ssize_t	n;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		memset(out, 'X', sizeof out);
		n = base32_encode((const uint8_t *)v[i].in, strlen(v[i].in),
		    out, sizeof out);
		assert_int_equal(n, strlen(v[i].out));
		assert_string_equal(out, v[i].out);
		assert_int_equal(BASE32_LEN(strlen(v[i].in)), strlen(v[i].out));

		n = base32_decode(v[i].out, strlen(v[i].out), back,
		    sizeof back);
		assert_int_equal(n, strlen(v[i].in));
		assert_memory_equal(back, v[i].in, strlen(v[i].in));
	}
}

static void
test_base32_round_trip(void **state)
{
	uint8_t	in[40], back[40];
	char	text[BASE32_LEN(40) + 1];
	size_t	len, i;
	ssize_t	n;

	for (len = 0; len <= 40; len++) {
		fill(in, len, (unsigned)len);
		n = base32_encode(in, len, text, sizeof text);
		assert_int_equal(n, BASE32_LEN(len));
		assert_int_equal(strlen(text), (size_t)n);
		for (i = 0; i < (size_t)n; i++)
			assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz234567",
			    text[i]));

		memset(back, 0xee, sizeof back);
		n = base32_decode(text, strlen(text), back, len);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);
		/* Bytes past the output are untouched. */
		if (len < sizeof back)
			assert_int_equal(back[len], 0xee);
	}
}

static void
test_base32_upper_case(void **state)
{
	uint8_t	back[8];

	assert_int_equal(base32_decode("MZXW6YTBOI", 10, back, sizeof back), 6);
	assert_memory_equal(back, "foobar", 6);
	assert_int_equal(base32_decode("MzXw6YtBoI", 10, back, sizeof back), 6);
	assert_memory_equal(back, "foobar", 6);
}

static void
test_base32_encode_overflow(void **state)
{
	char	out[16];

	/* "foobar" needs 10 characters and a NUL. */
	assert_int_equal(base32_encode((const uint8_t *)"foobar", 6, out, 10),
	    -1);
	assert_int_equal(base32_encode((const uint8_t *)"foobar", 6, out, 11),
	    10);
	assert_int_equal(base32_encode((const uint8_t *)"", 0, out, 0), -1);
	assert_int_equal(base32_encode((const uint8_t *)"", 0, out, 1), 0);
	assert_string_equal(out, "");
}

static void
test_base32_decode_bad_length(void **state)
{
	uint8_t	back[16];
	size_t	len;

	/* 1, 3 and 6 characters mod 8 cannot come from whole bytes. */
	for (len = 1; len <= 16; len++) {
		ssize_t	n = base32_decode("aaaaaaaaaaaaaaaa", len, back,
		    sizeof back);

		switch (len % 8) {
		case 1:
		case 3:
		case 6:
			assert_int_equal(n, -1);
			break;
		default:
			assert_int_equal(n, len * 5 / 8);
			break;
		}
	}
}

static void
test_base32_decode_bad_chars(void **state)
{
	/* Each is 8 characters long, a valid length, with one bad one. */
	static const char	*bad[] = {
		"mzxw6yt0", "mzxw6yt1", "mzxw6yt8", "mzxw6yt9", "mzxw6yt=",
		"mzxw6yt ", "mzxw6yt.", "mzxw6yt-", "mzxw6yt\xc3", "mzx\0w6yt",
		"=zxw6ytb", "mzxw6yt\n", "mzxw6yt@", "mzxw6yt[", "mzxw6yt{",
	};
	uint8_t	back[16];
	size_t	i;

	assert_int_equal(base32_decode("mzxw6ytb", 8, back, sizeof back), 5);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(base32_decode(bad[i], 8, back, sizeof back),
		    -1);
	/* The padded form of RFC 4648 is not accepted either. */
	assert_int_equal(base32_decode("my======", 8, back, sizeof back), -1);
}

static void
test_base32_decode_trailing_bits(void **state)
{
	uint8_t	back[8];

	/* "f" is "my": 'y' leaves two zero bits; "mz" sets one of them. */
	assert_int_equal(base32_decode("my", 2, back, sizeof back), 1);
	assert_int_equal(base32_decode("mz", 2, back, sizeof back), -1);
	assert_int_equal(base32_decode("m7", 2, back, sizeof back), -1);
	/* "fo" is "mzxq": 'q' leaves four zero bits. */
	assert_int_equal(base32_decode("mzxq", 4, back, sizeof back), 2);
	assert_int_equal(base32_decode("mzxr", 4, back, sizeof back), -1);
	/* "foo" is "mzxw6": one trailing bit. */
	assert_int_equal(base32_decode("mzxw6", 5, back, sizeof back), 3);
	assert_int_equal(base32_decode("mzxw7", 5, back, sizeof back), -1);
	/* "foob" is "mzxw6yq": three trailing bits. */
	assert_int_equal(base32_decode("mzxw6yq", 7, back, sizeof back), 4);
	assert_int_equal(base32_decode("mzxw6yr", 7, back, sizeof back), -1);
	assert_int_equal(base32_decode("mzxw6yu", 7, back, sizeof back), -1);
}

static void
test_base32_decode_overflow(void **state)
{
	uint8_t	back[8];

	memset(back, 0xee, sizeof back);
	assert_int_equal(base32_decode("mzxw6ytboi", 10, back, 5), -1);
	/* Nothing is written past the given size. */
	assert_int_equal(back[5], 0xee);
	assert_int_equal(base32_decode("mzxw6ytboi", 10, back, 6), 6);
	assert_int_equal(base32_decode("my", 2, back, 0), -1);
	assert_int_equal(base32_decode("", 0, back, 0), 0);
}

static void
test_hex_round_trip(void **state)
{
	uint8_t	in[40] = { 0 }, back[40];
	char	text[81], upper[81];
	size_t	len, i;
	ssize_t	n;

	for (len = 0; len <= 40; len++) {
		fill(in, len, (unsigned)len + 7);
		n = hex_encode(in, len, text, sizeof text);
		assert_int_equal(n, 2 * len);
		assert_int_equal(strlen(text), 2 * len);
		for (i = 0; i < 2 * len; i++) {
			assert_non_null(strchr("0123456789abcdef", text[i]));
			upper[i] = (char)(text[i] >= 'a' ? text[i] - 32 :
			    text[i]);
		}
		upper[2 * len] = '\0';

		memset(back, 0, sizeof back);
		assert_int_equal(hex_decode(text, 2 * len, back, len), len);
		assert_memory_equal(back, in, len);
		memset(back, 0, sizeof back);
		assert_int_equal(hex_decode(upper, 2 * len, back, len), len);
		assert_memory_equal(back, in, len);
	}
}

static void
test_hex_vectors(void **state)
{
	char	out[16];
	uint8_t	back[8];

	assert_int_equal(hex_encode((const uint8_t *)"\x00\x01\xab\xff", 4,
	    out, sizeof out), 8);
	assert_string_equal(out, "0001abff");
	assert_int_equal(hex_decode("0001AbFf", 8, back, sizeof back), 4);
	assert_memory_equal(back, "\x00\x01\xab\xff", 4);
	/* RFC 4648 section 10, base16. */
	assert_int_equal(hex_encode((const uint8_t *)"foobar", 6, out,
	    sizeof out), 12);
	assert_string_equal(out, "666f6f626172");
}

static void
test_hex_bad(void **state)
{
	uint8_t	back[8];
	char	out[8];

	assert_int_equal(hex_decode("abc", 3, back, sizeof back), -1);
	assert_int_equal(hex_decode("0g", 2, back, sizeof back), -1);
	assert_int_equal(hex_decode("g0", 2, back, sizeof back), -1);
	assert_int_equal(hex_decode(" 0", 2, back, sizeof back), -1);
	assert_int_equal(hex_decode("0x", 2, back, sizeof back), -1);
	assert_int_equal(hex_decode("-1", 2, back, sizeof back), -1);
	assert_int_equal(hex_decode("0\0", 2, back, sizeof back), -1);
	/* Output overflow. */
	memset(back, 0xee, sizeof back);
	assert_int_equal(hex_decode("00112233", 8, back, 3), -1);
	assert_int_equal(back[0], 0xee);
	assert_int_equal(hex_decode("00112233", 8, back, 4), 4);
	/* Encoder: two characters per byte and a NUL. */
	assert_int_equal(hex_encode((const uint8_t *)"ab", 2, out, 4), -1);
	assert_int_equal(hex_encode((const uint8_t *)"ab", 2, out, 5), 4);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_base32_vectors),
		cmocka_unit_test(test_base32_round_trip),
		cmocka_unit_test(test_base32_upper_case),
		cmocka_unit_test(test_base32_encode_overflow),
		cmocka_unit_test(test_base32_decode_bad_length),
		cmocka_unit_test(test_base32_decode_bad_chars),
		cmocka_unit_test(test_base32_decode_trailing_bits),
		cmocka_unit_test(test_base32_decode_overflow),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_vectors),
		cmocka_unit_test(test_hex_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
