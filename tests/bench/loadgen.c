/* SPDX-License-Identifier: ISC */
/*
 * loadgen: the load generator and the sink behind `make bench`
 * (tests/bench/bench-gateway.sh drives it; README.md explains the figures).
 *
 *   loadgen sink -l ADDR:PORT [-w seconds]
 *   loadgen client -c ADDR:PORT [-t -A cafile [-N name] [-S suites] [-3] [-R]]
 *       [-x HOST:PORT] -m upload|download|latency|hold|streams|rate
 *       [-b bytes] [-n count] [-P parallel] [-T io-seconds] [-w seconds]
 *       [-o samples-file]
 *
 * -R resumes the TLS session of the tunnel before (latency, rate); -o writes
 * each latency tunnel's steps to a file. streams:
 * -P downloads of -b bytes each at once, the aggregate rate; rate: -n
 * tunnels opened and closed by -P processes at once, tunnels per second.
 *   loadgen ports COUNT
 *   loadgen wait ADDR:PORT [-w seconds]
 *
 * The sink speaks first, like a VNC or SMTP server: one byte 'P' as soon as
 * it accepts, so "the first byte from the sink" is well defined through
 * every proxy. Then the client sends commands of 9 bytes, a letter and a
 * 64-bit big-endian count:
 *
 *   U n	the client uploads n bytes; the sink discards them, then sends 'K'
 *   D n	the sink sends n bytes
 *   E n	the sink echoes the next n bytes back (n <= 64)
 *   Q 0	the sink closes, so that TIME_WAIT stays on its (listening) side
 *
 * Proxies relay bytes unchanged, so one sink serves every proxy under test.
 * Only loopback addresses are accepted, as targets and for listening; every
 * loop is bounded in count, and every run in time (-w, a watchdog).
 */
#include "loadgen.h"

volatile sig_atomic_t	 quit;
/* Upload source, download target, the sink's discard and source buffer. */
uint8_t			 chunk[CHUNK];
/* -R: the session the next tunnel offers, and how many resumed. */
int			 resume;
SSL_SESSION		*resume_session;
size_t			 resumed;
const uint8_t		 echo_pattern[HOLD_ECHO_LEN] =
    "paprika-loadgen!";

void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	ap;

	fflush(stdout);
	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void __attribute__((format(printf, 1, 2)))
warnf(const char *fmt, ...)
{
	va_list	ap;

	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen sink -l ADDR:PORT [-w seconds]\n"
	    "       loadgen client -c ADDR:PORT [-t -A cafile [-N name] "
	    "[-S suites] [-3] [-R]]\n"
	    "           [-x HOST:PORT] -m upload|download|latency|hold|streams|"
	    "rate\n"
	    "           [-b bytes] [-n count] [-P parallel] [-T io-seconds] "
	    "[-w seconds]\n"
	    "           [-o samples-file]\n"
	    "       loadgen ports COUNT\n"
	    "       loadgen wait ADDR:PORT [-w seconds]\n");
	exit(2);
}

double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long long
num_parse(const char *s, long long min, long long max, const char *what)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		die("%s \"%s\" is %s", what, s, errstr);
	return v;
}

/* Parses a byte count with an optional K, M or G suffix (powers of 1024). */
uint64_t
size_parse(const char *s, const char *what)
{
	char		 digits[32];
	size_t		 len = strlen(s);
	uint64_t	 mult = 1;

	if (len == 0 || len >= sizeof digits)
		die("%s \"%s\" is invalid", what, s);
	memcpy(digits, s, len + 1);
	switch (digits[len - 1]) {
	case 'k': case 'K':
		mult = 1ULL << 10;
		break;
	case 'm': case 'M':
		mult = 1ULL << 20;
		break;
	case 'g': case 'G':
		mult = 1ULL << 30;
		break;
	}
	if (mult != 1)
		digits[len - 1] = '\0';
	return (uint64_t)num_parse(digits, 1, (1LL << 50) / (long long)mult,
	    what) * mult;
}

