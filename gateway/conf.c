/* The gateway's configuration: defaults, the INI file, and a dump. */
#include <netinet/in.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
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

static void
conf_defaults(struct gateway_config *c)
{
	memset(c, 0, sizeof *c);
	c->listen_plain_len = netaddr_parse("0.0.0.0:3128", &c->listen_plain);
	c->listen_tls_len = netaddr_parse("0.0.0.0:3129", &c->listen_tls);
	c->control_socket = xstrdup(GATEWAY_DEFAULT_CONTROL);
	c->state_dir = xstrdup(GATEWAY_DEFAULT_STATE);
	c->ticket_keys = xstrdup(SYSCONFDIR "/paprika/pki/ticket-keys");
	c->tls_session_lifetime = GATEWAY_DEFAULT_TLS_SESSION_LIFETIME;
	c->workers = conf_default_workers();
	c->nports = (size_t)netaddr_ports_parse("5900-65535", c->ports,
	    NETADDR_MAX_PORTRANGES);
	c->request.max_size = 8192;
	c->request.max_headers = 32;
	c->request_timeout = 10;
	c->handshake_timeout = 10;
	c->connect_timeout = 10;
	/* SPICE channels (cursor, record) can be silent for hours. */
	c->idle_timeout = 0;
	c->drain_timeout = 30;
	c->max_tunnels = 8192;
	c->max_tunnels_per_session = 64;
	c->max_tunnels_per_source = 256;
	/* Before the ticket is checked a peer gets much less. */
	c->max_pending_per_source = 32;
	/* 0 until conf_load: a quarter of max_tunnels unless set. */
	c->max_pending = 0;
	c->buffer_size = 64 * 1024;
	c->splice = 1;
	c->ws_max_message = 1024 * 1024;
}

static int
conf_listen(const char *value, struct sockaddr_storage *ss, socklen_t *len,
    char *err, size_t errlen)
{
	if (strcmp(value, "none") == 0 || value[0] == '\0') {
		*len = 0;
		return 0;
	}
	if ((*len = netaddr_parse(value, ss)) == 0) {
		snprintf(err, errlen, "\"%s\" is not an address:port "
		    "(e.g. 0.0.0.0:3128, [::]:3128 or none)", value);
		return -1;
	}
	return 0;
}

static void
conf_setstr(char **dst, const char *value)
{
	free(*dst);
	*dst = value[0] == '\0' ? NULL : xstrdup(value);
}

/*
 * "https://a.example, https://b.example:8443": the origins of the pages
 * that may open WebSockets (a browser sends scheme://host[:port]); lines
 * add up.
 */
static int
conf_origins(struct gateway_config *c, const char *value, char *err,
    size_t errlen)
{
	const char	*p = value, *end;
	size_t		 len;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		for (end = p; *end != '\0' && *end != ',' && *end != ' '; end++)
			;
		if ((len = (size_t)(end - p)) == 0)
			break;
		if (c->nws_origins == GATEWAY_MAX_ORIGINS ||
		    len > WS_ORIGIN_MAX || (strncmp(p, "https://", 8) != 0 &&
		    strncmp(p, "http://", 7) != 0)) {
			snprintf(err, errlen, "bad origin in \"%s\" (expected "
			    "a list such as https://desktop.example.com; at "
			    "most %d)", value, GATEWAY_MAX_ORIGINS);
			return -1;
		}
		c->ws_origins[c->nws_origins] = xmalloc(len + 1);
		memcpy(c->ws_origins[c->nws_origins], p, len);
		c->ws_origins[c->nws_origins++][len] = '\0';
		p = end;
	}
	return 0;
}

