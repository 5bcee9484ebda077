/* SPDX-License-Identifier: ISC */
/*
 * libvirt's event loop on libevent (virEventRegisterImpl). libvirt adds,
 * changes and removes watches and timers from any of its threads, so the
 * tables are under one mutex, events are removed with event_del_noblock()
 * (a blocking delete could wait on a callback that waits on a libvirt lock
 * the caller holds) and everything freed is freed later on the loop.
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libvirt/libvirt.h>

#include "log.h"
#include "virt.h"

struct virtevent_watch {
	int				 id;
	int				 fd;
	int				 events;	/* VIR_EVENT_HANDLE_* */
	virEventHandleCallback		 cb;
	void				*opaque;
	virFreeCallback			 ff;
	struct event			*ev;
	TAILQ_ENTRY(virtevent_watch)	 entry;
};

struct virtevent_timer {
	int				 id;
	int				 ms;		/* -1 off, 0 each turn */
	virEventTimeoutCallback		 cb;
	void				*opaque;
	virFreeCallback			 ff;
	struct event			*ev;
	TAILQ_ENTRY(virtevent_timer)	 entry;
};

/* Something to release on the loop once the current callbacks are done. */
struct virtevent_garbage {
	struct event			*ev;
	virFreeCallback			 ff;
	void				*opaque;
	TAILQ_ENTRY(virtevent_garbage)	 entry;
};

static pthread_mutex_t virtevent_lock = PTHREAD_MUTEX_INITIALIZER;
static struct event_base *virtevent_base;
/* Disposed of, waiting for the loop's next turn to be collected. */
static TAILQ_HEAD(, virtevent_garbage) virtevent_garbage =
    TAILQ_HEAD_INITIALIZER(virtevent_garbage);
static TAILQ_HEAD(, virtevent_watch) virtevent_watches =
    TAILQ_HEAD_INITIALIZER(virtevent_watches);
static TAILQ_HEAD(, virtevent_timer) virtevent_timers =
    TAILQ_HEAD_INITIALIZER(virtevent_timers);
static int virtevent_next_id = 1;

static void
virtevent_free_garbage(struct virtevent_garbage *g)
{
	if (g->ev != NULL)
		event_free(g->ev);
	if (g->ff != NULL)
		g->ff(g->opaque);
	free(g);
}

static void
virtevent_collect(evutil_socket_t fd, short what, void *arg)
{
	struct virtevent_garbage	*g = arg;

	pthread_mutex_lock(&virtevent_lock);
	TAILQ_REMOVE(&virtevent_garbage, g, entry);
	pthread_mutex_unlock(&virtevent_lock);
	virtevent_free_garbage(g);
}

/*
 * Frees ev and calls ff(opaque) from a clean stack: libvirt's free
 * callbacks take locks its remove functions may hold. Lock held.
 */
static void
virtevent_dispose(struct event *ev, virFreeCallback ff, void *opaque)
{
	struct virtevent_garbage	*g;
	struct timeval			 zero = { 0, 0 };

	if (ev != NULL)
		event_del_noblock(ev);
	if (ev == NULL && ff == NULL)
		return;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		fatal("%s: calloc", __func__);
	g->ev = ev;
	g->ff = ff;
	g->opaque = opaque;
	TAILQ_INSERT_TAIL(&virtevent_garbage, g, entry);
	if (event_base_once(virtevent_base, -1, EV_TIMEOUT, virtevent_collect,
	    g, &zero) == -1)
		fatalx("%s: event_base_once", __func__);
}

static struct virtevent_watch *
virtevent_find_watch(int id)
{
	struct virtevent_watch	*w;

	TAILQ_FOREACH(w, &virtevent_watches, entry)
		if (w->id == id)
			return w;
	return NULL;
}

static struct virtevent_timer *
virtevent_find_timer(int id)
{
	struct virtevent_timer	*t;

	TAILQ_FOREACH(t, &virtevent_timers, entry)
		if (t->id == id)
			return t;
	return NULL;
}

