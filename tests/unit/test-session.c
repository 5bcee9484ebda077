/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the broker's state machine (session.c, pool.c, grant.c)
 * on the fake hosts of fakevirt.c: connect, start, ready, connected,
 * grace, the pool's disconnect action and the end; failures of the host;
 * idle and maximum time; a restart that reloads the sessions and checks
 * them against the host; the connection a grant hands out.
 */
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "brokertest.h"
#include "fakevirt.h"
#include "ticket.h"
#include "unit.h"

static const char conf[] =
    "start_timeout = 30\nticket_lifetime = 60\npassword_lifetime = 60\n"
    "[gateway gw]\nproxy = http://gw.example:3128\n"
    "[host hv1]\nuri = fake:///hv1\nspice_subject = CN=hv1\n"
    /* A shared pool: guests go back reverted to the snapshot. */
    "[pool office]\nkind = shared\nhost = hv1\nguests = d1, d2\n"
    "snapshot = clean\nusers = alice, bob, carol\nready_when = agent\n"
    "disconnect_action = none\ndisconnect_grace = 60\n"
    "idle_timeout = 600\nmax_session = 7200\n"
    /* Static pools, one per disconnect action. */
    "[pool mine]\nkind = static\nhost = hv1\nassign = alice=a-desk, "
    "bob=b-desk\nready_when = agent\ndisconnect_action = shutdown\n"
    "disconnect_grace = 60\n"
    "[pool lab]\nkind = static\nhost = hv1\nassign = alice=l-desk\n"
    "ready_when = agent\ndisconnect_action = revert\nsnapshot = clean\n"
    "disconnect_grace = 30\n"
    "[pool kiosk]\nkind = static\nhost = hv1\nassign = alice=k-desk\n"
    "ready_when = agent\ndisconnect_action = lock\ndisconnect_grace = 0\n";

static const char *const doms[] = { "d1", "d2", "a-desk", "b-desk",
    "l-desk", "k-desk" };

static int
setup(void **state)
{
	size_t	i;

	for (i = 0; i < sizeof(doms) / sizeof(doms[0]); i++)
		fakevirt_define(BT_HOST, doms[i]);
	bt_start(conf);
	fakevirt_log_clear(BT_HOST);
	return 0;
}

/* A SPICE client's channel on the session's guest. */
static void
graphics(uint64_t id, enum virt_graphics_phase phase, const char *peer)
{
	struct session	*s = session_find(id);

	assert_non_null(s);
	fakevirt_graphics(BT_HOST, s->guest, phase, peer);
	bt_settle();
}

/* connect -> starting -> ready: the guest started, its SPICE port read,
 * its agent asked; the guest is lent to the session. */
static void
test_connect_ready(void **state)
{
	struct session	*s;
	struct guest	*g;
	uint64_t	 id;

	s = bt_session("alice", "office");
	id = s->id;
	assert_int_equal(s->state, SESSION_STARTING);
	/* Nothing completes inside the call. */
	assert_int_equal(fakevirt_state(BT_HOST, s->guest), VIRT_STATE_SHUTOFF);
	bt_wait_state(id, SESSION_READY);
	s = session_find(id);
	assert_string_equal(s->guest, "d1");
	assert_int_equal(s->progress, 100);
	assert_int_equal(fakevirt_state(BT_HOST, "d1"), VIRT_STATE_RUNNING);
	assert_true(s->tls_port >= 5901);
	assert_string_equal(s->spice_host, "192.0.2.10");
	assert_true(s->ready_at != 0);
	assert_non_null(strstr(fakevirt_log(BT_HOST), "start d1"));
	assert_non_null(strstr(fakevirt_log(BT_HOST), "spice d1"));
	assert_non_null(strstr(fakevirt_log(BT_HOST), "ready d1"));
	assert_non_null(g = pool_guest_find(bt_pool("office"), "d1"));
	assert_int_equal(g->state, GUEST_ASSIGNED);
	assert_string_equal(g->user, "alice");
	assert_int_equal(bt_audit_count("session start", "ok"), 1);
}

