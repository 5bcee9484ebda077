/* SPDX-License-Identifier: ISC */
/*
 * The local users file (name, argon2id hash, groups; paprika-users writes
 * it) and password hashing with libsodium. No PAM here: paprika-users links
 * this file alone. Called from workq threads: the only static state is
 * written once, under pthread_once.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>
#include <uthash.h>

#include "auth.h"
#include "authpriv.h"
#include "secretfile.h"

#define AUTH_LINE_MAX		1024	/* one line of the users file */
#define AUTH_HASH_PREFIX	"$argon2id$"

/* Set once under their pthread_once, read-only afterwards. */
static pthread_once_t	 auth_once = PTHREAD_ONCE_INIT;
static int		 auth_sodium_ok;
static pthread_once_t	 auth_dummy_once = PTHREAD_ONCE_INIT;
static char		 auth_dummy[crypto_pwhash_STRBYTES];

/* A name seen in the users file, to refuse a second entry for it. */
struct auth_seen {
	char		 key[AUTH_NAME_MAX + 1];	/* auth_fold_name */
	char		 name[AUTH_NAME_MAX + 1];	/* as written */
	UT_hash_handle	 hh;
};

static void
auth_init(void)
{
	auth_sodium_ok = sodium_init() >= 0;
}

/*
 * A hash of a random password with the cost paprika-users uses: verifying
 * against it takes as long as verifying a real user's password.
 */
