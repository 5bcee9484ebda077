/* SPDX-License-Identifier: ISC */
/*
 * libvirt hosts for the broker. Each host has one connection and one worker
 * thread (a workq of 1) that makes every blocking libvirt call, so a slow or
 * dead host never stalls the event loop. Completions and libvirt events are
 * delivered on the loop's thread. libvirt's own event loop runs on libevent
 * (virtevent.c).
 */
#ifndef PAPRIKA_VIRT_H
#define PAPRIKA_VIRT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "domxml.h"
#include "gpu.h"
#include "screen.h"

struct event_base;
struct virt_host;

#define VIRT_NAME_MAX		128	/* domain, volume and snapshot names */
#define VIRT_ERROR_MAX		256
#define VIRT_PASSWORD_MAX	60	/* spice-server's ticket limit */

enum virt_state {
	VIRT_STATE_UNKNOWN = 0,
	VIRT_STATE_SHUTOFF,
	VIRT_STATE_STARTING,	/* created, QEMU not yet running */
	VIRT_STATE_RUNNING,
	VIRT_STATE_PAUSED,
	VIRT_STATE_SHUTDOWN,	/* shutting down */
	VIRT_STATE_CRASHED,
	VIRT_STATE_MISSING,	/* no such domain on the host */
};

/* What the SPICE server does to a connected client on a password change. */
enum virt_connected {
	VIRT_CONNECTED_KEEP,
	VIRT_CONNECTED_DISCONNECT,
};

/* The power actions that are one libvirt call each. */
enum virt_power {
	VIRT_POWER_SHUTDOWN,	/* ACPI shutdown */
	VIRT_POWER_REBOOT,
	VIRT_POWER_RESET,	/* hard reset */
	VIRT_POWER_DESTROY,	/* power off */
};

/* What makes a started guest ready for its user (a pool's ready_when). */
enum virt_ready {
	VIRT_READY_AUTO,	/* agent with an agent channel, else display */
	VIRT_READY_AGENT,	/* qemu-ga answers, or the SPICE agent is in */
	VIRT_READY_DISPLAY,	/* the screen is drawn (and then still) */
	VIRT_READY_PORT,	/* the SPICE port listens: no wait */
};

enum virt_graphics_phase {
	VIRT_GRAPHICS_CONNECT,
	VIRT_GRAPHICS_INITIALIZE,
	VIRT_GRAPHICS_DISCONNECT,
};

/* Whose words a failed job's error is in. */
enum virt_fault {
	VIRT_FAULT_NONE = 0,	/* the broker's own words: users may see it */
	VIRT_FAULT_HOST,	/* the host is unreachable; quotes libvirt */
	VIRT_FAULT_LIBVIRT,	/* libvirt refused; quotes libvirt's message */
};

/* One finished job; valid only during the done callback. */
struct virt_result {
	int		 ok;			/* 1 or 0 */
	char		 error[VIRT_ERROR_MAX];	/* why not ok, for logs */
	enum virt_fault	 fault;			/* whose words error is */
	enum virt_state	 state;			/* after the job */
	/* virt_spice_info: */
	uint16_t	 tls_port;		/* 0: not known yet */
	uint16_t	 port;			/* plain port, 0: none */
	char		 listen[64];		/* listen address, may be "" */
	/* virt_screenshot: PNG (or PPM) bytes, owned by the job */
	const uint8_t	*image;
	size_t		 image_len;
	const char	*image_mime;
	/* virt_ready_probe: what was checked (auto resolved), whether the
	 * guest has an agent channel and an agent answered, and for
	 * VIRT_READY_DISPLAY its primary screen */
	enum virt_ready	 ready_mode;
	int		 agent_channel;
	int		 agent_ok;
	struct screen_info screen;
	/* virt_list: the domains, NUL-separated names, and their states */
	size_t		 ndomains;
	const char	*const *domain_names;
	const enum virt_state *domain_states;
	/* virt_gpu_scan: the host's PCI devices and what running domains
	 * hold, owned by the job; memory in KiB */
	const struct gpu_inventory *gpus;
	unsigned long long	 host_memory;	/* installed */
	unsigned long long	 committed_memory;	/* running domains' */
	unsigned long long	 dom_memory;	/* the domain's maximum */
	/* virt_start_prepared: the device a failure is blamed on, or "" */
	char			 blamed[GPU_UUID_LEN];
	int			 blamed_gone;	/* it is not on the host */
	int			 blamed_reset;	/* it could not be reset */
};