/* A second connect of the same user while the first starts: the same
 * session, one start. */
static void
test_connect_twice(void **state)
{
	struct session	*a, *b;

	a = bt_session("alice", "office");
	b = bt_session("alice", "office");
	assert_ptr_equal(a, b);
	bt_wait_state(a->id, SESSION_READY);
	b = bt_session("alice", "office");
	assert_ptr_equal(a, b);
	assert_int_equal(b->state, SESSION_READY);
	bt_settle();
	assert_int_equal(bt_count(fakevirt_log(BT_HOST), "start "), 1);
	assert_int_equal(HASH_COUNT(broker->sessions), 1);
}

/* Two users on two guests; the third user is told the pool is full. */
static void
test_pool_full(void **state)
{
	struct session	*s;
	char		 err[256] = "";
	int		 status = 0;
	uint64_t	 a, b;

	a = bt_ready("alice", "office");
	b = bt_ready("bob", "office");
	assert_string_not_equal(session_find(a)->guest,
	    session_find(b)->guest);
	s = bt_connect("carol", "office", &status, err, sizeof(err));
	assert_null(s);
	assert_int_equal(status, 503);
	assert_non_null(strstr(err, "every desktop of pool office is in use"));
}

/* libvirt refuses the start: the session fails with a sentence for the
 * user (libvirt's words only in the audit); a new connect retries. */
static void
test_start_refused(void **state)
{
	struct session	*s;
	uint64_t	 id;

	fakevirt_fail_next(BT_HOST, "start", VIRT_FAULT_LIBVIRT,
	    "internal error: qemu unexpectedly closed the monitor", NULL);
	s = bt_failed("alice", "mine");
	id = s->id;
	assert_string_equal(s->error, "the desktop's host could not do it: "
	    "try again, and call the helpdesk if it happens again");
	assert_null(strstr(s->error, "qemu"));
	assert_int_equal(bt_audit_count("connect", "failed"), 1);
	assert_int_equal(fakevirt_state(BT_HOST, "a-desk"), VIRT_STATE_SHUTOFF);

	s = bt_session("alice", "mine");
	assert_true(s->id != id);
	assert_null(session_find(id));
	bt_wait_state(s->id, SESSION_READY);
}

/* An unreachable host: no session, 503 and words that quote nothing. */
static void
test_host_down(void **state)
{
	char	err[256] = "";
	int	status = 0;

	fakevirt_host_up(BT_HOST, 0);
	bt_settle();
	assert_null(bt_connect("alice", "mine", &status, err, sizeof(err)));
	assert_int_equal(status, 503);
	assert_non_null(strstr(err, "unreachable"));
	assert_int_equal(HASH_COUNT(broker->sessions), 0);
}

/* The host goes away during the start: the session waits for it and
 * starts once it is back. */
static void
test_host_back(void **state)
{
	struct session	*s;

	fakevirt_hold(BT_HOST, 1);
	s = bt_session("alice", "mine");
	fakevirt_host_up(BT_HOST, 0);
	fakevirt_hold(BT_HOST, 0);
	bt_settle();
	s = session_find_live("alice", bt_pool("mine"));
	assert_non_null(s);
	assert_int_equal(s->state, SESSION_FAILED);
	assert_string_equal(s->error, "the desktop's host cannot be reached "
	    "at the moment: try again later");
	/* Back: a connect starts again. */
	fakevirt_host_up(BT_HOST, 1);
	bt_settle();
	s = bt_session("alice", "mine");
	bt_wait_state(s->id, SESSION_READY);
}

/* ready -> connected -> disconnected; the grace runs out, the static
 * pool's shutdown action runs and the session ends. */
