/* SPDX-License-Identifier: ISC */
/*
 * The control socket's requests: {"command": NAME, ...} on one line, from
 * root or the gateway's own user, but parsed as strictly as any peer's
 * bytes: unknown commands, missing or malformed arguments and trailing
 * garbage are errors with a reason.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control-parse.h"

static const struct {
	const char		*name;
	enum control_command	 command;
} control_parse_commands[] = {
	{ "sessions", CONTROL_SESSIONS },
	{ "kill", CONTROL_KILL },
	{ "revoke", CONTROL_REVOKE },
	{ "reload", CONTROL_RELOAD },
	{ "metrics", CONTROL_METRICS },
	{ "status", CONTROL_STATUS },
};

/* A session id: 1 to 16 hex digits, nothing else; 0 or -1. */
static int
control_parse_session(json_t *o, uint64_t *id)
{
	const char	*s;
	size_t		 i, len;

	if ((s = json_string_value(json_object_get(o, "session"))) == NULL)
		return -1;
	len = strlen(s);
	if (len == 0 || len > 16)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -1;
	}
	*id = strtoull(s, NULL, 16);
	return 0;
}

/* Reads revoke's arguments; returns NULL or what is wrong. */
static const char *
control_parse_revoke(json_t *o, struct control_request *req)
{
	const char	*ticket;
	json_t		*v;

	req->seconds = CONTROL_REVOKE_DEFAULT;
	if (json_is_integer(v = json_object_get(o, "seconds")))
		req->seconds = json_integer_value(v);
	if (req->seconds <= 0 || req->seconds > CONTROL_REVOKE_MAX)
		return "seconds must be 1 to 31536000";
	if ((ticket = json_string_value(json_object_get(o, "ticket"))) !=
	    NULL) {
		if ((req->ticket = strdup(ticket)) == NULL)
			return "out of memory";
		return NULL;
	}
	if (control_parse_session(o, &req->session) == -1)
		return "revoke needs \"session\" (hex id) or \"ticket\"";
	return NULL;
}

/* Reads the command and its arguments out of a JSON object. */
static int
control_parse_object(json_t *o, struct control_request *req, char *err,
    size_t errlen)
{
	const char	*name, *why = NULL;
	size_t		 i, n = sizeof control_parse_commands /
			    sizeof control_parse_commands[0];

	if ((name = json_string_value(json_object_get(o, "command"))) == NULL) {
		snprintf(err, errlen, "missing \"command\"");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(name, control_parse_commands[i].name) == 0)
			break;
	}
	if (i == n) {
		snprintf(err, errlen, "unknown command \"%.64s\" (sessions, "
		    "kill, revoke, reload, metrics, status)", name);
		return -1;
	}
	req->command = control_parse_commands[i].command;
	if (req->command == CONTROL_REVOKE)
		why = control_parse_revoke(o, req);
	else if (req->command == CONTROL_KILL &&
	    control_parse_session(o, &req->session) == -1)
		why = "kill needs \"session\" (hex id)";
	if (why != NULL) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}

int
control_parse(const char *line, size_t len, struct control_request *req,
    char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*o = NULL;
	int		 ret = -1;

	memset(req, 0, sizeof *req);
	if (len > CONTROL_REQUEST_MAX) {
		snprintf(err, errlen, "request too large");
		goto out;
	}
	/* Trailing bytes after the object are an error (no EOF check off). */
	if ((o = json_loadb(line, len, 0, &jerr)) == NULL) {
		snprintf(err, errlen, "malformed JSON: %s", jerr.text);
		goto out;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "expected a JSON object");
		goto out;
	}
	ret = control_parse_object(o, req, err, errlen);
 out:
	json_decref(o);
	return ret;
}

void
control_request_clear(struct control_request *req)
{
	if (req->ticket != NULL) {
		/* A ticket is a credential until it expires. */
		explicit_bzero(req->ticket, strlen(req->ticket));
		free(req->ticket);
	}
	memset(req, 0, sizeof *req);
}
