/*
 * The HTTPS JSON API under /api/v1 (docs/broker-api.md documents every
 * route): login and logout, the user's desktops, connect and console.vv,
 * and the helpdesk's routes. Handlers check input fully before changing
 * anything, so a bad request changes nothing.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>

#include "broker.h"
#include "encode.h"
#include "gpujson.h"
#include "http.h"
#include "log.h"
#include "privsep.h"
#include "qr.h"
#include "twofactor.h"
#include "virt.h"
#include "workq.h"
#include "xmalloc.h"

#define API_AUDIT_LIMIT_MAX	1000
#define API_SCREEN_MAX		15	/* a desktop's screens: as the client's monitors */
#define API_CSRF_HEADER		"X-Paprika-Request"

/* The caller of a request, once its token checks out. */
struct api_caller {
	struct login	login;
	char		token[BROKER_TOKEN_HEX + 1];	/* the hash */
};

static void
api_token_hash(const char *token, char *out)
{
	uint8_t		md[32];
	unsigned	mdlen = sizeof(md);

	EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), out, BROKER_TOKEN_HEX + 1);
}

static const char *
api_header(struct http_req *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req->ev),
	    name);
}

/* The login of a token of the right length: 0, 1 if none, -1 on error. */
static int
api_login_of(const char *token, struct api_caller *c)
{
	api_token_hash(token, c->token);
	return db_token_get(broker->db, c->token, time(NULL), &c->login);
}

/*
 * Finds the caller from the bearer token or the portal's cookie and checks
 * its role; replies and returns -1 when it does not hold. changes: the
 * route changes state even when it is a GET (console.vv), so a cookie
 * needs the anti-CSRF header there too.
 */
static int
api_auth_as(struct http_req *req, unsigned role, int changes,
    struct api_caller *c)
{
	const char	*token = req->bearer;
	int		 rc;

	if (token == NULL) {
		token = req->cookie_token;
		/* A cookie rides along on any request: state changes from
		 * the portal must also carry a header no form or link can
		 * set. */
		if (token != NULL && (changes || req->method !=
		    EVHTTP_REQ_GET) && api_header(req, API_CSRF_HEADER) ==
		    NULL) {
			http_reply_error(req, 403, "csrf", "requests "
			    "authenticated by cookie need the %s header",
			    API_CSRF_HEADER);
			return -1;
		}
	}
	if (token == NULL || strlen(token) != BROKER_TOKEN_HEX) {
		http_add_header(req, "WWW-Authenticate", "Bearer");
		http_reply_error(req, 401, "unauthenticated", "log in first: "
		    "POST /api/v1/login");
		return -1;
	}
	rc = api_login_of(token, c);
	if (rc == -1) {
		http_reply_error(req, 500, "state", "the broker cannot read "
		    "its state");
		return -1;
	}
	if (rc == 1) {
		http_add_header(req, "WWW-Authenticate", "Bearer");
		http_reply_error(req, 401, "unauthenticated", "the login has "
		    "expired or was ended: log in again");
		return -1;
	}
	if ((c->login.roles & ROLE_ENROLLING) && !(role & ROLE_ENROLLING)) {
		http_reply_error(req, 403, "totp_enrol_required", "enrol a "
		    "second factor first: POST /api/v1/totp/enroll");
		return -1;
	}
	if ((c->login.roles & role) == 0) {
		http_reply_error(req, 403, "forbidden", "this needs the %s "
		    "role", role == ROLE_ADMIN ? "admin" : "helpdesk");
		return -1;
	}
	return 0;
}

/* api_auth_as for a route whose GET only reads. */
static int
api_auth(struct http_req *req, unsigned role, struct api_caller *c)
{
	return api_auth_as(req, role, 0, c);
}

/*
 * Replies 200 with json, which holds a secret (a token, a SPICE password):
 * the text and json's strings are wiped before they are freed.
 */
static void
api_reply_secret(struct http_req *req, json_t *json)
{
	char	*text;
	size_t	 len;

	if ((text = json_dumps(json, JSON_COMPACT)) == NULL)
		http_reply_error(req, 500, "internal", "out of memory");
	else {
		len = strlen(text);
		text[len++] = '\n';	/* the NUL, as http_reply_json does */
		http_reply_data(req, 200, "application/json", text, len,
		    NULL);
		explicit_bzero(text, len);
		free(text);
	}
	json_decref(json);
}

static json_t *
api_roles(unsigned roles)
{
	json_t	*a = json_array();

	json_array_append_new(a, json_string("user"));
	if (roles & ROLE_HELPDESK)
		json_array_append_new(a, json_string("helpdesk"));
	if (roles & ROLE_ADMIN)
		json_array_append_new(a, json_string("admin"));
	return a;
}

/* login ------------------------------------------------------------------ */

#define API_AUTH_QUEUE_PER_THREAD	8	/* password checks waiting */

struct api_login {
	struct http_req		*req;
	struct auth_config	 cfg;
	char			 user[AUTH_NAME_MAX + 1];
	char			 password[AUTH_PASSWORD_MAX + 1];
	char			 totp[TOTP_CODE_MAX + 1];	/* "": none */
	char			 source[64];
	char			 source_key[NETADDR_STRLEN];
	struct auth_user	 result;
	int			 status;
	char			 error[256];
	double			 seconds;
	int			 addr_counted;	/* throttle_begin on the address */
	struct timespec		 arrived;	/* CLOCK_MONOTONIC */
	struct event		*fail_timer;	/* the delayed 401 */
	TAILQ_ENTRY(api_login)	 entry;		/* while fail_timer runs */
};

/* Failed logins whose 401 waits out login_fail_delay. */
static TAILQ_HEAD(, api_login) api_failing =
    TAILQ_HEAD_INITIALIZER(api_failing);