/* [hypervisor ADDR]: the SPICE certificate a guest's host must show. */
static int
conf_hypervisor(struct gateway_config *c, const char *addr, const char *name,
    const char *value, char *err, size_t errlen)
{
	struct gateway_hypervisor	*h = NULL;
	struct netaddr_net		 net;
	size_t				 i;

	if (netaddr_net_parse(addr, &net) == -1) {
		snprintf(err, errlen, "[hypervisor %s]: not an address (e.g. "
		    "[hypervisor 10.0.0.5])", addr);
		return -1;
	}
	for (i = 0; i < c->nhypervisors; i++) {
		if (memcmp(&c->hypervisors[i].net, &net, sizeof net) == 0)
			h = &c->hypervisors[i];
	}
	if (h == NULL) {
		if (c->nhypervisors == GATEWAY_MAX_HYPERVISORS) {
			snprintf(err, errlen, "more than %d [hypervisor] "
			    "sections", GATEWAY_MAX_HYPERVISORS);
			return -1;
		}
		h = &c->hypervisors[c->nhypervisors++];
		h->net = net;
	}
	if (strcmp(name, "spice_subject") != 0) {
		snprintf(err, errlen, "unknown setting \"%s\" in [hypervisor "
		    "%s] (expected spice_subject)", name, addr);
		return -1;
	}
	if (value[0] == '\0' || strchr(value, '=') == NULL) {
		snprintf(err, errlen, "spice_subject \"%s\" is not a subject "
		    "(e.g. O=Paprika,CN=hv1)", value);
		return -1;
	}
	conf_setstr(&h->spice_subject, value);
	return 0;
}

/* The SPICE subject configured for a guest's address, or NULL. */
const char *
conf_spice_subject(const struct gateway_config *c,
    const struct sockaddr_storage *ss)
{
	size_t	i;

	for (i = 0; i < c->nhypervisors; i++) {
		if (netaddr_net_contains(&c->hypervisors[i].net,
		    (const struct sockaddr *)ss))
			return c->hypervisors[i].spice_subject;
	}
	return NULL;
}

static int
conf_gateway(struct gateway_config *c, const char *name, const char *value,
    char *err, size_t errlen)
{
	const char	*bad = NULL;
	uint64_t	 v;
	int		 n;

	if (strcmp(name, "listen") == 0)
		return conf_listen(value, &c->listen_plain,
		    &c->listen_plain_len, err, errlen);
	if (strcmp(name, "listen_tls") == 0)
		return conf_listen(value, &c->listen_tls, &c->listen_tls_len,
		    err, errlen);
	if (strcmp(name, "listen_ws") == 0)
		return conf_listen(value, &c->listen_ws, &c->listen_ws_len,
		    err, errlen);
	if (strcmp(name, "ws_origins") == 0)
		return conf_origins(c, value, err, errlen);
	if (strcmp(name, "metrics_listen") == 0)
		return conf_listen(value, &c->listen_metrics,
		    &c->listen_metrics_len, err, errlen);
	if (strcmp(name, "upstream_networks") == 0) {
		/* Repeated lines add up: inih limits a line to 200 bytes. */
		if ((n = netaddr_nets_parse(value, c->nets + c->nnets,
		    NETADDR_MAX_NETS - c->nnets, &bad)) < 0) {
			snprintf(err, errlen, "bad network \"%s\" (expected "
			    "a comma-separated list such as 10.0.0.0/8, "
			    "fd00::/8; host bits must be zero; at most %d)",
			    bad != NULL ? bad : value, NETADDR_MAX_NETS);
			return -1;
		}
		c->nnets += (size_t)n;
		return 0;
	}
	if (strcmp(name, "upstream_ports") == 0) {
		if ((n = netaddr_ports_parse(value, c->ports,
		    NETADDR_MAX_PORTRANGES)) < 0) {
			snprintf(err, errlen, "bad port list \"%s\" (expected "
			    "e.g. 5900-65535 or 5901, 5902)", value);
			return -1;
		}
		c->nports = (size_t)n;
		return 0;
	}
	if (strcmp(name, "tls_cert") == 0)
		conf_setstr(&c->tls_cert, value);
	else if (strcmp(name, "tls_key") == 0)
		conf_setstr(&c->tls_key, value);
	else if (strcmp(name, "spice_ca") == 0)
		conf_setstr(&c->spice_ca, value);
	else if (strcmp(name, "ticket_keys") == 0)
		conf_setstr(&c->ticket_keys, value);
	else if (strcmp(name, "tls_session_lifetime") == 0) {
		if (config_seconds(value, 86400, &v, err, errlen) == -1)
			return -1;
		c->tls_session_lifetime = (unsigned int)v;
	}
	else if (strcmp(name, "control_socket") == 0)
		conf_setstr(&c->control_socket, value);
	else if (strcmp(name, "state_dir") == 0)
		conf_setstr(&c->state_dir, value);
	else if (strcmp(name, "user") == 0)
		conf_setstr(&c->user, value);
	else if (strcmp(name, "workers") == 0) {
		if (config_uint(value, 1, GATEWAY_MAX_WORKERS, &v, err,
		    errlen) == -1)
			return -1;
		c->workers = (unsigned int)v;
	} else {
		snprintf(err, errlen, "unknown setting \"%s\" in [gateway]",
		    name);
		return -1;
	}
	return 0;
}

