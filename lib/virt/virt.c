/* SPDX-License-Identifier: ISC */
/*
 * What every libvirt job shares: setup, state names and errors, the job
 * plumbing that carries a request to a host's worker and its result back
 * to the loop, and the helpers a job uses to look up a domain and read its
 * XML. The host's connection is host.c's; the jobs live in domain.c,
 * clone.c, virtgpu.c and virtready.c.
 */
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "domxml.h"
#include "log.h"
#include "virt.h"
#include "virtpriv.h"
#include "workq.h"

#define VIRT_XML_MAX		(4 * 1024 * 1024)

static struct event_base	*virt_base;

/* libvirt would print every error on stderr; they reach users as results. */
static void
virt_error_quiet(void *arg, virErrorPtr err)
{
}

int
virt_init(struct event_base *base)
{
	if (virInitialize() == -1)
		return -1;
	virSetErrorFunc(NULL, virt_error_quiet);
	xmlInitParser();
	if (virtevent_register(base) == -1)
		return -1;
	virt_base = base;
	return 0;
}

void
virt_shutdown(void)
{
	/* libvirt keeps its event implementation for the process's life;
	 * what it gave up since the loop last ran is freed here. */
	virtevent_flush();
	xmlCleanupParser();
}

struct event_base *
virt_event_base(void)
{
	return virt_base;
}

/* Whether name can be a domain, volume or snapshot name. */
static int
virt_name_valid(const char *name)
{
	size_t	len;

	if (name == NULL || (len = strlen(name)) == 0 || len >= VIRT_NAME_MAX)
		return 0;
	for (; *name != '\0'; name++) {
		if (*name == '/' || (unsigned char)*name < 0x20 ||
		    *name == 0x7f)
			return 0;
	}
	return 1;
}

void
virt_seterror(struct virt_job *job, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(job->res.error, sizeof(job->res.error), fmt, ap);
	va_end(ap);
	job->res.ok = 0;
	job->res.fault = VIRT_FAULT_NONE;
}

const char *
virt_last_error(char *buf, size_t len)
{
	virErrorPtr	 err = virGetLastError();
	const char	*msg;

	msg = (err != NULL && err->message != NULL) ? err->message :
	    "unknown libvirt error";
	return log_printable(msg, strlen(msg), buf, len);
}

/*
 * Records why a libvirt call about dom failed; when the connection itself
 * is gone, says that the host is unreachable.
 */
void
virt_fail(struct virt_job *job, const char *what)
{
	char	msg[VIRT_ERROR_MAX];
	int	gone;

	virt_last_error(msg, sizeof(msg));
	gone = job->h->conn != NULL && virConnectIsAlive(job->h->conn) != 1;
	if (gone)
		virt_seterror(job, "host %s is unreachable: %s", job->h->name,
		    msg);
	else
		virt_seterror(job, "%s: %s: %s", job->dom, what, msg);
	/* A password is never quoted back, even if libvirt echoed it. */
	if (job->password[0] != '\0' &&
	    strstr(job->res.error, job->password) != NULL)
		virt_seterror(job, "%s: %s failed", job->dom, what);
	job->res.fault = gone ? VIRT_FAULT_HOST : VIRT_FAULT_LIBVIRT;
	virResetLastError();
}

static enum virt_state
virt_map_state(int state, int reason)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		return VIRT_STATE_RUNNING;
	case VIR_DOMAIN_PAUSED:
		if (reason == VIR_DOMAIN_PAUSED_STARTING_UP)
			return VIRT_STATE_STARTING;
		return VIRT_STATE_PAUSED;
	case VIR_DOMAIN_PMSUSPENDED:
		return VIRT_STATE_PAUSED;
	case VIR_DOMAIN_SHUTDOWN:
		return VIRT_STATE_SHUTDOWN;
	case VIR_DOMAIN_SHUTOFF:
		return VIRT_STATE_SHUTOFF;
	case VIR_DOMAIN_CRASHED:
		return VIRT_STATE_CRASHED;
	default:
		return VIRT_STATE_UNKNOWN;
	}
}

enum virt_state
virt_domain_state(virDomainPtr d)
{
	int	state, reason;

	if (virDomainGetState(d, &state, &reason, 0) == -1) {
		virResetLastError();
		return VIRT_STATE_UNKNOWN;
	}
	return virt_map_state(state, reason);
}

/* Job plumbing. */

