/* SPDX-License-Identifier: ISC */
/* Unit tests for common/ticket.c: the gateway ticket codec. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "encode.h"
#include "keyring.h"
#include "ticket.h"
#include "test-ticket.h"

/* Longest wire form: see the format in ticket.h. */
#define WIRE_MAX	(1 + 1 + 4 + 8 + 1 + 16 + 1 + 2 * TICKET_PORTS_MAX + \
			    1 + TICKET_USER_MAX + TICKET_MAC_LEN)

static const char	user32[] = "abcdefghijklmnopqrstuvwxyz.0123@";


/* A ring with key 1, key 2 or both, built in memory. */
void
ring_init(struct keyring *ring, int with1, int with2)
{
	size_t	i;

	memset(ring, 0, sizeof *ring);
	if (with1) {
		ring->keys[ring->nkeys].id = 1;
		for (i = 0; i < TICKET_KEY_LEN; i++)
			ring->keys[ring->nkeys].secret[i] = (uint8_t)(i * 3 + 1);
		ring->nkeys++;
	}
	if (with2) {
		ring->keys[ring->nkeys].id = 2;
		for (i = 0; i < TICKET_KEY_LEN; i++)
			ring->keys[ring->nkeys].secret[i] = (uint8_t)(0xa0 + i);
		ring->nkeys++;
	}
}

void
ticket_init(struct ticket *t, int af, size_t nports, const char *user)
{
	size_t	i;

	memset(t, 0, sizeof *t);
	t->af = af;
	if (af == AF_INET)
		assert_int_equal(inet_pton(AF_INET, "192.0.2.10", t->addr), 1);
	else
		assert_int_equal(inet_pton(AF_INET6, "2001:db8::abcd:10",
		    t->addr), 1);
	t->expiry = LATER;
	t->session_id = 0x0123456789abcdefULL;
	t->nports = nports;
	for (i = 0; i < nports; i++)
		t->ports[i] = (uint16_t)(5900 + 7 * i);
	fmt(t->user, sizeof t->user, "%s", user);
}

static void
assert_same_ticket(const struct ticket *a, const struct ticket *b)
{
	size_t	i;

	assert_int_equal(a->version, b->version);
	assert_int_equal(a->key_id, b->key_id);
	assert_int_equal(a->expiry, b->expiry);
	assert_int_equal(a->session_id, b->session_id);
	assert_int_equal(a->ticket_id, b->ticket_id);
	assert_int_equal(a->af, b->af);
	assert_memory_equal(a->addr, b->addr, a->af == AF_INET ? 4 : 16);
	assert_int_equal(a->nports, b->nports);
	for (i = 0; i < a->nports; i++)
		assert_int_equal(a->ports[i], b->ports[i]);
	assert_string_equal(a->user, b->user);
}

/* Encodes t with the ring's key id; returns the text length. */
int
encode(struct ticket *t, const struct keyring *ring, uint8_t id,
    char *out, size_t outsize)
{
	const struct ticket_key	*key = keyring_find(ring, id);
	int			 n;

	assert_non_null(key);
	n = ticket_encode(t, key, out, outsize);
	assert_true(n > 0);
	assert_int_equal(strlen(out), (size_t)n);
	return n;
}

int
decode(const char *text, const struct keyring *ring, struct ticket *t)
{
	return ticket_decode(text, strlen(text), ring, NOW, t);
}

/* Text form to wire form (MAC included); returns its length. */
static size_t
to_wire(const char *text, uint8_t *wire)
{
	char	b32[TICKET_TEXT_MAX];
	size_t	i, o = 0;
	ssize_t	n;

	assert_memory_equal(text, TICKET_PREFIX, 3);
	for (i = 3; text[i] != '\0'; i++) {
		if (text[i] != '.')
			b32[o++] = text[i];
	}
	n = base32_decode(b32, o, wire, WIRE_MAX);
	assert_true(n > 0);
	return (size_t)n;
}

