/* SPDX-License-Identifier: ISC */
/*
 * The broker's configuration: the table of every key (conftab.h), the few
 * keys of their own form, the checks that need the whole file, and the
 * questions the daemon asks of it.
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "config.h"
#include "conftab.h"
#include "log.h"
#include "xmalloc.h"

#define CONF_COOKIE_PREFIX	"__Host-"	/* see conf_cookie */
#define CONF_SECS_MAX		(365ULL * 86400)
/* Below the API's stall timeout (http_limits_defaults: 30 s), checked. */
#define CONF_HEARTBEAT_MAX	29

/* Choices of the settings that take one word, indexed by their enums. */
static const char *const conf_kind_names[] = { "static", "shared",
    "template", NULL };
static const char *const conf_action_names[] = { "none", "lock", "shutdown",
    "revert", NULL };
static const char *const conf_gpu_mode_names[] = { "none", "passthrough",
    "mdev", NULL };
static const char *const conf_firmware_names[] = { "bios", "efi", NULL };
static const char *const conf_ready_names[] = { "auto", "agent", "display",
    "port", NULL };
static const char *const conf_totp_names[] = { "off", "optional",
    "required", NULL };

static int
conf_name_ok(const char *name)
{
	size_t	len = strlen(name);

	return len > 0 && len <= BROKER_NAME_MAX &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == len && name[0] != '-' && name[0] != '.';
}

