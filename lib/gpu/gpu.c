/* SPDX-License-Identifier: ISC */
/*
 * The GPU inventory: the node device XML of each PCI device and the
 * <hostdev>s of running domains, read with XPath, and the checks that say
 * whether a display device can be given to a guest. The viability rule is
 * Linux's (drivers/vfio/vfio.c): a group is usable when every member is
 * driverless, on vfio-pci or pci-stub, or a bridge.
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "gpu.h"

#define GPU_XML_MAX		(4 * 1024 * 1024)
#define GPU_NUM_DIGITS		10	/* longest number we read */
#define GPU_BASE_DISPLAY	0x03	/* base class */
#define GPU_SUB_AUDIO		0x0403	/* base and subclass */
#define GPU_SUB_BRIDGE		0x0604

/* A parsed document and an XPath context on it. */
struct gpu_xml {
	xmlDocPtr		doc;
	xmlXPathContextPtr	ctx;
	xmlNodePtr		root;
};

/* Numbers of the <capability type='pci'> children, in the order of
 * gpu_pci_fields. */
enum {
	GPU_F_CLASS, GPU_F_DOMAIN, GPU_F_BUS, GPU_F_SLOT, GPU_F_FUNCTION,
	GPU_F_VENDOR, GPU_F_PRODUCT, GPU_F_COUNT
};

static const struct gpu_field {
	const char	*expr;
	unsigned long	 max;
	int		 hex;		/* hex even without 0x */
	const char	*what;
} gpu_pci_fields[GPU_F_COUNT] = {
	{ "class", 0xffffff, 1, "PCI class" },
	{ "domain", 0xffff, 0, "PCI domain" },
	{ "bus", 0xff, 0, "bus number" },
	{ "slot", 0x1f, 0, "slot number" },
	{ "function", 7, 0, "function number" },
	{ "vendor/@id", 0xffff, 1, "vendor id" },
	{ "product/@id", 0xffff, 1, "product id" },
};

/* What a class is called in messages, most specific first. */
static const struct gpu_class_word {
	uint16_t	 code;		/* base class << 8 | subclass */
	uint16_t	 mask;
	const char	*words;
} gpu_class_words[] = {
	{ 0x0300, 0xffff, "VGA controller" },
	{ 0x0302, 0xffff, "3D controller" },
	{ 0x0403, 0xffff, "audio device" },
	{ 0x0200, 0xffff, "Ethernet controller" },
	{ 0x0106, 0xffff, "SATA controller" },
	{ 0x0108, 0xffff, "NVMe controller" },
	{ 0x0c03, 0xffff, "USB controller" },
	{ 0x0c05, 0xffff, "SMBus controller" },
	{ 0x0600, 0xffff, "host bridge" },
	{ 0x0604, 0xffff, "PCI bridge" },
	{ 0x0100, 0xff00, "storage controller" },
	{ 0x0200, 0xff00, "network controller" },
	{ 0x0300, 0xff00, "display controller" },
	{ 0x0400, 0xff00, "multimedia device" },
	{ 0x0600, 0xff00, "bridge" },
	{ 0x0800, 0xff00, "system peripheral" },
	{ 0x0c00, 0xff00, "serial bus controller" },
	{ 0x1200, 0xff00, "processing accelerator" },
};

static int __attribute__((format(printf, 3, 4)))
gpu_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Writes the sentence for verdict v into why and returns v. */
static enum gpu_verdict __attribute__((format(printf, 4, 5)))
gpu_why(enum gpu_verdict v, char *why, size_t whylen, const char *fmt, ...)
{
	va_list	ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return v;
}

static int
gpu_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * s as a number no greater than max: hex with 0x or when hex is set,
 * decimal otherwise; nothing else around it. 0 or -1.
 */
