/* SPDX-License-Identifier: ISC */
/*
 * PaprikaTunnel: the client's own transport to an https:// gateway, for
 * spice-gtk's client-sockets. GLib's https proxy trusts only the system's
 * CAs; this one trusts the deployment's CA (the broker's --ca). Per SPICE
 * channel, on a worker thread: TCP and TLS to the gateway, verified as
 * host:port of the proxy URL; CONNECT ticket:port; then the SPICE TLS to
 * QEMU inside the tunnel, verified against the broker's SPICE CA and host
 * subject (spice-gtk does no TLS on a socket it is given). Back on the main
 * loop, spice-gtk gets one end of a socketpair and a splice pumps the other
 * end to the inner TLS until either side ends.
 *
 * The channels spice-gtk opens after main (paprika_tunnel_set_ahead) are
 * opened ahead, as soon as main's tunnel has its desktop TLS: the gateway's
 * TLS 1.3 session tickets come right behind its CONNECT answer, so by the
 * time the desktop's TLS has been read through the tunnel they are in and
 * the others resume them; their setup overlaps main's SPICE link and
 * channel list.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "client.h"
#include "dn.h"

#define TUNNEL_MAX_ANSWER	4096	/* the gateway's answer to CONNECT, headers */
#define TUNNEL_MAX_REASON	256	/* the part of a refusal's body we show */
#define TUNNEL_SETUP_TIMEOUT	CLIENT_HTTP_TIMEOUT	/* seconds, all of a channel's setup */

struct _PaprikaTunnel {
	GObject		 parent;
	gchar		*gateway;	/* host:port, for messages */
	GSocketConnectable *address;	/* the gateway: TCP and its TLS identity */
	GTlsDatabase	*gateway_ca;	/* or NULL: the system's CAs */
	gchar		*request;	/* CONNECT ... \r\n\r\n (may hold a ticket) */
	GPtrArray	*spice_ca;	/* GTlsCertificate, or NULL: the system's CAs */
	GPtrArray	*subject;	/* host_subject, paprika_dn_parse */
	gchar		*subject_text;
	GCancellable	*cancel;	/* every open under way */
	guint		 relays;	/* relaying now */
	gchar	       **ahead_channels; /* to open ahead, or NULL */
	gint		 ahead_started;	/* atomic: the ahead opens were started */
	GHashTable	*ahead;		/* channel → TunnelAhead, not asked for yet */
};

/* A channel's tunnel opened ahead of spice-gtk's asking (main loop only). */
typedef struct {
	PaprikaTunnel	*tunnel;
	GAsyncResult	*res;		/* once done: the open's GTask */
	GAsyncReadyCallback cb;		/* once asked for: who wants it */
	gpointer	 data;
} TunnelAhead;

G_DEFINE_TYPE(PaprikaTunnel, paprika_tunnel, G_TYPE_OBJECT)

/* One attribute of a distinguished name, key upper-cased, value canonical. */
/* One channel's relay, while it runs. */
typedef struct {
	PaprikaTunnel	*tunnel;
	gchar		*channel;
} TunnelRelay;

/* What one channel's setup found out, for the log line. */
typedef struct {
	gchar		*channel;
	gboolean	 ahead;		/* opened before spice-gtk asked */
	gint64		 started;
	gint64		 tcp, outer_tls, answer, inner_tls; /* each step's end */
	GTlsProtocolVersion outer, inner;
	GIOStream	*stream;	/* the inner TLS: plain SPICE on our side */
} TunnelOpen;

static void
tunnel_open_free(TunnelOpen *o)
{
	g_free(o->channel);
	g_clear_object(&o->stream);
	g_free(o);
}

static void
tunnel_ahead_free(TunnelAhead *a)
{
	g_clear_object(&a->res);
	g_free(a);
}

