/* SPDX-License-Identifier: ISC */
/*
 * PaprikaWindow: the client's one window and the way through it. A stack
 * of pages: login, desktop picker (when the user has several), progress
 * while the guest starts, and the desktop itself (a SpiceDisplay). Log out
 * (the header bar's button, Ctrl+Alt+Q) and the end of the desktop's
 * session both come back to the login page. A connection lost after the
 * desktop showed is asked for again at the broker with backoff, on a
 * countdown page, until reconnect_timeout. In kiosk mode the window fills
 * the screen, cannot be closed, and its hotkey opens a small menu. The
 * clipboard is shared with the desktop, and USB devices can be passed to it
 * from a picker (the header bar's button, the kiosk's menu), when both the
 * [client] group and the desktop's pool allow it. A desktop with several
 * monitors gets a window for each further monitor (in kiosk mode full
 * screen, each on its own monitor of the display where there are enough);
 * a monitor the guest turns off closes its window. Where the desktop's pool lets its users
 * reset it (can_reset), Reset (the header bar's button, the kiosk's menu,
 * Ctrl+Alt+R) asks for confirmation and has the broker hard-reset the
 * guest; the SPICE connection stays and shows the reboot.
 */
#include <string.h>

#include <spice-client-gtk.h>

#include "client.h"
#include "windowpriv.h"

#define WINDOW_RETRY_FIRST	2	/* seconds before the first reconnect */
#define WINDOW_RETRY_MAX	30	/* the backoff stops doubling here */


G_DEFINE_TYPE(PaprikaWindow, paprika_window, GTK_TYPE_APPLICATION_WINDOW)

static void	window_connect_desktop(PaprikaWindow *, const PaprikaDesktop *);

/*
 * The USB picker makes sense with a SPICE session that redirects USB; Reset
 * with a SPICE session to a desktop the user may reset, once at a time.
 */
void
window_actions_update(PaprikaWindow *win)
{
	GAction *usb = g_action_map_lookup_action(G_ACTION_MAP(win), "usb");
	GAction *reset = g_action_map_lookup_action(G_ACTION_MAP(win), "reset");
	gboolean offer = win->can_reset && win->session != NULL;
	gboolean usb_on = win->usbredir && win->session != NULL;

	if (usb != NULL)
		g_simple_action_set_enabled(G_SIMPLE_ACTION(usb), usb_on);
	if (win->usb_button != NULL)
		gtk_widget_set_visible(win->usb_button, usb_on);
	if (win->kiosk_usb != NULL)
		gtk_widget_set_visible(win->kiosk_usb, usb_on);
	if (reset != NULL)
		g_simple_action_set_enabled(G_SIMPLE_ACTION(reset),
		    offer && !win->resetting);
	if (win->reset_button != NULL)
		gtk_widget_set_visible(win->reset_button, offer);
	if (win->kiosk_reset != NULL)
		gtk_widget_set_visible(win->kiosk_reset, offer);
}

/* Drops the SPICE session and its display, quietly. */
void
window_drop_session(PaprikaWindow *win)
{
	win->opened = FALSE;
	if (win->usb_dialog != NULL)
		gtk_widget_destroy(win->usb_dialog);
	if (win->reset_dialog != NULL)
		gtk_widget_destroy(win->reset_dialog);
	if (win->display != NULL) {
		/*
		 * Its focus out first, while it still has its session: unless
		 * it holds the keyboard grab (which a dialog over it, as the
		 * reset's, takes away) the display handles a focus out during
		 * its destroy, after dropping the session, with criticals.
		 */
		if (gtk_window_get_focus(GTK_WINDOW(win)) == win->display)
			gtk_window_set_focus(GTK_WINDOW(win), NULL);
		gtk_widget_destroy(win->display);
		win->display = NULL;
	}
	if (win->monitor_windows != NULL)
		g_hash_table_remove_all(win->monitor_windows);
	if (win->monitors != NULL) {
		g_signal_handlers_disconnect_by_data(win->monitors, win);
		g_clear_object(&win->monitors);
	}
	win->usbredir = FALSE;
	if (win->session != NULL) {
		g_signal_handlers_disconnect_by_data(win->session, win);
		g_signal_handlers_disconnect_by_data(
		    paprika_session_get_spice(win->session), win);
		paprika_session_disconnect(win->session);
		g_clear_object(&win->session);
	}
	window_actions_update(win);
}

