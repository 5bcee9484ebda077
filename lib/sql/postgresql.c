/* SPDX-License-Identifier: ISC */
/*
 * lib/sql's PostgreSQL driver, on libpq: one connection, statements with
 * typed parameters ('?' rewritten to '$n'), the schema version in a table
 * of its own, and migrations serialised by an advisory lock so that
 * brokers starting together migrate once. A connection lost while idle
 * (the server restarted) is made again once before a statement fails.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "sqlpriv.h"
#include "xmalloc.h"

/* pg_type's OIDs of the two types parameters have (catalog/pg_type.h,
 * stable since PostgreSQL 7). */
#define PG_INT8OID	20
#define PG_TEXTOID	25

/* The advisory lock migrations take: any constant all brokers share. */
#define PG_MIGRATION_LOCK	"7051726b61"	/* "Pqrka" */

/* A statement should never take long; a server that hangs must not hold
 * the broker's loop for good. */
#define PG_STATEMENT_TIMEOUT	"30s"
#define PG_CONNECT_TIMEOUT	"10"

/* Builds the name messages use, "postgresql://user@host:port/dbname",
 * from the parsed url: never its password. */
static char *
pg_display_name(PQconninfoOption *opts)
{
	PQconninfoOption	*o;
	const char		*user = "", *host = "", *port = "", *dbname = "";
	char			*name;

	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
	}
	xasprintf(&name, "postgresql://%s%s%s%s%s/%s", user, *user != '\0' ?
	    "@" : "", host, *port != '\0' ? ":" : "", port, dbname);
	return name;
}

/* libpq's notices (NOTICE, WARNING from the server) go to the debug log. */
static void
pg_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("postgresql: %s", msg);
}

/* What every connection, first or made again, runs before use. */
static int
pg_setup(struct sql *db)
{
	PGresult	*res;
	const char	*text;
	int		 ok;

	text = (db->flags & SQL_READONLY) ?
	    "SET statement_timeout = '" PG_STATEMENT_TIMEOUT "'; "
	    "SET default_transaction_read_only = on" :
	    "SET statement_timeout = '" PG_STATEMENT_TIMEOUT "'";
	res = PQexec(db->conn, text);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		sql_fail(db, "set up the connection",
		    PQresultErrorMessage(res));
	PQclear(res);
	return ok ? 0 : -1;
}

static int
pg_open(struct sql *db, const char *url, char *err, size_t errlen)
{
	PQconninfoOption	*opts, *o;
	PGconn			*conn;
	const char		*keys[4], *vals[4];
	char			*perr = NULL;
	int			 n = 0, timeout = 0;

	if ((opts = PQconninfoParse(url, &perr)) == NULL) {
		snprintf(err, errlen, "the database URL is not one libpq "
		    "reads: %s", perr != NULL ? perr : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfreemem(perr);
		return -1;
	}
	db->name = pg_display_name(opts);
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "connect_timeout") == 0 &&
		    o->val != NULL)
			timeout = 1;
	PQconninfoFree(opts);

	keys[n] = "dbname";
	vals[n++] = url;
	keys[n] = "fallback_application_name";
	vals[n++] = "paprika-brokerd";
	if (!timeout) {
		keys[n] = "connect_timeout";
		vals[n++] = PG_CONNECT_TIMEOUT;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errlen, "%s: cannot connect: %s", db->name,
		    conn != NULL ? PQerrorMessage(conn) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfinish(conn);
		return -1;
	}
	db->conn = conn;
	PQsetNoticeProcessor(conn, pg_notice, NULL);
	if (PQsetClientEncoding(conn, "UTF8") != 0 || pg_setup(db) == -1) {
		snprintf(err, errlen, "%s: %s", db->name,
		    db->error[0] != '\0' ? db->error : PQerrorMessage(conn));
		err[strcspn(err, "\n")] = '\0';
		return -1;
	}
	return 0;
}

static void
pg_close(struct sql *db)
{
	PQfinish(db->conn);
}

/* text with each '?' made '$n' (and '?N' '$N'), outside quotes. */
static char *
pg_placeholders(const char *text)
{
	char		*out, *o;
	const char	*t;
	char		 quote = '\0';
	int		 n = 0;

	/* "$32" is at most three bytes for each '?'. */
	out = o = xmalloc(strlen(text) * 3 + 1);
	for (t = text; *t != '\0'; t++) {
		if (quote != '\0') {
			if (*t == quote)
				quote = '\0';
			*o++ = *t;
		} else if (*t == '\'' || *t == '"') {
			quote = *t;
			*o++ = *t;
		} else if (*t != '?')
			*o++ = *t;
		else if (isdigit((unsigned char)t[1]))
			*o++ = '$';
		else
			o += sprintf(o, "$%d", ++n);
	}
	*o = '\0';
	return out;
}

/* Makes the connection again: 0, or -1 (db's error says why). */
static int
pg_reconnect(struct sql *db)
{
	log_warnx("state %s: the connection was lost; connecting again",
	    sql_name(db));
	PQreset(db->conn);
	return PQstatus(db->conn) == CONNECTION_OK && pg_setup(db) == 0 ? 0 :
	    -1;
}

/*
 * A connection already known lost (a read of the notifications can find it
 * so, between statements) is made again before a statement runs, unless a
 * transaction of ours was open on it: that one is gone, and its statements
 * fail until the caller rolls it back.
 */
