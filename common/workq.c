/* SPDX-License-Identifier: ISC */
/* A thread pool whose completions are delivered on the libevent loop. */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "workq.h"

#define WORKQ_THREADS_MAX	32

struct workq_job {
	workq_fn		 work;
	workq_fn		 done;
	void			*arg;
	struct workq_job	*next;
};

struct job_list {
	struct workq_job	*head;
	struct workq_job	*tail;
};

struct workq {
	char			 name[32];
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	struct job_list		 todo;		/* waiting for a thread */
	struct job_list		 finished;	/* waiting for the loop */
	size_t			 pending;	/* queued, running or finished */
	int			 stopping;
	pthread_t		 threads[WORKQ_THREADS_MAX];
	int			 nthreads;
	int			 efd;		/* eventfd: "finished" has jobs */
	struct event		*ev;
};

static void
job_list_add(struct job_list *l, struct workq_job *job)
{
	job->next = NULL;
	if (l->tail != NULL)
		l->tail->next = job;
	else
		l->head = job;
	l->tail = job;
}

static struct workq_job *
job_list_take(struct job_list *l)
{
	struct workq_job	*job = l->head;

	if (job != NULL) {
		l->head = job->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	return job;
}

static void *
workq_thread(void *arg)
{
	struct workq		*q = arg;
	struct workq_job	*job;
	uint64_t		 one = 1;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->stopping && q->todo.head == NULL)
			pthread_cond_wait(&q->wake, &q->lock);
		if (q->stopping)
			break;
		job = job_list_take(&q->todo);
		pthread_mutex_unlock(&q->lock);

		job->work(job->arg);

		pthread_mutex_lock(&q->lock);
		job_list_add(&q->finished, job);
		/* An eventfd write only fails when the counter would overflow. */
		if (write(q->efd, &one, sizeof(one)) != sizeof(one))
			log_warn("workq %s: eventfd", q->name);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* Runs the done callbacks of finished jobs, on the loop. */
static void
workq_finished(evutil_socket_t fd, short events, void *arg)
{
	struct workq		*q = arg;
	struct job_list		 done;
	struct workq_job	*job;
	uint64_t		 n;

	if (read(q->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("workq %s: eventfd", q->name);

	pthread_mutex_lock(&q->lock);
	done = q->finished;
	memset(&q->finished, 0, sizeof(q->finished));
	pthread_mutex_unlock(&q->lock);

	while ((job = job_list_take(&done)) != NULL) {
		pthread_mutex_lock(&q->lock);
		q->pending--;
		pthread_mutex_unlock(&q->lock);
		if (job->done != NULL)
			job->done(job->arg);
		free(job);
	}
}

struct workq *
workq_new(struct event_base *base, const char *name, int nthreads)
{
	struct workq	*q;
	int		 i, error;

	if (nthreads < 1 || nthreads > WORKQ_THREADS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	strlcpy(q->name, name, sizeof(q->name));
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd == -1)
		goto fail;
	q->ev = event_new(base, q->efd, EV_READ | EV_PERSIST, workq_finished, q);
	if (q->ev == NULL || event_add(q->ev, NULL) == -1)
		goto fail;
	for (i = 0; i < nthreads; i++) {
		if ((error = pthread_create(&q->threads[i], NULL, workq_thread,
		    q)) != 0) {
			errno = error;
			goto fail;
		}
		q->nthreads++;
	}
	return q;

fail:
	error = errno;
	workq_free(q);
	errno = error;
	return NULL;
}

void
workq_free(struct workq *q)
{
	struct workq_job	*job;
	int			 i;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->lock);
	for (i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);

	while ((job = job_list_take(&q->todo)) != NULL)
		free(job);
	while ((job = job_list_take(&q->finished)) != NULL)
		free(job);
	if (q->ev != NULL)
		event_free(q->ev);
	if (q->efd != -1)
		close(q->efd);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int
workq_push(struct workq *q, workq_fn work, workq_fn done, void *arg)
{
	struct workq_job	*job;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		return -1;
	job->work = work;
	job->done = done;
	job->arg = arg;
	pthread_mutex_lock(&q->lock);
	job_list_add(&q->todo, job);
	q->pending++;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

size_t
workq_pending(const struct workq *q)
{
	struct workq	*mq = (struct workq *)q;
	size_t		 n;

	pthread_mutex_lock(&mq->lock);
	n = mq->pending;
	pthread_mutex_unlock(&mq->lock);
	return n;
}
