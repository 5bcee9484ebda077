/* SPDX-License-Identifier: ISC */
/* Socket addresses, address:port strings, CIDR networks and port ranges. */
#ifndef PAPRIKA_NETADDR_H
#define PAPRIKA_NETADDR_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define NETADDR_STRLEN	64	/* "[v6]:port" with room to spare */
#define NETADDR_MAX_NETS	64
#define NETADDR_MAX_PORTRANGES	32

struct netaddr_net {
	int	af;
	uint8_t	addr[16];
	int	prefix;
};

struct netaddr_portrange {
	uint16_t	lo, hi;
};

/* Parses "addr:port", "[v6]:port" or "*:port"; returns the length or 0. */
socklen_t	 netaddr_parse(const char *s, struct sockaddr_storage *ss);
/* Formats an address as "a.b.c.d:port" or "[v6]:port". */
const char	*netaddr_str(const struct sockaddr *sa, char *buf, size_t len);
/* Formats only the address part. */
const char	*netaddr_host(const struct sockaddr *sa, char *buf, size_t len);
uint16_t	 netaddr_port(const struct sockaddr *sa);
/*
 * The source a peer is counted as, for per-source limits and throttles:
 * an IPv4 address as itself (also when it arrives v4-mapped on an IPv6
 * socket), an IPv6 address as its network of v6_prefix bits ("2001:db8::/64"),
 * since one host commonly holds a whole /64. v6_prefix is 1 to 128.
 */
const char	*netaddr_source(const struct sockaddr *sa, int v6_prefix,
		     char *buf, size_t len);

/* Parses "a.b.c.d/n" or "v6/n" (a bare address is a host); 0 or -1. */
int		 netaddr_net_parse(const char *s, struct netaddr_net *net);
/* Parses a comma-separated list; returns the count or -1 (bad item in *bad). */
int		 netaddr_nets_parse(const char *s, struct netaddr_net *nets,
		     size_t max, const char **bad);
int		 netaddr_net_contains(const struct netaddr_net *net,
		     const struct sockaddr *sa);
/* "10.0.0.0/8", "fd00::/8" */
const char	*netaddr_net_str(const struct netaddr_net *net, char *buf,
		     size_t len);

/* Parses "5900-5999, 3128" into ranges; returns the count or -1. */
int		 netaddr_ports_parse(const char *s,
		     struct netaddr_portrange *ranges, size_t max);
int		 netaddr_ports_contain(const struct netaddr_portrange *ranges,
		     size_t n, uint16_t port);

#endif
