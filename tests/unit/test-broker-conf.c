/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for broker/conf.c: the example configuration loads, bad files
 * are refused with file:line, and roles, entitlements and the gateway
 * address per client network follow the file.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker.h"
#include "log.h"
#include "unit.h"

static const char base[] =
    "[broker]\nstate = /tmp/x.db\n"
    "[roles]\nhelpdesk = hd\nadmin = root-ops\n"
    "[host hv1]\nuri = qemu:///system\nspice_address = 10.0.0.5\n"
    "[gateway gw]\nproxy = http://gw.example:3128\n"
    "proxy_for = 10.1.0.0/16, 10.2.0.0/16 http://10.1.0.1:3128\n"
    "[pool office]\nkind = shared\nhost = hv1\nguests = d1, d2\n"
    "snapshot = clean\ngroups = staff\nusers = carol\n"
    "[pool mine]\nkind = static\nhost = hv1\nassign = alice=a-desk\n";

/* Writes text to a temporary file and loads it; err gets the message. */
static struct broker_config *
load(const char *text, char *err, size_t errlen)
{
	char			 path[] = "/tmp/paprika-conf.XXXXXX";
	struct broker_config	*c;
	int			 fd;

	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	c = conf_load(path, err, errlen);
	unlink(path);
	return c;
}

/* Loads text + keys, which must be refused with want in the message. */
static void
refused_after(const char *text, const char *keys, const char *want)
{
	char	err[512], all[2048];

	fmt(all, sizeof(all), "%s%s", text, keys);
	err[0] = '\0';
	assert_null(load(all, err, sizeof(err)));
	if (strstr(err, want) == NULL)
		fail_msg("%s\"%s\" lacks \"%s\"", keys, err, want);
}

