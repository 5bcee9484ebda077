/* SPDX-License-Identifier: ISC */
/* Unit tests for broker/forward-header.c: the Paprika-Forwarded and
 * Paprika-Verified headers. */
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

#define BODY	"e3600619e308288156d48f7b5858d223fa5305b9840424f616316dd7daa32c5e"
#define VMAC	"110971f446af37f8a9cbd5286fe1f614f4a22e1998b8cb8e3db53fea77e19ce8"
#define VERDICT	"user=alice; ok=1; account=Alice; via=local; " \
	"groups=staff,admins; ts=1700000000; key=1; body=" BODY "; mac=" VMAC

static void
test_verdict_parse(void **state)
{
	struct forward_verdict	vd;
	char			back[VERIFIED_HEADER_MAX + 1];

	(void)state;
	assert_int_equal(forward_verdict_parse(VERDICT, &vd), 0);
	assert_string_equal(vd.user, "alice");
	assert_int_equal(vd.ok, 1);
	assert_string_equal(vd.account, "Alice");
	assert_string_equal(vd.via, "local");
	assert_string_equal(vd.groups, "staff,admins");
	assert_int_equal(vd.ts, 1700000000LL);
	assert_int_equal(vd.key_id, 1);
	assert_string_equal(vd.body, BODY);
	assert_string_equal(vd.mac, VMAC);
	assert_int_equal(forward_verdict_format(&vd, back, sizeof(back)), 0);
	assert_string_equal(back, VERDICT);
	assert_int_equal(forward_verdict_format(&vd, back, 40), -1);
	assert_int_equal(forward_verdict_parse("user=bob; ok=1; account=bob; "
	    "via=pam; groups=; ts=1; key=2; body=" BODY "; mac=" VMAC, &vd), 0);
	assert_string_equal(vd.groups, "");
	assert_string_equal(vd.via, "pam");
	assert_int_equal(forward_verdict_parse("user=bob; ok=0; ts=1; key=2; "
	    "body=" BODY "; mac=" VMAC, &vd), 0);
	assert_int_equal(vd.ok, 0);
	assert_string_equal(vd.account, "");
	assert_int_equal(forward_verdict_format(&vd, back, sizeof(back)), 0);
	assert_string_equal(back, "user=bob; ok=0; ts=1; key=2; body=" BODY
	    "; mac=" VMAC);
}

static void
test_verdict_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"user=alice; ok=1",
		"user=alice; ok=2; ts=1; key=1; body=" BODY "; mac=" VMAC,
		"user=alice; ok=0; account=alice; via=local; groups=; ts=1; "
		    "key=1; body=" BODY "; mac=" VMAC,
		"user=alice; ok=1; ts=1; key=1; body=" BODY "; mac=" VMAC,
		"user=alice; ok=1; account=alice; via=ldap; groups=; ts=1; "
		    "key=1; body=" BODY "; mac=" VMAC,
		"user=alice; ok=1; account=alice; via=local; groups=a,; ts=1; "
		    "key=1; body=" BODY "; mac=" VMAC,
		"user=alice; ok=1; account=alice; via=local; groups=,a; ts=1; "
		    "key=1; body=" BODY "; mac=" VMAC,
		"user=alice; ok=1; account=alice; via=local; groups=a,,b; "
		    "ts=1; key=1; body=" BODY "; mac=" VMAC,
		"user=alice; ok=1; account=alice; via=local; groups=a b; ts=1; "
		    "key=1; body=" BODY "; mac=" VMAC,
		"user=al ice; ok=0; ts=1; key=1; body=" BODY "; mac=" VMAC,
		"user=; ok=0; ts=1; key=1; body=" BODY "; mac=" VMAC,
		"user=alice; ok=0; ts=1; key=1; body=" BODY "; mac=" VMAC "; x=1",
		"user=alice; ok=0; ts=1; key=1; body=" BODY "0; mac=" VMAC,
		"user=alice; ok=0; ts=1; key=1; body=0123; mac=" VMAC,
		"user=alice; ok=0; ts=1; key=1; mac=" VMAC "; body=" BODY,
		"user=alice; ok=0; ts=1x; key=1; body=" BODY "; mac=" VMAC,
		"user=alice; ok=0; ts=1; key=0; body=" BODY "; mac=" VMAC,
		"user=alice; ok=0; ts=1; key=1; body=" BODY "; mac="
		    "110971F446af37f8a9cbd5286fe1f614f4a22e1998b8cb8e3db53fea77e19ce8",
		"ok=0; user=alice; ts=1; key=1; body=" BODY "; mac=" VMAC,
		NULL,
	};
	struct forward_verdict	vd;
	char			groups[VERIFIED_HEADER_MAX + 200], *p;
	size_t			i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(forward_verdict_parse(bad[i], &vd), -1);
	assert_int_equal(forward_verdict_parse(NULL, &vd), -1);
	/* One group over VERIFIED_GROUPS. */
	p = groups + snprintf(groups, sizeof(groups), "user=a; ok=1; "
	    "account=a; via=local; groups=");
	for (i = 0; i <= VERIFIED_GROUPS; i++)
		p += snprintf(p, 8, "%sg%zu", i > 0 ? "," : "", i);
	snprintf(p, sizeof(groups) - (size_t)(p - groups), "; ts=1; key=1; "
	    "body=" BODY "; mac=" VMAC);
	assert_int_equal(forward_verdict_parse(groups, &vd), -1);
}

