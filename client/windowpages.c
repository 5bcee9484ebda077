/* SPDX-License-Identifier: ISC */
/*
 * The pages of PaprikaWindow's stack (login, desktop picker, progress,
 * reconnect countdown) and the kiosk's full screen and menu.
 */
#include <string.h>

#include <spice-client-gtk.h>

#include "client.h"
#include "windowpriv.h"

/* A label for a form field. */
static GtkWidget *
window_field_label(const gchar *text, GtkWidget *mnemonic_for)
{
	GtkWidget *l = gtk_label_new_with_mnemonic(text);

	gtk_label_set_xalign(GTK_LABEL(l), 1);
	gtk_label_set_mnemonic_widget(GTK_LABEL(l), mnemonic_for);
	return l;
}

/*
 * The login's activity indicator: an arc turning once a second. Not a
 * GtkSpinner: that draws the icon theme's process-working-symbolic,
 * which Adwaita has only as SVG, so its first draw, spinning or not,
 * loads librsvg: 7 MB of the idle client's memory (tests/bench/README.md,
 * "Where the client's memory goes").
 */
static gboolean
window_spinner_draw(GtkWidget *w, cairo_t *cr, gpointer data)
{
	PaprikaWindow *win = data;
	GtkStyleContext *sc = gtk_widget_get_style_context(w);
	GdkFrameClock *clock = gtk_widget_get_frame_clock(w);
	gint width = gtk_widget_get_allocated_width(w);
	gint height = gtk_widget_get_allocated_height(w);
	GdkRGBA fg;
	gdouble r, a;

	if (win->login_spin == 0 || clock == NULL)
		return FALSE;
	a = 2 * G_PI * (gdouble)(gdk_frame_clock_get_frame_time(clock) %
	    G_USEC_PER_SEC) / G_USEC_PER_SEC;
	r = MIN(width, height) / 2.0;
	gtk_style_context_get_color(sc, gtk_style_context_get_state(sc), &fg);
	gdk_cairo_set_source_rgba(cr, &fg);
	cairo_set_line_width(cr, r / 4);
	cairo_arc(cr, width / 2.0, height / 2.0, r * 7 / 8, a, a + 1.5 * G_PI);
	cairo_stroke(cr);
	return FALSE;
}

static gboolean
window_spinner_tick(GtkWidget *w, GdkFrameClock *clock, gpointer data)
{
	gtk_widget_queue_draw(w);
	return G_SOURCE_CONTINUE;
}

void
window_spinner_start(PaprikaWindow *win)
{
	if (win->login_spin == 0)
		win->login_spin = gtk_widget_add_tick_callback(win->login_spinner,
		    window_spinner_tick, win, NULL);
}

/*
 * Stopped as soon as the login ends: while it turns, the frame clock
 * ticks (60 wakeups a second), even on a hidden page.
 */
void
window_spinner_stop(PaprikaWindow *win)
{
	if (win->login_spin == 0)
		return;
	gtk_widget_remove_tick_callback(win->login_spinner, win->login_spin);
	win->login_spin = 0;
	gtk_widget_queue_draw(win->login_spinner);
}

