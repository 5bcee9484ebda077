/* SPDX-License-Identifier: ISC */
/*
 * What the db*.c files share: the connection and the statement helpers.
 * Only they include it; everybody else uses broker.h's db_* functions.
 */
#ifndef PAPRIKA_DBPRIV_H
#define PAPRIKA_DBPRIV_H

#include <sqlite3.h>

struct db {
	sqlite3	*sql;
	char	*path;
};

/* db.c */
/* Logs what failed with SQLite's message. */
void		 db_warn(struct db *db, const char *what);
/* Runs sql (no parameters, no rows); 0, or -1 logged. */
int		 db_exec(struct db *db, const char *sql);
/* A prepared statement with its parameters bound from fmt: 'i' int64,
 * 's' text; NULL on error. */
sqlite3_stmt	*db_prepare(struct db *db, const char *sql, const char *fmt,
		    ...);
/* Runs a statement that returns no rows; the rows changed, or -1. */
int		 db_run(struct db *db, sqlite3_stmt *st);
/* Column col as text, "" for NULL. */
const char	*db_text(sqlite3_stmt *st, int col);
/* A write transaction: db_begin, then db_commit or db_rollback. */
int		 db_begin(struct db *db);
int		 db_commit(struct db *db);
void		 db_rollback(struct db *db);

#endif
