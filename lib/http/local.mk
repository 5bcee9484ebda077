# SPDX-License-Identifier: ISC
# lib/http: the HTTPS server the broker's API and portal run on (evhttp
# behind OpenSSL, per-source limits, JSON replies) and its request parsing
# (httpparse.c: paths, bearer tokens, cookies; pure and fuzzed). It knows
# nothing of the broker: routes are callbacks.
noinst_LIBRARIES += lib/http/libhttp.a
lib_http_libhttp_a_SOURCES = lib/http/http.c lib/http/http.h \
	lib/http/http-conn.c lib/http/httppriv.h \
	lib/http/httpparse.c
HTTP_CPPFLAGS = -I$(top_srcdir)/lib/http
lib_http_libhttp_a_CFLAGS = $(AM_CFLAGS) $(HTTP_CPPFLAGS) \
	$(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
HTTP_LIBS = lib/http/libhttp.a $(LIBEVENT_LIBS) $(JANSSON_LIBS)