static int
conf_limits(struct gateway_config *c, const char *name, const char *value,
    char *err, size_t errlen)
{
	static const struct {
		const char	*name;
		size_t		 offset;
		uint64_t	 min, max;
	} counts[] = {
		{ "max_headers", offsetof(struct gateway_config,
		    request.max_headers), 1, 1000 },
		{ "max_tunnels", offsetof(struct gateway_config, max_tunnels),
		    1, 1000000 },
		{ "max_tunnels_per_session", offsetof(struct gateway_config,
		    max_tunnels_per_session), 1, 1000000 },
		{ "max_tunnels_per_source", offsetof(struct gateway_config,
		    max_tunnels_per_source), 1, 1000000 },
		{ "max_pending_per_source", offsetof(struct gateway_config,
		    max_pending_per_source), 1, 1000000 },
		{ "max_pending", offsetof(struct gateway_config, max_pending),
		    1, 1000000 },
	}, times[] = {
		{ "request_timeout", offsetof(struct gateway_config,
		    request_timeout), 1, 3600 },
		{ "handshake_timeout", offsetof(struct gateway_config,
		    handshake_timeout), 1, 3600 },
		{ "connect_timeout", offsetof(struct gateway_config,
		    connect_timeout), 1, 3600 },
		{ "idle_timeout", offsetof(struct gateway_config,
		    idle_timeout), 0, 30 * 86400 },
		{ "drain_timeout", offsetof(struct gateway_config,
		    drain_timeout), 0, 86400 },
	};
	uint64_t	v;
	size_t		i;

	for (i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		if (strcmp(name, counts[i].name) != 0)
			continue;
		if (config_uint(value, counts[i].min, counts[i].max, &v, err,
		    errlen) == -1)
			return -1;
		if (counts[i].offset == offsetof(struct gateway_config,
		    request.max_headers))
			c->request.max_headers = (size_t)v;
		else
			*(unsigned int *)((char *)c + counts[i].offset) =
			    (unsigned int)v;
		return 0;
	}
	for (i = 0; i < sizeof times / sizeof times[0]; i++) {
		if (strcmp(name, times[i].name) != 0)
			continue;
		if (config_seconds(value, times[i].max, &v, err, errlen) == -1)
			return -1;
		if (v < times[i].min) {
			snprintf(err, errlen, "%s must be at least %llu "
			    "second(s)", name,
			    (unsigned long long)times[i].min);
			return -1;
		}
		*(unsigned int *)((char *)c + times[i].offset) =
		    (unsigned int)v;
		return 0;
	}
	if (strcmp(name, "max_request_size") == 0) {
		if (config_size(value, 256, 65536, &v, err, errlen) == -1)
			return -1;
		c->request.max_size = (size_t)v;
		return 0;
	}
	if (strcmp(name, "buffer_size") == 0) {
		if (config_size(value, 4096, 16 * 1024 * 1024, &v, err,
		    errlen) == -1)
			return -1;
		c->buffer_size = (size_t)v;
		return 0;
	}
	if (strcmp(name, "splice") == 0)
		return config_bool(value, &c->splice, err, errlen);
	if (strcmp(name, "ws_max_message") == 0) {
		if (config_size(value, 1024, 64 * 1024 * 1024, &v, err,
		    errlen) == -1)
			return -1;
		c->ws_max_message = (size_t)v;
		return 0;
	}
	snprintf(err, errlen, "unknown setting \"%s\" in [limits]", name);
	return -1;
}

