/* SPDX-License-Identifier: ISC */
/*
 * paprika-users: edits the broker's local users file, like htpasswd. The
 * file is checked before any change, rewritten whole through a temporary
 * file and rename, and keeps its comments.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <readpassphrase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "brokertool.h"

#define USERS_DEFAULT_FILE	SYSCONFDIR "/paprika/users"
#define USERS_LINE_MAX		1024

/* The file as lines without their newlines. */
struct users_file {
	const char	 *path;
	char		**lines;
	size_t		  nlines;
	int		  exists;
	struct stat	  st;
};

static void __attribute__((noreturn))
users_usage(void)
{
	fprintf(stderr,
	    "usage: paprika-users [-f file] [-c config] command [arguments]\n"
	    "\n"
	    "  add NAME [--groups G1,G2] [--stdin]\n"
	    "                  add a user; asks for the password twice, or\n"
	    "                  reads one line from standard input with --stdin\n"
	    "  passwd NAME [--stdin]\n"
	    "                  set a user's password\n"
	    "  groups NAME G1,G2\n"
	    "                  set a user's groups (\"\" for none)\n"
	    "  del NAME        remove a user\n"
	    "  list            print each user and their groups\n"
	    "  totp enroll NAME\n"
	    "                  give a local or PAM user a second factor: prints\n"
	    "                  its otpauth:// URI, a QR code and recovery codes\n"
	    "  totp remove NAME\n"
	    "                  remove a user's second factor\n"
	    "  totp status NAME\n"
	    "                  whether a user has one\n"
	    "\n"
	    "The file is %s unless -f names another. The totp commands\n"
	    "change the broker's state file and read its TOTP key, both named\n"
	    "in the broker's configuration (%s unless -c names\n"
	    "another): run them as the user the broker runs as.\n",
	    USERS_DEFAULT_FILE, SYSCONFDIR "/paprika/paprika-brokerd.conf");
	exit(2);
}

static void
users_wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Reads the file after auth_users_check has passed it; a missing file is
 * empty. Exits on errors. */
static void
users_load(struct users_file *uf, const char *path)
{
	FILE	*fp;
	char	*line = NULL, msg[512];
	size_t	 size = 0;
	ssize_t	 n;

	memset(uf, 0, sizeof *uf);
	uf->path = path;
	if (stat(path, &uf->st) == -1) {
		if (errno != ENOENT)
			err(1, "%s", path);
		return;
	}
	uf->exists = 1;
	if (auth_users_check(path, msg, sizeof msg) == -1)
		errx(1, "%s", msg);
	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	while ((n = getline(&line, &size, fp)) != -1) {
		line[strcspn(line, "\n")] = '\0';
		uf->lines = reallocarray(uf->lines, uf->nlines + 1,
		    sizeof *uf->lines);
		if (uf->lines == NULL || (uf->lines[uf->nlines] =
		    strdup(line)) == NULL)
			err(1, NULL);
		uf->nlines++;
	}
	if (ferror(fp))
		err(1, "%s", path);
	fclose(fp);
	if (line != NULL)
		explicit_bzero(line, size);
	free(line);
}

static void
users_free(struct users_file *uf)
{
	size_t	i;

	for (i = 0; i < uf->nlines; i++)
		users_wipe_free(uf->lines[i]);
	free(uf->lines);
}

/*
 * The index of name's line, matching whatever the case (the broker does),
 * or -1. With groups set, copies that user's group list into it (groupslen
 * bytes); with spelt set, the name as the file has it.
 */
