/* SPDX-License-Identifier: ISC */
/*
 * The readiness job of a libvirt host: one look at a running guest, which
 * the loop (ready.c) repeats until the guest is ready for its user. A SPICE
 * port that listens is not that: for seconds after power-on QEMU shows
 * "Guest has not initialized the display (yet)" and a client sees black.
 */
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "screen.h"
#include "virt.h"
#include "virtpriv.h"

#define VIRT_READY_PING_TIMEOUT	1	/* seconds: the probe is repeated */

#define VIRT_GA_CHANNEL \
	"/domain/devices/channel/target[@name='org.qemu.guest_agent.0']"
#define VIRT_VDAGENT_CHANNEL \
	"/domain/devices/channel/target[@name='com.redhat.spice.0']"

/* Whether qemu-ga in the guest answers a guest-ping now. */
static int
virt_ready_ping(virDomainPtr d)
{
	char	*reply;

	reply = virDomainQemuAgentCommand(d, "{\"execute\":\"guest-ping\"}",
	    VIRT_READY_PING_TIMEOUT, 0);
	if (reply == NULL) {
		/* Not connected yet, or not answering: the next look asks
		 * again. */
		virResetLastError();
		return 0;
	}
	free(reply);
	return 1;
}

static void
virt_ready_probe_work(struct virt_job *job)
{
	virDomainPtr	 d;
	struct virt_xml	 x = { NULL, NULL, NULL };
	struct virt_result *res = &job->res;
	uint8_t		*img = NULL;
	size_t		 len = 0;
	char		 mime[64], state[32], err[128];
	int		 ga, vdagent;

	if ((d = virt_lookup(job)) == NULL)
		return;
	if ((res->state = virt_domain_state(d)) != VIRT_STATE_RUNNING) {
		res->ok = 1;	/* the caller sees the state */
		goto out;
	}
	if (virt_xml_read(job, d, 0, &x) == -1)
		goto out;
	ga = virt_xml_node(x.ctx, VIRT_GA_CHANNEL) != NULL;
	vdagent = virt_xml_node(x.ctx, VIRT_VDAGENT_CHANNEL) != NULL;
	res->agent_channel = ga || vdagent;
	res->ready_mode = job->ready;
	if (res->ready_mode == VIRT_READY_AUTO)
		res->ready_mode = res->agent_channel ? VIRT_READY_AGENT :
		    VIRT_READY_DISPLAY;
	switch (res->ready_mode) {
	case VIRT_READY_AGENT:
		if (!res->agent_channel) {
			virt_seterror(job, "%s has no guest agent channel "
			    "(org.qemu.guest_agent.0 or com.redhat.spice.0) "
			    "for ready_when = agent", job->dom);
			goto out;
		}
		if (vdagent) {
			virt_xml_string(x.ctx, "string(" VIRT_VDAGENT_CHANNEL
			    "/@state)", state, sizeof(state));
			res->agent_ok = strcmp(state, "connected") == 0;
		}
		if (!res->agent_ok && ga)
			res->agent_ok = virt_ready_ping(d);
		break;
	case VIRT_READY_DISPLAY:
		if (virt_screenshot_read(job, d, 0, &img, &len, mime,
		    sizeof(mime)) == -1)
			goto out;
		if (screen_judge(img, len, &res->screen, err,
		    sizeof(err)) == -1) {
			virt_seterror(job, "%s: its screenshot (%s) is "
			    "unreadable: %s", job->dom, mime, err);
			goto out;
		}
		break;
	case VIRT_READY_AUTO:
	case VIRT_READY_PORT:
		break;
	}
	res->ok = 1;
out:
	free(img);
	virt_xml_free(&x);
	virDomainFree(d);
}

int
virt_ready_probe(struct virt_host *h, const char *dom, enum virt_ready mode,
    virt_done_cb done, void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, virt_ready_probe_work, dom, done, arg)) ==
	    NULL)
		return -1;
	job->ready = mode;
	return virt_job_push(job);
}
