/* SPDX-License-Identifier: ISC */
/*
 * The control channel in TLS (control_listen), for brokers on other hosts:
 * the same requests as the Unix socket, one a connection, from a client
 * whose certificate the deployment CA signed for client use and whose
 * subject control_clients names. Worker 0 serves it, as it does the Unix
 * socket, so what a request does reaches every worker the same way.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "gateway.h"
#include "log.h"
#include "tls.h"

struct control_conn {
	struct bufferevent	*bev;
	struct event		*deadline;	/* the handshake's */
	char			 peer[NETADDR_STRLEN];
};

void
control_tls_end(void *arg)
{
	struct control_conn	*cc = arg;

	if (cc->deadline != NULL)
		event_free(cc->deadline);
	bufferevent_free(cc->bev);
	free(cc);
	gw->control_tls_conns--;
}

/* Why the handshake failed, as the gateway's log should say it. */
static const char *
control_tls_why(struct control_conn *cc, char *buf, size_t len)
{
	SSL		*ssl = bufferevent_openssl_get_ssl(cc->bev);
	unsigned long	 e;
	long		 v;

	if ((v = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(buf, len, "client certificate refused: %s",
		    X509_verify_cert_error_string(v));
		return buf;
	}
	while ((e = bufferevent_get_openssl_error(cc->bev)) != 0) {
		if (ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
			return "the client sent no certificate";
		snprintf(buf, len, "%s", ERR_reason_error_string(e) != NULL ?
		    ERR_reason_error_string(e) : "unknown TLS error");
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "the connection closed");
	return buf;
}

/* The handshake is done: the subject must be one control_clients names. */
static int
control_tls_allowed(struct control_conn *cc)
{
	const struct gateway_config	*c = gw->conf;
	X509				*x;
	char				 subject[512];
	size_t				 i;

	x = SSL_get_peer_certificate(bufferevent_openssl_get_ssl(cc->bev));
	if (x == NULL) {
		log_warnx("control: refused TLS client %s: no client "
		    "certificate", cc->peer);
		return 0;
	}
	tls_subject(x, subject, sizeof subject);
	X509_free(x);
	for (i = 0; i < c->ncontrol_clients; i++) {
		if (strcmp(subject, c->control_clients[i]) == 0) {
			log_debug("control: TLS client %s, %s", cc->peer,
			    subject);
			return 1;
		}
	}
	log_warnx("control: refused TLS client %s: subject \"%s\" is not in "
	    "control_clients", cc->peer, subject);
	return 0;
}

static void
control_tls_event(struct bufferevent *bev, short what, void *arg)
{
	struct control_conn	*cc = arg;
	struct timeval		 tv = { CONTROL_TIMEOUT, 0 };
	char			 buf[256] = "";

	if (what & BEV_EVENT_CONNECTED) {
		if (!control_tls_allowed(cc)) {
			control_tls_end(cc);
			return;
		}
		event_free(cc->deadline);
		cc->deadline = NULL;
		bufferevent_set_timeouts(bev, &tv, &tv);
		bufferevent_setcb(bev, control_read, NULL, control_tls_event,
		    cc);
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (cc->deadline != NULL)
		log_warnx("control: TLS handshake with %s failed: %s",
		    cc->peer, control_tls_why(cc, buf, sizeof buf));
	control_tls_end(cc);
}

static void
control_tls_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct control_conn	*cc = arg;

	log_warnx("control: TLS handshake with %s took longer than %u s",
	    cc->peer, gw->conf->handshake_timeout);
	control_tls_end(cc);
}

static void
control_tls_resume(evutil_socket_t fd, short what, void *arg)
{
	if (gw->control_tls_ev != NULL)
		event_add(gw->control_tls_ev, NULL);
}

/* Out of descriptors: stop accepting for a second rather than spin. */
static void
control_tls_backoff(void)
{
	static struct event	*resume;
	struct timeval		 tv = { 1, 0 };

	log_warnx("control: accept: out of file descriptors; pausing for 1s");
	event_del(gw->control_tls_ev);
	if (resume == NULL)
		resume = evtimer_new(gw->base, control_tls_resume, NULL);
	if (resume != NULL)
		evtimer_add(resume, &tv);
}

static void
control_tls_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct control_conn	*cc;
	struct sockaddr_storage	 ss;
	struct timeval		 tv = { gw->conf->handshake_timeout, 0 };
	socklen_t		 len = sizeof ss;
	SSL			*ssl;
	char			 peer[NETADDR_STRLEN];
	int			 fd;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			control_tls_backoff();
		return;
	}
	netaddr_str((struct sockaddr *)&ss, peer, sizeof peer);
	/* Nobody has shown a certificate yet: few may wait at once. */
	if (gw->control_tls_conns >= CONTROL_TLS_MAX) {
		log_warnx("control: refused TLS client %s: %d connections "
		    "already", peer, CONTROL_TLS_MAX);
		close(fd);
		return;
	}
	if ((cc = calloc(1, sizeof *cc)) == NULL ||
	    (ssl = SSL_new(gw->control_tls_ctx)) == NULL) {
		free(cc);
		close(fd);
		return;
	}
	strlcpy(cc->peer, peer, sizeof cc->peer);
	cc->bev = bufferevent_openssl_socket_new(gw->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL) {
		SSL_free(ssl);
		free(cc);
		close(fd);
		return;
	}
	gw->control_tls_conns++;
	if ((cc->deadline = evtimer_new(gw->base, control_tls_timeout,
	    cc)) == NULL || evtimer_add(cc->deadline, &tv) == -1) {
		control_tls_end(cc);
		return;
	}
	bufferevent_setcb(cc->bev, NULL, NULL, control_tls_event, cc);
	bufferevent_enable(cc->bev, EV_READ);
}