/* The vector: the same HMAC computed with Python's hmac module. */
static void
test_verdict_mac(void **state)
{
	struct forward_verdict	vd, other;
	struct ticket_key	k;
	char			mac[FORWARD_MAC_HEX + 1];

	(void)state;
	key_of(&k);
	assert_int_equal(forward_verdict_parse(VERDICT, &vd), 0);
	assert_int_equal(forward_verdict_mac(&k, &vd, "192.0.2.7", 1700000000,
	    mac, sizeof(mac)), 0);
	assert_string_equal(mac, VMAC);
	/* Each part counts. */
	assert_int_equal(forward_verdict_mac(&k, &vd, "192.0.2.8", 1700000000,
	    mac, sizeof(mac)), 0);
	assert_string_not_equal(mac, VMAC);
	assert_int_equal(forward_verdict_mac(&k, &vd, "192.0.2.7", 1700000001,
	    mac, sizeof(mac)), 0);
	assert_string_not_equal(mac, VMAC);
#define CHANGED(field, value) do {					\
	other = vd;							\
	strlcpy(other.field, value, sizeof(other.field));		\
	assert_int_equal(forward_verdict_mac(&k, &other, "192.0.2.7",	\
	    1700000000, mac, sizeof(mac)), 0);				\
	assert_string_not_equal(mac, VMAC);				\
} while (0)
	CHANGED(user, "bob");
	CHANGED(account, "bob");
	CHANGED(via, "pam");
	CHANGED(groups, "staff,admin");
	CHANGED(body, "f3600619e308288156d48f7b5858d223fa5305b9840424f616316dd7daa32c5e");
#undef CHANGED
	other = vd;
	other.ok = 0;
	assert_int_equal(forward_verdict_mac(&k, &other, "192.0.2.7",
	    1700000000, mac, sizeof(mac)), 0);
	assert_string_not_equal(mac, VMAC);
	other = vd;
	other.ts++;
	assert_int_equal(forward_verdict_mac(&k, &other, "192.0.2.7",
	    1700000000, mac, sizeof(mac)), 0);
	assert_string_not_equal(mac, VMAC);
	/* Not the Paprika-Forwarded header's key. */
	assert_int_equal(forward_mac(&k, "192.0.2.7", 1700000000, "POST",
	    "/api/v1/login", mac, sizeof(mac)), 0);
	assert_string_not_equal(mac, VMAC);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_verdict_parse),
		cmocka_unit_test(test_verdict_refused),
		cmocka_unit_test(test_verdict_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
