/* SPDX-License-Identifier: ISC */
/*
 * The GPU inventory of one libvirt connection, for programs that hold
 * their own connection (paprikactl gpus); the broker's hosts use the
 * virt_gpu_scan job instead.
 */
#ifndef PAPRIKA_VIRTGPU_H
#define PAPRIKA_VIRTGPU_H

#include <libvirt/libvirt.h>

#include "gpu.h"

/*
 * Fills inv with conn's PCI devices, IOMMU support and what running
 * domains hold; *committed gets the running domains' memory (KiB).
 * 0, or -1 with err set.
 */
int	virt_gpu_collect(virConnectPtr conn, struct gpu_inventory *inv,
	    unsigned long long *committed, char *err, size_t errlen);

#endif