/* Cancels whatever is under way and starts a fresh cancellable. */
void
window_cancel(PaprikaWindow *win)
{
	g_cancellable_cancel(win->cancel);
	g_object_unref(win->cancel);
	win->cancel = g_cancellable_new();
}

/* Stops reconnecting: no countdown, no try pending. */
void
window_stop_reconnect(PaprikaWindow *win)
{
	if (win->countdown_id != 0) {
		g_source_remove(win->countdown_id);
		win->countdown_id = 0;
	}
	win->lost_at = 0;
	win->attempts = 0;
}

static void
window_logout_done(GObject *src, GAsyncResult *res, gpointer data)
{
	GError *error = NULL;

	if (!paprika_broker_logout_finish(PAPRIKA_BROKER(src), res, &error)) {
		client_log("logout: %s", error->message);
		g_error_free(error);
	}
}

/* The keyboard to the field of the login page the user types into next. */
void
window_focus_login(PaprikaWindow *win)
{
	/* Enter logs in, even after a popover took the default away. */
	gtk_widget_grab_default(win->login_button);
	if (*gtk_entry_get_text(GTK_ENTRY(win->user_entry)) != '\0')
		gtk_widget_grab_focus(win->password_entry);
	else
		gtk_widget_grab_focus(win->user_entry);
}

/* The login page, with message (NULL: none) in plain words. */
static void
window_show_login(PaprikaWindow *win, const gchar *message)
{
	window_stop_reconnect(win);
	win->can_reset = FALSE;
	win->resetting = FALSE;
	window_drop_session(win);
	gtk_widget_set_sensitive(win->login_button, TRUE);
	gtk_widget_set_sensitive(win->url_entry, TRUE);
	gtk_widget_set_sensitive(win->user_entry, TRUE);
	gtk_widget_set_sensitive(win->password_entry, TRUE);
	window_spinner_stop(win);
	gtk_entry_set_text(GTK_ENTRY(win->password_entry), "");
	gtk_entry_set_text(GTK_ENTRY(win->totp_entry), "");
	gtk_widget_hide(win->totp_label);
	gtk_widget_hide(win->totp_entry);
	gtk_label_set_text(GTK_LABEL(win->login_message), message != NULL ? message : "");
	gtk_widget_set_visible(win->logout_button, FALSE);
	gtk_header_bar_set_subtitle(GTK_HEADER_BAR(win->header), NULL);
	gtk_window_set_title(GTK_WINDOW(win), "Paprika");
	gtk_stack_set_visible_child_name(GTK_STACK(win->stack), "login");
	window_focus_login(win);
	if (message != NULL)
		client_log("ui: login: %s", message);
	else
		client_log("ui: login");
}

/* Ends the login at the broker (in the background) and shows the login page. */
void
window_logout(PaprikaWindow *win, const gchar *message)
{
	window_cancel(win);
	window_stop_reconnect(win);
	window_drop_session(win);
	g_clear_pointer(&win->session_id, g_free);
	/* A kiosk is shared: the next user does not see who was there. */
	if (win->cfg->kiosk)
		gtk_entry_set_text(GTK_ENTRY(win->user_entry), "");
	if (win->broker != NULL && paprika_broker_logged_in(win->broker)) {
		client_log("ui: logging out");
		paprika_broker_logout_async(win->broker, NULL, window_logout_done, NULL);
	}
	window_show_login(win, message);
}

/* An error of a step: back to the login page, saying why. */
static void
window_failed(PaprikaWindow *win, GError *error)
{
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	window_logout(win, error->message);
}

static void
window_session_opened(PaprikaSession *s, gpointer data)
{
	PaprikaWindow *win = data;

	win->opened = TRUE;
	if (win->lost_at != 0)
		client_log("ui: reconnected to %s (session %s) after %.1f s, try %u",
		    win->desktop_id, win->session_id != NULL ? win->session_id : "?",
		    (g_get_monotonic_time() - win->lost_at) / (gdouble)G_USEC_PER_SEC,
		    win->attempts);
	window_stop_reconnect(win);
	gtk_stack_set_visible_child_name(GTK_STACK(win->stack), "desktop");
	if (win->display != NULL)
		gtk_widget_grab_focus(win->display);
	client_log("ui: desktop %s", win->desktop_id);
	if (win->can_reset)
		client_log("ui: reset offered (Ctrl+Alt+R)");
}

