/* SPDX-License-Identifier: ISC */
/*
 * Clones of a template domain: a copy-on-write overlay of each of its
 * disks (a storage volume, or a qemu-img file where the connection has no
 * storage driver), the definition rewritten for the new domain, and the
 * removal of a clone with the volumes its metadata lists.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "domxml.h"
#include "encode.h"
#include "log.h"
#include "virt.h"
#include "virtpriv.h"

/* The clone's first SPICE password, never told to anyone. */
#define VIRT_CLONE_PASSWORD_BYTES	18

extern char **environ;

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
 * machine. Sets disk's overlay; 0 or -1 with the job's error set.
 */
static int
virt_clone_disk(struct virt_job *job, struct domxml_disk *disk)
{
	virStorageVolPtr	 vol = NULL, nvol = NULL;
	virStoragePoolPtr	 pool = NULL;
	virStorageVolInfo	 info;
	virErrorPtr		 err;
	char			 name[VIRT_NAME_MAX * 2], *xml = NULL, *p;
	char			*path = NULL, dir[4096];
	struct stat		 sb;
	int			 ret = -1;

	snprintf(name, sizeof(name), "%s-%s.qcow2", job->name2, disk->dev);
	if ((vol = virStorageVolLookupByPath(job->h->conn, disk->source)) ==
	    NULL) {
		err = virGetLastError();
		if (err == NULL || err->code != VIR_ERR_NO_SUPPORT ||
		    job->h->remote) {
			virt_fail(job, "the template's disk is in no storage "
			    "pool");
			goto out;
		}
		virResetLastError();
		strlcpy(dir, disk->source, sizeof(dir));
		if ((p = strrchr(dir, '/')) == NULL) {
			virt_seterror(job, "%s: disk %s has no absolute path",
			    job->dom, disk->dev);
			goto out;
		}
		*p = '\0';
		if ((size_t)snprintf(disk->overlay, sizeof(disk->overlay),
		    "%s/%.*s", dir, (int)strlen(name), name) >=
		    sizeof(disk->overlay)) {
			virt_seterror(job, "%s: path too long", job->name2);
			goto out;
		}
		if (lstat(disk->overlay, &sb) == 0) {
			virt_seterror(job, "%s: %s already exists", job->name2,
			    disk->overlay);
			goto out;
		}
		if (virt_qemu_img_overlay(disk->source, disk->format,
		    disk->overlay) == -1) {
			disk->overlay[0] = '\0';
			virt_seterror(job, "%s: qemu-img cannot make an "
			    "overlay of %s", job->name2, disk->source);
			goto out;
		}
		disk->overlay_is_file = 1;
		ret = 0;
		goto out;
	}
	if ((pool = virStoragePoolLookupByVolume(vol)) == NULL ||
	    virStorageVolGetInfo(vol, &info) == -1) {
		virt_fail(job, "the template's storage pool");
		goto out;
	}
	if ((xml = virt_clone_vol_xml(name, info.capacity, disk->source,
	    disk->format)) == NULL) {
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
	strlcpy(disk->overlay, path, sizeof(disk->overlay));
	disk->overlay_is_file = 0;
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

/* A random password nobody knows, in hex, for the clone's SPICE. */
static void
virt_clone_password(char *pw, size_t len)
{
	uint8_t	raw[VIRT_CLONE_PASSWORD_BYTES];

	arc4random_buf(raw, sizeof(raw));
	/* Never an empty password: that would let anyone in. */
	if (hex_encode(raw, sizeof(raw), pw, len) == -1)
		fatalx("%s: buffer too small", __func__);
	explicit_bzero(raw, sizeof(raw));
}

/* The clone's definition from the template's XML and its overlays; NULL
 * with the job's error set. */
static char *
virt_clone_xml(struct virt_job *job, const char *xml,
    const struct domxml_disk *disks, size_t ndisks)
{
	struct domxml_clone	 c;
	char			 pw[VIRT_CLONE_PASSWORD_BYTES * 2 + 1];
	char			 err[VIRT_ERROR_MAX], *out;

	/*
	 * The inactive XML omits passwd; without one QEMU starts SPICE with
	 * ticketing off and no password can be set later. A random one that
	 * nobody knows keeps the clone closed until the broker sets its own.
	 */
	virt_clone_password(pw, sizeof(pw));
	memset(&c, 0, sizeof(c));
	c.name = job->name2;
	c.template_name = job->dom;
	c.spice_password = pw;
	c.disks = disks;
	c.ndisks = ndisks;
	if ((out = domxml_clone(xml, &c, err, sizeof(err))) == NULL)
		virt_seterror(job, "%s: %s", job->dom, err);
	explicit_bzero(pw, sizeof(pw));
	return out;
}

static void
virt_clone_work(struct virt_job *job)
{
	virDomainPtr		 d = NULL, nd = NULL;
	struct domxml_disk	*disks = NULL;
	char			*xml = NULL, *out = NULL;
	char			 error[VIRT_ERROR_MAX];
	int			 ndisks, made = 0, i;

	if ((nd = virDomainLookupByName(job->h->conn, job->name2)) != NULL) {
		virt_seterror(job, "%s: a domain of that name exists",
		    job->name2);
		goto out;
	}
	virResetLastError();
	if ((d = virt_lookup(job)) == NULL)
		return;
	if ((xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE)) == NULL) {
		virt_fail(job, "reading the domain XML");
		goto out;
	}
	if ((disks = calloc(DOMXML_CLONE_DISKS_MAX, sizeof(*disks))) == NULL) {
		virt_seterror(job, "%s: out of memory", job->dom);
		goto out;
	}
	if ((ndisks = domxml_clone_disks(xml, disks, DOMXML_CLONE_DISKS_MAX,
	    error, sizeof(error))) == -1) {
		virt_seterror(job, "%s: %s", job->dom, error);
		goto out;
	}
	for (made = 0; made < ndisks; made++)
		if (virt_clone_disk(job, &disks[made]) == -1)
			goto out;
	if ((out = virt_clone_xml(job, xml, disks, ndisks)) == NULL)
		goto out;
	if ((nd = virDomainDefineXML(job->h->conn, out)) == NULL) {
		virt_fail(job, "defining the clone");
		goto out;
	}
	job->res.state = virt_domain_state(nd);
	job->res.ok = 1;
	made = 0;
out:
	/* A clone that could not be defined leaves no volumes behind. */
	strlcpy(error, job->res.error, sizeof(error));
	for (i = 0; i < made; i++)
		if (virt_clone_vol_delete(job, disks[i].overlay,
		    disks[i].overlay_is_file) == -1)
			log_warnx("%s", job->res.error);
	strlcpy(job->res.error, error, sizeof(job->res.error));
	if (out != NULL)
		explicit_bzero(out, strlen(out));
	free(out);
	free(xml);
	free(disks);
	if (nd != NULL)
		virDomainFree(nd);
	if (d != NULL)
		virDomainFree(d);
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
	if (virt_xml_node(x.ctx, "/domain/metadata/" DOMXML_CLONE_PREFIX
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
	    DOMXML_CLONE_PREFIX ":clone/" DOMXML_CLONE_PREFIX ":volume", x.ctx);
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
