/* SPDX-License-Identifier: ISC */
/*
 * paprika-client: log in to the Paprika broker, pick a desktop, and show it
 * with spice-gtk through the gateway; or, with --headless, save its first
 * frame as a PNG and exit with a status that says what went wrong. With
 * --kiosk (or kiosk = true in client.conf) the window fills the screen and
 * cannot be closed: every way out comes back to its login page.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "client.h"

gboolean client_verbose;
static gint64 client_started;	/* monotonic, for the log's times */

G_DEFINE_QUARK(paprika-client-error-quark, paprika_error)

/*
 * With --verbose, one line on stderr: what the user now sees, and why,
 * after the milliseconds since the start (where the time goes).
 */
void
client_log(const gchar *fmt, ...)
{
	va_list ap;
	gchar *msg;

	if (!client_verbose)
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_printerr("paprika-client: [%7.1f] %s\n",
	    (g_get_monotonic_time() - client_started) / 1000.0, msg);
	g_free(msg);
}

static void
main_activate(GtkApplication *app, gpointer data)
{
	ClientConfig *cfg = data;
	GtkWindow *win;

	win = gtk_application_get_active_window(app);
	if (win == NULL)
		win = GTK_WINDOW(paprika_window_new(app, cfg));
	gtk_window_present(win);
}

int
main(int argc, char **argv)
{
	ClientConfig cfg = { 0 };
	gchar *broker = NULL, *ca = NULL, *user = NULL, *desktop = NULL;
	gchar *screenshot = NULL, *password_file = NULL;
	gboolean headless = FALSE, verbose = FALSE, no_audio = FALSE, no_logout = FALSE;
	gboolean kiosk = FALSE;
	gint timeout = 120, monitor = 0, frames = 0;
	GOptionEntry entries[] = {
		{ "broker", 'b', 0, G_OPTION_ARG_STRING, &broker,
		  "The broker's URL (https://host:port)", "URL" },
		{ "ca", 0, 0, G_OPTION_ARG_FILENAME, &ca,
		  "The CA that signed the broker's certificate (PEM)", "FILE" },
		{ "user", 'u', 0, G_OPTION_ARG_STRING, &user,
		  "The user name", "NAME" },
		{ "desktop", 'd', 0, G_OPTION_ARG_STRING, &desktop,
		  "Connect to this desktop (pool id) without asking", "ID" },
		{ "headless", 0, 0, G_OPTION_ARG_NONE, &headless,
		  "No window: connect, save the first frame, exit", NULL },
		{ "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &screenshot,
		  "With --headless: the PNG to write", "FILE" },
		{ "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file,
		  "With --headless: read the password from FILE (- or none: stdin)", "FILE" },
		{ "monitor", 'm', 0, G_OPTION_ARG_INT, &monitor,
		  "With --headless: the monitor to save, from 0 (0)", "N" },
		{ "timeout", 't', 0, G_OPTION_ARG_INT, &timeout,
		  "With --headless: give up after this many seconds (120)", "SECONDS" },
		{ "no-logout", 0, 0, G_OPTION_ARG_NONE, &no_logout,
		  "With --headless: keep the login and the session when done", NULL },
		{ "frames", 0, 0, G_OPTION_ARG_INT, &frames,
		  "With --headless: after the first frame, count the frames drawn "
		  "for SECONDS and print the rate", "SECONDS" },
		{ "kiosk", 0, 0, G_OPTION_ARG_NONE, &kiosk,
		  "Full screen, no way out but the kiosk hotkey's menu", NULL },
		{ "no-audio", 0, 0, G_OPTION_ARG_NONE, &no_audio,
		  "Do not open the audio channels", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
		  "Print each change of state on stderr", NULL },
		{ NULL }
	};
	GOptionContext *ctx;
	GError *error = NULL;
	GtkApplication *app;
	int status;

	client_started = g_get_monotonic_time();
	ctx = g_option_context_new("- the Paprika thin client");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("paprika-client: %s\n", error->message);
		g_error_free(error);
		return PAPRIKA_ERROR_FAILED;
	}
	g_option_context_free(ctx);
	if (timeout <= 0 || timeout > 86400) {
		g_printerr("paprika-client: --timeout must be 1 to 86400 seconds\n");
		return PAPRIKA_ERROR_FAILED;
	}

	if (frames < 0 || frames > 3600) {
		g_printerr("paprika-client: --frames must be 0 to 3600 seconds\n");
		return PAPRIKA_ERROR_FAILED;
	}
	if (monitor < 0 || monitor >= CLIENT_MAX_MONITORS) {
		g_printerr("paprika-client: --monitor must be 0 to %d\n",
		    CLIENT_MAX_MONITORS - 1);
		return PAPRIKA_ERROR_FAILED;
	}

	client_verbose = verbose;
	/* The clock of the start, for lining this log up with a benchmark's. */
	client_log("started at %.6f s of the monotonic clock",
	    client_started / (gdouble)G_USEC_PER_SEC);
	config_load(&cfg);
	if (broker != NULL) {
		g_free(cfg.broker_url);
		cfg.broker_url = broker;
	}
	if (ca != NULL) {
		g_free(cfg.ca_file);
		cfg.ca_file = ca;
	}
	if (user != NULL) {
		g_free(cfg.user);
		cfg.user = user;
	}
	cfg.desktop = desktop;
	cfg.verbose = verbose;
	cfg.no_audio = no_audio;
	if (kiosk)
		cfg.kiosk = TRUE;

	if (headless) {
		if (screenshot == NULL) {
			g_printerr("paprika-client: --headless needs --screenshot FILE\n");
			return PAPRIKA_ERROR_FAILED;
		}
		status = headless_run(&cfg, screenshot, password_file, timeout,
		    !no_logout, (guint)monitor, (guint)frames);
		config_clear(&cfg);
		g_free(screenshot);
		g_free(password_file);
		return status;
	}

	app = gtk_application_new("org.paprika.Client", G_APPLICATION_NON_UNIQUE);
	g_signal_connect(app, "activate", G_CALLBACK(main_activate), &cfg);
	status = g_application_run(G_APPLICATION(app), 1, argv);
	g_object_unref(app);
	config_clear(&cfg);
	return status;
}
