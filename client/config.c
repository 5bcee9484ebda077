/* SPDX-License-Identifier: ISC */
/*
 * The client's configuration: key files, the system's then the user's,
 * options over both. The user's file also remembers the last user name.
 *
 *	[broker]
 *	url = https://broker.example.com:8443
 *	ca = /etc/paprika/pki/ca/ca-cert.pem
 *
 *	[login]
 *	user = alice
 *
 *	[client]
 *	kiosk = true			(as --kiosk)
 *	lock_broker = true		(the broker's address cannot be edited)
 *	kiosk_hotkey = <Control><Alt>End	(the kiosk's menu: log out, reconnect)
 *	reconnect_timeout = 120		(seconds; 0: no automatic reconnect)
 *	clipboard = true		(share the clipboard with the desktop)
 *	usbredir = true			(USB devices can be passed to the desktop)
 *	usb_auto_share = 0x03,-1,-1,-1,0|-1,-1,-1,-1,1
 *					(a usbredir filter: the devices passed at
 *					 once, and when plugged in; none if unset)
 */
#include <errno.h>
#include <glib/gstdio.h>

#include "client.h"

#define CONFIG_NAME	"client.conf"

static gchar *
config_user_path(void)
{
	return g_build_filename(g_get_user_config_dir(), "paprika", CONFIG_NAME, NULL);
}

/* A boolean of [client] into *out; absent leaves it, invalid says so. */
static void
config_bool(GKeyFile *kf, const gchar *path, const gchar *key, gboolean *out)
{
	GError *error = NULL;
	gboolean v;

	v = g_key_file_get_boolean(kf, "client", key, &error);
	if (error == NULL)
		*out = v;
	else {
		if (!g_error_matches(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND) &&
		    !g_error_matches(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
			g_printerr("paprika-client: %s: [client] %s: %s\n", path, key,
			    error->message);
		g_error_free(error);
	}
}

/* The [client] group: kiosk mode, reconnecting, clipboard and USB. */
static void
config_client(ClientConfig *cfg, GKeyFile *kf, const gchar *path)
{
	guint key;
	GdkModifierType mods;
	guint64 n;
	gchar *v;

	config_bool(kf, path, "kiosk", &cfg->kiosk);
	config_bool(kf, path, "lock_broker", &cfg->lock_broker);
	config_bool(kf, path, "clipboard", &cfg->clipboard);
	config_bool(kf, path, "usbredir", &cfg->usbredir);
	if ((v = g_key_file_get_string(kf, "client", "usb_auto_share", NULL)) != NULL) {
		g_free(cfg->usb_auto_share);
		cfg->usb_auto_share = NULL;
		if (*g_strstrip(v) != '\0')
			cfg->usb_auto_share = v;
		else
			g_free(v);
	}
	if ((v = g_key_file_get_string(kf, "client", "kiosk_hotkey", NULL)) != NULL) {
		gtk_accelerator_parse(v, &key, &mods);
		if (key == 0) {
			g_printerr("paprika-client: %s: [client] kiosk_hotkey: \"%s\" is "
			    "not a key (write it like %s)\n", path, v,
			    CLIENT_KIOSK_HOTKEY);
			g_free(v);
		} else {
			g_free(cfg->kiosk_hotkey);
			cfg->kiosk_hotkey = v;
		}
	}
	if ((v = g_key_file_get_string(kf, "client", "reconnect_timeout", NULL)) != NULL) {
		if (g_ascii_string_to_unsigned(g_strstrip(v), 10, 0,
		    CLIENT_RECONNECT_MAX, &n, NULL))
			cfg->reconnect_timeout = (gint)n;
		else
			g_printerr("paprika-client: %s: [client] reconnect_timeout: "
			    "0 to %d seconds\n", path, CLIENT_RECONNECT_MAX);
		g_free(v);
	}
}

/* Reads one file over what cfg holds; a missing file is not an error. */
static void
config_read(ClientConfig *cfg, const gchar *path)
{
	GKeyFile *kf;
	GError *error = NULL;
	gchar *v;

	kf = g_key_file_new();
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error)) {
		if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			g_printerr("paprika-client: %s: %s\n", path, error->message);
		g_error_free(error);
		g_key_file_free(kf);
		return;
	}
	if ((v = g_key_file_get_string(kf, "broker", "url", NULL)) != NULL) {
		g_free(cfg->broker_url);
		cfg->broker_url = v;
	}
	if ((v = g_key_file_get_string(kf, "broker", "ca", NULL)) != NULL) {
		g_free(cfg->ca_file);
		cfg->ca_file = v;
	}
	if ((v = g_key_file_get_string(kf, "login", "user", NULL)) != NULL) {
		g_free(cfg->user);
		cfg->user = v;
	}
	config_client(cfg, kf, path);
	g_key_file_free(kf);
}

void
config_load(ClientConfig *cfg)
{
	gchar *path;

	cfg->kiosk_hotkey = g_strdup(CLIENT_KIOSK_HOTKEY);
	cfg->reconnect_timeout = CLIENT_RECONNECT_TIMEOUT;
	cfg->clipboard = TRUE;
	cfg->usbredir = TRUE;
	config_read(cfg, SYSCONFDIR "/paprika/" CONFIG_NAME);
	path = config_user_path();
	config_read(cfg, path);
	g_free(path);
	if (cfg->ca_file == NULL &&
	    g_file_test(SYSCONFDIR "/paprika/pki/ca/ca-cert.pem", G_FILE_TEST_EXISTS))
		cfg->ca_file = g_strdup(SYSCONFDIR "/paprika/pki/ca/ca-cert.pem");
}

/* Writes the user name into the user's file, keeping the rest of it. */
void
config_remember_user(const gchar *user)
{
	GKeyFile *kf;
	GError *error = NULL;
	gchar *path, *dir;

	path = config_user_path();
	dir = g_path_get_dirname(path);
	kf = g_key_file_new();
	g_key_file_load_from_file(kf, path, G_KEY_FILE_KEEP_COMMENTS, NULL);
	g_key_file_set_string(kf, "login", "user", user);
	if (g_mkdir_with_parents(dir, 0700) != 0)
		g_printerr("paprika-client: %s: %s\n", dir, g_strerror(errno));
	else if (!g_key_file_save_to_file(kf, path, &error)) {
		g_printerr("paprika-client: %s\n", error->message);
		g_error_free(error);
	}
	g_key_file_free(kf);
	g_free(dir);
	g_free(path);
}

void
config_clear(ClientConfig *cfg)
{
	g_clear_pointer(&cfg->broker_url, g_free);
	g_clear_pointer(&cfg->ca_file, g_free);
	g_clear_pointer(&cfg->user, g_free);
	g_clear_pointer(&cfg->desktop, g_free);
	g_clear_pointer(&cfg->kiosk_hotkey, g_free);
	g_clear_pointer(&cfg->usb_auto_share, g_free);
}
