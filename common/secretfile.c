/* SPDX-License-Identifier: ISC */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "encode.h"
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

int
secretfile_read_hex(const char *path, const char *what, uint8_t *out,
    size_t len, char *err, size_t errlen)
{
	char	text[SECRETFILE_HEX_MAX * 2 + 2];
	ssize_t	n;
	size_t	textlen;
	int	fd, ret = -1;

	if (len > SECRETFILE_HEX_MAX) {
		snprintf(err, errlen, "%s: a %s longer than %d bytes", path,
		    what, SECRETFILE_HEX_MAX);
		return -1;
	}
	if ((fd = secretfile_open(path, O_NOFOLLOW, what, err, errlen)) == -1)
		return -1;
	if ((n = read(fd, text, len * 2 + 2)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	textlen = (size_t)n;
	if (textlen > 0 && text[textlen - 1] == '\n')
		textlen--;
	if (textlen != len * 2 ||
	    hex_decode(text, textlen, out, len) != (ssize_t)len) {
		snprintf(err, errlen, "%s: a %s must be one line of %zu hex "
		    "characters", path, what, len * 2);
		goto out;
	}
	ret = 0;
 out:
	OPENSSL_cleanse(text, sizeof text);
	close(fd);
	return ret;
}
