# tests/integration: the real gateway on loopback (Python 3, standard
# library only; tests/lib/gwharness.py is the shared harness).
TESTS += \
	tests/integration/test-gateway-relay.py \
	tests/integration/test-gateway-refusals.py \
	tests/integration/test-gateway-ops.py \
	tests/integration/test-gateway-limits.py \
	tests/integration/test-gateway-ws.py \
	tests/integration/test-gateway-tls-resume.py \
	tests/integration/test-gateway-workers.py
EXTRA_DIST += \
	tests/integration/test-gateway-ws.py \
	tests/integration/test-gateway-relay.py \
	tests/integration/test-gateway-refusals.py \
	tests/integration/test-gateway-ops.py \
	tests/integration/test-gateway-limits.py \
	tests/integration/test-gateway-tls-resume.py \
	tests/integration/test-gateway-workers.py

# tests/lib/images.py's screen checks (blank, QEMU's placeholder, the demo
# banner, same_screen) on synthetic frames and three real screendumps.
TESTS += tests/integration/test-images.py
EXTRA_DIST += tests/integration/test-images.py \
	tests/fixtures/screens/placeholder.png \
	tests/fixtures/screens/seabios.png \
	tests/fixtures/screens/banner.png

# libvirt: virt.c against the test driver (test-virt) and a real QEMU guest
# under the embedded driver (test-virt-qemu), both in C on the real loop.
VIRT_TESTS = tests/integration/test-virt tests/integration/test-virt-qemu
check_PROGRAMS += $(VIRT_TESTS)
TESTS += $(VIRT_TESTS)
EXTRA_DIST += tests/fixtures/virt-node.xml
VIRT_TEST_CFLAGS = $(BROKER_CFLAGS) -I$(top_srcdir)/tests/integration
tests_integration_test_virt_SOURCES = tests/integration/test-virt.c \
	tests/integration/virttest.c tests/integration/virttest.h
tests_integration_test_virt_CFLAGS = $(VIRT_TEST_CFLAGS)
tests_integration_test_virt_LDADD = $(BROKER_LIBS)
tests_integration_test_virt_qemu_SOURCES = tests/integration/test-virt-qemu.c \
	tests/integration/virttest.c tests/integration/virttest.h
tests_integration_test_virt_qemu_CFLAGS = $(VIRT_TEST_CFLAGS) \
	-DDEMO_IMAGE='"$(abs_top_builddir)/demo/guest/paprika-demo.img"'
tests_integration_test_virt_qemu_LDADD = $(BROKER_LIBS)

# gpu.c on the node devices and domains of a GPU host in the test driver.
check_PROGRAMS += tests/integration/test-gpu
TESTS += tests/integration/test-gpu
EXTRA_DIST += tests/fixtures/gpu-host.xml tests/fixtures/gpu-host2.xml
tests_integration_test_gpu_SOURCES = tests/integration/test-gpu.c \
	tests/integration/virttest.c tests/integration/virttest.h
tests_integration_test_gpu_CFLAGS = $(VIRT_TEST_CFLAGS) \
	-DGPU_FIXTURE='"$(abs_top_srcdir)/tests/fixtures/gpu-host.xml"'
tests_integration_test_gpu_LDADD = $(BROKER_LIBS)

# domxml.c's output defined (and, without hostdevs, started) under the
# embedded driver: libvirt 9.0 must keep each element the broker adds.
check_PROGRAMS += tests/integration/test-domxml-qemu
TESTS += tests/integration/test-domxml-qemu
tests_integration_test_domxml_qemu_SOURCES = \
	tests/integration/test-domxml-qemu.c \
	tests/integration/virttest.c tests/integration/virttest.h
tests_integration_test_domxml_qemu_CFLAGS = $(VIRT_TEST_CFLAGS)
tests_integration_test_domxml_qemu_LDADD = $(BROKER_LIBS)

# The broker's HTTPS server (broker/http.c) behind a small test program.
check_PROGRAMS += tests/integration/http-testd
tests_integration_http_testd_SOURCES = tests/integration/http-testd.c
tests_integration_http_testd_CFLAGS = $(BROKER_CFLAGS)
tests_integration_http_testd_LDADD = $(BROKER_LIBS)
TESTS += tests/integration/test-broker-http.py
EXTRA_DIST += tests/integration/test-broker-http.py

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

