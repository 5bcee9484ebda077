/* SPDX-License-Identifier: ISC */
/*
 * The gateway's configuration: the table of every key (conftab.h), the
 * keys of their own form, and the checks that need the whole file.
 */
#include <netinet/in.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "conftab.h"
#include "gateway.h"
#include "xmalloc.h"

/* One event loop per online core. */
static unsigned int
conf_default_workers(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > GATEWAY_MAX_WORKERS ? GATEWAY_MAX_WORKERS : (unsigned int)n;
}

/* listen, listen_tls, listen_ws, metrics_listen: address:port or none. */
static int
conf_listen_parse(void *obj, const struct conftab_key *k, const char *value,
    char *err, size_t errlen)
{
	struct sockaddr_storage	*ss = (void *)((char *)obj + k->off);
	socklen_t		*len = (void *)((char *)obj + k->off2);

	if (strcmp(value, "none") == 0 || value[0] == '\0') {
		*len = 0;
		return 0;
	}
	if ((*len = netaddr_parse(value, ss)) == 0)
		return conftab_err(err, errlen, "\"%s\" is not an address:port "
		    "(e.g. 0.0.0.0:3128, [::]:3128 or none)", value);
	return 0;
}

static const char *
conf_listen_show(const void *obj, const struct conftab_key *k, size_t i,
    char *buf, size_t len)
{
	const void	*ss = (const char *)obj + k->off;
	socklen_t	 sslen;

	memcpy(&sslen, (const char *)obj + k->off2, sizeof(sslen));
	if (i > 0)
		return NULL;
	if (sslen == 0)
		return "none";
	return netaddr_str(ss, buf, len);
}

/*
 * "https://a.example, https://b.example:8443": the origins of the pages
 * that may open WebSockets (a browser sends scheme://host[:port]); lines
 * add up.
 */
static int
conf_origins_parse(void *obj, const struct conftab_key *k, const char *value,
    char *err, size_t errlen)
{
	struct gateway_config	*c = obj;
	const char		*p = value, *end;
	size_t			 len;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		for (end = p; *end != '\0' && *end != ',' && *end != ' '; end++)
			;
		if ((len = (size_t)(end - p)) == 0)
			break;
		if (c->nws_origins == GATEWAY_MAX_ORIGINS ||
		    len > WS_ORIGIN_MAX || (strncmp(p, "https://", 8) != 0 &&
		    strncmp(p, "http://", 7) != 0))
			return conftab_err(err, errlen, "bad origin in \"%s\" "
			    "(expected a list such as https://desktop.example."
			    "com; at most %d)", value, GATEWAY_MAX_ORIGINS);
		c->ws_origins[c->nws_origins] = xmalloc(len + 1);
		memcpy(c->ws_origins[c->nws_origins], p, len);
		c->ws_origins[c->nws_origins++][len] = '\0';
		p = end;
	}
	return 0;
}

/* upstream_ports: a line replaces the list. */
static int
conf_ports_parse(void *obj, const struct conftab_key *k, const char *value,
    char *err, size_t errlen)
{
	struct gateway_config	*c = obj;
	int			 n;

	if ((n = netaddr_ports_parse(value, c->ports,
	    NETADDR_MAX_PORTRANGES)) < 0)
		return conftab_err(err, errlen, "bad port list \"%s\" "
		    "(expected e.g. 5900-65535 or 5901, 5902)", value);
	c->nports = (size_t)n;
	return 0;
}

static const char *
conf_ports_show(const void *obj, const struct conftab_key *k, size_t i,
    char *buf, size_t len)
{
	const struct gateway_config	*c = obj;

	if (i >= c->nports)
		return NULL;
	if (c->ports[i].lo == c->ports[i].hi)
		snprintf(buf, len, "%u", c->ports[i].lo);
	else
		snprintf(buf, len, "%u-%u", c->ports[i].lo, c->ports[i].hi);
	return buf;
}

