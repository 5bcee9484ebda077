/* SPDX-License-Identifier: ISC */
/*
 * --headless: log in, connect, save the display's first full frame as a
 * PNG, exit. No GTK widget and no X display: the frame comes from the
 * display channel's primary surface. The exit status is the PaprikaError
 * class of what went wrong (0: the PNG is written). With --frames, it then
 * counts the frames drawn for a while and prints the rate.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <spice-client.h>

#include "client.h"

#define HEADLESS_SETTLE_MS	100	/* quiet time after the screen is covered */
#define HEADLESS_SETTLE_MAX_MS	1000
#define HEADLESS_MONITOR_WAIT_MS 5000	/* after the first surface: no such monitor */
#define HEADLESS_CLOSE_MS	1000	/* for the tunnels to close cleanly */
#define HEADLESS_COVERED	"paprika-covered"	/* a display channel's drawn region */
/*
 * A frame is a 60 Hz display interval in which something was drawn: what a
 * monitor could show, however many updates SPICE sent in it. The browser's
 * count in make bench-fps (animation frames with a draw) is the same.
 */
#define HEADLESS_FRAME_US	16667

typedef struct {
	GMainLoop	*loop;
	const gchar	*path;
	guint		 monitor;	/* the index asked for */
	PaprikaMonitors	*monitors;
	PaprikaMonitor	 shot;		/* the monitor being waited for */
	guint		 settle_id;
	guint		 missing_id;
	gint64		 covered_at;
	gint64		 t_start, t_spice, t_opened;
	GError		*error;
	gboolean	 saved;
	guint		 frames_seconds;	/* --frames: how long to count */
	guint		 frames_id;
	guint		 frames;
	gint64		 frame_slot;
} Headless;

/*
 * The password: first line of file, or of stdin when file is NULL or "-";
 * *totp gets the second line, the second factor's code, when there is one
 * (NULL when not).
 */
static gchar *
headless_password(const gchar *file, gchar **totp, GError **error)
{
	gchar buf[1024], code[64], *nl;
	FILE *f = stdin;

	if (file != NULL && strcmp(file, "-") != 0 && (f = fopen(file, "r")) == NULL) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_FAILED,
		    "Cannot read the password file %s: %s", file, g_strerror(errno));
		return NULL;
	}
	*totp = NULL;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	if (fgets(code, sizeof(code), f) != NULL) {
		code[strcspn(code, "\r\n")] = '\0';
		if (code[0] != '\0')
			*totp = g_strdup(code);
		explicit_bzero(code, sizeof(code));
	}
	if (f != stdin)
		fclose(f);
	if ((nl = strpbrk(buf, "\r\n")) != NULL)
		*nl = '\0';
	if (buf[0] == '\0') {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN,
		    "No password given (--password-file or stdin)");
		return NULL;
	}
	nl = g_strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return nl;
}

/* Writes the monitor's part of its channel's primary surface as an RGB PNG. */
static gboolean
headless_save(Headless *h, GError **error)
{
	const PaprikaMonitor *mon = &h->shot;
	SpiceChannel *channel = paprika_monitors_channel(h->monitors, mon);
	SpiceDisplayPrimary p;
	GdkPixbuf *pb;
	guint8 *out;
	gint x, y, ostride;
	gboolean ok;

	if (channel == NULL || !spice_display_channel_get_primary(channel, 0, &p) ||
	    mon->x + mon->width > p.width || mon->y + mon->height > p.height) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
		    "The display has no primary surface for monitor %u", h->monitor);
		return FALSE;
	}
	pb = gdk_pixbuf_new(GDK_COLORSPACE_RGB, FALSE, 8, mon->width, mon->height);
	out = gdk_pixbuf_get_pixels(pb);
	ostride = gdk_pixbuf_get_rowstride(pb);
	for (y = 0; y < mon->height; y++) {
		const guint8 *src = p.data + (gsize)(y + mon->y) * p.stride;
		guint8 *dst = out + (gsize)y * ostride;

		for (x = mon->x; x < mon->x + mon->width; x++, dst += 3) {
			if (p.format == SPICE_SURFACE_FMT_16_555 ||
			    p.format == SPICE_SURFACE_FMT_16_565) {
				guint16 v = ((const guint16 *)src)[x];
				gboolean g6 = p.format == SPICE_SURFACE_FMT_16_565;

				dst[0] = ((v >> (g6 ? 11 : 10)) & 0x1f) << 3;
				dst[1] = g6 ? ((v >> 5) & 0x3f) << 2 : ((v >> 5) & 0x1f) << 3;
				dst[2] = (v & 0x1f) << 3;
			} else {
				/* 32-bit xRGB/ARGB, little endian: B G R X */
				dst[0] = src[x * 4 + 2];
				dst[1] = src[x * 4 + 1];
				dst[2] = src[x * 4 + 0];
			}
		}
	}
	ok = gdk_pixbuf_save(pb, h->path, "png", error, NULL);
	g_object_unref(pb);
	if (!ok)
		g_prefix_error(error, "Cannot write %s: ", h->path);
	return ok;
}