static void
paprika_tunnel_finalize(GObject *obj)
{
	PaprikaTunnel *t = PAPRIKA_TUNNEL(obj);

	/* No ahead open runs now: each one's GTask holds the tunnel. */
	g_hash_table_unref(t->ahead);
	g_strfreev(t->ahead_channels);
	g_cancellable_cancel(t->cancel);
	g_object_unref(t->cancel);
	g_free(t->gateway);
	g_clear_object(&t->address);
	g_clear_object(&t->gateway_ca);
	if (t->request != NULL)
		explicit_bzero(t->request, strlen(t->request));
	g_free(t->request);
	g_clear_pointer(&t->spice_ca, g_ptr_array_unref);
	g_clear_pointer(&t->subject, g_ptr_array_unref);
	g_free(t->subject_text);
	G_OBJECT_CLASS(paprika_tunnel_parent_class)->finalize(obj);
}

static void
paprika_tunnel_class_init(PaprikaTunnelClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = paprika_tunnel_finalize;
}

static void
paprika_tunnel_init(PaprikaTunnel *t)
{
	t->cancel = g_cancellable_new();
	t->ahead = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    (GDestroyNotify)tunnel_ahead_free);
}

/* TRUE when proxy is a gateway that this transport, not spice-gtk, serves. */
gboolean
paprika_tunnel_wanted(const gchar *proxy)
{
	return proxy != NULL && g_ascii_strncasecmp(proxy, "https://", 8) == 0;
}

/* --- certificates ------------------------------------------------------- */

/* What is wrong with a certificate, in words (flags from GLib). */
static const gchar *
tunnel_cert_problem(GTlsCertificateFlags flags)
{
	if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
		return "its certificate is not signed by a CA this client trusts";
	if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
		return "its certificate is for another name";
	if (flags & G_TLS_CERTIFICATE_EXPIRED)
		return "its certificate has expired";
	if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
		return "its certificate is not valid yet";
	if (flags & G_TLS_CERTIFICATE_REVOKED)
		return "its certificate was revoked";
	if (flags & G_TLS_CERTIFICATE_INSECURE)
		return "its certificate uses an insecure algorithm";
	return "its certificate cannot be verified";
}

/* The certificates of a PEM text, or NULL when it has none. */
static GPtrArray *
tunnel_pem_certs(const gchar *pem)
{
	static const gchar end[] = "-----END CERTIFICATE-----";
	GPtrArray *list = g_ptr_array_new_with_free_func(g_object_unref);
	const gchar *p = pem, *e;

	while ((e = strstr(p, end)) != NULL) {
		gchar *one = g_strndup(p, (gsize)(e - p) + sizeof(end) - 1);
		GTlsCertificate *c = g_tls_certificate_new_from_pem(one, -1, NULL);

		g_free(one);
		if (c != NULL)
			g_ptr_array_add(list, c);
		p = e + sizeof(end) - 1;
	}
	if (list->len == 0)
		g_clear_pointer(&list, g_ptr_array_unref);
	return list;
}

/*
 * The desktop's certificate as spice-gtk checks it with ca and
 * cert-subject: the chain verifies against the SPICE CA, and the subject
 * is host_subject exactly. NULL when it passes, else why not (to free).
 */
static gchar *
tunnel_spice_cert_problem(PaprikaTunnel *t, GTlsCertificate *peer)
{
	GTlsCertificateFlags flags = G_TLS_CERTIFICATE_UNKNOWN_CA;
	GPtrArray *subject;
	gchar *name, *why = NULL;
	guint i;

	if (peer == NULL)
		return g_strdup("it sent no certificate");
	if (t->spice_ca != NULL) {
		for (i = 0; i < t->spice_ca->len && flags != 0; i++)
			flags = g_tls_certificate_verify(peer, NULL,
			    g_ptr_array_index(t->spice_ca, i));
	} else {
		GTlsDatabase *db = paprika_broker_system_ca();

		if (db != NULL) {
			flags = g_tls_database_verify_chain(db, peer,
			    G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, NULL, NULL,
			    G_TLS_DATABASE_VERIFY_NONE, NULL, NULL);
			g_object_unref(db);
		}
	}
	if (flags != 0)
		return g_strdup(tunnel_cert_problem(flags));
	name = g_tls_certificate_get_subject_name(peer);
	subject = name != NULL ? paprika_dn_parse(name, TRUE) : NULL;
	if (!paprika_dn_equal(subject, t->subject))
		why = g_strdup_printf("its certificate is for \"%s\", not \"%s\"",
		    name != NULL ? name : "?", t->subject_text);
	g_clear_pointer(&subject, g_ptr_array_unref);
	g_free(name);
	return why;
}

