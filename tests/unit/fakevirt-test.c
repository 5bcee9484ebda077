/* SPDX-License-Identifier: ISC */
/*
 * The test's side of the fake of lib/virt (fakevirt.h): defining domains,
 * changing what the hosts do, injecting failures and reading their logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakevirtpriv.h"
#include "xmalloc.h"

void
fakevirt_reset(void)
{
	size_t	i, j;

	for (i = 0; i < fake_nhosts; i++) {
		virt_host_free(fake_hosts[i]->handle);
		for (j = 0; j < fake_hosts[i]->nnodedevs; j++)
			free(fake_hosts[i]->nodedevs[j]);
		free(fake_hosts[i]);
	}
	fake_nhosts = 0;
}

void
fakevirt_define(const char *host, const char *dom)
{
	fake_dom_add(fake_host(host), dom);
}

void
fakevirt_undefine(const char *host, const char *dom)
{
	struct fake_host	*fh = fake_host(host);
	struct fake_dom		*d = fake_dom(fh, dom);
	size_t			 i;

	if (d == NULL)
		return;
	i = (size_t)(d - fh->doms);
	memmove(d, d + 1, (fh->ndoms - i - 1) * sizeof(*d));
	fh->ndoms--;
}

enum virt_state
fakevirt_state(const char *host, const char *dom)
{
	struct fake_dom	*d = fake_dom(fake_host(host), dom);

	return d != NULL ? d->state : VIRT_STATE_MISSING;
}

void
fakevirt_set_state(const char *host, const char *dom, enum virt_state st)
{
	struct fake_host	*fh = fake_host(host);
	struct fake_dom		*d = fake_dom(fh, dom);

	if (d != NULL)
		fake_change(fh, d, st);
}

void
fakevirt_agent(const char *host, const char *dom, int ok)
{
	struct fake_dom	*d = fake_dom(fake_host(host), dom);

	if (d != NULL)
		d->agent = ok;
}

const char *
fakevirt_password(const char *host, const char *dom)
{
	struct fake_dom	*d = fake_dom(fake_host(host), dom);

	return d != NULL ? d->password : "";
}

const char *
fakevirt_gpus(const char *host, const char *dom)
{
	static char	 buf[DOMXML_PCI_MAX * GPU_ADDR_LEN];
	struct fake_dom	*d = fake_dom(fake_host(host), dom);
	char		 one[GPU_ADDR_LEN];
	size_t		 i;

	buf[0] = '\0';
	for (i = 0; d != NULL && i < d->npci; i++) {
		gpu_addr_format(&d->pci[i], one, sizeof(one));
		if (i > 0)
			strlcat(buf, " ", sizeof(buf));
		strlcat(buf, one, sizeof(buf));
	}
	return buf;
}

void
fakevirt_host_up(const char *host, int up)
{
	struct fake_host	*fh = fake_host(host);

	fh->up = up;
	fake_notify(fh, FAKE_HOST_UP, NULL, up, NULL);
}

void
fakevirt_graphics(const char *host, const char *dom,
    enum virt_graphics_phase phase, const char *peer)
{
	struct fake_host	*fh = fake_host(host);
	struct fake_dom		*d = fake_dom(fh, dom);
	size_t			 i;

	if (d != NULL && phase == VIRT_GRAPHICS_INITIALIZE &&
	    d->npeers < FAKE_PEERS_MAX)
		strlcpy(d->peers[d->npeers++], peer, sizeof(d->peers[0]));
	for (i = 0; d != NULL && phase == VIRT_GRAPHICS_DISCONNECT &&
	    i < d->npeers; i++) {
		if (strcmp(d->peers[i], peer) == 0) {
			memmove(d->peers[i], d->peers[i + 1],
			    (d->npeers - i - 1) * sizeof(d->peers[0]));
			d->npeers--;
			break;
		}
	}
	fake_notify(fh, FAKE_GRAPHICS, dom, (int)phase, peer);
}

void
fakevirt_fail_next(const char *host, const char *op, enum virt_fault fault,
    const char *error, const char *blamed)
{
	struct fake_host	*fh = fake_host(host);
	struct fake_fail	*f;

	if (fh->nfails == FAKE_FAILS_MAX)
		abort();
	f = &fh->fails[fh->nfails++];
	strlcpy(f->op, op, sizeof(f->op));
	f->fault = fault;
	strlcpy(f->error, error, sizeof(f->error));
	strlcpy(f->blamed, blamed != NULL ? blamed : "", sizeof(f->blamed));
}

void
fakevirt_hold(const char *host, int hold)
{
	struct fake_host	*fh = fake_host(host);

	fh->hold = hold;
	if (fh->handle != NULL)
		fake_arm(fh->handle);
}

unsigned
fakevirt_pending(const char *host)
{
	struct fake_host	*fh = fake_host(host);
	struct fake_item	*it;
	unsigned		 n = 0;

	if (fh->handle == NULL)
		return 0;
	TAILQ_FOREACH(it, &fh->handle->items, entry)
		if (it->kind == FAKE_JOB)
			n++;
	return n;
}

void
fakevirt_no_reset(const char *host, const char *addr, const char *why)
{
	struct fake_host	*fh = fake_host(host);

	strlcpy(fh->no_reset, addr, sizeof(fh->no_reset));
	strlcpy(fh->no_reset_why, why, sizeof(fh->no_reset_why));
}

void
fakevirt_nodedev(const char *host, const char *xml)
{
	struct fake_host	*fh = fake_host(host);

	if (fh->nnodedevs == FAKE_NODEDEVS_MAX)
		abort();
	fh->nodedevs[fh->nnodedevs++] = xstrdup(xml);
}

void
fakevirt_nodedev_remove(const char *host, const char *name)
{
	struct fake_host	*fh = fake_host(host);
	char			 tag[128];
	size_t			 i;

	snprintf(tag, sizeof(tag), "<name>%s</name>", name);
	for (i = 0; i < fh->nnodedevs; i++) {
		if (strstr(fh->nodedevs[i], tag) == NULL)
			continue;
		free(fh->nodedevs[i]);
		memmove(&fh->nodedevs[i], &fh->nodedevs[i + 1],
		    (fh->nnodedevs - i - 1) * sizeof(fh->nodedevs[0]));
		fh->nnodedevs--;
		return;
	}
	abort();	/* the test named a device the host never had */
}

const char *
fakevirt_log(const char *host)
{
	return fake_host(host)->log;
}

void
fakevirt_log_clear(const char *host)
{
	fake_host(host)->log[0] = '\0';
}