/* --frames: the count is done; the rate goes to stdout. */
static gboolean
headless_frames_done(gpointer data)
{
	Headless *h = data;

	h->frames_id = 0;
	printf("frames: %u in %u s: %.1f per second\n", h->frames,
	    h->frames_seconds, (double)h->frames / h->frames_seconds);
	fflush(stdout);
	g_main_loop_quit(h->loop);
	return G_SOURCE_REMOVE;
}

static void
headless_finish(Headless *h, GError *error)
{
	if (h->error == NULL && !h->saved)
		h->error = error;
	else if (error != NULL)
		g_error_free(error);
	g_main_loop_quit(h->loop);
}

static gboolean
headless_settled(gpointer data)
{
	Headless *h = data;
	GError *error = NULL;
	gint64 now = g_get_monotonic_time();

	h->settle_id = 0;
	if (headless_save(h, &error)) {
		h->saved = TRUE;
		client_log("first frame %dx%d of monitor %u saved to %s: %.0f ms "
		    "after start, %.0f ms after the SPICE connect (broker %.0f ms; "
		    "drawn whole at %.0f ms, then %d ms of quiet)",
		    h->shot.width, h->shot.height, h->monitor, h->path,
		    (now - h->t_start) / 1000.0, (now - h->t_spice) / 1000.0,
		    (h->t_spice - h->t_start) / 1000.0,
		    (h->covered_at - h->t_spice) / 1000.0, HEADLESS_SETTLE_MS);
		if (h->frames_seconds > 0) {
			client_log("counting frames for %u s", h->frames_seconds);
			h->frames_id = g_timeout_add_seconds(h->frames_seconds,
			    headless_frames_done, h);
			return G_SOURCE_REMOVE;
		}
	}
	headless_finish(h, error);
	return G_SOURCE_REMOVE;
}

/*
 * Once the monitor asked for was drawn whole and its display marked, wait
 * for quiet, then save it.
 */
static void
headless_check(Headless *h)
{
	const PaprikaMonitor *mon = paprika_monitors_get(h->monitors, h->monitor);
	cairo_rectangle_int_t all;
	cairo_region_t *covered;
	SpiceChannel *channel;
	SpiceDisplayPrimary p;
	gint64 now = g_get_monotonic_time();

	if (mon == NULL || h->saved)
		return;
	if (memcmp(mon, &h->shot, sizeof(*mon)) != 0) {
		/* Another monitor, or it moved: wait for it afresh. */
		h->shot = *mon;
		h->covered_at = 0;
	}
	channel = paprika_monitors_channel(h->monitors, mon);
	covered = channel != NULL ? g_object_get_data(G_OBJECT(channel),
	    HEADLESS_COVERED) : NULL;
	all = (cairo_rectangle_int_t){ mon->x, mon->y, mon->width, mon->height };
	if (covered == NULL ||
	    cairo_region_contains_rectangle(covered, &all) != CAIRO_REGION_OVERLAP_IN ||
	    !spice_display_channel_get_primary(channel, 0, &p) || !p.marked)
		return;
	if (h->covered_at == 0)
		h->covered_at = now;
	if (h->settle_id != 0) {
		if ((now - h->covered_at) / 1000 >= HEADLESS_SETTLE_MAX_MS)
			return;	/* keeps changing: take it when the timer fires */
		g_source_remove(h->settle_id);
	}
	h->settle_id = g_timeout_add(HEADLESS_SETTLE_MS, headless_settled, h);
}

/* Some time after the first surface, the monitor asked for is not there. */
static gboolean
headless_missing(gpointer data)
{
	Headless *h = data;
	guint n = paprika_monitors_count(h->monitors);

	h->missing_id = 0;
	if (paprika_monitors_get(h->monitors, h->monitor) != NULL)
		return G_SOURCE_REMOVE;
	headless_finish(h, g_error_new(PAPRIKA_ERROR, PAPRIKA_ERROR_DESKTOP,
	    "The desktop has %u monitor%s: there is no monitor %u "
	    "(monitors count from 0)", n, n == 1 ? "" : "s", h->monitor));
	return G_SOURCE_REMOVE;
}

