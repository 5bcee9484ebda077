/* SPDX-License-Identifier: ISC */
/*
 * PaprikaBroker: the broker's HTTPS JSON API (docs/broker-api.md) over
 * libsoup, one SoupSession per broker. The blocking calls serve --headless,
 * the _async ones (brokerasync.c) run them on GTask's thread pool for the
 * window (libsoup >= 3.2 sends from any thread). Every failure becomes a
 * PAPRIKA_ERROR in words a user can act on.
 */
#include <stdlib.h>
#include <string.h>

#include <libsoup/soup.h>

#include "client.h"

struct _PaprikaBroker {
	GObject		 parent;
	gchar		*url;		/* without a trailing / */
	GUri		*base;		/* url parsed: requests replace its path */
	SoupSession	*soup;
	GTlsDatabase	*ca;		/* --ca, or NULL: the system's CAs */
	GMutex		 lock;		/* token */
	gchar		*token;
	gint64		 ahead_at;	/* the last preconnect (monotonic), or 0 */
};

/*
 * At most one connection ahead a second: libsoup uses one made ahead only
 * within 3 s, so one per keystroke (throttled) keeps one fresh for the
 * Enter without a connection per key.
 */
#define BROKER_AHEAD_EVERY	G_USEC_PER_SEC

G_DEFINE_TYPE(PaprikaBroker, paprika_broker, G_TYPE_OBJECT)

/* One reply: status, Retry-After (or -1), the JSON body (or NULL). */
typedef struct {
	guint		 status;
	gint		 retry_after;
	json_t		*json;
} BrokerReply;

static void
broker_reply_clear(BrokerReply *r)
{
	if (r->json != NULL)
		json_decref(r->json);
	r->json = NULL;
}

static void
paprika_broker_finalize(GObject *obj)
{
	PaprikaBroker *b = PAPRIKA_BROKER(obj);

	g_free(b->url);
	g_clear_pointer(&b->base, g_uri_unref);
	g_clear_object(&b->soup);
	g_clear_object(&b->ca);
	if (b->token != NULL)
		explicit_bzero(b->token, strlen(b->token));
	g_free(b->token);
	g_mutex_clear(&b->lock);
	G_OBJECT_CLASS(paprika_broker_parent_class)->finalize(obj);
}

static void
paprika_broker_class_init(PaprikaBrokerClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = paprika_broker_finalize;
}

static void
paprika_broker_init(PaprikaBroker *b)
{
	g_mutex_init(&b->lock);
}

/* A broker at url (https only), trusting ca_file (NULL: the system's CAs). */
PaprikaBroker *
paprika_broker_new(const gchar *url, const gchar *ca_file, GError **error)
{
	PaprikaBroker *b;
	GTlsDatabase *db = NULL;
	GUri *uri;

	if (url == NULL || *url == '\0') {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "No broker address: give one with --broker or in client.conf");
		return NULL;
	}
	uri = g_uri_parse(url, SOUP_HTTP_URI_FLAGS, NULL);
	if (uri == NULL || g_strcmp0(g_uri_get_scheme(uri), "https") != 0 ||
	    g_uri_get_host(uri) == NULL || *g_uri_get_host(uri) == '\0') {
		if (uri != NULL)
			g_uri_unref(uri);
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker address must look like https://broker.example.com:8443");
		return NULL;
	}
	if (ca_file != NULL && *ca_file != '\0' &&
	    (db = g_tls_file_database_new(ca_file, error)) == NULL) {
		g_prefix_error(error, "Cannot read the CA file %s: ", ca_file);
		g_uri_unref(uri);
		return NULL;
	}

	b = g_object_new(PAPRIKA_TYPE_BROKER, NULL);
	b->url = g_strdup(url);
	while (g_str_has_suffix(b->url, "/"))
		b->url[strlen(b->url) - 1] = '\0';
	b->base = uri;
	/* Idle connections go before the broker's own 30 s idle timeout. */
	b->soup = soup_session_new_with_options("timeout", CLIENT_HTTP_TIMEOUT,
	    "idle-timeout", CLIENT_HTTP_TIMEOUT,
	    "user-agent", "paprika-client/" PACKAGE_VERSION, NULL);
	if (db != NULL) {
		soup_session_set_tls_database(b->soup, db);
		/*
		 * libsoup makes each TLS connection with the process's default
		 * database and sets the session's on it only after, and for
		 * that default glib-networking parses the whole system store
		 * and keeps it: 7.6 MB of the idle client's anonymous memory
		 * (tests/bench/README.md, "Where the client's memory goes").
		 * With the deployment's CA as the default nothing loads it;
		 * the tunnels ask for the system's CAs where they trust them
		 * (paprika_broker_system_ca).
		 */
		g_tls_backend_set_default_database(g_tls_backend_get_default(), db);
	}
	b->ca = db;
	return b;
}

