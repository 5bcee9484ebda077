/* SPDX-License-Identifier: ISC */
/*
 * The GPU tables: which guest holds which device (restored after a
 * restart), and the devices taken out of service until an admin clears
 * them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "dbpriv.h"
#include "log.h"
#include "xmalloc.h"

int
db_gpu_alloc_save(struct db *db, const struct gpu_alloc *a)
{
	return db_upsert(db, "gpu_allocs", "host, device, parent, mdev_type, "
	    "pool, guest, session, since", 2, "ssssssii", a->host, a->device,
	    a->parent, a->mdev_type, a->pool, a->guest, (int64_t)a->session,
	    (int64_t)a->since);
}

int
db_gpu_alloc_del(struct db *db, const struct gpu_alloc *a)
{
	return sql_write(db->sql, "DELETE FROM gpu_allocs WHERE host = ? AND "
	    "device = ?", "ss", a->host, a->device) == -1 ? -1 : 0;
}

int
db_gpu_alloc_load(struct db *db, void (*cb)(struct gpu_alloc *, void *),
    void *arg)
{
	struct sql_rows		*r;
	struct gpu_alloc	*a;
	int			 rc;

	r = sql_query(db->sql, "SELECT host, device, parent, mdev_type, pool, "
	    "guest, session, since FROM gpu_allocs ORDER BY host, device", "");
	if (r == NULL)
		return -1;
	while ((rc = sql_next(r)) == 1) {
		a = xcalloc(1, sizeof(*a));
		strlcpy(a->host, sql_text(r, 0), sizeof(a->host));
		strlcpy(a->device, sql_text(r, 1), sizeof(a->device));
		strlcpy(a->parent, sql_text(r, 2), sizeof(a->parent));
		strlcpy(a->mdev_type, sql_text(r, 3), sizeof(a->mdev_type));
		strlcpy(a->pool, sql_text(r, 4), sizeof(a->pool));
		strlcpy(a->guest, sql_text(r, 5), sizeof(a->guest));
		a->session = (uint64_t)sql_int(r, 6);
		a->since = (time_t)sql_int(r, 7);
		cb(a, arg);
	}
	sql_done(r);
	return rc == 0 ? 0 : -1;
}

int
db_gpu_quarantine_put(struct db *db, const char *host, const char *device,
    const char *reason)
{
	return db_upsert(db, "gpu_quarantine", "host, device, reason, since",
	    2, "sssi", host, device, reason, (int64_t)time(NULL));
}

int
db_gpu_quarantined(struct db *db, const char *host, const char *device,
    char *reason, size_t len)
{
	struct sql_rows	*r;
	int		 rc;

	r = sql_query(db->sql, "SELECT reason FROM gpu_quarantine WHERE "
	    "host = ? AND device = ?", "ss", host, device);
	if (r == NULL)
		return -1;
	if ((rc = sql_next(r)) == 1)
		strlcpy(reason, sql_text(r, 0), len);
	sql_done(r);
	return rc;
}

/*
 * Whether device of host is out of service: 1 with reason filled, also
 * when its quarantine cannot be read (a card that may be broken must not
 * reach a user because the state failed), 0 when not.
 */
int
db_gpu_out_of_service(struct db *db, const char *host, const char *device,
    char *reason, size_t len)
{
	int	rc;

	if ((rc = db_gpu_quarantined(db, host, device, reason, len)) != -1)
		return rc;
	strlcpy(reason, "its quarantine cannot be read, so it stays out of "
	    "service", len);
	return 1;
}

int
db_gpu_quarantine_each(struct db *db, const char *host,
    void (*cb)(void *, const char *, const char *), void *arg)
{
	struct sql_rows	*r;
	int		 rc;

	r = sql_query(db->sql, "SELECT device, reason FROM gpu_quarantine "
	    "WHERE host = ? ORDER BY device", "s", host);
	if (r == NULL)
		return -1;
	while ((rc = sql_next(r)) == 1)
		cb(arg, sql_text(r, 0), sql_text(r, 1));
	sql_done(r);
	return rc == 0 ? 0 : -1;
}

int
db_gpu_quarantine_del(struct db *db, const char *host, const char *device)
{
	return sql_write(db->sql, "DELETE FROM gpu_quarantine WHERE host = ? "
	    "AND device = ?", "ss", host, device);
}
