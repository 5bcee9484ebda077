/* SPDX-License-Identifier: ISC */
/*
 * The GPU jobs of a libvirt host: the inventory of its PCI devices and the
 * start of a guest with a GPU, each device checked again just before, as
 * QEMU's own errors ("group 14 is not viable") are what users of other
 * brokers are left with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "domxml.h"
#include "gpu.h"
#include "log.h"
#include "virt.h"
#include "virtgpu.h"
#include "virtpriv.h"

#define VIRT_GIB	(1024.0 * 1024.0)	/* KiB in a GiB */

static int
virt_gpu_addr_cmp(const void *a, const void *b)
{
	const struct gpu_addr	*x = &((const struct gpu_pci_dev *)a)->addr;
	const struct gpu_addr	*y = &((const struct gpu_pci_dev *)b)->addr;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	if (x->bus != y->bus)
		return x->bus < y->bus ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return (int)x->function - (int)y->function;
}

/* Node device names are pci_DDDD_BB_SS_F. */
static void
virt_gpu_nodedev_name(const struct gpu_addr *a, char *buf, size_t len)
{
	snprintf(buf, len, "pci_%04x_%02x_%02x_%x", a->domain, a->bus,
	    a->slot, a->function);
}

int
virt_gpu_collect(virConnectPtr conn, struct gpu_inventory *inv,
    unsigned long long *committed, char *err, size_t errlen)
{
	virNodeDevicePtr	*devs = NULL;
	virDomainPtr		*doms = NULL;
	virDomainInfo		 info;
	char			*xml, *caps, msg[VIRT_ERROR_MAX];
	int			 ndevs, ndoms = 0, i, ret = -1;

	*committed = 0;
	ndevs = virConnectListAllNodeDevices(conn, &devs,
	    VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV);
	if (ndevs == -1) {
		snprintf(err, errlen, "listing PCI devices: %s",
		    virt_last_error(msg, sizeof(msg)));
		return -1;
	}
	for (i = 0; i < ndevs; i++) {
		if ((xml = virNodeDeviceGetXMLDesc(devs[i], 0)) == NULL) {
			virResetLastError();
			continue;	/* unplugged meanwhile */
		}
		if (gpu_inventory_add_nodedev(inv, xml, msg, sizeof(msg)) == -1)
			log_warnx("node device %s: %s",
			    virNodeDeviceGetName(devs[i]), msg);
		free(xml);
	}
	/* By address, so that listings and picks do not follow sysfs order. */
	qsort(inv->devs, inv->ndevs, sizeof(*inv->devs), virt_gpu_addr_cmp);
	if ((caps = virConnectGetCapabilities(conn)) != NULL) {
		inv->iommu = strstr(caps, "<iommu support='yes'/>") != NULL;
		free(caps);
	} else
		virResetLastError();

	ndoms = virConnectListAllDomains(conn, &doms,
	    VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (ndoms == -1) {
		snprintf(err, errlen, "listing running domains: %s",
		    virt_last_error(msg, sizeof(msg)));
		ndoms = 0;
		goto out;
	}
	for (i = 0; i < ndoms; i++) {
		if (virDomainGetInfo(doms[i], &info) == 0)
			*committed += info.maxMem;
		if ((xml = virDomainGetXMLDesc(doms[i], 0)) == NULL) {
			virResetLastError();
			continue;
		}
		gpu_inventory_add_domain(inv, virDomainGetName(doms[i]), xml);
		free(xml);
	}
	ret = 0;
out:
	for (i = 0; i < ndevs; i++)
		virNodeDeviceFree(devs[i]);
	free(devs);
	for (i = 0; i < ndoms; i++)
		virDomainFree(doms[i]);
	free(doms);
	virResetLastError();
	return ret;
}

/* Fills inv from the host; 0, or -1 with the job's error set. */
static int
virt_gpu_inventory(struct virt_job *job, struct gpu_inventory *inv)
{
	char	err[VIRT_ERROR_MAX];

	if (virt_gpu_collect(job->h->conn, inv, &job->res.committed_memory,
	    err, sizeof(err)) == -1) {
		if (virConnectIsAlive(job->h->conn) != 1)
			virt_seterror(job, "host %s is unreachable: %s",
			    job->h->name, err);
		else
			virt_seterror(job, "host %s: %s", job->h->name, err);
		return -1;
	}
	return 0;
}

/* The host's installed memory and dom's maximum (KiB) into the result. */
static void
virt_gpu_memory(struct virt_job *job, virDomainPtr d)
{
	virNodeInfo	node;

	if (virNodeGetInfo(job->h->conn, &node) == 0)
		job->res.host_memory = node.memory;
	else
		virResetLastError();
	if (d != NULL)
		job->res.dom_memory = virDomainGetMaxMemory(d);
}

static void
virt_gpu_scan_work(struct virt_job *job)
{
	virDomainPtr	d = NULL;

	if ((job->gpus = calloc(1, sizeof(*job->gpus))) == NULL) {
		virt_seterror(job, "host %s: out of memory", job->h->name);
		return;
	}
	if (job->dom[0] != '\0') {
		if ((d = virt_lookup(job)) == NULL)
			return;
		job->res.state = virt_domain_state(d);
	}
	if (virt_gpu_inventory(job, job->gpus) == 0) {
		virt_gpu_memory(job, d);
		job->res.ok = 1;
	}
	if (d != NULL)
		virDomainFree(d);
}

/* Binds a to vfio-pci; 0, or -1 with the error set and a blamed. */
static int
virt_gpu_detach(struct virt_job *job, const struct gpu_addr *a,
    const char *addr)
{
	virNodeDevicePtr	dev;
	char			name[64], msg[VIRT_ERROR_MAX];
	int			rc;

	virt_gpu_nodedev_name(a, name, sizeof(name));
	dev = virNodeDeviceLookupByName(job->h->conn, name);
	rc = dev != NULL ? virNodeDeviceDetachFlags(dev, "vfio", 0) : -1;
	/* The message before virNodeDeviceFree clears it. */
	if (rc == -1)
		virt_last_error(msg, sizeof(msg));
	if (dev != NULL)
		virNodeDeviceFree(dev);
	if (rc == -1) {
		virt_seterror(job, "GPU %s could not be bound to vfio-pci: %s",
		    addr, msg);
		strlcpy(job->res.blamed, addr, sizeof(job->res.blamed));
		virResetLastError();
		return -1;
	}
	log_info("host %s: bound %s to vfio-pci", job->h->name, addr);
	return 0;
}

/*
 * Each PCI function of the plan, against the host as it is now; detaches
 * where the plan says so. 0, or -1 with the error set.
 */
static int
virt_gpu_check(struct virt_job *job, struct gpu_inventory *inv)
{
	struct domxml_opts		*o = &job->plan.xml;
	const struct gpu_pci_dev	*d;
	char				 addr[GPU_ADDR_LEN], why[256];
	size_t				 i;

	for (i = 0; i < o->npci; i++) {
		gpu_addr_format(&o->pci[i], addr, sizeof(addr));
		if ((d = gpu_find(inv, &o->pci[i])) == NULL) {
			virt_seterror(job, "GPU %s is not on host %s: no such "
			    "PCI device", addr, job->h->name);
			strlcpy(job->res.blamed, addr, sizeof(job->res.blamed));
			job->res.blamed_gone = 1;
			return -1;
		}
		if (i == 0 && gpu_check(inv, d, job->dom, job->plan.detach,
		    why, sizeof(why)) != GPU_ASSIGNABLE) {
			virt_seterror(job, "GPU %s cannot be given to %s: %s",
			    addr, job->dom, why);
			return -1;
		}
		/* A function without a driver (or on pci-stub) is libvirt's
		 * to bind; a host driver's only with the pool's leave. */
		if (strcmp(d->driver, "vfio-pci") == 0)
			continue;
		if (d->driver[0] == '\0' || strcmp(d->driver, "pci-stub") == 0)
			job->plan.xml.pci_managed[i] = 1;
		else if (!job->plan.detach) {
			virt_seterror(job, "GPU %s: %s is bound to its host "
			    "driver %s: bind it to vfio-pci, or set gpu_detach "
			    "in the pool", job->dom, addr, d->driver);
			return -1;
		} else if (virt_gpu_detach(job, &o->pci[i], addr) == -1)
			return -1;
	}
	return 0;
}


/* The display function that the plan's function i belongs to: the
 * nearest display device at or before it (gpu_functions lists a device's
 * own functions after it). */
static size_t
virt_gpu_owner(const struct domxml_opts *o, const struct gpu_inventory *inv,
    size_t i)
{
	const struct gpu_pci_dev	*d;
	size_t				 j = i + 1;

	while (j-- > 0)
		if ((d = gpu_find(inv, &o->pci[j])) != NULL && gpu_is_display(d))
			return j;
	return 0;
}

/*
 * Resets each function of the plan that libvirt binds to vfio-pci at the
 * start (without a driver or on pci-stub), so that the last user's screen
 * does not reach the next one. libvirt leaves a function already on
 * vfio-pci to vfio-pci's own reset at each open, and one on a host driver
 * must be detached first: it is on vfio-pci then too. 0, or -1 with the
 * error set and the display device blamed.
 */
static int
virt_gpu_reset(struct virt_job *job, const struct gpu_inventory *inv)
{
	struct domxml_opts	*o = &job->plan.xml;
	virNodeDevicePtr	 dev;
	char			 name[64], addr[GPU_ADDR_LEN];
	char			 msg[VIRT_ERROR_MAX];
	size_t			 i;
	int			 rc;

	for (i = 0; i < o->npci; i++) {
		if (!o->pci_managed[i])
			continue;
		virt_gpu_nodedev_name(&o->pci[i], name, sizeof(name));
		dev = virNodeDeviceLookupByName(job->h->conn, name);
		rc = dev != NULL ? virNodeDeviceReset(dev) : -1;
		/* The message before virNodeDeviceFree clears it. */
		if (rc == -1)
			virt_last_error(msg, sizeof(msg));
		if (dev != NULL)
			virNodeDeviceFree(dev);
		gpu_addr_format(&o->pci[i], addr, sizeof(addr));
		if (rc == 0) {
			log_info("host %s: reset %s for %s", job->h->name, addr,
			    job->dom);
			continue;
		}
		virResetLastError();
		/* A lost host says nothing about the device. */
		if (virConnectIsAlive(job->h->conn) != 1) {
			virt_seterror(job, "host %s is unreachable: %s",
			    job->h->name, msg);
			job->res.fault = VIRT_FAULT_HOST;
			return -1;
		}
		virt_seterror(job, "GPU %s on host %s cannot be reset: %s",
		    addr, job->h->name, msg);
		gpu_addr_format(&o->pci[virt_gpu_owner(o, inv, i)],
		    job->res.blamed, sizeof(job->res.blamed));
		job->res.blamed_reset = 1;
		return -1;
	}
	return 0;
}

/* VFIO pins all of a guest's memory: it must fit beside the others'. */
static int
virt_gpu_memory_fits(struct virt_job *job)
{
	unsigned long long	free_kib;

	if (job->res.host_memory == 0)
		return 0;	/* unknown: libvirt is the backstop */
	free_kib = job->res.host_memory > job->res.committed_memory ?
	    job->res.host_memory - job->res.committed_memory : 0;
	if (job->res.dom_memory <= free_kib)
		return 0;
	virt_seterror(job, "host %s has %.1f GiB of memory not held by "
	    "running guests; %s needs %.1f GiB, all of it pinned for its GPU",
	    job->h->name, free_kib / VIRT_GIB, job->dom,
	    job->res.dom_memory / VIRT_GIB);
	return -1;
}

static int
virt_mdev_create(struct virt_job *job)
{
	const struct virt_start_plan	*p = &job->plan;
	struct gpu_addr			 parent;
	virNodeDevicePtr		 dev;
	char				 xml[512], name[64], msg[VIRT_ERROR_MAX];

	if (gpu_addr_parse(p->mdev_parent, &parent) == -1) {
		virt_seterror(job, "bad mediated device parent");
		return -1;
	}
	virt_gpu_nodedev_name(&parent, name, sizeof(name));
	snprintf(xml, sizeof(xml), "<device><parent>%s</parent>"
	    "<capability type='mdev'><type id='%s'/><uuid>%s</uuid>"
	    "</capability></device>", name, p->mdev_type, p->xml.mdev_uuid);
	if ((dev = virNodeDeviceCreateXML(job->h->conn, xml, 0)) == NULL) {
		virt_seterror(job, "a %s mediated device could not be made on "
		    "GPU %s: %s", p->mdev_type, p->mdev_parent,
		    virt_last_error(msg, sizeof(msg)));
		/* The parent cannot make what it offers: out of service. */
		strlcpy(job->res.blamed, p->mdev_parent,
		    sizeof(job->res.blamed));
		virResetLastError();
		return -1;
	}
	virNodeDeviceFree(dev);
	return 0;
}

static void
virt_mdev_destroy(struct virt_host *h, const char *uuid)
{
	virNodeDevicePtr	dev;
	char			name[64], *p;

	snprintf(name, sizeof(name), "mdev_%s", uuid);
	for (p = name; *p != '\0'; p++)
		if (*p == '-')
			*p = '_';
	if ((dev = virNodeDeviceLookupByName(h->conn, name)) != NULL) {
		if (virNodeDeviceDestroy(dev) == -1)
			virResetLastError();
		virNodeDeviceFree(dev);
	} else
		virResetLastError();
}

/* The edited definition, defined; the new domain, or NULL. */
static virDomainPtr
virt_gpu_define(struct virt_job *job, virDomainPtr d)
{
	virDomainPtr	 nd;
	char		*text, *xml, err[VIRT_ERROR_MAX];

	text = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE |
	    VIR_DOMAIN_XML_SECURE);
	if (text == NULL) {
		virt_fail(job, "reading the definition");
		return NULL;
	}
	xml = domxml_prepare(text, &job->plan.xml, err, sizeof(err));
	free(text);
	if (xml == NULL) {
		virt_seterror(job, "%s: %s", job->dom, err);
		return NULL;
	}
	nd = virDomainDefineXML(job->h->conn, xml);
	free(xml);
	if (nd == NULL)
		virt_fail(job, "defining it with its GPU");
	return nd;
}

