/* SPDX-License-Identifier: ISC */
/* Unit tests for common/netaddr.c: addresses, networks, port ranges. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netaddr.h"

static struct sockaddr_storage
sa4(const char *addr)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof ss);
	sin->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage
sa6(const char *addr)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof ss);
	sin6->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
	return ss;
}

/* Whether the network s contains the address a (either family). */
static int
contains(const char *s, const char *a)
{
	struct netaddr_net	net;
	struct sockaddr_storage	ss;

	assert_int_equal(netaddr_net_parse(s, &net), 0);
	ss = strchr(a, ':') != NULL ? sa6(a) : sa4(a);
	return netaddr_net_contains(&net, (struct sockaddr *)&ss);
}

static void
test_parse_ipv4(void **state)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	char			 buf[NETADDR_STRLEN];

	assert_int_equal(netaddr_parse("127.0.0.1:3128", &ss), sizeof *sin);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 3128);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(netaddr_port((struct sockaddr *)&ss), 3128);
	assert_string_equal(netaddr_str((struct sockaddr *)&ss, buf,
	    sizeof buf), "127.0.0.1:3128");
	assert_string_equal(netaddr_host((struct sockaddr *)&ss, buf,
	    sizeof buf), "127.0.0.1");

	assert_int_equal(netaddr_parse("10.1.2.3:65535", &ss), sizeof *sin);
	assert_int_equal(netaddr_port((struct sockaddr *)&ss), 65535);
	assert_int_equal(netaddr_parse("10.1.2.3:1", &ss), sizeof *sin);
	assert_int_equal(netaddr_port((struct sockaddr *)&ss), 1);
}

static void
test_parse_ipv6(void **state)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	char			 buf[NETADDR_STRLEN];

	assert_int_equal(netaddr_parse("[::1]:3129", &ss), sizeof *sin6);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 3129);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_string_equal(netaddr_str((struct sockaddr *)&ss, buf,
	    sizeof buf), "[::1]:3129");
	assert_string_equal(netaddr_host((struct sockaddr *)&ss, buf,
	    sizeof buf), "::1");

	assert_int_equal(netaddr_parse("[2001:db8::5]:5900", &ss),
	    sizeof *sin6);
	assert_string_equal(netaddr_str((struct sockaddr *)&ss, buf,
	    sizeof buf), "[2001:db8::5]:5900");
}

static void
test_parse_any(void **state)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;

	assert_int_equal(netaddr_parse("*:80", &ss), sizeof *sin);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(sin->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(ntohs(sin->sin_port), 80);
}

static void
test_parse_bad(void **state)
{
	static const char	*bad[] = {
		"1.2.3.4", "1.2.3.4:0", "1.2.3.4:65536", "host:80",
		"[::1]80", "", ":80", "1.2.3.4:", "1.2.3.4:-1", "1.2.3.4:+80",
		"1.2.3.4: 80", "1.2.3.4:80 ", "1.2.3.4:8x", "1.2.3.4:99999999999999999999",
		"[::1]", "[::1]:", "[]:80", "[1.2.3.4]:80", "::1:80", "[::1:80",
		"1.2.3:80", "256.0.0.1:80", "**:80", "[::1]:0",
		"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]:80",
	};
	struct sockaddr_storage	ss;
	size_t			i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (netaddr_parse(bad[i], &ss) != 0)
			fail_msg("netaddr_parse accepted \"%s\"", bad[i]);
	}
}

static void
test_net_ipv4(void **state)
{
	struct netaddr_net	net;

	assert_int_equal(netaddr_net_parse("10.0.0.0/8", &net), 0);
	assert_int_equal(net.af, AF_INET);
	assert_int_equal(net.prefix, 8);
	assert_true(contains("10.0.0.0/8", "10.1.2.3"));
	assert_true(contains("10.0.0.0/8", "10.255.255.255"));
	assert_true(contains("10.0.0.0/8", "10.0.0.0"));
	assert_false(contains("10.0.0.0/8", "11.0.0.1"));
	assert_false(contains("10.0.0.0/8", "9.255.255.255"));

	/* Non-multiple of 8. */
	assert_true(contains("192.168.4.0/22", "192.168.7.255"));
	assert_false(contains("192.168.4.0/22", "192.168.8.0"));
	assert_false(contains("192.168.4.0/22", "192.168.3.255"));
	assert_true(contains("172.16.0.0/12", "172.31.1.1"));
	assert_false(contains("172.16.0.0/12", "172.32.0.0"));
	assert_true(contains("10.0.0.128/25", "10.0.0.255"));
	assert_false(contains("10.0.0.128/25", "10.0.0.127"));
}

