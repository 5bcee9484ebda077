/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/gpu/gpu.c: PCI addresses, node device and domain XML
 * as libvirt writes it, the verdict on each kind of card with the sentence
 * users read, and which device a libvirt or QEMU error blames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpu.h"
#include "unit.h"

#define XML_MAX		16384

/* A PCI function of a test host. */
struct fn {
	const char	*addr;		/* "0000:41:00.0" */
	uint32_t	 class;
	const char	*driver;	/* NULL: none bound */
	int		 group;		/* -1: no IOMMU group */
	const char	*members;	/* "0000:41:00.0 0000:41:00.1" */
	const char	*extra;		/* more XML in the PCI capability */
};

/* <address/> elements for a space-separated list of addresses. */
static void
group_xml(char *buf, size_t len, const char *members)
{
	struct gpu_addr	 a;
	char		 one[GPU_ADDR_LEN], line[128];
	const char	*p = members;

	buf[0] = '\0';
	while (p != NULL && *p != '\0') {
		memcpy(one, p, GPU_ADDR_LEN - 1);
		one[GPU_ADDR_LEN - 1] = '\0';
		assert_int_equal(gpu_addr_parse(one, &a), 0);
		fmt(line, sizeof(line), "<address domain='0x%04x' bus='0x%02x' "
		    "slot='0x%02x' function='0x%x'/>", a.domain, a.bus, a.slot,
		    a.function);
		assert_true(strlcat(buf, line, len) < len);
		p += GPU_ADDR_LEN - 1;
		while (*p == ' ')
			p++;
	}
}

/* The XML virNodeDeviceGetXMLDesc gives for f. */
static void
fn_xml(char *buf, size_t len, const struct fn *f)
{
	struct gpu_addr	a;
	char		driver[128] = "", group[XML_MAX / 2] = "", members[4096];

	assert_int_equal(gpu_addr_parse(f->addr, &a), 0);
	if (f->driver != NULL)
		fmt(driver, sizeof(driver), "<driver><name>%s</name></driver>",
		    f->driver);
	if (f->group >= 0) {
		group_xml(members, sizeof(members), f->members != NULL ?
		    f->members : f->addr);
		fmt(group, sizeof(group), "<iommuGroup number='%d'>%s"
		    "</iommuGroup>", f->group, members);
	}
	fmt(buf, len, "<device><name>pci_%04x_%02x_%02x_%x</name>"
	    "<parent>computer</parent>%s<capability type='pci'>"
	    "<class>0x%06x</class><domain>%u</domain><bus>%u</bus>"
	    "<slot>%u</slot><function>%u</function>"
	    "<product id='0x2231'>GA102GL [RTX A5000]</product>"
	    "<vendor id='0x10de'>NVIDIA Corporation</vendor>%s%s"
	    "<numa node='1'/></capability></device>", a.domain, a.bus, a.slot,
	    a.function, driver, f->class, a.domain, a.bus, a.slot, a.function,
	    f->extra != NULL ? f->extra : "", group);
}

static void
add_fns(struct gpu_inventory *inv, const struct fn *fns, size_t n)
{
	char	xml[XML_MAX], err[256];
	size_t	i;

	for (i = 0; i < n; i++) {
		fn_xml(xml, sizeof(xml), &fns[i]);
		err[0] = '\0';
		if (gpu_inventory_add_nodedev(inv, xml, err, sizeof(err)) != 0)
			fail_msg("%s: %s", fns[i].addr, err);
	}
}

static const struct gpu_pci_dev *
find(const struct gpu_inventory *inv, const char *s)
{
	struct gpu_addr			 a;
	const struct gpu_pci_dev	*d;

	assert_int_equal(gpu_addr_parse(s, &a), 0);
	assert_non_null(d = gpu_find(inv, &a));
	return d;
}

#define G40	"0000:41:00.0 0000:41:00.1"
#define G44	"0000:45:00.0 0000:45:00.1 0000:45:00.2"
#define G45	"0000:40:01.0 0000:46:00.0"
#define G50	"0000:49:00.0 0000:49:00.1"
#define G51	"0000:4a:00.0 0000:4b:00.0"
#define G52	"0000:4c:00.0 0000:4c:00.1 0000:4c:00.2"
#define G53	"0000:4d:00.0 0000:4d:00.3"

