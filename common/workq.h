/* SPDX-License-Identifier: ISC */
/*
 * Blocking work (libvirt calls, PAM, password hashing) runs on a small pool
 * of threads; its completion runs back on the event loop, so every piece of
 * broker state is only ever touched by the loop's thread.
 */
#ifndef PAPRIKA_WORKQ_H
#define PAPRIKA_WORKQ_H

#include <stddef.h>

struct event_base;
struct workq;

typedef void (*workq_fn)(void *arg);

/* A queue served by nthreads threads; NULL with errno set on failure. */
struct workq	*workq_new(struct event_base *base, const char *name,
		    int nthreads);
/*
 * Waits for the work already running, drops what has not started (its done
 * callback is not called) and frees the queue. Accepts NULL.
 */
void		 workq_free(struct workq *q);
/* Runs work(arg) on a thread, then done(arg) on the loop; 0 or -1. */
int		 workq_push(struct workq *q, workq_fn work, workq_fn done,
		    void *arg);
/* Jobs queued or running. */
size_t		 workq_pending(const struct workq *q);

#endif