/* The countdown page, saying why the connection is gone. */
static void
window_show_countdown(PaprikaWindow *win, const gchar *why)
{
	gchar *text;

	if (win->countdown > 0)
		text = g_strdup_printf("Connection lost. Reconnecting in %d s…",
		    win->countdown);
	else
		text = g_strdup("Connection lost. Reconnecting…");
	gtk_label_set_text(GTK_LABEL(win->reconnect_label), text);
	g_free(text);
	if (why != NULL)
		gtk_label_set_text(GTK_LABEL(win->reconnect_reason), why);
	gtk_stack_set_visible_child_name(GTK_STACK(win->stack), "reconnect");
}

static gboolean
window_countdown_tick(gpointer data)
{
	PaprikaWindow *win = data;

	if (--win->countdown > 0) {
		window_show_countdown(win, NULL);
		return G_SOURCE_CONTINUE;
	}
	win->countdown_id = 0;
	window_reconnect_now(win);
	return G_SOURCE_REMOVE;
}

/*
 * The next try after why: a countdown of the current backoff, or the login
 * page once reconnect_timeout has passed since the connection was lost.
 */
static void
window_retry(PaprikaWindow *win, const gchar *why)
{
	gint64 left;
	gchar *msg;

	window_drop_session(win);
	left = win->cfg->reconnect_timeout -
	    (g_get_monotonic_time() - win->lost_at) / G_USEC_PER_SEC;
	if (left <= 0) {
		client_log("ui: reconnecting gave up after %d s: %s",
		    win->cfg->reconnect_timeout, why);
		msg = g_strdup_printf("The connection to the desktop was lost and "
		    "could not be restored: %s", why);
		window_logout(win, msg);
		g_free(msg);
		return;
	}
	win->countdown = (gint)MIN(win->retry_delay, left);
	win->retry_delay = MIN(win->retry_delay * 2, WINDOW_RETRY_MAX);
	client_log("ui: reconnecting in %d s: %s", win->countdown, why);
	window_show_countdown(win, why);
	if (win->countdown_id != 0)
		g_source_remove(win->countdown_id);
	win->countdown_id = g_timeout_add(1000, window_countdown_tick, win);
}

/*
 * The connection to a desktop that showed is gone (the network, the
 * gateway): reconnect to the same session, or back to the login page when
 * reconnecting is off.
 */
static void
window_lost(PaprikaWindow *win, const gchar *why)
{
	if (win->lost_at == 0) {
		if (win->cfg->reconnect_timeout == 0 || win->desktop_id == NULL ||
		    win->broker == NULL || !paprika_broker_logged_in(win->broker)) {
			window_logout(win, why);
			return;
		}
		client_log("ui: connection lost: %s", why);
		win->lost_at = g_get_monotonic_time();
		win->retry_delay = WINDOW_RETRY_FIRST;
		win->attempts = 0;
	}
	window_retry(win, why);
}

typedef struct {
	PaprikaWindow	*win;
	PaprikaSession	*session;
	gchar		*message;
} WindowEnd;

/*
 * Leaves the session from the main loop, not from inside its own signal;
 * unless the window has moved on to another session (or none) since.
 */
static gboolean
window_session_end(gpointer data)
{
	WindowEnd *e = data;
	PaprikaWindow *win = e->win;

	if (win->session == e->session) {
		if (win->opened || win->lost_at != 0)
			window_lost(win, e->message);
		else
			window_logout(win, e->message);
	}
	g_object_unref(e->session);
	g_object_unref(win);
	g_free(e->message);
	g_free(e);
	return G_SOURCE_REMOVE;
}

static void
window_session_later(PaprikaWindow *win, const gchar *message)
{
	WindowEnd *e = g_new0(WindowEnd, 1);

	g_signal_handlers_disconnect_by_data(win->session, win);
	e->win = g_object_ref(win);
	e->session = g_object_ref(win->session);
	e->message = g_strdup(message);
	g_idle_add(window_session_end, e);
}

