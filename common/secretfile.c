#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "secretfile.h"

int
secretfile_open(const char *path, int oflags, const char *what, char *err,
    size_t errlen)
{
	struct stat	st;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | oflags)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IRWXO)) {
		snprintf(err, errlen, "%s: %s is accessible by others "
		    "(mode %04o): chmod 600 or 640", path, what,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	return fd;
 fail:
	close(fd);
	return -1;
}
