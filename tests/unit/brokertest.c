/* SPDX-License-Identifier: ISC */
/*
 * The broker of a unit test (brokertest.h): brokerd.c's main() without the
 * listeners, the privileges and libvirt. Libvirt's events reach the
 * modules as brokerd.c passes them on; the sweep runs when a test calls
 * session_sweep(), after moving a session's times back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/evp.h>

#include "brokertest.h"
#include "encode.h"
#include "fakevirt.h"
#include "log.h"
#include "sql.h"
#include "unit.h"
#include "workq.h"
#include "xmalloc.h"

#define BT_TICK_MS	5

static char		 bt_dir[64];
static char		*bt_conf;
/* With PAPRIKA_TEST_PG (a PostgreSQL URL ending in '/'), each test's state
 * is a database of its own on that server, dropped at its end. */
static char		 bt_pgdb[64];
static struct event	*bt_tick;

/* Keeps EVLOOP_ONCE from sleeping longer than a tick. */
static void
bt_ticked(evutil_socket_t fd, short ev, void *arg)
{
}

static int
bt_hosts_up(void *arg)
{
	size_t	i;

	for (i = 0; i < broker->conf->nhosts; i++)
		if (!virt_host_is_up(broker->conf->hosts[i].virt))
			return 0;
	return 1;
}

void
bt_reopen(void)
{
	struct broker_config	*c;
	struct timeval		 tv = { 0, BT_TICK_MS * 1000 };
	char			 path[128], err[512];
	FILE			*fp;
	size_t			 i;

	fmt(path, sizeof(path), "%s/paprika-brokerd.conf", bt_dir);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "[broker]\nstate = %s/state.db\n", bt_dir);
	if (bt_pgdb[0] != '\0')
		fprintf(fp, "database = %s%s\n", getenv("PAPRIKA_TEST_PG"),
		    bt_pgdb);
	fprintf(fp, "%s", bt_conf);
	assert_int_equal(fclose(fp), 0);
	if ((c = conf_load(path, err, sizeof(err))) == NULL)
		fail_msg("conf_load: %s", err);

	broker = xcalloc(1, sizeof(*broker));
	broker->conf = c;
	assert_non_null(broker->base = event_base_new());
	assert_int_equal(virt_init(broker->base), 0);
	if ((broker->db = db_open(conf_database(c), 0, err, sizeof(err))) == NULL)
		fail_msg("db_open: %s", err);
	broker->throttle = throttle_new(&c->throttle);
	assert_non_null(broker->authq = workq_new(broker->base, "auth", 1));
	assert_non_null(broker->gwq = workq_new(broker->base, "gateway", 1));
	broker->keys.keys[0].id = 1;
	arc4random_buf(broker->keys.keys[0].secret, TICKET_KEY_LEN);
	broker->keys.nkeys = 1;
	assert_int_equal(session_restore(), 0);
	assert_int_equal(pool_restore(), 0);
	assert_int_equal(gpualloc_restore(), 0);
	for (i = 0; i < c->nhosts; i++)
		assert_non_null(c->hosts[i].virt = virt_host_new(
		    c->hosts[i].name, c->hosts[i].uri, &broker_virt_events, NULL));
	bt_tick = event_new(broker->base, -1, EV_PERSIST, bt_ticked, NULL);
	event_add(bt_tick, &tv);
	broker->started = time(NULL);
	bt_wait(bt_hosts_up, NULL, 2000, "the hosts to come up");
	bt_settle();
}

