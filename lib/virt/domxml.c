/* SPDX-License-Identifier: ISC */
/*
 * The broker's edits to a domain's persistent definition (domxml.h). Each
 * element the broker adds carries a user alias starting with
 * DOMXML_ALIAS_PREFIX, which libvirt keeps in the persistent XML: the next
 * preparation removes them all first and adds what the new allocation
 * needs, so preparing twice gives what preparing once gives.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "domxml.h"
#include "domxmlpriv.h"

/* spice-server treats a spiceport of this name as the streaming device,
 * and spice-streaming-agent opens the virtio port of the same name. */
#define DOMXML_STREAM_PORT	"org.spice-space.stream.0"
#define DOMXML_UUID_LEN		36

void
domxml_begin(struct domxml_edit *e, char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	e->err = err;
	e->errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
}

void
domxml_error(struct domxml_edit *e, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(e->err, e->errlen, fmt, ap);
	va_end(ap);
}

/* Whether n is the element name, outside any namespace. */
int
domxml_is(xmlNodePtr n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns == NULL &&
	    xmlStrEqual(n->name, X(name));
}

/* The first child element of parent called name, or NULL. */
xmlNodePtr
domxml_child(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	n;

	if (parent == NULL)
		return NULL;
	for (n = parent->children; n != NULL; n = n->next) {
		if (domxml_is(n, name))
			return n;
	}
	return NULL;
}

/* Whether attribute attr of n has value. */
int
domxml_attr_is(xmlNodePtr n, const char *attr, const char *value)
{
	xmlChar	*v;
	int	 same;

	if (n == NULL)
		return 0;
	v = xmlGetNoNsProp(n, X(attr));
	same = v != NULL && xmlStrEqual(v, X(value));
	xmlFree(v);
	return same;
}

/*
 * A new child element of parent. A NULL parent means an earlier
 * allocation failed (already noted): the edit goes on quietly and
 * domxml_prepare reports the failure once.
 */
xmlNodePtr
domxml_add(struct domxml_edit *e, xmlNodePtr parent, const char *name)
{
	xmlNodePtr	n;

	if (parent == NULL)
		return NULL;
	if ((n = xmlNewChild(parent, NULL, X(name), NULL)) == NULL)
		e->nomem = 1;
	return n;
}

/* The child element name of parent, added when missing. */
xmlNodePtr
domxml_need(struct domxml_edit *e, xmlNodePtr parent, const char *name)
{
	xmlNodePtr	n;

	if ((n = domxml_child(parent, name)) != NULL)
		return n;
	return domxml_add(e, parent, name);
}

void
domxml_set(struct domxml_edit *e, xmlNodePtr n, const char *attr,
    const char *value)
{
	if (n != NULL && xmlSetProp(n, X(attr), X(value)) == NULL)
		e->nomem = 1;
}

static void
domxml_alias(struct domxml_edit *e, xmlNodePtr n, const char *name)
{
	char	alias[64];

	snprintf(alias, sizeof(alias), "%s%s", DOMXML_ALIAS_PREFIX, name);
	domxml_set(e, domxml_add(e, n, "alias"), "name", alias);
}

/*
 * Unlinks and frees n, and the indentation before it when more follows:
 * libvirt indents each device, the broker adds its own unindented after
 * the last one, and either way removing them leaves the rest as it was.
 */
void
domxml_drop(xmlNodePtr n)
{
	xmlNodePtr	prev = n->prev;

	if (prev != NULL && xmlIsBlankNode(prev) && n->next != NULL &&
	    xmlIsBlankNode(n->next)) {
		xmlUnlinkNode(prev);
		xmlFreeNode(prev);
	}
	xmlUnlinkNode(n);
	xmlFreeNode(n);
}

/* Whether device n carries an alias the broker gave it. */
static int
domxml_ours(xmlNodePtr n)
{
	xmlChar	*name;
	int	 ours;

	if (n->type != XML_ELEMENT_NODE)
		return 0;
	if ((name = xmlGetNoNsProp(domxml_child(n, "alias"), X("name"))) ==
	    NULL)
		return 0;
	ours = strncmp((const char *)name, DOMXML_ALIAS_PREFIX,
	    strlen(DOMXML_ALIAS_PREFIX)) == 0;
	xmlFree(name);
	return ours;
}

