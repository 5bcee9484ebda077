/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the wipes of secrets the broker handles: a login's body as
 * jansson parses it (http_json_free) and the .vv text
 * (grant_vv). Linked with --wrap=free: every block the broker's code or
 * jansson gives back is searched for the secret before it is freed.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker.h"
#include "http.h"

#define SECRET	"Zq3vS3cretPassw0rd-x9"

/* brokerd.c's, which the test does not link; grant.c's other paths
 * need them, grant_vv does not. */
struct broker	*broker;

uint64_t
broker_random_id(void)
{
	return 1;
}

void
broker_random_password(char *out, size_t outlen)
{
	fail();
}

void
broker_audit(const char *actor, const char *source, const char *action,
    const char *target, const char *result, const char *fmt, ...)
{
	fail();
}

static int	armed;		/* search freed blocks for SECRET */
static int	found;		/* freed blocks that still held it */

void	__real_free(void *p);
void	__wrap_free(void *p);

void
__wrap_free(void *p)
{
	/* Its tail: a buffer reused for shorter text keeps the rest. */
	if (armed && p != NULL && memmem(p, malloc_usable_size(p), SECRET + 4,
	    strlen(SECRET) - 4) != NULL)
		found++;
	__real_free(p);
}

/* jansson's free without the wipe: the control. */
static void
test_plain_free(void *p)
{
	free(p);
}

static const char body[] = "{\"username\": \"alice\", \"password\": \""
    SECRET "\", \"more\": [{\"again\": \"" SECRET "\"}]}";

/* Parses a login body and lets it go as the broker does; the blocks
 * freed that still held the password. */
static int
leaks_of_login(void (*jfree)(void *))
{
	json_t	*json;

	json_set_alloc_funcs(malloc, jfree);
	found = 0;
	armed = 1;
	json = json_loadb(body, strlen(body), JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(json);
	json_decref(json);
	armed = 0;
	json_set_alloc_funcs(malloc, free);
	return found;
}

static void
test_json_login_body(void **state)
{
	/* The search works: jansson alone leaves the password behind (the
	 * value and its lexer's copy); with the broker's free nothing is. */
	assert_true(leaks_of_login(test_plain_free) > 0);
	assert_int_equal(leaks_of_login(http_json_free), 0);
}

static void
test_vv_wiped(void **state)
{
	json_t	*conn;
	char	*vv;

	json_set_alloc_funcs(malloc, http_json_free);
	conn = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:b}", "type", "spice",
	    "host", "pk.aeaw", "tls_port", 5901, "password", SECRET, "proxy",
	    "http://192.0.2.10:3128", "title", "Teaching lab",
	    "secure_channels", "main;display", "usbredir", 1);
	found = 0;
	armed = 1;
	vv = grant_vv(conn);
	assert_non_null(strstr(vv, "\npassword=" SECRET "\n"));
	/* As api.c lets them go. */
	explicit_bzero(vv, strlen(vv));
	free(vv);
	json_decref(conn);
	armed = 0;
	json_set_alloc_funcs(malloc, free);
	assert_int_equal(found, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_login_body),
		cmocka_unit_test(test_vv_wiped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
