/* SPDX-License-Identifier: ISC */
/*
 * The broker's policy for dropping root (common/privdrop.c does it): its
 * state directory is the state file's, and root without a user is refused.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "privsep.h"
#include "xmalloc.h"

/* The directory of the state file, as a new string. */
static char *
privsep_dirname(const char *state)
{
	char	*dir = xstrdup(state), *slash;

	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		return xstrdup(".");
	}
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return dir;
}

void
privsep_state_dir(const char *state, const char *user)
{
	const char	*base = strrchr(state, '/');
	char		*dir = privsep_dirname(state), *ours[5];
	size_t		 i;

	/* The state file and SQLite's files beside it. */
	base = base != NULL ? base + 1 : state;
	ours[0] = xstrdup(base);
	xasprintf(&ours[1], "%s-wal", base);
	xasprintf(&ours[2], "%s-shm", base);
	xasprintf(&ours[3], "%s-journal", base);
	ours[4] = NULL;
	privdrop_state_dir(dir, user, (const char *const *)ours, "broker");
	for (i = 0; ours[i] != NULL; i++)
		free(ours[i]);
	free(dir);
}

void
privsep_drop(const char *user)
{
	if (user == NULL) {
		if (geteuid() == 0)
			fatalx("refusing to run as root: set \"user\" in "
			    "[broker] (\"user = paprika\"; \"user = root\" "
			    "keeps root)");
		return;
	}
	/* initgroups: the groups that let it reach libvirt's socket. */
	privdrop_become(user, PRIVDROP_GROUPS, "broker");
}

void
privsep_check_state(const char *state)
{
	struct stat	 st;
	char		*dir = privsep_dirname(state);

	if (lstat(dir, &st) == -1)
		fatal("state directory %s", dir);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		fatalx("state directory %s is writable by group or others "
		    "(mode %04o): chmod 700 it", dir,
		    (unsigned)(st.st_mode & 07777));
	if (access(dir, W_OK | X_OK) == -1)
		fatalx("state directory %s is not writable by uid %ld: give "
		    "the broker a directory of its own, owned by its user",
		    dir, (long)geteuid());
	free(dir);
}
