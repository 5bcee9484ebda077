/* SPDX-License-Identifier: ISC */
/* Shared harness of the libvirt C tests (tests/loopback, tests/guests). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "log.h"
#include "virttest.h"

int			 vt_failures;
struct event_base	*vt_base;
static pthread_t	 vt_loop_thread;

int
vt_finish(const char *name)
{
	printf("1..1\n");
	if (vt_failures != 0) {
		printf("not ok 1 - %s: %d checks failed\n", name, vt_failures);
		return 1;
	}
	printf("ok 1 - %s: all checks passed\n", name);
	return 0;
}

static void
vt_host_up(struct virt_host *h, int up, void *arg)
{
	struct vt_events	*e = arg;

	if (!pthread_equal(pthread_self(), vt_loop_thread))
		e->off_loop++;
	e->up_calls++;
	e->up = up;
}

static void
vt_domain_state(struct virt_host *h, const char *dom, enum virt_state state,
    void *arg)
{
	struct vt_events	*e = arg;

	if (!pthread_equal(pthread_self(), vt_loop_thread))
		e->off_loop++;
	strlcpy(e->last_dom, dom, sizeof(e->last_dom));
	e->last_state = state;
	e->nstates++;
}

const struct virt_events vt_callbacks = {
	.host_up = vt_host_up,
	.domain_state = vt_domain_state,
};

void
vt_init(void)
{
	log_init("test-virt", 1, getenv("VT_VERBOSE") != NULL ? 2 : 0);
	if (evthread_use_pthreads() == -1 ||
	    (vt_base = event_base_new()) == NULL)
		fatalx("event base");
	vt_loop_thread = pthread_self();
	if (virt_init(vt_base) == -1)
		fatalx("virt_init");
}

void
vt_done(const struct virt_result *res, void *arg)
{
	struct vt_result	*r = arg;
	size_t			 i;

	r->ok = res->ok;
	strlcpy(r->error, res->error, sizeof(r->error));
	r->state = res->state;
	r->tls_port = res->tls_port;
	r->port = res->port;
	strlcpy(r->listen, res->listen, sizeof(r->listen));
	r->image_len = res->image_len;
	if (res->image != NULL)
		memcpy(r->image_head, res->image, res->image_len < 8 ?
		    res->image_len : 8);
	if (res->image_mime != NULL)
		strlcpy(r->mime, res->image_mime, sizeof(r->mime));
	r->ndomains = res->ndomains;
	for (i = 0; i < res->ndomains && i < VT_NAMES_MAX; i++) {
		strlcpy(r->names[i], res->domain_names[i],
		    sizeof(r->names[i]));
		r->states[i] = res->domain_states[i];
	}
	if (!pthread_equal(pthread_self(), vt_loop_thread))
		r->ok = -1;	/* done off the loop: every check fails */
	r->done = 1;
}

static void
vt_tick(evutil_socket_t fd, short what, void *arg)
{
}

int
vt_wait(const int *flag, int seconds)
{
	struct event	*tick;
	struct timeval	 tv = { 0, 50000 };
	time_t		 end = time(NULL) + seconds;

	tick = event_new(vt_base, -1, EV_PERSIST, vt_tick, NULL);
	event_add(tick, &tv);
	while (!*flag && time(NULL) < end)
		event_base_loop(vt_base, EVLOOP_ONCE);
	event_free(tick);
	return *flag ? 0 : -1;
}

int
vt_has_name(const struct vt_result *r, const char *name,
    enum virt_state *state)
{
	size_t	i;

	for (i = 0; i < r->ndomains && i < VT_NAMES_MAX; i++) {
		if (strcmp(r->names[i], name) == 0) {
			if (state != NULL)
				*state = r->states[i];
			return 1;
		}
	}
	return 0;
}

int
vt_wait_state(struct vt_events *e, const char *dom, enum virt_state state,
    int seconds)
{
	struct event	*tick;
	struct timeval	 tv = { 0, 50000 };
	time_t		 end = time(NULL) + seconds;
	int		 seen;

	tick = event_new(vt_base, -1, EV_PERSIST, vt_tick, NULL);
	event_add(tick, &tv);
	while (!(seen = strcmp(e->last_dom, dom) == 0 &&
	    e->last_state == state) && time(NULL) < end)
		event_base_loop(vt_base, EVLOOP_ONCE);
	event_free(tick);
	return seen ? 0 : -1;
}
