/* SPDX-License-Identifier: ISC */
/* Unit tests for common/ticket.c: expiry, key rotation, ports, upstreams. */
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

void
test_expired(void **state)
{
	struct keyring	ring;
	struct ticket	t, d;
	char		text[TICKET_TEXT_MAX];

	ring_init(&ring, 1, 0);
	ticket_init(&t, AF_INET, 1, "u");
	t.expiry = NOW;
	encode(&t, &ring, 1, text, sizeof text);
	memset(&d, 0x55, sizeof d);
	assert_int_equal(decode(text, &ring, &d), TICKET_EXPIRED);
	assert_int_equal(ticket_decode(text, strlen(text), &ring, NOW - 1, &d),
	    TICKET_OK);
	assert_int_equal(ticket_decode(text, strlen(text), &ring, NOW + 100000,
	    &d), TICKET_EXPIRED);

	t.expiry = NOW + 1;
	encode(&t, &ring, 1, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_OK);

	t.expiry = NOW - 1;
	encode(&t, &ring, 1, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_EXPIRED);

	t.expiry = 0;
	encode(&t, &ring, 1, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_EXPIRED);

	/* The last second a version 1 ticket can name. */
	t.expiry = (time_t)UINT32_MAX;
	encode(&t, &ring, 1, text, sizeof text);
	assert_int_equal(decode(text, &ring, &d), TICKET_OK);
	assert_int_equal(d.expiry, (time_t)UINT32_MAX);
}

void
test_unknown_key(void **state)
{
	struct keyring	ring, other;
	struct ticket	t, d;
	char		text[TICKET_TEXT_MAX];

	ring_init(&ring, 1, 1);
	ticket_init(&t, AF_INET, 1, "u");
	encode(&t, &ring, 2, text, sizeof text);
	ring_init(&other, 1, 0);
	assert_int_equal(decode(text, &other, &d), TICKET_UNKNOWN_KEY);
	memset(&other, 0, sizeof other);
	assert_int_equal(decode(text, &other, &d), TICKET_UNKNOWN_KEY);

	/* Same id, another secret. */
	ring_init(&other, 0, 1);
	other.keys[0].secret[5] ^= 1;
	assert_int_equal(decode(text, &other, &d), TICKET_BAD_SIGNATURE);
}

void
test_rotation(void **state)
{
	struct keyring		 ring;
	const struct ticket_key	*newest;
	struct ticket		 t, d;
	char			 old[TICKET_TEXT_MAX], new[TICKET_TEXT_MAX];
	int			 n;

	ring_init(&ring, 1, 0);
	ticket_init(&t, AF_INET, 1, "u");
	encode(&t, &ring, keyring_newest(&ring)->id, old, sizeof old);
	assert_int_equal(t.key_id, 1);

	/* Key 2 arrives: it signs, and key 1's tickets still verify. */
	ring_init(&ring, 1, 1);
	newest = keyring_newest(&ring);
	assert_non_null(newest);
	assert_int_equal(newest->id, 2);
	n = ticket_encode(&t, newest, new, sizeof new);
	assert_int_equal(n, (int)strlen(new));
	assert_int_equal(t.key_id, 2);
	assert_int_equal(decode(old, &ring, &d), TICKET_OK);
	assert_int_equal(d.key_id, 1);
	assert_int_equal(decode(new, &ring, &d), TICKET_OK);
	assert_int_equal(d.key_id, 2);

	/* Key 1 retired. */
	ring_init(&ring, 0, 1);
	assert_int_equal(decode(old, &ring, &d), TICKET_UNKNOWN_KEY);
	assert_int_equal(decode(new, &ring, &d), TICKET_OK);
	assert_int_equal(keyring_newest(&ring)->id, 2);
}