static void
test_grace_shutdown(void **state)
{
	struct session	*s;
	uint64_t	 id = bt_ready("alice", "mine");

	graphics(id, VIRT_GRAPHICS_CONNECT, "203.0.113.5:40000");
	assert_int_equal(session_find(id)->state, SESSION_READY);
	graphics(id, VIRT_GRAPHICS_INITIALIZE, "203.0.113.5:40000");
	graphics(id, VIRT_GRAPHICS_INITIALIZE, "203.0.113.5:40001");
	assert_int_equal(session_find(id)->state, SESSION_CONNECTED);
	/* One channel of two leaves: still connected. */
	graphics(id, VIRT_GRAPHICS_DISCONNECT, "203.0.113.5:40001");
	assert_int_equal(session_find(id)->state, SESSION_CONNECTED);
	graphics(id, VIRT_GRAPHICS_DISCONNECT, "203.0.113.5:40000");
	s = session_find(id);
	assert_int_equal(s->state, SESSION_DISCONNECTED);
	assert_true(s->disconnected_at != 0);

	/* Within the grace: nothing happens. */
	s->disconnected_at = time(NULL) - 59;
	session_sweep();
	bt_settle();
	assert_non_null(s = session_find(id));
	assert_int_equal(s->state, SESSION_DISCONNECTED);
	assert_null(strstr(fakevirt_log(BT_HOST), "power a-desk"));

	s->disconnected_at = time(NULL) - 60;
	session_sweep();
	assert_null(session_find(id));
	bt_settle();
	assert_non_null(strstr(fakevirt_log(BT_HOST), "power a-desk shutdown"));
	assert_int_equal(fakevirt_state(BT_HOST, "a-desk"), VIRT_STATE_SHUTOFF);
	assert_int_equal(bt_audit_count("disconnect action", "ok"), 1);
	assert_int_equal(bt_audit_count("session end", "ok"), 1);
}

/* Back within the grace: connected again, no action. */
static void
test_reconnect_in_grace(void **state)
{
	struct session	*s;
	uint64_t	 id = bt_ready("alice", "mine");

	graphics(id, VIRT_GRAPHICS_INITIALIZE, "203.0.113.5:40000");
	graphics(id, VIRT_GRAPHICS_DISCONNECT, "203.0.113.5:40000");
	assert_int_equal(session_find(id)->state, SESSION_DISCONNECTED);
	graphics(id, VIRT_GRAPHICS_INITIALIZE, "198.51.100.9:5000");
	s = session_find(id);
	assert_int_equal(s->state, SESSION_CONNECTED);
	s->disconnected_at = time(NULL) - 3600;
	session_sweep();
	bt_settle();
	assert_int_equal(session_find(id)->state, SESSION_CONNECTED);
	assert_null(strstr(fakevirt_log(BT_HOST), "power "));
}

/* revert: the static desktop goes back to its snapshot; the session ends. */
static void
test_grace_revert(void **state)
{
	uint64_t	id = bt_ready("alice", "lab");

	graphics(id, VIRT_GRAPHICS_INITIALIZE, "203.0.113.5:40000");
	graphics(id, VIRT_GRAPHICS_DISCONNECT, "203.0.113.5:40000");
	session_find(id)->disconnected_at = time(NULL) - 30;
	session_sweep();
	assert_null(session_find(id));
	bt_settle();
	assert_non_null(strstr(fakevirt_log(BT_HOST), "revert l-desk clean"));
}

/* lock: the screen is locked, the session stays for the user; a failed
 * lock is audited as failed. */
static void
test_grace_lock(void **state)
{
	struct session	*s;
	uint64_t	 id = bt_ready("alice", "kiosk");

	graphics(id, VIRT_GRAPHICS_INITIALIZE, "203.0.113.5:40000");
	graphics(id, VIRT_GRAPHICS_DISCONNECT, "203.0.113.5:40000");
	session_sweep();
	bt_settle();
	assert_non_null(s = session_find(id));
	assert_int_equal(s->state, SESSION_DISCONNECTED);
	assert_true(s->action_done);
	assert_int_equal(bt_count(fakevirt_log(BT_HOST), "lock k-desk"), 1);
	/* Once per disconnect. */
	session_sweep();
	bt_settle();
	assert_int_equal(bt_count(fakevirt_log(BT_HOST), "lock k-desk"), 1);
	assert_int_equal(bt_audit_count("disconnect action", "ok"), 1);

	fakevirt_fail_next(BT_HOST, "lock", VIRT_FAULT_NONE,
	    "the desktop has no guest agent", NULL);
	graphics(id, VIRT_GRAPHICS_INITIALIZE, "203.0.113.5:40002");
	graphics(id, VIRT_GRAPHICS_DISCONNECT, "203.0.113.5:40002");
	session_sweep();
	bt_settle();
	assert_int_equal(bt_audit_count("disconnect action", "failed"), 1);
}

