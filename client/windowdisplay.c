/* SPDX-License-Identifier: ISC */
/*
 * The desktop's displays in PaprikaWindow: the main one in the window,
 * a window for each further monitor the guest turns on, and USB
 * redirection set up on the SPICE session.
 */
#include <string.h>

#include <spice-client-gtk.h>

#include "client.h"
#include "windowpriv.h"

/*
 * A display on the screen grabs the keyboard while it has the pointer, so
 * that the keyboard's combinations (Ctrl+Alt+Del) go to the guest. Only
 * from then: spice-gtk tries the grab as the property is set, asserts that
 * the display is its window's focus and warns when its window cannot be
 * seen yet, once another display of the session has the keyboard and the
 * pointer, as when a second monitor's window opens.
 */
static void
window_display_grab(GtkWidget *display)
{
	gtk_widget_grab_focus(display);
	g_object_set(display, "grab-keyboard", TRUE, NULL);
}

static gboolean
window_display_toplevel_mapped(GtkWidget *top, GdkEvent *event, gpointer display)
{
	g_signal_handlers_disconnect_by_func(top, window_display_toplevel_mapped,
	    display);
	window_display_grab(display);
	return GDK_EVENT_PROPAGATE;
}

/* Mapped: grabs at once in a window on the screen, else once it is. */
static void
window_display_mapped(GtkWidget *display, gpointer data)
{
	GtkWidget *top = gtk_widget_get_toplevel(display);

	g_signal_handlers_disconnect_by_func(display, window_display_mapped, data);
	if (gdk_window_is_viewable(gtk_widget_get_window(display)))
		window_display_grab(display);
	else
		g_signal_connect_object(top, "map-event",
		    G_CALLBACK(window_display_toplevel_mapped), display, 0);
}

/* A SpiceDisplay of one monitor of the desktop, set up as the client shows it. */
static GtkWidget *
window_display_new(SpiceSession *spice, gint channel, gint monitor)
{
	GtkWidget *display;

	/* Not grabbing before it is on the screen (spice-gtk's default). */
	display = g_object_new(SPICE_TYPE_DISPLAY, "session", spice,
	    "channel-id", channel, "monitor-id", monitor, "grab-keyboard", FALSE,
	    NULL);
	g_signal_connect(display, "map", G_CALLBACK(window_display_mapped), NULL);
	/* Pixel for pixel when the guest fits the window, scaled down when not. */
	g_object_set(display, "scaling", TRUE, "only-downscale", TRUE,
	    "resize-guest", FALSE, NULL);
	gtk_widget_set_hexpand(display, TRUE);
	gtk_widget_set_vexpand(display, TRUE);
	return display;
}

/* The first display channel is there: show its first monitor in the window. */
void
window_channel_new(SpiceSession *spice, SpiceChannel *channel, gpointer data)
{
	PaprikaWindow *win = data;
	gint id;

	if (!SPICE_IS_DISPLAY_CHANNEL(channel) || win->display != NULL)
		return;
	g_object_get(channel, "channel-id", &id, NULL);
	if (id != 0)
		return;
	win->display = window_display_new(spice, 0, 0);
	gtk_container_add(GTK_CONTAINER(win->display_box), win->display);
	gtk_widget_show(win->display);
	gtk_widget_grab_focus(win->display);
	client_log("ui: display %d", id);
}

/*
 * USB redirection for spice: the channels, and the devices usb_auto_share
 * matches passed at once (and when plugged in).
 */
void
window_usb_setup(PaprikaWindow *win, SpiceSession *spice)
{
	SpiceUsbDeviceManager *usb;
	GError *error = NULL;

	g_object_set(spice, "enable-usbredir", TRUE, NULL);
	if (win->cfg->usb_auto_share == NULL)
		return;
	usb = spice_usb_device_manager_get(spice, &error);
	if (usb == NULL) {
		client_log("usb: %s", error->message);
		g_error_free(error);
		return;
	}
	/*
	 * The manager's own auto-connect, not SpiceGtkSession's auto-usbredir:
	 * that one also asks the desktop's session manager over D-Bus to stop
	 * automounting, and warns where there is none (a kiosk).
	 */
	g_object_set(usb, "auto-connect-filter", win->cfg->usb_auto_share,
	    "auto-connect", TRUE, NULL);
	client_log("usb: sharing at once: %s", win->cfg->usb_auto_share);
}

/*
 * What the session shares, as spice-gtk and the widgets now have it: the
 * client's [client] settings and the pool's policy together.
 */
