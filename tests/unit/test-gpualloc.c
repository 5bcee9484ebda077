/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the broker's GPU allocation (gpualloc.c) on the fake
 * hosts: one card, two users at once; the card given back when the
 * desktop stops; a start that blames the card quarantines it, and so does
 * one that finds the card gone from its host, which then lists it as
 * missing, whether the pool names the card or picks it by kind; a card that cannot be reset is refused before the start and
 * quarantined, unless its pool says gpu_reset = no; a restart
 * reloads the allocations and gives back those of desktops that stopped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "brokertest.h"
#include "fakevirt.h"
#include "gpujson.h"
#include "unit.h"

#define CARD	"0000:41:00.0"

static const char conf[] =
    "[gateway gw]\nproxy = http://gw.example:3128\n"
    "[host hv1]\nuri = fake:///hv1\n"
    "[pool gpu]\nkind = shared\nhost = hv1\nguests = g1, g2\n"
    "users = alice, bob\nready_when = agent\ngpu = passthrough\n"
    "[pool pinned]\nkind = shared\nhost = hv1\nguests = p1, p2\n"
    "users = alice, bob\nready_when = agent\ngpu = passthrough\n"
    "gpu_devices = " CARD "\n"
    "[pool selfreset]\nkind = shared\nhost = hv1\nguests = s1\n"
    "users = alice\nready_when = agent\ngpu = passthrough\n"
    "gpu_devices = " CARD "\ngpu_reset = no\n"
    "[pool vgpu]\nkind = shared\nhost = hv1\nguests = v1\n"
    "users = alice, bob\nready_when = agent\ngpu = mdev\n"
    "mdev_type = nvidia-231\n";

/* One NVIDIA card bound to vfio-pci, alone in its IOMMU group. */
static const char card[] =
    "<device><name>pci_0000_41_00_0</name><parent>computer</parent>"
    "<driver><name>vfio-pci</name></driver><capability type='pci'>"
    "<class>0x030000</class><domain>0</domain><bus>65</bus><slot>0</slot>"
    "<function>0</function><product id='0x2231'>RTX A5000</product>"
    "<vendor id='0x10de'>NVIDIA Corporation</vendor>"
    "<iommuGroup number='40'><address domain='0x0000' bus='0x41' "
    "slot='0x00' function='0x0'/></iommuGroup></capability></device>";

/* A Tesla T4 that offers vGPUs of type nvidia-231. */
#define T4	"0000:44:00.0"
static const char t4[] =
    "<device><name>pci_0000_44_00_0</name><parent>computer</parent>"
    "<driver><name>nvidia</name></driver><capability type='pci'>"
    "<class>0x030200</class><domain>0</domain><bus>68</bus><slot>0</slot>"
    "<function>0</function><product id='0x1eb8'>Tesla T4</product>"
    "<vendor id='0x10de'>NVIDIA Corporation</vendor>"
    "<capability type='mdev_types'><type id='nvidia-231'>"
    "<name>GRID T4-2Q</name><deviceAPI>vfio-pci</deviceAPI>"
    "<availableInstances>7</availableInstances></type></capability>"
    "<iommuGroup number='43'><address domain='0x0000' bus='0x44' "
    "slot='0x00' function='0x0'/></iommuGroup></capability></device>";

static int
setup(void **state)
{
	fakevirt_define(BT_HOST, "g1");
	fakevirt_define(BT_HOST, "g2");
	fakevirt_define(BT_HOST, "p1");
	fakevirt_define(BT_HOST, "p2");
	fakevirt_define(BT_HOST, "s1");
	fakevirt_define(BT_HOST, "v1");
	fakevirt_nodedev(BT_HOST, card);
	bt_start(conf);
	return 0;
}

static struct session *
start_in(const char *user, const char *pool)
{
	struct login	 l = bt_user(user, ROLE_USER);
	struct session	*s;
	char		 hash[BROKER_TOKEN_HEX + 1], err[256] = "";
	int		 status = 0;

	bt_login(user, ROLE_USER, NULL, hash);
	s = session_connect(&l, hash, conf_pool_find(broker->conf, pool),
	    "203.0.113.5", &status, err, sizeof(err));
	if (s == NULL)
		fail_msg("connect %s: %d %s", user, status, err);
	return s;
}

