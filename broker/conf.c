/* The broker's configuration: defaults, the INI file, checks and a dump. */
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "config.h"
#include "log.h"
#include "xmalloc.h"

#define CONF_LIST_MAX	256
#define CONF_COOKIE_PREFIX	"__Host-"	/* see conf_cookie */

static void
conf_defaults(struct broker_config *c)
{
	memset(c, 0, sizeof(*c));
	c->cert = xstrdup(SYSCONFDIR "/paprika/pki/broker/broker-cert.pem");
	c->key = xstrdup(SYSCONFDIR "/paprika/pki/broker/broker-key.pem");
	c->state = xstrdup(LOCALSTATEDIR "/lib/paprika/broker/broker.db");
	c->ticket_keys = xstrdup(SYSCONFDIR "/paprika/pki/ticket-keys");
	c->spice_ca = xstrdup(SYSCONFDIR "/paprika/pki/ca/ca-cert.pem");
	c->pam_service = xstrdup("paprika");
	c->pam_min_uid = auth_uid_min("/etc/login.defs");
	c->users_file = xstrdup(SYSCONFDIR "/paprika/users");
	c->totp_key = xstrdup(SYSCONFDIR "/paprika/pki/broker/totp.key");
	c->cookie = xstrdup(CONF_COOKIE_PREFIX "paprika_session");
	c->portal_dir = xstrdup(DATADIR "/paprika/portal");
	c->spice_html5_dir = xstrdup("/usr/share/spice-html5");
	c->token_lifetime = 8 * 3600;
	c->ticket_lifetime = 600;
	c->password_lifetime = 300;
	c->start_timeout = 180;
	c->auth_threads = 2;
	http_limits_defaults(&c->http);
	c->audit_keep_days = 400;
	c->audit_purge_interval = 86400;
	c->audit_screenshot_window = 600;
	c->events_subscribers = 32;
	c->events_queue = 256 * 1024;
	c->events_heartbeat = 15;
	c->nmetrics_nets = (size_t)netaddr_nets_parse("127.0.0.0/8, ::1",
	    c->metrics_nets, NETADDR_MAX_NETS, NULL);
	throttle_config_defaults(&c->throttle);
	c->login_fail_delay = 2;
}

static void
conf_setstr(char **dst, const char *value)
{
	free(*dst);
	*dst = value[0] == '\0' ? NULL : xstrdup(value);
}

static int
conf_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Choices of the settings that take one word, indexed by their enums. */
static const char *const conf_kind_names[] = {
	"static", "shared", "template", NULL
};
static const char *const conf_action_names[] = {
	"none", "lock", "shutdown", "revert", NULL
};
static const char *const conf_gpu_mode_names[] = {
	"none", "passthrough", "mdev", NULL
};
static const char *const conf_firmware_names[] = { "bios", "efi", NULL };
static const char *const conf_ready_names[] = {
	"auto", "agent", "display", "port", NULL
};
static const char *const conf_totp_names[] = {
	"off", "optional", "required", NULL
};

/*
 * *out = the index of value in names (NULL-terminated); -1 with err
 * listing the choices ("kind \"x\": use static, shared or template").
 */
static int
conf_keyword(const char *key, const char *value, const char *const names[],
    int *out, char *err, size_t errlen)
{
	size_t	i, n, len;
	int	w;

	for (n = 0; names[n] != NULL; n++) {
		if (strcmp(value, names[n]) == 0) {
			*out = (int)n;
			return 0;
		}
	}
	w = snprintf(err, errlen, "%s \"%s\": use", key, value);
	for (i = 0; i < n && w >= 0 && (size_t)w < errlen; i++) {
		len = (size_t)w;
		w += snprintf(err + len, errlen - len, "%s %s",
		    i == 0 ? "" : i == n - 1 ? " or" : ",", names[i]);
	}
	return -1;
}