static void
api_login_work(void *arg)
{
	struct api_login	*a = arg;
	struct timespec		 t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	a->status = auth_check(&a->cfg, a->user, a->password, &a->result,
	    a->error, sizeof(a->error));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	explicit_bzero(a->password, sizeof(a->password));
	a->seconds = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/*
 * The throttle's keys of a login: its user name and its source, the
 * address or IPv6 network it counts as (netaddr_source). The name is
 * lower-cased: the users file matches names whatever their case, and so
 * may NSS, so "alice" and "ALICE" are guesses at one account. Finding the
 * account itself would block the loop (NSS); names that differ in more
 * than case count apart until the check.
 */
static void
api_login_keys(const char *user, const char *source_key, char *ukey,
    size_t ulen, char *akey, size_t alen)
{
	char	folded[AUTH_NAME_MAX + 1];

	auth_fold_name(user, folded, sizeof(folded));
	snprintf(ukey, ulen, "user:%s", folded);
	snprintf(akey, alen, "addr:%s", source_key);
}

/*
 * A login turned away before its password is checked. Only the first
 * refusal of key in a login_window goes to the audit log: a flood of
 * refusals is one record (and a count in the metrics), not a write each.
 */
static void
api_login_refuse(struct http_req *req, const char *user, const char *key,
    int status, const char *code, unsigned wait, const char *why)
{
	char	retry[16];

	broker->stats.logins_throttled++;
	if (throttle_note_refusal(broker->throttle, key, time(NULL)))
		broker_audit(user, req->peer_str, "login", "", "refused",
		    "%s: wait %us (further refusals of this %s within %us "
		    "are counted, not recorded)", why, wait,
		    strncmp(key, "user:", 5) == 0 ? "user" : "source",
		    broker->conf->throttle.window);
	snprintf(retry, sizeof(retry), "%u", wait);
	http_add_header(req, "Retry-After", retry);
	if (status == 429)
		http_reply_error(req, 429, code, "too many failed logins: try "
		    "again in %u seconds", wait);
	else
		http_reply_error(req, status, code, "the broker is checking "
		    "too many logins: try again in %u seconds", wait);
}

static void
api_throttle_fail(const char *key, time_t now)
{
	const struct throttle_entry	*e;

	if ((e = throttle_fail(broker->throttle, key, now)) != NULL)
		db_throttle_save(broker->db, e);
}

static void
api_login_free(struct api_login *a)
{
	if (a->fail_timer != NULL) {
		TAILQ_REMOVE(&api_failing, a, entry);
		event_free(a->fail_timer);
	}
	http_req_release(a->req);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

/*
 * How long a failed login's reply still waits: login_fail_delay plus up to
 * a quarter of it at random, counted from the request's arrival, so that
 * every failure takes as long whatever was checked (a users file's
 * argon2id, PAM, a name nobody has). Checks slower than that reply at once.
 */
static struct timeval
api_login_fail_wait(const struct api_login *a)
{
	struct timeval	tv = { 0, 0 };
	struct timespec	now;
	int64_t		want, spent;

	want = (int64_t)broker->conf->login_fail_delay * 1000000;
	if (want == 0)
		return tv;
	want += arc4random_uniform((uint32_t)(want / 4) + 1);
	clock_gettime(CLOCK_MONOTONIC, &now);
	spent = (int64_t)(now.tv_sec - a->arrived.tv_sec) * 1000000 +
	    (now.tv_nsec - a->arrived.tv_nsec) / 1000;
	if (spent < want) {
		tv.tv_sec = (time_t)((want - spent) / 1000000);
		tv.tv_usec = (suseconds_t)((want - spent) % 1000000);
	}
	return tv;
}

static void
api_login_fail_reply(evutil_socket_t fd, short what, void *arg)
{
	struct api_login	*a = arg;

	http_reply_error(a->req, 401, "login_failed", "%s",
	    broker->conf->totp == CONF_TOTP_OFF ? "wrong user name or "
	    "password" : "wrong user name, password or code");
	api_login_free(a);
}

/* Replies 401 after api_login_fail_wait on the loop: the auth thread that
 * checked the password is free at once. Takes a. */
static void
api_login_fail_later(struct api_login *a)
{
	struct timeval	tv = api_login_fail_wait(a);

	if ((a->fail_timer = evtimer_new(broker->base, api_login_fail_reply,
	    a)) == NULL) {
		api_login_fail_reply(-1, 0, a);
		return;
	}
	TAILQ_INSERT_TAIL(&api_failing, a, entry);
	evtimer_add(a->fail_timer, &tv);
}

void
api_shutdown(void)
{
	struct api_login	*a;

	/* Their clients are gone with the server: the replies are no-ops. */
	while ((a = TAILQ_FIRST(&api_failing)) != NULL)
		api_login_fail_reply(-1, 0, a);
}

/*
 * The second factor of a login whose password was right: asks for the
 * code (401 totp_required, no delay: the password is what the throttle
 * guards, and a wrong one never gets here), or fails it as a wrong
 * password fails (counted by the throttle, the same 401 after the same
 * delay; the caller replies), or lets it through, as an enrolment-only
 * login when the policy requires a second factor not yet enrolled.
 * Replies itself on TWOFACTOR_ASK and TWOFACTOR_ERROR; detail gets
 * words for the login's audit record.
 */
static enum twofactor_verdict
api_login_second(struct api_login *a, struct login *l, time_t now,
    char *detail, size_t detaillen)
{
	char			 key[THROTTLE_KEY_MAX], akey[THROTTLE_KEY_MAX];
	enum twofactor_verdict	 v;

	if (broker->conf->totp == CONF_TOTP_OFF)
		return TWOFACTOR_PASS;
	v = twofactor_login(broker->db, &broker->totp_keys, l->user,
	    conf_totp_required(broker->conf, l), a->totp, now, detail,
	    detaillen);
	explicit_bzero(a->totp, sizeof(a->totp));
	switch (v) {
	case TWOFACTOR_ERROR:
		log_warnx("login of %s from %s: %s", l->user, a->source,
		    detail);
		broker_audit(l->user, a->source, "login", "", "error", "%s",
		    detail);
		http_reply_error(a->req, 503, "auth_unavailable", "the "
		    "authentication service failed; try again later");
		break;
	case TWOFACTOR_ASK:
		broker_audit(l->user, a->source, "login", "", "challenged",
		    "password accepted, second factor asked");
		http_reply_error(a->req, 401, "totp_required", "give the code "
		    "of your authenticator app (or a recovery code) as "
		    "\"totp\" with the user name and password");
		break;
	case TWOFACTOR_WRONG:
		broker->stats.logins_failed++;
		api_login_keys(a->user, a->source_key, key, sizeof(key), akey,
		    sizeof(akey));
		api_throttle_fail(key, now);
		api_throttle_fail(akey, now);
		broker_audit(l->user, a->source, "login", "", "failed",
		    "second factor: %s", detail);
		break;
	case TWOFACTOR_ENROL:
		l->roles |= ROLE_ENROLLING;
		snprintf(detail, detaillen, "required, not enrolled: may only "
		    "enrol");
		break;
	default:
		break;
	}
	return v;
}

static void
api_login_done(void *arg)
{
	struct api_login	*a = arg;
	struct http_req		*req = a->req;
	struct login		 l;
	uint8_t			 raw[BROKER_TOKEN_BYTES];
	char			 token[BROKER_TOKEN_HEX + 1];
	char			 hash[BROKER_TOKEN_HEX + 1], key[THROTTLE_KEY_MAX];
	char			 akey[THROTTLE_KEY_MAX], cookie[256];
	char			 tf_detail[128] = "";
	time_t			 now = time(NULL);
	size_t			 i;

	broker->stats.auth_seconds += a->seconds;
	api_login_keys(a->user, a->source_key, key, sizeof(key), akey,
	    sizeof(akey));
	throttle_end(broker->throttle, key);
	if (a->addr_counted)
		throttle_end(broker->throttle, akey);
	if (a->status == AUTH_ERROR) {
		log_warnx("login of %s from %s: %s", a->user, a->source,
		    a->error);
		broker_audit(a->user, a->source, "login", "", "error", "%s",
		    a->error);
		http_reply_error(req, 503, "auth_unavailable", "the "
		    "authentication service failed; try again later");
		goto out;
	}
	if (a->status != AUTH_OK) {
		broker->stats.logins_failed++;
		api_throttle_fail(key, now);
		api_throttle_fail(akey, now);
		/* err says why a right password was refused (a system
		 * account); the client hears the same as for a wrong one. */
		broker_audit(a->user, a->source, "login", "", "failed", "%s",
		    a->error[0] != '\0' ? a->error :
		    "wrong user name or password");
		api_login_fail_later(a);
		return;
	}

	memset(&l, 0, sizeof(l));
	strlcpy(l.user, a->result.name, sizeof(l.user));
	l.roles = conf_roles(broker->conf, &a->result);
	for (i = 0; i < a->result.ngroups && i < AUTH_GROUPS_MAX; i++)
		strlcpy(l.groups[i], a->result.groups[i], sizeof(l.groups[i]));
	l.ngroups = i;
	strlcpy(l.source, a->source, sizeof(l.source));
	l.created = now;
	l.expires = now + broker->conf->token_lifetime;

	/* The second factor, once the password is known to be right. */
	switch (api_login_second(a, &l, now, tf_detail, sizeof(tf_detail))) {
	case TWOFACTOR_ASK:
	case TWOFACTOR_ERROR:
		goto out;
	case TWOFACTOR_WRONG:
		api_login_fail_later(a);
		return;
	default:
		break;
	}

	throttle_clear(broker->throttle, key);
	db_throttle_del(broker->db, key);

	arc4random_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), token, sizeof(token));
	explicit_bzero(raw, sizeof(raw));
	api_token_hash(token, hash);
	if (db_token_put(broker->db, hash, &l) == -1) {
		http_reply_error(req, 500, "state", "the broker cannot save "
		    "the login");
		goto wipe;
	}
	broker->stats.logins_ok++;
	broker_audit(l.user, a->source, "login", "", "ok", "via %s, role %s%s%s",
	    a->result.source, (l.roles & ROLE_ADMIN) ? "admin" :
	    (l.roles & ROLE_HELPDESK) ? "helpdesk" : "user",
	    tf_detail[0] != '\0' ? ", second factor: " : "", tf_detail);
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=%u; Secure; "
	    "HttpOnly; SameSite=Strict", broker->conf->cookie, token,
	    broker->conf->token_lifetime);
	http_add_header(req, "Set-Cookie", cookie);
	explicit_bzero(cookie, sizeof(cookie));
	api_reply_secret(req, json_pack("{s:s,s:s,s:o,s:I,s:s,s:b}", "token",
	    token, "user", l.user, "roles", api_roles(l.roles), "expires",
	    (json_int_t)l.expires, "token_type", "Bearer", "totp_enrol",
	    (l.roles & ROLE_ENROLLING) != 0));
