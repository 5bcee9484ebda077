/* SPDX-License-Identifier: ISC */
/*
 * Password checks: PAM (a configurable service) and a local users file of
 * libsodium argon2id hashes. Both block, so the broker calls auth_check
 * from a workq thread. Groups come from the users file, or for PAM users
 * from the system's group database (getgrouplist).
 */
#ifndef PAPRIKA_AUTH_H
#define PAPRIKA_AUTH_H

#include <stddef.h>

#define AUTH_NAME_MAX		64	/* user and group names */
#define AUTH_PASSWORD_MAX	256
#define AUTH_GROUPS_MAX		32
#define AUTH_PAM_TTY		"paprika"	/* PAM_TTY of every login */
#define AUTH_UID_MIN_DEFAULT	1000	/* without UID_MIN in login.defs */

enum auth_status {
	AUTH_OK = 0,
	AUTH_DENIED = -1,	/* unknown user or wrong password: one answer */
	AUTH_ERROR = -2,	/* the backend failed; err says why */
};

struct auth_user;

struct auth_config {
	const char	*pam_service;	/* NULL or "": no PAM */
	const char	*users_file;	/* NULL or "": no local users */
	const char	*rhost;		/* the client's address, for PAM_RHOST;
					 * NULL: not set */
	unsigned	 pam_min_uid;	/* PAM accounts below it are refused */
	int		 pam_allow_root; /* whether uid 0 may log in via PAM */
	/* Who runs PAM: NULL, this process (auth_pam_check); the broker
	 * passes authsep_pam, its privileged helper. */
	int		(*pam)(const struct auth_config *, const char *,
			    const char *, struct auth_user *, char *, size_t);
};

struct auth_user {
	/* The account's own name: its spelling in the users file, or the
	 * passwd name of the account PAM authenticated (PAM_USER). */
	char	name[AUTH_NAME_MAX + 1];
	char	source[8];		/* "local" or "pam" */
	char	groups[AUTH_GROUPS_MAX][AUTH_NAME_MAX + 1];
	size_t	ngroups;
};

/*
 * Checks user and password: the users file first (names match whatever
 * their case), then PAM when the user is not in the file. PAM accounts
 * with a uid below pam_min_uid, and uid 0 unless pam_allow_root, are
 * refused. PAM's own failure delay does not sleep: the caller delays
 * failures. Returns an auth_status; out is filled on AUTH_OK. On
 * AUTH_DENIED err may say why for the audit log ("" for a wrong password).
 * err never holds the password.
 */
int	auth_check(const struct auth_config *cfg, const char *user,
	    const char *password, struct auth_user *out, char *err,
	    size_t errlen);
/*
 * The PAM half of auth_check, for the privileged helper: the same checks
 * of the name and the password's length, then PAM with cfg's service,
 * pam_min_uid and pam_allow_root. An auth_status; out filled on AUTH_OK
 * with source "pam".
 */
int	auth_pam_check(const struct auth_config *cfg, const char *user,
	    const char *password, struct auth_user *out, char *err,
	    size_t errlen);
/* Whether a user name is acceptable: 1 to AUTH_NAME_MAX of [A-Za-z0-9._@-]
 * not starting with '-'. */
int	auth_valid_name(const char *name);
/* Copies name lower-cased into out (outlen > AUTH_NAME_MAX): the form the
 * login throttle counts, so that case variants of a name count as one. */
void	auth_fold_name(const char *name, char *out, size_t outlen);
/* UID_MIN from a login.defs file, or AUTH_UID_MIN_DEFAULT without one. */
unsigned auth_uid_min(const char *login_defs);
/* An argon2id hash string for password (libsodium's interactive cost);
 * 0 or -1. */
int	auth_hash_password(const char *password, char *out, size_t outlen);
/* Reads the users file to check its syntax; 0, or -1 with "file:line". */
int	auth_users_check(const char *path, char *err, size_t errlen);
/*
 * Splits one line of a users file in place into name, hash and group list
 * (the list may be ""): for paprika-users, which rewrites the file. Returns
 * 1 for an entry, 0 for a blank or comment line, -1 with a message in err.
 */
int	auth_users_parse_line(char *line, char **name, char **hash,
	    char **groups, char *err, size_t errlen);

#endif