/* Parses ADDR:PORT or [ADDR]:PORT; refuses anything but loopback. */
void
addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char			 host[INET6_ADDRSTRLEN + 1];
	const char		*port, *end;
	size_t			 hlen;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			die("address \"%s\" is invalid", s);
		s++;
		port = end + 2;
	} else {
		if ((end = strrchr(s, ':')) == NULL)
			die("address \"%s\" has no port", s);
		port = end + 1;
	}
	hlen = (size_t)(end - s);
	if (hlen >= sizeof host)
		die("address \"%s\" is invalid", s);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			die("%s is not a loopback address", host);
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)num_parse(port, 1, 65535,
		    "port"));
		*len = sizeof *sin;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			die("%s is not a loopback address", host);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)num_parse(port, 1, 65535,
		    "port"));
		*len = sizeof *sin6;
	} else
		die("address \"%s\" is not numeric", host);
}

void
cmd_encode(uint8_t *p, char op, uint64_t n)
{
	int	i;

	p[0] = (uint8_t)op;
	for (i = 0; i < 8; i++)
		p[1 + i] = (uint8_t)(n >> (56 - 8 * i));
}

uint64_t
cmd_count(const uint8_t *p)
{
	uint64_t	n = 0;
	int		i;

	for (i = 0; i < 8; i++)
		n = (n << 8) | p[1 + i];
	return n;
}

static void
on_quit(int sig)
{
	quit = 1;
}

static void
on_watchdog(int sig)
{
	static const char	msg[] = "loadgen: watchdog expired\n";
	ssize_t			n;

	n = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)n;
	_exit(124);
}

void
signals_setup(int watchdog)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_quit;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_watchdog;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	alarm((unsigned int)watchdog);
}

/* ---- sink ---------------------------------------------------------- */

static int
port_free(int port)
{
	struct sockaddr_in	sin;
	int			fd, ok;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	/* No SO_REUSEADDR: a port with TIME_WAIT sockets counts as taken. */
	ok = bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	close(fd);
	return ok;
}

/* Prints COUNT distinct free ports below the ephemeral range. */
static int
ports_main(int argc, char *argv[])
{
	int	ports[PORTS_MAX], count, i, j, p, tries;

	if (argc != 2)
		usage();
	count = (int)num_parse(argv[1], 1, PORTS_MAX, "count");
	srandom((unsigned int)(getpid() ^ time(NULL)));
	for (i = 0; i < count; i++) {
		for (tries = 0; tries < PORTS_TRIES; tries++) {
			p = PORTS_LO + (int)(random() % PORTS_SPAN);
			for (j = 0; j < i && ports[j] != p; j++)
				;
			if (j == i && port_free(p))
				break;
		}
		if (tries == PORTS_TRIES)
			die("no free loopback port found");
		ports[i] = p;
		printf("%s%d", i ? " " : "", p);
	}
	printf("\n");
	return 0;
}

/* Returns whether something listens on TCP port (any local address). */
static int
port_listening(int port)
{
	static const char	*files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char			 line[512];
	unsigned int		 lport, st;
	FILE			*fp;
	size_t			 i;
	int			 found = 0, lines;

	for (i = 0; i < 2 && !found; i++) {
		if ((fp = fopen(files[i], "r")) == NULL)
			continue;
		for (lines = 0; lines < 1000000 && !found &&
		    fgets(line, sizeof line, fp) != NULL; lines++) {
			if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x "
			    "%x", &lport, &st) == 2 && st == 0x0A &&
			    lport == (unsigned int)port)
				found = 1;
		}
		fclose(fp);
	}
	return found;
}

/* Waits until ADDR:PORT has a listener, without connecting to it. */
static int
wait_main(int argc, char *argv[])
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	double			deadline;
	int			ch, port, seconds = 20;

	while ((ch = getopt(argc, argv, "w:")) != -1) {
		switch (ch) {
		case 'w':
			seconds = (int)num_parse(optarg, 1, 3600, "-w");
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	addr_parse(argv[optind], &ss, &sslen);
	port = ss.ss_family == AF_INET ?
	    ntohs(((struct sockaddr_in *)&ss)->sin_port) :
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	deadline = now() + seconds;
	while (now() < deadline) {
		if (port_listening(port))
			return 0;
		usleep(50000);
	}
	warnf("nothing listens on %s after %ds", argv[optind], seconds);
	return 1;
}

/* Raises the descriptor limit to what this process may have. */
static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	raise_nofile();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "sink") == 0)
		return sink_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "client") == 0)
		return client_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "ports") == 0)
		return ports_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "wait") == 0)
		return wait_main(argc - 1, argv + 1);
	usage();
}