wipe:
	explicit_bzero(token, sizeof(token));
out:
	api_login_free(a);
}

static void
api_login(struct http_req *req)
{
	struct api_login	*a;
	const char		*user, *password, *totp;
	json_t			*totp_json;
	char			 ukey[THROTTLE_KEY_MAX], akey[THROTTLE_KEY_MAX];
	char			 source_key[NETADDR_STRLEN];
	unsigned		 wait_user, wait_addr, wait;
	int			 locked_user = 0, locked_addr = 0, addr_counted;
	time_t			 now = time(NULL);

	user = json_string_value(json_object_get(req->body, "username"));
	password = json_string_value(json_object_get(req->body, "password"));
	totp_json = json_object_get(req->body, "totp");
	totp = json_string_value(totp_json);
	if (user == NULL || password == NULL) {
		http_reply_error(req, 400, "bad_request", "give \"username\" "
		    "and \"password\" as strings");
		return;
	}
	if ((totp_json != NULL && totp == NULL) || (totp != NULL &&
	    strlen(totp) > TOTP_CODE_MAX)) {
		http_reply_error(req, 400, "bad_request", "\"totp\" is a "
		    "string of at most %d characters", TOTP_CODE_MAX);
		return;
	}
	if (!auth_valid_name(user)) {
		http_reply_error(req, 400, "bad_request", "a user name is 1 to "
		    "%d letters, digits and . _ @ -", AUTH_NAME_MAX);
		return;
	}
	if (strlen(password) > AUTH_PASSWORD_MAX || password[0] == '\0') {
		http_reply_error(req, 400, "bad_request", "a password is 1 to "
		    "%d bytes", AUTH_PASSWORD_MAX);
		return;
	}
	netaddr_source((struct sockaddr *)&req->peer,
	    broker->conf->http.source_prefix_v6, source_key,
	    sizeof(source_key));
	api_login_keys(user, source_key, ukey, sizeof(ukey), akey,
	    sizeof(akey));
	/* One check per user at a time, and the checks under way count as
	 * failures: guesses sent at once wait like guesses in a row. */
	if (throttle_inflight(broker->throttle, ukey) > 0) {
		api_login_refuse(req, user, ukey, 429, "too_many_attempts", 1,
		    "a login of this user is being checked");
		return;
	}
	wait_user = throttle_wait(broker->throttle, ukey, now, &locked_user);
	wait_addr = throttle_wait(broker->throttle, akey, now, &locked_addr);
	wait = wait_user > wait_addr ? wait_user : wait_addr;
	if (wait > 0) {
		api_login_refuse(req, user, wait_user >= wait_addr ? ukey :
		    akey, 429, locked_user || locked_addr ?
		    "locked_out" : "too_many_attempts", wait, locked_user ?
		    "user locked out" : locked_addr ? "address locked out" :
		    "too many failures");
		return;
	}
	/* A bounded queue: a flood of checks (PAM's failure delay makes each
	 * slow) must not hold up every other login for minutes. */
	if (workq_pending(broker->authq) >= API_AUTH_QUEUE_PER_THREAD *
	    (size_t)broker->conf->auth_threads ||
	    throttle_begin(broker->throttle, ukey) == -1) {
		api_login_refuse(req, user, ukey, 503, "busy", 1, "the "
		    "password checks are full");
		return;
	}
	/* An address with no failure on record checks side by side (an office
	 * behind one NAT address at nine o'clock); once it has failed, its
	 * checks under way count too. */
	addr_counted = throttle_failures(broker->throttle, akey, now) > 0;
	if (addr_counted && throttle_begin(broker->throttle, akey) == -1) {
		throttle_end(broker->throttle, ukey);
		api_login_refuse(req, user, akey, 503, "busy", 1,
		    "out of memory");
		return;
	}
	a = xcalloc(1, sizeof(*a));
	clock_gettime(CLOCK_MONOTONIC, &a->arrived);
	a->addr_counted = addr_counted;
	a->req = req;
	a->cfg.pam_service = broker->conf->pam_service;
	a->cfg.users_file = broker->conf->users_file;
	a->cfg.rhost = a->source;
	a->cfg.pam_min_uid = broker->conf->pam_min_uid;
	a->cfg.pam_allow_root = broker->conf->pam_allow_root;
	a->cfg.pam = authsep_pam;
	strlcpy(a->user, user, sizeof(a->user));
	strlcpy(a->password, password, sizeof(a->password));
	if (totp != NULL)
		strlcpy(a->totp, totp, sizeof(a->totp));
	strlcpy(a->source, req->peer_str, sizeof(a->source));
	strlcpy(a->source_key, source_key, sizeof(a->source_key));
	http_req_hold(req);
	if (workq_push(broker->authq, api_login_work, api_login_done,
	    a) == -1) {
		throttle_end(broker->throttle, ukey);
		if (addr_counted)
			throttle_end(broker->throttle, akey);
		explicit_bzero(a, sizeof(*a));
		free(a);
		http_reply_error(req, 503, "busy", "the broker is busy");
		http_req_release(req);
	}
}

static void
api_clear_cookie(struct http_req *req)
{
	char	cookie[256];

	snprintf(cookie, sizeof(cookie), "%s=; Path=/; Max-Age=0; Secure; "
	    "HttpOnly; SameSite=Strict", broker->conf->cookie);
	http_add_header(req, "Set-Cookie", cookie);
}

/* Ends the sessions a login made, then the login itself. */
static void
api_logout(struct http_req *req)
{
	struct api_caller	 c;
	int			 n;

	if (api_auth(req, ROLE_USER | ROLE_ENROLLING, &c) == -1)
		return;
	n = session_end_user(c.login.user, c.token, c.login.user, "logout");
	db_token_del(broker->db, c.token);
	broker_audit(c.login.user, req->peer_str, "logout", "", "ok",
	    "%d sessions ended", n);
	api_clear_cookie(req);
	http_reply_json(req, 200, json_pack("{s:b,s:i}", "logged_out", 1,
	    "sessions_ended", n));
}

static void
api_me(struct http_req *req)
{
	struct api_caller	c;
	json_t			*groups;
	size_t			 i;

	if (api_auth(req, ROLE_USER | ROLE_ENROLLING, &c) == -1)
		return;
	groups = json_array();
	for (i = 0; i < c.login.ngroups; i++)
		json_array_append_new(groups, json_string(c.login.groups[i]));
	http_reply_json(req, 200, json_pack("{s:s,s:o,s:o,s:I,s:I}", "user",
	    c.login.user, "roles", api_roles(c.login.roles), "groups", groups,
	    "logged_in", (json_int_t)c.login.created, "expires",
	    (json_int_t)c.login.expires));
}