/* What virt_start_prepared writes into a definition before the start:
 * the GPU, the display it needs, the pool's SPICE policy. */
struct virt_start_plan {
	struct domxml_opts	 xml;		/* the definition's edits */
	int			 detach;	/* bind xml.pci to vfio-pci */
	int			 reset;		/* reset xml.pci first */
	/* gpu = mdev: made on this parent before the start */
	char			 mdev_parent[GPU_ADDR_LEN];
	char			 mdev_type[64];
};

typedef void (*virt_done_cb)(const struct virt_result *res, void *arg);

/* Host and domain events; each runs on the loop. Any may be NULL. */
struct virt_events {
	void	(*host_up)(struct virt_host *h, int up, void *arg);
	void	(*domain_state)(struct virt_host *h, const char *dom,
		    enum virt_state state, void *arg);
	void	(*graphics)(struct virt_host *h, const char *dom,
		    enum virt_graphics_phase phase, const char *client_addr,
		    void *arg);
	/* dom was reset (by the guest or by anyone): it boots again */
	void	(*rebooted)(struct virt_host *h, const char *dom, void *arg);
};

/* Registers libvirt's event loop on base; call once, before any host. */
int		 virt_init(struct event_base *base);
/* Makes each job (but a host's connection) first ask may_act(), on the
 * host's worker thread, and fail without touching the host when it says
 * 0: a broker that lost its lease acts on no guest. */
void		 virt_set_fence(int (*may_act)(void));
void		 virt_shutdown(void);

/*
 * A host named name at uri. The connection is opened by the worker and
 * reopened after a failure with backoff (1 s doubling to 60 s); events are
 * (re)registered on each connection. NULL on failure.
 */
struct virt_host *virt_host_new(const char *name, const char *uri,
		    const struct virt_events *ev, void *arg);
/* Jobs not yet done are dropped: their done callbacks are not called. */
void		 virt_host_free(struct virt_host *h);
const char	*virt_host_name(const struct virt_host *h);
int		 virt_host_is_up(const struct virt_host *h);
/*
 * The host's jobs done so far, for metrics: how many, and their seconds
 * waiting behind others for the host's one worker and running there (in
 * libvirt, and on a remote host its round trips). Zeroes for NULL.
 */
struct virt_job_stats {
	unsigned long long	jobs;
	double			wait_seconds;
	double			run_seconds;
};
void		 virt_host_jobs(const struct virt_host *h,
		    struct virt_job_stats *out);
/* Why the host is down, for logs and the helpdesk (quotes libvirt); ""
 * while up. */
const char	*virt_host_error(const struct virt_host *h);

/*
 * Jobs. Each is queued on the host's worker and calls done on the loop,
 * also when the host is down (ok = 0, error says so). They return -1 only
 * when the job could not be queued. Strings are copied.
 */
/* State of dom (VIRT_STATE_MISSING if there is none). */
int	virt_state(struct virt_host *h, const char *dom, virt_done_cb done,
	    void *arg);
/* Names and states of every domain (defined or running). */
int	virt_list(struct virt_host *h, virt_done_cb done, void *arg);
/* Starts dom unless it runs (resumes it if paused); state after. */
int	virt_start(struct virt_host *h, const char *dom, virt_done_cb done,
	    void *arg);
/* The live SPICE ports and listen address (tls_port 0 until known). */
int	virt_spice_info(struct virt_host *h, const char *dom,
	    virt_done_cb done, void *arg);
/*
 * Sets the SPICE password on the live <graphics> (read with
 * VIR_DOMAIN_XML_SECURE, only passwd, passwdValidTo and connected edited),
 * valid until valid_to (0: no expiry). The password is wiped after use.
 * The result's state is the domain's when it failed, else unknown.
 */
int	virt_set_password(struct virt_host *h, const char *dom,
	    const char *password, time_t valid_to, enum virt_connected conn,
	    virt_done_cb done, void *arg);