static long
users_find(const struct users_file *uf, const char *name, char *groups,
    size_t groupslen, char spelt[AUTH_NAME_MAX + 1])
{
	char	 copy[USERS_LINE_MAX + 1], msg[256];
	char	*n, *h, *g;
	size_t	 i;
	long	 found = -1;

	for (i = 0; i < uf->nlines && found == -1; i++) {
		strlcpy(copy, uf->lines[i], sizeof copy);
		if (auth_users_parse_line(copy, &n, &h, &g, msg,
		    sizeof msg) != 1 || strcasecmp(n, name) != 0)
			continue;
		if (groups != NULL)
			strlcpy(groups, g, groupslen);
		if (spelt != NULL)
			strlcpy(spelt, n, AUTH_NAME_MAX + 1);
		found = (long)i;
	}
	explicit_bzero(copy, sizeof copy);
	return found;
}

/*
 * Writes the file through a temporary file in its directory and rename:
 * a crash leaves the old file or the new one. Mode 0600, or 0640 where the
 * file was group-readable; the owner and group are kept.
 */
static void
users_save(const struct users_file *uf)
{
	FILE	*fp;
	char	*tmp;
	mode_t	 mode = 0600;
	size_t	 i;
	int	 fd;

	if (asprintf(&tmp, "%s.XXXXXX", uf->path) == -1)
		err(1, NULL);
	if ((fd = mkstemp(tmp)) == -1)
		err(1, "%s", tmp);
	if (uf->exists && (uf->st.st_mode & S_IRGRP))
		mode = 0640;
	if (fchmod(fd, mode) == -1)
		goto fail;
	if (uf->exists && (uf->st.st_uid != geteuid() ||
	    uf->st.st_gid != getegid()) &&
	    fchown(fd, uf->st.st_uid, uf->st.st_gid) == -1)
		goto fail;
	if ((fp = fdopen(fd, "w")) == NULL)
		goto fail;
	fd = -1;
	for (i = 0; i < uf->nlines; i++)
		fprintf(fp, "%s\n", uf->lines[i]);
	if (fflush(fp) == EOF || fsync(fileno(fp)) == -1) {
		fclose(fp);
		goto fail;
	}
	if (fclose(fp) == EOF)
		goto fail;
	if (rename(tmp, uf->path) == -1)
		goto fail;
	free(tmp);
	return;
 fail:
	warn("%s", tmp);
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	exit(1);
}

/* Reads a password: one line of stdin, or twice from the terminal. The
 * caller wipes and frees it. */