/* Splits "a, b ,c" into a new list; -1 on an empty item or too many. */
static int
conf_list(const char *value, char ***list, size_t *n, char *err,
    size_t errlen)
{
	char	*copy, *p, *item, *end;
	int	 ret = -1;

	copy = p = xstrdup(value);
	while ((item = strsep(&p, ",")) != NULL) {
		item += strspn(item, " \t");
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*item == '\0') {
			conf_err(err, errlen, "empty item in \"%s\"", value);
			goto out;
		}
		if (*n >= CONF_LIST_MAX) {
			conf_err(err, errlen, "more than %d items",
			    CONF_LIST_MAX);
			goto out;
		}
		*list = xreallocarray(*list, *n + 1, sizeof(**list));
		(*list)[(*n)++] = xstrdup(item);
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

static int
conf_name_ok(const char *name)
{
	size_t	len = strlen(name);

	return len > 0 && len <= BROKER_NAME_MAX &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == len && name[0] != '-' && name[0] != '.';
}

/*
 * The session cookie's name, always with the __Host- prefix: browsers then
 * keep it only when it is Secure, for Path=/ and without a Domain, so
 * another host of the domain cannot plant or widen it.
 */
static int
conf_cookie(struct broker_config *c, const char *value, char *err,
    size_t errlen)
{
	size_t	plen = strlen(CONF_COOKIE_PREFIX);

	if (!conf_name_ok(value))
		return conf_err(err, errlen, "cookie name \"%s\" has "
		    "characters other than letters, digits, . _ -", value);
	if (strncmp(value, CONF_COOKIE_PREFIX, plen) == 0)
		value += plen;
	if (*value == '\0' || strncmp(value, "__", 2) == 0)
		return conf_err(err, errlen, "cookie name \"%s\": give the "
		    "name without a prefix; the broker adds %s", value,
		    CONF_COOKIE_PREFIX);
	free(c->cookie);
	xasprintf(&c->cookie, "%s%s", CONF_COOKIE_PREFIX, value);
	return 0;
}

static int
conf_secs(const char *value, unsigned *out, char *err, size_t errlen)
{
	uint64_t	v;

	if (config_seconds(value, 365ULL * 86400, &v, err, errlen) == -1)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int
conf_unsigned(const char *value, uint64_t min, uint64_t max, unsigned *out,
    char *err, size_t errlen)
{
	uint64_t	v;

	if (config_uint(value, min, max, &v, err, errlen) == -1)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* [broker] totp, totp_key, totp_groups: the second factor (twofactor.c). */
static int
conf_totp(struct broker_config *c, const char *name, const char *value,
    char *err, size_t errlen)
{
	int	k;

	if (strcmp(name, "totp") == 0) {
		if (conf_keyword(name, value, conf_totp_names, &k, err,
		    errlen) == -1)
			return -1;
		c->totp = (enum conf_totp)k;
		return 0;
	}
	if (strcmp(name, "totp_key") == 0) {
		conf_setstr(&c->totp_key, value);
		return 0;
	}
	if (strcmp(name, "totp_groups") == 0)
		return conf_list(value, &c->totp_groups, &c->ntotp_groups, err,
		    errlen);
	return conf_err(err, errlen, "unknown setting \"%s\" in [broker]",
	    name);
}

static int
conf_broker(struct broker_config *c, const char *name, const char *value,
    char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	const char		*bad = NULL;
	int			 n;

	if (strcmp(name, "listen") == 0) {
		if (netaddr_parse(value, &ss) == 0)
			return conf_err(err, errlen, "\"%s\" is not an "
			    "address:port (e.g. 0.0.0.0:8443 or [::]:8443)",
			    value);
		if (c->nlisten == BROKER_LISTEN_MAX)
			return conf_err(err, errlen, "more than %d listen "
			    "lines", BROKER_LISTEN_MAX);
		c->listen[c->nlisten++] = xstrdup(value);
		return 0;
	}
	if (strcmp(name, "tls_cert") == 0)
		conf_setstr(&c->cert, value);
	else if (strcmp(name, "tls_key") == 0)
		conf_setstr(&c->key, value);
	else if (strcmp(name, "state") == 0)
		conf_setstr(&c->state, value);
	else if (strcmp(name, "user") == 0)
		conf_setstr(&c->user, value);
	else if (strcmp(name, "ticket_keys") == 0)
		conf_setstr(&c->ticket_keys, value);
	else if (strcmp(name, "spice_ca") == 0)
		conf_setstr(&c->spice_ca, value);
	else if (strcmp(name, "pam_service") == 0)
		conf_setstr(&c->pam_service, value);
	else if (strcmp(name, "pam_min_uid") == 0)
		return conf_unsigned(value, 0, UINT32_MAX - 1, &c->pam_min_uid,
		    err, errlen);
	else if (strcmp(name, "pam_allow_root") == 0)
		return config_bool(value, &c->pam_allow_root, err, errlen);
	else if (strcmp(name, "users_file") == 0)
		conf_setstr(&c->users_file, value);
	else if (strcmp(name, "portal_dir") == 0)
		conf_setstr(&c->portal_dir, value);
	else if (strcmp(name, "spice_html5_dir") == 0)
		conf_setstr(&c->spice_html5_dir, value);
	else if (strcmp(name, "cookie") == 0)
		return conf_cookie(c, value, err, errlen);
	else if (strcmp(name, "token_lifetime") == 0)
		return conf_secs(value, &c->token_lifetime, err, errlen);
	else if (strcmp(name, "ticket_lifetime") == 0)
		return conf_secs(value, &c->ticket_lifetime, err, errlen);
	else if (strcmp(name, "password_lifetime") == 0)
		return conf_secs(value, &c->password_lifetime, err, errlen);
	else if (strcmp(name, "start_timeout") == 0)
		return conf_secs(value, &c->start_timeout, err, errlen);
	else if (strcmp(name, "auth_threads") == 0)
		return conf_unsigned(value, 1, 32, &c->auth_threads, err,
		    errlen);
	else if (strcmp(name, "audit_keep_days") == 0)
		return conf_unsigned(value, 0, 36500, &c->audit_keep_days, err,
		    errlen);
	else if (strcmp(name, "audit_purge_interval") == 0) {
		if (conf_secs(value, &c->audit_purge_interval, err,
		    errlen) == -1)
			return -1;
		/* 0 would purge in a busy loop. */
		if (c->audit_purge_interval == 0)
			return conf_err(err, errlen, "audit_purge_interval "
			    "must be at least 1s");
	}
	else if (strcmp(name, "audit_screenshot_window") == 0) {
		if (conf_secs(value, &c->audit_screenshot_window, err,
		    errlen) == -1)
			return -1;
		if (c->audit_screenshot_window > 86400)
			return conf_err(err, errlen, "audit_screenshot_window "
			    "is at most 1d");
	}
	else if (strcmp(name, "metrics_networks") == 0) {
		if (strcmp(value, "none") == 0) {
			c->nmetrics_nets = 0;
			return 0;
		}
		n = netaddr_nets_parse(value, c->metrics_nets,
		    NETADDR_MAX_NETS, &bad);
		if (n == -1)
			return conf_err(err, errlen, "\"%s\" is not a network",
			    bad != NULL ? bad : value);
		c->nmetrics_nets = (size_t)n;
	} else if (strncmp(name, "totp", 4) == 0)
		return conf_totp(c, name, value, err, errlen);
	else
		return conf_err(err, errlen, "unknown setting \"%s\" in "
		    "[broker]", name);
	return 0;
}

static int
conf_roles_section(struct broker_config *c, const char *name,
    const char *value, char *err, size_t errlen)
{
	if (strcmp(name, "helpdesk") == 0)
		return conf_list(value, &c->helpdesk_groups,
		    &c->nhelpdesk_groups, err, errlen);
	if (strcmp(name, "admin") == 0)
		return conf_list(value, &c->admin_groups, &c->nadmin_groups,
		    err, errlen);
	return conf_err(err, errlen, "unknown role \"%s\" (helpdesk or admin; "
	    "every user has the user role)", name);
}

static int
conf_limits(struct broker_config *c, const char *name, const char *value,
    char *err, size_t errlen)
{
	struct throttle_config	*t = &c->throttle;
	uint64_t		 v;
	unsigned		 prefix;

	if (strcmp(name, "login_free_failures") == 0)
		return conf_unsigned(value, 0, 1000, &t->free_failures, err,
		    errlen);
	if (strcmp(name, "login_delay") == 0)
		return conf_secs(value, &t->delay_base, err, errlen);
	if (strcmp(name, "login_delay_max") == 0)
		return conf_secs(value, &t->delay_max, err, errlen);
	if (strcmp(name, "login_lockout_failures") == 0)
		return conf_unsigned(value, 0, 100000, &t->lockout_failures,
		    err, errlen);
	if (strcmp(name, "login_lockout") == 0)
		return conf_secs(value, &t->lockout, err, errlen);
	if (strcmp(name, "login_window") == 0)
		return conf_secs(value, &t->window, err, errlen);
	/* Longer would hold each failed login's connection for minutes. */
	if (strcmp(name, "login_fail_delay") == 0) {
		if (conf_secs(value, &c->login_fail_delay, err, errlen) == -1)
			return -1;
		if (c->login_fail_delay > 60)
			return conf_err(err, errlen, "login_fail_delay is at "
			    "most 60s");
		return 0;
	}
	if (strcmp(name, "max_body") == 0) {
		if (config_size(value, 1024, 16 * 1024 * 1024, &v, err,
		    errlen) == -1)
			return -1;
		c->http.max_body = (size_t)v;
		return 0;
	}
	if (strcmp(name, "request_timeout") == 0) {
		if (conf_secs(value, &c->http.request_timeout, err,
		    errlen) == -1)
			return -1;
		if (c->http.request_timeout == 0)
			return conf_err(err, errlen, "request_timeout must be "
			    "at least 1s");
		return 0;
	}
	if (strcmp(name, "max_connections") == 0)
		return conf_unsigned(value, 1, 1000000,
		    &c->http.max_connections, err, errlen);
	if (strcmp(name, "max_connections_per_source") == 0)
		return conf_unsigned(value, 0, 1000000,
		    &c->http.max_per_source, err, errlen);
	if (strcmp(name, "source_prefix_v6") == 0) {
		if (conf_unsigned(value, 1, 128, &prefix, err, errlen) == -1)
			return -1;
		c->http.source_prefix_v6 = (int)prefix;
		return 0;
	}
	if (strcmp(name, "events_subscribers") == 0)
		return conf_unsigned(value, 0, 10000, &c->events_subscribers,
		    err, errlen);
	if (strcmp(name, "events_queue") == 0) {
		if (config_size(value, 1024, 64 * 1024 * 1024, &v, err,
		    errlen) == -1)
			return -1;
		c->events_queue = (size_t)v;
		return 0;
	}
	if (strcmp(name, "events_heartbeat") == 0) {
		if (conf_secs(value, &c->events_heartbeat, err, errlen) == -1)
			return -1;
		/* Quieter than the API's stall timeout, a stream is cut. */
		if (c->events_heartbeat == 0 ||
		    c->events_heartbeat >= c->http.timeout)
			return conf_err(err, errlen, "events_heartbeat is 1s "
			    "to %us", c->http.timeout - 1);
		return 0;
	}
	return conf_err(err, errlen, "unknown setting \"%s\" in [limits]",
	    name);
}

static struct conf_host *
conf_host_get(struct broker_config *c, const char *name)
{
	struct conf_host	*h;

	if ((h = conf_host_find(c, name)) != NULL)
		return h;
	c->hosts = xreallocarray(c->hosts, c->nhosts + 1, sizeof(*c->hosts));
	h = &c->hosts[c->nhosts++];
	memset(h, 0, sizeof(*h));
	strlcpy(h->name, name, sizeof(h->name));
	return h;
}

static int
conf_host_setting(struct broker_config *c, const char *host,
    const char *name, const char *value, char *err, size_t errlen)
{
	struct conf_host	*h = conf_host_get(c, host);
	uint8_t			 buf[16];

	if (strcmp(name, "uri") == 0)
		conf_setstr(&h->uri, value);
	else if (strcmp(name, "spice_address") == 0) {
		if (inet_pton(AF_INET, value, buf) != 1 &&
		    inet_pton(AF_INET6, value, buf) != 1)
			return conf_err(err, errlen, "spice_address \"%s\" is "
			    "not an IPv4 or IPv6 address", value);
		conf_setstr(&h->spice_address, value);
	} else if (strcmp(name, "spice_subject") == 0)
		conf_setstr(&h->spice_subject, value);
	else if (strcmp(name, "spice_cert") == 0)
		conf_setstr(&h->spice_cert, value);
	else
		return conf_err(err, errlen, "unknown setting \"%s\" in "
		    "[host %s]", name, host);
	return 0;
}

static struct conf_gateway *
conf_gateway_get(struct broker_config *c, const char *name)
{
	struct conf_gateway	*g;
	size_t			 i;

	for (i = 0; i < c->ngateways; i++)
		if (strcmp(c->gateways[i].name, name) == 0)
			return &c->gateways[i];
	c->gateways = xreallocarray(c->gateways, c->ngateways + 1,
	    sizeof(*c->gateways));
	g = &c->gateways[c->ngateways++];
	memset(g, 0, sizeof(*g));
	strlcpy(g->name, name, sizeof(g->name));
	return g;
}

static int
conf_proxy_ok(const char *url)
{
	return strncmp(url, "http://", 7) == 0 ||
	    strncmp(url, "https://", 8) == 0;
}

/* "wss://HOST[:PORT]": the gateway's listen_ws as browsers reach it. */
static int
conf_websocket_ok(const char *url)
{
	const char	*host = url + 6;

	return strncmp(url, "wss://", 6) == 0 && *host != '\0' &&
	    host[strcspn(host, "/?#@ \t\\\"'<>")] == '\0';
}

static int
conf_gateway_setting(struct broker_config *c, const char *gw,
    const char *name, const char *value, char *err, size_t errlen)
{
	struct conf_gateway	*g = conf_gateway_get(c, gw);
	struct conf_proxy_rule	*r;
	char			*copy, *url;
	const char		*bad = NULL;
	struct netaddr_net	 nets[NETADDR_MAX_NETS];
	int			 n, i;

	if (strcmp(name, "proxy") == 0) {
		if (!conf_proxy_ok(value))
			return conf_err(err, errlen, "proxy \"%s\" must start "
			    "with http:// or https://", value);
		conf_setstr(&g->proxy, value);
	} else if (strcmp(name, "control") == 0)
		conf_setstr(&g->control, value);
	else if (strcmp(name, "websocket") == 0) {
		if (!conf_websocket_ok(value))
			return conf_err(err, errlen, "websocket \"%s\" must be "
			    "wss://HOST:PORT", value);
		conf_setstr(&g->websocket, value);
	}
	else if (strcmp(name, "proxy_for") == 0) {
		/* "NETWORK[, NETWORK...] URL": the URL is the last word. */
		copy = xstrdup(value);
		if ((url = strrchr(copy, ' ')) == NULL) {
			free(copy);
			return conf_err(err, errlen, "proxy_for needs client "
			    "networks, then a proxy URL");
		}
		*url++ = '\0';
		if (!conf_proxy_ok(url)) {
			conf_err(err, errlen, "proxy \"%s\" must start with "
			    "http:// or https://", url);
			free(copy);
			return -1;
		}
		n = netaddr_nets_parse(copy, nets, NETADDR_MAX_NETS, &bad);
		if (n <= 0) {
			conf_err(err, errlen, "\"%s\" is not a network",
			    bad != NULL ? bad : copy);
			free(copy);
			return -1;
		}
		for (i = 0; i < n; i++) {
			g->rules = xreallocarray(g->rules, g->nrules + 1,
			    sizeof(*g->rules));
			r = &g->rules[g->nrules++];
			r->net = nets[i];
			r->proxy = xstrdup(url);
		}
		free(copy);
	} else
		return conf_err(err, errlen, "unknown setting \"%s\" in "
		    "[gateway %s]", name, gw);
	return 0;
}

static struct conf_pool *
conf_pool_get(struct broker_config *c, const char *name)
{
	struct conf_pool	*p;

	if ((p = conf_pool_find(c, name)) != NULL)
		return p;
	c->pools = xreallocarray(c->pools, c->npools + 1, sizeof(*c->pools));
	p = &c->pools[c->npools++];
	memset(p, 0, sizeof(*p));
	strlcpy(p->name, name, sizeof(p->name));
	p->kind = POOL_SHARED;
	p->disconnect_grace = 300;
	p->max = 10;
	p->gpu.count = 1;
	p->gpu.display = 1;
	p->gpu.mdev_display = 1;
	p->gpu.ovmf = 1;
	p->clipboard = 1;
	p->usbredir = 1;
	p->ready_when = VIRT_READY_AUTO;
	p->ready_timeout = 300;
	p->ready_settle = 1;
	return p;
}

/* "10de:2231" or "10de": one vendor[:product] filter of gpu_match. */
static int
conf_gpu_match_parse(const char *s, struct conf_gpu_match *m)
{
	unsigned	vendor, product;
	int		n, len = 0;

	n = sscanf(s, "%4x%n:%4x%n", &vendor, &len, &product, &len);
	if (n < 1 || s[len] != '\0' || len == 0)
		return -1;
	m->vendor = vendor;
	m->product = n == 2 ? (int)product : -1;
	return 0;
}

static int
conf_gpu_setting(struct conf_pool *p, const char *name, const char *value,
    char *err, size_t errlen)
{
	struct conf_gpu	*g = &p->gpu;
	char		**items = NULL;
	size_t		 nitems = 0, i;
	int		 ret = -1, k;

	if (strcmp(name, "gpu") == 0) {
		if (conf_keyword(name, value, conf_gpu_mode_names, &k, err,
		    errlen) == -1)
			return -1;
		g->mode = (enum gpu_mode)k;
		return 0;
	}
	if (strcmp(name, "gpu_count") == 0)
		return conf_unsigned(value, 1, CONF_GPU_COUNT_MAX, &g->count,
		    err, errlen);
	if (strcmp(name, "mdev_type") == 0) {
		if (!conf_name_ok(value) || strlen(value) >= sizeof(g->mdev_type))
			return conf_err(err, errlen, "mdev_type \"%s\" is not "
			    "a mediated device type id such as nvidia-222",
			    value);
		strlcpy(g->mdev_type, value, sizeof(g->mdev_type));
		return 0;
	}
	if (strcmp(name, "gpu_detach") == 0)
		return config_bool(value, &g->detach, err, errlen);
	if (strcmp(name, "gpu_display") == 0)
		return config_bool(value, &g->display, err, errlen);
	if (strcmp(name, "mdev_display") == 0)
		return config_bool(value, &g->mdev_display, err, errlen);
	if (strcmp(name, "kvm_hidden") == 0)
		return config_bool(value, &g->kvm_hidden, err, errlen);
	if (strcmp(name, "firmware") == 0)
		return conf_keyword(name, value, conf_firmware_names, &g->ovmf,
		    err, errlen);
	if (strcmp(name, "hyperv_vendor_id") == 0) {
		for (i = 0; value[i] != '\0'; i++)
			if (!isalnum((unsigned char)value[i]))
				break;
		if (value[i] != '\0' || i == 0 || i >= sizeof(g->vendor_id))
			return conf_err(err, errlen, "hyperv_vendor_id \"%s\": "
			    "1 to 12 letters and digits", value);
		strlcpy(g->vendor_id, value, sizeof(g->vendor_id));
		return 0;
	}
	if (conf_list(value, &items, &nitems, err, errlen) == -1)
		return -1;
	if (strcmp(name, "gpu_match") == 0) {
		for (i = 0; i < nitems; i++) {
			if (g->nmatch == CONF_GPU_MATCH_MAX) {
				conf_err(err, errlen, "gpu_match: at most %d "
				    "entries", CONF_GPU_MATCH_MAX);
				goto out;
			}
			if (conf_gpu_match_parse(items[i],
			    &g->match[g->nmatch]) == -1) {
				conf_err(err, errlen, "gpu_match \"%s\": use "
				    "vendor:product in hex, such as 10de:2231, "
				    "or a vendor alone", items[i]);
				goto out;
			}
			g->nmatch++;
		}
	} else if (strcmp(name, "gpu_devices") == 0) {
		for (i = 0; i < nitems; i++) {
			if (g->ndevices == CONF_GPU_DEVICES_MAX) {
				conf_err(err, errlen, "gpu_devices: at most "
				    "%d devices", CONF_GPU_DEVICES_MAX);
				goto out;
			}
			if (gpu_addr_parse(items[i],
			    &g->devices[g->ndevices]) == -1) {
				conf_err(err, errlen, "gpu_devices \"%s\" is "
				    "not a PCI address such as 0000:41:00.0",
				    items[i]);
				goto out;
			}
			g->ndevices++;
		}
	} else {
		conf_err(err, errlen, "unknown setting \"%s\" in [pool %s]",
		    name, p->name);
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < nitems; i++)
		free(items[i]);
	free(items);
	return ret;
}

static int
conf_pool_setting(struct broker_config *c, const char *pool,
    const char *name, const char *value, char *err, size_t errlen)
{
	struct conf_pool	*p = conf_pool_get(c, pool);
	char			**items = NULL, *eq;
	size_t			 nitems = 0, i;
	int			 ret = -1, k;

	if (strcmp(name, "kind") == 0) {
		if (conf_keyword(name, value, conf_kind_names, &k, err,
		    errlen) == -1)
			return -1;
		p->kind = (enum pool_kind)k;
		return 0;
	}
	if (strcmp(name, "title") == 0)
		conf_setstr(&p->title, value);
	else if (strcmp(name, "guests") == 0)
		return conf_list(value, &p->guests, &p->nguests, err, errlen);
	else if (strcmp(name, "assign") == 0) {
		/* "user=guest, user=guest" */
		if (conf_list(value, &items, &nitems, err, errlen) == -1)
			goto out;
		for (i = 0; i < nitems; i++) {
			if ((eq = strchr(items[i], '=')) == NULL) {
				conf_err(err, errlen, "assign \"%s\": use "
				    "user=guest", items[i]);
				goto out;
			}
			*eq++ = '\0';
			if (!auth_valid_name(items[i]) || *eq == '\0' ||
			    strlen(eq) >= sizeof(p->assign->guest)) {
				conf_err(err, errlen, "assign \"%s=%s\": bad "
				    "user or guest name", items[i], eq);
				goto out;
			}
			p->assign = xreallocarray(p->assign, p->nassign + 1,
			    sizeof(*p->assign));
			strlcpy(p->assign[p->nassign].user, items[i],
			    sizeof(p->assign->user));
			strlcpy(p->assign[p->nassign].guest, eq,
			    sizeof(p->assign->guest));
			p->nassign++;
		}
		ret = 0;
		goto out;
	} else if (strcmp(name, "template") == 0)
		conf_setstr(&p->template, value);
	else if (strcmp(name, "name_prefix") == 0) {
		if (!conf_name_ok(value))
			return conf_err(err, errlen, "name_prefix \"%s\": "
			    "letters, digits, . _ - only", value);
		conf_setstr(&p->name_prefix, value);
	} else if (strcmp(name, "max") == 0)
		return conf_unsigned(value, 1, 10000, &p->max, err, errlen);
	else if (strcmp(name, "spares") == 0)
		return conf_unsigned(value, 0, 1000, &p->spares, err, errlen);
	else if (strcmp(name, "snapshot") == 0)
		conf_setstr(&p->snapshot, value);
	else if (strcmp(name, "groups") == 0)
		return conf_list(value, &p->groups, &p->ngroups, err, errlen);
	else if (strcmp(name, "users") == 0)
		return conf_list(value, &p->users, &p->nusers, err, errlen);
	else if (strcmp(name, "disconnect_action") == 0) {
		if (conf_keyword(name, value, conf_action_names, &k, err,
		    errlen) == -1)
			return -1;
		p->disconnect_action = (enum disconnect_action)k;
	} else if (strcmp(name, "disconnect_grace") == 0)
		return conf_secs(value, &p->disconnect_grace, err, errlen);
	else if (strcmp(name, "idle_timeout") == 0)
		return conf_secs(value, &p->idle_timeout, err, errlen);
	else if (strcmp(name, "max_session") == 0)
		return conf_secs(value, &p->max_session, err, errlen);
	else if (strcmp(name, "user_reset") == 0)
		return config_bool(value, &p->user_reset, err, errlen);
	else if (strcmp(name, "clipboard") == 0)
		return config_bool(value, &p->clipboard, err, errlen);
	else if (strcmp(name, "usbredir") == 0)
		return config_bool(value, &p->usbredir, err, errlen);
	else if (strcmp(name, "browser") == 0)
		return config_bool(value, &p->browser, err, errlen);
	else if (strcmp(name, "totp") == 0) {
		/* Only "required" means more than the broker's policy. */
		if (conf_keyword(name, value, conf_totp_names, &k, err,
		    errlen) == -1)
			return -1;
		p->totp_required = k == CONF_TOTP_REQUIRED;
	}
	else if (strcmp(name, "ready_when") == 0) {
		if (conf_keyword(name, value, conf_ready_names, &k, err,
		    errlen) == -1)
			return -1;
		p->ready_when = (enum virt_ready)k;
	} else if (strcmp(name, "ready_timeout") == 0) {
		if (conf_secs(value, &p->ready_timeout, err, errlen) == -1)
			return -1;
		if (p->ready_timeout == 0)
			return conf_err(err, errlen, "ready_timeout must be "
			    "at least 1 s");
	} else if (strcmp(name, "ready_settle") == 0)
		return conf_secs(value, &p->ready_settle, err, errlen);
	else
		return conf_gpu_setting(p, name, value, err, errlen);
	return 0;
out:
	for (i = 0; i < nitems; i++)
		free(items[i]);
	free(items);
	return ret;
}


static int
conf_handler(void *arg, const char *section, const char *name,
    const char *value, char *err, size_t errlen)
{
	struct broker_config	*c = arg;
	const char		*sub;

	if (strcmp(section, "broker") == 0)
		return conf_broker(c, name, value, err, errlen);
	if (strcmp(section, "roles") == 0)
		return conf_roles_section(c, name, value, err, errlen);
	if (strcmp(section, "limits") == 0)
		return conf_limits(c, name, value, err, errlen);
	if ((sub = strchr(section, ' ')) == NULL)
		return conf_err(err, errlen, "unknown section [%s]: use "
		    "[broker], [roles], [limits], [host NAME], [gateway NAME] "
		    "or [pool NAME]", section);
	sub += strspn(sub, " ");
	if (!conf_name_ok(sub))
		return conf_err(err, errlen, "section name \"%s\": 1 to %d "
		    "letters, digits, . _ -", sub, BROKER_NAME_MAX);
	if (strncmp(section, "host ", 5) == 0)
		return conf_host_setting(c, sub, name, value, err, errlen);
	if (strncmp(section, "gateway ", 8) == 0)
		return conf_gateway_setting(c, sub, name, value, err, errlen);
	if (strncmp(section, "pool ", 5) == 0) {
		if (strcmp(name, "host") == 0) {
			if (!conf_name_ok(value))
				return conf_err(err, errlen, "host \"%s\": not "
				    "a host name", value);
			/* Resolved once every [host] is read. */
			strlcpy(conf_pool_get(c, sub)->host_name, value,
			    sizeof(c->pools->host_name));
			return 0;
		}
		if (strcmp(name, "hosts") == 0)
			return conf_list(value, &conf_pool_get(c, sub)->host_names,
			    &conf_pool_get(c, sub)->nhosts, err, errlen);
		return conf_pool_setting(c, sub, name, value, err, errlen);
	}
	return conf_err(err, errlen, "unknown section [%s]", section);
}

/*
 * A pool's hosts: host = NAME, or for template pools hosts = A, B (clones
 * go where there is room); 0 or -1 with err.
 */
static int
conf_pool_hosts(struct broker_config *c, struct conf_pool *p,
    const char *path, char *err, size_t errlen)
{
	size_t	i;

	if (p->nhosts > 0 && p->host_name[0] != '\0')
		return conf_err(err, errlen, "%s: [pool %s] has both host and "
		    "hosts: use one", path, p->name);
	if (p->nhosts > 0 && p->kind != POOL_TEMPLATE)
		return conf_err(err, errlen, "%s: [pool %s]: only template "
		    "pools spread over several hosts; name the guests' host "
		    "with host =", path, p->name);
	if (p->nhosts == 0) {
		if ((p->host = conf_host_find(c, p->host_name)) == NULL)
			return conf_err(err, errlen, "%s: [pool %s] needs host "
			    "= the name of a [host NAME] section", path,
			    p->name);
		p->host_names = xcalloc(1, sizeof(*p->host_names));
		p->host_names[0] = xstrdup(p->host_name);
		p->hosts = xcalloc(1, sizeof(*p->hosts));
		p->hosts[0] = p->host;
		p->nhosts = 1;
		return 0;
	}
	p->hosts = xcalloc(p->nhosts, sizeof(*p->hosts));
	for (i = 0; i < p->nhosts; i++) {
		if ((p->hosts[i] = conf_host_find(c, p->host_names[i])) == NULL)
			return conf_err(err, errlen, "%s: [pool %s]: hosts "
			    "names \"%s\", which is no [host NAME] section",
			    path, p->name, p->host_names[i]);
	}
	p->host = p->hosts[0];
	return 0;
}

/* Checks what only the whole file can tell; 0 or -1 with err. */
static int
conf_check(struct broker_config *c, const char *path,
    char *err, size_t errlen)
{
	struct conf_pool	*p;
	size_t			 i, j;

	if (c->nlisten == 0)
		c->listen[c->nlisten++] = xstrdup("127.0.0.1:8443");
	if (c->state == NULL)
		return conf_err(err, errlen, "%s: [broker] state is empty",
		    path);
	for (i = 0; i < c->nhosts; i++) {
		if (c->hosts[i].uri == NULL)
			return conf_err(err, errlen, "%s: [host %s] has no uri",
			    path, c->hosts[i].name);
	}
	if (c->ntotp_groups > 0 && c->totp == CONF_TOTP_OFF)
		return conf_err(err, errlen, "%s: [broker] totp_groups needs "
		    "totp = optional or required", path);
	if (c->ngateways == 0)
		return conf_err(err, errlen, "%s: no [gateway NAME] section: "
		    "desktops are reached through a gateway", path);
	for (i = 0; i < c->ngateways; i++)
		if (c->gateways[i].proxy == NULL)
			return conf_err(err, errlen, "%s: [gateway %s] has no "
			    "proxy URL", path, c->gateways[i].name);
	for (i = 0; i < c->npools; i++) {
		p = &c->pools[i];
		if (conf_pool_hosts(c, p, path, err, errlen) == -1)
			return -1;
		if (p->kind == POOL_SHARED && p->nguests == 0)
			return conf_err(err, errlen, "%s: shared [pool %s] "
			    "lists no guests", path, p->name);
		if (p->kind == POOL_STATIC && p->nassign == 0)
			return conf_err(err, errlen, "%s: static [pool %s] "
			    "assigns no guests (assign = user=guest, ...)",
			    path, p->name);
		if (p->kind == POOL_TEMPLATE && p->template == NULL)
			return conf_err(err, errlen, "%s: template [pool %s] "
			    "names no template", path, p->name);
		if (p->kind == POOL_TEMPLATE && p->spares > p->max)
			return conf_err(err, errlen, "%s: [pool %s] spares "
			    "(%u) exceeds max (%u)", path, p->name, p->spares,
			    p->max);
		if (p->disconnect_action == DISCONNECT_REVERT &&
		    p->snapshot == NULL && p->kind != POOL_TEMPLATE)
			return conf_err(err, errlen, "%s: [pool %s] "
			    "disconnect_action = revert needs a snapshot",
			    path, p->name);
		if (p->gpu.mode == GPU_MODE_MDEV && p->gpu.mdev_type[0] == '\0')
			return conf_err(err, errlen, "%s: [pool %s] gpu = mdev "
			    "needs mdev_type (see paprikactl gpus for the "
			    "host's types)", path, p->name);
		if (p->gpu.mode == GPU_MODE_PASSTHROUGH &&
		    p->gpu.ndevices > 0 && p->gpu.ndevices < p->gpu.count)
			return conf_err(err, errlen, "%s: [pool %s] lists %zu "
			    "gpu_devices for gpu_count = %u", path, p->name,
			    p->gpu.ndevices, p->gpu.count);
		if (p->totp_required && c->totp == CONF_TOTP_OFF)
			return conf_err(err, errlen, "%s: [pool %s] totp = "
			    "required needs [broker] totp = optional or "
			    "required", path, p->name);
		if (p->name_prefix == NULL) {
			p->name_prefix = xreallocarray(NULL, 1,
			    strlen(p->name) + 2);
			sprintf(p->name_prefix, "%s-", p->name);
		}
		if (p->title == NULL)
			p->title = xstrdup(p->name);
		if (p->ngroups == 0 && p->nusers == 0 &&
		    p->kind != POOL_STATIC)
			log_warnx("%s: [pool %s] has no groups or users: "
			    "nobody may use it", path, p->name);
		if (p->kind == POOL_SHARED && p->snapshot == NULL)
			log_warnx("%s: shared [pool %s] has no snapshot: the "
			    "next user may see what the previous one left",
			    path, p->name);
		for (j = 0; j < i; j++)
			if (p->host == c->pools[j].host &&
			    p->kind == POOL_TEMPLATE &&
			    c->pools[j].kind == POOL_TEMPLATE &&
			    strcmp(p->name_prefix, c->pools[j].name_prefix) == 0)
				return conf_err(err, errlen, "%s: [pool %s] and "
				    "[pool %s] share the name_prefix \"%s\"",
				    path, p->name, c->pools[j].name,
				    p->name_prefix);
	}
	return 0;
}

struct broker_config *
conf_load(const char *path, char *err, size_t errlen)
{
	struct broker_config	*c;

	c = xcalloc(1, sizeof(*c));
	conf_defaults(c);
	if (config_parse_file(path, conf_handler, c, err, errlen) == -1 ||
	    conf_check(c, path, err, errlen) == -1) {
		conf_free(c);
		return NULL;
	}
	return c;
}

static void
conf_free_list(char **list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void
conf_free(struct broker_config *c)
{
	size_t	i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->cert);
	free(c->key);
	free(c->state);
	free(c->user);
	free(c->ticket_keys);
	free(c->spice_ca);
	free(c->pam_service);
	free(c->users_file);
	free(c->totp_key);
	conf_free_list(c->totp_groups, c->ntotp_groups);
	free(c->portal_dir);
	free(c->spice_html5_dir);
	free(c->cookie);
	conf_free_list(c->helpdesk_groups, c->nhelpdesk_groups);
	conf_free_list(c->admin_groups, c->nadmin_groups);
	for (i = 0; i < c->nhosts; i++) {
		free(c->hosts[i].uri);
		free(c->hosts[i].spice_address);
		free(c->hosts[i].spice_subject);
		free(c->hosts[i].spice_cert);
	}
	free(c->hosts);
	for (i = 0; i < c->ngateways; i++) {
		free(c->gateways[i].proxy);
		free(c->gateways[i].control);
		free(c->gateways[i].websocket);
		for (j = 0; j < c->gateways[i].nrules; j++)
			free(c->gateways[i].rules[j].proxy);
		free(c->gateways[i].rules);
	}
	free(c->gateways);
	for (i = 0; i < c->npools; i++) {
		free(c->pools[i].title);
		conf_free_list(c->pools[i].guests, c->pools[i].nguests);
		free(c->pools[i].assign);
		free(c->pools[i].template);
		free(c->pools[i].name_prefix);
		free(c->pools[i].snapshot);
		conf_free_list(c->pools[i].groups, c->pools[i].ngroups);
		conf_free_list(c->pools[i].users, c->pools[i].nusers);
		conf_free_list(c->pools[i].host_names, c->pools[i].nhosts);
		free(c->pools[i].hosts);
	}
	free(c->pools);
	free(c);
}

struct conf_pool *
conf_pool_find(struct broker_config *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->npools; i++)
		if (strcmp(c->pools[i].name, name) == 0)
			return &c->pools[i];
	return NULL;
}

struct conf_host *
conf_host_find(struct broker_config *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nhosts; i++)
		if (strcmp(c->hosts[i].name, name) == 0)
			return &c->hosts[i];
	return NULL;
}

const char *
conf_pool_kind_name(enum pool_kind k)
{
	return conf_kind_names[k];
}

const char *
conf_ready_name(enum virt_ready r)
{
	return conf_ready_names[r];
}

const char *
conf_action_name(enum disconnect_action a)
{
	return conf_action_names[a];
}

/* Whether list names "*" or one of the groups (an auth_user's or a
 * login's array, AUTH_NAME_MAX + 1 bytes each). */
static int
conf_in_groups(char **list, size_t n, const char *groups, size_t ngroups)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i], "*") == 0)
			return 1;
		for (j = 0; j < ngroups; j++)
			if (strcmp(list[i], groups + j * (AUTH_NAME_MAX + 1)) == 0)
				return 1;
	}
	return 0;
}