/*
 * A failed start: blames the first device of the plan that libvirt's error
 * names. Where QEMU said what went wrong with it, the error is that
 * sentence; libvirt's whole message, often longer than an error holds,
 * goes to the log.
 */
static void
virt_gpu_start_failed(struct virt_job *job)
{
	const struct domxml_opts	*o = &job->plan.xml;
	enum virt_fault			 fault;
	char				 full[2048], clause[VIRT_ERROR_MAX];
	size_t				 i;

	virt_last_error(full, sizeof(full));
	virt_fail(job, "start");
	for (i = 0; i < o->npci; i++) {
		if (!gpu_error_names(full, &o->pci[i]))
			continue;
		gpu_addr_format(&o->pci[i], job->res.blamed,
		    sizeof(job->res.blamed));
		if (gpu_error_clause(full, &o->pci[i], clause,
		    sizeof(clause)) == 0) {
			if (job->password[0] == '\0' ||
			    strstr(full, job->password) == NULL)
				log_warnx("host %s: %s: start: %s",
				    job->h->name, job->dom, full);
			fault = job->res.fault;
			virt_seterror(job, "%s: QEMU could not use GPU %s: %s",
			    job->dom, job->res.blamed, clause);
			job->res.fault = fault;
		}
		return;
	}
	if (o->mdev_uuid[0] != '\0' && strstr(full, o->mdev_uuid) != NULL)
		strlcpy(job->res.blamed, o->mdev_uuid,
		    sizeof(job->res.blamed));
}