const gchar *
paprika_broker_get_url(PaprikaBroker *b)
{
	return b->url;
}

/* The CAs the broker is verified with (the deployment's, from --ca), or
 * NULL for the system's: the client trusts the gateway likewise. */
GTlsDatabase *
paprika_broker_get_ca(PaprikaBroker *b)
{
	return b->ca;
}

/*
 * The system's CAs (a new reference, or NULL where the TLS backend has
 * none), whatever the process's default database is: paprika_broker_new
 * makes that the deployment's CA.
 */
GTlsDatabase *
paprika_broker_system_ca(void)
{
	GTlsBackend *backend = g_tls_backend_get_default();
	GTlsBackendInterface *iface = G_TLS_BACKEND_GET_INTERFACE(backend);

	if (iface->get_default_database == NULL)
		return NULL;
	return iface->get_default_database(backend);
}

static void
broker_preconnect_done(GObject *src, GAsyncResult *res, gpointer data)
{
	gint64 *started = data;
	GError *error = NULL;

	if (soup_session_preconnect_finish(SOUP_SESSION(src), res, &error))
		client_log("broker: connected ahead in %.1f ms",
		    (g_get_monotonic_time() - *started) / 1000.0);
	else {
		client_log("broker: no connection ahead: %s", error->message);
		g_error_free(error);
	}
	g_free(started);
}

/*
 * Opens a connection to the broker (TCP and TLS) ahead of the login, while
 * the user types, for the login to take (broker_request); quietly, since
 * the login itself reports what fails. Main thread only (libsoup's async
 * calls belong to the session's thread).
 */
void
paprika_broker_preconnect(PaprikaBroker *b)
{
	gint64 now = g_get_monotonic_time();
	SoupMessage *msg;

	if (b->ahead_at != 0 && now - b->ahead_at < BROKER_AHEAD_EVERY)
		return;
	b->ahead_at = now;
	msg = soup_message_new_from_uri("GET", b->base);
	soup_session_preconnect_async(b->soup, msg, G_PRIORITY_DEFAULT, NULL,
	    broker_preconnect_done, g_memdup2(&now, sizeof(now)));
	g_object_unref(msg);
}

gboolean
paprika_broker_logged_in(PaprikaBroker *b)
{
	gboolean ret;

	g_mutex_lock(&b->lock);
	ret = b->token != NULL;
	g_mutex_unlock(&b->lock);
	return ret;
}

static gchar *
broker_get_token(PaprikaBroker *b)
{
	gchar *t;

	g_mutex_lock(&b->lock);
	t = g_strdup(b->token);
	g_mutex_unlock(&b->lock);
	return t;
}

static void
broker_set_token(PaprikaBroker *b, const gchar *token)
{
	g_mutex_lock(&b->lock);
	if (b->token != NULL)
		explicit_bzero(b->token, strlen(b->token));
	g_free(b->token);
	b->token = g_strdup(token);
	g_mutex_unlock(&b->lock);
}

void
paprika_free_secret(gchar *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		g_free(s);
	}
}