unsigned
conf_roles(const struct broker_config *c, const struct auth_user *u)
{
	unsigned	roles = ROLE_USER;

	if (conf_in_groups(c->admin_groups, c->nadmin_groups, u->groups[0],
	    u->ngroups))
		roles |= ROLE_ADMIN | ROLE_HELPDESK;
	if (conf_in_groups(c->helpdesk_groups, c->nhelpdesk_groups,
	    u->groups[0], u->ngroups))
		roles |= ROLE_HELPDESK;
	return roles;
}

int
conf_entitled(const struct conf_pool *p, const struct login *l)
{
	size_t	i;

	if (p->kind == POOL_STATIC) {
		for (i = 0; i < p->nassign; i++)
			if (strcmp(p->assign[i].user, l->user) == 0)
				return 1;
		return 0;
	}
	for (i = 0; i < p->nusers; i++)
		if (strcmp(p->users[i], l->user) == 0)
			return 1;
	return conf_in_groups(p->groups, p->ngroups, l->groups[0], l->ngroups);
}

int
conf_totp_required(const struct broker_config *c, const struct login *l)
{
	size_t	i;

	if (c->totp == CONF_TOTP_OFF)
		return 0;
	if (c->totp == CONF_TOTP_REQUIRED || conf_in_groups(c->totp_groups,
	    c->ntotp_groups, l->groups[0], l->ngroups))
		return 1;
	for (i = 0; i < c->npools; i++)
		if (c->pools[i].totp_required && conf_entitled(&c->pools[i], l))
			return 1;
	return 0;
}

