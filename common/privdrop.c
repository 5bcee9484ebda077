/* SPDX-License-Identifier: ISC */
/*
 * Dropping root: the state directory made and handed over while still
 * root, then the switch to the daemon's user. See privdrop.h.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "xmalloc.h"

/* Makes the parent of dir (0755), as /var/lib/paprika for the defaults. */
static void
privdrop_parent(const char *dir)
{
	char	*parent = xstrdup(dir), *slash;

	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0755) == -1 && errno != EEXIST)
			fatal("state directory %s", parent);
	}
	free(parent);
}

/* The first entry of dir that no pattern of ours matches; NULL if none. */
static char *
privdrop_foreign(const char *dir, const char *const *ours)
{
	const char *const	*p;
	struct dirent		*e;
	char			*found = NULL;
	DIR			*d;

	if ((d = opendir(dir)) == NULL)
		fatal("state directory %s", dir);
	while (found == NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		for (p = ours; *p != NULL; p++)
			if (fnmatch(*p, e->d_name, 0) == 0)
				break;
		if (*p == NULL)
			found = xstrdup(e->d_name);
	}
	closedir(d);
	return found;
}

void
privdrop_state_dir(const char *dir, const char *user,
    const char *const *ours, const char *daemon)
{
	struct passwd	*pw;
	struct stat	 st;
	char		*other;

	if (mkdir(dir, 0700) == -1 && errno == ENOENT)
		privdrop_parent(dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		fatal("state directory %s", dir);
	if (lstat(dir, &st) == -1)
		fatal("state directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		fatalx("state directory %s is not a directory (a symbolic link "
		    "is refused too)", dir);
	/* Without root, or without the user, privdrop_become says why. */
	if (user == NULL || geteuid() != 0 || (pw = getpwnam(user)) == NULL ||
	    pw->pw_uid == 0 || st.st_uid == pw->pw_uid)
		return;
	if ((other = privdrop_foreign(dir, ours)) != NULL)
		fatalx("state directory %s holds \"%s\", which is not the %s's: "
		    "give the %s a directory of its own", dir, other, daemon,
		    daemon);
	if (chown(dir, pw->pw_uid, pw->pw_gid) == -1 || chmod(dir, 0700) == -1)
		fatal("cannot give the state directory %s to %s", dir, user);
	log_info("state directory %s given to %s", dir, user);
}

void
privdrop_become(const char *user, int flags, const char *section)
{
	struct passwd	*pw;
	uid_t		 uid, ruid, euid, suid;
	gid_t		 gid, rgid, egid, sgid;
	int		 groups;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("user \"%s\" does not exist (create it, or change "
		    "\"user\" in [%s])", user, section);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (geteuid() != 0) {
		if (getuid() != uid)
			fatalx("cannot switch to user %s: not running as root",
			    user);
		return;
	}
	if (uid == 0) {
		log_warnx("running as root (\"user = %s\" in [%s])", user,
		    section);
		return;
	}
	groups = (flags & PRIVDROP_GROUPS) ? initgroups(user, gid) :
	    setgroups(1, &gid);
	if (groups == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		fatal("cannot drop privileges to %s", user);
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1 ||
	    ruid != uid || euid != uid || suid != uid ||
	    rgid != gid || egid != gid || sgid != gid)
		fatalx("dropping privileges to %s did not take", user);
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("could become root again after dropping to %s", user);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
	log_info("running as %s (uid %ld)", user, (long)uid);
}