static void
window_session_failed(PaprikaSession *s, GError *error, gpointer data)
{
	window_session_later(data, error->message);
}

static void
window_session_closed(PaprikaSession *s, gpointer data)
{
	window_session_later(data, "The connection to the desktop was closed.");
}

/* The desktop is ready: open SPICE through the gateway and show it. */
static void
window_start_session(PaprikaWindow *win, PaprikaConnection *conn)
{
	SpiceSession *spice;

	window_drop_session(win);
	gtk_label_set_text(GTK_LABEL(win->progress_step), "connecting to the desktop");
	gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(win->progress_bar), 1.0);
	if (win->lost_at == 0) {
		g_free(win->session_id);
		win->session_id = g_strdup(conn->session);
	}
	client_log("ui: connecting to %s (session %s) through %s", win->desktop_id,
	    conn->session != NULL ? conn->session : "?", conn->proxy);
	win->opened = FALSE;
	win->session = paprika_session_new(conn, paprika_broker_get_ca(win->broker),
	    !win->cfg->no_audio);
	spice = paprika_session_get_spice(win->session);
	g_object_set(spice_gtk_session_get(spice), "auto-clipboard",
	    win->cfg->clipboard && conn->clipboard, NULL);
	win->usbredir = win->cfg->usbredir && conn->usbredir;
	if (win->usbredir)
		window_usb_setup(win, spice);
	window_actions_update(win);
	window_log_policy(win, conn);
	win->monitors = paprika_monitors_new(spice);
	g_signal_connect(win->monitors, "changed",
	    G_CALLBACK(window_monitors_changed), win);
	/* The display comes with its channel: the mouse mode is known by then. */
	g_signal_connect(spice, "channel-new", G_CALLBACK(window_channel_new), win);
	g_signal_connect(win->session, "opened", G_CALLBACK(window_session_opened), win);
	g_signal_connect(win->session, "failed", G_CALLBACK(window_session_failed), win);
	g_signal_connect(win->session, "closed", G_CALLBACK(window_session_closed), win);
	gtk_window_set_title(GTK_WINDOW(win), conn->title);
	gtk_header_bar_set_subtitle(GTK_HEADER_BAR(win->header), conn->title);
	paprika_session_connect(win->session);
}

static void
window_connect_done(GObject *src, GAsyncResult *res, gpointer data)
{
	PaprikaWindow *win = data;
	PaprikaProgress progress = { 0 };
	PaprikaConnection *conn;
	GError *error = NULL;
	gchar *pct;

	conn = paprika_broker_connect_finish(PAPRIKA_BROKER(src), res, &progress, &error);
	if (error != NULL)
		window_failed(win, error);
	else if (conn != NULL)
		window_start_session(win, conn);
	else {
		/* Still starting: show how far, and ask again (the broker holds it). */
		gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(win->progress_bar),
		    progress.progress / 100.0);
		pct = g_strdup_printf("%d%%", progress.progress);
		gtk_progress_bar_set_text(GTK_PROGRESS_BAR(win->progress_bar), pct);
		g_free(pct);
		gtk_label_set_text(GTK_LABEL(win->progress_step), progress.step);
		client_log("ui: starting: %d%% %s", progress.progress, progress.step);
		paprika_broker_connect_async(win->broker, win->desktop_id, win->cancel,
		    window_connect_done, g_object_ref(win));
	}
	g_clear_error(&error);
	paprika_connection_free(conn);
	g_free(progress.step);
	g_object_unref(win);
}

/*
 * The broker's answer to a reconnect: the same session again, or its end
 * (a login gone, another session), or a failure to try again later.
 */
