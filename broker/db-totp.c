/* SPDX-License-Identifier: ISC */
/*
 * Users' second factors: the sealed secret, the last step used (so that a
 * code works once) and the recovery codes' hashes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "broker.h"
#include "dbpriv.h"
#include "log.h"

int
db_totp_get(struct db *db, const char *user, struct totp_row *r)
{
	sqlite3_stmt	*st;
	int		 rc, ret = -1;

	st = db_prepare(db, "SELECT secret, confirmed, last_step, created, "
	    "(SELECT count(*) FROM totp_recovery WHERE user = ?1) FROM totp "
	    "WHERE user = ?1", "s", user);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 1;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		db_warn(db, "read totp");
		goto out;
	}
	memset(r, 0, sizeof(*r));
	strlcpy(r->sealed, db_text(st, 0), sizeof(r->sealed));
	r->confirmed = sqlite3_column_int(st, 1);
	r->last_step = sqlite3_column_int64(st, 2);
	r->created = (time_t)sqlite3_column_int64(st, 3);
	r->recovery_left = sqlite3_column_int(st, 4);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int
db_totp_put(struct db *db, const char *user, const char *sealed,
    int confirmed, time_t now)
{
	if (db_begin(db) == -1)
		return -1;
	if (db_run(db, db_prepare(db, "DELETE FROM totp_recovery WHERE "
	    "user = ?", "s", user)) == -1 || db_run(db, db_prepare(db,
	    "INSERT OR REPLACE INTO totp (user, secret, confirmed, last_step, "
	    "created) VALUES (?, ?, ?, -1, ?)", "ssii", user, sealed,
	    (int64_t)confirmed, (int64_t)now)) == -1) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

int
db_totp_use_step(struct db *db, const char *user, int64_t step)
{
	return db_run(db, db_prepare(db, "UPDATE totp SET last_step = ? "
	    "WHERE user = ? AND last_step < ?", "isi", step, user, step));
}

int
db_totp_confirm(struct db *db, const char *user, int64_t step,
    char hashes[][TOTP_HASH_HEX + 1], size_t n)
{
	size_t	i;

	if (db_begin(db) == -1)
		return -1;
	if (db_run(db, db_prepare(db, "UPDATE totp SET confirmed = 1, "
	    "last_step = ? WHERE user = ? AND confirmed = 0", "is", step,
	    user)) != 1)
		goto fail;
	for (i = 0; i < n; i++)
		if (db_run(db, db_prepare(db, "INSERT INTO totp_recovery "
		    "(user, hash) VALUES (?, ?)", "ss", user, hashes[i])) != 1)
			goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return -1;
}

int
db_totp_recovery_use(struct db *db, const char *user, const char *hash)
{
	return db_run(db, db_prepare(db, "DELETE FROM totp_recovery WHERE "
	    "user = ? AND hash = ?", "ss", user, hash));
}

int
db_totp_del(struct db *db, const char *user)
{
	int	n;

	if (db_begin(db) == -1)
		return -1;
	if (db_run(db, db_prepare(db, "DELETE FROM totp_recovery WHERE "
	    "user = ?", "s", user)) == -1 || (n = db_run(db, db_prepare(db,
	    "DELETE FROM totp WHERE user = ?", "s", user))) == -1) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db) == -1 ? -1 : n;
}