/* Records the flags GLib found; GLib's verdict stands. */
static gboolean
tunnel_gateway_cert(GTlsConnection *conn, GTlsCertificate *peer,
    GTlsCertificateFlags errors, gpointer data)
{
	*(GTlsCertificateFlags *)data = errors;
	return FALSE;
}

/* Our verdict instead of GLib's: it checks a host name, we a subject. */
static gboolean
tunnel_desktop_cert(GTlsConnection *conn, GTlsCertificate *peer,
    GTlsCertificateFlags errors, gpointer data)
{
	gchar **why = data;

	g_free(*why);
	*why = tunnel_spice_cert_problem(g_object_get_data(G_OBJECT(conn),
	    "paprika-tunnel"), peer);
	return *why == NULL;
}

static gboolean
tunnel_version_ok(GTlsProtocolVersion v)
{
	return v >= G_TLS_PROTOCOL_VERSION_TLS_1_2 && v < G_TLS_PROTOCOL_VERSION_DTLS_1_0;
}

static const gchar *
tunnel_version_name(GTlsProtocolVersion v)
{
	switch (v) {
	case G_TLS_PROTOCOL_VERSION_TLS_1_2:
		return "TLS 1.2";
	case G_TLS_PROTOCOL_VERSION_TLS_1_3:
		return "TLS 1.3";
	default:
		return "TLS";
	}
}

/* --- setting up one channel's tunnel (worker thread) -------------------- */

static gboolean	 tunnel_ahead_start(gpointer);

/* Why the gateway refused, from its status and the reason in its body. */
static void
tunnel_refused(PaprikaTunnel *t, guint status, const gchar *reason, GError **error)
{
	/* docs/gateway.md, "Answers". */
	static const struct {
		guint		 status;
		const gchar	*why;
	} words[] = {
		{ 403, "The gateway refused the desktop's ticket" },
		{ 407, "The gateway wants a ticket and got none" },
		{ 502, "The gateway cannot reach the desktop" },
		{ 503, "The gateway is at its limit of connections: try again later" },
		{ 504, "The desktop did not answer the gateway in time" },
	};
	gsize i;

	for (i = 0; i < G_N_ELEMENTS(words); i++)
		if (words[i].status == status) {
			g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE, "%s (%s)",
			    words[i].why, reason);
			return;
		}
	g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
	    "The gateway at %s refused the connection (HTTP %u): %s",
	    t->gateway, status, reason);
}

