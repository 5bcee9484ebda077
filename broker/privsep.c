/*
 * Dropping root: the state directory made and handed over while still
 * root, then the switch to the broker's user, for good.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
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

/* Whether dir holds only the state file and SQLite's files beside it. */
static int
privsep_dir_ours(const char *dir, const char *state)
{
	const char	*base = strrchr(state, '/'), *suffix;
	struct dirent	*e;
	DIR		*d;
	size_t		 blen;
	int		 ours = 1;

	base = base != NULL ? base + 1 : state;
	blen = strlen(base);
	if ((d = opendir(dir)) == NULL)
		fatal("state directory %s", dir);
	while (ours && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		suffix = e->d_name + blen;
		ours = strncmp(e->d_name, base, blen) == 0 &&
		    (*suffix == '\0' || strcmp(suffix, "-wal") == 0 ||
		    strcmp(suffix, "-shm") == 0 ||
		    strcmp(suffix, "-journal") == 0);
	}
	closedir(d);
	return ours;
}

void
privsep_state_dir(const char *state, const char *user)
{
	struct passwd	*pw;
	struct stat	 st;
	char		*dir, *parent;

	dir = privsep_dirname(state);
	if (mkdir(dir, 0700) == -1 && errno == ENOENT) {
		/* One level, as /var/lib/paprika for the default. */
		parent = privsep_dirname(dir);
		if (mkdir(parent, 0755) == -1 && errno != EEXIST)
			fatal("state directory %s", parent);
		free(parent);
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		fatal("state directory %s", dir);
	if (lstat(dir, &st) == -1)
		fatal("state directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		fatalx("state directory %s is not a directory (a symbolic link "
		    "is refused too)", dir);
	/* Without root, or without the user, privsep_drop says why. */
	if (user == NULL || geteuid() != 0 || (pw = getpwnam(user)) == NULL ||
	    pw->pw_uid == 0 || st.st_uid == pw->pw_uid)
		goto out;
	/* A directory shared with anything else is not given away:
	 * privsep_check_state then refuses it. */
	if (!privsep_dir_ours(dir, state))
		goto out;
	if (chown(dir, pw->pw_uid, pw->pw_gid) == -1 || chmod(dir, 0700) == -1)
		fatal("cannot give the state directory %s to %s", dir, user);
	log_info("state directory %s given to %s", dir, user);
 out:
	free(dir);
}

void
privsep_drop(const char *user)
{
	struct passwd	*pw;
	uid_t		 uid, ruid, euid, suid;
	gid_t		 gid, rgid, egid, sgid;

	if (user == NULL) {
		if (geteuid() == 0)
			fatalx("refusing to run as root: set \"user\" in "
			    "[broker] (\"user = paprika\"; \"user = root\" "
			    "keeps root)");
		return;
	}
	if ((pw = getpwnam(user)) == NULL)
		fatalx("user \"%s\" does not exist (create it, or change "
		    "\"user\" in [broker])", user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (geteuid() != 0) {
		if (getuid() != uid)
			fatalx("cannot switch to user %s: not running as root",
			    user);
		return;
	}
	if (uid == 0) {
		log_warnx("running as root (\"user = %s\" in [broker])", user);
		return;
	}
	/* initgroups: the groups that let it reach libvirt's socket. */
	if (initgroups(user, gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		fatal("cannot drop privileges to %s", user);
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1 ||
	    ruid != uid || euid != uid || suid != uid ||
	    rgid != gid || egid != gid || sgid != gid)
		fatalx("dropping privileges to %s did not take", user);
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("could become root again after dropping to %s", user);
	/* Whatever it runs (ssh for qemu+ssh://) gains nothing either. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
	log_info("running as %s (uid %ld)", user, (long)uid);
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