static void
test_example_loads(void **state)
{
	struct broker_config	*c;
	char			 err[512] = "", path[1024];
	const char		*srcdir = getenv("top_srcdir");

	fmt(path, sizeof(path), "%s/broker/paprika-brokerd.conf",
	    srcdir != NULL ? srcdir : ".");
	c = conf_load(path, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_true(c->npools >= 3);
	assert_non_null(conf_pool_find(c, "lab"));
	conf_free(c);
}

static void
test_refused(void **state)
{
	static const struct {
		const char	*text;
		const char	*want;
	} bad[] = {
		{ "[broker]\nlisten = nowhere\n", ":2: " },
		{ "[broker]\nfrobnicate = 1\n", "unknown setting" },
		{ "[nonsense]\na = b\n", "unknown section" },
		{ "[pool p]\nkind = fancy\n", "kind \"fancy\": use static, shared or "
		    "template" },
		{ "[pool p]\ndisconnect_action = sleep\n", "disconnect_action "
		    "\"sleep\": use none, lock, shutdown or revert" },
		{ "[pool p]\nready_when = screen\n", "ready_when \"screen\": "
		    "use auto, agent, display or port" },
		{ "[pool p]\nready_timeout = 0\n", ":2: ready_timeout 0 is out "
		    "of range (1s to 365d)" },
		{ "[pool p]\nready_settle = soon\n", ":2: " },
		{ "[gateway g]\nproxy = ftp://x\n", "must start with http" },
		{ "[host h]\nspice_address = hv.example\n", "not an IPv4" },
		{ "[gateway g]\nproxy = http://g:3128\n[pool p]\nguests = a\n",
		    "needs host" },
		{ "[host h]\nuri = test:///default\n[pool p]\nhost = h\n"
		    "guests = a\n", "no [gateway" },
		{ "[host h]\nuri = test:///default\n[gateway g]\n"
		    "proxy = http://g:1\n[pool p]\nhost = h\nkind = static\n",
		    "assigns no guests" },
		{ "[host h]\nuri = test:///default\n[gateway g]\n"
		    "proxy = http://g:1\n[pool p]\nhost = h\nguests = a\n"
		    "disconnect_action = revert\n", "needs a snapshot" },
		{ "[host h]\nuri = test:///default\n[gateway g]\n"
		    "proxy = http://g:1\n[pool p]\nhost = h\nkind = template\n"
		    "template = t\nmax = 2\nspares = 3\n", "exceeds max" },
	};
	char	err[512];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(load(bad[i].text, err, sizeof(err)));
		if (strstr(err, bad[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
			    bad[i].want);
	}
}

static struct auth_user
user(const char *name, const char *g1, const char *g2)
{
	struct auth_user	u;

	memset(&u, 0, sizeof(u));
	strlcpy(u.name, name, sizeof(u.name));
	if (g1 != NULL)
		strlcpy(u.groups[u.ngroups++], g1, sizeof(u.groups[0]));
	if (g2 != NULL)
		strlcpy(u.groups[u.ngroups++], g2, sizeof(u.groups[0]));
	return u;
}

static struct login
login_of(const struct auth_user *u)
{
	struct login	l;
	size_t		i;

	memset(&l, 0, sizeof(l));
	strlcpy(l.user, u->name, sizeof(l.user));
	for (i = 0; i < u->ngroups; i++)
		strlcpy(l.groups[i], u->groups[i], sizeof(l.groups[i]));
	l.ngroups = u->ngroups;
	return l;
}

static void
test_roles_and_entitlements(void **state)
{
	struct broker_config	*c;
	struct auth_user	 staff = user("bob", "users", "staff");
	struct auth_user	 hd = user("hank", "hd", NULL);
	struct auth_user	 ops = user("olga", "root-ops", NULL);
	struct auth_user	 carol = user("carol", NULL, NULL);
	struct auth_user	 alice = user("alice", NULL, NULL);
	struct login		 l;
	struct conf_pool	*office, *mine;
	char			 err[512];

	assert_non_null(c = load(base, err, sizeof(err)));
	office = conf_pool_find(c, "office");
	mine = conf_pool_find(c, "mine");
	assert_int_equal(conf_roles(c, &staff), ROLE_USER);
	assert_int_equal(conf_roles(c, &hd), ROLE_USER | ROLE_HELPDESK);
	assert_int_equal(conf_roles(c, &ops),
	    ROLE_USER | ROLE_HELPDESK | ROLE_ADMIN);

	l = login_of(&staff);
	assert_true(conf_entitled(office, &l));
	assert_false(conf_entitled(mine, &l));
	l = login_of(&hd);
	assert_false(conf_entitled(office, &l));
	l = login_of(&carol);		/* named in users */
	assert_true(conf_entitled(office, &l));
	l = login_of(&alice);		/* her static guest, not the group */
	assert_true(conf_entitled(mine, &l));
	assert_false(conf_entitled(office, &l));
	assert_string_equal(mine->assign[0].guest, "a-desk");
	conf_free(c);
}

static void
test_proxy_for(void **state)
{
	struct broker_config	*c;
	struct sockaddr_in	 sin;
	char			 err[512];

	assert_non_null(c = load(base, err, sizeof(err)));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "10.2.3.4", &sin.sin_addr);
	assert_string_equal(conf_proxy_for(c, (struct sockaddr *)&sin),
	    "http://10.1.0.1:3128");
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	assert_string_equal(conf_proxy_for(c, (struct sockaddr *)&sin),
	    "http://gw.example:3128");
	conf_free(c);
}

/*
 * browser: no unless the pool says yes; websocket: wss:// only, per
 * gateway, and the gateway for a client follows proxy_for.
 */
static void
test_browser(void **state)
{
	struct broker_config		*c;
	const struct conf_gateway	*g;
	struct sockaddr_in		 sin;
	char				 err[512], text[2048];
	const char			*bad[] = { "https://gw:8443", "wss://",
	    "wss://gw:8443/spice?ticket=x", "wss://gw:8443 x", "wss://a@gw" };
	size_t				 i;

	fmt(text, sizeof(text), "%s[gateway gw]\nwebsocket = wss://gw:8443\n"
	    "[gateway inner]\nproxy = http://in:3128\n"
	    "proxy_for = 10.9.0.0/16 http://in:3128\n"
	    "websocket = wss://in.example:9443\n"
	    "[pool mine]\nbrowser = yes\n", base);
	assert_non_null(c = load(text, err, sizeof(err)));
	assert_false(conf_pool_find(c, "office")->browser);
	assert_true(conf_pool_find(c, "mine")->browser);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "10.9.3.4", &sin.sin_addr);
	g = conf_gateway_for(c, (struct sockaddr *)&sin);
	assert_string_equal(g->websocket, "wss://in.example:9443");
	inet_pton(AF_INET, "10.2.3.4", &sin.sin_addr);
	g = conf_gateway_for(c, (struct sockaddr *)&sin);
	assert_string_equal(g->websocket, "wss://gw:8443");
	conf_free(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fmt(text, sizeof(text), "%s[gateway gw]\nwebsocket = %s\n",
		    base, bad[i]);
		err[0] = '\0';
		assert_null(load(text, err, sizeof(err)));
		if (strstr(err, "wss://HOST:PORT") == NULL)
			fail_msg("websocket %s: \"%s\"", bad[i], err);
	}
	fmt(text, sizeof(text), "%sbrowser = maybe\n", base);
	assert_null(load(text, err, sizeof(err)));
}

