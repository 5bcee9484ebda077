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
	g_key_file_free(kf);
}

void
config_load(ClientConfig *cfg)
{
	gchar *path;

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
}