static struct session *
start_as(const char *user)
{
	return start_in(user, "gpu");
}

/* Both connect at once: the first gets the card, the second a sentence
 * that says why, and the second guest is never started. */
static void
test_one_card_two_users(void **state)
{
	struct session		*a, *b;
	const struct gpu_alloc	*al;
	uint64_t		 ida, idb;

	a = start_as("alice");
	b = start_as("bob");
	ida = a->id;
	idb = b->id;
	assert_string_not_equal(a->guest, b->guest);
	bt_wait_state(ida, SESSION_READY);
	bt_wait_state(idb, SESSION_FAILED);
	a = session_find(ida);
	b = session_find(idb);
	assert_string_equal(fakevirt_gpus(BT_HOST, a->guest), CARD);
	assert_int_equal(fakevirt_state(BT_HOST, b->guest), VIRT_STATE_SHUTOFF);
	assert_string_equal(b->error, "GPU " CARD " is given to desktop g1");
	assert_non_null(al = gpualloc_of(BT_HOST, CARD));
	assert_string_equal(al->guest, a->guest);
	assert_int_equal(al->session, ida);
	assert_int_equal(al->starting, 0);

	/* alice's desktop stops: the card is free, bob's retry gets it. */
	fakevirt_set_state(BT_HOST, a->guest, VIRT_STATE_SHUTOFF);
	bt_settle();
	assert_null(session_find(ida));
	assert_null(gpualloc_of(BT_HOST, CARD));
	b = start_as("bob");
	idb = b->id;
	bt_wait_state(idb, SESSION_READY);
	assert_string_equal(fakevirt_gpus(BT_HOST, session_find(idb)->guest),
	    CARD);
	assert_string_equal(gpualloc_of(BT_HOST, CARD)->guest,
	    session_find(idb)->guest);
}

/* A start that QEMU blames on the card: it is quarantined, and the next
 * start is refused with the reason until an admin clears it. */
static void
test_quarantine(void **state)
{
	struct session	*s;
	char		 reason[256];
	uint64_t	 id;

	fakevirt_fail_next(BT_HOST, "start", VIRT_FAULT_LIBVIRT,
	    "vfio " CARD ": failed to setup container", CARD);
	s = start_as("alice");
	id = s->id;
	bt_wait_state(id, SESSION_FAILED);
	assert_non_null(strstr(session_find(id)->error, "quarantined"));
	assert_null(gpualloc_of(BT_HOST, CARD));
	assert_int_equal(db_gpu_quarantined(broker->db, BT_HOST, CARD,
	    reason, sizeof(reason)), 1);
	assert_int_equal(bt_audit_count("gpu quarantine", "ok"), 1);

	s = start_as("bob");
	bt_wait_state(s->id, SESSION_FAILED);
	assert_non_null(strstr(session_find(s->id)->error, "is quarantined"));

	assert_int_equal(gpuquarantine_clear(BT_HOST, CARD), 1);
	assert_int_equal(gpuquarantine_clear(BT_HOST, CARD), 0);	/* not any more */
	session_end(session_find(s->id), "bob", "retry");
	bt_settle();
	s = start_as("bob");
	bt_wait_state(s->id, SESSION_READY);
}

static int
listed_out(void *arg, const char *device, char *reason, size_t len)
{
	return db_gpu_out_of_service(broker->db, BT_HOST, device, reason, len);
}

static void
listed_each(void *arg, void (*cb)(void *, const char *, const char *),
    void *cbarg)
{
	db_gpu_quarantine_each(broker->db, BT_HOST, cb, cbarg);
}

/* CARD as the GPU views show it (gpujson, with the broker's quarantines),
 * the host having it (present) or not; the entry's verdict and reason. */