/* A failed read or write with the gateway, in words. */
static void
tunnel_io_error(PaprikaTunnel *t, GError *cause, GError **error)
{
	if (g_error_matches(cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		g_propagate_error(error, cause);
	else {
		if (g_error_matches(cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
			g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
			    "Cannot reach the desktop through the gateway: "
			    "the gateway at %s does not answer", t->gateway);
		else
			g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
			    "Cannot reach the desktop through the gateway at %s: %s",
			    t->gateway, cause->message);
		g_error_free(cause);
	}
}

/*
 * Reads the gateway's answer to CONNECT a byte at a time (what follows it
 * is the desktop's), within the limits; TRUE when it is 200.
 */
static gboolean
tunnel_read_answer(PaprikaTunnel *t, GInputStream *in, gint64 deadline,
    GCancellable *cancel, GError **error)
{
	gchar buf[TUNNEL_MAX_ANSWER + 1], reason[TUNNEL_MAX_REASON + 1];
	gchar **lines, **l;
	GError *err = NULL;
	gsize len = 0, got = 0, i;
	guint64 status, body = 0;

	while (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0) {
		if (len == TUNNEL_MAX_ANSWER) {
			g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
			    "The gateway at %s answered with too long a header", t->gateway);
			return FALSE;
		}
		if (g_get_monotonic_time() > deadline) {
			g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
			    "Cannot reach the desktop through the gateway: "
			    "the gateway at %s does not answer", t->gateway);
			return FALSE;
		}
		if (!g_input_stream_read_all(in, buf + len, 1, &got, cancel, &err)) {
			tunnel_io_error(t, err, error);
			return FALSE;
		}
		if (got == 0) {
			g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
			    "Cannot reach the desktop through the gateway at %s: "
			    "it closed the connection", t->gateway);
			return FALSE;
		}
		len++;
	}
	buf[len] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) != 0 || !g_ascii_isdigit(buf[7]) ||
	    buf[8] != ' ' || !g_ascii_isdigit(buf[9]) || !g_ascii_isdigit(buf[10]) ||
	    !g_ascii_isdigit(buf[11]) || (buf[12] != ' ' && buf[12] != '\r')) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
		    "The gateway at %s did not answer in HTTP", t->gateway);
		return FALSE;
	}
	status = (guint64)g_ascii_strtoull(buf + 9, NULL, 10);
	if (status == 200)
		return TRUE;

	/* A refusal: its one-line reason is the body, if it says how long. */
	lines = g_strsplit(buf, "\r\n", -1);
	for (l = lines + 1; *l != NULL; l++)
		if (g_ascii_strncasecmp(*l, "Content-Length:", 15) == 0)
			g_ascii_string_to_unsigned(g_strstrip(*l + 15), 10, 0,
			    G_MAXUINT32, &body, NULL);
	g_strfreev(lines);
	got = 0;
	if (body > 0)
		g_input_stream_read_all(in, reason, MIN(body, TUNNEL_MAX_REASON),
		    &got, cancel, NULL);
	reason[got] = '\0';
	for (i = 0; i < got; i++)
		if (!g_ascii_isprint(reason[i]))
			reason[i] = reason[i] == '\n' || reason[i] == '\r' ? '\0' : '?';
	tunnel_refused(t, (guint)status, *reason != '\0' ? reason : "no reason given",
	    error);
	return FALSE;
}

/* The system's CAs for tls, not the process's default database. */
static void
tunnel_set_system_ca(GIOStream *tls)
{
	GTlsDatabase *db = paprika_broker_system_ca();

	g_tls_connection_set_database(G_TLS_CONNECTION(tls), db);
	g_clear_object(&db);
}

/* TLS to the gateway, verified against the deployment's CA. */
static GIOStream *
tunnel_gateway_tls(PaprikaTunnel *t, GIOStream *tcp, GTlsProtocolVersion *v,
    GCancellable *cancel, GError **error)
{
	GTlsCertificateFlags flags = 0;
	GIOStream *tls;
	GError *err = NULL;

	if ((tls = g_tls_client_connection_new(tcp, t->address, &err)) == NULL) {
		tunnel_io_error(t, err, error);
		return NULL;
	}
	if (t->gateway_ca != NULL)
		g_tls_connection_set_database(G_TLS_CONNECTION(tls), t->gateway_ca);
	else
		tunnel_set_system_ca(tls);
	g_signal_connect(tls, "accept-certificate", G_CALLBACK(tunnel_gateway_cert), &flags);
	if (!g_tls_connection_handshake(G_TLS_CONNECTION(tls), cancel, &err)) {
		if (flags != 0 && !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
			    "The gateway at %s is not trusted: %s "
			    "(is the right CA given with --ca?)", t->gateway,
			    tunnel_cert_problem(flags));
			g_error_free(err);
		} else
			tunnel_io_error(t, err, error);
		g_object_unref(tls);
		return NULL;
	}
	g_signal_handlers_disconnect_by_data(tls, &flags);
	*v = g_tls_connection_get_protocol_version(G_TLS_CONNECTION(tls));
	if (!tunnel_version_ok(*v)) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
		    "The gateway at %s speaks only TLS older than 1.2", t->gateway);
		g_object_unref(tls);
		return NULL;
	}
	return tls;
}

