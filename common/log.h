/* SPDX-License-Identifier: ISC */
/* Logging: stderr in the foreground, syslog as a daemon. Never log a secret. */
#ifndef PAPRIKA_LOG_H
#define PAPRIKA_LOG_H

#include <stddef.h>

void	log_init(const char *progname, int foreground, int verbose);
int	log_getverbose(void);
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Copies s into buf with every non-printable byte escaped; returns buf. */
const char *log_printable(const char *s, size_t len, char *buf, size_t bufsize);

#endif