static int
conf_handler(void *arg, const char *section, const char *name,
    const char *value, char *err, size_t errlen)
{
	struct gateway_config	*c = arg;

	if (strcmp(section, "gateway") == 0)
		return conf_gateway(c, name, value, err, errlen);
	if (strcmp(section, "limits") == 0)
		return conf_limits(c, name, value, err, errlen);
	if (strncmp(section, "hypervisor ", 11) == 0)
		return conf_hypervisor(c, section + 11, name, value, err,
		    errlen);
	snprintf(err, errlen, "unknown section [%s] (expected [gateway], "
	    "[limits] or [hypervisor ADDR])", section);
	return -1;
}

struct gateway_config *
conf_load(const char *path, char *err, size_t errlen)
{
	struct gateway_config	*c;

	c = xcalloc(1, sizeof *c);
	conf_defaults(c);
	c->path = xstrdup(path);
	if (config_parse_file(path, conf_handler, c, err, errlen) == -1)
		goto fail;
	if (c->listen_plain_len == 0 && c->listen_tls_len == 0 &&
	    c->listen_ws_len == 0) {
		snprintf(err, errlen, "%s: every listener is off: set listen, "
		    "listen_tls or listen_ws", path);
		goto fail;
	}
	if ((c->listen_tls_len != 0 || c->listen_ws_len != 0) &&
	    (c->tls_cert == NULL || c->tls_key == NULL)) {
		snprintf(err, errlen, "%s: %s needs tls_cert and tls_key (or "
		    "set %s = none)", path, c->listen_tls_len != 0 ?
		    "listen_tls" : "listen_ws", c->listen_tls_len != 0 ?
		    "listen_tls" : "listen_ws");
		goto fail;
	}
	if (c->listen_ws_len != 0 && (c->nws_origins == 0 ||
	    c->spice_ca == NULL)) {
		snprintf(err, errlen, "%s: listen_ws needs ws_origins (the "
		    "portal's origins) and spice_ca (the CA of the "
		    "hypervisors' SPICE certificates)", path);
		goto fail;
	}
	if (c->nnets == 0) {
		snprintf(err, errlen, "%s: upstream_networks is not set: list "
		    "the hypervisor networks tickets may lead to", path);
		goto fail;
	}
	if (c->max_pending == 0)
		c->max_pending = c->max_tunnels / 4 > 0 ? c->max_tunnels / 4 : 1;
	if (c->buffer_size < c->request.max_size) {
		snprintf(err, errlen, "%s: buffer_size must be at least "
		    "max_request_size", path);
		goto fail;
	}
	return c;
 fail:
	conf_free(c);
	return NULL;
}

void
conf_free(struct gateway_config *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->ticket_keys);
	free(c->control_socket);
	free(c->state_dir);
	free(c->user);
	free(c->spice_ca);
	for (i = 0; i < c->nws_origins; i++)
		free(c->ws_origins[i]);
	for (i = 0; i < c->nhypervisors; i++)
		free(c->hypervisors[i].spice_subject);
	free(c);
}

static const char *
conf_addr(const struct sockaddr_storage *ss, socklen_t len, char *buf,
    size_t size)
{
	if (len == 0)
		return "none";
	return netaddr_str((const struct sockaddr *)ss, buf, size);
}

/* "10.0.0.0/24" */
static const char *
conf_net(const struct netaddr_net *net, char *buf, size_t size)
{
	struct sockaddr_storage	ss;
	char			host[NETADDR_STRLEN];

	memset(&ss, 0, sizeof ss);
	ss.ss_family = (sa_family_t)net->af;
	if (net->af == AF_INET)
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, net->addr, 4);
	else
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, net->addr, 16);
	snprintf(buf, size, "%s/%d", netaddr_host((struct sockaddr *)&ss, host,
	    sizeof host), net->prefix);
	return buf;
}