/* Wire form to text form, labelled as the encoder does. */
static void
to_text(const uint8_t *wire, size_t len, char *text, size_t textsize)
{
	char	b32[BASE32_LEN(WIRE_MAX + 8) + 1];
	size_t	i, o;

	assert_true(base32_encode(wire, len, b32, sizeof b32) >= 0);
	memcpy(text, TICKET_PREFIX, 3);
	for (i = 0, o = 3; b32[i] != '\0'; i++) {
		if (i > 0 && i % TICKET_LABEL_LEN == 0)
			text[o++] = '.';
		text[o++] = b32[i];
		assert_true(o < textsize);
	}
	text[o] = '\0';
}

/*
 * Signs a hand-made body (everything before the MAC) the way ticket.h
 * describes, so that the decoder's checks after the signature can be reached.
 */
static void
sign(const struct ticket_key *key, const uint8_t *body, size_t len,
    char *text, size_t textsize)
{
	uint8_t		wire[WIRE_MAX + 64], md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	assert_true(len + TICKET_MAC_LEN <= sizeof wire);
	memcpy(wire, body, len);
	assert_non_null(HMAC(EVP_sha256(), key->secret, sizeof key->secret,
	    body, len, md, &mdlen));
	assert_int_equal(mdlen, 32);
	memcpy(wire + len, md, TICKET_MAC_LEN);
	to_text(wire, len + TICKET_MAC_LEN, text, textsize);
}

/* Builds a version 1 body by hand: IPv4 10.0.0.1, given ports and user. */
static size_t
body_v4(uint8_t *b, uint8_t key_id, uint32_t expiry, const uint16_t *ports,
    size_t nports, const char *user)
{
	size_t	n = 0, i;

	b[n++] = 1;
	b[n++] = key_id;
	b[n++] = (uint8_t)(expiry >> 24);
	b[n++] = (uint8_t)(expiry >> 16);
	b[n++] = (uint8_t)(expiry >> 8);
	b[n++] = (uint8_t)expiry;
	for (i = 0; i < 8; i++)
		b[n++] = (uint8_t)(0x10 + i);
	b[n++] = 4;
	b[n++] = 10;
	b[n++] = 0;
	b[n++] = 0;
	b[n++] = 1;
	b[n++] = (uint8_t)nports;
	for (i = 0; i < nports; i++) {
		b[n++] = (uint8_t)(ports[i] >> 8);
		b[n++] = (uint8_t)ports[i];
	}
	b[n++] = (uint8_t)strlen(user);
	memcpy(b + n, user, strlen(user));
	return n + strlen(user);
}

static void
test_round_trip(void **state)
{
	static const int	 afs[] = { AF_INET, AF_INET6 };
	const char		*users[] = { "u", user32, "first.last@example.org",
	    "A-b+c_d" };
	struct keyring		 ring;
	struct ticket		 t, d;
	char			 text[TICKET_TEXT_MAX];
	size_t			 a, np, u;
	int			 n, rc;

	ring_init(&ring, 1, 1);
	for (a = 0; a < 2; a++) {
		for (np = 1; np <= TICKET_PORTS_MAX; np++) {
			for (u = 0; u < sizeof users / sizeof users[0]; u++) {
				ticket_init(&t, afs[a], np, users[u]);
				n = encode(&t, &ring, 2, text, sizeof text);
				assert_int_equal(t.version, TICKET_VERSION);
				assert_int_equal(t.key_id, 2);
				memset(&d, 0xaa, sizeof d);
				rc = decode(text, &ring, &d);
				if (rc != TICKET_OK)
					fail_msg("%s: %s", text,
					    ticket_strerror(rc));
				assert_same_ticket(&t, &d);
				/* The length given is what counts, not a NUL. */
				text[n] = 'x';
				assert_int_equal(ticket_decode(text, (size_t)n,
				    &ring, NOW, &d), TICKET_OK);
			}
		}
	}
	/* Key 1 too. */
	ticket_init(&t, AF_INET, 1, "u");
	encode(&t, &ring, 1, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_OK);
	assert_int_equal(d.key_id, 1);
}

