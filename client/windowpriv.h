/* SPDX-License-Identifier: ISC */
/*
 * The parts of PaprikaWindow (window.c) shared by the files that make it:
 * windowpages.c builds its pages, windowactions.c answers its actions and
 * dialogs, windowdisplay.c shows the desktop's displays and monitors.
 */
#ifndef PAPRIKA_WINDOWPRIV_H
#define PAPRIKA_WINDOWPRIV_H

#include <spice-client-gtk.h>

#include "client.h"

struct _PaprikaWindow {
	GtkApplicationWindow parent;

	ClientConfig	*cfg;		/* borrowed from main() */
	PaprikaBroker	*broker;
	GCancellable	*cancel;	/* the current way from login to desktop */
	PaprikaSession	*session;
	GPtrArray	*desktops;
	gchar		*desktop_id;
	gchar		*desktop_title;
	gchar		*session_id;	/* the broker's, of the desktop shown */
	gboolean	 can_reset;	/* the user may reset desktop_id */
	gboolean	 usbredir;	/* USB redirection: [client] and the pool allow it */
	PaprikaMonitors	*monitors;	/* of the session */
	GHashTable	*monitor_windows; /* channel << 8 | id -> GtkWindow */
	gboolean	 resetting;	/* a reset is under way at the broker */
	gboolean	 opened;	/* the SPICE session showed the desktop */
	gint64		 lost_at;	/* reconnecting since (monotonic), or 0 */
	gint		 retry_delay;	/* seconds before the next try after this */
	gint		 countdown;	/* seconds left before this try */
	guint		 countdown_id;
	guint		 attempts;

	GtkWidget	*stack;
	GtkWidget	*header;
	GtkWidget	*logout_button;
	GtkWidget	*usb_button;
	GtkWidget	*usb_dialog;	/* the USB device picker, while open */
	GtkWidget	*reset_button;
	GtkWidget	*reset_dialog;	/* the confirmation, while open */
	GtkWidget	*url_entry;
	GtkWidget	*user_entry;
	GtkWidget	*password_entry;
	GtkWidget	*totp_label;	/* shown when the broker asks */
	GtkWidget	*totp_entry;
	GtkWidget	*login_button;
	GtkWidget	*login_spinner;	/* window_spinner_draw */
	guint		 login_spin;	/* its tick callback while turning */
	GtkWidget	*login_message;
	GtkWidget	*desktop_list;
	GtkWidget	*progress_title;
	GtkWidget	*progress_bar;
	GtkWidget	*progress_step;
	GtkWidget	*display_box;
	GtkWidget	*display;
	GtkWidget	*reconnect_label;
	GtkWidget	*reconnect_reason;
	GtkWidget	*kiosk_menu;
	GtkWidget	*kiosk_logout;
	GtkWidget	*kiosk_reset;
	GtkWidget	*kiosk_usb;
};

/* window.c */
void	 window_actions_update(PaprikaWindow *win);
void	 window_drop_session(PaprikaWindow *win);
void	 window_cancel(PaprikaWindow *win);
void	 window_stop_reconnect(PaprikaWindow *win);
void	 window_focus_login(PaprikaWindow *win);
void	 window_logout(PaprikaWindow *win, const gchar *message);
void	 window_reconnect_now(PaprikaWindow *win);
void	 window_desktop_activated(GtkListBox *box, GtkListBoxRow *row,
	    gpointer data);
void	 window_login_clicked(GtkWidget *w, gpointer data);

/* windowdisplay.c */
void	 window_channel_new(SpiceSession *spice, SpiceChannel *channel,
	    gpointer data);
void	 window_usb_setup(PaprikaWindow *win, SpiceSession *spice);
void	 window_log_policy(PaprikaWindow *win, const PaprikaConnection *conn);
void	 window_monitors_changed(PaprikaMonitors *m, gpointer data);

/* windowactions.c */
void	 window_logout_activated(GSimpleAction *action, GVariant *param,
	    gpointer data);
void	 window_reconnect_activated(GSimpleAction *action, GVariant *param,
	    gpointer data);
void	 window_send_cad_activated(GSimpleAction *action, GVariant *param,
	    gpointer data);
void	 window_reset_activated(GSimpleAction *action, GVariant *param,
	    gpointer data);
void	 window_usb_activated(GSimpleAction *action, GVariant *param,
	    gpointer data);
void	 window_kiosk_menu_activated(GSimpleAction *action, GVariant *param,
	    gpointer data);
void	 window_kiosk_menu_clicked(GtkWidget *w, gpointer data);
void	 window_kiosk_menu_closed(GtkPopover *pop, gpointer data);
gboolean window_kiosk_delete(GtkWidget *w, GdkEvent *event, gpointer data);
void	 window_cancel_clicked(GtkWidget *w, gpointer data);

/* windowpages.c */
GtkWidget	*window_login_page(PaprikaWindow *win);
void		 window_spinner_start(PaprikaWindow *win);
void		 window_spinner_stop(PaprikaWindow *win);
GtkWidget	*window_desktops_page(PaprikaWindow *win);
GtkWidget	*window_progress_page(PaprikaWindow *win);
GtkWidget	*window_reconnect_page(PaprikaWindow *win);
void	 window_kiosk(PaprikaWindow *win, GtkApplication *app);

#endif