/* [hypervisor ADDR]: found by its network, or added. */
static void *
conf_hypervisor_get(void *conf, const char *addr, char *err, size_t errlen)
{
	struct gateway_config		*c = conf;
	struct gateway_hypervisor	*h;
	struct netaddr_net		 net;
	size_t				 i;

	if (netaddr_net_parse(addr, &net) == -1) {
		conftab_err(err, errlen, "[hypervisor %s]: not an address "
		    "(e.g. [hypervisor 10.0.0.5])", addr);
		return NULL;
	}
	for (i = 0; i < c->nhypervisors; i++)
		if (memcmp(&c->hypervisors[i].net, &net, sizeof net) == 0)
			return &c->hypervisors[i];
	if (c->nhypervisors == GATEWAY_MAX_HYPERVISORS) {
		conftab_err(err, errlen, "more than %d [hypervisor] sections",
		    GATEWAY_MAX_HYPERVISORS);
		return NULL;
	}
	h = &c->hypervisors[c->nhypervisors++];
	h->net = net;
	netaddr_net_str(&net, h->name, sizeof h->name);
	return h;
}

static void *
conf_hypervisor_nth(const void *conf, size_t i, const char **name)
{
	const struct gateway_config	*c = conf;

	if (i >= c->nhypervisors)
		return NULL;
	*name = c->hypervisors[i].name;
	return (void *)&c->hypervisors[i];
}

static int
conf_subject_ok(const char *value)
{
	return value[0] != '\0' && strchr(value, '=') != NULL;
}

/* The SPICE subject configured for a guest's address, or NULL. */
const char *
conf_spice_subject(const struct gateway_config *c,
    const struct sockaddr *sa)
{
	size_t	i;

	for (i = 0; i < c->nhypervisors; i++) {
		if (netaddr_net_contains(&c->hypervisors[i].net, sa))
			return c->hypervisors[i].spice_subject;
	}
	return NULL;
}

/* control_clients: one subject a line, as tls_subject writes it. */
static int
conf_control_client_parse(void *obj, const struct conftab_key *k,
    const char *value, char *err, size_t errlen)
{
	struct gateway_config	*c = obj;

	if (!conf_subject_ok(value))
		return conftab_err(err, errlen, "\"%s\" is not a subject (e.g. "
		    "O=Paprika,OU=Gateway control,CN=paprika-brokerd)", value);
	if (c->ncontrol_clients == GATEWAY_MAX_CONTROL_CLIENTS)
		return conftab_err(err, errlen, "more than %d control_clients "
		    "lines", GATEWAY_MAX_CONTROL_CLIENTS);
	c->control_clients[c->ncontrol_clients++] = xstrdup(value);
	return 0;
}

#define C	struct gateway_config
#define XSTR(x)	STR(x)
#define STR(x)	#x
#define LISTEN(N, F, DEF, DOC) \
	CONFTAB_KEY_AT(N, C, F, F##_len, conf_listen_parse, conf_listen_show, \
	    NULL, 0, DEF, DOC)
#define SECS(N, F, MIN, MAX, DEF, DOC) \
	CONFTAB_KEY_SECS(N, C, F, MIN, MAX, DEF, DOC)
#define COUNT(N, F, DEF, DOC) \
	CONFTAB_KEY_UINT(N, C, F, 1, 1000000, DEF, DOC)

