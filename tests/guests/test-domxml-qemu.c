/* SPDX-License-Identifier: ISC */
/*
 * What domxml_prepare writes, defined in libvirt's embedded QEMU driver
 * (qemu:///embed?root=TMPDIR): libvirt must keep every element the broker
 * added, the broker must read its devices back from libvirt's XML, and a
 * second preparation of libvirt's XML must not add anything twice. A
 * guest with the display, firmware and feature edits (no hostdevs: this
 * host has no GPU to give) is also started, so that QEMU accepts them too.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "domxml.h"
#include "virttest.h"

#define UUID	"4b20d080-1b54-4048-85b3-a6a62d165c01"

static char		 tmpdir[] = "/tmp/paprika-domxml-XXXXXX";
static virConnectPtr	 conn;

/* tests/lib/guest.py's guest without its disk, as the admin would write it. */
static const char *domain_xml =
    "<domain type='qemu'><name>%s</name>"
    "<memory unit='MiB'>128</memory><vcpu>1</vcpu>"
    "<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>"
    "<devices>"
    "<graphics type='spice' autoport='yes'>"
    "<listen type='address' address='127.0.0.1'/></graphics>"
    "<memballoon model='none'/></devices></domain>";

/* The checks on libvirt's XML: an XPath and how many nodes it selects. */
struct want {
	const char	*expr;
	int		 count;
};

static const struct want display_wants[] = {
	{ "/domain/devices/video/model[@type='qxl']", 1 },
	{ "/domain/devices/channel[@type='spiceport']"
	    "[source/@channel='org.spice-space.stream.0']"
	    "[target/@type='virtio']"
	    "[target/@name='org.spice-space.stream.0']"
	    "[alias/@name='ua-paprika-stream']", 1 },
	{ "/domain/devices/channel", 1 },
	{ "/domain/os[@firmware='efi']", 1 },
	{ "/domain/features/kvm/hidden[@state='on']", 1 },
	{ "/domain/features/hyperv/vendor_id[@state='on']"
	    "[@value='paprika0']", 1 },
	{ "/domain/devices/graphics[@type='spice']"
	    "/clipboard[@copypaste='no']", 1 },
	{ "/domain/devices/graphics/clipboard", 1 },
	{ NULL, 0 }
};

static const struct want pci_wants[] = {
	{ "/domain/devices/hostdev", 2 },
	{ "/domain/devices/hostdev[@mode='subsystem'][@type='pci']"
	    "[@managed='no'][driver/@name='vfio']"
	    "[alias/@name='ua-paprika-gpu0']/source/address"
	    "[@domain='0x0000'][@bus='0x41'][@slot='0x00'][@function='0x0']",
	    1 },
	{ "/domain/devices/hostdev[@type='pci']"
	    "[alias/@name='ua-paprika-gpu1']/source/address"
	    "[@domain='0x0000'][@bus='0x41'][@slot='0x00'][@function='0x1']",
	    1 },
	{ NULL, 0 }
};

static const struct want mdev_wants[] = {
	{ "/domain/devices/hostdev", 1 },
	{ "/domain/devices/hostdev[@mode='subsystem'][@type='mdev']"
	    "[@model='vfio-pci'][@display='on'][@ramfb='on']"
	    "[alias/@name='ua-paprika-mdev0']"
	    "/source/address[@uuid='" UUID "']", 1 },
	{ NULL, 0 }
};

static int
count(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr	obj;
	int			n = -1;

	obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	if (obj != NULL && obj->type == XPATH_NODESET)
		n = obj->nodesetval != NULL ? obj->nodesetval->nodeNr : 0;
	xmlXPathFreeObject(obj);
	return n;
}

/* Checks each of wants against xml; what: which guest, for messages. */
static void
check_xml(const char *what, const char *xml, const struct want *wants)
{
	xmlDocPtr		doc;
	xmlXPathContextPtr	ctx = NULL;
	int			n;

	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
	    XML_PARSE_NONET);
	if (doc == NULL || (ctx = xmlXPathNewContext(doc)) == NULL) {
		VT_CHECK(0, "%s: libvirt's XML does not parse", what);
		xmlFreeDoc(doc);
		return;
	}
	for (; wants->expr != NULL; wants++) {
		n = count(ctx, wants->expr);
		VT_CHECK(n == wants->count, "%s: %d of %s, not %d\n%s", what,
		    n, wants->expr, wants->count, xml);
	}
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
}

/* Prepares xml, defines it, and returns libvirt's inactive XML, or NULL. */
static char *
define_prepared(const char *xml, const struct domxml_opts *o)
{
	virDomainPtr	 d;
	char		*prepared, *back = NULL, err[256];

	if ((prepared = domxml_prepare(xml, o, err, sizeof(err))) == NULL) {
		VT_CHECK(0, "domxml_prepare: %s", err);
		return NULL;
	}
	if ((d = virDomainDefineXML(conn, prepared)) == NULL)
		VT_CHECK(0, "libvirt refuses the definition: %s\n%s",
		    virGetLastErrorMessage(), prepared);
	else {
		back = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
		VT_CHECK(back != NULL, "XML: %s", virGetLastErrorMessage());
		virDomainFree(d);
	}
	free(prepared);
	return back;
}

/*
 * Defines name prepared with o, checks libvirt's XML against each list of
 * wants, then prepares and defines libvirt's own XML again: the same
 * checks must hold, nothing doubled. Returns libvirt's last XML, or NULL.
 */