/* desktops --------------------------------------------------------------- */

static json_t *
api_desktop_json(const struct api_caller *c, struct conf_pool *p)
{
	struct session	*s = session_find_live(c->login.user, p);
	const char	*state;
	json_t		*o;
	int		 up = pool_host_up(p) != NULL;

	if (s != NULL)
		state = session_state_name(s->state);
	else if (!up)
		state = "unavailable";
	else if (p->kind != POOL_STATIC && pool_available(p) == 0)
		state = "full";
	else
		state = "available";
	o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b}", "id", p->name,
	    "title", p->title, "kind", conf_pool_kind_name(p->kind), "state",
	    state, "host_up", up, "can_reset", p->user_reset, "clipboard",
	    p->clipboard, "usbredir", p->usbredir, "browser", p->browser);
	if (s != NULL)
		json_object_set_new(o, "session", session_json(s));
	/* The host's own error quotes libvirt: it is in the log. */
	if (!up)
		json_object_set_new(o, "reason", json_string(p->nhosts == 1 ?
		    "the pool's host is unreachable at the moment" : "every "
		    "host of the pool is unreachable at the moment"));
	return o;
}

static void
api_desktops(struct http_req *req)
{
	struct api_caller	 c;
	json_t			*list;
	size_t			 i;

	if (api_auth(req, ROLE_USER, &c) == -1)
		return;
	list = json_array();
	for (i = 0; i < broker->conf->npools; i++)
		if (conf_entitled(&broker->conf->pools[i], &c.login))
			json_array_append_new(list, api_desktop_json(&c,
			    &broker->conf->pools[i]));
	http_reply_json(req, 200, json_pack("{s:o}", "desktops", list));
}

static struct conf_pool *
api_pool(struct http_req *req, const struct api_caller *c)
{
	struct conf_pool	*p;

	p = conf_pool_find(broker->conf, req->params[0]);
	if (p == NULL || !conf_entitled(p, &c->login)) {
		http_reply_error(req, 404, "no_desktop", "you have no desktop "
		    "\"%s\"", req->params[0]);
		return NULL;
	}
	return p;
}

struct api_connect {
	struct http_req	*req;
	int		 vv;
};

static void
api_connect_granted(json_t *conn, const char *error, void *arg)
{
	struct api_connect	*a = arg;
	char			*vv;
	static const char *const vv_headers[] = {
		"Content-Disposition: attachment; filename=\"console.vv\"",
		NULL
	};

	if (conn == NULL)
		http_reply_error(a->req, 502, "connect_failed", "%s", error);
	else if (a->vv) {
		vv = grant_vv(conn);
		http_reply_data(a->req, 200, "application/x-virt-viewer", vv,
		    strlen(vv), vv_headers);
		explicit_bzero(vv, strlen(vv));
		free(vv);
		json_decref(conn);
	} else
		api_reply_secret(a->req, conn);
	http_req_release(a->req);
	free(a);
}

#define API_WAIT_MAX	60	/* seconds a connect may wait for its desktop */

struct api_wait {
	struct http_req	*req;
	int		 vv;
	uint64_t	 session;
};

static void	api_connect_answer(struct http_req *req, int vv,
		    struct session *s, unsigned wait);

/* The desktop left its start (or the wait ran out): answer now. */
static void
api_connect_resume(void *arg)
{
	struct api_wait	*w = arg;
	struct session	*s;

	if (!http_req_gone(w->req)) {
		if ((s = session_find(w->session)) == NULL ||
		    !session_is_live(s))
			http_reply_error(w->req, 502, "start_failed", "the "
			    "session ended while the desktop was starting");
		else
			api_connect_answer(w->req, w->vv, s, 0);
	}
	http_req_release(w->req);
	free(w);
}

/*
 * Answers a connect for session s: 202 with the progress while it starts
 * (after waiting up to wait seconds for it), 502 if it failed, else a
 * fresh connection.
 */
static void
api_connect_answer(struct http_req *req, int vv, struct session *s,
    unsigned wait)
{
	struct api_connect	*a;
	struct api_wait		*w;

	switch (s->state) {
	case SESSION_STARTING:
		if (wait > 0) {
			w = xcalloc(1, sizeof(*w));
			w->req = req;
			w->vv = vv;
			w->session = s->id;
			http_req_hold(req);
			session_wait(s, wait, api_connect_resume, w);
			return;
		}
		http_add_header(req, "Retry-After", "1");
		http_reply_json(req, 202, json_pack("{s:s,s:i,s:s,s:o}",
		    "state", "starting", "progress", (int)s->progress, "step",
		    s->step, "session", session_json(s)));
		return;
	case SESSION_FAILED:
		http_reply_error(req, 502, "start_failed", "the desktop could "
		    "not be started: %s", s->error);
		return;
	default:
		break;
	}
	a = xcalloc(1, sizeof(*a));
	a->req = req;
	a->vv = vv;
	http_req_hold(req);
	if (grant_new(s, (struct sockaddr *)&req->peer, api_connect_granted,
	    a) == -1) {
		free(a);
		http_reply_error(req, 503, "busy", "the broker is busy");
		http_req_release(req);
	}
}

static void
api_connect_common(struct http_req *req, int vv)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	struct session		*s;
	const char		*v;
	char			 err[256], *end;
	long			 wait = 0;
	int			 status = 500;

	/* Both start a session and set a SPICE password, console.vv too. */
	if (api_auth_as(req, ROLE_USER, 1, &c) == -1 || (p = api_pool(req,
	    &c)) == NULL)
		return;
	if ((v = http_query(req, "wait")) != NULL) {
		wait = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || wait < 0 ||
		    wait > API_WAIT_MAX) {
			http_reply_error(req, 400, "bad_request", "wait is 0 "
			    "to %d seconds", API_WAIT_MAX);
			return;
		}
	}
	s = session_connect(&c.login, c.token, p, req->peer_str, &status,
	    err, sizeof(err));
	if (s == NULL) {
		if (status == 503)
			http_add_header(req, "Retry-After", "10");
		http_reply_error(req, status, status == 404 ? "no_desktop" :
		    "unavailable", "%s", err);
		return;
	}
	api_connect_answer(req, vv, s, (unsigned)wait);
}

static void
api_connect(struct http_req *req)
{
	api_connect_common(req, 0);
}

static void
api_console_vv(struct http_req *req)
{
	api_connect_common(req, 1);
}

/* The user ends their own session on a desktop. */
static void
api_desktop_end(struct http_req *req)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	struct session		*s;

	if (api_auth(req, ROLE_USER, &c) == -1 || (p = api_pool(req,
	    &c)) == NULL)
		return;
	if ((s = session_find_live(c.login.user, p)) == NULL) {
		http_reply_error(req, 404, "no_session", "you have no session "
		    "on \"%s\"", p->name);
		return;
	}
	session_end(s, c.login.user, "ended by the user");
	http_reply_json(req, 200, json_pack("{s:b}", "ended", 1));
}

/* helpdesk --------------------------------------------------------------- */

static struct session *
api_session(struct http_req *req)
{
	struct session	*s = NULL;
	uint64_t	 id;
	char		*end;

	id = strtoull(req->params[0], &end, 16);
	if (strlen(req->params[0]) == 16 && *end == '\0')
		s = session_find(id);
	if (s == NULL || !session_is_live(s))
		http_reply_error(req, 404, "no_session", "no live session "
		    "\"%s\"", req->params[0]);
	return s;
}

