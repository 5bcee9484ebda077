/* SPDX-License-Identifier: ISC */
/*
 * What sql.c shares with its two drivers, sqlite.c and postgresql.c: each
 * driver fills in a struct sql_driver; sql.c parses the parameters, logs
 * and runs the migrations through it.
 */
#ifndef PAPRIKA_SQLPRIV_H
#define PAPRIKA_SQLPRIV_H

#include <pthread.h>
#include <stdarg.h>

#include "sql.h"


/* One bound parameter: 'i' with i, 's' with s (NULL: SQL NULL), or 'u'
 * with s, text the database converts to the column's type (sql_copy);
 * text holds i in decimal for a driver that binds only text. */
struct sql_param {
	char		 type;
	int64_t		 i;
	const char	*s;
	char		 text[24];
};

struct sql_rows {
	struct sql	*db;
	void		*res;		/* the driver's statement or result */
	int		 row;		/* the current row (PostgreSQL) */
	int		 nrows;
};

struct sql_driver {
	/* Connects to target (the url without the driver's prefix for
	 * SQLite); 0, or -1 with err. */
	int		 (*open)(struct sql *, const char *target, char *err,
			    size_t errlen);
	void		 (*close)(struct sql *);
	int		 (*exec)(struct sql *, const char *text);
	/* Rows changed, or -1. */
	int		 (*write)(struct sql *, const char *text,
			    const struct sql_param *, int n);
	/* 0 with rows->res set, or -1. */
	int		 (*query)(struct sql *, const char *text,
			    const struct sql_param *, int n,
			    struct sql_rows *rows);
	int		 (*next)(struct sql_rows *);
	const char	*(*text)(struct sql_rows *, int col);
	int64_t		 (*integer)(struct sql_rows *, int col);
	void		 (*done)(struct sql_rows *);
	/* The schema version; -1 on error. */
	int		 (*version)(struct sql *);
	/* Inside a migration's transaction: waits for other processes'
	 * migrations, then records version v. 0 or -1. */
	int		 (*migration_lock)(struct sql *);
	int		 (*version_set)(struct sql *, int v);
	/* LISTEN/NOTIFY (NULL: none) */
	int		 (*fd)(struct sql *);
	int		 (*notified)(struct sql *);
	const char	*begin;		/* the statement of sql_begin */
};

struct sql {
	const struct sql_driver	*drv;
	char			*name;
	int			 flags;
	void			*conn;
	pthread_mutex_t		 lock;
	int			 (*may_write)(void);	/* NULL: always */
	int			 in_transaction; /* sql_begin until
						   commit or rollback */
	char			 error[512];	/* the last failure, from
						   the driver */
};

extern const struct sql_driver	sql_sqlite_driver;
extern const struct sql_driver	sql_postgresql_driver;

/* Keeps the driver's message of a failure in db->error, and logs that what
 * failed with it. */
void	sql_fail(struct sql *db, const char *what, const char *msg);

#endif
