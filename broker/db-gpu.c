/* SPDX-License-Identifier: ISC */
/*
 * The GPU tables: which guest holds which device (restored after a
 * restart), and the devices taken out of service until an admin clears
 * them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "broker.h"
#include "dbpriv.h"
#include "log.h"
#include "xmalloc.h"

int
db_gpu_alloc_save(struct db *db, const struct gpu_alloc *a)
{
	return db_run(db, db_prepare(db, "INSERT OR REPLACE INTO gpu_allocs "
	    "(host, device, parent, mdev_type, pool, guest, session, since) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "ssssssii", a->host, a->device,
	    a->parent, a->mdev_type, a->pool, a->guest, (int64_t)a->session,
	    (int64_t)a->since)) == -1 ? -1 : 0;
}

int
db_gpu_alloc_del(struct db *db, const struct gpu_alloc *a)
{
	return db_run(db, db_prepare(db, "DELETE FROM gpu_allocs WHERE "
	    "host = ? AND device = ?", "ss", a->host, a->device)) == -1 ?
	    -1 : 0;
}

int
db_gpu_alloc_load(struct db *db, void (*cb)(struct gpu_alloc *, void *),
    void *arg)
{
	sqlite3_stmt		*st;
	struct gpu_alloc	*a;
	int			 rc;

	st = db_prepare(db, "SELECT host, device, parent, mdev_type, pool, "
	    "guest, session, since FROM gpu_allocs ORDER BY host, device", "");
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a = xcalloc(1, sizeof(*a));
		strlcpy(a->host, db_text(st, 0), sizeof(a->host));
		strlcpy(a->device, db_text(st, 1), sizeof(a->device));
		strlcpy(a->parent, db_text(st, 2), sizeof(a->parent));
		strlcpy(a->mdev_type, db_text(st, 3), sizeof(a->mdev_type));
		strlcpy(a->pool, db_text(st, 4), sizeof(a->pool));
		strlcpy(a->guest, db_text(st, 5), sizeof(a->guest));
		a->session = (uint64_t)sqlite3_column_int64(st, 6);
		a->since = (time_t)sqlite3_column_int64(st, 7);
		cb(a, arg);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_warn(db, "read GPU allocations");
		return -1;
	}
	return 0;
}

int
db_gpu_quarantine_put(struct db *db, const char *host, const char *device,
    const char *reason)
{
	return db_run(db, db_prepare(db, "INSERT OR REPLACE INTO "
	    "gpu_quarantine (host, device, reason, since) VALUES "
	    "(?, ?, ?, ?)", "sssi", host, device, reason,
	    (int64_t)time(NULL))) == -1 ? -1 : 0;
}

int
db_gpu_quarantined(struct db *db, const char *host, const char *device,
    char *reason, size_t len)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = db_prepare(db, "SELECT reason FROM gpu_quarantine WHERE "
	    "host = ? AND device = ?", "ss", host, device);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		strlcpy(reason, db_text(st, 0), len);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_warn(db, "read GPU quarantine");
		return -1;
	}
	return rc == SQLITE_ROW;
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
	sqlite3_stmt	*st;
	int		 rc;

	st = db_prepare(db, "SELECT device, reason FROM gpu_quarantine WHERE "
	    "host = ? ORDER BY device", "s", host);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, db_text(st, 0), db_text(st, 1));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_warn(db, "list GPU quarantines");
		return -1;
	}
	return 0;
}

int
db_gpu_quarantine_del(struct db *db, const char *host, const char *device)
{
	return db_run(db, db_prepare(db, "DELETE FROM gpu_quarantine WHERE "
	    "host = ? AND device = ?", "ss", host, device));
}

