/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the broker's API (api.c) through lib/http: a plain-HTTP
 * server on the loopback in the test's own event loop, asked by libevent's
 * HTTP client, with the fake hosts of fakevirt.c behind it. Covers the
 * routing (404, 405), who may call what (401 without a valid token, 403
 * for a role one lacks or a cookie without the anti-CSRF header, 404 for
 * another user's desktop) and a connect from the first click to the .vv.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "brokertest.h"
#include "fakevirt.h"
#include "unit.h"
#include "xmalloc.h"

static const char conf[] =
    "[gateway gw]\nproxy = http://gw.example:3128\n"
    "[host hv1]\nuri = fake:///hv1\n"
    "[roles]\nhelpdesk = hd\nadmin = ops\n"
    "[pool office]\nkind = shared\nhost = hv1\nguests = d1, d2\n"
    "users = alice, bob\nready_when = agent\n"
    "[pool lab]\nkind = static\nhost = hv1\nassign = alice=l-desk\n"
    "users = alice\nready_when = agent\n";

static struct http_server	*server;
static uint16_t			 port;

struct reply {
	int		 done;
	int		 status;
	json_t		*json;
	char		*body;
	char		 type[64];
	char		 www_auth[64];
};

static int
setup(void **state)
{
	struct http_limits	limits;
	char			addr[32], err[256];
	int			i;

	fakevirt_define(BT_HOST, "d1");
	fakevirt_define(BT_HOST, "d2");
	fakevirt_define(BT_HOST, "l-desk");
	bt_start(conf);
	http_limits_defaults(&limits);
	assert_non_null(server = http_server_new(broker->base, NULL,
	    api_routes, NULL, &limits, broker->conf->cookie));
	/* A free port on the loopback, tried at random. */
	for (i = 0; i < 50; i++) {
		port = (uint16_t)(20000 + arc4random_uniform(40000));
		fmt(addr, sizeof(addr), "127.0.0.1:%u", port);
		if (http_server_listen(server, addr, err, sizeof(err)) == 0)
			return 0;
	}
	fail_msg("no free port: %s", err);
	return -1;
}

static int
teardown(void **state)
{
	http_server_free(server);
	bt_stop(0);
	return 0;
}

static void
replied(struct evhttp_request *r, void *arg)
{
	struct reply	*rep = arg;
	struct evbuffer	*in;
	const char	*v;
	size_t		 n;

	rep->done = 1;
	if (r == NULL)
		return;
	rep->status = evhttp_request_get_response_code(r);
	in = evhttp_request_get_input_buffer(r);
	n = evbuffer_get_length(in);
	rep->body = xmalloc(n + 1);
	evbuffer_remove(in, rep->body, n);
	rep->body[n] = '\0';
	if ((v = evhttp_find_header(evhttp_request_get_input_headers(r),
	    "Content-Type")) != NULL)
		strlcpy(rep->type, v, sizeof(rep->type));
	if ((v = evhttp_find_header(evhttp_request_get_input_headers(r),
	    "WWW-Authenticate")) != NULL)
		strlcpy(rep->www_auth, v, sizeof(rep->www_auth));
	if (strncmp(rep->type, "application/json", 16) == 0)
		rep->json = json_loads(rep->body, 0, NULL);
}

static int
reply_done(void *arg)
{
	return ((struct reply *)arg)->done;
}

/*
 * method path with a bearer token (NULL: none) or, when cookie is set,
 * that cookie (csrf: with the anti-CSRF header); the reply.
 */
static struct reply
call_as(enum evhttp_cmd_type method, const char *path, const char *token,
    int cookie, int csrf)
{
	struct evhttp_connection	*conn;
	struct evhttp_request		*r;
	struct evkeyvalq		*h;
	struct reply			 rep;
	char				 v[256];

	memset(&rep, 0, sizeof(rep));
	assert_non_null(conn = evhttp_connection_base_new(broker->base, NULL,
	    "127.0.0.1", port));
	assert_non_null(r = evhttp_request_new(replied, &rep));
	h = evhttp_request_get_output_headers(r);
	evhttp_add_header(h, "Host", "127.0.0.1");
	if (token != NULL && cookie) {
		fmt(v, sizeof(v), "%s=%s", broker->conf->cookie, token);
		evhttp_add_header(h, "Cookie", v);
	} else if (token != NULL) {
		fmt(v, sizeof(v), "Bearer %s", token);
		evhttp_add_header(h, "Authorization", v);
	}
	if (csrf)
		evhttp_add_header(h, "X-Paprika-Request", "1");
	if (method == EVHTTP_REQ_POST) {
		evhttp_add_header(h, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(r), "{}", 2);
	}
	assert_int_equal(evhttp_make_request(conn, r, method, path), 0);
	bt_wait(reply_done, &rep, 10000, path);
	evhttp_connection_free(conn);
	if (rep.status == 0)
		fail_msg("%s: no reply", path);
	return rep;
}

static struct reply
call(enum evhttp_cmd_type method, const char *path, const char *token)
{
	return call_as(method, path, token, 0, 0);
}

static void
reply_free(struct reply *rep)
{
	json_decref(rep->json);
	if (rep->body != NULL)
		explicit_bzero(rep->body, strlen(rep->body));
	free(rep->body);
}

/* Asserts the status and the error code of a reply, and frees it. */
static void
expect(struct reply rep, int status, const char *code)
{
	const char	*got;

	if (rep.status != status)
		fail_msg("status %d, not %d: %s", rep.status, status, rep.body);
	if (code != NULL) {
		assert_non_null(rep.json);
		got = json_string_value(json_object_get(json_object_get(
		    rep.json, "error"), "code"));
		if (got == NULL || strcmp(got, code) != 0)
			fail_msg("error %s, not %s: %s", got, code, rep.body);
	}
	reply_free(&rep);
}

static void
test_routing(void **state)
{
	char	tok[BROKER_TOKEN_HEX + 1];

	bt_login("alice", ROLE_USER, tok, NULL);
	expect(call(EVHTTP_REQ_GET, "/api/v1/nothing", tok), 404, "not_found");
	expect(call(EVHTTP_REQ_GET, "/api/v1/desktops/office/connect/x", tok),
	    404, "not_found");
	expect(call(EVHTTP_REQ_GET, "/api/v1/desktops/office/connect", tok),
	    405, "method_not_allowed");
	expect(call(EVHTTP_REQ_POST, "/api/v1/desktops", tok), 405,
	    "method_not_allowed");
	expect(call(EVHTTP_REQ_DELETE, "/api/v1/sessions", tok), 405,
	    "method_not_allowed");
	expect(call(EVHTTP_REQ_GET, "/api/v1/desktops", tok), 200, NULL);
}

/* No token, a token of the wrong shape, one that was never issued. */
static void
test_unauthenticated(void **state)
{
	struct reply	rep;
	char		tok[BROKER_TOKEN_HEX + 1];

	rep = call(EVHTTP_REQ_GET, "/api/v1/desktops", NULL);
	assert_string_equal(rep.www_auth, "Bearer");
	expect(rep, 401, "unauthenticated");
	expect(call(EVHTTP_REQ_GET, "/api/v1/desktops", "abc"), 401,
	    "unauthenticated");
	memset(tok, 'a', BROKER_TOKEN_HEX);
	tok[BROKER_TOKEN_HEX] = '\0';
	expect(call(EVHTTP_REQ_POST, "/api/v1/desktops/office/connect", tok),
	    401, "unauthenticated");
	expect(call(EVHTTP_REQ_GET, "/api/v1/sessions", NULL), 401,
	    "unauthenticated");
	assert_int_equal(HASH_COUNT(broker->sessions), 0);
}

/* Helpdesk routes refuse users; admin routes refuse the helpdesk. */
static void
test_roles(void **state)
{
	char	user[BROKER_TOKEN_HEX + 1], hd[BROKER_TOKEN_HEX + 1];
	char	admin[BROKER_TOKEN_HEX + 1];

	bt_login("alice", ROLE_USER, user, NULL);
	bt_login("harry", ROLE_USER | ROLE_HELPDESK, hd, NULL);
	bt_login("olga", ROLE_USER | ROLE_HELPDESK | ROLE_ADMIN, admin, NULL);
	expect(call(EVHTTP_REQ_GET, "/api/v1/sessions", user), 403,
	    "forbidden");
	expect(call(EVHTTP_REQ_GET, "/api/v1/pools", user), 403, "forbidden");
	expect(call(EVHTTP_REQ_POST, "/api/v1/pools/office/desktops/d1/reset",
	    user), 403, "forbidden");
	expect(call(EVHTTP_REQ_POST, "/api/v1/users/bob/logout", user), 403,
	    "forbidden");
	expect(call(EVHTTP_REQ_GET, "/api/v1/sessions", hd), 200, NULL);
	expect(call(EVHTTP_REQ_GET, "/api/v1/pools", hd), 200, NULL);
	expect(call(EVHTTP_REQ_POST,
	    "/api/v1/pools/office/desktops/d1/repair", hd), 403, "forbidden");
	expect(call(EVHTTP_REQ_GET, "/api/v1/audit/export", hd), 403,
	    "forbidden");
	expect(call(EVHTTP_REQ_POST, "/api/v1/gpus/hv1/0000:41:00.0/clear",
	    hd), 403, "forbidden");
	/* The admin passes the role check: d1 is not broken. */
	expect(call(EVHTTP_REQ_POST,
	    "/api/v1/pools/office/desktops/d1/repair", admin), 409, NULL);
}

/* A user reaches only their own desktops and sessions. */
static void
test_other_users(void **state)
{
	struct reply	 rep;
	struct session	*s;
	char		 alice[BROKER_TOKEN_HEX + 1], bob[BROKER_TOKEN_HEX + 1];
	char		 path[128], id[17];

	bt_login("alice", ROLE_USER, alice, NULL);
	bt_login("bob", ROLE_USER, bob, NULL);
	expect(call(EVHTTP_REQ_POST, "/api/v1/desktops/lab/connect?wait=5",
	    alice), 200, NULL);
	assert_non_null(s = session_find_live("alice",
	    conf_pool_find(broker->conf, "lab")));
	fmt(id, sizeof(id), "%016llx", (unsigned long long)s->id);

	/* bob is not entitled to lab: it does not exist for him. */
	expect(call(EVHTTP_REQ_POST, "/api/v1/desktops/lab/connect", bob),
	    404, "no_desktop");
	expect(call(EVHTTP_REQ_POST, "/api/v1/desktops/lab/end", bob), 404,
	    "no_desktop");
	expect(call(EVHTTP_REQ_GET, "/api/v1/desktops/lab/console.vv", bob),
	    404, "no_desktop");
	/* On a pool both may use, bob's end ends bob's session: none. */
	expect(call(EVHTTP_REQ_POST, "/api/v1/desktops/office/end", bob), 404,
	    "no_session");
	/* The helpdesk's routes by session id refuse him. */
	fmt(path, sizeof(path), "/api/v1/sessions/%s/end", id);
	expect(call(EVHTTP_REQ_POST, path, bob), 403, "forbidden");
	fmt(path, sizeof(path), "/api/v1/sessions/%s/disconnect", id);
	expect(call(EVHTTP_REQ_POST, path, bob), 403, "forbidden");
	assert_ptr_equal(session_find(s->id), s);

	/* bob's desktop list does not show alice's session. */
	rep = call(EVHTTP_REQ_GET, "/api/v1/desktops", bob);
	assert_int_equal(rep.status, 200);
	assert_null(strstr(rep.body, id));
	assert_null(strstr(rep.body, "\"lab\""));
	reply_free(&rep);
	bt_settle();
}

/* The portal's cookie works only with the anti-CSRF header on changes. */
static void
test_cookie_csrf(void **state)
{
	char	tok[BROKER_TOKEN_HEX + 1];

	bt_login("alice", ROLE_USER, tok, NULL);
	expect(call_as(EVHTTP_REQ_GET, "/api/v1/desktops", tok, 1, 0), 200,
	    NULL);
	expect(call_as(EVHTTP_REQ_POST, "/api/v1/desktops/office/connect", tok,
	    1, 0), 403, "csrf");
	expect(call_as(EVHTTP_REQ_GET, "/api/v1/desktops/office/console.vv",
	    tok, 1, 0), 403, "csrf");
	assert_int_equal(HASH_COUNT(broker->sessions), 0);
	expect(call_as(EVHTTP_REQ_POST, "/api/v1/desktops/office/connect", tok,
	    1, 1), 202, NULL);
	bt_settle();
}

/* A connect: 202 while the desktop starts, then the connection, then the
 * .vv; the helpdesk sees the session and ends it. */
static void
test_connect(void **state)
{
	struct reply	 rep;
	struct session	*s;
	const char	*pw;
	char		 tok[BROKER_TOKEN_HEX + 1], hd[BROKER_TOKEN_HEX + 1];
	char		 path[128], line[128];

	bt_login("alice", ROLE_USER, tok, NULL);
	bt_login("harry", ROLE_HELPDESK, hd, NULL);
	rep = call(EVHTTP_REQ_POST, "/api/v1/desktops/office/connect", tok);
	assert_int_equal(rep.status, 202);
	assert_string_equal(json_string_value(json_object_get(rep.json,
	    "state")), "starting");
	reply_free(&rep);
	expect(call(EVHTTP_REQ_POST, "/api/v1/desktops/office/connect?wait=x",
	    tok), 400, "bad_request");

	rep = call(EVHTTP_REQ_POST, "/api/v1/desktops/office/connect?wait=5",
	    tok);
	assert_int_equal(rep.status, 200);
	pw = json_string_value(json_object_get(rep.json, "password"));
	assert_non_null(pw);
	assert_string_equal(pw, fakevirt_password(BT_HOST, "d1"));
	reply_free(&rep);

	rep = call(EVHTTP_REQ_GET, "/api/v1/desktops/office/console.vv", tok);
	assert_int_equal(rep.status, 200);
	assert_string_equal(rep.type, "application/x-virt-viewer");
	fmt(line, sizeof(line), "\npassword=%s\n", fakevirt_password(BT_HOST,
	    "d1"));
	assert_non_null(strstr(rep.body, line));
	reply_free(&rep);

	assert_non_null(s = session_find_live("alice",
	    conf_pool_find(broker->conf, "office")));
	rep = call(EVHTTP_REQ_GET, "/api/v1/sessions", hd);
	assert_int_equal(rep.status, 200);
	assert_non_null(strstr(rep.body, "\"alice\""));
	reply_free(&rep);
	fmt(path, sizeof(path), "/api/v1/sessions/%016llx/end",
	    (unsigned long long)s->id);
	expect(call(EVHTTP_REQ_POST, path, hd), 200, NULL);
	assert_null(session_find_live("alice",
	    conf_pool_find(broker->conf, "office")));
	expect(call(EVHTTP_REQ_POST, path, hd), 404, "no_session");
	bt_settle();
}

/* A start the host refuses: 502 with the sentence, not libvirt's words. */
static void
test_connect_refused(void **state)
{
	struct reply	rep;
	char		tok[BROKER_TOKEN_HEX + 1];

	bt_login("alice", ROLE_USER, tok, NULL);
	fakevirt_fail_next(BT_HOST, "start", VIRT_FAULT_LIBVIRT,
	    "internal error: process exited while connecting to monitor",
	    NULL);
	rep = call(EVHTTP_REQ_POST, "/api/v1/desktops/office/connect?wait=5",
	    tok);
	assert_int_equal(rep.status, 502);
	assert_non_null(strstr(rep.body, "the desktop's host could not do it"));
	assert_null(strstr(rep.body, "monitor"));
	reply_free(&rep);

	fakevirt_host_up(BT_HOST, 0);
	bt_settle();
	expect(call(EVHTTP_REQ_POST, "/api/v1/desktops/lab/connect", tok), 503,
	    "unavailable");
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_routing),
		T(test_unauthenticated),
		T(test_roles),
		T(test_other_users),
		T(test_cookie_csrf),
		T(test_connect),
		T(test_connect_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
