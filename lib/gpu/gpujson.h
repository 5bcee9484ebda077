/* SPDX-License-Identifier: ISC */
/* A host's GPUs as JSON with verdicts (gpujson.c). */
#ifndef PAPRIKA_GPUJSON_H
#define PAPRIKA_GPUJSON_H

#include <jansson.h>

#include "gpu.h"

/* What the broker knows beyond libvirt; any callback may be NULL. */
struct gpujson_state {
	/* The guest the device (PCI address) is given to, or NULL. */
	const char	*(*allocated_to)(void *arg, const char *device);
	/* 1 and the reason when the device is quarantined, else 0. */
	int		 (*quarantined)(void *arg, const char *device,
			    char *reason, size_t len);
	/* Calls cb(cbarg, device, reason) for each quarantined device, so
	 * that one the host no longer has is listed all the same. */
	void		 (*quarantines)(void *arg,
			    void (*cb)(void *, const char *, const char *),
			    void *cbarg);
	void		*arg;
};

/* Every display-class device of inv, each with "verdict" and "reason",
 * then each quarantined PCI device inv lacks, with verdict "missing". */
json_t	*gpujson_inventory(const struct gpu_inventory *inv,
	    const struct gpujson_state *st);

#endif