void
conf_dump(const struct gateway_config *c, FILE *fp)
{
	char	buf[NETADDR_STRLEN], host[NETADDR_STRLEN];
	size_t	i;

	fprintf(fp, "[gateway]\n");
	fprintf(fp, "listen = %s\n", conf_addr(&c->listen_plain,
	    c->listen_plain_len, buf, sizeof buf));
	fprintf(fp, "listen_tls = %s\n", conf_addr(&c->listen_tls,
	    c->listen_tls_len, buf, sizeof buf));
	fprintf(fp, "listen_ws = %s\n", conf_addr(&c->listen_ws,
	    c->listen_ws_len, buf, sizeof buf));
	fprintf(fp, "ws_origins = ");
	for (i = 0; i < c->nws_origins; i++)
		fprintf(fp, "%s%s", i ? ", " : "", c->ws_origins[i]);
	fprintf(fp, "\nspice_ca = %s\n", c->spice_ca ? c->spice_ca : "");
	fprintf(fp, "metrics_listen = %s\n", conf_addr(&c->listen_metrics,
	    c->listen_metrics_len, buf, sizeof buf));
	fprintf(fp, "tls_cert = %s\n", c->tls_cert ? c->tls_cert : "");
	fprintf(fp, "tls_key = %s\n", c->tls_key ? c->tls_key : "");
	fprintf(fp, "ticket_keys = %s\n", c->ticket_keys);
	fprintf(fp, "tls_session_lifetime = %us\n", c->tls_session_lifetime);
	fprintf(fp, "control_socket = %s\n", c->control_socket ?
	    c->control_socket : "");
	fprintf(fp, "state_dir = %s\n", c->state_dir ? c->state_dir : "");
	fprintf(fp, "user = %s\n", c->user ? c->user : "");
	fprintf(fp, "workers = %u\n", c->workers);
	fprintf(fp, "upstream_networks = ");
	for (i = 0; i < c->nnets; i++)
		fprintf(fp, "%s%s", i ? ", " : "", conf_net(&c->nets[i], host,
		    sizeof host));
	fprintf(fp, "\nupstream_ports = ");
	for (i = 0; i < c->nports; i++) {
		if (c->ports[i].lo == c->ports[i].hi)
			fprintf(fp, "%s%u", i ? ", " : "", c->ports[i].lo);
		else
			fprintf(fp, "%s%u-%u", i ? ", " : "", c->ports[i].lo,
			    c->ports[i].hi);
	}
	fprintf(fp, "\n\n[limits]\n");
	fprintf(fp, "max_request_size = %zu\n", c->request.max_size);
	fprintf(fp, "max_headers = %zu\n", c->request.max_headers);
	fprintf(fp, "request_timeout = %us\n", c->request_timeout);
	fprintf(fp, "handshake_timeout = %us\n", c->handshake_timeout);
	fprintf(fp, "connect_timeout = %us\n", c->connect_timeout);
	fprintf(fp, "idle_timeout = %us\n", c->idle_timeout);
	fprintf(fp, "drain_timeout = %us\n", c->drain_timeout);
	fprintf(fp, "max_tunnels = %u\n", c->max_tunnels);
	fprintf(fp, "max_tunnels_per_session = %u\n",
	    c->max_tunnels_per_session);
	fprintf(fp, "max_tunnels_per_source = %u\n", c->max_tunnels_per_source);
	fprintf(fp, "max_pending_per_source = %u\n", c->max_pending_per_source);
	fprintf(fp, "max_pending = %u\n", c->max_pending);
	fprintf(fp, "buffer_size = %zu\n", c->buffer_size);
	fprintf(fp, "splice = %s\n", c->splice ? "yes" : "no");
	fprintf(fp, "ws_max_message = %zu\n", c->ws_max_message);
	for (i = 0; i < c->nhypervisors; i++)
		fprintf(fp, "\n[hypervisor %s]\nspice_subject = %s\n",
		    conf_net(&c->hypervisors[i].net, host, sizeof host),
		    c->hypervisors[i].spice_subject ?
		    c->hypervisors[i].spice_subject : "");
}
