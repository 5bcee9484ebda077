/* SPDX-License-Identifier: ISC */
/*
 * The API's login and logout: passwords checked on the auth threads,
 * failed logins throttled and answered late, the second factor asked where
 * it is required. A standby checks the password of a login it receives
 * the same way and forwards it with its verdict (forward.c); the leader
 * takes that verdict in place of a check and does all the rest.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "broker.h"
#include "api.h"
#include "encode.h"
#include "http.h"
#include "log.h"
#include "privsep.h"
#include "twofactor.h"
#include "workq.h"
#include "xmalloc.h"

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
	int			 verdict;	/* a standby checked the password */
	struct timespec		 arrived;	/* CLOCK_MONOTONIC */
	struct event		*fail_timer;	/* the delayed 401 */
	TAILQ_ENTRY(api_login)	 entry;		/* while fail_timer runs */
};

/* Failed logins whose 401 waits out login_fail_delay. */
static TAILQ_HEAD(, api_login) api_failing =
    TAILQ_HEAD_INITIALIZER(api_failing);

static void
api_login_verdict_free(void *arg)
{
	explicit_bzero(arg, sizeof(struct forward_verdict));
	free(arg);
}

/*
 * The verdict a forwarding standby sent with this login, or NULL. Only
 * api_login_verdict sets a login request's gate, so its free function says
 * what gate_data holds.
 */
static const struct forward_verdict *
api_login_verdict_of(const struct http_req *req)
{
	if (req->gate_free != api_login_verdict_free)
		return NULL;
	return req->gate_data;
}

int
api_login_verdict(struct http_req *req, const struct forward_verdict *vd)
{
	struct forward_verdict	*copy;

	if ((copy = malloc(sizeof(*copy))) == NULL)
		return -1;
	*copy = *vd;
	req->gate_data = copy;
	req->gate_free = api_login_verdict_free;
	return 0;
}

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
void
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
	if (!a->verdict)
		forward_note_check();
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
	arc4random_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), token, sizeof(token));
	explicit_bzero(raw, sizeof(raw));
	api_token_hash(token, hash);
	/* One transaction, committed before the client hears of the token:
	 * a login that was answered survives a crash. */
	if (db_begin(broker->db) == -1)
		goto unsaved;
	db_throttle_del(broker->db, key);
	if (db_token_put(broker->db, hash, &l) == -1) {
		db_rollback(broker->db);
		goto unsaved;
	}
	broker_audit(l.user, a->source, "login", "", "ok", "via %s, role %s%s%s",
	    a->result.source, (l.roles & ROLE_ADMIN) ? "admin" :
	    (l.roles & ROLE_HELPDESK) ? "helpdesk" : "user",
	    tf_detail[0] != '\0' ? ", second factor: " : "", tf_detail);
	if (db_commit(broker->db) == -1)
		goto unsaved;
	broker->stats.logins_ok++;
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=%u; Secure; "
	    "HttpOnly; SameSite=Strict", broker->conf->cookie, token,
	    broker->conf->token_lifetime);
	http_add_header(req, "Set-Cookie", cookie);
	explicit_bzero(cookie, sizeof(cookie));
	api_reply_secret(req, json_pack("{s:s,s:s,s:o,s:I,s:s,s:b}", "token",
	    token, "user", l.user, "roles", api_roles(l.roles), "expires",
	    (json_int_t)l.expires, "token_type", "Bearer", "totp_enrol",
	    (l.roles & ROLE_ENROLLING) != 0));
	goto wipe;
unsaved:
	http_reply_error(req, 500, "state", "the broker cannot save the login");
wipe:
	explicit_bzero(token, sizeof(token));
out:
	api_login_free(a);
}

/* A login to check on the auth threads, its password copied. */
static struct api_login *
api_login_new(struct http_req *req, const char *user, const char *password,
    const char *totp)
{
	struct api_login	*a;

	a = xcalloc(1, sizeof(*a));
	clock_gettime(CLOCK_MONOTONIC, &a->arrived);
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
	return a;
}