static void
api_sessions(struct http_req *req)
{
	struct api_caller	 c;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	http_reply_json(req, 200, json_pack("{s:o}", "sessions",
	    session_list_json(NULL)));
}

static void
api_session_disconnect(struct http_req *req)
{
	struct api_caller	 c;
	struct session		*s;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (s = api_session(req)) == NULL)
		return;
	session_disconnect(s, c.login.user);
	http_reply_json(req, 200, json_pack("{s:b,s:o}", "disconnected", 1,
	    "session", session_json(s)));
}

static void
api_session_end(struct http_req *req)
{
	struct api_caller	 c;
	struct session		*s;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (s = api_session(req)) == NULL)
		return;
	session_end(s, c.login.user, "ended by the helpdesk");
	http_reply_json(req, 200, json_pack("{s:b}", "ended", 1));
}

/* Force logout: every login and session of a user. */
static void
api_user_logout(struct http_req *req)
{
	struct api_caller	 c;
	const char		*user = req->params[0];
	int			 n, tokens;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	if (!auth_valid_name(user)) {
		http_reply_error(req, 400, "bad_request", "\"%s\" is not a "
		    "user name", user);
		return;
	}
	/* Logins carry the account's own name; a name given in another
	 * case is the same account (the users file, case-blind NSS). */
	n = session_end_user(user, NULL, c.login.user, "forced logout");
	tokens = db_token_del_user(broker->db, user);
	broker_audit(c.login.user, req->peer_str, "force logout", user, "ok",
	    "%d logins and %d sessions ended", tokens < 0 ? 0 : tokens, n);
	http_reply_json(req, 200, json_pack("{s:i,s:i}", "logins_ended",
	    tokens < 0 ? 0 : tokens, "sessions_ended", n));
}

#define API_USER_LOGINS	20	/* recent logins in a user lookup */

/* The user a route names, checked; NULL after a 400. */
static const char *
api_user_name(struct http_req *req)
{
	if (auth_valid_name(req->params[0]))
		return req->params[0];
	http_reply_error(req, 400, "bad_request", "\"%s\" is not a user name",
	    req->params[0]);
	return NULL;
}

/* Everything the helpdesk asks about a user: their sessions and desktops,
 * their recent logins, whether the name is held back by failed logins. */
static void
api_user(struct http_req *req)
{
	struct api_caller	 c;
	struct audit_filter	 f = { 0 };
	const char		*user;
	char			 ukey[THROTTLE_KEY_MAX + 1], akey[8];
	json_t			*sessions, *desktops, *logins;
	unsigned		 wait;
	int			 locked = 0;
	time_t			 now = time(NULL);

	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (user = api_user_name(req)) == NULL)
		return;
	sessions = session_list_json(user);
	desktops = pool_guest_list_json(user);
	f.actor = user;
	f.action = "login";
	if ((logins = db_audit_list(broker->db, 0, API_USER_LOGINS, &f, 0,
	    INT64_MAX)) == NULL) {
		json_decref(sessions);
		json_decref(desktops);
		http_reply_error(req, 500, "state", "the broker cannot read "
		    "its audit log");
		return;
	}
	api_login_keys(user, "", ukey, sizeof(ukey), akey, sizeof(akey));
	wait = throttle_wait(broker->throttle, ukey, now, &locked);
	http_reply_json(req, 200, json_pack("{s:s,s:o,s:o,s:o,s:{s:i,s:b,"
	    "s:i}}", "user", user, "sessions", sessions, "desktops", desktops,
	    "logins", logins, "throttle", "failures",
	    (int)throttle_failures(broker->throttle, ukey, now), "locked",
	    locked, "wait", (int)wait));
}

/* Forgets a user name's failed logins: its delay or lockout ends. */
static void
api_user_unlock(struct http_req *req)
{
	struct api_caller	 c;
	const char		*user;
	char			 ukey[THROTTLE_KEY_MAX + 1], akey[8];
	unsigned		 failures;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (user = api_user_name(req)) == NULL)
		return;
	api_login_keys(user, "", ukey, sizeof(ukey), akey, sizeof(akey));
	failures = throttle_failures(broker->throttle, ukey, time(NULL));
	throttle_clear(broker->throttle, ukey);
	if (db_throttle_del(broker->db, ukey) == -1)
		log_warnx("unlock %s: could not delete its saved count", user);
	broker_audit(c.login.user, req->peer_str, "unlock", user, "ok",
	    "%u failed logins forgotten", failures);
	http_reply_json(req, 200, json_pack("{s:b,s:i}", "unlocked", 1,
	    "failures_cleared", (int)failures));
}

static void
api_guests(struct http_req *req)
{
	struct api_caller	 c;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	http_reply_json(req, 200, json_pack("{s:o,s:o}", "desktops",
	    pool_guest_list_json(NULL), "pools", pool_summary_json()));
}

/* The live stream of changes (events.c), for the helpdesk. */
static void
api_events(struct http_req *req)
{
	struct api_caller	 c;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	events_subscribe(req, c.login.roles);
}

struct api_power {
	struct http_req	*req;
	int		 staff;		/* helpdesk: sees libvirt's words */
	char		 actor[AUTH_NAME_MAX + 1];
	char		 action[16];
	char		 target[200];
};

static void
api_power_done(const struct virt_result *res, void *arg)
{
	struct api_power	*a = arg;

	broker_audit(a->actor, a->req->peer_str, a->action, a->target,
	    res->ok ? "ok" : "failed", "%s", res->ok ? "" : res->error);
	if (res->ok)
		http_reply_json(a->req, 200, json_pack("{s:s,s:s}", "done",
		    a->action, "state", virt_state_name(res->state)));
	else
		http_reply_error(a->req, 502, "libvirt", "%s", a->staff ?
		    res->error : virt_result_reason(res));
	http_req_release(a->req);
	free(a);
}

/* A GPU desktop starts only with a GPU the broker gave it, and with its
 * pool's SPICE policy. */
static int
api_gpu_start(struct conf_pool *p, const char *name, struct api_power *a)
{
	struct domxml_opts	xml;

	memset(&xml, 0, sizeof(xml));
	pool_spice_policy(p, &xml);
	return gpualloc_start(p, pool_desktop_host(p, name), name, 0, &xml,
	    api_power_done, a);
}

/* The desktop a helpdesk route names: pool, then guest name. */
static struct conf_pool *
api_helpdesk_desktop(struct http_req *req)
{
	struct conf_pool	*p;
	size_t			 i;

	if ((p = conf_pool_find(broker->conf, req->params[0])) == NULL) {
		http_reply_error(req, 404, "no_pool", "no pool \"%s\"",
		    req->params[0]);
		return NULL;
	}
	if (pool_guest_find(p, req->params[1]) != NULL)
		return p;
	for (i = 0; i < p->nassign; i++)
		if (strcmp(p->assign[i].guest, req->params[1]) == 0)
			return p;
	http_reply_error(req, 404, "no_desktop", "pool \"%s\" has no desktop "
	    "\"%s\"", p->name, req->params[1]);
	return NULL;
}

/* An admin repairs a broken guest: cleaned again, then free (202: the
 * outcome comes as a desktop event). */
static void
api_repair(struct http_req *req)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	struct guest		*g;
	char			 target[BROKER_NAME_MAX + 130], err[256];

	if (api_auth(req, ROLE_ADMIN, &c) == -1 ||
	    (p = api_helpdesk_desktop(req)) == NULL)
		return;
	snprintf(target, sizeof(target), "%s/%s", p->name, req->params[1]);
	if (pool_repair(p, req->params[1], err, sizeof(err)) == -1) {
		broker_audit(c.login.user, req->peer_str, "repair", target,
		    "refused", "%s", err);
		http_reply_error(req, 409, "not_broken", "%s", err);
		return;
	}
	broker_audit(c.login.user, req->peer_str, "repair", target, "ok",
	    "cleaning again");
	g = pool_guest_find(p, req->params[1]);
	http_reply_json(req, 202, json_pack("{s:s,s:s}", "repairing", target,
	    "state", g != NULL ? pool_guest_state_name(g->state) : "removed"));
}

