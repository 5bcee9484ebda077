# SPDX-License-Identifier: ISC
# gateway/: paprika-gatewayd.
sbin_PROGRAMS += paprika-gatewayd
paprika_gatewayd_SOURCES = \
	gateway/conf.c \
	gateway/control.c \
	gateway/control-parse.c gateway/control-parse.h \
	gateway/control-tls.c \
	gateway/gateway.h \
	gateway/gatewayd.c \
	gateway/listener.c \
	gateway/metrics.c \
	gateway/metrics-parse.c gateway/metrics-parse.h \
	gateway/pending.c \
	gateway/relay.c \
	gateway/request.c gateway/request.h \
	gateway/revoke.c \
	gateway/session.c \
	gateway/tlsticket.c \
	gateway/tunnel.c \
	gateway/worker.c \
	gateway/ws.c \
	gateway/wsparse.c gateway/wsparse.h
paprika_gatewayd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) \
	$(LIBEVENT_PTHREADS_CFLAGS)
paprika_gatewayd_LDADD = $(PAPRIKA_COMMON_LIBS) $(LIBEVENT_LIBS) $(JANSSON_LIBS) \
	$(LIBEVENT_PTHREADS_LIBS) -lpthread

# The example configuration and a systemd unit, installed as documentation.
paprikadocdir = $(docdir)
dist_paprikadoc_DATA = gateway/paprika-gatewayd.conf gateway/paprika-gatewayd.service \
	docs/gateway.md docs/architecture.md
