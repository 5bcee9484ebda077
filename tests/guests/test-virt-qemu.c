/* SPDX-License-Identifier: ISC */
/*
 * virt.c against a real QEMU guest under libvirt's embedded driver
 * (qemu:///embed?root=TMPDIR): SPICE TLS port, passwords, screenshot,
 * clone (qcow2 overlay) and snapshot revert. KVM when usable, TCG
 * otherwise. Every guest is destroyed at the end: embedded guests would
 * outlive this process.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "domxml.h"
#include "virttest.h"

#define PNG_MAGIC	"\x89PNG\r\n\x1a\n"

static char		 tmpdir[] = "/tmp/paprika-virt-XXXXXX";
static virConnectPtr	 conn;		/* the test's own, for setup */

static const char *domain_xml =
    "<domain type='%s'><name>%s</name>"
    "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
    "<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>"
    "<devices><disk type='file' device='disk'>"
    "<driver name='qemu' type='%s'/><source file='%s'/>"
    "<target dev='hda' bus='ide'/></disk>"
    "<interface type='user'><mac address='52:54:00:aa:bb:cc'/>"
    "<model type='e1000'/></interface>"
    "<graphics type='spice' autoport='yes' defaultMode='secure' "
    "passwd='first-pw'><listen type='address' address='127.0.0.1'/>"
    "</graphics><video><model type='qxl'/></video>"
    "<memballoon model='none'/></devices></domain>";

static int
run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char	cmd[4096];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0 ? 0 : -1;
}

/* Throwaway CA and server certificate for SPICE TLS, and qemu.conf. */
static int
setup_root(void)
{
	FILE	*f;
	char	 path[PATH_MAX];

	if (run("set -e; cd %s; mkdir -p spice etc pool; cd spice; "
	    "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=ca "
	    "-keyout ca-key.pem -out ca-cert.pem 2>/dev/null; "
	    "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost "
	    "-keyout server-key.pem -out server.csr 2>/dev/null; "
	    "openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey "
	    "ca-key.pem -CAcreateserial -days 1 -out server-cert.pem "
	    "2>/dev/null", tmpdir) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/etc/qemu.conf", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "spice_tls = 1\nspice_tls_x509_cert_dir = \"%s/spice\"\n"
	    "spice_listen = \"127.0.0.1\"\nuser = \"root\"\ngroup = \"root\"\n"
	    "stdio_handler = \"file\"\nremote_display_port_min = 27900\n"
	    "remote_display_port_max = 28900\n", tmpdir);
	fclose(f);
	/* The template's raw disk, and a qcow2 copy for internal snapshots. */
	return run("cp %s %s/pool/tmpl.img && qemu-img convert -O qcow2 %s "
	    "%s/snap.qcow2", DEMO_IMAGE, tmpdir, DEMO_IMAGE, tmpdir);
}

static int
kvm_usable(void)
{
	int	fd;

	if ((fd = open("/dev/kvm", O_RDWR)) == -1)
		return 0;
	close(fd);
	return 1;
}

static int
define(const char *type, const char *name, const char *fmt, const char *disk)
{
	char		xml[4096];
	virDomainPtr	d;

	snprintf(xml, sizeof(xml), domain_xml, type, name, fmt, disk);
	if ((d = virDomainDefineXML(conn, xml)) == NULL)
		return -1;
	virDomainFree(d);
	return 0;
}

/* The live passwd of dom, read with the test's own connection. */
static int
has_password(const char *dom, const char *pw, const char *connected)
{
	virDomainPtr	 d;
	char		*xml, want[128];
	int		 ok = 0;

	if ((d = virDomainLookupByName(conn, dom)) == NULL)
		return 0;
	if ((xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_SECURE)) != NULL) {
		snprintf(want, sizeof(want), "passwd='%s'", pw);
		ok = strstr(xml, want) != NULL &&
		    strstr(xml, "passwdValidTo='") != NULL;
		snprintf(want, sizeof(want), "connected='%s'", connected);
		ok = ok && strstr(xml, want) != NULL;
		free(xml);
	}
	virDomainFree(d);
	return ok;
}

/* dom's persistent definition contains (or lacks) what. */
static int
defined_with(const char *dom, const char *what)
{
	virDomainPtr	 d;
	char		*xml;
	int		 found = 0;

	if ((d = virDomainLookupByName(conn, dom)) == NULL)
		return -1;
	if ((xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE)) != NULL) {
		found = strstr(xml, what) != NULL;
		free(xml);
	}
	virDomainFree(d);
	return found;
}

/*
 * virt_start_prepared and virt_gpu_strip on the real QEMU driver: the
 * pool's edits reach the definition and QEMU starts with them; a GPU the
 * host cannot list fails in words; a stopped guest's definition loses the
 * GPU it was given.
 */
