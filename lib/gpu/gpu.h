/* SPDX-License-Identifier: ISC */
/*
 * GPUs on a libvirt host: what the node devices say about each PCI device,
 * which domains hold which devices, and whether a display-class device can
 * be given to a guest, with the reason in words when it cannot. Pure data:
 * the libvirt calls that feed it are in virt.c, the allocation that uses it
 * in gpualloc.c.
 */
#ifndef PAPRIKA_GPU_H
#define PAPRIKA_GPU_H

#include <stddef.h>
#include <stdint.h>

#define GPU_ADDR_LEN		13	/* "0000:41:00.0" and NUL */
#define GPU_GROUP_MAX		32	/* devices in one IOMMU group */
#define GPU_MDEV_TYPES_MAX	32	/* per parent (a T4 offers 17, an A40
				 * about 30); the rest are left out */
#define GPU_UUID_LEN		37

struct gpu_addr {
	uint16_t	domain;
	uint8_t		bus;
	uint8_t		slot;		/* 0..31 */
	uint8_t		function;	/* 0..7 */
};

struct gpu_mdev_type {
	char		id[64];		/* "nvidia-11", "i915-GVTg_V5_4" */
	char		name[64];	/* "GRID M60-0B", may be "" */
	unsigned	available;	/* availableInstances */
};

struct gpu_pci_dev {
	char			name[64];	/* node device: pci_0000_41_00_0 */
	struct gpu_addr		addr;
	uint32_t		class;		/* 0x030000 */
	uint16_t		vendor_id;
	uint16_t		product_id;
	char			vendor[64];	/* "" when libvirt has none */
	char			product[96];
	char			driver[32];	/* "" when no driver is bound */
	int			iommu_group;	/* -1: no IOMMU group */
	struct gpu_addr		members[GPU_GROUP_MAX];	/* whole group,
							 * itself included */
	size_t			nmembers;
	int			numa_node;	/* -1: unknown */
	int			is_bridge;	/* pci-bridge capability or
						 * class 0x0604xx */
	struct gpu_mdev_type	mdev_types[GPU_MDEV_TYPES_MAX];
	size_t			nmdev_types;
};

/* A PCI device or mediated device that a running domain holds. */
struct gpu_use {
	struct gpu_addr	addr;		/* PCI hostdevs */
	char		mdev[GPU_UUID_LEN];	/* "" for PCI */
	char		domain[128];
};

struct gpu_inventory {
	struct gpu_pci_dev	*devs;		/* every PCI device */
	size_t			 ndevs;
	struct gpu_use		*uses;
	size_t			 nuses;
	int			 iommu;		/* host has IOMMU support */
};

enum gpu_verdict {
	GPU_ASSIGNABLE,
	GPU_NOT_DISPLAY,	/* class is not 0x03xxxx */
	GPU_NO_IOMMU,		/* no IOMMU group: IOMMU off in firmware or
				 * on the kernel command line */
	GPU_HOST_DRIVER,	/* bound to a host driver (nvidia, amdgpu) */
	GPU_GROUP_NOT_VIABLE,	/* another group member is unfit */
	GPU_IN_USE,		/* a running domain holds it or its group */
};

/* "0000:41:00.0"; 0, or -1 when s is not one. */
int	gpu_addr_parse(const char *s, struct gpu_addr *a);
/* Writes "0000:41:00.0" (GPU_ADDR_LEN bytes). */
void	gpu_addr_format(const struct gpu_addr *a, char *buf, size_t len);
int	gpu_addr_equal(const struct gpu_addr *a, const struct gpu_addr *b);

/*
 * Adds one node device (virNodeDeviceGetXMLDesc of a PCI device); 0, or -1
 * with err set when the XML is not a PCI node device.
 */
int	gpu_inventory_add_nodedev(struct gpu_inventory *inv, const char *xml,
	    char *err, size_t errlen);
/* Records the <hostdev>s of a running domain's live XML; 0 or -1. */
int	gpu_inventory_add_domain(struct gpu_inventory *inv, const char *name,
	    const char *xml);
void	gpu_inventory_free(struct gpu_inventory *inv);

const struct gpu_pci_dev *gpu_find(const struct gpu_inventory *inv,
	    const struct gpu_addr *a);
int	gpu_is_display(const struct gpu_pci_dev *d);	/* class 0x03xxxx */
/* The running domain that holds a, or NULL. */
const char *gpu_used_by(const struct gpu_inventory *inv,
	    const struct gpu_addr *a);

/*
 * Whether d can be given to domain dom (which may already hold it: its
 * own use does not count). allow_detach: a host driver is no obstacle for
 * d itself and its group's display and audio functions, as the broker
 * detaches them to vfio-pci first. why gets a sentence for users.
 */
enum gpu_verdict gpu_check(const struct gpu_inventory *inv,
	    const struct gpu_pci_dev *d, const char *dom, int allow_detach,
	    char *why, size_t whylen);
const char	*gpu_verdict_name(enum gpu_verdict v);	/* "assignable" ... */

/*
 * The functions to pass through with d: d first, then each other member
 * of its group that is not a bridge (such as the card's audio function).
 * Returns how many were written to out.
 */
size_t	gpu_functions(const struct gpu_inventory *inv,
	    const struct gpu_pci_dev *d, struct gpu_addr *out, size_t max);

/*
 * Whether a libvirt or QEMU error message blames device a (names its
 * address, in either the 0000:41:00.0 or the pci_0000_41_00_0 form): the
 * broker then quarantines it.
 */
int	gpu_error_names(const char *msg, const struct gpu_addr *a);

/*
 * QEMU's own words about device a in such a message (what follows
 * "vfio 0000:41:00.0: ", to the end of its line), into out: the part of a
 * long libvirt error that a person needs. 0, or -1 when msg has none.
 */
int	gpu_error_clause(const char *msg, const struct gpu_addr *a,
	    char *out, size_t len);

#endif