/* The keys, in the order -n -v prints them. */
static const struct conftab_key conf_gateway_keys[] = {
	LISTEN("listen", listen_plain, "0.0.0.0:3128",
	    "plain HTTP CONNECT; none: off"),
	LISTEN("listen_tls", listen_tls, "0.0.0.0:3129", "CONNECT in TLS"),
	LISTEN("listen_ws", listen_ws, NULL, "WebSockets in TLS, for browsers"),
	CONFTAB_KEY_AT("ws_origins", C, ws_origins, nws_origins,
	    conf_origins_parse, conftab_strs_show, conftab_strs_free,
	    CONFTAB_JOIN, NULL, "the portal's origins; lines add up"),
	CONFTAB_KEY_STR("spice_ca", C, spice_ca, NULL,
	    "the CA of the hypervisors' SPICE certificates"),
	LISTEN("metrics_listen", listen_metrics, NULL, "GET /metrics"),
	CONFTAB_KEY_STR("tls_cert", C, tls_cert, NULL,
	    "the gateway's certificate chain"),
	CONFTAB_KEY_STR("tls_key", C, tls_key, NULL, "its private key"),
	CONFTAB_KEY_STR("ticket_keys", C, ticket_keys,
	    SYSCONFDIR "/paprika/pki/ticket-keys",
	    "the keys shared with the broker"),
	SECS("tls_session_lifetime", tls_session_lifetime, 0, 86400,
	    XSTR(GATEWAY_DEFAULT_TLS_SESSION_LIFETIME),
	    "TLS resumption; 0: none"),
	CONFTAB_KEY_STR("control_socket", C, control_socket,
	    GATEWAY_DEFAULT_CONTROL, "the broker's control socket"),
	LISTEN("control_listen", control_listen, NULL,
	    "the control channel in TLS, for brokers on other hosts"),
	CONFTAB_KEY_STR("control_tls_cert", C, control_tls_cert, NULL,
	    "its certificate chain (default: tls_cert)"),
	CONFTAB_KEY_STR("control_tls_key", C, control_tls_key, NULL,
	    "its private key (default: tls_key)"),
	CONFTAB_KEY_STR("control_ca", C, control_ca, NULL,
	    "the CA of the brokers' client certificates"),
	CONFTAB_KEY_AT("control_clients", C, control_clients, ncontrol_clients,
	    conf_control_client_parse, conftab_strs_show, conftab_strs_free, 0,
	    NULL, "client certificate subjects allowed; lines add up"),
	CONFTAB_KEY_STR("state_dir", C, state_dir, GATEWAY_DEFAULT_STATE,
	    "revocations kept across restarts"),
	CONFTAB_KEY_STR("user", C, user, NULL,
	    "the account to run as once the keys are read"),
	CONFTAB_KEY_UINT("workers", C, workers, 1, GATEWAY_MAX_WORKERS, NULL,
	    "event loops (default: one per core)"),
	/* Repeated lines add up: inih limits a line to 200 bytes. */
	CONFTAB_KEY_NETS("upstream_networks", C, nets, nnets, CONFTAB_ADD, NULL,
	    "the networks tickets may lead to"),
	CONFTAB_KEY_AT("upstream_ports", C, ports, nports, conf_ports_parse,
	    conf_ports_show, NULL, CONFTAB_JOIN, "5900-65535",
	    "the ports tickets may lead to"),
	CONFTAB_KEY_END
};

static const struct conftab_key conf_limits_keys[] = {
	CONFTAB_KEY_SIZE("max_request_size", C, request.max_size, 256, 65536,
	    "8k", "a CONNECT request's line and headers"),
	CONFTAB_KEY_UINT("max_headers", C, request.max_headers, 1, 1000, "32",
	    "headers of a request"),
	SECS("request_timeout", request_timeout, 1, 3600, "10",
	    "to read the request"),
	SECS("handshake_timeout", handshake_timeout, 1, 3600, "10",
	    "to finish a TLS handshake"),
	SECS("connect_timeout", connect_timeout, 1, 3600, "10",
	    "to connect to the guest"),
	/* SPICE channels (cursor, record) can be silent for hours. */
	SECS("idle_timeout", idle_timeout, 0, 30 * 86400, "0",
	    "a silent tunnel is closed; 0: never"),
	SECS("drain_timeout", drain_timeout, 0, 86400, "30",
	    "tunnels may finish after SIGTERM"),
	COUNT("max_tunnels", max_tunnels, "8192", "tunnels at once"),
	COUNT("max_tunnels_per_session", max_tunnels_per_session, "64",
	    "of them on one ticket's session"),
	COUNT("max_tunnels_per_source", max_tunnels_per_source, "256",
	    "of them from one source"),
	/* Before the ticket is checked a peer gets much less. */
	COUNT("max_pending_per_source", max_pending_per_source, "32",
	    "connections of one source before their ticket"),
	COUNT("max_pending", max_pending, NULL,
	    "of all sources (default: a quarter of max_tunnels)"),
	CONFTAB_KEY_SIZE("buffer_size", C, buffer_size, 4096, 16 * 1024 * 1024,
	    "64k", "each direction's buffer"),
	CONFTAB_KEY_BOOL("splice", C, splice, "yes",
	    "plain tunnels move bytes in the kernel"),
	CONFTAB_KEY_SIZE("ws_max_message", C, ws_max_message, 1024,
	    64 * 1024 * 1024, "1m", "the largest WebSocket message"),
	CONFTAB_KEY_END
};

static const struct conftab_key conf_hypervisor_keys[] = {
	CONFTAB_KEY_CHECKED("spice_subject", CONFTAB_STR,
	    struct gateway_hypervisor, spice_subject, conf_subject_ok,
	    "not a subject (e.g. O=Paprika,CN=hv1)", NULL,
	    "the subject its SPICE certificate must have"),
	CONFTAB_KEY_END
};

