/*
 * loadgen: the load generator and the sink behind `make bench`
 * (tests/bench/bench-gateway.sh drives it; README.md explains the figures).
 *
 *   loadgen sink -l ADDR:PORT [-w seconds]
 *   loadgen client -c ADDR:PORT [-t -A cafile [-N name] [-S suites] [-3] [-R]]
 *       [-x HOST:PORT] -m upload|download|latency|hold|streams|rate
 *       [-b bytes] [-n count] [-P parallel] [-T io-seconds] [-w seconds]
 *
 * -R resumes the TLS session of the tunnel before (latency, rate). streams:
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
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define CMD_LEN			9
#define CHUNK			(256 * 1024)
#define REPLY_MAX		2048
#define ECHO_MAX		64
#define HOLD_ECHO_LEN		16
#define SINK_EVENTS		256
#define SINK_ACCEPT_BATCH	128
#define SINK_BUDGET		16
#define LATENCY_WARMUP		5
#define LATENCY_MAX		1000000
#define HOLD_MAX		1000000
#define QUIT_READS		16
#define PORTS_MAX		64
#define PORTS_TRIES		2000
#define PORTS_LO		20000
#define PORTS_SPAN		12000

#define DEFAULT_SUITES		"TLS_AES_128_GCM_SHA256"
#define DEFAULT_TLS12		"ECDHE-ECDSA-AES128-GCM-SHA256:" \
				"ECDHE-RSA-AES128-GCM-SHA256"

/* Results of the non-blocking I/O wrappers besides a byte count. */
#define IO_ERR			-1
#define IO_WANT_READ		-2
#define IO_WANT_WRITE		-3

struct target {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	SSL_CTX			*ctx;		/* NULL: plain TCP */
	const char		*name;		/* TLS: SNI and verified name */
	const char		*connect;	/* CONNECT host:port, or NULL */
	int			 timeout;	/* per I/O operation, seconds */
};

/* A blocking tunnel: throughput and latency runs. */
struct conn {
	int	 fd;
	SSL	*ssl;
	char	 buf[REPLY_MAX];	/* the proxy's reply, then what follows */
	size_t	 off, len;
};

enum hold_state {
	HOLD_CONNECT,
	HOLD_TLS,
	HOLD_REQUEST,
	HOLD_REPLY,
	HOLD_GREETING,
	HOLD_ECHO_OUT,
	HOLD_ECHO_IN,
	HOLD_IDLE,
	HOLD_CLOSED
};

/* A non-blocking tunnel: the hold run keeps thousands of these open. */
struct hold_conn {
	int		 fd;
	SSL		*ssl;
	enum hold_state	 state;
	uint32_t	 events;
	double		 started;
	char		 buf[REPLY_MAX];
	size_t		 off, len;
};

enum sink_mode {
	SINK_CMD,
	SINK_DISCARD,
	SINK_SOURCE,
	SINK_ECHO
};

struct sink_conn {
	int		 fd;
	enum sink_mode	 mode;
	uint32_t	 events;
	uint8_t		 cmd[CMD_LEN];
	size_t		 cmdlen;
	uint64_t	 left;
	uint8_t		 out[ECHO_MAX + 1];	/* greeting, 'K' or the echo */
	size_t		 outoff, outlen, echolen;
};

static volatile sig_atomic_t	 quit;
/* Upload source, download target, the sink's discard and source buffer. */
static uint8_t			 chunk[CHUNK];
/* -R: the session the next tunnel offers, and how many resumed. */
static int			 resume;
static SSL_SESSION		*resume_session;
static size_t			 resumed;
static const uint8_t		 echo_pattern[HOLD_ECHO_LEN] =
    "paprika-loadgen!";

static void __attribute__((noreturn, format(printf, 1, 2)))
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

static void __attribute__((format(printf, 1, 2)))
warnf(const char *fmt, ...)
{
	va_list	ap;

	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void __attribute__((noreturn))
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
	    "       loadgen ports COUNT\n"
	    "       loadgen wait ADDR:PORT [-w seconds]\n");
	exit(2);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long
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
static uint64_t
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
static void
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

static void
cmd_encode(uint8_t *p, char op, uint64_t n)
{
	int	i;

	p[0] = (uint8_t)op;
	for (i = 0; i < 8; i++)
		p[1 + i] = (uint8_t)(n >> (56 - 8 * i));
}

static uint64_t
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

static void
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

static uint32_t
sink_want(const struct sink_conn *c)
{
	uint32_t	ev = 0;

	if (c->outoff < c->outlen || c->mode == SINK_SOURCE)
		ev |= EPOLLOUT;
	else
		ev |= EPOLLIN;
	return ev;
}

static void
sink_queue(struct sink_conn *c, const void *p, size_t len)
{
	memcpy(c->out + c->outlen, p, len);
	c->outlen += len;
}

