# tests/integration: the real gateway on loopback (Python 3, standard
# library only; gwtest.py is the shared harness).
TESTS += \
	tests/integration/test-gateway-relay.py \
	tests/integration/test-gateway-refusals.py \
	tests/integration/test-gateway-ops.py
EXTRA_DIST += \
	tests/integration/gwtest.py \
	tests/integration/test-gateway-relay.py \
	tests/integration/test-gateway-refusals.py \
	tests/integration/test-gateway-ops.py

# The broker's HTTPS server (broker/http.c) behind a small test program.
check_PROGRAMS += tests/integration/http-testd
tests_integration_http_testd_SOURCES = tests/integration/http-testd.c
tests_integration_http_testd_CFLAGS = $(BROKER_CFLAGS)
tests_integration_http_testd_LDADD = $(BROKER_LIBS)
TESTS += tests/integration/test-broker-http.py
EXTRA_DIST += tests/integration/test-broker-http.py
