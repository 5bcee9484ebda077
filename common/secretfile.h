/* SPDX-License-Identifier: ISC */
/* Files holding secrets (ticket keys, password hashes): refused when others
 * could read or change them, as relayd does. */
#ifndef PAPRIKA_SECRETFILE_H
#define PAPRIKA_SECRETFILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Opens path read-only (plus oflags, e.g. O_NOFOLLOW) when it is a regular
 * file that neither the group may write nor others may touch. what names
 * it in the message. Returns the descriptor, or -1 with "path: ..." in err.
 */
int	secretfile_open(const char *path, int oflags, const char *what,
	    char *err, size_t errlen);

#define SECRETFILE_HEX_MAX	64	/* bytes of secretfile_read_hex */

/*
 * Reads the len bytes (at most SECRETFILE_HEX_MAX) of a key written as one
 * line of 2 * len hex characters, as paprika-certs writes them, from the
 * secret file path (not followed if a symbolic link). 0, or -1 with
 * "path: ..." in err.
 */
int	secretfile_read_hex(const char *path, const char *what, uint8_t *out,
	    size_t len, char *err, size_t errlen);

#endif