static short
virtevent_to_libevent(int events)
{
	short	what = 0;

	if (events & VIR_EVENT_HANDLE_READABLE)
		what |= EV_READ;
	if (events & VIR_EVENT_HANDLE_WRITABLE)
		what |= EV_WRITE;
	return what;
}

/* The watch id travels as the argument: a stale event finds no watch. */
static void
virtevent_handle_fired(evutil_socket_t fd, short what, void *arg)
{
	struct virtevent_watch	*w;
	virEventHandleCallback	 cb;
	void			*opaque;
	int			 id = (int)(intptr_t)arg, events = 0;

	pthread_mutex_lock(&virtevent_lock);
	if ((w = virtevent_find_watch(id)) == NULL || w->events == 0) {
		pthread_mutex_unlock(&virtevent_lock);
		return;
	}
	if (what & EV_READ)
		events |= VIR_EVENT_HANDLE_READABLE;
	if (what & EV_WRITE)
		events |= VIR_EVENT_HANDLE_WRITABLE;
	events &= w->events;
	cb = w->cb;
	opaque = w->opaque;
	pthread_mutex_unlock(&virtevent_lock);

	/*
	 * An event replaced by updateHandle may fire once more with what
	 * is no longer asked for. Errors and hangups need no mapping:
	 * libevent reports them as readable and writable, and libvirt's
	 * read or write then sees them.
	 */
	if (events == 0)
		return;
	/* opaque stays valid: its ff only runs after this callback. */
	cb(id, fd, events, opaque);
}

/* (Re)creates the libevent event of w for events. Lock held. */
static int
virtevent_arm_watch(struct virtevent_watch *w, int events)
{
	short	what = virtevent_to_libevent(events);

	virtevent_dispose(w->ev, NULL, NULL);
	w->ev = NULL;
	w->events = events;
	if (what == 0)
		return 0;
	w->ev = event_new(virtevent_base, w->fd, what | EV_PERSIST,
	    virtevent_handle_fired, (void *)(intptr_t)w->id);
	if (w->ev == NULL || event_add(w->ev, NULL) == -1)
		return -1;
	return 0;
}

static int
virtevent_add_handle(int fd, int events, virEventHandleCallback cb,
    void *opaque, virFreeCallback ff)
{
	struct virtevent_watch	*w;
	int			 id = -1;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	pthread_mutex_lock(&virtevent_lock);
	w->id = virtevent_next_id++;
	w->fd = fd;
	w->cb = cb;
	w->opaque = opaque;
	w->ff = ff;
	if (virtevent_arm_watch(w, events) == -1) {
		if (w->ev != NULL)
			virtevent_dispose(w->ev, NULL, NULL);
		free(w);
		goto out;
	}
	TAILQ_INSERT_TAIL(&virtevent_watches, w, entry);
	id = w->id;
out:
	pthread_mutex_unlock(&virtevent_lock);
	return id;
}

static void
virtevent_update_handle(int id, int events)
{
	struct virtevent_watch	*w;

	pthread_mutex_lock(&virtevent_lock);
	if ((w = virtevent_find_watch(id)) != NULL && w->events != events &&
	    virtevent_arm_watch(w, events) == -1)
		log_warnx("libvirt watch %d: cannot add the event", id);
	pthread_mutex_unlock(&virtevent_lock);
}

static int
virtevent_remove_handle(int id)
{
	struct virtevent_watch	*w;

	pthread_mutex_lock(&virtevent_lock);
	if ((w = virtevent_find_watch(id)) == NULL) {
		pthread_mutex_unlock(&virtevent_lock);
		return -1;
	}
	TAILQ_REMOVE(&virtevent_watches, w, entry);
	virtevent_dispose(w->ev, w->ff, w->opaque);
	pthread_mutex_unlock(&virtevent_lock);
	free(w);
	return 0;
}