/* A power action, or "start", on a desktop of a pool. */
static void
api_power(struct http_req *req)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	struct api_power	*a;
	const char		*action = req->params[2];
	enum virt_power		 op = VIRT_POWER_RESET;
	int			 start, rc;

	if (strcmp(action, "repair") == 0) {
		api_repair(req);
		return;
	}
	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (p = api_helpdesk_desktop(req)) == NULL)
		return;
	start = strcmp(action, "start") == 0;
	if (!start && (virt_power_parse(action, &op) == -1 ||
	    op == VIRT_POWER_DESTROY)) {
		http_reply_error(req, 404, "no_action", "actions are reset, "
		    "reboot, shutdown and start");
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->req = req;
	a->staff = 1;
	strlcpy(a->actor, c.login.user, sizeof(a->actor));
	strlcpy(a->action, action, sizeof(a->action));
	snprintf(a->target, sizeof(a->target), "%s/%s", p->name,
	    req->params[1]);
	http_req_hold(req);
	if (start && p->gpu.mode != GPU_MODE_NONE)
		rc = api_gpu_start(p, req->params[1], a);
	else if (start)
		rc = virt_start(pool_desktop_host(p, req->params[1])->virt,
		    req->params[1], api_power_done, a);
	else
		rc = virt_power(pool_desktop_host(p, req->params[1])->virt,
		    req->params[1], op, api_power_done, a);
	if (rc == -1) {
		free(a);
		http_reply_error(req, 503, "busy", "the broker is busy");
		http_req_release(req);
	}
}

/* The user resets their own desktop, where the pool allows it. */
static void
api_desktop_reset(struct http_req *req)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	struct session		*s;
	struct api_power	*a;

	if (api_auth(req, ROLE_USER, &c) == -1 || (p = api_pool(req,
	    &c)) == NULL)
		return;
	if (!p->user_reset) {
		http_reply_error(req, 403, "reset_not_allowed", "desktops of "
		    "\"%s\" can only be reset by the helpdesk", p->name);
		return;
	}
	if ((s = session_find_live(c.login.user, p)) == NULL ||
	    s->state == SESSION_STARTING || s->state == SESSION_FAILED) {
		http_reply_error(req, 409, "not_running", "you have no running "
		    "desktop on \"%s\" to reset", p->name);
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->req = req;
	a->staff = (c.login.roles & ROLE_HELPDESK) != 0;
	strlcpy(a->actor, c.login.user, sizeof(a->actor));
	strlcpy(a->action, "reset", sizeof(a->action));
	snprintf(a->target, sizeof(a->target), "%s/%s", p->name, s->guest);
	http_req_hold(req);
	if (virt_power(s->host->virt, s->guest, VIRT_POWER_RESET,
	    api_power_done, a) == -1) {
		free(a);
		http_reply_error(req, 503, "busy", "the broker is busy");
		http_req_release(req);
	}
}

static void
api_screenshot_done(const struct virt_result *res, void *arg)
{
	struct http_req	*req = arg;

	if (!res->ok)
		http_reply_error(req, 502, "libvirt", "%s", res->error);
	else
		http_reply_data(req, 200, res->image_mime != NULL ?
		    res->image_mime : "image/png", res->image, res->image_len,
		    NULL);
	http_req_release(req);
}

static void
api_screenshot(struct http_req *req)
{
	struct api_caller	 c;
	struct conf_pool	*p;
	const char		*v, *errstr = NULL;
	long long		 screen = 0;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1 ||
	    (p = api_helpdesk_desktop(req)) == NULL)
		return;
	if ((v = http_query(req, "screen")) != NULL)
		screen = strtonum(v, 0, API_SCREEN_MAX, &errstr);
	if (errstr != NULL) {
		http_reply_error(req, 400, "bad_request", "screen is 0 to %d",
		    API_SCREEN_MAX);
		return;
	}
	audit_screenshot(c.login.user, req->peer_str, p->name, req->params[1],
	    (unsigned int)screen);
	http_req_hold(req);
	if (virt_screenshot(pool_desktop_host(p, req->params[1])->virt,
	    req->params[1], (unsigned int)screen, api_screenshot_done,
	    req) == -1) {
		http_reply_error(req, 503, "busy", "the broker is busy");
		http_req_release(req);
	}
}

static int	api_audit_bound(struct http_req *, const char *, int64_t,
		    int64_t *);

/* The search's filters from the query (their strings are the query's). */
static void
api_audit_filter(struct http_req *req, struct audit_filter *f)
{
	f->actor = http_query(req, "user");
	f->action = http_query(req, "action");
	f->target = http_query(req, "target");
	f->result = http_query(req, "result");
}

/* A page of the audit log, newest first, searched by user, action,
 * target, result and time. */
static void
api_audit(struct http_req *req)
{
	struct api_caller	 c;
	struct audit_filter	 f;
	const char		*v;
	long long		 limit = 100, before = 0;
	int64_t			 since, until;
	char			*end;
	json_t			*list, *last;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	if ((v = http_query(req, "limit")) != NULL) {
		limit = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || limit < 1 ||
		    limit > API_AUDIT_LIMIT_MAX) {
			http_reply_error(req, 400, "bad_request", "limit is 1 "
			    "to %d", API_AUDIT_LIMIT_MAX);
			return;
		}
	}
	if ((v = http_query(req, "before")) != NULL) {
		before = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || before < 1) {
			http_reply_error(req, 400, "bad_request", "before is "
			    "an audit record id");
			return;
		}
	}
	if (api_audit_bound(req, "since", 0, &since) == -1 ||
	    api_audit_bound(req, "until", INT64_MAX, &until) == -1)
		return;
	api_audit_filter(req, &f);
	if ((list = db_audit_list(broker->db, before, (int)limit, &f, since,
	    until)) == NULL) {
		http_reply_error(req, 500, "state", "the broker cannot read "
		    "its audit log");
		return;
	}
	/* A whole page: there may be more, before its last record. */
	if (json_array_size(list) == (size_t)limit &&
	    (last = json_array_get(list, json_array_size(list) - 1)) != NULL)
		http_reply_json(req, 200, json_pack("{s:o,s:O}", "audit", list,
		    "next_before", json_object_get(last, "id")));
	else
		http_reply_json(req, 200, json_pack("{s:o}", "audit", list));
}

/* A time bound of the export from the query, or dflt; -1 after a 400. */
static int
api_audit_bound(struct http_req *req, const char *name, int64_t dflt,
    int64_t *out)
{
	const char	*v;

	*out = dflt;
	if ((v = http_query(req, name)) == NULL || auditfmt_time(v, out) == 0)
		return 0;
	http_reply_error(req, 400, "bad_request", "%s is seconds since 1970 "
	    "or a UTC date: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", name);
	return -1;
}