static void
virt_start_prepared_work(struct virt_job *job)
{
	struct gpu_inventory	 inv;
	virDomainPtr		 d, nd = NULL;
	int			 made_mdev = 0;

	memset(&inv, 0, sizeof(inv));
	if ((d = virt_lookup(job)) == NULL)
		return;
	job->res.state = virt_domain_state(d);
	if (job->res.state == VIRT_STATE_RUNNING ||
	    job->res.state == VIRT_STATE_STARTING ||
	    job->res.state == VIRT_STATE_PAUSED) {
		job->res.ok = 1;	/* it has its devices already */
		goto out;
	}
	if (job->plan.xml.npci > 0 || job->plan.xml.mdev_uuid[0] != '\0') {
		if (virt_gpu_inventory(job, &inv) == -1)
			goto out;
		virt_gpu_memory(job, d);
		/* The reset last: after every function of a bus is bound
		 * (libvirt resets no bus with a device in use on it). */
		if (virt_gpu_check(job, &inv) == -1 ||
		    virt_gpu_memory_fits(job) == -1 ||
		    (job->plan.reset && virt_gpu_reset(job, &inv) == -1))
			goto out;
	}
	if (job->plan.xml.mdev_uuid[0] != '\0') {
		if (virt_mdev_create(job) == -1)
			goto out;
		made_mdev = 1;
	}
	if ((nd = virt_gpu_define(job, d)) == NULL)
		goto out;
	if (virDomainCreate(nd) == -1) {
		virt_gpu_start_failed(job);
		goto out;
	}
	job->res.state = virt_domain_state(nd);
	job->res.ok = 1;
out:
	if (!job->res.ok && made_mdev)
		virt_mdev_destroy(job->h, job->plan.xml.mdev_uuid);
	gpu_inventory_free(&inv);
	if (nd != NULL)
		virDomainFree(nd);
	virDomainFree(d);
}