/* One card in each state, as in tests/fixtures/gpu-host.xml, and more. */
static const struct fn host[] = {
	{ "0000:00:02.0", 0x030000, "i915", 0, NULL, NULL },
	{ "0000:01:00.0", 0x020000, "igb", 12, NULL, NULL },
	{ "0000:40:01.0", 0x060400, "pcieport", 45, G45,
	    "<capability type='pci-bridge'/>" },
	{ "0000:41:00.0", 0x030000, "vfio-pci", 40, G40, NULL },
	{ "0000:41:00.1", 0x040300, "vfio-pci", 40, G40, NULL },
	{ "0000:43:00.0", 0x030000, "amdgpu", 42, NULL, NULL },
	{ "0000:45:00.0", 0x030000, "vfio-pci", 44, G44, NULL },
	{ "0000:45:00.1", 0x040300, "vfio-pci", 44, G44, NULL },
	{ "0000:45:00.2", 0x0c0330, "xhci_hcd", 44, G44, NULL },
	{ "0000:46:00.0", 0x030000, "vfio-pci", 45, G45, NULL },
	{ "0000:47:00.0", 0x030000, "vfio-pci", 46, NULL, NULL },
	{ "0000:48:00.0", 0x030000, NULL, 47, NULL, NULL },
	/* A card on vfio-pci whose audio is still on snd_hda_intel. */
	{ "0000:49:00.0", 0x030000, "vfio-pci", 50, G50, NULL },
	{ "0000:49:00.1", 0x040300, "snd_hda_intel", 50, G50, NULL },
	/* Two cards in one group (no ACS between them), one on nouveau. */
	{ "0000:4a:00.0", 0x030000, "vfio-pci", 51, G51, NULL },
	{ "0000:4b:00.0", 0x030000, "nouveau", 51, G51, NULL },
	/* pci-stub and a USB controller on vfio-pci: both fine. */
	{ "0000:4c:00.0", 0x030200, "pci-stub", 52, G52, NULL },
	{ "0000:4c:00.1", 0x040300, "pci-stub", 52, G52, NULL },
	{ "0000:4c:00.2", 0x0c0330, "vfio-pci", 52, G52, NULL },
	/* A group member libvirt does not list. */
	{ "0000:4d:00.0", 0x030000, "vfio-pci", 53, G53, NULL },
	/* The IOMMU is off. */
	{ "0000:4e:00.0", 0x030000, "vfio-pci", -1, NULL, NULL },
};

static const char other_vm[] =
    "<domain type='kvm' id='3'><name>other-vm</name><devices>"
    "<hostdev mode='subsystem' type='pci' managed='no'><source>"
    "<address domain='0x0000' bus='0x47' slot='0x00' function='0x0'/>"
    "</source></hostdev></devices></domain>";

static int
setup_host(void **state)
{
	struct gpu_inventory	*inv;

	assert_non_null(inv = calloc(1, sizeof(*inv)));
	add_fns(inv, host, sizeof(host) / sizeof(*host));
	assert_int_equal(gpu_inventory_add_domain(inv, "other-vm", other_vm),
	    0);
	*state = inv;
	return 0;
}

static int
teardown_host(void **state)
{
	gpu_inventory_free(*state);
	free(*state);
	return 0;
}

static void
test_addr(void **state)
{
	static const char	*bad[] = { "", "41:00.0", "0000:41:00.8",
	    "0000:41:20.0", "0000:41:00.0 ", " 0000:41:00.0", "0000:41:00.00",
	    "0x00:41:00.0", "0000-41-00.0", "000g:41:00.0", "+000:41:00.0",
	    "0000:41:0.0", "pci_0000_41_00_0", "0000:41:00", "0000:41:00.-" };
	struct gpu_addr		 a, b;
	char			 buf[GPU_ADDR_LEN];
	size_t			 i;

	assert_int_equal(gpu_addr_parse("0000:41:00.1", &a), 0);
	assert_int_equal(a.domain, 0);
	assert_int_equal(a.bus, 0x41);
	assert_int_equal(a.slot, 0);
	assert_int_equal(a.function, 1);
	assert_int_equal(gpu_addr_parse("FFFF:4A:1f.7", &b), 0);
	assert_int_equal(b.domain, 0xffff);
	assert_int_equal(b.slot, 0x1f);
	assert_int_equal(b.function, 7);
	gpu_addr_format(&b, buf, sizeof(buf));
	assert_string_equal(buf, "ffff:4a:1f.7");
	gpu_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "0000:41:00.1");
	/* The function is one digit whatever the byte holds: the address
	 * always fits GPU_ADDR_LEN. */
	b = a;
	b.function = 5;
	gpu_addr_format(&b, buf, sizeof(buf));
	assert_string_equal(buf, "0000:41:00.5");
	b.function = 0xff;
	gpu_addr_format(&b, buf, sizeof(buf));
	assert_string_equal(buf, "0000:41:00.7");
	assert_int_equal(strlen(buf), GPU_ADDR_LEN - 1);
	assert_false(gpu_addr_equal(&a, &b));
	b = a;
	assert_true(gpu_addr_equal(&a, &b));
	b.function = 0;
	assert_false(gpu_addr_equal(&a, &b));
	assert_int_equal(gpu_addr_parse(NULL, &a), -1);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (gpu_addr_parse(bad[i], &a) != -1)
			fail_msg("\"%s\" was taken as an address", bad[i]);
	}
}