/* Runs text on the PostgreSQL server's maintenance database. */
static void
bt_pg_admin(const char *text)
{
	struct sql	*admin;
	char		 url[512], err[512];

	fmt(url, sizeof(url), "%spostgres", getenv("PAPRIKA_TEST_PG"));
	if ((admin = sql_open(url, 0, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	assert_int_equal(sql_exec(admin, text), 0);
	sql_close(admin);
}

void
bt_start(const char *conf)
{
	static int	threads, databases;
	char		text[128];

	if (!threads) {
		assert_int_equal(evthread_use_pthreads(), 0);
		threads = 1;
	}
	log_init("test", 1, getenv("BT_VERBOSE") != NULL ? 2 : 0);
	strlcpy(bt_dir, "/tmp/paprika-unit.XXXXXX", sizeof(bt_dir));
	assert_non_null(mkdtemp(bt_dir));
	bt_conf = xstrdup(conf);
	if (getenv("PAPRIKA_TEST_PG") != NULL) {
		fmt(bt_pgdb, sizeof(bt_pgdb), "bt_%ld_%d", (long)getpid(),
		    databases++);
		fmt(text, sizeof(text), "CREATE DATABASE %s", bt_pgdb);
		bt_pg_admin(text);
	}
	bt_reopen();
}

/* Guests the broker may have seen ready: the next test starts afresh. */
static void
bt_forget_guests(void)
{
	struct guest	*g, *gtmp;
	size_t		 i, j;

	HASH_ITER(hh, broker->guests, g, gtmp)
		ready_forget(g->host->name, g->name);
	for (i = 0; i < broker->conf->npools; i++)
		for (j = 0; j < broker->conf->pools[i].nassign; j++)
			ready_forget(broker->conf->pools[i].host->name,
			    broker->conf->pools[i].assign[j].guest);
}

static void
bt_close(void)
{
	struct session	*s, *stmp;
	struct guest	*g, *gtmp;
	struct gpu_alloc *a, *atmp;
	size_t		 i;

	HASH_ITER(hh, broker->sessions, s, stmp) {
		HASH_DEL(broker->sessions, s);
		free(s);
	}
	HASH_ITER(hh, broker->guests, g, gtmp) {
		HASH_DEL(broker->guests, g);
		free(g);
	}
	HASH_ITER(hh, broker->gpu_allocs, a, atmp) {
		HASH_DEL(broker->gpu_allocs, a);
		free(a);
	}
	api_shutdown();
	events_stop();
	for (i = 0; i < broker->conf->nhosts; i++)
		virt_host_free(broker->conf->hosts[i].virt);
	workq_free(broker->authq);
	workq_free(broker->gwq);
	gwctl_shutdown();
	event_free(bt_tick);
	virt_shutdown();
	db_close(broker->db);
	throttle_free(broker->throttle);
	keyring_clear(&broker->keys);
	event_base_free(broker->base);
	conf_free(broker->conf);
	free(broker);
	broker = NULL;
}

static int	bt_quiet(void *);

void
bt_stop(int keep)
{
	char	path[128];
	int	i;

	/*
	 * A test's end lets the jobs it started finish, as a broker's loop
	 * would: a job dropped unfinished takes its argument with it. A
	 * restart (keep) stands for a crash and drops them.
	 */
	for (i = 0; !keep && i < 200 && !bt_quiet(NULL); i++)
		bt_run(BT_TICK_MS);
	if (!keep)
		bt_forget_guests();
	bt_close();
	if (keep)
		return;
	fakevirt_reset();
	free(bt_conf);
	bt_conf = NULL;
	fmt(path, sizeof(path), "%s/state.db", bt_dir);
	unlink(path);
	fmt(path, sizeof(path), "%s/state.db-wal", bt_dir);
	unlink(path);
	fmt(path, sizeof(path), "%s/state.db-shm", bt_dir);
	unlink(path);
	fmt(path, sizeof(path), "%s/paprika-brokerd.conf", bt_dir);
	unlink(path);
	rmdir(bt_dir);
	if (bt_pgdb[0] != '\0') {
		fmt(path, sizeof(path), "DROP DATABASE %s", bt_pgdb);
		bt_pg_admin(path);
		bt_pgdb[0] = '\0';
	}
}

int
bt_teardown(void **state)
{
	bt_stop(0);
	return 0;
}

void
bt_restart(void)
{
	bt_stop(1);
	bt_reopen();
}

static double
bt_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void
bt_wait(int (*cond)(void *), void *arg, unsigned ms, const char *what)
{
	double	end = bt_now_ms() + ms;

	while (!cond(arg)) {
		if (bt_now_ms() > end)
			fail_msg("waited %u ms for %s", ms, what);
		event_base_loop(broker->base, EVLOOP_ONCE);
	}
}

static int
bt_quiet(void *arg)
{
	size_t	i;

	for (i = 0; i < broker->conf->nhosts; i++)
		if (fakevirt_pending(broker->conf->hosts[i].name) > 0)
			return 0;
	return 1;
}

void
bt_settle(void)
{
	bt_wait(bt_quiet, NULL, 5000, "the hosts' jobs");
	/* The events the last jobs raised. */
	bt_run(2 * BT_TICK_MS);
}

static int
bt_never(void *arg)
{
	return bt_now_ms() > *(double *)arg;
}

void
bt_run(unsigned ms)
{
	double	end = bt_now_ms() + ms;

	bt_wait(bt_never, &end, ms + 1000, "time to pass");
}

struct login
bt_user(const char *user, unsigned roles)
{
	struct login	l;

	memset(&l, 0, sizeof(l));
	strlcpy(l.user, user, sizeof(l.user));
	l.roles = roles;
	strlcpy(l.source, "203.0.113.5", sizeof(l.source));
	l.created = time(NULL);
	l.expires = l.created + 3600;
	return l;
}

void
bt_login(const char *user, unsigned roles, char *token, char *hash)
{
	struct login	l = bt_user(user, roles);
	uint8_t		raw[BROKER_TOKEN_BYTES], md[32];
	unsigned	mdlen = sizeof(md);
	char		tok[BROKER_TOKEN_HEX + 1], h[BROKER_TOKEN_HEX + 1];

	arc4random_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), tok, sizeof(tok));
	EVP_Digest(tok, strlen(tok), md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), h, sizeof(h));
	assert_int_equal(db_token_put(broker->db, h, &l), 0);
	if (token != NULL)
		strlcpy(token, tok, BROKER_TOKEN_HEX + 1);
	if (hash != NULL)
		strlcpy(hash, h, BROKER_TOKEN_HEX + 1);
}