static void
window_reconnect_done(GObject *src, GAsyncResult *res, gpointer data)
{
	PaprikaWindow *win = data;
	PaprikaProgress progress = { 0 };
	PaprikaConnection *conn;
	GError *error = NULL;

	conn = paprika_broker_connect_finish(PAPRIKA_BROKER(src), res, &progress, &error);
	if (error != NULL) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			;
		else if (g_error_matches(error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN)) {
			client_log("ui: reconnecting: the login is gone");
			window_logout(win, error->message);
		} else
			window_retry(win, error->message);
	} else if (conn == NULL ||
	    (win->session_id != NULL && g_strcmp0(conn->session, win->session_id) != 0)) {
		/* A desktop starting, or another session: ours has ended. */
		client_log("ui: reconnecting: session %s has ended", win->session_id);
		window_logout(win, "The desktop session has ended.");
	} else {
		window_show_countdown(win, NULL);
		window_start_session(win, conn);
	}
	g_clear_error(&error);
	paprika_connection_free(conn);
	g_free(progress.step);
	g_object_unref(win);
}

/* Asks the broker for a fresh connection to the same desktop. */
void
window_reconnect_now(PaprikaWindow *win)
{
	if (win->lost_at == 0) {
		win->lost_at = g_get_monotonic_time();
		win->retry_delay = WINDOW_RETRY_FIRST;
		win->attempts = 0;
	}
	win->countdown = 0;
	win->attempts++;
	window_show_countdown(win, NULL);
	client_log("ui: reconnecting to %s, try %u", win->desktop_id, win->attempts);
	paprika_broker_connect_async(win->broker, win->desktop_id, win->cancel,
	    window_reconnect_done, g_object_ref(win));
}

static void
window_connect_desktop(PaprikaWindow *win, const PaprikaDesktop *d)
{
	gchar *title;

	g_free(win->desktop_id);
	win->desktop_id = g_strdup(d->id);
	win->can_reset = d->can_reset;
	title = g_strdup_printf("Starting %s…", d->title);
	gtk_label_set_text(GTK_LABEL(win->progress_title), title);
	g_free(title);
	gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(win->progress_bar), 0.0);
	gtk_progress_bar_set_text(GTK_PROGRESS_BAR(win->progress_bar), "0%");
	gtk_label_set_text(GTK_LABEL(win->progress_step), "asking the broker");
	gtk_stack_set_visible_child_name(GTK_STACK(win->stack), "progress");
	client_log("ui: progress: connecting to %s", d->id);
	paprika_broker_connect_async(win->broker, d->id, win->cancel,
	    window_connect_done, g_object_ref(win));
}

void
window_desktop_activated(GtkListBox *box, GtkListBoxRow *row, gpointer data)
{
	PaprikaWindow *win = data;
	gint i = gtk_list_box_row_get_index(row);

	if (win->desktops != NULL && i >= 0 && (guint)i < win->desktops->len)
		window_connect_desktop(win, g_ptr_array_index(win->desktops, i));
}

/* The picker: one row per desktop, its state in words. */
static void
window_show_desktops(PaprikaWindow *win)
{
	GList *rows, *l;
	GString *names = g_string_new(NULL);
	guint i;

	rows = gtk_container_get_children(GTK_CONTAINER(win->desktop_list));
	for (l = rows; l != NULL; l = l->next)
		gtk_widget_destroy(l->data);
	g_list_free(rows);
	for (i = 0; i < win->desktops->len; i++) {
		const PaprikaDesktop *d = g_ptr_array_index(win->desktops, i);
		GtkWidget *row, *title, *state;
		gchar *markup;

		row = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
		g_object_set(row, "margin", 10, NULL);
		markup = g_markup_printf_escaped("<b>%s</b>", d->title);
		title = gtk_label_new(NULL);
		gtk_label_set_markup(GTK_LABEL(title), markup);
		g_free(markup);
		gtk_label_set_xalign(GTK_LABEL(title), 0);
		state = gtk_label_new(d->reason != NULL ? d->reason : d->state);
		gtk_label_set_xalign(GTK_LABEL(state), 0);
		gtk_style_context_add_class(gtk_widget_get_style_context(state), "dim-label");
		gtk_container_add(GTK_CONTAINER(row), title);
		gtk_container_add(GTK_CONTAINER(row), state);
		gtk_widget_show_all(row);
		gtk_list_box_insert(GTK_LIST_BOX(win->desktop_list), row, -1);
		g_string_append_printf(names, "%s%s", i ? ", " : "", d->id);
	}
	gtk_stack_set_visible_child_name(GTK_STACK(win->stack), "desktops");
	gtk_widget_grab_focus(win->desktop_list);
	client_log("ui: desktops: %s", names->str);
	g_string_free(names, TRUE);
}

