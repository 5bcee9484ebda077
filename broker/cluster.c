/* SPDX-License-Identifier: ISC */
/*
 * Several brokers on one PostgreSQL database: one leads, the others stand
 * by. The leader alone connects to the hosts and changes sessions, guests
 * and GPU allocations, so each pool's maintenance, each disconnect action
 * and each allocation runs once. Leading is a lease in the database
 * (db-lease.c), renewed every third of lease_time; a standby takes it when
 * it runs out, or at once when the leader gives it back on its way out
 * (LISTEN/NOTIFY), loads the state the leader wrote and carries on, as a
 * restarted broker does.
 *
 * Fencing: the leader counts its lease from the moment it asked for each
 * renewal, by its own monotonic clock, so it gives up before the database
 * hands the lease to anyone else. Every write to the state and every
 * libvirt job first asks cluster_may_act(); a leader that finds its lease
 * ran out (it was paused, or the database was out of reach for a whole
 * lease_time) exits at once without acting, and its supervisor starts it
 * again as a standby. On SQLite there is one broker and it always leads.
 */
#include <sys/types.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker.h"
#include "log.h"
#include "sql.h"

#define CLUSTER_LEASE		"leader"

static struct {
	struct db	*db;		/* a connection of its own */
	struct event	*timer;
	struct event_base *base;
	struct event	*wake;		/* a lease given back (NOTIFY) */
	void		 (*lead)(void);
	char		 id[128];	/* host:pid:random */
	char		 url[256];	/* what standbys tell their clients */
	unsigned	 ms;		/* lease_time */
	int64_t		 epoch;
	int		 leading;
	int		 shared;	/* on PostgreSQL, with a lease; else
					   this broker always leads */
	struct db_lease	 other;		/* the leader, while standing by */
} cluster;

/* Until when, in monotonic milliseconds, the leader may act; any thread
 * reads it. */
static _Atomic int64_t	cluster_valid_until;

static int64_t
cluster_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
cluster_may_act(void)
{
	return !cluster.shared ||
	    cluster_now_ms() < atomic_load(&cluster_valid_until);
}

int
cluster_shared(void)
{
	return cluster.shared;
}

int
cluster_leading(void)
{
	if (!cluster.shared)
		return 1;
	if (!cluster.leading)
		return 0;
	if (cluster_may_act())
		return 1;
	/* Paused past the lease, or cut off from the database: another
	 * broker may lead by now. Not one more step. */
	log_warnx("cluster: the lease ran out before it was renewed (was the "
	    "broker paused?): exiting without acting; a standby leads now");
	_exit(BROKER_EXIT_LEASE_LOST);
}

const char *
cluster_leader(void)
{
	return cluster.other.url;
}

/* Keeps the lease, or notices it is gone. */
static void
cluster_renew(void)
{
	int64_t	asked = cluster_now_ms();
	int	rc;

	if (!cluster_leading())
		return;
	rc = db_lease_renew(cluster.db, CLUSTER_LEASE, cluster.id,
	    cluster.epoch, cluster.ms);
	if (rc == 1) {
		atomic_store(&cluster_valid_until, asked + cluster.ms);
		return;
	}
	if (rc == 0) {
		log_warnx("cluster: another broker holds the lease now: "
		    "exiting without acting");
		_exit(BROKER_EXIT_LEASE_LOST);
	}
	/* An error: the next tick tries again, until the lease runs out. */
	log_warnx("cluster: cannot renew the lease; %lld ms left",
	    (long long)(atomic_load(&cluster_valid_until) - cluster_now_ms()));
}

/* Takes the lease if it is free; leads from then on. */
static void
cluster_try(void)
{
	struct db_lease	l;
	int64_t		asked = cluster_now_ms();
	int		rc;

	rc = db_lease_take(cluster.db, CLUSTER_LEASE, cluster.id, cluster.url,
	    cluster.ms, &l);
	if (rc == -1)
		return;
	if (rc == 0) {
		if (strcmp(l.holder, cluster.other.holder) != 0)
			log_info("cluster: standing by; %s leads (%s), its "
			    "lease has %lld ms left", l.holder, l.url,
			    (long long)l.left_ms);
		cluster.other = l;
		return;
	}
	atomic_store(&cluster_valid_until, asked + cluster.ms);
	cluster.epoch = l.epoch;
	cluster.leading = 1;
	memset(&cluster.other, 0, sizeof(cluster.other));
	log_info("cluster: leading (lease epoch %lld, lease_time %u ms)",
	    (long long)l.epoch, cluster.ms);
	cluster.lead();
}

static void
cluster_woken(evutil_socket_t fd, short ev, void *arg)
{
	if (db_lease_notified(cluster.db) > 0 && !cluster.leading) {
		log_info("cluster: the leader gave the lease back");
		cluster_try();
	}
}

/*
 * Hears of a lease given back at once, on the connection as it is now.
 * Made again after a loss, the connection has another socket, which may
 * reuse the old one's number: libevent would not know the old one was
 * closed under it, so the watch is made anew each time (a standby's tick).
 */
static void
cluster_listen(void)
{
	int	fd;

	if ((fd = db_lease_listen(cluster.db)) == -1)
		return;
	if (cluster.wake != NULL)
		event_free(cluster.wake);
	cluster.wake = event_new(cluster.base, fd, EV_READ | EV_PERSIST,
	    cluster_woken, NULL);
	event_add(cluster.wake, NULL);
}

static void
cluster_tick(evutil_socket_t fd, short ev, void *arg)
{
	if (cluster.leading)
		cluster_renew();
	else {
		cluster_listen();
		cluster_try();
	}
}

void
cluster_start(struct event_base *base, void (*lead)(void))
{
	struct broker_config	*c = broker->conf;
	struct timeval		 tv;
	char			 host[64], err[512];
	uint32_t		 nonce;

	cluster.lead = lead;
	if (sql_url_path(conf_database(c)) != NULL) {
		lead();
		return;
	}
	cluster.shared = 1;
	if ((cluster.db = db_open(conf_database(c), 0, err,
	    sizeof(err))) == NULL)
		fatalx("cluster: %s", err);
	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "?", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	arc4random_buf(&nonce, sizeof(nonce));
	snprintf(cluster.id, sizeof(cluster.id), "%s:%ld:%08x", host,
	    (long)getpid(), nonce);
	strlcpy(cluster.url, c->advertise != NULL ? c->advertise : "",
	    sizeof(cluster.url));
	cluster.ms = c->lease_time * 1000;
	tv.tv_sec = c->lease_time / 3;
	tv.tv_usec = (c->lease_time % 3) * 333333;
	cluster.timer = event_new(base, -1, EV_PERSIST, cluster_tick, NULL);
	event_add(cluster.timer, &tv);
	cluster.base = base;
	cluster_listen();
	log_info("cluster: broker %s on %s", cluster.id,
	    db_name(cluster.db));
	cluster_try();
}

void
cluster_stop(void)
{
	if (cluster.timer != NULL)
		event_free(cluster.timer);
	cluster.timer = NULL;
	if (cluster.wake != NULL)
		event_free(cluster.wake);
	cluster.wake = NULL;
	/* A quick hand-over: the standby need not wait for it to run out. */
	if (cluster.leading && cluster_may_act() &&
	    db_lease_give_back(cluster.db, CLUSTER_LEASE, cluster.id,
	    cluster.epoch) == 1)
		log_info("cluster: lease given back");
	cluster.leading = 0;
	db_close(cluster.db);
	cluster.db = NULL;
}
