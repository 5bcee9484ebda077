/* SPDX-License-Identifier: ISC */
/*
 * The API's second factor routes: a user's enrolment, its QR code and its
 * confirmation with the first code.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker.h"
#include "api.h"
#include "http.h"
#include "qr.h"
#include "twofactor.h"

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
void
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
void
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
void
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
void
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
