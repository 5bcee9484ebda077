/* SPDX-License-Identifier: ISC */
/*
 * client/dn.c: the SPICE host-subject check. The broker hands out the
 * subject as QEMU's certificate has it (OpenSSL's one-line form), GnuTLS
 * gives the peer's in RFC 4514 form; a desktop is trusted only when the
 * two are the same entries in the same order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>

#include "dn.h"
#include "unit.h"

/* Whether the peer's subject (GnuTLS form) matches host_subject. */
static gboolean
matches(const gchar *peer, const gchar *host_subject)
{
	GPtrArray	*a = paprika_dn_parse(peer, TRUE);
	GPtrArray	*b = paprika_dn_parse(host_subject, FALSE);
	gboolean	 eq = paprika_dn_equal(a, b);

	if (a != NULL)
		g_ptr_array_unref(a);
	if (b != NULL)
		g_ptr_array_unref(b);
	return eq;
}

static void
test_matches(void **state)
{
	assert_true(matches("O=Paprika,CN=paprika-demo-hv",
	    "O=Paprika,CN=paprika-demo-hv"));
	/* Spaces before keys, runs of blanks and case in values, as OpenSSL's
	 * X509_NAME_cmp compares them. */
	assert_true(matches("O=Paprika,CN=hv 1", "O=paprika, CN=hv   1"));
	assert_true(matches("C=DE,O=Acme\\, Inc.,CN=hv", "C=DE,O=Acme\\, Inc.,CN=hv"));
	assert_true(matches("O=Acme\\2C Inc.,CN=hv", "O=Acme\\, Inc.,CN=hv"));
	assert_true(matches("EMAIL=ops@example.org,CN=hv",
	    "emailAddress=ops@example.org,CN=hv"));
}

static void
test_refuses(void **state)
{
	/* Another host, order, count or key: not the desktop's server. */
	assert_false(matches("O=Paprika,CN=other-hv", "O=Paprika,CN=hv"));
	assert_false(matches("CN=hv,O=Paprika", "O=Paprika,CN=hv"));
	assert_false(matches("O=Paprika,CN=hv,OU=x", "O=Paprika,CN=hv"));
	assert_false(matches("O=Paprika", "O=Paprika,CN=hv"));
	assert_false(matches("OU=Paprika,CN=hv", "O=Paprika,CN=hv"));
	/* A comma inside a value is not a separator. */
	assert_false(matches("O=Acme,CN=Inc.", "O=Acme\\, Inc."));
	/* Multi-valued entries and hex values never match, as in spice-gtk. */
	assert_false(matches("O=Paprika+OU=x,CN=hv", "O=Paprika+OU=x,CN=hv"));
	assert_false(matches("O=#0403414243,CN=hv", "O=#0403414243,CN=hv"));
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"", "CN", "=hv", "CN=hv,", ",CN=hv", "CN=hv\\", "O=a,,CN=hv",
	};
	GPtrArray	*dn;
	size_t		 i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		dn = paprika_dn_parse(bad[i], FALSE);
		if (dn != NULL)
			fail_msg("\"%s\" parsed", bad[i]);
		assert_false(paprika_dn_equal(dn, dn));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