/* The reason for a failed exchange with the broker, in words. */
static void
broker_unreachable(PaprikaBroker *b, GError *cause, GError **error)
{
	if (g_error_matches(cause, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_propagate_error(error, cause);
		return;
	}
	if (g_error_matches(cause, SOUP_SESSION_ERROR, SOUP_SESSION_ERROR_PARSING) ||
	    g_error_matches(cause, SOUP_SESSION_ERROR, SOUP_SESSION_ERROR_ENCODING))
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker at %s did not answer in HTTP", b->url);
	else if (cause->domain == G_TLS_ERROR)
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker at %s is not trusted: %s (is the right CA given with --ca?)",
		    b->url, cause->message);
	else if (g_error_matches(cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker at %s does not answer", b->url);
	else
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "Cannot reach the broker at %s: %s", b->url, cause->message);
	g_error_free(cause);
}

/* A request to uri with the bearer token when logged in and body (or NULL). */
static SoupMessage *
broker_message(PaprikaBroker *b, const gchar *method, GUri *uri, GBytes *body)
{
	SoupMessage *msg;
	SoupMessageHeaders *h;
	gchar *token;

	msg = soup_message_new_from_uri(method, uri);
	soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
	h = soup_message_get_request_headers(msg);
	soup_message_headers_append(h, "Accept", "application/json");
	if ((token = broker_get_token(b)) != NULL) {
		gchar *auth = g_strconcat("Bearer ", token, NULL);

		soup_message_headers_append(h, "Authorization", auth);
		paprika_free_secret(auth);
		paprika_free_secret(token);
	}
	if (body != NULL)
		soup_message_set_request_body_from_bytes(msg, "application/json", body);
	return msg;
}

/* How broker_request may use the session's connections. */
#define BROKER_NEW_CONNECTION	0	/* libsoup's way for a POST: a fresh one */
#define BROKER_REUSE		1	/* an open one, as for a GET */

/*
 * Whether a request that went out on an open connection may go again on a
 * new one: the connection failed before any reply, as when the broker
 * closed it idle (it closes a connection with no request after 10 s) just
 * as the request left. libsoup retries only GETs by itself.
 */
static gboolean
broker_retry(GError *err)
{
	return err != NULL && err->domain == G_IO_ERROR &&
	    !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
	    !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

/*
 * One request: method path with an optional JSON body (taken, wiped once
 * sent), the bearer token when logged in. reuse: BROKER_REUSE lets a POST
 * that may safely go twice (a login, a connect, a logout: none changes
 * anything a second time; a reset would) take an open connection, the one
 * made ahead while the user typed (paprika_broker_preconnect) or the one
 * of the request before, instead of a TCP and TLS handshake of its own.
 * TRUE with r filled when the broker answered at all.
 */
static gboolean
broker_request(PaprikaBroker *b, const gchar *method, const gchar *path,
    gchar *body, gint reuse, BrokerReply *r, GCancellable *cancel, GError **error)
{
	SoupMessage *msg = NULL;
	SoupMessageHeaders *h;
	GInputStream *in = NULL;
	GBytes *bytes = NULL;
	GError *err = NULL;
	GUri *uri;
	const gchar *v;
	gchar *buf = NULL;
	gsize len = 0;
	guint64 secs;
	gboolean ret = FALSE;
	gint tries;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	if (body != NULL)
		bytes = g_bytes_new_with_free_func(body, strlen(body),
		    (GDestroyNotify)paprika_free_secret, body);
	uri = g_uri_parse_relative(b->base, path, SOUP_HTTP_URI_FLAGS, NULL);
	for (tries = 0; tries < 2; tries++) {
		g_clear_object(&msg);
		g_clear_error(&err);
		msg = broker_message(b, method, uri, bytes);
		if (reuse == BROKER_REUSE && tries == 0)
			soup_message_add_flags(msg, SOUP_MESSAGE_IDEMPOTENT);
		else
			soup_message_add_flags(msg, SOUP_MESSAGE_NEW_CONNECTION);
		if ((in = soup_session_send(b->soup, msg, cancel, &err)) != NULL ||
		    reuse != BROKER_REUSE || !broker_retry(err))
			break;
		client_log("broker: %s %s: %s; again on a new connection", method,
		    g_uri_get_path(uri), err->message);
	}
	g_uri_unref(uri);
	if (bytes != NULL)
		g_bytes_unref(bytes);
	if (in == NULL) {
		broker_unreachable(b, err, error);
		goto out;
	}
	/* One buffer, so that the secrets a reply holds can all be wiped. */
	buf = g_malloc(CLIENT_MAX_REPLY + 1);
	if (!g_input_stream_read_all(in, buf, CLIENT_MAX_REPLY + 1, &len, cancel, &err)) {
		broker_unreachable(b, err, error);
		goto out;
	}
	if (len > CLIENT_MAX_REPLY) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker's reply is too large");
		goto out;
	}
	r->status = soup_message_get_status(msg);
	h = soup_message_get_response_headers(msg);
	if ((v = soup_message_headers_get_one(h, "Retry-After")) != NULL &&
	    g_ascii_string_to_unsigned(v, 10, 0, 86400, &secs, NULL))
		r->retry_after = (gint)secs;
	v = soup_message_headers_get_content_type(h, NULL);
	if (v != NULL && g_ascii_strcasecmp(v, "application/json") == 0)
		r->json = json_loadb(buf, len, 0, NULL);
	ret = TRUE;
out:
	g_clear_object(&in);
	g_clear_object(&msg);
	if (buf != NULL) {
		explicit_bzero(buf, len);
		g_free(buf);
	}
	return ret;
}

static const gchar *
broker_json_str(json_t *obj, const gchar *key)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The error object's code and message of a failed reply ("" when absent). */
static void
broker_error_fields(BrokerReply *r, const gchar **code, const gchar **message)
{
	json_t *e = r->json != NULL ? json_object_get(r->json, "error") : NULL;

	*code = broker_json_str(e, "code");
	*message = broker_json_str(e, "message");
	if (*code == NULL)
		*code = "";
	if (*message == NULL || **message == '\0')
		*message = "no reason given";
}

/* Sets error from a reply that is not what the route should answer. */
static void
broker_reply_error(PaprikaBroker *b, BrokerReply *r, gboolean desktop,
    GError **error)
{
	const gchar *code, *message;

	broker_error_fields(r, &code, &message);
	if (r->status == 401 && strcmp(code, "totp_required") == 0)
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_TOTP,
		    "Type the code your authenticator app shows.");
	else if (r->status == 401 && strcmp(code, "login_failed") == 0)
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN,
		    "Wrong user name or password.");
	else if (r->status == 401)
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN,
		    "Your login has ended: log in again.");
	else if (r->status == 429 && strcmp(code, "locked_out") == 0)
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN,
		    "Locked out after too many failed logins: try again in %d seconds.",
		    MAX(r->retry_after, 1));
	else if (r->status == 429)
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN,
		    "Too many failed logins: try again in %d seconds.",
		    MAX(r->retry_after, 1));
	else if (desktop && (r->status == 404 || r->status == 502 || r->status == 503))
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_DESKTOP,
		    "The desktop is unavailable: %s.", message);
	else if (r->status == 503)
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker is busy or cannot check passwords now: %s. Try again later.",
		    message);
	else
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker refused (HTTP %u): %s.", r->status, message);
}

