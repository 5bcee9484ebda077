/* SPDX-License-Identifier: ISC */
/*
 * A fake of lib/virt for the broker's unit tests: hosts and domains held in
 * memory, linked instead of lib/virt/libvirtjobs.a. It keeps virt.h's
 * timing contract: a job never completes inside the call that queued it;
 * each host runs its jobs one at a time in the order queued (virt.c's
 * worker of one) and calls done on the loop; host and domain events also
 * arrive on the loop. What the hosts hold outlives virt_host_free, so a
 * test can stop the broker and start it again on the same hosts.
 */
#ifndef PAPRIKA_FAKEVIRT_H
#define PAPRIKA_FAKEVIRT_H

#include "virt.h"

/* Forgets every host and domain (between tests). */
void		 fakevirt_reset(void);

/* A domain on host, shut off, with a guest agent that answers. */
void		 fakevirt_define(const char *host, const char *dom);
/* Removes dom from host at once, as an admin's virsh undefine would:
 * no event. */
void		 fakevirt_undefine(const char *host, const char *dom);
/* Whether dom exists on host, and its state (VIRT_STATE_MISSING). */
enum virt_state	 fakevirt_state(const char *host, const char *dom);
/* Sets dom's state as if someone else did, with libvirt's event. */
void		 fakevirt_set_state(const char *host, const char *dom,
		    enum virt_state st);
/* dom's guest agent answers (1) or not (0): readiness under agent. */
void		 fakevirt_agent(const char *host, const char *dom, int ok);
/* The SPICE password last set on dom ("" for none). */
const char	*fakevirt_password(const char *host, const char *dom);
/* The PCI devices dom was started with, space separated. */
const char	*fakevirt_gpus(const char *host, const char *dom);

/* The host goes down or comes back (host_up on the loop). */
void		 fakevirt_host_up(const char *host, int up);
/* A SPICE client's channel connects or leaves dom (graphics events). */
void		 fakevirt_graphics(const char *host, const char *dom,
		    enum virt_graphics_phase phase, const char *peer);
/*
 * The next job named op ("start", "spice", "password", "power",
 * "revert", "lock", "clone", "scan", ...) on host fails with error and
 * fault; blamed names the device a failed GPU start blames (or NULL).
 */
void		 fakevirt_fail_next(const char *host, const char *op,
		    enum virt_fault fault, const char *error,
		    const char *blamed);
/* Holds host's jobs in its queue (1) or lets them run (0). */
void		 fakevirt_hold(const char *host, int hold);
/* Jobs queued on host and not yet done. */
unsigned	 fakevirt_pending(const char *host);

/* The PCI function addr of host cannot be reset: a start whose plan asks
 * for a reset fails as virt_start_prepared's does, libvirt saying why. */
void		 fakevirt_no_reset(const char *host, const char *addr,
		    const char *why);
/* A PCI function of host, as virNodeDeviceGetXMLDesc gives it. */
void		 fakevirt_nodedev(const char *host, const char *xml);
/* The function named name ("pci_0000_41_00_0") leaves host, as a card
 * unplugged; fakevirt_nodedev brings it back. */
void		 fakevirt_nodedev_remove(const char *host, const char *name);

/*
 * What the host was asked, one line per job as "op dom[ arg]", in the
 * order the jobs ran; fakevirt_log_clear empties it.
 */
const char	*fakevirt_log(const char *host);
void		 fakevirt_log_clear(const char *host);

#endif
