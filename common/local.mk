# SPDX-License-Identifier: ISC
# common/: the static library every program links.
noinst_LIBRARIES += common/libpaprika.a
common_libpaprika_a_SOURCES = \
	common/config.c common/config.h \
	common/conftab.c common/conftab.h \
	common/encode.c common/encode.h \
	common/keyring.c common/keyring.h \
	common/log.c common/log.h \
	common/netaddr.c common/netaddr.h \
	common/privdrop.c common/privdrop.h \
	common/secretfile.c common/secretfile.h \
	common/ticket.c common/ticket.h \
	common/tls.c common/tls.h \
	common/workq.c common/workq.h \
	common/xmalloc.c common/xmalloc.h
common_libpaprika_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(INIH_CFLAGS) \
	$(LIBEVENT_CFLAGS)
PAPRIKA_COMMON_LIBS = common/libpaprika.a $(OPENSSL_LIBS) $(INIH_LIBS) $(LIBBSD_LIBS)