static int
conf_ip_ok(const char *value)
{
	uint8_t	buf[16];

	return inet_pton(AF_INET, value, buf) == 1 ||
	    inet_pton(AF_INET6, value, buf) == 1;
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
conf_alnum_ok(const char *value)
{
	size_t	i;

	for (i = 0; value[i] != '\0'; i++)
		if (!isalnum((unsigned char)value[i]))
			return 0;
	return 1;
}

/* [broker] listen: lines add up; 127.0.0.1:8443 when there is none. */
static int
conf_listen_parse(void *obj, const struct conftab_key *k, const char *value,
    char *err, size_t errlen)
{
	struct broker_config	*c = obj;
	struct sockaddr_storage	 ss;

	if (netaddr_parse(value, &ss) == 0)
		return conftab_err(err, errlen, "\"%s\" is not an address:port "
		    "(e.g. 0.0.0.0:8443 or [::]:8443)", value);
	if (c->nlisten == BROKER_LISTEN_MAX)
		return conftab_err(err, errlen, "more than %d listen lines",
		    BROKER_LISTEN_MAX);
	c->listen[c->nlisten++] = xstrdup(value);
	return 0;
}

/*
 * The session cookie's name, always with the __Host- prefix: browsers then
 * keep it only when it is Secure, for Path=/ and without a Domain, so
 * another host of the domain cannot plant or widen it.
 */
static int
conf_cookie_parse(void *obj, const struct conftab_key *k, const char *value,
    char *err, size_t errlen)
{
	struct broker_config	*c = obj;
	size_t			 plen = strlen(CONF_COOKIE_PREFIX);

	if (!conf_name_ok(value))
		return conftab_err(err, errlen, "cookie name \"%s\" has "
		    "characters other than letters, digits, . _ -", value);
	if (strncmp(value, CONF_COOKIE_PREFIX, plen) == 0)
		value += plen;
	if (*value == '\0' || strncmp(value, "__", 2) == 0)
		return conftab_err(err, errlen, "cookie name \"%s\": give the "
		    "name without a prefix; the broker adds %s", value,
		    CONF_COOKIE_PREFIX);
	free(c->cookie);
	xasprintf(&c->cookie, "%s%s", CONF_COOKIE_PREFIX, value);
	return 0;
}

static const char *
conf_cookie_show(const void *obj, const struct conftab_key *k, size_t i,
    char *buf, size_t len)
{
	const struct broker_config	*c = obj;

	return i == 0 ? c->cookie : NULL;
}

static void
conf_cookie_free(void *obj, const struct conftab_key *k)
{
	struct broker_config	*c = obj;

	free(c->cookie);
	c->cookie = NULL;
}

/* [gateway NAME] proxy_for = NETWORK[, NETWORK...] URL: the URL is last. */
static int
conf_proxy_for_parse(void *obj, const struct conftab_key *k,
    const char *value, char *err, size_t errlen)
{
	struct conf_gateway	*g = obj;
	struct conf_proxy_rule	*r;
	struct netaddr_net	 nets[NETADDR_MAX_NETS];
	const char		*bad = NULL;
	char			*copy, *url;
	int			 n, i, ret = -1;

	copy = xstrdup(value);
	if ((url = strrchr(copy, ' ')) == NULL) {
		conftab_err(err, errlen, "proxy_for needs client networks, "
		    "then a proxy URL");
		goto out;
	}
	*url++ = '\0';
	if (!conf_proxy_ok(url)) {
		conftab_err(err, errlen, "proxy \"%s\" must start with http:// "
		    "or https://", url);
		goto out;
	}
	if ((n = netaddr_nets_parse(copy, nets, NETADDR_MAX_NETS, &bad)) <= 0) {
		conftab_err(err, errlen, "\"%s\" is not a network",
		    bad != NULL ? bad : copy);
		goto out;
	}
	for (i = 0; i < n; i++) {
		g->rules = xreallocarray(g->rules, g->nrules + 1,
		    sizeof(*g->rules));
		r = &g->rules[g->nrules++];
		r->net = nets[i];
		r->proxy = xstrdup(url);
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

static const char *
conf_proxy_for_show(const void *obj, const struct conftab_key *k, size_t i,
    char *buf, size_t len)
{
	const struct conf_gateway	*g = obj;

	if (i >= g->nrules)
		return NULL;
	netaddr_net_str(&g->rules[i].net, buf, len);
	strlcat(buf, " ", len);
	strlcat(buf, g->rules[i].proxy, len);
	return buf;
}

static void
conf_proxy_for_free(void *obj, const struct conftab_key *k)
{
	struct conf_gateway	*g = obj;
	size_t			 i;

	for (i = 0; i < g->nrules; i++)
		free(g->rules[i].proxy);
	free(g->rules);
	g->rules = NULL;
	g->nrules = 0;
}

/* [pool NAME] assign = user=guest, user=guest */
static int
conf_assign_one(void *obj, const char *item, char *err, size_t errlen)
{
	struct conf_pool	*p = obj;
	struct conf_assign	*a;
	const char		*eq;
	size_t			 ulen;

	if ((eq = strchr(item, '=')) == NULL)
		return conftab_err(err, errlen, "assign \"%s\": use user=guest",
		    item);
	ulen = (size_t)(eq - item);
	p->assign = xreallocarray(p->assign, p->nassign + 1,
	    sizeof(*p->assign));
	a = &p->assign[p->nassign];
	memset(a, 0, sizeof(*a));
	if (ulen < sizeof(a->user))
		memcpy(a->user, item, ulen);
	if (ulen >= sizeof(a->user) || !auth_valid_name(a->user) ||
	    eq[1] == '\0' || strlcpy(a->guest, eq + 1, sizeof(a->guest)) >=
	    sizeof(a->guest))
		return conftab_err(err, errlen, "assign \"%s\": bad user or "
		    "guest name", item);
	p->nassign++;
	return 0;
}

static const char *
conf_assign_show(const void *obj, const struct conftab_key *k, size_t i,
    char *buf, size_t len)
{
	const struct conf_pool	*p = obj;

	if (i >= p->nassign)
		return NULL;
	snprintf(buf, len, "%s=%s", p->assign[i].user, p->assign[i].guest);
	return buf;
}

static void
conf_assign_free(void *obj, const struct conftab_key *k)
{
	struct conf_pool	*p = obj;

	free(p->assign);
	p->assign = NULL;
	p->nassign = 0;
}

/* [pool NAME] totp: only "required" asks more than the broker's policy. */
static int
conf_pool_totp_parse(void *obj, const struct conftab_key *k,
    const char *value, char *err, size_t errlen)
{
	static const struct conftab_key	word = CONFTAB_KEY_ENUM("totp",
	    struct conf_pool, totp_required, conf_totp_names, NULL, NULL);
	struct conf_pool		*p = obj;

	if (conftab_set(p, &word, value, err, errlen) == -1)
		return -1;
	p->totp_required = p->totp_required == CONF_TOTP_REQUIRED;
	return 0;
}

static const char *
conf_pool_totp_show(const void *obj, const struct conftab_key *k, size_t i,
    char *buf, size_t len)
{
	const struct conf_pool	*p = obj;

	if (i > 0)
		return NULL;
	return p->totp_required ? "required" : "optional";
}

/* "10de:2231" or "10de": one vendor[:product] filter of gpu_match. */
static int
conf_gpu_match_one(void *obj, const char *s, char *err, size_t errlen)
{
	struct conf_gpu		*g = &((struct conf_pool *)obj)->gpu;
	struct conf_gpu_match	*m = &g->match[g->nmatch];
	unsigned		 vendor, product;
	int			 n, len = 0;

	if (g->nmatch == CONF_GPU_MATCH_MAX)
		return conftab_err(err, errlen, "gpu_match: at most %d entries",
		    CONF_GPU_MATCH_MAX);
	n = sscanf(s, "%4x%n:%4x%n", &vendor, &len, &product, &len);
	if (n < 1 || s[len] != '\0' || len == 0)
		return conftab_err(err, errlen, "gpu_match \"%s\": use "
		    "vendor:product in hex, such as 10de:2231, or a vendor "
		    "alone", s);
	m->vendor = vendor;
	m->product = n == 2 ? (int)product : -1;
	g->nmatch++;
	return 0;
}

static const char *
conf_gpu_match_show(const void *obj, const struct conftab_key *k, size_t i,
    char *buf, size_t len)
{
	const struct conf_gpu	*g = &((const struct conf_pool *)obj)->gpu;

	if (i >= g->nmatch)
		return NULL;
	if (g->match[i].product == -1)
		snprintf(buf, len, "%04x", g->match[i].vendor);
	else
		snprintf(buf, len, "%04x:%04x", g->match[i].vendor,
		    g->match[i].product);
	return buf;
}

static int
conf_gpu_device_one(void *obj, const char *s, char *err, size_t errlen)
{
	struct conf_gpu	*g = &((struct conf_pool *)obj)->gpu;

	if (g->ndevices == CONF_GPU_DEVICES_MAX)
		return conftab_err(err, errlen, "gpu_devices: at most %d "
		    "devices", CONF_GPU_DEVICES_MAX);
	if (gpu_addr_parse(s, &g->devices[g->ndevices]) == -1)
		return conftab_err(err, errlen, "gpu_devices \"%s\" is not a "
		    "PCI address such as 0000:41:00.0", s);
	g->ndevices++;
	return 0;
}

static const char *
conf_gpu_devices_show(const void *obj, const struct conftab_key *k, size_t i,
    char *buf, size_t len)
{
	const struct conf_gpu	*g = &((const struct conf_pool *)obj)->gpu;

	if (i >= g->ndevices)
		return NULL;
	gpu_addr_format(&g->devices[i], buf, len);
	return buf;
}


#define B	struct broker_config
#define H	struct conf_host
#define G	struct conf_gateway
#define P	struct conf_pool
#define PKI	SYSCONFDIR "/paprika/pki"
#define SECS(N, T, F, DEF, DOC) \
	CONFTAB_KEY_SECS(N, T, F, 0, CONF_SECS_MAX, DEF, DOC)

/* The keys, in the order -n -v prints them. */
static const struct conftab_key conf_broker_keys[] = {
	CONFTAB_KEY_AT("listen", B, listen, nlisten, conf_listen_parse,
	    conftab_strs_show, conftab_strs_free, 0, "127.0.0.1:8443",
	    "address:port of the API and portal; lines add up"),
	CONFTAB_KEY_STR("user", B, user, NULL,
	    "the account to run as once the keys are read"),
	CONFTAB_KEY_STR("tls_cert", B, cert, PKI "/broker/broker-cert.pem",
	    "the broker's certificate chain"),
	CONFTAB_KEY_STR("tls_key", B, key, PKI "/broker/broker-key.pem",
	    "its private key"),
	CONFTAB_KEY_STR("state", B, state,
	    LOCALSTATEDIR "/lib/paprika/broker/broker.db",
	    "the SQLite database of sessions, guests and audit"),
	CONFTAB_KEY_STR("database", B, database, NULL,
	    "postgresql://... to share the state between brokers "
	    "(default: the SQLite file state names)"),
	/* At least 3 s: the leader renews every third of it. */
	CONFTAB_KEY_SECS("lease_time", B, lease_time, 3, 300, "6",
	    "brokers on one database: how long a silent leader leads"),
	CONFTAB_KEY_STR("advertise", B, advertise, NULL,
	    "this broker's URL, which standbys forward to while it leads"),
	CONFTAB_KEY_STR("cluster_ca", B, cluster_ca, PKI "/ca/ca-cert.pem",
	    "brokers on one database: the CA of the leader's certificate"),
	CONFTAB_KEY_STR("ticket_keys", B, ticket_keys, PKI "/ticket-keys",
	    "the keys shared with the gateways"),
	CONFTAB_KEY_STR("spice_ca", B, spice_ca, PKI "/ca/ca-cert.pem",
	    "the CA of the hosts' SPICE certificates, for the .vv files"),
	CONFTAB_KEY_STR("pam_service", B, pam_service, "paprika",
	    "the PAM service that checks passwords"),
	CONFTAB_KEY_UINT("pam_min_uid", B, pam_min_uid, 0, UINT32_MAX - 1, NULL,
	    "PAM accounts below it are refused (default: UID_MIN)"),
	CONFTAB_KEY_BOOL("pam_allow_root", B, pam_allow_root, "no",
	    "whether root may log in through PAM"),
	CONFTAB_KEY_STR("users_file", B, users_file,
	    SYSCONFDIR "/paprika/users", "the broker's own accounts"),
	CONFTAB_KEY_STR("portal_dir", B, portal_dir,
	    DATADIR "/paprika/portal", "the web portal's files; empty: none"),
	CONFTAB_KEY_CUSTOM("cookie", conf_cookie_parse, conf_cookie_show,
	    conf_cookie_free, "paprika_session",
	    "the session cookie's name, after " CONF_COOKIE_PREFIX),
	SECS("token_lifetime", B, token_lifetime, "8h",
	    "how long a login lasts"),
	SECS("ticket_lifetime", B, ticket_lifetime, "10m",
	    "how long a gateway ticket is good for"),
	SECS("password_lifetime", B, password_lifetime, "5m",
	    "how long a SPICE password is good for"),
	SECS("start_timeout", B, start_timeout, "3m",
	    "how long a guest may take to start"),
	CONFTAB_KEY_UINT("auth_threads", B, auth_threads, 1, 32, "2",
	    "threads that check passwords"),
	CONFTAB_KEY_UINT("audit_keep_days", B, audit_keep_days, 0, 36500, "400",
	    "days the audit log is kept; 0: forever"),
	/* 0 would purge in a busy loop. */
	CONFTAB_KEY_SECS("audit_purge_interval", B, audit_purge_interval, 1,
	    CONF_SECS_MAX, "1d", "how often old audit records are purged"),
	CONFTAB_KEY_STR("spice_html5_dir", B, spice_html5_dir,
	    "/usr/share/spice-html5", "the browser client; empty: none"),
	CONFTAB_KEY_SECS("audit_screenshot_window", B, audit_screenshot_window,
	    0, 86400, "10m",
	    "how long helpdesk screenshots are audited together"),
	CONFTAB_KEY_ENUM("totp", B, totp, conf_totp_names, "off",
	    "the second factor: off, optional or required"),
	CONFTAB_KEY_STR("totp_key", B, totp_key, PKI "/broker/totp.key",
	    "the key that seals the second factors' secrets"),
	CONFTAB_KEY_LIST("totp_groups", B, totp_groups, ntotp_groups,
	    "groups whose members must use the second factor"),
	CONFTAB_KEY_NETS("metrics_networks", B, metrics_nets, nmetrics_nets,
	    CONFTAB_NONE, "127.0.0.0/8, ::1",
	    "networks that may read /metrics; none: nobody"),
	CONFTAB_KEY_END
};

static const struct conftab_key conf_roles_keys[] = {
	CONFTAB_KEY_LIST("helpdesk", B, helpdesk_groups, nhelpdesk_groups,
	    "groups of the helpdesk role"),
	CONFTAB_KEY_LIST("admin", B, admin_groups, nadmin_groups,
	    "groups of the admin role (and helpdesk)"),
	CONFTAB_KEY_END
};

/* [limits]: the throttle's and HTTP server's own defaults where none. */
static const struct conftab_key conf_limits_keys[] = {
	CONFTAB_KEY_UINT("login_free_failures", B, throttle.free_failures, 0,
	    1000, NULL, "failed logins before the delays start"),
	SECS("login_delay", B, throttle.delay_base, NULL,
	    "the first delay; it doubles"),
	SECS("login_delay_max", B, throttle.delay_max, NULL,
	    "the longest delay"),
	CONFTAB_KEY_UINT("login_lockout_failures", B, throttle.lockout_failures,
	    0, 100000, NULL, "failed logins that lock an account; 0: never"),
	SECS("login_lockout", B, throttle.lockout, NULL,
	    "how long a lockout lasts"),
	SECS("login_window", B, throttle.window, NULL,
	    "how long failures are remembered"),
	/* Longer would hold each failed login's connection for minutes. */
	CONFTAB_KEY_SECS("login_fail_delay", B, login_fail_delay, 0, 60, "2",
	    "each failed login's answer waits"),
	CONFTAB_KEY_SIZE("max_body", B, http.max_body, 1024, 16 * 1024 * 1024,
	    NULL, "the largest request body"),
	CONFTAB_KEY_SECS("request_timeout", B, http.request_timeout, 1,
	    CONF_SECS_MAX, NULL, "time from accept to a whole request"),
	CONFTAB_KEY_UINT("max_connections", B, http.max_connections, 1, 1000000,
	    NULL, "API connections at once"),
	CONFTAB_KEY_UINT("max_connections_per_source", B, http.max_per_source,
	    0, 1000000, NULL, "of them from one source; 0: no cap"),
	CONFTAB_KEY_UINT("source_prefix_v6", B, http.source_prefix_v6, 1, 128,
	    NULL, "the bits of an IPv6 address that make one source"),
	CONFTAB_KEY_UINT("max_forwards", B, max_forwards, 1, 100000, "64",
	    "a standby's requests forwarded to the leader at once"),
	CONFTAB_KEY_UINT("events_subscribers", B, events_subscribers, 0, 10000,
	    "32", "event streams at once"),
	CONFTAB_KEY_SIZE("events_queue", B, events_queue, 1024,
	    64 * 1024 * 1024, "256k", "bytes queued per event stream"),
	/* Quieter than the API's stall timeout, a stream is cut. */
	CONFTAB_KEY_SECS("events_heartbeat", B, events_heartbeat, 1,
	    CONF_HEARTBEAT_MAX, "15", "an idle event stream's keepalive"),
	CONFTAB_KEY_END
};

static const struct conftab_key conf_host_keys[] = {
	CONFTAB_KEY_STR("uri", H, uri, NULL, "the libvirt connection URI"),
	CONFTAB_KEY_CHECKED("spice_address", CONFTAB_STR, H, spice_address,
	    conf_ip_ok, "not an IPv4 or IPv6 address", NULL,
	    "where gateways reach SPICE; empty: the listen address"),
	CONFTAB_KEY_STR("spice_subject", H, spice_subject, NULL,
	    "the subject of the host's SPICE certificate"),
	CONFTAB_KEY_STR("spice_cert", H, spice_cert, NULL,
	    "or the certificate to read it from"),
	CONFTAB_KEY_END
};

static const struct conftab_key conf_gateway_keys[] = {
	CONFTAB_KEY_CHECKED("proxy", CONFTAB_STR, G, proxy, conf_proxy_ok,
	    "must start with http:// or https://", NULL,
	    "the proxy= URL clients get"),
	CONFTAB_KEY_STR("control", G, control, NULL,
	    "the gateway's control socket, or tls://HOST:PORT"),
	CONFTAB_KEY_STR("control_cert", G, control_cert,
	    PKI "/broker/control-cert.pem",
	    "tls://: the broker's client certificate"),
	CONFTAB_KEY_STR("control_key", G, control_key,
	    PKI "/broker/control-key.pem", "tls://: its private key"),
	CONFTAB_KEY_STR("control_ca", G, control_ca, PKI "/ca/ca-cert.pem",
	    "tls://: the CA of the gateway's certificate"),
	CONFTAB_KEY_CHECKED("websocket", CONFTAB_STR, G, websocket,
	    conf_websocket_ok, "must be wss://HOST:PORT", NULL,
	    "its listen_ws as browsers reach it"),
	CONFTAB_KEY_CUSTOM("proxy_for", conf_proxy_for_parse,
	    conf_proxy_for_show, conf_proxy_for_free, NULL,
	    "client networks, then the proxy URL they get"),
	CONFTAB_KEY_END
};

static const struct conftab_key conf_pool_keys[] = {
	CONFTAB_KEY_ENUM("kind", P, kind, conf_kind_names, "shared",
	    "static, shared or template"),
	CONFTAB_KEY_CHECKED("host", CONFTAB_CHARS, P, host_name, conf_name_ok,
	    "not a host name", NULL, "the [host NAME] of the guests"),
	CONFTAB_KEY_LIST("hosts", P, host_names, nhosts,
	    "template pools: the hosts clones may go to"),
	CONFTAB_KEY_STR("title", P, title, NULL, "the name users see"),
	CONFTAB_KEY_LIST("guests", P, guests, nguests,
	    "shared pools: the guests"),
	CONFTAB_KEY_ITEMS("assign", conf_assign_one, conf_assign_show,
	    conf_assign_free, "static pools: user=guest, ..."),
	CONFTAB_KEY_STR("template", P, template, NULL,
	    "template pools: the guest to clone"),
	CONFTAB_KEY_CHECKED("name_prefix", CONFTAB_STR, P, name_prefix,
	    conf_name_ok, "letters, digits, . _ - only", NULL,
	    "the clones' names start with it (default: NAME-)"),
	CONFTAB_KEY_UINT("max", P, max, 1, 10000, "10",
	    "template pools: clones at most"),
	CONFTAB_KEY_UINT("spares", P, spares, 0, 1000, "0",
	    "template pools: clones kept ready"),
	CONFTAB_KEY_STR("snapshot", P, snapshot, NULL,
	    "reverted to before a guest is reused"),
	CONFTAB_KEY_LIST("groups", P, groups, ngroups, "entitled groups"),
	CONFTAB_KEY_LIST("users", P, users, nusers, "entitled users"),
	CONFTAB_KEY_ENUM("disconnect_action", P, disconnect_action,
	    conf_action_names, "none", "after the grace: none, lock, "
	    "shutdown or revert"),
	SECS("disconnect_grace", P, disconnect_grace, "5m",
	    "how long a disconnected session waits"),
	SECS("idle_timeout", P, idle_timeout, "0",
	    "an idle session ends; 0: never"),
	SECS("max_session", P, max_session, "0", "any session ends; 0: never"),
	CONFTAB_KEY_BOOL("user_reset", P, user_reset, "no",
	    "users may reset their guest"),
	CONFTAB_KEY_BOOL("clipboard", P, clipboard, "yes",
	    "clients share the clipboard"),
	CONFTAB_KEY_BOOL("usbredir", P, usbredir, "yes",
	    "clients pass USB devices"),
	CONFTAB_KEY_BOOL("browser", P, browser, "no",
	    "the browser client may connect"),
	CONFTAB_KEY_ENUM("ready_when", P, ready_when, conf_ready_names, "auto",
	    "auto, agent, display or port"),
	CONFTAB_KEY_SECS("ready_timeout", P, ready_timeout, 1, CONF_SECS_MAX,
	    "5m", "how long a guest may take to be ready"),
	SECS("ready_settle", P, ready_settle, "1",
	    "display: how long the screen must be still"),
	CONFTAB_KEY_CUSTOM("totp", conf_pool_totp_parse, conf_pool_totp_show,
	    NULL, NULL, "required: the pool's users need a second factor"),
	CONFTAB_KEY_ENUM("gpu", P, gpu.mode, conf_gpu_mode_names, "none",
	    "none, passthrough or mdev"),
	CONFTAB_KEY_CHECKED("mdev_type", CONFTAB_CHARS, P, gpu.mdev_type,
	    conf_name_ok, "not a mediated device type id such as nvidia-222",
	    NULL, "mdev: the type to create"),
	CONFTAB_KEY_BOOL("mdev_display", P, gpu.mdev_display, "yes",
	    "mdev: display='on'"),
	CONFTAB_KEY_UINT("gpu_count", P, gpu.count, 1, CONF_GPU_COUNT_MAX, "1",
	    "passthrough: GPUs per guest"),
	CONFTAB_KEY_BOOL("gpu_detach", P, gpu.detach, "no",
	    "passthrough: the broker binds them to vfio-pci"),
	CONFTAB_KEY_BOOL("gpu_reset", P, gpu.reset, "yes",
	    "passthrough: reset before each start; no only for "
	    "hardware that resets itself"),
	CONFTAB_KEY_ITEMS("gpu_match", conf_gpu_match_one, conf_gpu_match_show,
	    NULL, "vendor[:product], ... in hex"),
	CONFTAB_KEY_ITEMS("gpu_devices", conf_gpu_device_one,
	    conf_gpu_devices_show, NULL, "PCI addresses, ..."),
	CONFTAB_KEY_BOOL("gpu_display", P, gpu.display, "yes",
	    "QXL and the streaming channel as well"),
	CONFTAB_KEY_ENUM("firmware", P, gpu.ovmf, conf_firmware_names, "efi",
	    "bios or efi"),
	CONFTAB_KEY_BOOL("kvm_hidden", P, gpu.kvm_hidden, "no",
	    "hide KVM from the guest"),
	CONFTAB_KEY_CHECKED("hyperv_vendor_id", CONFTAB_CHARS, P,
	    gpu.vendor_id, conf_alnum_ok, "1 to 12 letters and digits", NULL,
	    "the Hyper-V vendor id the guest sees"),
	CONFTAB_KEY_END
};

#define XSTR(x)		STR(x)
#define STR(x)		#x
#define NAME_FORM	"1 to " XSTR(BROKER_NAME_MAX) " letters, digits, . _ -"

static const struct conftab_section conf_sections[] = {
	CONFTAB_SECTION("broker", conf_broker_keys),
	CONFTAB_SECTION("roles", conf_roles_keys),
	CONFTAB_SECTION("limits", conf_limits_keys),
	CONFTAB_SECTION_ARRAY("host", "NAME", conf_host_keys, B, hosts,
	    nhosts, conf_name_ok, NAME_FORM),
	CONFTAB_SECTION_ARRAY("gateway", "NAME", conf_gateway_keys, B,
	    gateways, ngateways, conf_name_ok, NAME_FORM),
	CONFTAB_SECTION_ARRAY("pool", "NAME", conf_pool_keys, B, pools, npools,
	    conf_name_ok, NAME_FORM),
	CONFTAB_SECTION_END
};

#undef B
#undef H
#undef G
#undef P
#undef PKI
#undef SECS
#undef NAME_FORM
#undef XSTR
#undef STR

/* conftab finds a section's object by the name its struct starts with. */
_Static_assert(offsetof(struct conf_host, name) == 0, "conf_host name");
_Static_assert(offsetof(struct conf_gateway, name) == 0, "conf_gateway name");
_Static_assert(offsetof(struct conf_pool, name) == 0, "conf_pool name");

/*
 * A pool's hosts: host = NAME, or for template pools hosts = A, B (clones
 * go where there is room); 0 or -1 with err.
 */
static int
conf_pool_hosts(struct broker_config *c, struct conf_pool *p,
    const struct conftab_file *f, char *err, size_t errlen)
{
	size_t	i;

	if (p->nhosts > 0 && p->host_name[0] != '\0')
		return conftab_error(f, "pool", p->name, "hosts", err, errlen,
		    "[pool %s] has both host and hosts: use one", p->name);
	if (p->nhosts > 0 && p->kind != POOL_TEMPLATE)
		return conftab_error(f, "pool", p->name, "hosts", err, errlen,
		    "[pool %s]: only template pools spread over several "
		    "hosts; name the guests' host with host =", p->name);
	if (p->nhosts == 0) {
		if ((p->host = conf_host_find(c, p->host_name)) == NULL)
			return conftab_error(f, "pool", p->name, "host", err,
			    errlen, "[pool %s] needs host = the name of a "
			    "[host NAME] section", p->name);
		p->host_names = xcalloc(1, sizeof(*p->host_names));
		p->host_names[0] = xstrdup(p->host_name);
		p->nhosts = 1;
	}
	p->hosts = xcalloc(p->nhosts, sizeof(*p->hosts));
	for (i = 0; i < p->nhosts; i++)
		if ((p->hosts[i] = conf_host_find(c, p->host_names[i])) == NULL)
			return conftab_error(f, "pool", p->name, "hosts", err,
			    errlen, "[pool %s]: hosts names \"%s\", which is "
			    "no [host NAME] section", p->name,
			    p->host_names[i]);
	p->host = p->hosts[0];
	return 0;
}

/* What one pool's keys must say together; 0 or -1 with err. */
static int
conf_check_pool(const struct broker_config *c, const struct conf_pool *p,
    const struct conftab_file *f, char *err, size_t errlen)
{
	if (p->kind == POOL_SHARED && p->nguests == 0)
		return conftab_error(f, "pool", p->name, "kind", err, errlen,
		    "shared [pool %s] lists no guests", p->name);
	if (p->kind == POOL_STATIC && p->nassign == 0)
		return conftab_error(f, "pool", p->name, "kind", err, errlen,
		    "static [pool %s] assigns no guests (assign = user=guest, "
		    "...)", p->name);
	if (p->kind == POOL_TEMPLATE && p->template == NULL)
		return conftab_error(f, "pool", p->name, "kind", err, errlen,
		    "template [pool %s] names no template", p->name);
	if (p->kind == POOL_TEMPLATE && p->spares > p->max)
		return conftab_error(f, "pool", p->name, "spares", err, errlen,
		    "[pool %s] spares (%u) exceeds max (%u)", p->name,
		    p->spares, p->max);
	if (p->disconnect_action == DISCONNECT_REVERT &&
	    p->snapshot == NULL && p->kind != POOL_TEMPLATE)
		return conftab_error(f, "pool", p->name, "disconnect_action",
		    err, errlen, "[pool %s] disconnect_action = revert needs "
		    "a snapshot", p->name);
	if (p->gpu.mode == GPU_MODE_MDEV && p->gpu.mdev_type[0] == '\0')
		return conftab_error(f, "pool", p->name, "gpu", err, errlen,
		    "[pool %s] gpu = mdev needs mdev_type (see paprikactl gpus "
		    "for the host's types)", p->name);
	if (p->gpu.mode == GPU_MODE_PASSTHROUGH && p->gpu.ndevices > 0 &&
	    p->gpu.ndevices < p->gpu.count)
		return conftab_error(f, "pool", p->name, "gpu_devices", err,
		    errlen, "[pool %s] lists %zu gpu_devices for gpu_count = "
		    "%u", p->name, p->gpu.ndevices, p->gpu.count);
	if (p->totp_required && c->totp == CONF_TOTP_OFF)
		return conftab_error(f, "pool", p->name, "totp", err, errlen,
		    "[pool %s] totp = required needs [broker] totp = optional "
		    "or required", p->name);
	return 0;
}

/* A pool's derived values, warnings, and names unique across pools. */
static int
conf_finish_pool(struct broker_config *c, size_t i,
    const struct conftab_file *f, char *err, size_t errlen)
{
	struct conf_pool	*p = &c->pools[i], *q;
	char			 where[1024];
	size_t			 j;

	snprintf(where, sizeof(where), "%s:%d", f->path,
	    conftab_line(f, "pool", p->name, NULL));
	if (p->name_prefix == NULL)
		xasprintf(&p->name_prefix, "%s-", p->name);
	if (p->title == NULL)
		p->title = xstrdup(p->name);
	if (p->ngroups == 0 && p->nusers == 0 && p->kind != POOL_STATIC)
		log_warnx("%s: [pool %s] has no groups or users: nobody may "
		    "use it", where, p->name);
	if (p->kind == POOL_SHARED && p->snapshot == NULL)
		log_warnx("%s: shared [pool %s] has no snapshot: the next user "
		    "may see what the previous one left", where, p->name);
	for (j = 0; j < i; j++) {
		q = &c->pools[j];
		if (p->host == q->host && p->kind == POOL_TEMPLATE &&
		    q->kind == POOL_TEMPLATE &&
		    strcmp(p->name_prefix, q->name_prefix) == 0)
			return conftab_error(f, "pool", p->name, "name_prefix",
			    err, errlen, "[pool %s] and [pool %s] share the "
			    "name_prefix \"%s\"", p->name, q->name,
			    p->name_prefix);
	}
	return 0;
}

const char *
conf_database(const struct broker_config *c)
{
	return c->database != NULL ? c->database : c->state;
}

/* Checks what only the whole file can tell; 0 or -1 with err. */
static int
conf_check(struct broker_config *c, const struct conftab_file *f, char *err,
    size_t errlen)
{
	size_t	i;

	if (c->state == NULL)
		return conftab_error(f, "broker", NULL, "state", err, errlen,
		    "[broker] state is empty");
	if (c->database != NULL && strncmp(c->database, "sqlite:", 7) != 0 &&
	    strncmp(c->database, "postgresql://", 13) != 0 &&
	    strncmp(c->database, "postgres://", 11) != 0)
		return conftab_error(f, "broker", NULL, "database", err, errlen,
		    "database is postgresql://... or sqlite:PATH");
	if (c->events_heartbeat >= c->http.timeout)
		return conftab_error(f, "limits", NULL, "events_heartbeat", err,
		    errlen, "events_heartbeat is 1s to %us",
		    c->http.timeout - 1);
	for (i = 0; i < c->nhosts; i++)
		if (c->hosts[i].uri == NULL)
			return conftab_error(f, "host", c->hosts[i].name, NULL,
			    err, errlen, "[host %s] has no uri",
			    c->hosts[i].name);
	if (c->ntotp_groups > 0 && c->totp == CONF_TOTP_OFF)
		return conftab_error(f, "broker", NULL, "totp_groups", err,
		    errlen, "[broker] totp_groups needs totp = optional or "
		    "required");
	if (c->ngateways == 0)
		return conftab_error(f, "", NULL, NULL, err, errlen, "no "
		    "[gateway NAME] section: desktops are reached through a "
		    "gateway");
	for (i = 0; i < c->ngateways; i++)
		if (c->gateways[i].proxy == NULL)
			return conftab_error(f, "gateway", c->gateways[i].name,
			    "proxy", err, errlen, "[gateway %s] has no proxy "
			    "URL", c->gateways[i].name);
	for (i = 0; i < c->npools; i++)
		if (conf_pool_hosts(c, &c->pools[i], f, err, errlen) == -1 ||
		    conf_check_pool(c, &c->pools[i], f, err, errlen) == -1 ||
		    conf_finish_pool(c, i, f, err, errlen) == -1)
			return -1;
	return 0;
}

struct broker_config *
conf_load(const char *path, char *err, size_t errlen)
{
	struct broker_config	*c;
	struct conftab_file	 f;
	int			 rc;

	c = xcalloc(1, sizeof(*c));
	c->pam_min_uid = auth_uid_min("/etc/login.defs");
	http_limits_defaults(&c->http);
	throttle_config_defaults(&c->throttle);
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
conf_free(struct broker_config *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->npools; i++)
		free(c->pools[i].hosts);
	conftab_free(conf_sections, c);
	free(c);
}

void
conf_dump(const struct broker_config *c, FILE *fp)
{
	conftab_dump(conf_sections, c, fp);
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
