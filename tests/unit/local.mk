# SPDX-License-Identifier: ISC
# tests/unit: cmocka unit tests, one program per module (no network,
# no daemons). Each links the common library; test-request,
# test-wsparse, test-control-parse and test-metrics-parse also compile the
# gateway's parsers of the CONNECT request, WebSocket upgrades and frames,
# control requests and metrics requests,
# which are pure functions.
if HAVE_CMOCKA
UNIT_TESTS = \
	tests/unit/test-api \
	tests/unit/test-auditfmt \
	tests/unit/test-auth \
	tests/unit/test-authmsg \
	tests/unit/test-broker-conf \
	tests/unit/test-config \
	tests/unit/test-conftab \
	tests/unit/test-control-parse \
	tests/unit/test-domxml \
	tests/unit/test-encode \
	tests/unit/test-forward \
	tests/unit/test-gpu \
	tests/unit/test-gpualloc \
	tests/unit/test-httpparse \
	tests/unit/test-keyring \
	tests/unit/test-metrics-parse \
	tests/unit/test-netaddr \
	tests/unit/test-pool \
	tests/unit/test-request \
	tests/unit/test-revoke \
	tests/unit/test-screen \
	tests/unit/test-session \
	tests/unit/test-sql \
	tests/unit/test-throttle \
	tests/unit/test-ticket \
	tests/unit/test-totp \
	tests/unit/test-wipe \
	tests/unit/test-wsparse
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(OPENSSL_CFLAGS) -I$(top_srcdir)/gateway -I$(top_srcdir)/tests/unit
UNIT_LDADD = $(PAPRIKA_COMMON_LIBS) $(CMOCKA_LIBS)

# The broker's modules: linked from broker/libbroker.a.
tests_unit_test_auditfmt_SOURCES = tests/unit/test-auditfmt.c
tests_unit_test_auditfmt_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_auditfmt_LDADD = $(BROKER_LIBS) $(CMOCKA_LIBS)

# The broker's state machine, API and GPU allocation on fake hosts:
# broker/libbroker.a linked with tests/unit/fakevirt.c in place of
# lib/virt/libvirtjobs.a, so neither it nor libvirt is on the link line;
# only lib/virt's names (virtnames.c, no libvirt calls) are the real ones.
BROKERTEST_SOURCES = tests/unit/brokertest.c tests/unit/brokertest.h \
	tests/unit/fakevirt.c tests/unit/fakevirt-test.c tests/unit/fakevirt.h \
	tests/unit/fakevirtpriv.h tests/unit/unit.h \
	lib/virt/virtnames.c
BROKERTEST_LIBS = broker/libbroker.a $(HTTP_LIBS) $(AUTH_LIBS) $(GPU_LIBS) \
	$(SQL_LIBS) $(LIBXML2_LIBS) $(PAPRIKA_COMMON_LIBS) \
	$(LIBEVENT_LIBS) $(LIBEVENT_PTHREADS_LIBS) -lpthread $(CMOCKA_LIBS)

tests_unit_test_api_SOURCES = tests/unit/test-api.c $(BROKERTEST_SOURCES)
tests_unit_test_api_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_api_LDADD = $(BROKERTEST_LIBS)

tests_unit_test_gpualloc_SOURCES = tests/unit/test-gpualloc.c \
	$(BROKERTEST_SOURCES)
tests_unit_test_gpualloc_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_gpualloc_LDADD = $(BROKERTEST_LIBS)

tests_unit_test_pool_SOURCES = tests/unit/test-pool.c $(BROKERTEST_SOURCES)
tests_unit_test_pool_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_pool_LDADD = $(BROKERTEST_LIBS)

tests_unit_test_session_SOURCES = tests/unit/test-session.c \
	$(BROKERTEST_SOURCES)
tests_unit_test_session_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_session_LDADD = $(BROKERTEST_LIBS)

# The Paprika-Forwarded header: pure, compiled alone.
tests_unit_test_forward_SOURCES = tests/unit/test-forward.c \
	broker/forward-header.c broker/forward.h
tests_unit_test_forward_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/broker
tests_unit_test_forward_LDADD = $(UNIT_LDADD)

# The PAM helper's messages: pure, compiled alone.
tests_unit_test_authmsg_SOURCES = tests/unit/test-authmsg.c \
	lib/auth/authmsg.c lib/auth/authmsg.h
tests_unit_test_authmsg_CFLAGS = $(UNIT_CFLAGS) $(AUTH_CPPFLAGS)
tests_unit_test_authmsg_LDADD = $(UNIT_LDADD)

tests_unit_test_auth_SOURCES = tests/unit/test-auth.c tests/unit/unit.h
tests_unit_test_auth_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_auth_LDADD = $(BROKER_LIBS) $(CMOCKA_LIBS)

tests_unit_test_broker_conf_SOURCES = tests/unit/test-broker-conf.c tests/unit/unit.h
tests_unit_test_broker_conf_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_broker_conf_LDADD = $(BROKER_LIBS) $(CMOCKA_LIBS)