int
bt_audit_count(const char *action, const char *result)
{
	struct audit_filter	 f = { NULL, action, NULL, result };
	json_t			*list;
	int			 n;

	assert_non_null(list = db_audit_list(broker->db, 0, 1000, &f, 0,
	    INT64_MAX));
	n = (int)json_array_size(list);
	json_decref(list);
	return n;
}

struct bt_state {
	uint64_t		id;
	enum session_state	st;
};

static int
bt_in_state(void *arg)
{
	struct bt_state	*w = arg;
	struct session	*s = session_find(w->id);

	if (w->st == SESSION_ENDED)
		return s == NULL;
	/* Out of its start, wherever it went: bt_wait_state says where. */
	return s != NULL && (s->state == w->st ||
	    s->state != SESSION_STARTING);
}

void
bt_wait_state(uint64_t id, enum session_state st)
{
	struct bt_state	 w = { id, st };
	struct session	*s;

	bt_wait(bt_in_state, &w, 5000, session_state_name(st));
	if (st != SESSION_ENDED && (s = session_find(id))->state != st)
		fail_msg("session is %s, not %s: %s (%s)",
		    session_state_name(s->state), session_state_name(st),
		    s->step, s->error);
}

struct conf_pool *
bt_pool(const char *name)
{
	struct conf_pool	*p = conf_pool_find(broker->conf, name);

	if (p == NULL)
		fail_msg("no pool %s", name);
	return p;
}

struct session *
bt_connect(const char *user, const char *pool, int *status, char *err,
    size_t errlen)
{
	struct login	l = bt_user(user, ROLE_USER);
	char		hash[BROKER_TOKEN_HEX + 1];

	bt_login(user, ROLE_USER, NULL, hash);
	return session_connect(&l, hash, bt_pool(pool), l.source, status, err,
	    errlen);
}

struct session *
bt_session(const char *user, const char *pool)
{
	struct session	*s;
	char		 err[256] = "";
	int		 status = 0;

	if ((s = bt_connect(user, pool, &status, err, sizeof(err))) == NULL)
		fail_msg("connect %s to %s: %d %s", user, pool, status, err);
	return s;
}

uint64_t
bt_ready(const char *user, const char *pool)
{
	struct session	*s = bt_session(user, pool);

	bt_wait_state(s->id, SESSION_READY);
	return s->id;
}

struct session *
bt_failed(const char *user, const char *pool)
{
	struct session	*s = bt_session(user, pool);
	uint64_t	 id = s->id;

	bt_wait_state(id, SESSION_FAILED);
	return session_find(id);
}

int
bt_count(const char *hay, const char *needle)
{
	int	n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}
