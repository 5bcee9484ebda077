/* SPDX-License-Identifier: ISC */
/*
 * PaprikaWindow's actions: log out, reconnect, Ctrl+Alt+Del, Reset with
 * its confirmation, the USB device picker and the kiosk's menu.
 */
#include <string.h>

#include <spice-client-gtk.h>

#include "client.h"
#include "windowpriv.h"

void
window_logout_activated(GSimpleAction *action, GVariant *param, gpointer data)
{
	PaprikaWindow *win = data;

	if (win->broker != NULL && paprika_broker_logged_in(win->broker))
		window_logout(win, NULL);
}

/* Drops the connection to the desktop shown (or being reconnected) and
 * asks the broker for it again now. */
void
window_reconnect_activated(GSimpleAction *action, GVariant *param, gpointer data)
{
	PaprikaWindow *win = data;

	if (win->desktop_id == NULL || win->broker == NULL ||
	    !paprika_broker_logged_in(win->broker) ||
	    (win->session == NULL && win->lost_at == 0))
		return;
	client_log("ui: reconnect asked for");
	window_cancel(win);
	window_stop_reconnect(win);
	window_drop_session(win);
	gtk_label_set_text(GTK_LABEL(win->reconnect_reason), "Reconnect asked for.");
	window_reconnect_now(win);
}

void
window_send_cad_activated(GSimpleAction *action, GVariant *param, gpointer data)
{
	PaprikaWindow *win = data;
	guint keys[] = { GDK_KEY_Control_L, GDK_KEY_Alt_L, GDK_KEY_Delete };

	if (win->display == NULL)
		return;
	spice_display_send_keys(SPICE_DISPLAY(win->display), keys, G_N_ELEMENTS(keys),
	    SPICE_DISPLAY_KEY_EVENT_CLICK);
	client_log("ui: sent Ctrl+Alt+Del");
}

/* An error of a reset, in a dialog over the desktop, which goes on. */
static void
window_reset_error(PaprikaWindow *win, const gchar *message)
{
	GtkWidget *dialog;

	dialog = gtk_message_dialog_new(GTK_WINDOW(win),
	    GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_ERROR,
	    GTK_BUTTONS_CLOSE, "The desktop was not reset.");
	gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(dialog), "%s",
	    message);
	g_signal_connect(dialog, "response", G_CALLBACK(gtk_widget_destroy), NULL);
	gtk_window_present(GTK_WINDOW(dialog));
}

static void
window_reset_done(GObject *src, GAsyncResult *res, gpointer data)
{
	PaprikaWindow *win = data;
	GError *error = NULL;

	if (win->resetting) {
		win->resetting = FALSE;
		window_actions_update(win);
	}
	if (paprika_broker_reset_finish(PAPRIKA_BROKER(src), res, &error))
		client_log("ui: desktop %s reset", win->desktop_id);
	else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		;
	else if (g_error_matches(error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN)) {
		client_log("ui: reset failed: %s", error->message);
		window_logout(win, error->message);
	} else {
		client_log("ui: reset failed: %s", error->message);
		window_reset_error(win, error->message);
	}
	g_clear_error(&error);
	g_object_unref(win);
}

static void
window_reset_response(GtkDialog *dialog, gint response, gpointer data)
{
	PaprikaWindow *win = data;

	gtk_widget_destroy(GTK_WIDGET(dialog));
	if (response != GTK_RESPONSE_ACCEPT) {
		client_log("ui: reset cancelled");
		return;
	}
	if (!win->can_reset || win->session == NULL || win->resetting ||
	    win->desktop_id == NULL)
		return;
	client_log("ui: resetting %s", win->desktop_id);
	win->resetting = TRUE;
	window_actions_update(win);
	paprika_broker_reset_async(win->broker, win->desktop_id, win->cancel,
	    window_reset_done, g_object_ref(win));
}

static void
window_reset_destroyed(GtkWidget *dialog, gpointer data)
{
	PaprikaWindow *win = data;

	if (win->reset_dialog == dialog)
		win->reset_dialog = NULL;
}

/* Reset: asks first, as unsaved work on the desktop is lost. */
void
window_reset_activated(GSimpleAction *action, GVariant *param, gpointer data)
{
	PaprikaWindow *win = data;
	GtkWidget *reset, *cancel;

	if (!win->can_reset || win->session == NULL || win->resetting)
		return;
	if (win->reset_dialog != NULL) {
		gtk_window_present(GTK_WINDOW(win->reset_dialog));
		return;
	}
	win->reset_dialog = gtk_message_dialog_new(GTK_WINDOW(win),
	    GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_WARNING,
	    GTK_BUTTONS_NONE, "Reset the desktop?");
	gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(win->reset_dialog),
	    "Unsaved work is lost.");
	cancel = gtk_dialog_add_button(GTK_DIALOG(win->reset_dialog), "_Cancel",
	    GTK_RESPONSE_CANCEL);
	reset = gtk_dialog_add_button(GTK_DIALOG(win->reset_dialog), "_Reset",
	    GTK_RESPONSE_ACCEPT);
	gtk_style_context_add_class(gtk_widget_get_style_context(reset),
	    "destructive-action");
	/* Enter cancels: a reset loses work, so it takes the Reset button itself. */
	gtk_dialog_set_default_response(GTK_DIALOG(win->reset_dialog),
	    GTK_RESPONSE_CANCEL);
	gtk_widget_grab_focus(cancel);
	g_signal_connect(win->reset_dialog, "response",
	    G_CALLBACK(window_reset_response), win);
	g_signal_connect(win->reset_dialog, "destroy",
	    G_CALLBACK(window_reset_destroyed), win);
	gtk_window_present(GTK_WINDOW(win->reset_dialog));
	client_log("ui: reset the desktop?");
}

