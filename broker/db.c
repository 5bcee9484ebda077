/* SPDX-License-Identifier: ISC */
/*
 * The broker's state in SQLite (WAL): logins, desktop sessions, guests of
 * shared and template pools, login throttling and the audit log. Every
 * change is written before the broker acts on it, so a restart resumes from
 * here and reconciles with libvirt. The audit log, the GPU tables and the
 * second factors have files of their own (db-*.c).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "broker.h"
#include "dbpriv.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Each entry moves the schema from version i to i + 1; the database's
 * user_version says how many have run. Never edit a released entry: add one.
 */
static const char *const db_migrations[] = {
	/* 1: the first schema. */
	"CREATE TABLE tokens ("
	"  hash TEXT PRIMARY KEY,"
	"  user TEXT NOT NULL,"
	"  roles INTEGER NOT NULL,"
	"  groups TEXT NOT NULL,"	/* JSON array */
	"  source TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL);"
	"CREATE INDEX tokens_user ON tokens(user);"
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  gw_id INTEGER NOT NULL,"
	"  user TEXT NOT NULL,"
	"  token TEXT NOT NULL,"
	"  pool TEXT NOT NULL,"
	"  guest TEXT NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  progress INTEGER NOT NULL,"
	"  step TEXT NOT NULL,"
	"  error TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  connected_at INTEGER NOT NULL,"
	"  disconnected_at INTEGER NOT NULL,"
	"  action_done INTEGER NOT NULL,"
	"  tls_port INTEGER NOT NULL,"
	"  spice_host TEXT NOT NULL);"
	"CREATE INDEX sessions_state ON sessions(state);"
	"CREATE TABLE guests ("
	"  pool TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  user TEXT NOT NULL,"
	"  session INTEGER NOT NULL,"
	"  error TEXT NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  PRIMARY KEY (pool, name));"
	"CREATE TABLE throttle ("
	"  key TEXT PRIMARY KEY,"
	"  failures INTEGER NOT NULL,"
	"  last_failure INTEGER NOT NULL,"
	"  locked_until INTEGER NOT NULL);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  result TEXT NOT NULL,"
	"  detail TEXT NOT NULL);"
	"CREATE INDEX audit_actor ON audit(actor, id);",
	/* 2: GPUs given to guests, and GPUs out of service. */
	"CREATE TABLE gpu_allocs ("
	"  host TEXT NOT NULL,"
	"  device TEXT NOT NULL,"	/* PCI address or mdev UUID */
	"  parent TEXT NOT NULL,"	/* mdev: its parent's PCI address */
	"  mdev_type TEXT NOT NULL,"
	"  pool TEXT NOT NULL,"
	"  guest TEXT NOT NULL,"
	"  session INTEGER NOT NULL,"
	"  since INTEGER NOT NULL,"
	"  PRIMARY KEY (host, device));"
	"CREATE TABLE gpu_quarantine ("
	"  host TEXT NOT NULL,"
	"  device TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  since INTEGER NOT NULL,"
	"  PRIMARY KEY (host, device));",
	/* 3: a guest's host, for pools over several hosts ('' = the pool's
	 * first). */
	"ALTER TABLE guests ADD COLUMN host TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN host TEXT NOT NULL DEFAULT '';",
	/* 4: when a session's guest became ready (0: not yet), from which
	 * its idle time counts. */
	"ALTER TABLE sessions ADD COLUMN ready_at INTEGER NOT NULL DEFAULT 0;",
	/* 5: the retention purge deletes and the export reads by time. */
	"CREATE INDEX audit_time ON audit(time);",
	/* 6: second factors (twofactor.c). user is the folded name; secret
	 * is sealed under the TOTP key (totp_seal); confirmed 0: an
	 * enrolment that waits for its first code; last_step: the newest
	 * step used (-1: none), so a code works once. Recovery codes are
	 * keyed hashes, a row each, deleted when used. */
	"CREATE TABLE totp ("
	"  user TEXT PRIMARY KEY,"
	"  secret TEXT NOT NULL,"
	"  confirmed INTEGER NOT NULL,"
	"  last_step INTEGER NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE totp_recovery ("
	"  user TEXT NOT NULL,"
	"  hash TEXT NOT NULL,"
	"  PRIMARY KEY (user, hash));",
};
#define DB_VERSION	((int)(sizeof(db_migrations) / sizeof(db_migrations[0])))

