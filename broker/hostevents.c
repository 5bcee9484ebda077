/* SPDX-License-Identifier: ISC */
/*
 * What the libvirt hosts tell the broker, routed to the modules that care:
 * a host back up (sessions and GPU allocations check their guests again),
 * a guest's power state, SPICE clients coming and going, a reboot. Each
 * also reaches the helpdesk's live stream as a "domain" event. Only a
 * leader acts on them: cluster_leading() stops a broker that lost its lease
 * before it takes one step.
 */
#include <time.h>

#include <jansson.h>

#include "broker.h"
#include "log.h"
#include "virt.h"

static void
broker_host_up(struct virt_host *vh, int up, void *arg)
{
	const char	*name = virt_host_name(vh);

	if (!cluster_leading())
		return;
	if (up) {
		log_info("host %s: connected", name);
		session_host_up(name);
		gpualloc_host_up(name);
	} else
		log_warnx("host %s: down: %s", name, virt_host_error(vh));
}

/* The helpdesk's "domain" event: power state, since when it runs (when
 * known), and whether it has just rebooted. */
static void
broker_domain_event(const char *host, const char *dom, enum virt_state state,
    time_t up_since, int rebooted)
{
	json_t	*o;

	o = json_pack("{s:s,s:s,s:s}", "host", host, "name", dom, "state",
	    virt_state_name(state));
	if (o != NULL && up_since != 0)
		json_object_set_new(o, "up_since", json_integer(up_since));
	if (o != NULL && rebooted)
		json_object_set_new(o, "rebooted", json_true());
	events_publish("domain", ROLE_HELPDESK | ROLE_ADMIN,
	    json_pack("{s:o}", "domain", o));
}

static void
broker_domain_state(struct virt_host *vh, const char *dom,
    enum virt_state state, void *arg)
{
	int	running = state == VIRT_STATE_RUNNING ||
	    state == VIRT_STATE_PAUSED || state == VIRT_STATE_STARTING ||
	    state == VIRT_STATE_SHUTDOWN;
	time_t	up_since;

	if (!cluster_leading())
		return;
	if (!running)
		ready_forget(virt_host_name(vh), dom);
	session_domain_state(virt_host_name(vh), dom, running);
	gpualloc_domain_state(virt_host_name(vh), dom, running);
	up_since = pool_guest_power(virt_host_name(vh), dom, state,
	    POWER_EVENT);
	broker_domain_event(virt_host_name(vh), dom, state, up_since, 0);
}

static void
broker_graphics(struct virt_host *vh, const char *dom,
    enum virt_graphics_phase phase, const char *client, void *arg)
{
	if (!cluster_leading())
		return;
	session_graphics(virt_host_name(vh), dom, phase, client);
}

/* A guest that reset boots again: it must prove itself ready again. The
 * domain stays running, so the helpdesk hears of it from this event. */
static void
broker_rebooted(struct virt_host *vh, const char *dom, void *arg)
{
	time_t	up_since;

	if (!cluster_leading())
		return;
	ready_forget(virt_host_name(vh), dom);
	up_since = pool_guest_power(virt_host_name(vh), dom,
	    VIRT_STATE_RUNNING, POWER_REBOOTED);
	broker_domain_event(virt_host_name(vh), dom, VIRT_STATE_RUNNING,
	    up_since, 1);
}

const struct virt_events broker_virt_events = {
	broker_host_up,
	broker_domain_state,
	broker_graphics,
	broker_rebooted,
};