/* A shared guest goes back to its snapshot, then is free again. */
static void
test_shared_release(void **state)
{
	struct session	*s;
	struct guest	*g;
	uint64_t	 id = bt_ready("alice", "office");

	assert_non_null(s = session_find(id));
	session_end(s, "alice", "ended by the user");
	assert_null(session_find(id));
	assert_non_null(g = pool_guest_find(bt_pool("office"), "d1"));
	assert_int_equal(g->state, GUEST_CLEANING);
	bt_settle();
	assert_int_equal(g->state, GUEST_FREE);
	assert_non_null(strstr(fakevirt_log(BT_HOST), "revert d1 clean"));
}

/* The desktop dies under a ready session: the session ends. */
static void
test_domain_dies(void **state)
{
	uint64_t	id = bt_ready("alice", "mine");

	graphics(id, VIRT_GRAPHICS_INITIALIZE, "203.0.113.5:40000");
	fakevirt_set_state(BT_HOST, "a-desk", VIRT_STATE_CRASHED);
	bt_settle();
	assert_null(session_find(id));
	assert_int_equal(bt_audit_count("session end", "ok"), 1);
}

/* The desktop stops while it starts: the session fails. */
static void
test_dies_while_starting(void **state)
{
	struct session	*s;
	uint64_t	 id;

	fakevirt_agent(BT_HOST, "a-desk", 0);
	s = bt_session("alice", "mine");
	id = s->id;
	bt_run(100);
	assert_int_equal(session_find(id)->state, SESSION_STARTING);
	assert_string_equal(session_find(id)->step, "booting");
	fakevirt_set_state(BT_HOST, "a-desk", VIRT_STATE_SHUTOFF);
	bt_wait_state(id, SESSION_FAILED);
}

/* No client for idle_timeout: ended; connected ones are not idle. */
static void
test_idle_timeout(void **state)
{
	struct session	*s;
	uint64_t	 a = bt_ready("alice", "office");
	uint64_t	 b = bt_ready("bob", "office");

	graphics(b, VIRT_GRAPHICS_INITIALIZE, "203.0.113.6:40000");
	s = session_find(a);
	s->created = s->ready_at = time(NULL) - 599;
	session_sweep();
	assert_non_null(session_find(a));
	s->created = s->ready_at = time(NULL) - 600;
	s = session_find(b);
	s->created = s->ready_at = s->connected_at = time(NULL) - 601;
	session_sweep();
	assert_null(session_find(a));
	assert_non_null(session_find(b));
	bt_settle();
}

/* max_session ends even a connected session; the client is kicked. */
static void
test_max_session(void **state)
{
	struct session	*s;
	uint64_t	 id = bt_ready("alice", "office");

	graphics(id, VIRT_GRAPHICS_INITIALIZE, "203.0.113.5:40000");
	s = session_find(id);
	s->created = time(NULL) - 7199;
	session_sweep();
	assert_non_null(session_find(id));
	s->created = time(NULL) - 7200;
	fakevirt_log_clear(BT_HOST);
	session_sweep();
	assert_null(session_find(id));
	bt_settle();
	assert_non_null(strstr(fakevirt_log(BT_HOST), "password d1"));
	assert_non_null(strstr(fakevirt_log(BT_HOST), "revert d1 clean"));
}

