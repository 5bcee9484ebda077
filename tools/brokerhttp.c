/* SPDX-License-Identifier: ISC */
/* brokerhttp: one HTTPS request to the broker, blocking, verified. */
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "brokerhttp.h"
#include "tls.h"

int
brokerhttp_init(struct brokerhttp *b, const char *url, const char *cafile,
    char *err, size_t errlen)
{
	const char	*p, *end, *colon;
	size_t		 n;

	memset(b, 0, sizeof *b);
	if (strncasecmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "%s: the broker's URL must begin with "
		    "https://", url);
		return -1;
	}
	p = url + 8;
	end = p + strcspn(p, "/");
	if (*end == '/' && end[1] != '\0') {
		snprintf(err, errlen, "%s: the broker's URL has no path", url);
		return -1;
	}
	if (*p == '[') {
		if ((colon = memchr(p, ']', end - p)) == NULL)
			goto bad;
		n = colon - p - 1;
		p++;
		colon++;
		if (colon != end && *colon != ':')
			goto bad;
	} else {
		colon = memchr(p, ':', end - p);
		n = (colon != NULL ? colon : end) - p;
	}
	if (n == 0 || n >= sizeof b->host)
		goto bad;
	memcpy(b->host, p, n);
	if (colon != NULL && colon != end && *colon == ':') {
		n = end - colon - 1;
		if (n == 0 || n >= sizeof b->port ||
		    strspn(colon + 1, "0123456789") < n)
			goto bad;
		memcpy(b->port, colon + 1, n);
	} else
		strlcpy(b->port, "443", sizeof b->port);

	if (cafile != NULL) {
		if ((b->ctx = tls_client_ctx_new(cafile, err, errlen)) == NULL)
			return -1;
	} else {
		if ((b->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
		    !SSL_CTX_set_min_proto_version(b->ctx, TLS1_2_VERSION) ||
		    SSL_CTX_set_default_verify_paths(b->ctx) != 1) {
			snprintf(err, errlen, "TLS: %s", tls_error());
			brokerhttp_free(b);
			return -1;
		}
		SSL_CTX_set_verify(b->ctx, SSL_VERIFY_PEER, NULL);
	}
	return 0;
 bad:
	snprintf(err, errlen, "%s: not a broker URL (https://HOST[:PORT])",
	    url);
	return -1;
}

void
brokerhttp_free(struct brokerhttp *b)
{
	SSL_CTX_free(b->ctx);
	b->ctx = NULL;
}

void
brokerhttp_reply_clear(struct brokerhttp_reply *r)
{
	free(r->body);
	if (r->json != NULL)
		json_decref(r->json);
	memset(r, 0, sizeof *r);
}

/* A TCP connection to host:port within BROKERHTTP_TIMEOUT, reads and writes
 * bounded by it too; the socket, or -1 with a message. */
