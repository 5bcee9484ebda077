/* SPDX-License-Identifier: ISC */
/*
 * Leases between brokers on one PostgreSQL database (cluster.c): taken,
 * renewed and given back with single statements, timed by the database's
 * clock so that the brokers' clocks need not agree. Every new holder
 * raises the epoch, and a renewal names the epoch it holds: a broker that
 * was paused while another took the lease over cannot renew it again.
 */
#include <stdint.h>
#include <string.h>

#include "broker.h"
#include "dbpriv.h"

/* What a lease given back is announced on. */
#define DB_LEASE_CHANNEL	"paprika_lease"

/* Now in milliseconds, by the database server's clock. */
#define DB_NOW_MS \
	"(extract(epoch from clock_timestamp()) * 1000)::bigint"

int
db_lease_take(struct db *db, const char *name, const char *holder,
    const char *url, unsigned ms, struct db_lease *l)
{
	struct sql_rows	*r;
	int		 rc, ret = -1;

	memset(l, 0, sizeof(*l));
	/* Taken when nobody holds it or the holding ran out. */
	r = sql_query(db->sql, "INSERT INTO leases (name, holder, url, epoch, "
	    "expires) VALUES (?, ?, ?, 1, " DB_NOW_MS " + ?) ON CONFLICT "
	    "(name) DO UPDATE SET holder = excluded.holder, url = excluded.url, "
	    "epoch = leases.epoch + 1, expires = excluded.expires WHERE "
	    "leases.expires <= " DB_NOW_MS " RETURNING epoch", "sssi", name,
	    holder, url, (int64_t)ms);
	if (r == NULL || (rc = sql_next(r)) == -1)
		goto out;
	if (rc == 1) {
		l->epoch = sql_int(r, 0);
		strlcpy(l->holder, holder, sizeof(l->holder));
		strlcpy(l->url, url, sizeof(l->url));
		l->left_ms = ms;
		ret = 1;
		goto out;
	}
	sql_done(r);
	r = sql_query(db->sql, "SELECT holder, url, epoch, expires - "
	    DB_NOW_MS " FROM leases WHERE name = ?", "s", name);
	if (r == NULL || sql_next(r) != 1)
		goto out;
	strlcpy(l->holder, sql_text(r, 0), sizeof(l->holder));
	strlcpy(l->url, sql_text(r, 1), sizeof(l->url));
	l->epoch = sql_int(r, 2);
	l->left_ms = sql_int(r, 3);
	ret = 0;
out:
	sql_done(r);
	return ret;
}

int
db_lease_renew(struct db *db, const char *name, const char *holder,
    int64_t epoch, unsigned ms)
{
	return sql_write(db->sql, "UPDATE leases SET expires = " DB_NOW_MS
	    " + ? WHERE name = ? AND holder = ? AND epoch = ?", "issi",
	    (int64_t)ms, name, holder, epoch);
}

int
db_lease_give_back(struct db *db, const char *name, const char *holder,
    int64_t epoch)
{
	int	rc;

	rc = sql_write(db->sql, "UPDATE leases SET expires = 0 WHERE "
	    "name = ? AND holder = ? AND epoch = ?", "ssi", name, holder,
	    epoch);
	/* Wakes the standbys (db_lease_listen) rather than their next poll. */
	if (rc == 1)
		sql_exec(db->sql, "NOTIFY " DB_LEASE_CHANNEL);
	return rc;
}

int
db_lease_listen(struct db *db)
{
	return sql_listen(db->sql, DB_LEASE_CHANNEL) == -1 ? -1 :
	    sql_fd(db->sql);
}

int
db_lease_notified(struct db *db)
{
	return sql_notified(db->sql);
}