/* The hand-made wire format of ticket.h decodes to what it says. */
static void
test_wire_format(void **state)
{
	static const uint16_t	 ports[] = { 5901, 443 };
	struct keyring		 ring;
	struct ticket		 d, t;
	uint8_t			 body[WIRE_MAX];
	char			 text[TICKET_TEXT_MAX], again[TICKET_TEXT_MAX];
	size_t			 n;

	ring_init(&ring, 1, 1);
	n = body_v4(body, 2, (uint32_t)LATER, ports, 2, "alice");
	sign(&ring.keys[1], body, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_OK);
	assert_int_equal(d.version, 1);
	assert_int_equal(d.key_id, 2);
	assert_int_equal(d.expiry, LATER);
	assert_int_equal(d.session_id, 0x1011121314151617ULL);
	assert_int_equal(d.af, AF_INET);
	assert_memory_equal(d.addr, "\x0a\x00\x00\x01", 4);
	assert_int_equal(d.nports, 2);
	assert_int_equal(d.ports[0], 5901);
	assert_int_equal(d.ports[1], 443);
	assert_string_equal(d.user, "alice");

	/* The encoder produces exactly that text. */
	t = d;
	assert_int_equal(ticket_encode(&t, &ring.keys[1], again, sizeof again),
	    (int)strlen(text));
	assert_string_equal(again, text);
	assert_int_equal(t.ticket_id, d.ticket_id);
}

static void
test_text_shape(void **state)
{
	static const int	 afs[] = { AF_INET, AF_INET6 };
	struct keyring		 ring;
	struct ticket		 t;
	char			 text[TICKET_TEXT_MAX];
	size_t			 a, np, u, i, label;
	const char		*users[] = { "u", user32 };
	int			 n;

	ring_init(&ring, 1, 1);
	for (a = 0; a < 2; a++) {
		for (np = 1; np <= TICKET_PORTS_MAX; np++) {
			for (u = 0; u < 2; u++) {
				ticket_init(&t, afs[a], np, users[u]);
				n = encode(&t, &ring, 1, text, sizeof text);
				assert_true(n < 253);
				assert_true(n < TICKET_TEXT_MAX);
				assert_memory_equal(text, "pk.", 3);
				assert_true(ticket_is_candidate(text,
				    (size_t)n));
				assert_true(text[n - 1] != '.');
				for (i = 3, label = 0; i < (size_t)n; i++) {
					if (text[i] == '.') {
						assert_true(label > 0);
						label = 0;
						continue;
					}
					label++;
					assert_true(label <= TICKET_LABEL_LEN);
					assert_true(label <= 63);
					if (strchr("abcdefghijklmnopqrstuvwxyz"
					    "234567", text[i]) == NULL)
						fail_msg("'%c' in %s", text[i],
						    text);
				}
			}
		}
	}
	/* The longest ticket needs more than one label. */
	ticket_init(&t, AF_INET6, TICKET_PORTS_MAX, user32);
	assert_true(encode(&t, &ring, 1, text, sizeof text) > 3 + 63);
	assert_non_null(strchr(text + 3, '.'));
}

static void
test_upper_case(void **state)
{
	struct keyring	ring;
	struct ticket	t, d;
	char		text[TICKET_TEXT_MAX];
	size_t		i;

	ring_init(&ring, 1, 1);
	ticket_init(&t, AF_INET6, 3, user32);
	encode(&t, &ring, 2, text, sizeof text);
	for (i = 0; text[i] != '\0'; i++)
		text[i] = (char)toupper((unsigned char)text[i]);
	assert_memory_equal(text, "PK.", 3);
	assert_int_equal(decode(text, &ring, &d), TICKET_OK);
	assert_same_ticket(&t, &d);
	/* Mixed case too. */
	for (i = 0; text[i] != '\0'; i += 2)
		text[i] = (char)tolower((unsigned char)text[i]);
	assert_int_equal(decode(text, &ring, &d), TICKET_OK);
	assert_same_ticket(&t, &d);
}

