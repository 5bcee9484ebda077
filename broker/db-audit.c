/* SPDX-License-Identifier: ISC */
/*
 * The audit log's table: records written, searched, paged through for an
 * export and purged after audit_keep_days.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "broker.h"
#include "dbpriv.h"
#include "log.h"

int
db_audit(struct db *db, const char *actor, const char *source,
    const char *action, const char *target, const char *result,
    const char *detail)
{
	return db_run(db, db_prepare(db, "INSERT INTO audit (time, actor, "
	    "source, action, target, result, detail) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?)", "issssss", (int64_t)time(NULL), actor,
	    source != NULL ? source : "", action, target != NULL ? target : "",
	    result, detail != NULL ? detail : "")) == -1 ? -1 : 0;
}

int64_t
db_audit_last(struct db *db)
{
	return sqlite3_last_insert_rowid(db->sql);
}

int
db_audit_detail(struct db *db, int64_t id, const char *detail)
{
	return db_run(db, db_prepare(db, "UPDATE audit SET detail = ? WHERE "
	    "id = ?", "si", detail, id)) == 1 ? 0 : -1;
}

json_t *
db_audit_list(struct db *db, int64_t before, int limit,
    const struct audit_filter *f, int64_t since, int64_t until)
{
	static const struct audit_filter	 all;
	sqlite3_stmt				*st;
	json_t					*list;
	int					 rc;

	if (before <= 0)
		before = INT64_MAX;
	if (f == NULL)
		f = &all;
	/* A NULL binding matches any value (coalesce). */
	st = db_prepare(db, "SELECT id, time, actor, source, action, target, "
	    "result, detail FROM audit WHERE id < ? AND actor = "
	    "coalesce(?, actor) AND action = coalesce(?, action) AND "
	    "target = coalesce(?, target) AND result = coalesce(?, result) "
	    "AND time >= ? AND time < ? ORDER BY id DESC LIMIT ?", "issssiii",
	    before, f->actor, f->action, f->target, f->result, since, until,
	    (int64_t)limit);
	if (st == NULL)
		return NULL;
	list = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(list, json_pack("{s:I,s:I,s:s,s:s,s:s,"
		    "s:s,s:s,s:s}", "id", (json_int_t)sqlite3_column_int64(st,
		    0), "time", (json_int_t)sqlite3_column_int64(st, 1),
		    "actor", db_text(st, 2), "source", db_text(st, 3),
		    "action", db_text(st, 4), "target", db_text(st, 5),
		    "result", db_text(st, 6), "detail", db_text(st, 7)));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_warn(db, "read audit");
		json_decref(list);
		return NULL;
	}
	return list;
}

int
db_audit_purge(struct db *db, int64_t before, int limit)
{
	return db_run(db, db_prepare(db, "DELETE FROM audit WHERE id IN "
	    "(SELECT id FROM audit WHERE time < ? ORDER BY time LIMIT ?)",
	    "ii", before, (int64_t)limit));
}

int
db_audit_page(struct db *db, struct audit_cursor *cur, int limit,
    void (*cb)(const struct audit_row *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct audit_row	 r;
	int			 rc, n = 0;

	/* Keyset paging on (time, id): each page is one short statement,
	 * so no read transaction stays open between pages. */
	st = db_prepare(db, "SELECT id, time, actor, source, action, target, "
	    "result, detail FROM audit WHERE time >= ? AND time < ? AND "
	    "(time > ? OR id > ?) AND actor = coalesce(?, actor) AND "
	    "action = coalesce(?, action) AND target = coalesce(?, target) "
	    "AND result = coalesce(?, result) ORDER BY time, id LIMIT ?",
	    "iiiissssi", cur->time, cur->until, cur->time, cur->id,
	    cur->filter.actor, cur->filter.action, cur->filter.target,
	    cur->filter.result, (int64_t)limit);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(st, 0);
		r.time = sqlite3_column_int64(st, 1);
		r.actor = db_text(st, 2);
		r.source = db_text(st, 3);
		r.action = db_text(st, 4);
		r.target = db_text(st, 5);
		r.result = db_text(st, 6);
		r.detail = db_text(st, 7);
		cb(&r, arg);
		cur->time = r.time;
		cur->id = r.id;
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_warn(db, "read audit");
		return -1;
	}
	return n;
}

void
db_audit_cursor(struct audit_cursor *cur, int64_t since, int64_t until)
{
	memset(cur, 0, sizeof(*cur));
	cur->time = since;
	cur->until = until;
	/* No row has a negative id: the first page starts at since. */
	cur->id = -1;
}