static void
check_prepared_start(struct virt_host *h)
{
	struct virt_start_plan	 plan;
	struct vt_result	 r;
	struct domxml_opts	 gpu;
	virDomainPtr		 d, nd;
	char			*xml, *text, err[256];

	memset(&plan, 0, sizeof(plan));
	plan.xml.clipboard = DOMXML_OFF;
	plan.xml.gpu_display = 1;
	VT_RUN(r, 60, virt_start_prepared(h, "tmpl", &plan, vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_RUNNING,
	    "prepared start: %s", r.error);
	VT_CHECK(defined_with("tmpl", "<clipboard copypaste='no'/>") == 1 &&
	    defined_with("tmpl", "org.spice-space.stream.0") == 1,
	    "the definition lacks the pool's edits");
	VT_RUN(r, 30, virt_power(h, "tmpl", VIRT_POWER_DESTROY, vt_done, &r));

	/* The embedded driver has no node devices: the GPU cannot be
	 * checked, and the guest is not started without the check. */
	plan.xml.npci = 1;
	gpu_addr_parse("0000:41:00.0", &plan.xml.pci[0]);
	VT_RUN(r, 30, virt_start_prepared(h, "tmpl", &plan, vt_done, &r));
	VT_CHECK(r.ok == 0 && strstr(r.error, "listing PCI devices") != NULL &&
	    r.state == VIRT_STATE_SHUTOFF, "GPU start without node devices: "
	    "'%s' %s", r.error, virt_state_name(r.state));

	/* A definition that still names a GPU, as after a stop. */
	memset(&gpu, 0, sizeof(gpu));
	gpu.npci = 1;
	gpu.pci[0] = plan.xml.pci[0];
	d = virDomainLookupByName(conn, "tmpl");
	text = d != NULL ? virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE) :
	    NULL;
	xml = text != NULL ? domxml_prepare(text, &gpu, err, sizeof(err)) :
	    NULL;
	nd = xml != NULL ? virDomainDefineXML(conn, xml) : NULL;
	VT_CHECK(nd != NULL && defined_with("tmpl", "ua-paprika-gpu0") == 1,
	    "defining a GPU: %s", virGetLastErrorMessage());
	VT_RUN(r, 30, virt_gpu_strip(h, "tmpl", vt_done, &r));
	VT_CHECK(r.ok == 1 && defined_with("tmpl", "<hostdev") == 0 &&
	    defined_with("tmpl", "ua-paprika-") == 0, "strip: %s", r.error);
	if (nd != NULL)
		virDomainFree(nd);
	if (d != NULL)
		virDomainFree(d);
	free(text);
	free(xml);
}

static void
teardown(void)
{
	virDomainPtr	*doms = NULL;
	int		 n, i;

	if (conn == NULL)
		return;
	if ((n = virConnectListAllDomains(conn, &doms, 0)) > 0) {
		for (i = 0; i < n; i++) {
			if (virDomainIsActive(doms[i]) == 1)
				virDomainDestroy(doms[i]);
			virDomainFree(doms[i]);
		}
	}
	free(doms);
	virConnectClose(conn);
	conn = NULL;
}

