/* SPDX-License-Identifier: ISC */
/*
 * The API's route groups (api*.c) among themselves: who the caller is, the
 * replies they share, and the handlers api.c's route table names. Only
 * the api*.c files include it.
 */
#ifndef PAPRIKA_API_H
#define PAPRIKA_API_H

#include "broker.h"

/* The caller of a request, once its token checks out. */
struct api_caller {
	struct login	login;
	char		token[BROKER_TOKEN_HEX + 1];	/* the hash */
};

/* A power action under way, answered by api_power_done. */
struct api_power {
	struct http_req	*req;
	int		 staff;		/* helpdesk: sees libvirt's words */
	char		 actor[AUTH_NAME_MAX + 1];
	char		 action[16];
	char		 target[200];
};

/* api.c */
/* The SHA-256 of a token, in hex (BROKER_TOKEN_HEX + 1 bytes). */
void		 api_token_hash(const char *token, char *out);
const char	*api_header(struct http_req *req, const char *name);
/*
 * Finds the caller from the bearer token or the portal's cookie and checks
 * its role; replies and returns -1 when it does not hold. changes: the
 * route changes state even when it is a GET (console.vv), so a cookie
 * needs the anti-CSRF header there too.
 */
int		 api_auth_as(struct http_req *req, unsigned role, int changes,
		    struct api_caller *c);
/* api_auth_as for a route whose GET only reads. */
int		 api_auth(struct http_req *req, unsigned role,
		    struct api_caller *c);
/* Replies 200 with json, which holds a secret: wiped before it is freed. */
void		 api_reply_secret(struct http_req *req, json_t *json);
json_t		*api_roles(unsigned roles);
void		 api_clear_cookie(struct http_req *req);

/* api-login.c */
/* The throttle's keys for a login of user from source_key. */
void		 api_login_keys(const char *user, const char *source_key,
		    char *ukey, size_t ulen, char *akey, size_t alen);
void		 api_login(struct http_req *req);
/* A standby: whether it checks the password of a login it receives (auth
 * configured, its checks not full, a leader to forward to). */
int		 api_login_here(void);
/* The leader: vd, a standby's verdict the gate accepted, goes with req to
 * its login (copied, wiped when req ends); 0, or -1 when out of memory. */
int		 api_login_verdict(struct http_req *req,
		    const struct forward_verdict *vd);
void		 api_logout(struct http_req *req);
void		 api_me(struct http_req *req);

/* api-totp.c */
void		 api_totp_status(struct http_req *req);
void		 api_totp_enroll(struct http_req *req);
void		 api_totp_qr(struct http_req *req);
void		 api_totp_confirm(struct http_req *req);

/* api-desktops.c */
/* Audits and answers a power action; frees a. */
void		 api_power_done(const struct virt_result *res, void *arg);
void		 api_desktops(struct http_req *req);
void		 api_connect(struct http_req *req);
void		 api_console_vv(struct http_req *req);
void		 api_desktop_end(struct http_req *req);
void		 api_desktop_reset(struct http_req *req);

/* api-helpdesk.c */
void		 api_sessions(struct http_req *req);
void		 api_session_disconnect(struct http_req *req);
void		 api_session_end(struct http_req *req);
void		 api_user_logout(struct http_req *req);
void		 api_user(struct http_req *req);
void		 api_user_unlock(struct http_req *req);
void		 api_guests(struct http_req *req);
void		 api_events(struct http_req *req);
void		 api_power(struct http_req *req);
void		 api_screenshot(struct http_req *req);

/* api-admin.c */
void		 api_audit(struct http_req *req);
void		 api_audit_export(struct http_req *req);
void		 api_gpus(struct http_req *req);
void		 api_gpu_clear(struct http_req *req);

#endif
