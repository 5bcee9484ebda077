/* SPDX-License-Identifier: ISC */
/*
 * The template's definition made a clone's (domxml.h): renamed, new
 * identity, disks on their overlays, SPICE locked, marked as a clone.
 * Pure libxml2 on strings like domxml.c; clone.c makes the overlays and
 * defines the result.
 */
#include <ctype.h>
#include <string.h>

#include <libxml/tree.h>

#include "domxml.h"
#include "domxmlpriv.h"

/* The first node in root's <devices>, or NULL. */
static xmlNodePtr
domxml_first_device(xmlNodePtr root)
{
	xmlNodePtr	devices = domxml_child(root, "devices");

	return devices != NULL ? devices->children : NULL;
}

/* Whether device n is a disk a clone overlays: a writable, unshared file. */
static int
domxml_clone_overlays(xmlNodePtr n)
{
	xmlNodePtr	src = domxml_child(n, "source");

	return domxml_is(n, "disk") && domxml_attr_is(n, "type", "file") &&
	    domxml_attr_is(n, "device", "disk") &&
	    domxml_child(n, "readonly") == NULL &&
	    domxml_child(n, "shareable") == NULL &&
	    src != NULL && xmlHasNsProp(src, X("file"), NULL) != NULL;
}

/* Copies a to buf and frees a; 0, or -1 when a is NULL or does not fit. */
static int
domxml_copy(xmlChar *a, char *buf, size_t len)
{
	int	fits;

	fits = a != NULL && strlcpy(buf, (const char *)a, len) < len;
	xmlFree(a);
	return fits ? 0 : -1;
}

/* Whether s is a target name safe in a file name ("vda", "sdb"). */
static int
domxml_dev_valid(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s))
			return 0;
	return 1;
}

/* Reads disk n into d; 0, or -1 with err set. */
static int
domxml_disk_read(struct domxml_edit *e, xmlNodePtr n, struct domxml_disk *d)
{
	xmlNodePtr	drv = domxml_child(n, "driver");

	memset(d, 0, sizeof(*d));
	if (domxml_copy(xmlGetNoNsProp(domxml_child(n, "source"), X("file")),
	    d->source, sizeof(d->source)) == -1) {
		domxml_error(e, "a disk's file name is over %d bytes",
		    DOMXML_PATH_MAX - 1);
		return -1;
	}
	if (drv == NULL || xmlHasNsProp(drv, X("type"), NULL) == NULL)
		strlcpy(d->format, "raw", sizeof(d->format));
	else if (domxml_copy(xmlGetNoNsProp(drv, X("type")), d->format,
	    sizeof(d->format)) == -1 || (strcmp(d->format, "raw") != 0 &&
	    strcmp(d->format, "qcow2") != 0)) {
		domxml_error(e, "disk %s: only raw and qcow2 can back a clone",
		    d->source);
		return -1;
	}
	if (domxml_copy(xmlGetNoNsProp(domxml_child(n, "target"), X("dev")),
	    d->dev, sizeof(d->dev)) == -1 || !domxml_dev_valid(d->dev)) {
		domxml_error(e, "disk %s has no target dev of letters and "
		    "digits", d->source);
		return -1;
	}
	return 0;
}

int
domxml_clone_disks(const char *xml, struct domxml_disk *out, size_t max,
    char *err, size_t errlen)
{
	struct domxml_edit	 e;
	xmlNodePtr		 n;
	int			 count = 0;

	domxml_begin(&e, err, errlen);
	if (domxml_open(&e, xml) == -1)
		count = -1;
	n = count == 0 ? domxml_first_device(e.root) : NULL;
	for (; n != NULL; n = n->next) {
		if (!domxml_clone_overlays(n))
			continue;
		if ((size_t)count == max) {
			domxml_error(&e, "more than %zu disks", max);
			count = -1;
		} else if (domxml_disk_read(&e, n, &out[count]) == -1)
			count = -1;
		if (count == -1)
			break;
		count++;
	}
	xmlFreeDoc(e.doc);
	return count;
}

/* Removes every child element of parent called name. */
static void
domxml_drop_all(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	n, next;

	for (n = parent != NULL ? parent->children : NULL; n != NULL;
	    n = next) {
		next = n->next;
		if (domxml_is(n, name))
			domxml_drop(n);
	}
}

