/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/auth/authmsg.c: the PAM helper's requests and replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authmsg.h"

static void
fill(char *s, size_t n, char c)
{
	memset(s, c, n);
	s[n] = '\0';
}

static int
req_len(const struct authmsg_req *req, uint8_t *buf)
{
	return authmsg_req_encode(req, buf, AUTHMSG_REQ_MAX);
}

static void
test_req_roundtrip(void **state)
{
	struct authmsg_req	req, out;
	uint8_t			buf[AUTHMSG_REQ_MAX];
	int			len;

	memset(&req, 0, sizeof(req));
	strlcpy(req.user, "alice", sizeof(req.user));
	strlcpy(req.password, "pass word:x", sizeof(req.password));
	strlcpy(req.rhost, "2001:db8::1", sizeof(req.rhost));
	len = req_len(&req, buf);
	assert_int_equal(len, 1 + 1 + 5 + 2 + 11 + 1 + 11);
	assert_int_equal(authmsg_req_decode(buf, (size_t)len, &out), 0);
	assert_string_equal(out.user, "alice");
	assert_string_equal(out.password, "pass word:x");
	assert_string_equal(out.rhost, "2001:db8::1");

	/* Every field at its longest fills AUTHMSG_REQ_MAX exactly. */
	fill(req.user, AUTH_NAME_MAX, 'u');
	fill(req.password, AUTH_PASSWORD_MAX, 'p');
	fill(req.rhost, AUTHMSG_RHOST_MAX, 'h');
	assert_int_equal(req_len(&req, buf), AUTHMSG_REQ_MAX);
	assert_int_equal(authmsg_req_decode(buf, AUTHMSG_REQ_MAX, &out), 0);
	assert_int_equal(strlen(out.password), AUTH_PASSWORD_MAX);
	/* No rhost is a field of length 0. */
	req.rhost[0] = '\0';
	len = req_len(&req, buf);
	assert_int_equal(authmsg_req_decode(buf, (size_t)len, &out), 0);
	assert_string_equal(out.rhost, "");
}

static void
test_req_encode_refuses(void **state)
{
	struct authmsg_req	req;
	uint8_t			buf[AUTHMSG_REQ_MAX];

	memset(&req, 0, sizeof(req));
	strlcpy(req.password, "pw", sizeof(req.password));
	assert_int_equal(req_len(&req, buf), -1);		/* no user */
	strlcpy(req.user, "alice", sizeof(req.user));
	req.password[0] = '\0';
	assert_int_equal(req_len(&req, buf), -1);		/* no password */
	strlcpy(req.password, "pw", sizeof(req.password));
	assert_int_equal(authmsg_req_encode(&req, buf, 8), -1);	/* no room */
}

static void
test_req_decode_refuses(void **state)
{
	struct authmsg_req	req, out;
	uint8_t			buf[AUTHMSG_REQ_MAX + 2];
	int			len, cut;

	memset(&req, 0, sizeof(req));
	strlcpy(req.user, "alice", sizeof(req.user));
	strlcpy(req.password, "secret", sizeof(req.password));
	strlcpy(req.rhost, "192.0.2.1", sizeof(req.rhost));
	len = req_len(&req, buf);
	/* Every prefix is short, and nothing of the password is left. */
	for (cut = 0; cut < len; cut++) {
		assert_int_equal(authmsg_req_decode(buf, (size_t)cut, &out),
		    -1);
		assert_string_equal(out.password, "");
	}
	buf[len] = 0;						/* trailing */
	assert_int_equal(authmsg_req_decode(buf, (size_t)len + 1, &out), -1);
	buf[0] = AUTHMSG_VERSION + 1;				/* version */
	assert_int_equal(authmsg_req_decode(buf, (size_t)len, &out), -1);
	buf[0] = AUTHMSG_VERSION;
	buf[3] = '\0';						/* NUL in user */
	assert_int_equal(authmsg_req_decode(buf, (size_t)len, &out), -1);
	buf[3] = 'i';
	assert_int_equal(authmsg_req_decode(buf, (size_t)len, &out), 0);

	/* Lengths past the limits, however many bytes follow. */
	memset(buf, 'x', sizeof(buf));
	buf[0] = AUTHMSG_VERSION;
	buf[1] = AUTH_NAME_MAX + 1;
	assert_int_equal(authmsg_req_decode(buf, sizeof(buf), &out), -1);
	buf[1] = 0;						/* empty user */
	assert_int_equal(authmsg_req_decode(buf, sizeof(buf), &out), -1);
	buf[1] = 1;
	buf[3] = (AUTH_PASSWORD_MAX + 1) >> 8;
	buf[4] = (AUTH_PASSWORD_MAX + 1) & 0xff;
	assert_int_equal(authmsg_req_decode(buf, sizeof(buf), &out), -1);
	buf[3] = 0;
	buf[4] = 0;						/* empty password */
	assert_int_equal(authmsg_req_decode(buf, sizeof(buf), &out), -1);
	buf[4] = 1;
	buf[6] = AUTHMSG_RHOST_MAX + 1;
	assert_int_equal(authmsg_req_decode(buf, sizeof(buf), &out), -1);
	buf[6] = 1;
	assert_int_equal(authmsg_req_decode(buf, 8, &out), 0);
}

