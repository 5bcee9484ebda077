/* SPDX-License-Identifier: ISC */
/*
 * GPU allocation. The broker, not libvirt, decides which guest gets which
 * GPU: on the loop's thread, so two starts never pick the same device, and
 * in the state database, so a restart forgets nothing. A start scans the
 * host, picks free devices the pool may use, records them, then asks the
 * host's worker to check them again and start the guest with them. They go
 * back when the guest stops. A device that a start failure names is
 * quarantined until an admin clears it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "log.h"
#include "virt.h"
#include "xmalloc.h"

/* One start under way: what it is for and whom to tell. */
struct gpu_start {
	char		 pool[BROKER_NAME_MAX + 1];
	char		 host[BROKER_NAME_MAX + 1];
	char		 guest[128];
	uint64_t	 session;
	struct domxml_opts xml;		/* the caller's edits */
	virt_done_cb	 done;
	void		*arg;
};

/* The last inventory of each host, for placing new clones. */
struct gpu_cache {
	char			 host[BROKER_NAME_MAX + 1];
	struct gpu_inventory	 inv;
	UT_hash_handle		 hh;
};
static struct gpu_cache	*gpualloc_cache;

static void
gpualloc_key(char *key, size_t len, const char *host, const char *device)
{
	snprintf(key, len, "%s/%s", host, device);
}

/* Tells the admins' streams that a has been given or taken back. */
static void
gpualloc_publish(const struct gpu_alloc *a, const char *state)
{
	events_publish("gpu", ROLE_ADMIN, json_pack("{s:{s:s,s:s,s:s,s:s,"
	    "s:s}}", "gpu", "host", a->host, "device", a->device, "pool",
	    a->pool, "guest", a->guest, "state", state));
}

static struct gpu_alloc *
gpualloc_find(const char *host, const char *device)
{
	struct gpu_alloc	*a;
	char			 key[sizeof(a->key)];

	gpualloc_key(key, sizeof(key), host, device);
	HASH_FIND_STR(broker->gpu_allocs, key, a);
	return a;
}

static void
gpualloc_add(struct gpu_alloc *a)
{
	gpualloc_key(a->key, sizeof(a->key), a->host, a->device);
	HASH_ADD_STR(broker->gpu_allocs, key, a);
}

/* Records device for st's guest; parent and type for a mediated device
 * (NULL for a PCI one). */
static struct gpu_alloc *
gpualloc_new(const struct gpu_start *st, const char *device,
    const char *parent, const char *type)
{
	struct gpu_alloc	*a;

	a = xcalloc(1, sizeof(*a));
	strlcpy(a->host, st->host, sizeof(a->host));
	strlcpy(a->device, device, sizeof(a->device));
	if (parent != NULL) {
		strlcpy(a->parent, parent, sizeof(a->parent));
		strlcpy(a->mdev_type, type, sizeof(a->mdev_type));
	}
	strlcpy(a->pool, st->pool, sizeof(a->pool));
	strlcpy(a->guest, st->guest, sizeof(a->guest));
	a->session = st->session;
	a->since = time(NULL);
	a->starting = 1;
	gpualloc_add(a);
	gpualloc_publish(a, "allocated");
	if (db_gpu_alloc_save(broker->db, a) == -1)
		log_warnx("GPU %s on %s: could not save its allocation",
		    device, st->host);
	return a;
}

static void
gpualloc_mdev_removed(const struct virt_result *res, void *arg)
{
	char	*what = arg;

	if (!res->ok)
		log_warnx("%s: %s", what, res->error);
	free(what);
}

static void
gpualloc_free(struct gpu_alloc *a, const char *why)
{
	struct conf_host	*h;

	log_info("GPU %s on %s: released from %s (%s)", a->device, a->host,
	    a->guest, why);
	if (a->parent[0] != '\0' &&
	    (h = conf_host_find(broker->conf, a->host)) != NULL)
		virt_mdev_remove(h->virt, a->device, gpualloc_mdev_removed,
		    xstrdup(a->device));
	if (db_gpu_alloc_del(broker->db, a) == -1)
		log_warnx("GPU %s on %s: could not delete its allocation",
		    a->device, a->host);
	gpualloc_publish(a, "released");
	HASH_DEL(broker->gpu_allocs, a);
	free(a);
}

