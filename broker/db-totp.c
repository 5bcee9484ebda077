/* SPDX-License-Identifier: ISC */
/*
 * Users' second factors: the sealed secret, the last step used (so that a
 * code works once) and the recovery codes' hashes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "dbpriv.h"
#include "log.h"

int
db_totp_get(struct db *db, const char *user, struct totp_row *row)
{
	struct sql_rows	*r;
	int		 rc, ret = -1;

	r = sql_query(db->sql, "SELECT secret, confirmed, last_step, created, "
	    "(SELECT count(*) FROM totp_recovery WHERE \"user\" = ?1) FROM "
	    "totp WHERE \"user\" = ?1", "s", user);
	if (r == NULL || (rc = sql_next(r)) == -1)
		goto out;
	if (rc == 0) {
		ret = 1;
		goto out;
	}
	memset(row, 0, sizeof(*row));
	strlcpy(row->sealed, sql_text(r, 0), sizeof(row->sealed));
	row->confirmed = (int)sql_int(r, 1);
	row->last_step = sql_int(r, 2);
	row->created = (time_t)sql_int(r, 3);
	row->recovery_left = (int)sql_int(r, 4);
	ret = 0;
out:
	sql_done(r);
	return ret;
}

int
db_totp_put(struct db *db, const char *user, const char *sealed,
    int confirmed, time_t now)
{
	if (sql_begin(db->sql) == -1)
		return -1;
	if (sql_write(db->sql, "DELETE FROM totp_recovery WHERE \"user\" = ?",
	    "s", user) == -1 || db_upsert(db, "totp", "\"user\", secret, "
	    "confirmed, last_step, created", 1, "ssiii", user, sealed,
	    (int64_t)confirmed, (int64_t)-1, (int64_t)now) == -1) {
		sql_rollback(db->sql);
		return -1;
	}
	return sql_commit(db->sql);
}

int
db_totp_use_step(struct db *db, const char *user, int64_t step)
{
	return sql_write(db->sql, "UPDATE totp SET last_step = ? WHERE "
	    "\"user\" = ? AND last_step < ?", "isi", step, user, step);
}

int
db_totp_confirm(struct db *db, const char *user, int64_t step,
    char hashes[][TOTP_HASH_HEX + 1], size_t n)
{
	size_t	i;

	if (sql_begin(db->sql) == -1)
		return -1;
	if (sql_write(db->sql, "UPDATE totp SET confirmed = 1, last_step = ? "
	    "WHERE \"user\" = ? AND confirmed = 0", "is", step, user) != 1)
		goto fail;
	for (i = 0; i < n; i++)
		if (sql_write(db->sql, "INSERT INTO totp_recovery (\"user\", "
		    "hash) VALUES (?, ?)", "ss", user, hashes[i]) != 1)
			goto fail;
	return sql_commit(db->sql);
fail:
	sql_rollback(db->sql);
	return -1;
}

int
db_totp_recovery_use(struct db *db, const char *user, const char *hash)
{
	return sql_write(db->sql, "DELETE FROM totp_recovery WHERE "
	    "\"user\" = ? AND hash = ?", "ss", user, hash);
}

int
db_totp_del(struct db *db, const char *user)
{
	int	n;

	if (sql_begin(db->sql) == -1)
		return -1;
	if (sql_write(db->sql, "DELETE FROM totp_recovery WHERE \"user\" = ?",
	    "s", user) == -1 || (n = sql_write(db->sql, "DELETE FROM totp "
	    "WHERE \"user\" = ?", "s", user)) == -1) {
		sql_rollback(db->sql);
		return -1;
	}
	return sql_commit(db->sql) == -1 ? -1 : n;
}