/* The SPICE TLS to the desktop, inside the tunnel. */
static GIOStream *
tunnel_desktop_tls(PaprikaTunnel *t, GIOStream *tunnel, GTlsProtocolVersion *v,
    GCancellable *cancel, GError **error)
{
	GIOStream *tls;
	GError *err = NULL;
	gchar *why = NULL;

	if ((tls = g_tls_client_connection_new(tunnel, NULL, &err)) == NULL) {
		tunnel_io_error(t, err, error);
		return NULL;
	}
	if (t->spice_ca == NULL)
		tunnel_set_system_ca(tls);
	g_object_set_data(G_OBJECT(tls), "paprika-tunnel", t);
	g_signal_connect(tls, "accept-certificate", G_CALLBACK(tunnel_desktop_cert), &why);
	if (!g_tls_connection_handshake(G_TLS_CONNECTION(tls), cancel, &err)) {
		g_signal_handlers_disconnect_by_data(tls, &why);
		if (why != NULL && !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
			    "The desktop's TLS connection failed: %s", why);
			g_error_free(err);
		} else if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
			    "The desktop's TLS connection failed: %s", err->message);
			g_error_free(err);
		} else
			g_propagate_error(error, err);
		g_free(why);
		g_object_unref(tls);
		return NULL;
	}
	g_signal_handlers_disconnect_by_data(tls, &why);
	g_free(why);
	/* Where GLib accepted it without asking us, check it all the same. */
	why = tunnel_spice_cert_problem(t,
	    g_tls_connection_get_peer_certificate(G_TLS_CONNECTION(tls)));
	*v = g_tls_connection_get_protocol_version(G_TLS_CONNECTION(tls));
	if (why == NULL && !tunnel_version_ok(*v))
		why = g_strdup("it speaks only TLS older than 1.2");
	if (why != NULL) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_SPICE,
		    "The desktop's TLS connection failed: %s", why);
		g_free(why);
		g_object_unref(tls);
		return NULL;
	}
	return tls;
}

static void
tunnel_open_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
	PaprikaTunnel *t = src;
	TunnelOpen *o = data;
	GSocketClient *client = g_socket_client_new();
	GSocketConnection *tcp = NULL;
	GIOStream *outer = NULL, *inner = NULL;
	GError *error = NULL, *err = NULL;
	gint64 deadline = o->started + TUNNEL_SETUP_TIMEOUT * G_USEC_PER_SEC;

	/* The socket's timeout bounds each step; cleared before relaying. */
	g_socket_client_set_timeout(client, CLIENT_HTTP_TIMEOUT);
	if ((tcp = g_socket_client_connect(client, t->address, cancel, &err)) == NULL) {
		tunnel_io_error(t, err, &error);
		goto out;
	}
	/*
	 * SPICE and both TLS handshakes are small writes that wait for an
	 * answer: without this each may wait for the gateway's delayed ACK.
	 * spice-gtk sets it on its own sockets, not on ours.
	 */
	g_socket_set_option(g_socket_connection_get_socket(tcp), IPPROTO_TCP,
	    TCP_NODELAY, 1, NULL);
	o->tcp = g_get_monotonic_time();
	if ((outer = tunnel_gateway_tls(t, G_IO_STREAM(tcp), &o->outer, cancel,
	    &error)) == NULL)
		goto out;
	o->outer_tls = g_get_monotonic_time();
	if (!g_output_stream_write_all(g_io_stream_get_output_stream(outer),
	    t->request, strlen(t->request), NULL, cancel, &err)) {
		tunnel_io_error(t, err, &error);
		goto out;
	}
	if (!tunnel_read_answer(t, g_io_stream_get_input_stream(outer), deadline,
	    cancel, &error))
		goto out;
	o->answer = g_get_monotonic_time();
	if ((inner = tunnel_desktop_tls(t, outer, &o->inner, cancel, &error)) == NULL)
		goto out;
	o->inner_tls = g_get_monotonic_time();
	/*
	 * The gateway's tickets are in (they come before any of the desktop's
	 * bytes): the other channels may start. Started at the CONNECT answer,
	 * they raced the tickets and most did full handshakes under load.
	 */
	if (t->ahead_channels != NULL &&
	    g_atomic_int_compare_and_exchange(&t->ahead_started, 0, 1))
		g_main_context_invoke_full(g_task_get_context(task), G_PRIORITY_DEFAULT,
		    tunnel_ahead_start, g_object_ref(t), g_object_unref);
	g_socket_set_timeout(g_socket_connection_get_socket(tcp), 0);
	g_socket_set_keepalive(g_socket_connection_get_socket(tcp), TRUE);
	o->stream = g_steal_pointer(&inner);