static const struct conftab_section conf_sections[] = {
	CONFTAB_SECTION("gateway", conf_gateway_keys),
	CONFTAB_SECTION("limits", conf_limits_keys),
	CONFTAB_SECTION_HOOKS("hypervisor", "ADDR", conf_hypervisor_keys,
	    conf_hypervisor_get, conf_hypervisor_nth),
	CONFTAB_SECTION_END
};

#undef C
#undef LISTEN
#undef SECS
#undef COUNT
#undef XSTR
#undef STR

/* control_listen: what mutual TLS needs; 0 or -1 with err. */
static int
conf_check_control(struct gateway_config *c, const struct conftab_file *f,
    char *err, size_t errlen)
{
	if (c->control_tls_cert == NULL && c->tls_cert != NULL)
		c->control_tls_cert = xstrdup(c->tls_cert);
	if (c->control_tls_key == NULL && c->tls_key != NULL)
		c->control_tls_key = xstrdup(c->tls_key);
	if (c->control_tls_cert == NULL || c->control_tls_key == NULL)
		return conftab_error(f, "gateway", NULL, "control_listen", err,
		    errlen, "control_listen needs control_tls_cert and "
		    "control_tls_key (or tls_cert and tls_key)");
	if (c->control_ca == NULL || c->ncontrol_clients == 0)
		return conftab_error(f, "gateway", NULL, "control_listen", err,
		    errlen, "control_listen needs control_ca (the CA of the "
		    "brokers' client certificates) and control_clients (the "
		    "subjects allowed)");
	return 0;
}

/* What the keys must say together; 0 or -1 with err. */
static int
conf_check(struct gateway_config *c, const struct conftab_file *f,
    char *err, size_t errlen)
{
	const char	*tls = c->listen_tls_len != 0 ? "listen_tls" :
			    "listen_ws";

	if (c->listen_plain_len == 0 && c->listen_tls_len == 0 &&
	    c->listen_ws_len == 0)
		return conftab_error(f, "gateway", NULL, "listen", err, errlen,
		    "every listener is off: set listen, listen_tls or "
		    "listen_ws");
	if ((c->listen_tls_len != 0 || c->listen_ws_len != 0) &&
	    (c->tls_cert == NULL || c->tls_key == NULL))
		return conftab_error(f, "gateway", NULL, tls, err, errlen,
		    "%s needs tls_cert and tls_key (or set %s = none)", tls,
		    tls);
	if (c->listen_ws_len != 0 && (c->nws_origins == 0 ||
	    c->spice_ca == NULL))
		return conftab_error(f, "gateway", NULL, "listen_ws", err,
		    errlen, "listen_ws needs ws_origins (the portal's "
		    "origins) and spice_ca (the CA of the hypervisors' SPICE "
		    "certificates)");
	if (c->control_listen_len != 0 && conf_check_control(c, f, err,
	    errlen) == -1)
		return -1;
	if (c->nnets == 0)
		return conftab_error(f, "", NULL, NULL, err, errlen,
		    "upstream_networks is not set: list the hypervisor "
		    "networks tickets may lead to");
	if (c->max_pending == 0)
		c->max_pending = c->max_tunnels / 4 > 0 ? c->max_tunnels / 4 : 1;
	if (c->buffer_size < c->request.max_size)
		return conftab_error(f, "limits", NULL, "buffer_size", err,
		    errlen, "buffer_size must be at least max_request_size");
	return 0;
}

struct gateway_config *
conf_load(const char *path, char *err, size_t errlen)
{
	struct gateway_config	*c;
	struct conftab_file	 f;
	int			 rc;

	c = xcalloc(1, sizeof *c);
	c->path = xstrdup(path);
	c->workers = conf_default_workers();
	rc = conftab_load(&f, path, conf_sections, c, err, errlen);
	if (rc == 0)
		rc = conf_check(c, &f, err, errlen);
	conftab_done(&f);
	if (rc == -1) {
		conf_free(c);
		return NULL;
	}
	return c;
}

void
conf_free(struct gateway_config *c)
{
	if (c == NULL)
		return;
	conftab_free(conf_sections, c);
	free(c->path);
	free(c);
}

void
conf_dump(const struct gateway_config *c, FILE *fp)
{
	conftab_dump(conf_sections, c, fp);
}
