/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

struct config_reader {
	FILE		*fp;
	int		 line;
	config_line_handler handler;
	void		*arg;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

/* inih's stream reader: counting lines here gives the handler its line. */
static char *
config_reader_gets(char *buf, int size, void *stream)
{
	struct config_reader	*r = stream;
	size_t			 len;
	int			 c;

	if (r->failed || fgets(buf, size, r->fp) == NULL)
		return NULL;
	r->line++;
	len = strlen(buf);
	/* inih would read the rest of a long line as a line of its own. */
	if (len == (size_t)size - 1 && buf[len - 1] != '\n' &&
	    (c = getc(r->fp)) != EOF) {
		ungetc(c, r->fp);
		snprintf(r->err, r->errlen, "%d: line too long (at most %d "
		    "characters)", r->line, size - 2);
		r->failed = 1;
		return NULL;
	}
	return buf;
}

static int
config_reader_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config_reader	*r = user;
	char			 msg[512];

	if (r->failed)
		return 0;
	msg[0] = '\0';
	if (r->handler(r->arg, r->line, section, name, value, msg,
	    sizeof msg) == -1) {
		snprintf(r->err, r->errlen, "%d: %s", r->line, msg);
		r->failed = 1;
		return 0;
	}
	return 1;
}

/* config_parse_file's handler, called through config_parse_lines. */
struct config_plain {
	config_handler	 handler;
	void		*arg;
};

static int
config_plain_handler(void *arg, int line, const char *section,
    const char *name, const char *value, char *err, size_t errlen)
{
	struct config_plain	*p = arg;

	return p->handler(p->arg, section, name, value, err, errlen);
}

int
config_parse_file(const char *path, config_handler handler, void *arg,
    char *err, size_t errlen)
{
	struct config_plain	p = { handler, arg };

	return config_parse_lines(path, config_plain_handler, &p, err, errlen);
}

int
config_parse_lines(const char *path, config_line_handler handler, void *arg,
    char *err, size_t errlen)
{
	struct config_reader	 r;
	char			 msg[600];
	int			 rc;

	memset(&r, 0, sizeof r);
	if ((r.fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	r.handler = handler;
	r.arg = arg;
	r.err = msg;
	r.errlen = sizeof msg;
	rc = ini_parse_stream(config_reader_gets, &r, config_reader_handler, &r);
	fclose(r.fp);
	if (r.failed) {
		snprintf(err, errlen, "%s:%s", path, msg);
		return -1;
	}
	if (rc > 0) {
		snprintf(err, errlen, "%s:%d: syntax error (expected "
		    "\"[section]\" or \"name = value\")", path, rc);
		return -1;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read", path);
		return -1;
	}
	return 0;
}

int
config_uint(const char *value, uint64_t min, uint64_t max, uint64_t *out,
    char *err, size_t errlen)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	if (value[0] < '0' || value[0] > '9') {
		snprintf(err, errlen, "\"%s\" is not a number", value);
		return -1;
	}
	v = strtoull(value, &end, 10);
	if (errno != 0 || *end != '\0') {
		snprintf(err, errlen, "\"%s\" is not a number", value);
		return -1;
	}
	if (v < min || v > max) {
		snprintf(err, errlen, "%s is out of range (%llu to %llu)",
		    value, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Parses a number with one optional unit letter from units/multipliers. */
static int
config_scaled(const char *value, const char *units, const uint64_t *mult,
    uint64_t min, uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	char			*end;
	const char		*u;
	unsigned long long	 v;
	uint64_t		 m = 1;

	errno = 0;
	if (value[0] < '0' || value[0] > '9')
		goto bad;
	v = strtoull(value, &end, 10);
	if (errno != 0)
		goto bad;
	if (*end != '\0') {
		if (end[1] != '\0' || (u = strchr(units, end[0])) == NULL)
			goto bad;
		m = mult[u - units];
	}
	if (v > max / m || v * m < min || v * m > max) {
		snprintf(err, errlen, "%s is out of range", value);
		return -1;
	}
	*out = v * m;
	return 0;
 bad:
	snprintf(err, errlen, "\"%s\" is not a valid value (a number with an "
	    "optional unit: %s)", value, units);
	return -1;
}

int
config_seconds(const char *value, uint64_t max, uint64_t *out, char *err,
    size_t errlen)
{
	static const uint64_t	mult[] = { 1, 60, 3600, 86400 };

	return config_scaled(value, "smhd", mult, 0, max, out, err, errlen);
}

int
config_size(const char *value, uint64_t min, uint64_t max, uint64_t *out,
    char *err, size_t errlen)
{
	static const uint64_t	mult[] = { 1024, 1024 * 1024, 1024, 1024 * 1024 };

	return config_scaled(value, "kmKM", mult, min, max, out, err, errlen);
}

int
config_bool(const char *value, int *out, char *err, size_t errlen)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
	    strcmp(value, "on") == 0 || strcmp(value, "1") == 0)
		*out = 1;
	else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 ||
	    strcmp(value, "off") == 0 || strcmp(value, "0") == 0)
		*out = 0;
	else {
		snprintf(err, errlen, "\"%s\" is not yes or no", value);
		return -1;
	}
	return 0;
}