/* clipboard and usbredir: yes unless the pool says no, and only yes or no. */
static void
test_client_policy(void **state)
{
	struct broker_config	*c;
	struct conf_pool	*office, *mine;
	char			 err[512], text[1024];

	fmt(text, sizeof(text), "%sclipboard = no\nusbredir = no\n", base);
	assert_non_null(c = load(text, err, sizeof(err)));
	office = conf_pool_find(c, "office");
	mine = conf_pool_find(c, "mine");
	assert_true(office->clipboard && office->usbredir);
	assert_false(mine->clipboard || mine->usbredir);
	conf_free(c);
	fmt(text, sizeof(text), "%susbredir = sometimes\n", base);
	err[0] = '\0';
	assert_null(load(text, err, sizeof(err)));
	if (strstr(err, "usbredir") == NULL && strstr(err, "sometimes") == NULL)
		fail_msg("\"%s\" names neither the key nor the value", err);
}

/* GPU pool keys: parsed into conf_gpu, and bad values refused in words. */
static void
test_gpu_pools(void **state)
{
	static const struct {
		const char	*keys;
		const char	*want;
	} bad[] = {
		{ "gpu = yes\n", "use none, passthrough or mdev" },
		{ "gpu = mdev\n", "needs mdev_type" },
		{ "gpu_match = nvidia\n", "vendor:product in hex" },
		{ "gpu_match = 10de:2231:1\n", "vendor:product in hex" },
		{ "gpu_devices = 41:00.0\n", "not a PCI address" },
		{ "gpu_count = 5\n", "out of range (1 to 4)" },
		{ "gpu = passthrough\ngpu_count = 2\ngpu_devices = "
		    "0000:41:00.0\n", "1 gpu_devices for gpu_count = 2" },
		{ "hyperv_vendor_id = too-long-vendor\n", "1 to 12 letters" },
		{ "firmware = coreboot\n", "firmware \"coreboot\": use bios or efi" },
		{ "hosts = hv1\n", "has both host and hosts" },
	};
	struct broker_config	*c;
	struct conf_gpu		*g;
	char			 err[512], text[2048], addr[GPU_ADDR_LEN];
	size_t			 i;

	fmt(text, sizeof(text), "%sgpu = passthrough\ngpu_count = 2\n"
	    "gpu_match = 10de:2231, 1002\ngpu_devices = 0000:41:00.0, "
	    "0000:42:00.0\ngpu_detach = yes\nkvm_hidden = yes\n"
	    "hyperv_vendor_id = paprika\nfirmware = bios\ngpu_reset = no\n",
	    base);
	if ((c = load(text, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	g = &conf_pool_find(c, "mine")->gpu;
	assert_int_equal(g->mode, GPU_MODE_PASSTHROUGH);
	assert_int_equal(g->count, 2);
	assert_int_equal(g->nmatch, 2);
	assert_int_equal(g->match[0].vendor, 0x10de);
	assert_int_equal(g->match[0].product, 0x2231);
	assert_int_equal(g->match[1].vendor, 0x1002);
	assert_int_equal(g->match[1].product, -1);
	assert_int_equal(g->ndevices, 2);
	gpu_addr_format(&g->devices[1], addr, sizeof(addr));
	assert_string_equal(addr, "0000:42:00.0");
	assert_true(g->detach && g->kvm_hidden && !g->ovmf && g->display);
	assert_false(g->reset);
	assert_string_equal(g->vendor_id, "paprika");
	assert_int_equal(conf_pool_find(c, "office")->gpu.mode, GPU_MODE_NONE);
	assert_true(conf_pool_find(c, "office")->gpu.reset);	/* default */
	conf_free(c);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused_after(base, bad[i].keys, bad[i].want);
}

/* hosts = A, B: template pools only, each a [host] section. */
static void
test_pool_hosts(void **state)
{
	struct broker_config	*c;
	struct conf_pool	*p;
	char			 err[512], text[2048];

	fmt(text, sizeof(text), "%s[host hv2]\nuri = test:///default\n"
	    "[pool lab]\nkind = template\ntemplate = t\nhosts = hv2, hv1\n",
	    base);
	if ((c = load(text, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	p = conf_pool_find(c, "lab");
	assert_int_equal(p->nhosts, 2);
	assert_string_equal(p->hosts[0]->name, "hv2");
	assert_string_equal(p->hosts[1]->name, "hv1");
	assert_ptr_equal(p->host, p->hosts[0]);
	assert_int_equal(conf_pool_find(c, "office")->nhosts, 1);
	conf_free(c);

	fmt(text, sizeof(text), "%s[pool lab]\nkind = template\n"
	    "template = t\nhosts = hv1, hv9\n", base);
	err[0] = '\0';
	assert_null(load(text, err, sizeof(err)));
	assert_non_null(strstr(err, "\"hv9\", which is no [host NAME]"));
	fmt(text, sizeof(text), "%s[pool lab]\nguests = a\nhosts = hv1\n",
	    base);
	err[0] = '\0';
	assert_null(load(text, err, sizeof(err)));
	assert_non_null(strstr(err, "only template pools"));
}

/* What conf_dump prints (the caller frees it). */
static char *
dump_of(const struct broker_config *c)
{
	char	*dump = NULL;
	size_t	 len = 0;
	FILE	*fp;

	assert_non_null(fp = open_memstream(&dump, &len));
	conf_dump(c, fp);
	fclose(fp);
	return dump;
}

/* Checks after parsing name the line that set the key they are about. */
static void
test_check_lines(void **state)
{
	static const char	gw[] = "[host h]\nuri = test:///default\n"
	    "[gateway g]\nproxy = http://g:1\n";
	static const struct {
		const char	*keys;
		const char	*want;
	} bad[] = {
		{ "[pool p]\nhost = h\nkind = template\ntemplate = t\n"
		    "spares = 30\n", ":9: [pool p] spares (30) exceeds max (10)" },
		{ "[pool p]\nhost = h\nguests = a\n\ndisconnect_action = "
		    "revert\n", ":9: [pool p] disconnect_action = revert" },
		{ "[pool p]\nguests = a\nkind = shared\n", ":6: [pool p] needs "
		    "host" },
		{ "[pool p]\nhost = h\nkind = static\n", ":7: static [pool p] "
		    "assigns no guests" },
		{ "[host i]\nspice_subject = CN=i\n", ":6: [host i] has no uri" },
		{ "[broker]\ntotp_groups = staff\n", ":6: [broker] totp_groups "
		    "needs totp" },
		{ "[gateway h]\ncontrol = /x\n", ":6: [gateway h] has no proxy" },
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused_after(gw, bad[i].keys, bad[i].want);
}

/* [gateway] control: a socket's path, or tls://HOST:PORT with its keys. */
static void
test_gateway_control(void **state)
{
	static const struct {
		const char	*control;
		const char	*want;	/* NULL: accepted */
	} cases[] = {
		{ "/run/paprika/gatewayd.sock", NULL },
		{ "tls://gw2.example.com", "expected tls://HOST:PORT" },
		{ "tls://gw2.example.com:0", "expected tls://HOST:PORT" },
		{ "tls://gw2.example.com:http", "expected tls://HOST:PORT" },
		{ "tls://:3130", "expected tls://HOST:PORT" },
		{ "tls://::1:3130", "expected tls://HOST:PORT" },
		{ "tls://[::1:3130", "expected tls://HOST:PORT" },
		{ "tls://gw/x:3130", "expected tls://HOST:PORT" },
		/* Well formed: then the keys, which are missing here. */
		{ "tls://gw2.example.com:3130", "paprika-certs --only control" },
		{ "tls://[2001:db8::2]:3130", "/nonexistent/ca.pem" },
	};
	struct broker_config	*c;
	char			 err[1024], text[2048];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fmt(text, sizeof(text), "%s[gateway gw2]\nproxy = "
		    "http://gw2:3128\ncontrol = %s\ncontrol_ca = "
		    "/nonexistent/ca.pem\n", base, cases[i].control);
		err[0] = '\0';
		if ((c = load(text, err, sizeof(err))) == NULL)
			fail_msg("%s: %s", cases[i].control, err);
		if (cases[i].want == NULL)
			assert_int_equal(gwctl_init(c, err, sizeof(err)), 0);
		else {
			assert_int_equal(gwctl_init(c, err, sizeof(err)), -1);
			if (strstr(err, cases[i].want) == NULL ||
			    strstr(err, "[gateway gw2]") == NULL)
				fail_msg("%s: \"%s\" lacks \"%s\"",
				    cases[i].control, err, cases[i].want);
		}
		gwctl_shutdown();
		conf_free(c);
	}
}

/* -n -v prints every key, defaults included, in its section. */
static void
test_dump_all(void **state)
{
	struct broker_config	*c;
	char			 err[512] = "", *dump;

	if ((c = load(base, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	dump = dump_of(c);
	assert_non_null(strstr(dump, "[broker]\nlisten = 127.0.0.1:8443\n"
	    "user = \n"));
	assert_non_null(strstr(dump, "metrics_networks = 127.0.0.0/8, "
	    "::1/128\n\n[roles]\nhelpdesk = hd\nadmin = root-ops\n\n"
	    "[limits]\nlogin_free_failures = 3\n"));
	assert_non_null(strstr(dump, "[gateway gw]\nproxy = "
	    "http://gw.example:3128\ncontrol = \ncontrol_cert = "));
	assert_non_null(strstr(dump, "/broker/control-cert.pem\n"
	    "control_key = "));
	assert_non_null(strstr(dump, "/ca/ca-cert.pem\nwebsocket = \nproxy_for = "
	    "10.1.0.0/16 http://10.1.0.1:3128\nproxy_for = 10.2.0.0/16 "
	    "http://10.1.0.1:3128\n"));
	assert_non_null(strstr(dump, "[pool mine]\nkind = static\n"
	    "host = hv1\nhosts = hv1\ntitle = mine\nguests = \n"
	    "assign = alice=a-desk\n"));
	assert_non_null(strstr(dump, "totp = optional\ngpu = none\n"));
	free(dump);
	conf_free(c);
}

/* ready_when and its timeouts: defaults, settings, and the dump. */
static void
test_ready(void **state)
{
	struct broker_config	*c;
	struct conf_pool	*p;
	char			 err[512] = "", text[2048], *dump;

	c = load(base, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	p = conf_pool_find(c, "office");
	assert_int_equal(p->ready_when, VIRT_READY_AUTO);
	assert_int_equal(p->ready_timeout, 300);
	assert_int_equal(p->ready_settle, 1);
	conf_free(c);

	fmt(text, sizeof(text), "%s[pool office]\nready_when = display\n"
	    "ready_timeout = 2m\nready_settle = 3s\n"
	    "[pool mine]\nready_when = port\n", base);
	c = load(text, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	p = conf_pool_find(c, "office");
	assert_int_equal(p->ready_when, VIRT_READY_DISPLAY);
	assert_int_equal(p->ready_timeout, 120);
	assert_int_equal(p->ready_settle, 3);
	assert_int_equal(conf_pool_find(c, "mine")->ready_when,
	    VIRT_READY_PORT);
	dump = dump_of(c);
	assert_non_null(strstr(dump, "ready_when = display\n"
	    "ready_timeout = 120s\nready_settle = 3s\n"));
	assert_non_null(strstr(dump, "ready_when = port\n"));
	free(dump);
	conf_free(c);
}

/* Audit retention: defaults, 0 for forever, limits, and the dump. */
static void
test_audit_retention(void **state)
{
	struct broker_config	*c;
	char			 err[512] = "", text[2048], *dump;

	c = load(base, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->audit_keep_days, 400);
	assert_int_equal(c->audit_purge_interval, 86400);
	conf_free(c);

	fmt(text, sizeof(text), "[broker]\naudit_keep_days = 0\n"
	    "audit_purge_interval = 2s\n%s", base + strlen("[broker]\n"));
	c = load(text, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->audit_keep_days, 0);
	assert_int_equal(c->audit_purge_interval, 2);
	dump = dump_of(c);
	assert_non_null(strstr(dump, "audit_keep_days = 0\n"
	    "audit_purge_interval = 2s\n"));
	free(dump);
	conf_free(c);

	assert_null(load("[broker]\naudit_keep_days = 36501\n", err,
	    sizeof(err)));
	assert_non_null(strstr(err, ":2: "));
	assert_null(load("[broker]\naudit_keep_days = -1\n", err,
	    sizeof(err)));
	assert_null(load("[broker]\naudit_purge_interval = 0\n", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "out of range (1s to 365d)"));
}

/* PAM accounts and the failure delay: defaults, settings, limits, dump. */
static void
test_pam_settings(void **state)
{
	struct broker_config	*c;
	char			 err[512] = "", text[2048], *dump;

	c = load(base, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->pam_min_uid, auth_uid_min("/etc/login.defs"));
	assert_int_equal(c->pam_allow_root, 0);
	assert_int_equal(c->login_fail_delay, 2);
	conf_free(c);

	fmt(text, sizeof(text), "[broker]\npam_min_uid = 500\n"
	    "pam_allow_root = yes\n%s\n[limits]\nlogin_fail_delay = 1m\n",
	    base + strlen("[broker]\n"));
	c = load(text, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->pam_min_uid, 500);
	assert_int_equal(c->pam_allow_root, 1);
	assert_int_equal(c->login_fail_delay, 60);
	dump = dump_of(c);
	assert_non_null(strstr(dump, "pam_min_uid = 500\n"
	    "pam_allow_root = yes\n"));
	assert_non_null(strstr(dump, "login_fail_delay = 60s\n"));
	free(dump);
	conf_free(c);

	assert_null(load("[limits]\nlogin_fail_delay = 61s\n", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "61s is out of range (0s to 60s)"));
	assert_null(load("[broker]\npam_min_uid = -1\n", err, sizeof(err)));
	assert_null(load("[broker]\npam_allow_root = maybe\n", err,
	    sizeof(err)));
}

/* The event stream's limits: defaults, settings, bounds, dump. */
static void
test_events(void **state)
{
	struct broker_config	*c;
	char			 err[512] = "", text[2048], *dump;

	c = load(base, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->events_subscribers, 32);
	assert_int_equal(c->events_queue, 256 * 1024);
	assert_int_equal(c->events_heartbeat, 15);
	conf_free(c);

	fmt(text, sizeof(text), "%s[limits]\nevents_subscribers = 0\n"
	    "events_queue = 4k\nevents_heartbeat = 29s\n", base);
	c = load(text, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->events_subscribers, 0);
	assert_int_equal(c->events_queue, 4096);
	assert_int_equal(c->events_heartbeat, 29);
	dump = dump_of(c);
	assert_non_null(strstr(dump, "events_subscribers = 0\n"
	    "events_queue = 4096\nevents_heartbeat = 29s\n"));
	free(dump);
	conf_free(c);

	assert_null(load("[limits]\nevents_heartbeat = 30s\n", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "1s to 29s"));
	assert_null(load("[limits]\nevents_heartbeat = 0\n", err,
	    sizeof(err)));
	assert_null(load("[limits]\nevents_queue = 100\n", err, sizeof(err)));
	assert_null(load("[limits]\nevents_subscribers = 10001\n", err,
	    sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_loads),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_roles_and_entitlements),
		cmocka_unit_test(test_proxy_for),
		cmocka_unit_test(test_client_policy),
		cmocka_unit_test(test_browser),
		cmocka_unit_test(test_gpu_pools),
		cmocka_unit_test(test_pool_hosts),
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_audit_retention),
		cmocka_unit_test(test_pam_settings),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_check_lines),
		cmocka_unit_test(test_dump_all),
		cmocka_unit_test(test_gateway_control),
	};

	log_init("test-broker-conf", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
