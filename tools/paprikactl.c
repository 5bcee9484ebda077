/* SPDX-License-Identifier: ISC */
/* paprikactl: mints gateway tickets and talks to paprika-gatewayd. */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "brokertool.h"
#include "keyring.h"
#include "ticket.h"
#include "xmalloc.h"

#define DEFAULT_SOCKET	RUNSTATEDIR "/paprika/gatewayd.sock"
#define REPLY_MAX	(16 * 1024 * 1024)

static const char	*socket_path = DEFAULT_SOCKET;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: paprikactl [-s socket] command [arguments]\n"
	    "\n"
	    "Tickets (no daemon needed):\n"
	    "  ticket --keys DIR --user NAME --upstream ADDR --ports P[,P...]\n"
	    "         [--ttl SECONDS] [--session HEX] [--key-id N] [--json]\n"
	    "                       mint a gateway ticket and print it\n"
	    "\n"
	    "Gateway control (socket %s):\n"
	    "  sessions [--json]    list sessions and their tunnels\n"
	    "  kill SESSION         close every tunnel of a session\n"
	    "  revoke --session SESSION [--seconds N] | --ticket TICKET\n"
	    "                       refuse a session's or a ticket's tunnels "
	    "from now on\n"
	    "  reload               reload configuration and ticket keys\n"
	    "  metrics              print metrics (Prometheus text)\n"
	    "  status [--json]      version, uptime, counts\n"
	    "\n"
	    "Hosts (libvirt, read-only, and the broker's state):\n"
	    "  gpus [--config FILE | --connect URI] [--json]\n"
	    "                       each host's GPUs, and whether each can be "
	    "given\n"
	    "                       to a desktop or why not\n"
	    "\n"
	    "The broker's audit log (its state file, read-only):\n"
	    "  audit export [--config FILE | --state FILE] [--format jsonl|csv]\n"
	    "         [--since TIME] [--until TIME]\n"
	    "                       print the records with since <= time < "
	    "until\n", DEFAULT_SOCKET);
	exit(2);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "paprikactl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static long long
parse_number(const char *s, long long min, long long max, const char *what)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		die("%s must be a number from %lld to %lld: \"%s\"", what, min,
		    max, s);
	return v;
}

