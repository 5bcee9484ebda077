/* SPDX-License-Identifier: ISC */
/*
 * libvirt hosts. The worker thread of a host owns its connection: it opens
 * it, makes every call on it and replaces it after a failure. The loop owns
 * everything users see (up/down, error text, backoff timer). libvirt's
 * events arrive on the loop because its event loop is ours (virtevent.c).
 */
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "log.h"
#include "virt.h"
#include "virtpriv.h"
#include "workq.h"

#define VIRT_BACKOFF_MIN	1		/* seconds */
#define VIRT_BACKOFF_MAX	60
#define VIRT_KEEPALIVE_INTERVAL	5		/* seconds */
#define VIRT_KEEPALIVE_COUNT	3

static void	virt_host_schedule(struct virt_host *);

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
	virt_domrefs_clear(h);
	virConnectUnregisterCloseCallback(h->conn, virt_close_cb);
	virConnectClose(h->conn);
	virResetLastError();
	h->conn = NULL;
}

void
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

/* The end of a connection job, on the loop. */
void
virt_host_connected(struct virt_host *h, const struct virt_result *res)
{
	h->connecting = 0;
	if (res->ok) {
		h->backoff = VIRT_BACKOFF_MIN;
		virt_host_set_up(h, 1, "");
	} else
		virt_connect_failed(h, res->error);
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

	if (virt_event_base() == NULL || strlen(name) >= sizeof(h->name) ||
	    strlen(uri) >= sizeof(h->uri))
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	strlcpy(h->name, name, sizeof(h->name));
	strlcpy(h->uri, uri, sizeof(h->uri));
	if (ev != NULL)
		h->ev = *ev;
	h->arg = arg;
	h->base = virt_event_base();
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
	/* NULL: a host a standby broker has not connected to. */
	return h != NULL && h->up == 1;
}

void
virt_host_jobs(const struct virt_host *h, struct virt_job_stats *out)
{
	static const struct virt_job_stats	none;

	*out = h != NULL ? h->stats : none;
}

const char *
virt_host_error(const struct virt_host *h)
{
	return h->up == 1 ? "" : h->error;
}
