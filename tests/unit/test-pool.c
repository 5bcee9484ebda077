/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the pools (pool.c) on the fake hosts of fakevirt.c:
 * template pools clone on demand up to max, keep spares ready, delete a
 * clone after use, and put a clone that cannot be cleaned out of service;
 * a failed clone or spare and a host that is down; clones spread over
 * several hosts; a restart that reloads clones and spares and finishes
 * what it interrupted; shared pools lend free guests, revert them after
 * use and never lend one whose revert failed.
 */
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
#include "unit.h"

#define HV2	"hv2"

static const char conf[] =
    "[gateway gw]\nproxy = http://gw.example:3128\n"
    "[host hv1]\nuri = fake:///hv1\n"
    "[host hv2]\nuri = fake:///hv2\n"
    /* Sweeps only when a test calls pool_maintain(). */
    "[pool lab]\nkind = template\nhost = hv1\ntemplate = tmpl\nmax = 2\n"
    "spares = 1\nusers = alice, bob, carol\nready_when = agent\n"
    "[pool farm]\nkind = template\nhosts = hv1, hv2\ntemplate = tmpl\n"
    "max = 4\nusers = alice, bob, carol, dave\nready_when = agent\n"
    "[pool office]\nkind = shared\nhost = hv1\nguests = d1, d2\n"
    "snapshot = clean\nusers = alice, bob, carol\nready_when = agent\n"
    "[pool open]\nkind = shared\nhost = hv1\nguests = o1\n"
    "users = alice, bob, carol\nready_when = agent\n";

static int
setup(void **state)
{
	fakevirt_define(BT_HOST, "tmpl");
	fakevirt_define(HV2, "tmpl");
	fakevirt_define(BT_HOST, "d1");
	fakevirt_define(BT_HOST, "d2");
	fakevirt_define(BT_HOST, "o1");
	bt_start(conf);
	fakevirt_log_clear(BT_HOST);
	fakevirt_log_clear(HV2);
	return 0;
}

static struct guest *
guest(const char *p, const char *name)
{
	return pool_guest_find(bt_pool(p), name);
}

/* A connect that must be refused with 503 and words holding want. */
static void
refused(const char *user, const char *p, const char *want)
{
	char	err[256] = "";
	int	status = 0;

	assert_null(bt_connect(user, p, &status, err, sizeof(err)));
	assert_int_equal(status, 503);
	if (strstr(err, want) == NULL)
		fail_msg("refusal \"%s\" lacks \"%s\"", err, want);
}

static void
end(uint64_t id)
{
	struct session	*s = session_find(id);

	assert_non_null(s);
	session_end(s, s->user, "ended by the user");
}

struct want_guest {
	const char	*pool;
	const char	*name;
	enum guest_state st;		/* GUEST_BROKEN + 1: gone */
};

#define GONE	(GUEST_BROKEN + 1)

static int
guest_in(void *arg)
{
	struct want_guest	*w = arg;
	struct guest		*g = guest(w->pool, w->name);

	if ((int)w->st == GONE)
		return g == NULL;
	return g != NULL && g->state == w->st;
}

/* Runs the loop until the guest is in st (or GONE); fails with its state. */
static void
wait_guest(const char *p, const char *name, int st)
{
	struct want_guest	 w = { p, name, (enum guest_state)st };
	char			 what[128];

	fmt(what, sizeof(what), "guest %s/%s to be %s", p, name,
	    st == GONE ? "gone" : pool_guest_state_name(st));
	bt_wait(guest_in, &w, 3000, what);
}

/* alice and bob fill pool p of two desktops, on first and second; carol
 * is told it is full. alice's session id. */
static uint64_t
fill(const char *p, const char *first, const char *second)
{
	uint64_t	a = bt_ready("alice", p);
	char		full[128];

	assert_string_equal(session_find(a)->guest, first);
	assert_string_equal(session_find(bt_ready("bob", p))->guest, second);
	assert_int_equal(pool_available(bt_pool(p)), 0);
	fmt(full, sizeof(full), "every desktop of pool %s is in use", p);
	refused("carol", p, full);
	return a;
}

/* user's session on pool p ends, and op, cleaning its guest, fails with
 * error: the guest, out of service. */
static struct guest *
clean_fails(const char *user, const char *p, const char *op,
    const char *error)
{
	uint64_t	id = bt_ready(user, p);
	char		name[128];

	strlcpy(name, session_find(id)->guest, sizeof(name));
	fakevirt_fail_next(BT_HOST, op, VIRT_FAULT_LIBVIRT, error, NULL);
	end(id);
	wait_guest(p, name, GUEST_BROKEN);
	return guest(p, name);
}

