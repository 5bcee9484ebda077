/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the broker's domain preparation (lib/virt/domxml.c).
 *
 * The first HEAD_LEN bytes of an input choose the options (how many PCI
 * functions, which edits, valid or invalid vendor_id and uuid); the rest
 * is the domain XML. Besides memory errors, it checks what domxml.h
 * promises: an error has a message; a result is XML that reads back the
 * devices asked for, and preparing it again gives the same text. The XML
 * is cloned too: a clone has the template's disks, each on its overlay.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "domxml.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	broken(int, const char *) __attribute__((noreturn));

/* A promise of domxml.h that does not hold: a finding. */
#define CHECK(cond)	((cond) ? (void)0 : broken(__LINE__, #cond))

#define HEAD_LEN	6

enum {
	F_MDEV = 1 << 0,
	F_MDEV_DISPLAY = 1 << 1,
	F_GPU_DISPLAY = 1 << 2,
	F_OVMF = 1 << 3,
	F_KVM_HIDDEN = 1 << 4,
	F_VENDOR = 1 << 5,
	F_BAD_UUID = 1 << 6,
};

static const char	*vendors[] = { "paprika0", "ABCdef123456", "bad-id",
	"1234567890123" };

static void
broken(int line, const char *what)
{
	fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, line, what);
	abort();
}

/* The options that the input's head asks for. */
static void
opts_from(const uint8_t *h, struct domxml_opts *o)
{
	size_t	i;

	memset(o, 0, sizeof(*o));
	/* One more than allowed now and then, for the error. */
	o->npci = h[0] % (DOMXML_PCI_MAX + 2);
	for (i = 0; i < o->npci && i < DOMXML_PCI_MAX; i++) {
		o->pci[i].domain = h[3] & 1;
		o->pci[i].bus = h[3];
		o->pci[i].slot = (uint8_t)((h[4] + i / 8) & 0x3f);
		o->pci[i].function = (uint8_t)(i % 8);
	}
	if (h[1] & F_MDEV)
		snprintf(o->mdev_uuid, sizeof(o->mdev_uuid), "%s",
		    h[1] & F_BAD_UUID ? "4b20d080-1b54-4048-85b3-a6a62d165c0" :
		    "4b20d080-1b54-4048-85b3-a6a62d165c01");
	o->mdev_display = (h[1] & F_MDEV_DISPLAY) != 0;
	o->gpu_display = (h[1] & F_GPU_DISPLAY) != 0;
	o->ovmf = (h[1] & F_OVMF) != 0;
	o->kvm_hidden = (h[1] & F_KVM_HIDDEN) != 0;
	if (h[1] & F_VENDOR)
		memcpy(o->vendor_id, vendors[h[5] % 4],
		    strnlen(vendors[h[5] % 4], DOMXML_VENDOR_ID_MAX));
	o->clipboard = (enum domxml_tristate)(h[2] % 3);
	o->filetransfer = (enum domxml_tristate)(h[2] / 3 % 3);
}

/* A result: XML that holds what was asked for, and stays as it is. */
static void
check_result(const char *out, const struct domxml_opts *o)
{
	struct gpu_addr	 a[DOMXML_PCI_MAX];
	xmlDocPtr	 doc;
	char		 uuid[GPU_UUID_LEN], err[256], *again;
	size_t		 i;

	doc = xmlReadMemory(out, (int)strlen(out), "out.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	CHECK(doc != NULL);
	xmlFreeDoc(doc);

	CHECK(domxml_gpu_devices(out, a, DOMXML_PCI_MAX, uuid,
	    sizeof(uuid)) == (int)o->npci);
	for (i = 0; i < o->npci; i++) {
		CHECK(a[i].domain == o->pci[i].domain);
		CHECK(a[i].bus == o->pci[i].bus && a[i].slot == o->pci[i].slot);
		CHECK(a[i].function == o->pci[i].function);
	}
	CHECK(strcmp(uuid, o->mdev_uuid) == 0);

	again = domxml_prepare(out, o, err, sizeof(err));
	CHECK(again != NULL);
	CHECK(strcmp(again, out) == 0);
	free(again);
}

/* Cloning the input: the clone's disks are the template's, on overlays. */
static void
check_clone(const char *xml)
{
	struct domxml_disk	*d, *again;
	struct domxml_clone	 c;
	char			 err[256], *out;
	int			 n, i;

	if ((d = calloc(DOMXML_CLONE_DISKS_MAX * 2, sizeof(*d))) == NULL)
		abort();
	again = d + DOMXML_CLONE_DISKS_MAX;
	err[0] = '\0';
	n = domxml_clone_disks(xml, d, DOMXML_CLONE_DISKS_MAX, err,
	    sizeof(err));
	CHECK(n >= 0 || err[0] != '\0');
	for (i = 0; i < n; i++)
		snprintf(d[i].overlay, sizeof(d[i].overlay), "/o/%d.qcow2", i);
	memset(&c, 0, sizeof(c));
	c.name = "clone";
	c.template_name = "tmpl";
	c.spice_password = "pw";
	c.disks = d;
	c.ndisks = n > 0 ? (size_t)n : 0;
	err[0] = '\0';
	if (n >= 0 && (out = domxml_clone(xml, &c, err, sizeof(err))) != NULL) {
		CHECK(domxml_clone_disks(out, again, DOMXML_CLONE_DISKS_MAX,
		    err, sizeof(err)) == n);
		for (i = 0; i < n; i++) {
			CHECK(strcmp(again[i].source, d[i].overlay) == 0);
			CHECK(strcmp(again[i].format, "qcow2") == 0);
		}
		free(out);
	} else if (n >= 0)
		CHECK(err[0] != '\0');
	free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domxml_opts	 o;
	struct gpu_addr		 a[2];
	char			*xml, *out, err[256], uuid[GPU_UUID_LEN];

	if (size < HEAD_LEN)
		return 0;
	opts_from(data, &o);
	/* The XML as a C string: a copy that ends where the input does. */
	if ((xml = malloc(size - HEAD_LEN + 1)) == NULL)
		abort();
	memcpy(xml, data + HEAD_LEN, size - HEAD_LEN);
	xml[size - HEAD_LEN] = '\0';

	err[0] = '\0';
	if ((out = domxml_prepare(xml, &o, err, sizeof(err))) == NULL)
		CHECK(err[0] != '\0');
	else
		check_result(out, &o);
	free(out);
	/* Reading back any input: a count no larger than the room. */
	CHECK(domxml_gpu_devices(xml, a, 2, uuid, sizeof(uuid)) <= 2);
	check_clone(xml);
	free(xml);
	return 0;
}