static int
brokerhttp_connect(struct brokerhttp *b, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	struct timeval	 tv = { BROKERHTTP_TIMEOUT, 0 };
	struct pollfd	 pfd;
	socklen_t	 sl;
	int		 fd = -1, e, soerr = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(b->host, b->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot reach the broker at %s port %s: "
		    "%s", b->host, b->port, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol)) == -1) {
			soerr = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		soerr = errno;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, BROKERHTTP_TIMEOUT * 1000) == 1) {
				sl = sizeof soerr;
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
				    &sl) == 0 && soerr == 0)
					break;
			} else
				soerr = ETIMEDOUT;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "cannot reach the broker at %s port %s: "
		    "%s", b->host, b->port, strerror(soerr));
		return -1;
	}
	if (fcntl(fd, F_SETFL, 0) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Splits the raw reply into status and body; 0, or -1 with a message. */
static int
brokerhttp_parse(char *buf, size_t len, struct brokerhttp_reply *r,
    char *err, size_t errlen)
{
	char		*hdrs, *line, *next, *val, *end;
	size_t		 hlen, blen;
	long long	 clen = -1;
	int		 status;

	if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ') {
		snprintf(err, errlen, "the broker's reply is not HTTP");
		return -1;
	}
	if ((hdrs = memmem(buf, len, "\r\n\r\n", 4)) == NULL) {
		snprintf(err, errlen, "the broker's reply was cut short");
		return -1;
	}
	hlen = hdrs - buf;
	blen = len - hlen - 4;
	buf[hlen] = '\0';
	status = (int)strtol(buf + 9, &end, 10);
	if (end != buf + 12 || status < 100 || status > 599) {
		snprintf(err, errlen, "the broker's reply has no status");
		return -1;
	}
	for (line = strstr(buf, "\r\n"); line != NULL; line = next) {
		line += 2;
		next = strstr(line, "\r\n");
		if (next != NULL)
			*next = '\0';
		if ((val = strchr(line, ':')) == NULL)
			continue;
		*val++ = '\0';
		val += strspn(val, " \t");
		if (strcasecmp(line, "Content-Length") == 0) {
			errno = 0;
			clen = strtoll(val, &end, 10);
			if (errno != 0 || end == val || clen < 0)
				clen = -2;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			snprintf(err, errlen, "the broker sent a chunked reply, "
			    "which this tool does not read");
			return -1;
		}
		if (next != NULL)
			*next = '\r';
	}
	if (clen == -2 || (clen >= 0 && (size_t)clen != blen)) {
		snprintf(err, errlen, "the broker's reply was cut short");
		return -1;
	}
	if ((r->body = malloc(blen + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(r->body, hdrs + 4, blen);
	r->body[blen] = '\0';
	r->len = blen;
	r->status = status;
	r->json = json_loadb(r->body, blen, JSON_REJECT_DUPLICATES, NULL);
	return 0;
}

int
brokerhttp_request(struct brokerhttp *b, const char *method,
    const char *path, json_t *body, struct brokerhttp_reply *r,
    char *err, size_t errlen)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	SSL		*ssl = NULL;
	char		*req = NULL, *data = NULL, *buf = NULL, *nb;
	size_t		 reqlen = 0, len = 0, size = 0, dlen = 0;
	char		 clen[96] = "";
	long		 vr;
	int		 fd = -1, n = 0, ret = -1, isip, v6, i;

	memset(r, 0, sizeof *r);
	if (body != NULL) {
		/* Into a buffer of its size: a password leaves no copies. */
		dlen = json_dumpb(body, NULL, 0, JSON_COMPACT);
		if (dlen == 0 || (data = malloc(dlen + 1)) == NULL ||
		    json_dumpb(body, data, dlen, JSON_COMPACT) != dlen) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		data[dlen] = '\0';
	}
	if (data != NULL)
		snprintf(clen, sizeof clen, "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n", dlen);
	else if (strcmp(method, "POST") == 0)
		strlcpy(clen, "Content-Length: 0\r\n", sizeof clen);
	v6 = strchr(b->host, ':') != NULL;
	/* Sized first, so that no copy of the token is left behind unwiped. */
	for (i = 0; i < 2; i++) {
		n = snprintf(req, reqlen, "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
		    "Connection: close\r\nAccept: application/json\r\n"
		    "%s%s%s%s\r\n%s", method, path, v6 ? "[" : "", b->host,
		    v6 ? "]" : "", b->port, b->token != NULL ?
		    "Authorization: Bearer " : "", b->token != NULL ? b->token : "",
		    b->token != NULL ? "\r\n" : "", clen,
		    data != NULL ? data : "");
		if (n < 0 || (i == 0 && (req = malloc(n + 1)) == NULL)) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		reqlen = n + 1;
	}
	reqlen = n;

	if ((fd = brokerhttp_connect(b, err, errlen)) == -1)
		goto out;
	if ((ssl = SSL_new(b->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		snprintf(err, errlen, "TLS: %s", tls_error());
		goto out;
	}
	isip = inet_pton(AF_INET, b->host, &a4) == 1 ||
	    inet_pton(AF_INET6, b->host, &a6) == 1;
	if (isip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
	    b->host) != 1 : (SSL_set1_host(ssl, b->host) != 1 ||
	    SSL_set_tlsext_host_name(ssl, b->host) != 1)) {
		snprintf(err, errlen, "TLS: %s", tls_error());
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		if ((vr = SSL_get_verify_result(ssl)) != X509_V_OK)
			snprintf(err, errlen, "the broker's certificate is not "
			    "trusted (%s): check --ca",
			    X509_verify_cert_error_string(vr));
		else
			snprintf(err, errlen, "TLS handshake with %s failed: %s",
			    b->host, tls_error());
		goto out;
	}
	if (SSL_write(ssl, req, (int)reqlen) != (int)reqlen) {
		snprintf(err, errlen, "cannot send to the broker: %s",
		    tls_error());
		goto out;
	}
	for (;;) {
		if (size - len < 16384) {
			if (size >= BROKERHTTP_REPLY_MAX) {
				snprintf(err, errlen, "the broker's reply is "
				    "larger than %d bytes", BROKERHTTP_REPLY_MAX);
				goto out;
			}
			size = size == 0 ? 65536 : size * 2;
			if ((nb = realloc(buf, size)) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			buf = nb;
		}
		if ((n = SSL_read(ssl, buf + len, (int)(size - len))) <= 0) {
			if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN ||
			    (SSL_get_error(ssl, n) == SSL_ERROR_SYSCALL &&
			    errno == 0))
				break;
			/* A reply with a length is whole when it is. */
			if (len > 0)
				break;
			snprintf(err, errlen, "no reply from the broker: %s",
			    errno == EAGAIN ? "timed out" : tls_error());
			goto out;
		}
		len += n;
	}
	ret = brokerhttp_parse(buf, len, r, err, errlen);
 out:
	if (req != NULL) {
		explicit_bzero(req, reqlen);	/* it holds the token */
		free(req);
	}
	if (data != NULL) {
		explicit_bzero(data, dlen);	/* it may hold a password */
		free(data);
	}
	free(buf);
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd != -1)
		close(fd);
	if (ret == -1)
		brokerhttp_reply_clear(r);
	return ret;
}