void
window_log_policy(PaprikaWindow *win, const PaprikaConnection *conn)
{
	SpiceSession *spice = paprika_session_get_spice(win->session);
	gboolean clipboard, usb;

	g_object_get(spice_gtk_session_get(spice), "auto-clipboard", &clipboard, NULL);
	g_object_get(spice, "enable-usbredir", &usb, NULL);
	client_log("ui: clipboard %s, USB redirection %s, USB control %s "
	    "(client.conf: clipboard %s, usbredir %s; pool: clipboard %s, usbredir %s)",
	    clipboard ? "shared" : "not shared", usb ? "on" : "off",
	    gtk_widget_get_visible(win->cfg->kiosk ? win->kiosk_usb : win->usb_button) ?
	    "shown" : "hidden",
	    win->cfg->clipboard ? "yes" : "no", win->cfg->usbredir ? "yes" : "no",
	    conn->clipboard ? "yes" : "no", conn->usbredir ? "yes" : "no");
}

/* A window of its own is never closed by the user, only by the guest. */
static gboolean
window_monitor_delete(GtkWidget *w, GdkEvent *event, gpointer data)
{
	client_log("ui: %s: closing refused (the desktop turns its monitors off)",
	    gtk_window_get_title(GTK_WINDOW(w)));
	return GDK_EVENT_STOP;
}

/*
 * Names and places the window of the desktop's monitor number index (from
 * 0); in kiosk mode full screen on monitor index of the display, where the
 * display has one.
 */
static void
window_monitor_place(PaprikaWindow *win, GtkWidget *w, guint index)
{
	GdkDisplay *gdisplay = gtk_widget_get_display(GTK_WIDGET(win));
	GdkMonitor *gmon;
	GdkRectangle geo;
	gchar *title;

	title = g_strdup_printf("%s: monitor %u", gtk_window_get_title(GTK_WINDOW(win)),
	    index + 1);
	gtk_window_set_title(GTK_WINDOW(w), title);
	g_free(title);
	if (!win->cfg->kiosk || (gint)index >= gdk_display_get_n_monitors(gdisplay))
		return;
	gmon = gdk_display_get_monitor(gdisplay, (gint)index);
	gdk_monitor_get_geometry(gmon, &geo);
	gtk_window_resize(GTK_WINDOW(w), geo.width, geo.height);
	gtk_window_move(GTK_WINDOW(w), geo.x, geo.y);
	gtk_window_fullscreen_on_monitor(GTK_WINDOW(w),
	    gtk_widget_get_screen(GTK_WIDGET(win)), (gint)index);
}

/* A window of its own for a monitor of the desktop. */
static GtkWidget *
window_monitor_open(PaprikaWindow *win, const PaprikaMonitor *mon)
{
	GtkWidget *w, *display;

	w = gtk_window_new(GTK_WINDOW_TOPLEVEL);
	gtk_window_set_default_size(GTK_WINDOW(w), mon->width, mon->height);
	display = window_display_new(paprika_session_get_spice(win->session),
	    mon->channel, mon->id);
	gtk_container_add(GTK_CONTAINER(w), display);
	/* The display is its window's focus, as a keyboard grab needs. */
	gtk_window_set_focus(GTK_WINDOW(w), display);
	g_signal_connect(w, "delete-event", G_CALLBACK(window_monitor_delete), win);
	if (win->cfg->kiosk)
		gtk_window_set_decorated(GTK_WINDOW(w), FALSE);
	client_log("ui: display %d, monitor %d (%dx%d) in its own window",
	    mon->channel, mon->id, mon->width, mon->height);
	return w;
}

/* One window per monitor: the main window has the first, others their own. */
void
window_monitors_changed(PaprikaMonitors *m, gpointer data)
{
	PaprikaWindow *win = data;
	GHashTable *keep = g_hash_table_new(NULL, NULL);
	GHashTableIter it;
	gpointer key, w;
	guint i, n = paprika_monitors_count(m);

	client_log("ui: desktop has %u monitor%s", n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		const PaprikaMonitor *mon = paprika_monitors_get(m, i);
		gpointer k = GINT_TO_POINTER(mon->channel << 8 | mon->id);

		if (mon->channel == 0 && mon->id == 0)
			continue;	/* the main window's */
		g_hash_table_add(keep, k);
		if ((w = g_hash_table_lookup(win->monitor_windows, k)) == NULL) {
			w = window_monitor_open(win, mon);
			g_hash_table_insert(win->monitor_windows, k, w);
		}
		/* Its number may change as monitors come and go. */
		window_monitor_place(win, w, i);
		gtk_widget_show_all(w);
	}
	g_hash_table_iter_init(&it, win->monitor_windows);
	while (g_hash_table_iter_next(&it, &key, &w))
		if (!g_hash_table_contains(keep, key)) {
			client_log("ui: display %d, monitor %d turned off: its window closed",
			    GPOINTER_TO_INT(key) >> 8, GPOINTER_TO_INT(key) & 0xff);
			g_hash_table_iter_remove(&it);
		}
	g_hash_table_unref(keep);
}