/* Logs in; the token is kept for the next calls. */
gboolean
paprika_broker_login(PaprikaBroker *b, const gchar *user, const gchar *password,
    const gchar *totp, GCancellable *cancel, GError **error)
{
	BrokerReply r;
	json_t *req;
	gchar *body;
	const gchar *token, *code, *message;
	gboolean ret = FALSE;

	req = json_pack("{s:s, s:s}", "username", user, "password", password);
	if (req != NULL && totp != NULL && *totp != '\0' &&
	    json_object_set_new(req, "totp", json_string(totp)) == -1) {
		json_decref(req);
		req = NULL;
	}
	if (req == NULL) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN,
		    "The user name or password is not valid text.");
		return FALSE;
	}
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);	/* jansson does not wipe: body is ours, and wiped */
	if (!broker_request(b, "POST", "/api/v1/login", body, BROKER_REUSE, &r,
	    cancel, error))
		goto out;
	if (r.status == 400) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN,
		    "Wrong user name or password.");
		goto out;
	}
	broker_error_fields(&r, &code, &message);
	if (r.status == 401 && totp != NULL && *totp != '\0' &&
	    strcmp(code, "login_failed") == 0) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN,
		    "Wrong user name, password or code.");
		goto out;
	}
	if (r.status != 200) {
		broker_reply_error(b, &r, FALSE, error);
		goto out;
	}
	if (json_is_true(json_object_get(r.json, "totp_enrol"))) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN,
		    "Your account needs a second factor: set it up in the "
		    "web portal (%s), then log in here.", b->url);
		goto out;
	}
	token = broker_json_str(r.json, "token");
	if (token == NULL || strlen(token) != 64) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker's login reply has no token");
		goto out;
	}
	broker_set_token(b, token);
	ret = TRUE;