/* Acts on a complete command; returns 0, or -1 to close the connection. */
static int
sink_command(struct sink_conn *c)
{
	uint64_t	n = cmd_count(c->cmd);

	c->cmdlen = 0;
	switch (c->cmd[0]) {
	case 'U':
		if (n == 0)
			sink_queue(c, "K", 1);
		else {
			c->mode = SINK_DISCARD;
			c->left = n;
		}
		return 0;
	case 'D':
		if (n > 0) {
			c->mode = SINK_SOURCE;
			c->left = n;
		}
		return 0;
	case 'E':
		if (n == 0 || n > ECHO_MAX)
			return -1;
		c->mode = SINK_ECHO;
		c->left = n;
		c->echolen = 0;
		c->outoff = c->outlen = 0;
		return 0;
	default:	/* 'Q' and anything unknown */
		return -1;
	}
}

/* Reads what the current mode wants; returns 0, or -1 to close. */
static int
sink_input(struct sink_conn *c)
{
	ssize_t	 n;
	size_t	 want;
	void	*p;
	int	 budget, flags;

	for (budget = SINK_BUDGET; budget > 0; budget--) {
		if (c->outoff < c->outlen || c->mode == SINK_SOURCE)
			return 0;
		flags = 0;
		switch (c->mode) {
		case SINK_CMD:
			p = c->cmd + c->cmdlen;
			want = CMD_LEN - c->cmdlen;
			break;
		case SINK_DISCARD:
			/* MSG_TRUNC drops TCP bytes without copying them. */
			p = chunk;
			want = c->left < CHUNK ? (size_t)c->left : CHUNK;
			flags = MSG_TRUNC;
			break;
		case SINK_ECHO:
			p = c->out + c->echolen;
			want = (size_t)c->left;
			break;
		default:
			return -1;
		}
		n = recv(c->fd, p, want, flags);
		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		switch (c->mode) {
		case SINK_CMD:
			c->cmdlen += (size_t)n;
			if (c->cmdlen == CMD_LEN && sink_command(c) == -1)
				return -1;
			break;
		case SINK_DISCARD:
			c->left -= (uint64_t)n;
			if (c->left == 0) {
				c->mode = SINK_CMD;
				sink_queue(c, "K", 1);
			}
			break;
		case SINK_ECHO:
			c->left -= (uint64_t)n;
			c->echolen += (size_t)n;
			if (c->left == 0) {
				c->mode = SINK_CMD;
				c->outoff = 0;
				c->outlen = c->echolen;
			}
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* Writes queued bytes, then source bytes; returns 0, or -1 to close. */
static int
sink_output(struct sink_conn *c)
{
	ssize_t	n;
	size_t	want;
	int	budget;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	for (budget = SINK_BUDGET; budget > 0 && c->mode == SINK_SOURCE;
	    budget--) {
		want = c->left < CHUNK ? (size_t)c->left : CHUNK;
		n = send(c->fd, chunk, want, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->left -= (uint64_t)n;
		if (c->left == 0)
			c->mode = SINK_CMD;
	}
	return 0;
}

static void
sink_close(struct sink_conn *c)
{
	close(c->fd);	/* also leaves the epoll set */
	free(c);
}

static void
sink_accept(int ep, int lfd)
{
	struct sink_conn	*c;
	struct epoll_event	 ev;
	static double		 warned;
	int			 fd, i, on = 1;

	for (i = 0; i < SINK_ACCEPT_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				if (now() - warned > 1) {
					warnf("sink: out of descriptors");
					warned = now();
				}
				usleep(10000);
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
		if ((c = calloc(1, sizeof *c)) == NULL) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->mode = SINK_CMD;
		sink_queue(c, "P", 1);
		if (sink_output(c) == -1) {
			sink_close(c);
			continue;
		}
		c->events = sink_want(c);
		memset(&ev, 0, sizeof ev);
		ev.events = c->events;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			sink_close(c);
	}
}

static void
sink_event(int ep, struct sink_conn *c, uint32_t events)
{
	struct epoll_event	ev;

	if (events & (EPOLLERR | EPOLLHUP)) {
		sink_close(c);
		return;
	}
	if (sink_output(c) == -1 || sink_input(c) == -1 ||
	    sink_output(c) == -1) {
		sink_close(c);
		return;
	}
	if (sink_want(c) != c->events) {
		c->events = sink_want(c);
		memset(&ev, 0, sizeof ev);
		ev.events = c->events;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
			sink_close(c);
	}
}

static int
sink_main(int argc, char *argv[])
{
	struct sockaddr_storage	 ss;
	struct epoll_event	 ev, evs[SINK_EVENTS];
	socklen_t		 sslen = 0;
	const char		*listen_at = NULL;
	int			 ch, ep, lfd, i, n, on = 1, watchdog = 7200;

	while ((ch = getopt(argc, argv, "l:w:")) != -1) {
		switch (ch) {
		case 'l':
			listen_at = optarg;
			break;
		case 'w':
			watchdog = (int)num_parse(optarg, 1, 86400, "-w");
			break;
		default:
			usage();
		}
	}
	if (listen_at == NULL || optind != argc)
		usage();
	addr_parse(listen_at, &ss, &sslen);
	signals_setup(watchdog);
	memset(chunk, 'x', sizeof chunk);

	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (lfd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (bind(lfd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(lfd, 4096) == -1)
		die("listen on %s: %s", listen_at, strerror(errno));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	fprintf(stderr, "loadgen: sink listening on %s\n", listen_at);

	while (!quit) {
		n = epoll_wait(ep, evs, SINK_EVENTS, 1000);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				sink_accept(ep, lfd);
			else
				sink_event(ep, evs[i].data.ptr, evs[i].events);
		}
	}
	return 0;
}

/* ---- client: shared pieces ---------------------------------------- */

static const char *
tls_errstr(SSL *ssl, int rc)
{
	static char	buf[320];
	unsigned long	e;
	long		vr;
	int		saved = errno;

	e = ERR_get_error();
	if (ssl != NULL && (vr = SSL_get_verify_result(ssl)) != X509_V_OK)
		snprintf(buf, sizeof buf, "certificate: %s",
		    X509_verify_cert_error_string(vr));
	else if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	else if (ssl != NULL && SSL_get_error(ssl, rc) == SSL_ERROR_SYSCALL)
		snprintf(buf, sizeof buf, "%s", saved != 0 ? strerror(saved) :
		    "connection closed");
	else
		snprintf(buf, sizeof buf, "TLS error %d",
		    ssl != NULL ? SSL_get_error(ssl, rc) : rc);
	ERR_clear_error();
	return buf;
}

static SSL_CTX *
tls_ctx_new(const char *cafile, const char *suites, int tls13_only,
    int release_buffers)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("SSL_CTX_new: %s", tls_errstr(NULL, 0));
	if (!SSL_CTX_set_min_proto_version(ctx, tls13_only ? TLS1_3_VERSION :
	    TLS1_2_VERSION))
		die("TLS version: %s", tls_errstr(NULL, 0));
	if (!SSL_CTX_set_ciphersuites(ctx, suites))
		die("TLS 1.3 suites \"%s\": %s", suites, tls_errstr(NULL, 0));
	if (!SSL_CTX_set_cipher_list(ctx, DEFAULT_TLS12))
		die("TLS 1.2 ciphers: %s", tls_errstr(NULL, 0));
	if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1)
		die("%s: %s", cafile, tls_errstr(NULL, 0));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* Every tunnel pays a full handshake: no resumption anywhere. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (release_buffers)
		SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

static SSL *
tls_new(const struct target *t, int fd)
{
	struct in6_addr	 a6;
	SSL		*ssl;

	if ((ssl = SSL_new(t->ctx)) == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1)
		goto fail;
	if (inet_pton(AF_INET, t->name, &a6) == 1 ||
	    inet_pton(AF_INET6, t->name, &a6) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    t->name) != 1)
			goto fail;
	} else if (SSL_set_tlsext_host_name(ssl, t->name) != 1 ||
	    SSL_set1_host(ssl, t->name) != 1)
		goto fail;
	return ssl;
 fail:
	SSL_free(ssl);
	return NULL;
}

/* Describes the negotiated TLS parameters, for the progress lines. */
static const char *
tls_describe(SSL *ssl)
{
	static char	 buf[128];
	const char	*group = "?";
	int		 nid;

	if (ssl == NULL)
		return "";
	nid = (int)SSL_get_negotiated_group(ssl);
	if (nid != NID_undef && OBJ_nid2sn(nid) != NULL)
		group = OBJ_nid2sn(nid);
	snprintf(buf, sizeof buf, " tls=%s/%s/%s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl), group);
	return buf;
}

static size_t
request_format(const struct target *t, char *buf, size_t len)
{
	int	n;

	n = snprintf(buf, len, "CONNECT %s HTTP/1.0\r\nHost: %s\r\n\r\n",
	    t->connect, t->connect);
	if (n < 0 || (size_t)n >= len)
		die("CONNECT target too long");
	return (size_t)n;
}

/*
 * Looks for the end of the proxy's reply; returns the header length, 0
 * while it is incomplete, or -1 (err set) when it is not a 200.
 */
static ssize_t
reply_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	const char	*end;
	size_t		 i, line;

	if ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
		return 0;
	if (len >= 12 && memcmp(buf, "HTTP/1.", 7) == 0 && buf[8] == ' ' &&
	    memcmp(buf + 9, "200", 3) == 0)
		return end + 4 - buf;
	for (line = 0; line < len && line < 80 && buf[line] != '\r'; line++)
		;
	snprintf(err, errlen, "proxy answered: ");
	for (i = 0; i < line; i++) {
		char	c = buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '?';

		snprintf(err + strlen(err), errlen - strlen(err), "%c", c);
	}
	return -1;
}

/* ---- client: blocking tunnels ------------------------------------- */

/* Reads up to len bytes (discarding them if trunc); returns n, 0 or -1. */
static ssize_t
conn_read(struct conn *c, void *p, size_t len, int trunc)
{
	ssize_t	n;
	int	rc;

	if (c->off < c->len) {
		n = (ssize_t)(c->len - c->off < len ? c->len - c->off : len);
		memcpy(p, c->buf + c->off, (size_t)n);
		c->off += (size_t)n;
		return n;
	}
	if (c->ssl != NULL) {
		ERR_clear_error();
		if ((rc = SSL_read(c->ssl, p, (int)len)) > 0)
			return rc;
		if (SSL_get_error(c->ssl, rc) == SSL_ERROR_ZERO_RETURN)
			return 0;
		return -1;
	}
	do {
		n = recv(c->fd, p, len, trunc ? MSG_TRUNC : 0);
	} while (n == -1 && errno == EINTR);
	return n;
}

static int
conn_write(struct conn *c, const void *p, size_t len)
{
	const uint8_t	*b = p;
	ssize_t		 n;

	if (c->ssl != NULL) {
		ERR_clear_error();
		return SSL_write(c->ssl, p, (int)len) == (int)len ? 0 : -1;
	}
	while (len > 0) {
		n = send(c->fd, b, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
conn_close(struct conn *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/*
 * Opens a tunnel: TCP, TLS, CONNECT and its reply, then the sink's greeting
 * byte; returns 0, or -1 with err set.
 */
static int
conn_open(const struct target *t, struct conn *c, char *err, size_t errlen)
{
	struct timeval	tv = { t->timeout, 0 };
	char		req[REPLY_MAX];
	size_t		reqlen;
	ssize_t		n, hdr;
	uint8_t		greeting;
	int		on = 1, rc;

	memset(c, 0, sizeof *c);
	c->fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	if (connect(c->fd, (struct sockaddr *)&t->ss, t->sslen) == -1) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		goto fail;
	}
	if (t->ctx != NULL) {
		if ((c->ssl = tls_new(t, c->fd)) == NULL) {
			snprintf(err, errlen, "SSL_new: %s",
			    tls_errstr(NULL, 0));
			goto fail;
		}
		if (resume && resume_session != NULL &&
		    SSL_set_session(c->ssl, resume_session) != 1) {
			snprintf(err, errlen, "SSL_set_session: %s",
			    tls_errstr(NULL, 0));
			goto fail;
		}
		ERR_clear_error();
		if ((rc = SSL_connect(c->ssl)) != 1) {
			snprintf(err, errlen, "TLS handshake: %s",
			    tls_errstr(c->ssl, rc));
			goto fail;
		}
	}
	if (t->connect != NULL) {
		reqlen = request_format(t, req, sizeof req);
		if (conn_write(c, req, reqlen) == -1) {
			snprintf(err, errlen, "sending CONNECT: %s",
			    strerror(errno));
			goto fail;
		}
		for (;;) {
			if (c->len == sizeof c->buf) {
				snprintf(err, errlen, "proxy reply too long");
				goto fail;
			}
			n = conn_read(c, c->buf + c->len,
			    sizeof c->buf - c->len, 0);
			if (n <= 0) {
				snprintf(err, errlen, "proxy closed before "
				    "its reply%s%s", n < 0 ? ": " : "",
				    n < 0 ? strerror(errno) : "");
				goto fail;
			}
			c->len += (size_t)n;
			if ((hdr = reply_parse(c->buf, c->len, err,
			    errlen)) < 0)
				goto fail;
			if (hdr > 0) {
				c->off = (size_t)hdr;
				break;
			}
		}
	}
	if ((n = conn_read(c, &greeting, 1, 0)) != 1 || greeting != 'P') {
		snprintf(err, errlen, "no greeting from the sink%s%s",
		    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		goto fail;
	}
	/* A TLS 1.3 ticket has come before the greeting: keep the newest. */
	if (resume && c->ssl != NULL) {
		if (SSL_session_reused(c->ssl))
			resumed++;
		/* A copy: closing without close_notify spoils the original. */
		SSL_SESSION_free(resume_session);
		resume_session = SSL_SESSION_dup(SSL_get0_session(c->ssl));
	}
	return 0;
 fail:
	conn_close(c);
	return -1;
}

/* Asks the sink to close and waits for the close to come through. */
static void
conn_quit(struct conn *c)
{
	uint8_t	cmd[CMD_LEN], b[256];
	int	i;

	cmd_encode(cmd, 'Q', 0);
	if (conn_write(c, cmd, sizeof cmd) == 0) {
		for (i = 0; i < QUIT_READS; i++)
			if (conn_read(c, b, sizeof b, 0) <= 0)
				break;
	}
	conn_close(c);
}

static void
run_transfer(const struct target *t, int upload, uint64_t bytes)
{
	struct conn	c;
	char		err[512];
	uint8_t		cmd[CMD_LEN], ack;
	uint64_t	done = 0;
	size_t		want;
	ssize_t		n;
	double		t0, t1;

	if (conn_open(t, &c, err, sizeof err) == -1)
		die("%s", err);
	cmd_encode(cmd, upload ? 'U' : 'D', bytes);
	t0 = now();
	if (conn_write(&c, cmd, sizeof cmd) == -1)
		die("sending the command failed");
	if (upload) {
		while (done < bytes) {
			want = bytes - done < CHUNK ? (size_t)(bytes - done) :
			    CHUNK;
			if (conn_write(&c, chunk, want) == -1)
				die("upload failed after %" PRIu64 " bytes: %s",
				    done, c.ssl != NULL ? tls_errstr(c.ssl, -1) :
				    strerror(errno));
			done += want;
		}
		if (conn_read(&c, &ack, 1, 0) != 1 || ack != 'K')
			die("upload: no acknowledgement from the sink");
	} else {
		while (done < bytes) {
			want = bytes - done < CHUNK ? (size_t)(bytes - done) :
			    CHUNK;
			if ((n = conn_read(&c, chunk, want, 1)) <= 0)
				die("download ended after %" PRIu64 " bytes%s%s",
				    done, n < 0 ? ": " : "",
				    n < 0 ? strerror(errno) : "");
			done += (uint64_t)n;
		}
	}
	t1 = now();
	printf("%s bytes=%" PRIu64 " seconds=%.3f MBps=%.1f%s\n",
	    upload ? "upload" : "download", bytes, t1 - t0,
	    (double)bytes / (t1 - t0) / 1e6, tls_describe(c.ssl));
	conn_quit(&c);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double
percentile(const double *s, size_t n, double p)
{
	size_t	rank = (size_t)((p / 100.0) * (double)n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return s[rank - 1];
}

static void
run_latency(const struct target *t, size_t count)
{
	struct conn	 c;
	char		 err[512], tls[128] = "";
	double		*s, t0, sum = 0;
	size_t		 i;

	if ((s = calloc(count, sizeof *s)) == NULL)
		die("out of memory");
	for (i = 0; i < count + LATENCY_WARMUP && !quit; i++) {
		t0 = now();
		if (conn_open(t, &c, err, sizeof err) == -1)
			die("tunnel %zu: %s", i, err);
		if (i >= LATENCY_WARMUP) {
			s[i - LATENCY_WARMUP] = now() - t0;
			sum += s[i - LATENCY_WARMUP];
		} else if (i == 0)
			snprintf(tls, sizeof tls, "%s", tls_describe(c.ssl));
		conn_quit(&c);
	}
	if (quit)
		die("interrupted");
	qsort(s, count, sizeof *s, cmp_double);
	printf("latency n=%zu p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	    "min_ms=%.3f max_ms=%.3f mean_ms=%.3f resumed=%zu%s\n", count,
	    percentile(s, count, 50) * 1e3, percentile(s, count, 90) * 1e3,
	    percentile(s, count, 99) * 1e3, s[0] * 1e3, s[count - 1] * 1e3,
	    sum / (double)count * 1e3, resumed, tls);
	free(s);
}

/* ---- client: many at once (processes) ------------------------------ */

/* One process's share: a download, or tunnels opened and closed. */
static void
parallel_child(const struct target *t, int streams, uint64_t bytes,
    size_t count)
{
	struct conn	c;
	char		err[512];
	uint8_t		cmd[CMD_LEN];
	uint64_t	done = 0;
	ssize_t		n;
	size_t		i;

	if (!streams) {
		for (i = 0; i < count && !quit; i++) {
			if (conn_open(t, &c, err, sizeof err) == -1)
				die("tunnel %zu: %s", i, err);
			conn_quit(&c);
		}
		return;
	}
	if (conn_open(t, &c, err, sizeof err) == -1)
		die("%s", err);
	cmd_encode(cmd, 'D', bytes);
	if (conn_write(&c, cmd, sizeof cmd) == -1)
		die("sending the command failed");
	while (done < bytes) {
		if ((n = conn_read(&c, chunk, bytes - done < CHUNK ?
		    (size_t)(bytes - done) : CHUNK, 1)) <= 0)
			die("download ended after %" PRIu64 " bytes", done);
		done += (uint64_t)n;
	}
	conn_quit(&c);
}

/*
 * streams: parallel downloads of bytes each; rate: count tunnels opened
 * and closed by parallel processes. The wall time is from the first fork
 * until the last process has ended.
 */
static void
run_parallel(const struct target *t, int streams, size_t parallel,
    uint64_t bytes, size_t count)
{
	pid_t	pid;
	size_t	i, failed = 0;
	double	t0, t1;
	int	status;

	fflush(stdout);
	t0 = now();
	for (i = 0; i < parallel; i++) {
		if ((pid = fork()) == -1)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			parallel_child(t, streams, bytes, count / parallel +
			    (i < count % parallel));
			_exit(0);
		}
	}
	for (i = 0; i < parallel; i++) {
		if (wait(&status) == -1)
			die("wait: %s", strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	t1 = now();
	if (failed > 0)
		die("%zu of %zu processes failed", failed, parallel);
	if (streams)
		printf("streams n=%zu bytes=%" PRIu64 " seconds=%.3f "
		    "MBps=%.1f\n", parallel, bytes * parallel, t1 - t0,
		    (double)(bytes * parallel) / (t1 - t0) / 1e6);
	else
		printf("rate n=%zu parallel=%zu seconds=%.3f per_second=%.1f\n",
		    count, parallel, t1 - t0, (double)count / (t1 - t0));
}

/* ---- client: holding idle tunnels --------------------------------- */

static ssize_t
hold_ssl_result(struct hold_conn *h, int rc)
{
	switch (SSL_get_error(h->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		return IO_ERR;
	}
}

static ssize_t
hold_read(struct hold_conn *h, void *p, size_t len)
{
	ssize_t	n;
	int	rc;

	if (h->ssl != NULL) {
		ERR_clear_error();
		if ((rc = SSL_read(h->ssl, p, (int)len)) > 0)
			return rc;
		return hold_ssl_result(h, rc);
	}
	if ((n = recv(h->fd, p, len, 0)) >= 0)
		return n;
	return errno == EAGAIN || errno == EINTR ? IO_WANT_READ : IO_ERR;
}

static ssize_t
hold_write(struct hold_conn *h, const void *p, size_t len)
{
	ssize_t	n;
	int	rc;

	if (h->ssl != NULL) {
		ERR_clear_error();
		if ((rc = SSL_write(h->ssl, p, (int)len)) > 0)
			return rc;
		return hold_ssl_result(h, rc);
	}
	if ((n = send(h->fd, p, len, MSG_NOSIGNAL)) >= 0)
		return n;
	return errno == EAGAIN || errno == EINTR ? IO_WANT_WRITE : IO_ERR;
}

static const char *
hold_state_name(enum hold_state s)
{
	static const char	*names[] = { "connect", "TLS handshake",
	    "CONNECT request", "CONNECT reply", "greeting", "echo out",
	    "echo in", "idle", "closed" };

	return names[s];
}

/*
 * Moves a tunnel through its setup as far as its socket allows; returns
 * 0 (waiting for h->events), 1 (now idle) or -1 with err set.
 */
static int
hold_advance(const struct target *t, struct hold_conn *h, char *err,
    size_t errlen)
{
	ssize_t		n = 0, hdr;
	socklen_t	sl;
	uint8_t		b[256];
	int		soerr, rc;

	for (;;) {
		switch (h->state) {
		case HOLD_CONNECT:
			sl = sizeof soerr;
			if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) == -1)
				soerr = errno;
			if (soerr != 0) {
				snprintf(err, errlen, "connect: %s",
				    strerror(soerr));
				return -1;
			}
			if (t->ctx != NULL) {
				if ((h->ssl = tls_new(t, h->fd)) == NULL) {
					snprintf(err, errlen, "SSL_new failed");
					return -1;
				}
				h->state = HOLD_TLS;
			} else if (t->connect != NULL) {
				h->len = request_format(t, h->buf,
				    sizeof h->buf);
				h->off = 0;
				h->state = HOLD_REQUEST;
			} else
				h->state = HOLD_GREETING;
			break;
		case HOLD_TLS:
			ERR_clear_error();
			if ((rc = SSL_connect(h->ssl)) != 1) {
				n = hold_ssl_result(h, rc);
				if (n == IO_WANT_READ || n == IO_WANT_WRITE)
					goto wait;
				snprintf(err, errlen, "TLS handshake: %s",
				    tls_errstr(h->ssl, rc));
				return -1;
			}
			if (t->connect != NULL) {
				h->len = request_format(t, h->buf,
				    sizeof h->buf);
				h->off = 0;
				h->state = HOLD_REQUEST;
			} else
				h->state = HOLD_GREETING;
			break;
		case HOLD_REQUEST:
		case HOLD_ECHO_OUT:
			while (h->off < h->len) {
				n = hold_write(h, h->buf + h->off,
				    h->len - h->off);
				if (n == IO_WANT_READ || n == IO_WANT_WRITE)
					goto wait;
				if (n <= 0) {
					snprintf(err, errlen, "%s: write failed",
					    hold_state_name(h->state));
					return -1;
				}
				h->off += (size_t)n;
			}
			h->off = h->len = 0;
			h->state = h->state == HOLD_REQUEST ? HOLD_REPLY :
			    HOLD_ECHO_IN;
			break;
		case HOLD_REPLY:
			if (h->len == sizeof h->buf) {
				snprintf(err, errlen, "proxy reply too long");
				return -1;
			}
			n = hold_read(h, h->buf + h->len, sizeof h->buf - h->len);
			if (n == IO_WANT_READ || n == IO_WANT_WRITE)
				goto wait;
			if (n <= 0) {
				snprintf(err, errlen, "proxy closed before "
				    "its reply");
				return -1;
			}
			h->len += (size_t)n;
			if ((hdr = reply_parse(h->buf, h->len, err,
			    errlen)) < 0)
				return -1;
			if (hdr > 0) {
				memmove(h->buf, h->buf + hdr,
				    h->len - (size_t)hdr);
				h->len -= (size_t)hdr;
				h->state = HOLD_GREETING;
			}
			break;
		case HOLD_GREETING:
			if (h->len == 0) {
				n = hold_read(h, h->buf, 1);
				if (n == IO_WANT_READ || n == IO_WANT_WRITE)
					goto wait;
				if (n <= 0) {
					snprintf(err, errlen, "closed before "
					    "the sink's greeting");
					return -1;
				}
				h->len = (size_t)n;
			}
			if (h->len != 1 || h->buf[0] != 'P') {
				snprintf(err, errlen, "unexpected greeting");
				return -1;
			}
			cmd_encode((uint8_t *)h->buf, 'E', HOLD_ECHO_LEN);
			memcpy(h->buf + CMD_LEN, echo_pattern, HOLD_ECHO_LEN);
			h->off = 0;
			h->len = CMD_LEN + HOLD_ECHO_LEN;
			h->state = HOLD_ECHO_OUT;
			break;
		case HOLD_ECHO_IN:
			n = hold_read(h, h->buf + h->len, HOLD_ECHO_LEN - h->len);
			if (n == IO_WANT_READ || n == IO_WANT_WRITE)
				goto wait;
			if (n <= 0) {
				snprintf(err, errlen, "closed during the echo");
				return -1;
			}
			h->len += (size_t)n;
			if (h->len < HOLD_ECHO_LEN)
				break;
			if (memcmp(h->buf, echo_pattern, HOLD_ECHO_LEN) != 0) {
				snprintf(err, errlen, "echo came back wrong");
				return -1;
			}
			h->off = h->len = 0;
			h->state = HOLD_IDLE;
			h->events = EPOLLIN;
			return 1;
		case HOLD_IDLE:
			/* Nothing is expected: notice a close, skip TLS records. */
			n = hold_read(h, b, sizeof b);
			if (n == IO_WANT_READ || n == IO_WANT_WRITE)
				goto wait;
			if (n <= 0) {
				snprintf(err, errlen, "closed while idle");
				return -1;
			}
			return 0;
		case HOLD_CLOSED:
			return 0;
		}
	}
 wait:
	h->events = n == IO_WANT_WRITE ? EPOLLOUT : EPOLLIN;
	return 0;
}

static void
hold_close(struct hold_conn *h)
{
	SSL_free(h->ssl);
	h->ssl = NULL;
	if (h->fd != -1)
		close(h->fd);
	h->fd = -1;
	h->state = HOLD_CLOSED;
}

static int
hold_start(const struct target *t, int ep, struct hold_conn *h, char *err,
    size_t errlen)
{
	struct epoll_event	ev;
	int			on = 1;

	h->started = now();
	h->state = HOLD_CONNECT;
	h->fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (h->fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	if (connect(h->fd, (struct sockaddr *)&t->ss, t->sslen) == -1 &&
	    errno != EINPROGRESS) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		return -1;
	}
	/* Writable once connected, at once or later: the same path. */
	h->events = EPOLLOUT;
	memset(&ev, 0, sizeof ev);
	ev.events = h->events;
	ev.data.ptr = h;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, h->fd, &ev) == -1) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
run_hold(const struct target *t, size_t count, size_t parallel)
{
	struct hold_conn	*conns, *h;
	struct epoll_event	 ev, evs[SINK_EVENTS];
	char			 err[512], first_err[512] = "";
	size_t			 next = 0, inflight = 0, idle = 0, failed = 0;
	size_t			 closed = 0, i;
	uint32_t		 before;
	double			 t0 = now(), last_sweep = t0;
	int			 ep, n, j, rc;

	if ((conns = calloc(count, sizeof *conns)) == NULL)
		die("out of memory for %zu tunnels", count);
	for (i = 0; i < count; i++)
		conns[i].fd = -1;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));

	while (idle + failed < count && !quit) {
		while (inflight < parallel && next < count) {
			h = &conns[next++];
			if (hold_start(t, ep, h, err, sizeof err) == -1) {
				if (failed++ == 0)
					snprintf(first_err, sizeof first_err,
					    "%s", err);
				hold_close(h);
			} else
				inflight++;
		}
		if ((n = epoll_wait(ep, evs, SINK_EVENTS, 200)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (j = 0; j < n; j++) {
			h = evs[j].data.ptr;
			if (h->state == HOLD_CLOSED)
				continue;
			before = h->events;
			rc = hold_advance(t, h, err, sizeof err);
			if (rc == -1) {
				if (h->state == HOLD_IDLE) {
					idle--;
					closed++;
				} else
					inflight--;
				if (failed++ == 0)
					snprintf(first_err, sizeof first_err,
					    "%s", err);
				hold_close(h);
				continue;
			}
			if (rc == 1) {
				inflight--;
				idle++;
			}
			if (h->events != before) {
				memset(&ev, 0, sizeof ev);
				ev.events = h->events;
				ev.data.ptr = h;
				epoll_ctl(ep, EPOLL_CTL_MOD, h->fd, &ev);
			}
		}
		if (now() - last_sweep < 1)
			continue;
		last_sweep = now();
		for (i = 0; i < next; i++) {
			h = &conns[i];
			if (h->state == HOLD_IDLE || h->state == HOLD_CLOSED ||
			    last_sweep - h->started < t->timeout)
				continue;
			if (failed++ == 0)
				snprintf(first_err, sizeof first_err,
				    "timeout in %s", hold_state_name(h->state));
			inflight--;
			hold_close(h);
		}
	}
	if (quit)
		die("interrupted with %zu of %zu tunnels open", idle, count);
	printf("ready n=%zu failed=%zu seconds=%.2f%s%s%s\n", idle, failed,
	    now() - t0, failed ? " first_error=\"" : "", first_err,
	    failed ? "\"" : "");
	fflush(stdout);
	if (idle == 0)
		die("no tunnel opened: %s", first_err);

	/* Hold until told (SIGUSR1, SIGTERM); the watchdog bounds the wait. */
	while (!quit) {
		if ((n = epoll_wait(ep, evs, SINK_EVENTS, 200)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (j = 0; j < n; j++) {
			h = evs[j].data.ptr;
			if (h->state != HOLD_IDLE)
				continue;
			if (hold_advance(t, h, err, sizeof err) == -1) {
				closed++;
				hold_close(h);
			}
		}
	}
	for (i = 0; i < count; i++)
		hold_close(&conns[i]);
	printf("released closed_while_idle=%zu\n", closed);
	free(conns);
	close(ep);
}

static int
client_main(int argc, char *argv[])
{
	struct target	 t;
	const char	*addr = NULL, *mode = NULL, *cafile = NULL;
	const char	*suites = DEFAULT_SUITES;
	uint64_t	 bytes = 1ULL << 30;
	size_t		 count = 1000, parallel = 64;
	int		 ch, tls = 0, tls13 = 0, watchdog = 900;

	memset(&t, 0, sizeof t);
	t.name = "localhost";
	t.timeout = 30;
	while ((ch = getopt(argc, argv, "3A:b:c:m:n:N:P:RS:tT:w:x:")) != -1) {
		switch (ch) {
		case 'R':
			resume = 1;
			break;
		case '3':
			tls13 = 1;
			break;
		case 'A':
			cafile = optarg;
			break;
		case 'b':
			bytes = size_parse(optarg, "-b");
			break;
		case 'c':
			addr = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			count = (size_t)num_parse(optarg, 1, HOLD_MAX, "-n");
			break;
		case 'N':
			t.name = optarg;
			break;
		case 'P':
			parallel = (size_t)num_parse(optarg, 1, 4096, "-P");
			break;
		case 'S':
			suites = optarg;
			break;
		case 't':
			tls = 1;
			break;
		case 'T':
			t.timeout = (int)num_parse(optarg, 1, 3600, "-T");
			break;
		case 'w':
			watchdog = (int)num_parse(optarg, 1, 86400, "-w");
			break;
		case 'x':
			t.connect = optarg;
			break;
		default:
			usage();
		}
	}
	if (addr == NULL || mode == NULL || optind != argc)
		usage();
	if (tls && cafile == NULL)
		die("TLS needs -A cafile");
	addr_parse(addr, &t.ss, &t.sslen);
	signals_setup(watchdog);
	memset(chunk, 'u', sizeof chunk);
	if (tls)
		t.ctx = tls_ctx_new(cafile, suites, tls13,
		    strcmp(mode, "hold") == 0);
	if (resume && t.ctx != NULL)
		SSL_CTX_clear_options(t.ctx, SSL_OP_NO_TICKET);

	if (strcmp(mode, "upload") == 0)
		run_transfer(&t, 1, bytes);
	else if (strcmp(mode, "download") == 0)
		run_transfer(&t, 0, bytes);
	else if (strcmp(mode, "latency") == 0) {
		if (count > LATENCY_MAX)
			die("-n: at most %d tunnels", LATENCY_MAX);
		run_latency(&t, count);
	} else if (strcmp(mode, "hold") == 0)
		run_hold(&t, count, parallel);
	else if (strcmp(mode, "streams") == 0)
		run_parallel(&t, 1, parallel, bytes, 0);
	else if (strcmp(mode, "rate") == 0)
		run_parallel(&t, 0, parallel, 0, count);
	else
		die("unknown mode \"%s\"", mode);
	SSL_SESSION_free(resume_session);
	SSL_CTX_free(t.ctx);
	return 0;
}

/* ---- helpers for the driver --------------------------------------- */

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
