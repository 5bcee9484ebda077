# tests/e2e: a real QEMU guest with SPICE TLS behind the gateway, and real
# SPICE clients (spicy-screenshot, remote-viewer under Xvfb) through it;
# then the whole deployment: broker, gateway and shared-pool guests.
TESTS += tests/e2e/test-spice-gateway.py
EXTRA_DIST += tests/e2e/test-spice-gateway.py
TESTS += tests/e2e/test-broker-e2e.py
EXTRA_DIST += tests/e2e/test-broker-e2e.py
# The web portal in headless chromium (DevTools protocol, Python only)
# against a real deployment.
TESTS += tests/e2e/test-portal.py
EXTRA_DIST += tests/e2e/test-portal.py
# The portal's second factor (enrolment with the broker's QR code, the code
# asked after the password) in headless chromium, on libvirt's test driver.
TESTS += tests/e2e/test-portal-totp.py
EXTRA_DIST += tests/e2e/test-portal-totp.py
# paprika-client itself: headless first frame and the GUI under Xvfb,
# typed into with xdotool, against a real deployment.
TESTS += tests/e2e/test-client.py
EXTRA_DIST += tests/e2e/test-client.py
# paprika-client's kiosk mode (full screen, no closing, the hotkey's menu)
# and its reconnect when the gateway goes away, under Xvfb.
TESTS += tests/e2e/test-client-kiosk.py
EXTRA_DIST += tests/e2e/test-client-kiosk.py
# paprika-client --headless when things go wrong: an untrusted broker, a
# full pool, the gateway down, throttled logins; each its exit status and
# one plain line on stderr.
TESTS += tests/e2e/test-client-errors.py
EXTRA_DIST += tests/e2e/test-client-errors.py
# paprika-client --headless and the second factor (TOTP): asked, wrong,
# right (the password input's second line), enrolment needed.
TESTS += tests/e2e/test-client-totp.py
EXTRA_DIST += tests/e2e/test-client-totp.py
# A desktop with two monitors: a tiny Linux guest with two qxl devices from
# Debian packages (demo/agent-guest/build.sh --monitors, downloaded once into
# build/agent-guest; the test fails when they cannot be downloaded); the
# headless client per monitor and a window per monitor, kiosk mode too.
TESTS += tests/e2e/test-client-monitors.py
EXTRA_DIST += tests/e2e/test-client-monitors.py
# paprika-client through the gateway's TLS listener with the deployment's CA
# outside the system store: its own TLS tunnels (client-sockets), headless
# and the GUI, an untrusted gateway certificate, reconnect.
TESTS += tests/e2e/test-client-tls-gateway.py
EXTRA_DIST += tests/e2e/test-client-tls-gateway.py
# The demo (README command 1) without a display: exit 0 and a screenshot of
# the drawn desktop; with --keep, SIGTERM stops its guests and daemons.
TESTS += tests/e2e/test-demo.py
EXTRA_DIST += tests/e2e/test-demo.py
# The helpdesk console (board live from the event stream, reset, user
# lookup and unlock, audit search and export, a user role refused) in
# headless chromium under Selenium, on libvirt's test driver.
TESTS += tests/e2e/test-helpdesk-console.py
EXTRA_DIST += tests/e2e/test-helpdesk-console.py
# "Open in browser": spice-html5 from the portal through the gateway's
# WebSocket listener, in headless chromium under Selenium: the canvas
# against the guest's screenshot, keys, helpdesk disconnect, logout, a
# gateway refusing the guest's certificate subject.
TESTS += tests/e2e/test-portal-browser.py
EXTRA_DIST += tests/e2e/test-portal-browser.py
# Reset from the helpdesk console reboots a real QEMU guest: libvirt's reboot
# event on the board, and the guest's banner back in its thumbnail.
TESTS += tests/e2e/test-helpdesk-reset.py
EXTRA_DIST += tests/e2e/test-helpdesk-reset.py