GtkWidget *
window_login_page(PaprikaWindow *win)
{
	GtkWidget *grid, *title, *sub, *buttons;

	grid = gtk_grid_new();
	gtk_grid_set_row_spacing(GTK_GRID(grid), 10);
	gtk_grid_set_column_spacing(GTK_GRID(grid), 12);
	gtk_widget_set_halign(grid, GTK_ALIGN_CENTER);
	gtk_widget_set_valign(grid, GTK_ALIGN_CENTER);

	title = gtk_label_new(NULL);
	gtk_label_set_markup(GTK_LABEL(title),
	    "<span size='xx-large' weight='bold'>Paprika</span>");
	sub = gtk_label_new("Log in to your desktop");
	gtk_style_context_add_class(gtk_widget_get_style_context(sub), "dim-label");
	gtk_grid_attach(GTK_GRID(grid), title, 0, 0, 2, 1);
	gtk_grid_attach(GTK_GRID(grid), sub, 0, 1, 2, 1);

	win->url_entry = gtk_entry_new();
	gtk_entry_set_width_chars(GTK_ENTRY(win->url_entry), 32);
	gtk_entry_set_placeholder_text(GTK_ENTRY(win->url_entry),
	    "https://broker.example.com:8443");
	if (win->cfg->broker_url != NULL)
		gtk_entry_set_text(GTK_ENTRY(win->url_entry), win->cfg->broker_url);
	gtk_grid_attach(GTK_GRID(grid), window_field_label("_Broker", win->url_entry), 0, 2, 1, 1);
	gtk_grid_attach(GTK_GRID(grid), win->url_entry, 1, 2, 1, 1);

	win->user_entry = gtk_entry_new();
	if (win->cfg->user != NULL)
		gtk_entry_set_text(GTK_ENTRY(win->user_entry), win->cfg->user);
	/*
	 * Enter logs in at once. Through the default button it would wait
	 * for the key's release, or GtkButton's 250 ms activate timeout.
	 */
	g_signal_connect(win->user_entry, "activate", G_CALLBACK(window_login_clicked), win);
	gtk_grid_attach(GTK_GRID(grid), window_field_label("_User name", win->user_entry), 0, 3, 1, 1);
	gtk_grid_attach(GTK_GRID(grid), win->user_entry, 1, 3, 1, 1);

	win->password_entry = gtk_entry_new();
	gtk_entry_set_visibility(GTK_ENTRY(win->password_entry), FALSE);
	gtk_entry_set_input_purpose(GTK_ENTRY(win->password_entry), GTK_INPUT_PURPOSE_PASSWORD);
	g_signal_connect(win->password_entry, "activate", G_CALLBACK(window_login_clicked), win);
	gtk_grid_attach(GTK_GRID(grid), window_field_label("_Password", win->password_entry), 0, 4, 1, 1);
	gtk_grid_attach(GTK_GRID(grid), win->password_entry, 1, 4, 1, 1);

	/* The second factor: shown once the broker asks for it. */
	win->totp_entry = gtk_entry_new();
	gtk_entry_set_input_purpose(GTK_ENTRY(win->totp_entry), GTK_INPUT_PURPOSE_DIGITS);
	gtk_entry_set_max_length(GTK_ENTRY(win->totp_entry), 32);
	g_signal_connect(win->totp_entry, "activate", G_CALLBACK(window_login_clicked), win);
	gtk_widget_set_tooltip_text(win->totp_entry,
	    "The 6 digits of your authenticator app, or one of your recovery codes");
	win->totp_label = window_field_label("_Code", win->totp_entry);
	gtk_widget_set_no_show_all(win->totp_label, TRUE);
	gtk_widget_set_no_show_all(win->totp_entry, TRUE);
	gtk_grid_attach(GTK_GRID(grid), win->totp_label, 0, 5, 1, 1);
	gtk_grid_attach(GTK_GRID(grid), win->totp_entry, 1, 5, 1, 1);

	buttons = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
	gtk_widget_set_halign(buttons, GTK_ALIGN_END);
	win->login_spinner = gtk_drawing_area_new();
	gtk_widget_set_size_request(win->login_spinner, 16, 16);
	gtk_widget_set_valign(win->login_spinner, GTK_ALIGN_CENTER);
	g_signal_connect(win->login_spinner, "draw", G_CALLBACK(window_spinner_draw), win);
	win->login_button = gtk_button_new_with_mnemonic("_Log in");
	gtk_style_context_add_class(gtk_widget_get_style_context(win->login_button),
	    "suggested-action");
	gtk_widget_set_can_default(win->login_button, TRUE);
	g_signal_connect(win->login_button, "clicked", G_CALLBACK(window_login_clicked), win);
	gtk_container_add(GTK_CONTAINER(buttons), win->login_spinner);
	gtk_container_add(GTK_CONTAINER(buttons), win->login_button);
	gtk_grid_attach(GTK_GRID(grid), buttons, 1, 6, 1, 1);

	win->login_message = gtk_label_new(NULL);
	gtk_label_set_line_wrap(GTK_LABEL(win->login_message), TRUE);
	gtk_label_set_max_width_chars(GTK_LABEL(win->login_message), 48);
	gtk_style_context_add_class(gtk_widget_get_style_context(win->login_message), "error");
	gtk_grid_attach(GTK_GRID(grid), win->login_message, 0, 7, 2, 1);
	return grid;
}

