/* SPDX-License-Identifier: ISC */
/*
 * A connection grant: what a SPICE client needs to reach a ready desktop
 * through a gateway. Each grant sets a fresh random SPICE password with an
 * expiry on the live guest, then mints a gateway ticket naming the guest's
 * SPICE address and TLS port. The result is JSON, or a virt-viewer file.
 */
#include <arpa/inet.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker.h"
#include "log.h"
#include "ticket.h"
#include "virt.h"
#include "xmalloc.h"

/* Channels that must run inside TLS: all of them. */
#define GRANT_SECURE_CHANNELS \
	"main;display;inputs;cursor;playback;record;smartcard;usbredir"

struct grant {
	uint64_t	 session;
	char		 password[BROKER_PASSWORD_LEN + 1];
	time_t		 password_expiry;
	char		*proxy;
	char		*websocket;	/* the gateway's, or NULL */
	grant_cb	 done;
	void		*arg;
};

static void
grant_free(struct grant *g)
{
	explicit_bzero(g->password, sizeof(g->password));
	free(g->proxy);
	free(g->websocket);
	free(g);
}

/* Mints the gateway ticket; 0, or -1 with why in err. */
static int
grant_ticket(const struct session *s, char *out, size_t outlen,
    time_t *expiry, char *err, size_t errlen)
{
	const struct ticket_key	*key;
	struct ticket		 t;

	if ((key = keyring_signing(&broker->keys)) == NULL) {
		snprintf(err, errlen, "the broker has no ticket key");
		return -1;
	}
	memset(&t, 0, sizeof(t));
	t.version = TICKET_VERSION;
	t.key_id = key->id;
	t.expiry = time(NULL) + broker->conf->ticket_lifetime;
	t.session_id = s->gw_id;
	if (inet_pton(AF_INET, s->spice_host, t.addr) == 1)
		t.af = AF_INET;
	else if (inet_pton(AF_INET6, s->spice_host, t.addr) == 1)
		t.af = AF_INET6;
	else {
		snprintf(err, errlen, "the desktop's SPICE address %s is not "
		    "an IP address", s->spice_host);
		return -1;
	}
	t.ports[0] = s->tls_port;
	t.nports = 1;
	if (!ticket_valid_user(s->user)) {
		snprintf(err, errlen, "user name %s cannot go in a ticket",
		    s->user);
		return -1;
	}
	strlcpy(t.user, s->user, sizeof(t.user));
	if (ticket_encode(&t, key, out, outlen) == -1) {
		snprintf(err, errlen, "cannot encode the ticket");
		return -1;
	}
	*expiry = t.expiry;
	return 0;
}

/*
 * The browser's way in: the gateway's WebSocket listener with the ticket
 * in the query (it names the TLS port alone, so no port=).
 */
static void
grant_browser(json_t *conn, const char *websocket, const char *ticket)
{
	char	*url;

	xasprintf(&url, "%s/spice?ticket=%s", websocket, ticket);
	json_object_set_new(conn, "browser", json_pack("{s:s}", "url", url));
	explicit_bzero(url, strlen(url));
	free(url);
}

