/*
 * libvirt hosts. The worker thread of a host owns its connection: it opens
 * it, makes every call on it and replaces it after a failure. The loop owns
 * everything users see (up/down, error text, backoff timer). libvirt's
 * events arrive on the loop because its event loop is ours (virtevent.c).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "log.h"
#include "virt.h"
#include "virtpriv.h"
#include "workq.h"

#define VIRT_BACKOFF_MIN	1		/* seconds */
#define VIRT_BACKOFF_MAX	60
#define VIRT_KEEPALIVE_INTERVAL	5		/* seconds */
#define VIRT_KEEPALIVE_COUNT	3
#define VIRT_AGENT_TIMEOUT	5		/* seconds */
#define VIRT_SCREENSHOT_MAX	(64 * 1024 * 1024)
#define VIRT_XML_MAX		(4 * 1024 * 1024)
/* Marks the domains (and lists the volumes) that virt_clone made. */
#define VIRT_CLONE_NS		"https://paprika.invalid/xmlns/clone/1"
#define VIRT_CLONE_PREFIX	"paprika"

extern char **environ;

static struct event_base	*virt_base;

static void	virt_host_schedule(struct virt_host *);

const char *
virt_state_name(enum virt_state s)
{
	switch (s) {
	case VIRT_STATE_SHUTOFF:
		return "shutoff";
	case VIRT_STATE_STARTING:
		return "starting";
	case VIRT_STATE_RUNNING:
		return "running";
	case VIRT_STATE_PAUSED:
		return "paused";
	case VIRT_STATE_SHUTDOWN:
		return "shutdown";
	case VIRT_STATE_CRASHED:
		return "crashed";
	case VIRT_STATE_MISSING:
		return "missing";
	default:
		return "unknown";
	}
}

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
	/* libvirt keeps its event implementation for the process's life. */
	xmlCleanupParser();
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

/* The last libvirt error of this thread, made printable, never NULL. */
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

const char *
virt_result_reason(const struct virt_result *res)
{
	switch (res->fault) {
	case VIRT_FAULT_HOST:
		return "the desktop's host cannot be reached at the moment: "
		    "try again later";
	case VIRT_FAULT_LIBVIRT:
		return "the desktop's host could not do it: try again, and "
		    "call the helpdesk if it happens again";
	default:
		return res->error;
	}
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

/* Events, on the loop. */

static void
virt_lifecycle_cb(virConnectPtr conn, virDomainPtr d, int event, int detail,
    void *opaque)
{
	struct virt_host	*h = opaque;
	enum virt_state		 state;

	switch (event) {
	case VIR_DOMAIN_EVENT_DEFINED:
		if (detail != VIR_DOMAIN_EVENT_DEFINED_ADDED)
			return;
		state = VIRT_STATE_SHUTOFF;
		break;
	case VIR_DOMAIN_EVENT_UNDEFINED:
		state = VIRT_STATE_MISSING;
		break;
	case VIR_DOMAIN_EVENT_STARTED:
	case VIR_DOMAIN_EVENT_RESUMED:
		state = VIRT_STATE_RUNNING;
		break;
	case VIR_DOMAIN_EVENT_SUSPENDED:
	case VIR_DOMAIN_EVENT_PMSUSPENDED:
		state = VIRT_STATE_PAUSED;
		break;
	case VIR_DOMAIN_EVENT_SHUTDOWN:
		state = VIRT_STATE_SHUTDOWN;
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		state = VIRT_STATE_SHUTOFF;
		break;
	case VIR_DOMAIN_EVENT_CRASHED:
		state = VIRT_STATE_CRASHED;
		break;
	default:
		return;
	}
	log_debug("host %s: domain %s is %s", h->name, virDomainGetName(d),
	    virt_state_name(state));
	if (h->ev.domain_state != NULL)
		h->ev.domain_state(h, virDomainGetName(d), state, h->arg);
}

static void
virt_graphics_cb(virConnectPtr conn, virDomainPtr d, int phase,
    const virDomainEventGraphicsAddress *local,
    const virDomainEventGraphicsAddress *remote, const char *scheme,
    const virDomainEventGraphicsSubject *subject, void *opaque)
{
	struct virt_host		*h = opaque;
	enum virt_graphics_phase	 p;
	char				 peer[128] = "";

	switch (phase) {
	case VIR_DOMAIN_EVENT_GRAPHICS_CONNECT:
		p = VIRT_GRAPHICS_CONNECT;
		break;
	case VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE:
		p = VIRT_GRAPHICS_INITIALIZE;
		break;
	case VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT:
		p = VIRT_GRAPHICS_DISCONNECT;
		break;
	default:
		return;
	}
	/* Each SPICE channel is its own connection: the port tells them
	 * apart, so the caller can pair connects and disconnects. */
	if (remote != NULL && remote->node != NULL)
		snprintf(peer, sizeof(peer), "%s:%s", remote->node,
		    remote->service != NULL ? remote->service : "");
	if (h->ev.graphics != NULL)
		h->ev.graphics(h, virDomainGetName(d), p, peer, h->arg);
}

/* The guest reset itself or was reset: it boots again, still running. */
static void
virt_reboot_cb(virConnectPtr conn, virDomainPtr d, void *opaque)
{
	struct virt_host	*h = opaque;

	log_debug("host %s: domain %s rebooted", h->name,
	    virDomainGetName(d));
	if (h->ev.rebooted != NULL)
		h->ev.rebooted(h, virDomainGetName(d), h->arg);
}

/* From whatever thread noticed; the loop learns through h->closed. */
static void
virt_close_cb(virConnectPtr conn, int reason, void *opaque)
{
	struct virt_host	*h = opaque;

	pthread_mutex_lock(&h->lock);
	h->close_reason = reason;
	pthread_mutex_unlock(&h->lock);
	event_active(h->closed, EV_TIMEOUT, 0);
}

/* The worker's connection. */

/* Forgets the connection: events, close callback, the connection. */
static void
virt_conn_drop(struct virt_host *h)
{
	if (h->conn == NULL)
		return;
	if (h->lifecycle_id >= 0)
		virConnectDomainEventDeregisterAny(h->conn, h->lifecycle_id);
	if (h->graphics_id >= 0)
		virConnectDomainEventDeregisterAny(h->conn, h->graphics_id);
	if (h->reboot_id >= 0)
		virConnectDomainEventDeregisterAny(h->conn, h->reboot_id);
	h->lifecycle_id = h->graphics_id = h->reboot_id = -1;
	virConnectUnregisterCloseCallback(h->conn, virt_close_cb);
	virConnectClose(h->conn);
	virResetLastError();
	h->conn = NULL;
}

static void
virt_connect_work(struct virt_job *job)
{
	struct virt_host	*h = job->h;
	char			 msg[VIRT_ERROR_MAX];

	virt_conn_drop(h);
	if ((h->conn = virConnectOpen(h->uri)) == NULL) {
		snprintf(h->conn_error, sizeof(h->conn_error), "%s",
		    virt_last_error(msg, sizeof(msg)));
		virResetLastError();
		virt_seterror(job, "host %s is unreachable: %s", h->name,
		    h->conn_error);
		job->res.fault = VIRT_FAULT_HOST;
		return;
	}
	if (virConnectRegisterCloseCallback(h->conn, virt_close_cb, h,
	    NULL) == -1)
		log_debug("host %s: no close callback: %s", h->name,
		    virt_last_error(msg, sizeof(msg)));
	if (h->remote &&
	    virConnectSetKeepAlive(h->conn, VIRT_KEEPALIVE_INTERVAL,
	    VIRT_KEEPALIVE_COUNT) == -1)
		log_debug("host %s: no keepalive: %s", h->name,
		    virt_last_error(msg, sizeof(msg)));
	h->lifecycle_id = virConnectDomainEventRegisterAny(h->conn, NULL,
	    VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	    VIR_DOMAIN_EVENT_CALLBACK(virt_lifecycle_cb), h, NULL);
	if (h->lifecycle_id == -1)
		log_warnx("host %s: no lifecycle events: %s", h->name,
		    virt_last_error(msg, sizeof(msg)));
	h->graphics_id = virConnectDomainEventRegisterAny(h->conn, NULL,
	    VIR_DOMAIN_EVENT_ID_GRAPHICS,
	    VIR_DOMAIN_EVENT_CALLBACK(virt_graphics_cb), h, NULL);
	if (h->graphics_id == -1)
		log_debug("host %s: no graphics events: %s", h->name,
		    virt_last_error(msg, sizeof(msg)));
	h->reboot_id = virConnectDomainEventRegisterAny(h->conn, NULL,
	    VIR_DOMAIN_EVENT_ID_REBOOT,
	    VIR_DOMAIN_EVENT_CALLBACK(virt_reboot_cb), h, NULL);
	if (h->reboot_id == -1)
		log_debug("host %s: no reboot events: %s", h->name,
		    virt_last_error(msg, sizeof(msg)));
	virResetLastError();
	h->conn_error[0] = '\0';
	job->res.ok = 1;
}

/* The loop's side of the host. */

static void
virt_host_set_up(struct virt_host *h, int up, const char *error)
{
	int	was = h->up;

	snprintf(h->error, sizeof(h->error), "%s", up ? "" : error);
	h->up = up;
	if (was == up)
		return;
	if (up)
		log_info("host %s: connected to %s", h->name, h->uri);
	else
		log_warnx("%s", h->error);
	if (h->ev.host_up != NULL)
		h->ev.host_up(h, up, h->arg);
}

static void
virt_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct virt_host	*h = arg;

	virt_host_schedule(h);
}

