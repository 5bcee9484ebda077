/* SPDX-License-Identifier: ISC */
/*
 * gpu.c against libvirt's test driver (tests/fixtures/gpu-host.xml): the
 * PCI node devices and running domains as libvirt lists them, and the
 * verdict on every card of that host, as an admin reads it.
 *
 * libvirt's node device parser ignores <driver> (a real host's driver
 * comes from sysfs), so the test takes each device's driver from the
 * fixture and puts it back where libvirt writes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "gpu.h"
#include "virttest.h"

#define DRIVERS_MAX	64

/* Node device name and the driver the fixture gives it. */
static struct {
	char	name[64];
	char	driver[32];
} drivers[DRIVERS_MAX];
static size_t	ndrivers;

static void
read_drivers(const char *path)
{
	xmlDocPtr	 doc;
	xmlNodePtr	 dev, n, d;
	xmlChar		*text;

	if ((doc = xmlReadFile(path, NULL, XML_PARSE_NONET)) == NULL) {
		fprintf(stderr, "%s: unreadable\n", path);
		exit(1);
	}
	for (dev = xmlDocGetRootElement(doc)->children; dev != NULL;
	    dev = dev->next) {
		if (dev->type != XML_ELEMENT_NODE ||
		    xmlStrcmp(dev->name, BAD_CAST "device") != 0)
			continue;
		for (n = dev->children; n != NULL; n = n->next) {
			if (xmlStrcmp(n->name, BAD_CAST "name") == 0) {
				text = xmlNodeGetContent(n);
				strlcpy(drivers[ndrivers].name,
				    (const char *)text,
				    sizeof(drivers[ndrivers].name));
				xmlFree(text);
			}
			if (xmlStrcmp(n->name, BAD_CAST "driver") != 0)
				continue;
			for (d = n->children; d != NULL; d = d->next) {
				if (xmlStrcmp(d->name, BAD_CAST "name") != 0)
					continue;
				text = xmlNodeGetContent(d);
				strlcpy(drivers[ndrivers].driver,
				    (const char *)text,
				    sizeof(drivers[ndrivers].driver));
				xmlFree(text);
			}
		}
		if (ndrivers < DRIVERS_MAX - 1)
			ndrivers++;
	}
	xmlFreeDoc(doc);
}

/* libvirt's XML of device name, with its driver as a real host has it. */
static char *
with_driver(const char *name, const char *xml)
{
	const char	*driver = "", *cap;
	char		*out;
	size_t		 i, len;

	for (i = 0; i < ndrivers; i++) {
		if (strcmp(drivers[i].name, name) == 0)
			driver = drivers[i].driver;
	}
	len = strlen(xml) + strlen(driver) + 64;
	if ((out = malloc(len)) == NULL)
		abort();
	cap = strstr(xml, "<capability");
	if (driver[0] == '\0' || cap == NULL || strstr(xml, "<driver>") !=
	    NULL) {
		strlcpy(out, xml, len);
		return out;
	}
	snprintf(out, len, "%.*s<driver><name>%s</name></driver>\n  %s",
	    (int)(cap - xml), xml, driver, cap);
	return out;
}

