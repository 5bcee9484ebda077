/* SPDX-License-Identifier: ISC */
/*
 * The audit log's table: records written, searched, paged through for an
 * export and purged after audit_keep_days.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "dbpriv.h"
#include "log.h"

int
db_audit(struct db *db, const char *actor, const char *source,
    const char *action, const char *target, const char *result,
    const char *detail)
{
	struct sql_rows	*r;
	int		 ret = -1;

	r = sql_query(db->sql, "INSERT INTO audit (time, actor, source, "
	    "action, target, result, detail) VALUES (?, ?, ?, ?, ?, ?, ?) "
	    "RETURNING id", "issssss", (int64_t)time(NULL), actor,
	    source != NULL ? source : "", action, target != NULL ? target : "",
	    result, detail != NULL ? detail : "");
	if (r != NULL && sql_next(r) == 1) {
		db->audit_last = sql_int(r, 0);
		ret = 0;
	}
	sql_done(r);
	return ret;
}

int64_t
db_audit_last(struct db *db)
{
	return db->audit_last;
}

int
db_audit_detail(struct db *db, int64_t id, const char *detail)
{
	return sql_write(db->sql, "UPDATE audit SET detail = ? WHERE id = ?",
	    "si", detail, id) == 1 ? 0 : -1;
}

json_t *
db_audit_list(struct db *db, int64_t before, int limit,
    const struct audit_filter *f, int64_t since, int64_t until)
{
	static const struct audit_filter	 all;
	struct sql_rows				*r;
	json_t					*list;
	int					 rc;

	if (before <= 0)
		before = INT64_MAX;
	if (f == NULL)
		f = &all;
	/* A NULL binding matches any value (coalesce). */
	r = sql_query(db->sql, "SELECT id, time, actor, source, action, "
	    "target, result, detail FROM audit WHERE id < ? AND actor = "
	    "coalesce(?, actor) AND action = coalesce(?, action) AND "
	    "target = coalesce(?, target) AND result = coalesce(?, result) "
	    "AND time >= ? AND time < ? ORDER BY id DESC LIMIT ?", "issssiii",
	    before, f->actor, f->action, f->target, f->result, since, until,
	    (int64_t)limit);
	if (r == NULL)
		return NULL;
	list = json_array();
	while ((rc = sql_next(r)) == 1)
		json_array_append_new(list, json_pack("{s:I,s:I,s:s,s:s,s:s,"
		    "s:s,s:s,s:s}", "id", (json_int_t)sql_int(r, 0), "time",
		    (json_int_t)sql_int(r, 1), "actor", sql_text(r, 2),
		    "source", sql_text(r, 3), "action", sql_text(r, 4),
		    "target", sql_text(r, 5), "result", sql_text(r, 6),
		    "detail", sql_text(r, 7)));
	sql_done(r);
	if (rc == -1) {
		json_decref(list);
		return NULL;
	}
	return list;
}

int
db_audit_purge(struct db *db, int64_t before, int limit)
{
	return sql_write(db->sql, "DELETE FROM audit WHERE id IN (SELECT id "
	    "FROM audit WHERE time < ? ORDER BY time LIMIT ?)", "ii", before,
	    (int64_t)limit);
}

int
db_audit_page(struct db *db, struct audit_cursor *cur, int limit,
    void (*cb)(const struct audit_row *, void *), void *arg)
{
	struct sql_rows		*rows;
	struct audit_row	 r;
	int			 rc, n = 0;

	/* Keyset paging on (time, id): each page is one short statement,
	 * so no read transaction stays open between pages. */
	rows = sql_query(db->sql, "SELECT id, time, actor, source, action, "
	    "target, result, detail FROM audit WHERE time >= ? AND time < ? AND "
	    "(time > ? OR id > ?) AND actor = coalesce(?, actor) AND "
	    "action = coalesce(?, action) AND target = coalesce(?, target) "
	    "AND result = coalesce(?, result) ORDER BY time, id LIMIT ?",
	    "iiiissssi", cur->time, cur->until, cur->time, cur->id,
	    cur->filter.actor, cur->filter.action, cur->filter.target,
	    cur->filter.result, (int64_t)limit);
	if (rows == NULL)
		return -1;
	while ((rc = sql_next(rows)) == 1) {
		r.id = sql_int(rows, 0);
		r.time = sql_int(rows, 1);
		r.actor = sql_text(rows, 2);
		r.source = sql_text(rows, 3);
		r.action = sql_text(rows, 4);
		r.target = sql_text(rows, 5);
		r.result = sql_text(rows, 6);
		r.detail = sql_text(rows, 7);
		cb(&r, arg);
		cur->time = r.time;
		cur->id = r.id;
		n++;
	}
	sql_done(rows);
	return rc == -1 ? -1 : n;
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

