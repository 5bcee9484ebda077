/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the ticket codec.
 *
 * Each input is used twice:
 *  1. as ticket text, the way it arrives in a CONNECT host or a Basic
 *     password, decoded with a fixed in-memory keyring;
 *  2. as a ticket body, signed here with the ring's key, so that the checks
 *     the decoder makes after the signature (which a fuzzer could never
 *     forge its way to) see arbitrary bytes too.
 * A ticket that decodes must encode again to the same canonical text, and
 * decode again to the same fields.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "encode.h"
#include "keyring.h"
#include "ticket.h"
#include "fuzz.h"

/* The seeds in tests/fuzz/corpus/ticket were made with these. */
#define FUZZ_NOW	((time_t)1700000000)
#define BODY_MAX	256

static struct keyring	ring;

static void
ring_init(void)
{
	size_t	i;

	if (ring.nkeys != 0)
		return;
	ring.keys[0].id = 1;
	ring.keys[1].id = 2;
	ring.keys[2].id = 200;
	for (i = 0; i < TICKET_KEY_LEN; i++) {
		ring.keys[0].secret[i] = (uint8_t)(i * 7 + 3);
		ring.keys[1].secret[i] = (uint8_t)(0x55 ^ i);
		ring.keys[2].secret[i] = (uint8_t)(0xff - i);
	}
	ring.nkeys = 3;
}

/* The canonical form of ticket text: lower case, no prefix, no dots. */
static size_t
canonical(const char *text, size_t len, char *out, size_t outsize)
{
	size_t	i, o = 0;

	for (i = strlen(TICKET_PREFIX); i < len; i++) {
		if (text[i] == '.')
			continue;
		CHECK(o + 1 < outsize);
		out[o++] = (char)tolower((unsigned char)text[i]);
	}
	out[o] = '\0';
	return o;
}

/* A decoded ticket encodes again to the same text and the same fields. */
static void
round_trip(const char *text, size_t len, const struct ticket *t)
{
	const struct ticket_key	*key;
	struct ticket		 copy, back;
	char			 again[TICKET_TEXT_MAX];
	char			 a[TICKET_TEXT_MAX * 2], b[TICKET_TEXT_MAX];
	struct sockaddr_storage	 ss;
	size_t			 i;
	int			 n;

	CHECK(t->nports >= 1 && t->nports <= TICKET_PORTS_MAX);
	CHECK(t->af == AF_INET || t->af == AF_INET6);
	CHECK(t->expiry > FUZZ_NOW);
	CHECK(ticket_valid_user(t->user));
	CHECK((key = keyring_find(&ring, t->key_id)) != NULL);

	copy = *t;
	n = ticket_encode(&copy, key, again, sizeof again);
	CHECK(n > 0 && (size_t)n < 253);
	CHECK(copy.ticket_id == t->ticket_id);
	/* Case and label dots aside, one ticket has one text. */
	canonical(text, len, a, sizeof a);
	canonical(again, (size_t)n, b, sizeof b);
	CHECK(strcmp(a, b) == 0);

	CHECK(ticket_decode(again, (size_t)n, &ring, FUZZ_NOW, &back) ==
	    TICKET_OK);
	CHECK(back.version == t->version && back.key_id == t->key_id);
	CHECK(back.expiry == t->expiry && back.session_id == t->session_id);
	CHECK(back.ticket_id == t->ticket_id && back.af == t->af);
	CHECK(memcmp(back.addr, t->addr, sizeof back.addr) == 0);
	CHECK(back.nports == t->nports);
	CHECK(memcmp(back.ports, t->ports, sizeof back.ports) == 0);
	CHECK(strcmp(back.user, t->user) == 0);

	/* The ticket opens its own ports to its own address, and no other. */
	for (i = 0; i < t->nports; i++) {
		CHECK(ticket_allows_port(t, t->ports[i]));
		CHECK(ticket_upstream(t, t->ports[i], &ss) ==
		    (t->af == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6)));
		CHECK(ss.ss_family == t->af);
	}
	CHECK(!ticket_allows_port(t, 0));
}

static void
check_status(int rc)
{
	CHECK(rc == TICKET_OK || rc == TICKET_MALFORMED ||
	    rc == TICKET_BAD_VERSION || rc == TICKET_UNKNOWN_KEY ||
	    rc == TICKET_BAD_SIGNATURE || rc == TICKET_EXPIRED);
	CHECK(ticket_strerror(rc) != NULL);
}

/* 1: the input is ticket text. */
static void
fuzz_text(const uint8_t *data, size_t size)
{
	struct ticket	 t;
	char		*text;
	int		 rc;

	/* Exactly size bytes, no NUL after them: over-reads are caught. */
	if ((text = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(text, data, size);
	memset(&t, 0, sizeof t);
	rc = ticket_decode(text, size, &ring, FUZZ_NOW, &t);
	check_status(rc);
	if (rc == TICKET_OK)
		round_trip(text, size, &t);
	free(text);
}

/* 2: the input is a ticket body, signed with its key (or key 1). */
static void
fuzz_body(const uint8_t *data, size_t size)
{
	const struct ticket_key	*key;
	struct ticket		 t;
	uint8_t			 wire[BODY_MAX + TICKET_MAC_LEN];
	uint8_t			 md[EVP_MAX_MD_SIZE];
	char			 b32[BASE32_LEN(sizeof wire) + 1];
	char			 text[sizeof b32 + sizeof b32 / 50 + 8];
	unsigned int		 mdlen = 0;
	size_t			 i, o;
	int			 rc;

	if (size > BODY_MAX)
		return;
	key = size > 1 ? keyring_find(&ring, data[1]) : NULL;
	if (key == NULL)
		key = &ring.keys[0];
	memcpy(wire, data, size);
	if (HMAC(EVP_sha256(), key->secret, sizeof key->secret, data, size,
	    md, &mdlen) == NULL)
		abort();
	memcpy(wire + size, md, TICKET_MAC_LEN);
	CHECK(base32_encode(wire, size + TICKET_MAC_LEN, b32, sizeof b32) >= 0);
	/* Labels as the encoder makes them. */
	memcpy(text, TICKET_PREFIX, strlen(TICKET_PREFIX));
	o = strlen(TICKET_PREFIX);
	for (i = 0; b32[i] != '\0'; i++) {
		if (i > 0 && i % TICKET_LABEL_LEN == 0)
			text[o++] = '.';
		text[o++] = b32[i];
	}
	text[o] = '\0';

	memset(&t, 0, sizeof t);
	rc = ticket_decode(text, o, &ring, FUZZ_NOW, &t);
	check_status(rc);
	/* Signed with the right key: the signature is never the problem. */
	if (size > 1 && keyring_find(&ring, data[1]) != NULL &&
	    data[0] == TICKET_VERSION && o < TICKET_TEXT_MAX)
		CHECK(rc != TICKET_BAD_SIGNATURE);
	if (rc == TICKET_OK)
		round_trip(text, o, &t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ring_init();
	fuzz_text(data, size);
	fuzz_body(data, size);
	return 0;
}