int
main(void)
{
	struct virt_host	*h = NULL;
	struct vt_events	 e;
	struct vt_result	 r;
	char			 uri[PATH_MAX], path[PATH_MAX], head[4];
	const char		*type;
	virDomainPtr		 d;
	virDomainSnapshotPtr	 snap;
	struct stat		 sb;
	FILE			*f;

	if (access(DEMO_IMAGE, R_OK) == -1 || mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "test-virt-qemu: no %s\n", DEMO_IMAGE);
		return 99;
	}
	/* libvirt's own log (harmless warnings) goes to a file. */
	snprintf(path, sizeof(path), "3:file:%s/libvirt.log", tmpdir);
	setenv("LIBVIRT_LOG_OUTPUTS", path, 0);
	vt_init();
	if (setup_root() == -1) {
		fprintf(stderr, "test-virt-qemu: cannot set up %s\n", tmpdir);
		return 99;
	}
	snprintf(uri, sizeof(uri), "qemu:///embed?root=%s", tmpdir);
	if ((conn = virConnectOpen(uri)) == NULL) {
		fprintf(stderr, "test-virt-qemu: %s: %s\n", uri,
		    virGetLastErrorMessage());
		return 99;
	}
	type = kvm_usable() ? "kvm" : "qemu";
	snprintf(path, sizeof(path), "%s/pool/tmpl.img", tmpdir);
	VT_CHECK(define(type, "tmpl", "raw", path) == 0, "define tmpl: %s",
	    virGetLastErrorMessage());
	snprintf(path, sizeof(path), "%s/snap.qcow2", tmpdir);
	VT_CHECK(define(type, "snapvm", "qcow2", path) == 0,
	    "define snapvm: %s", virGetLastErrorMessage());
	/* An internal snapshot of the stopped guest (qemu-img). */
	if ((d = virDomainLookupByName(conn, "snapvm")) != NULL) {
		snap = virDomainSnapshotCreateXML(d, "<domainsnapshot><name>s1"
		    "</name></domainsnapshot>", 0);
		VT_CHECK(snap != NULL, "snapshot: %s",
		    virGetLastErrorMessage());
		if (snap != NULL)
			virDomainSnapshotFree(snap);
		virDomainFree(d);
	}
	if (vt_failures != 0)
		goto out;

	memset(&e, 0, sizeof(e));
	h = virt_host_new("local", uri, &vt_callbacks, &e);
	VT_CHECK(h != NULL && vt_wait(&e.up_calls, 20) == 0 && e.up == 1,
	    "host not up: %s", h != NULL ? virt_host_error(h) : "");
	if (vt_failures != 0)
		goto out;

	VT_RUN(r, 60, virt_start(h, "tmpl", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_RUNNING, "start: %s",
	    r.error);
	VT_CHECK(vt_wait_state(&e, "tmpl", VIRT_STATE_RUNNING, 20) == 0,
	    "no started event");
	VT_RUN(r, 30, virt_spice_info(h, "tmpl", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.tls_port >= 27900 && r.tls_port <= 28900 &&
	    strcmp(r.listen, "127.0.0.1") == 0, "spice_info: tls %u '%s' %s",
	    r.tls_port, r.listen, r.error);
	VT_RUN(r, 30, virt_set_password(h, "tmpl", "Second-pw", time(NULL) +
	    120, VIRT_CONNECTED_KEEP, vt_done, &r));
	VT_CHECK(r.ok == 1, "set_password: %s", r.error);
	VT_CHECK(has_password("tmpl", "Second-pw", "keep"), "password not set");
	VT_RUN(r, 30, virt_set_password(h, "tmpl", "Third&<pw'", time(NULL) +
	    120, VIRT_CONNECTED_DISCONNECT, vt_done, &r));
	VT_CHECK(r.ok == 1, "set_password disconnect: %s", r.error);
	VT_CHECK(has_password("tmpl", "Third&amp;&lt;pw&apos;", "disconnect"),
	    "second password not set");
	VT_RUN(r, 30, virt_screenshot(h, "tmpl", 0, vt_done, &r));
	VT_CHECK(r.ok == 1 && r.image_len > 8 &&
	    memcmp(r.image_head, PNG_MAGIC, 8) == 0 &&
	    strcmp(r.mime, "image/png") == 0, "screenshot: %s %zu %s",
	    r.mime, r.image_len, r.error);
	VT_RUN(r, 30, virt_lock(h, "tmpl", vt_done, &r));
	VT_CHECK(r.ok == 0 && strstr(r.error, "no QEMU guest agent") != NULL,
	    "lock without an agent: '%s'", r.error);
	VT_RUN(r, 30, virt_power(h, "tmpl", VIRT_POWER_DESTROY, vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_SHUTOFF, "destroy: %s",
	    r.error);

	/* A clone: a qcow2 overlay of the template's disk, started. */
	VT_RUN(r, 30, virt_clone(h, "tmpl", "tmpl-c1", vt_done, &r));
	VT_CHECK(r.ok == 1, "clone: %s", r.error);
	snprintf(path, sizeof(path), "%s/pool/tmpl-c1-hda.qcow2", tmpdir);
	memset(head, 0, sizeof(head));
	if ((f = fopen(path, "rb")) != NULL) {
		if (fread(head, 1, 4, f) != 4)
			memset(head, 0, sizeof(head));
		fclose(f);
	}
	VT_CHECK(memcmp(head, "QFI\xfb", 4) == 0, "%s is no qcow2", path);
	VT_RUN(r, 60, virt_start(h, "tmpl-c1", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_RUNNING,
	    "clone start: %s", r.error);
	VT_RUN(r, 30, virt_remove_clone(h, "tmpl-c1", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_MISSING,
	    "remove_clone: %s", r.error);
	VT_CHECK(stat(path, &sb) == -1, "%s still there", path);
	snprintf(path, sizeof(path), "%s/pool/tmpl.img", tmpdir);
	VT_CHECK(stat(path, &sb) == 0, "the template's disk is gone");

	/* Revert a running guest to the snapshot taken while it was off. */
	VT_RUN(r, 60, virt_start(h, "snapvm", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_RUNNING, "snapvm: %s",
	    r.error);
	VT_RUN(r, 60, virt_revert(h, "snapvm", "s1", vt_done, &r));
	VT_CHECK(r.ok == 1 && r.state == VIRT_STATE_SHUTOFF, "revert: %s %s",
	    r.error, virt_state_name(r.state));
	VT_RUN(r, 30, virt_revert(h, "snapvm", "s2", vt_done, &r));
	VT_CHECK(r.ok == 0 && strstr(r.error, "snapshot") != NULL,
	    "revert to none: '%s'", r.error);
	check_prepared_start(h);
	VT_CHECK(e.off_loop == 0, "callbacks off the loop");

out:
	virt_host_free(h);
	teardown();
	run("rm -rf %s", tmpdir);
	event_base_free(vt_base);
	return vt_finish("test-virt-qemu");
}