/* Every bit of the wire form flipped, then encoded again as text. */
static void
test_tampered_wire(void **state)
{
	struct keyring	ring;
	struct ticket	t, d;
	char		text[TICKET_TEXT_MAX], bad[TICKET_TEXT_MAX];
	uint8_t		wire[WIRE_MAX], w[WIRE_MAX];
	size_t		len, i, bit;
	int		rc;

	ring_init(&ring, 1, 1);
	ticket_init(&t, AF_INET, 2, "bob");
	encode(&t, &ring, 1, text, sizeof text);
	len = to_wire(text, wire);
	/* Check the helpers first: no change, no failure. */
	to_text(wire, len, bad, sizeof bad);
	assert_string_equal(bad, text);

	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(w, wire, len);
			w[i] ^= (uint8_t)(1 << bit);
			to_text(w, len, bad, sizeof bad);
			rc = decode(bad, &ring, &d);
			if (i == 0)		/* the version */
				assert_int_equal(rc, TICKET_BAD_VERSION);
			else if (i == 1)	/* the key id: 1 becomes 3, 0, 5... */
				assert_int_equal(rc, TICKET_UNKNOWN_KEY);
			else if (rc != TICKET_BAD_SIGNATURE)
				fail_msg("byte %zu bit %zu: %s", i, bit,
				    ticket_strerror(rc));
		}
	}
	/* Key id 1 turned into 2, a key the ring holds: the MAC fails. */
	memcpy(w, wire, len);
	w[1] = 2;
	to_text(w, len, bad, sizeof bad);
	assert_int_equal(decode(bad, &ring, &d), TICKET_BAD_SIGNATURE);

	/* Shorter and longer wire forms. */
	for (i = 0; i < len; i++) {
		to_text(wire, i, bad, sizeof bad);
		assert_true(decode(bad, &ring, &d) != TICKET_OK);
	}
	memcpy(w, wire, len);
	w[len] = 0;
	to_text(w, len + 1, bad, sizeof bad);
	assert_int_equal(decode(bad, &ring, &d), TICKET_BAD_SIGNATURE);
}

/* Every character of the text replaced. */
static void
test_tampered_text(void **state)
{
	static const char	 alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	static const char	 odd[] = "019=-_./ \t\r\n+:@A";
	struct keyring		 ring;
	struct ticket		 t, d;
	char			 text[TICKET_TEXT_MAX], bad[TICKET_TEXT_MAX];
	const char		*p;
	size_t			 i, j, len;
	int			 rc;

	ring_init(&ring, 1, 1);
	ticket_init(&t, AF_INET6, 4, user32);
	len = (size_t)encode(&t, &ring, 2, text, sizeof text);
	for (i = 0; i < len; i++) {
		/* Every other base32 letter. */
		for (j = 0; j < 32; j++) {
			if (alphabet[j] == tolower((unsigned char)text[i]))
				continue;
			memcpy(bad, text, len + 1);
			bad[i] = alphabet[j];
			rc = decode(bad, &ring, &d);
			if (rc == TICKET_OK)
				fail_msg("accepted %s", bad);
		}
		/* Characters outside base32. */
		for (p = odd; *p != '\0'; p++) {
			if (*p == text[i] || toupper((unsigned char)text[i]) ==
			    *p)
				continue;
			memcpy(bad, text, len + 1);
			bad[i] = *p;
			rc = decode(bad, &ring, &d);
			if (rc == TICKET_OK)
				fail_msg("accepted %s", bad);
		}
		/* A NUL inside the given length. */
		memcpy(bad, text, len + 1);
		bad[i] = '\0';
		assert_true(ticket_decode(bad, len, &ring, NOW, &d) !=
		    TICKET_OK);
	}
	/* Every proper prefix, and trailing additions. */
	for (i = 0; i < len; i++)
		assert_true(ticket_decode(text, i, &ring, NOW, &d) !=
		    TICKET_OK);
	fmt(bad, sizeof bad, "%s.", text);
	assert_int_equal(decode(bad, &ring, &d), TICKET_MALFORMED);
	fmt(bad, sizeof bad, "%sa", text);
	assert_true(decode(bad, &ring, &d) != TICKET_OK);
	fmt(bad, sizeof bad, "%saaaaaaaa", text);
	assert_true(decode(bad, &ring, &d) != TICKET_OK);
}

