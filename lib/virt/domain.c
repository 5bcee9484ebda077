/* SPDX-License-Identifier: ISC */
/*
 * The jobs on one domain, each run on its host's worker: state and list,
 * start and the power actions, SPICE address and password, snapshot
 * revert, the guest agent's lock and screenshots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "log.h"
#include "virt.h"
#include "virtpriv.h"

#define VIRT_AGENT_TIMEOUT	5		/* seconds */
#define VIRT_SCREENSHOT_MAX	(64 * 1024 * 1024)

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

	/* A kept handle: every connect comes here, and on a remote host a
	 * lookup is a round trip. */
	if ((d = virt_lookup_cached(job, 0)) == NULL)
		return;
	/* SECURE: without it the XML has no passwd, and posting it back
	 * would fall back to qemu.conf's password. */
	if ((x.text = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_SECURE)) ==
	    NULL && virt_lookup_stale()) {
		/* The kept handle's domain is gone: maybe defined again. */
		virDomainFree(d);
		if ((d = virt_lookup_cached(job, 1)) == NULL)
			return;
		x.text = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_SECURE);
	}
	if (x.text == NULL) {
		virt_fail(job, "reading the domain XML");
		goto out;
	}
	if (virt_xml_load(job, &x) == -1)
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
	/* Asked only on failure (a guest shut off meanwhile?): on a remote
	 * host each question is a round trip, and every connect comes here. */
	if (!job->res.ok)
		job->res.state = virt_domain_state(d);
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
virt_screenshot(struct virt_host *h, const char *dom, unsigned int screen,
    virt_done_cb done, void *arg)
{
	struct virt_job	*job;

	if ((job = virt_job_new(h, virt_screenshot_work, dom, done, arg)) == NULL)
		return -1;
	job->screen = screen;
	return virt_job_push(job);
}
