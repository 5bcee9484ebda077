/* SPDX-License-Identifier: ISC */
/*
 * The database-neutral half of lib/sql: choosing the driver from the url,
 * parameters, the one lock around each call, and the migrations.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sqlpriv.h"
#include "xmalloc.h"

/* The driver url names, and the part of url the driver opens. */
static const struct sql_driver *
sql_driver_for(const char *url, const char **target)
{
	if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0) {
		*target = url;
		return &sql_postgresql_driver;
	}
	*target = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
	return &sql_sqlite_driver;
}

const char *
sql_url_path(const char *url)
{
	const char	*target;

	return sql_driver_for(url, &target) == &sql_sqlite_driver ? target :
	    NULL;
}

struct sql *
sql_open(const char *url, int flags, char *err, size_t errlen)
{
	struct sql	*db;
	const char	*target;

	db = xcalloc(1, sizeof(*db));
	db->drv = sql_driver_for(url, &target);
	db->flags = flags;
	pthread_mutex_init(&db->lock, NULL);
	if (*target == '\0') {
		snprintf(err, errlen, "%s: names no database", url);
		goto fail;
	}
	if (db->drv->open(db, target, err, errlen) == -1)
		goto fail;
	return db;
fail:
	sql_close(db);
	return NULL;
}

void
sql_close(struct sql *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		db->drv->close(db);
	pthread_mutex_destroy(&db->lock);
	free(db->name);
	free(db);
}

void
sql_set_fence(struct sql *db, int (*may_write)(void))
{
	db->may_write = may_write;
}

/* Whether db may write now; says so when not. */
static int
sql_fenced(struct sql *db)
{
	if (db->may_write == NULL || db->may_write())
		return 0;
	strlcpy(db->error, "not written: this broker no longer leads",
	    sizeof(db->error));
	log_warnx("state %s: %s", sql_name(db), db->error);
	return 1;
}

enum sql_kind
sql_kind(const struct sql *db)
{
	return db->drv == &sql_postgresql_driver ? SQL_POSTGRESQL : SQL_SQLITE;
}

const char *
sql_name(const struct sql *db)
{
	return db->name != NULL ? db->name : "?";
}

void
sql_fail(struct sql *db, const char *what, const char *msg)
{
	size_t	len;

	strlcpy(db->error, msg != NULL ? msg : "unknown error",
	    sizeof(db->error));
	/* libpq's messages end in a newline. */
	len = strlen(db->error);
	while (len > 0 && db->error[len - 1] == '\n')
		db->error[--len] = '\0';
	log_warnx("state %s: %s: %s", sql_name(db), what, db->error);
}

/* Reads fmt's parameters into p; their number, or -1 for too many. */
static int
sql_params(const char *fmt, va_list ap, struct sql_param *p)
{
	int	n;

	for (n = 0; fmt[n] != '\0'; n++) {
		if (n == SQL_PARAMS_MAX)
			return -1;
		p[n].type = fmt[n];
		if (fmt[n] == 'i') {
			p[n].i = va_arg(ap, int64_t);
			snprintf(p[n].text, sizeof(p[n].text), "%" PRId64,
			    p[n].i);
			p[n].s = p[n].text;
		} else
			p[n].s = va_arg(ap, const char *);
	}
	return n;
}

int
sql_exec(struct sql *db, const char *text)
{
	int	ret;

	if (sql_fenced(db))
		return -1;
	pthread_mutex_lock(&db->lock);
	ret = db->drv->exec(db, text);
	pthread_mutex_unlock(&db->lock);
	return ret;
}

int
sql_write(struct sql *db, const char *text, const char *fmt, ...)
{
	va_list	ap;
	int	ret;

	va_start(ap, fmt);
	ret = sql_writev(db, text, fmt, ap);
	va_end(ap);
	return ret;
}

int
sql_writev(struct sql *db, const char *text, const char *fmt, va_list ap)
{
	struct sql_param	 p[SQL_PARAMS_MAX];
	int			 n, ret;

	if (sql_fenced(db))
		return -1;
	if ((n = sql_params(fmt, ap, p)) == -1) {
		log_warnx("state %s: too many parameters", sql_name(db));
		return -1;
	}
	pthread_mutex_lock(&db->lock);
	ret = db->drv->write(db, text, p, n);
	pthread_mutex_unlock(&db->lock);
	return ret;
}

struct sql_rows *
sql_query(struct sql *db, const char *text, const char *fmt, ...)
{
	struct sql_param	 p[SQL_PARAMS_MAX];
	struct sql_rows		*rows;
	va_list			 ap;
	int			 n, ret;

	if (strncmp(text, "SELECT", 6) != 0 && sql_fenced(db))
		return NULL;
	va_start(ap, fmt);
	n = sql_params(fmt, ap, p);
	va_end(ap);
	if (n == -1) {
		log_warnx("state %s: too many parameters", sql_name(db));
		return NULL;
	}
	rows = xcalloc(1, sizeof(*rows));
	rows->db = db;
	rows->row = -1;
	pthread_mutex_lock(&db->lock);
	ret = db->drv->query(db, text, p, n, rows);
	pthread_mutex_unlock(&db->lock);
	if (ret == -1) {
		free(rows);
		return NULL;
	}
	return rows;
}

int
sql_next(struct sql_rows *rows)
{
	int	ret;

	pthread_mutex_lock(&rows->db->lock);
	ret = rows->db->drv->next(rows);
	pthread_mutex_unlock(&rows->db->lock);
	return ret;
}

const char *
sql_text(struct sql_rows *rows, int col)
{
	return rows->db->drv->text(rows, col);
}

int64_t
sql_int(struct sql_rows *rows, int col)
{
	return rows->db->drv->integer(rows, col);
}