static int
gpu_number(const char *s, int hex, unsigned long max, unsigned long *out)
{
	unsigned long	 v = 0;
	unsigned	 base = hex ? 16 : 10;
	size_t		 n;
	int		 d;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (n = 0; s[n] != '\0'; n++) {
		d = gpu_hexval(s[n]);
		if (d < 0 || (unsigned)d >= base || n == GPU_NUM_DIGITS)
			return -1;
		v = v * base + (unsigned)d;
	}
	if (n == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* a from domain, bus, slot and function; 0, or -1 when out of range. */
static int
gpu_addr_set(struct gpu_addr *a, const unsigned long v[4])
{
	if (v[0] > 0xffff || v[1] > 0xff || v[2] > 0x1f || v[3] > 7)
		return -1;
	a->domain = (uint16_t)v[0];
	a->bus = (uint8_t)v[1];
	a->slot = (uint8_t)v[2];
	a->function = (uint8_t)v[3];
	return 0;
}

int
gpu_addr_parse(const char *s, struct gpu_addr *a)
{
	static const char	 form[] = "hhhh:hh:hh.h";
	unsigned long		 v[4] = { 0, 0, 0, 0 };
	size_t			 i, part = 0;

	if (s == NULL || strlen(s) != sizeof(form) - 1)
		return -1;
	for (i = 0; form[i] != '\0'; i++) {
		if (form[i] != 'h') {
			if (s[i] != form[i])
				return -1;
			part++;
		} else if (gpu_hexval(s[i]) < 0)
			return -1;
		else
			v[part] = v[part] * 16 + (unsigned)gpu_hexval(s[i]);
	}
	return gpu_addr_set(a, v);
}

void
gpu_addr_format(const struct gpu_addr *a, char *buf, size_t len)
{
	/* A valid function is one digit; the mask lets the compiler see it. */
	snprintf(buf, len, "%04x:%02x:%02x.%x", a->domain, a->bus, a->slot,
	    a->function & 7u);
}

int
gpu_addr_equal(const struct gpu_addr *a, const struct gpu_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus &&
	    a->slot == b->slot && a->function == b->function;
}

/* Parses xml and checks that its root element is called root; 0 or -1. */
static int
gpu_xml_open(struct gpu_xml *x, const char *xml, const char *root)
{
	size_t	len;

	memset(x, 0, sizeof(*x));
	if (xml == NULL || (len = strlen(xml)) > GPU_XML_MAX)
		return -1;
	x->doc = xmlReadMemory(xml, (int)len, "gpu.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (x->doc == NULL || (x->root = xmlDocGetRootElement(x->doc)) ==
	    NULL || xmlStrcmp(x->root->name, (const xmlChar *)root) != 0)
		return -1;
	if ((x->ctx = xmlXPathNewContext(x->doc)) == NULL)
		return -1;
	return 0;
}

static void
gpu_xml_close(struct gpu_xml *x)
{
	xmlXPathFreeContext(x->ctx);
	xmlFreeDoc(x->doc);
	memset(x, 0, sizeof(*x));
}

/* The nodes expr finds from node: an object to free, or NULL for none. */
static xmlXPathObjectPtr
gpu_xml_nodes(struct gpu_xml *x, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr	obj;

	x->ctx->node = node;
	obj = xmlXPathEvalExpression((const xmlChar *)expr, x->ctx);
	if (obj != NULL && (obj->type != XPATH_NODESET ||
	    obj->nodesetval == NULL || obj->nodesetval->nodeNr == 0)) {
		xmlXPathFreeObject(obj);
		obj = NULL;
	}
	return obj;
}

static xmlNodePtr
gpu_xml_node(struct gpu_xml *x, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr	obj;
	xmlNodePtr		found = NULL;

	if ((obj = gpu_xml_nodes(x, node, expr)) != NULL) {
		found = obj->nodesetval->nodeTab[0];
		xmlXPathFreeObject(obj);
	}
	return found;
}

/*
 * The text of the first node expr finds (an element's content or an
 * attribute's value), cut to fit buf; 0, or -1 when there is none.
 */
static int
gpu_xml_text(struct gpu_xml *x, xmlNodePtr node, const char *expr,
    char *buf, size_t len)
{
	xmlNodePtr	 found;
	xmlChar		*text;

	buf[0] = '\0';
	if ((found = gpu_xml_node(x, node, expr)) == NULL ||
	    (text = xmlNodeGetContent(found)) == NULL)
		return -1;
	strlcpy(buf, (const char *)text, len);
	xmlFree(text);
	return 0;
}

/* The number at expr; 0, or -1 when it is missing or out of range. */
static int
gpu_xml_number(struct gpu_xml *x, xmlNodePtr node, const char *expr,
    int hex, unsigned long max, unsigned long *out)
{
	char	buf[GPU_NUM_DIGITS + 3];

	if (gpu_xml_text(x, node, expr, buf, sizeof(buf)) == -1 ||
	    strlen(buf) == sizeof(buf) - 1)
		return -1;
	return gpu_number(buf, hex, max, out);
}

/* An <address domain= bus= slot= function=/> element; 0 or -1. */
static int
gpu_xml_addr(struct gpu_xml *x, xmlNodePtr node, struct gpu_addr *a)
{
	static const char	*attr[] = { "@domain", "@bus", "@slot",
				    "@function" };
	unsigned long		 v[4];
	size_t			 i;

	for (i = 0; i < 4; i++) {
		if (gpu_xml_number(x, node, attr[i], 0, 0xffff, &v[i]) == -1)
			return -1;
	}
	return gpu_addr_set(a, v);
}

/* <iommuGroup>: its number and members, d itself among them; 0 or -1. */
static int
gpu_parse_group(struct gpu_xml *x, xmlNodePtr cap, struct gpu_pci_dev *d,
    char *err, size_t errlen)
{
	xmlXPathObjectPtr	 obj;
	xmlNodePtr		 group;
	unsigned long		 n;
	size_t			 i, count;
	int			 self = 0;

	d->iommu_group = -1;
	if ((group = gpu_xml_node(x, cap, "iommuGroup")) == NULL)
		return 0;
	if (gpu_xml_number(x, group, "@number", 0, INT_MAX, &n) == -1)
		return gpu_err(err, errlen, "%s: bad IOMMU group number",
		    d->name);
	d->iommu_group = (int)n;
	obj = gpu_xml_nodes(x, group, "address");
	count = obj != NULL ? (size_t)obj->nodesetval->nodeNr : 0;
	for (i = 0; i < count; i++) {
		if (d->nmembers == GPU_GROUP_MAX) {
			xmlXPathFreeObject(obj);
			return gpu_err(err, errlen, "%s: more than %d devices "
			    "in IOMMU group %d", d->name, GPU_GROUP_MAX,
			    d->iommu_group);
		}
		if (gpu_xml_addr(x, obj->nodesetval->nodeTab[i],
		    &d->members[d->nmembers]) == -1) {
			xmlXPathFreeObject(obj);
			return gpu_err(err, errlen, "%s: bad address in IOMMU "
			    "group %d", d->name, d->iommu_group);
		}
		self |= gpu_addr_equal(&d->members[d->nmembers], &d->addr);
		d->nmembers++;
	}
	xmlXPathFreeObject(obj);
	if (!self && d->nmembers < GPU_GROUP_MAX)
		d->members[d->nmembers++] = d->addr;
	return 0;
}

/*
 * <capability type='mdev_types'>: the first GPU_MDEV_TYPES_MAX types (a
 * card can offer more; the rest are left out). 0 or -1.
 */
static int
gpu_parse_mdev_types(struct gpu_xml *x, xmlNodePtr cap, struct gpu_pci_dev *d,
    char *err, size_t errlen)
{
	xmlXPathObjectPtr	 obj;
	struct gpu_mdev_type	*t;
	xmlNodePtr		 node;
	unsigned long		 avail;
	size_t			 i, count;
	int			 ret = 0;

	obj = gpu_xml_nodes(x, cap, "capability[@type='mdev_types']/type");
	count = obj != NULL ? (size_t)obj->nodesetval->nodeNr : 0;
	for (i = 0; i < count && i < GPU_MDEV_TYPES_MAX; i++) {
		node = obj->nodesetval->nodeTab[i];
		t = &d->mdev_types[i];
		if (gpu_xml_text(x, node, "@id", t->id, sizeof(t->id)) == -1 ||
		    t->id[0] == '\0' || gpu_xml_number(x, node,
		    "availableInstances", 0, UINT_MAX, &avail) == -1) {
			ret = gpu_err(err, errlen, "%s: bad mediated device "
			    "type", d->name);
			break;
		}
		gpu_xml_text(x, node, "name", t->name, sizeof(t->name));
		t->available = (unsigned)avail;
		d->nmdev_types++;
	}
	xmlXPathFreeObject(obj);
	return ret;
}

/* The children of <capability type='pci'>; 0 or -1. */
static int
gpu_parse_pci(struct gpu_xml *x, xmlNodePtr cap, struct gpu_pci_dev *d,
    char *err, size_t errlen)
{
	const struct gpu_field	*f;
	unsigned long		 v[GPU_F_COUNT], numa;
	size_t			 i;

	for (i = 0; i < GPU_F_COUNT; i++) {
		f = &gpu_pci_fields[i];
		if (gpu_xml_number(x, cap, f->expr, f->hex, f->max,
		    &v[i]) == -1)
			return gpu_err(err, errlen, "%s: missing or bad %s",
			    d->name, f->what);
	}
	d->class = (uint32_t)v[GPU_F_CLASS];
	/* Domain to function are in order, each checked against its max. */
	gpu_addr_set(&d->addr, &v[GPU_F_DOMAIN]);
	d->vendor_id = (uint16_t)v[GPU_F_VENDOR];
	d->product_id = (uint16_t)v[GPU_F_PRODUCT];
	gpu_xml_text(x, cap, "vendor", d->vendor, sizeof(d->vendor));
	gpu_xml_text(x, cap, "product", d->product, sizeof(d->product));

	d->numa_node = -1;
	if (gpu_xml_node(x, cap, "numa/@node") != NULL) {
		if (gpu_xml_number(x, cap, "numa/@node", 0, INT_MAX,
		    &numa) == -1)
			return gpu_err(err, errlen, "%s: bad NUMA node",
			    d->name);
		d->numa_node = (int)numa;
	}
	d->is_bridge = (d->class >> 8) == GPU_SUB_BRIDGE ||
	    gpu_xml_node(x, cap, "capability[@type='pci-bridge']") != NULL;
	if (gpu_parse_group(x, cap, d, err, errlen) == -1)
		return -1;
	return gpu_parse_mdev_types(x, cap, d, err, errlen);
}

int
gpu_inventory_add_nodedev(struct gpu_inventory *inv, const char *xml,
    char *err, size_t errlen)
{
	struct gpu_xml		 x;
	struct gpu_pci_dev	*d = NULL, *devs;
	xmlNodePtr		 cap;
	char			 addr[GPU_ADDR_LEN];
	int			 ret = -1;

	if (gpu_xml_open(&x, xml, "device") == -1) {
		gpu_err(err, errlen, "not a libvirt node device's XML");
		goto out;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		gpu_err(err, errlen, "out of memory");
		goto out;
	}
	if (gpu_xml_text(&x, x.root, "name", d->name, sizeof(d->name)) == -1 ||
	    d->name[0] == '\0') {
		gpu_err(err, errlen, "node device without a name");
		goto out;
	}
	if ((cap = gpu_xml_node(&x, x.root, "capability[@type='pci']")) ==
	    NULL) {
		gpu_err(err, errlen, "%s is not a PCI device", d->name);
		goto out;
	}
	if (gpu_parse_pci(&x, cap, d, err, errlen) == -1)
		goto out;
	gpu_xml_text(&x, x.root, "driver/name", d->driver, sizeof(d->driver));
	if (gpu_find(inv, &d->addr) != NULL) {
		gpu_addr_format(&d->addr, addr, sizeof(addr));
		gpu_err(err, errlen, "%s: %s is listed twice", d->name, addr);
		goto out;
	}
	devs = reallocarray(inv->devs, inv->ndevs + 1, sizeof(*devs));
	if (devs == NULL) {
		gpu_err(err, errlen, "out of memory");
		goto out;
	}
	inv->devs = devs;
	inv->devs[inv->ndevs++] = *d;
	ret = 0;
out:
	free(d);
	gpu_xml_close(&x);
	return ret;
}

static int
gpu_use_add(struct gpu_inventory *inv, const struct gpu_use *u)
{
	struct gpu_use	*uses;

	uses = reallocarray(inv->uses, inv->nuses + 1, sizeof(*uses));
	if (uses == NULL)
		return -1;
	inv->uses = uses;
	inv->uses[inv->nuses++] = *u;
	return 0;
}

/* "8c3e8a52-3f39-4a0b-9a6c-5f6f0f3d2b71": 8-4-4-4-12 hex digits. */
static int
gpu_uuid_valid(const char *s)
{
	size_t	i;

	if (strlen(s) != GPU_UUID_LEN - 1)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (gpu_hexval(s[i]) < 0)
			return 0;
	}
	return 1;
}

/* Records each node expr finds, a PCI address or an mdev UUID; 0 or -1. */
static int
gpu_domain_uses(struct gpu_inventory *inv, struct gpu_xml *x,
    struct gpu_use *u, const char *expr, int mdev)
{
	xmlXPathObjectPtr	 obj;
	xmlNodePtr		 node;
	size_t			 i, count;
	int			 ret = 0;

	obj = gpu_xml_nodes(x, x->root, expr);
	count = obj != NULL ? (size_t)obj->nodesetval->nodeNr : 0;
	for (i = 0; i < count && ret == 0; i++) {
		node = obj->nodesetval->nodeTab[i];
		memset(&u->addr, 0, sizeof(u->addr));
		u->mdev[0] = '\0';
		if (mdev) {
			if (gpu_xml_text(x, node, "@uuid", u->mdev,
			    sizeof(u->mdev)) == -1 || !gpu_uuid_valid(u->mdev))
				ret = -1;
		} else if (gpu_xml_addr(x, node, &u->addr) == -1)
			ret = -1;
		if (ret == 0)
			ret = gpu_use_add(inv, u);
	}
	xmlXPathFreeObject(obj);
	return ret;
}

int
gpu_inventory_add_domain(struct gpu_inventory *inv, const char *name,
    const char *xml)
{
	struct gpu_xml	 x;
	struct gpu_use	 u;
	size_t		 before = inv->nuses;
	int		 ret = -1;

	memset(&u, 0, sizeof(u));
	if (gpu_xml_open(&x, xml, "domain") == -1 || name == NULL ||
	    name[0] == '\0' || strlcpy(u.domain, name, sizeof(u.domain)) >=
	    sizeof(u.domain))
		goto out;
	/* An SR-IOV network port given as <interface type='hostdev'> holds
	 * its PCI function just like a <hostdev>. */
	if (gpu_domain_uses(inv, &x, &u, "devices/hostdev[@mode='subsystem']"
	    "[@type='pci']/source/address | devices/interface"
	    "[@type='hostdev']/source/address[@type='pci']", 0) == -1 ||
	    gpu_domain_uses(inv, &x, &u, "devices/hostdev[@mode='subsystem']"
	    "[@type='mdev']/source/address", 1) == -1)
		goto out;
	ret = 0;
out:
	/* All of the domain or none of it. */
	if (ret == -1)
		inv->nuses = before;
	gpu_xml_close(&x);
	return ret;
}

void
gpu_inventory_free(struct gpu_inventory *inv)
{
	if (inv == NULL)
		return;
	free(inv->devs);
	free(inv->uses);
	memset(inv, 0, sizeof(*inv));
}

const struct gpu_pci_dev *
gpu_find(const struct gpu_inventory *inv, const struct gpu_addr *a)
{
	size_t	i;

	for (i = 0; i < inv->ndevs; i++) {
		if (gpu_addr_equal(&inv->devs[i].addr, a))
			return &inv->devs[i];
	}
	return NULL;
}

int
gpu_is_display(const struct gpu_pci_dev *d)
{
	return (d->class >> 16) == GPU_BASE_DISPLAY;
}

/* The running domain other than dom (any when NULL) that holds a, or NULL. */
static const char *
gpu_used_by_other(const struct gpu_inventory *inv, const struct gpu_addr *a,
    const char *dom)
{
	const struct gpu_use	*u;
	size_t			 i;

	for (i = 0; i < inv->nuses; i++) {
		u = &inv->uses[i];
		if (u->mdev[0] != '\0' || !gpu_addr_equal(&u->addr, a))
			continue;
		if (dom == NULL || strcmp(u->domain, dom) != 0)
			return u->domain;
	}
	return NULL;
}

const char *
gpu_used_by(const struct gpu_inventory *inv, const struct gpu_addr *a)
{
	return gpu_used_by_other(inv, a, NULL);
}

static const char *
gpu_class_name(uint32_t class)
{
	uint16_t	sub = (uint16_t)(class >> 8);
	size_t		i;

	for (i = 0; i < sizeof(gpu_class_words) / sizeof(*gpu_class_words);
	    i++) {
		if ((sub & gpu_class_words[i].mask) == gpu_class_words[i].code)
			return gpu_class_words[i].words;
	}
	return "PCI device";
}

static int
gpu_driver_fit(const char *driver)
{
	return driver[0] == '\0' || strcmp(driver, "vfio-pci") == 0 ||
	    strcmp(driver, "pci-stub") == 0;
}

/* Whether m is a function of d's card that goes along with it: a display
 * or audio function in the same slot. */
static int
gpu_goes_along(const struct gpu_pci_dev *d, const struct gpu_pci_dev *m)
{
	return (gpu_is_display(m) || (m->class >> 8) == GPU_SUB_AUDIO) &&
	    m->addr.domain == d->addr.domain && m->addr.bus == d->addr.bus &&
	    m->addr.slot == d->addr.slot;
}

/* d and the functions that go along with it: a host driver on any. */
static enum gpu_verdict
gpu_check_drivers(const struct gpu_inventory *inv,
    const struct gpu_pci_dev *d, char *why, size_t whylen)
{
	const struct gpu_pci_dev	*m;
	char				 a[GPU_ADDR_LEN], ma[GPU_ADDR_LEN];
	size_t				 i;

	gpu_addr_format(&d->addr, a, sizeof(a));
	if (!gpu_driver_fit(d->driver))
		return gpu_why(GPU_HOST_DRIVER, why, whylen, "%s is bound to "
		    "its host driver %s: bind it to vfio-pci", a, d->driver);
	for (i = 0; i < d->nmembers; i++) {
		if (gpu_addr_equal(&d->members[i], &d->addr) ||
		    (m = gpu_find(inv, &d->members[i])) == NULL ||
		    !gpu_goes_along(d, m) || gpu_driver_fit(m->driver))
			continue;
		gpu_addr_format(&m->addr, ma, sizeof(ma));
		return gpu_why(GPU_HOST_DRIVER, why, whylen, "%s (the %s of "
		    "%s) is bound to its host driver %s: bind it to vfio-pci",
		    ma, gpu_class_name(m->class), a, m->driver);
	}
	return GPU_ASSIGNABLE;
}

/* The other members of d's group: each must leave the group viable. */
static enum gpu_verdict
gpu_check_group(const struct gpu_inventory *inv, const struct gpu_pci_dev *d,
    char *why, size_t whylen)
{
	const struct gpu_pci_dev	*m;
	char				 ma[GPU_ADDR_LEN];
	size_t				 i;

	for (i = 0; i < d->nmembers; i++) {
		if (gpu_addr_equal(&d->members[i], &d->addr))
			continue;
		gpu_addr_format(&d->members[i], ma, sizeof(ma));
		if ((m = gpu_find(inv, &d->members[i])) == NULL)
			return gpu_why(GPU_GROUP_NOT_VIABLE, why, whylen,
			    "IOMMU group %d is not viable: %s (a device "
			    "libvirt does not list) shares it", d->iommu_group,
			    ma);
		/* Functions that go along were checked, or get detached. */
		if (m->is_bridge || gpu_driver_fit(m->driver) ||
		    gpu_goes_along(d, m))
			continue;
		return gpu_why(GPU_GROUP_NOT_VIABLE, why, whylen, "IOMMU group "
		    "%d is not viable: %s (%s, driver %s) shares it",
		    d->iommu_group, ma, gpu_class_name(m->class), m->driver);
	}
	return GPU_ASSIGNABLE;
}

/* d and its group: held by a running domain other than dom. */
static enum gpu_verdict
gpu_check_use(const struct gpu_inventory *inv, const struct gpu_pci_dev *d,
    const char *dom, char *why, size_t whylen)
{
	const char	*holder;
	char		 ma[GPU_ADDR_LEN];
	size_t		 i;

	gpu_addr_format(&d->addr, ma, sizeof(ma));
	if ((holder = gpu_used_by_other(inv, &d->addr, dom)) != NULL)
		return gpu_why(GPU_IN_USE, why, whylen, "%s is in use by "
		    "domain %s", ma, holder);
	for (i = 0; i < d->nmembers; i++) {
		if ((holder = gpu_used_by_other(inv, &d->members[i],
		    dom)) == NULL)
			continue;
		gpu_addr_format(&d->members[i], ma, sizeof(ma));
		return gpu_why(GPU_IN_USE, why, whylen, "%s, in the same IOMMU "
		    "group, is in use by domain %s", ma, holder);
	}
	return GPU_ASSIGNABLE;
}

enum gpu_verdict
gpu_check(const struct gpu_inventory *inv, const struct gpu_pci_dev *d,
    const char *dom, int allow_detach, char *why, size_t whylen)
{
	enum gpu_verdict	v;
	char			a[GPU_ADDR_LEN];

	gpu_addr_format(&d->addr, a, sizeof(a));
	if (!gpu_is_display(d))
		return gpu_why(GPU_NOT_DISPLAY, why, whylen, "%s is not a "
		    "graphics card (%s, class 0x%06x)", a,
		    gpu_class_name(d->class), d->class);
	if (d->iommu_group < 0)
		return gpu_why(GPU_NO_IOMMU, why, whylen, "%s has no IOMMU "
		    "group: turn on the IOMMU (intel_iommu=on or AMD-Vi) in "
		    "firmware and on the kernel command line", a);
	if (!allow_detach &&
	    (v = gpu_check_drivers(inv, d, why, whylen)) != GPU_ASSIGNABLE)
		return v;
	if ((v = gpu_check_group(inv, d, why, whylen)) != GPU_ASSIGNABLE ||
	    (v = gpu_check_use(inv, d, dom, why, whylen)) != GPU_ASSIGNABLE)
		return v;
	return gpu_why(GPU_ASSIGNABLE, why, whylen, "%s can be assigned", a);
}

const char *
gpu_verdict_name(enum gpu_verdict v)
{
	switch (v) {
	case GPU_ASSIGNABLE:
		return "assignable";
	case GPU_NOT_DISPLAY:
		return "not-display";
	case GPU_NO_IOMMU:
		return "no-iommu";
	case GPU_HOST_DRIVER:
		return "host-driver";
	case GPU_GROUP_NOT_VIABLE:
		return "group-not-viable";
	case GPU_IN_USE:
		return "in-use";
	}
	return "unknown";
}

size_t
gpu_functions(const struct gpu_inventory *inv, const struct gpu_pci_dev *d,
    struct gpu_addr *out, size_t max)
{
	const struct gpu_pci_dev	*m;
	size_t				 i, n = 0;

	if (max == 0)
		return 0;
	out[n++] = d->addr;
	for (i = 0; i < d->nmembers && n < max; i++) {
		if (gpu_addr_equal(&d->members[i], &d->addr))
			continue;
		if ((m = gpu_find(inv, &d->members[i])) != NULL &&
		    m->is_bridge)
			continue;
		out[n++] = d->members[i];
	}
	return n;
}

static int
gpu_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Whether msg holds word on its own, ignoring case. */
static int
gpu_has_word(const char *msg, const char *word)
{
	size_t		 len = strlen(word);
	const char	*p;

	for (p = msg; *p != '\0'; p++) {
		if (strncasecmp(p, word, len) != 0)
			continue;
		if ((p == msg || !gpu_word_char(p[-1])) &&
		    !gpu_word_char(p[len]))
			return 1;
	}
	return 0;
}

int
gpu_error_names(const char *msg, const struct gpu_addr *a)
{
	char	colon[GPU_ADDR_LEN], name[sizeof("pci_0000_00_00_0")];

	if (msg == NULL)
		return 0;
	gpu_addr_format(a, colon, sizeof(colon));
	snprintf(name, sizeof(name), "pci_%04x_%02x_%02x_%x", a->domain,
	    a->bus, a->slot, a->function & 7u);
	return gpu_has_word(msg, colon) || gpu_has_word(msg, name);
}

int
gpu_error_clause(const char *msg, const struct gpu_addr *a, char *out,
    size_t len)
{
	char		 addr[GPU_ADDR_LEN], lead[sizeof("vfio 0000:00:00.0: ")];
	const char	*p, *end;

	if (msg == NULL)
		return -1;
	gpu_addr_format(a, addr, sizeof(addr));
	snprintf(lead, sizeof(lead), "vfio %s: ", addr);
	if ((p = strstr(msg, lead)) == NULL)
		return -1;
	p += strlen(lead);
	/* Messages reach here made printable: a newline is "\x0a". */
	if ((end = strstr(p, "\\x0a")) == NULL)
		end = p + strlen(p);
	if (end == p)
		return -1;
	snprintf(out, len, "%.*s", (int)(end - p), p);
	return 0;
}
