/* SPDX-License-Identifier: ISC */
/*
 * PaprikaMonitors: the monitors of a SPICE session in the order a user
 * counts them: display channel by display channel (id 0 first), and within
 * a channel the monitors of its configuration. A desktop has several
 * monitors either as several display channels (a guest with several video
 * devices) or as several monitors of one channel (one device with several
 * heads). A monitor counts while its channel has a primary surface and the
 * guest gives it a size: a monitor the guest turns off leaves the list.
 * "changed" is emitted whenever the list changed.
 */
#include <string.h>

#include <spice-client.h>

#include "client.h"

struct _PaprikaMonitors {
	GObject		 parent;
	SpiceSession	*spice;
	GPtrArray	*channels;	/* SpiceDisplayChannel, referenced */
	GArray		*list;		/* PaprikaMonitor */
};

enum { SIGNAL_CHANGED, SIGNAL_LAST };
static guint monitors_signals[SIGNAL_LAST];

G_DEFINE_TYPE(PaprikaMonitors, paprika_monitors, G_TYPE_OBJECT)

static void
paprika_monitors_dispose(GObject *obj)
{
	PaprikaMonitors *m = PAPRIKA_MONITORS(obj);
	guint i;

	if (m->spice != NULL)
		g_signal_handlers_disconnect_by_data(m->spice, m);
	for (i = 0; m->channels != NULL && i < m->channels->len; i++)
		g_signal_handlers_disconnect_by_data(g_ptr_array_index(m->channels, i), m);
	g_clear_pointer(&m->channels, g_ptr_array_unref);
	g_clear_pointer(&m->list, g_array_unref);
	g_clear_object(&m->spice);
	G_OBJECT_CLASS(paprika_monitors_parent_class)->dispose(obj);
}

static void
paprika_monitors_class_init(PaprikaMonitorsClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = paprika_monitors_dispose;
	monitors_signals[SIGNAL_CHANGED] = g_signal_new("changed",
	    G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
	    G_TYPE_NONE, 0);
}

static void
paprika_monitors_init(PaprikaMonitors *m)
{
	m->channels = g_ptr_array_new_with_free_func(g_object_unref);
	m->list = g_array_new(FALSE, TRUE, sizeof(PaprikaMonitor));
}

static gint
monitors_channel_id(gconstpointer channel)
{
	gint id;

	g_object_get((gpointer)channel, "channel-id", &id, NULL);
	return id;
}

static gint
monitors_by_id(gconstpointer a, gconstpointer b)
{
	return monitors_channel_id(*(gpointer const *)a) -
	    monitors_channel_id(*(gpointer const *)b);
}

/* Appends channel's live monitors to list. */
static void
monitors_of_channel(SpiceChannel *channel, GArray *list)
{
	SpiceDisplayPrimary p;
	GArray *configs = NULL;
	PaprikaMonitor mon;
	guint i;

	if (!spice_display_channel_get_primary(channel, 0, &p))
		return;
	mon.channel = monitors_channel_id(channel);
	g_object_get(channel, "monitors", &configs, NULL);
	if (configs == NULL || configs->len == 0) {
		/* No configuration (yet): the primary surface is the monitor. */
		mon.id = 0;
		mon.x = mon.y = 0;
		mon.width = p.width;
		mon.height = p.height;
		g_array_append_val(list, mon);
	}
	for (i = 0; configs != NULL && i < configs->len; i++) {
		SpiceDisplayMonitorConfig *c =
		    &g_array_index(configs, SpiceDisplayMonitorConfig, i);

		if (c->width == 0 || c->height == 0)
			continue;	/* turned off */
		mon.id = (gint)c->id;
		mon.x = (gint)c->x;
		mon.y = (gint)c->y;
		mon.width = (gint)c->width;
		mon.height = (gint)c->height;
		g_array_append_val(list, mon);
	}
	if (configs != NULL)
		g_array_unref(configs);
}

static void
monitors_update(PaprikaMonitors *m)
{
	GArray *list = g_array_new(FALSE, TRUE, sizeof(PaprikaMonitor));
	guint i;

	g_ptr_array_sort(m->channels, monitors_by_id);
	for (i = 0; i < m->channels->len; i++)
		monitors_of_channel(g_ptr_array_index(m->channels, i), list);
	if (list->len == m->list->len && (list->len == 0 ||
	    memcmp(list->data, m->list->data, list->len * sizeof(PaprikaMonitor)) == 0)) {
		g_array_unref(list);
		return;
	}
	g_array_unref(m->list);
	m->list = list;
	g_signal_emit(m, monitors_signals[SIGNAL_CHANGED], 0);
}

static void
monitors_notify(GObject *channel, GParamSpec *pspec, gpointer data)
{
	monitors_update(data);
}

static void
monitors_primary(SpiceChannel *channel, gpointer data)
{
	monitors_update(data);
}

static void
monitors_primary_create(SpiceChannel *channel, gint format, gint width,
    gint height, gint stride, gint shmid, gpointer imgdata, gpointer data)
{
	monitors_update(data);
}

static void
monitors_channel_new(SpiceSession *spice, SpiceChannel *channel, gpointer data)
{
	PaprikaMonitors *m = data;

	if (!SPICE_IS_DISPLAY_CHANNEL(channel))
		return;
	g_ptr_array_add(m->channels, g_object_ref(channel));
	/* After spice-gtk's own handlers: the surface is there or gone. */
	g_signal_connect_after(channel, "display-primary-create",
	    G_CALLBACK(monitors_primary_create), m);
	g_signal_connect_after(channel, "display-primary-destroy",
	    G_CALLBACK(monitors_primary), m);
	g_signal_connect(channel, "notify::monitors", G_CALLBACK(monitors_notify), m);
}

static void
monitors_channel_destroy(SpiceSession *spice, SpiceChannel *channel, gpointer data)
{
	PaprikaMonitors *m = data;

	if (!SPICE_IS_DISPLAY_CHANNEL(channel))
		return;
	g_signal_handlers_disconnect_by_data(channel, m);
	g_ptr_array_remove(m->channels, channel);
	monitors_update(m);
}

/* The monitors of spice (a SpiceSession), followed from now on. */
PaprikaMonitors *
paprika_monitors_new(gpointer spice)
{
	PaprikaMonitors *m = g_object_new(PAPRIKA_TYPE_MONITORS, NULL);

	m->spice = g_object_ref(spice);
	g_signal_connect(spice, "channel-new", G_CALLBACK(monitors_channel_new), m);
	g_signal_connect(spice, "channel-destroy",
	    G_CALLBACK(monitors_channel_destroy), m);
	return m;
}

guint
paprika_monitors_count(PaprikaMonitors *m)
{
	return m->list->len;
}

/* Monitor index (from 0), or NULL when the desktop has no such monitor now. */
const PaprikaMonitor *
paprika_monitors_get(PaprikaMonitors *m, guint index)
{
	if (index >= m->list->len)
		return NULL;
	return &g_array_index(m->list, PaprikaMonitor, index);
}

/* The display channel of a monitor (not referenced), or NULL. */
gpointer
paprika_monitors_channel(PaprikaMonitors *m, const PaprikaMonitor *mon)
{
	guint i;

	for (i = 0; i < m->channels->len; i++)
		if (monitors_channel_id(g_ptr_array_index(m->channels, i)) == mon->channel)
			return g_ptr_array_index(m->channels, i);
	return NULL;
}