void
virt_job_free(struct virt_job *job)
{
	size_t	i;

	if (job == NULL)
		return;
	explicit_bzero(job->password, sizeof(job->password));
	for (i = 0; i < job->n; i++)
		free(job->names[i]);
	free(job->names);
	free(job->states);
	free(job->image);
	if (job->gpus != NULL) {
		gpu_inventory_free(job->gpus);
		free(job->gpus);
	}
	free(job);
}

static void
virt_job_unlink(struct virt_job *job)
{
	struct virt_job	**p;

	for (p = &job->h->jobs; *p != NULL; p = &(*p)->next) {
		if (*p == job) {
			*p = job->next;
			return;
		}
	}
}

/* Read by every host's worker thread; set before the first host. */
static int	(*virt_may_act)(void);

void
virt_set_fence(int (*may_act)(void))
{
	virt_may_act = may_act;
}

static void
virt_job_work(void *arg)
{
	struct virt_job	*job = arg;
	struct virt_host *h = job->h;

	clock_gettime(CLOCK_MONOTONIC, &job->started);
	job->finished = job->started;
	if (job->invalid)
		return;
	if (job->work != virt_connect_work && virt_may_act != NULL &&
	    !virt_may_act()) {
		virt_seterror(job, "not done: this broker no longer leads");
		return;
	}
	if (job->work != virt_connect_work && h->conn == NULL) {
		virt_seterror(job, "host %s is unreachable: %s", h->name,
		    h->conn_error[0] != '\0' ? h->conn_error : "not connected");
		job->res.fault = VIRT_FAULT_HOST;
		return;
	}
	job->work(job);
	explicit_bzero(job->password, sizeof(job->password));
	clock_gettime(CLOCK_MONOTONIC, &job->finished);
}

static double
virt_seconds(const struct timespec *from, const struct timespec *to)
{
	return (to->tv_sec - from->tv_sec) + (to->tv_nsec - from->tv_nsec) /
	    1e9;
}

static void
virt_job_done(void *arg)
{
	struct virt_job		*job = arg;
	struct virt_host	*h = job->h;

	virt_job_unlink(job);
	h->stats.jobs++;
	h->stats.wait_seconds += virt_seconds(&job->queued, &job->started);
	h->stats.run_seconds += virt_seconds(&job->started, &job->finished);
	if (job->work == virt_connect_work)
		virt_host_connected(h, &job->res);
	else if (job->done != NULL) {
		job->res.domain_names = (const char *const *)job->names;
		job->res.domain_states = job->states;
		job->res.ndomains = job->n;
		job->res.image = job->image;
		job->res.image_mime = job->image != NULL ? job->mime : NULL;
		job->res.gpus = job->gpus;
		job->done(&job->res, job->arg);
	}
	virt_job_free(job);
}

struct virt_job *
virt_job_new(struct virt_host *h, virt_job_fn work, const char *dom,
    virt_done_cb done, void *arg)
{
	struct virt_job	*job;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		return NULL;
	job->h = h;
	job->work = work;
	job->done = done;
	job->arg = arg;
	job->res.state = VIRT_STATE_UNKNOWN;
	if (dom != NULL) {
		if (!virt_name_valid(dom)) {
			job->invalid = 1;
			virt_seterror(job, "invalid domain name");
		} else
			strlcpy(job->dom, dom, sizeof(job->dom));
	}
	return job;
}

int
virt_job_push(struct virt_job *job)
{
	struct virt_host	*h = job->h;

	clock_gettime(CLOCK_MONOTONIC, &job->queued);
	if (workq_push(h->wq, virt_job_work, virt_job_done, job) == -1) {
		virt_job_free(job);
		return -1;
	}
	job->next = h->jobs;
	h->jobs = job;
	return 0;
}

int
virt_job_queue(struct virt_host *h, virt_job_fn work, const char *dom,
    virt_done_cb done, void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, work, dom, done, arg)) == NULL)
		return -1;
	return virt_job_push(job);
}

/* A job on dom with a second name (snapshot, new domain) to validate. */
int
virt_job_queue2(struct virt_host *h, virt_job_fn work, const char *dom,
    const char *name2, const char *what, virt_done_cb done, void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, work, dom, done, arg)) == NULL)
		return -1;
	if (!job->invalid && !virt_name_valid(name2)) {
		job->invalid = 1;
		virt_seterror(job, "invalid %s name", what);
	} else if (!job->invalid)
		strlcpy(job->name2, name2, sizeof(job->name2));
	return virt_job_push(job);
}

/* XML helpers. */