#define T4_XML \
	"<device>\n  <name>pci_0000_44_00_0</name>\n" \
	"  <path>/sys/devices/pci0000:40/0000:40:03.1/0000:44:00.0</path>\n" \
	"  <parent>pci_0000_40_03_1</parent>\n" \
	"  <driver>\n    <name>nvidia</name>\n  </driver>\n" \
	"  <capability type='pci'>\n    <class>0x030200</class>\n" \
	"    <domain>0</domain>\n    <bus>68</bus>\n    <slot>0</slot>\n" \
	"    <function>0</function>\n" \
	"    <product id='0x1eb8'>TU104GL [Tesla T4]</product>\n" \
	"    <vendor id='0x10de'>NVIDIA Corporation</vendor>\n" \
	"    <capability type='mdev_types'>\n" \
	"      <type id='nvidia-222'>\n        <name>GRID T4-1B</name>\n" \
	"        <deviceAPI>vfio-pci</deviceAPI>\n" \
	"        <availableInstances>0</availableInstances>\n      </type>\n" \
	"      <type id='nvidia-231'>\n        <name>GRID T4-2Q</name>\n" \
	"        <deviceAPI>vfio-pci</deviceAPI>\n" \
	"        <availableInstances>7</availableInstances>\n      </type>\n" \
	"    </capability>\n" \
	"    <iommuGroup number='43'>\n" \
	"      <address domain='0x0000' bus='0x44' slot='0x00' " \
	"function='0x0'/>\n    </iommuGroup>\n    <numa node='1'/>\n" \
	"    <pci-express>\n      <link validity='cap' port='0' " \
	"speed='8' width='16'/>\n    </pci-express>\n  </capability>\n" \
	"</device>\n"

static void
test_nodedev_fields(void **state)
{
	struct gpu_inventory		 inv;
	const struct gpu_pci_dev	*d;
	char				 err[256];

	memset(&inv, 0, sizeof(inv));
	assert_int_equal(gpu_inventory_add_nodedev(&inv, T4_XML, err,
	    sizeof(err)), 0);
	assert_int_equal(inv.ndevs, 1);
	d = find(&inv, "0000:44:00.0");
	assert_string_equal(d->name, "pci_0000_44_00_0");
	assert_int_equal(d->class, 0x030200);
	assert_true(gpu_is_display(d));
	assert_int_equal(d->vendor_id, 0x10de);
	assert_int_equal(d->product_id, 0x1eb8);
	assert_string_equal(d->vendor, "NVIDIA Corporation");
	assert_string_equal(d->product, "TU104GL [Tesla T4]");
	assert_string_equal(d->driver, "nvidia");
	assert_int_equal(d->iommu_group, 43);
	assert_int_equal(d->nmembers, 1);
	assert_true(gpu_addr_equal(&d->members[0], &d->addr));
	assert_int_equal(d->numa_node, 1);
	assert_false(d->is_bridge);
	assert_int_equal(d->nmdev_types, 2);
	assert_string_equal(d->mdev_types[0].id, "nvidia-222");
	assert_string_equal(d->mdev_types[0].name, "GRID T4-1B");
	assert_int_equal(d->mdev_types[0].available, 0);
	assert_string_equal(d->mdev_types[1].id, "nvidia-231");
	assert_string_equal(d->mdev_types[1].name, "GRID T4-2Q");
	assert_int_equal(d->mdev_types[1].available, 7);
	gpu_inventory_free(&inv);
	assert_null(inv.devs);
	assert_int_equal(inv.ndevs, 0);
	gpu_inventory_free(NULL);
}

/* What libvirt leaves out: driver, names, group, NUMA node; bridges. */
static void
test_nodedev_optional(void **state)
{
	static const struct fn	 fns[] = {
		{ "0000:48:00.0", 0x030000, NULL, -1, NULL, NULL },
		{ "0000:40:01.0", 0x060400, "pcieport", 45, G45, NULL },
		{ "0000:40:03.1", 0x060000, "pcieport", 39, NULL,
		    "<capability type='pci-bridge'/>" },
		/* A group that does not list the device itself. */
		{ "0000:41:00.0", 0x030000, "vfio-pci", 40, "0000:41:00.1",
		    NULL },
	};
	static const char	 bare[] = "<device><name>pci_0000_00_1f_3"
	    "</name><capability type='pci'><class>0x040380</class>"
	    "<domain>0</domain><bus>0</bus><slot>31</slot><function>3"
	    "</function><product id='0xa348'/><vendor id='0x8086'/>"
	    "</capability></device>";
	struct gpu_inventory		 inv;
	const struct gpu_pci_dev	*d;
	char				 err[256];

	memset(&inv, 0, sizeof(inv));
	add_fns(&inv, fns, sizeof(fns) / sizeof(*fns));
	assert_int_equal(gpu_inventory_add_nodedev(&inv, bare, err,
	    sizeof(err)), 0);
	d = find(&inv, "0000:48:00.0");
	assert_string_equal(d->driver, "");
	assert_int_equal(d->iommu_group, -1);
	assert_int_equal(d->nmembers, 0);
	assert_int_equal(d->nmdev_types, 0);
	assert_true(find(&inv, "0000:40:01.0")->is_bridge);	/* class */
	assert_true(find(&inv, "0000:40:03.1")->is_bridge);	/* capability */
	d = find(&inv, "0000:41:00.0");
	assert_int_equal(d->nmembers, 2);
	d = find(&inv, "0000:00:1f.3");
	assert_string_equal(d->vendor, "");
	assert_string_equal(d->product, "");
	assert_int_equal(d->numa_node, -1);
	assert_int_equal(d->vendor_id, 0x8086);
	assert_false(gpu_is_display(d));
	gpu_inventory_free(&inv);
}

