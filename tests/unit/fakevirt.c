/* SPDX-License-Identifier: ISC */
/*
 * The fake of lib/virt (fakevirt.h): each fake host has a queue of what it
 * owes the loop, jobs and events alike, and one timer that hands over one
 * entry per turn of the loop, as virt.c's worker thread and libvirt's event
 * loop would. Results are computed when a job runs, not when it is queued,
 * so jobs queued back to back see each other's effects in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakevirtpriv.h"
#include "xmalloc.h"

static struct event_base	*fake_base;
struct fake_host		*fake_hosts[8];
size_t				 fake_nhosts;
static uint16_t			 fake_next_port = 5901;

struct fake_host *
fake_host(const char *name)
{
	struct fake_host	*fh;
	size_t			 i;

	for (i = 0; i < fake_nhosts; i++)
		if (strcmp(fake_hosts[i]->name, name) == 0)
			return fake_hosts[i];
	if (fake_nhosts == sizeof(fake_hosts) / sizeof(fake_hosts[0]))
		abort();
	fh = xcalloc(1, sizeof(*fh));
	strlcpy(fh->name, name, sizeof(fh->name));
	fh->up = 1;
	fake_hosts[fake_nhosts++] = fh;
	return fh;
}

struct fake_dom *
fake_dom(struct fake_host *fh, const char *name)
{
	size_t	i;

	for (i = 0; i < fh->ndoms; i++)
		if (strcmp(fh->doms[i].name, name) == 0)
			return &fh->doms[i];
	return NULL;
}

struct fake_dom *
fake_dom_add(struct fake_host *fh, const char *name)
{
	struct fake_dom	*d;

	if ((d = fake_dom(fh, name)) != NULL)
		return d;
	if (fh->ndoms == FAKE_DOMS_MAX)
		abort();
	d = &fh->doms[fh->ndoms++];
	memset(d, 0, sizeof(*d));
	strlcpy(d->name, name, sizeof(d->name));
	d->state = VIRT_STATE_SHUTOFF;
	d->agent = 1;
	d->tls_port = fake_next_port++;
	return d;
}

static void	fake_run(evutil_socket_t fd, short ev, void *arg);

/* Whether the head of the queue may be handed over now. */
static int
fake_ready(struct virt_host *h)
{
	struct fake_item	*it;

	TAILQ_FOREACH(it, &h->items, entry)
		if (it->kind != FAKE_JOB || !h->fh->hold)
			return 1;
	return 0;
}

void
fake_arm(struct virt_host *h)
{
	struct timeval	tv = { 0, 0 };

	if (fake_ready(h) && !evtimer_pending(h->timer, NULL))
		evtimer_add(h->timer, &tv);
}

static struct fake_item *
fake_item_new(struct virt_host *h, enum fake_kind kind, const char *dom)
{
	struct fake_item	*it = xcalloc(1, sizeof(*it));

	it->kind = kind;
	if (dom != NULL)
		strlcpy(it->dom, dom, sizeof(it->dom));
	TAILQ_INSERT_TAIL(&h->items, it, entry);
	return it;
}

/* An event of the host, for the loop (none while the broker holds none). */
void
fake_notify(struct fake_host *fh, enum fake_kind kind, const char *dom,
    int num, const char *arg)
{
	struct fake_item	*it;

	if (fh->handle == NULL)
		return;
	it = fake_item_new(fh->handle, kind, dom);
	it->num = num;
	if (arg != NULL)
		strlcpy(it->arg, arg, sizeof(it->arg));
	fake_arm(fh->handle);
}

static int
fake_job(struct virt_host *h, const char *op, const char *dom,
    virt_done_cb done, void *arg, struct fake_item **out)
{
	struct fake_item	*it;

	if (h == NULL)
		return -1;
	it = fake_item_new(h, FAKE_JOB, dom);
	strlcpy(it->op, op, sizeof(it->op));
	it->done = done;
	it->done_arg = arg;
	if (out != NULL)
		*out = it;
	fake_arm(h);
	return 0;
}

