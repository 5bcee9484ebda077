/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/virt/domxml.c: the edits the broker makes to a domain
 * definition. Outputs are parsed again and checked with XPath, so that
 * attribute order and whitespace do not matter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "domxml.h"

#define UUID	"4b20d080-1b54-4048-85b3-a6a62d165c01"

/* A small guest with SPICE graphics and no video device. */
#define DOMAIN_HEAD \
	"<domain type='qemu'><name>g</name>" \
	"<memory unit='MiB'>64</memory><vcpu>1</vcpu>" \
	"<os><type arch='x86_64' machine='pc'>hvm</type>" \
	"<boot dev='hd'/></os>"
#define SPICE \
	"<graphics type='spice' autoport='yes'>" \
	"<listen type='address' address='127.0.0.1'/></graphics>"
#define DOMAIN_TAIL	"<memballoon model='none'/></devices></domain>"

static const char	plain[] = DOMAIN_HEAD "<devices>" SPICE DOMAIN_TAIL;

/* A parsed output and an XPath context over it. */
struct out {
	xmlDocPtr		doc;
	xmlXPathContextPtr	ctx;
};

static void
out_parse(struct out *o, const char *xml)
{
	assert_non_null(xml);
	o->doc = xmlReadMemory(xml, (int)strlen(xml), "out.xml", NULL,
	    XML_PARSE_NONET);
	assert_non_null(o->doc);
	o->ctx = xmlXPathNewContext(o->doc);
	assert_non_null(o->ctx);
}

static void
out_free(struct out *o)
{
	xmlXPathFreeContext(o->ctx);
	xmlFreeDoc(o->doc);
}

/* The number of nodes expr selects. */
static int
count(struct out *o, const char *expr)
{
	xmlXPathObjectPtr	obj;
	int			n = -1;

	obj = xmlXPathEvalExpression((const xmlChar *)expr, o->ctx);
	assert_non_null(obj);
	if (obj->type == XPATH_NODESET)
		n = obj->nodesetval != NULL ? obj->nodesetval->nodeNr : 0;
	xmlXPathFreeObject(obj);
	assert_int_not_equal(n, -1);
	return n;
}

/* domxml_prepare that must succeed, parsed into o. */
static void
prepare_ok(const char *xml, const struct domxml_opts *opts, struct out *o)
{
	char	 err[256], *res;

	res = domxml_prepare(xml, opts, err, sizeof(err));
	if (res == NULL)
		fail_msg("domxml_prepare: %s", err);
	out_parse(o, res);
	free(res);
}

