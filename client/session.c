/* SPDX-License-Identifier: ISC */
/*
 * PaprikaSession: one SPICE session to a desktop, set up from the broker's
 * connection: the ticket as host, through the gateway as HTTP proxy, TLS on
 * every channel with the SPICE CA and the host's certificate subject. An
 * https:// gateway is the client's own transport (tunnel.c, spice-gtk's
 * client-sockets), since GLib's would trust only the system's CAs. It
 * turns the main channel's events into three signals: "opened", "failed"
 * (a GError in words) and "closed" (the session ended after it opened).
 */
#include <string.h>
#include <unistd.h>

#include <spice-client.h>

#include "client.h"

struct _PaprikaSession {
	GObject		 parent;
	SpiceSession	*spice;
	SpiceChannel	*main;
	PaprikaTunnel	*tunnel;	/* an https:// gateway, or NULL */
	GError		*setup_error;	/* why the connection cannot be used */
	gboolean	 opened;
	gboolean	 done;		/* failed or closed was emitted */
};

/* A channel waiting for its tunnel. */
typedef struct {
	PaprikaSession	*session;
	SpiceChannel	*channel;
} SessionOpen;

/* The channels after main that QEMU always lists, for tunnel.c's opens ahead. */
static const gchar *const session_ahead[] = { "display", "inputs", "cursor", NULL };

enum { SIGNAL_OPENED, SIGNAL_FAILED, SIGNAL_CLOSED, SIGNAL_LAST };
static guint session_signals[SIGNAL_LAST];

G_DEFINE_TYPE(PaprikaSession, paprika_session, G_TYPE_OBJECT)

static void
paprika_session_dispose(GObject *obj)
{
	PaprikaSession *s = PAPRIKA_SESSION(obj);

	if (s->spice != NULL) {
		g_signal_handlers_disconnect_by_data(s->spice, s);
		if (s->main != NULL)
			g_signal_handlers_disconnect_by_data(s->main, s);
		spice_session_disconnect(s->spice);
	}
	if (s->tunnel != NULL)
		paprika_tunnel_close(s->tunnel);
	g_clear_object(&s->tunnel);
	g_clear_error(&s->setup_error);
	g_clear_object(&s->main);
	g_clear_object(&s->spice);
	G_OBJECT_CLASS(paprika_session_parent_class)->dispose(obj);
}

static void
paprika_session_class_init(PaprikaSessionClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = paprika_session_dispose;
	session_signals[SIGNAL_OPENED] = g_signal_new("opened",
	    G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
	    G_TYPE_NONE, 0);
	session_signals[SIGNAL_FAILED] = g_signal_new("failed",
	    G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
	    G_TYPE_NONE, 1, G_TYPE_ERROR);
	session_signals[SIGNAL_CLOSED] = g_signal_new("closed",
	    G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
	    G_TYPE_NONE, 0);
}

static void
paprika_session_init(PaprikaSession *s)
{
}

/* Why a channel event before the session opened means no desktop, in words. */
static GError *
session_failure(SpiceChannel *channel, SpiceChannelEvent event)
{
	const GError *cause = spice_channel_get_error(channel);
	const gchar *why = cause != NULL ? cause->message : "no reason given";

	switch (event) {
	case SPICE_CHANNEL_ERROR_CONNECT:
		return g_error_new(PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
		    "Cannot reach the desktop through the gateway: %s", why);
	case SPICE_CHANNEL_ERROR_TLS:
		return g_error_new(PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
		    "The desktop's TLS connection failed: %s", why);
	case SPICE_CHANNEL_ERROR_AUTH:
		return g_error_new(PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
		    "The desktop refused the connection's password: %s", why);
	default:
		return g_error_new(PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
		    "The connection to the desktop broke: %s", why);
	}
}

/* Emits "failed" with error (taken), unless the session already ended. */
static void
session_fail(PaprikaSession *s, GError *error)
{
	if (!s->done) {
		s->done = TRUE;
		g_signal_emit(s, session_signals[SIGNAL_FAILED], 0, error);
	}
	g_error_free(error);
}

static void
session_main_event(SpiceChannel *channel, SpiceChannelEvent event, gpointer data)
{
	PaprikaSession *s = data;

	if (s->done)
		return;
	switch (event) {
	case SPICE_CHANNEL_OPENED:
		s->opened = TRUE;
		g_signal_emit(s, session_signals[SIGNAL_OPENED], 0);
		break;
	case SPICE_CHANNEL_SWITCHING:
		break;
	case SPICE_CHANNEL_CLOSED:
		if (s->opened) {
			s->done = TRUE;
			g_signal_emit(s, session_signals[SIGNAL_CLOSED], 0);
		} else
			session_fail(s, session_failure(channel, SPICE_CHANNEL_ERROR_CONNECT));
		break;
	default:
		if (s->opened && event == SPICE_CHANNEL_ERROR_IO) {
			s->done = TRUE;
			g_signal_emit(s, session_signals[SIGNAL_CLOSED], 0);
		} else
			session_fail(s, session_failure(channel, event));
		break;
	}
}

