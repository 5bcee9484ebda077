/* SPDX-License-Identifier: ISC */
/*
 * Password checks: the local users file first (users.c), then PAM, and the
 * user's groups from the system's databases.
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

#include "auth.h"
#include "authpriv.h"
#include "config.h"

#define AUTH_NSS_BUF_MAX	(1024 * 1024)	/* getpwnam_r/getgrgid_r */
#define AUTH_NSS_GIDS_MAX	65536

/* What the broker needs of a passwd entry. */
struct auth_pw {
	char	name[AUTH_NAME_MAX + 1];
	uid_t	uid;
	gid_t	gid;
};

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
