/* SPDX-License-Identifier: ISC */
/*
 * PaprikaBroker's calls on GTask's thread pool, for the window: each runs
 * the blocking call of broker.c on a worker thread with its own copies of
 * the arguments (secrets wiped when the task ends) and completes on the
 * caller's main context.
 */
#include <string.h>

#include "client.h"

typedef struct {
	gchar		*user;
	gchar		*password;
	gchar		*totp;
	gchar		*id;
	PaprikaProgress	 progress;
} BrokerTaskData;

static void
broker_task_data_free(BrokerTaskData *d)
{
	g_free(d->user);
	paprika_free_secret(d->password);
	paprika_free_secret(d->totp);
	g_free(d->id);
	g_free(d->progress.step);
	g_free(d);
}

static GTask *
broker_task(PaprikaBroker *b, GCancellable *cancel, GAsyncReadyCallback cb,
    gpointer user_data, gpointer tag)
{
	GTask *task = g_task_new(b, cancel, cb, user_data);

	g_task_set_source_tag(task, tag);
	g_task_set_task_data(task, g_new0(BrokerTaskData, 1),
	    (GDestroyNotify)broker_task_data_free);
	return task;
}

static void
broker_login_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
	BrokerTaskData *d = data;
	GError *error = NULL;

	if (paprika_broker_login(src, d->user, d->password, d->totp, cancel,
	    &error))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, error);
}

void
paprika_broker_login_async(PaprikaBroker *b, const gchar *user, const gchar *password,
    const gchar *totp, GCancellable *cancel, GAsyncReadyCallback cb,
    gpointer user_data)
{
	GTask *task = broker_task(b, cancel, cb, user_data, paprika_broker_login_async);
	BrokerTaskData *d = g_task_get_task_data(task);

	d->user = g_strdup(user);
	d->password = g_strdup(password);
	d->totp = g_strdup(totp);
	g_task_run_in_thread(task, broker_login_thread);
	g_object_unref(task);
}

gboolean
paprika_broker_login_finish(PaprikaBroker *b, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

static void
broker_desktops_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
	GError *error = NULL;
	GPtrArray *list;

	if ((list = paprika_broker_desktops(src, cancel, &error)) != NULL)
		g_task_return_pointer(task, list, (GDestroyNotify)g_ptr_array_unref);
	else
		g_task_return_error(task, error);
}

void
paprika_broker_desktops_async(PaprikaBroker *b, GCancellable *cancel,
    GAsyncReadyCallback cb, gpointer user_data)
{
	GTask *task = broker_task(b, cancel, cb, user_data, paprika_broker_desktops_async);

	g_task_run_in_thread(task, broker_desktops_thread);
	g_object_unref(task);
}

GPtrArray *
paprika_broker_desktops_finish(PaprikaBroker *b, GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

static void
broker_connect_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
	BrokerTaskData *d = data;
	GError *error = NULL;
	PaprikaConnection *c;

	c = paprika_broker_connect(src, d->id, &d->progress, cancel, &error);
	if (error != NULL)
		g_task_return_error(task, error);
	else
		g_task_return_pointer(task, c, (GDestroyNotify)paprika_connection_free);
}

void
paprika_broker_connect_async(PaprikaBroker *b, const gchar *id, GCancellable *cancel,
    GAsyncReadyCallback cb, gpointer user_data)
{
	GTask *task = broker_task(b, cancel, cb, user_data, paprika_broker_connect_async);
	BrokerTaskData *d = g_task_get_task_data(task);

	d->id = g_strdup(id);
	g_task_run_in_thread(task, broker_connect_thread);
	g_object_unref(task);
}

/* As paprika_broker_connect(): NULL and no error means "still starting". */
PaprikaConnection *
paprika_broker_connect_finish(PaprikaBroker *b, GAsyncResult *res,
    PaprikaProgress *progress, GError **error)
{
	BrokerTaskData *d = g_task_get_task_data(G_TASK(res));

	progress->progress = d->progress.progress;
	g_free(progress->step);
	progress->step = g_strdup(d->progress.step);
	return g_task_propagate_pointer(G_TASK(res), error);
}

static void
broker_reset_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
	BrokerTaskData *d = data;
	GError *error = NULL;

	if (paprika_broker_reset(src, d->id, cancel, &error))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, error);
}

void
paprika_broker_reset_async(PaprikaBroker *b, const gchar *id, GCancellable *cancel,
    GAsyncReadyCallback cb, gpointer user_data)
{
	GTask *task = broker_task(b, cancel, cb, user_data, paprika_broker_reset_async);
	BrokerTaskData *d = g_task_get_task_data(task);

	d->id = g_strdup(id);
	g_task_run_in_thread(task, broker_reset_thread);
	g_object_unref(task);
}

gboolean
paprika_broker_reset_finish(PaprikaBroker *b, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

static void
broker_logout_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
	GError *error = NULL;

	if (paprika_broker_logout(src, cancel, &error))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, error);
}

void
paprika_broker_logout_async(PaprikaBroker *b, GCancellable *cancel,
    GAsyncReadyCallback cb, gpointer user_data)
{
	GTask *task = broker_task(b, cancel, cb, user_data, paprika_broker_logout_async);

	g_task_run_in_thread(task, broker_logout_thread);
	g_object_unref(task);
}

gboolean
paprika_broker_logout_finish(PaprikaBroker *b, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}
