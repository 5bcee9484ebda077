/* SPDX-License-Identifier: ISC */
/* Text encodings that survive a DNS-name context: lower-case base32 and hex. */
#ifndef PAPRIKA_ENCODE_H
#define PAPRIKA_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Length of the base32 text (no padding) for n bytes, without the NUL. */
#define BASE32_LEN(n)	(((n) * 8 + 4) / 5)

/* Lower-case RFC 4648 base32 without padding; returns the text length or -1. */
ssize_t	base32_encode(const uint8_t *in, size_t inlen, char *out, size_t outsize);
/* Decodes base32 in either case; returns the byte count or -1 on bad input. */
ssize_t	base32_decode(const char *in, size_t inlen, uint8_t *out, size_t outsize);

/* Lower-case hex; returns the text length or -1 if out is too small. */
ssize_t	hex_encode(const uint8_t *in, size_t inlen, char *out, size_t outsize);
/* Decodes hex in either case; returns the byte count or -1 on bad input. */
ssize_t	hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outsize);

#endif