static int
cmd_ticket(int argc, char *argv[])
{
	static const struct option	 opts[] = {
		{ "keys", required_argument, NULL, 'k' },
		{ "user", required_argument, NULL, 'u' },
		{ "upstream", required_argument, NULL, 'H' },
		{ "ports", required_argument, NULL, 'p' },
		{ "ttl", required_argument, NULL, 't' },
		{ "session", required_argument, NULL, 's' },
		{ "key-id", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct keyring			 ring;
	const struct ticket_key		*key;
	struct ticket			 t;
	const char			*keys = NULL, *upstream = NULL;
	char				*ports = NULL, *p, *save = NULL, *end;
	char				 text[TICKET_TEXT_MAX], err[512];
	long long			 ttl = 120;
	int				 ch, key_id = -1, json = 0, have_session = 0;

	memset(&t, 0, sizeof t);
	memset(&ring, 0, sizeof ring);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			keys = optarg;
			break;
		case 'u':
			if (!ticket_valid_user(optarg))
				die("user must be 1 to %d characters of "
				    "A-Z a-z 0-9 . _ @ + -", TICKET_USER_MAX);
			strlcpy(t.user, optarg, sizeof t.user);
			break;
		case 'H':
			upstream = optarg;
			break;
		case 'p':
			ports = optarg;
			break;
		case 't':
			ttl = parse_number(optarg, 1, 365LL * 86400, "--ttl");
			break;
		case 's':
			errno = 0;
			t.session_id = strtoull(optarg, &end, 16);
			if (errno != 0 || *optarg == '\0' || *end != '\0' ||
			    strlen(optarg) > 16)
				die("--session must be up to 16 hex digits");
			have_session = 1;
			break;
		case 'i':
			key_id = (int)parse_number(optarg, 1, 255, "--key-id");
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage();
		}
	}
	if (keys == NULL || t.user[0] == '\0' || upstream == NULL ||
	    ports == NULL)
		die("ticket needs --keys, --user, --upstream and --ports");
	if (inet_pton(AF_INET, upstream, t.addr) == 1)
		t.af = AF_INET;
	else if (inet_pton(AF_INET6, upstream, t.addr) == 1)
		t.af = AF_INET6;
	else
		die("--upstream must be an IPv4 or IPv6 address: \"%s\"",
		    upstream);
	for (p = strtok_r(ports, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (t.nports == TICKET_PORTS_MAX)
			die("at most %d ports per ticket", TICKET_PORTS_MAX);
		t.ports[t.nports++] = (uint16_t)parse_number(p, 1, 65535,
		    "a port");
	}
	if (t.nports == 0)
		die("--ports needs at least one port");
	if (!have_session)
		arc4random_buf(&t.session_id, sizeof t.session_id);
	if (keyring_load(keys, &ring, err, sizeof err) == -1)
		die("%s", err);
	key = key_id == -1 ? keyring_signing(&ring) :
	    keyring_find(&ring, (uint8_t)key_id);
	if (key == NULL)
		die("no key %d in %s", key_id, keys);
	t.expiry = time(NULL) + ttl;
	if (ticket_encode(&t, key, text, sizeof text) == -1)
		die("cannot encode the ticket");
	keyring_clear(&ring);
	if (json)
		printf("{\"ticket\":\"%s\",\"session\":\"%016" PRIx64 "\","
		    "\"ticket_id\":\"%016" PRIx64 "\",\"expires\":%lld}\n",
		    text, t.session_id, t.ticket_id, (long long)t.expiry);
	else
		printf("%s\n", text);
	return 0;
}

/* Sends one request to the gateway; returns its reply or dies. */
static json_t *
control_call(json_t *req)
{
	struct sockaddr_un	 sun;
	json_error_t		 jerr;
	json_t			*reply;
	char			*text, *buf = NULL;
	size_t			 len = 0, cap = 0;
	ssize_t			 n;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, socket_path, sizeof sun.sun_path) >=
	    sizeof sun.sun_path)
		die("socket path too long");
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		die("cannot reach the gateway at %s: %s (is paprika-gatewayd "
		    "running? -s names another socket)", socket_path,
		    strerror(errno));
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL || dprintf(fd, "%s\n", text) < 0)
		die("cannot send the request");
	free(text);
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > REPLY_MAX || (buf = realloc(buf, cap)) == NULL)
				die("reply too large");
		}
		if ((n = read(fd, buf + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			die("read: %s", strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if ((reply = json_loadb(buf, len, 0, &jerr)) == NULL)
		die("unreadable reply from the gateway: %s", jerr.text);
	free(buf);
	if (json_object_get(reply, "error") != NULL)
		die("%s", json_string_value(json_object_get(reply, "error")));
	return reply;
}

static int
print_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(o);
	return 0;
}

static int
cmd_sessions(int json)
{
	json_t		*reply, *s, *t;
	size_t		 i, j;

	reply = control_call(json_pack("{s:s}", "command", "sessions"));
	if (json)
		return print_json(reply);
	printf("%-16s  %-16s  %7s  %s\n", "SESSION", "USER", "TUNNELS",
	    "UPSTREAM");
	json_array_foreach(json_object_get(reply, "sessions"), i, s) {
		json_t	*tunnels = json_object_get(s, "tunnels");

		printf("%-16s  %-16s  %7zu  %s\n",
		    json_string_value(json_object_get(s, "session")),
		    json_string_value(json_object_get(s, "user")),
		    json_array_size(tunnels),
		    json_array_size(tunnels) ? json_string_value(
		    json_object_get(json_array_get(tunnels, 0), "upstream")) :
		    "-");
		json_array_foreach(tunnels, j, t) {
			printf("  tunnel %-6lld %-5s %-10s peer %-22s up %lld "
			    "down %lld age %.0fs\n",
			    json_integer_value(json_object_get(t, "id")),
			    json_string_value(json_object_get(t, "listener")),
			    json_string_value(json_object_get(t, "state")),
			    json_string_value(json_object_get(t, "peer")),
			    json_integer_value(json_object_get(t, "bytes_up")),
			    json_integer_value(json_object_get(t,
			    "bytes_down")),
			    json_real_value(json_object_get(t, "age")));
		}
	}
	json_decref(reply);
	return 0;
}

/*
 * gpus and audit read the broker's configuration and state on its host:
 * paprika-brokertool runs them, so that this program links neither
 * libvirt, SQLite nor PAM.
 */
static void __attribute__((noreturn))
broker_command(int argc, char *argv[])
{
	const char	**av;
	int		  i;

	av = xreallocarray(NULL, (size_t)argc + 2, sizeof(*av));
	av[0] = "paprikactl";
	for (i = 0; i < argc; i++)
		av[i + 1] = argv[i];
	av[argc + 1] = NULL;
	brokertool_exec(av);
}

int
main(int argc, char *argv[])
{
	json_t		*reply, *req;
	const char	*cmd;
	int		 ch, json;

	while ((ch = getopt(argc, argv, "+s:h")) != -1) {
		switch (ch) {
		case 's':
			socket_path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	json = argc > 1 && strcmp(argv[argc - 1], "--json") == 0;
	if (strcmp(cmd, "ticket") == 0)
		return cmd_ticket(argc, argv);
	if (strcmp(cmd, "gpus") == 0 || strcmp(cmd, "audit") == 0)
		broker_command(argc, argv);
	if (strcmp(cmd, "sessions") == 0)
		return cmd_sessions(json);
	if (strcmp(cmd, "kill") == 0) {
		if (argc != 2)
			usage();
		reply = control_call(json_pack("{s:s,s:s}", "command", "kill",
		    "session", argv[1]));
		printf("closed %lld tunnel(s)\n",
		    json_integer_value(json_object_get(reply, "closed")));
		json_decref(reply);
		return 0;
	}
	if (strcmp(cmd, "revoke") == 0) {
		req = json_pack("{s:s}", "command", "revoke");
		if (argc == 3 && strcmp(argv[1], "--ticket") == 0)
			json_object_set_new(req, "ticket", json_string(argv[2]));
		else if ((argc == 3 || argc == 5) &&
		    strcmp(argv[1], "--session") == 0) {
			json_object_set_new(req, "session",
			    json_string(argv[2]));
			if (argc == 5 && strcmp(argv[3], "--seconds") == 0)
				json_object_set_new(req, "seconds",
				    json_integer(parse_number(argv[4], 1,
				    365LL * 86400, "--seconds")));
			else if (argc == 5)
				usage();
		} else
			usage();
		reply = control_call(req);
		if (json_object_get(reply, "revoked_ticket") != NULL)
			printf("revoked ticket %s\n", json_string_value(
			    json_object_get(reply, "revoked_ticket")));
		else
			printf("revoked; closed %lld tunnel(s)\n",
			    json_integer_value(json_object_get(reply,
			    "closed")));
		json_decref(reply);
		return 0;
	}
	if (strcmp(cmd, "reload") == 0) {
		json_decref(control_call(json_pack("{s:s}", "command",
		    "reload")));
		printf("reloaded\n");
		return 0;
	}
	if (strcmp(cmd, "metrics") == 0) {
		reply = control_call(json_pack("{s:s}", "command", "metrics"));
		fputs(json_string_value(json_object_get(reply, "metrics")),
		    stdout);
		json_decref(reply);
		return 0;
	}
	if (strcmp(cmd, "status") == 0) {
		reply = control_call(json_pack("{s:s}", "command", "status"));
		if (json)
			return print_json(reply);
		printf("paprika-gatewayd %s, up %llds, %lld connection(s), "
		    "%lld session(s), %lld revocation(s)%s\n",
		    json_string_value(json_object_get(reply, "version")),
		    json_integer_value(json_object_get(reply, "uptime")),
		    json_integer_value(json_object_get(reply, "connections")),
		    json_integer_value(json_object_get(reply, "sessions")),
		    json_integer_value(json_object_get(reply, "revocations")),
		    json_is_true(json_object_get(reply, "draining")) ?
		    ", draining" : "");
		json_decref(reply);
		return 0;
	}
	fprintf(stderr, "paprikactl: unknown command \"%s\"\n", cmd);
	usage();
}