/* The helpdesk's disconnect: the client is kicked (a new password that
 * drops it), the session waits in its grace. */
static void
test_helpdesk_disconnect(void **state)
{
	struct session	*s;
	uint64_t	 id = bt_ready("alice", "mine"), gw;

	graphics(id, VIRT_GRAPHICS_INITIALIZE, "203.0.113.5:40000");
	s = session_find(id);
	gw = s->gw_id;
	session_disconnect(s, "helpdesk1");
	assert_true(s->gw_id != gw);
	bt_settle();
	assert_int_equal(session_find(id)->state, SESSION_DISCONNECTED);
	assert_string_not_equal(fakevirt_password(BT_HOST, "a-desk"), "");
	assert_int_equal(bt_audit_count("session disconnect", "ok"), 1);
}

/* A start that never finishes fails after start_timeout. */
static void
test_start_timeout(void **state)
{
	struct session	*s;

	fakevirt_hold(BT_HOST, 1);
	s = bt_session("alice", "mine");
	s->created = time(NULL) - 31;
	session_sweep();
	/* A job is under way: the session waits for it. */
	assert_int_equal(s->state, SESSION_STARTING);
	fakevirt_hold(BT_HOST, 0);
	fakevirt_agent(BT_HOST, "a-desk", 0);
	bt_run(100);
	s = session_find_live("alice", bt_pool("mine"));
	assert_int_equal(s->state, SESSION_STARTING);
	s->busy = 0;
	session_sweep();
	assert_int_equal(s->state, SESSION_FAILED);
	assert_string_equal(s->error, "the desktop did not start in time");
	/* The ready watch still runs: its next look stops it. */
	bt_run(700);
}

/* A restart reloads the sessions and the guests from the state, and
 * checks them against the host: a desktop that stopped meanwhile ends
 * its session, one that runs keeps it. */
static void
test_restart(void **state)
{
	struct session	*s;
	struct guest	*g;
	uint64_t	 a = bt_ready("alice", "mine");
	uint64_t	 b = bt_ready("bob", "office");
	uint64_t	 c = bt_ready("carol", "office");
	uint16_t	 port;

	graphics(a, VIRT_GRAPHICS_INITIALIZE, "203.0.113.5:40000");
	port = session_find(a)->tls_port;
	bt_stop(1);
	/* While the broker is away carol's desktop is shut down. */
	fakevirt_set_state(BT_HOST, "d2", VIRT_STATE_SHUTOFF);
	bt_reopen();

	assert_non_null(s = session_find(a));
	assert_int_equal(s->state, SESSION_CONNECTED);
	assert_int_equal(s->tls_port, port);
	assert_string_equal(s->user, "alice");
	assert_ptr_equal(s->pool, bt_pool("mine"));
	assert_non_null(s = session_find(b));
	assert_int_equal(s->state, SESSION_READY);
	assert_null(session_find(c));
	assert_non_null(g = pool_guest_find(bt_pool("office"), "d1"));
	assert_int_equal(g->state, GUEST_ASSIGNED);
	assert_int_equal(g->session, b);
	assert_non_null(g = pool_guest_find(bt_pool("office"), "d2"));
	assert_int_equal(g->state, GUEST_FREE);

	/* A channel from before the restart leaves: the client is gone. */
	graphics(a, VIRT_GRAPHICS_DISCONNECT, "203.0.113.5:40000");
	assert_int_equal(session_find(a)->state, SESSION_DISCONNECTED);
}

/* The grant: a fresh password on the guest, a gateway ticket for its
 * SPICE port signed with the broker's key, and the .vv file of both. */
struct granted {
	json_t	*conn;
	char	 error[400];
	int	 done;
};

static void
granted(json_t *conn, const char *error, void *arg)
{
	struct granted	*g = arg;

	g->conn = conn;
	if (error != NULL)
		strlcpy(g->error, error, sizeof(g->error));
	g->done = 1;
}

static int
grant_done(void *arg)
{
	return ((struct granted *)arg)->done;
}

