# SPDX-License-Identifier: ISC
# tests/guests: what runs real QEMU guests (libvirt's embedded QEMU driver,
# KVM or TCG: PAPRIKA_TEST_ACCEL): libvirt glue in C, the broker against
# real guests and a real gateway (tests/lib/brokerdeploy.py), a nested GPU
# host, real SPICE clients (spicy-screenshot, remote-viewer, paprika-client
# under Xvfb) and browsers through the gateway, the demo.

# virt.c with a real QEMU guest under the embedded driver, in C on the real
# loop (tests/lib/virttest.c).
check_PROGRAMS += tests/guests/test-virt-qemu
TESTS += tests/guests/test-virt-qemu
tests_guests_test_virt_qemu_SOURCES = tests/guests/test-virt-qemu.c $(VIRTTEST_SOURCES)
tests_guests_test_virt_qemu_CFLAGS = $(VIRT_TEST_CFLAGS) \
	-DDEMO_IMAGE='"$(abs_top_builddir)/demo/guest/paprika-demo.img"'
tests_guests_test_virt_qemu_LDADD = $(BROKER_LIBS)

# domxml.c's output defined (and, without hostdevs, started) under the
# embedded driver: libvirt 9.0 must keep each element the broker adds.
check_PROGRAMS += tests/guests/test-domxml-qemu
TESTS += tests/guests/test-domxml-qemu
tests_guests_test_domxml_qemu_SOURCES = tests/guests/test-domxml-qemu.c $(VIRTTEST_SOURCES)
tests_guests_test_domxml_qemu_CFLAGS = $(VIRT_TEST_CFLAGS)
tests_guests_test_domxml_qemu_LDADD = $(BROKER_LIBS)

# The broker against real QEMU guests and a real gateway (tests/lib/brokerdeploy.py).
TESTS += tests/guests/test-broker.py
EXTRA_DIST += tests/guests/test-broker.py
TESTS += tests/guests/test-broker-pools.py
EXTRA_DIST += tests/guests/test-broker-pools.py
TESTS += tests/guests/test-broker-hosts.py
EXTRA_DIST += tests/guests/test-broker-hosts.py
# What the broker lets out: the __Host- cookie, console.vv and CSRF, health,
# libvirt's words, TLS key modes.
TESTS += tests/guests/test-broker-exposure.py
EXTRA_DIST += tests/guests/test-broker-exposure.py
# GPU verdicts from a running kernel: a nested GPU host (tests/lib/gpuhost.py)
# with an emulated IOMMU, reached over qemu+tls.
TESTS += tests/guests/test-gpu-nested.py
EXTRA_DIST += tests/guests/test-gpu-nested.py
# 100 wrong passwords for one user at once: a handful checked, the rest
# refused, a good user from elsewhere logging in all along.
TESTS += tests/guests/test-broker-brute.py
EXTRA_DIST += tests/guests/test-broker-brute.py
# A shared guest reverted to its running snapshot is ready before its next
# user asks, by a screen the pool settled on before.
TESTS += tests/guests/test-broker-revert.py
EXTRA_DIST += tests/guests/test-broker-revert.py

# Browser connections (pool browser = yes, [gateway] websocket) through the
# real gateway's WebSocket listener to a QEMU guest's SPICE TLS.
TESTS += tests/guests/test-broker-browser.py
EXTRA_DIST += tests/guests/test-broker-browser.py
# The "lock" disconnect action with a real QEMU guest agent: a tiny Linux
# guest from Debian packages (demo/agent-guest/build.sh, downloaded once into
# build/agent-guest; the test fails when they cannot be downloaded).
TESTS += tests/guests/test-broker-lock.py
EXTRA_DIST += tests/guests/test-broker-lock.py \
	demo/agent-guest/build.sh \
	demo/agent-guest/init.sh \
	demo/agent-guest/init-monitors.sh \
	demo/agent-guest/init-gpuhost.sh \
	demo/agent-guest/gpuhost-stage2.sh \
	demo/agent-guest/loginctl.sh

# A real QEMU guest with SPICE TLS behind the gateway, and real SPICE
# clients (spicy-screenshot, remote-viewer under Xvfb) through it; then the
# whole deployment: broker, gateway and shared-pool guests.
TESTS += tests/guests/test-spice-gateway.py
EXTRA_DIST += tests/guests/test-spice-gateway.py
TESTS += tests/guests/test-broker-e2e.py
EXTRA_DIST += tests/guests/test-broker-e2e.py
# The web portal in headless chromium (DevTools protocol, Python only)
# against a real deployment.
TESTS += tests/guests/test-portal.py
EXTRA_DIST += tests/guests/test-portal.py
# paprika-client itself: headless first frame and the GUI under Xvfb,
# typed into with xdotool, against a real deployment.
TESTS += tests/guests/test-client.py
EXTRA_DIST += tests/guests/test-client.py
# paprika-client's kiosk mode (full screen, no closing, the hotkey's menu)
# and its reconnect when the gateway goes away, under Xvfb.
TESTS += tests/guests/test-client-kiosk.py
EXTRA_DIST += tests/guests/test-client-kiosk.py
# paprika-client --headless when things go wrong: an untrusted broker, a
# full pool, the gateway down, throttled logins; each its exit status and
# one plain line on stderr.
TESTS += tests/guests/test-client-errors.py
EXTRA_DIST += tests/guests/test-client-errors.py
# A desktop with two monitors: a tiny Linux guest with two qxl devices from
# Debian packages (demo/agent-guest/build.sh --monitors, downloaded once into
# build/agent-guest; the test fails when they cannot be downloaded); the
# headless client per monitor and a window per monitor, kiosk mode too.
TESTS += tests/guests/test-client-monitors.py
EXTRA_DIST += tests/guests/test-client-monitors.py
# paprika-client through the gateway's TLS listener with the deployment's CA
# outside the system store: its own TLS tunnels (client-sockets), headless
# and the GUI, an untrusted gateway certificate, reconnect.
TESTS += tests/guests/test-client-tls-gateway.py
EXTRA_DIST += tests/guests/test-client-tls-gateway.py
# The demo (README command 1) without a display: exit 0 and a screenshot of
# the drawn desktop; with --keep, SIGTERM stops its guests and daemons.
TESTS += tests/guests/test-demo.py
EXTRA_DIST += tests/guests/test-demo.py
# "Open in browser": spice-html5 from the portal through the gateway's
# WebSocket listener, in headless chromium under Selenium: the canvas
# against the guest's screenshot, keys, helpdesk disconnect, logout, a
# gateway refusing the guest's certificate subject.
TESTS += tests/guests/test-portal-browser.py
EXTRA_DIST += tests/guests/test-portal-browser.py
# Reset from the helpdesk console reboots a real QEMU guest: libvirt's reboot
# event on the board, and the guest's banner back in its thumbnail.
TESTS += tests/guests/test-helpdesk-reset.py
EXTRA_DIST += tests/guests/test-helpdesk-reset.py
