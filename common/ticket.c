/* SPDX-License-Identifier: ISC */
#include <sys/socket.h>
#include <netinet/in.h>

#include <ctype.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "encode.h"
#include "ticket.h"

/* version, key id, expiry, session id, family, IPv6, nports, ports, userlen, user, mac */
#define TICKET_WIRE_MAX	(1 + 1 + 4 + 8 + 1 + 16 + 1 + 2 * TICKET_PORTS_MAX + \
			    1 + TICKET_USER_MAX + TICKET_MAC_LEN)
/* The shortest: IPv4, one port, one-letter user. */
#define TICKET_WIRE_MIN	(1 + 1 + 4 + 8 + 1 + 4 + 1 + 2 + 1 + 1 + TICKET_MAC_LEN)

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void
ticket_mac(const struct ticket_key *key, const uint8_t *data, size_t len,
    uint8_t mac[TICKET_MAC_LEN])
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	HMAC(EVP_sha256(), key->secret, sizeof key->secret, data, len, md,
	    &mdlen);
	memcpy(mac, md, TICKET_MAC_LEN);
	OPENSSL_cleanse(md, sizeof md);
}

int
ticket_valid_user(const char *user)
{
	size_t	i, len = strlen(user);

	if (len == 0 || len > TICKET_USER_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)user[i]) &&
		    strchr("._@+-", user[i]) == NULL)
			return 0;
	}
	return 1;
}

int
ticket_encode(struct ticket *t, const struct ticket_key *key, char *out,
    size_t outsize)
{
	uint8_t	 wire[TICKET_WIRE_MAX];
	char	 b32[BASE32_LEN(TICKET_WIRE_MAX) + 1];
	size_t	 n = 0, i, alen, ulen, o, b32len;

	if (!ticket_valid_user(t->user) || t->nports == 0 ||
	    t->nports > TICKET_PORTS_MAX || t->expiry < 0 ||
	    (uint64_t)t->expiry > UINT32_MAX)
		return -1;
	if (t->af == AF_INET)
		alen = 4;
	else if (t->af == AF_INET6)
		alen = 16;
	else
		return -1;
	for (i = 0; i < t->nports; i++) {
		if (t->ports[i] == 0)
			return -1;
	}
	t->version = TICKET_VERSION;
	t->key_id = key->id;
	wire[n++] = TICKET_VERSION;
	wire[n++] = key->id;
	put_be(wire + n, (uint64_t)t->expiry, 4);
	n += 4;
	put_be(wire + n, t->session_id, 8);
	n += 8;
	wire[n++] = t->af == AF_INET ? 4 : 6;
	memcpy(wire + n, t->addr, alen);
	n += alen;
	wire[n++] = (uint8_t)t->nports;
	for (i = 0; i < t->nports; i++) {
		put_be(wire + n, t->ports[i], 2);
		n += 2;
	}
	ulen = strlen(t->user);
	wire[n++] = (uint8_t)ulen;
	memcpy(wire + n, t->user, ulen);
	n += ulen;
	ticket_mac(key, wire, n, wire + n);
	t->ticket_id = get_be(wire + n, 8);
	n += TICKET_MAC_LEN;

	if (base32_encode(wire, n, b32, sizeof b32) < 0)
		return -1;
	b32len = strlen(b32);
	/* prefix, text, one dot per label */
	if (outsize < strlen(TICKET_PREFIX) + b32len +
	    b32len / TICKET_LABEL_LEN + 1)
		return -1;
	o = strlen(TICKET_PREFIX);
	memcpy(out, TICKET_PREFIX, o);
	for (i = 0; i < b32len; i++) {
		if (i > 0 && i % TICKET_LABEL_LEN == 0)
			out[o++] = '.';
		out[o++] = b32[i];
	}
	out[o] = '\0';
	return (int)o;
}

int
ticket_is_candidate(const char *host, size_t len)
{
	return len > strlen(TICKET_PREFIX) &&
	    strncasecmp(host, TICKET_PREFIX, strlen(TICKET_PREFIX)) == 0;
}