/* Signed with a good key, yet malformed: parsed as strictly as the rest. */
static void
test_signed_malformed(void **state)
{
	static const uint16_t	 p1[] = { 5900 }, p0[] = { 0 };
	static const uint16_t	 p5[] = { 1, 2, 3, 4, 5 };
	struct keyring		 ring;
	struct ticket		 d;
	uint8_t			 b[WIRE_MAX + 8];
	char			 text[TICKET_TEXT_MAX];
	size_t			 n;

	ring_init(&ring, 1, 0);
	/* The baseline is fine. */
	n = body_v4(b, 1, (uint32_t)LATER, p1, 1, "u");
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_OK);

	/* Unknown family. */
	b[14] = 5;
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);
	/* An IPv6 family with an IPv4-sized body. */
	b[14] = 6;
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);

	/* No ports, too many ports, port 0. */
	n = body_v4(b, 1, (uint32_t)LATER, p1, 0, "u");
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);
	n = body_v4(b, 1, (uint32_t)LATER, p5, 5, "u");
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);
	n = body_v4(b, 1, (uint32_t)LATER, p0, 1, "u");
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);

	/* Bad users: not allowed characters, too long. */
	n = body_v4(b, 1, (uint32_t)LATER, p1, 1, "a:b");
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);
	n = body_v4(b, 1, (uint32_t)LATER, p1, 1, "a b");
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);
	n = body_v4(b, 1, (uint32_t)LATER, p1, 1, "a\001");
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);
	n = body_v4(b, 1, (uint32_t)LATER, p1, 1, "abcdefghijklmnopqrstuvwxyz0123456");
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);

	/* User length that disagrees with the body: short, long, zero. */
	n = body_v4(b, 1, (uint32_t)LATER, p1, 1, "abc");
	b[n - 4] = 2;
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);
	b[n - 4] = 4;
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);
	b[n - 4] = 0;
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);

	/* Trailing garbage after the user, and a cut-off body. */
	n = body_v4(b, 1, (uint32_t)LATER, p1, 1, "abc");
	b[n] = 'x';
	sign(&ring.keys[0], b, n + 1, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);
	sign(&ring.keys[0], b, n - 1, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);

	/* Another version, even correctly signed. */
	n = body_v4(b, 1, (uint32_t)LATER, p1, 1, "u");
	b[0] = 2;
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_BAD_VERSION);
	b[0] = 0;
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_BAD_VERSION);
}

/*
 * A user with a NUL inside ("a\0c", length 3) once passed, because
 * ticket_valid_user() looks only at the bytes before the NUL, and decoded as
 * user "a". The encoder never makes that wire form: it is malformed (and one
 * ticket has one encoding).
 */
static void
test_signed_user_nul(void **state)
{
	static const uint16_t	 p1[] = { 5900 };
	struct keyring		 ring;
	struct ticket		 d;
	uint8_t			 b[WIRE_MAX];
	char			 text[TICKET_TEXT_MAX];
	size_t			 n;

	ring_init(&ring, 1, 0);
	n = body_v4(b, 1, (uint32_t)LATER, p1, 1, "abc");
	b[n - 2] = '\0';
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);
	/* At the end as well. */
	n = body_v4(b, 1, (uint32_t)LATER, p1, 1, "abc");
	b[n - 1] = '\0';
	sign(&ring.keys[0], b, n, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_MALFORMED);
}