static void
virtevent_timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct virtevent_timer	*t;
	virEventTimeoutCallback	 cb;
	void			*opaque;
	int			 id = (int)(intptr_t)arg;

	pthread_mutex_lock(&virtevent_lock);
	if ((t = virtevent_find_timer(id)) == NULL || t->ms < 0) {
		pthread_mutex_unlock(&virtevent_lock);
		return;
	}
	cb = t->cb;
	opaque = t->opaque;
	pthread_mutex_unlock(&virtevent_lock);
	cb(id, opaque);
}

/*
 * A persistent timer of ms milliseconds; 0 fires on every turn of the
 * loop (a persistent zero timeout is re-armed each time). Lock held.
 */
static int
virtevent_arm_timer(struct virtevent_timer *t, int ms)
{
	struct timeval	tv;

	virtevent_dispose(t->ev, NULL, NULL);
	t->ev = NULL;
	t->ms = ms;
	if (ms < 0)
		return 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	t->ev = event_new(virtevent_base, -1, EV_PERSIST,
	    virtevent_timer_fired, (void *)(intptr_t)t->id);
	if (t->ev == NULL || event_add(t->ev, &tv) == -1)
		return -1;
	return 0;
}

static int
virtevent_add_timeout(int ms, virEventTimeoutCallback cb, void *opaque,
    virFreeCallback ff)
{
	struct virtevent_timer	*t;
	int			 id = -1;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	pthread_mutex_lock(&virtevent_lock);
	t->id = virtevent_next_id++;
	t->cb = cb;
	t->opaque = opaque;
	t->ff = ff;
	if (virtevent_arm_timer(t, ms) == -1) {
		if (t->ev != NULL)
			virtevent_dispose(t->ev, NULL, NULL);
		free(t);
		goto out;
	}
	TAILQ_INSERT_TAIL(&virtevent_timers, t, entry);
	id = t->id;
out:
	pthread_mutex_unlock(&virtevent_lock);
	return id;
}

static void
virtevent_update_timeout(int id, int ms)
{
	struct virtevent_timer	*t;

	pthread_mutex_lock(&virtevent_lock);
	/* libvirt re-sets the same period often: keep the running timer. */
	if ((t = virtevent_find_timer(id)) != NULL && t->ms != ms &&
	    virtevent_arm_timer(t, ms) == -1)
		log_warnx("libvirt timer %d: cannot add the event", id);
	pthread_mutex_unlock(&virtevent_lock);
}

static int
virtevent_remove_timeout(int id)
{
	struct virtevent_timer	*t;

	pthread_mutex_lock(&virtevent_lock);
	if ((t = virtevent_find_timer(id)) == NULL) {
		pthread_mutex_unlock(&virtevent_lock);
		return -1;
	}
	TAILQ_REMOVE(&virtevent_timers, t, entry);
	virtevent_dispose(t->ev, t->ff, t->opaque);
	pthread_mutex_unlock(&virtevent_lock);
	free(t);
	return 0;
}

int
virtevent_register(struct event_base *base)
{
	pthread_mutex_lock(&virtevent_lock);
	if (virtevent_base != NULL) {
		pthread_mutex_unlock(&virtevent_lock);
		return -1;
	}
	virtevent_base = base;
	pthread_mutex_unlock(&virtevent_lock);
	virEventRegisterImpl(virtevent_add_handle, virtevent_update_handle,
	    virtevent_remove_handle, virtevent_add_timeout,
	    virtevent_update_timeout, virtevent_remove_timeout);
	return 0;
}

void
virtevent_flush(void)
{
	struct virtevent_garbage	*g;

	pthread_mutex_lock(&virtevent_lock);
	while ((g = TAILQ_FIRST(&virtevent_garbage)) != NULL) {
		TAILQ_REMOVE(&virtevent_garbage, g, entry);
		pthread_mutex_unlock(&virtevent_lock);
		virtevent_free_garbage(g);
		pthread_mutex_lock(&virtevent_lock);
	}
	pthread_mutex_unlock(&virtevent_lock);
}