out:
	g_clear_object(&outer);
	g_clear_object(&tcp);
	g_object_unref(client);
	if (error != NULL)
		g_task_return_error(task, error);
	else
		g_task_return_boolean(task, TRUE);
}

/* --- the interface ------------------------------------------------------ */

/*
 * The transport for conn's https:// gateway: TLS to it verified with
 * gateway_ca (NULL: the system's CAs), the desktop's TLS with conn's ca and
 * host_subject. NULL with an error in words when conn cannot be served.
 */
PaprikaTunnel *
paprika_tunnel_new(const PaprikaConnection *conn, GTlsDatabase *gateway_ca,
    GError **error)
{
	PaprikaTunnel *t;
	GString *req;
	GUri *uri;
	const gchar *host;
	gint port;

	uri = g_uri_parse(conn->proxy, G_URI_FLAGS_ENCODED_PATH | G_URI_FLAGS_HAS_PASSWORD,
	    NULL);
	host = uri != NULL ? g_uri_get_host(uri) : NULL;
	if (host == NULL || *host == '\0' || !paprika_tunnel_wanted(conn->proxy)) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker's gateway address is not an https:// URL");
		g_clear_pointer(&uri, g_uri_unref);
		return NULL;
	}
	if (conn->host_subject == NULL || *conn->host_subject == '\0') {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker's connection lacks the desktop's certificate subject");
		g_uri_unref(uri);
		return NULL;
	}
	t = g_object_new(PAPRIKA_TYPE_TUNNEL, NULL);
	if ((t->subject = paprika_dn_parse(conn->host_subject, FALSE)) == NULL) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker's certificate subject for the desktop is not one: %s",
		    conn->host_subject);
		goto fail;
	}
	t->subject_text = g_strdup(conn->host_subject);
	if (conn->ca != NULL && (t->spice_ca = tunnel_pem_certs(conn->ca)) == NULL) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_BROKER,
		    "The broker's CA for the desktop holds no certificate");
		goto fail;
	}
	port = g_uri_get_port(uri) > 0 ? g_uri_get_port(uri) : 443;
	t->gateway = strchr(host, ':') != NULL ?
	    g_strdup_printf("[%s]:%d", host, port) : g_strdup_printf("%s:%d", host, port);
	t->address = g_network_address_new(host, (guint16)port);
	if (gateway_ca != NULL)
		t->gateway_ca = g_object_ref(gateway_ca);

	req = g_string_new(NULL);
	g_string_append_printf(req, "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n",
	    conn->host, conn->tls_port, conn->host, conn->tls_port);
	if (g_uri_get_user(uri) != NULL) {
		/* The ticket may travel as the password, as with stock clients. */
		gchar *cred = g_strdup_printf("%s:%s", g_uri_get_user(uri),
		    g_uri_get_password(uri) != NULL ? g_uri_get_password(uri) : "");
		gchar *b64 = g_base64_encode((const guchar *)cred, strlen(cred));

		g_string_append_printf(req, "Proxy-Authorization: Basic %s\r\n", b64);
		explicit_bzero(cred, strlen(cred));
		explicit_bzero(b64, strlen(b64));
		g_free(cred);
		g_free(b64);
	}
	g_string_append(req, "User-Agent: paprika-client/" PACKAGE_VERSION "\r\n\r\n");
	t->request = g_string_free(req, FALSE);
	g_uri_unref(uri);
	return t;