static void
test_reply_roundtrip(void **state)
{
	struct authmsg_reply	rep, out;
	uint8_t			buf[AUTHMSG_REPLY_MAX];
	size_t			i;
	int			len;

	memset(&rep, 0, sizeof(rep));
	rep.status = AUTH_OK;
	strlcpy(rep.user.name, "pamuser", sizeof(rep.user.name));
	strlcpy(rep.user.groups[0], "staff", sizeof(rep.user.groups[0]));
	strlcpy(rep.user.groups[1], "helpdesk", sizeof(rep.user.groups[1]));
	rep.user.ngroups = 2;
	len = authmsg_reply_encode(&rep, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(authmsg_reply_decode(buf, (size_t)len, &out), 0);
	assert_int_equal(out.status, AUTH_OK);
	assert_string_equal(out.user.name, "pamuser");
	assert_int_equal(out.user.ngroups, 2);
	assert_string_equal(out.user.groups[1], "helpdesk");

	/* The largest reply fits AUTHMSG_REPLY_MAX exactly. */
	fill(rep.user.name, AUTH_NAME_MAX, 'n');
	for (i = 0; i < AUTH_GROUPS_MAX; i++)
		fill(rep.user.groups[i], AUTH_NAME_MAX, 'g');
	rep.user.ngroups = AUTH_GROUPS_MAX;
	fill(rep.err, AUTHMSG_ERR_MAX, 'e');
	assert_int_equal(authmsg_reply_encode(&rep, buf, sizeof(buf)),
	    AUTHMSG_REPLY_MAX);
	assert_int_equal(authmsg_reply_decode(buf, AUTHMSG_REPLY_MAX, &out), 0);
	assert_int_equal(out.user.ngroups, AUTH_GROUPS_MAX);

	/* A refusal carries no name nor groups, whatever rep holds. */
	rep.status = AUTH_DENIED;
	strlcpy(rep.err, "pamuser is a system account", sizeof(rep.err));
	len = authmsg_reply_encode(&rep, buf, sizeof(buf));
	assert_int_equal(authmsg_reply_decode(buf, (size_t)len, &out), 0);
	assert_int_equal(out.status, AUTH_DENIED);
	assert_string_equal(out.user.name, "");
	assert_int_equal(out.user.ngroups, 0);
	assert_string_equal(out.err, "pamuser is a system account");
	rep.status = AUTH_ERROR;
	len = authmsg_reply_encode(&rep, buf, sizeof(buf));
	assert_int_equal(authmsg_reply_decode(buf, (size_t)len, &out), 0);
	assert_int_equal(out.status, AUTH_ERROR);
	rep.status = 7;
	assert_int_equal(authmsg_reply_encode(&rep, buf, sizeof(buf)), -1);
}

static void
test_reply_decode_refuses(void **state)
{
	struct authmsg_reply	out;
	/* version, ok, name "a", one group "g", err "" */
	uint8_t			ok[] = { AUTHMSG_VERSION, 0, 1, 'a', 1, 1, 'g',
				    0, 0 };
	size_t			cut;

	assert_int_equal(authmsg_reply_decode(ok, sizeof(ok) - 1, &out), 0);
	for (cut = 0; cut < sizeof(ok) - 1; cut++)
		assert_int_equal(authmsg_reply_decode(ok, cut, &out), -1);
	assert_int_equal(authmsg_reply_decode(ok, sizeof(ok), &out), -1);
	assert_int_equal(out.status, AUTH_ERROR);
	ok[1] = 3;						/* status */
	assert_int_equal(authmsg_reply_decode(ok, sizeof(ok) - 1, &out), -1);
	ok[1] = 1;					/* denied, named */
	assert_int_equal(authmsg_reply_decode(ok, sizeof(ok) - 1, &out), -1);
	ok[1] = 0;
	ok[2] = 0;					/* ok, no name */
	assert_int_equal(authmsg_reply_decode(ok + 0, sizeof(ok) - 1, &out),
	    -1);
	ok[2] = 1;
	ok[4] = AUTH_GROUPS_MAX + 1;			/* too many groups */
	assert_int_equal(authmsg_reply_decode(ok, sizeof(ok) - 1, &out), -1);
	ok[4] = 1;
	ok[6] = '\0';					/* NUL in a group */
	assert_int_equal(authmsg_reply_decode(ok, sizeof(ok) - 1, &out), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_roundtrip),
		cmocka_unit_test(test_req_encode_refuses),
		cmocka_unit_test(test_req_decode_refuses),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_reply_decode_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
