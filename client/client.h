/* SPDX-License-Identifier: ISC */
/*
 * paprika-client: the GTK thin client. Private header: the types the files
 * share and their prototypes, grouped by file.
 */
#ifndef PAPRIKA_CLIENT_H
#define PAPRIKA_CLIENT_H

#include <gtk/gtk.h>
#include <jansson.h>

/*
 * What went wrong, in the classes a user (and a script) can act on. The
 * values are the exit statuses of --headless.
 */
typedef enum {
	PAPRIKA_ERROR_FAILED = 1,	/* anything else */
	PAPRIKA_ERROR_LOGIN = 2,	/* wrong credentials, throttled, logged out */
	PAPRIKA_ERROR_BROKER = 3,	/* the broker cannot be reached or spoke nonsense */
	PAPRIKA_ERROR_DESKTOP = 4,	/* no desktop, or it cannot be had now */
	PAPRIKA_ERROR_SPICE = 5,	/* the gateway or the SPICE server failed us */
	PAPRIKA_ERROR_TIMEOUT = 6,	/* it took too long */
	PAPRIKA_ERROR_TOTP = 7,		/* the password is right: a code is needed */
} PaprikaError;

#define PAPRIKA_ERROR (paprika_error_quark())
GQuark paprika_error_quark(void);

/* Limits on what the broker may send us. */
#define CLIENT_MAX_REPLY	(1024 * 1024)
#define CLIENT_HTTP_TIMEOUT	20	/* seconds per socket operation */
#define CLIENT_CONNECT_WAIT	2	/* connect?wait=N while the guest starts */

/* Defaults of the [client] group. */
#define CLIENT_KIOSK_HOTKEY	"<Control><Alt>End"	/* the kiosk's menu */
#define CLIENT_RECONNECT_TIMEOUT 120	/* seconds of reconnecting before giving up */
#define CLIENT_RECONNECT_MAX	86400

/* What the user asked for: options over the config files. */
typedef struct {
	gchar	*broker_url;
	gchar	*ca_file;
	gchar	*user;
	gchar	*desktop;	/* pool id to connect to, or NULL */
	gboolean verbose;
	gboolean no_audio;
	gboolean kiosk;		/* full screen, no way out but the hotkey's menu */
	gboolean lock_broker;	/* the broker's address cannot be edited */
	gchar	*kiosk_hotkey;	/* a GTK accelerator: opens the kiosk's menu */
	gint	 reconnect_timeout; /* seconds; 0: back to the login at once */
	gboolean clipboard;	/* share the clipboard with the guest */
	gboolean usbredir;	/* USB redirection, with a device picker */
	gchar	*usb_auto_share; /* usbredir filter of devices shared at once, or NULL */
} ClientConfig;

/* The connection the broker hands out (POST .../connect, 200). */
typedef struct {
	gchar	*session;
	gchar	*host;		/* the gateway ticket */
	gint	 tls_port;
	gchar	*password;
	gchar	*proxy;
	gchar	*ca;		/* PEM, or NULL */
	gchar	*host_subject;	/* or NULL */
	gchar	*title;
	gboolean clipboard;	/* the pool lets clients share the clipboard */
	gboolean usbredir;	/* the pool lets clients pass USB devices */
} PaprikaConnection;

/* One desktop of GET /api/v1/desktops. */
typedef struct {
	gchar	*id;
	gchar	*title;
	gchar	*state;
	gchar	*reason;	/* or NULL */
	gboolean can_reset;	/* the user may reset it (the pool's user_reset) */
} PaprikaDesktop;

/* Progress of a starting desktop (POST .../connect, 202). */
typedef struct {
	gint	 progress;
	gchar	*step;
} PaprikaProgress;

/* main.c */
extern gboolean client_verbose;
void		 client_log(const gchar *fmt, ...) G_GNUC_PRINTF(1, 2);

/* config.c */
void		 config_load(ClientConfig *);
void		 config_remember_user(const gchar *);
void		 config_clear(ClientConfig *);

/* broker.c */
#define PAPRIKA_TYPE_BROKER (paprika_broker_get_type())
G_DECLARE_FINAL_TYPE(PaprikaBroker, paprika_broker, PAPRIKA, BROKER, GObject)

PaprikaBroker	*paprika_broker_new(const gchar *url, const gchar *ca_file, GError **);
const gchar	*paprika_broker_get_url(PaprikaBroker *);
GTlsDatabase	*paprika_broker_get_ca(PaprikaBroker *);
GTlsDatabase	*paprika_broker_system_ca(void);
gboolean	 paprika_broker_logged_in(PaprikaBroker *);
void		 paprika_broker_preconnect(PaprikaBroker *);
/* totp: the second factor's code (or a recovery code), NULL or "" when the
 * broker has not asked for one (PAPRIKA_ERROR_TOTP). */
gboolean	 paprika_broker_login(PaprikaBroker *, const gchar *user,
		     const gchar *password, const gchar *totp, GCancellable *,
		     GError **);
GPtrArray	*paprika_broker_desktops(PaprikaBroker *, GCancellable *, GError **);
PaprikaConnection *paprika_broker_connect(PaprikaBroker *, const gchar *id,
		     PaprikaProgress *, GCancellable *, GError **);