void
db_warn(struct db *db, const char *what)
{
	log_warnx("state %s: %s: %s", db->path, what, sqlite3_errmsg(db->sql));
}

int
db_exec(struct db *db, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(db->sql, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("state %s: %s", db->path, msg != NULL ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* A prepared statement with its parameters bound from fmt: 'i' int64,
 * 's' text; NULL on error. */
sqlite3_stmt *
db_prepare(struct db *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	int		 i, rc = SQLITE_OK;

	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		db_warn(db, "prepare");
		return NULL;
	}
	va_start(ap, fmt);
	for (i = 0; fmt[i] != '\0' && rc == SQLITE_OK; i++) {
		if (fmt[i] == 'i')
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		else
			rc = sqlite3_bind_text(st, i + 1, va_arg(ap,
			    const char *), -1, SQLITE_TRANSIENT);
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		db_warn(db, "bind");
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* Runs a statement that returns no rows; the rows changed, or -1. */
int
db_run(struct db *db, sqlite3_stmt *st)
{
	int	rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_warn(db, "write");
		return -1;
	}
	return sqlite3_changes(db->sql);
}

const char *
db_text(sqlite3_stmt *st, int col)
{
	const unsigned char	*t = sqlite3_column_text(st, col);

	return t != NULL ? (const char *)t : "";
}

int
db_begin(struct db *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}

int
db_commit(struct db *db)
{
	return db_exec(db, "COMMIT");
}

void
db_rollback(struct db *db)
{
	db_exec(db, "ROLLBACK");
}

static int
db_migrate(struct db *db, char *err, size_t errlen)
{
	int	version, v;
	char	sql[64];

	if ((version = db_schema_version(db)) == -1) {
		snprintf(err, errlen, "%s: cannot read the schema version: %s",
		    db->path, sqlite3_errmsg(db->sql));
		return -1;
	}
	if (version > DB_VERSION) {
		snprintf(err, errlen, "%s: schema version %d is newer than "
		    "this broker's %d: run the newer broker or restore a "
		    "backup", db->path, version, DB_VERSION);
		return -1;
	}
	for (v = version; v < DB_VERSION; v++) {
		if (db_exec(db, "BEGIN IMMEDIATE") == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (db_exec(db, db_migrations[v]) == -1 ||
		    db_exec(db, sql) == -1) {
			db_exec(db, "ROLLBACK");
			goto fail;
		}
		if (db_exec(db, "COMMIT") == -1)
			goto fail;
		log_info("state %s: schema migrated to version %d", db->path,
		    v + 1);
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: migration to schema version %d failed: %s",
	    db->path, v + 1, sqlite3_errmsg(db->sql));
	return -1;
}

/* Whether st is fit to be the state; 0, or -1 with the problem in err. */
static int
db_check_stat(const char *path, const struct stat *st, char *err,
    size_t errlen)
{
	if (S_ISLNK(st->st_mode))
		snprintf(err, errlen, "%s: the state is a symbolic link: the "
		    "broker opens only a regular file there", path);
	else if (!S_ISREG(st->st_mode))
		snprintf(err, errlen, "%s: the state is not a regular file",
		    path);
	else if (st->st_uid != geteuid())
		snprintf(err, errlen, "%s: the state is owned by uid %ld, not "
		    "by the broker's user (uid %ld): chown it", path,
		    (long)st->st_uid, (long)geteuid());
	else if (st->st_mode & (S_IWGRP | S_IWOTH))
		snprintf(err, errlen, "%s: the state is writable by group or "
		    "others (mode %04o): chmod 600 it", path,
		    (unsigned)(st->st_mode & 07777));
	else
		return 0;
	return -1;
}

/*
 * Creates the state file or checks the one there: opened without following
 * a symbolic link, a regular file, owned by the user the broker runs as
 * and writable by nobody else; left mode 0600, since it holds token hashes
 * and the audit log. 0, or -1 with the path and the problem in err.
 */
static int
db_check_file(const char *path, char *err, size_t errlen)
{
	struct stat	st;
	int		fd, ret = -1;

	/* First for the reason (a file of root's cannot even be opened),
	 * then again on what was opened. */
	if (lstat(path, &st) == 0 && db_check_stat(path, &st, err,
	    errlen) == -1)
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0600)) == -1) {
		if (errno == ELOOP)
			snprintf(err, errlen, "%s: the state is a symbolic "
			    "link: the broker opens only a regular file there",
			    path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (db_check_stat(path, &st, err, errlen) == -1)
		goto out;
	if (fchmod(fd, 0600) == -1) {
		snprintf(err, errlen, "%s: chmod: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
 out:
	close(fd);
	return ret;
}

struct db *
db_open(const char *path, char *err, size_t errlen)
{
	struct db	*db;
	int		 rc;

	db = xcalloc(1, sizeof(*db));
	db->path = xstrdup(path);
	if (db_check_file(path, err, errlen) == -1)
		goto fail;
	rc = sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
	    NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db->sql != NULL ?
		    sqlite3_errmsg(db->sql) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(db->sql, 5000);
	if (db_exec(db, "PRAGMA journal_mode = WAL") == -1 ||
	    db_exec(db, "PRAGMA synchronous = NORMAL") == -1 ||
	    db_exec(db, "PRAGMA foreign_keys = ON") == -1) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db->sql));
		goto fail;
	}
	if (db_migrate(db, err, errlen) == -1)
		goto fail;
	return db;
fail:
	db_close(db);
	return NULL;
}

struct db *
db_open_readonly(const char *path, char *err, size_t errlen)
{
	struct db	*db;
	int		 rc, version;

	db = xcalloc(1, sizeof(*db));
	db->path = xstrdup(path);
	rc = sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db->sql != NULL ?
		    sqlite3_errmsg(db->sql) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(db->sql, 5000);
	if ((version = db_schema_version(db)) == -1) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db->sql));
		goto fail;
	}
	/* An empty file has version 0: no broker has used it. */
	if (version < 1 || version > DB_VERSION) {
		snprintf(err, errlen, "%s: schema version %d is not a broker "
		    "state this version reads", path, version);
		goto fail;
	}
	return db;