void
conf_websocket_sources(const struct broker_config *c, char *out,
    size_t outlen)
{
	size_t	i;

	*out = '\0';
	for (i = 0; i < c->ngateways; i++) {
		if (c->gateways[i].websocket == NULL)
			continue;
		if (*out != '\0')
			strlcat(out, " ", outlen);
		strlcat(out, c->gateways[i].websocket, outlen);
	}
}

/* The first proxy_for rule for client and its gateway, or NULL. */
static const struct conf_proxy_rule *
conf_rule_for(const struct broker_config *c, const struct sockaddr *client,
    const struct conf_gateway **gw)
{
	size_t	i, j;

	for (i = 0; i < c->ngateways; i++)
		for (j = 0; j < c->gateways[i].nrules; j++)
			if (netaddr_net_contains(&c->gateways[i].rules[j].net,
			    client)) {
				*gw = &c->gateways[i];
				return &c->gateways[i].rules[j];
			}
	*gw = &c->gateways[0];
	return NULL;
}

const struct conf_gateway *
conf_gateway_for(const struct broker_config *c, const struct sockaddr *client)
{
	const struct conf_gateway	*gw;

	conf_rule_for(c, client, &gw);
	return gw;
}

const char *
conf_proxy_for(const struct broker_config *c, const struct sockaddr *client)
{
	const struct conf_gateway	*gw;
	const struct conf_proxy_rule	*r;

	if ((r = conf_rule_for(c, client, &gw)) != NULL)
		return r->proxy;
	return gw->proxy;
}

