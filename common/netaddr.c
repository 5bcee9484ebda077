/* SPDX-License-Identifier: ISC */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

static int
parse_port(const char *s, uint16_t *port)
{
	char	*end;
	long	 v;

	if (!isdigit((unsigned char)*s))
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

socklen_t
netaddr_parse(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[INET6_ADDRSTRLEN + 2];
	const char		*colon;
	size_t			 hlen;
	uint16_t		 port;

	memset(ss, 0, sizeof *ss);
	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return 0;
		hlen = (size_t)(colon - s - 1);
		if (hlen == 0 || hlen >= sizeof host)
			return 0;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (parse_port(colon + 2, &port) == -1 ||
		    inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return 0;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return sizeof *sin6;
	}
	if ((colon = strrchr(s, ':')) == NULL)
		return 0;
	hlen = (size_t)(colon - s);
	if (hlen == 0 || hlen >= sizeof host)
		return 0;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (parse_port(colon + 1, &port) == -1)
		return 0;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (strcmp(host, "*") == 0) {
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		return sizeof *sin;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return 0;
	return sizeof *sin;
}

const char *
netaddr_host(const struct sockaddr *sa, char *buf, size_t len)
{
	const void	*a;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else {
		snprintf(buf, len, "unknown");
		return buf;
	}
	if (inet_ntop(sa->sa_family, a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "unknown");
	return buf;
}

const char *
netaddr_net_str(const struct netaddr_net *net, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];

	if (inet_ntop(net->af, net->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "unknown");
	snprintf(buf, len, "%s/%d", a, net->prefix);
	return buf;
}

const char *
netaddr_source(const struct sockaddr *sa, int v6_prefix, char *buf,
    size_t len)
{
	struct sockaddr_in	 sin;
	struct in6_addr		 net;
	char			 host[INET6_ADDRSTRLEN];
	int			 i;

	if (sa->sa_family != AF_INET6)
		return netaddr_host(sa, buf, len);
	net = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&net)) {
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, &net.s6_addr[12], 4);
		return netaddr_host((struct sockaddr *)&sin, buf, len);
	}
	if (v6_prefix < 1 || v6_prefix >= 128)
		return netaddr_host(sa, buf, len);
	for (i = 0; i < 16; i++) {
		if (v6_prefix >= (i + 1) * 8)
			continue;
		net.s6_addr[i] &= v6_prefix <= i * 8 ? 0 :
		    (uint8_t)(0xff << (8 - (v6_prefix - i * 8)));
	}
	if (inet_ntop(AF_INET6, &net, host, sizeof host) == NULL)
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "%s/%d", host, v6_prefix);
	return buf;
}

uint16_t
netaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

const char *
netaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN];

	netaddr_host(sa, host, sizeof host);
	if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", host, netaddr_port(sa));
	else
		snprintf(buf, len, "%s:%u", host, netaddr_port(sa));
	return buf;
}

int
netaddr_net_parse(const char *s, struct netaddr_net *net)
{
	char		 host[INET6_ADDRSTRLEN + 1];
	const char	*slash;
	char		*end;
	size_t		 hlen;
	long		 prefix = -1;
	int		 i, bits;

	memset(net, 0, sizeof *net);
	if ((slash = strchr(s, '/')) != NULL) {
		hlen = (size_t)(slash - s);
		if (!isdigit((unsigned char)slash[1]))
			return -1;
		prefix = strtol(slash + 1, &end, 10);
		if (*end != '\0')
			return -1;
	} else
		hlen = strlen(s);
	if (hlen == 0 || hlen >= sizeof host)
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, net->addr) == 1) {
		net->af = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, host, net->addr) == 1) {
		net->af = AF_INET6;
		bits = 128;
	} else
		return -1;
	if (prefix == -1)
		prefix = bits;
	if (prefix < 0 || prefix > bits)
		return -1;
	net->prefix = (int)prefix;
	/* Host bits must be zero: "10.0.0.1/8" is almost always a typo. */
	for (i = 0; i < bits; i++) {
		if (i >= prefix && (net->addr[i / 8] & (0x80 >> (i % 8))))
			return -1;
	}
	return 0;
}

/* Splits a comma list, trimming blanks; calls fn on each item. */
static int
list_each(const char *s, int (*fn)(const char *, void *), void *arg,
    const char **bad)
{
	static char	 item[128];
	const char	*p = s, *end;
	size_t		 len;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof item) {
			if (bad != NULL)
				*bad = p;
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (fn(item, arg) == -1) {
			if (bad != NULL)
				*bad = item;
			return -1;
		}
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

struct net_list {
	struct netaddr_net	*nets;
	size_t			 max, n;
};

static int
nets_add(const char *item, void *arg)
{
	struct net_list	*l = arg;

	if (l->n == l->max || netaddr_net_parse(item, &l->nets[l->n]) == -1)
		return -1;
	l->n++;
	return 0;
}

int
netaddr_nets_parse(const char *s, struct netaddr_net *nets, size_t max,
    const char **bad)
{
	struct net_list	l = { nets, max, 0 };

	if (list_each(s, nets_add, &l, bad) == -1)
		return -1;
	return (int)l.n;
}

int
netaddr_net_contains(const struct netaddr_net *net, const struct sockaddr *sa)
{
	const uint8_t	*a;
	uint8_t		 mapped[16];
	int		 full, rest;

	if (sa->sa_family == AF_INET && net->af == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6 && net->af == AF_INET6)
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	else if (sa->sa_family == AF_INET6 && net->af == AF_INET) {
		/* An IPv4-mapped IPv6 address belongs to its IPv4 network. */
		memcpy(mapped, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, 16);
		if (!IN6_IS_ADDR_V4MAPPED((struct in6_addr *)mapped))
			return 0;
		a = mapped + 12;
	} else
		return 0;
	full = net->prefix / 8;
	rest = net->prefix % 8;
	if (memcmp(a, net->addr, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ net->addr[full]) & (0xff00 >> rest)) == 0;
}

struct port_list {
	struct netaddr_portrange	*r;
	size_t				 max, n;
};

static int
ports_add(const char *item, void *arg)
{
	struct port_list	*l = arg;
	char			 lo[8];
	const char		*dash;
	size_t			 len;

	if (l->n == l->max)
		return -1;
	if ((dash = strchr(item, '-')) == NULL) {
		if (parse_port(item, &l->r[l->n].lo) == -1)
			return -1;
		l->r[l->n].hi = l->r[l->n].lo;
	} else {
		len = (size_t)(dash - item);
		if (len == 0 || len >= sizeof lo)
			return -1;
		memcpy(lo, item, len);
		lo[len] = '\0';
		if (parse_port(lo, &l->r[l->n].lo) == -1 ||
		    parse_port(dash + 1, &l->r[l->n].hi) == -1 ||
		    l->r[l->n].lo > l->r[l->n].hi)
			return -1;
	}
	l->n++;
	return 0;
}

int
netaddr_ports_parse(const char *s, struct netaddr_portrange *ranges,
    size_t max)
{
	struct port_list	l = { ranges, max, 0 };

	if (list_each(s, ports_add, &l, NULL) == -1)
		return -1;
	return (int)l.n;
}

int
netaddr_ports_contain(const struct netaddr_portrange *ranges, size_t n,
    uint16_t port)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (port >= ranges[i].lo && port <= ranges[i].hi)
			return 1;
	}
	return 0;
}