static void
window_desktops_done(GObject *src, GAsyncResult *res, gpointer data)
{
	PaprikaWindow *win = data;
	GError *error = NULL;
	GPtrArray *list;
	const PaprikaDesktop *d = NULL;
	guint i;

	list = paprika_broker_desktops_finish(PAPRIKA_BROKER(src), res, &error);
	if (list == NULL) {
		window_failed(win, error);
		g_error_free(error);
		g_object_unref(win);
		return;
	}
	g_clear_pointer(&win->desktops, g_ptr_array_unref);
	win->desktops = list;
	gtk_widget_set_visible(win->logout_button, TRUE);
	for (i = 0; win->cfg->desktop != NULL && i < list->len; i++)
		if (strcmp(((PaprikaDesktop *)g_ptr_array_index(list, i))->id,
		    win->cfg->desktop) == 0)
			d = g_ptr_array_index(list, i);
	if (d == NULL && list->len == 1)
		d = g_ptr_array_index(list, 0);
	if (d != NULL)
		window_connect_desktop(win, d);
	else
		window_show_desktops(win);
	g_object_unref(win);
}

/* The password was right: the login page again, the password kept, with
 * the field for the second factor's code. */
static void
window_ask_totp(PaprikaWindow *win, const gchar *message)
{
	gtk_widget_set_sensitive(win->login_button, TRUE);
	gtk_widget_set_sensitive(win->url_entry, TRUE);
	gtk_widget_set_sensitive(win->user_entry, TRUE);
	gtk_widget_set_sensitive(win->password_entry, TRUE);
	window_spinner_stop(win);
	gtk_entry_set_text(GTK_ENTRY(win->totp_entry), "");
	gtk_widget_show(win->totp_label);
	gtk_widget_show(win->totp_entry);
	gtk_label_set_text(GTK_LABEL(win->login_message), message);
	gtk_widget_grab_default(win->login_button);
	gtk_widget_grab_focus(win->totp_entry);
	client_log("ui: the broker asks for a second factor");
}

static void
window_login_done(GObject *src, GAsyncResult *res, gpointer data)
{
	PaprikaWindow *win = data;
	GError *error = NULL;

	if (!paprika_broker_login_finish(PAPRIKA_BROKER(src), res, &error)) {
		if (g_error_matches(error, PAPRIKA_ERROR, PAPRIKA_ERROR_TOTP))
			window_ask_totp(win, error->message);
		else if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			window_show_login(win, error->message);
		g_error_free(error);
		g_object_unref(win);
		return;
	}
	/* Stopped as soon as the login is done (window_spinner_stop). */
	window_spinner_stop(win);
	if (!win->cfg->kiosk)
		config_remember_user(gtk_entry_get_text(GTK_ENTRY(win->user_entry)));
	client_log("ui: logged in as %s", gtk_entry_get_text(GTK_ENTRY(win->user_entry)));
	paprika_broker_desktops_async(win->broker, win->cancel, window_desktops_done,
	    g_object_ref(win));
	g_object_unref(win);
}

/* The broker of the address the login page shows, made when it changed. */
static PaprikaBroker *
window_broker(PaprikaWindow *win, GError **error)
{
	const gchar *url = gtk_entry_get_text(GTK_ENTRY(win->url_entry));

	if (win->broker == NULL ||
	    strcmp(paprika_broker_get_url(win->broker), url) != 0) {
		g_clear_object(&win->broker);
		win->broker = paprika_broker_new(url, win->cfg->ca_file, error);
	}
	return win->broker;
}

/*
 * While the user types: the broker's TLS set up (the backend loaded, the
 * CA read) and a connection opened ahead, so that Enter costs the login's
 * round trip only. Whatever fails here, the login reports.
 */
static void
window_warm(PaprikaWindow *win)
{
	if (*gtk_entry_get_text(GTK_ENTRY(win->url_entry)) == '\0' ||
	    !gtk_widget_get_sensitive(win->login_button))
		return;
	if (window_broker(win, NULL) != NULL)
		paprika_broker_preconnect(win->broker);
}