static void
auth_dummy_init(void)
{
	unsigned char	pw[16];

	arc4random_buf(pw, sizeof pw);
	if (crypto_pwhash_str(auth_dummy, (const char *)pw, sizeof pw,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		auth_dummy[0] = '\0';
	explicit_bzero(pw, sizeof pw);
}

int
auth_start(void)
{
	pthread_once(&auth_once, auth_init);
	return auth_sodium_ok ? 0 : -1;
}

void
auth_dummy_verify(const char *password, size_t len)
{
	pthread_once(&auth_dummy_once, auth_dummy_init);
	/* The answer does not matter: nobody knows the dummy's password. */
	if (auth_dummy[0] != '\0' &&
	    crypto_pwhash_str_verify(auth_dummy, password, len) == 0)
		return;
}

void
auth_fold_name(const char *name, char *out, size_t outlen)
{
	size_t	i;

	for (i = 0; name[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	if (outlen > 0)
		out[i] = '\0';
}

int
auth_valid_name(const char *name)
{
	size_t	len;

	len = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._@-");
	return len > 0 && len <= AUTH_NAME_MAX && name[len] == '\0' &&
	    name[0] != '-';
}

/*
 * Checks a comma-separated group list (empty is fine) and, with u set,
 * copies the groups into it. Returns 0, or -1 with a message in err.
 */
static int
auth_parse_groups(const char *list, struct auth_user *u, char *err,
    size_t errlen)
{
	char		 group[AUTH_NAME_MAX + 1];
	const char	*p = list;
	size_t		 len, n = 0;

	if (*list == '\0')
		goto done;
	for (;;) {
		len = strcspn(p, ",");
		if (len == 0 || len > AUTH_NAME_MAX) {
			snprintf(err, errlen, "invalid group name in \"%.*s\"",
			    AUTH_NAME_MAX, list);
			return -1;
		}
		memcpy(group, p, len);
		group[len] = '\0';
		if (!auth_valid_name(group)) {
			snprintf(err, errlen, "invalid group name \"%s\"",
			    group);
			return -1;
		}
		if (n == AUTH_GROUPS_MAX) {
			snprintf(err, errlen, "more than %d groups",
			    AUTH_GROUPS_MAX);
			return -1;
		}
		if (u != NULL)
			memcpy(u->groups[n], group, len + 1);
		n++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
 done:
	if (u != NULL)
		u->ngroups = n;
	return 0;
}

int
auth_users_parse_line(char *line, char **name, char **hash, char **groups,
    char *err, size_t errlen)
{
	char	*p;
	size_t	 len;

	len = strcspn(line, "\r\n");
	line[len] = '\0';
	p = line + strspn(line, " \t");
	if (*p == '\0' || *p == '#')
		return 0;

	if ((p = strchr(line, ':')) == NULL) {
		snprintf(err, errlen, "expected name:hash:groups");
		return -1;
	}
	*p++ = '\0';
	*name = line;
	*hash = p;
	if ((p = strchr(p, ':')) != NULL) {
		*p++ = '\0';
		*groups = p;
	} else
		*groups = *hash + strlen(*hash);

	if (!auth_valid_name(*name)) {
		snprintf(err, errlen, "invalid user name (1 to %d of "
		    "A-Z a-z 0-9 . _ @ -, not starting with -)", AUTH_NAME_MAX);
		return -1;
	}
	if (strncmp(*hash, AUTH_HASH_PREFIX, strlen(AUTH_HASH_PREFIX)) != 0 ||
	    strlen(*hash) >= crypto_pwhash_STRBYTES) {
		snprintf(err, errlen, "the password of %s is not an argon2id "
		    "hash (set it with paprika-users passwd)", *name);
		return -1;
	}
	if (strchr(*groups, ':') != NULL) {
		snprintf(err, errlen, "too many fields: expected "
		    "name:hash:groups");
		return -1;
	}
	if (auth_parse_groups(*groups, NULL, err, errlen) == -1)
		return -1;
	return 1;
}

/* Notes name as seen; -1 when it was already, or on no memory. */
static int
auth_seen_add(struct auth_seen **seen, const char *name, char *msg,
    size_t msglen)
{
	struct auth_seen	*s;
	char			 key[AUTH_NAME_MAX + 1];

	/* Logins match names whatever their case: "alice" and "Alice"
	 * would be one login with two passwords. */
	auth_fold_name(name, key, sizeof key);
	HASH_FIND_STR(*seen, key, s);
	if (s != NULL && strcmp(s->name, name) == 0) {
		snprintf(msg, msglen, "%s is listed twice", name);
		return -1;
	}
	if (s != NULL) {
		snprintf(msg, msglen, "%s is listed twice (as %s: user names "
		    "do not depend on case)", name, s->name);
		return -1;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(msg, msglen, "%s", strerror(errno));
		return -1;
	}
	strlcpy(s->key, key, sizeof s->key);
	strlcpy(s->name, name, sizeof s->name);
	HASH_ADD_STR(*seen, key, s);
	return 0;
}

/* Opens the users file, refusing one that others could read or change. */
static FILE *
auth_users_open(const char *path, char *err, size_t errlen)
{
	FILE	*fp;
	int	 fd;

	if ((fd = secretfile_open(path, 0, "users file", err, errlen)) == -1)
		return NULL;
	if ((fp = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return fp;
}

/* authpriv.h */
int
auth_users_read(const char *path, const char *user, char *hash,
    size_t hashlen, struct auth_user *u, char *err, size_t errlen)
{
	struct auth_seen	*seen = NULL, *s, *tmp;
	FILE			*fp;
	char			*line = NULL, *name, *h, *groups, msg[256];
	size_t			 size = 0, lineno = 0;
	ssize_t			 n;
	int			 found = 0, ret = -1;

	if ((fp = auth_users_open(path, err, errlen)) == NULL)
		return -1;
	while ((n = getline(&line, &size, fp)) != -1) {
		lineno++;
		if (n > AUTH_LINE_MAX) {
			snprintf(err, errlen, "%s:%zu: line too long", path,
			    lineno);
			goto out;
		}
		if ((size_t)n != strlen(line)) {
			snprintf(err, errlen, "%s:%zu: NUL byte in line", path,
			    lineno);
			goto out;
		}
		switch (auth_users_parse_line(line, &name, &h, &groups, msg,
		    sizeof msg)) {
		case 0:
			continue;
		case -1:
			snprintf(err, errlen, "%s:%zu: %s", path, lineno, msg);
			goto out;
		}
		if (auth_seen_add(&seen, name, msg, sizeof msg) == -1) {
			snprintf(err, errlen, "%s:%zu: %s", path, lineno, msg);
			goto out;
		}
		if (user == NULL || strcasecmp(name, user) != 0)
			continue;
		strlcpy(u->name, name, sizeof u->name);
		if (strlcpy(hash, h, hashlen) >= hashlen ||
		    auth_parse_groups(groups, u, msg, sizeof msg) == -1) {
			snprintf(err, errlen, "%s:%zu: bad entry", path,
			    lineno);
			goto out;
		}
		found = 1;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	ret = found;
 out:
	if (ret != 1 && hash != NULL)
		explicit_bzero(hash, hashlen);
	if (line != NULL) {
		explicit_bzero(line, size);
		free(line);
	}
	HASH_ITER(hh, seen, s, tmp) {
		HASH_DEL(seen, s);
		free(s);
	}
	fclose(fp);
	return ret;
}

int
auth_users_check(const char *path, char *err, size_t errlen)
{
	return auth_users_read(path, NULL, NULL, 0, NULL, err, errlen) == -1 ?
	    -1 : 0;
}

int
auth_hash_password(const char *password, char *out, size_t outlen)
{
	char	hash[crypto_pwhash_STRBYTES];
	size_t	len = strlen(password);
	int	ret = -1;

	if (auth_start() == -1 || len > AUTH_PASSWORD_MAX)
		return -1;
	if (crypto_pwhash_str(hash, password, len,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		goto out;
	if (strlcpy(out, hash, outlen) >= outlen) {
		explicit_bzero(out, outlen);
		goto out;
	}
	ret = 0;
 out:
	explicit_bzero(hash, sizeof hash);
	return ret;
}
