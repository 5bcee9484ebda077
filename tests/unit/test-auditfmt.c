/* SPDX-License-Identifier: ISC */
/* Unit tests for broker/auditfmt.c: the audit export's CSV and JSON lines,
 * and the time bounds it takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "broker.h"

/* A record with the given text in every text field but the detail. */
static struct audit_row
row(const char *text, const char *detail)
{
	struct audit_row	r = { 7, 1700000000, text, text, text, text,
	    text, detail };

	return r;
}

/* The record as fmt writes it, NUL-terminated (the caller frees it). */
static char *
format(enum auditfmt f, const struct audit_row *r)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 len;
	char		*s;

	assert_non_null(b);
	assert_int_equal(auditfmt_row(b, f, r), 0);
	len = evbuffer_get_length(b);
	assert_non_null(s = calloc(1, len + 1));
	evbuffer_remove(b, s, len);
	evbuffer_free(b);
	return s;
}

/* Whole lines in each format, quoting and escaping included. */
static void
test_rows(void **state)
{
	static const struct {
		enum auditfmt	 f;
		const char	*text, *detail, *want;
	} cases[] = {
		{ AUDITFMT_CSV, "alice", "3 sessions ended",
		    "7,1700000000,2023-11-14T22:13:20Z,alice,alice,alice,"
		    "alice,alice,3 sessions ended\r\n" },
		{ AUDITFMT_CSV, "a,b", "say \"hi\"\nthen, \"bye\"",
		    "7,1700000000,2023-11-14T22:13:20Z,\"a,b\",\"a,b\","
		    "\"a,b\",\"a,b\",\"a,b\","
		    "\"say \"\"hi\"\"\nthen, \"\"bye\"\"\"\r\n" },
		/* JSON lines keep every value as it is, formulas too. */
		{ AUDITFMT_JSONL, "=x", "a\nb \"c\"",
		    "{\"id\":7,\"time\":1700000000,\"time_utc\":"
		    "\"2023-11-14T22:13:20Z\",\"actor\":\"=x\",\"source\":"
		    "\"=x\",\"action\":\"=x\",\"target\":\"=x\","
		    "\"result\":\"=x\",\"detail\":\"a\\nb \\\"c\\\"\"}\n" },
		/* A byte that is not UTF-8 costs that byte, not the record. */
		{ AUDITFMT_JSONL, "bob", "bad \xff byte",
		    "{\"id\":7,\"time\":1700000000,\"time_utc\":"
		    "\"2023-11-14T22:13:20Z\",\"actor\":\"bob\",\"source\":"
		    "\"bob\",\"action\":\"bob\",\"target\":\"bob\","
		    "\"result\":\"bob\",\"detail\":\"bad ? byte\"}\n" },
	};
	struct audit_row	 r;
	char			*s;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = row(cases[i].text, cases[i].detail);
		s = format(cases[i].f, &r);
		assert_string_equal(s, cases[i].want);
		free(s);
	}
}

/* Spreadsheets run a cell that starts with = + - @ (or tab, CR). */
static void
test_csv_formula(void **state)
{
	const char	*in[] = { "=1+2", "+1", "-1", "@SUM(A1)", "\tx",
	    "=HYPERLINK(\"http://x\",\"y\")", "a=b" };
	const char	*want[] = { "'=1+2", "'+1", "'-1", "'@SUM(A1)", "'\tx",
	    "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"", "a=b" };
	struct audit_row r;
	char		*s, expect[256];
	size_t		 i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		r = row("x", in[i]);
		s = format(AUDITFMT_CSV, &r);
		snprintf(expect, sizeof(expect), "7,1700000000,"
		    "2023-11-14T22:13:20Z,x,x,x,x,x,%s\r\n", want[i]);
		assert_string_equal(s, expect);
		free(s);
	}
}

static void
test_csv_header(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	char		 s[128] = "";

	assert_int_equal(auditfmt_header(b, AUDITFMT_CSV), 0);
	evbuffer_remove(b, s, sizeof(s) - 1);
	assert_string_equal(s, "id,time,time_utc,actor,source,action,target,"
	    "result,detail\r\n");
	assert_int_equal(auditfmt_header(b, AUDITFMT_JSONL), 0);
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

static void
test_time(void **state)
{
	int64_t	t;

	assert_int_equal(auditfmt_time("0", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(auditfmt_time("1700000000", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(auditfmt_time("2023-11-14", &t), 0);
	assert_int_equal(t, 1699920000);
	assert_int_equal(auditfmt_time("2023-11-14T22:13:20Z", &t), 0);
	assert_int_equal(t, 1700000000);
}

static void
test_time_bad(void **state)
{
	const char	*bad[] = { "", "-1", "+5", "12a", "2023-11-14T22:13:20",
	    "2023-1-14", " 2023-11-14", "2023-11-14 ", "2023-13-01",
	    "99999999999999999999", "253402300800", "2023-11-14T25:00:00Z" };
	int64_t		 t;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(auditfmt_time(bad[i], &t), -1);
}

static void
test_parse(void **state)
{
	enum auditfmt	f;

	assert_int_equal(auditfmt_parse("csv", &f), 0);
	assert_int_equal(f, AUDITFMT_CSV);
	assert_int_equal(auditfmt_parse("jsonl", &f), 0);
	assert_int_equal(f, AUDITFMT_JSONL);
	assert_int_equal(auditfmt_parse("CSV", &f), -1);
	assert_int_equal(auditfmt_parse("json", &f), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_csv_formula),
		cmocka_unit_test(test_csv_header),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_time_bad),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