static void
fake_log(struct fake_host *fh, const struct fake_item *it)
{
	char	line[300];

	snprintf(line, sizeof(line), "%s %s%s%s\n", it->op, it->dom,
	    it->arg[0] != '\0' ? " " : "", it->arg);
	strlcat(fh->log, line, sizeof(fh->log));
}

/* Consumes an injected failure of op: 1 and res filled, or 0. */
static int
fake_failing(struct fake_host *fh, const char *op, struct virt_result *res)
{
	size_t	i;

	for (i = 0; i < fh->nfails; i++) {
		if (strcmp(fh->fails[i].op, op) != 0)
			continue;
		res->ok = 0;
		res->fault = fh->fails[i].fault;
		strlcpy(res->error, fh->fails[i].error, sizeof(res->error));
		strlcpy(res->blamed, fh->fails[i].blamed, sizeof(res->blamed));
		memmove(&fh->fails[i], &fh->fails[i + 1],
		    (fh->nfails - i - 1) * sizeof(fh->fails[0]));
		fh->nfails--;
		return 1;
	}
	return 0;
}

static int
fake_running(enum virt_state st)
{
	return st == VIRT_STATE_RUNNING || st == VIRT_STATE_PAUSED;
}

/* Changes dom's state with libvirt's lifecycle event when it changes. */
void
fake_change(struct fake_host *fh, struct fake_dom *d, enum virt_state st)
{
	if (d->state == st)
		return;
	d->state = st;
	if (!fake_running(st)) {
		d->npci = 0;
		d->npeers = 0;
	}
	fake_notify(fh, FAKE_DOM_STATE, d->name, (int)st, NULL);
}

/* The host's GPU inventory as virt_gpu_scan reads it; NULL on a bad XML. */
static struct gpu_inventory *
fake_inventory(struct fake_host *fh, unsigned long long *committed,
    char *err, size_t errlen)
{
	struct gpu_inventory	*inv = xcalloc(1, sizeof(*inv));
	struct fake_dom		*d;
	char			 xml[4096], one[512];
	size_t			 i, j;

	inv->iommu = 1;
	*committed = 0;
	for (i = 0; i < fh->nnodedevs; i++) {
		if (gpu_inventory_add_nodedev(inv, fh->nodedevs[i], err,
		    errlen) == -1) {
			gpu_inventory_free(inv);
			free(inv);
			return NULL;
		}
	}
	for (i = 0; i < fh->ndoms; i++) {
		d = &fh->doms[i];
		if (!fake_running(d->state))
			continue;
		*committed += FAKE_DOM_MEMORY_KIB;
		strlcpy(xml, "<domain><devices>", sizeof(xml));
		for (j = 0; j < d->npci; j++) {
			snprintf(one, sizeof(one), "<hostdev mode='subsystem' "
			    "type='pci' managed='no'><source><address "
			    "domain='0x%04x' bus='0x%02x' slot='0x%02x' "
			    "function='0x%x'/></source></hostdev>",
			    d->pci[j].domain, d->pci[j].bus, d->pci[j].slot,
			    d->pci[j].function);
			strlcat(xml, one, sizeof(xml));
		}
		strlcat(xml, "</devices></domain>", sizeof(xml));
		if (gpu_inventory_add_domain(inv, d->name, xml) == -1)
			abort();
	}
	return inv;
}

/* Whether the plan names a PCI function the host lacks (it vanished since
 * the scan): then res says so and blames it, as virt_gpu_check does. */
static int
fake_start_gone(struct fake_host *fh, const struct fake_item *it,
    struct virt_result *res)
{
	struct gpu_inventory	*inv;
	unsigned long long	 committed;
	char			 addr[GPU_ADDR_LEN];
	size_t			 i;
	int			 gone = 0;