static void
window_usb_response(GtkDialog *dialog, gint response, gpointer data)
{
	gtk_widget_destroy(GTK_WIDGET(dialog));
}

static void
window_usb_destroyed(GtkWidget *dialog, gpointer data)
{
	PaprikaWindow *win = data;

	if (win->usb_dialog == dialog)
		win->usb_dialog = NULL;
}

/* The USB device picker: a check box per device, ticked ones go to the guest. */
void
window_usb_activated(GSimpleAction *action, GVariant *param, gpointer data)
{
	PaprikaWindow *win = data;
	GtkWidget *picker, *area;

	if (win->session == NULL || !win->usbredir)
		return;
	if (win->usb_dialog != NULL) {
		gtk_window_present(GTK_WINDOW(win->usb_dialog));
		return;
	}
	win->usb_dialog = gtk_dialog_new_with_buttons("USB devices", GTK_WINDOW(win),
	    GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT, "_Close",
	    GTK_RESPONSE_CLOSE, NULL);
	gtk_dialog_set_default_response(GTK_DIALOG(win->usb_dialog), GTK_RESPONSE_CLOSE);
	picker = spice_usb_device_widget_new(
	    paprika_session_get_spice(win->session), NULL);
	g_object_set(picker, "margin", 12, NULL);
	area = gtk_dialog_get_content_area(GTK_DIALOG(win->usb_dialog));
	gtk_container_add(GTK_CONTAINER(area), picker);
	g_signal_connect(win->usb_dialog, "response", G_CALLBACK(window_usb_response), win);
	g_signal_connect(win->usb_dialog, "destroy", G_CALLBACK(window_usb_destroyed), win);
	gtk_widget_show_all(win->usb_dialog);
	client_log("ui: usb devices");
}

/* The kiosk menu's items as shown: "ui: kiosk menu: Log out | Reconnect | …". */
static void
window_log_kiosk_menu(PaprikaWindow *win)
{
	GtkWidget *box = gtk_widget_get_parent(win->kiosk_logout);
	GList *items = gtk_container_get_children(GTK_CONTAINER(box)), *l;
	GString *shown = g_string_new(NULL);
	gchar **parts, *label;

	for (l = items; l != NULL; l = l->next) {
		if (!gtk_widget_get_visible(l->data))
			continue;
		/* Without the mnemonics' underscores. */
		parts = g_strsplit(gtk_button_get_label(GTK_BUTTON(l->data)), "_", -1);
		label = g_strjoinv("", parts);
		g_string_append_printf(shown, "%s%s", shown->len ? " | " : "", label);
		g_free(label);
		g_strfreev(parts);
	}
	g_list_free(items);
	client_log("ui: kiosk menu: %s", shown->str);
	g_string_free(shown, TRUE);
}

/* The kiosk hotkey: a small menu at the top of the screen. */
void
window_kiosk_menu_activated(GSimpleAction *action, GVariant *param, gpointer data)
{
	PaprikaWindow *win = data;
	GdkRectangle at = { 0, 0, 1, 1 };

	if (win->kiosk_menu == NULL)
		return;
	at.x = gtk_widget_get_allocated_width(win->stack) / 2;
	gtk_popover_set_pointing_to(GTK_POPOVER(win->kiosk_menu), &at);
	gtk_popover_popup(GTK_POPOVER(win->kiosk_menu));
	gtk_widget_grab_focus(win->kiosk_logout);
	window_log_kiosk_menu(win);
}

void
window_kiosk_menu_clicked(GtkWidget *w, gpointer data)
{
	PaprikaWindow *win = data;

	/* Hidden at once, not faded out: what the user types next goes to the page. */
	gtk_widget_hide(win->kiosk_menu);
}

/* Once the menu is gone: the keyboard back where the page wants it. */
static gboolean
window_kiosk_menu_refocus(gpointer data)
{
	PaprikaWindow *win = data;
	const gchar *page = gtk_stack_get_visible_child_name(GTK_STACK(win->stack));

	if (g_strcmp0(page, "login") == 0)
		window_focus_login(win);
	else if (g_strcmp0(page, "desktop") == 0 && win->display != NULL)
		gtk_widget_grab_focus(win->display);
	g_object_unref(win);
	return G_SOURCE_REMOVE;
}

void
window_kiosk_menu_closed(GtkPopover *pop, gpointer data)
{
	/* After the popover gives the focus back, before the next key. */
	g_idle_add_full(G_PRIORITY_HIGH, window_kiosk_menu_refocus, g_object_ref(data),
	    NULL);
}

/* In kiosk mode the window cannot be closed. */
gboolean
window_kiosk_delete(GtkWidget *w, GdkEvent *event, gpointer data)
{
	client_log("ui: kiosk: closing the window refused");
	return GDK_EVENT_STOP;
}

void
window_cancel_clicked(GtkWidget *w, gpointer data)
{
	window_logout(data, NULL);
}