GtkWidget *
window_desktops_page(PaprikaWindow *win)
{
	GtkWidget *box, *title, *frame;

	box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	gtk_widget_set_halign(box, GTK_ALIGN_CENTER);
	gtk_widget_set_valign(box, GTK_ALIGN_CENTER);
	gtk_widget_set_size_request(box, 400, -1);
	title = gtk_label_new(NULL);
	gtk_label_set_markup(GTK_LABEL(title), "<span size='x-large' weight='bold'>Choose a desktop</span>");
	win->desktop_list = gtk_list_box_new();
	gtk_list_box_set_activate_on_single_click(GTK_LIST_BOX(win->desktop_list), TRUE);
	g_signal_connect(win->desktop_list, "row-activated",
	    G_CALLBACK(window_desktop_activated), win);
	frame = gtk_frame_new(NULL);
	gtk_container_add(GTK_CONTAINER(frame), win->desktop_list);
	gtk_container_add(GTK_CONTAINER(box), title);
	gtk_container_add(GTK_CONTAINER(box), frame);
	return box;
}

GtkWidget *
window_progress_page(PaprikaWindow *win)
{
	GtkWidget *box, *cancel;

	box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	gtk_widget_set_halign(box, GTK_ALIGN_CENTER);
	gtk_widget_set_valign(box, GTK_ALIGN_CENTER);
	gtk_widget_set_size_request(box, 400, -1);
	win->progress_title = gtk_label_new(NULL);
	gtk_style_context_add_class(gtk_widget_get_style_context(win->progress_title), "title");
	win->progress_bar = gtk_progress_bar_new();
	gtk_progress_bar_set_show_text(GTK_PROGRESS_BAR(win->progress_bar), TRUE);
	win->progress_step = gtk_label_new(NULL);
	gtk_style_context_add_class(gtk_widget_get_style_context(win->progress_step), "dim-label");
	cancel = gtk_button_new_with_mnemonic("_Cancel");
	gtk_widget_set_halign(cancel, GTK_ALIGN_END);
	g_signal_connect(cancel, "clicked", G_CALLBACK(window_cancel_clicked), win);
	gtk_container_add(GTK_CONTAINER(box), win->progress_title);
	gtk_container_add(GTK_CONTAINER(box), win->progress_bar);
	gtk_container_add(GTK_CONTAINER(box), win->progress_step);
	gtk_container_add(GTK_CONTAINER(box), cancel);
	return box;
}

GtkWidget *
window_reconnect_page(PaprikaWindow *win)
{
	GtkWidget *box, *cancel;

	box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	gtk_widget_set_halign(box, GTK_ALIGN_CENTER);
	gtk_widget_set_valign(box, GTK_ALIGN_CENTER);
	gtk_widget_set_size_request(box, 400, -1);
	win->reconnect_label = gtk_label_new(NULL);
	gtk_style_context_add_class(gtk_widget_get_style_context(win->reconnect_label),
	    "title");
	win->reconnect_reason = gtk_label_new(NULL);
	gtk_label_set_line_wrap(GTK_LABEL(win->reconnect_reason), TRUE);
	gtk_label_set_max_width_chars(GTK_LABEL(win->reconnect_reason), 48);
	gtk_style_context_add_class(gtk_widget_get_style_context(win->reconnect_reason),
	    "dim-label");
	cancel = gtk_button_new_with_mnemonic("_Cancel");
	gtk_widget_set_tooltip_text(cancel, "Stop reconnecting and log out");
	gtk_widget_set_halign(cancel, GTK_ALIGN_END);
	g_signal_connect(cancel, "clicked", G_CALLBACK(window_cancel_clicked), win);
	gtk_container_add(GTK_CONTAINER(box), win->reconnect_label);
	gtk_container_add(GTK_CONTAINER(box), win->reconnect_reason);
	gtk_container_add(GTK_CONTAINER(box), cancel);
	return box;
}