static void
grant_password_set(const struct virt_result *res, void *arg)
{
	struct grant		*g = arg;
	struct session		*s = session_find(g->session);
	struct conf_host	*h;
	char			 ticket[TICKET_TEXT_MAX], err[400], id[17];
	time_t			 ticket_expiry;
	json_t			*conn;

	if (s == NULL || !session_is_live(s)) {
		g->done(NULL, "the session ended", g->arg);
		goto out;
	}
	if (!res->ok) {
		/* libvirt's words go to the log, the user gets a sentence. */
		log_warnx("session %016" PRIx64 ": cannot set the SPICE "
		    "password: %s", g->session, res->error);
		snprintf(err, sizeof(err), "cannot set the desktop's SPICE "
		    "password: %s", virt_result_reason(res));
		broker->stats.grant_failures++;
		g->done(NULL, err, g->arg);
		goto out;
	}
	if (grant_ticket(s, ticket, sizeof(ticket), &ticket_expiry, err,
	    sizeof(err)) == -1) {
		broker->stats.grant_failures++;
		g->done(NULL, err, g->arg);
		goto out;
	}
	if (ticket_expiry > s->gw_tickets_until)
		s->gw_tickets_until = ticket_expiry;
	h = s->host;
	snprintf(id, sizeof(id), "%016" PRIx64, s->id);
	conn = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s?,s:s?,s:s,s:s,s:I,"
	    "s:I,s:b,s:b}", "type", "spice", "session", id, "host", ticket,
	    "tls_port", (int)s->tls_port, "password", g->password,
	    "proxy", g->proxy, "ca", broker->spice_ca_pem,
	    "host_subject", h->spice_subject, "title", s->pool->title,
	    "secure_channels", GRANT_SECURE_CHANNELS,
	    "password_expires", (json_int_t)g->password_expiry,
	    "ticket_expires", (json_int_t)ticket_expiry,
	    "clipboard", s->pool->clipboard, "usbredir", s->pool->usbredir);
	if (s->pool->browser && g->websocket != NULL)
		grant_browser(conn, g->websocket, ticket);
	explicit_bzero(ticket, sizeof(ticket));
	broker->stats.grants++;
	broker_audit(s->user, s->source, "connect", s->pool->name, "ok",
	    "desktop %s, session %s", s->guest, id);
	g->done(conn, NULL, g->arg);
out:
	grant_free(g);
}

int
grant_new(struct session *s, const struct sockaddr *client, grant_cb done,
    void *arg)
{
	struct grant			*g;
	const struct conf_gateway	*gw;

	g = xcalloc(1, sizeof(*g));
	g->session = s->id;
	broker_random_password(g->password, sizeof(g->password));
	g->password_expiry = time(NULL) + broker->conf->password_lifetime;
	g->proxy = xstrdup(conf_proxy_for(broker->conf, client));
	gw = conf_gateway_for(broker->conf, client);
	if (gw->websocket != NULL)
		g->websocket = xstrdup(gw->websocket);
	g->done = done;
	g->arg = arg;
	if (virt_set_password(s->host->virt, s->guest, g->password,
	    g->password_expiry, VIRT_CONNECTED_KEEP, grant_password_set,
	    g) == -1) {
		grant_free(g);
		return -1;
	}
	return 0;
}

/* Appends "key=value\n" with newlines escaped as GKeyFile reads them. */
static void
grant_vv_line(char **buf, const char *key, const char *value)
{
	char		*old = *buf, *esc, *p;
	const char	*v;

	if (value == NULL)
		return;
	esc = p = xmalloc(strlen(value) * 2 + 1);
	for (v = value; *v != '\0'; v++) {
		if (*v == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (*v == '\\') {
			*p++ = '\\';
			*p++ = '\\';
		} else if (*v != '\r')
			*p++ = *v;
	}
	*p = '\0';
	xasprintf(buf, "%s%s=%s\n", old, key, esc);
	/* Each step's copy holds the SPICE password once it is in. */
	explicit_bzero(old, strlen(old));
	explicit_bzero(esc, strlen(esc));
	free(old);
	free(esc);
}

char *
grant_vv(json_t *conn)
{
	char	*buf = xstrdup("[virt-viewer]\n"), port[16];

#define VV_STR(key, field) \
	grant_vv_line(&buf, key, json_string_value(json_object_get(conn, field)))
	VV_STR("type", "type");
	VV_STR("host", "host");
	snprintf(port, sizeof(port), "%d", (int)json_integer_value(
	    json_object_get(conn, "tls_port")));
	grant_vv_line(&buf, "tls-port", port);
	VV_STR("password", "password");
	VV_STR("proxy", "proxy");
	VV_STR("ca", "ca");
	VV_STR("host-subject", "host_subject");
	VV_STR("title", "title");
	VV_STR("secure-channels", "secure_channels");
#undef VV_STR
	/* remote-viewer sets it on its SpiceSession: no USB channel, no menu. */
	if (json_is_false(json_object_get(conn, "usbredir")))
		grant_vv_line(&buf, "enable-usbredir", "0");
	grant_vv_line(&buf, "delete-this-file", "1");
	grant_vv_line(&buf, "toggle-fullscreen", "shift+f11");
	grant_vv_line(&buf, "release-cursor", "shift+f12");
	return buf;
}
