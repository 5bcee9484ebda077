/* SPDX-License-Identifier: ISC */
#include <string.h>

#include "encode.h"

static const char	base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

ssize_t
base32_encode(const uint8_t *in, size_t inlen, char *out, size_t outsize)
{
	size_t		i, o = 0;
	uint32_t	acc = 0;
	int		bits = 0;

	if (outsize < BASE32_LEN(inlen) + 1)
		return -1;
	for (i = 0; i < inlen; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = base32_alphabet[(acc >> bits) & 0x1f];
		}
	}
	if (bits > 0)
		out[o++] = base32_alphabet[(acc << (5 - bits)) & 0x1f];
	out[o] = '\0';
	return (ssize_t)o;
}

static int
base32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

ssize_t
base32_decode(const char *in, size_t inlen, uint8_t *out, size_t outsize)
{
	size_t		i, o = 0;
	uint32_t	acc = 0;
	int		bits = 0, v;

	/* Lengths 1, 3 and 6 mod 8 cannot come from whole bytes. */
	switch (inlen % 8) {
	case 1:
	case 3:
	case 6:
		return -1;
	}
	for (i = 0; i < inlen; i++) {
		if ((v = base32_value(in[i])) < 0)
			return -1;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsize)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero, so each byte string has one encoding. */
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (ssize_t)o;
}

ssize_t
hex_encode(const uint8_t *in, size_t inlen, char *out, size_t outsize)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	if (outsize < inlen * 2 + 1)
		return -1;
	for (i = 0; i < inlen; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * inlen] = '\0';
	return (ssize_t)(2 * inlen);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t
hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outsize)
{
	size_t	i;
	int	hi, lo;

	if (inlen % 2 != 0 || inlen / 2 > outsize)
		return -1;
	for (i = 0; i < inlen / 2; i++) {
		if ((hi = hex_value(in[2 * i])) < 0 ||
		    (lo = hex_value(in[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (ssize_t)(inlen / 2);
}