static void
conf_dump_list(FILE *fp, const char *name, char **list, size_t n)
{
	size_t	i;

	if (n == 0)
		return;
	fprintf(fp, "%s = ", name);
	for (i = 0; i < n; i++)
		fprintf(fp, "%s%s", i > 0 ? ", " : "", list[i]);
	fputc('\n', fp);
}

static void
conf_dump_net(FILE *fp, const char *prefix, const struct netaddr_net *n)
{
	char	a[INET6_ADDRSTRLEN];

	inet_ntop(n->af, n->addr, a, sizeof(a));
	fprintf(fp, "%s%s/%d", prefix, a, n->prefix);
}

#define S(x)	((x) != NULL ? (x) : "")

static void
conf_dump_gpu(FILE *fp, const struct conf_gpu *g)
{
	char	addr[GPU_ADDR_LEN];
	size_t	i;

	if (g->mode == GPU_MODE_NONE)
		return;
	fprintf(fp, "gpu = %s\n", conf_gpu_mode_names[g->mode]);
	if (g->mode == GPU_MODE_MDEV)
		fprintf(fp, "mdev_type = %s\nmdev_display = %s\n",
		    g->mdev_type, g->mdev_display ? "yes" : "no");
	else
		fprintf(fp, "gpu_count = %u\ngpu_detach = %s\n", g->count,
		    g->detach ? "yes" : "no");
	for (i = 0; i < g->nmatch; i++) {
		fprintf(fp, "gpu_match = %04x", g->match[i].vendor);
		if (g->match[i].product != -1)
			fprintf(fp, ":%04x", g->match[i].product);
		fputc('\n', fp);
	}
	for (i = 0; i < g->ndevices; i++) {
		gpu_addr_format(&g->devices[i], addr, sizeof(addr));
		fprintf(fp, "gpu_devices = %s\n", addr);
	}
	fprintf(fp, "gpu_display = %s\nfirmware = %s\nkvm_hidden = %s\n"
	    "hyperv_vendor_id = %s\n", g->display ? "yes" : "no",
	    conf_firmware_names[g->ovmf], g->kvm_hidden ? "yes" : "no",
	    g->vendor_id);
}