static gboolean
window_warm_idle(gpointer data)
{
	window_warm(data);
	g_object_unref(data);
	return G_SOURCE_REMOVE;
}

static void
window_password_changed(GtkEditable *e, gpointer data)
{
	if (*gtk_entry_get_text(GTK_ENTRY(e)) != '\0')
		window_warm(data);
}

void
window_login_clicked(GtkWidget *w, gpointer data)
{
	PaprikaWindow *win = data;
	const gchar *url = gtk_entry_get_text(GTK_ENTRY(win->url_entry));
	const gchar *user = gtk_entry_get_text(GTK_ENTRY(win->user_entry));
	const gchar *password = gtk_entry_get_text(GTK_ENTRY(win->password_entry));
	GError *error = NULL;

	if (!gtk_widget_get_sensitive(win->login_button))
		return;
	if (*user == '\0' || *password == '\0') {
		window_show_login(win, "Type your user name and password.");
		return;
	}
	if (window_broker(win, &error) == NULL) {
		window_show_login(win, error->message);
		g_error_free(error);
		return;
	}
	window_cancel(win);
	gtk_widget_set_sensitive(win->login_button, FALSE);
	gtk_widget_set_sensitive(win->url_entry, FALSE);
	gtk_widget_set_sensitive(win->user_entry, FALSE);
	gtk_widget_set_sensitive(win->password_entry, FALSE);
	window_spinner_start(win);
	gtk_label_set_text(GTK_LABEL(win->login_message), "");
	client_log("ui: logging in to %s as %s", url, user);
	paprika_broker_login_async(win->broker, user, password,
	    gtk_widget_get_visible(win->totp_entry) ?
	    gtk_entry_get_text(GTK_ENTRY(win->totp_entry)) : NULL, win->cancel,
	    window_login_done, g_object_ref(win));
}

/*
 * The window's first draw: the start-up's end (--verbose says when). The
 * broker's TLS is set up after it, not before, so the page shows first.
 */
static gboolean
window_first_draw(GtkWidget *w, cairo_t *cr, gpointer data)
{
	g_signal_handlers_disconnect_by_func(w, window_first_draw, data);
	client_log("ui: window drawn");
	g_idle_add(window_warm_idle, g_object_ref(w));
	return FALSE;
}

static void
paprika_window_dispose(GObject *obj)
{
	PaprikaWindow *win = PAPRIKA_WINDOW(obj);

	if (win->cancel != NULL)
		g_cancellable_cancel(win->cancel);
	window_stop_reconnect(win);
	window_drop_session(win);
	/* Closing the window ends the login: the desktop goes back to its pool. */
	if (win->broker != NULL && paprika_broker_logged_in(win->broker))
		paprika_broker_logout(win->broker, NULL, NULL);
	g_clear_object(&win->broker);
	g_clear_object(&win->cancel);
	g_clear_pointer(&win->desktops, g_ptr_array_unref);
	g_clear_pointer(&win->desktop_id, g_free);
	g_clear_pointer(&win->session_id, g_free);
	g_clear_pointer(&win->monitor_windows, g_hash_table_unref);
	G_OBJECT_CLASS(paprika_window_parent_class)->dispose(obj);
}

static void
paprika_window_class_init(PaprikaWindowClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = paprika_window_dispose;
}

static void
paprika_window_init(PaprikaWindow *win)
{
	win->cancel = g_cancellable_new();
	win->monitor_windows = g_hash_table_new_full(NULL, NULL, NULL,
	    (GDestroyNotify)gtk_widget_destroy);
}

