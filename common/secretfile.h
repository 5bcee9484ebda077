/* Files holding secrets (ticket keys, password hashes): refused when others
 * could read or change them, as relayd does. */
#ifndef PAPRIKA_SECRETFILE_H
#define PAPRIKA_SECRETFILE_H

#include <stddef.h>

/*
 * Opens path read-only (plus oflags, e.g. O_NOFOLLOW) when it is a regular
 * file that neither the group may write nor others may touch. what names
 * it in the message. Returns the descriptor, or -1 with "path: ..." in err.
 */
int	secretfile_open(const char *path, int oflags, const char *what,
	    char *err, size_t errlen);

#endif
