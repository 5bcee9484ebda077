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

# The broker's password checks through a real PAM stack (pam_wrapper with
# pam_matrix, nss_wrapper for the groups) and paprika-users; pam-check is
# the driver both call.
check_PROGRAMS += tests/integration/pam-check
tests_integration_pam_check_SOURCES = tests/integration/pam-check.c
tests_integration_pam_check_CFLAGS = $(BROKER_CFLAGS)
tests_integration_pam_check_LDADD = $(BROKER_LIBS)
TESTS += \
	tests/integration/test-pam.sh \
	tests/integration/test-users.sh
EXTRA_DIST += \
	tests/integration/auth-lib.sh \
	tests/integration/test-pam.sh \
	tests/integration/test-users.sh