void
conf_dump(const struct broker_config *c, FILE *fp)
{
	const struct conf_pool	*p;
	size_t			 i, j;

	fprintf(fp, "[broker]\n");
	for (i = 0; i < c->nlisten; i++)
		fprintf(fp, "listen = %s\n", c->listen[i]);
	fprintf(fp, "user = %s\n", S(c->user));
	fprintf(fp, "tls_cert = %s\ntls_key = %s\nstate = %s\n"
	    "ticket_keys = %s\nspice_ca = %s\npam_service = %s\n"
	    "pam_min_uid = %u\npam_allow_root = %s\n"
	    "users_file = %s\nportal_dir = %s\ncookie = %s\n"
	    "token_lifetime = %us\n"
	    "ticket_lifetime = %us\npassword_lifetime = %us\n"
	    "start_timeout = %us\nauth_threads = %u\n"
	    "audit_keep_days = %u\naudit_purge_interval = %us\n",
	    S(c->cert), S(c->key),
	    S(c->state), S(c->ticket_keys), S(c->spice_ca), S(c->pam_service),
	    c->pam_min_uid, c->pam_allow_root ? "yes" : "no",
	    S(c->users_file), S(c->portal_dir), S(c->cookie),
	    c->token_lifetime,
	    c->ticket_lifetime, c->password_lifetime, c->start_timeout,
	    c->auth_threads, c->audit_keep_days, c->audit_purge_interval);
	fprintf(fp, "spice_html5_dir = %s\n", S(c->spice_html5_dir));
	fprintf(fp, "audit_screenshot_window = %us\n",
	    c->audit_screenshot_window);
	fprintf(fp, "totp = %s\ntotp_key = %s\n", conf_totp_names[c->totp],
	    S(c->totp_key));
	conf_dump_list(fp, "totp_groups", c->totp_groups, c->ntotp_groups);
	fprintf(fp, "metrics_networks = ");
	for (i = 0; i < c->nmetrics_nets; i++)
		conf_dump_net(fp, i > 0 ? ", " : "", &c->metrics_nets[i]);
	fprintf(fp, "%s\n\n[roles]\n", c->nmetrics_nets == 0 ? "none" : "");
	conf_dump_list(fp, "helpdesk", c->helpdesk_groups,
	    c->nhelpdesk_groups);
	conf_dump_list(fp, "admin", c->admin_groups, c->nadmin_groups);
	fprintf(fp, "\n[limits]\nlogin_free_failures = %u\nlogin_delay = %us\n"
	    "login_delay_max = %us\nlogin_lockout_failures = %u\n"
	    "login_lockout = %us\nlogin_window = %us\n"
	    "login_fail_delay = %us\nmax_body = %zu\n"
	    "request_timeout = %us\nmax_connections = %u\n"
	    "max_connections_per_source = %u\nsource_prefix_v6 = %d\n",
	    c->throttle.free_failures, c->throttle.delay_base,
	    c->throttle.delay_max, c->throttle.lockout_failures,
	    c->throttle.lockout, c->throttle.window, c->login_fail_delay,
	    c->http.max_body,
	    c->http.request_timeout, c->http.max_connections,
	    c->http.max_per_source, c->http.source_prefix_v6);
	fprintf(fp, "events_subscribers = %u\nevents_queue = %zu\n"
	    "events_heartbeat = %us\n", c->events_subscribers,
	    c->events_queue, c->events_heartbeat);
	for (i = 0; i < c->nhosts; i++)
		fprintf(fp, "\n[host %s]\nuri = %s\nspice_address = %s\n"
		    "spice_subject = %s\nspice_cert = %s\n", c->hosts[i].name,
		    S(c->hosts[i].uri), S(c->hosts[i].spice_address),
		    S(c->hosts[i].spice_subject), S(c->hosts[i].spice_cert));
	for (i = 0; i < c->ngateways; i++) {
		fprintf(fp, "\n[gateway %s]\nproxy = %s\ncontrol = %s\n"
		    "websocket = %s\n", c->gateways[i].name,
		    S(c->gateways[i].proxy), S(c->gateways[i].control),
		    S(c->gateways[i].websocket));
		for (j = 0; j < c->gateways[i].nrules; j++) {
			conf_dump_net(fp, "proxy_for = ",
			    &c->gateways[i].rules[j].net);
			fprintf(fp, " %s\n", c->gateways[i].rules[j].proxy);
		}
	}
	for (i = 0; i < c->npools; i++) {
		p = &c->pools[i];
		fprintf(fp, "\n[pool %s]\nkind = %s\n", p->name,
		    conf_pool_kind_name(p->kind));
		if (p->nhosts > 1)
			conf_dump_list(fp, "hosts", p->host_names, p->nhosts);
		else
			fprintf(fp, "host = %s\n", p->host->name);
		fprintf(fp, "title = %s\n", S(p->title));
		conf_dump_list(fp, "guests", p->guests, p->nguests);
		for (j = 0; j < p->nassign; j++)
			fprintf(fp, "assign = %s=%s\n", p->assign[j].user,
			    p->assign[j].guest);
		if (p->kind == POOL_TEMPLATE)
			fprintf(fp, "template = %s\nname_prefix = %s\n"
			    "max = %u\nspares = %u\n", p->template,
			    p->name_prefix, p->max, p->spares);
		if (p->snapshot != NULL)
			fprintf(fp, "snapshot = %s\n", p->snapshot);
		conf_dump_list(fp, "groups", p->groups, p->ngroups);
		conf_dump_list(fp, "users", p->users, p->nusers);
		fprintf(fp, "disconnect_action = %s\ndisconnect_grace = %us\n"
		    "idle_timeout = %us\nmax_session = %us\nuser_reset = %s\n"
		    "clipboard = %s\nusbredir = %s\nbrowser = %s\n"
		    "ready_when = %s\nready_timeout = %us\nready_settle = %us\n",
		    conf_action_name(p->disconnect_action),
		    p->disconnect_grace, p->idle_timeout, p->max_session,
		    p->user_reset ? "yes" : "no", p->clipboard ? "yes" : "no",
		    p->usbredir ? "yes" : "no", p->browser ? "yes" : "no",
		    conf_ready_name(p->ready_when),
		    p->ready_timeout, p->ready_settle);
		if (p->totp_required)
			fprintf(fp, "totp = required\n");
		conf_dump_gpu(fp, &p->gpu);
	}
}
