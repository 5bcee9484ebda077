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

#include "log.h"
#include "virt.h"
#include "virtpriv.h"

extern char **environ;

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
