/* SPDX-License-Identifier: ISC */
/*
 * What the db*.c files share: the connection and the upsert helper. Only
 * they include it; everybody else uses broker.h's db_* functions.
 */
#ifndef PAPRIKA_DBPRIV_H
#define PAPRIKA_DBPRIV_H

#include "sql.h"

struct db {
	struct sql	*sql;
	int64_t		 audit_last;	/* the id db_audit wrote last */
};

/* db.c */
/* Inserts a row of table or replaces the one with the same key: cols
 * lists the columns, the first nkey of them the key; 0 or -1. */
int		 db_upsert(struct db *db, const char *table, const char *cols,
		    int nkey, const char *fmt, ...);

#endif