/* A number attribute as libvirt reads it (base 0); -1 if not one <= max. */
static long
domxml_number(xmlNodePtr n, const char *attr, unsigned long max)
{
	xmlChar		*v;
	char		*end;
	unsigned long	 x;
	long		 ret = -1;

	if ((v = xmlGetNoNsProp(n, X(attr))) == NULL)
		return -1;
	errno = 0;
	x = strtoul((const char *)v, &end, 0);
	if (isdigit(v[0]) && *end == '\0' && errno == 0 && x <= max)
		ret = (long)x;
	xmlFree(v);
	return ret;
}

/* The source address of a <hostdev type='pci'>; 0, or -1 if it has none. */
static int
domxml_hostdev_pci(xmlNodePtr hd, struct gpu_addr *a)
{
	xmlNodePtr	addr;
	long		d = 0, b, s, f;

	addr = domxml_child(domxml_child(hd, "source"), "address");
	if (!domxml_attr_is(hd, "type", "pci") || addr == NULL)
		return -1;
	/* libvirt takes a missing domain as 0. */
	if (xmlHasProp(addr, X("domain")) != NULL)
		d = domxml_number(addr, "domain", 0xffff);
	b = domxml_number(addr, "bus", 0xff);
	s = domxml_number(addr, "slot", 0x1f);
	f = domxml_number(addr, "function", 7);
	if (d == -1 || b == -1 || s == -1 || f == -1)
		return -1;
	a->domain = (uint16_t)d;
	a->bus = (uint8_t)b;
	a->slot = (uint8_t)s;
	a->function = (uint8_t)f;
	return 0;
}

/* The uuid of a <hostdev type='mdev'>, to free, or NULL. */
static xmlChar *
domxml_hostdev_mdev(xmlNodePtr hd)
{
	xmlNodePtr	addr;

	addr = domxml_child(domxml_child(hd, "source"), "address");
	if (!domxml_attr_is(hd, "type", "mdev") || addr == NULL)
		return NULL;
	return xmlGetNoNsProp(addr, X("uuid"));
}

