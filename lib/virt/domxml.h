/* SPDX-License-Identifier: ISC */
/*
 * The edits the broker makes to a guest's persistent definition before it
 * starts it: the GPU it was given (PCI hostdevs or a mediated device), the
 * display a GPU desktop needs (QXL kept for boot and console, the SPICE
 * streaming channel), firmware and hypervisor features, and the pool's
 * clipboard policy (domxml.c); and a clone's definition made from its
 * template's (domxml-clone.c). Pure libxml2 on strings, so it is
 * unit-tested and fuzzed without libvirt; virtgpu.c and clone.c read and
 * define the XML.
 */
#ifndef PAPRIKA_DOMXML_H
#define PAPRIKA_DOMXML_H

#include <stddef.h>

#include "gpu.h"

/* Every element the broker adds carries an alias with this prefix, so that
 * the next preparation finds and replaces them. */
#define DOMXML_ALIAS_PREFIX	"ua-paprika-"
#define DOMXML_VENDOR_ID_MAX	12	/* hyperv vendor_id */
#define DOMXML_PCI_MAX		8

enum domxml_tristate {
	DOMXML_KEEP = 0,	/* leave as the definition has it */
	DOMXML_OFF,
	DOMXML_ON,
};

struct domxml_opts {
	/* PCI functions to pass through, managed='no' (the broker detached
	 * them) unless pci_managed says libvirt binds it; the previous
	 * broker-made hostdevs are removed first. */
	struct gpu_addr		 pci[DOMXML_PCI_MAX];
	int			 pci_managed[DOMXML_PCI_MAX];
	size_t			 npci;
	/* A mediated device by UUID ("" for none). */
	char			 mdev_uuid[GPU_UUID_LEN];
	int			 mdev_display;		/* display='on' */
	/* GPU desktops: a QXL video device (added unless one is there) and
	 * the spiceport channel org.spice-space.stream.0. */
	int			 gpu_display;
	int			 ovmf;			/* <os firmware='efi'> */
	int			 kvm_hidden;		/* <kvm><hidden on> */
	char			 vendor_id[DOMXML_VENDOR_ID_MAX + 1];	/* "" */
	enum domxml_tristate	 clipboard;	/* SPICE copy and paste */
	enum domxml_tristate	 filetransfer;	/* SPICE file transfer */
};

/* Marks the domains (and lists the volumes) that the broker cloned. */
#define DOMXML_CLONE_NS		"https://paprika.invalid/xmlns/clone/1"
#define DOMXML_CLONE_PREFIX	"paprika"
#define DOMXML_CLONE_DISKS_MAX	16
#define DOMXML_PATH_MAX		4096
#define DOMXML_DEV_MAX		32

/* A template's disk that its clone gets a copy-on-write overlay of. */
struct domxml_disk {
	char	source[DOMXML_PATH_MAX];	/* the template's image */
	char	format[8];			/* "raw" or "qcow2" */
	char	dev[DOMXML_DEV_MAX];		/* target: "vda" */
	char	overlay[DOMXML_PATH_MAX];	/* the clone's (qcow2) */
	int	overlay_is_file;	/* made by qemu-img, not a volume */
};

/* A clone's definition, for domxml_clone. */
struct domxml_clone {
	const char		 *name;		/* the new domain */
	const char		 *template_name;	/* for the metadata */
	const char		 *spice_password;	/* every SPICE display */
	const struct domxml_disk *disks;	/* domxml_clone_disks' list */
	size_t			  ndisks;	/* with overlay set */
};

/*
 * The disks of a template that a clone overlays (writable, unshared files)
 * in document order, with source, format and dev set; how many, or -1 with
 * err set: unreadable XML, more than max, a format other than raw or
 * qcow2, a target that cannot be part of a file name.
 */
int	 domxml_clone_disks(const char *xml, struct domxml_disk *out,
	    size_t max, char *err, size_t errlen);

/*
 * The template's XML made the clone's: renamed; without UUID and MAC
 * addresses (libvirt makes new ones); each disk of domxml_clone_disks on
 * its overlay, qcow2, without the template's backing chain; every SPICE
 * display locked with spice_password; metadata that marks it a clone of
 * template_name and lists its overlays. A string to free, or NULL with
 * err set.
 */
char	*domxml_clone(const char *xml, const struct domxml_clone *c,
	    char *err, size_t errlen);

/*
 * The domain XML with the edits made; a string to free, or NULL with err
 * set. Input from libvirt is trusted to be a <domain>, but anything else
 * gets an error, never a crash.
 */
char	*domxml_prepare(const char *xml, const struct domxml_opts *o,
	    char *err, size_t errlen);

/*
 * The PCI addresses and the mediated device the broker put in a domain's
 * XML (elements whose alias has DOMXML_ALIAS_PREFIX); how many PCI
 * addresses were written to out, or -1 when the XML cannot be read.
 */
int	 domxml_gpu_devices(const char *xml, struct gpu_addr *out, size_t max,
	    char *mdev_uuid, size_t mdevlen);

#endif