/* One power action on dom; the state after it. */
int	virt_power(struct virt_host *h, const char *dom, enum virt_power op,
	    virt_done_cb done, void *arg);
/* Reverts dom to the named snapshot (the domain ends stopped or running
 * as the snapshot was taken). */
int	virt_revert(struct virt_host *h, const char *dom, const char *snapshot,
	    virt_done_cb done, void *arg);
/*
 * Locks the guest's screen through the QEMU guest agent (guest-exec of the
 * guest OS's lock command); ok = 0 with a reason when there is no agent.
 */
int	virt_lock(struct virt_host *h, const char *dom, virt_done_cb done,
	    void *arg);
/*
 * Creates and defines dom_new from the template domain: each writable disk
 * becomes a new copy-on-write (qcow2) volume in the template disk's storage
 * pool backed by the template's volume (libvirt storage API); name, UUID
 * and MAC addresses are made new. The new domain is not started.
 */
int	virt_clone(struct virt_host *h, const char *template_dom,
	    const char *dom_new, virt_done_cb done, void *arg);
/* Destroys if running, then undefines dom and deletes the volumes that
 * virt_clone made for it. */
int	virt_remove_clone(struct virt_host *h, const char *dom,
	    virt_done_cb done, void *arg);
/* The guest's own screen number screen, from 0 (virDomainScreenshot:
 * QEMU's video devices in the order of the domain's XML). */
int	virt_screenshot(struct virt_host *h, const char *dom,
	    unsigned int screen, virt_done_cb done, void *arg);

/* virtready.c */
/*
 * One look at a running guest for readiness under mode: with an agent, a
 * guest-ping to qemu-ga or the SPICE agent channel's state; for the
 * display, its primary screen judged (screen.h). ok = 0 when the look
 * failed, or when mode is agent and the guest has no agent channel.
 */
int	virt_ready_probe(struct virt_host *h, const char *dom,
	    enum virt_ready mode, virt_done_cb done, void *arg);

/* virtgpu.c */
/*
 * The host's PCI devices (node devices), the devices that running domains
 * hold, the host's memory and what running domains take of it; with dom
 * (may be NULL) also its state and maximum memory.
 */
int	virt_gpu_scan(struct virt_host *h, const char *dom, virt_done_cb done,
	    void *arg);
/*
 * Starts dom after editing its persistent definition (domxml_prepare).
 * With a GPU in the plan it first checks each device again (present,
 * bound to vfio-pci or detached to it when plan->detach, its IOMMU group
 * viable, not held by another running domain), that the host's memory not
 * taken by running domains holds dom's (VFIO pins all of it), resets each
 * function that libvirt binds at the start when plan->reset (libvirt's
 * virNodeDeviceReset), and makes the mediated device. A failure that
 * names a device sets res->blamed.
 * Running already: ok, and the definition is left for the next start.
 */
int	virt_start_prepared(struct virt_host *h, const char *dom,
	    const struct virt_start_plan *plan, virt_done_cb done, void *arg);
/* Takes what virt_start_prepared added out of a stopped dom's definition
 * (its GPU given back); a running dom is left alone. */
int	virt_gpu_strip(struct virt_host *h, const char *dom, virt_done_cb done,
	    void *arg);
/* Removes the mediated device uuid (a guest that held it stopped). */
int	virt_mdev_remove(struct virt_host *h, const char *uuid,
	    virt_done_cb done, void *arg);

/* virtnames.c */
const char	*virt_state_name(enum virt_state s);
/* "shutdown", "reboot", "reset", "destroy" and back; -1 if unknown. */
const char	*virt_power_name(enum virt_power op);
int		 virt_power_parse(const char *name, enum virt_power *op);
/*
 * Why a job failed, for users: error itself when it is the broker's own
 * sentence, else a sentence that quotes nothing of libvirt (whose text
 * stays in error, for the log and the audit detail).
 */
const char	*virt_result_reason(const struct virt_result *res);

/* virtevent.c */
/* Runs libvirt's event loop on base (a thread-enabled base); 0 or -1. */
int		 virtevent_register(struct event_base *base);
/*
 * Collects what libvirt gave up and the loop has not collected yet; for
 * after the loop has stopped for good (virt_shutdown), before the base is
 * freed.
 */
void		 virtevent_flush(void);

#endif