fail:
	db_close(db);
	return NULL;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->sql);
	free(db->path);
	free(db);
}

int
db_schema_version(struct db *db)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if ((st = db_prepare(db, "PRAGMA user_version", "")) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
db_token_put(struct db *db, const char *hash, const struct login *l)
{
	json_t	*groups;
	char	*text;
	size_t	 i;
	int	 ret;

	groups = json_array();
	for (i = 0; i < l->ngroups; i++)
		json_array_append_new(groups, json_string(l->groups[i]));
	text = json_dumps(groups, JSON_COMPACT);
	json_decref(groups);
	if (text == NULL)
		return -1;
	ret = db_run(db, db_prepare(db, "INSERT INTO tokens (hash, user, "
	    "roles, groups, source, created, expires) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?)", "ssissii", hash, l->user,
	    (int64_t)l->roles, text, l->source, (int64_t)l->created,
	    (int64_t)l->expires));
	free(text);
	return ret == -1 ? -1 : 0;
}

int
db_token_get(struct db *db, const char *hash, time_t now, struct login *l)
{
	sqlite3_stmt	*st;
	json_t		*groups, *g;
	size_t		 i;
	int		 rc, ret = -1;

	st = db_prepare(db, "SELECT user, roles, groups, source, created, "
	    "expires FROM tokens WHERE hash = ? AND expires > ?", "si", hash,
	    (int64_t)now);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 1;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		db_warn(db, "read token");
		goto out;
	}
	memset(l, 0, sizeof(*l));
	strlcpy(l->user, db_text(st, 0), sizeof(l->user));
	l->roles = (unsigned)sqlite3_column_int64(st, 1);
	if ((groups = json_loads(db_text(st, 2), 0, NULL)) != NULL) {
		json_array_foreach(groups, i, g) {
			if (l->ngroups == AUTH_GROUPS_MAX || !json_is_string(g))
				break;
			strlcpy(l->groups[l->ngroups++], json_string_value(g),
			    sizeof(l->groups[0]));
		}
		json_decref(groups);
	}
	strlcpy(l->source, db_text(st, 3), sizeof(l->source));
	l->created = (time_t)sqlite3_column_int64(st, 4);
	l->expires = (time_t)sqlite3_column_int64(st, 5);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int
db_token_del(struct db *db, const char *hash)
{
	return db_run(db, db_prepare(db, "DELETE FROM tokens WHERE hash = ?",
	    "s", hash));
}

int
db_token_del_user(struct db *db, const char *user)
{
	return db_run(db, db_prepare(db, "DELETE FROM tokens WHERE user = ? "
	    "COLLATE NOCASE",
	    "s", user));
}

int
db_token_purge(struct db *db, time_t now)
{
	return db_run(db, db_prepare(db, "DELETE FROM tokens WHERE "
	    "expires <= ?", "i", (int64_t)now));
}

/* One of the pool's hosts by name; the first for '' or a host the pool
 * no longer lists. */
static struct conf_host *
db_pool_host(struct conf_pool *p, const char *name)
{
	size_t	i;

	for (i = 0; i < p->nhosts; i++)
		if (strcmp(p->hosts[i]->name, name) == 0)
			return p->hosts[i];
	return p->host;
}

int
db_session_save(struct db *db, const struct session *s)
{
	return db_run(db, db_prepare(db, "INSERT OR REPLACE INTO sessions "
	    "(id, gw_id, user, token, pool, guest, state, progress, step, "
	    "error, source, created, updated, connected_at, disconnected_at, "
	    "action_done, tls_port, spice_host, host, ready_at) VALUES (?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "iissssiisssiiiiiissi",
	    (int64_t)s->id, (int64_t)s->gw_id, s->user, s->token,
	    s->pool->name, s->guest, (int64_t)s->state, (int64_t)s->progress,
	    s->step, s->error, s->source, (int64_t)s->created,
	    (int64_t)s->updated, (int64_t)s->connected_at,
	    (int64_t)s->disconnected_at, (int64_t)s->action_done,
	    (int64_t)s->tls_port, s->spice_host, s->host->name,
	    (int64_t)s->ready_at)) == -1 ?
	    -1 : 0;
}

int
db_session_load(struct db *db, struct broker_config *c,
    void (*cb)(struct session *, void *), void *arg)
{
	sqlite3_stmt	*st;
	struct session	*s;
	struct conf_pool *pool;
	int		 rc;

	st = db_prepare(db, "SELECT id, gw_id, user, token, pool, guest, "
	    "state, progress, step, error, source, created, updated, "
	    "connected_at, disconnected_at, action_done, tls_port, spice_host, "
	    "host, ready_at FROM sessions WHERE state != ? ORDER BY created",
	    "i",
	    (int64_t)SESSION_ENDED);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((pool = conf_pool_find(c, db_text(st, 4))) == NULL) {
			log_warnx("state: session %016" PRIx64 " of pool %s, "
			    "which is no longer configured: ended",
			    (uint64_t)sqlite3_column_int64(st, 0),
			    db_text(st, 4));
			continue;
		}
		s = xcalloc(1, sizeof(*s));
		s->id = (uint64_t)sqlite3_column_int64(st, 0);
		s->gw_id = (uint64_t)sqlite3_column_int64(st, 1);
		strlcpy(s->user, db_text(st, 2), sizeof(s->user));
		strlcpy(s->token, db_text(st, 3), sizeof(s->token));
		s->pool = pool;
		strlcpy(s->guest, db_text(st, 5), sizeof(s->guest));
		s->state = (enum session_state)sqlite3_column_int(st, 6);
		s->progress = (unsigned)sqlite3_column_int(st, 7);
		strlcpy(s->step, db_text(st, 8), sizeof(s->step));
		strlcpy(s->error, db_text(st, 9), sizeof(s->error));
		strlcpy(s->source, db_text(st, 10), sizeof(s->source));
		s->created = (time_t)sqlite3_column_int64(st, 11);
		s->updated = (time_t)sqlite3_column_int64(st, 12);
		s->connected_at = (time_t)sqlite3_column_int64(st, 13);
		s->disconnected_at = (time_t)sqlite3_column_int64(st, 14);
		s->action_done = sqlite3_column_int(st, 15);
		s->tls_port = (uint16_t)sqlite3_column_int(st, 16);
		strlcpy(s->spice_host, db_text(st, 17), sizeof(s->spice_host));
		s->host = db_pool_host(pool, db_text(st, 18));
		s->ready_at = (time_t)sqlite3_column_int64(st, 19);
		cb(s, arg);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_warn(db, "read sessions");
		return -1;
	}
	return 0;
}

