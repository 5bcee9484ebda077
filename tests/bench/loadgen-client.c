/* SPDX-License-Identifier: ISC */
/* loadgen client: the blocking runs (upload, download, latency, streams,
 * rate) through a proxy over plain TCP or TLS. */
#include "loadgen.h"

const char *
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

SSL *
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

size_t
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
ssize_t
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
	c->at_tcp = c->at_tls = c->at_reply = now();
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
		c->at_tls = c->at_reply = now();
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
		c->at_reply = now();
	}
	if ((n = conn_read(c, &greeting, 1, 0)) != 1 || greeting != 'P') {
		snprintf(err, errlen, "no greeting from the sink%s%s",
		    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		goto fail;
	}
	if (resume && c->ssl != NULL && SSL_session_reused(c->ssl))
		resumed++;
	return 0;
 fail:
	conn_close(c);
	return -1;
}

/*
 * Asks the sink to close and waits for the close to come through. With -R,
 * keeps the session for the next tunnel: only now, as TLS 1.3 tickets may
 * come behind the first byte (the gateway gives them after its first write),
 * and a session kept before its ticket would make the next tunnel a full
 * handshake.
 */
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
	if (resume && c->ssl != NULL) {
		/* A copy: closing without close_notify spoils the original. */
		SSL_SESSION_free(resume_session);
		resume_session = SSL_SESSION_dup(SSL_get0_session(c->ssl));
	}
	conn_close(c);
}

/* This process's user + system CPU time so far, in ms. */
static double
cpu_ms(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		die("getrusage: %s", strerror(errno));
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
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
	double		t0, t1, c0;

	if (conn_open(t, &c, err, sizeof err) == -1)
		die("%s", err);
	cmd_encode(cmd, upload ? 'U' : 'D', bytes);
	c0 = cpu_ms();
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
	/* cpu_ms: the client's own share of what the bytes cost. */
	printf("%s bytes=%" PRIu64 " seconds=%.3f MBps=%.1f cpu_ms=%.0f%s\n",
	    upload ? "upload" : "download", bytes, t1 - t0,
	    (double)bytes / (t1 - t0) / 1e6, cpu_ms() - c0,
	    tls_describe(c.ssl));
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

/*
 * Opens and closes count tunnels one after another and prints the
 * percentiles of connect-to-first-byte. With samples set, each tunnel's
 * steps go there too, one line per tunnel in the order opened: total, TCP
 * connect, TLS handshake, proxy reply, first byte (ms), so that runs can be
 * pooled and a slow tail traced to its step.
 */
static void
run_latency(const struct target *t, size_t count, const char *samples)
{
	struct conn	 c;
	char		 err[512], tls[128] = "";
	double		*s, t0, t1, sum = 0;
	size_t		 i;
	FILE		*out = NULL;

	if ((s = calloc(count, sizeof *s)) == NULL)
		die("out of memory");
	if (samples != NULL && (out = fopen(samples, "w")) == NULL)
		die("%s: %s", samples, strerror(errno));
	for (i = 0; i < count + LATENCY_WARMUP && !quit; i++) {
		t0 = now();
		if (conn_open(t, &c, err, sizeof err) == -1)
			die("tunnel %zu: %s", i, err);
		t1 = now();
		if (i >= LATENCY_WARMUP) {
			s[i - LATENCY_WARMUP] = t1 - t0;
			sum += t1 - t0;
			if (out != NULL)
				fprintf(out, "%.4f %.4f %.4f %.4f %.4f\n",
				    (t1 - t0) * 1e3, (c.at_tcp - t0) * 1e3,
				    (c.at_tls - c.at_tcp) * 1e3,
				    (c.at_reply - c.at_tls) * 1e3,
				    (t1 - c.at_reply) * 1e3);
		} else if (i == 0)
			snprintf(tls, sizeof tls, "%s", tls_describe(c.ssl));
		conn_quit(&c);
	}
	if (quit)
		die("interrupted");
	if (out != NULL && fclose(out) == EOF)
		die("%s: %s", samples, strerror(errno));
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

int
client_main(int argc, char *argv[])
{
	struct target	 t;
	const char	*addr = NULL, *mode = NULL, *cafile = NULL;
	const char	*samples = NULL;
	const char	*suites = DEFAULT_SUITES;
	uint64_t	 bytes = 1ULL << 30;
	size_t		 count = 1000, parallel = 64;
	int		 ch, tls = 0, tls13 = 0, watchdog = 900;

	memset(&t, 0, sizeof t);
	t.name = "localhost";
	t.timeout = 30;
	while ((ch = getopt(argc, argv, "3A:b:c:m:n:N:o:P:RS:tT:w:x:")) != -1) {
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
		case 'o':
			samples = optarg;
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
		run_latency(&t, count, samples);
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