void
sql_done(struct sql_rows *rows)
{
	if (rows == NULL)
		return;
	pthread_mutex_lock(&rows->db->lock);
	rows->db->drv->done(rows);
	pthread_mutex_unlock(&rows->db->lock);
	free(rows);
}

long
sql_copy(struct sql *from, struct sql *to, const char *table,
    const char *cols)
{
	struct sql_param	 p[SQL_PARAMS_MAX];
	struct sql_rows		*rows;
	char			 select[1024], insert[1024];
	char			 marks[2 * SQL_PARAMS_MAX + 1] = "";
	const char		*c;
	long			 copied = 0;
	int			 n, i, rc;

	for (c = cols, n = 0; c != NULL; c = strchr(c + 1, ','), n++)
		strlcat(marks, n > 0 ? ",?" : "?", sizeof(marks));
	if (n > SQL_PARAMS_MAX ||
	    (size_t)snprintf(select, sizeof(select), "SELECT %s FROM %s",
	    cols, table) >= sizeof(select) ||
	    (size_t)snprintf(insert, sizeof(insert), "INSERT INTO %s (%s) "
	    "VALUES (%s)", table, cols, marks) >= sizeof(insert)) {
		log_warnx("%s: table %s: too many columns", __func__, table);
		return -1;
	}
	if ((rows = sql_query(from, select, "")) == NULL)
		return -1;
	while ((rc = sql_next(rows)) == 1) {
		for (i = 0; i < n; i++) {
			p[i].type = 'u';
			p[i].s = sql_text(rows, i);
		}
		pthread_mutex_lock(&to->lock);
		rc = to->drv->write(to, insert, p, n);
		pthread_mutex_unlock(&to->lock);
		if (rc == -1)
			break;
		copied++;
	}
	sql_done(rows);
	return rc == 0 ? copied : -1;
}

int
sql_listen(struct sql *db, const char *channel)
{
	char	text[128];

	if (db->drv->fd == NULL)
		return -1;
	/* channel is the caller's constant, an identifier. */
	snprintf(text, sizeof(text), "LISTEN %s", channel);
	pthread_mutex_lock(&db->lock);
	if (db->drv->exec(db, text) == -1) {
		pthread_mutex_unlock(&db->lock);
		return -1;
	}
	pthread_mutex_unlock(&db->lock);
	return 0;
}

int
sql_fd(struct sql *db)
{
	return db->drv->fd != NULL ? db->drv->fd(db) : -1;
}

int
sql_notified(struct sql *db)
{
	int	n;

	if (db->drv->notified == NULL)
		return 0;
	pthread_mutex_lock(&db->lock);
	n = db->drv->notified(db);
	pthread_mutex_unlock(&db->lock);
	return n;
}

int
sql_begin(struct sql *db)
{
	if (sql_exec(db, db->drv->begin) == -1)
		return -1;
	db->in_transaction = 1;
	return 0;
}

int
sql_commit(struct sql *db)
{
	db->in_transaction = 0;
	return sql_exec(db, "COMMIT");
}

void
sql_rollback(struct sql *db)
{
	db->in_transaction = 0;
	sql_exec(db, "ROLLBACK");
}

int
sql_version(struct sql *db)
{
	int	v;

	pthread_mutex_lock(&db->lock);
	v = db->drv->version(db);
	pthread_mutex_unlock(&db->lock);
	return v;
}

/* Runs step v (0-based) of list unless another process ran it first: 1 it
 * ran, 0 it was done already, -1 on error. */
static int
sql_migrate_step(struct sql *db, const struct sql_migration *list, int v)
{
	const char	*text;
	int		 now;

	text = sql_kind(db) == SQL_POSTGRESQL ? list[v].postgresql :
	    list[v].sqlite;
	if (sql_begin(db) == -1)
		return -1;
	pthread_mutex_lock(&db->lock);
	if (db->drv->migration_lock(db) == -1 ||
	    (now = db->drv->version(db)) == -1)
		goto fail;
	if (now > v) {
		pthread_mutex_unlock(&db->lock);
		sql_rollback(db);
		return 0;
	}
	if (db->drv->exec(db, text) == -1 ||
	    db->drv->version_set(db, v + 1) == -1)
		goto fail;
	pthread_mutex_unlock(&db->lock);
	return sql_commit(db) == -1 ? -1 : 1;
fail:
	pthread_mutex_unlock(&db->lock);
	sql_rollback(db);
	return -1;
}

int
sql_migrate(struct sql *db, const struct sql_migration *list, int n,
    char *err, size_t errlen)
{
	int	version, v, rc;

	if ((version = sql_version(db)) == -1) {
		snprintf(err, errlen, "%s: cannot read the schema version: %s",
		    sql_name(db), db->error);
		return -1;
	}
	if (version > n) {
		snprintf(err, errlen, "%s: schema version %d is newer than "
		    "this broker's %d: run the newer broker or restore a "
		    "backup", sql_name(db), version, n);
		return -1;
	}
	if (db->flags & SQL_READONLY) {
		/* An empty SQLite file has version 0: no broker has used
		 * it. */
		if (version < 1) {
			snprintf(err, errlen, "%s: schema version %d is not "
			    "a broker state this version reads", sql_name(db),
			    version);
			return -1;
		}
		return 0;
	}
	for (v = version; v < n; v++) {
		if ((rc = sql_migrate_step(db, list, v)) == -1) {
			snprintf(err, errlen, "%s: migration to schema version "
			    "%d failed: %s", sql_name(db), v + 1, db->error);
			return -1;
		}
		if (rc == 1)
			log_info("state %s: schema migrated to version %d",
			    sql_name(db), v + 1);
	}
	return 0;
}
