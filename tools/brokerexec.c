/* SPDX-License-Identifier: ISC */
/*
 * Hands a command to paprika-brokertool. It is looked for beside the
 * running program first, so that a build tree runs its own, then where
 * make install puts it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brokertool.h"

#define BROKERTOOL_NAME	"paprika-brokertool"

void
brokertool_exec(const char *const argv[])
{
	char	 self[PATH_MAX], path[PATH_MAX], *slash;
	ssize_t	 n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			n = snprintf(path, sizeof(path), "%s/%s", self,
			    BROKERTOOL_NAME);
			if ((size_t)n < sizeof(path) && access(path, X_OK) == 0)
				execv(path, (char *const *)argv);
		}
	}
	snprintf(path, sizeof(path), "%s/%s", PKGLIBEXECDIR, BROKERTOOL_NAME);
	execv(path, (char *const *)argv);
	fprintf(stderr, "%s: cannot run %s: %s (it comes with the broker: "
	    "run this command on the broker's host)\n", argv[0], path,
	    strerror(errno));
	exit(127);
}
