/* SPDX-License-Identifier: ISC */
/* The control socket's request parser: one JSON line, pure, no I/O. */
#ifndef PAPRIKA_CONTROL_PARSE_H
#define PAPRIKA_CONTROL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define CONTROL_REQUEST_MAX	4096
/* How long a revoked session stays revoked unless the caller says. */
#define CONTROL_REVOKE_DEFAULT	(24 * 3600)
#define CONTROL_REVOKE_MAX	(365 * 86400)

enum control_command {
	CONTROL_SESSIONS,
	CONTROL_KILL,		/* session */
	CONTROL_REVOKE,		/* ticket, or session; seconds */
	CONTROL_RELOAD,
	CONTROL_METRICS,
	CONTROL_STATUS
};

struct control_request {
	enum control_command	 command;
	uint64_t		 session;
	int64_t			 seconds;	/* 1 to CONTROL_REVOKE_MAX */
	char			*ticket;	/* NULL unless revoking one */
};

/*
 * Parses one request (the line without its newline). Returns 0 with req
 * filled in, or -1 with the text of the error answer in err; either way the
 * caller clears req.
 */
int	control_parse(const char *line, size_t len,
	    struct control_request *req, char *err, size_t errlen);
/* Frees and wipes what control_parse left in req. */
void	control_request_clear(struct control_request *req);

#endif