static char *
define_twice(const char *name, const struct domxml_opts *o,
    const struct want *w1, const struct want *w2)
{
	char	 xml[2048], what[128], *first, *second;

	snprintf(xml, sizeof(xml), domain_xml, name);
	if ((first = define_prepared(xml, o)) == NULL)
		return NULL;
	check_xml(name, first, w1);
	check_xml(name, first, w2);
	second = define_prepared(first, o);
	free(first);
	if (second == NULL)
		return NULL;
	snprintf(what, sizeof(what), "%s, prepared again", name);
	check_xml(what, second, w1);
	check_xml(what, second, w2);
	return second;
}

static void
opts_display(struct domxml_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->gpu_display = 1;
	o->ovmf = 1;
	o->kvm_hidden = 1;
	strlcpy(o->vendor_id, "paprika0", sizeof(o->vendor_id));
	o->clipboard = DOMXML_OFF;
}

static void
test_pci(void)
{
	struct domxml_opts	 o;
	struct gpu_addr		 a[DOMXML_PCI_MAX];
	char			 uuid[GPU_UUID_LEN], *xml;
	int			 n;

	opts_display(&o);
	o.npci = 2;
	o.pci[0].bus = o.pci[1].bus = 0x41;
	o.pci[1].function = 1;
	if ((xml = define_twice("gpu-pci", &o, display_wants,
	    pci_wants)) == NULL)
		return;
	/* What the broker reads back after a restart. */
	n = domxml_gpu_devices(xml, a, DOMXML_PCI_MAX, uuid, sizeof(uuid));
	VT_CHECK(n == 2 && a[0].bus == 0x41 && a[0].function == 0 &&
	    a[1].bus == 0x41 && a[1].function == 1 && uuid[0] == '\0',
	    "read back %d devices", n);
	free(xml);
}

static void
test_mdev(void)
{
	struct domxml_opts	 o;
	struct gpu_addr		 a[DOMXML_PCI_MAX];
	char			 uuid[GPU_UUID_LEN], *xml;
	int			 n;

	opts_display(&o);
	strlcpy(o.mdev_uuid, UUID, sizeof(o.mdev_uuid));
	o.mdev_display = 1;
	if ((xml = define_twice("gpu-mdev", &o, display_wants,
	    mdev_wants)) == NULL)
		return;
	n = domxml_gpu_devices(xml, a, DOMXML_PCI_MAX, uuid, sizeof(uuid));
	VT_CHECK(n == 0 && strcmp(uuid, UUID) == 0, "read back %d, '%s'", n,
	    uuid);
	free(xml);
}

/* The display, firmware and features edits, started under QEMU (TCG). */
static void
test_start(void)
{
	struct domxml_opts	 o;
	virDomainPtr		 d;
	char			*xml;

	opts_display(&o);
	if ((xml = define_twice("gpu-start", &o, display_wants,
	    display_wants)) == NULL)
		return;
	free(xml);
	if ((d = virDomainLookupByName(conn, "gpu-start")) == NULL)
		return;
	VT_CHECK(virDomainCreate(d) == 0, "QEMU refuses the guest: %s",
	    virGetLastErrorMessage());
	if (virDomainIsActive(d) == 1)
		virDomainDestroy(d);
	virDomainFree(d);
}

/* Firmware autoselection finds OVMF (Debian package ovmf). */
static void
test_firmware(void)
{
	char	*caps;

	caps = virConnectGetDomainCapabilities(conn, NULL, "x86_64", "pc",
	    "qemu", 0);
	VT_CHECK(caps != NULL && strstr(caps, "<value>efi</value>") != NULL,
	    "no efi firmware to select (is ovmf installed?)");
	free(caps);
}

static void
teardown(void)
{
	virDomainPtr	*doms = NULL;
	int		 n, i;

	if ((n = virConnectListAllDomains(conn, &doms, 0)) > 0) {
		for (i = 0; i < n; i++) {
			if (virDomainIsActive(doms[i]) == 1)
				virDomainDestroy(doms[i]);
			VT_CHECK(virDomainUndefineFlags(doms[i],
			    VIR_DOMAIN_UNDEFINE_NVRAM) == 0, "undefine: %s",
			    virGetLastErrorMessage());
			virDomainFree(doms[i]);
		}
	}
	free(doms);
	virConnectClose(conn);
}

/* qemu.conf for the started guest: plain SPICE on loopback, as root. */
static int
setup_root(void)
{
	FILE	*f;
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/etc", tmpdir);
	if (mkdir(path, 0700) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/etc/qemu.conf", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "spice_listen = \"127.0.0.1\"\nuser = \"root\"\n"
	    "group = \"root\"\nstdio_handler = \"file\"\n"
	    "remote_display_port_min = 28900\n"
	    "remote_display_port_max = 29900\n");
	return fclose(f) == 0 ? 0 : -1;
}

int
main(void)
{
	char	uri[PATH_MAX], cmd[PATH_MAX + 16];

	if (mkdtemp(tmpdir) == NULL || setup_root() == -1) {
		fprintf(stderr, "test-domxml-qemu: cannot set up %s\n", tmpdir);
		return 99;
	}
	snprintf(uri, sizeof(uri), "3:file:%s/libvirt.log", tmpdir);
	setenv("LIBVIRT_LOG_OUTPUTS", uri, 0);
	vt_init();
	snprintf(uri, sizeof(uri), "qemu:///embed?root=%s", tmpdir);
	if ((conn = virConnectOpen(uri)) == NULL) {
		fprintf(stderr, "test-domxml-qemu: %s: %s\n", uri,
		    virGetLastErrorMessage());
		return 99;
	}
	test_firmware();
	test_pci();
	test_mdev();
	test_start();
	teardown();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		vt_failures++;
	event_base_free(vt_base);
	return vt_finish("test-domxml-qemu");
}
