/* SPDX-License-Identifier: ISC */
/* Unit tests for gateway/control-parse.c: the control socket's requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control-parse.h"

/* Parses a request written as a C string; returns control_parse's result. */
static int
parse(const char *text, struct control_request *req, char *err,
    size_t errlen)
{
	err[0] = '\0';
	return control_parse(text, strlen(text), req, err, errlen);
}

/* Checks that text is refused with an error that contains want. */
static void
refused(const char *text, const char *want)
{
	struct control_request	req;
	char			err[1024];

	if (parse(text, &req, err, sizeof err) != -1)
		fail_msg("accepted %s", text);
	if (strstr(err, want) == NULL)
		fail_msg("%s: error \"%s\" does not say \"%s\"", text, err, want);
	control_request_clear(&req);
}

static void
test_commands(void **state)
{
	static const struct {
		const char		*text;
		enum control_command	 command;
	} ok[] = {
		{ "{\"command\":\"sessions\"}", CONTROL_SESSIONS },
		{ "{\"command\":\"reload\"}", CONTROL_RELOAD },
		{ "{\"command\":\"metrics\"}", CONTROL_METRICS },
		{ " { \"command\" : \"status\", \"extra\": [1, {}] } ",
		    CONTROL_STATUS },
	};
	struct control_request	req;
	char			err[256];
	size_t			i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(parse(ok[i].text, &req, err, sizeof err), 0);
		assert_int_equal(req.command, ok[i].command);
		assert_null(req.ticket);
		control_request_clear(&req);
	}
}

static void
test_kill(void **state)
{
	struct control_request	req;
	char			err[256];

	assert_int_equal(parse("{\"command\":\"kill\",\"session\":"
	    "\"00ff00ff00ff00fF\"}", &req, err, sizeof err), 0);
	assert_int_equal(req.command, CONTROL_KILL);
	assert_true(req.session == 0x00ff00ff00ff00ffULL);
	control_request_clear(&req);
	assert_int_equal(parse("{\"command\":\"kill\",\"session\":\"1\"}",
	    &req, err, sizeof err), 0);
	assert_true(req.session == 1);
	control_request_clear(&req);

	/* Hex digits only: no sign, prefix, space, or more than 16. */
	refused("{\"command\":\"kill\"}", "kill needs \"session\"");
	refused("{\"command\":\"kill\",\"session\":\"\"}", "kill needs");
	refused("{\"command\":\"kill\",\"session\":\"-1\"}", "kill needs");
	refused("{\"command\":\"kill\",\"session\":\"+1\"}", "kill needs");
	refused("{\"command\":\"kill\",\"session\":\"0x10\"}", "kill needs");
	refused("{\"command\":\"kill\",\"session\":\" 10\"}", "kill needs");
	refused("{\"command\":\"kill\",\"session\":\"10 \"}", "kill needs");
	refused("{\"command\":\"kill\",\"session\":\"10000000000000000\"}",
	    "kill needs");
	refused("{\"command\":\"kill\",\"session\":16}", "kill needs");
}

static void
test_revoke(void **state)
{
	struct control_request	req;
	char			err[256];

	assert_int_equal(parse("{\"command\":\"revoke\",\"session\":\"ab\"}",
	    &req, err, sizeof err), 0);
	assert_int_equal(req.command, CONTROL_REVOKE);
	assert_true(req.session == 0xab);
	assert_int_equal(req.seconds, CONTROL_REVOKE_DEFAULT);
	assert_null(req.ticket);
	control_request_clear(&req);

	assert_int_equal(parse("{\"command\":\"revoke\",\"session\":\"ab\","
	    "\"seconds\":60}", &req, err, sizeof err), 0);
	assert_int_equal(req.seconds, 60);
	control_request_clear(&req);

	/* A ticket wins over a session; its text is checked by the caller. */
	assert_int_equal(parse("{\"command\":\"revoke\",\"ticket\":\"pk.x\","
	    "\"session\":\"zz\"}", &req, err, sizeof err), 0);
	assert_string_equal(req.ticket, "pk.x");
	control_request_clear(&req);
	assert_null(req.ticket);

	refused("{\"command\":\"revoke\"}", "revoke needs \"session\" (hex id) "
	    "or \"ticket\"");
	refused("{\"command\":\"revoke\",\"ticket\":7}", "revoke needs");
	refused("{\"command\":\"revoke\",\"session\":\"ab\",\"seconds\":0}",
	    "seconds must be 1 to 31536000");
	refused("{\"command\":\"revoke\",\"session\":\"ab\",\"seconds\":-5}",
	    "seconds must be");
	refused("{\"command\":\"revoke\",\"session\":\"ab\","
	    "\"seconds\":31536001}", "seconds must be");
	refused("{\"command\":\"revoke\",\"ticket\":\"pk.x\","
	    "\"seconds\":9223372036854775807}", "seconds must be");
}

static void
test_malformed(void **state)
{
	char	*big;

	refused("", "malformed JSON");
	refused("{", "malformed JSON");
	refused("{\"command\":\"status\"} x", "malformed JSON");
	refused("{\"command\":\"status\"}{}", "malformed JSON");
	refused("{\"command\":\"st\\u0000atus\"}", "malformed JSON");
	refused("[\"status\"]", "expected a JSON object");
	refused("\"status\"", "malformed JSON");
	refused("{}", "missing \"command\"");
	refused("{\"command\":7}", "missing \"command\"");
	refused("{\"command\":\"reboot\"}", "unknown command \"reboot\"");
	refused("{\"command\":\"Status\"}", "unknown command");

	big = malloc(CONTROL_REQUEST_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', CONTROL_REQUEST_MAX + 1);
	memcpy(big, "{\"command\":\"status\"}", 20);
	big[CONTROL_REQUEST_MAX + 1] = '\0';
	refused(big, "request too large");
	/* Exactly the limit is fine. */
	big[CONTROL_REQUEST_MAX] = '\0';
	{
		struct control_request	req;
		char			err[256];

		assert_int_equal(parse(big, &req, err, sizeof err), 0);
		control_request_clear(&req);
	}
	free(big);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