/* A template pool clones on demand: the user waits while the clone is
 * made, then it starts; the clone is the user's. */
static void
test_clone_on_demand(void **state)
{
	struct session	*s;
	struct guest	*g;
	uint64_t	 id;

	s = bt_session("alice", "lab");
	id = s->id;
	assert_string_equal(s->guest, "lab-1");
	assert_string_equal(s->step, "creating the desktop");
	assert_non_null(g = guest("lab", "lab-1"));
	assert_int_equal(g->state, GUEST_CREATING);
	assert_int_equal(g->session, id);
	assert_string_equal(g->user, "alice");
	/* Nothing was made inside the call. */
	assert_int_equal(fakevirt_state(BT_HOST, "lab-1"), VIRT_STATE_MISSING);
	bt_wait_state(id, SESSION_READY);
	assert_int_equal(g->state, GUEST_ASSIGNED);
	assert_int_equal(fakevirt_state(BT_HOST, "lab-1"), VIRT_STATE_RUNNING);
	assert_non_null(strstr(fakevirt_log(BT_HOST),
	    "clone tmpl lab-1\nstart lab-1\n"));
	assert_int_equal(bt_audit_count("desktop create", "ok"), 1);
	/* The template itself is never started. */
	assert_int_equal(fakevirt_state(BT_HOST, "tmpl"), VIRT_STATE_SHUTOFF);
}

/* After use the clone is deleted, and its name is free again. */
static void
test_clone_removed_after_use(void **state)
{
	uint64_t	id = bt_ready("alice", "lab");

	end(id);
	assert_int_equal(guest("lab", "lab-1")->state, GUEST_CLEANING);
	wait_guest("lab", "lab-1", GONE);
	bt_settle();
	assert_int_equal(fakevirt_state(BT_HOST, "lab-1"), VIRT_STATE_MISSING);
	assert_non_null(strstr(fakevirt_log(BT_HOST), "remove-clone lab-1"));
	fakevirt_log_clear(BT_HOST);
	id = bt_ready("bob", "lab");
	assert_string_equal(session_find(id)->guest, "lab-1");
	assert_non_null(strstr(fakevirt_log(BT_HOST), "clone tmpl lab-1"));
}

/* At most max clones; the next user is told why, and a clone being
 * deleted still counts until it is gone. */
static void
test_max(void **state)
{
	uint64_t	a = fill("lab", "lab-1", "lab-2");

	assert_null(guest("lab", "lab-3"));

	fakevirt_hold(BT_HOST, 1);
	end(a);
	refused("carol", "lab", "in use or being cleaned: try again");
	fakevirt_hold(BT_HOST, 0);
	wait_guest("lab", "lab-1", GONE);
	assert_int_equal(pool_available(bt_pool("lab")), 1);
	bt_ready("carol", "lab");
	bt_settle();
	assert_int_equal(bt_count(fakevirt_log(BT_HOST), "clone tmpl "), 3);
}

/* The sweep keeps spares made, started and ready ahead of logins; a user
 * gets one at once, and the sweep replaces it, never past max. */
static void
test_spares(void **state)
{
	struct session	*s;
	struct guest	*g;
	uint64_t	 id;

	pool_maintain();
	assert_non_null(g = guest("lab", "lab-1"));
	assert_int_equal(g->state, GUEST_CREATING);
	assert_int_equal(g->session, 0);
	/* One being made counts: no second spare. */
	pool_maintain();
	assert_null(guest("lab", "lab-2"));
	wait_guest("lab", "lab-1", GUEST_SPARE);
	assert_int_equal(fakevirt_state(BT_HOST, "lab-1"), VIRT_STATE_RUNNING);
	assert_non_null(strstr(fakevirt_log(BT_HOST), "ready lab-1"));
	pool_maintain();
	bt_settle();
	assert_null(guest("lab", "lab-2"));
	/* The farm pool wants none. */
	assert_int_equal(bt_count(fakevirt_log(BT_HOST), "clone tmpl "), 1);
	assert_int_equal(pool_available(bt_pool("lab")), 2);

	fakevirt_log_clear(BT_HOST);
	s = bt_session("alice", "lab");
	id = s->id;
	assert_string_equal(s->guest, "lab-1");
	assert_int_equal(guest("lab", "lab-1")->state, GUEST_ASSIGNED);
	bt_wait_state(id, SESSION_READY);
	assert_null(strstr(fakevirt_log(BT_HOST), "clone tmpl "));

	pool_maintain();
	wait_guest("lab", "lab-2", GUEST_SPARE);
	assert_string_equal(session_find(bt_ready("bob", "lab"))->guest,
	    "lab-2");
	/* Two of two: no spare past max. */
	pool_maintain();
	bt_settle();
	assert_null(guest("lab", "lab-3"));
	refused("carol", "lab", "every desktop of pool lab is in use");
}

