/* SPDX-License-Identifier: ISC */
/*
 * loadgen's parts: loadgen.c (commands, parsing, signals, ports, main),
 * loadgen-sink.c (the sink), loadgen-client.c (the blocking runs over
 * plain TCP and TLS) and loadgen-hold.c (the hold run's thousands of
 * non-blocking tunnels).
 */
#ifndef LOADGEN_H
#define LOADGEN_H

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
	double	 at_tcp, at_tls, at_reply;	/* when each step ended */
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

extern volatile sig_atomic_t	 quit;
/* Upload source, download target, the sink's discard and source buffer. */
extern uint8_t			 chunk[CHUNK];
/* -R: the session the next tunnel offers, and how many resumed. */
extern int			 resume;
extern SSL_SESSION		*resume_session;
extern size_t			 resumed;
extern const uint8_t		 echo_pattern[HOLD_ECHO_LEN];

/* loadgen.c */
void	 die(const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));
void	 warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 usage(void) __attribute__((noreturn));
double	 now(void);
long long num_parse(const char *s, long long min, long long max,
	    const char *what);
uint64_t size_parse(const char *s, const char *what);
void	 addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);
void	 cmd_encode(uint8_t *p, char op, uint64_t n);
uint64_t cmd_count(const uint8_t *p);
void	 signals_setup(int watchdog);

/* loadgen-sink.c */
int	 sink_main(int argc, char *argv[]);

/* loadgen-client.c */
const char *tls_errstr(SSL *ssl, int rc);
SSL	*tls_new(const struct target *t, int fd);
size_t	 request_format(const struct target *t, char *buf, size_t len);
ssize_t	 reply_parse(const char *buf, size_t len, char *err, size_t errlen);
int	 client_main(int argc, char *argv[]);

/* loadgen-hold.c */
void	 run_hold(const struct target *t, size_t count, size_t parallel);

#endif