static void
headless_primary_create(SpiceChannel *channel, gint format, gint width,
    gint height, gint stride, gint shmid, gpointer imgdata, gpointer data)
{
	Headless *h = data;
	gint id;

	g_object_get(channel, "channel-id", &id, NULL);
	g_object_set_data_full(G_OBJECT(channel), HEADLESS_COVERED,
	    cairo_region_create(), (GDestroyNotify)cairo_region_destroy);
	h->covered_at = 0;
	if (h->missing_id == 0 && !h->saved)
		h->missing_id = g_timeout_add(HEADLESS_MONITOR_WAIT_MS,
		    headless_missing, h);
	client_log("display %d: primary surface %dx%d", id, width, height);
}

static void
headless_invalidate(SpiceChannel *channel, gint x, gint y, gint w, gint height,
    gpointer data)
{
	Headless *h = data;
	cairo_region_t *covered = g_object_get_data(G_OBJECT(channel), HEADLESS_COVERED);
	cairo_rectangle_int_t r = { x, y, w, height };
	gint64 slot;

	if (h->frames_id != 0) {
		slot = g_get_monotonic_time() / HEADLESS_FRAME_US;
		if (slot != h->frame_slot) {
			h->frames++;
			h->frame_slot = slot;
		}
		return;
	}
	if (covered == NULL)
		return;
	cairo_region_union_rectangle(covered, &r);
	headless_check(data);
}

static void
headless_mark(SpiceChannel *channel, gint mark, gpointer data)
{
	/* A mark after the drawing: count the drawn screen from here. */
	if (mark)
		headless_check(data);
}

static void
headless_monitors_changed(PaprikaMonitors *m, gpointer data)
{
	client_log("display: %u monitor%s", paprika_monitors_count(m),
	    paprika_monitors_count(m) == 1 ? "" : "s");
	headless_check(data);
}

static void
headless_channel_new(SpiceSession *spice, SpiceChannel *channel, gpointer data)
{
	Headless *h = data;

	if (!SPICE_IS_DISPLAY_CHANNEL(channel))
		return;
	g_signal_connect(channel, "display-primary-create",
	    G_CALLBACK(headless_primary_create), h);
	g_signal_connect(channel, "display-invalidate",
	    G_CALLBACK(headless_invalidate), h);
	g_signal_connect(channel, "display-mark", G_CALLBACK(headless_mark), h);
}

static void
headless_opened(PaprikaSession *s, gpointer data)
{
	Headless *h = data;

	h->t_opened = g_get_monotonic_time();
	client_log("SPICE session open after %.0f ms",
	    (h->t_opened - h->t_spice) / 1000.0);
}

static void
headless_failed(PaprikaSession *s, GError *error, gpointer data)
{
	headless_finish(data, g_error_copy(error));
}

static void
headless_closed(PaprikaSession *s, gpointer data)
{
	headless_finish(data, g_error_new(PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
	    "The desktop closed the connection before its first frame"));
}

static gboolean
headless_timeout(gpointer data)
{
	headless_finish(data, g_error_new(PAPRIKA_ERROR, PAPRIKA_ERROR_TIMEOUT,
	    "No frame from the desktop in time"));
	return G_SOURCE_REMOVE;
}

static gboolean
headless_tick(gpointer data)
{
	return G_SOURCE_CONTINUE;
}

/* Lets the session's tunnels close cleanly (TLS close_notify), briefly. */
static void
headless_drain(PaprikaSession *session)
{
	gint64 deadline = g_get_monotonic_time() + HEADLESS_CLOSE_MS * 1000;
	guint tick = g_timeout_add(50, headless_tick, NULL);

	while (paprika_session_closing(session) && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(tick);
}

/* Chooses the desktop: the one asked for, else the first. */
static const PaprikaDesktop *
headless_pick(GPtrArray *list, const gchar *want, GError **error)
{
	guint i;

	for (i = 0; i < list->len; i++) {
		const PaprikaDesktop *d = g_ptr_array_index(list, i);

		if (want == NULL || strcmp(d->id, want) == 0)
			return d;
	}
	g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_DESKTOP,
	    "You have no desktop \"%s\"", want);
	return NULL;
}