/* The clone cannot be made: the session fails in words that quote no
 * libvirt, the clone is forgotten, and the next connect tries again. */
static void
test_clone_fails(void **state)
{
	struct session	*s;
	uint64_t	 id;

	fakevirt_fail_next(BT_HOST, "clone", VIRT_FAULT_LIBVIRT,
	    "cannot create volume lab-1.qcow2: No space left on device", NULL);
	s = bt_failed("alice", "lab");
	assert_null(strstr(s->error, "No space"));
	assert_null(guest("lab", "lab-1"));
	assert_int_equal(bt_audit_count("desktop create", "failed"), 1);
	assert_int_equal(pool_available(bt_pool("lab")), 2);

	id = bt_ready("alice", "lab");
	assert_string_equal(session_find(id)->guest, "lab-1");
	assert_int_equal(bt_audit_count("desktop create", "ok"), 1);
}

/* A spare that does not start is deleted, and no spare is made for a
 * while; after that the sweep makes one again. */
static void
test_spare_fails(void **state)
{
	struct conf_pool	*p = bt_pool("lab");

	fakevirt_fail_next(BT_HOST, "start", VIRT_FAULT_LIBVIRT,
	    "internal error: qemu unexpectedly closed the monitor", NULL);
	pool_maintain();
	wait_guest("lab", "lab-1", GONE);
	bt_settle();
	assert_non_null(strstr(fakevirt_log(BT_HOST),
	    "start lab-1\nremove-clone lab-1\n"));
	assert_int_equal(fakevirt_state(BT_HOST, "lab-1"), VIRT_STATE_MISSING);
	assert_true(p->spares_after > time(NULL));
	assert_true(p->spares_after <= time(NULL) + 60);

	pool_maintain();
	bt_settle();
	assert_null(guest("lab", "lab-1"));
	assert_int_equal(bt_count(fakevirt_log(BT_HOST), "clone tmpl "), 1);
	/* A user is not held back by it. */
	bt_ready("alice", "lab");

	p->spares_after = time(NULL) - 1;
	pool_maintain();
	wait_guest("lab", "lab-2", GUEST_SPARE);
}

/* The clone cannot be deleted: out of service, still counted towards
 * max, never lent; an admin's repair deletes it. */