/* A stopped guest's definition without the GPU it was given, so that it
 * cannot take the device when started outside the broker. */
static void
virt_gpu_strip_work(struct virt_job *job)
{
	struct domxml_opts	 none;
	struct gpu_addr		 pci[DOMXML_PCI_MAX];
	virDomainPtr		 d, nd;
	char			*text = NULL, *xml = NULL, err[VIRT_ERROR_MAX];
	char			 mdev[GPU_UUID_LEN] = "";

	if ((d = virt_lookup(job)) == NULL)
		return;
	job->res.state = virt_domain_state(d);
	job->res.ok = 1;
	if (job->res.state != VIRT_STATE_SHUTOFF &&
	    job->res.state != VIRT_STATE_CRASHED)
		goto out;	/* started again meanwhile: it has its GPU */
	text = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE |
	    VIR_DOMAIN_XML_SECURE);
	if (text == NULL) {
		virt_fail(job, "reading the definition");
		goto out;
	}
	if (domxml_gpu_devices(text, pci, DOMXML_PCI_MAX, mdev,
	    sizeof(mdev)) == 0 && mdev[0] == '\0')
		goto out;
	memset(&none, 0, sizeof(none));
	if ((xml = domxml_prepare(text, &none, err, sizeof(err))) == NULL) {
		virt_seterror(job, "%s: %s", job->dom, err);
		goto out;
	}
	if ((nd = virDomainDefineXML(job->h->conn, xml)) == NULL)
		virt_fail(job, "removing its GPU from the definition");
	else
		virDomainFree(nd);