	if ((inv = fake_inventory(fh, &committed, res->error,
	    sizeof(res->error))) == NULL)
		abort();
	for (i = 0; i < it->plan.xml.npci && !gone; i++) {
		if (gpu_find(inv, &it->plan.xml.pci[i]) != NULL)
			continue;
		gpu_addr_format(&it->plan.xml.pci[i], addr, sizeof(addr));
		res->ok = 0;
		snprintf(res->error, sizeof(res->error), "GPU %s is not on "
		    "host %s: no such PCI device", addr, fh->name);
		strlcpy(res->blamed, addr, sizeof(res->blamed));
		res->blamed_gone = gone = 1;
	}
	gpu_inventory_free(inv);
	free(inv);
	return gone;
}

/* Whether the plan asks to reset a function that cannot be: then res
 * says so and blames it, as virt_gpu_reset does. */
static int
fake_start_unreset(struct fake_host *fh, const struct fake_item *it,
    struct virt_result *res)
{
	char	addr[GPU_ADDR_LEN];
	size_t	i;

	for (i = 0; it->plan.reset && i < it->plan.xml.npci; i++) {
		gpu_addr_format(&it->plan.xml.pci[i], addr, sizeof(addr));
		if (strcmp(addr, fh->no_reset) != 0)
			continue;
		res->ok = 0;
		snprintf(res->error, sizeof(res->error), "GPU %s on host %s "
		    "cannot be reset: %.100s", addr, fh->name, fh->no_reset_why);
		strlcpy(res->blamed, addr, sizeof(res->blamed));
		res->blamed_reset = 1;
		return 1;
	}
	return 0;
}

static void
fake_start(struct fake_host *fh, struct fake_item *it, struct fake_dom *d,
    struct virt_result *res)
{
	size_t	i;

	if (fake_running(d->state))
		return;
	if (strcmp(it->op, "start") == 0 && (fake_start_gone(fh, it, res) ||
	    fake_start_unreset(fh, it, res)))
		return;
	if (strcmp(it->op, "start") == 0 && it->plan.xml.npci > 0) {
		for (i = 0; i < it->plan.xml.npci; i++)
			d->pci[i] = it->plan.xml.pci[i];
		d->npci = it->plan.xml.npci;
	}
	fake_change(fh, d, VIRT_STATE_RUNNING);
	res->state = d->state;
}

/* One job, as the worker would run it; the rest of res was zeroed. */
static void
fake_work(struct fake_host *fh, struct fake_item *it, struct virt_result *res,
    struct gpu_inventory **inv, const char ***names, enum virt_state **states)
{
	struct fake_dom		*d = fake_dom(fh, it->dom), *t;
	unsigned long long	 committed;
	static const uint8_t	 ppm[] = "P6\n1 1\n255\n\0\0\0";
	size_t			 i;