int
db_guest_save(struct db *db, const struct guest *g)
{
	return db_run(db, db_prepare(db, "INSERT OR REPLACE INTO guests "
	    "(pool, name, state, user, session, error, updated, host) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?)", "ssisisis", g->pool->name, g->name,
	    (int64_t)g->state, g->user, (int64_t)g->session, g->error,
	    (int64_t)g->updated, g->host->name)) == -1 ? -1 : 0;
}

int
db_guest_del(struct db *db, const struct guest *g)
{
	return db_run(db, db_prepare(db, "DELETE FROM guests WHERE pool = ? "
	    "AND name = ?", "ss", g->pool->name, g->name)) == -1 ? -1 : 0;
}

int
db_guest_load(struct db *db, struct broker_config *c,
    void (*cb)(struct guest *, void *), void *arg)
{
	sqlite3_stmt	*st;
	struct guest	*g;
	struct conf_pool *pool;
	int		 rc;

	st = db_prepare(db, "SELECT pool, name, state, user, session, error, "
	    "updated, host FROM guests ORDER BY pool, name", "");
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((pool = conf_pool_find(c, db_text(st, 0))) == NULL)
			continue;
		g = xcalloc(1, sizeof(*g));
		g->pool = pool;
		strlcpy(g->name, db_text(st, 1), sizeof(g->name));
		g->state = (enum guest_state)sqlite3_column_int(st, 2);
		strlcpy(g->user, db_text(st, 3), sizeof(g->user));
		g->session = (uint64_t)sqlite3_column_int64(st, 4);
		strlcpy(g->error, db_text(st, 5), sizeof(g->error));
		g->updated = (time_t)sqlite3_column_int64(st, 6);
		g->host = db_pool_host(pool, db_text(st, 7));
		cb(g, arg);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_warn(db, "read guests");
		return -1;
	}
	return 0;
}