static void
test_grant(void **state)
{
	struct granted		 g = { NULL, "", 0 };
	struct sockaddr_in	 sin;
	struct session		*s;
	struct ticket		 t;
	const char		*host, *pw;
	char			*vv, line[256];
	uint64_t		 id = bt_ready("alice", "office");

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "203.0.113.5", &sin.sin_addr);
	s = session_find(id);
	assert_int_equal(grant_new(s, (struct sockaddr *)&sin, granted, &g), 0);
	assert_int_equal(g.done, 0);
	bt_wait(grant_done, &g, 2000, "the grant");
	if (g.conn == NULL)
		fail_msg("grant: %s", g.error);
	pw = json_string_value(json_object_get(g.conn, "password"));
	assert_non_null(pw);
	assert_int_equal(strlen(pw), BROKER_PASSWORD_LEN);
	assert_string_equal(pw, fakevirt_password(BT_HOST, "d1"));
	assert_int_equal(json_integer_value(json_object_get(g.conn,
	    "tls_port")), s->tls_port);
	host = json_string_value(json_object_get(g.conn, "host"));
	assert_int_equal(ticket_decode(host, strlen(host), &broker->keys,
	    time(NULL), &t), 0);
	assert_int_equal(t.af, AF_INET);
	assert_int_equal(t.nports, 1);
	assert_int_equal(t.ports[0], s->tls_port);
	assert_int_equal(t.session_id, s->gw_id);
	assert_string_equal(t.user, "alice");
	assert_true(s->gw_tickets_until == t.expiry);

	vv = grant_vv(g.conn);
	assert_true(strncmp(vv, "[virt-viewer]\ntype=spice\n", 25) == 0);
	fmt(line, sizeof(line), "\npassword=%s\n", pw);
	assert_non_null(strstr(vv, line));
	fmt(line, sizeof(line), "\nhost=%s\n", host);
	assert_non_null(strstr(vv, line));
	fmt(line, sizeof(line), "\ntls-port=%u\n", s->tls_port);
	assert_non_null(strstr(vv, line));
	assert_non_null(strstr(vv, "\nproxy=http://gw.example:3128\n"));
	assert_non_null(strstr(vv, "\nhost-subject=CN=hv1\n"));
	assert_non_null(strstr(vv, "\ndelete-this-file=1\n"));
	free(vv);
	json_decref(g.conn);
	assert_int_equal(bt_audit_count("connect", "ok"), 1);

	/* The password cannot be set: no connection, a sentence. */
	memset(&g, 0, sizeof(g));
	fakevirt_fail_next(BT_HOST, "password", VIRT_FAULT_LIBVIRT,
	    "internal error: unable to execute QEMU command", NULL);
	assert_int_equal(grant_new(s, (struct sockaddr *)&sin, granted, &g), 0);
	bt_wait(grant_done, &g, 2000, "the refused grant");
	assert_null(g.conn);
	assert_string_equal(g.error, "cannot set the desktop's SPICE password: "
	    "the desktop's host could not do it: try again, and call the "
	    "helpdesk if it happens again");

	/* The session ends while the password is being set. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(grant_new(s, (struct sockaddr *)&sin, granted, &g), 0);
	session_end(s, "alice", "ended by the user");
	bt_wait(grant_done, &g, 2000, "the grant of an ended session");
	assert_null(g.conn);
	assert_string_equal(g.error, "the session ended");
	bt_settle();
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, bt_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_connect_ready),
		T(test_connect_twice),
		T(test_pool_full),
		T(test_start_refused),
		T(test_host_down),
		T(test_host_back),
		T(test_grace_shutdown),
		T(test_reconnect_in_grace),
		T(test_grace_revert),
		T(test_grace_lock),
		T(test_shared_release),
		T(test_domain_dies),
		T(test_dies_while_starting),
		T(test_idle_timeout),
		T(test_max_session),
		T(test_helpdesk_disconnect),
		T(test_start_timeout),
		T(test_restart),
		T(test_grant),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