int
headless_run(ClientConfig *cfg, const gchar *screenshot, const gchar *password_file,
    guint timeout, gboolean logout, guint monitor, guint frames_seconds)
{
	Headless h = { 0 };
	PaprikaBroker *broker = NULL;
	PaprikaSession *session = NULL;
	PaprikaConnection *conn = NULL;
	PaprikaProgress progress = { 0 };
	GPtrArray *list = NULL;
	const PaprikaDesktop *d;
	GError *error = NULL;
	gchar *password = NULL, *totp = NULL;
	gint64 deadline;
	guint timer;
	int status;

	h.t_start = g_get_monotonic_time();
	deadline = h.t_start + (gint64)timeout * G_USEC_PER_SEC;
	h.path = screenshot;
	h.monitor = monitor;
	h.frames_seconds = frames_seconds;
	h.shot.channel = -1;
	if (cfg->user == NULL) {
		g_set_error(&error, PAPRIKA_ERROR, PAPRIKA_ERROR_LOGIN,
		    "No user name: give one with --user");
		goto out;
	}
	if ((password = headless_password(password_file, &totp, &error)) == NULL)
		goto out;
	if ((broker = paprika_broker_new(cfg->broker_url, cfg->ca_file, &error)) == NULL)
		goto out;
	client_log("logging in to %s as %s", cfg->broker_url, cfg->user);
	if (!paprika_broker_login(broker, cfg->user, password, totp, NULL, &error))
		goto out;
	if ((list = paprika_broker_desktops(broker, NULL, &error)) == NULL)
		goto out;
	if ((d = headless_pick(list, cfg->desktop, &error)) == NULL)
		goto out;
	client_log("connecting to %s (%s)", d->id, d->title);
	while ((conn = paprika_broker_connect(broker, d->id, &progress, NULL,
	    &error)) == NULL) {
		if (error != NULL)
			goto out;
		client_log("starting: %d%% %s", progress.progress, progress.step);
		if (g_get_monotonic_time() > deadline) {
			g_set_error(&error, PAPRIKA_ERROR, PAPRIKA_ERROR_TIMEOUT,
			    "The desktop did not start in time (%d%% %s)",
			    progress.progress, progress.step);
			goto out;
		}
	}

	h.t_spice = g_get_monotonic_time();
	client_log("desktop ready after %.0f ms: SPICE through %s",
	    (h.t_spice - h.t_start) / 1000.0, conn->proxy);
	h.loop = g_main_loop_new(NULL, FALSE);
	session = paprika_session_new(conn, paprika_broker_get_ca(broker), FALSE);
	g_signal_connect(paprika_session_get_spice(session), "channel-new",
	    G_CALLBACK(headless_channel_new), &h);
	h.monitors = paprika_monitors_new(paprika_session_get_spice(session));
	g_signal_connect(h.monitors, "changed", G_CALLBACK(headless_monitors_changed), &h);
	g_signal_connect(session, "opened", G_CALLBACK(headless_opened), &h);
	g_signal_connect(session, "failed", G_CALLBACK(headless_failed), &h);
	g_signal_connect(session, "closed", G_CALLBACK(headless_closed), &h);
	timer = g_timeout_add(MAX((deadline - g_get_monotonic_time()) / 1000, 1),
	    headless_timeout, &h);
	paprika_session_connect(session);
	g_main_loop_run(h.loop);
	g_source_remove(timer);
	if (h.settle_id != 0)
		g_source_remove(h.settle_id);
	if (h.missing_id != 0)
		g_source_remove(h.missing_id);
	if (h.frames_id != 0)
		g_source_remove(h.frames_id);
	error = h.error;
	h.error = NULL;
	paprika_session_disconnect(session);
	headless_drain(session);
out:
	if (broker != NULL && paprika_broker_logged_in(broker) && logout) {
		GError *lerr = NULL;

		if (!paprika_broker_logout(broker, NULL, &lerr)) {
			client_log("logout: %s", lerr->message);
			g_error_free(lerr);
		}
	}
	if (error != NULL) {
		g_printerr("paprika-client: %s\n", error->message);
		status = error->domain == PAPRIKA_ERROR ? error->code : PAPRIKA_ERROR_FAILED;
		g_error_free(error);
	} else
		status = 0;
	g_clear_object(&session);
	g_clear_object(&h.monitors);
	g_clear_pointer(&h.loop, g_main_loop_unref);
	paprika_connection_free(conn);
	g_clear_pointer(&list, g_ptr_array_unref);
	g_clear_object(&broker);
	g_free(progress.step);
	if (totp != NULL) {
		explicit_bzero(totp, strlen(totp));
		g_free(totp);
	}
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		g_free(password);
	}
	return status;
}