static void
listed(int present, char *verdict, char *reason, size_t len)
{
	struct gpujson_state	 st = { NULL, listed_out, listed_each, NULL };
	struct gpu_inventory	 inv;
	json_t			*list, *o;
	char			 err[256];

	memset(&inv, 0, sizeof(inv));
	if (present && gpu_inventory_add_nodedev(&inv, card, err,
	    sizeof(err)) == -1)
		fail_msg("%s", err);
	list = gpujson_inventory(&inv, &st);
	assert_int_equal(json_array_size(list), 1);
	o = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(o, "address")),
	    CARD);
	strlcpy(verdict, json_string_value(json_object_get(o, "verdict")), 32);
	strlcpy(reason, json_object_get(o, "reason") != NULL ?
	    json_string_value(json_object_get(o, "reason")) : "", len);
	json_decref(list);
	gpu_inventory_free(&inv);
}

/* Session id's start failed with error, before its guest ran: CARD is
 * not given to anyone and is quarantined once, with a reason (into
 * reason) that says why. */
static void
refused(uint64_t id, const char *error, const char *why, char *reason,
    size_t len)
{
	bt_wait_state(id, SESSION_FAILED);
	assert_string_equal(session_find(id)->error, error);
	assert_int_equal(fakevirt_state(BT_HOST, session_find(id)->guest),
	    VIRT_STATE_SHUTOFF);
	assert_null(gpualloc_of(BT_HOST, CARD));
	assert_int_equal(db_gpu_quarantined(broker->db, BT_HOST, CARD,
	    reason, len), 1);
	assert_non_null(strstr(reason, why));
	assert_int_equal(bt_audit_count("gpu quarantine", "ok"), 1);
}

/* The card is unplugged: the start is refused naming it, the card is
 * quarantined with when it went, listed as missing, and stays out of
 * service when it comes back until an admin clears it. */
static void
test_vanished(void **state)
{
	struct session	*s;
	char		 reason[256], verdict[32], shown[512];
	uint64_t	 id;

	fakevirt_nodedev_remove(BT_HOST, "pci_0000_41_00_0");
	s = start_in("alice", "pinned");
	id = s->id;
	refused(id, "GPU " CARD " vanished from host hv1 and is quarantined "
	    "until an admin clears it", "it vanished from host hv1: not among "
	    "its PCI devices at 20", reason, sizeof(reason));
	assert_non_null(strstr(reason, " UTC"));
	listed(0, verdict, shown, sizeof(shown));
	assert_string_equal(verdict, "missing");
	assert_non_null(strstr(shown, reason));

	/* Still gone: the quarantine is named, not quarantined twice. */
	s = start_in("bob", "pinned");
	bt_wait_state(s->id, SESSION_FAILED);
	assert_non_null(strstr(session_find(s->id)->error, "GPU " CARD
	    " is quarantined: it vanished from host hv1"));
	assert_int_equal(bt_audit_count("gpu quarantine", "ok"), 1);

	/* Back on the bus, still out of service until an admin says so. */
	fakevirt_nodedev(BT_HOST, card);
	session_end(session_find(s->id), "bob", "retry");
	bt_settle();
	s = start_in("bob", "pinned");
	bt_wait_state(s->id, SESSION_FAILED);
	assert_non_null(strstr(session_find(s->id)->error, "is quarantined: "
	    "it vanished"));
	listed(1, verdict, shown, sizeof(shown));
	assert_string_equal(verdict, "quarantined");

	assert_int_equal(gpuquarantine_clear(BT_HOST, CARD), 1);
	listed(1, verdict, shown, sizeof(shown));
	assert_string_equal(verdict, "assignable");
	session_end(session_find(s->id), "bob", "retry");
	bt_settle();
	s = start_in("bob", "pinned");
	bt_wait_state(s->id, SESSION_READY);
}

static int
scanned(void *arg)
{
	if (strstr(fakevirt_log(BT_HOST), "scan p") == NULL)
		return 0;
	fakevirt_nodedev_remove(BT_HOST, "pci_0000_41_00_0");
	return 1;
}

/* The card goes between the broker's pick and the start: the host's
 * worker finds it gone, and the broker quarantines it all the same. */