static void
test_net_zero_and_host(void **state)
{
	struct netaddr_net	net;

	assert_true(contains("0.0.0.0/0", "1.2.3.4"));
	assert_true(contains("0.0.0.0/0", "255.255.255.255"));
	assert_true(contains("::/0", "2001:db8::1"));
	/* An IPv6 network never holds a plain IPv4 address, nor the reverse. */
	assert_false(contains("::/0", "1.2.3.4"));
	assert_false(contains("0.0.0.0/0", "2001:db8::1"));

	assert_true(contains("10.1.2.3/32", "10.1.2.3"));
	assert_false(contains("10.1.2.3/32", "10.1.2.4"));
	/* A bare address is a host. */
	assert_int_equal(netaddr_net_parse("10.1.2.3", &net), 0);
	assert_int_equal(net.prefix, 32);
	assert_true(contains("10.1.2.3", "10.1.2.3"));
	assert_false(contains("10.1.2.3", "10.1.2.2"));
	assert_int_equal(netaddr_net_parse("2001:db8::1", &net), 0);
	assert_int_equal(net.af, AF_INET6);
	assert_int_equal(net.prefix, 128);
	assert_true(contains("2001:db8::1/128", "2001:db8::1"));
	assert_false(contains("2001:db8::1/128", "2001:db8::2"));
}

