/* SPDX-License-Identifier: ISC */
/*
 * What fakevirt.c (lib/virt's side of the fake) shares with fakevirt-test.c
 * (the test's side): the fake hosts and their queues.
 */
#ifndef PAPRIKA_FAKEVIRTPRIV_H
#define PAPRIKA_FAKEVIRTPRIV_H

#include <sys/queue.h>

#include <event2/event.h>

#include "fakevirt.h"
#include "gpu.h"

#define FAKE_DOMS_MAX		32
#define FAKE_NODEDEVS_MAX	16
#define FAKE_FAILS_MAX		8
#define FAKE_PEERS_MAX		8
#define FAKE_LOG_MAX		16384
#define FAKE_MEMORY_KIB		(64ULL * 1024 * 1024)
#define FAKE_DOM_MEMORY_KIB	(4ULL * 1024 * 1024)

struct fake_dom {
	char		 name[VIRT_NAME_MAX];
	enum virt_state	 state;
	int		 agent;
	uint16_t	 tls_port;
	char		 password[VIRT_PASSWORD_MAX + 1];
	char		 peers[FAKE_PEERS_MAX][64];
	size_t		 npeers;
	struct gpu_addr	 pci[DOMXML_PCI_MAX];
	size_t		 npci;
};

struct fake_fail {
	char		 op[16];
	enum virt_fault	 fault;
	char		 error[VIRT_ERROR_MAX];
	char		 blamed[GPU_UUID_LEN];
};

enum fake_kind { FAKE_JOB, FAKE_HOST_UP, FAKE_DOM_STATE, FAKE_GRAPHICS,
    FAKE_REBOOTED };

struct fake_item {
	enum fake_kind		 kind;
	char			 op[16];
	char			 dom[VIRT_NAME_MAX];
	char			 arg[VIRT_NAME_MAX];	/* snapshot, peer, ... */
	int			 num;	/* power op, state, phase, up */
	time_t			 valid_to;
	struct virt_start_plan	 plan;
	virt_done_cb		 done;
	void			*done_arg;
	TAILQ_ENTRY(fake_item)	 entry;
};
TAILQ_HEAD(fake_items, fake_item);

/* What a host is, whether or not the broker holds a handle on it. */
struct fake_host {
	char		 name[VIRT_NAME_MAX];
	int		 up;
	int		 hold;
	struct fake_dom	 doms[FAKE_DOMS_MAX];
	size_t		 ndoms;
	char		*nodedevs[FAKE_NODEDEVS_MAX];
	size_t		 nnodedevs;
	struct fake_fail fails[FAKE_FAILS_MAX];
	size_t		 nfails;
	char		 no_reset[GPU_ADDR_LEN];	/* cannot be reset, "" */
	char		 no_reset_why[128];
	char		 log[FAKE_LOG_MAX];
	struct virt_host *handle;
};

struct virt_host {
	struct fake_host	*fh;
	struct virt_events	 ev;
	void			*ev_arg;
	int			 up;	/* as the loop last heard */
	struct fake_items	 items;
	struct event		*timer;
};

extern struct fake_host	*fake_hosts[8];
extern size_t		 fake_nhosts;

/* fakevirt.c */
struct fake_host	*fake_host(const char *name);
struct fake_dom		*fake_dom(struct fake_host *fh, const char *name);
struct fake_dom		*fake_dom_add(struct fake_host *fh, const char *name);
void			 fake_change(struct fake_host *fh, struct fake_dom *d,
			    enum virt_state st);
/* Hands the head of h's queue over at the loop's next turn. */
void			 fake_arm(struct virt_host *h);
/* Queues an event of fh for the loop. */
void			 fake_notify(struct fake_host *fh, enum fake_kind kind,
			    const char *dom, int num, const char *arg);

#endif