out:
	free(text);
	free(xml);
	virDomainFree(d);
}

static void
virt_mdev_remove_work(struct virt_job *job)
{
	virt_mdev_destroy(job->h, job->name2);
	job->res.ok = 1;
}

int
virt_gpu_scan(struct virt_host *h, const char *dom, virt_done_cb done,
    void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, virt_gpu_scan_work, dom, done, arg)) ==
	    NULL)
		return -1;
	return virt_job_push(job);
}

int
virt_start_prepared(struct virt_host *h, const char *dom,
    const struct virt_start_plan *plan, virt_done_cb done, void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, virt_start_prepared_work, dom, done, arg)) ==
	    NULL)
		return -1;
	job->plan = *plan;
	return virt_job_push(job);
}

int
virt_gpu_strip(struct virt_host *h, const char *dom, virt_done_cb done,
    void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, virt_gpu_strip_work, dom, done, arg)) ==
	    NULL)
		return -1;
	return virt_job_push(job);
}

int
virt_mdev_remove(struct virt_host *h, const char *uuid, virt_done_cb done,
    void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, virt_mdev_remove_work, NULL, done, arg)) ==
	    NULL)
		return -1;
	if (strlen(uuid) != GPU_UUID_LEN - 1 ||
	    strspn(uuid, "0123456789abcdef-") != GPU_UUID_LEN - 1) {
		job->invalid = 1;
		virt_seterror(job, "invalid mediated device UUID");
	} else
		strlcpy(job->name2, uuid, sizeof(job->name2));
	return virt_job_push(job);
}
