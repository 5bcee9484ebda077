# SPDX-License-Identifier: ISC
# broker/: paprika-brokerd, the daemon's own logic: who gets which desktop
# (session, pool, gpualloc, grant), the API and portal on lib/http, the state
# (db, audit, events) and the configuration. Its modules form a library so
# that the tests can link each one without the daemon's main().
noinst_LIBRARIES += broker/libbroker.a
broker_libbroker_a_SOURCES = \
	broker/api.c broker/api.h \
	broker/api-admin.c \
	broker/api-desktops.c \
	broker/api-helpdesk.c \
	broker/api-login.c \
	broker/api-totp.c \
	broker/audit.c \
	broker/auditfmt.c \
	broker/authsep.c broker/privsep.h \
	broker/cluster.c \
	broker/conf.c broker/broker.h \
	broker/db.c broker/dbpriv.h \
	broker/db-audit.c \
	broker/db-gpu.c \
	broker/db-lease.c \
	broker/db-revocation.c \
	broker/db-totp.c \
	broker/events.c \
	broker/forward.c broker/forward.h \
	broker/forward-header.c \
	broker/forward-leader.c broker/forward-reach.c \
	broker/forwardpriv.h \
	broker/grant.c \
	broker/hostevents.c \
	broker/gpualloc.c \
	broker/gpuquarantine.c \
	broker/gwctl.c \
	broker/metrics.c \
	broker/policy.c \
	broker/pool.c \
	broker/portal.c \
	broker/privsep.c \
	broker/ready.c \
	broker/session.c \
	broker/state.c \
	broker/twofactor.c broker/twofactor.h
# The daemon sees every library's headers; the libraries see only their own
# and those below them (lib/*/local.mk), never broker.h.
BROKER_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBVIRT_CFLAGS) $(LIBXML2_CFLAGS) \
	$(LIBSODIUM_CFLAGS) -I$(top_srcdir)/broker $(HTTP_CPPFLAGS) \
	$(AUTH_CPPFLAGS) $(VIRT_CPPFLAGS) $(SQL_CPPFLAGS)
broker_libbroker_a_CFLAGS = $(BROKER_CFLAGS)
BROKER_LIBS = broker/libbroker.a $(HTTP_LIBS) $(AUTH_LIBS) $(VIRT_LIBS) \
	$(SQL_LIBS) $(LIBXML2_LIBS) $(PAPRIKA_COMMON_LIBS) $(LIBEVENT_LIBS) \
	$(LIBEVENT_PTHREADS_LIBS) -lpthread

sbin_PROGRAMS += paprika-brokerd
paprika_brokerd_SOURCES = broker/brokerd.c
paprika_brokerd_CFLAGS = $(BROKER_CFLAGS)
paprika_brokerd_LDADD = $(BROKER_LIBS)

# The portal's static files, served from memory (portal_dir).
portaldir = $(pkgdatadir)/portal
dist_portal_DATA = broker/portal/index.html broker/portal/portal.js \
	broker/portal/portal.css broker/portal/helpdesk.html \
	broker/portal/helpdesk.js broker/portal/helpdesk.css \
	broker/portal/console.html \
	broker/portal/console.js broker/portal/console.css

# The PAM service the default pam_service names (Debian's common-* files).
pamdir = $(sysconfdir)/pam.d
dist_pam_DATA = broker/pam.d/paprika
# The example configuration, a systemd unit and the broker's documentation,
# installed with the gateway's (gateway/local.mk) under the same names.
dist_paprikadoc_DATA += broker/paprika-brokerd.conf \
	broker/paprika-brokerd.service docs/broker.md \
	docs/broker-api.md docs/gpu.md docs/scaling.md
