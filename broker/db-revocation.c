/* SPDX-License-Identifier: ISC */
/*
 * The revocations a gateway has not acknowledged (gwctl.c), in the state:
 * a broker that stops, crashes or hands over while a gateway is out of
 * reach leaves them to the broker that leads next, which delivers them
 * when the gateway is back.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "dbpriv.h"

int
db_revocation_put(struct db *db, const struct db_revocation *r)
{
	return db_upsert(db, "revocations", "gateway, session, expires, "
	    "queued", 2, "siii", r->gateway, (int64_t)r->session,
	    (int64_t)r->expires, (int64_t)r->queued);
}

int
db_revocation_del(struct db *db, const char *gateway, uint64_t session)
{
	return sql_write(db->sql, "DELETE FROM revocations WHERE gateway = ? "
	    "AND session = ?", "si", gateway, (int64_t)session);
}

int
db_revocation_each(struct db *db,
    void (*cb)(const struct db_revocation *, void *), void *arg)
{
	struct db_revocation	 rv;
	struct sql_rows		*r;
	int			 rc;

	r = sql_query(db->sql, "SELECT gateway, session, expires, queued FROM "
	    "revocations ORDER BY queued, session", "");
	if (r == NULL)
		return -1;
	while ((rc = sql_next(r)) == 1) {
		memset(&rv, 0, sizeof(rv));
		strlcpy(rv.gateway, sql_text(r, 0), sizeof(rv.gateway));
		rv.session = (uint64_t)sql_int(r, 1);
		rv.expires = (time_t)sql_int(r, 2);
		rv.queued = (time_t)sql_int(r, 3);
		cb(&rv, arg);
	}
	sql_done(r);
	return rc == 0 ? 0 : -1;
}