/* domxml_prepare that must fail with an error containing want. */
static void
prepare_fails(const char *xml, const struct domxml_opts *opts,
    const char *want)
{
	char	 err[256], *res;

	err[0] = 'x';
	res = domxml_prepare(xml, opts, err, sizeof(err));
	assert_null(res);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
opts_pci(struct domxml_opts *o, uint8_t bus, uint8_t function)
{
	o->pci[o->npci].domain = 0;
	o->pci[o->npci].bus = bus;
	o->pci[o->npci].slot = 0;
	o->pci[o->npci].function = function;
	o->npci++;
}

/* Everything on: two PCI functions, a vGPU, display, firmware, features. */
static void
opts_all(struct domxml_opts *o)
{
	memset(o, 0, sizeof(*o));
	opts_pci(o, 0x41, 0);
	opts_pci(o, 0x41, 1);
	strlcpy(o->mdev_uuid, UUID, sizeof(o->mdev_uuid));
	o->mdev_display = 1;
	o->gpu_display = 1;
	o->ovmf = 1;
	o->kvm_hidden = 1;
	strlcpy(o->vendor_id, "paprika0", sizeof(o->vendor_id));
	o->clipboard = DOMXML_OFF;
	o->filetransfer = DOMXML_ON;
}

#define HOSTDEV	"/domain/devices/hostdev"

static void
test_pci(void **state)
{
	struct domxml_opts	opts;
	struct out		o;

	memset(&opts, 0, sizeof(opts));
	opts_pci(&opts, 0x41, 0);
	opts_pci(&opts, 0x41, 1);
	prepare_ok(plain, &opts, &o);
	assert_int_equal(count(&o, HOSTDEV), 2);
	assert_int_equal(count(&o, HOSTDEV "[@mode='subsystem' and "
	    "@type='pci' and @managed='no']/driver[@name='vfio']"), 2);
	assert_int_equal(count(&o, HOSTDEV "[alias/@name='ua-paprika-gpu0']"
	    "/source/address[@domain='0x0000' and @bus='0x41' and "
	    "@slot='0x00' and @function='0x0']"), 1);
	assert_int_equal(count(&o, HOSTDEV "[alias/@name='ua-paprika-gpu1']"
	    "/source/address[@domain='0x0000' and @bus='0x41' and "
	    "@slot='0x00' and @function='0x1']"), 1);
	/* Nothing else was asked for. */
	assert_int_equal(count(&o, "//video | //channel | //features"), 0);
	assert_int_equal(count(&o, "/domain/os[@firmware]"), 0);
	assert_int_equal(count(&o, "//graphics/*[name() != 'listen']"), 0);
	out_free(&o);

	/* A function without a driver is left to libvirt to bind. */
	opts.pci_managed[1] = 1;
	prepare_ok(plain, &opts, &o);
	assert_int_equal(count(&o, HOSTDEV "[@managed='no']/alias[@name="
	    "'ua-paprika-gpu0']"), 1);
	assert_int_equal(count(&o, HOSTDEV "[@managed='yes']/alias[@name="
	    "'ua-paprika-gpu1']"), 1);
	out_free(&o);
}

static void
test_mdev(void **state)
{
	struct domxml_opts	opts;
	struct out		o;

	memset(&opts, 0, sizeof(opts));
	strlcpy(opts.mdev_uuid, UUID, sizeof(opts.mdev_uuid));
	opts.mdev_display = 1;
	prepare_ok(plain, &opts, &o);
	assert_int_equal(count(&o, HOSTDEV "[@mode='subsystem' and "
	    "@type='mdev' and @model='vfio-pci' and @display='on' and "
	    "@ramfb='on' and alias/@name='ua-paprika-mdev0']"
	    "/source/address[@uuid='" UUID "']"), 1);
	out_free(&o);

	opts.mdev_display = 0;
	prepare_ok(plain, &opts, &o);
	assert_int_equal(count(&o, HOSTDEV "[@type='mdev' and "
	    "@display='off' and not(@ramfb)]"), 1);
	out_free(&o);

	/* display='on' shows the vGPU on a graphics device. */
	opts.mdev_display = 1;
	prepare_fails(DOMAIN_HEAD "<devices/></domain>", &opts,
	    "needs a <graphics>");
}

#define STREAM_CHANNEL "/domain/devices/channel[@type='spiceport']" \
	"[source/@channel='org.spice-space.stream.0']" \
	"[target/@type='virtio' and " \
	"target/@name='org.spice-space.stream.0']"

static void
test_gpu_display(void **state)
{
	struct domxml_opts	opts;
	struct out		o;

	memset(&opts, 0, sizeof(opts));
	opts.gpu_display = 1;
	prepare_ok(plain, &opts, &o);
	assert_int_equal(count(&o, "//video"), 1);
	assert_int_equal(count(&o, "/domain/devices/video/model"
	    "[@type='qxl']"), 1);
	assert_int_equal(count(&o, "//channel"), 1);
	assert_int_equal(count(&o, STREAM_CHANNEL
	    "[alias/@name='ua-paprika-stream']"), 1);
	out_free(&o);

	/* The admin's video and stream channel stay, and are not doubled. */
	prepare_ok(DOMAIN_HEAD "<devices>" SPICE
	    "<video><model type='virtio'/></video>"
	    "<channel type='spiceport'>"
	    "<source channel='org.spice-space.stream.0'/>"
	    "<target type='virtio' name='org.spice-space.stream.0'/>"
	    "</channel>" DOMAIN_TAIL, &opts, &o);
	assert_int_equal(count(&o, "//video"), 1);
	assert_int_equal(count(&o, "//video/model[@type='virtio']"), 1);
	assert_int_equal(count(&o, "//channel"), 1);
	assert_int_equal(count(&o, "//channel/alias"), 0);
	out_free(&o);
}

static void
test_ovmf(void **state)
{
	struct domxml_opts	opts;
	struct out		o;

	memset(&opts, 0, sizeof(opts));
	opts.ovmf = 1;
	prepare_ok(plain, &opts, &o);
	assert_int_equal(count(&o, "/domain/os[@firmware='efi']"), 1);
	/* The other children of <os> stay. */
	assert_int_equal(count(&o, "/domain/os/type[@machine='pc']"), 1);
	assert_int_equal(count(&o, "/domain/os/boot[@dev='hd']"), 1);
	/* libvirt 9.0: "UEFI requires ACPI on this architecture". */
	assert_int_equal(count(&o, "/domain/features/acpi"), 1);
	out_free(&o);

	/* A loader named by the admin is not autoselected over. */
	prepare_ok("<domain type='qemu'><name>g</name><os>"
	    "<type>hvm</type><loader readonly='yes' type='pflash'>"
	    "/usr/share/OVMF/OVMF_CODE_4M.fd</loader></os></domain>",
	    &opts, &o);
	assert_int_equal(count(&o, "/domain/os[@firmware]"), 0);
	assert_int_equal(count(&o, "/domain/os/loader"), 1);
	out_free(&o);
}

static void
test_features_new(void **state)
{
	struct domxml_opts	opts;
	struct out		o;

	memset(&opts, 0, sizeof(opts));
	opts.kvm_hidden = 1;
	prepare_ok(plain, &opts, &o);
	assert_int_equal(count(&o, "/domain/features/kvm/hidden"
	    "[@state='on']"), 1);
	assert_int_equal(count(&o, "//hyperv"), 0);
	out_free(&o);

	memset(&opts, 0, sizeof(opts));
	strlcpy(opts.vendor_id, "ABCdef123456", sizeof(opts.vendor_id));
	prepare_ok(plain, &opts, &o);
	assert_int_equal(count(&o, "/domain/features/hyperv[@mode='custom']"
	    "/vendor_id[@state='on' and @value='ABCdef123456']"), 1);
	assert_int_equal(count(&o, "//kvm"), 0);
	out_free(&o);
}

static void
test_features_merge(void **state)
{
	struct domxml_opts	opts;
	struct out		o;

	memset(&opts, 0, sizeof(opts));
	opts.kvm_hidden = 1;
	opts.ovmf = 1;
	strlcpy(opts.vendor_id, "paprika0", sizeof(opts.vendor_id));
	prepare_ok(DOMAIN_HEAD "<features><acpi/><apic/>"
	    "<kvm><hint-dedicated state='on'/><hidden state='off'/></kvm>"
	    "<hyperv mode='passthrough'><relaxed state='on'/>"
	    "<vendor_id state='off' value='old'/></hyperv></features>"
	    "<devices>" SPICE DOMAIN_TAIL, &opts, &o);
	assert_int_equal(count(&o, "//features"), 1);
	assert_int_equal(count(&o, "/domain/features/acpi"), 1);
	assert_int_equal(count(&o, "/domain/features/apic"), 1);
	assert_int_equal(count(&o, "//kvm"), 1);
	assert_int_equal(count(&o, "//kvm/hint-dedicated[@state='on']"), 1);
	assert_int_equal(count(&o, "//kvm/hidden"), 1);
	assert_int_equal(count(&o, "//kvm/hidden[@state='on']"), 1);
	/* The admin's mode and other enlightenments stay. */
	assert_int_equal(count(&o, "//hyperv"), 1);
	assert_int_equal(count(&o, "//hyperv[@mode='passthrough']"), 1);
	assert_int_equal(count(&o, "//hyperv/relaxed[@state='on']"), 1);
	assert_int_equal(count(&o, "//hyperv/vendor_id"), 1);
	assert_int_equal(count(&o, "//hyperv/vendor_id[@state='on' and "
	    "@value='paprika0']"), 1);
	out_free(&o);
}

static void
test_spice_switches(void **state)
{
	struct domxml_opts	opts;
	struct out		o;
	const char		xml[] = DOMAIN_HEAD "<devices>"
	    "<graphics type='spice'><clipboard copypaste='yes'/>"
	    "<filetransfer enable='no'/></graphics>"
	    "<graphics type='spice' port='5901'/>"
	    "<graphics type='vnc' port='5902'/>" DOMAIN_TAIL;

	memset(&opts, 0, sizeof(opts));
	opts.clipboard = DOMXML_OFF;
	opts.filetransfer = DOMXML_ON;
	prepare_ok(xml, &opts, &o);
	assert_int_equal(count(&o, "//graphics[@type='spice']/clipboard"), 2);
	assert_int_equal(count(&o, "//graphics[@type='spice']"
	    "/clipboard[@copypaste='no']"), 2);
	assert_int_equal(count(&o, "//graphics[@type='spice']"
	    "/filetransfer"), 2);
	assert_int_equal(count(&o, "//graphics[@type='spice']"
	    "/filetransfer[@enable='yes']"), 2);
	assert_int_equal(count(&o, "//graphics[@type='vnc']/*"), 0);
	out_free(&o);

	/* KEEP leaves both as they were. */
	opts.clipboard = DOMXML_KEEP;
	opts.filetransfer = DOMXML_KEEP;
	prepare_ok(xml, &opts, &o);
	assert_int_equal(count(&o, "//clipboard[@copypaste='yes']"), 1);
	assert_int_equal(count(&o, "//filetransfer[@enable='no']"), 1);
	assert_int_equal(count(&o, "//clipboard | //filetransfer"), 2);
	out_free(&o);

	opts.clipboard = DOMXML_ON;
	prepare_ok(xml, &opts, &o);
	assert_int_equal(count(&o, "//clipboard[@copypaste='yes']"), 2);
	assert_int_equal(count(&o, "//clipboard"), 2);
	out_free(&o);
}

/* Counts of each element the full preparation adds. */
static void
assert_all_once(struct out *o)
{
	assert_int_equal(count(o, HOSTDEV), 3);
	assert_int_equal(count(o, "//alias[starts-with(@name, "
	    "'ua-paprika-')]"), 5);
	assert_int_equal(count(o, "//video"), 1);
	assert_int_equal(count(o, "//channel"), 1);
	assert_int_equal(count(o, "//features"), 1);
	assert_int_equal(count(o, "//features/acpi"), 1);
	assert_int_equal(count(o, "//kvm/hidden"), 1);
	assert_int_equal(count(o, "//hyperv/vendor_id"), 1);
	assert_int_equal(count(o, "//graphics/clipboard"), 1);
	assert_int_equal(count(o, "//graphics/filetransfer"), 1);
	assert_int_equal(count(o, "/domain/os[@firmware='efi']"), 1);
}

/* The same preparation of its own output gives the same document. */
static void
assert_idempotent(const char *xml, const struct domxml_opts *opts)
{
	struct out	 o;
	char		 err[256], *once, *twice;

	once = domxml_prepare(xml, opts, err, sizeof(err));
	assert_non_null(once);
	twice = domxml_prepare(once, opts, err, sizeof(err));
	assert_non_null(twice);
	out_parse(&o, twice);
	assert_all_once(&o);
	out_free(&o);
	/* Not only the same elements: the same document. */
	assert_string_equal(once, twice);
	free(once);
	free(twice);
}

static void
test_idempotent(void **state)
{
	struct domxml_opts	opts;

	opts_all(&opts);
	assert_idempotent(plain, &opts);
	/* Indented as libvirt writes it: the indentation stays as it was. */
	assert_idempotent("<domain type='qemu'>\n  <name>g</name>\n"
	    "  <os>\n    <type>hvm</type>\n  </os>\n  <devices>\n"
	    "    <graphics type='spice'>\n      <clipboard copypaste='yes'/>"
	    "\n    </graphics>\n    <hostdev mode='subsystem' type='pci'>"
	    "\n      <source><address bus='0x07' slot='0' function='0'/>"
	    "</source>\n      <alias name='ua-paprika-gpu0'/>\n"
	    "    </hostdev>\n  </devices>\n</domain>\n", &opts);
}

static void
test_reallocate(void **state)
{
	struct domxml_opts	 opts;
	struct out		 o;
	char			 err[256], *first;
	const char		 xml[] = DOMAIN_HEAD "<devices>" SPICE
	    "<hostdev mode='subsystem' type='usb'><source>"
	    "<vendor id='0x1234'/><product id='0xbeef'/></source>"
	    "<alias name='ua-admin-usb'/></hostdev>" DOMAIN_TAIL;

	opts_all(&opts);
	first = domxml_prepare(xml, &opts, err, sizeof(err));
	assert_non_null(first);

	/* The next start got another GPU and no vGPU. */
	memset(&opts, 0, sizeof(opts));
	opts_pci(&opts, 0x42, 0);
	prepare_ok(first, &opts, &o);
	free(first);
	assert_int_equal(count(&o, HOSTDEV "[@type='pci']"), 1);
	assert_int_equal(count(&o, HOSTDEV "[alias/@name='ua-paprika-gpu0']"
	    "/source/address[@bus='0x42' and @function='0x0']"), 1);
	assert_int_equal(count(&o, "//address[@bus='0x41']"), 0);
	assert_int_equal(count(&o, HOSTDEV "[@type='mdev']"), 0);
	assert_int_equal(count(&o, "//channel | //video"), 0);
	/* The admin's device stays. */
	assert_int_equal(count(&o, HOSTDEV "[@type='usb' and "
	    "alias/@name='ua-admin-usb']"), 1);
	out_free(&o);
}

static void
test_taken(void **state)
{
	struct domxml_opts	opts;
	struct out		o;

	memset(&opts, 0, sizeof(opts));
	opts_pci(&opts, 0x41, 0);
	prepare_fails(DOMAIN_HEAD "<devices>" SPICE
	    "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
	    "<address domain='0x0000' bus='0x41' slot='0x00' "
	    "function='0x0'/></source></hostdev>" DOMAIN_TAIL, &opts,
	    "the definition already passes 0000:41:00.0 through: remove "
	    "that <hostdev>");
	/* The same address written in decimal, without a domain. */
	prepare_fails(DOMAIN_HEAD "<devices>"
	    "<hostdev mode='subsystem' type='pci'><source>"
	    "<address bus='65' slot='0' function='0'/></source>"
	    "<alias name='ua-mine'/></hostdev>" DOMAIN_TAIL, &opts,
	    "already passes 0000:41:00.0");
	/* Another function of the card is no conflict. */
	prepare_ok(DOMAIN_HEAD "<devices>"
	    "<hostdev mode='subsystem' type='pci'><source>"
	    "<address domain='0x0000' bus='0x41' slot='0x00' "
	    "function='0x1'/></source></hostdev>" DOMAIN_TAIL, &opts, &o);
	assert_int_equal(count(&o, HOSTDEV), 2);
	out_free(&o);

	memset(&opts, 0, sizeof(opts));
	strlcpy(opts.mdev_uuid, UUID, sizeof(opts.mdev_uuid));
	prepare_fails(DOMAIN_HEAD "<devices>" SPICE
	    "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>"
	    "<source><address uuid='4B20D080-1B54-4048-85B3-A6A62D165C01'/>"
	    "</source></hostdev>" DOMAIN_TAIL, &opts,
	    "already has mediated device " UUID);
}

static void
test_bad_input(void **state)
{
	struct domxml_opts	opts;

	memset(&opts, 0, sizeof(opts));
	prepare_fails(NULL, &opts, "empty");
	prepare_fails("", &opts, "empty");
	prepare_fails("<domain><name>g</name>", &opts, "does not parse");
	prepare_fails("<network><name>n</name></network>", &opts,
	    "not a libvirt <domain>");
	prepare_fails("<x:domain xmlns:x='urn:x'/>", &opts,
	    "not a libvirt <domain>");
	prepare_fails("<!DOCTYPE domain [<!ENTITY a 'aaaa'>]>"
	    "<domain>&a;</domain>", &opts, "DTD");

	opts.npci = DOMXML_PCI_MAX + 1;
	prepare_fails(plain, &opts, "at most 8");
	memset(&opts, 0, sizeof(opts));
	opts_pci(&opts, 0x41, 0);
	opts_pci(&opts, 0x41, 0);
	prepare_fails(plain, &opts, "0000:41:00.0 is listed twice");
	memset(&opts, 0, sizeof(opts));
	opts.pci[0].function = 8;
	opts.npci = 1;
	prepare_fails(plain, &opts, "PCI slot 0 function 8: out of range");
	opts.pci[0].function = 7;
	opts.pci[0].slot = 0x20;
	prepare_fails(plain, &opts, "PCI slot 0x20 function 7: out of range");
}

static void
test_bad_values(void **state)
{
	static const char	*vendors[] = {
		"paprika-1", "with space", "ab\"c", "1234567890123",
	};
	struct domxml_opts	 opts;
	size_t			 i;

	for (i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++) {
		memset(&opts, 0, sizeof(opts));
		memcpy(opts.vendor_id, vendors[i], strnlen(vendors[i],
		    sizeof(opts.vendor_id)));
		prepare_fails(plain, &opts, "vendor_id must be 1 to 12");
	}
	memset(&opts, 0, sizeof(opts));
	strlcpy(opts.mdev_uuid, "4b20d080-1b54-4048-85b3-a6a62d165c0g",
	    sizeof(opts.mdev_uuid));
	prepare_fails(plain, &opts, "not a UUID");
	strlcpy(opts.mdev_uuid, "4b20d080", sizeof(opts.mdev_uuid));
	prepare_fails(plain, &opts, "not a UUID");
}

/* Elements of another namespace with libvirt's names are not libvirt's. */
static void
test_namespaces(void **state)
{
	struct domxml_opts	opts;
	struct out		o;

	opts_all(&opts);
	prepare_ok("<domain type='qemu' xmlns:x='urn:x'><name>g</name>"
	    "<x:devices><x:hostdev/></x:devices>"
	    "<devices>" SPICE "</devices></domain>", &opts, &o);
	assert_int_equal(count(&o, "/domain/devices/hostdev"), 3);
	assert_int_equal(count(&o, "/domain/*[local-name()='devices']"), 2);
	out_free(&o);
}

static void
test_gpu_devices(void **state)
{
	struct domxml_opts	 opts;
	struct gpu_addr		 a[DOMXML_PCI_MAX];
	char			 err[256], uuid[GPU_UUID_LEN], *xml;

	opts_all(&opts);
	xml = domxml_prepare(DOMAIN_HEAD "<devices>" SPICE
	    "<hostdev mode='subsystem' type='pci'><source>"
	    "<address domain='0x0000' bus='0x07' slot='0x00' "
	    "function='0x0'/></source></hostdev>" DOMAIN_TAIL, &opts, err,
	    sizeof(err));
	assert_non_null(xml);
	assert_int_equal(domxml_gpu_devices(xml, a, DOMXML_PCI_MAX, uuid,
	    sizeof(uuid)), 2);
	assert_int_equal(a[0].bus, 0x41);
	assert_int_equal(a[0].function, 0);
	assert_int_equal(a[1].bus, 0x41);
	assert_int_equal(a[1].function, 1);
	assert_string_equal(uuid, UUID);
	/* At most max addresses. */
	assert_int_equal(domxml_gpu_devices(xml, a, 1, uuid, sizeof(uuid)),
	    1);
	free(xml);

	assert_int_equal(domxml_gpu_devices(plain, a, DOMXML_PCI_MAX, uuid,
	    sizeof(uuid)), 0);
	assert_string_equal(uuid, "");
	assert_int_equal(domxml_gpu_devices("<domain>", a, DOMXML_PCI_MAX,
	    uuid, sizeof(uuid)), -1);
	assert_int_equal(domxml_gpu_devices("<pool/>", a, DOMXML_PCI_MAX,
	    uuid, sizeof(uuid)), -1);
}

/* A template: two disks to overlay (one without a driver, one with a
 * backing chain), a CD-ROM, a read-only and a shared disk, a MAC, a SPICE
 * password with an expiry, and metadata from an earlier clone. */
#define TEMPLATE \
	"<domain type='qemu'><name>tmpl</name>" \
	"<uuid>0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0</uuid>" \
	"<metadata><other xmlns='urn:other'/>" \
	"<p:clone xmlns:p='" DOMXML_CLONE_NS "' template='old'/></metadata>" \
	"<memory unit='MiB'>64</memory><vcpu>1</vcpu>" \
	"<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>" \
	"<disk type='file' device='disk'>" \
	"<driver name='qemu' type='qcow2'/><source file='/img/a.qcow2'/>" \
	"<backingStore type='file'><format type='raw'/>" \
	"<source file='/img/base.raw'/></backingStore>" \
	"<target dev='vda' bus='virtio'/></disk>" \
	"<disk type='file' device='disk'><source file='/img/b.raw'/>" \
	"<target dev='vdb' bus='virtio'/></disk>" \
	"<disk type='file' device='cdrom'><source file='/img/cd.iso'/>" \
	"<target dev='hdc'/><readonly/></disk>" \
	"<disk type='file' device='disk'><source file='/img/ro.raw'/>" \
	"<target dev='vdc'/><readonly/></disk>" \
	"<disk type='file' device='disk'><source file='/img/sh.raw'/>" \
	"<target dev='vdd'/><shareable/></disk>" \
	"<interface type='network'><mac address='52:54:00:12:34:56'/>" \
	"<source network='default'/></interface>" \
	"<graphics type='spice' passwd='old' passwdValidTo='2030-01-01T00:00:00'/>" \
	"<graphics type='vnc'/>" \
	DOMAIN_TAIL

/* domxml_clone_disks that must find n disks. */
static void
clone_disks_ok(const char *xml, struct domxml_disk *d, int n)
{
	char	err[256];
	int	got;

	got = domxml_clone_disks(xml, d, DOMXML_CLONE_DISKS_MAX, err,
	    sizeof(err));
	if (got != n)
		fail_msg("domxml_clone_disks: %d, not %d: %s", got, n, err);
}

/* domxml_clone of TEMPLATE's two disks onto overlays, parsed into o. */
static void
clone_ok(const char *xml, struct domxml_disk *d, size_t n, struct out *o)
{
	struct domxml_clone	 c = { "tmpl-c1", "tmpl", "s3cret", d, n };
	char			 err[256], *res;

	res = domxml_clone(xml, &c, err, sizeof(err));
	if (res == NULL)
		fail_msg("domxml_clone: %s", err);
	out_parse(o, res);
	free(res);
}

/* TEMPLATE cloned onto two overlays, the first a qemu-img file; parsed
 * into o. */
static void
clone_template(struct out *o)
{
	struct domxml_disk	*d;

	assert_non_null(d = calloc(DOMXML_CLONE_DISKS_MAX, sizeof(*d)));
	clone_disks_ok(TEMPLATE, d, 2);
	snprintf(d[0].overlay, sizeof(d[0].overlay), "/img/c1-vda.qcow2");
	snprintf(d[1].overlay, sizeof(d[1].overlay), "/pool/c1-vdb.qcow2");
	d[0].overlay_is_file = 1;
	clone_ok(TEMPLATE, d, 2, o);
	assert_int_equal(xmlXPathRegisterNs(o->ctx, (const xmlChar *)"p",
	    (const xmlChar *)DOMXML_CLONE_NS), 0);
	free(d);
}

static void
test_clone_disks(void **state)
{
	struct domxml_disk	*d;

	assert_non_null(d = calloc(DOMXML_CLONE_DISKS_MAX, sizeof(*d)));
	clone_disks_ok(TEMPLATE, d, 2);
	assert_string_equal(d[0].source, "/img/a.qcow2");
	assert_string_equal(d[0].format, "qcow2");
	assert_string_equal(d[0].dev, "vda");
	assert_string_equal(d[1].source, "/img/b.raw");
	assert_string_equal(d[1].format, "raw");	/* no driver */
	assert_string_equal(d[1].dev, "vdb");
	clone_disks_ok(plain, d, 0);
	free(d);
}

/* Renamed; UUID and MAC gone (libvirt makes new ones); the rest kept. */
static void
test_clone_identity(void **state)
{
	struct out	o;

	clone_template(&o);
	assert_int_equal(count(&o, "/domain/name[.='tmpl-c1']"), 1);
	assert_int_equal(count(&o, "/domain/name"), 1);
	assert_int_equal(count(&o, "/domain/uuid"), 0);
	assert_int_equal(count(&o, "//mac"), 0);
	assert_int_equal(count(&o,
	    "/domain/devices/interface/source[@network='default']"), 1);
	/* SPICE locked with the new password, no expiry; VNC untouched. */
	assert_int_equal(count(&o, "//graphics[@type='spice' and "
	    "@passwd='s3cret' and not(@passwdValidTo)]"), 1);
	assert_int_equal(count(&o, "//graphics[@type='vnc' and "
	    "not(@passwd)]"), 1);
	out_free(&o);
}

static void
test_clone_overlays(void **state)
{
	struct out	o;

	clone_template(&o);
	assert_int_equal(count(&o, "//disk[target/@dev='vda']/source"
	    "[@file='/img/c1-vda.qcow2']"), 1);
	assert_int_equal(count(&o, "//disk[target/@dev='vdb']/source"
	    "[@file='/pool/c1-vdb.qcow2']"), 1);
	/* qcow2 both, a driver added where there was none. */
	assert_int_equal(count(&o, "//disk[target/@dev='vdb']/driver"
	    "[@name='qemu' and @type='qcow2']"), 1);
	assert_int_equal(count(&o, "//disk[target/@dev='vda']/driver"
	    "[@type='qcow2']"), 1);
	assert_int_equal(count(&o, "//backingStore"), 0);
	/* Read-only, shared and CD-ROM disks stay the template's. */
	assert_int_equal(count(&o, "//source[@file='/img/cd.iso' or "
	    "@file='/img/ro.raw' or @file='/img/sh.raw']"), 3);
	out_free(&o);
}

static void
test_clone_metadata(void **state)
{
	struct domxml_disk	*d;
	struct out		 o;

	clone_template(&o);
	/* The earlier clone's mark replaced, the other metadata kept. */
	assert_int_equal(count(&o, "/domain/metadata/p:clone"), 1);
	assert_int_equal(count(&o, "/domain/metadata/p:clone"
	    "[@template='tmpl']"), 1);
	assert_int_equal(count(&o, "/domain/metadata/*[local-name()="
	    "'other']"), 1);
	assert_int_equal(count(&o, "/domain/metadata/p:clone/p:volume"), 2);
	assert_int_equal(count(&o, "//p:volume[@path='/img/c1-vda.qcow2' "
	    "and @type='file']"), 1);
	assert_int_equal(count(&o, "//p:volume[@path='/pool/c1-vdb.qcow2' "
	    "and @type='volume']"), 1);
	out_free(&o);

	/* A template without metadata gets some. */
	assert_non_null(d = calloc(1, sizeof(*d)));
	clone_disks_ok(plain, d, 0);
	clone_ok(plain, d, 0, &o);
	assert_int_equal(xmlXPathRegisterNs(o.ctx, (const xmlChar *)"p",
	    (const xmlChar *)DOMXML_CLONE_NS), 0);
	assert_int_equal(count(&o, "/domain/metadata/p:clone"
	    "[@template='tmpl' and not(p:volume)]"), 1);
	out_free(&o);
	free(d);
}

/* domxml_clone_disks that must fail with an error containing want. */
static void
clone_disks_fails(const char *xml, size_t max, const char *want)
{
	struct domxml_disk	d[2];
	char			err[256];

	err[0] = '\0';
	assert_int_equal(domxml_clone_disks(xml, d, max, err, sizeof(err)),
	    -1);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
}

/* domxml_clone that must fail with an error containing want. */
static void
clone_fails(const char *xml, const struct domxml_clone *c, const char *want)
{
	char	err[256], *res;

	err[0] = '\0';
	res = domxml_clone(xml, c, err, sizeof(err));
	assert_null(res);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
}

#define ONE_DISK(attrs, inner) \
	DOMAIN_HEAD "<devices><disk type='file' device='disk'" attrs ">" \
	inner "</disk>" DOMAIN_TAIL

static void
test_clone_bad_input(void **state)
{
	struct domxml_disk	 d[2];
	struct domxml_clone	 c = { "c1", "tmpl", "pw", d, 1 };

	clone_disks_fails(NULL, 2, "empty");
	clone_disks_fails("<domain><name>", 2, "does not parse");
	clone_disks_fails("<network/>", 2, "not a libvirt <domain>");
	clone_disks_fails(TEMPLATE, 1, "more than 1 disks");
	clone_disks_fails(ONE_DISK("", "<driver type='vmdk'/>"
	    "<source file='/a'/><target dev='vda'/>"), 2, "only raw and qcow2");
	clone_disks_fails(ONE_DISK("", "<source file='/a'/>"), 2,
	    "has no target dev");
	clone_disks_fails(ONE_DISK("", "<source file='/a'/>"
	    "<target dev='../x'/>"), 2, "has no target dev");

	memset(d, 0, sizeof(d));
	snprintf(d[0].source, sizeof(d[0].source), "/a");
	snprintf(d[0].overlay, sizeof(d[0].overlay), "/b");
	clone_fails("<domain/>", &c, "no name");
	clone_fails("<network><name>n</name></network>", &c,
	    "not a libvirt <domain>");
	/* The overlays must be the disks' own, one for one. */
	clone_fails(ONE_DISK("", "<source file='/other'/>"
	    "<target dev='vda'/>"), &c, "do not match");
	clone_fails(plain, &c, "do not match");
	c.ndisks = 0;
	clone_fails(ONE_DISK("", "<source file='/a'/><target dev='vda'/>"),
	    &c, "do not match");
	c.ndisks = 1;
	d[0].overlay[0] = '\0';
	clone_fails(ONE_DISK("", "<source file='/a'/><target dev='vda'/>"),
	    &c, "do not match");
	c.spice_password = "";
	clone_fails(plain, &c, "SPICE password");
	c.spice_password = "pw";
	c.name = NULL;
	clone_fails(plain, &c, "needs a name");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci),
		cmocka_unit_test(test_mdev),
		cmocka_unit_test(test_gpu_display),
		cmocka_unit_test(test_ovmf),
		cmocka_unit_test(test_features_new),
		cmocka_unit_test(test_features_merge),
		cmocka_unit_test(test_spice_switches),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_reallocate),
		cmocka_unit_test(test_taken),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_gpu_devices),
		cmocka_unit_test(test_clone_disks),
		cmocka_unit_test(test_clone_identity),
		cmocka_unit_test(test_clone_overlays),
		cmocka_unit_test(test_clone_metadata),
		cmocka_unit_test(test_clone_bad_input),
	};
	int	rc;

	xmlInitParser();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return rc;
}