static void
test_vanished_at_start(void **state)
{
	struct session	*s;
	char		 reason[256];
	uint64_t	 id;

	bt_settle();
	fakevirt_log_clear(BT_HOST);
	s = start_in("alice", "pinned");
	id = s->id;
	bt_wait(scanned, NULL, 5000, "the start's scan");
	bt_wait_state(id, SESSION_FAILED);
	assert_non_null(strstr(fakevirt_log(BT_HOST), "start p"));
	assert_string_equal(session_find(id)->error, "GPU " CARD " vanished "
	    "from host hv1 and is quarantined until an admin clears it");
	assert_int_equal(db_gpu_quarantined(broker->db, BT_HOST, CARD,
	    reason, sizeof(reason)), 1);
	assert_non_null(strstr(reason, "it vanished from host hv1"));
	assert_int_equal(bt_audit_count("gpu quarantine", "ok"), 1);
	assert_null(gpualloc_of(BT_HOST, CARD));
}

/* A pool that names a card its host never had: refused in words, and the
 * address is quarantined (the broker cannot tell it from a card that went
 * while it was away) and listed, so that an admin sees it. */
static void
test_never_there(void **state)
{
	struct session	*s;
	char		 verdict[32], shown[512];

	bt_stop(1);
	fakevirt_nodedev_remove(BT_HOST, "pci_0000_41_00_0");
	bt_reopen();
	bt_settle();
	s = start_in("alice", "pinned");
	bt_wait_state(s->id, SESSION_FAILED);
	assert_string_equal(session_find(s->id)->error, "GPU " CARD " is not "
	    "on host hv1 and is quarantined until an admin clears it");
	listed(0, verdict, shown, sizeof(shown));
	assert_string_equal(verdict, "missing");
	assert_non_null(strstr(shown, "quarantined: it is not among the PCI "
	    "devices of host hv1 at "));
}

/* Gives back what alice's desktop in pool holds: its guest stops. */
static void
stopped(struct session *s)
{
	uint64_t	id = s->id;

	bt_wait_state(id, SESSION_READY);
	fakevirt_set_state(BT_HOST, s->guest, VIRT_STATE_SHUTOFF);
	bt_settle();
	assert_null(session_find(id));
}

/* A pool that picks by gpu_match names no card, yet one that was on the
 * host at the last start and is gone now is quarantined as vanished, and
 * named when it was the pool's only card. */
static void
test_vanished_matched(void **state)
{
	struct session	*s;
	char		 reason[256];

	stopped(start_as("alice"));
	assert_null(gpualloc_of(BT_HOST, CARD));
	fakevirt_nodedev_remove(BT_HOST, "pci_0000_41_00_0");
	s = start_as("bob");
	refused(s->id, "GPU " CARD " vanished from host hv1 and is "
	    "quarantined until an admin clears it", "it vanished from host "
	    "hv1: not among its PCI devices at 20", reason, sizeof(reason));

	/* Back on the bus, the card stays out of service. */
	fakevirt_nodedev(BT_HOST, card);
	session_end(session_find(s->id), "bob", "retry");
	bt_settle();
	s = start_as("bob");
	bt_wait_state(s->id, SESSION_FAILED);
	assert_non_null(strstr(session_find(s->id)->error, "GPU " CARD
	    " is quarantined: it vanished from host hv1"));
	assert_int_equal(bt_audit_count("gpu quarantine", "ok"), 1);
}

/* With a second card of the kind, the start goes on with it. */
static void
test_vanished_matched_other(void **state)
{
	static const char card2[] =
	    "<device><name>pci_0000_42_00_0</name><parent>computer</parent>"
	    "<driver><name>vfio-pci</name></driver><capability type='pci'>"
	    "<class>0x030000</class><domain>0</domain><bus>66</bus>"
	    "<slot>0</slot><function>0</function><product id='0x2231'>RTX "
	    "A5000</product><vendor id='0x10de'>NVIDIA Corporation</vendor>"
	    "<iommuGroup number='41'><address domain='0x0000' bus='0x42' "
	    "slot='0x00' function='0x0'/></iommuGroup></capability></device>";
	struct session	*s;
	char		 reason[256];

	fakevirt_nodedev(BT_HOST, card2);
	stopped(start_as("alice"));
	fakevirt_nodedev_remove(BT_HOST, "pci_0000_41_00_0");
	s = start_as("bob");
	bt_wait_state(s->id, SESSION_READY);
	assert_string_equal(fakevirt_gpus(BT_HOST, s->guest), "0000:42:00.0");
	assert_int_equal(db_gpu_quarantined(broker->db, BT_HOST, CARD, reason,
	    sizeof(reason)), 1);
	assert_non_null(strstr(reason, "it vanished from host hv1"));
}