tests_unit_test_gpu_SOURCES = tests/unit/test-gpu.c tests/unit/unit.h
tests_unit_test_gpu_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_gpu_LDADD = $(BROKER_LIBS) $(CMOCKA_LIBS)
tests_unit_test_domxml_SOURCES = tests/unit/test-domxml.c tests/unit/unit.h
tests_unit_test_domxml_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_domxml_LDADD = $(BROKER_LIBS) $(CMOCKA_LIBS)

tests_unit_test_screen_SOURCES = tests/unit/test-screen.c tests/unit/unit.h
tests_unit_test_screen_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_screen_LDADD = $(BROKER_LIBS) $(CMOCKA_LIBS)

tests_unit_test_httpparse_SOURCES = tests/unit/test-httpparse.c
tests_unit_test_httpparse_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_httpparse_LDADD = $(BROKER_LIBS) $(CMOCKA_LIBS)

# --wrap=free: the test searches every block the broker gives back.
tests_unit_test_wipe_SOURCES = tests/unit/test-wipe.c
tests_unit_test_wipe_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_wipe_LDFLAGS = -Wl,--wrap=free
tests_unit_test_wipe_LDADD = $(BROKER_LIBS) $(CMOCKA_LIBS)

tests_unit_test_sql_SOURCES = tests/unit/test-sql.c tests/unit/unit.h
tests_unit_test_sql_CFLAGS = $(UNIT_CFLAGS) $(SQL_CPPFLAGS)
tests_unit_test_sql_LDADD = $(SQL_LIBS) $(UNIT_LDADD)

tests_unit_test_throttle_SOURCES = tests/unit/test-throttle.c
tests_unit_test_throttle_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_throttle_LDADD = $(BROKER_LIBS) $(CMOCKA_LIBS)

tests_unit_test_totp_SOURCES = tests/unit/test-totp.c
tests_unit_test_totp_CFLAGS = $(UNIT_CFLAGS) $(BROKER_CFLAGS)
tests_unit_test_totp_LDADD = $(BROKER_LIBS) $(CMOCKA_LIBS)

tests_unit_test_config_SOURCES = tests/unit/test-config.c tests/unit/unit.h
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LDADD)

tests_unit_test_conftab_SOURCES = tests/unit/test-conftab.c tests/unit/unit.h
tests_unit_test_conftab_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_conftab_LDADD = $(UNIT_LDADD)

tests_unit_test_encode_SOURCES = tests/unit/test-encode.c
tests_unit_test_encode_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_encode_LDADD = $(UNIT_LDADD)

tests_unit_test_keyring_SOURCES = tests/unit/test-keyring.c
tests_unit_test_keyring_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_keyring_LDADD = $(UNIT_LDADD)

tests_unit_test_netaddr_SOURCES = tests/unit/test-netaddr.c
tests_unit_test_netaddr_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_netaddr_LDADD = $(UNIT_LDADD)

tests_unit_test_revoke_SOURCES = tests/unit/test-revoke.c tests/unit/unit.h \
	gateway/revoke.c gateway/gateway.h
tests_unit_test_revoke_CFLAGS = $(UNIT_CFLAGS) $(LIBEVENT_CFLAGS)
tests_unit_test_revoke_LDADD = $(UNIT_LDADD) -lpthread

tests_unit_test_request_SOURCES = tests/unit/test-request.c tests/unit/unit.h \
	gateway/request.c gateway/request.h
tests_unit_test_request_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_request_LDADD = $(UNIT_LDADD)

tests_unit_test_wsparse_SOURCES = tests/unit/test-wsparse.c tests/unit/unit.h \
	gateway/wsparse.c gateway/wsparse.h gateway/request.c gateway/request.h
tests_unit_test_wsparse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_wsparse_LDADD = $(UNIT_LDADD)

tests_unit_test_control_parse_SOURCES = tests/unit/test-control-parse.c \
	gateway/control-parse.c gateway/control-parse.h
tests_unit_test_control_parse_CFLAGS = $(UNIT_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_control_parse_LDADD = $(UNIT_LDADD) $(JANSSON_LIBS)

tests_unit_test_metrics_parse_SOURCES = tests/unit/test-metrics-parse.c \
	gateway/metrics-parse.c gateway/metrics-parse.h
tests_unit_test_metrics_parse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_metrics_parse_LDADD = $(UNIT_LDADD)

tests_unit_test_ticket_SOURCES = tests/unit/test-ticket.c tests/unit/unit.h \
	tests/unit/test-ticket.h tests/unit/ticket-checks.c
tests_unit_test_ticket_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ticket_LDADD = $(UNIT_LDADD)

# The client's distinguished-name check (pure GLib), when the client is built.
if BUILD_CLIENT
check_PROGRAMS += tests/unit/test-client-dn
TESTS += tests/unit/test-client-dn
tests_unit_test_client_dn_SOURCES = tests/unit/test-client-dn.c \
	tests/unit/unit.h client/dn.c client/dn.h
tests_unit_test_client_dn_CFLAGS = $(UNIT_CFLAGS) $(CLIENT_CFLAGS) \
	-I$(top_srcdir)/client
tests_unit_test_client_dn_LDADD = $(CLIENT_LIBS) $(CMOCKA_LIBS)
endif
endif