gboolean	 paprika_broker_reset(PaprikaBroker *, const gchar *id,
		     GCancellable *, GError **);
gboolean	 paprika_broker_logout(PaprikaBroker *, GCancellable *, GError **);
/* The same on a worker thread, for the window (brokerasync.c). */
void		 paprika_broker_login_async(PaprikaBroker *, const gchar *user,
		     const gchar *password, const gchar *totp, GCancellable *,
		     GAsyncReadyCallback, gpointer);
gboolean	 paprika_broker_login_finish(PaprikaBroker *, GAsyncResult *,
		     GError **);
void		 paprika_broker_desktops_async(PaprikaBroker *, GCancellable *,
		     GAsyncReadyCallback, gpointer);
GPtrArray	*paprika_broker_desktops_finish(PaprikaBroker *, GAsyncResult *,
		     GError **);
void		 paprika_broker_connect_async(PaprikaBroker *, const gchar *id,
		     GCancellable *, GAsyncReadyCallback, gpointer);
PaprikaConnection *paprika_broker_connect_finish(PaprikaBroker *,
		     GAsyncResult *, PaprikaProgress *, GError **);
void		 paprika_broker_reset_async(PaprikaBroker *, const gchar *id,
		     GCancellable *, GAsyncReadyCallback, gpointer);
gboolean	 paprika_broker_reset_finish(PaprikaBroker *, GAsyncResult *,
		     GError **);
void		 paprika_broker_logout_async(PaprikaBroker *, GCancellable *,
		     GAsyncReadyCallback, gpointer);
gboolean	 paprika_broker_logout_finish(PaprikaBroker *, GAsyncResult *,
		     GError **);
void		 paprika_connection_free(PaprikaConnection *);
/* Wipes and frees a password, token or code (NULL: nothing). */
void		 paprika_free_secret(gchar *);
void		 paprika_desktop_free(PaprikaDesktop *);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PaprikaConnection, paprika_connection_free)

/* session.c */
#define PAPRIKA_TYPE_SESSION (paprika_session_get_type())
G_DECLARE_FINAL_TYPE(PaprikaSession, paprika_session, PAPRIKA, SESSION, GObject)

PaprikaSession	*paprika_session_new(const PaprikaConnection *,
		     GTlsDatabase *gateway_ca, gboolean audio);
gpointer	 paprika_session_get_spice(PaprikaSession *);
void		 paprika_session_connect(PaprikaSession *);
void		 paprika_session_disconnect(PaprikaSession *);
gboolean	 paprika_session_closing(PaprikaSession *);

/* tunnel.c */
#define PAPRIKA_TYPE_TUNNEL (paprika_tunnel_get_type())
G_DECLARE_FINAL_TYPE(PaprikaTunnel, paprika_tunnel, PAPRIKA, TUNNEL, GObject)

gboolean	 paprika_tunnel_wanted(const gchar *proxy);
PaprikaTunnel	*paprika_tunnel_new(const PaprikaConnection *,
		     GTlsDatabase *gateway_ca, GError **);
void		 paprika_tunnel_open_async(PaprikaTunnel *, const gchar *channel,
		     GAsyncReadyCallback, gpointer);
gint		 paprika_tunnel_open_finish(PaprikaTunnel *, GAsyncResult *,
		     GError **);
void		 paprika_tunnel_set_ahead(PaprikaTunnel *, const gchar *const *);
void		 paprika_tunnel_close(PaprikaTunnel *);
gboolean	 paprika_tunnel_relaying(PaprikaTunnel *);

/* monitors.c */
#define PAPRIKA_TYPE_MONITORS (paprika_monitors_get_type())
G_DECLARE_FINAL_TYPE(PaprikaMonitors, paprika_monitors, PAPRIKA, MONITORS, GObject)

/* One monitor of the desktop: a display channel's monitor, in its surface. */
typedef struct {
	gint	 channel;	/* the display channel's id */
	gint	 id;		/* the monitor's id in that channel */
	gint	 x, y, width, height;
} PaprikaMonitor;

#define CLIENT_MAX_MONITORS	16	/* --monitor takes 0 to this - 1 */

PaprikaMonitors	*paprika_monitors_new(gpointer spice);
guint		 paprika_monitors_count(PaprikaMonitors *);
const PaprikaMonitor *paprika_monitors_get(PaprikaMonitors *, guint index);
gpointer	 paprika_monitors_channel(PaprikaMonitors *, const PaprikaMonitor *);

/* headless.c */
int		 headless_run(ClientConfig *, const gchar *screenshot,
		     const gchar *password_file, guint timeout, gboolean logout,
		     guint monitor, guint frames_seconds);

/* window.c */
#define PAPRIKA_TYPE_WINDOW (paprika_window_get_type())
G_DECLARE_FINAL_TYPE(PaprikaWindow, paprika_window, PAPRIKA, WINDOW, GtkApplicationWindow)

PaprikaWindow	*paprika_window_new(GtkApplication *, ClientConfig *);

#endif