static void
test_cleanup_fails(void **state)
{
	struct guest	*g;
	char		 err[256];
	uint64_t	 id;

	g = clean_fails("alice", "lab", "remove-clone",
	    "cannot delete volume lab-1.qcow2: Permission denied");
	assert_string_equal(g->name, "lab-1");
	assert_non_null(strstr(g->error, "Permission denied"));
	assert_string_equal(g->user, "alice");
	assert_int_equal(bt_audit_count("desktop broken", "failed"), 1);
	assert_int_equal(pool_available(bt_pool("lab")), 1);

	id = bt_ready("bob", "lab");
	assert_string_equal(session_find(id)->guest, "lab-2");
	refused("carol", "lab", "every desktop of pool lab is in use");
	assert_int_equal(pool_repair(bt_pool("lab"), "lab-2", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "desktop lab-2 is assigned, not broken");

	assert_int_equal(pool_repair(bt_pool("lab"), "lab-1", err, sizeof(err)),
	    0);
	wait_guest("lab", "lab-1", GONE);
	assert_int_equal(fakevirt_state(BT_HOST, "lab-1"), VIRT_STATE_MISSING);
	bt_ready("carol", "lab");
}

/* The user leaves while the clone is being made: it becomes a spare. */
static void
test_release_while_creating(void **state)
{
	struct session	*s;
	struct guest	*g;

	fakevirt_hold(BT_HOST, 1);
	s = bt_session("alice", "lab");
	session_end(s, "alice", "ended by the user");
	assert_non_null(g = guest("lab", "lab-1"));
	assert_int_equal(g->state, GUEST_CREATING);
	assert_int_equal(g->session, 0);
	assert_string_equal(g->user, "");
	fakevirt_hold(BT_HOST, 0);
	wait_guest("lab", "lab-1", GUEST_SPARE);
	assert_int_equal(fakevirt_state(BT_HOST, "lab-1"), VIRT_STATE_RUNNING);
	assert_null(strstr(fakevirt_log(BT_HOST), "remove-clone"));
}

/* A host that is down gets no clone: no spare, and a pool on several
 * hosts clones where it can. */
static void
test_host_down(void **state)
{
	struct session	*s;

	fakevirt_host_up(BT_HOST, 0);
	bt_settle();
	pool_maintain();
	bt_settle();
	assert_null(guest("lab", "lab-1"));
	assert_int_equal(pool_available(bt_pool("lab")), 2);
	refused("alice", "lab", "unreachable");

	s = bt_session("alice", "farm");
	assert_string_equal(s->host->name, HV2);
	bt_wait_state(s->id, SESSION_READY);
	assert_int_equal(fakevirt_state(HV2, "farm-1"), VIRT_STATE_RUNNING);
	assert_int_equal(fakevirt_state(BT_HOST, "farm-1"),
	    VIRT_STATE_MISSING);

	fakevirt_host_up(HV2, 0);
	bt_settle();
	refused("bob", "farm", "every host of pool farm is unreachable");

	/* Back: the sweep makes the spare. */
	fakevirt_host_up(BT_HOST, 1);
	bt_settle();
	pool_maintain();
	wait_guest("lab", "lab-1", GUEST_SPARE);
}

/* Clones go to the reachable host with the fewest of the pool's. */
static void
test_placement(void **state)
{
	static const char *const users[] = { "alice", "bob", "carol", "dave" };
	static const char *const hosts[] = { BT_HOST, HV2, BT_HOST, HV2 };
	struct session	*s;
	char		 name[32];
	size_t		 i;

	for (i = 0; i < 4; i++) {
		s = bt_session(users[i], "farm");
		fmt(name, sizeof(name), "farm-%zu", i + 1);
		assert_string_equal(s->guest, name);
		assert_string_equal(s->host->name, hosts[i]);
		assert_string_equal(guest("farm", name)->host->name, hosts[i]);
		bt_wait_state(s->id, SESSION_READY);
		assert_int_equal(fakevirt_state(hosts[i], name),
		    VIRT_STATE_RUNNING);
	}
}

/* One host down: both clones on the other; back, the next goes to it. */
static void
test_placement_host_back(void **state)
{
	struct session	*s;

	fakevirt_host_up(HV2, 0);
	bt_settle();
	assert_string_equal(bt_session("alice", "farm")->host->name, BT_HOST);
	assert_string_equal(bt_session("bob", "farm")->host->name, BT_HOST);
	bt_settle();
	fakevirt_host_up(HV2, 1);
	bt_settle();
	s = bt_session("carol", "farm");
	assert_string_equal(s->host->name, HV2);
	bt_wait_state(s->id, SESSION_READY);
	assert_int_equal(fakevirt_state(HV2, "farm-3"), VIRT_STATE_RUNNING);
}

/* A restart reloads clones and spares with their hosts, and makes no
 * clone it already has. */
static void
test_restart_keeps_clones(void **state)
{
	struct guest	*g;
	uint64_t	 a, f;

	pool_maintain();
	wait_guest("lab", "lab-1", GUEST_SPARE);
	a = bt_ready("alice", "lab");
	pool_maintain();
	wait_guest("lab", "lab-2", GUEST_SPARE);
	f = bt_ready("bob", "farm");
	bt_ready("carol", "farm");
	bt_settle();

	bt_restart();
	assert_non_null(session_find(a));
	assert_non_null(g = guest("lab", "lab-1"));
	assert_int_equal(g->state, GUEST_ASSIGNED);
	assert_int_equal(g->session, a);
	assert_non_null(g = guest("lab", "lab-2"));
	assert_int_equal(g->state, GUEST_SPARE);
	/* The power state comes from the host's listing. */
	assert_int_equal(g->power, VIRT_STATE_RUNNING);
	assert_non_null(g = guest("farm", "farm-2"));
	assert_string_equal(g->host->name, HV2);
	assert_non_null(session_find(f));
	assert_string_equal(session_find(f)->host->name, BT_HOST);
	assert_string_equal(session_find(f)->guest, "farm-1");

	fakevirt_log_clear(BT_HOST);
	pool_maintain();
	bt_settle();
	assert_null(strstr(fakevirt_log(BT_HOST), "clone"));
	assert_string_equal(session_find(bt_ready("bob", "lab"))->guest,
	    "lab-2");
}

/* A spare deleted by hand on its host while the broker was down: nobody
 * is handed a desktop that is not there, and the pool makes a new spare. */
static void
test_restart_spare_vanished(void **state)
{
	uint64_t	a;

	pool_maintain();
	wait_guest("lab", "lab-1", GUEST_SPARE);
	bt_settle();
	bt_stop(1);
	fakevirt_undefine(BT_HOST, "lab-1");
	bt_reopen();
	pool_maintain();
	bt_settle();
	a = bt_ready("alice", "lab");
	assert_int_equal(fakevirt_state(BT_HOST, session_find(a)->guest),
	    VIRT_STATE_RUNNING);
}

/* A shared pool's guest deleted by hand while the broker was down is out
 * of service, saying why, and users get the other one. */
static void
test_restart_shared_vanished(void **state)
{
	struct guest	*g;
	uint64_t	 a;

	bt_ready("alice", "office");
	end(bt_ready("alice", "office"));
	wait_guest("office", "d1", GUEST_FREE);
	bt_stop(1);
	fakevirt_undefine(BT_HOST, "d1");
	bt_reopen();
	wait_guest("office", "d1", GUEST_BROKEN);
	assert_non_null(g = guest("office", "d1"));
	assert_string_equal(g->error, "it is not on its host any more");
	a = bt_ready("bob", "office");
	assert_string_equal(session_find(a)->guest, "d2");
}

/* A spare's creation was interrupted by a restart after the host made
 * it: at start it is deleted and a new spare is made. */
/*
 * bt_stop(1) stands for a crash: the job it abandons takes its argument
 * with it, as a crashed broker's memory goes. LeakSanitizer is told so
 * for that test alone.
 */
const char	*__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:test_restart_while_cloning\n";
}

