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
