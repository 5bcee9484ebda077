/* SPDX-License-Identifier: ISC */
/* Unit tests for broker/forward-header.c: the Paprika-Forwarded header. */
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "forward.h"

#define MAC	"1b3beb90f5cf78175754fe67c1605c04ccab2747889d6dd7690c2cadc1f94b36"

static void
key_of(struct ticket_key *k)
{
	size_t	i;

	k->id = 1;
	for (i = 0; i < sizeof(k->secret); i++)
		k->secret[i] = (uint8_t)i;
}

static void
test_parse(void **state)
{
	struct forward_header	h;

	(void)state;
	assert_int_equal(forward_header_parse("for=192.0.2.7; ts=1700000000; "
	    "key=1; mac=" MAC, &h), 0);
	assert_string_equal(h.addr, "192.0.2.7");
	assert_int_equal(h.af, AF_INET);
	assert_int_equal(h.ts, 1700000000LL);
	assert_int_equal(h.key_id, 1);
	assert_string_equal(h.mac, MAC);
	assert_int_equal(forward_header_parse("for=2001:db8::5; ts=0; "
	    "key=255; mac=" MAC, &h), 0);
	assert_int_equal(h.af, AF_INET6);
	assert_int_equal(h.key_id, 255);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"for=192.0.2.7",
		"for=192.0.2.7; ts=1; key=1",
		"ts=1; for=192.0.2.7; key=1; mac=" MAC,
		"for=192.0.2.7; ts=1; key=1; mac=" MAC "; x=1",
		"for=192.0.2.7; ts=1; key=1; mac=" MAC "0",
		"for=192.0.2.7; ts=1; key=1; mac=" "0123",
		"for=192.0.2.7; ts=1; key=1; mac="
		    "1B3BEB90f5cf78175754fe67c1605c04ccab2747889d6dd7690c2cadc1f94b36",
		"for=192.0.2.7; ts=1; key=1; mac="
		    "zb3beb90f5cf78175754fe67c1605c04ccab2747889d6dd7690c2cadc1f94b36",
		"for=host.example; ts=1; key=1; mac=" MAC,
		"for=192.0.2.7:80; ts=1; key=1; mac=" MAC,
		"for=; ts=1; key=1; mac=" MAC,
		"for=192.0.2.7; ts=-1; key=1; mac=" MAC,
		"for=192.0.2.7; ts=1x; key=1; mac=" MAC,
		"for=192.0.2.7; ts=99999999999999999999; key=1; mac=" MAC,
		"for=192.0.2.7; ts=1; key=0; mac=" MAC,
		"for=192.0.2.7; ts=1; key=256; mac=" MAC,
		"for=192.0.2.7; ts=1; key=; mac=" MAC,
		"for=192.0.2.7;ts=1;key=1;mac=" MAC "; for=10.0.0.1",
		"FOR=192.0.2.7; ts=1; key=1; mac=" MAC,
		NULL,
	};
	struct forward_header	h;
	char			long_value[FORWARD_HEADER_MAX + 100];
	size_t			i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(forward_header_parse(bad[i], &h), -1);
	assert_int_equal(forward_header_parse(NULL, &h), -1);
	memset(long_value, ' ', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	memcpy(long_value, "for=192.0.2.7; ts=1; key=1; mac=" MAC,
	    strlen("for=192.0.2.7; ts=1; key=1; mac=" MAC));
	assert_int_equal(forward_header_parse(long_value, &h), -1);
}

/* The vector: the same HMAC computed with Python's hmac module. */
static void
test_mac(void **state)
{
	/* Each part counts: the vector with one part changed. */
	static const struct {
		const char	*addr, *method, *target;
		long long	 ts;
	} other[] = {
		{ "192.0.2.8", "POST", "/api/v1/login?x=1", 1700000000 },
		{ "192.0.2.7", "POST", "/api/v1/login?x=1", 1700000001 },
		{ "192.0.2.7", "GET", "/api/v1/login?x=1", 1700000000 },
		{ "192.0.2.7", "POST", "/api/v1/login?x=2", 1700000000 },
	};
	struct ticket_key	k;
	char			hex[FORWARD_MAC_HEX + 1], mac[FORWARD_MAC_HEX + 1];
	size_t			i;

	(void)state;
	key_of(&k);
	assert_int_equal(forward_mac(&k, "192.0.2.7", 1700000000, "POST",
	    "/api/v1/login?x=1", hex, sizeof(hex)), 0);
	assert_string_equal(hex, MAC);
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_int_equal(forward_mac(&k, other[i].addr, other[i].ts,
		    other[i].method, other[i].target, mac, sizeof(mac)), 0);
		assert_string_not_equal(hex, mac);
	}
	k.secret[0] ^= 1;
	assert_int_equal(forward_mac(&k, "192.0.2.7", 1700000000, "POST",
	    "/api/v1/login?x=1", mac, sizeof(mac)), 0);
	assert_string_not_equal(hex, mac);
	assert_int_equal(forward_mac(&k, "192.0.2.7", 1, "GET", "/", mac,
	    FORWARD_MAC_HEX), -1);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