/* Strips the prefix and the label dots; returns the base32 length or -1. */
static ssize_t
ticket_unlabel(const char *text, size_t len, char *out, size_t outsize)
{
	size_t	i, o = 0, label = 0;

	if (!ticket_is_candidate(text, len))
		return -1;
	for (i = strlen(TICKET_PREFIX); i < len; i++) {
		if (text[i] == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (++label > 63 || o + 1 >= outsize)
			return -1;
		out[o++] = text[i];
	}
	if (label == 0)
		return -1;
	out[o] = '\0';
	return (ssize_t)o;
}

int
ticket_decode(const char *text, size_t len, const struct keyring *ring,
    time_t now, struct ticket *out)
{
	const struct ticket_key	*key;
	struct ticket		 t;
	char			 b32[TICKET_TEXT_MAX];
	uint8_t			 wire[TICKET_WIRE_MAX], mac[TICKET_MAC_LEN];
	ssize_t			 b32len, n;
	size_t			 p, alen, i, ulen, body;

	memset(&t, 0, sizeof t);
	if ((b32len = ticket_unlabel(text, len, b32, sizeof b32)) < 0)
		return TICKET_MALFORMED;
	n = base32_decode(b32, (size_t)b32len, wire, sizeof wire);
	if (n < 2)
		return TICKET_MALFORMED;
	if (wire[0] != TICKET_VERSION)
		return TICKET_BAD_VERSION;
	if (n < TICKET_WIRE_MIN)
		return TICKET_MALFORMED;
	if ((key = keyring_find(ring, wire[1])) == NULL)
		return TICKET_UNKNOWN_KEY;
	body = (size_t)n - TICKET_MAC_LEN;
	ticket_mac(key, wire, body, mac);
	if (CRYPTO_memcmp(mac, wire + body, TICKET_MAC_LEN) != 0)
		return TICKET_BAD_SIGNATURE;

	/* Signed by us, yet parsed as strictly as anything from a peer. */
	t.version = wire[0];
	t.key_id = wire[1];
	t.expiry = (time_t)get_be(wire + 2, 4);
	t.session_id = get_be(wire + 6, 8);
	t.ticket_id = get_be(wire + body, 8);
	p = 14;
	if (wire[p] == 4) {
		t.af = AF_INET;
		alen = 4;
	} else if (wire[p] == 6) {
		t.af = AF_INET6;
		alen = 16;
	} else
		return TICKET_MALFORMED;
	p++;
	if (p + alen + 1 > body)
		return TICKET_MALFORMED;
	memcpy(t.addr, wire + p, alen);
	p += alen;
	t.nports = wire[p++];
	if (t.nports == 0 || t.nports > TICKET_PORTS_MAX ||
	    p + 2 * t.nports + 1 > body)
		return TICKET_MALFORMED;
	for (i = 0; i < t.nports; i++) {
		t.ports[i] = (uint16_t)get_be(wire + p, 2);
		if (t.ports[i] == 0)
			return TICKET_MALFORMED;
		p += 2;
	}
	ulen = wire[p++];
	if (ulen == 0 || ulen > TICKET_USER_MAX || p + ulen != body)
		return TICKET_MALFORMED;
	memcpy(t.user, wire + p, ulen);
	t.user[ulen] = '\0';
	/* A NUL inside would let two wire forms name one user. */
	if (strlen(t.user) != ulen || !ticket_valid_user(t.user))
		return TICKET_MALFORMED;
	if (t.expiry <= now)
		return TICKET_EXPIRED;
	*out = t;
	return TICKET_OK;
}

const char *
ticket_strerror(int status)
{
	switch (status) {
	case TICKET_OK:
		return "valid";
	case TICKET_MALFORMED:
		return "malformed ticket";
	case TICKET_BAD_VERSION:
		return "unsupported ticket version";
	case TICKET_UNKNOWN_KEY:
		return "ticket signed with an unknown key";
	case TICKET_BAD_SIGNATURE:
		return "bad ticket signature";
	case TICKET_EXPIRED:
		return "ticket expired";
	}
	return "unknown ticket error";
}

int
ticket_allows_port(const struct ticket *t, uint16_t port)
{
	size_t	i;

	for (i = 0; i < t->nports; i++) {
		if (t->ports[i] == port)
			return 1;
	}
	return 0;
}

socklen_t
ticket_upstream(const struct ticket *t, uint16_t port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (t->af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, t->addr, 4);
		return sizeof *sin;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, t->addr, 16);
	return sizeof *sin6;
}