/* Whether the auth threads have room for another check. */
static int
api_login_room(void)
{
	return workq_pending(broker->authq) < API_AUTH_QUEUE_PER_THREAD *
	    (size_t)broker->conf->auth_threads;
}

int
api_login_here(void)
{
	const struct broker_config	*c = broker->conf;

	return ((c->users_file != NULL && c->users_file[0] != '\0') ||
	    (c->pam_service != NULL && c->pam_service[0] != '\0')) &&
	    api_login_room() && forward_possible();
}

/*
 * A standby's check is done: the login goes to the leader with the
 * verdict, or without one when the check failed (the leader checks it).
 * The leader throttles, delays failures and audits, as for its own.
 */
static void
api_login_standby_done(void *arg)
{
	struct api_login	*a = arg;
	struct forward_verdict	 vd, *v = &vd;
	char			 ukey[THROTTLE_KEY_MAX], akey[THROTTLE_KEY_MAX];
	size_t			 i;

	broker->stats.auth_seconds += a->seconds;
	forward_note_check();
	api_login_keys(a->user, a->source_key, ukey, sizeof(ukey), akey,
	    sizeof(akey));
	throttle_end(broker->throttle, ukey);
	memset(&vd, 0, sizeof(vd));
	strlcpy(vd.user, a->user, sizeof(vd.user));
	if (a->status == AUTH_ERROR) {
		log_warnx("login of %s from %s: %s; the leading broker checks "
		    "it", a->user, a->source, a->error);
		v = NULL;
	} else if ((vd.ok = a->status == AUTH_OK)) {
		strlcpy(vd.account, a->result.name, sizeof(vd.account));
		strlcpy(vd.via, a->result.source, sizeof(vd.via));
		for (i = 0; i < a->result.ngroups && i < AUTH_GROUPS_MAX; i++) {
			if (i > 0)
				strlcat(vd.groups, ",", sizeof(vd.groups));
			strlcat(vd.groups, a->result.groups[i],
			    sizeof(vd.groups));
		}
	}
	if (forward_login(a->req, v) == -1)
		http_reply_error(a->req, 503, "standby", "this broker stands "
		    "by and cannot forward the login to the leading broker; "
		    "try again");
	explicit_bzero(&vd, sizeof(vd));
	api_login_free(a);
}

/*
 * Whether a standby's login must wait by the leader's counts as saved in
 * the database (each failure is written there), with its own checks under
 * way counted: a name or source that is locked out or must wait is never
 * checked here, so the check's time cannot tell anything about it.
 */
static int
api_login_standby_waits(const char *ukey, const char *akey, time_t now)
{
	struct throttle_entry	 e;
	const char		*keys[] = { ukey, akey };
	size_t			 i;
	int			 locked;

	for (i = 0; i < 2; i++) {
		throttle_clear(broker->throttle, keys[i]);
		switch (db_throttle_get(broker->db, keys[i], &e)) {
		case 0:
			throttle_restore(broker->throttle, &e, now);
			break;
		case 1:
			break;
		default:
			return 1;	/* the leader knows */
		}
		if (throttle_wait(broker->throttle, keys[i], now, &locked) > 0)
			return 1;
	}
	return 0;
}

/*
 * A standby checks the password on its auth threads, then forwards; a
 * login that must wait goes to the leader unchecked, for its answer.
 */