void
test_ticket_id(void **state)
{
	struct keyring	ring;
	struct ticket	a, b, d;
	char		ta[TICKET_TEXT_MAX], tb[TICKET_TEXT_MAX];

	ring_init(&ring, 1, 0);
	ticket_init(&a, AF_INET, 1, "u");
	ticket_init(&b, AF_INET, 1, "u");
	b.session_id++;
	encode(&a, &ring, 1, ta, sizeof ta);
	encode(&b, &ring, 1, tb, sizeof tb);
	assert_true(a.ticket_id != 0);
	assert_true(a.ticket_id != b.ticket_id);
	assert_int_equal(decode(ta, &ring, &d), TICKET_OK);
	assert_int_equal(d.ticket_id, a.ticket_id);
	assert_int_equal(decode(tb, &ring, &d), TICKET_OK);
	assert_int_equal(d.ticket_id, b.ticket_id);

	/* Only the expiry differs: another ticket. */
	b = a;
	b.expiry++;
	encode(&b, &ring, 1, tb, sizeof tb);
	assert_true(a.ticket_id != b.ticket_id);
	/* The same fields and key: the same ticket. */
	b = a;
	encode(&b, &ring, 1, tb, sizeof tb);
	assert_int_equal(a.ticket_id, b.ticket_id);
	assert_string_equal(ta, tb);
}

void
test_allows_port(void **state)
{
	struct ticket	t;

	ticket_init(&t, AF_INET, 3, "u");
	t.ports[0] = 5900;
	t.ports[1] = 5901;
	t.ports[2] = 3128;
	assert_true(ticket_allows_port(&t, 5900));
	assert_true(ticket_allows_port(&t, 5901));
	assert_true(ticket_allows_port(&t, 3128));
	assert_false(ticket_allows_port(&t, 5902));
	assert_false(ticket_allows_port(&t, 0));
	assert_false(ticket_allows_port(&t, 65535));
	/* Only the first nports count. */
	t.ports[3] = 4000;
	assert_false(ticket_allows_port(&t, 4000));
	t.nports = 1;
	assert_false(ticket_allows_port(&t, 5901));
	assert_true(ticket_allows_port(&t, 5900));
}

void
test_upstream(void **state)
{
	struct ticket		 t;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	char			 buf[INET6_ADDRSTRLEN];

	ticket_init(&t, AF_INET, 1, "u");
	memset(&ss, 0xff, sizeof ss);
	assert_int_equal(ticket_upstream(&t, 5901, &ss), sizeof *sin);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 5901);
	assert_string_equal(inet_ntop(AF_INET, &sin->sin_addr, buf,
	    sizeof buf), "192.0.2.10");
	assert_int_equal(sin->sin_zero[0], 0);

	ticket_init(&t, AF_INET6, 1, "u");
	memset(&ss, 0xff, sizeof ss);
	assert_int_equal(ticket_upstream(&t, 65535, &ss), sizeof *sin6);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 65535);
	assert_string_equal(inet_ntop(AF_INET6, &sin6->sin6_addr, buf,
	    sizeof buf), "2001:db8::abcd:10");
	assert_int_equal(sin6->sin6_flowinfo, 0);
	assert_int_equal(sin6->sin6_scope_id, 0);
}

void
test_candidate_and_strings(void **state)
{
	static const int	statuses[] = {
		TICKET_OK, TICKET_MALFORMED, TICKET_BAD_VERSION,
		TICKET_UNKNOWN_KEY, TICKET_BAD_SIGNATURE, TICKET_EXPIRED,
	};
	size_t	i, j;

	assert_true(ticket_is_candidate("pk.a", 4));
	assert_true(ticket_is_candidate("PK.a", 4));
	assert_true(ticket_is_candidate("Pk.abc", 6));
	assert_false(ticket_is_candidate("pk.", 3));
	assert_false(ticket_is_candidate("pk.abc", 3));
	assert_false(ticket_is_candidate("pkxabc", 6));
	assert_false(ticket_is_candidate("host.example.org", 16));
	assert_false(ticket_is_candidate("", 0));

	for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
		assert_non_null(ticket_strerror(statuses[i]));
		for (j = 0; j < i; j++)
			assert_string_not_equal(ticket_strerror(statuses[i]),
			    ticket_strerror(statuses[j]));
	}
	assert_non_null(ticket_strerror(-99));
	assert_non_null(ticket_strerror(12345));
}
