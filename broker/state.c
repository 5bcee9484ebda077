/* SPDX-License-Identifier: ISC */
/*
 * The broker's one state, owned by the event loop's thread, and the helpers
 * every module of the daemon uses with it. Kept apart from brokerd.c's
 * main() so that the modules and their tests link without the daemon.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"

struct broker	*broker;

uint64_t
broker_random_id(void)
{
	uint64_t	id;

	do
		arc4random_buf(&id, sizeof(id));
	while (id == 0);
	return id;
}

void
broker_random_password(char *out, size_t outlen)
{
	static const char	 alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t			 raw[BROKER_PASSWORD_LEN];
	size_t			 i, n = outlen - 1;

	if (n > sizeof(raw))
		n = sizeof(raw);
	arc4random_buf(raw, n);
	/* 64 characters: each byte's low six bits pick one without bias. */
	for (i = 0; i < n; i++)
		out[i] = alphabet[raw[i] & 63];
	out[n] = '\0';
	explicit_bzero(raw, sizeof(raw));
}

void
broker_audit(const char *actor, const char *source, const char *action,
    const char *target, const char *result, const char *fmt, ...)
{
	va_list	 ap;
	char	 detail[512];

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (db_audit(broker->db, actor, source, action, target, result,
	    detail) == -1)
		log_warnx("audit: could not record \"%s\" by %s", action, actor);
}