xmlDocPtr
virt_xml_parse(const char *xml)
{
	size_t	len = strlen(xml);

	if (len > VIRT_XML_MAX)
		return NULL;
	return xmlReadMemory(xml, (int)len, "domain.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

int
virt_xml_read(struct virt_job *job, virDomainPtr d, unsigned int flags,
    struct virt_xml *x)
{
	memset(x, 0, sizeof(*x));
	if ((x->text = virDomainGetXMLDesc(d, flags)) == NULL) {
		virt_fail(job, "reading the domain XML");
		return -1;
	}
	return virt_xml_load(job, x);
}

int
virt_xml_load(struct virt_job *job, struct virt_xml *x)
{
	if ((x->doc = virt_xml_parse(x->text)) == NULL ||
	    (x->ctx = xmlXPathNewContext(x->doc)) == NULL ||
	    xmlXPathRegisterNs(x->ctx, (const xmlChar *)DOMXML_CLONE_PREFIX,
	    (const xmlChar *)DOMXML_CLONE_NS) == -1) {
		virt_seterror(job, "%s: unreadable domain XML", job->dom);
		return -1;
	}
	return 0;
}

/* Frees x, wiping the text first: a secure read holds the password. */
void
virt_xml_free(struct virt_xml *x)
{
	xmlXPathFreeContext(x->ctx);
	xmlFreeDoc(x->doc);
	if (x->text != NULL) {
		explicit_bzero(x->text, strlen(x->text));
		free(x->text);
	}
}

xmlNodePtr
virt_xml_node(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr	 obj;
	xmlNodePtr		 node = NULL;

	obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	if (obj != NULL && obj->nodesetval != NULL &&
	    obj->nodesetval->nodeNr > 0)
		node = obj->nodesetval->nodeTab[0];
	xmlXPathFreeObject(obj);
	return node;
}

void
virt_xml_string(xmlXPathContextPtr ctx, const char *expr, char *buf,
    size_t len)
{
	xmlXPathObjectPtr	 obj;

	buf[0] = '\0';
	obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	if (obj != NULL && obj->type == XPATH_STRING && obj->stringval != NULL)
		strlcpy(buf, (const char *)obj->stringval, len);
	xmlXPathFreeObject(obj);
}

virDomainPtr
virt_lookup(struct virt_job *job)
{
	virDomainPtr	d;

	if ((d = virDomainLookupByName(job->h->conn, job->dom)) == NULL) {
		virErrorPtr err = virGetLastError();

		if (err != NULL && err->code == VIR_ERR_NO_DOMAIN) {
			virt_seterror(job, "%s: no such domain on host %s",
			    job->dom, job->h->name);
			job->res.state = VIRT_STATE_MISSING;
			virResetLastError();
		} else
			virt_fail(job, "lookup");
	}
	return d;
}

virDomainPtr
virt_lookup_cached(struct virt_job *job, int fresh)
{
	struct virt_host	*h = job->h;
	virDomainPtr		 d;
	unsigned		 i;

	for (i = 0; i < VIRT_DOMREFS; i++) {
		if (h->domrefs[i].d == NULL ||
		    strcmp(h->domrefs[i].name, job->dom) != 0)
			continue;
		if (!fresh && virDomainRef(h->domrefs[i].d) == 0)
			return h->domrefs[i].d;
		virDomainFree(h->domrefs[i].d);
		h->domrefs[i].d = NULL;
	}
	if ((d = virt_lookup(job)) == NULL)
		return NULL;
	i = h->domrefs_next++ % VIRT_DOMREFS;
	if (h->domrefs[i].d != NULL)
		virDomainFree(h->domrefs[i].d);
	h->domrefs[i].d = NULL;
	if (virDomainRef(d) == 0) {
		strlcpy(h->domrefs[i].name, job->dom,
		    sizeof(h->domrefs[i].name));
		h->domrefs[i].d = d;
	}
	return d;
}

int
virt_lookup_stale(void)
{
	virErrorPtr	err = virGetLastError();

	if (err == NULL || err->code != VIR_ERR_NO_DOMAIN)
		return 0;
	virResetLastError();
	return 1;
}

void
virt_domrefs_clear(struct virt_host *h)
{
	unsigned	i;

	for (i = 0; i < VIRT_DOMREFS; i++) {
		if (h->domrefs[i].d != NULL)
			virDomainFree(h->domrefs[i].d);
		h->domrefs[i].d = NULL;
	}
}