static void
virt_connect_failed(struct virt_host *h, const char *error)
{
	struct timeval	tv = { h->backoff, 0 };

	virt_host_set_up(h, 0, error);
	log_debug("host %s: retrying in %d s", h->name, h->backoff);
	evtimer_add(h->retry, &tv);
	h->backoff *= 2;
	if (h->backoff > VIRT_BACKOFF_MAX)
		h->backoff = VIRT_BACKOFF_MAX;
}

static void
virt_closed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct virt_host	*h = arg;
	const char		*why;
	char			 error[VIRT_ERROR_MAX];
	int			 reason;

	pthread_mutex_lock(&h->lock);
	reason = h->close_reason;
	pthread_mutex_unlock(&h->lock);
	if (h->connecting || h->up != 1)
		return;
	switch (reason) {
	case VIR_CONNECT_CLOSE_REASON_EOF:
		why = "the connection was closed";
		break;
	case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
		why = "keepalive timed out";
		break;
	default:
		why = "connection error";
		break;
	}
	snprintf(error, sizeof(error), "host %s is unreachable: %s", h->name,
	    why);
	h->backoff = VIRT_BACKOFF_MIN;
	virt_connect_failed(h, error);
}

/* Job plumbing. */

static void
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

static void
virt_job_work(void *arg)
{
	struct virt_job	*job = arg;
	struct virt_host *h = job->h;

	if (job->invalid)
		return;
	if (job->work != virt_connect_work && h->conn == NULL) {
		virt_seterror(job, "host %s is unreachable: %s", h->name,
		    h->conn_error[0] != '\0' ? h->conn_error : "not connected");
		job->res.fault = VIRT_FAULT_HOST;
		return;
	}
	job->work(job);
	explicit_bzero(job->password, sizeof(job->password));
}

static void
virt_job_done(void *arg)
{
	struct virt_job		*job = arg;
	struct virt_host	*h = job->h;

	virt_job_unlink(job);
	if (job->work == virt_connect_work) {
		h->connecting = 0;
		if (job->res.ok) {
			h->backoff = VIRT_BACKOFF_MIN;
			virt_host_set_up(h, 1, "");
		} else
			virt_connect_failed(h, job->res.error);
	} else if (job->done != NULL) {
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

/* Queues job; on failure frees it and returns -1. */
int
virt_job_push(struct virt_job *job)
{
	struct virt_host	*h = job->h;

	if (workq_push(h->wq, virt_job_work, virt_job_done, job) == -1) {
		virt_job_free(job);
		return -1;
	}
	job->next = h->jobs;
	h->jobs = job;
	return 0;
}

static int
virt_job_queue(struct virt_host *h, virt_job_fn work, const char *dom,
    virt_done_cb done, void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, work, dom, done, arg)) == NULL)
		return -1;
	return virt_job_push(job);
}

static void
virt_host_schedule(struct virt_host *h)
{
	if (h->connecting)
		return;
	if (virt_job_queue(h, virt_connect_work, NULL, NULL, NULL) == -1) {
		virt_connect_failed(h, "cannot queue the connection");
		return;
	}
	h->connecting = 1;
}