/* Gives back what guest holds on host; starting ones too if all. */
static int
gpualloc_release(const char *host, const char *guest, int all,
    const char *why)
{
	struct gpu_alloc	*a, *tmp;
	int			 n = 0;

	HASH_ITER(hh, broker->gpu_allocs, a, tmp) {
		if (strcmp(a->host, host) == 0 && strcmp(a->guest, guest) == 0 &&
		    (all || !a->starting)) {
			gpualloc_free(a, why);
			n++;
		}
	}
	return n;
}

static void
gpualloc_stripped(const struct virt_result *res, void *arg)
{
	char	*guest = arg;

	if (!res->ok && res->state != VIRT_STATE_MISSING)
		log_warnx("desktop %s keeps its GPU in its definition: %s",
		    guest, res->error);
	free(guest);
}

/* The guest's definition loses the GPU it no longer holds. */
static void
gpualloc_strip(const char *host, const char *guest)
{
	struct conf_host	*h = conf_host_find(broker->conf, host);

	if (h != NULL)
		virt_gpu_strip(h->virt, guest, gpualloc_stripped,
		    xstrdup(guest));
}

static int
gpualloc_matches(const struct conf_gpu *g, const struct gpu_pci_dev *d)
{
	size_t	i;

	if (g->ndevices > 0) {
		for (i = 0; i < g->ndevices; i++)
			if (gpu_addr_equal(&g->devices[i], &d->addr))
				break;
		if (i == g->ndevices)
			return 0;
	}
	if (g->nmatch == 0)
		return 1;
	for (i = 0; i < g->nmatch; i++)
		if (g->match[i].vendor == d->vendor_id &&
		    (g->match[i].product == -1 ||
		    g->match[i].product == d->product_id))
			return 1;
	return 0;
}

/*
 * Whether the last inventory of host had addr: then a scan without it
 * means it vanished, rather than a pool naming a device never there.
 */
static int
gpualloc_had(const char *host, const char *addr)
{
	struct gpu_cache	*c;
	struct gpu_addr		 a;

	HASH_FIND_STR(gpualloc_cache, host, c);
	return c != NULL && gpu_addr_parse(addr, &a) == 0 &&
	    gpu_find(&c->inv, &a) != NULL;
}

/*
 * Quarantines the devices of p that the last inventory of st's host had
 * and inv lacks: a pool that picks by gpu_match names no address, so this
 * is how it learns that a card fell off the bus before a start could
 * blame it. mdev pools look for parents offering their type. The count
 * of them, with the last one's address and sentence in one_addr, one_why.
 */
static size_t
gpualloc_lost(const struct gpu_start *st, const struct conf_pool *p,
    const struct gpu_inventory *inv, char *one_addr, char *one_why,
    size_t len)
{
	const struct gpu_pci_dev	*d;
	struct gpu_cache		*c;
	size_t				 i, j, n = 0;

	HASH_FIND_STR(gpualloc_cache, st->host, c);
	if (c == NULL)
		return 0;
	for (i = 0; i < c->inv.ndevs; i++) {
		d = &c->inv.devs[i];
		if (!gpualloc_matches(&p->gpu, d) ||
		    gpu_find(inv, &d->addr) != NULL)
			continue;
		if (p->gpu.mode == GPU_MODE_MDEV) {
			for (j = 0; j < d->nmdev_types; j++)
				if (strcmp(d->mdev_types[j].id,
				    p->gpu.mdev_type) == 0)
					break;
			if (j == d->nmdev_types)
				continue;
		} else if (!gpu_is_display(d))
			continue;
		n++;
		gpu_addr_format(&d->addr, one_addr, GPU_ADDR_LEN);
		gpuquarantine_vanished(st->host, st->guest, one_addr, 1,
		    one_why, len);
	}
	return n;
}

/*
 * Why d cannot go to st's guest now, or "" when it can: given to another
 * guest, quarantined, or unfit (gpu_check's sentence).
 */