static int
pg_ready(struct sql *db)
{
	if (PQstatus(db->conn) != CONNECTION_BAD || db->in_transaction)
		return 0;
	return pg_reconnect(db);
}

/*
 * Runs text with p. A connection that was idle and turns out lost is made
 * again, and the statement run once more: inside a transaction, the
 * transaction is gone with it and the statement fails.
 */
static PGresult *
pg_run(struct sql *db, const char *text, const struct sql_param *p, int n)
{
	PGresult	*res;
	Oid		 types[SQL_PARAMS_MAX];
	const char	*values[SQL_PARAMS_MAX];
	char		*converted;
	int		 i, idle, tries;

	for (i = 0; i < n; i++) {
		/* 'u': no type, the server takes the column's. */
		types[i] = p[i].type == 'i' ? PG_INT8OID :
		    p[i].type == 's' ? PG_TEXTOID : 0;
		values[i] = p[i].s;
	}
	if (pg_ready(db) == -1)
		return NULL;
	converted = pg_placeholders(text);
	for (tries = 0; ; tries++) {
		idle = PQtransactionStatus(db->conn) == PQTRANS_IDLE;
		res = PQexecParams(db->conn, converted, n, types, values, NULL,
		    NULL, 0);
		if (PQstatus(db->conn) != CONNECTION_BAD || !idle || tries > 0)
			break;
		PQclear(res);
		if (pg_reconnect(db) == -1) {
			res = NULL;
			break;
		}
	}
	free(converted);
	return res;
}

/* Whether res is a success; if not, says so and frees it. */
static int
pg_ok(struct sql *db, PGresult *res, const char *what)
{
	ExecStatusType	st = PQresultStatus(res);

	if (res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
		return 1;
	sql_fail(db, what, res != NULL ? PQresultErrorMessage(res) :
	    PQerrorMessage(db->conn));
	PQclear(res);
	return 0;
}

static int
pg_exec(struct sql *db, const char *text)
{
	PGresult	*res;

	if (pg_ready(db) == -1) {
		sql_fail(db, "exec", PQerrorMessage(db->conn));
		return -1;
	}
	/* The simple protocol, which takes several statements at once. */
	res = PQexec(db->conn, text);
	if (!pg_ok(db, res, "exec"))
		return -1;
	PQclear(res);
	return 0;
}

static int
pg_write(struct sql *db, const char *text, const struct sql_param *p,
    int n)
{
	PGresult	*res;
	int		 changed;

	res = pg_run(db, text, p, n);
	if (!pg_ok(db, res, "write"))
		return -1;
	changed = atoi(PQcmdTuples(res));
	PQclear(res);
	return changed;
}

static int
pg_query(struct sql *db, const char *text, const struct sql_param *p,
    int n, struct sql_rows *rows)
{
	PGresult	*res;

	res = pg_run(db, text, p, n);
	if (!pg_ok(db, res, "read"))
		return -1;
	rows->res = res;
	rows->nrows = PQntuples(res);
	return 0;
}

static int
pg_next(struct sql_rows *rows)
{
	if (rows->row + 1 >= rows->nrows)
		return 0;
	rows->row++;
	return 1;
}

static const char *
pg_text(struct sql_rows *rows, int col)
{
	return PQgetvalue(rows->res, rows->row, col);
}

static int64_t
pg_integer(struct sql_rows *rows, int col)
{
	return strtoll(PQgetvalue(rows->res, rows->row, col), NULL, 10);
}

static void
pg_done(struct sql_rows *rows)
{
	PQclear(rows->res);
}

static int
pg_version(struct sql *db)
{
	PGresult	*res;
	int		 v = 0, exists;

	/* No table yet: a database no broker has used. */
	res = pg_run(db, "SELECT to_regclass('paprika_schema') IS NOT NULL",
	    NULL, 0);
	if (!pg_ok(db, res, "schema version"))
		return -1;
	exists = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!exists)
		return 0;
	res = pg_run(db, "SELECT version FROM paprika_schema", NULL, 0);
	if (!pg_ok(db, res, "schema version"))
		return -1;
	if (PQntuples(res) > 0)
		v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static int
pg_migration_lock(struct sql *db)
{
	return pg_exec(db, "SELECT pg_advisory_xact_lock(x'"
	    PG_MIGRATION_LOCK "'::bigint); CREATE TABLE IF NOT EXISTS "
	    "paprika_schema (version INTEGER NOT NULL)");
}

static int
pg_version_set(struct sql *db, int v)
{
	char	text[128];

	snprintf(text, sizeof(text), "DELETE FROM paprika_schema; "
	    "INSERT INTO paprika_schema (version) VALUES (%d)", v);
	return pg_exec(db, text);
}

static int
pg_fd(struct sql *db)
{
	return PQsocket(db->conn);
}

static int
pg_notified(struct sql *db)
{
	PGnotify	*n;
	int		 count = 0;

	if (PQconsumeInput(db->conn) == 0)
		return 0;
	while ((n = PQnotifies(db->conn)) != NULL) {
		count++;
		PQfreemem(n);
	}
	return count;
}

const struct sql_driver sql_postgresql_driver = {
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.write = pg_write,
	.query = pg_query,
	.next = pg_next,
	.text = pg_text,
	.integer = pg_integer,
	.done = pg_done,
	.version = pg_version,
	.migration_lock = pg_migration_lock,
	.version_set = pg_version_set,
	.fd = pg_fd,
	.notified = pg_notified,
	.begin = "BEGIN",
};