	res->ok = 1;
	res->state = d != NULL ? d->state : VIRT_STATE_MISSING;
	if (!fh->up) {
		res->ok = 0;
		res->fault = VIRT_FAULT_HOST;
		snprintf(res->error, sizeof(res->error), "fake host %s is "
		    "down", fh->name);
		res->state = VIRT_STATE_UNKNOWN;
		return;
	}
	if (fake_failing(fh, it->op, res))
		return;
	if (strcmp(it->op, "list") == 0) {
		*names = xcalloc(fh->ndoms + 1, sizeof(**names));
		*states = xcalloc(fh->ndoms + 1, sizeof(**states));
		for (i = 0; i < fh->ndoms; i++) {
			(*names)[i] = fh->doms[i].name;
			(*states)[i] = fh->doms[i].state;
		}
		res->ndomains = fh->ndoms;
		res->domain_names = *names;
		res->domain_states = *states;
		return;
	}
	if (strcmp(it->op, "scan") == 0) {
		if ((*inv = fake_inventory(fh, &committed, res->error,
		    sizeof(res->error))) == NULL) {
			res->ok = 0;
			return;
		}
		res->gpus = *inv;
		res->host_memory = FAKE_MEMORY_KIB;
		res->committed_memory = committed;
		res->dom_memory = FAKE_DOM_MEMORY_KIB;
		return;
	}
	if (strcmp(it->op, "mdev-remove") == 0)
		return;
	if (d == NULL && strcmp(it->op, "clone") != 0) {
		res->ok = 0;
		res->fault = VIRT_FAULT_LIBVIRT;
		snprintf(res->error, sizeof(res->error), "Domain not found: "
		    "no domain with matching name '%s'", it->dom);
		return;
	}
	if (strcmp(it->op, "start") == 0)
		fake_start(fh, it, d, res);
	else if (strcmp(it->op, "spice") == 0) {
		if (fake_running(d->state)) {
			res->tls_port = d->tls_port;
			strlcpy(res->listen, "192.0.2.10", sizeof(res->listen));
		}
	} else if (strcmp(it->op, "password") == 0) {
		if (!fake_running(d->state)) {
			res->ok = 0;
			res->fault = VIRT_FAULT_LIBVIRT;
			strlcpy(res->error, "Requested operation is not valid: "
			    "domain is not running", sizeof(res->error));
			return;
		}
		strlcpy(d->password, it->arg, sizeof(d->password));
		explicit_bzero(it->arg, sizeof(it->arg));
		strlcpy(it->arg, "(password)", sizeof(it->arg));
		if (it->num == VIRT_CONNECTED_DISCONNECT) {
			for (i = 0; i < d->npeers; i++)
				fake_notify(fh, FAKE_GRAPHICS, d->name,
				    VIRT_GRAPHICS_DISCONNECT, d->peers[i]);
			d->npeers = 0;
		}
	} else if (strcmp(it->op, "power") == 0) {
		switch ((enum virt_power)it->num) {
		case VIRT_POWER_SHUTDOWN:
		case VIRT_POWER_DESTROY:
			fake_change(fh, d, VIRT_STATE_SHUTOFF);
			break;
		case VIRT_POWER_REBOOT:
		case VIRT_POWER_RESET:
			if (fake_running(d->state))
				fake_notify(fh, FAKE_REBOOTED, d->name, 0, NULL);
			break;
		}
		res->state = d->state;
	} else if (strcmp(it->op, "revert") == 0) {
		fake_change(fh, d, VIRT_STATE_SHUTOFF);
		res->state = d->state;
	} else if (strcmp(it->op, "clone") == 0) {
		if ((t = fake_dom(fh, it->dom)) == NULL) {
			res->ok = 0;
			res->fault = VIRT_FAULT_LIBVIRT;
			snprintf(res->error, sizeof(res->error), "no template "
			    "%s", it->dom);
			return;
		}
		fake_dom_add(fh, it->arg);
		res->state = VIRT_STATE_SHUTOFF;
	} else if (strcmp(it->op, "remove-clone") == 0) {
		fake_change(fh, d, VIRT_STATE_SHUTOFF);
		i = (size_t)(d - fh->doms);
		memmove(d, d + 1, (fh->ndoms - i - 1) * sizeof(*d));
		fh->ndoms--;
		res->state = VIRT_STATE_MISSING;
	} else if (strcmp(it->op, "screenshot") == 0) {
		res->image = ppm;
		res->image_len = sizeof(ppm) - 1;
		res->image_mime = "image/x-portable-pixmap";
	} else if (strcmp(it->op, "ready") == 0) {
		res->ready_mode = it->num == VIRT_READY_AUTO ?
		    VIRT_READY_AGENT : (enum virt_ready)it->num;
		res->agent_channel = 1;
		res->agent_ok = d->agent && fake_running(d->state);
	} else if (strcmp(it->op, "lock") == 0) {
		if (!d->agent) {
			res->ok = 0;
			strlcpy(res->error, "the desktop has no guest agent",
			    sizeof(res->error));
		}
	} else if (strcmp(it->op, "gpu-strip") == 0) {
		if (!fake_running(d->state))
			d->npci = 0;
	}
}