/* The whole audit log, or a time range of it, as a file (admin). */
static void
api_audit_export(struct http_req *req)
{
	struct api_caller	 c;
	struct audit_filter	 filter;
	const char		*v;
	enum auditfmt		 f = AUDITFMT_JSONL;
	int64_t			 since, until;
	char			 range[32];

	if (api_auth(req, ROLE_ADMIN, &c) == -1)
		return;
	if ((v = http_query(req, "format")) != NULL &&
	    auditfmt_parse(v, &f) == -1) {
		http_reply_error(req, 400, "bad_request", "format is jsonl or "
		    "csv");
		return;
	}
	if (api_audit_bound(req, "since", 0, &since) == -1 ||
	    api_audit_bound(req, "until", INT64_MAX, &until) == -1)
		return;
	snprintf(range, sizeof(range), " until %lld", (long long)until);
	broker_audit(c.login.user, req->peer_str, "audit export", "", "ok",
	    "%s since %lld%s", f == AUDITFMT_CSV ? "csv" : "jsonl",
	    (long long)since, until == INT64_MAX ? "" : range);
	http_add_header(req, "Content-Disposition", f == AUDITFMT_CSV ?
	    "attachment; filename=\"audit.csv\"" :
	    "attachment; filename=\"audit.jsonl\"");
	if (req->method == EVHTTP_REQ_HEAD)
		http_reply_data(req, 200, auditfmt_type(f), NULL, 0, NULL);
	else {
		api_audit_filter(req, &filter);
		audit_export(req, f, since, until, &filter);
	}
}

/*
 * Up when the broker can read its state and reaches a host; 503 down
 * otherwise. Only a helpdesk or admin login learns which hosts are up: the
 * host names are nobody else's business.
 */
/* Whether the request comes from a helpdesk or admin login; no reply. */
static int
api_is_staff(struct http_req *req)
{
	struct api_caller	 c;
	const char		*token;

	token = req->bearer != NULL ? req->bearer : req->cookie_token;
	return token != NULL && strlen(token) == BROKER_TOKEN_HEX &&
	    api_login_of(token, &c) == 0 && (c.login.roles & ROLE_HELPDESK);
}

/*
 * Up when the broker reads its state and reaches a host (or has none);
 * 503 down otherwise. Only a helpdesk or admin login learns the hosts:
 * their names are nobody else's business.
 */
static void
api_health(struct http_req *req)
{
	json_t	*hosts = NULL;
	size_t	 i;
	int	 any = broker->conf->nhosts == 0, up;

	if (api_is_staff(req))
		hosts = json_object();
	for (i = 0; i < broker->conf->nhosts; i++) {
		up = virt_host_is_up(broker->conf->hosts[i].virt);
		any |= up;
		if (hosts != NULL)
			json_object_set_new(hosts, broker->conf->hosts[i].name,
			    json_boolean(up));
	}
	up = any && db_schema_version(broker->db) != -1;
	http_reply_json(req, up ? 200 : 503, json_pack("{s:s,s:o*}", "status",
	    up ? "up" : "down", "hosts", hosts));
}

static void
api_metrics(struct http_req *req)
{
	size_t	i;

	for (i = 0; i < broker->conf->nmetrics_nets; i++)
		if (netaddr_net_contains(&broker->conf->metrics_nets[i],
		    (struct sockaddr *)&req->peer))
			break;
	if (i == broker->conf->nmetrics_nets) {
		http_reply_error(req, 403, "forbidden", "metrics are served "
		    "only to metrics_networks");
		return;
	}
	metrics_reply(req);
}

#define GET	EVHTTP_REQ_GET
#define POST	EVHTTP_REQ_POST

/* GPUs ------------------------------------------------------------------- */

struct api_gpus {
	struct http_req	*req;
	json_t		*hosts;		/* one object per [host], in order */
	int		 pending;
};

struct api_gpus_host {
	struct api_gpus	*g;
	size_t		 index;
};

static const char *
api_gpu_allocated_to(void *arg, const char *device)
{
	const struct gpu_alloc	*a = gpualloc_of(arg, device);

	return a != NULL ? a->guest : NULL;
}

static int
api_gpu_quarantined(void *arg, const char *device, char *reason, size_t len)
{
	return db_gpu_quarantine_get(broker->db, arg, device, reason,
	    len) == 0;
}

static void
api_gpus_reply(struct api_gpus *g)
{
	http_reply_json(g->req, 200, json_pack("{s:o}", "hosts", g->hosts));
	http_req_release(g->req);
	free(g);
}

static void
api_gpus_scanned(const struct virt_result *res, void *arg)
{
	struct api_gpus_host	*gh = arg;
	struct api_gpus		*g = gh->g;
	json_t			*o = json_array_get(g->hosts, gh->index);
	struct gpujson_state	 st = { api_gpu_allocated_to,
				    api_gpu_quarantined, NULL };

	st.arg = (void *)json_string_value(json_object_get(o, "name"));
	if (!res->ok)
		json_object_set_new(o, "error", json_string(res->error));
	else {
		json_object_set_new(o, "iommu", json_boolean(res->gpus->iommu));
		json_object_set_new(o, "memory_kib",
		    json_integer((json_int_t)res->host_memory));
		json_object_set_new(o, "committed_kib",
		    json_integer((json_int_t)res->committed_memory));
		json_object_set_new(o, "gpus", gpujson_inventory(res->gpus,
		    &st));
	}
	free(gh);
	if (--g->pending == 0)
		api_gpus_reply(g);
}

/* Every host's GPUs with a verdict each, the broker's allocations and
 * quarantines included (helpdesk). */
static void
api_gpus(struct http_req *req)
{
	struct api_caller	 c;
	struct api_gpus		*g;
	struct api_gpus_host	*gh;
	struct conf_host	*h;
	size_t			 i;

	if (api_auth(req, ROLE_HELPDESK, &c) == -1)
		return;
	g = xcalloc(1, sizeof(*g));
	g->req = req;
	g->hosts = json_array();
	g->pending = 1;
	http_req_hold(req);
	for (i = 0; i < broker->conf->nhosts; i++) {
		h = &broker->conf->hosts[i];
		json_array_append_new(g->hosts, json_pack("{s:s,s:b}", "name",
		    h->name, "up", virt_host_is_up(h->virt)));
		if (!virt_host_is_up(h->virt)) {
			json_object_set_new(json_array_get(g->hosts, i),
			    "error", json_string(virt_host_error(h->virt)));
			continue;
		}
		gh = xcalloc(1, sizeof(*gh));
		gh->g = g;
		gh->index = i;
		g->pending++;
		if (virt_gpu_scan(h->virt, NULL, api_gpus_scanned, gh) == -1) {
			g->pending--;
			free(gh);
		}
	}
	if (--g->pending == 0)
		api_gpus_reply(g);
}

/* An admin puts a quarantined GPU back in service. */
static void
api_gpu_clear(struct http_req *req)
{
	struct api_caller	 c;
	const char		*host = req->params[0], *device = req->params[1];
	int			 rc;

	if (api_auth(req, ROLE_ADMIN, &c) == -1)
		return;
	if (conf_host_find(broker->conf, host) == NULL) {
		http_reply_error(req, 404, "no_host", "no host \"%s\"", host);
		return;
	}
	if ((rc = gpualloc_clear(host, device)) == -1) {
		http_reply_error(req, 500, "state", "the broker cannot write "
		    "its state");
		return;
	}
	if (rc == 1) {
		http_reply_error(req, 404, "not_quarantined", "GPU %s on %s "
		    "is not quarantined", device, host);
		return;
	}
	broker_audit(c.login.user, req->peer_str, "gpu clear", host, "ok",
	    "GPU %s back in service", device);
	http_reply_json(req, 200, json_pack("{s:s,s:s,s:s}", "host", host,
	    "device", device, "verdict", "cleared"));
}

/* second factor ---------------------------------------------------------- */

/* api_auth for the enrolment routes, which an enrolment-only login may
 * use; replies 404 when the second factor is off. */
static int
api_totp_auth(struct http_req *req, struct api_caller *c)
{
	if (broker->conf->totp == CONF_TOTP_OFF) {
		http_reply_error(req, 404, "totp_off", "this broker does not "
		    "use a second factor");
		return -1;
	}
	return api_auth(req, ROLE_USER | ROLE_ENROLLING, c);
}

