# broker/: paprika-brokerd. Its modules form a library so that the tests
# can link each one without the daemon's main().
noinst_LIBRARIES += broker/libbroker.a
broker_libbroker_a_SOURCES = \
	broker/api.c \
	broker/audit.c \
	broker/auditfmt.c \
	broker/auth.c broker/auth.h \
	broker/authmsg.c broker/authmsg.h \
	broker/authsep.c broker/privsep.h \
	broker/conf.c broker/broker.h \
	broker/db.c \
	broker/events.c \
	broker/gpu.c broker/gpu.h \
	broker/domxml.c broker/domxml.h \
	broker/grant.c \
	broker/gpualloc.c \
	broker/gpujson.c broker/gpujson.h \
	broker/gwctl.c \
	broker/http.c broker/http.h \
	broker/httpparse.c \
	broker/metrics.c \
	broker/pool.c \
	broker/portal.c \
	broker/privsep.c \
	broker/ready.c \
	broker/screen.c broker/screen.h \
	broker/session.c \
	broker/throttle.c broker/throttle.h \
	broker/totp.c broker/totp.h \
	broker/twofactor.c broker/twofactor.h \
	broker/qr.c broker/qr.h \
	broker/virt.c broker/virt.h \
	broker/virtevent.c \
	broker/virtgpu.c broker/virtgpu.h broker/virtpriv.h \
	broker/virtready.c \
	broker/workq.c broker/workq.h
BROKER_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBVIRT_CFLAGS) $(LIBXML2_CFLAGS) $(LIBPNG_CFLAGS) $(SQLITE3_CFLAGS) $(LIBSODIUM_CFLAGS) $(LIBQRENCODE_CFLAGS) \
	-I$(top_srcdir)/broker
broker_libbroker_a_CFLAGS = $(BROKER_CFLAGS)
BROKER_LIBS = broker/libbroker.a $(PAPRIKA_COMMON_LIBS) $(LIBEVENT_LIBS) \
	$(LIBEVENT_PTHREADS_LIBS) $(JANSSON_LIBS) $(LIBVIRT_LIBS) $(LIBXML2_LIBS) $(LIBPNG_LIBS) $(SQLITE3_LIBS) \
	$(LIBSODIUM_LIBS) $(LIBQRENCODE_LIBS) $(PAM_LIBS) -lpthread

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
	docs/broker-api.md docs/gpu.md