static void
fake_run_job(struct virt_host *h, struct fake_item *it)
{
	struct virt_result	 res;
	struct gpu_inventory	*inv = NULL;
	const char		**names = NULL;
	enum virt_state		*states = NULL;

	memset(&res, 0, sizeof(res));
	fake_work(h->fh, it, &res, &inv, &names, &states);
	fake_log(h->fh, it);
	it->done(&res, it->done_arg);
	if (inv != NULL) {
		gpu_inventory_free(inv);
		free(inv);
	}
	free(names);
	free(states);
}

static void
fake_run(evutil_socket_t fd, short what, void *arg)
{
	struct virt_host	*h = arg;
	struct fake_item	*it;

	TAILQ_FOREACH(it, &h->items, entry)
		if (it->kind != FAKE_JOB || !h->fh->hold)
			break;
	if (it == NULL)
		return;
	TAILQ_REMOVE(&h->items, it, entry);
	/* Re-armed first: a callback may free the host. */
	fake_arm(h);
	switch (it->kind) {
	case FAKE_JOB:
		fake_run_job(h, it);
		break;
	case FAKE_HOST_UP:
		h->up = it->num;
		if (h->ev.host_up != NULL)
			h->ev.host_up(h, it->num, h->ev_arg);
		break;
	case FAKE_DOM_STATE:
		if (h->ev.domain_state != NULL)
			h->ev.domain_state(h, it->dom, (enum virt_state)it->num,
			    h->ev_arg);
		break;
	case FAKE_GRAPHICS:
		if (h->ev.graphics != NULL)
			h->ev.graphics(h, it->dom,
			    (enum virt_graphics_phase)it->num, it->arg,
			    h->ev_arg);
		break;
	case FAKE_REBOOTED:
		if (h->ev.rebooted != NULL)
			h->ev.rebooted(h, it->dom, h->ev_arg);
		break;
	}
	explicit_bzero(it, sizeof(*it));
	free(it);
}

/* lib/virt's API ----------------------------------------------------- */

int
virt_init(struct event_base *base)
{
	fake_base = base;
	return 0;
}

void
virt_shutdown(void)
{
	fake_base = NULL;
}

struct virt_host *
virt_host_new(const char *name, const char *uri, const struct virt_events *ev,
    void *arg)
{
	struct virt_host	*h;
	struct fake_host	*fh = fake_host(name);

	if (fake_base == NULL || fh->handle != NULL)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->fh = fh;
	if (ev != NULL)
		h->ev = *ev;
	h->ev_arg = arg;
	TAILQ_INIT(&h->items);
	h->timer = evtimer_new(fake_base, fake_run, h);
	fh->handle = h;
	/* The connection opens on the worker: up is heard later. */
	if (fh->up)
		fake_notify(fh, FAKE_HOST_UP, NULL, 1, NULL);
	return h;
}

void
virt_host_free(struct virt_host *h)
{
	struct fake_item	*it;

	if (h == NULL)
		return;
	while ((it = TAILQ_FIRST(&h->items)) != NULL) {
		TAILQ_REMOVE(&h->items, it, entry);
		free(it);
	}
	event_free(h->timer);
	h->fh->handle = NULL;
	free(h);
}

const char *
virt_host_name(const struct virt_host *h)
{
	return h->fh->name;
}

int
virt_host_is_up(const struct virt_host *h)
{
	return h != NULL && h->up;
}

void
virt_host_jobs(const struct virt_host *h, struct virt_job_stats *out)
{
	(void)h;
	memset(out, 0, sizeof(*out));
}

const char *
virt_host_error(const struct virt_host *h)
{
	return h->up ? "" : "fake: the host is down";
}

int
virt_state(struct virt_host *h, const char *dom, virt_done_cb done, void *arg)
{
	return fake_job(h, "state", dom, done, arg, NULL);
}

