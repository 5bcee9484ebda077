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

enum auth_status {
	AUTH_OK = 0,
	AUTH_DENIED = -1,	/* unknown user or wrong password: one answer */
	AUTH_ERROR = -2,	/* the backend failed; err says why */
};

struct auth_config {
	const char	*pam_service;	/* NULL or "": no PAM */
	const char	*users_file;	/* NULL or "": no local users */
};

struct auth_user {
	char	name[AUTH_NAME_MAX + 1];
	char	source[8];		/* "local" or "pam" */
	char	groups[AUTH_GROUPS_MAX][AUTH_NAME_MAX + 1];
	size_t	ngroups;
};

/*
 * Checks user and password: the users file first, then PAM when the user
 * is not in the file. Returns an auth_status; out is filled on AUTH_OK.
 * err never holds the password.
 */
int	auth_check(const struct auth_config *cfg, const char *user,
	    const char *password, struct auth_user *out, char *err,
	    size_t errlen);
/* Whether a user name is acceptable: 1 to AUTH_NAME_MAX of [A-Za-z0-9._@-]
 * not starting with '-'. */
int	auth_valid_name(const char *name);
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