/* A server context that asks for a client certificate and checks it. */
static SSL_CTX *
control_tls_ctx(const struct gateway_config *c, char *err, size_t errlen)
{
	STACK_OF(X509_NAME)	*names;
	SSL_CTX			*ctx;

	if ((ctx = tls_server_ctx_new(c->control_tls_cert, c->control_tls_key,
	    err, errlen)) == NULL)
		return NULL;
	if (SSL_CTX_load_verify_locations(ctx, c->control_ca, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(c->control_ca)) == NULL) {
		snprintf(err, errlen, "control_ca %s: %s", c->control_ca,
		    tls_error());
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	/* OpenSSL checks the client's certificate is for clientAuth. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	return ctx;
}

int
control_tls_check(const struct gateway_config *c, char *err, size_t errlen)
{
	char	 why[512];
	SSL_CTX	*ctx;

	if ((ctx = control_tls_ctx(c, why, sizeof why)) == NULL) {
		snprintf(err, errlen, "control_listen: %s", why);
		return -1;
	}
	SSL_CTX_free(ctx);
	return 0;
}

int
control_tls_open(const struct gateway_config *c)
{
	char	err[512], addr[NETADDR_STRLEN];
	int	fd, on = 1;

	netaddr_str((const struct sockaddr *)&c->control_listen, addr,
	    sizeof addr);
	if ((gw->control_tls_ctx = control_tls_ctx(c, err,
	    sizeof err)) == NULL) {
		log_warnx("control_listen %s: %s", addr, err);
		return -1;
	}
	if ((fd = socket(c->control_listen.ss_family, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("control_listen %s: socket", addr);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (bind(fd, (const struct sockaddr *)&c->control_listen,
	    c->control_listen_len) == -1 || listen(fd, 16) == -1) {
		log_warn("control_listen %s", addr);
		close(fd);
		return -1;
	}
	gw->control_tls_fd = fd;
	log_info("control: listening in TLS on %s", addr);
	return 0;
}

void
control_tls_start(void)
{
	if (gw->control_tls_fd == -1)
		return;
	gw->control_tls_ev = event_new(gw->base, gw->control_tls_fd,
	    EV_READ | EV_PERSIST, control_tls_accept, NULL);
	if (gw->control_tls_ev == NULL ||
	    event_add(gw->control_tls_ev, NULL) == -1)
		fatalx("cannot watch control_listen");
}

void
control_tls_close(void)
{
	if (gw->control_tls_ev != NULL)
		event_free(gw->control_tls_ev);
	gw->control_tls_ev = NULL;
	if (gw->control_tls_fd != -1) {
		close(gw->control_tls_fd);
		gw->control_tls_fd = -1;
	}
	SSL_CTX_free(gw->control_tls_ctx);
	gw->control_tls_ctx = NULL;
}
