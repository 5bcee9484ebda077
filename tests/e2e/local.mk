# tests/e2e: a real QEMU guest with SPICE TLS behind the gateway, and real
# SPICE clients (spicy-screenshot, remote-viewer under Xvfb) through it.
TESTS += tests/e2e/test-spice-gateway.py
EXTRA_DIST += tests/e2e/test-spice-gateway.py