static void
gpualloc_why_not(const struct gpu_start *st, const struct conf_gpu *g,
    const struct gpu_inventory *inv, const struct gpu_pci_dev *d,
    char *why, size_t len)
{
	struct gpu_alloc	*a;
	char			 addr[GPU_ADDR_LEN], reason[200];

	why[0] = '\0';
	gpu_addr_format(&d->addr, addr, sizeof(addr));
	if ((a = gpualloc_find(st->host, addr)) != NULL &&
	    strcmp(a->guest, st->guest) != 0) {
		snprintf(why, len, "given to desktop %s", a->guest);
		return;
	}
	if (db_gpu_out_of_service(broker->db, st->host, addr, reason,
	    sizeof(reason))) {
		snprintf(why, len, "quarantined: %s", reason);
		return;
	}
	if (gpu_check(inv, d, st->guest, g->detach, reason, sizeof(reason)) !=
	    GPU_ASSIGNABLE)
		strlcpy(why, reason, len);
}

/* The sentence for a pool that found too few GPUs. */
static void
gpualloc_refusal(const struct gpu_start *st, size_t nseen,
    const char *one_addr, const char *one_why, char *err, size_t len)
{
	const struct conf_pool	*p = conf_pool_find(broker->conf, st->pool);
	char			 addr[GPU_ADDR_LEN];

	if (nseen == 1 && p->gpu.count == 1 &&
	    (strncmp(one_why, "given", 5) == 0 ||
	    strncmp(one_why, "quarantined", 11) == 0))
		snprintf(err, len, "GPU %s is %s", one_addr, one_why);
	else if (nseen == 1 && p->gpu.count == 1 &&
	    (strncmp(one_why, "vanished", 8) == 0 ||
	    strncmp(one_why, "is not on", 9) == 0))
		snprintf(err, len, "GPU %s %s", one_addr, one_why);
	else if (nseen == 1 && p->gpu.count == 1)
		snprintf(err, len, "GPU %s cannot be used: %s", one_addr,
		    one_why);
	else if (nseen == 0 && p->gpu.ndevices == 1) {
		gpu_addr_format(&p->gpu.devices[0], addr, sizeof(addr));
		snprintf(err, len, "GPU %s on host %s is not a display device "
		    "that pool %s may use", addr, st->host, st->pool);
	} else if (nseen == 0)
		snprintf(err, len, "host %s has no GPU that pool %s may use",
		    st->host, st->pool);
	else
		snprintf(err, len, "no free GPU in pool %s", st->pool);
}

/*
 * Picks and records the pool's PCI GPUs for st's guest and fills the
 * plan's functions; 0, or -1 with err set.
 */
static int
gpualloc_pick_pci(const struct gpu_start *st, const struct conf_pool *p,
    const struct gpu_inventory *inv, struct virt_start_plan *plan, char *err,
    size_t len)
{
	const struct gpu_pci_dev	*d, *picked[CONF_GPU_COUNT_MAX];
	struct gpu_addr			 funcs[GPU_GROUP_MAX];
	struct gpu_alloc		*a;
	char				 addr[GPU_ADDR_LEN], why[256];
	char				 one_addr[GPU_ADDR_LEN] = "";
	char				 one_why[256] = "";
	size_t				 i, j, n, npicked = 0, nseen = 0;

	for (i = 0; i < p->gpu.ndevices; i++) {
		if (gpu_find(inv, &p->gpu.devices[i]) != NULL)
			continue;
		nseen++;
		gpu_addr_format(&p->gpu.devices[i], one_addr,
		    sizeof(one_addr));
		gpuquarantine_vanished(st->host, st->guest, one_addr,
		    gpualloc_had(st->host, one_addr), one_why,
		    sizeof(one_why));
	}
	if (p->gpu.ndevices == 0)
		nseen += gpualloc_lost(st, p, inv, one_addr, one_why,
		    sizeof(one_why));
	for (i = 0; i < inv->ndevs && npicked < p->gpu.count; i++) {
		d = &inv->devs[i];
		if (!gpu_is_display(d) || !gpualloc_matches(&p->gpu, d))
			continue;
		nseen++;
		gpualloc_why_not(st, &p->gpu, inv, d, why, sizeof(why));
		if (why[0] == '\0') {
			picked[npicked++] = d;
			continue;
		}
		gpu_addr_format(&d->addr, one_addr, sizeof(one_addr));
		strlcpy(one_why, why, sizeof(one_why));
		log_info("pool %s: GPU %s on %s is not for %s: %s", st->pool,
		    one_addr, st->host, st->guest, why);
	}
	if (npicked < p->gpu.count) {
		gpualloc_refusal(st, nseen, one_addr, one_why, err, len);
		return -1;
	}
	for (i = 0; i < npicked; i++) {
		n = gpu_functions(inv, picked[i], funcs, GPU_GROUP_MAX);
		if (plan->xml.npci + n > DOMXML_PCI_MAX) {
			snprintf(err, len, "pool %s asks for more PCI functions "
			    "than a desktop may have (%d)", st->pool,
			    DOMXML_PCI_MAX);
			return -1;
		}
		for (j = 0; j < n; j++)
			plan->xml.pci[plan->xml.npci++] = funcs[j];
	}
	for (i = 0; i < npicked; i++) {
		gpu_addr_format(&picked[i]->addr, addr, sizeof(addr));
		if ((a = gpualloc_find(st->host, addr)) == NULL)
			a = gpualloc_new(st, addr, NULL, NULL);
		a->starting = 1;
	}
	return 0;
}