static void
api_login_standby(struct http_req *req, const char *user,
    const char *password)
{
	struct api_login	*a;
	char			 ukey[THROTTLE_KEY_MAX], akey[THROTTLE_KEY_MAX];
	time_t			 now = time(NULL);

	a = api_login_new(req, user, password, NULL);
	netaddr_source((struct sockaddr *)&req->peer,
	    broker->conf->http.source_prefix_v6, a->source_key,
	    sizeof(a->source_key));
	api_login_keys(user, a->source_key, ukey, sizeof(ukey), akey,
	    sizeof(akey));
	/* One check of a user at a time here too, as the leader has it. */
	if (throttle_inflight(broker->throttle, ukey) > 0) {
		broker->stats.logins_throttled++;
		http_add_header(req, "Retry-After", "1");
		http_reply_error(req, 429, "too_many_attempts", "too many "
		    "failed logins: try again in 1 seconds");
		goto free;
	}
	if (api_login_standby_waits(ukey, akey, now) ||
	    throttle_begin(broker->throttle, ukey) == -1)
		goto plain;
	http_req_hold(req);
	if (workq_push(broker->authq, api_login_work, api_login_standby_done,
	    a) == 0)
		return;
	throttle_end(broker->throttle, ukey);
	http_req_release(req);
plain:
	if (forward_login(req, NULL) == -1)
		http_reply_error(req, 503, "busy", "the broker is busy");
free:
	explicit_bzero(a, sizeof(*a));
	free(a);
}

/*
 * Takes a standby's verdict on the password in place of a check: the
 * login goes on as if the auth thread had just answered so.
 */
static void
api_login_take_verdict(struct api_login *a, const struct forward_verdict *vd)
{
	const char	*g;
	size_t		 len;

	a->verdict = 1;
	explicit_bzero(a->password, sizeof(a->password));
	if (!vd->ok) {
		a->status = AUTH_DENIED;
		snprintf(a->error, sizeof(a->error), "wrong user name or "
		    "password (checked by a standby)");
		return;
	}
	a->status = AUTH_OK;
	strlcpy(a->result.name, vd->account, sizeof(a->result.name));
	strlcpy(a->result.source, vd->via, sizeof(a->result.source));
	/* The parser let through only names, at most AUTH_GROUPS_MAX. */
	for (g = vd->groups; *g != '\0' && a->result.ngroups <
	    AUTH_GROUPS_MAX; g += len + (g[len] == ',')) {
		len = strcspn(g, ",");
		snprintf(a->result.groups[a->result.ngroups++],
		    sizeof(a->result.groups[0]), "%.*s", (int)len, g);
	}
}

void
api_login(struct http_req *req)
{
	struct api_login	*a;
	struct forward_verdict	 vd;
	const char		*user, *password, *totp;
	json_t			*totp_json;
	char			 ukey[THROTTLE_KEY_MAX], akey[THROTTLE_KEY_MAX];
	char			 source_key[NETADDR_STRLEN];
	unsigned		 wait_user, wait_addr, wait;
	int			 locked_user = 0, locked_addr = 0, addr_counted;
	const struct forward_verdict	*sent = api_login_verdict_of(req);
	int			 verdict = sent != NULL;
	time_t			 now = time(NULL);

	if (verdict)
		vd = *sent;
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
	if (!cluster_leading()) {
		api_login_standby(req, user, password);
		return;
	}
	/* The body's digest binds the verdict to it; the name, once more. */
	if (verdict && strcmp(vd.user, user) != 0) {
		log_warnx("forward: %s: %s header refused: it names another "
		    "user", req->peer_str, VERIFIED_HEADER);
		http_reply_error(req, 400, "bad_verdict", "the %s header is "
		    "refused: it names another user", VERIFIED_HEADER);
		return;
	}
	netaddr_source((struct sockaddr *)&req->peer,
	    broker->conf->http.source_prefix_v6, source_key,
	    sizeof(source_key));
	api_login_keys(user, source_key, ukey, sizeof(ukey), akey,
	    sizeof(akey));
	/* One check per user at a time, and the checks under way count as
	 * failures: guesses sent at once wait like guesses in a row. A
	 * standby's verdict changes none of this. */
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
	if ((!verdict && !api_login_room()) ||
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
	a = api_login_new(req, user, password, totp);
	a->addr_counted = addr_counted;
	strlcpy(a->source_key, source_key, sizeof(a->source_key));
	http_req_hold(req);
	if (verdict) {
		api_login_take_verdict(a, &vd);
		api_login_done(a);
		return;
	}
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

/* Ends the sessions a login made, then the login itself. */
void
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

void
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