# The broker against real QEMU guests and a real gateway (tests/lib/brokerdeploy.py).
TESTS += tests/integration/test-broker.py
EXTRA_DIST += tests/integration/test-broker.py
TESTS += tests/integration/test-broker-pools.py
EXTRA_DIST += tests/integration/test-broker-pools.py
TESTS += tests/integration/test-broker-hosts.py
EXTRA_DIST += tests/integration/test-broker-hosts.py
# What the broker lets out: the __Host- cookie, console.vv and CSRF, health,
# libvirt's words, TLS key modes.
TESTS += tests/integration/test-broker-exposure.py
EXTRA_DIST += tests/integration/test-broker-exposure.py
# Audit retention (the purge) and the export, on libvirt's test driver.
TESTS += tests/integration/test-broker-audit.py
EXTRA_DIST += tests/integration/test-broker-audit.py
TESTS += tests/integration/test-broker-events.py
EXTRA_DIST += tests/integration/test-broker-events.py
TESTS += tests/integration/test-broker-helpdesk.py
EXTRA_DIST += tests/integration/test-broker-helpdesk.py
# GPU desktops on a GPU host of libvirt's test driver (gpu-host.xml).
TESTS += tests/integration/test-broker-gpu.py
EXTRA_DIST += tests/integration/test-broker-gpu.py
# GPU verdicts from a running kernel: a nested GPU host (tests/lib/gpuhost.py)
# with an emulated IOMMU, reached over qemu+tls.
TESTS += tests/integration/test-gpu-nested.py
EXTRA_DIST += tests/integration/test-gpu-nested.py
# 100 wrong passwords for one user at once: a handful checked, the rest
# refused, a good user from elsewhere logging in all along.
TESTS += tests/integration/test-broker-brute.py
EXTRA_DIST += tests/integration/test-broker-brute.py
# A shared guest reverted to its running snapshot is ready before its next
# user asks, by a screen the pool settled on before.
TESTS += tests/integration/test-broker-revert.py
EXTRA_DIST += tests/integration/test-broker-revert.py

# Browser connections (pool browser = yes, [gateway] websocket) through the
# real gateway's WebSocket listener to a QEMU guest's SPICE TLS.
TESTS += tests/integration/test-broker-browser.py
EXTRA_DIST += tests/integration/test-broker-browser.py
# The "lock" disconnect action with a real QEMU guest agent: a tiny Linux
# guest from Debian packages (demo/agent-guest/build.sh, downloaded once into
# build/agent-guest; the test fails when they cannot be downloaded).
TESTS += tests/integration/test-broker-lock.py
EXTRA_DIST += tests/integration/test-broker-lock.py \
	demo/agent-guest/build.sh \
	demo/agent-guest/init.sh \
	demo/agent-guest/init-monitors.sh \
	demo/agent-guest/init-gpuhost.sh \
	demo/agent-guest/gpuhost-stage2.sh \
	demo/agent-guest/loginctl.sh
# Logins through a real PAM stack (pam_wrapper, nss_wrapper) and the users
# file: PAM items, refused system accounts, canonical names, the uniform
# failure delay on the loop.
TESTS += tests/integration/test-broker-pam.py
EXTRA_DIST += tests/integration/test-broker-pam.py
# The broker started as root drops to a system account the test creates,
# keeping only its PAM helper root; libvirt through a group's socket.
TESTS += tests/integration/test-broker-privsep.py
EXTRA_DIST += tests/integration/test-broker-privsep.py
# The broker's systemd unit through systemd-analyze (verify, security).
TESTS += tests/integration/test-broker-unit.py
EXTRA_DIST += tests/integration/test-broker-unit.py
# Second factors (TOTP): paprika-users and the API's enrolment, codes,
# replays, recovery codes, the throttle, per-group and per-pool policy.
TESTS += tests/integration/test-broker-totp.py
EXTRA_DIST += tests/integration/test-broker-totp.py

# The manual pages (man/) against the programs' usage, their check mode's
# configuration dump and the example configurations; no groff warnings;
# make install-man puts them in share/man/manN.
TESTS += tests/integration/test-man.py
EXTRA_DIST += tests/integration/test-man.py

# paprika-certs --only libvirt: a real libvirtd serving TLS with the files
# and libvirtd.conf lines it makes, to virsh with the broker's client ones.
TESTS += tests/integration/test-certs-libvirt.py
EXTRA_DIST += tests/integration/test-certs-libvirt.py
# paprika-helpdesk, the helpdesk's command line, against a real broker.
TESTS += tests/integration/test-helpdesk-cli.py
EXTRA_DIST += tests/integration/test-helpdesk-cli.py
# Repair of a broken guest, on libvirt's test driver with a snapshot.
TESTS += tests/integration/test-broker-repair.py
EXTRA_DIST += tests/integration/test-broker-repair.py