PaprikaWindow *
paprika_window_new(GtkApplication *app, ClientConfig *cfg)
{
	static const GActionEntry actions[] = {
		{ "logout", window_logout_activated, NULL, NULL, NULL, { 0 } },
		{ "reconnect", window_reconnect_activated, NULL, NULL, NULL, { 0 } },
		{ "send-cad", window_send_cad_activated, NULL, NULL, NULL, { 0 } },
		{ "kiosk-menu", window_kiosk_menu_activated, NULL, NULL, NULL, { 0 } },
		{ "usb", window_usb_activated, NULL, NULL, NULL, { 0 } },
		{ "reset", window_reset_activated, NULL, NULL, NULL, { 0 } },
	};
	static const gchar *logout_accels[] = { "<Control><Alt>q", NULL };
	static const gchar *reset_accels[] = { "<Control><Alt>r", NULL };
	PaprikaWindow *win;
	GtkWidget *vbox;

	win = g_object_new(PAPRIKA_TYPE_WINDOW, "application", app, NULL);
	win->cfg = cfg;
	gtk_window_set_title(GTK_WINDOW(win), "Paprika");
	gtk_window_set_default_size(GTK_WINDOW(win), 1024, 768);
	g_action_map_add_action_entries(G_ACTION_MAP(win), actions,
	    G_N_ELEMENTS(actions), win);
	gtk_application_set_accels_for_action(app, "win.logout", logout_accels);
	gtk_application_set_accels_for_action(app, "win.reset", reset_accels);

	vbox = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
	win->header = gtk_header_bar_new();
	gtk_header_bar_set_title(GTK_HEADER_BAR(win->header), "Paprika");
	win->logout_button = gtk_button_new_with_mnemonic("Log _out");
	gtk_widget_set_tooltip_text(win->logout_button,
	    "End the session and log out (Ctrl+Alt+Q)");
	gtk_actionable_set_action_name(GTK_ACTIONABLE(win->logout_button), "win.logout");
	gtk_header_bar_pack_end(GTK_HEADER_BAR(win->header), win->logout_button);
	win->usb_button = gtk_button_new_with_mnemonic("_USB");
	gtk_widget_set_tooltip_text(win->usb_button,
	    "Pass USB devices to the desktop");
	gtk_actionable_set_action_name(GTK_ACTIONABLE(win->usb_button), "win.usb");
	/* Shown only where the session redirects USB (window_actions_update). */
	gtk_widget_set_no_show_all(win->usb_button, TRUE);
	gtk_header_bar_pack_end(GTK_HEADER_BAR(win->header), win->usb_button);
	/* No mnemonic: Alt+letter belongs to the desktop. */
	win->reset_button = gtk_button_new_with_label("Reset");
	gtk_widget_set_tooltip_text(win->reset_button,
	    "Reset the desktop, like a PC's reset button (Ctrl+Alt+R)");
	gtk_style_context_add_class(gtk_widget_get_style_context(win->reset_button),
	    "destructive-action");
	gtk_actionable_set_action_name(GTK_ACTIONABLE(win->reset_button), "win.reset");
	gtk_widget_set_no_show_all(win->reset_button, TRUE);
	gtk_header_bar_pack_start(GTK_HEADER_BAR(win->header), win->reset_button);
	gtk_container_add(GTK_CONTAINER(vbox), win->header);

	win->stack = gtk_stack_new();
	gtk_widget_set_vexpand(win->stack, TRUE);
	gtk_stack_add_named(GTK_STACK(win->stack), window_login_page(win), "login");
	gtk_stack_add_named(GTK_STACK(win->stack), window_desktops_page(win), "desktops");
	gtk_stack_add_named(GTK_STACK(win->stack), window_progress_page(win), "progress");
	win->display_box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
	gtk_stack_add_named(GTK_STACK(win->stack), win->display_box, "desktop");
	gtk_stack_add_named(GTK_STACK(win->stack), window_reconnect_page(win), "reconnect");
	gtk_container_add(GTK_CONTAINER(vbox), win->stack);
	gtk_container_add(GTK_CONTAINER(win), vbox);
	gtk_widget_show_all(vbox);
	if (cfg->lock_broker) {
		gtk_editable_set_editable(GTK_EDITABLE(win->url_entry), FALSE);
		gtk_widget_set_can_focus(win->url_entry, FALSE);
		gtk_widget_set_tooltip_text(win->url_entry, "Set by the administrator");
	}
	if (cfg->kiosk)
		window_kiosk(win, app);
	gtk_widget_grab_default(win->login_button);
	window_show_login(win, NULL);
	g_signal_connect_after(win, "draw", G_CALLBACK(window_first_draw), NULL);
	g_signal_connect(win->password_entry, "changed",
	    G_CALLBACK(window_password_changed), win);
	return win;
}
