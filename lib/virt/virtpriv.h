/* SPDX-License-Identifier: ISC */
/*
 * What the files of lib/virt share: the job and host structures and the
 * helpers every job uses. Only for them; the rest of the broker uses
 * virt.h.
 */
#ifndef PAPRIKA_VIRTPRIV_H
#define PAPRIKA_VIRTPRIV_H

#include <pthread.h>

#include <libvirt/libvirt.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "virt.h"

#define VIRT_URI_MAX		1024

struct virt_job;
typedef void (*virt_job_fn)(struct virt_job *);

#define VIRT_DOMREFS		32	/* domain handles kept per host */

struct virt_job {
	struct virt_host	*h;
	virt_job_fn		 work;
	virt_done_cb		 done;
	void			*arg;
	int			 invalid;	/* refused before the worker */
	char			 dom[VIRT_NAME_MAX];
	char			 name2[VIRT_NAME_MAX];	/* snapshot, new domain */
	char			 password[VIRT_PASSWORD_MAX + 1];
	time_t			 valid_to;
	enum virt_connected	 connected;
	enum virt_power		 power;
	unsigned int		 screen;	/* virt_screenshot */
	enum virt_ready		 ready;		/* virt_ready_probe */
	struct virt_result	 res;
	char			 listen[64];
	char			 mime[64];
	uint8_t			*image;
	char			**names;
	enum virt_state		*states;
	size_t			 n;
	struct virt_start_plan	 plan;		/* virt_start_prepared */
	struct gpu_inventory	*gpus;		/* virt_gpu_scan */
	struct virt_job		*next;		/* the host's jobs, on the loop */
	/* Pushed, taken by the worker, done there: for virt_host_jobs. */
	struct timespec		 queued, started, finished;
};

struct virt_host {
	char			 name[VIRT_NAME_MAX];
	char			 uri[VIRT_URI_MAX];
	struct virt_events	 ev;
	void			*arg;
	struct event_base	*base;
	struct workq		*wq;
	struct event		*retry;		/* reconnect after backoff */
	struct event		*closed;	/* the connection closed */
	struct virt_job		*jobs;		/* queued, done not yet called */

	/* The loop's view. */
	int			 up;		/* -1 not known yet */
	char			 error[VIRT_ERROR_MAX];
	int			 backoff;
	int			 connecting;
	int			 remote;	/* through libvirt's RPC */
	struct virt_job_stats	 stats;

	/* The worker's. */
	virConnectPtr		 conn;
	int			 lifecycle_id;
	int			 graphics_id;
	int			 reboot_id;
	char			 conn_error[VIRT_ERROR_MAX];
	/*
	 * Domain handles of conn by name (virt_lookup_cached): a connect
	 * sets a password each time, and on a remote host a lookup is a
	 * round trip. Each holds a reference; virt_conn_drop frees them.
	 */
	struct {
		char		 name[VIRT_NAME_MAX];
		virDomainPtr	 d;
	}			 domrefs[VIRT_DOMREFS];
	unsigned		 domrefs_next;	/* the slot to replace next */

	/* Set from any thread by the close callback. */
	pthread_mutex_t		 lock;
	int			 close_reason;
};

/* A domain's XML, parsed, with an XPath context that knows the clone
 * metadata's namespace (DOMXML_CLONE_NS). */
struct virt_xml {
	char			*text;
	xmlDocPtr		 doc;
	xmlXPathContextPtr	 ctx;
};

/* virt.c */
/* The loop virt_init was given, or NULL before it. */
struct event_base *virt_event_base(void);
void		 virt_seterror(struct virt_job *job, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* The last libvirt error of this thread, made printable, never NULL. */
const char	*virt_last_error(char *buf, size_t len);
/* Records why a libvirt call failed (or that the host is unreachable). */
void		 virt_fail(struct virt_job *job, const char *what);
enum virt_state	 virt_domain_state(virDomainPtr d);
/* A job for dom (NULL: none); NULL when out of memory. */
struct virt_job	*virt_job_new(struct virt_host *h, virt_job_fn work,
		    const char *dom, virt_done_cb done, void *arg);
void		 virt_job_free(struct virt_job *job);
/* Queues job; on failure frees it and returns -1. */
int		 virt_job_push(struct virt_job *job);
/* A new job queued; 0 or -1. */
int		 virt_job_queue(struct virt_host *h, virt_job_fn work,
		    const char *dom, virt_done_cb done, void *arg);
/* The same with a second name (snapshot, new domain) to validate; what
 * names it in the error. */
int		 virt_job_queue2(struct virt_host *h, virt_job_fn work,
		    const char *dom, const char *name2, const char *what,
		    virt_done_cb done, void *arg);
/* job->dom's domain, or NULL with the error (and MISSING state) set. */
virDomainPtr	 virt_lookup(struct virt_job *job);
/*
 * The same from the host's kept handles (h->domrefs), looking up and
 * keeping it when none is kept or fresh is set (the kept one's domain was
 * gone). A reference of the caller's: virDomainFree it. Worker only.
 */
virDomainPtr	 virt_lookup_cached(struct virt_job *job, int fresh);
/* 1 when the last call failed for want of its domain (a kept handle's
 * domain undefined, maybe defined again with another UUID); it clears
 * that error. */
int		 virt_lookup_stale(void);
/* Frees the kept handles (virt_conn_drop). */
void		 virt_domrefs_clear(struct virt_host *h);
xmlDocPtr	 virt_xml_parse(const char *xml);
/* Reads and parses dom's XML; 0, or -1 with the job's error set. */
int		 virt_xml_read(struct virt_job *job, virDomainPtr d,
		    unsigned int flags, struct virt_xml *x);
/* Parses x->text, read already; 0, or -1 with the job's error set. */
int		 virt_xml_load(struct virt_job *job, struct virt_xml *x);
void		 virt_xml_free(struct virt_xml *x);
/* The first node that expr finds, or NULL. */
xmlNodePtr	 virt_xml_node(xmlXPathContextPtr ctx, const char *expr);
/* string(expr) copied into buf; "" when absent. */
void		 virt_xml_string(xmlXPathContextPtr ctx, const char *expr,
		    char *buf, size_t len);

/* host.c */
/* The connection job: the worker (re)opens the host's connection. */
void		 virt_connect_work(struct virt_job *job);
/* The connection job's result, on the loop. */
void		 virt_host_connected(struct virt_host *h,
		    const struct virt_result *res);

/* domain.c */
/* The guest's screen number screen (*image malloc'ed, the caller's);
 * 0, or -1 with the job's error set. */
int		 virt_screenshot_read(struct virt_job *job, virDomainPtr d,
		    unsigned int screen, uint8_t **image, size_t *image_len,
		    char *mime, size_t mimelen);

#endif