/* A card offering more types than the broker keeps: the first ones. */
static void
test_nodedev_many_types(void **state)
{
	struct gpu_inventory	 inv;
	struct fn		 f = { "0000:44:00.0", 0x030200, "nvidia", 43,
				    NULL, NULL };
	char			 types[XML_MAX / 2] = "", one[160];
	char			 extra[XML_MAX / 2];
	size_t			 i;

	for (i = 0; i < GPU_MDEV_TYPES_MAX + 8; i++) {
		fmt(one, sizeof(one), "<type id='nvidia-%zu'><name>T%zu</name>"
		    "<deviceAPI>vfio-pci</deviceAPI><availableInstances>%zu"
		    "</availableInstances></type>", 500 + i, i, i);
		assert_true(strlcat(types, one, sizeof(types)) < sizeof(types));
	}
	fmt(extra, sizeof(extra), "<capability type='mdev_types'>%s"
	    "</capability>", types);
	f.extra = extra;
	memset(&inv, 0, sizeof(inv));
	add_fns(&inv, &f, 1);
	assert_int_equal(inv.devs[0].nmdev_types, GPU_MDEV_TYPES_MAX);
	assert_string_equal(inv.devs[0].mdev_types[0].id, "nvidia-500");
	assert_int_equal(inv.devs[0].mdev_types[GPU_MDEV_TYPES_MAX - 1].
	    available, GPU_MDEV_TYPES_MAX - 1);
	gpu_inventory_free(&inv);
}