/* GET /api/v1/totp: whether the caller has a second factor and must. */
static void
api_totp_status(struct http_req *req)
{
	struct api_caller	c;
	int			enrolled, left = 0;

	if (api_totp_auth(req, &c) == -1)
		return;
	if ((enrolled = twofactor_enrolled(broker->db, c.login.user,
	    &left)) == -1) {
		http_reply_error(req, 500, "state", "the broker cannot read "
		    "its state");
		return;
	}
	http_reply_json(req, 200, json_pack("{s:b,s:b,s:i}", "enrolled",
	    enrolled, "required", conf_totp_required(broker->conf,
	    &c.login), "recovery_codes_left", left));
}

/* POST /api/v1/totp/enroll: a new secret, in effect once confirmed. */
static void
api_totp_enroll(struct http_req *req)
{
	struct api_caller	c;
	char			uri[TOTP_URI_MAX];
	int			rc;

	if (api_totp_auth(req, &c) == -1)
		return;
	rc = twofactor_begin(broker->db, &broker->totp_keys, c.login.user,
	    time(NULL), uri, sizeof(uri));
	if (rc == 1) {
		http_reply_error(req, 409, "totp_enrolled", "a second factor "
		    "is already enrolled; an administrator removes it with "
		    "paprika-users totp remove");
		return;
	}
	if (rc == -1) {
		http_reply_error(req, 500, "state", "the broker cannot save "
		    "the enrolment");
		return;
	}
	broker_audit(c.login.user, req->peer_str, "totp enrol", c.login.user,
	    "started", "secret made, waiting for its first code");
	api_reply_secret(req, json_pack("{s:s,s:s}", "uri", uri, "qr",
	    "/api/v1/totp/qr.svg"));
	explicit_bzero(uri, sizeof(uri));
}

/* GET /api/v1/totp/qr.svg: the unconfirmed enrolment's QR code. */
static void
api_totp_qr(struct http_req *req)
{
	struct api_caller	 c;
	char			 uri[TOTP_URI_MAX], *svg;
	size_t			 len;
	int			 rc;

	if (api_totp_auth(req, &c) == -1)
		return;
	rc = twofactor_pending_uri(broker->db, &broker->totp_keys,
	    c.login.user, uri, sizeof(uri));
	if (rc == 1) {
		http_reply_error(req, 404, "no_enrolment", "no enrolment is "
		    "waiting: POST /api/v1/totp/enroll");
		return;
	}
	if (rc == -1 || (svg = qr_svg(uri, &len)) == NULL) {
		explicit_bzero(uri, sizeof(uri));
		http_reply_error(req, 500, "state", "the broker cannot draw "
		    "the enrolment");
		return;
	}
	explicit_bzero(uri, sizeof(uri));
	http_reply_data(req, 200, "image/svg+xml", svg, len, NULL);
	qr_free(svg, len);
}

/* POST /api/v1/totp/confirm {"code"}: the enrolment's first code; the
 * reply holds the recovery codes, shown this once. */
static void
api_totp_confirm(struct http_req *req)
{
	struct api_caller	 c;
	char			 codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_TEXT];
	const char		*code;
	json_t			*list;
	size_t			 i;
	int			 rc;

	if (api_totp_auth(req, &c) == -1)
		return;
	code = json_string_value(json_object_get(req->body, "code"));
	if (code == NULL || !totp_code_syntax(code)) {
		http_reply_error(req, 400, "bad_request", "give \"code\": the "
		    "%d digits your authenticator app shows", TOTP_DIGITS);
		return;
	}
	rc = twofactor_confirm(broker->db, &broker->totp_keys, c.login.user,
	    code, time(NULL), codes);
	if (rc == 1) {
		http_reply_error(req, 409, "no_enrolment", "no enrolment is "
		    "waiting: POST /api/v1/totp/enroll");
		return;
	}
	if (rc == 2) {
		broker_audit(c.login.user, req->peer_str, "totp enrol",
		    c.login.user, "failed", "wrong first code");
		http_reply_error(req, 400, "wrong_code", "that is not the "
		    "code the app shows for this enrolment: check the "
		    "phone's clock, or scan the code again");
		return;
	}
	if (rc == -1 || ((c.login.roles & ROLE_ENROLLING) &&
	    db_token_set_roles(broker->db, c.token, c.login.roles &
	    ~ROLE_ENROLLING) != 1)) {
		http_reply_error(req, 500, "state", "the broker cannot save "
		    "the enrolment");
		goto out;
	}
	broker_audit(c.login.user, req->peer_str, "totp enrol", c.login.user,
	    "ok", "enrolled in the portal, %d recovery codes",
	    TOTP_RECOVERY_CODES);
	list = json_array();
	for (i = 0; i < TOTP_RECOVERY_CODES; i++)
		json_array_append_new(list, json_string(codes[i]));
	api_reply_secret(req, json_pack("{s:b,s:o}", "enrolled", 1,
	    "recovery_codes", list));
out:
	explicit_bzero(codes, sizeof(codes));
}

static const struct http_route api_route_table[] = {
	{ POST, "/api/v1/login", api_login, 1 },
	{ POST, "/api/v1/logout", api_logout, 0 },
	{ GET, "/api/v1/me", api_me, 0 },
	{ GET, "/api/v1/totp", api_totp_status, 0 },
	{ POST, "/api/v1/totp/enroll", api_totp_enroll, 0 },
	{ GET, "/api/v1/totp/qr.svg", api_totp_qr, 0 },
	{ POST, "/api/v1/totp/confirm", api_totp_confirm, 1 },
	{ GET, "/api/v1/desktops", api_desktops, 0 },
	{ POST, "/api/v1/desktops/{id}/connect", api_connect, 0 },
	{ GET, "/api/v1/desktops/{id}/console.vv", api_console_vv, 0 },
	{ POST, "/api/v1/desktops/{id}/end", api_desktop_end, 0 },
	{ POST, "/api/v1/desktops/{id}/reset", api_desktop_reset, 0 },
	{ GET, "/api/v1/sessions", api_sessions, 0 },
	{ POST, "/api/v1/sessions/{id}/disconnect", api_session_disconnect,
	    0 },
	{ POST, "/api/v1/sessions/{id}/end", api_session_end, 0 },
	{ POST, "/api/v1/users/{name}/logout", api_user_logout, 0 },
	{ GET, "/api/v1/pools", api_guests, 0 },
	{ POST, "/api/v1/pools/{pool}/desktops/{name}/{action}", api_power,
	    0 },
	{ GET, "/api/v1/pools/{pool}/desktops/{name}/screenshot",
	    api_screenshot, 0 },
	{ GET, "/api/v1/audit", api_audit, 0 },
	{ GET, "/api/v1/audit/export", api_audit_export, 0 },
	{ GET, "/api/v1/gpus", api_gpus, 0 },
	{ POST, "/api/v1/gpus/{host}/{device}/clear", api_gpu_clear, 0 },
	{ GET, "/api/v1/health", api_health, 0 },
	{ GET, "/api/v1/events", api_events, 0 },
	{ GET, "/api/v1/users/{name}", api_user, 0 },
	{ POST, "/api/v1/users/{name}/unlock", api_user_unlock, 0 },
	{ GET, "/metrics", api_metrics, 0 },
	{ GET, "/", portal_index, 0 },
	{ GET, "/portal/{file}", portal_file, 0 },
	{ GET, "/spice-html5/{file}", portal_spice_file, 0 },
	{ GET, "/spice-html5/thirdparty/{file}", portal_spice_thirdparty, 0 },
	{ 0, NULL, NULL, 0 },
};

const struct http_route *const api_routes = api_route_table;