static void
test_net_ipv6(void **state)
{
	assert_true(contains("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(contains("2001:db8::/32", "2001:db9::1"));
	assert_true(contains("fd00::/8", "fdff::1"));
	assert_false(contains("fd00::/8", "fe00::1"));
	/* Prefixes that end inside a byte. */
	assert_true(contains("fc00::/7", "fd12::1"));
	assert_true(contains("fc00::/7", "fc00::1"));
	assert_false(contains("fc00::/7", "fe00::1"));
	assert_true(contains("2001:db8:8000::/33", "2001:db8:ffff::1"));
	assert_false(contains("2001:db8:8000::/33", "2001:db8:7fff::1"));
	assert_true(contains("2001:db8::/127", "2001:db8::1"));
	assert_false(contains("2001:db8::/127", "2001:db8::2"));
	assert_true(contains("2001:db8::/61", "2001:db8:0:7:ffff::1"));
	assert_false(contains("2001:db8::/61", "2001:db8:0:8::1"));
}

static void
test_net_v4_mapped(void **state)
{
	assert_true(contains("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_false(contains("10.0.0.0/8", "::ffff:11.1.2.3"));
	assert_true(contains("192.168.1.0/24", "::ffff:192.168.1.77"));
	assert_true(contains("192.168.1.7", "::ffff:192.168.1.7"));
	/* Only the mapped form: not IPv4-compatible or other IPv6. */
	assert_false(contains("10.0.0.0/8", "::10.1.2.3"));
	assert_false(contains("10.0.0.0/8", "64:ff9b::10.1.2.3"));
	assert_false(contains("0.0.0.0/0", "::1"));
	assert_true(contains("0.0.0.0/0", "::ffff:1.2.3.4"));
}

static void
test_net_bad(void **state)
{
	static const char	*bad[] = {
		"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/",
		"10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.0/+8", "/8", "",
		"10.0.0/8", "host/8", "2001:db8::1/64", "2001:db8::/129",
		"fd00::/7", "10.0.0.0/8/8", "10.0.0.0 /8",
		"10.0.0.0/99999999999999999999", "10.0.0.128/24",
		"0.0.0.1/0", "::1/0",
	};
	struct netaddr_net	net;
	size_t			i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (netaddr_net_parse(bad[i], &net) != -1)
			fail_msg("netaddr_net_parse accepted \"%s\"", bad[i]);
	}
}

static void
test_nets_list(void **state)
{
	struct netaddr_net	nets[4];
	struct sockaddr_storage	ss;
	const char		*bad = NULL;

	assert_int_equal(netaddr_nets_parse(" 10.0.0.0/8 ,\t192.168.1.0/24 ,"
	    "fd00::/8\t", nets, 4, &bad), 3);
	assert_int_equal(nets[0].prefix, 8);
	assert_int_equal(nets[1].prefix, 24);
	assert_int_equal(nets[2].af, AF_INET6);
	ss = sa4("192.168.1.9");
	assert_true(netaddr_net_contains(&nets[1], (struct sockaddr *)&ss));
	assert_false(netaddr_net_contains(&nets[0], (struct sockaddr *)&ss));

	assert_int_equal(netaddr_nets_parse("10.0.0.0/8", nets, 4, &bad), 1);

	/* The bad item is named. */
	bad = NULL;
	assert_int_equal(netaddr_nets_parse("10.0.0.0/8, 10.0.0.1/8", nets, 4,
	    &bad), -1);
	assert_non_null(bad);
	assert_string_equal(bad, "10.0.0.1/8");

	/* Empty items and lists. */
	assert_int_equal(netaddr_nets_parse("", nets, 4, &bad), -1);
	assert_int_equal(netaddr_nets_parse("  ", nets, 4, &bad), -1);
	assert_int_equal(netaddr_nets_parse("10.0.0.0/8,", nets, 4, &bad), -1);
	assert_int_equal(netaddr_nets_parse(",10.0.0.0/8", nets, 4, &bad), -1);
	assert_int_equal(netaddr_nets_parse("10.0.0.0/8,,11.0.0.0/8", nets, 4,
	    &bad), -1);
	assert_int_equal(netaddr_nets_parse("10.0.0.0/8, ,11.0.0.0/8", nets, 4,
	    &bad), -1);
	/* No more than max. */
	assert_int_equal(netaddr_nets_parse("1.0.0.0/8,2.0.0.0/8,3.0.0.0/8",
	    nets, 2, &bad), -1);
	assert_int_equal(netaddr_nets_parse("1.0.0.0/8,2.0.0.0/8", nets, 2,
	    &bad), 2);
}

static void
test_ports(void **state)
{
	struct netaddr_portrange	r[4];

	assert_int_equal(netaddr_ports_parse("5900-5999, 3128", r, 4), 2);
	assert_int_equal(r[0].lo, 5900);
	assert_int_equal(r[0].hi, 5999);
	assert_int_equal(r[1].lo, 3128);
	assert_int_equal(r[1].hi, 3128);
	assert_true(netaddr_ports_contain(r, 2, 5900));
	assert_true(netaddr_ports_contain(r, 2, 5950));
	assert_true(netaddr_ports_contain(r, 2, 5999));
	assert_true(netaddr_ports_contain(r, 2, 3128));
	assert_false(netaddr_ports_contain(r, 2, 5899));
	assert_false(netaddr_ports_contain(r, 2, 6000));
	assert_false(netaddr_ports_contain(r, 2, 3127));
	assert_false(netaddr_ports_contain(r, 2, 3129));
	assert_false(netaddr_ports_contain(r, 0, 3128));

	assert_int_equal(netaddr_ports_parse("1-65535", r, 4), 1);
	assert_true(netaddr_ports_contain(r, 1, 1));
	assert_true(netaddr_ports_contain(r, 1, 65535));
	assert_false(netaddr_ports_contain(r, 1, 0));
	assert_int_equal(netaddr_ports_parse("5900-5900", r, 4), 1);
	assert_int_equal(r[0].lo, 5900);
	assert_int_equal(r[0].hi, 5900);
	assert_int_equal(netaddr_ports_parse("\t5900 ,5901", r, 4), 2);
}

static void
test_ports_bad(void **state)
{
	static const char	*bad[] = {
		"5999-5900", "0", "65536", "0-10", "10-65536", "-5900",
		"5900-", "5900--5999", "5900-5999-6000", "x", "59a0", "",
		"5900,", ",5900", "5900,,5901", "+5900", "12345678-12345679",
		"5900-+5999",
	};
	struct netaddr_portrange	r[4];
	size_t				i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (netaddr_ports_parse(bad[i], r, 4) != -1)
			fail_msg("netaddr_ports_parse accepted \"%s\"", bad[i]);
	}
	/* No more than max. */
	assert_int_equal(netaddr_ports_parse("1,2,3", r, 2), -1);
}

static const char *
source_of(const char *addr, int v6_prefix, char *buf, size_t len)
{
	struct sockaddr_storage	ss;

	assert_true(netaddr_parse(addr, &ss) > 0);
	return netaddr_source((struct sockaddr *)&ss, v6_prefix, buf, len);
}

static void
test_source(void **state)
{
	char	buf[NETADDR_STRLEN];

	(void)state;
	assert_string_equal(source_of("192.0.2.7:1", 64, buf, sizeof buf),
	    "192.0.2.7");
	/* A v4-mapped peer on a dual-stack socket counts as its IPv4. */
	assert_string_equal(source_of("[::ffff:192.0.2.7]:1", 64, buf,
	    sizeof buf), "192.0.2.7");
	/* Two hosts of one /64 are one source; another /64 is not. */
	assert_string_equal(source_of("[2001:db8:1:2:aaaa::1]:1", 64, buf,
	    sizeof buf), "2001:db8:1:2::/64");
	assert_string_equal(source_of("[2001:db8:1:2:ffff::9]:1", 64, buf,
	    sizeof buf), "2001:db8:1:2::/64");
	assert_string_equal(source_of("[2001:db8:1:3::1]:1", 64, buf,
	    sizeof buf), "2001:db8:1:3::/64");
	/* Prefixes off a byte boundary, and a whole address. */
	assert_string_equal(source_of("[2001:db8:1:ffff::1]:1", 52, buf,
	    sizeof buf), "2001:db8:1:f000::/52");
	assert_string_equal(source_of("[2001:db8::1]:1", 128, buf,
	    sizeof buf), "2001:db8::1");
	assert_string_equal(source_of("[::1]:1", 64, buf, sizeof buf),
	    "::/64");
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_parse_any),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_net_ipv4),
		cmocka_unit_test(test_net_zero_and_host),
		cmocka_unit_test(test_net_ipv6),
		cmocka_unit_test(test_net_v4_mapped),
		cmocka_unit_test(test_net_bad),
		cmocka_unit_test(test_nets_list),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_ports_bad),
		cmocka_unit_test(test_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