/* 8-4-4-4-12 hexadecimal digits. */
static int
domxml_uuid_valid(const char *s)
{
	size_t	i;

	if (strlen(s) != DOMXML_UUID_LEN)
		return 0;
	for (i = 0; i < DOMXML_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* 1..DOMXML_VENDOR_ID_MAX letters and digits (QEMU's hv-vendor-id). */
static int
domxml_vendor_valid(const char *s)
{
	size_t	i, len = strnlen(s, DOMXML_VENDOR_ID_MAX + 1);

	if (len == 0 || len > DOMXML_VENDOR_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* The options make sense on their own; 0, or -1 with err set. */
static int
domxml_check_opts(struct domxml_edit *e, const struct domxml_opts *o)
{
	char	text[GPU_ADDR_LEN];
	size_t	i, j;

	if (o->npci > DOMXML_PCI_MAX) {
		domxml_error(e, "%zu PCI devices to pass through: at most %d",
		    o->npci, DOMXML_PCI_MAX);
		return -1;
	}
	for (i = 0; i < o->npci; i++) {
		if (o->pci[i].slot > 0x1f || o->pci[i].function > 7) {
			domxml_error(e, "PCI slot %#x function %u: out of "
			    "range", o->pci[i].slot, o->pci[i].function);
			return -1;
		}
		gpu_addr_format(&o->pci[i], text, sizeof(text));
		for (j = 0; j < i; j++) {
			if (gpu_addr_equal(&o->pci[i], &o->pci[j])) {
				domxml_error(e, "%s is listed twice", text);
				return -1;
			}
		}
	}
	if (memchr(o->mdev_uuid, '\0', sizeof(o->mdev_uuid)) == NULL ||
	    (o->mdev_uuid[0] != '\0' && !domxml_uuid_valid(o->mdev_uuid))) {
		domxml_error(e, "the mediated device's uuid is not a UUID");
		return -1;
	}
	if (memchr(o->vendor_id, '\0', sizeof(o->vendor_id)) == NULL ||
	    (o->vendor_id[0] != '\0' && !domxml_vendor_valid(o->vendor_id))) {
		domxml_error(e, "vendor_id must be 1 to %d letters and digits",
		    DOMXML_VENDOR_ID_MAX);
		return -1;
	}
	return 0;
}

/* Parses xml and checks that it is a <domain>; 0, or -1 with err set. */
int
domxml_open(struct domxml_edit *e, const char *xml)
{
	xmlParserCtxtPtr	ctxt;
	size_t			len;

	if (xml == NULL || (len = strlen(xml)) == 0 || len > DOMXML_XML_MAX) {
		domxml_error(e, "the domain XML is empty or larger than %d "
		    "bytes", DOMXML_XML_MAX);
		return -1;
	}
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		domxml_error(e, "out of memory");
		return -1;
	}
	e->doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "domain.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (e->doc == NULL)
		domxml_error(e, "the domain XML does not parse (line %d)",
		    ctxt->lastError.line);
	xmlFreeParserCtxt(ctxt);
	if (e->doc == NULL)
		return -1;
	/* libvirt writes no DTD; entities would only complicate the edit. */
	if (e->doc->intSubset != NULL || e->doc->extSubset != NULL) {
		domxml_error(e, "the domain XML has a DTD");
		return -1;
	}
	e->root = xmlDocGetRootElement(e->doc);
	if (!domxml_is(e->root, "domain")) {
		domxml_error(e, "the XML is not a libvirt <domain>");
		return -1;
	}
	return 0;
}

/* <devices>, added when missing. */
static xmlNodePtr
domxml_devices(struct domxml_edit *e)
{
	return domxml_need(e, e->root, "devices");
}

/* Removes every device an earlier preparation added. */
static void
domxml_remove_ours(struct domxml_edit *e)
{
	xmlNodePtr	n, next;

	n = domxml_child(e->root, "devices");
	for (n = n != NULL ? n->children : NULL; n != NULL; n = next) {
		next = n->next;
		if (domxml_ours(n))
			domxml_drop(n);
	}
}

/*
 * Refuses devices the definition already passes through on its own: a
 * second hostdev for the same device would make the guest fail to start,
 * and removing the admin's is not ours to do. 0, or -1 with err set.
 */
static int
domxml_check_taken(struct domxml_edit *e, const struct domxml_opts *o)
{
	struct gpu_addr	 a;
	xmlNodePtr	 n;
	xmlChar		*uuid;
	char		 text[GPU_ADDR_LEN];
	size_t		 i;
	int		 taken;

	n = domxml_child(e->root, "devices");
	for (n = n != NULL ? n->children : NULL; n != NULL; n = n->next) {
		if (!domxml_is(n, "hostdev"))
			continue;
		if ((uuid = domxml_hostdev_mdev(n)) != NULL) {
			taken = o->mdev_uuid[0] != '\0' &&
			    strcasecmp((const char *)uuid, o->mdev_uuid) == 0;
			xmlFree(uuid);
			if (taken) {
				domxml_error(e, "the definition already has "
				    "mediated device %s: remove that "
				    "<hostdev>", o->mdev_uuid);
				return -1;
			}
		}
		if (domxml_hostdev_pci(n, &a) == -1)
			continue;
		for (i = 0; i < o->npci; i++) {
			if (!gpu_addr_equal(&a, &o->pci[i]))
				continue;
			gpu_addr_format(&a, text, sizeof(text));
			domxml_error(e, "the definition already passes %s "
			    "through: remove that <hostdev>", text);
			return -1;
		}
	}
	return 0;
}

/*
 * <hostdev type='pci'> for a: managed='no' when the broker bound it to
 * vfio-pci (or found it there), 'yes' to let libvirt bind a function that
 * has no driver.
 */
static void
domxml_add_pci(struct domxml_edit *e, const struct gpu_addr *a, int managed,
    size_t i)
{
	xmlNodePtr	hd, addr;
	char		v[32];

	hd = domxml_add(e, domxml_devices(e), "hostdev");
	domxml_set(e, hd, "mode", "subsystem");
	domxml_set(e, hd, "type", "pci");
	domxml_set(e, hd, "managed", managed ? "yes" : "no");
	domxml_set(e, domxml_add(e, hd, "driver"), "name", "vfio");
	addr = domxml_add(e, domxml_add(e, hd, "source"), "address");
	snprintf(v, sizeof(v), "0x%04x", a->domain);
	domxml_set(e, addr, "domain", v);
	snprintf(v, sizeof(v), "0x%02x", a->bus);
	domxml_set(e, addr, "bus", v);
	snprintf(v, sizeof(v), "0x%02x", a->slot);
	domxml_set(e, addr, "slot", v);
	snprintf(v, sizeof(v), "0x%x", a->function);
	domxml_set(e, addr, "function", v);
	snprintf(v, sizeof(v), "gpu%zu", i);
	domxml_alias(e, hd, v);
}

/*
 * <hostdev type='mdev'>. With display='on' libvirt wants a graphics device
 * to show it on, and ramfb='on' gives the vGPU a boot display before its
 * guest driver loads.
 */
static int
domxml_add_mdev(struct domxml_edit *e, const struct domxml_opts *o)
{
	xmlNodePtr	hd, devices = domxml_devices(e);

	if (o->mdev_display && domxml_child(devices, "graphics") == NULL) {
		domxml_error(e, "a mediated device with display='on' needs a "
		    "<graphics> device");
		return -1;
	}
	hd = domxml_add(e, devices, "hostdev");
	domxml_set(e, hd, "mode", "subsystem");
	domxml_set(e, hd, "type", "mdev");
	domxml_set(e, hd, "model", "vfio-pci");
	domxml_set(e, hd, "display", o->mdev_display ? "on" : "off");
	if (o->mdev_display)
		domxml_set(e, hd, "ramfb", "on");
	domxml_set(e, domxml_add(e, domxml_add(e, hd, "source"), "address"),
	    "uuid", o->mdev_uuid);
	domxml_alias(e, hd, "mdev0");
	return 0;
}

/* Whether the definition has a channel whose target is called name. */
static int
domxml_has_channel(struct domxml_edit *e, const char *name)
{
	xmlNodePtr	n;

	n = domxml_child(e->root, "devices");
	for (n = n != NULL ? n->children : NULL; n != NULL; n = n->next) {
		if (domxml_is(n, "channel") &&
		    domxml_attr_is(domxml_child(n, "target"), "name", name))
			return 1;
	}
	return 0;
}

/*
 * A GPU desktop's display: an emulated QXL for boot and the console (the
 * passed-through GPU drives its own outputs, which SPICE cannot see), and
 * the streaming port through which spice-streaming-agent in the guest
 * sends the GPU's frames.
 */
static void
domxml_gpu_display(struct domxml_edit *e)
{
	xmlNodePtr	devices = domxml_devices(e), n, target;

	/*
	 * A video device already there, of any model, stays as it is: the
	 * admin chose it (virtio, or none to leave the vGPU alone), and QXL
	 * is only what a definition without one gets.
	 */
	if (domxml_child(devices, "video") == NULL) {
		n = domxml_add(e, devices, "video");
		domxml_set(e, domxml_add(e, n, "model"), "type", "qxl");
		domxml_alias(e, n, "video0");
	}
	if (domxml_has_channel(e, DOMXML_STREAM_PORT))
		return;
	n = domxml_add(e, devices, "channel");
	domxml_set(e, n, "type", "spiceport");
	domxml_set(e, domxml_add(e, n, "source"), "channel",
	    DOMXML_STREAM_PORT);
	target = domxml_add(e, n, "target");
	domxml_set(e, target, "type", "virtio");
	domxml_set(e, target, "name", DOMXML_STREAM_PORT);
	domxml_alias(e, n, "stream");
}

/*
 * UEFI by libvirt's firmware autoselection, unless a loader is named. OVMF
 * finds its devices through ACPI: libvirt 9.0 refuses firmware='efi'
 * without <acpi/> ("UEFI requires ACPI on this architecture").
 */
static void
domxml_ovmf(struct domxml_edit *e)
{
	xmlNodePtr	os = domxml_need(e, e->root, "os");

	if (domxml_child(os, "loader") == NULL)
		domxml_set(e, os, "firmware", "efi");
	domxml_need(e, domxml_need(e, e->root, "features"), "acpi");
}

/* Hides the hypervisor from old guest GPU drivers (NVIDIA "Code 43"). */
static void
domxml_features(struct domxml_edit *e, const struct domxml_opts *o)
{
	xmlNodePtr	features, hyperv, n;

	features = domxml_need(e, e->root, "features");
	if (o->kvm_hidden) {
		n = domxml_need(e, domxml_need(e, features, "kvm"), "hidden");
		domxml_set(e, n, "state", "on");
	}
	if (o->vendor_id[0] == '\0')
		return;
	hyperv = domxml_need(e, features, "hyperv");
	/* mode='passthrough' is the admin's choice: it stays. */
	if (hyperv != NULL && xmlHasProp(hyperv, X("mode")) == NULL)
		domxml_set(e, hyperv, "mode", "custom");
	n = domxml_need(e, hyperv, "vendor_id");
	domxml_set(e, n, "state", "on");
	domxml_set(e, n, "value", o->vendor_id);
}

/* In each SPICE graphics, <name attr='yes|no'/> in place of any before. */
static void
domxml_spice_switch(struct domxml_edit *e, const char *name,
    const char *attr, enum domxml_tristate t)
{
	xmlNodePtr	g, n;

	if (t != DOMXML_ON && t != DOMXML_OFF)
		return;
	g = domxml_child(e->root, "devices");
	for (g = g != NULL ? g->children : NULL; g != NULL; g = g->next) {
		if (!domxml_is(g, "graphics") ||
		    !domxml_attr_is(g, "type", "spice"))
			continue;
		while ((n = domxml_child(g, name)) != NULL)
			domxml_drop(n);
		domxml_set(e, domxml_add(e, g, name), attr,
		    t == DOMXML_ON ? "yes" : "no");
	}
}

/* The document as a string to free(), or NULL. */
char *
domxml_dump(struct domxml_edit *e)
{
	xmlChar	*buf = NULL;
	char	*out;
	int	 len = 0;

	/* UTF-8 whatever the input declared: libvirt wants it, and a
	 * UTF-16 declaration would put NUL bytes in the string. */
	xmlDocDumpMemoryEnc(e->doc, &buf, &len, "UTF-8");
	if (buf == NULL || len < 0 || memchr(buf, '\0', (size_t)len) != NULL ||
	    (out = malloc((size_t)len + 1)) == NULL) {
		xmlFree(buf);
		return NULL;
	}
	memcpy(out, buf, (size_t)len);
	out[len] = '\0';
	xmlFree(buf);
	return out;
}

/* The edits, once the old broker devices are gone; 0 or -1 with err set. */
static int
domxml_edit(struct domxml_edit *e, const struct domxml_opts *o)
{
	size_t	i;

	if (domxml_check_taken(e, o) == -1)
		return -1;
	for (i = 0; i < o->npci; i++)
		domxml_add_pci(e, &o->pci[i], o->pci_managed[i], i);
	if (o->mdev_uuid[0] != '\0' && domxml_add_mdev(e, o) == -1)
		return -1;
	if (o->gpu_display)
		domxml_gpu_display(e);
	if (o->ovmf)
		domxml_ovmf(e);
	if (o->kvm_hidden || o->vendor_id[0] != '\0')
		domxml_features(e, o);
	domxml_spice_switch(e, "clipboard", "copypaste", o->clipboard);
	domxml_spice_switch(e, "filetransfer", "enable", o->filetransfer);
	return 0;
}

char *
domxml_prepare(const char *xml, const struct domxml_opts *o, char *err,
    size_t errlen)
{
	struct domxml_edit	 e;
	char			*out = NULL;

	domxml_begin(&e, err, errlen);
	if (domxml_check_opts(&e, o) == -1 || domxml_open(&e, xml) == -1)
		goto out;
	domxml_remove_ours(&e);
	if (domxml_edit(&e, o) == -1)
		goto out;
	if (e.nomem || (out = domxml_dump(&e)) == NULL)
		domxml_error(&e, "out of memory");
out:
	xmlFreeDoc(e.doc);
	return out;
}

int
domxml_gpu_devices(const char *xml, struct gpu_addr *out, size_t max,
    char *mdev_uuid, size_t mdevlen)
{
	struct domxml_edit	 e;
	struct gpu_addr		 a;
	xmlNodePtr		 n;
	xmlChar			*uuid;
	char			 err[128];
	int			 count = 0;

	memset(&e, 0, sizeof(e));
	e.err = err;
	e.errlen = sizeof(err);
	if (mdevlen > 0)
		mdev_uuid[0] = '\0';
	if (domxml_open(&e, xml) == -1) {
		xmlFreeDoc(e.doc);
		return -1;
	}
	n = domxml_child(e.root, "devices");
	for (n = n != NULL ? n->children : NULL; n != NULL; n = n->next) {
		if (!domxml_is(n, "hostdev") || !domxml_ours(n))
			continue;
		if (domxml_hostdev_pci(n, &a) == 0 && (size_t)count < max)
			out[count++] = a;
		if ((uuid = domxml_hostdev_mdev(n)) != NULL && mdevlen > 0)
			strlcpy(mdev_uuid, (const char *)uuid, mdevlen);
		xmlFree(uuid);
	}
	xmlFreeDoc(e.doc);
	return count;
}

