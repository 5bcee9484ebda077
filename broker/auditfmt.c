/* SPDX-License-Identifier: ISC */
/*
 * The audit log's export formats, pure functions shared by the broker's
 * export route and paprikactl: JSON lines for SIEMs, CSV (RFC 4180) for
 * the helpdesk's spreadsheets. Records hold what users and guests sent
 * (user names, libvirt errors), so CSV fields are quoted where they need
 * it and defused where a spreadsheet would run them as a formula.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "broker.h"

#define AUDITFMT_TIME_MAX	253402300799LL	/* 9999-12-31T23:59:59Z */
#define AUDITFMT_CSV_HEADER	"id,time,time_utc,actor,source,action," \
	"target,result,detail\r\n"

int
auditfmt_parse(const char *name, enum auditfmt *f)
{
	if (strcmp(name, "jsonl") == 0)
		*f = AUDITFMT_JSONL;
	else if (strcmp(name, "csv") == 0)
		*f = AUDITFMT_CSV;
	else
		return -1;
	return 0;
}

const char *
auditfmt_type(enum auditfmt f)
{
	return f == AUDITFMT_CSV ? "text/csv; charset=utf-8" :
	    "application/x-ndjson";
}

/* strptime's format matched the whole of s: 0 and *out, or -1. */
static int
auditfmt_date(const char *s, const char *fmt, int64_t *out)
{
	struct tm	 tm;
	const char	*end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, fmt, &tm)) == NULL || *end != '\0')
		return -1;
	*out = (int64_t)timegm(&tm);
	return *out < 0 || *out > AUDITFMT_TIME_MAX ? -1 : 0;
}

int
auditfmt_time(const char *s, int64_t *out)
{
	const char	*errstr = NULL;

	if (s[0] != '\0' && strspn(s, "0123456789") == strlen(s)) {
		*out = strtonum(s, 0, AUDITFMT_TIME_MAX, &errstr);
		return errstr == NULL ? 0 : -1;
	}
	/* strptime skips spaces and takes one-digit fields: only the two
	 * exact shapes documented. */
	if (strlen(s) == 10 && s[4] == '-' && s[7] == '-')
		return auditfmt_date(s, "%Y-%m-%d", out);
	if (strlen(s) == 20 && s[10] == 'T' && s[19] == 'Z')
		return auditfmt_date(s, "%Y-%m-%dT%H:%M:%SZ", out);
	return -1;
}

/* The time as ISO 8601 UTC ("" for one gmtime cannot show). */
static void
auditfmt_utc(int64_t t, char *buf, size_t len)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	buf[0] = '\0';
	if (gmtime_r(&tt, &tm) != NULL)
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A JSON string of s; bytes that are not UTF-8 (an old record from a
 * guest's error text) become '?' rather than losing the record. */
static json_t *
auditfmt_json_string(const char *s)
{
	json_t	*j;
	char	*copy;
	size_t	 i;

	if ((j = json_string(s)) != NULL)
		return j;
	copy = strdup(s);
	if (copy == NULL)
		return NULL;
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static int
auditfmt_jsonl(struct evbuffer *out, const struct audit_row *r,
    const char *utc)
{
	json_t	*o;
	char	*text;
	int	 ret;

	o = json_pack("{s:I,s:I,s:s,s:o?,s:o?,s:o?,s:o?,s:o?,s:o?}",
	    "id", (json_int_t)r->id, "time", (json_int_t)r->time,
	    "time_utc", utc, "actor", auditfmt_json_string(r->actor),
	    "source", auditfmt_json_string(r->source),
	    "action", auditfmt_json_string(r->action),
	    "target", auditfmt_json_string(r->target),
	    "result", auditfmt_json_string(r->result),
	    "detail", auditfmt_json_string(r->detail));
	if (o == NULL)
		return -1;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return -1;
	ret = evbuffer_add_printf(out, "%s\n", text) < 0 ? -1 : 0;
	free(text);
	return ret;
}

/*
 * One CSV field: a leading ' defuses what a spreadsheet would evaluate
 * (= + - @, and tab and CR, which some strip before looking); quotes
 * around a field with a separator, a quote or a line break, its quotes
 * doubled.
 */
static int
auditfmt_csv_field(struct evbuffer *out, const char *s, int last)
{
	const char	*p, *q;
	int		 quote, rc = 0;

	quote = s[strcspn(s, ",\"\r\n")] != '\0';
	if (quote)
		rc |= evbuffer_add(out, "\"", 1);
	if (s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL)
		rc |= evbuffer_add(out, "'", 1);
	for (p = s; (q = strchr(p, '"')) != NULL; p = q + 1)
		rc |= evbuffer_add(out, p, (size_t)(q - p) + 1) |
		    evbuffer_add(out, "\"", 1);
	rc |= evbuffer_add(out, p, strlen(p));
	if (quote)
		rc |= evbuffer_add(out, "\"", 1);
	rc |= evbuffer_add(out, last ? "\r\n" : ",", last ? 2 : 1);
	return rc == 0 ? 0 : -1;
}

static int
auditfmt_csv(struct evbuffer *out, const struct audit_row *r,
    const char *utc)
{
	const char	*fields[] = { r->actor, r->source, r->action,
	    r->target, r->result, r->detail };
	size_t		 i, n = sizeof(fields) / sizeof(fields[0]);

	if (evbuffer_add_printf(out, "%lld,%lld,%s,", (long long)r->id,
	    (long long)r->time, utc) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (auditfmt_csv_field(out, fields[i], i == n - 1) == -1)
			return -1;
	return 0;
}

int
auditfmt_header(struct evbuffer *out, enum auditfmt f)
{
	if (f != AUDITFMT_CSV)
		return 0;
	return evbuffer_add(out, AUDITFMT_CSV_HEADER,
	    strlen(AUDITFMT_CSV_HEADER));
}

int
auditfmt_row(struct evbuffer *out, enum auditfmt f, const struct audit_row *r)
{
	char	utc[32];

	auditfmt_utc(r->time, utc, sizeof(utc));
	if (f == AUDITFMT_CSV)
		return auditfmt_csv(out, r, utc);
	return auditfmt_jsonl(out, r, utc);
}
