/* SPDX-License-Identifier: ISC */
/*
 * virt.c against libvirt's test driver (tests/fixtures/virt-node.xml):
 * inventory, power actions, lifecycle events on the loop, clones on the
 * storage API, refusals and a host that cannot be reached.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "virttest.h"

#define PNG_MAGIC	"\x89PNG\r\n\x1a\n"

static int
vt_no_lease(void)
{
	return 0;
}

static void
test_down_host(void)
{
	struct virt_host	*h;
	struct vt_events	 e;
	struct vt_result	 r;

	memset(&e, 0, sizeof(e));
	/* Nothing listens on port 1: the remote driver cannot connect. */
	h = virt_host_new("hv2", "qemu+tcp://127.0.0.1:1/system",
	    &vt_callbacks, &e);
	VT_CHECK(h != NULL, "host");
	VT_CHECK(vt_wait(&e.up_calls, 10) == 0, "no host_up call");
	VT_CHECK(e.up == 0 && !virt_host_is_up(h), "hv2 up");
	VT_CHECK(strstr(virt_host_error(h), "host hv2 is unreachable: ") ==
	    virt_host_error(h), "error '%s'", virt_host_error(h));
	VT_RUN(r, 10, virt_state(h, "vm-off", vt_done, &r));
	VT_CHECK(r.ok == 0, "state on a down host");
	VT_CHECK(strncmp(r.error, "host hv2 is unreachable: ", 25) == 0 &&
	    strlen(r.error) > 25, "error '%s'", r.error);
	VT_RUN(r, 10, virt_start(h, "vm-off", vt_done, &r));
	VT_CHECK(r.ok == 0 && strstr(r.error, "unreachable") != NULL,
	    "start on a down host: '%s'", r.error);
	VT_CHECK(e.off_loop == 0, "callbacks off the loop");
	virt_host_free(h);
}

