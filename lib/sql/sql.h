/* SPDX-License-Identifier: ISC */
/*
 * lib/sql: one small SQL interface over two databases, SQLite (a file, the
 * embedded default) and PostgreSQL (shared by several brokers). The caller
 * writes one statement for both: '?' or '?N' placeholders, standard SQL
 * (upserts as INSERT ... ON CONFLICT, RETURNING), and only the DDL of a
 * migration differs. Every parameter is bound as text or NULL and every
 * column read as text or a 64-bit integer: what the broker's state needs.
 *
 * Errors are logged here, naming the database (never with a password);
 * the functions return -1 or NULL. A connection is used by one thread at a
 * time; the PostgreSQL driver locks around each call all the same.
 */
#ifndef PAPRIKA_SQL_H
#define PAPRIKA_SQL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct sql;
struct sql_rows;

enum sql_kind {
	SQL_SQLITE,
	SQL_POSTGRESQL
};

/* At most this many parameters in one statement. */
#define SQL_PARAMS_MAX	32

/* sql_open's flags. */
#define SQL_READONLY	0x1	/* no writes; no migration; the schema must be
				   there already */

/*
 * One step of the schema, from version i to i + 1: the same change written
 * for each database. The list is append-only; the database records how
 * many steps have run.
 */
struct sql_migration {
	const char	*sqlite;
	const char	*postgresql;
};

/*
 * Opens the database that url names: "sqlite:PATH" or a plain path (a file
 * that must be a regular file of the caller's, mode 0600: it is created so),
 * or "postgresql://..." / "postgres://..." (libpq's URI). NULL with the
 * reason in err.
 */
struct sql	*sql_open(const char *url, int flags, char *err, size_t errlen);
void		 sql_close(struct sql *db);
/*
 * Makes every write on db (sql_write, sql_exec, sql_begin, and a
 * sql_query that is no SELECT) first ask may_write(), and fail without
 * reaching the database when it says 0: a broker that lost its lease
 * writes nothing more.
 */
void		 sql_set_fence(struct sql *db, int (*may_write)(void));
/* The file a SQLite url names, or NULL when url names a server. */
const char	*sql_url_path(const char *url);
enum sql_kind	 sql_kind(const struct sql *db);
/* The database for messages: the path, or the URI without its password. */
const char	*sql_name(const struct sql *db);

/*
 * Runs the steps of list the database has not run yet, each in its own
 * transaction, so that two brokers starting at once migrate once. 0, or -1
 * with the version that failed and why in err; a database newer than the
 * list is refused.
 */
int		 sql_migrate(struct sql *db, const struct sql_migration *list,
		    int n, char *err, size_t errlen);
/* How many steps the database has run; -1 on error. */
int		 sql_version(struct sql *db);

/* Runs text with no parameters and no rows (several statements for
 * SQLite, one for PostgreSQL); 0 or -1. */
int		 sql_exec(struct sql *db, const char *text);
/*
 * Runs a statement that returns no rows, its parameters bound from fmt:
 * 'i' an int64_t, 's' a string (NULL binds SQL NULL). The number of rows
 * it changed, or -1.
 */
int		 sql_write(struct sql *db, const char *text, const char *fmt,
		    ...);
int		 sql_writev(struct sql *db, const char *text, const char *fmt,
		    va_list ap);
/* Runs a query, parameters as sql_write; its rows, or NULL. */
struct sql_rows	*sql_query(struct sql *db, const char *text, const char *fmt,
		    ...);
/* Moves to the next row: 1, 0 at the end, -1 on error. */
int		 sql_next(struct sql_rows *rows);
/* The current row's column col: text ("" for NULL) valid until the next
 * sql_next, or an integer (0 for NULL). */
const char	*sql_text(struct sql_rows *rows, int col);
int64_t		 sql_int(struct sql_rows *rows, int col);
/* Frees rows (NULL is fine). */
void		 sql_done(struct sql_rows *rows);

/*
 * Copies every row of table's columns cols (as "a, b, c") from one
 * database to the other, values as text that the target converts to its
 * columns' types. The rows copied, or -1.
 */
long		 sql_copy(struct sql *from, struct sql *to, const char *table,
		    const char *cols);

/*
 * PostgreSQL's LISTEN/NOTIFY, for a caller with an event loop: sql_listen
 * asks for channel's notifications, sql_fd is the socket to watch for them
 * (it changes when the connection is made again: listen again then), and
 * sql_notified reads what arrived and returns how many notifications of
 * any channel it held. SQLite has none: -1, -1 and 0.
 */
int		 sql_listen(struct sql *db, const char *channel);
int		 sql_fd(struct sql *db);
int		 sql_notified(struct sql *db);

/* A write transaction: sql_begin, then sql_commit or sql_rollback. On
 * SQLite it takes the write lock at once (BEGIN IMMEDIATE). */
int		 sql_begin(struct sql *db);
int		 sql_commit(struct sql *db);
void		 sql_rollback(struct sql *db);

#endif