/* The same for a vGPU pool: the parent card that offered its type. */
static void
test_vanished_mdev(void **state)
{
	struct session	*s;
	char		 reason[256];

	fakevirt_nodedev(BT_HOST, t4);
	stopped(start_in("alice", "vgpu"));
	fakevirt_nodedev_remove(BT_HOST, "pci_0000_44_00_0");
	s = start_in("bob", "vgpu");
	bt_wait_state(s->id, SESSION_FAILED);
	assert_string_equal(session_find(s->id)->error, "GPU " T4 " vanished "
	    "from host hv1 and is quarantined until an admin clears it");
	assert_int_equal(db_gpu_quarantined(broker->db, BT_HOST, T4, reason,
	    sizeof(reason)), 1);
	assert_non_null(strstr(reason, "it vanished from host hv1"));
	assert_int_equal(bt_audit_count("gpu quarantine", "ok"), 1);
}

/* A card that cannot be reset: the start is refused before QEMU runs,
 * naming the card, its host and libvirt's reason, and the card is
 * quarantined as a vanished one is; a pool whose hardware resets itself
 * (gpu_reset = no) takes it once an admin clears it. */
static void
test_not_reset(void **state)
{
	struct session	*s;
	char		 reason[256], verdict[32], shown[512];

	fakevirt_no_reset(BT_HOST, CARD, "Unable to reset PCI device " CARD
	    ": no FLR, PM reset or bus reset available");
	s = start_in("alice", "pinned");
	refused(s->id, "GPU " CARD " on host hv1 cannot be reset: Unable to "
	    "reset PCI device " CARD ": no FLR, PM reset or bus reset "
	    "available; GPU " CARD " is quarantined until an admin clears it",
	    "cannot be reset: Unable to reset", reason, sizeof(reason));
	listed(1, verdict, shown, sizeof(shown));
	assert_string_equal(verdict, "quarantined");
	assert_non_null(strstr(shown, "cannot be reset"));

	s = start_in("alice", "selfreset");
	bt_wait_state(s->id, SESSION_FAILED);
	assert_non_null(strstr(session_find(s->id)->error, "is quarantined: "
	    "GPU " CARD " on host hv1 cannot be reset"));
	assert_int_equal(gpuquarantine_clear(BT_HOST, CARD), 1);
	session_end(session_find(s->id), "alice", "retry");
	bt_settle();
	s = start_in("alice", "selfreset");
	bt_wait_state(s->id, SESSION_READY);
	assert_string_equal(fakevirt_gpus(BT_HOST, s->guest), CARD);
}

/* The allocation survives a restart; one whose desktop stopped while
 * the broker was away is given back when the host is listed. */
static void
test_restart(void **state)
{
	struct session	*s = start_as("alice");
	uint64_t	 id = s->id;
	char		 guest[128];

	bt_wait_state(id, SESSION_READY);
	strlcpy(guest, s->guest, sizeof(guest));
	bt_restart();
	assert_non_null(gpualloc_of(BT_HOST, CARD));
	assert_string_equal(gpualloc_of(BT_HOST, CARD)->guest, guest);
	assert_int_equal(gpualloc_of(BT_HOST, CARD)->session, id);
	assert_non_null(session_find(id));

	bt_stop(1);
	fakevirt_set_state(BT_HOST, guest, VIRT_STATE_SHUTOFF);
	bt_reopen();
	assert_null(gpualloc_of(BT_HOST, CARD));
	assert_null(session_find(id));
	assert_string_equal(fakevirt_gpus(BT_HOST, guest), "");
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, bt_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_one_card_two_users),
		T(test_quarantine),
		T(test_vanished),
		T(test_vanished_at_start),
		T(test_never_there),
		T(test_vanished_matched),
		T(test_vanished_matched_other),
		T(test_vanished_mdev),
		T(test_not_reset),
		T(test_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