static void
test_encode_refuses(void **state)
{
	static const char	*bad_users[] = {
		"", "abcdefghijklmnopqrstuvwxyz0123456", "a b", "a:b", " a",
		"a\n", "a/b", "a\\b", "\xc3\xa9", "a\tb", "a%b", "a#b",
	};
	struct keyring	ring;
	struct ticket	t;
	char		text[TICKET_TEXT_MAX];
	size_t		i;
	int		n;

	ring_init(&ring, 1, 0);
	for (i = 0; i < sizeof bad_users / sizeof bad_users[0]; i++) {
		if (ticket_valid_user(bad_users[i]))
			fail_msg("ticket_valid_user took \"%s\"", bad_users[i]);
		/* 33 characters do not fit the field: see test_user_33. */
		if (strlen(bad_users[i]) > TICKET_USER_MAX)
			continue;
		ticket_init(&t, AF_INET, 1, "u");
		fmt(t.user, sizeof t.user, "%s", bad_users[i]);
		if (ticket_encode(&t, &ring.keys[0], text, sizeof text) != -1)
			fail_msg("ticket_encode took user \"%s\"",
			    bad_users[i]);
	}
	assert_true(ticket_valid_user("u"));
	assert_true(ticket_valid_user(user32));
	assert_true(ticket_valid_user("first.last@example.org"));
	assert_true(ticket_valid_user("A-b+c_d"));

	ticket_init(&t, AF_INET, 1, "u");
	t.nports = 0;
	assert_int_equal(ticket_encode(&t, &ring.keys[0], text, sizeof text),
	    -1);
	t.nports = TICKET_PORTS_MAX + 1;
	assert_int_equal(ticket_encode(&t, &ring.keys[0], text, sizeof text),
	    -1);
	ticket_init(&t, AF_INET, 2, "u");
	t.ports[1] = 0;
	assert_int_equal(ticket_encode(&t, &ring.keys[0], text, sizeof text),
	    -1);
	ticket_init(&t, AF_INET, 1, "u");
	t.af = AF_UNIX;
	assert_int_equal(ticket_encode(&t, &ring.keys[0], text, sizeof text),
	    -1);
	ticket_init(&t, AF_INET, 1, "u");
	t.expiry = -1;
	assert_int_equal(ticket_encode(&t, &ring.keys[0], text, sizeof text),
	    -1);
	t.expiry = (time_t)UINT32_MAX + 1;
	assert_int_equal(ticket_encode(&t, &ring.keys[0], text, sizeof text),
	    -1);

	/* The output buffer: one byte short, then just enough. */
	ticket_init(&t, AF_INET, 1, "u");
	n = ticket_encode(&t, &ring.keys[0], text, sizeof text);
	assert_true(n > 0);
	assert_int_equal(ticket_encode(&t, &ring.keys[0], text, (size_t)n),
	    -1);
	assert_int_equal(ticket_encode(&t, &ring.keys[0], text, 0), -1);
	assert_int_equal(ticket_encode(&t, &ring.keys[0], text, (size_t)n + 1),
	    n);
}

/*
 * struct ticket holds at most 32 characters and a NUL, so a 33-character
 * user reaches ticket_encode only through ticket_valid_user; the decoder
 * sees it on the wire (test_signed_malformed).
 */
static void
test_user_33(void **state)
{
	struct keyring	ring;
	struct ticket	t, d;
	char		text[TICKET_TEXT_MAX], u33[TICKET_USER_MAX + 2];

	memset(u33, 'a', TICKET_USER_MAX + 1);
	u33[TICKET_USER_MAX + 1] = '\0';
	assert_false(ticket_valid_user(u33));
	u33[TICKET_USER_MAX] = '\0';
	assert_true(ticket_valid_user(u33));

	ring_init(&ring, 1, 0);
	ticket_init(&t, AF_INET, 1, u33);
	assert_int_equal(strlen(t.user), TICKET_USER_MAX);
	assert_true(ticket_encode(&t, &ring.keys[0], text, sizeof text) > 0);
	assert_int_equal(decode(text, &ring, &d), TICKET_OK);
	assert_string_equal(d.user, u33);
}