/* Whether uri names a host over the network ("qemu+ssh://h/...",
 * "qemu://h/system"), where keepalive applies and files are not ours. */
static int
virt_uri_remote(const char *uri)
{
	const char	*colon = strchr(uri, ':');
	const char	*plus = strchr(uri, '+');

	if (colon == NULL)
		return 0;
	if (plus != NULL && plus < colon)
		return 1;
	return strncmp(colon, "://", 3) == 0 && colon[3] != '/' &&
	    colon[3] != '\0';
}

struct virt_host *
virt_host_new(const char *name, const char *uri, const struct virt_events *ev,
    void *arg)
{
	struct virt_host	*h;

	if (virt_base == NULL || strlen(name) >= sizeof(h->name) ||
	    strlen(uri) >= sizeof(h->uri))
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	strlcpy(h->name, name, sizeof(h->name));
	strlcpy(h->uri, uri, sizeof(h->uri));
	if (ev != NULL)
		h->ev = *ev;
	h->arg = arg;
	h->base = virt_base;
	h->up = -1;
	h->remote = virt_uri_remote(uri);
	h->backoff = VIRT_BACKOFF_MIN;
	h->lifecycle_id = h->graphics_id = h->reboot_id = -1;
	snprintf(h->error, sizeof(h->error), "host %s: not connected yet",
	    h->name);
	pthread_mutex_init(&h->lock, NULL);
	h->retry = evtimer_new(h->base, virt_retry_cb, h);
	h->closed = event_new(h->base, -1, 0, virt_closed_cb, h);
	h->wq = workq_new(h->base, h->name, 1);
	if (h->retry == NULL || h->closed == NULL || h->wq == NULL) {
		virt_host_free(h);
		return NULL;
	}
	virt_host_schedule(h);
	return h;
}

