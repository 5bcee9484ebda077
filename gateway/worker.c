/* SPDX-License-Identifier: ISC */
/*
 * Workers: one event loop per thread, each with its own listening sockets
 * (SO_REUSEPORT: the kernel spreads new connections over them) and the
 * tunnels it accepted, which no other thread touches. Worker 0 runs on the
 * main thread; what concerns every tunnel (a kill, a reload, a drain, a
 * metrics render) it hands to each worker as a job, run on that worker's
 * own thread between two of its callbacks.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"
#include "log.h"

__thread struct gateway	*gw;
struct gateway_shared	 shared = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.job_lock = PTHREAD_MUTEX_INITIALIZER,
	.job_done = PTHREAD_COND_INITIALIZER,
	.pending = TAILQ_HEAD_INITIALIZER(shared.pending),
};

void
shared_lock(void)
{
	pthread_mutex_lock(&shared.lock);
}

void
shared_unlock(void)
{
	pthread_mutex_unlock(&shared.lock);
}

/* Marks w's job done and wakes worker_run_all. */
static void
worker_job_done(struct gateway *w)
{
	pthread_mutex_lock(&shared.job_lock);
	w->job = NULL;
	pthread_cond_broadcast(&shared.job_done);
	pthread_mutex_unlock(&shared.job_lock);
}

static void
worker_job(evutil_socket_t fd, short what, void *arg)
{
	struct gateway	*w = arg;
	worker_fn	 fn;
	void		*fnarg;

	pthread_mutex_lock(&shared.job_lock);
	fn = w->job;
	fnarg = w->job_arg;
	pthread_mutex_unlock(&shared.job_lock);
	if (fn == NULL)
		return;
	fn(fnarg);
	worker_job_done(w);
}

void
worker_run_all(worker_fn fn, void *arg)
{
	struct gateway	*self = gw, *w;
	unsigned int	 i;
	int		 running;

	for (i = 0; i < shared.nworkers; i++) {
		w = shared.workers[i];
		if (w == self) {
			fn(arg);
			continue;
		}
		pthread_mutex_lock(&shared.job_lock);
		if ((running = w->running)) {
			w->job = fn;
			w->job_arg = arg;
		}
		pthread_mutex_unlock(&shared.job_lock);
		if (!running) {
			/* Its thread is done with it. */
			gw = w;
			fn(arg);
			gw = self;
			continue;
		}
		event_active(w->job_ev, EV_READ, 1);
		pthread_mutex_lock(&shared.job_lock);
		while (w->job != NULL)
			pthread_cond_wait(&shared.job_done, &shared.job_lock);
		pthread_mutex_unlock(&shared.job_lock);
	}
}

int
worker_others_stopped(void)
{
	unsigned int	i;
	int		stopped = 1;

	pthread_mutex_lock(&shared.job_lock);
	for (i = 0; i < shared.nworkers; i++) {
		if (shared.workers[i] != NULL && shared.workers[i] != gw &&
		    shared.workers[i]->running)
			stopped = 0;
	}
	pthread_mutex_unlock(&shared.job_lock);
	return stopped;
}

static int
worker_listen(struct listener *l, const struct sockaddr_storage *ss,
    socklen_t len, enum listener_kind kind)
{
	if (len == 0)
		return 0;
	return listener_open(l, ss, len, kind, shared.nworkers > 1);
}

struct gateway *
worker_new(unsigned int id)
{
	const struct gateway_config	*c = shared.conf;
	struct gateway			*w;

	if ((w = calloc(1, sizeof *w)) == NULL)
		fatalx("out of memory");
	w->id = id;
	TAILQ_INIT(&w->tunnels);
	TAILQ_INIT(&w->reap);
	w->plain.fd = w->tls.fd = w->ws.fd = w->metrics_listener.fd = -1;
	w->control_fd = w->control_tls_fd = -1;
	w->conf = shared.conf;
	w->keys = shared.keys;
	w->tls_ctx = shared.tls_ctx;
	w->spice_ctx = shared.spice_ctx;
	w->running = 1;
	if ((w->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if ((w->reap_ev = event_new(w->base, -1, 0, tunnel_reap, NULL)) ==
	    NULL || (w->job_ev = event_new(w->base, -1, 0, worker_job, w)) ==
	    NULL || (w->evict_ev = event_new(w->base, -1, 0, pending_evicted,
	    NULL)) == NULL)
		fatalx("event_new failed");
	if (worker_listen(&w->plain, &c->listen_plain, c->listen_plain_len,
	    LISTENER_PLAIN) == -1 ||
	    worker_listen(&w->tls, &c->listen_tls, c->listen_tls_len,
	    LISTENER_TLS) == -1 ||
	    worker_listen(&w->ws, &c->listen_ws, c->listen_ws_len,
	    LISTENER_WS) == -1) {
		worker_free(w);
		return NULL;
	}
	return w;
}

static void *
worker_main(void *arg)
{
	struct gateway	*w = arg;
	worker_fn	 fn;
	void		*fnarg;

	gw = w;
	event_base_dispatch(w->base);
	pthread_mutex_lock(&shared.job_lock);
	w->running = 0;
	fn = w->job;
	fnarg = w->job_arg;
	pthread_mutex_unlock(&shared.job_lock);
	/* A job handed over as the loop ended. */
	if (fn != NULL) {
		fn(fnarg);
		worker_job_done(w);
	}
	/* Worker 0 stops after the last of the others (tunnel_reap). */
	event_active(shared.workers[0]->reap_ev, EV_TIMEOUT, 1);
	relay_shutdown();
	return NULL;
}

/* Starts the listeners' events, and a thread for all but worker 0. */
void
worker_start(struct gateway *w)
{
	struct gateway	*self = gw;

	gw = w;
	listener_start(&w->plain);
	listener_start(&w->tls);
	listener_start(&w->ws);
	gw = self;
	if (w->id != 0 && pthread_create(&w->thread, NULL, worker_main, w) != 0)
		fatalx("cannot start worker %u", w->id);
}

void
worker_join(struct gateway *w)
{
	if (w->id != 0)
		pthread_join(w->thread, NULL);
}

void
worker_free(struct gateway *w)
{
	struct gateway	*self = gw;

	if (w == NULL)
		return;
	gw = w;
	listener_close(&w->plain);
	listener_close(&w->tls);
	listener_close(&w->ws);
	listener_close(&w->metrics_listener);
	if (w->reap_ev != NULL)
		tunnel_reap(-1, 0, NULL);
	if (w->reap_ev != NULL)
		event_free(w->reap_ev);
	if (w->job_ev != NULL)
		event_free(w->job_ev);
	if (w->evict_ev != NULL)
		event_free(w->evict_ev);
	free(w->evicted);
	if (w->drain_timer != NULL)
		event_free(w->drain_timer);
	if (w->accept_backoff != NULL)
		event_free(w->accept_backoff);
	if (w->base != NULL)
		event_base_free(w->base);
	gw = self == w ? NULL : self;
	if (w->id < shared.nworkers && shared.workers[w->id] == w)
		shared.workers[w->id] = NULL;
	free(w);
}