fail:
	g_uri_unref(uri);
	g_object_unref(t);
	return NULL;
}

/*
 * The channels (spice_channel_type_to_string names) to open ahead, once
 * the first tunnel is through; before the first paprika_tunnel_open_async.
 */
void
paprika_tunnel_set_ahead(PaprikaTunnel *t, const gchar *const *channels)
{
	g_strfreev(t->ahead_channels);
	t->ahead_channels = g_strdupv((gchar **)channels);
}

static void
tunnel_open_start(PaprikaTunnel *t, const gchar *channel, gboolean ahead,
    GAsyncReadyCallback cb, gpointer data)
{
	GTask *task = g_task_new(t, t->cancel, cb, data);
	TunnelOpen *o = g_new0(TunnelOpen, 1);

	o->channel = g_strdup(channel);
	o->ahead = ahead;
	o->started = g_get_monotonic_time();
	g_task_set_source_tag(task, paprika_tunnel_open_async);
	g_task_set_task_data(task, o, (GDestroyNotify)tunnel_open_free);
	g_task_run_in_thread(task, tunnel_open_thread);
	g_object_unref(task);
}

/* An ahead open ended: to whoever asked for it meanwhile, or kept. */
static void
tunnel_ahead_done(GObject *src, GAsyncResult *res, gpointer data)
{
	TunnelAhead *a = data;

	a->res = g_object_ref(res);
	if (a->cb != NULL) {
		a->cb(src, res, a->data);
		tunnel_ahead_free(a);
	}
}

/* Main loop: the first tunnel is through, open the others' ahead. */
static gboolean
tunnel_ahead_start(gpointer data)
{
	PaprikaTunnel *t = data;
	TunnelAhead *a;
	gchar **c;

	if (g_cancellable_is_cancelled(t->cancel))
		return G_SOURCE_REMOVE;
	for (c = t->ahead_channels; *c != NULL; c++) {
		if (g_hash_table_contains(t->ahead, *c))
			continue;
		a = g_new0(TunnelAhead, 1);
		a->tunnel = t;
		g_hash_table_insert(t->ahead, g_strdup(*c), a);
		tunnel_open_start(t, *c, TRUE, tunnel_ahead_done, a);
	}
	return G_SOURCE_REMOVE;
}

/* An ahead open that had ended when it was asked for, handed over. */
static gboolean
tunnel_ahead_deliver(gpointer data)
{
	TunnelAhead *a = data;

	a->cb(G_OBJECT(a->tunnel), a->res, a->data);
	tunnel_ahead_free(a);
	return G_SOURCE_REMOVE;
}

/*
 * Opens one channel's tunnel on a worker thread, or takes the one opened
 * ahead for it; channel names it in logs.
 */
void
paprika_tunnel_open_async(PaprikaTunnel *t, const gchar *channel,
    GAsyncReadyCallback cb, gpointer data)
{
	TunnelAhead *a;
	gchar *key;

	if (!g_hash_table_steal_extended(t->ahead, channel, (gpointer *)&key,
	    (gpointer *)&a)) {
		tunnel_open_start(t, channel, FALSE, cb, data);
		return;
	}
	g_free(key);
	a->cb = cb;
	a->data = data;
	/* Never called back before this returns, as with any open. */
	if (a->res != NULL)
		g_idle_add(tunnel_ahead_deliver, a);
}