out:
	broker_reply_clear(&r);
	return ret;
}

void
paprika_desktop_free(PaprikaDesktop *d)
{
	if (d == NULL)
		return;
	g_free(d->id);
	g_free(d->title);
	g_free(d->state);
	g_free(d->reason);
	g_free(d);
}

/* The caller's desktops, an array of PaprikaDesktop. */
GPtrArray *
paprika_broker_desktops(PaprikaBroker *b, GCancellable *cancel, GError **error)
{
	BrokerReply r;
	GPtrArray *list = NULL;
	json_t *arr, *v;
	size_t i;

	if (!broker_request(b, "GET", "/api/v1/desktops", NULL, BROKER_REUSE, &r,
	    cancel, error))
		return NULL;
	if (r.status != 200) {
		broker_reply_error(b, &r, FALSE, error);
		goto out;
	}
	arr = r.json != NULL ? json_object_get(r.json, "desktops") : NULL;
	if (!json_is_array(arr)) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker's list of desktops is not one");
		goto out;
	}
	list = g_ptr_array_new_with_free_func((GDestroyNotify)paprika_desktop_free);
	json_array_foreach(arr, i, v) {
		PaprikaDesktop *d;

		if (broker_json_str(v, "id") == NULL)
			continue;
		d = g_new0(PaprikaDesktop, 1);
		d->id = g_strdup(broker_json_str(v, "id"));
		d->title = g_strdup(broker_json_str(v, "title") != NULL ?
		    broker_json_str(v, "title") : d->id);
		d->state = g_strdup(broker_json_str(v, "state") != NULL ?
		    broker_json_str(v, "state") : "");
		d->reason = g_strdup(broker_json_str(v, "reason"));
		d->can_reset = json_is_true(json_object_get(v, "can_reset"));
		g_ptr_array_add(list, d);
	}
	if (list->len == 0) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_DESKTOP,
		    "You have no desktop: ask your administrator for one.");
		g_clear_pointer(&list, g_ptr_array_unref);
	}
out:
	broker_reply_clear(&r);
	return list;
}

void
paprika_connection_free(PaprikaConnection *c)
{
	if (c == NULL)
		return;
	g_free(c->session);
	g_free(c->host);
	paprika_free_secret(c->password);
	g_free(c->proxy);
	g_free(c->ca);
	g_free(c->host_subject);
	g_free(c->title);
	g_free(c);
}

/*
 * One POST .../connect?wait=N: the connection when the desktop is ready;
 * NULL without an error while it starts (progress filled in); NULL with
 * an error when it cannot be had.
 */
