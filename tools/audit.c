/* SPDX-License-Identifier: ISC */
/*
 * paprikactl audit export: the broker's audit log as JSON lines or CSV,
 * read from its state file (read-only, the broker running or not), in the
 * same formats as GET /api/v1/audit/export. For the helpdesk's and SIEMs'
 * scripts on the broker's host: it needs read access to the state (root,
 * or the broker's user), not a login.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "broker.h"
#include "sql.h"
#include "brokertool.h"

#define AUDIT_PAGE	1000

struct audit_out {
	struct evbuffer	*buf;
	enum auditfmt	 format;
	int		 failed;
};

static void __attribute__((noreturn))
audit_usage(void)
{
	fprintf(stderr, "usage: paprikactl audit export [--config FILE | "
	    "--state FILE]\n"
	    "           [--format jsonl|csv] [--since TIME] [--until TIME]\n"
	    "TIME: seconds since 1970, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ "
	    "(UTC)\n");
	exit(2);
}

static void
audit_row(const struct audit_row *r, void *arg)
{
	struct audit_out	*o = arg;

	if (auditfmt_row(o->buf, o->format, r) == -1)
		o->failed = 1;
}

/* Writes out what the buffer holds; -1 when stdout fails. */
static int
audit_flush(struct evbuffer *buf)
{
	while (evbuffer_get_length(buf) > 0)
		if (evbuffer_write(buf, STDOUT_FILENO) == -1 && errno != EINTR)
			return -1;
	return 0;
}

/* Every record in range to stdout, a page at a time; 0, or 1. */
static int
audit_dump(struct db *db, enum auditfmt f, int64_t since, int64_t until)
{
	struct audit_out	 o = { evbuffer_new(), f, 0 };
	struct audit_cursor	 cur;
	int			 n, ret = 1;

	if (o.buf == NULL || auditfmt_header(o.buf, f) == -1)
		goto out;
	db_audit_cursor(&cur, since, until);
	do {
		if ((n = db_audit_page(db, &cur, AUDIT_PAGE, audit_row,
		    &o)) == -1 || o.failed) {
			fprintf(stderr, "paprikactl: cannot read the audit "
			    "log\n");
			goto out;
		}
		if (audit_flush(o.buf) == -1) {
			fprintf(stderr, "paprikactl: write: %s\n",
			    strerror(errno));
			goto out;
		}
	} while (n == AUDIT_PAGE);
	ret = 0;
out:
	if (o.buf != NULL)
		evbuffer_free(o.buf);
	return ret;
}

static int64_t
audit_bound(const char *opt, const char *value)
{
	int64_t	t;

	if (auditfmt_time(value, &t) == -1) {
		fprintf(stderr, "paprikactl: %s \"%s\": seconds since 1970, "
		    "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ\n", opt, value);
		exit(2);
	}
	return t;
}

int
cmd_audit(int argc, char *argv[])
{
	static const struct option	 opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*config = BROKER_DEFAULT_CONFIG, *state = NULL;
	struct broker_config	*c = NULL;
	struct db		*db;
	enum auditfmt		 f = AUDITFMT_JSONL;
	int64_t			 since = 0, until = INT64_MAX;
	char			 err[512];
	int			 ch, ret;

	if (argc < 2 || strcmp(argv[1], "export") != 0)
		audit_usage();
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'f':
			if (auditfmt_parse(optarg, &f) == -1)
				audit_usage();
			break;
		case 'S':
			since = audit_bound("--since", optarg);
			break;
		case 'U':
			until = audit_bound("--until", optarg);
			break;
		default:
			audit_usage();
		}
	}
	if (optind != argc)
		audit_usage();
	if (state == NULL) {
		if ((c = conf_load(config, err, sizeof(err))) == NULL) {
			fprintf(stderr, "paprikactl: %s\n", err);
			return 1;
		}
		state = conf_database(c);
	}
	if ((db = db_open(state, SQL_READONLY, err, sizeof(err))) == NULL) {
		fprintf(stderr, "paprikactl: %s\n", err);
		conf_free(c);
		return 1;
	}
	ret = audit_dump(db, f, since, until);
	db_close(db);
	conf_free(c);
	return ret;
}