static void
test_restart_while_cloning(void **state)
{
	struct guest	*g;

	fakevirt_hold(BT_HOST, 1);
	pool_maintain();
	assert_non_null(guest("lab", "lab-1"));
	bt_stop(1);
	fakevirt_hold(BT_HOST, 0);
	/* The job the broker no longer waits for. */
	fakevirt_define(BT_HOST, "lab-1");
	bt_reopen();
	assert_non_null(g = guest("lab", "lab-1"));
	assert_int_equal(g->state, GUEST_CREATING);
	fakevirt_log_clear(BT_HOST);
	pool_maintain();
	bt_settle();
	assert_non_null(strstr(fakevirt_log(BT_HOST), "remove-clone lab-1"));
	wait_guest("lab", "lab-2", GUEST_SPARE);
	wait_guest("lab", "lab-1", GONE);
	assert_int_equal(fakevirt_state(BT_HOST, "lab-1"), VIRT_STATE_MISSING);
}

/* The state says a guest is lent to a session that has ended (the broker
 * stopped between the two writes): at start it goes back to its pool, and
 * the sweep cleans it once its host is up (the hosts are not connected
 * while the state loads). */
static void
test_restart_session_gone(void **state)
{
	struct session	*s;
	uint64_t	 a = bt_ready("alice", "lab");
	uint64_t	 b = bt_ready("bob", "office");
	uint64_t	 c = bt_ready("carol", "open");

	s = session_find(c);
	s->state = SESSION_ENDED;
	assert_int_equal(db_session_save(broker->db, s), 0);
	s = session_find(a);
	s->state = SESSION_ENDED;
	assert_int_equal(db_session_save(broker->db, s), 0);
	s = session_find(b);
	s->state = SESSION_ENDED;
	assert_int_equal(db_session_save(broker->db, s), 0);
	bt_restart();
	assert_null(session_find(a));
	assert_null(session_find(b));
	/* Nothing was asked of a host before it was connected. */
	assert_int_equal(guest("lab", "lab-1")->state, GUEST_CLEANING);
	assert_false(guest("lab", "lab-1")->busy);
	assert_int_equal(guest("office", "d1")->state, GUEST_CLEANING);
	assert_false(guest("office", "d1")->busy);
	/* No snapshot: free as it was left, as after a session. */
	assert_int_equal(guest("open", "o1")->state, GUEST_FREE);
	fakevirt_log_clear(BT_HOST);
	pool_maintain();
	wait_guest("lab", "lab-1", GONE);
	wait_guest("office", "d1", GUEST_FREE);
	assert_int_equal(fakevirt_state(BT_HOST, "lab-1"), VIRT_STATE_MISSING);
	assert_non_null(strstr(fakevirt_log(BT_HOST), "revert d1 clean"));
}

