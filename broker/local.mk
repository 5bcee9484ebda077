# broker/: paprika-brokerd. Its modules form a library so that the tests
# can link each one without the daemon's main().
noinst_LIBRARIES += broker/libbroker.a
broker_libbroker_a_SOURCES = \
	broker/auth.c broker/auth.h \
	broker/throttle.c broker/throttle.h \
	broker/workq.c broker/workq.h
BROKER_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBVIRT_CFLAGS) $(SQLITE3_CFLAGS) $(LIBSODIUM_CFLAGS) \
	-I$(top_srcdir)/broker
broker_libbroker_a_CFLAGS = $(BROKER_CFLAGS)
BROKER_LIBS = broker/libbroker.a $(PAPRIKA_COMMON_LIBS) $(LIBEVENT_LIBS) \
	$(LIBEVENT_PTHREADS_LIBS) $(JANSSON_LIBS) $(LIBVIRT_LIBS) $(SQLITE3_LIBS) \
	$(LIBSODIUM_LIBS) $(PAM_LIBS) -lpthread