static void
test_decode_garbage(void **state)
{
	static const struct {
		const char	*text;
		int		 want;
	} bad[] = {
		{ "", TICKET_MALFORMED },
		{ "p", TICKET_MALFORMED },
		{ "pk", TICKET_MALFORMED },
		{ "pk.", TICKET_MALFORMED },
		{ "pk..", TICKET_MALFORMED },
		{ "pk..abc", TICKET_MALFORMED },
		{ "pk.abc.", TICKET_MALFORMED },
		{ "pk.abc..def", TICKET_MALFORMED },
		{ ".pk.abc", TICKET_MALFORMED },
		{ "pkabcdefgh", TICKET_MALFORMED },
		{ "px.aaaaaaaa", TICKET_MALFORMED },
		{ "pk:aaaaaaaa", TICKET_MALFORMED },
		{ "pk.0000000000", TICKET_MALFORMED },
		{ "pk.aaaa aaaa", TICKET_MALFORMED },
		{ "pk.aaaa-aaaa", TICKET_MALFORMED },
		{ "pk.aaaa_aaaa", TICKET_MALFORMED },
		{ "pk.aaaa=", TICKET_MALFORMED },
		{ "pk.aaaaaaa=", TICKET_MALFORMED },
		{ "host.example.org", TICKET_MALFORMED },
		{ "192.0.2.1", TICKET_MALFORMED },
		{ "pk.a", TICKET_MALFORMED },
		{ "pk.ae", TICKET_MALFORMED },
		/* Five bytes of version 1: too short. */
		{ "pk.aeaqcaib", TICKET_MALFORMED },
		{ "pk.\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", TICKET_MALFORMED },
		/* Version 0 bytes: the version is read first. */
		{ "pk.aaaaaaaa", TICKET_BAD_VERSION },
		{ "pk.aaaaaaaaaaaaaaaa", TICKET_BAD_VERSION },
	};
	struct keyring	ring;
	struct ticket	d;
	char		big[4096];
	size_t		i;
	int		rc;

	ring_init(&ring, 1, 1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&d, 0x5a, sizeof d);
		rc = decode(bad[i].text, &ring, &d);
		if (rc != bad[i].want)
			fail_msg("\"%s\": %s", bad[i].text,
			    ticket_strerror(rc));
	}

	/* Over-long input, in short labels and in one long one. */
	memcpy(big, "pk.", 3);
	for (i = 3; i < sizeof big - 1; i++)
		big[i] = i % 9 == 3 ? '.' : 'a';
	big[sizeof big - 1] = '\0';
	assert_int_equal(decode(big, &ring, &d), TICKET_MALFORMED);
	for (i = 3; i < sizeof big - 1; i++)
		big[i] = 'a';
	assert_int_equal(decode(big, &ring, &d), TICKET_MALFORMED);
	/* Length 0 over a non-empty buffer. */
	assert_int_equal(ticket_decode("pk.aaaa", 0, &ring, NOW, &d),
	    TICKET_MALFORMED);
}

static void
test_long_label(void **state)
{
	struct keyring	ring;
	struct ticket	t, d;
	char		text[TICKET_TEXT_MAX], flat[TICKET_TEXT_MAX];
	size_t		i, o;

	ring_init(&ring, 1, 0);
	ticket_init(&t, AF_INET6, 4, user32);
	encode(&t, &ring, 1, text, sizeof text);
	/* Without the dots the text is one label of more than 63. */
	for (i = 0, o = 0; text[i] != '\0'; i++) {
		if (i < 3 || text[i] != '.')
			flat[o++] = text[i];
	}
	flat[o] = '\0';
	assert_true(o - 3 > 63);
	assert_int_equal(decode(flat, &ring, &d), TICKET_MALFORMED);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wire_format),
		cmocka_unit_test(test_text_shape),
		cmocka_unit_test(test_upper_case),
		cmocka_unit_test(test_tampered_wire),
		cmocka_unit_test(test_tampered_text),
		cmocka_unit_test(test_signed_malformed),
		cmocka_unit_test(test_signed_user_nul),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_user_33),
		cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_long_label),
		cmocka_unit_test(test_ticket_id),
		cmocka_unit_test(test_allows_port),
		cmocka_unit_test(test_upstream),
		cmocka_unit_test(test_candidate_and_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