int
main(void)
{
	struct virt_host	*h;
	struct vt_events	 e;
	struct vt_result	 r;
	enum virt_state		 st;
	const char		*srcdir = getenv("top_srcdir");
	char			 uri[PATH_MAX + 64], abs[PATH_MAX];
	char			 longname[300], first[VIRT_ERROR_MAX];

	vt_init();
	if (srcdir == NULL)
		srcdir = ".";
	/* The test driver wants an absolute path. */
	if (realpath(srcdir, abs) == NULL) {
		perror(srcdir);
		return 1;
	}
	if ((size_t)snprintf(uri, sizeof(uri), "test://%.*s/tests/fixtures/"
	    "virt-node.xml", (int)strlen(abs), abs) >= sizeof(uri))
		return 1;

	memset(&e, 0, sizeof(e));
	h = virt_host_new("hv1", uri, &vt_callbacks, &e);
	VT_CHECK(h != NULL, "host");
	VT_CHECK(vt_wait(&e.up_calls, 10) == 0 && e.up == 1, "hv1 not up: %s",
	    virt_host_error(h));
	VT_CHECK(virt_host_is_up(h) && virt_host_error(h)[0] == '\0',
	    "hv1 is_up");
	VT_CHECK(strcmp(virt_host_name(h), "hv1") == 0, "name");

	/* Inventory. */
	VT_RUN(r, 10, virt_list(h, vt_done, &r));
	VT_CHECK(r.ok == 1 && r.ndomains == 3, "list: %zu %s", r.ndomains,
	    r.error);
	VT_CHECK(vt_has_name(&r, "vm-running", &st) &&
	    st == VIRT_STATE_RUNNING, "vm-running listed running");
	VT_CHECK(vt_has_name(&r, "vm-off", &st) && st == VIRT_STATE_SHUTOFF,
	    "vm-off listed off");
	VT_RUN(r, 10, virt_state(h, "vm-off", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_SHUTOFF, "state %s",
	    virt_state_name(r.state));
	VT_RUN(r, 10, virt_state(h, "nope", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_MISSING, "missing: %s",
	    virt_state_name(r.state));

	/* A broker without its lease touches no guest, and acts again once
	 * it may. */
	virt_set_fence(vt_no_lease);
	VT_RUN(r, 10, virt_start(h, "vm-off", vt_done, &r));
	VT_CHECK(r.ok == 0 && strcmp(r.error, "not done: this broker no "
	    "longer leads") == 0, "fenced start: '%s'", r.error);
	virt_set_fence(NULL);
	VT_RUN(r, 10, virt_state(h, "vm-off", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_SHUTOFF,
	    "still off after the fenced start: %s", virt_state_name(r.state));

	/* Power, with the lifecycle events on the loop. */
	VT_RUN(r, 10, virt_start(h, "vm-off", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_RUNNING, "start: %s",
	    r.error);
	VT_CHECK(vt_wait_state(&e, "vm-off", VIRT_STATE_RUNNING, 10) == 0,
	    "no started event (last %s %s)", e.last_dom,
	    virt_state_name(e.last_state));
	VT_RUN(r, 10, virt_start(h, "vm-off", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_RUNNING, "start again");
	VT_RUN(r, 10, virt_power(h, "vm-off", VIRT_POWER_REBOOT, vt_done, &r));
	VT_CHECK(r.ok == 1, "reboot: %s", r.error);
	VT_RUN(r, 10, virt_power(h, "vm-off", VIRT_POWER_RESET, vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_RUNNING, "reset: %s",
	    r.error);
	VT_RUN(r, 10, virt_power(h, "vm-off", VIRT_POWER_SHUTDOWN, vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_SHUTOFF, "shutdown: %s %s",
	    r.error, virt_state_name(r.state));
	VT_CHECK(vt_wait_state(&e, "vm-off", VIRT_STATE_SHUTOFF, 10) == 0,
	    "no stopped event");
	VT_RUN(r, 10, virt_start(h, "vm-off", vt_done, &r));
	VT_RUN(r, 10, virt_power(h, "vm-off", VIRT_POWER_DESTROY, vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_SHUTOFF, "destroy: %s",
	    r.error);
	VT_CHECK(vt_wait_state(&e, "vm-off", VIRT_STATE_SHUTOFF, 10) == 0,
	    "no stopped event after destroy");
	VT_RUN(r, 10, virt_power(h, "vm-off", VIRT_POWER_DESTROY, vt_done, &r));
	VT_CHECK(r.ok == 0 && strncmp(r.error, "vm-off: destroy: ", 17) == 0,
	    "destroying a stopped domain: '%s'", r.error);
	VT_CHECK(e.nstates >= 4 && e.off_loop == 0, "events: %d, %d off loop",
	    e.nstates, e.off_loop);

	/* SPICE. */
	VT_RUN(r, 10, virt_spice_info(h, "vm-running", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.tls_port == 5902 && r.port == 5901 &&
	    strcmp(r.listen, "127.0.0.1") == 0, "spice_info: %u %u '%s' %s",
	    r.tls_port, r.port, r.listen, r.error);
	VT_RUN(r, 10, virt_spice_info(h, "vm-off", vt_done, &r));
	VT_CHECK(r.ok == 0 && strstr(r.error, "no SPICE graphics") != NULL,
	    "spice_info without graphics: '%s'", r.error);
	/* The test driver has no virDomainUpdateDeviceFlags before 10.6. */
	VT_RUN(r, 10, virt_set_password(h, "vm-running", "Sekr1t-pw", 0,
	    VIRT_CONNECTED_KEEP, vt_done, &r));
	VT_CHECK(r.ok == 0 && strstr(r.error, "vm-running: setting the SPICE "
	    "password: ") == r.error && strstr(r.error, "not supported"),
	    "set_password: '%s'", r.error);
	VT_CHECK(strstr(r.error, "Sekr1t") == NULL, "password in the error");
	memset(longname, 'p', 61);
	longname[61] = '\0';
	VT_RUN(r, 10, virt_set_password(h, "vm-running", longname, 0,
	    VIRT_CONNECTED_KEEP, vt_done, &r));
	VT_CHECK(r.ok == 0 && strstr(r.error, "over 60") != NULL,
	    "long password: '%s'", r.error);

	VT_RUN(r, 10, virt_screenshot(h, "vm-running", 0, vt_done, &r));
	VT_CHECK(r.ok == 1 && strcmp(r.mime, "image/png") == 0 &&
	    r.image_len > 8 && memcmp(r.image_head, PNG_MAGIC, 8) == 0,
	    "screenshot: %s %zu %s", r.mime, r.image_len, r.error);
	VT_RUN(r, 10, virt_lock(h, "vm-running", vt_done, &r));
	VT_CHECK(r.ok == 0 && strstr(r.error, "no QEMU guest agent") != NULL,
	    "lock: '%s'", r.error);
	VT_RUN(r, 10, virt_revert(h, "vm-running", "nosnap", vt_done, &r));
	VT_CHECK(r.ok == 0 && strstr(r.error, "snapshot") != NULL,
	    "revert: '%s'", r.error);

	/* Names are checked before libvirt sees them. */
	VT_RUN(r, 10, virt_state(h, "../etc/passwd", vt_done, &r));
	VT_CHECK(r.ok == 0 && strcmp(r.error, "invalid domain name") == 0,
	    "slash: '%s'", r.error);
	VT_RUN(r, 10, virt_start(h, "vm\noff", vt_done, &r));
	VT_CHECK(r.ok == 0 && strcmp(r.error, "invalid domain name") == 0,
	    "newline");
	VT_RUN(r, 10, virt_start(h, "", vt_done, &r));
	VT_CHECK(r.ok == 0 && strcmp(r.error, "invalid domain name") == 0,
	    "empty");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	VT_RUN(r, 10, virt_power(h, longname, VIRT_POWER_DESTROY, vt_done, &r));
	VT_CHECK(r.ok == 0 && strcmp(r.error, "invalid domain name") == 0,
	    "long");
	VT_RUN(r, 10, virt_clone(h, "tmpl", "bad/name", vt_done, &r));
	VT_CHECK(r.ok == 0 && strcmp(r.error, "invalid domain name") == 0,
	    "clone name: '%s'", r.error);

	/* Clones: a qcow2 volume in the template's pool, removed again. */
	VT_RUN(r, 10, virt_clone(h, "tmpl", "tmpl-c1", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_SHUTOFF, "clone: %s",
	    r.error);
	VT_RUN(r, 10, virt_clone(h, "tmpl", "tmpl-c1", vt_done, &r));
	VT_CHECK(r.ok == 0 && strstr(r.error, "exists") != NULL,
	    "clone twice: '%s'", r.error);
	VT_RUN(r, 10, virt_start(h, "tmpl-c1", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_RUNNING, "clone start: %s",
	    r.error);
	/* set_password keeps the domain's handle; the fixture has no SPICE
	 * graphics, which it learns from the XML that it read. */
	VT_RUN(r, 10, virt_set_password(h, "tmpl-c1", "pw", 0,
	    VIRT_CONNECTED_KEEP, vt_done, &r));
	strlcpy(first, r.error, sizeof(first));
	VT_CHECK(r.ok == 0 && strstr(r.error, "no SPICE graphics") != NULL,
	    "set_password on the clone: '%s'", r.error);
	VT_RUN(r, 10, virt_remove_clone(h, "tmpl", vt_done, &r));
	VT_CHECK(r.ok == 0 && strstr(r.error, "not a clone") != NULL,
	    "removing the template: '%s'", r.error);
	VT_RUN(r, 10, virt_remove_clone(h, "tmpl-c1", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_MISSING,
	    "remove_clone: %s", r.error);
	VT_RUN(r, 10, virt_state(h, "tmpl-c1", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_MISSING, "clone gone");
	/* The volume is gone too, or its name would be taken. */
	VT_RUN(r, 10, virt_clone(h, "tmpl", "tmpl-c1", vt_done, &r));
	VT_CHECK(r.ok == 1, "clone after removal: %s", r.error);
	/* Another domain under the same name (another UUID): looked up
	 * again, not the kept handle's "no domain with matching uuid". */
	VT_RUN(r, 10, virt_set_password(h, "tmpl-c1", "pw", 0,
	    VIRT_CONNECTED_KEEP, vt_done, &r));
	VT_CHECK(r.ok == 0 && strcmp(r.error, first) == 0,
	    "set_password on a domain defined again: '%s'", r.error);
	VT_RUN(r, 10, virt_remove_clone(h, "tmpl-c1", vt_done, &r));
	VT_CHECK(r.ok == 1, "remove_clone again: %s", r.error);
	VT_RUN(r, 10, virt_set_password(h, "tmpl-c1", "pw", 0,
	    VIRT_CONNECTED_KEEP, vt_done, &r));
	VT_CHECK(r.ok == 0 && r.state == VIRT_STATE_MISSING &&
	    strstr(r.error, "no such domain") != NULL,
	    "set_password on a kept handle's removed domain: '%s'", r.error);

	virt_host_free(h);
	test_down_host();
	virt_shutdown();
	event_base_free(vt_base);
	return vt_finish("test-virt");
}