/* A shared pool lends a free guest, reverts it after use, and lends it
 * again only once it is clean. */
static void
test_shared_lending(void **state)
{
	uint64_t	a = fill("office", "d1", "d2");


	fakevirt_hold(BT_HOST, 1);
	end(a);
	assert_int_equal(guest("office", "d1")->state, GUEST_CLEANING);
	refused("carol", "office", "in use or being cleaned");
	fakevirt_hold(BT_HOST, 0);
	wait_guest("office", "d1", GUEST_FREE);
	assert_non_null(strstr(fakevirt_log(BT_HOST), "revert d1 clean"));
	assert_string_equal(guest("office", "d1")->user, "");
	assert_string_equal(session_find(bt_ready("carol", "office"))->guest,
	    "d1");
	/* Shared guests are never cloned nor deleted. */
	assert_null(strstr(fakevirt_log(BT_HOST), "clone"));
}

/* Without a snapshot a shared guest is free again at once, as left. */
static void
test_shared_no_snapshot(void **state)
{
	uint64_t	a = bt_ready("alice", "open");

	refused("bob", "open", "every desktop of pool open is in use");
	end(a);
	assert_int_equal(guest("open", "o1")->state, GUEST_FREE);
	bt_settle();
	assert_null(strstr(fakevirt_log(BT_HOST), "revert"));
	assert_string_equal(session_find(bt_ready("bob", "open"))->guest, "o1");
}

/* A revert that fails puts the guest out of service: never lent again
 * until an admin's repair reverts it. */
static void
test_shared_revert_fails(void **state)
{
	struct guest	*g;
	char		 err[256];

	g = clean_fails("alice", "office", "revert",
	    "revert failed: snapshot clean is corrupt");
	assert_string_equal(g->name, "d1");
	assert_non_null(strstr(g->error, "corrupt"));
	assert_int_equal(pool_available(bt_pool("office")), 1);
	assert_string_equal(session_find(bt_ready("bob", "office"))->guest,
	    "d2");
	refused("carol", "office", "every desktop of pool office is in use");

	assert_int_equal(pool_repair(bt_pool("office"), "d1", err, sizeof(err)),
	    0);
	wait_guest("office", "d1", GUEST_FREE);
	assert_int_equal(bt_count(fakevirt_log(BT_HOST), "revert d1 clean"), 2);
	assert_string_equal(session_find(bt_ready("carol", "office"))->guest,
	    "d1");
}

/* Every configured shared guest is in the state from the first start,
 * free; template pools have none until they clone. */
static void
test_restore_shared(void **state)
{
	json_t	*list;
	size_t	 i;

	assert_int_equal(HASH_COUNT(broker->guests), 3);
	assert_int_equal(guest("office", "d1")->state, GUEST_FREE);
	assert_int_equal(guest("office", "d2")->state, GUEST_FREE);
	assert_int_equal(guest("open", "o1")->state, GUEST_FREE);
	list = pool_summary_json();
	for (i = 0; i < json_array_size(list); i++) {
		json_t	*o = json_array_get(list, i);
		const char *name = json_string_value(json_object_get(o,
		    "name"));

		if (strcmp(name, "lab") == 0) {
			assert_int_equal(json_integer_value(json_object_get(o,
			    "capacity")), 2);
			assert_int_equal(json_integer_value(json_object_get(o,
			    "spares_wanted")), 1);
		}
		if (strcmp(name, "farm") == 0)
			assert_int_equal(json_array_size(json_object_get(o,
			    "hosts")), 2);
	}
	json_decref(list);
	bt_restart();
	assert_int_equal(HASH_COUNT(broker->guests), 3);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, bt_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_clone_on_demand),
		T(test_clone_removed_after_use),
		T(test_max),
		T(test_spares),
		T(test_clone_fails),
		T(test_spare_fails),
		T(test_cleanup_fails),
		T(test_release_while_creating),
		T(test_host_down),
		T(test_placement),
		T(test_placement_host_back),
		T(test_restart_keeps_clones),
		T(test_restart_while_cloning),
		T(test_restart_spare_vanished),
		T(test_restart_shared_vanished),
		T(test_restart_session_gone),
		T(test_shared_lending),
		T(test_shared_no_snapshot),
		T(test_shared_revert_fails),
		T(test_restore_shared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