PaprikaConnection *
paprika_broker_connect(PaprikaBroker *b, const gchar *id, PaprikaProgress *progress,
    GCancellable *cancel, GError **error)
{
	BrokerReply r;
	PaprikaConnection *c = NULL;
	json_t *port;
	gchar *path, *esc;

	esc = g_uri_escape_string(id, NULL, FALSE);
	path = g_strdup_printf("/api/v1/desktops/%s/connect?wait=%d", esc,
	    CLIENT_CONNECT_WAIT);
	g_free(esc);
	if (!broker_request(b, "POST", path, NULL, BROKER_REUSE, &r, cancel, error)) {
		g_free(path);
		return NULL;
	}
	g_free(path);
	if (r.status == 202) {
		json_t *p = r.json != NULL ? json_object_get(r.json, "progress") : NULL;

		progress->progress = json_is_integer(p) ?
		    CLAMP((gint)json_integer_value(p), 0, 100) : 0;
		g_free(progress->step);
		progress->step = g_strdup(broker_json_str(r.json, "step") != NULL ?
		    broker_json_str(r.json, "step") : "starting");
		goto out;
	}
	if (r.status != 200) {
		broker_reply_error(b, &r, TRUE, error);
		goto out;
	}
	port = r.json != NULL ? json_object_get(r.json, "tls_port") : NULL;
	if (g_strcmp0(broker_json_str(r.json, "type"), "spice") != 0 ||
	    broker_json_str(r.json, "host") == NULL ||
	    broker_json_str(r.json, "password") == NULL ||
	    broker_json_str(r.json, "proxy") == NULL || !json_is_integer(port) ||
	    json_integer_value(port) <= 0 || json_integer_value(port) > 65535) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker's connection lacks the SPICE host, port, password or gateway");
		goto out;
	}
	c = g_new0(PaprikaConnection, 1);
	c->session = g_strdup(broker_json_str(r.json, "session"));
	c->host = g_strdup(broker_json_str(r.json, "host"));
	c->tls_port = (gint)json_integer_value(port);
	c->password = g_strdup(broker_json_str(r.json, "password"));
	c->proxy = g_strdup(broker_json_str(r.json, "proxy"));
	c->ca = g_strdup(broker_json_str(r.json, "ca"));
	c->host_subject = g_strdup(broker_json_str(r.json, "host_subject"));
	c->title = g_strdup(broker_json_str(r.json, "title") != NULL ?
	    broker_json_str(r.json, "title") : id);
	/* The pool's policy; a broker that does not say allows both. */
	c->clipboard = !json_is_false(json_object_get(r.json, "clipboard"));
	c->usbredir = !json_is_false(json_object_get(r.json, "usbredir"));
out:
	if (r.json != NULL) {
		/* The SPICE password is in there: wipe jansson's copy. */
		json_t *pw = json_object_get(r.json, "password");

		if (json_is_string(pw))
			explicit_bzero((char *)json_string_value(pw),
			    json_string_length(pw));
	}
	broker_reply_clear(&r);
	return c;
}

/*
 * Hard-resets the guest of the caller's running desktop on pool id, where
 * the pool allows it (POST .../reset). The session and its SPICE
 * connection stay: the guest just reboots.
 */
gboolean
paprika_broker_reset(PaprikaBroker *b, const gchar *id, GCancellable *cancel,
    GError **error)
{
	BrokerReply r;
	const gchar *code, *message;
	gchar *path, *esc;
	gboolean ret = FALSE;

	esc = g_uri_escape_string(id, NULL, FALSE);
	path = g_strdup_printf("/api/v1/desktops/%s/reset", esc);
	g_free(esc);
	if (!broker_request(b, "POST", path, NULL, BROKER_NEW_CONNECTION, &r,
	    cancel, error)) {
		g_free(path);
		return FALSE;
	}
	g_free(path);
	broker_error_fields(&r, &code, &message);
	if (r.status == 200)
		ret = TRUE;
	else if (r.status == 403 && strcmp(code, "reset_not_allowed") == 0)
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_DESKTOP,
		    "Only the helpdesk can reset this desktop.");
	else if (r.status == 409)
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_DESKTOP,
		    "The desktop is not running, so it cannot be reset.");
	else if (r.status == 502)
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_DESKTOP,
		    "The desktop could not be reset: %s.", message);
	else
		broker_reply_error(b, &r, TRUE, error);
	broker_reply_clear(&r);
	return ret;
}

/* Ends the login and its sessions; the token is dropped whatever happens. */
gboolean
paprika_broker_logout(PaprikaBroker *b, GCancellable *cancel, GError **error)
{
	BrokerReply r;
	gboolean ret = FALSE;

	if (!paprika_broker_logged_in(b))
		return TRUE;
	if (broker_request(b, "POST", "/api/v1/logout", NULL, BROKER_REUSE,
	    &r, cancel, error)) {
		if (r.status == 200 || r.status == 401)
			ret = TRUE;
		else
			broker_reply_error(b, &r, FALSE, error);
		broker_reply_clear(&r);
	}
	broker_set_token(b, NULL);
	return ret;
}