/* Puts each disk on its overlay; 0, or -1 with err set. */
static int
domxml_clone_overlay(struct domxml_edit *e, const struct domxml_clone *c)
{
	const struct domxml_disk	*d;
	xmlNodePtr			 n, src, drv;
	size_t				 i = 0;

	for (n = domxml_first_device(e->root); n != NULL; n = n->next) {
		if (!domxml_clone_overlays(n))
			continue;
		src = domxml_child(n, "source");
		d = i < c->ndisks ? &c->disks[i] : NULL;
		if (d == NULL || !domxml_attr_is(src, "file", d->source) ||
		    d->overlay[0] == '\0') {
			domxml_error(e, "the overlays do not match the disks");
			return -1;
		}
		domxml_set(e, src, "file", d->overlay);
		if ((drv = domxml_child(n, "driver")) == NULL) {
			drv = domxml_add(e, n, "driver");
			domxml_set(e, drv, "name", "qemu");
		}
		domxml_set(e, drv, "type", "qcow2");
		/* The chain is the overlay's, not the template's. */
		domxml_drop_all(n, "backingStore");
		i++;
	}
	if (i != c->ndisks) {
		domxml_error(e, "the overlays do not match the disks");
		return -1;
	}
	return 0;
}

/* Locks every SPICE display with password. */
static void
domxml_clone_spice(struct domxml_edit *e, const char *password)
{
	xmlNodePtr	n;

	for (n = domxml_first_device(e->root); n != NULL; n = n->next) {
		if (!domxml_is(n, "graphics") ||
		    !domxml_attr_is(n, "type", "spice"))
			continue;
		domxml_set(e, n, "passwd", password);
		xmlUnsetProp(n, X("passwdValidTo"));
	}
}

/* Replaces the clone mark in <metadata>: the template, the overlays. */
static void
domxml_clone_mark(struct domxml_edit *e, const struct domxml_clone *c)
{
	xmlNodePtr	meta, n, next, mark, v;
	xmlNsPtr	ns;
	size_t		i;

	meta = domxml_need(e, e->root, "metadata");
	for (n = meta != NULL ? meta->children : NULL; n != NULL; n = next) {
		next = n->next;
		if (n->type == XML_ELEMENT_NODE && n->ns != NULL &&
		    xmlStrEqual(n->ns->href, X(DOMXML_CLONE_NS)))
			domxml_drop(n);
	}
	if ((mark = domxml_add(e, meta, "clone")) == NULL)
		return;
	if ((ns = xmlNewNs(mark, X(DOMXML_CLONE_NS),
	    X(DOMXML_CLONE_PREFIX))) == NULL) {
		e->nomem = 1;
		return;
	}
	xmlSetNs(mark, ns);
	domxml_set(e, mark, "template", c->template_name);
	for (i = 0; i < c->ndisks; i++) {
		if ((v = xmlNewChild(mark, ns, X("volume"), NULL)) == NULL) {
			e->nomem = 1;
			return;
		}
		domxml_set(e, v, "path", c->disks[i].overlay);
		domxml_set(e, v, "type", c->disks[i].overlay_is_file ?
		    "file" : "volume");
	}
}

char *
domxml_clone(const char *xml, const struct domxml_clone *c, char *err,
    size_t errlen)
{
	struct domxml_edit	 e;
	xmlNodePtr		 name, n;
	char			*out = NULL;

	domxml_begin(&e, err, errlen);
	if (c->name == NULL || c->name[0] == '\0' ||
	    c->template_name == NULL || c->spice_password == NULL ||
	    c->spice_password[0] == '\0') {
		domxml_error(&e, "a clone needs a name, its template's name "
		    "and a SPICE password");
		return NULL;
	}
	if (domxml_open(&e, xml) == -1)
		goto out;
	if ((name = domxml_child(e.root, "name")) == NULL) {
		domxml_error(&e, "the domain XML has no name");
		goto out;
	}
	if (domxml_clone_overlay(&e, c) == -1)
		goto out;
	xmlNodeSetContent(name, NULL);
	xmlNodeAddContent(name, X(c->name));
	/* libvirt makes a new UUID and new MAC addresses when these lack. */
	domxml_drop_all(e.root, "uuid");
	for (n = domxml_first_device(e.root); n != NULL; n = n->next)
		if (domxml_is(n, "interface"))
			domxml_drop_all(n, "mac");
	domxml_clone_spice(&e, c->spice_password);
	domxml_clone_mark(&e, c);
	if (e.nomem || (out = domxml_dump(&e)) == NULL)
		domxml_error(&e, "out of memory");
out:
	xmlFreeDoc(e.doc);
	return out;
}