int
db_throttle_save(struct db *db, const struct throttle_entry *e)
{
	return db_run(db, db_prepare(db, "INSERT OR REPLACE INTO throttle "
	    "(key, failures, last_failure, locked_until) VALUES (?, ?, ?, ?)",
	    "siii", e->key, (int64_t)e->failures, (int64_t)e->last_failure,
	    (int64_t)e->locked_until)) == -1 ? -1 : 0;
}

int
db_throttle_del(struct db *db, const char *key)
{
	return db_run(db, db_prepare(db, "DELETE FROM throttle WHERE key = ?",
	    "s", key)) == -1 ? -1 : 0;
}

/* Drops the rows that no longer count: lockouts over, counts a window old
 * (the same rule as the throttle's own). */
int
db_throttle_purge(struct db *db, time_t now, unsigned window)
{
	return db_run(db, db_prepare(db, "DELETE FROM throttle WHERE "
	    "(locked_until != 0 AND locked_until <= ?) OR "
	    "(locked_until = 0 AND last_failure <= ?)", "ii", (int64_t)now,
	    (int64_t)now - (int64_t)window)) == -1 ? -1 : 0;
}

int
db_throttle_load(struct db *db,
    void (*cb)(const struct throttle_entry *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct throttle_entry	 e;
	int			 rc;

	st = db_prepare(db, "SELECT key, failures, last_failure, "
	    "locked_until FROM throttle", "");
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		strlcpy(e.key, db_text(st, 0), sizeof(e.key));
		e.failures = (unsigned)sqlite3_column_int64(st, 1);
		e.last_failure = (time_t)sqlite3_column_int64(st, 2);
		e.locked_until = (time_t)sqlite3_column_int64(st, 3);
		cb(&e, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
db_token_set_roles(struct db *db, const char *hash, unsigned roles)
{
	return db_run(db, db_prepare(db, "UPDATE tokens SET roles = ? WHERE "
	    "hash = ?", "is", (int64_t)roles, hash));
}