static void
tunnel_relay_done(GObject *src, GAsyncResult *res, gpointer data)
{
	TunnelRelay *r = data;
	GError *error = NULL;

	if (!g_io_stream_splice_finish(res, &error))
		client_log("tunnel: %s channel: %s", r->channel, error->message);
	else
		client_log("tunnel: %s channel closed", r->channel);
	g_clear_error(&error);
	r->tunnel->relays--;
	g_object_unref(r->tunnel);
	g_free(r->channel);
	g_free(r);
}

/*
 * The socket for spice_channel_open_fd(): one end of a socketpair whose
 * other end is relayed to the tunnel until either side closes (spice-gtk
 * closing its end closes the tunnel, close_notify first). -1 with an
 * error when the tunnel could not be opened (G_IO_ERROR_CANCELLED once
 * paprika_tunnel_close() was called).
 */
gint
paprika_tunnel_open_finish(PaprikaTunnel *t, GAsyncResult *res, GError **error)
{
	TunnelOpen *o = g_task_get_task_data(G_TASK(res));
	TunnelRelay *r;
	GSocketConnection *local;
	GSocket *sock;
	int fds[2];

	if (!g_task_propagate_boolean(G_TASK(res), error))
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == -1) {
		g_set_error(error, PAPRIKA_ERROR, PAPRIKA_ERROR_FAILED,
		    "Cannot make a socket pair: %s", g_strerror(errno));
		return -1;
	}
	if ((sock = g_socket_new_from_fd(fds[1], error)) == NULL) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	local = g_socket_connection_factory_create_connection(sock);
	g_object_unref(sock);
	r = g_new0(TunnelRelay, 1);
	r->tunnel = g_object_ref(t);
	r->channel = g_strdup(o->channel);
	t->relays++;
	g_io_stream_splice_async(o->stream, G_IO_STREAM(local),
	    G_IO_STREAM_SPLICE_CLOSE_STREAM1 | G_IO_STREAM_SPLICE_CLOSE_STREAM2,
	    G_PRIORITY_DEFAULT, NULL, tunnel_relay_done, r);
	g_object_unref(local);
	client_log("tunnel: %s channel: %s to the gateway %s, CONNECT 200, "
	    "%s to the desktop (%s) in %.0f ms (TCP %.1f, TLS %.1f, CONNECT %.1f, "
	    "desktop's TLS %.1f, to the main loop %.1f)%s", o->channel,
	    tunnel_version_name(o->outer), t->gateway, tunnel_version_name(o->inner),
	    t->subject_text, (g_get_monotonic_time() - o->started) / 1000.0,
	    (o->tcp - o->started) / 1000.0, (o->outer_tls - o->tcp) / 1000.0,
	    (o->answer - o->outer_tls) / 1000.0,
	    (o->inner_tls - o->answer) / 1000.0,
	    (g_get_monotonic_time() - o->inner_tls) / 1000.0,
	    o->ahead ? ", opened ahead" : "");
	return fds[0];
}

static gboolean
tunnel_ahead_ended(gpointer key, gpointer value, gpointer data)
{
	return ((TunnelAhead *)value)->res != NULL;
}

/*
 * Stops every open under way and closes the tunnels opened ahead that no
 * channel took; relays end as spice-gtk closes its sockets.
 */
void
paprika_tunnel_close(PaprikaTunnel *t)
{
	g_cancellable_cancel(t->cancel);
	g_hash_table_foreach_remove(t->ahead, tunnel_ahead_ended, NULL);
}

/* TRUE while a relay still runs. */
gboolean
paprika_tunnel_relaying(PaprikaTunnel *t)
{
	return t->relays > 0;
}