static void
load(virConnectPtr conn, struct gpu_inventory *inv)
{
	virNodeDevicePtr	*devs = NULL;
	virDomainPtr		*doms = NULL;
	char			*xml, *fixed, err[256];
	int			 i, n;

	n = virConnectListAllNodeDevices(conn, &devs,
	    VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV);
	VT_CHECK(n == 18, "%d PCI devices", n);
	for (i = 0; i < n; i++) {
		xml = virNodeDeviceGetXMLDesc(devs[i], 0);
		VT_CHECK(xml != NULL && strstr(xml, "<driver>") == NULL,
		    "%s: libvirt kept the driver", virNodeDeviceGetName(devs[i]));
		fixed = with_driver(virNodeDeviceGetName(devs[i]), xml);
		VT_CHECK(gpu_inventory_add_nodedev(inv, fixed, err,
		    sizeof(err)) == 0, "%s", err);
		free(fixed);
		free(xml);
		virNodeDeviceFree(devs[i]);
	}
	free(devs);

	n = virConnectListAllDomains(conn, &doms,
	    VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	VT_CHECK(n == 2, "%d running domains", n);
	for (i = 0; i < n; i++) {
		xml = virDomainGetXMLDesc(doms[i], 0);
		VT_CHECK(xml != NULL && gpu_inventory_add_domain(inv,
		    virDomainGetName(doms[i]), xml) == 0, "%s",
		    virDomainGetName(doms[i]));
		free(xml);
		virDomainFree(doms[i]);
	}
	free(doms);
}

static const struct gpu_pci_dev *
dev(const struct gpu_inventory *inv, const char *s)
{
	struct gpu_addr			 a;
	const struct gpu_pci_dev	*d = NULL;

	if (gpu_addr_parse(s, &a) == 0)
		d = gpu_find(inv, &a);
	VT_CHECK(d != NULL, "%s not listed", s);
	return d;
}

/* What the broker must say of each device of the fixture, for desk1. */
static const struct {
	const char		*addr;
	enum gpu_verdict	 want, detach;	/* without, with detach */
	const char		*why;
} verdicts[] = {
	{ "0000:41:00.0", GPU_ASSIGNABLE, GPU_ASSIGNABLE, "can be assigned" },
	{ "0000:42:00.0", GPU_ASSIGNABLE, GPU_ASSIGNABLE, "can be assigned" },
	{ "0000:43:00.0", GPU_HOST_DRIVER, GPU_ASSIGNABLE,
	    "0000:43:00.0 is bound to its host driver amdgpu: bind it to "
	    "vfio-pci" },
	{ "0000:00:02.0", GPU_HOST_DRIVER, GPU_ASSIGNABLE,
	    "host driver i915" },
	{ "0000:44:00.0", GPU_HOST_DRIVER, GPU_ASSIGNABLE,
	    "host driver nvidia" },
	{ "0000:45:00.0", GPU_GROUP_NOT_VIABLE, GPU_GROUP_NOT_VIABLE,
	    "IOMMU group 44 is not viable: 0000:45:00.2 (USB controller, "
	    "driver xhci_hcd) shares it" },
	{ "0000:46:00.0", GPU_ASSIGNABLE, GPU_ASSIGNABLE, "can be assigned" },
	{ "0000:47:00.0", GPU_IN_USE, GPU_IN_USE,
	    "0000:47:00.0 is in use by domain other-vm" },
	{ "0000:48:00.0", GPU_ASSIGNABLE, GPU_ASSIGNABLE, "can be assigned" },
	{ "0000:01:00.0", GPU_NOT_DISPLAY, GPU_NOT_DISPLAY,
	    "not a graphics card (Ethernet controller" },
	{ "0000:45:00.2", GPU_NOT_DISPLAY, GPU_NOT_DISPLAY,
	    "not a graphics card (USB controller" },
	{ "0000:41:00.1", GPU_NOT_DISPLAY, GPU_NOT_DISPLAY, "audio device" },
	{ "0000:40:01.0", GPU_NOT_DISPLAY, GPU_NOT_DISPLAY, "PCI bridge" },
};

static void
test_verdicts(const struct gpu_inventory *inv)
{
	const struct gpu_pci_dev	*d;
	enum gpu_verdict		 v;
	char				 why[256];
	size_t				 i;

	for (i = 0; i < sizeof(verdicts) / sizeof(*verdicts); i++) {
		if ((d = dev(inv, verdicts[i].addr)) == NULL)
			continue;
		v = gpu_check(inv, d, "gpu-desk1", 0, why, sizeof(why));
		VT_CHECK(v == verdicts[i].want && strstr(why, verdicts[i].why) !=
		    NULL, "%s: %s \"%s\"", verdicts[i].addr,
		    gpu_verdict_name(v), why);
		v = gpu_check(inv, d, "gpu-desk1", 1, why, sizeof(why));
		VT_CHECK(v == verdicts[i].detach, "%s with detach: %s \"%s\"",
		    verdicts[i].addr, gpu_verdict_name(v), why);
	}
	/* other-vm itself may have its card again. */
	if ((d = dev(inv, "0000:47:00.0")) != NULL)
		VT_CHECK(gpu_check(inv, d, "other-vm", 0, why, sizeof(why)) ==
		    GPU_ASSIGNABLE, "other-vm: %s", why);
}

/* A pool of RTX A5000 cards: two free, the third one held. */
static void
test_pool(const struct gpu_inventory *inv)
{
	const struct gpu_pci_dev	*d;
	size_t				 i, free_cards = 0, cards = 0;

	for (i = 0; i < inv->ndevs; i++) {
		d = &inv->devs[i];
		if (d->vendor_id != 0x10de || d->product_id != 0x2231)
			continue;
		cards++;
		if (gpu_check(inv, d, "gpu-desk2", 0, NULL, 0) ==
		    GPU_ASSIGNABLE)
			free_cards++;
	}
	VT_CHECK(cards == 3 && free_cards == 2, "%zu of %zu free", free_cards,
	    cards);
}

static void
expect_functions(const struct gpu_inventory *inv, const char *addr,
    size_t want, const char *second)
{
	const struct gpu_pci_dev	*d;
	struct gpu_addr			 out[GPU_GROUP_MAX];
	char				 a[GPU_ADDR_LEN] = "";
	size_t				 n;

	if ((d = dev(inv, addr)) == NULL)
		return;
	n = gpu_functions(inv, d, out, GPU_GROUP_MAX);
	if (n > 1)
		gpu_addr_format(&out[1], a, sizeof(a));
	VT_CHECK(n == want && gpu_addr_equal(&out[0], &d->addr) &&
	    (second == NULL || strcmp(a, second) == 0), "%s: %zu, %s", addr,
	    n, a);
}

static void
test_details(const struct gpu_inventory *inv)
{
	const struct gpu_pci_dev	*d;
	size_t				 i, avail = 0;

	if ((d = dev(inv, "0000:41:00.0")) != NULL) {
		VT_CHECK(strcmp(d->name, "pci_0000_41_00_0") == 0 &&
		    strcmp(d->product, "GA102GL [RTX A5000]") == 0 &&
		    strcmp(d->vendor, "NVIDIA Corporation") == 0 &&
		    d->class == 0x030000 && d->iommu_group == 40 &&
		    d->nmembers == 2 && d->numa_node == 1 &&
		    strcmp(d->driver, "vfio-pci") == 0, "41:00.0 fields");
	}
	if ((d = dev(inv, "0000:48:00.0")) != NULL)
		VT_CHECK(d->driver[0] == '\0', "48:00.0 driver %s", d->driver);
	if ((d = dev(inv, "0000:40:01.0")) != NULL)
		VT_CHECK(d->is_bridge, "root port");
	/* The T4 runs one T4-2Q: only that type has instances left. */
	if ((d = dev(inv, "0000:44:00.0")) != NULL) {
		for (i = 0; i < d->nmdev_types; i++) {
			if (d->mdev_types[i].available == 0)
				continue;
			avail++;
			VT_CHECK(strcmp(d->mdev_types[i].id, "nvidia-231") == 0 &&
			    strcmp(d->mdev_types[i].name, "GRID T4-2Q") == 0 &&
			    d->mdev_types[i].available == 7, "%s",
			    d->mdev_types[i].id);
		}
		VT_CHECK(d->nmdev_types == 17 && avail == 1, "T4: %zu types, %zu "
		    "available", d->nmdev_types, avail);
		VT_CHECK(d->class == 0x030200 && gpu_is_display(d), "3D class");
	}
	if ((d = dev(inv, "0000:00:02.0")) != NULL) {
		VT_CHECK(d->nmdev_types == 2 && d->numa_node == 0 &&
		    strcmp(d->mdev_types[0].id, "i915-GVTg_V5_4") == 0 &&
		    d->mdev_types[0].available == 2 &&
		    d->mdev_types[1].available == 0, "GVT-g types");
	}
	/* other-vm's card and vgpu-vm's vGPU, by UUID. */
	VT_CHECK(inv->nuses == 2, "%zu uses", inv->nuses);
	for (i = 0; i < inv->nuses; i++) {
		if (inv->uses[i].mdev[0] == '\0')
			continue;
		VT_CHECK(strcmp(inv->uses[i].mdev, "8c3e8a52-3f39-4a0b-9a6c-"
		    "5f6f0f3d2b71") == 0 && strcmp(inv->uses[i].domain,
		    "vgpu-vm") == 0, "mdev %s", inv->uses[i].mdev);
	}
	expect_functions(inv, "0000:41:00.0", 2, "0000:41:00.1");
	expect_functions(inv, "0000:48:00.0", 2, "0000:48:00.1");
	expect_functions(inv, "0000:46:00.0", 1, NULL);
	expect_functions(inv, "0000:45:00.0", 3, "0000:45:00.1");
}

int
main(void)
{
	struct gpu_inventory	 inv;
	virConnectPtr		 conn;
	virNodeDevicePtr	*parents = NULL;
	char			 uri[4096];
	int			 i, n;

	read_drivers(GPU_FIXTURE);
	snprintf(uri, sizeof(uri), "test://%s", GPU_FIXTURE);
	if ((conn = virConnectOpenReadOnly(uri)) == NULL) {
		fprintf(stderr, "%s: %s\n", uri, virGetLastErrorMessage());
		return 1;
	}
	memset(&inv, 0, sizeof(inv));
	load(conn, &inv);
	n = virConnectListAllNodeDevices(conn, &parents,
	    VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES);
	VT_CHECK(n == 2, "%d mdev parents", n);
	for (i = 0; i < n; i++)
		virNodeDeviceFree(parents[i]);
	free(parents);
	test_verdicts(&inv);
	test_pool(&inv);
	test_details(&inv);
	gpu_inventory_free(&inv);
	virConnectClose(conn);
	return vt_finish("test-gpu");
}