static void
test_nodedev_malformed(void **state)
{
	static const char	*bad[] = {
		"", "not xml", "<device><name>pci_0000_41_00_0</name>",
		"<domain><name>x</name></domain>",
		/* Not PCI devices. */
		"<device><name>computer</name><capability type='system'>"
		"<hardware><uuid>30393137-3536-5a43-3231-333834313132</uuid>"
		"</hardware></capability></device>",
		"<device><name>usb_1_1</name><capability type='usb_device'>"
		"<bus>1</bus><device>2</device></capability></device>",
		"<device><capability type='pci'/></device>",
	};
	/* Each replaces one piece of a good device. */
	static const struct {
		const char	*from, *to;
	} edits[] = {
		{ "<class>0x030200</class>", "" },
		{ "<class>0x030200</class>", "<class>0xzz</class>" },
		{ "<class>0x030200</class>", "<class>0x1030200</class>" },
		{ "<bus>68</bus>", "<bus>256</bus>" },
		{ "<bus>68</bus>", "<bus>-1</bus>" },
		{ "<bus>68</bus>", "<bus>99999999999999999999</bus>" },
		{ "<slot>0</slot>", "<slot>32</slot>" },
		{ "<function>0</function>", "<function>8</function>" },
		{ "<domain>0</domain>", "" },
		{ "<vendor id='0x10de'>", "<vendor>" },
		{ "<product id='0x1eb8'>", "<product id='0x10000'>" },
		{ "<iommuGroup number='43'>", "<iommuGroup>" },
		{ "<iommuGroup number='43'>", "<iommuGroup number='x'>" },
		{ "bus='0x44'", "bus='0x144'" },
		{ "slot='0x00'", "" },
		{ "<numa node='1'/>", "<numa node='one'/>" },
		{ "<type id='nvidia-231'>", "<type>" },
		{ "<availableInstances>7<", "<availableInstances>-1<" },
		{ "<name>pci_0000_44_00_0</name>", "" },
		{ "<capability type='pci'>", "<capability type='usb'>" },
	};
	struct gpu_inventory	 inv;
	char			 xml[XML_MAX], err[256], *p;
	size_t			 i, n;

	memset(&inv, 0, sizeof(inv));
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		assert_int_equal(gpu_inventory_add_nodedev(&inv, bad[i], err,
		    sizeof(err)), -1);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(gpu_inventory_add_nodedev(&inv, NULL, NULL, 0), -1);
	for (i = 0; i < sizeof(edits) / sizeof(*edits); i++) {
		fmt(xml, sizeof(xml), "%s", T4_XML);
		assert_non_null(p = strstr(xml, edits[i].from));
		n = strlen(edits[i].from);
		memmove(p + strlen(edits[i].to), p + n, strlen(p + n) + 1);
		memcpy(p, edits[i].to, strlen(edits[i].to));
		err[0] = '\0';
		if (gpu_inventory_add_nodedev(&inv, xml, err, sizeof(err)) !=
		    -1)
			fail_msg("taken with %s", edits[i].to);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(inv.ndevs, 0);
	/* Errors name the device. */
	fmt(xml, sizeof(xml), "%s", T4_XML);
	assert_non_null(p = strstr(xml, "<slot>0<"));
	p[6] = 'x';
	assert_int_equal(gpu_inventory_add_nodedev(&inv, xml, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "pci_0000_44_00_0: missing or bad slot "
	    "number");
	/* The same device twice. */
	assert_int_equal(gpu_inventory_add_nodedev(&inv, T4_XML, err,
	    sizeof(err)), 0);
	assert_int_equal(gpu_inventory_add_nodedev(&inv, T4_XML, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "pci_0000_44_00_0: 0000:44:00.0 is listed "
	    "twice");
	assert_int_equal(inv.ndevs, 1);
	gpu_inventory_free(&inv);
}

/* More than GPU_GROUP_MAX devices in a group. */
static void
test_nodedev_big_group(void **state)
{
	struct gpu_inventory	 inv;
	struct fn		 f = { "0000:41:00.0", 0x030000, "vfio-pci",
				    40, NULL, NULL };
	char			 members[2048] = "", one[16], xml[XML_MAX];
	char			 err[256];
	int			 i;

	for (i = 0; i <= GPU_GROUP_MAX; i++) {
		fmt(one, sizeof(one), "0000:41:%02x.%x ", i / 8, i % 8);
		assert_true(strlcat(members, one, sizeof(members)) <
		    sizeof(members));
	}
	f.members = members;
	fn_xml(xml, sizeof(xml), &f);
	memset(&inv, 0, sizeof(inv));
	assert_int_equal(gpu_inventory_add_nodedev(&inv, xml, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "pci_0000_41_00_0: more than 32 devices in "
	    "IOMMU group 40");
	gpu_inventory_free(&inv);
}

static void
test_domain(void **state)
{
	static const char	 live[] =
	    "<domain type='kvm' id='7'><name>desk-4</name><devices>"
	    "<hostdev mode='subsystem' type='pci' managed='yes'>"
	    "<driver name='vfio'/><source><address domain='0x0000' "
	    "bus='0x41' slot='0x00' function='0x0'/></source>"
	    "<alias name='ua-paprika-gpu0'/><address type='pci' "
	    "domain='0x0000' bus='0x06' slot='0x00' function='0x0'/>"
	    "</hostdev>"
	    "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
	    "<address domain='0x0000' bus='0x41' slot='0x00' "
	    "function='0x1'/></source></hostdev>"
	    "<hostdev mode='subsystem' type='mdev' model='vfio-pci' "
	    "display='on'><source><address "
	    "uuid='8c3e8a52-3f39-4a0b-9a6c-5f6f0f3d2b71'/></source></hostdev>"
	    "<hostdev mode='subsystem' type='usb'><source><vendor "
	    "id='0x046d'/><product id='0xc52b'/></source></hostdev>"
	    "<interface type='hostdev' managed='yes'><source><address "
	    "type='pci' domain='0x0000' bus='0x01' slot='0x10' "
	    "function='0x2'/></source></interface>"
	    "</devices></domain>";
	static const char	*bad[] = {
	    "<domain><name>x</name><devices><hostdev mode='subsystem' "
	    "type='pci'><source><address domain='0x0000' bus='0x100' "
	    "slot='0x00' function='0x0'/></source></hostdev></devices>"
	    "</domain>",
	    "<domain><name>x</name><devices><hostdev mode='subsystem' "
	    "type='mdev'><source><address uuid='not-a-uuid'/></source>"
	    "</hostdev></devices></domain>",
	    "<device><name>x</name></device>", "<domain>", "",
	};
	struct gpu_inventory	 inv;
	struct gpu_addr		 a;
	char			 longname[200];
	size_t			 i;

	memset(&inv, 0, sizeof(inv));
	assert_int_equal(gpu_inventory_add_domain(&inv, "desk-4", live), 0);
	assert_int_equal(inv.nuses, 4);
	assert_int_equal(gpu_addr_parse("0000:41:00.0", &a), 0);
	assert_string_equal(gpu_used_by(&inv, &a), "desk-4");
	a.function = 1;
	assert_string_equal(gpu_used_by(&inv, &a), "desk-4");
	assert_int_equal(gpu_addr_parse("0000:01:10.2", &a), 0);
	assert_string_equal(gpu_used_by(&inv, &a), "desk-4");
	/* The guest-side <address> is not a host device. */
	assert_int_equal(gpu_addr_parse("0000:06:00.0", &a), 0);
	assert_null(gpu_used_by(&inv, &a));
	assert_string_equal(inv.uses[3].mdev,
	    "8c3e8a52-3f39-4a0b-9a6c-5f6f0f3d2b71");
	assert_string_equal(inv.uses[3].domain, "desk-4");
	/* A domain with no devices at all. */
	assert_int_equal(gpu_inventory_add_domain(&inv, "plain",
	    "<domain><name>plain</name></domain>"), 0);
	assert_int_equal(inv.nuses, 4);
	/* Anything wrong: nothing of the domain is kept. */
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(gpu_inventory_add_domain(&inv, "x", bad[i]),
		    -1);
	assert_int_equal(gpu_inventory_add_domain(&inv, "x", NULL), -1);
	assert_int_equal(gpu_inventory_add_domain(&inv, NULL, live), -1);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(gpu_inventory_add_domain(&inv, longname, live), -1);
	assert_int_equal(inv.nuses, 4);
	gpu_inventory_free(&inv);
}

/* gpu_check of addr for domain dom: the verdict and its sentence. */
static void
check(const struct gpu_inventory *inv, const char *addr, const char *dom,
    int detach, enum gpu_verdict want, const char *why)
{
	char			why_got[256];
	enum gpu_verdict	v;

	v = gpu_check(inv, find(inv, addr), dom, detach, why_got,
	    sizeof(why_got));
	if (v != want || (why != NULL && strcmp(why_got, why) != 0))
		fail_msg("%s%s: %s \"%s\", wanted %s \"%s\"", addr,
		    detach ? " (detach)" : "", gpu_verdict_name(v), why_got,
		    gpu_verdict_name(want), why != NULL ? why : "");
}

#define USB_SHARES	"IOMMU group 44 is not viable: 0000:45:00.2 (USB " \
	"controller, driver xhci_hcd) shares it"

/* Each card of the test host for domain "desk", with and without detach. */
static const struct {
	const char		*addr;
	int			 detach;
	enum gpu_verdict	 want;
	const char		*why;		/* NULL: any sentence */
} verdicts[] = {
	{ "0000:41:00.0", 0, GPU_ASSIGNABLE, "0000:41:00.0 can be assigned" },
	{ "0000:41:00.0", 1, GPU_ASSIGNABLE, NULL },
	/* A root port in the group, no driver, pci-stub: all fine. */
	{ "0000:46:00.0", 0, GPU_ASSIGNABLE, NULL },
	{ "0000:48:00.0", 0, GPU_ASSIGNABLE, NULL },
	{ "0000:4c:00.0", 0, GPU_ASSIGNABLE, NULL },

	{ "0000:01:00.0", 0, GPU_NOT_DISPLAY, "0000:01:00.0 is not a graphics "
	    "card (Ethernet controller, class 0x020000)" },
	{ "0000:41:00.1", 1, GPU_NOT_DISPLAY, "0000:41:00.1 is not a graphics "
	    "card (audio device, class 0x040300)" },
	{ "0000:45:00.2", 0, GPU_NOT_DISPLAY, "0000:45:00.2 is not a graphics "
	    "card (USB controller, class 0x0c0330)" },
	{ "0000:40:01.0", 0, GPU_NOT_DISPLAY, NULL },

	{ "0000:4e:00.0", 1, GPU_NO_IOMMU, "0000:4e:00.0 has no IOMMU group: "
	    "turn on the IOMMU (intel_iommu=on or AMD-Vi) in firmware and on "
	    "the kernel command line" },

	{ "0000:43:00.0", 0, GPU_HOST_DRIVER, "0000:43:00.0 is bound to its "
	    "host driver amdgpu: bind it to vfio-pci" },
	{ "0000:43:00.0", 1, GPU_ASSIGNABLE, NULL },
	{ "0000:00:02.0", 0, GPU_HOST_DRIVER, "0000:00:02.0 is bound to its "
	    "host driver i915: bind it to vfio-pci" },
	{ "0000:00:02.0", 1, GPU_ASSIGNABLE, NULL },
	/* The card's own audio function goes along: its driver counts. */
	{ "0000:49:00.0", 0, GPU_HOST_DRIVER, "0000:49:00.1 (the audio device "
	    "of 0000:49:00.0) is bound to its host driver snd_hda_intel: bind "
	    "it to vfio-pci" },
	{ "0000:49:00.0", 1, GPU_ASSIGNABLE, NULL },
	/* A host driver is named before a group problem: fix it first. */
	{ "0000:4b:00.0", 0, GPU_HOST_DRIVER, NULL },
	{ "0000:4b:00.0", 1, GPU_ASSIGNABLE, NULL },

	/* Detaching is for the card's display and audio functions only. */
	{ "0000:45:00.0", 0, GPU_GROUP_NOT_VIABLE, USB_SHARES },
	{ "0000:45:00.0", 1, GPU_GROUP_NOT_VIABLE, USB_SHARES },
	/* Another card in the group is not one of this card's functions. */
	{ "0000:4a:00.0", 1, GPU_GROUP_NOT_VIABLE, "IOMMU group 51 is not "
	    "viable: 0000:4b:00.0 (VGA controller, driver nouveau) shares it" },
	{ "0000:4d:00.0", 0, GPU_GROUP_NOT_VIABLE, "IOMMU group 53 is not "
	    "viable: 0000:4d:00.3 (a device libvirt does not list) shares it" },

	{ "0000:47:00.0", 0, GPU_IN_USE, "0000:47:00.0 is in use by domain "
	    "other-vm" },
	{ "0000:47:00.0", 1, GPU_IN_USE, NULL },
};

static void
test_check(void **state)
{
	const struct gpu_inventory	*inv = *state;
	size_t				 i;

	for (i = 0; i < sizeof(verdicts) / sizeof(*verdicts); i++)
		check(inv, verdicts[i].addr, "desk", verdicts[i].detach,
		    verdicts[i].want, verdicts[i].why);
}

static void
test_check_in_use(void **state)
{
	struct gpu_inventory	*inv = *state;

	/* The domain that holds it may have it again; NULL is nobody. */
	check(inv, "0000:47:00.0", "other-vm", 0, GPU_ASSIGNABLE, NULL);
	check(inv, "0000:47:00.0", NULL, 1, GPU_IN_USE, NULL);
	/* A domain holding only the audio function holds the group. */
	assert_int_equal(gpu_inventory_add_domain(inv, "sound-vm",
	    "<domain><name>sound-vm</name><devices><hostdev "
	    "mode='subsystem' type='pci'><source><address domain='0x0000' "
	    "bus='0x41' slot='0x00' function='0x1'/></source></hostdev>"
	    "</devices></domain>"), 0);
	check(inv, "0000:41:00.0", "desk", 0, GPU_IN_USE,
	    "0000:41:00.1, in the same IOMMU group, is in use by domain "
	    "sound-vm");
	check(inv, "0000:41:00.0", "sound-vm", 0, GPU_ASSIGNABLE, NULL);
}

static void
test_check_why(void **state)
{
	const struct gpu_inventory	*inv = *state;
	char				 small[12];

	/* No room for the sentence, or a short one: the verdict stands. */
	assert_int_equal(gpu_check(inv, find(inv, "0000:47:00.0"), "desk", 0,
	    NULL, 0), GPU_IN_USE);
	assert_int_equal(gpu_check(inv, find(inv, "0000:47:00.0"), "desk", 0,
	    small, sizeof(small)), GPU_IN_USE);
	assert_string_equal(small, "0000:47:00.");
	assert_string_equal(gpu_verdict_name(GPU_ASSIGNABLE), "assignable");
	assert_string_equal(gpu_verdict_name(GPU_NOT_DISPLAY), "not-display");
	assert_string_equal(gpu_verdict_name(GPU_NO_IOMMU), "no-iommu");
	assert_string_equal(gpu_verdict_name(GPU_HOST_DRIVER), "host-driver");
	assert_string_equal(gpu_verdict_name(GPU_GROUP_NOT_VIABLE),
	    "group-not-viable");
	assert_string_equal(gpu_verdict_name(GPU_IN_USE), "in-use");
}

static void
expect_functions(const struct gpu_inventory *inv, const char *addr,
    size_t max, const char *want)
{
	struct gpu_addr	out[GPU_GROUP_MAX];
	char		got[512] = "", one[GPU_ADDR_LEN];
	size_t		i, n;

	n = gpu_functions(inv, find(inv, addr), out, max);
	for (i = 0; i < n; i++) {
		gpu_addr_format(&out[i], one, sizeof(one));
		if (i > 0)
			strlcat(got, " ", sizeof(got));
		strlcat(got, one, sizeof(got));
	}
	assert_string_equal(got, want);
}

static void
test_functions(void **state)
{
	const struct gpu_inventory	*inv = *state;

	expect_functions(inv, "0000:41:00.0", GPU_GROUP_MAX, G40);
	/* The card first, whatever the group's order. */
	expect_functions(inv, "0000:41:00.1", GPU_GROUP_MAX,
	    "0000:41:00.1 0000:41:00.0");
	/* The root port stays with the host. */
	expect_functions(inv, "0000:46:00.0", GPU_GROUP_MAX, "0000:46:00.0");
	expect_functions(inv, "0000:4c:00.0", GPU_GROUP_MAX, G52);
	expect_functions(inv, "0000:4c:00.0", 2, "0000:4c:00.0 0000:4c:00.1");
	expect_functions(inv, "0000:4c:00.0", 1, "0000:4c:00.0");
	expect_functions(inv, "0000:4c:00.0", 0, "");
	expect_functions(inv, "0000:4e:00.0", GPU_GROUP_MAX, "0000:4e:00.0");
}

static void
test_error_names(void **state)
{
	static const char	*blame[] = {
	    "internal error: qemu unexpectedly closed the monitor: "
	    "2026-11-26T10:00:00.000000Z qemu-system-x86_64: -device "
	    "{\"driver\":\"vfio-pci\",\"host\":\"0000:41:00.0\",\"id\":"
	    "\"hostdev0\"}: vfio 0000:41:00.0: failed to reset",
	    "Requested operation is not valid: PCI device 0000:41:00.0 is in "
	    "use by driver QEMU, domain other",
	    "unable to reset PCI device 0000:41:00.0: internal error: Active "
	    "0000:41:00.1 devices on bus with 0000:41:00.0, not doing bus "
	    "reset",
	    "Failed to detach PCI device pci_0000_41_00_0",
	    "vfio 0000:41:00.0: group 40 is not viable",
	    "VFIO 0000:41:00.0",
	    "device 0000:41:00.0.",
	    "0000:41:00.0",
	};
	static const char	*other[] = {
	    "vfio 0000:41:00.1: failed to setup container for group 40: "
	    "Failed to set iommu for container: Operation not permitted",
	    "Requested operation is not valid: PCI device 0000:41:00.10 is in "
	    "use",
	    "PCI device 10000:41:00.0",
	    "node device pci_0000_41_00_1 not found",
	    "pci_0000_41_00_0_1",
	    "0000:41:00.0a",
	    "0000:41:00.",
	    "",
	};
	struct gpu_addr		 a;
	size_t			 i;

	assert_int_equal(gpu_addr_parse("0000:41:00.0", &a), 0);
	for (i = 0; i < sizeof(blame) / sizeof(*blame); i++) {
		if (!gpu_error_names(blame[i], &a))
			fail_msg("does not blame 0000:41:00.0: %s", blame[i]);
	}
	for (i = 0; i < sizeof(other) / sizeof(*other); i++) {
		if (gpu_error_names(other[i], &a))
			fail_msg("blames 0000:41:00.0: %s", other[i]);
	}
	assert_false(gpu_error_names(NULL, &a));
	/* Hex digits in either case. */
	assert_int_equal(gpu_addr_parse("0000:4a:00.0", &a), 0);
	assert_true(gpu_error_names("vfio 0000:4A:00.0: failed", &a));
	assert_true(gpu_error_names("device PCI_0000_4A_00_0 busy", &a));
}

/* QEMU's sentence about a device, out of libvirt's long message. */
static void
test_error_clause(void **state)
{
	struct gpu_addr	a;
	char		out[64];
	const char	*msg = "gpu-desk1: start: internal error: qemu "
	    "unexpectedly closed the monitor: 2026-12-02T07:32:33Z "
	    "qemu-system-x86_64: -device {\"driver\":\"vfio-pci\","
	    "\"host\":\"0000:01:00.0\"}: vfio 0000:01:00.0: failed to open "
	    "/dev/vfio/3: Device or resource busy\\x0a";

	(void)state;
	assert_int_equal(gpu_addr_parse("0000:01:00.0", &a), 0);
	assert_int_equal(gpu_error_clause(msg, &a, out, sizeof(out)), 0);
	assert_string_equal(out, "failed to open /dev/vfio/3: Device or "
	    "resource busy");
	/* Cut to the room given, and nothing for another device. */
	assert_int_equal(gpu_error_clause(msg, &a, out, 10), 0);
	assert_string_equal(out, "failed to");
	assert_int_equal(gpu_addr_parse("0000:01:00.1", &a), 0);
	assert_int_equal(gpu_error_clause(msg, &a, out, sizeof(out)), -1);
	assert_int_equal(gpu_addr_parse("0000:01:00.0", &a), 0);
	assert_int_equal(gpu_error_clause("vfio 0000:01:00.0: ", &a, out,
	    sizeof(out)), -1);
	assert_int_equal(gpu_error_clause(NULL, &a, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_nodedev_fields),
		cmocka_unit_test(test_nodedev_optional),
		cmocka_unit_test(test_nodedev_many_types),
		cmocka_unit_test(test_nodedev_malformed),
		cmocka_unit_test(test_nodedev_big_group),
		cmocka_unit_test(test_domain),
		cmocka_unit_test_setup_teardown(test_check, setup_host,
		    teardown_host),
		cmocka_unit_test_setup_teardown(test_check_in_use,
		    setup_host, teardown_host),
		cmocka_unit_test_setup_teardown(test_check_why,
		    setup_host, teardown_host),
		cmocka_unit_test_setup_teardown(test_functions,
		    setup_host, teardown_host),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_error_clause),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
