/* SPDX-License-Identifier: ISC */
/*
 * lib/sql's SQLite driver: one file in WAL mode, the schema version in
 * PRAGMA user_version. The file holds token hashes and the audit log, so it
 * must be a regular file of the process's own user that nobody else can
 * write, and is created mode 0600.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sqlpriv.h"
#include "xmalloc.h"

/* Whether st is fit to be the state; 0, or -1 with the problem in err. */
static int
sqlite_check_stat(const char *path, const struct stat *st, char *err,
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

/* Creates the file or checks the one there, without following a symbolic
 * link, and leaves it mode 0600. 0, or -1 with err. */
static int
sqlite_check_file(const char *path, char *err, size_t errlen)
{
	struct stat	st;
	int		fd, ret = -1;

	/* First for the reason (a file of root's cannot even be opened),
	 * then again on what was opened. */
	if (lstat(path, &st) == 0 && sqlite_check_stat(path, &st, err,
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
	if (sqlite_check_stat(path, &st, err, errlen) == -1)
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

static int
sqlite_exec(struct sql *db, const char *text)
{
	char	*msg = NULL;

	if (sqlite3_exec(db->conn, text, NULL, NULL, &msg) != SQLITE_OK) {
		sql_fail(db, "exec", msg != NULL ? msg : sqlite3_errmsg(
		    db->conn));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
sqlite_open(struct sql *db, const char *path, char *err, size_t errlen)
{
	sqlite3	*conn = NULL;
	int	 rc, flags;

	db->name = xstrdup(path);
	if (db->flags & SQL_READONLY)
		flags = SQLITE_OPEN_READONLY;
	else {
		if (sqlite_check_file(path, err, errlen) == -1)
			return -1;
		flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	}
	rc = sqlite3_open_v2(path, &conn, flags | SQLITE_OPEN_FULLMUTEX |
	    SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, conn != NULL ?
		    sqlite3_errmsg(conn) : sqlite3_errstr(rc));
		sqlite3_close(conn);
		return -1;
	}
	db->conn = conn;
	sqlite3_busy_timeout(conn, 5000);
	if (db->flags & SQL_READONLY)
		return 0;
	if (sqlite_exec(db, "PRAGMA journal_mode = WAL") == -1 ||
	    sqlite_exec(db, "PRAGMA synchronous = NORMAL") == -1 ||
	    sqlite_exec(db, "PRAGMA foreign_keys = ON") == -1) {
		snprintf(err, errlen, "%s: %s", path, db->error);
		return -1;
	}
	return 0;
}

static void
sqlite_close(struct sql *db)
{
	sqlite3_close(db->conn);
}

/* A prepared statement with p bound; NULL on error. */
static sqlite3_stmt *
sqlite_prepare(struct sql *db, const char *text, const struct sql_param *p,
    int n)
{
	sqlite3_stmt	*st;
	int		 i, rc = SQLITE_OK;

	if (sqlite3_prepare_v2(db->conn, text, -1, &st, NULL) != SQLITE_OK) {
		sql_fail(db, "prepare", sqlite3_errmsg(db->conn));
		return NULL;
	}
	for (i = 0; i < n && rc == SQLITE_OK; i++) {
		if (p[i].type == 'i')
			rc = sqlite3_bind_int64(st, i + 1, p[i].i);
		else
			rc = sqlite3_bind_text(st, i + 1, p[i].s, -1,
			    SQLITE_TRANSIENT);
	}
	if (rc != SQLITE_OK) {
		sql_fail(db, "bind", sqlite3_errmsg(db->conn));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static int
sqlite_write(struct sql *db, const char *text, const struct sql_param *p,
    int n)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = sqlite_prepare(db, text, p, n)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sql_fail(db, "write", sqlite3_errmsg(db->conn));
		return -1;
	}
	return sqlite3_changes(db->conn);
}

static int
sqlite_query(struct sql *db, const char *text, const struct sql_param *p,
    int n, struct sql_rows *rows)
{
	if ((rows->res = sqlite_prepare(db, text, p, n)) == NULL)
		return -1;
	return 0;
}

static int
sqlite_next(struct sql_rows *rows)
{
	int	rc;

	rc = sqlite3_step(rows->res);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	sql_fail(rows->db, "read", sqlite3_errmsg(rows->db->conn));
	return -1;
}

static const char *
sqlite_text(struct sql_rows *rows, int col)
{
	const unsigned char	*t = sqlite3_column_text(rows->res, col);

	return t != NULL ? (const char *)t : "";
}

static int64_t
sqlite_integer(struct sql_rows *rows, int col)
{
	return sqlite3_column_int64(rows->res, col);
}

static void
sqlite_done(struct sql_rows *rows)
{
	sqlite3_finalize(rows->res);
}

static int
sqlite_version(struct sql *db)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if ((st = sqlite_prepare(db, "PRAGMA user_version", NULL, 0)) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	else
		sql_fail(db, "schema version", sqlite3_errmsg(db->conn));
	sqlite3_finalize(st);
	return v;
}

/* BEGIN IMMEDIATE holds the file's write lock already. */
static int
sqlite_migration_lock(struct sql *db)
{
	(void)db;
	return 0;
}

static int
sqlite_version_set(struct sql *db, int v)
{
	char	text[64];

	snprintf(text, sizeof(text), "PRAGMA user_version = %d", v);
	return sqlite_exec(db, text);
}

const struct sql_driver sql_sqlite_driver = {
	.open = sqlite_open,
	.close = sqlite_close,
	.exec = sqlite_exec,
	.write = sqlite_write,
	.query = sqlite_query,
	.next = sqlite_next,
	.text = sqlite_text,
	.integer = sqlite_integer,
	.done = sqlite_done,
	.version = sqlite_version,
	.migration_lock = sqlite_migration_lock,
	.version_set = sqlite_version_set,
	.begin = "BEGIN IMMEDIATE",
};
