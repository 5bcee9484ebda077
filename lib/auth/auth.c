/*
 * Password checks against the local users file (argon2id hashes) and PAM.
 * Called from workq threads: the only static state is written once, under
 * pthread_once.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <security/pam_appl.h>
#include <sodium.h>
#include <uthash.h>

#include "auth.h"
#include "config.h"
#include "secretfile.h"

#define AUTH_LINE_MAX		1024	/* one line of the users file */
#define AUTH_HASH_PREFIX	"$argon2id$"
#define AUTH_NSS_BUF_MAX	(1024 * 1024)	/* getpwnam_r/getgrgid_r */
#define AUTH_NSS_GIDS_MAX	65536

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

/* What the broker needs of a passwd entry. */
struct auth_pw {
	char	name[AUTH_NAME_MAX + 1];
	uid_t	uid;
	gid_t	gid;
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

	randombytes_buf(pw, sizeof pw);
	if (crypto_pwhash_str(auth_dummy, (const char *)pw, sizeof pw,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		auth_dummy[0] = '\0';
	explicit_bzero(pw, sizeof pw);
}

static int
auth_start(void)
{
	pthread_once(&auth_once, auth_init);
	return auth_sodium_ok ? 0 : -1;
}

/* Spends the time a real check would, for a user that does not exist. */
static void
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

unsigned
auth_uid_min(const char *login_defs)
{
	FILE		*fp;
	char		 line[256], *key, *value, *p = NULL;
	uint64_t	 v;
	unsigned	 uid_min = AUTH_UID_MIN_DEFAULT;

	if ((fp = fopen(login_defs, "r")) == NULL)
		return uid_min;
	while (fgets(line, sizeof line, fp) != NULL) {
		if ((key = strtok_r(line, " \t\r\n", &p)) == NULL ||
		    strcmp(key, "UID_MIN") != 0)
			continue;
		/* login.defs(5): the last setting counts, as for useradd. */
		if ((value = strtok_r(NULL, " \t\r\n", &p)) != NULL &&
		    config_uint(value, 0, UINT32_MAX - 1, &v, NULL, 0) == 0)
			uid_min = (unsigned)v;
	}
	fclose(fp);
	return uid_min;
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

/*
 * Reads and checks the whole users file; with user set, copies the hash
 * of the entry that matches it whatever the case into hash, and the
 * entry's name and groups into u. Returns 1 when user was found, 0 when
 * not, -1 with "file:line: message" (or "file: message") in err.
 */
static int
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

/* Answers PAM's password prompts with the password passed in arg. */
static int
auth_pam_conv(int n, const struct pam_message **msg,
    struct pam_response **resp, void *arg)
{
	const char		*password = arg;
	struct pam_response	*r;
	int			 i;

	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof *r)) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			if ((r[i].resp = strdup(password)) == NULL)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break;
		default:
			/* An echoed prompt asks for something we lack. */
			goto fail;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
 fail:
	for (i = 0; i < n; i++) {
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
	return PAM_CONV_ERR;
}

/* Grows an NSS buffer after ERANGE; -1 past AUTH_NSS_BUF_MAX. */
static int
auth_nss_grow(char **buf, size_t *len)
{
	char	*p;

	if (*len >= AUTH_NSS_BUF_MAX)
		return -1;
	if ((p = realloc(*buf, *len * 2)) == NULL)
		return -1;
	*buf = p;
	*len *= 2;
	return 0;
}

/*
 * Looks name up in the passwd database. Returns 1 with the entry in pw, 0
 * when there is none (or its name is one the broker does not accept), -1
 * with a message in err.
 */
static int
auth_getpw(const char *name, struct auth_pw *pw, char *err, size_t errlen)
{
	struct passwd	 pwd, *pwp = NULL;
	char		*buf;
	size_t		 buflen = 16384;
	int		 rc, ret = -1;

	if ((buf = malloc(buflen)) == NULL)
		goto nomem;
	while ((rc = getpwnam_r(name, &pwd, buf, buflen, &pwp)) == ERANGE) {
		if (auth_nss_grow(&buf, &buflen) == -1)
			goto nomem;
	}
	if (pwp == NULL) {
		/* These mean "not found" too (getpwnam_r(3)). */
		if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF ||
		    rc == EPERM)
			ret = 0;
		else
			snprintf(err, errlen, "getpwnam_r %s: %s", name,
			    strerror(rc));
		goto out;
	}
	/* Sessions, rules and logs carry the name: it must be one of ours. */
	if (!auth_valid_name(pwd.pw_name)) {
		ret = 0;
		goto out;
	}
	strlcpy(pw->name, pwd.pw_name, sizeof pw->name);
	pw->uid = pwd.pw_uid;
	pw->gid = pwd.pw_gid;
	ret = 1;
	goto out;
 nomem:
	snprintf(err, errlen, "passwd entry of %s: out of memory", name);
 out:
	free(buf);
	return ret;
}

/*
 * The system groups of the account pw (getgrouplist), those with names we
 * accept, up to AUTH_GROUPS_MAX. Returns 0, or -1 with a message in err.
 */
static int
auth_system_groups(const struct auth_pw *pw, struct auth_user *u, char *err,
    size_t errlen)
{
	struct group	 gr, *grp;
	gid_t		*gids = NULL, *g;
	char		*buf;
	size_t		 buflen = 16384;
	int		 ngids = 64, i, rc, ret = -1;

	u->ngroups = 0;
	if ((buf = malloc(buflen)) == NULL ||
	    (gids = calloc((size_t)ngids, sizeof *gids)) == NULL)
		goto nomem;
	while (getgrouplist(pw->name, pw->gid, gids, &ngids) == -1) {
		/* ngids now says how many there are. */
		if (ngids <= 0 || ngids > AUTH_NSS_GIDS_MAX ||
		    (g = reallocarray(gids, (size_t)ngids, sizeof *g)) == NULL) {
			snprintf(err, errlen, "getgrouplist %s failed",
			    pw->name);
			goto out;
		}
		gids = g;
	}

	for (i = 0; i < ngids && u->ngroups < AUTH_GROUPS_MAX; i++) {
		while ((rc = getgrgid_r(gids[i], &gr, buf, buflen, &grp)) ==
		    ERANGE) {
			if (auth_nss_grow(&buf, &buflen) == -1)
				goto nomem;
		}
		/* A group without a usable name cannot match a rule. */
		if (grp == NULL || !auth_valid_name(gr.gr_name))
			continue;
		strlcpy(u->groups[u->ngroups++], gr.gr_name,
		    sizeof u->groups[0]);
	}
	ret = 0;
	goto out;
 nomem:
	snprintf(err, errlen, "groups of %s: out of memory", pw->name);
 out:
	free(gids);
	free(buf);
	return ret;
}

/*
 * Whether the account pw may log in through PAM: not root (unless
 * pam_allow_root), nor a system account below pam_min_uid. 1, or 0 with
 * the reason in err.
 */
static int
auth_uid_ok(const struct auth_config *cfg, const struct auth_pw *pw,
    char *err, size_t errlen)
{
	if (pw->uid == 0 && !cfg->pam_allow_root) {
		snprintf(err, errlen, "%s has uid 0 (pam_allow_root is off)",
		    pw->name);
		return 0;
	}
	if (pw->uid != 0 && pw->uid < cfg->pam_min_uid) {
		snprintf(err, errlen, "%s is a system account (uid %u, "
		    "pam_min_uid %u)", pw->name, (unsigned)pw->uid,
		    cfg->pam_min_uid);
		return 0;
	}
	return 1;
}

/*
 * PAM_FAIL_DELAY's callback: PAM would otherwise sleep in this thread after
 * a failure (pam_faildelay, pam_unix), holding an auth thread for seconds.
 * The broker delays every failed login's reply on its loop instead.
 */
static void
auth_pam_no_delay(int retval, unsigned usec, void *arg)
{
}

/* Sets the items modules may look at before pam_authenticate; a PAM rc. */
static int
auth_pam_items(pam_handle_t *pamh, const struct auth_config *cfg)
{
	int	rc;

	if (cfg->rhost != NULL &&
	    (rc = pam_set_item(pamh, PAM_RHOST, cfg->rhost)) != PAM_SUCCESS)
		return rc;
	if ((rc = pam_set_item(pamh, PAM_TTY, AUTH_PAM_TTY)) != PAM_SUCCESS)
		return rc;
	return pam_set_item(pamh, PAM_FAIL_DELAY,
	    (const void *)auth_pam_no_delay);
}

/* The auth_status of the PAM return code rc; err says why on AUTH_ERROR. */
static int
auth_pam_status(pam_handle_t *pamh, const char *service, int rc, char *err,
    size_t errlen)
{
	switch (rc) {
	case PAM_SUCCESS:
		return AUTH_OK;
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_MAXTRIES:
	case PAM_CRED_INSUFFICIENT:
	case PAM_ACCT_EXPIRED:
	case PAM_AUTHTOK_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_PERM_DENIED:
		return AUTH_DENIED;
	default:
		snprintf(err, errlen, "PAM service %s: %s", service,
		    pam_strerror(pamh, rc));
		return AUTH_ERROR;
	}
}

/*
 * Runs the PAM conversation for user; on AUTH_OK copies the name PAM ends
 * with (PAM_USER: a module may map the name given) into pam_user.
 */
static int
auth_pam_run(const struct auth_config *cfg, const char *user,
    const char *password, char *pam_user, size_t pam_userlen, char *err,
    size_t errlen)
{
	struct pam_conv	 conv = { auth_pam_conv, (void *)password };
	pam_handle_t	*pamh = NULL;
	const void	*item = NULL;
	int		 rc, ret;

	if ((rc = pam_start(cfg->pam_service, user, &conv, &pamh)) !=
	    PAM_SUCCESS) {
		snprintf(err, errlen, "PAM service %s: %s", cfg->pam_service,
		    pam_strerror(pamh, rc));
		return AUTH_ERROR;
	}
	if ((rc = auth_pam_items(pamh, cfg)) == PAM_SUCCESS)
		rc = pam_authenticate(pamh, PAM_SILENT |
		    PAM_DISALLOW_NULL_AUTHTOK);
	/* Expired or locked accounts fail here, after a right password. */
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, PAM_SILENT |
		    PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_get_item(pamh, PAM_USER, &item);
	ret = auth_pam_status(pamh, cfg->pam_service, rc, err, errlen);
	if (ret == AUTH_OK && (item == NULL || !auth_valid_name(item))) {
		snprintf(err, errlen, "PAM service %s ended with a user name "
		    "the broker does not accept", cfg->pam_service);
		ret = AUTH_ERROR;
	}
	if (ret == AUTH_OK)
		strlcpy(pam_user, item, pam_userlen);
	pam_end(pamh, rc);
	return ret;
}

/*
 * Authenticates with PAM; on AUTH_OK u holds the account's passwd name and
 * its system groups. A user NSS does not know keeps the name PAM gave, with
 * no groups. An auth_status.
 */
static int
auth_pam(const struct auth_config *cfg, const char *user,
    const char *password, struct auth_user *u, char *err, size_t errlen)
{
	struct auth_pw	pw;
	char		pam_user[AUTH_NAME_MAX + 1];
	int		found, ret;

	/* A system account is refused before PAM sees its password. */
	if ((found = auth_getpw(user, &pw, err, errlen)) == -1)
		return AUTH_ERROR;
	if (found && !auth_uid_ok(cfg, &pw, err, errlen))
		return AUTH_DENIED;
	ret = auth_pam_run(cfg, user, password, pam_user, sizeof pam_user,
	    err, errlen);
	if (ret != AUTH_OK)
		return ret;
	/* The account is the one PAM_USER names, not the name typed. */
	if ((found = auth_getpw(pam_user, &pw, err, errlen)) == -1)
		return AUTH_ERROR;
	if (!found) {
		strlcpy(u->name, pam_user, sizeof u->name);
		u->ngroups = 0;
		return AUTH_OK;
	}
	if (!auth_uid_ok(cfg, &pw, err, errlen))
		return AUTH_DENIED;
	strlcpy(u->name, pw.name, sizeof u->name);
	return auth_system_groups(&pw, u, err, errlen) == -1 ? AUTH_ERROR :
	    AUTH_OK;
}

int
auth_pam_check(const struct auth_config *cfg, const char *user,
    const char *password, struct auth_user *out, char *err, size_t errlen)
{
	struct auth_user	u;
	size_t			len;
	int			ret;

	if (errlen > 0)
		err[0] = '\0';
	memset(&u, 0, sizeof u);
	len = strnlen(password, AUTH_PASSWORD_MAX + 1);
	if (!auth_valid_name(user) || len == 0 || len > AUTH_PASSWORD_MAX)
		return AUTH_DENIED;
	if (cfg->pam_service == NULL || cfg->pam_service[0] == '\0') {
		snprintf(err, errlen, "no PAM service configured");
		return AUTH_ERROR;
	}
	if ((ret = auth_pam(cfg, user, password, &u, err, errlen)) != AUTH_OK)
		return ret;
	strlcpy(u.source, "pam", sizeof u.source);
	*out = u;
	return AUTH_OK;
}

int
auth_check(const struct auth_config *cfg, const char *user,
    const char *password, struct auth_user *out, char *err, size_t errlen)
{
	struct auth_user	u;
	char			hash[crypto_pwhash_STRBYTES];
	size_t			len;
	int			found = 0, ret = AUTH_ERROR;

	if (errlen > 0)
		err[0] = '\0';
	memset(&u, 0, sizeof u);
	if (auth_start() == -1) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return AUTH_ERROR;
	}
	len = strnlen(password, AUTH_PASSWORD_MAX + 1);
	if (!auth_valid_name(user) || len == 0 || len > AUTH_PASSWORD_MAX) {
		auth_dummy_verify(password, len);
		return AUTH_DENIED;
	}

	if (cfg->users_file != NULL && cfg->users_file[0] != '\0') {
		found = auth_users_read(cfg->users_file, user, hash,
		    sizeof hash, &u, err, errlen);
		if (found == -1)
			goto out;
	}
	if (found) {
		errno = 0;
		if (crypto_pwhash_str_verify(hash, password, len) != 0) {
			if (errno == ENOMEM) {
				snprintf(err, errlen, "out of memory checking "
				    "the password of %s", user);
				goto out;
			}
			/* A local user is never passed on to PAM, whatever
			 * the case of the name given. */
			ret = AUTH_DENIED;
			goto out;
		}
		strlcpy(u.source, "local", sizeof u.source);
	} else if (cfg->pam_service != NULL && cfg->pam_service[0] != '\0') {
		ret = (cfg->pam != NULL ? cfg->pam : auth_pam_check)(cfg, user,
		    password, &u, err, errlen);
		if (ret != AUTH_OK)
			goto out;
		strlcpy(u.source, "pam", sizeof u.source);
	} else {
		auth_dummy_verify(password, len);
		ret = AUTH_DENIED;
		goto out;
	}
	*out = u;
	ret = AUTH_OK;
 out:
	explicit_bzero(hash, sizeof hash);
	return ret;
}