/* A channel's tunnel is open (its socket goes to spice-gtk) or failed. */
static void
session_tunnel_ready(GObject *src, GAsyncResult *res, gpointer data)
{
	SessionOpen *o = data;
	GError *error = NULL;
	gint fd;

	fd = paprika_tunnel_open_finish(PAPRIKA_TUNNEL(src), res, &error);
	if (fd >= 0 && (o->session->done || !spice_channel_open_fd(o->channel, fd)))
		close(fd);
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		g_error_free(error);
	else if (error != NULL)
		session_fail(o->session, error);
	g_object_unref(o->channel);
	g_object_unref(o->session);
	g_free(o);
}

/* spice-gtk asks for a channel's socket (client-sockets): open a tunnel. */
static void
session_open_fd(SpiceChannel *channel, gint with_tls, gpointer data)
{
	PaprikaSession *s = data;
	SessionOpen *o = g_new0(SessionOpen, 1);
	gint type;

	g_object_get(channel, "channel-type", &type, NULL);
	o->session = g_object_ref(s);
	o->channel = g_object_ref(channel);
	paprika_tunnel_open_async(s->tunnel, spice_channel_type_to_string(type),
	    session_tunnel_ready, o);
}

static void
session_channel_new(SpiceSession *spice, SpiceChannel *channel, gpointer data)
{
	PaprikaSession *s = data;

	if (s->tunnel != NULL)
		g_signal_connect(channel, "open-fd", G_CALLBACK(session_open_fd), s);
	if (SPICE_IS_MAIN_CHANNEL(channel)) {
		/* spice_session_connect() connects the main channel. */
		if (s->main == NULL) {
			s->main = g_object_ref(channel);
			g_signal_connect(channel, "channel-event",
			    G_CALLBACK(session_main_event), s);
		}
		return;
	}
	/* The others the server lists are ours to connect. */
	spice_channel_connect(channel);
}

/*
 * A session for conn, not connected yet; gateway_ca: the CAs an https://
 * gateway is verified with (NULL: the system's); audio: open the audio
 * channels.
 */
PaprikaSession *
paprika_session_new(const PaprikaConnection *conn, GTlsDatabase *gateway_ca,
    gboolean audio)
{
	PaprikaSession *s = g_object_new(PAPRIKA_TYPE_SESSION, NULL);
	gchar *port = g_strdup_printf("%d", conn->tls_port);
	const gchar *secure[] = { "all", NULL };
	GByteArray *ca = NULL;

	s->spice = spice_session_new();
	g_object_set(s->spice,
	    "host", conn->host,
	    "tls-port", port,
	    "password", conn->password,
	    "secure-channels", secure,
	    "enable-audio", audio,
	    "enable-usbredir", FALSE,
	    NULL);
	if (conn->ca != NULL) {
		ca = g_byte_array_new();
		g_byte_array_append(ca, (const guint8 *)conn->ca, strlen(conn->ca));
		g_object_set(s->spice, "ca", ca, NULL);
		g_byte_array_unref(ca);
	}
	if (conn->host_subject != NULL)
		g_object_set(s->spice, "cert-subject", conn->host_subject, NULL);
	g_free(port);
	if (paprika_tunnel_wanted(conn->proxy)) {
		s->tunnel = paprika_tunnel_new(conn, gateway_ca, &s->setup_error);
		/* What every QEMU desktop has: opened ahead, while main links. */
		if (s->tunnel != NULL)
			paprika_tunnel_set_ahead(s->tunnel, session_ahead);
	} else
		g_object_set(s->spice, "proxy", conn->proxy, NULL);
	g_signal_connect(s->spice, "channel-new", G_CALLBACK(session_channel_new), s);
	return s;
}

/* The SpiceSession, for the display. */
gpointer
paprika_session_get_spice(PaprikaSession *s)
{
	return s->spice;
}

/* Connects; "failed" may come at once. */
void
paprika_session_connect(PaprikaSession *s)
{
	if (s->setup_error != NULL)
		session_fail(s, g_error_copy(s->setup_error));
	else if (s->tunnel != NULL) {
		/* Every channel's socket is ours: "open-fd", then a tunnel. */
		if (!spice_session_open_fd(s->spice, -1))
			session_fail(s, g_error_new(PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
			    "Cannot start the SPICE session"));
	} else if (!spice_session_connect(s->spice))
		session_fail(s, g_error_new(PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
		    "Cannot start the SPICE session"));
}

/* TRUE while the session's tunnels still close (after a disconnect). */
gboolean
paprika_session_closing(PaprikaSession *s)
{
	return s->tunnel != NULL && paprika_tunnel_relaying(s->tunnel);
}

/* Closes every channel and tunnel; no signal follows. */
void
paprika_session_disconnect(PaprikaSession *s)
{
	s->done = TRUE;
	if (s->tunnel != NULL)
		paprika_tunnel_close(s->tunnel);
	if (s->spice != NULL)
		spice_session_disconnect(s->spice);
}
