# SPDX-License-Identifier: ISC
# tests/fuzz: libFuzzer harnesses over the parsers of untrusted bytes:
# the gateway's CONNECT requests, WebSocket upgrades and frames, control
# requests and metrics requests, tickets, the PAM helper's messages, the
# broker's HTTP paths and Paprika-Forwarded headers,
# bearer tokens and cookies, its edits of domain XML, and the guests'
# screenshots it reads for readiness.
# `make fuzz` runs each for FUZZ_SECONDS (default 30) over a copy of the
# seeds in tests/fuzz/corpus/NAME. In a build configured without
# --enable-fuzzing it builds and runs them in build/fuzz instead.
EXTRA_DIST += tests/fuzz/run-fuzz.sh tests/fuzz/corpus

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-http tests/fuzz/fuzz-request \
	tests/fuzz/fuzz-ticket tests/fuzz/fuzz-domxml tests/fuzz/fuzz-screen \
	tests/fuzz/fuzz-control tests/fuzz/fuzz-metrics tests/fuzz/fuzz-authmsg \
	tests/fuzz/fuzz-ws tests/fuzz/fuzz-forward

tests_fuzz_fuzz_http_SOURCES = tests/fuzz/fuzz-http.c tests/fuzz/fuzz.h \
	lib/http/httpparse.c
tests_fuzz_fuzz_http_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) \
	$(JANSSON_CFLAGS) $(HTTP_CPPFLAGS)
tests_fuzz_fuzz_http_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_http_LDADD = $(PAPRIKA_COMMON_LIBS)

tests_fuzz_fuzz_forward_SOURCES = tests/fuzz/fuzz-forward.c tests/fuzz/fuzz.h \
	broker/forward-header.c broker/forward.h
tests_fuzz_fuzz_forward_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) \
	-I$(top_srcdir)/broker
tests_fuzz_fuzz_forward_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_forward_LDADD = $(PAPRIKA_COMMON_LIBS)

tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz-request.c tests/fuzz/fuzz.h \
	gateway/request.c gateway/request.h
tests_fuzz_fuzz_request_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) \
	-I$(top_srcdir)/gateway
tests_fuzz_fuzz_request_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_request_LDADD = $(PAPRIKA_COMMON_LIBS)

tests_fuzz_fuzz_control_SOURCES = tests/fuzz/fuzz-control.c tests/fuzz/fuzz.h \
	gateway/control-parse.c gateway/control-parse.h
tests_fuzz_fuzz_control_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	-I$(top_srcdir)/gateway
tests_fuzz_fuzz_control_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_control_LDADD = $(PAPRIKA_COMMON_LIBS) $(JANSSON_LIBS)

tests_fuzz_fuzz_metrics_SOURCES = tests/fuzz/fuzz-metrics.c tests/fuzz/fuzz.h \
	gateway/metrics-parse.c gateway/metrics-parse.h
tests_fuzz_fuzz_metrics_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/gateway
tests_fuzz_fuzz_metrics_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_metrics_LDADD = $(PAPRIKA_COMMON_LIBS)

tests_fuzz_fuzz_authmsg_SOURCES = tests/fuzz/fuzz-authmsg.c tests/fuzz/fuzz.h \
	lib/auth/authmsg.c lib/auth/authmsg.h
tests_fuzz_fuzz_authmsg_CFLAGS = $(AM_CFLAGS) $(AUTH_CPPFLAGS)
tests_fuzz_fuzz_authmsg_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_authmsg_LDADD = $(PAPRIKA_COMMON_LIBS)

tests_fuzz_fuzz_ws_SOURCES = tests/fuzz/fuzz-ws.c tests/fuzz/fuzz.h \
	gateway/wsparse.c gateway/wsparse.h gateway/request.c gateway/request.h
tests_fuzz_fuzz_ws_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) \
	-I$(top_srcdir)/gateway
tests_fuzz_fuzz_ws_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_ws_LDADD = $(PAPRIKA_COMMON_LIBS)

tests_fuzz_fuzz_ticket_SOURCES = tests/fuzz/fuzz-ticket.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_ticket_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_fuzz_fuzz_ticket_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_ticket_LDADD = $(PAPRIKA_COMMON_LIBS)

tests_fuzz_fuzz_domxml_SOURCES = tests/fuzz/fuzz-domxml.c lib/virt/domxml.c \
	lib/virt/domxml-clone.c lib/virt/domxmlpriv.h \
	lib/virt/domxml.h lib/gpu/gpu.c lib/gpu/gpu.h
tests_fuzz_fuzz_domxml_CFLAGS = $(AM_CFLAGS) $(LIBXML2_CFLAGS) \
	$(VIRT_CPPFLAGS)
tests_fuzz_fuzz_domxml_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_domxml_LDADD = $(PAPRIKA_COMMON_LIBS) $(LIBXML2_LIBS)

tests_fuzz_fuzz_screen_SOURCES = tests/fuzz/fuzz-screen.c lib/virt/screen.c \
	lib/virt/screen.h
tests_fuzz_fuzz_screen_CFLAGS = $(AM_CFLAGS) $(LIBPNG_CFLAGS) \
	$(OPENSSL_CFLAGS) $(VIRT_CPPFLAGS)
tests_fuzz_fuzz_screen_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_screen_LDADD = $(PAPRIKA_COMMON_LIBS) $(LIBPNG_LIBS)

FUZZ_TARGETS += fuzz-run
fuzz-run: tests/fuzz/fuzz-http$(EXEEXT) tests/fuzz/fuzz-request$(EXEEXT) \
	    tests/fuzz/fuzz-ticket$(EXEEXT) tests/fuzz/fuzz-domxml$(EXEEXT) \
	    tests/fuzz/fuzz-screen$(EXEEXT) tests/fuzz/fuzz-control$(EXEEXT) \
	    tests/fuzz/fuzz-metrics$(EXEEXT) tests/fuzz/fuzz-authmsg$(EXEEXT) \
	    tests/fuzz/fuzz-ws$(EXEEXT) tests/fuzz/fuzz-forward$(EXEEXT)
	$(SHELL) '$(srcdir)/tests/fuzz/run-fuzz.sh' run \
	    '$(abs_top_srcdir)/tests/fuzz/corpus' \
	    '$(abs_top_builddir)/tests/fuzz' \
	    '$(abs_top_builddir)/tests/fuzz/run'
else
FUZZ_TARGETS += fuzz-build
fuzz-build:
	@echo "fuzz: this build is not configured for fuzzing (that takes"
	@echo "fuzz: ./configure CC=clang --enable-fuzzing); building the"
	@echo "fuzz: harnesses in build/fuzz with those options instead."
	MAKE='$(MAKE)' $(SHELL) '$(srcdir)/tests/fuzz/run-fuzz.sh' build \
	    '$(abs_top_srcdir)' '$(abs_top_builddir)/build/fuzz'
endif
.PHONY: fuzz-run fuzz-build