int
virt_list(struct virt_host *h, virt_done_cb done, void *arg)
{
	return fake_job(h, "list", NULL, done, arg, NULL);
}

int
virt_start(struct virt_host *h, const char *dom, virt_done_cb done, void *arg)
{
	return fake_job(h, "start", dom, done, arg, NULL);
}

int
virt_spice_info(struct virt_host *h, const char *dom, virt_done_cb done,
    void *arg)
{
	return fake_job(h, "spice", dom, done, arg, NULL);
}

int
virt_set_password(struct virt_host *h, const char *dom, const char *password,
    time_t valid_to, enum virt_connected conn, virt_done_cb done, void *arg)
{
	struct fake_item	*it;

	if (fake_job(h, "password", dom, done, arg, &it) == -1)
		return -1;
	strlcpy(it->arg, password, sizeof(it->arg));
	it->valid_to = valid_to;
	it->num = (int)conn;
	return 0;
}

int
virt_power(struct virt_host *h, const char *dom, enum virt_power op,
    virt_done_cb done, void *arg)
{
	struct fake_item	*it;

	if (fake_job(h, "power", dom, done, arg, &it) == -1)
		return -1;
	it->num = (int)op;
	strlcpy(it->arg, virt_power_name(op), sizeof(it->arg));
	return 0;
}

int
virt_revert(struct virt_host *h, const char *dom, const char *snapshot,
    virt_done_cb done, void *arg)
{
	struct fake_item	*it;

	if (fake_job(h, "revert", dom, done, arg, &it) == -1)
		return -1;
	strlcpy(it->arg, snapshot, sizeof(it->arg));
	return 0;
}

int
virt_lock(struct virt_host *h, const char *dom, virt_done_cb done, void *arg)
{
	return fake_job(h, "lock", dom, done, arg, NULL);
}

int
virt_clone(struct virt_host *h, const char *template_dom, const char *dom_new,
    virt_done_cb done, void *arg)
{
	struct fake_item	*it;

	if (fake_job(h, "clone", template_dom, done, arg, &it) == -1)
		return -1;
	strlcpy(it->arg, dom_new, sizeof(it->arg));
	return 0;
}

int
virt_remove_clone(struct virt_host *h, const char *dom, virt_done_cb done,
    void *arg)
{
	return fake_job(h, "remove-clone", dom, done, arg, NULL);
}

int
virt_screenshot(struct virt_host *h, const char *dom, unsigned int screen,
    virt_done_cb done, void *arg)
{
	return fake_job(h, "screenshot", dom, done, arg, NULL);
}

int
virt_ready_probe(struct virt_host *h, const char *dom, enum virt_ready mode,
    virt_done_cb done, void *arg)
{
	struct fake_item	*it;

	if (fake_job(h, "ready", dom, done, arg, &it) == -1)
		return -1;
	it->num = (int)mode;
	return 0;
}

int
virt_gpu_scan(struct virt_host *h, const char *dom, virt_done_cb done,
    void *arg)
{
	return fake_job(h, "scan", dom, done, arg, NULL);
}

int
virt_start_prepared(struct virt_host *h, const char *dom,
    const struct virt_start_plan *plan, virt_done_cb done, void *arg)
{
	struct fake_item	*it;

	if (fake_job(h, "start", dom, done, arg, &it) == -1)
		return -1;
	it->plan = *plan;
	if (plan->xml.clipboard == DOMXML_OFF)
		strlcpy(it->arg, "clipboard=off", sizeof(it->arg));
	return 0;
}

int
virt_gpu_strip(struct virt_host *h, const char *dom, virt_done_cb done,
    void *arg)
{
	return fake_job(h, "gpu-strip", dom, done, arg, NULL);
}

int
virt_mdev_remove(struct virt_host *h, const char *uuid, virt_done_cb done,
    void *arg)
{
	return fake_job(h, "mdev-remove", uuid, done, arg, NULL);
}