/* The kiosk's menu: a popover over the stack, one button per action. */
static GtkWidget *
window_kiosk_menu(PaprikaWindow *win)
{
	static const struct {
		const gchar *label, *action;
	} items[] = {
		{ "_Log out", "win.logout" },
		{ "_Reconnect", "win.reconnect" },
		{ "Send Ctrl+Alt+_Del", "win.send-cad" },
		{ "_USB devices…", "win.usb" },
		{ "Re_set desktop…", "win.reset" },
	};
	GtkWidget *pop, *box, *b;
	guint i;

	pop = gtk_popover_new(win->stack);
	gtk_popover_set_position(GTK_POPOVER(pop), GTK_POS_BOTTOM);
	g_signal_connect(pop, "closed", G_CALLBACK(window_kiosk_menu_closed), win);
	box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 4);
	g_object_set(box, "margin", 8, NULL);
	for (i = 0; i < G_N_ELEMENTS(items); i++) {
		b = gtk_button_new_with_mnemonic(items[i].label);
		gtk_actionable_set_action_name(GTK_ACTIONABLE(b), items[i].action);
		gtk_button_set_relief(GTK_BUTTON(b), GTK_RELIEF_NONE);
		g_signal_connect(b, "clicked", G_CALLBACK(window_kiosk_menu_clicked), win);
		gtk_container_add(GTK_CONTAINER(box), b);
		/* Shown only where the session redirects USB (window_actions_update). */
		if (g_strcmp0(items[i].action, "win.usb") == 0) {
			gtk_widget_set_no_show_all(b, TRUE);
			win->kiosk_usb = b;
		}
		/* Shown only for a desktop the user may reset (window_actions_update). */
		if (g_strcmp0(items[i].action, "win.reset") == 0) {
			gtk_widget_set_no_show_all(b, TRUE);
			win->kiosk_reset = b;
		}
		if (i == 0)
			win->kiosk_logout = b;
	}
	gtk_widget_show_all(box);
	gtk_container_add(GTK_CONTAINER(pop), box);
	return pop;
}

/* Kiosk mode: the whole screen, no decorations, no closing. */
void
window_kiosk(PaprikaWindow *win, GtkApplication *app)
{
	const gchar *hotkey[] = { win->cfg->kiosk_hotkey, NULL };
	GdkDisplay *display = gtk_widget_get_display(GTK_WIDGET(win));
	GdkMonitor *mon;
	GdkRectangle geo;

	gtk_window_set_decorated(GTK_WINDOW(win), FALSE);
	gtk_widget_set_visible(win->header, FALSE);
	/* Sized and placed by hand too: a kiosk session may run no window manager. */
	mon = gdk_display_get_primary_monitor(display);
	if (mon == NULL)
		mon = gdk_display_get_monitor(display, 0);
	if (mon != NULL) {
		gdk_monitor_get_geometry(mon, &geo);
		gtk_window_set_default_size(GTK_WINDOW(win), geo.width, geo.height);
		gtk_window_move(GTK_WINDOW(win), geo.x, geo.y);
	}
	gtk_window_fullscreen(GTK_WINDOW(win));
	g_signal_connect(win, "delete-event", G_CALLBACK(window_kiosk_delete), win);
	gtk_application_set_accels_for_action(app, "win.kiosk-menu", hotkey);
	win->kiosk_menu = window_kiosk_menu(win);
	client_log("ui: kiosk mode, menu on %s", win->cfg->kiosk_hotkey);
}