/* Mediated devices of type not yet made for recorded allocations. */
static unsigned
gpualloc_mdev_pending(const char *host, const char *parent, const char *type)
{
	struct gpu_alloc	*a, *tmp;
	unsigned		 n = 0;

	HASH_ITER(hh, broker->gpu_allocs, a, tmp)
		if (a->starting && strcmp(a->host, host) == 0 &&
		    strcmp(a->parent, parent) == 0 &&
		    strcmp(a->mdev_type, type) == 0)
			n++;
	return n;
}

static void
gpualloc_uuid(char *out, size_t len)
{
	uint8_t	b[16];

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Picks the parent with the most free instances of the pool's type. */
static int
gpualloc_pick_mdev(const struct gpu_start *st, const struct conf_pool *p,
    const struct gpu_inventory *inv, struct virt_start_plan *plan, char *err,
    size_t len)
{
	const struct gpu_pci_dev	*d, *best = NULL;
	char				 addr[GPU_ADDR_LEN], reason[200];
	char				 lost_addr[GPU_ADDR_LEN], lost[200];
	char				 one[256] = "";
	unsigned			 avail, best_avail = 0, pending;
	size_t				 i, j, nseen = 0, nlost;

	nlost = gpualloc_lost(st, p, inv, lost_addr, lost, sizeof(lost));
	for (i = 0; i < inv->ndevs; i++) {
		d = &inv->devs[i];
		if (!gpualloc_matches(&p->gpu, d))
			continue;
		for (j = 0; j < d->nmdev_types; j++)
			if (strcmp(d->mdev_types[j].id, p->gpu.mdev_type) == 0)
				break;
		if (j == d->nmdev_types)
			continue;
		nseen++;
		gpu_addr_format(&d->addr, addr, sizeof(addr));
		if (db_gpu_out_of_service(broker->db, st->host, addr, reason,
		    sizeof(reason))) {
			snprintf(one, sizeof(one), "GPU %s is quarantined: %s",
			    addr, reason);
			continue;
		}
		pending = gpualloc_mdev_pending(st->host, addr,
		    p->gpu.mdev_type);
		avail = d->mdev_types[j].available > pending ?
		    d->mdev_types[j].available - pending : 0;
		if (avail > best_avail) {
			best = d;
			best_avail = avail;
		}
	}
	if (best == NULL) {
		if (nseen == 0 && nlost == 1)
			snprintf(err, len, "GPU %s %s%s", lost_addr,
			    strncmp(lost, "quarantined", 11) == 0 ? "is " : "",
			    lost);
		else if (nseen == 0)
			snprintf(err, len, "host %s has no GPU that offers "
			    "mediated devices of type %s", st->host,
			    p->gpu.mdev_type);
		else if (nseen == 1 && one[0] != '\0')
			strlcpy(err, one, len);
		else
			snprintf(err, len, "no free GPU in pool %s: every %s "
			    "mediated device is taken", st->pool,
			    p->gpu.mdev_type);
		return -1;
	}
	gpu_addr_format(&best->addr, plan->mdev_parent,
	    sizeof(plan->mdev_parent));
	strlcpy(plan->mdev_type, p->gpu.mdev_type, sizeof(plan->mdev_type));
	gpualloc_uuid(plan->xml.mdev_uuid, sizeof(plan->xml.mdev_uuid));
	plan->xml.mdev_display = p->gpu.mdev_display;
	gpualloc_new(st, plan->xml.mdev_uuid, plan->mdev_parent,
	    plan->mdev_type);
	return 0;
}

/* A running guest keeps what it holds: recorded if the state lacks it
 * (the broker lost it, or an admin started the guest). */
static void
gpualloc_adopt(const struct gpu_start *st, const struct gpu_inventory *inv)
{
	const struct gpu_pci_dev	*d;
	struct gpu_alloc		*a;
	char				 dev[GPU_UUID_LEN];
	size_t				 i;

	for (i = 0; i < inv->nuses; i++) {
		if (strcmp(inv->uses[i].domain, st->guest) != 0)
			continue;
		if (inv->uses[i].mdev[0] != '\0')
			strlcpy(dev, inv->uses[i].mdev, sizeof(dev));
		else if ((d = gpu_find(inv, &inv->uses[i].addr)) != NULL &&
		    gpu_is_display(d))
			gpu_addr_format(&d->addr, dev, sizeof(dev));
		else
			continue;
		if ((a = gpualloc_find(st->host, dev)) == NULL)
			a = gpualloc_new(st, dev, NULL, NULL);
		a->starting = 0;
	}
}

static void
gpualloc_fail(struct gpu_start *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Tells the starter that it failed, with a sentence; frees st. */
static void
gpualloc_fail(struct gpu_start *st, const char *fmt, ...)
{
	struct virt_result	res;
	va_list			ap;

	memset(&res, 0, sizeof(res));
	res.state = VIRT_STATE_UNKNOWN;
	va_start(ap, fmt);
	vsnprintf(res.error, sizeof(res.error), fmt, ap);
	va_end(ap);
	st->done(&res, st->arg);
	free(st);
}

static void
gpualloc_started(const struct virt_result *res, void *arg)
{
	struct gpu_start	*st = arg;
	struct gpu_alloc	*a, *tmp;
	char			 reason[200];

	if (res->ok) {
		HASH_ITER(hh, broker->gpu_allocs, a, tmp)
			if (strcmp(a->host, st->host) == 0 &&
			    strcmp(a->guest, st->guest) == 0)
				a->starting = 0;
		st->done(res, st->arg);
		free(st);
		return;
	}
	gpualloc_release(st->host, st->guest, 1, "the start failed");
	gpualloc_strip(st->host, st->guest);
	if (res->blamed[0] == '\0') {
		st->done(res, st->arg);
		free(st);
		return;
	}
	if (res->blamed_gone) {
		gpuquarantine_reason(st->host, 1, reason, sizeof(reason));
		gpuquarantine_put(st->host, res->blamed, reason, st->guest);
		gpualloc_fail(st, "GPU %s vanished from host %s and is "
		    "quarantined until an admin clears it", res->blamed,
		    st->host);
		return;
	}
	/* Not reset: the last user's screen may still be in its memory. */
	if (res->blamed_reset) {
		gpuquarantine_put(st->host, res->blamed, res->error,
		    st->guest);
		gpualloc_fail(st, "%s; GPU %s is quarantined until an admin "
		    "clears it", res->error, res->blamed);
		return;
	}
	gpuquarantine_put(st->host, res->blamed, res->error, st->guest);
	gpualloc_fail(st, "GPU %s failed and is quarantined until an admin "
	    "clears it: %s", res->blamed, res->error);
}

static void
gpualloc_remember(const char *host, const struct gpu_inventory *inv)
{
	struct gpu_cache	*c;

	HASH_FIND_STR(gpualloc_cache, host, c);
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		strlcpy(c->host, host, sizeof(c->host));
		HASH_ADD_STR(gpualloc_cache, host, c);
	} else
		gpu_inventory_free(&c->inv);
	c->inv.iommu = inv->iommu;
	c->inv.ndevs = inv->ndevs;
	c->inv.nuses = inv->nuses;
	c->inv.devs = xreallocarray(NULL, inv->ndevs + 1, sizeof(*inv->devs));
	if (inv->ndevs > 0)
		memcpy(c->inv.devs, inv->devs, inv->ndevs *
		    sizeof(*inv->devs));
	c->inv.uses = xreallocarray(NULL, inv->nuses + 1, sizeof(*inv->uses));
	if (inv->nuses > 0)
		memcpy(c->inv.uses, inv->uses, inv->nuses *
		    sizeof(*inv->uses));
}

long
gpualloc_room(const struct conf_pool *p, const struct conf_host *h)
{
	struct gpu_cache		*c;
	struct gpu_start		 st;
	const struct gpu_pci_dev	*d;
	char				 why[256], addr[GPU_ADDR_LEN];
	long				 n = 0;
	unsigned			 pending;
	size_t				 i, j;

	HASH_FIND_STR(gpualloc_cache, h->name, c);
	if (c == NULL)
		return -1;
	memset(&st, 0, sizeof(st));
	strlcpy(st.host, h->name, sizeof(st.host));
	for (i = 0; i < c->inv.ndevs; i++) {
		d = &c->inv.devs[i];
		if (!gpualloc_matches(&p->gpu, d))
			continue;
		if (p->gpu.mode == GPU_MODE_PASSTHROUGH) {
			if (!gpu_is_display(d))
				continue;
			gpualloc_why_not(&st, &p->gpu, &c->inv, d, why,
			    sizeof(why));
			n += why[0] == '\0';
			continue;
		}
		gpu_addr_format(&d->addr, addr, sizeof(addr));
		for (j = 0; j < d->nmdev_types; j++) {
			if (strcmp(d->mdev_types[j].id, p->gpu.mdev_type) != 0)
				continue;
			pending = gpualloc_mdev_pending(h->name, addr,
			    p->gpu.mdev_type);
			if (d->mdev_types[j].available > pending)
				n += d->mdev_types[j].available - pending;
		}
	}
	return p->gpu.mode == GPU_MODE_PASSTHROUGH ? n / p->gpu.count : n;
}

static void
gpualloc_scanned(const struct virt_result *res, void *arg)
{
	struct gpu_start	*st = arg;
	struct conf_pool	*p = conf_pool_find(broker->conf, st->pool);
	struct conf_host	*h = conf_host_find(broker->conf, st->host);
	struct virt_start_plan	 plan;
	char			 err[VIRT_ERROR_MAX];
	int			 rc;

	if (!res->ok || p == NULL || h == NULL) {
		st->done(res, st->arg);
		free(st);
		return;
	}
	if (res->state == VIRT_STATE_RUNNING ||
	    res->state == VIRT_STATE_PAUSED ||
	    res->state == VIRT_STATE_STARTING) {
		gpualloc_remember(st->host, res->gpus);
		gpualloc_adopt(st, res->gpus);
		st->done(res, st->arg);
		free(st);
		return;
	}
	/* Stopped: whatever it held before is chosen again below. */
	gpualloc_release(st->host, st->guest, 0, "starting anew");
	memset(&plan, 0, sizeof(plan));
	plan.xml = st->xml;
	if (p->gpu.mode == GPU_MODE_MDEV)
		rc = gpualloc_pick_mdev(st, p, res->gpus, &plan, err,
		    sizeof(err));
	else
		rc = gpualloc_pick_pci(st, p, res->gpus, &plan, err,
		    sizeof(err));
	/* Only now: the pick compares the host with its last inventory. */
	gpualloc_remember(st->host, res->gpus);
	if (rc == -1) {
		gpualloc_fail(st, "%s", err);
		return;
	}
	plan.detach = p->gpu.detach;
	plan.reset = p->gpu.reset;
	plan.xml.gpu_display = p->gpu.display;
	plan.xml.ovmf = p->gpu.ovmf;
	plan.xml.kvm_hidden = p->gpu.kvm_hidden;
	strlcpy(plan.xml.vendor_id, p->gpu.vendor_id,
	    sizeof(plan.xml.vendor_id));
	if (virt_start_prepared(h->virt, st->guest, &plan, gpualloc_started,
	    st) == -1) {
		gpualloc_release(st->host, st->guest, 1, "out of memory");
		gpualloc_fail(st, "out of memory");
	}
}

int
gpualloc_start(struct conf_pool *p, struct conf_host *h, const char *guest,
    uint64_t session, const struct domxml_opts *xml, virt_done_cb done,
    void *arg)
{
	struct gpu_start	*st;

	st = xcalloc(1, sizeof(*st));
	strlcpy(st->pool, p->name, sizeof(st->pool));
	strlcpy(st->host, h->name, sizeof(st->host));
	strlcpy(st->guest, guest, sizeof(st->guest));
	st->session = session;
	if (xml != NULL)
		st->xml = *xml;
	st->done = done;
	st->arg = arg;
	if (virt_gpu_scan(h->virt, guest, gpualloc_scanned, st) == -1) {
		free(st);
		return -1;
	}
	return 0;
}

void
gpualloc_domain_state(const char *host, const char *dom, int running)
{
	if (!running && gpualloc_release(host, dom, 0, "the desktop stopped") >
	    0)
		gpualloc_strip(host, dom);
}

static void
gpualloc_reconcile(const struct virt_result *res, void *arg)
{
	char			*host = arg;
	struct gpu_alloc	*a, *tmp;
	size_t			 i;
	int			 running;

	if (!res->ok) {
		free(host);
		return;
	}
	HASH_ITER(hh, broker->gpu_allocs, a, tmp) {
		if (strcmp(a->host, host) != 0 || a->starting)
			continue;
		running = 0;
		for (i = 0; i < res->ndomains; i++)
			if (strcmp(res->domain_names[i], a->guest) == 0)
				running = res->domain_states[i] !=
				    VIRT_STATE_SHUTOFF &&
				    res->domain_states[i] != VIRT_STATE_CRASHED;
		if (!running) {
			gpualloc_strip(host, a->guest);
			gpualloc_free(a, "the desktop is not running");
		}
	}
	free(host);
}

static void
gpualloc_inventoried(const struct virt_result *res, void *arg)
{
	char	*host = arg;

	if (res->ok)
		gpualloc_remember(host, res->gpus);
	else
		log_warnx("host %s: no GPU inventory: %s", host, res->error);
	free(host);
}

/*
 * A host is (back) up: what stopped meanwhile gives its GPUs back, and its
 * inventory is read for placing clones of GPU pools.
 */
void
gpualloc_host_up(const char *host)
{
	struct conf_host	*h = conf_host_find(broker->conf, host);
	size_t			 i;

	if (h == NULL)
		return;
	virt_list(h->virt, gpualloc_reconcile, xstrdup(host));
	for (i = 0; i < broker->conf->npools; i++) {
		if (broker->conf->pools[i].gpu.mode != GPU_MODE_NONE) {
			virt_gpu_scan(h->virt, NULL, gpualloc_inventoried,
			    xstrdup(host));
			return;
		}
	}
}

static void
gpualloc_restore_one(struct gpu_alloc *a, void *arg)
{
	if (conf_host_find(broker->conf, a->host) == NULL) {
		log_warnx("GPU %s: its host %s is no longer configured, "
		    "forgetting its allocation to %s", a->device, a->host,
		    a->guest);
		db_gpu_alloc_del(broker->db, a);
		free(a);
		return;
	}
	gpualloc_add(a);
}

int
gpualloc_restore(void)
{
	return db_gpu_alloc_load(broker->db, gpualloc_restore_one, NULL);
}

/* What the guest holds, for the helpdesk: ["0000:41:00.0"] or
 * ["nvidia-222 on 0000:44:00.0"]; NULL when nothing. */
json_t *
gpualloc_guest_json(const char *host, const char *guest)
{
	struct gpu_alloc	*a, *tmp;
	json_t			*list = NULL;
	char			 buf[160];

	HASH_ITER(hh, broker->gpu_allocs, a, tmp) {
		if (strcmp(a->host, host) != 0 || strcmp(a->guest, guest) != 0)
			continue;
		if (list == NULL)
			list = json_array();
		if (a->parent[0] != '\0')
			snprintf(buf, sizeof(buf), "%s on %s", a->mdev_type,
			    a->parent);
		else
			strlcpy(buf, a->device, sizeof(buf));
		json_array_append_new(list, json_string(buf));
	}
	return list;
}

/* The allocation of a device, for the inventory views; NULL if free. */
const struct gpu_alloc *
gpualloc_of(const char *host, const char *device)
{
	return gpualloc_find(host, device);
}

/* GPUs given to guests of the pool named pool. */
unsigned
gpualloc_count_pool(const char *pool)
{
	struct gpu_alloc	*a, *tmp;
	unsigned		 n = 0;

	HASH_ITER(hh, broker->gpu_allocs, a, tmp)
		if (strcmp(a->pool, pool) == 0)
			n++;
	return n;
}
