/* SPDX-License-Identifier: ISC */
/*
 * Configuration files: one INI format for every Paprika daemon, read with
 * inih. Errors name the file and line.
 */
#ifndef PAPRIKA_CONFIG_H
#define PAPRIKA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/*
 * Called for each "name = value" in a section; returns 0, or -1 after
 * writing a message (without file and line) into err.
 */
typedef int (*config_handler)(void *arg, const char *section,
    const char *name, const char *value, char *err, size_t errlen);

/* Reads path; returns 0, or -1 with "path:line: message" in err. */
int	config_parse_file(const char *path, config_handler handler, void *arg,
	    char *err, size_t errlen);
/* The same for handlers that want each setting's line (conftab.c). */
typedef int (*config_line_handler)(void *arg, int line, const char *section,
    const char *name, const char *value, char *err, size_t errlen);
int	config_parse_lines(const char *path, config_line_handler handler,
	    void *arg, char *err, size_t errlen);

/* Value helpers for handlers: each returns 0, or -1 with a message. */
int	config_uint(const char *value, uint64_t min, uint64_t max,
	    uint64_t *out, char *err, size_t errlen);
/* Durations: "30", "30s", "5m", "2h"; returns seconds. */
int	config_seconds(const char *value, uint64_t max, uint64_t *out,
	    char *err, size_t errlen);
/* Sizes: "65536", "64k", "1m". */
int	config_size(const char *value, uint64_t min, uint64_t max,
	    uint64_t *out, char *err, size_t errlen);
int	config_bool(const char *value, int *out, char *err, size_t errlen);

#endif