static char *
users_read_password(int from_stdin)
{
	char	 a[AUTH_PASSWORD_MAX + 2], b[AUTH_PASSWORD_MAX + 2];
	char	*line = NULL, *pw = NULL;
	size_t	 size = 0;
	ssize_t	 n;

	if (from_stdin) {
		if ((n = getline(&line, &size, stdin)) == -1) {
			warnx("no password on standard input");
			goto out;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (strlcpy(a, line, sizeof a) >= sizeof a)
			a[AUTH_PASSWORD_MAX + 1] = 'x';	/* too long */
	} else {
		if (readpassphrase("Password: ", a, sizeof a,
		    RPP_REQUIRE_TTY) == NULL ||
		    readpassphrase("Again: ", b, sizeof b,
		    RPP_REQUIRE_TTY) == NULL) {
			warn("cannot read the password from a terminal "
			    "(--stdin reads it from standard input)");
			goto out;
		}
		if (strcmp(a, b) != 0) {
			warnx("the passwords differ");
			goto out;
		}
	}
	if (a[0] == '\0')
		warnx("empty password");
	else if (strlen(a) > AUTH_PASSWORD_MAX)
		warnx("password longer than %d bytes", AUTH_PASSWORD_MAX);
	else if ((pw = strdup(a)) == NULL)
		warn(NULL);
 out:
	explicit_bzero(a, sizeof a);
	explicit_bzero(b, sizeof b);
	if (line != NULL)
		explicit_bzero(line, size);
	free(line);
	if (pw == NULL)
		exit(1);
	return pw;
}

/* "name:hash:groups", checked as the broker will read it; exits if bad. */
static char *
users_make_line(const char *name, const char *hash, const char *groups)
{
	char	*line, *copy, *n, *h, *g, msg[256];

	if (asprintf(&line, "%s:%s:%s", name, hash, groups) == -1 ||
	    (copy = strdup(line)) == NULL)
		err(1, NULL);
	if (auth_users_parse_line(copy, &n, &h, &g, msg, sizeof msg) != 1) {
		warnx("%s", msg);
		exit(2);
	}
	users_wipe_free(copy);
	return line;
}

/* A new hash for a password read as from_stdin says. */
static void
users_new_hash(int from_stdin, char *hash, size_t hashlen)
{
	char	*pw;

	pw = users_read_password(from_stdin);
	if (auth_hash_password(pw, hash, hashlen) == -1) {
		users_wipe_free(pw);
		errx(1, "cannot hash the password (out of memory?)");
	}
	users_wipe_free(pw);
}

static void
users_check_name(const char *name)
{
	if (!auth_valid_name(name))
		errx(2, "invalid user name \"%s\": 1 to %d of A-Z a-z 0-9 . _ "
		    "@ -, not starting with -", name, AUTH_NAME_MAX);
}

static long
users_need(const struct users_file *uf, const char *name, char *groups,
    size_t groupslen, char spelt[AUTH_NAME_MAX + 1])
{
	long	i;

	if (!uf->exists)
		errx(1, "%s: no such file", uf->path);
	if ((i = users_find(uf, name, groups, groupslen, spelt)) == -1)
		errx(1, "%s: no user %s", uf->path, name);
	return i;
}

static int
users_add(struct users_file *uf, const char *name, const char *groups,
    int from_stdin)
{
	char	 hash[256], spelt[AUTH_NAME_MAX + 1], *line;

	users_check_name(name);
	users_wipe_free(users_make_line(name, "$argon2id$", groups));
	if (users_find(uf, name, NULL, 0, spelt) != -1)
		errx(1, "%s: user %s exists (use passwd or groups)", uf->path,
		    spelt);
	users_new_hash(from_stdin, hash, sizeof hash);
	line = users_make_line(name, hash, groups);
	uf->lines = reallocarray(uf->lines, uf->nlines + 1, sizeof *uf->lines);
	if (uf->lines == NULL)
		err(1, NULL);
	uf->lines[uf->nlines++] = line;
	users_save(uf);
	printf("added %s\n", name);
	return 0;
}

static int
users_passwd(struct users_file *uf, const char *name, int from_stdin)
{
	char	hash[256], groups[USERS_LINE_MAX], spelt[AUTH_NAME_MAX + 1];
	long	i;

	users_check_name(name);
	/* The entry keeps its spelling, whatever the case given. */
	i = users_need(uf, name, groups, sizeof groups, spelt);
	users_new_hash(from_stdin, hash, sizeof hash);
	users_wipe_free(uf->lines[i]);
	uf->lines[i] = users_make_line(spelt, hash, groups);
	users_save(uf);
	printf("changed the password of %s\n", spelt);
	return 0;
}

static int
users_groups(struct users_file *uf, const char *name, const char *groups)
{
	char	 copy[USERS_LINE_MAX + 1], msg[256], *n, *h, *g, *line;
	char	 spelt[AUTH_NAME_MAX + 1];
	long	 i;

	users_check_name(name);
	users_wipe_free(users_make_line(name, "$argon2id$", groups));
	i = users_need(uf, name, NULL, 0, NULL);
	strlcpy(copy, uf->lines[i], sizeof copy);
	if (auth_users_parse_line(copy, &n, &h, &g, msg, sizeof msg) != 1)
		errx(1, "%s: %s", uf->path, msg);
	line = users_make_line(n, h, groups);
	strlcpy(spelt, n, sizeof spelt);
	explicit_bzero(copy, sizeof copy);
	users_wipe_free(uf->lines[i]);
	uf->lines[i] = line;
	users_save(uf);
	printf("set the groups of %s\n", spelt);
	return 0;
}

static int
users_del(struct users_file *uf, const char *name)
{
	char	spelt[AUTH_NAME_MAX + 1];
	long	i;

	users_check_name(name);
	i = users_need(uf, name, NULL, 0, spelt);
	users_wipe_free(uf->lines[i]);
	memmove(&uf->lines[i], &uf->lines[i + 1],
	    (uf->nlines - (size_t)i - 1) * sizeof *uf->lines);
	uf->nlines--;
	users_save(uf);
	printf("removed %s\n", spelt);
	return 0;
}

static int
users_list(const struct users_file *uf)
{
	char	 copy[USERS_LINE_MAX + 1], msg[256], *n, *h, *g;
	size_t	 i;

	if (!uf->exists)
		errx(1, "%s: no such file", uf->path);
	for (i = 0; i < uf->nlines; i++) {
		strlcpy(copy, uf->lines[i], sizeof copy);
		if (auth_users_parse_line(copy, &n, &h, &g, msg,
		    sizeof msg) == 1)
			printf("%s\t%s\n", n, g);
	}
	explicit_bzero(copy, sizeof copy);
	return 0;
}

/*
 * paprika-users totp enroll|remove|status NAME: the second factor lives in
 * the broker's state, which paprika-brokertool reads; this program keeps
 * to the users file.
 */
static void __attribute__((noreturn))
users_totp(const char *config, const char *what, const char *name)
{
	const char	*argv[7];
	size_t		 n = 0;

	users_check_name(name);
	argv[n++] = "paprika-users";
	argv[n++] = "totp";
	if (config != NULL) {
		argv[n++] = "--config";
		argv[n++] = config;
	}
	argv[n++] = what;
	argv[n++] = name;
	argv[n] = NULL;
	brokertool_exec(argv);
}

int
main(int argc, char *argv[])
{
	struct users_file	 uf;
	const char		*path = USERS_DEFAULT_FILE, *cmd;
	const char		*config = NULL;
	const char		*groups = "", *args[2] = { NULL, NULL };
	size_t			 nargs = 0;
	int			 ch, i, from_stdin = 0, have_groups = 0, ret;

	while ((ch = getopt(argc, argv, "+c:f:h")) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			path = optarg;
			break;
		default:
			users_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		users_usage();
	cmd = argv[0];

	/* The commands' own options may come before or after the name. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--stdin") == 0)
			from_stdin = 1;
		else if (strcmp(argv[i], "--groups") == 0 && i + 1 < argc) {
			groups = argv[++i];
			have_groups = 1;
		} else if (strncmp(argv[i], "--groups=", 9) == 0) {
			groups = argv[i] + 9;
			have_groups = 1;
		} else if (argv[i][0] == '-' && argv[i][1] == '-')
			users_usage();
		else if (nargs < 2)
			args[nargs++] = argv[i];
		else
			users_usage();
	}

	if (strcmp(cmd, "add") == 0 && nargs == 1) {
		users_load(&uf, path);
		ret = users_add(&uf, args[0], groups, from_stdin);
	} else if (strcmp(cmd, "passwd") == 0 && nargs == 1 && !have_groups) {
		users_load(&uf, path);
		ret = users_passwd(&uf, args[0], from_stdin);
	} else if (strcmp(cmd, "groups") == 0 && nargs == 2 && !have_groups &&
	    !from_stdin) {
		users_load(&uf, path);
		ret = users_groups(&uf, args[0], args[1]);
	} else if (strcmp(cmd, "del") == 0 && nargs == 1 && !have_groups &&
	    !from_stdin) {
		users_load(&uf, path);
		ret = users_del(&uf, args[0]);
	} else if (strcmp(cmd, "list") == 0 && nargs == 0 && !have_groups &&
	    !from_stdin) {
		users_load(&uf, path);
		ret = users_list(&uf);
	} else if (strcmp(cmd, "totp") == 0 && nargs == 2 && !have_groups &&
	    !from_stdin) {
		users_totp(config, args[0], args[1]);
	} else
		users_usage();
	users_free(&uf);
	return ret;
}