void
virt_host_free(struct virt_host *h)
{
	struct virt_job	*job;

	if (h == NULL)
		return;
	/* The worker is gone after this: its connection is ours to close. */
	workq_free(h->wq);
	while ((job = h->jobs) != NULL) {
		h->jobs = job->next;
		virt_job_free(job);
	}
	virt_conn_drop(h);
	if (h->retry != NULL)
		event_free(h->retry);
	if (h->closed != NULL)
		event_free(h->closed);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

const char *
virt_host_name(const struct virt_host *h)
{
	return h->name;
}

int
virt_host_is_up(const struct virt_host *h)
{
	return h->up == 1;
}

const char *
virt_host_error(const struct virt_host *h)
{
	return h->up == 1 ? "" : h->error;
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

/* Reads and parses dom's XML; 0, or -1 with the job's error set. */
int
virt_xml_read(struct virt_job *job, virDomainPtr d, unsigned int flags,
    struct virt_xml *x)
{
	memset(x, 0, sizeof(*x));
	if ((x->text = virDomainGetXMLDesc(d, flags)) == NULL) {
		virt_fail(job, "reading the domain XML");
		return -1;
	}
	if ((x->doc = virt_xml_parse(x->text)) == NULL ||
	    (x->ctx = xmlXPathNewContext(x->doc)) == NULL ||
	    xmlXPathRegisterNs(x->ctx, (const xmlChar *)VIRT_CLONE_PREFIX,
	    (const xmlChar *)VIRT_CLONE_NS) == -1) {
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

static uint16_t
virt_xml_port(xmlXPathContextPtr ctx, const char *expr)
{
	char		 buf[16];
	const char	*errstr;
	long long	 port;

	virt_xml_string(ctx, expr, buf, sizeof(buf));
	port = strtonum(buf, 1, 65535, &errstr);
	return errstr == NULL ? (uint16_t)port : 0;
}

/* Wipes the value of attribute name of node unless the dictionary owns it. */
static void
virt_xml_wipe_attr(xmlNodePtr node, const char *name)
{
	xmlAttrPtr	a;
	xmlNodePtr	t;

	if ((a = xmlHasProp(node, (const xmlChar *)name)) == NULL)
		return;
	for (t = a->children; t != NULL; t = t->next) {
		if (t->content == NULL || (node->doc != NULL &&
		    node->doc->dict != NULL &&
		    xmlDictOwns(node->doc->dict, t->content)))
			continue;
		if (t->content == (xmlChar *)&t->properties)
			continue;
		explicit_bzero(t->content, xmlStrlen(t->content));
	}
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

/* Jobs, on the worker. */

static void
virt_state_work(struct virt_job *job)
{
	virDomainPtr	d;

	if ((d = virt_lookup(job)) == NULL) {
		if (job->res.state == VIRT_STATE_MISSING) {
			job->res.ok = 1;
			job->res.error[0] = '\0';
		}
		return;
	}
	job->res.state = virt_domain_state(d);
	job->res.ok = 1;
	virDomainFree(d);
}

static void
virt_list_work(struct virt_job *job)
{
	virDomainPtr	*doms = NULL;
	int		 n, i;

	if ((n = virConnectListAllDomains(job->h->conn, &doms, 0)) == -1) {
		virt_fail(job, "list");
		return;
	}
	job->names = calloc(n + 1, sizeof(*job->names));
	job->states = calloc(n + 1, sizeof(*job->states));
	if (job->names == NULL || job->states == NULL) {
		virt_seterror(job, "host %s: out of memory", job->h->name);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((job->names[job->n] = strdup(virDomainGetName(doms[i]))) ==
		    NULL) {
			virt_seterror(job, "host %s: out of memory",
			    job->h->name);
			goto out;
		}
		job->states[job->n++] = virt_domain_state(doms[i]);
	}
	job->res.ok = 1;
out:
	for (i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
}

static void
virt_start_work(struct virt_job *job)
{
	virDomainPtr	d;
	int		 rc = 0;

	if ((d = virt_lookup(job)) == NULL)
		return;
	switch (virt_domain_state(d)) {
	case VIRT_STATE_RUNNING:
	case VIRT_STATE_STARTING:
		break;
	case VIRT_STATE_PAUSED:
		rc = virDomainResume(d);
		break;
	default:
		rc = virDomainCreate(d);
		break;
	}
	if (rc == -1)
		virt_fail(job, "start");
	else
		job->res.ok = 1;
	job->res.state = virt_domain_state(d);
	virDomainFree(d);
}

static const char *const virt_power_names[] = {
	[VIRT_POWER_SHUTDOWN] = "shutdown",
	[VIRT_POWER_REBOOT] = "reboot",
	[VIRT_POWER_RESET] = "reset",
	[VIRT_POWER_DESTROY] = "destroy",
};

const char *
virt_power_name(enum virt_power op)
{
	return (size_t)op < sizeof(virt_power_names) /
	    sizeof(virt_power_names[0]) ? virt_power_names[op] : "?";
}

int
virt_power_parse(const char *name, enum virt_power *op)
{
	size_t	i;

	for (i = 0; i < sizeof(virt_power_names) / sizeof(virt_power_names[0]);
	    i++) {
		if (strcmp(name, virt_power_names[i]) == 0) {
			*op = (enum virt_power)i;
			return 0;
		}
	}
	return -1;
}

/* The power actions: one call on the domain, state after. */
static void
virt_power_work(struct virt_job *job)
{
	virDomainPtr	d;
	int		rc = -1;

	if ((d = virt_lookup(job)) == NULL)
		return;
	switch (job->power) {
	case VIRT_POWER_SHUTDOWN:
		rc = virDomainShutdown(d);
		break;
	case VIRT_POWER_REBOOT:
		rc = virDomainReboot(d, 0);
		break;
	case VIRT_POWER_RESET:
		rc = virDomainReset(d, 0);
		break;
	case VIRT_POWER_DESTROY:
		rc = virDomainDestroy(d);
		break;
	}
	if (rc == -1)
		virt_fail(job, virt_power_name(job->power));
	else
		job->res.ok = 1;
	job->res.state = virt_domain_state(d);
	virDomainFree(d);
}

static void
virt_spice_info_work(struct virt_job *job)
{
	virDomainPtr		 d;
	struct virt_xml		 x = { NULL, NULL, NULL };

	if ((d = virt_lookup(job)) == NULL)
		return;
	job->res.state = virt_domain_state(d);
	if (virt_xml_read(job, d, 0, &x) == -1)
		goto out;
	if (virt_xml_node(x.ctx,
	    "/domain/devices/graphics[@type='spice']") == NULL) {
		virt_seterror(job, "%s: the domain has no SPICE graphics",
		    job->dom);
		goto out;
	}
	job->res.tls_port = virt_xml_port(x.ctx,
	    "string(/domain/devices/graphics[@type='spice']/@tlsPort)");
	job->res.port = virt_xml_port(x.ctx,
	    "string(/domain/devices/graphics[@type='spice']/@port)");
	virt_xml_string(x.ctx,
	    "string(/domain/devices/graphics[@type='spice']/listen[@type='address']/@address)",
	    job->res.listen, sizeof(job->res.listen));
	if (job->res.listen[0] == '\0')
		virt_xml_string(x.ctx,
		    "string(/domain/devices/graphics[@type='spice']/@listen)",
		    job->res.listen, sizeof(job->res.listen));
	job->res.ok = 1;
out:
	virt_xml_free(&x);
	virDomainFree(d);
}

static void
virt_set_password_work(struct virt_job *job)
{
	virDomainPtr		 d;
	struct virt_xml		 x = { NULL, NULL, NULL };
	xmlNodePtr		 g = NULL;
	xmlBufferPtr		 buf = NULL;
	struct tm		 tm;
	char			 until[32];

	if ((d = virt_lookup(job)) == NULL)
		return;
	job->res.state = virt_domain_state(d);
	/* SECURE: without it the XML has no passwd, and posting it back
	 * would fall back to qemu.conf's password. */
	if (virt_xml_read(job, d, VIR_DOMAIN_XML_SECURE, &x) == -1)
		goto out;
	if ((g = virt_xml_node(x.ctx,
	    "/domain/devices/graphics[@type='spice']")) == NULL) {
		virt_seterror(job, "%s: the domain has no SPICE graphics",
		    job->dom);
		goto out;
	}
	virt_xml_wipe_attr(g, "passwd");
	xmlSetProp(g, (const xmlChar *)"passwd",
	    (const xmlChar *)job->password);
	if (job->valid_to != 0) {
		if (gmtime_r(&job->valid_to, &tm) == NULL ||
		    strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%S",
		    &tm) == 0) {
			virt_seterror(job, "%s: bad expiry time", job->dom);
			goto out;
		}
		xmlSetProp(g, (const xmlChar *)"passwdValidTo",
		    (const xmlChar *)until);
	} else
		xmlUnsetProp(g, (const xmlChar *)"passwdValidTo");
	xmlSetProp(g, (const xmlChar *)"connected", (const xmlChar *)
	    (job->connected == VIRT_CONNECTED_DISCONNECT ? "disconnect" :
	    "keep"));
	/* Sized so that it never grows: a realloc would leave a copy. */
	if ((buf = xmlBufferCreateSize(strlen(x.text) + 512)) == NULL ||
	    xmlNodeDump(buf, x.doc, g, 0, 0) == -1) {
		virt_seterror(job, "%s: cannot write the graphics XML",
		    job->dom);
		goto out;
	}
	if (virDomainUpdateDeviceFlags(d, (const char *)xmlBufferContent(buf),
	    VIR_DOMAIN_AFFECT_LIVE) == -1) {
		virt_fail(job, "setting the SPICE password");
		goto out;
	}
	job->res.ok = 1;
out:
	if (buf != NULL) {
		explicit_bzero((void *)xmlBufferContent(buf),
		    xmlBufferLength(buf));
		xmlBufferFree(buf);
	}
	if (g != NULL)
		virt_xml_wipe_attr(g, "passwd");
	virt_xml_free(&x);
	virDomainFree(d);
}

static void
virt_revert_work(struct virt_job *job)
{
	virDomainPtr		d;
	virDomainSnapshotPtr	snap = NULL;

	if ((d = virt_lookup(job)) == NULL)
		return;
	if ((snap = virDomainSnapshotLookupByName(d, job->name2, 0)) == NULL)
		virt_fail(job, "looking up the snapshot");
	else if (virDomainRevertToSnapshot(snap, 0) == -1)
		virt_fail(job, "reverting to the snapshot");
	else
		job->res.ok = 1;
	job->res.state = virt_domain_state(d);
	if (snap != NULL)
		virDomainSnapshotFree(snap);
	virDomainFree(d);
}

/* One guest agent command; its "return" member (a new reference) or NULL. */
static json_t *
virt_agent(struct virt_job *job, virDomainPtr d, json_t *cmd)
{
	char	*text, *reply = NULL;
	json_t	*obj = NULL, *ret = NULL;

	if ((text = json_dumps(cmd, JSON_COMPACT)) == NULL) {
		virt_seterror(job, "%s: out of memory", job->dom);
		return NULL;
	}
	reply = virDomainQemuAgentCommand(d, text, VIRT_AGENT_TIMEOUT, 0);
	if (reply == NULL) {
		virErrorPtr err = virGetLastError();
		char msg[VIRT_ERROR_MAX];

		if (err != NULL && (err->code == VIR_ERR_AGENT_UNRESPONSIVE ||
		    err->code == VIR_ERR_ARGUMENT_UNSUPPORTED ||
		    err->code == VIR_ERR_OPERATION_UNSUPPORTED ||
		    err->code == VIR_ERR_NO_SUPPORT)) {
			virt_seterror(job, "%s: no QEMU guest agent to lock the "
			    "screen with (%s)", job->dom,
			    virt_last_error(msg, sizeof(msg)));
			job->res.fault = VIRT_FAULT_LIBVIRT;
			virResetLastError();
		} else
			virt_fail(job, "guest agent");
		goto out;
	}
	if ((obj = json_loads(reply, 0, NULL)) == NULL ||
	    (ret = json_object_get(obj, "return")) == NULL) {
		virt_seterror(job, "%s: the guest agent's answer is unreadable",
		    job->dom);
		goto out;
	}
	json_incref(ret);
out:
	json_decref(obj);
	free(reply);
	free(text);
	return ret;
}

static void
virt_lock_work(struct virt_job *job)
{
	virDomainPtr	 d;
	json_t		*cmd = NULL, *info = NULL, *ret = NULL;
	const char	*id = NULL, *kernel = NULL;
	int		 windows;

	if ((d = virt_lookup(job)) == NULL)
		return;
	job->res.state = virt_domain_state(d);
	cmd = json_pack("{s:s}", "execute", "guest-get-osinfo");
	if (cmd == NULL || (info = virt_agent(job, d, cmd)) == NULL)
		goto out;
	json_unpack(info, "{s?s,s?s}", "id", &id, "kernel-name", &kernel);
	windows = (id != NULL && strcmp(id, "mswindows") == 0) ||
	    (kernel != NULL && strncasecmp(kernel, "windows", 7) == 0);
	json_decref(cmd);
	if (windows)
		cmd = json_pack("{s:s,s:{s:s,s:[s]}}", "execute", "guest-exec",
		    "arguments", "path", "rundll32.exe", "arg",
		    "user32.dll,LockWorkStation");
	else
		cmd = json_pack("{s:s,s:{s:s,s:[s]}}", "execute", "guest-exec",
		    "arguments", "path", "loginctl", "arg", "lock-sessions");
	if (cmd == NULL || (ret = virt_agent(job, d, cmd)) == NULL)
		goto out;
	job->res.ok = 1;
out:
	json_decref(ret);
	json_decref(info);
	json_decref(cmd);
	virDomainFree(d);
}

int
virt_screenshot_read(struct virt_job *job, virDomainPtr d, unsigned int screen,
    uint8_t **image, size_t *image_len, char *mime, size_t mimelen)
{
	virStreamPtr	 st = NULL;
	char		*type = NULL;
	uint8_t		*buf = NULL, *nbuf;
	size_t		 len = 0, cap = 0;
	int		 n, ret = -1;

	if ((st = virStreamNew(job->h->conn, 0)) == NULL) {
		virt_fail(job, "screenshot");
		goto out;
	}
	if ((type = virDomainScreenshot(d, st, screen, 0)) == NULL) {
		virt_fail(job, "screenshot");
		goto out;
	}
	for (;;) {
		if (cap - len < 65536) {
			if (cap >= VIRT_SCREENSHOT_MAX) {
				virt_seterror(job, "%s: the screenshot is over "
				    "%d MiB", job->dom,
				    VIRT_SCREENSHOT_MAX >> 20);
				virStreamAbort(st);
				goto out;
			}
			cap = cap == 0 ? 262144 : cap * 2;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				virt_seterror(job, "%s: out of memory",
				    job->dom);
				virStreamAbort(st);
				goto out;
			}
			buf = nbuf;
		}
		if ((n = virStreamRecv(st, (char *)buf + len, cap - len)) < 0) {
			virt_fail(job, "reading the screenshot");
			virStreamAbort(st);
			goto out;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (virStreamFinish(st) == -1) {
		virt_fail(job, "screenshot");
		goto out;
	}
	strlcpy(mime, type, mimelen);
	*image = buf;
	*image_len = len;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	free(type);
	if (st != NULL)
		virStreamFree(st);
	return ret;
}

static void
virt_screenshot_work(struct virt_job *job)
{
	virDomainPtr	d;

	if ((d = virt_lookup(job)) == NULL)
		return;
	job->res.state = virt_domain_state(d);
	if (virt_screenshot_read(job, d, job->screen, &job->image,
	    &job->res.image_len, job->mime, sizeof(job->mime)) == 0)
		job->res.ok = 1;
	virDomainFree(d);
}

/* Clones. */

#define VIRT_CLONE_DISKS_MAX	16

struct virt_clone_vol {
	char	path[4096];
	int	is_file;	/* made with qemu-img: no storage API */
};

/* Runs qemu-img create for a copy-on-write overlay of backing. */
static int
virt_qemu_img_overlay(const char *backing, const char *fmt, const char *path)
{
	char	*argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-F",
		    (char *)fmt, "-b", (char *)backing, (char *)path, NULL };
	pid_t	 pid;
	int	 status;

	if (posix_spawnp(&pid, "qemu-img", NULL, NULL, argv, environ) != 0)
		return -1;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : -1;
}

/* Deletes a volume virt_clone made; 0 or -1 with the job's error set. */
static int
virt_clone_vol_delete(struct virt_job *job, const char *path, int is_file)
{
	virStorageVolPtr	vol;

	if (is_file) {
		/* Only this machine's files: a remote host's are not ours. */
		if (job->h->remote) {
			virt_seterror(job, "%s: cannot delete %s on a remote "
			    "host without its storage pool", job->dom, path);
			return -1;
		}
		if (unlink(path) == -1 && errno != ENOENT) {
			virt_seterror(job, "%s: cannot delete %s: %s",
			    job->dom, path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if ((vol = virStorageVolLookupByPath(job->h->conn, path)) == NULL) {
		virt_fail(job, "looking up a volume");
		return -1;
	}
	if (virStorageVolDelete(vol, 0) == -1) {
		virt_fail(job, "deleting a volume");
		virStorageVolFree(vol);
		return -1;
	}
	virStorageVolFree(vol);
	return 0;
}

/* The XML of a qcow2 volume called name backed by path in format fmt. */
static char *
virt_clone_vol_xml(const char *name, unsigned long long capacity,
    const char *path, const char *fmt)
{
	xmlDocPtr	 doc;
	xmlNodePtr	 root, n;
	xmlChar		*out = NULL;
	char		 num[32], *ret = NULL;
	int		 len;

	if ((doc = xmlNewDoc((const xmlChar *)"1.0")) == NULL)
		return NULL;
	root = xmlNewNode(NULL, (const xmlChar *)"volume");
	xmlDocSetRootElement(doc, root);
	xmlNewTextChild(root, NULL, (const xmlChar *)"name",
	    (const xmlChar *)name);
	snprintf(num, sizeof(num), "%llu", capacity);
	n = xmlNewTextChild(root, NULL, (const xmlChar *)"capacity",
	    (const xmlChar *)num);
	xmlSetProp(n, (const xmlChar *)"unit", (const xmlChar *)"bytes");
	n = xmlNewChild(root, NULL, (const xmlChar *)"target", NULL);
	n = xmlNewChild(n, NULL, (const xmlChar *)"format", NULL);
	xmlSetProp(n, (const xmlChar *)"type", (const xmlChar *)"qcow2");
	n = xmlNewChild(root, NULL, (const xmlChar *)"backingStore", NULL);
	xmlNewTextChild(n, NULL, (const xmlChar *)"path",
	    (const xmlChar *)path);
	n = xmlNewChild(n, NULL, (const xmlChar *)"format", NULL);
	xmlSetProp(n, (const xmlChar *)"type", (const xmlChar *)fmt);
	xmlDocDumpMemory(doc, &out, &len);
	if (out != NULL)
		ret = strdup((const char *)out);
	xmlFree(out);
	xmlFreeDoc(doc);
	return ret;
}

/*
 * Makes the overlay of one template disk: a storage volume next to the
 * template's, or, where the connection has no storage driver (libvirt's
 * embedded QEMU driver), a qemu-img overlay next to the file on this
 * machine. 0 or -1 with the job's error set.
 */
static int
virt_clone_disk(struct virt_job *job, const char *file, const char *fmt,
    const char *dev, struct virt_clone_vol *out)
{
	virStorageVolPtr	 vol = NULL, nvol = NULL;
	virStoragePoolPtr	 pool = NULL;
	virStorageVolInfo	 info;
	virErrorPtr		 err;
	char			 name[VIRT_NAME_MAX * 2], *xml = NULL, *p;
	char			*path = NULL, dir[4096];
	struct stat		 sb;
	int			 ret = -1;

	snprintf(name, sizeof(name), "%s-%s.qcow2", job->name2, dev);
	if ((vol = virStorageVolLookupByPath(job->h->conn, file)) == NULL) {
		err = virGetLastError();
		if (err == NULL || err->code != VIR_ERR_NO_SUPPORT ||
		    job->h->remote) {
			virt_fail(job, "the template's disk is in no storage "
			    "pool");
			goto out;
		}
		virResetLastError();
		strlcpy(dir, file, sizeof(dir));
		if ((p = strrchr(dir, '/')) == NULL) {
			virt_seterror(job, "%s: disk %s has no absolute path",
			    job->dom, dev);
			goto out;
		}
		*p = '\0';
		if ((size_t)snprintf(out->path, sizeof(out->path), "%s/%.*s",
		    dir, (int)strlen(name), name) >= sizeof(out->path)) {
			virt_seterror(job, "%s: path too long", job->name2);
			goto out;
		}
		if (lstat(out->path, &sb) == 0) {
			virt_seterror(job, "%s: %s already exists", job->name2,
			    out->path);
			goto out;
		}
		if (virt_qemu_img_overlay(file, fmt, out->path) == -1) {
			virt_seterror(job, "%s: qemu-img cannot make an "
			    "overlay of %s", job->name2, file);
			goto out;
		}
		out->is_file = 1;
		ret = 0;
		goto out;
	}
	if ((pool = virStoragePoolLookupByVolume(vol)) == NULL ||
	    virStorageVolGetInfo(vol, &info) == -1) {
		virt_fail(job, "the template's storage pool");
		goto out;
	}
	if ((xml = virt_clone_vol_xml(name, info.capacity, file, fmt)) ==
	    NULL) {
		virt_seterror(job, "%s: out of memory", job->dom);
		goto out;
	}
	if ((nvol = virStorageVolCreateXML(pool, xml, 0)) == NULL) {
		virt_fail(job, "creating the clone's volume");
		goto out;
	}
	if ((path = virStorageVolGetPath(nvol)) == NULL) {
		virt_fail(job, "the clone's volume");
		virStorageVolDelete(nvol, 0);
		goto out;
	}
	strlcpy(out->path, path, sizeof(out->path));
	out->is_file = 0;
	ret = 0;
out:
	free(path);
	free(xml);
	if (nvol != NULL)
		virStorageVolFree(nvol);
	if (pool != NULL)
		virStoragePoolFree(pool);
	if (vol != NULL)
		virStorageVolFree(vol);
	return ret;
}

/* Removes every node expr finds. */
static void
virt_xml_remove(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr	obj;
	int			i;

	obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	if (obj != NULL && obj->nodesetval != NULL) {
		for (i = 0; i < obj->nodesetval->nodeNr; i++) {
			xmlUnlinkNode(obj->nodesetval->nodeTab[i]);
			xmlFreeNode(obj->nodesetval->nodeTab[i]);
			obj->nodesetval->nodeTab[i] = NULL;
		}
	}
	xmlXPathFreeObject(obj);
}

/* Gives every SPICE <graphics> a random password nobody knows. */
static void
virt_clone_spice_password(xmlXPathContextPtr ctx)
{
	xmlXPathObjectPtr	 g;
	uint8_t			 raw[18];
	char			 pw[sizeof(raw) * 2 + 1];
	size_t			 i;
	int			 k;

	g = xmlXPathEvalExpression((const xmlChar *)
	    "/domain/devices/graphics[@type='spice']", ctx);
	if (g == NULL)
		return;
	for (k = 0; g->nodesetval != NULL && k < g->nodesetval->nodeNr; k++) {
		arc4random_buf(raw, sizeof(raw));
		for (i = 0; i < sizeof(raw); i++)
			snprintf(pw + i * 2, 3, "%02x", raw[i]);
		xmlSetProp(g->nodesetval->nodeTab[k], (const xmlChar *)"passwd",
		    (const xmlChar *)pw);
		xmlUnsetProp(g->nodesetval->nodeTab[k],
		    (const xmlChar *)"passwdValidTo");
	}
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(pw, sizeof(pw));
	xmlXPathFreeObject(g);
}

/* The child element of node called name, or NULL. */
static xmlNodePtr
virt_xml_child(xmlNodePtr node, const char *name)
{
	xmlNodePtr	c;

	for (c = node->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(c->name, (const xmlChar *)name) == 0)
			return c;
	return NULL;
}

static void
virt_clone_work(struct virt_job *job)
{
	virDomainPtr		 d = NULL, nd = NULL;
	char			*file, *fmt, *dev;
	char			 error[VIRT_ERROR_MAX];
	struct virt_xml		 x = { NULL, NULL, NULL };
	xmlXPathObjectPtr	 disks = NULL;
	xmlNodePtr		 root, n, src, drv, tgt, meta, mark, v;
	xmlNsPtr		 ns;
	xmlChar			*out = NULL;
	struct virt_clone_vol	*vols = NULL;
	int			 nvols = 0, i, len;

	if ((nd = virDomainLookupByName(job->h->conn, job->name2)) != NULL) {
		virt_seterror(job, "%s: a domain of that name exists",
		    job->name2);
		goto out;
	}
	virResetLastError();
	if ((d = virt_lookup(job)) == NULL)
		return;
	if (virt_xml_read(job, d, VIR_DOMAIN_XML_INACTIVE, &x) == -1)
		goto out;
	root = xmlDocGetRootElement(x.doc);
	if ((n = virt_xml_node(x.ctx, "/domain/name")) == NULL) {
		virt_seterror(job, "%s: the domain XML has no name", job->dom);
		goto out;
	}
	xmlNodeSetContent(n, NULL);
	xmlNodeAddContent(n, (const xmlChar *)job->name2);
	/* libvirt makes a new UUID and new MAC addresses when these lack. */
	virt_xml_remove(x.ctx, "/domain/uuid");
	virt_xml_remove(x.ctx, "/domain/devices/interface/mac");
	virt_xml_remove(x.ctx, "/domain/metadata/" VIRT_CLONE_PREFIX ":clone");
	/*
	 * The inactive XML omits passwd; without one QEMU starts SPICE with
	 * ticketing off and no password can be set later. A random one that
	 * nobody knows keeps the clone closed until the broker sets its own.
	 */
	virt_clone_spice_password(x.ctx);

	disks = xmlXPathEvalExpression((const xmlChar *)
	    "/domain/devices/disk[@type='file' and @device='disk' and "
	    "not(readonly) and not(shareable) and source/@file]", x.ctx);
	if (disks != NULL && disks->nodesetval != NULL &&
	    disks->nodesetval->nodeNr > 0) {
		if (disks->nodesetval->nodeNr > VIRT_CLONE_DISKS_MAX) {
			virt_seterror(job, "%s: more than %d disks", job->dom,
			    VIRT_CLONE_DISKS_MAX);
			goto out;
		}
		vols = calloc(disks->nodesetval->nodeNr, sizeof(*vols));
		if (vols == NULL) {
			virt_seterror(job, "%s: out of memory", job->dom);
			goto out;
		}
	}
	for (i = 0; vols != NULL && i < disks->nodesetval->nodeNr; i++) {
		n = disks->nodesetval->nodeTab[i];
		src = virt_xml_child(n, "source");
		drv = virt_xml_child(n, "driver");
		tgt = virt_xml_child(n, "target");
		file = (char *)xmlGetProp(src, (const xmlChar *)"file");
		fmt = drv != NULL ?
		    (char *)xmlGetProp(drv, (const xmlChar *)"type") : NULL;
		dev = tgt != NULL ?
		    (char *)xmlGetProp(tgt, (const xmlChar *)"dev") : NULL;
		if (fmt != NULL && strcmp(fmt, "raw") != 0 &&
		    strcmp(fmt, "qcow2") != 0)
			virt_seterror(job, "%s: disk format %s cannot back a "
			    "clone", job->dom, fmt);
		else if (dev == NULL || !virt_name_valid(dev))
			virt_seterror(job, "%s: a disk has no target", job->dom);
		else if (virt_clone_disk(job, file, fmt != NULL ? fmt : "raw",
		    dev, &vols[nvols]) == 0) {
			xmlSetProp(src, (const xmlChar *)"file",
			    (const xmlChar *)vols[nvols].path);
			if (drv == NULL) {
				drv = xmlNewChild(n, NULL,
				    (const xmlChar *)"driver", NULL);
				xmlSetProp(drv, (const xmlChar *)"name",
				    (const xmlChar *)"qemu");
			}
			xmlSetProp(drv, (const xmlChar *)"type",
			    (const xmlChar *)"qcow2");
			/* The chain is the new volume's, not the template's. */
			if ((v = virt_xml_child(n, "backingStore")) != NULL) {
				xmlUnlinkNode(v);
				xmlFreeNode(v);
			}
			nvols++;
		}
		xmlFree(file);
		xmlFree(fmt);
		xmlFree(dev);
		if (!job->res.ok && job->res.error[0] != '\0')
			goto out;
	}

	/* Marks the clone and lists its volumes for virt_remove_clone. */
	if ((meta = virt_xml_node(x.ctx, "/domain/metadata")) == NULL)
		meta = xmlNewChild(root, NULL, (const xmlChar *)"metadata",
		    NULL);
	mark = xmlNewChild(meta, NULL, (const xmlChar *)"clone", NULL);
	ns = xmlNewNs(mark, (const xmlChar *)VIRT_CLONE_NS,
	    (const xmlChar *)VIRT_CLONE_PREFIX);
	xmlSetNs(mark, ns);
	xmlSetProp(mark, (const xmlChar *)"template",
	    (const xmlChar *)job->dom);
	for (i = 0; i < nvols; i++) {
		v = xmlNewChild(mark, ns, (const xmlChar *)"volume", NULL);
		xmlSetProp(v, (const xmlChar *)"path",
		    (const xmlChar *)vols[i].path);
		xmlSetProp(v, (const xmlChar *)"type",
		    (const xmlChar *)(vols[i].is_file ? "file" : "volume"));
	}
	xmlDocDumpMemory(x.doc, &out, &len);
	if (out == NULL) {
		virt_seterror(job, "%s: out of memory", job->dom);
		goto out;
	}
	if ((nd = virDomainDefineXML(job->h->conn, (const char *)out)) ==
	    NULL) {
		virt_fail(job, "defining the clone");
		goto out;
	}
	job->res.state = virt_domain_state(nd);
	job->res.ok = 1;
	nvols = 0;
out:
	/* A clone that could not be defined leaves no volumes behind. */
	strlcpy(error, job->res.error, sizeof(error));
	for (i = 0; i < nvols; i++)
		if (virt_clone_vol_delete(job, vols[i].path,
		    vols[i].is_file) == -1)
			log_warnx("%s", job->res.error);
	strlcpy(job->res.error, error, sizeof(job->res.error));
	xmlFree(out);
	free(vols);
	xmlXPathFreeObject(disks);
	if (nd != NULL)
		virDomainFree(nd);
	if (d != NULL)
		virDomainFree(d);
	virt_xml_free(&x);
}

static void
virt_remove_clone_work(struct virt_job *job)
{
	virDomainPtr		 d;
	char			*path, *type;
	struct virt_xml		 x = { NULL, NULL, NULL };
	xmlXPathObjectPtr	 vols = NULL;
	int			 i, failed = 0;

	if ((d = virt_lookup(job)) == NULL)
		return;
	if (virt_xml_read(job, d, VIR_DOMAIN_XML_INACTIVE, &x) == -1)
		goto out;
	/* Never a template or a domain someone else made. */
	if (virt_xml_node(x.ctx, "/domain/metadata/" VIRT_CLONE_PREFIX
	    ":clone") == NULL) {
		virt_seterror(job, "%s: not a clone made by the broker",
		    job->dom);
		goto out;
	}
	if (virDomainIsActive(d) == 1 && virDomainDestroy(d) == -1) {
		virt_fail(job, "destroy");
		goto out;
	}
	if (virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
	    VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) == -1) {
		virt_fail(job, "undefine");
		goto out;
	}
	job->res.state = VIRT_STATE_MISSING;
	vols = xmlXPathEvalExpression((const xmlChar *)"/domain/metadata/"
	    VIRT_CLONE_PREFIX ":clone/" VIRT_CLONE_PREFIX ":volume", x.ctx);
	for (i = 0; vols != NULL && vols->nodesetval != NULL &&
	    i < vols->nodesetval->nodeNr; i++) {
		path = (char *)xmlGetProp(vols->nodesetval->nodeTab[i],
		    (const xmlChar *)"path");
		type = (char *)xmlGetProp(vols->nodesetval->nodeTab[i],
		    (const xmlChar *)"type");
		if (path != NULL && virt_clone_vol_delete(job, path,
		    type != NULL && strcmp(type, "file") == 0) == -1)
			failed = 1;
		xmlFree(path);
		xmlFree(type);
	}
	if (!failed)
		job->res.ok = 1;
out:
	xmlXPathFreeObject(vols);
	virDomainFree(d);
	virt_xml_free(&x);
}

/* The API: each queues one job. */

int
virt_state(struct virt_host *h, const char *dom, virt_done_cb done, void *arg)
{
	return virt_job_queue(h, virt_state_work, dom, done, arg);
}

int
virt_list(struct virt_host *h, virt_done_cb done, void *arg)
{
	return virt_job_queue(h, virt_list_work, NULL, done, arg);
}

int
virt_start(struct virt_host *h, const char *dom, virt_done_cb done, void *arg)
{
	return virt_job_queue(h, virt_start_work, dom, done, arg);
}

int
virt_spice_info(struct virt_host *h, const char *dom, virt_done_cb done,
    void *arg)
{
	return virt_job_queue(h, virt_spice_info_work, dom, done, arg);
}

int
virt_set_password(struct virt_host *h, const char *dom, const char *password,
    time_t valid_to, enum virt_connected conn, virt_done_cb done, void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, virt_set_password_work, dom, done,
	    arg)) == NULL)
		return -1;
	if (password == NULL || strlen(password) > VIRT_PASSWORD_MAX) {
		job->invalid = 1;
		virt_seterror(job, "the SPICE password is over %d bytes",
		    VIRT_PASSWORD_MAX);
	} else
		strlcpy(job->password, password, sizeof(job->password));
	job->valid_to = valid_to;
	job->connected = conn;
	return virt_job_push(job);
}

int
virt_power(struct virt_host *h, const char *dom, enum virt_power op,
    virt_done_cb done, void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, virt_power_work, dom, done, arg)) == NULL)
		return -1;
	job->power = op;
	return virt_job_push(job);
}

/* A job on dom with a second name (snapshot, new domain) to validate. */
static int
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

int
virt_revert(struct virt_host *h, const char *dom, const char *snapshot,
    virt_done_cb done, void *arg)
{
	return virt_job_queue2(h, virt_revert_work, dom, snapshot, "snapshot",
	    done, arg);
}

int
virt_lock(struct virt_host *h, const char *dom, virt_done_cb done, void *arg)
{
	return virt_job_queue(h, virt_lock_work, dom, done, arg);
}

int
virt_clone(struct virt_host *h, const char *template_dom, const char *dom_new,
    virt_done_cb done, void *arg)
{
	return virt_job_queue2(h, virt_clone_work, template_dom, dom_new,
	    "domain", done, arg);
}

int
virt_remove_clone(struct virt_host *h, const char *dom, virt_done_cb done,
    void *arg)
{
	return virt_job_queue(h, virt_remove_clone_work, dom, done, arg);
}

int
virt_screenshot(struct virt_host *h, const char *dom, unsigned int screen,
    virt_done_cb done, void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, virt_screenshot_work, dom, done, arg)) == NULL)
		return -1;
	job->screen = screen;
	return virt_job_push(job);
}
