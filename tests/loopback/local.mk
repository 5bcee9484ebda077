# SPDX-License-Identifier: ISC
# tests/loopback: what needs nothing but this machine's loopback: the real
# gateway, the broker on libvirt's test driver, PAM through pam_wrapper,
# the HTTPS server, the PKI tool, the manual pages; no guest runs. Python 3
# with tests/lib (gwharness.py for the gateway, brokerdeploy.py for the
# broker).
TESTS += \
	tests/loopback/test-gateway-relay.py \
	tests/loopback/test-gateway-refusals.py \
	tests/loopback/test-gateway-ops.py \
	tests/loopback/test-gateway-limits.py \
	tests/loopback/test-gateway-ws.py \
	tests/loopback/test-gateway-tls-resume.py \
	tests/loopback/test-gateway-workers.py \
	tests/loopback/test-gateway-remote.py
EXTRA_DIST += \
	tests/loopback/test-gateway-ws.py \
	tests/loopback/test-gateway-relay.py \
	tests/loopback/test-gateway-refusals.py \
	tests/loopback/test-gateway-ops.py \
	tests/loopback/test-gateway-limits.py \
	tests/loopback/test-gateway-tls-resume.py \
	tests/loopback/test-gateway-workers.py \
	tests/loopback/test-gateway-remote.py

# The short version of make bench-gateway: its latency section with
# BENCH_QUICK through the gateway, HAProxy and raw loopback, no time held
# against anything (tests/bench/README.md).
TESTS += tests/loopback/test-bench-gateway.py
EXTRA_DIST += tests/loopback/test-bench-gateway.py

# tests/lib/images.py's screen checks (blank, QEMU's placeholder, the demo
# banner, same_screen) on synthetic frames and three real screendumps.
TESTS += tests/loopback/test-images.py
EXTRA_DIST += tests/loopback/test-images.py \
	tests/fixtures/screens/placeholder.png \
	tests/fixtures/screens/seabios.png \
	tests/fixtures/screens/banner.png

# libvirt: virt.c against the test driver, in C on the real loop
# (tests/lib/virttest.c, shared with tests/guests).
check_PROGRAMS += tests/loopback/test-virt
TESTS += tests/loopback/test-virt
EXTRA_DIST += tests/fixtures/virt-node.xml
tests_loopback_test_virt_SOURCES = tests/loopback/test-virt.c $(VIRTTEST_SOURCES)
tests_loopback_test_virt_CFLAGS = $(VIRT_TEST_CFLAGS)
tests_loopback_test_virt_LDADD = $(BROKER_LIBS)

# gpu.c on the node devices and domains of a GPU host in the test driver.
check_PROGRAMS += tests/loopback/test-gpu
TESTS += tests/loopback/test-gpu
EXTRA_DIST += tests/fixtures/gpu-host.xml tests/fixtures/gpu-host2.xml
tests_loopback_test_gpu_SOURCES = tests/loopback/test-gpu.c $(VIRTTEST_SOURCES)
tests_loopback_test_gpu_CFLAGS = $(VIRT_TEST_CFLAGS) \
	-DGPU_FIXTURE='"$(abs_top_srcdir)/tests/fixtures/gpu-host.xml"'
tests_loopback_test_gpu_LDADD = $(BROKER_LIBS)

# The broker's HTTPS server (lib/http/http.c) behind a small test program.
check_PROGRAMS += tests/loopback/http-testd
tests_loopback_http_testd_SOURCES = tests/loopback/http-testd.c
tests_loopback_http_testd_CFLAGS = $(BROKER_CFLAGS)
tests_loopback_http_testd_LDADD = $(BROKER_LIBS)
TESTS += tests/loopback/test-broker-http.py
EXTRA_DIST += tests/loopback/test-broker-http.py

# The broker's password checks through a real PAM stack (pam_wrapper with
# pam_matrix, nss_wrapper for the groups) and paprika-users; pam-check is
# the driver both call.
check_PROGRAMS += tests/loopback/pam-check
tests_loopback_pam_check_SOURCES = tests/loopback/pam-check.c
tests_loopback_pam_check_CFLAGS = $(BROKER_CFLAGS)
tests_loopback_pam_check_LDADD = $(BROKER_LIBS)
TESTS += \
	tests/loopback/test-pam.sh \
	tests/loopback/test-users.sh
EXTRA_DIST += \
	tests/loopback/auth-lib.sh \
	tests/loopback/test-pam.sh \
	tests/loopback/test-users.sh

# The tree's shape: lib/ never sees broker/'s headers, no C file over 900
# lines, every source file with its licence line.
TESTS += tests/loopback/test-tree.sh
EXTRA_DIST += tests/loopback/test-tree.sh

# Audit retention (the purge) and the export, on libvirt's test driver.
TESTS += tests/loopback/test-broker-audit.py
EXTRA_DIST += tests/loopback/test-broker-audit.py
TESTS += tests/loopback/test-broker-events.py
EXTRA_DIST += tests/loopback/test-broker-events.py
TESTS += tests/loopback/test-broker-helpdesk.py
EXTRA_DIST += tests/loopback/test-broker-helpdesk.py
# GPU desktops on a GPU host of libvirt's test driver (gpu-host.xml).
TESTS += tests/loopback/test-broker-gpu.py
EXTRA_DIST += tests/loopback/test-broker-gpu.py
# Logins through a real PAM stack (pam_wrapper, nss_wrapper) and the users
# file: PAM items, refused system accounts, canonical names, the uniform
# failure delay on the loop.
TESTS += tests/loopback/test-broker-pam.py
EXTRA_DIST += tests/loopback/test-broker-pam.py
TESTS += tests/loopback/test-broker-postgresql.py
EXTRA_DIST += tests/loopback/test-broker-postgresql.py
TESTS += tests/loopback/test-broker-cluster.py
EXTRA_DIST += tests/loopback/test-broker-cluster.py
# The broker started as root drops to a system account the test creates,
# keeping only its PAM helper root; libvirt through a group's socket.
TESTS += tests/loopback/test-broker-privsep.py
EXTRA_DIST += tests/loopback/test-broker-privsep.py
# The broker's systemd unit through systemd-analyze (verify, security).
TESTS += tests/loopback/test-broker-unit.py
EXTRA_DIST += tests/loopback/test-broker-unit.py
# Second factors (TOTP): paprika-users and the API's enrolment, codes,
# replays, recovery codes, the throttle, per-group and per-pool policy.
TESTS += tests/loopback/test-broker-totp.py
EXTRA_DIST += tests/loopback/test-broker-totp.py

# The manual pages (man/) against the programs' usage, their check mode's
# configuration dump and the example configurations; no groff warnings;
# make install-man puts them in share/man/manN.
TESTS += tests/loopback/test-man.py
EXTRA_DIST += tests/loopback/test-man.py

# paprika-certs --only libvirt: a real libvirtd serving TLS with the files
# and libvirtd.conf lines it makes, to virsh with the broker's client ones.
TESTS += tests/loopback/test-certs-libvirt.py
EXTRA_DIST += tests/loopback/test-certs-libvirt.py
# paprika-helpdesk, the helpdesk's command line, against a real broker.
TESTS += tests/loopback/test-helpdesk-cli.py
EXTRA_DIST += tests/loopback/test-helpdesk-cli.py
# Repair of a broken guest, on libvirt's test driver with a snapshot.
TESTS += tests/loopback/test-broker-repair.py
EXTRA_DIST += tests/loopback/test-broker-repair.py

# The portal's second factor (enrolment with the broker's QR code, the code
# asked after the password) in headless chromium, on libvirt's test driver.
TESTS += tests/loopback/test-portal-totp.py
EXTRA_DIST += tests/loopback/test-portal-totp.py
# paprika-client --headless and the second factor (TOTP): asked, wrong,
# right (the password input's second line), enrolment needed.
TESTS += tests/loopback/test-client-totp.py
EXTRA_DIST += tests/loopback/test-client-totp.py
# paprika-client's window and its broker connections: one opened ahead of
# the login, the login, desktop list, connect and logout all over it.
TESTS += tests/loopback/test-client-broker-conn.py
EXTRA_DIST += tests/loopback/test-client-broker-conn.py
# The helpdesk console (board live from the event stream, reset, user
# lookup and unlock, audit search and export, a user role refused) in
# headless chromium under Selenium, on libvirt's test driver.
TESTS += tests/loopback/test-helpdesk-console.py
EXTRA_DIST += tests/loopback/test-helpdesk-console.py

# The broker's integration tests with the state on PostgreSQL (a private
# cluster each, tests/lib/pgcluster.py): run before landing a change to
# lib/sql or broker/db*.c. The suite itself runs the broker core's unit
# tests on PostgreSQL (test-broker-postgresql). Tests look into the state
# through BrokerDeployment.state, on either database. Left out: those about
# the SQLite file itself (test-broker-privsep: its owner and mode), and
# those that run on PostgreSQL always (test-broker-cluster, test-broker-e2e).
POSTGRESQL_TESTS = \
	tests/loopback/test-broker-audit.py \
	tests/loopback/test-broker-gpu.py \
	tests/loopback/test-broker-pam.py \
	tests/loopback/test-broker-totp.py \
	tests/loopback/test-client-totp.py \
	tests/loopback/test-broker-http.py \
	tests/loopback/test-broker-helpdesk.py \
	tests/loopback/test-broker-events.py \
	tests/loopback/test-broker-repair.py \
	tests/loopback/test-helpdesk-cli.py \
	tests/loopback/test-helpdesk-console.py \
	tests/loopback/test-portal-totp.py \
	tests/loopback/test-client-broker-conn.py \
	tests/loopback/test-gateway-remote.py \
	tests/guests/test-broker.py \
	tests/guests/test-broker-pools.py \
	tests/guests/test-broker-brute.py \
	tests/guests/test-broker-exposure.py \
	tests/guests/test-broker-hosts.py \
	tests/guests/test-broker-lock.py \
	tests/guests/test-broker-revert.py \
	tests/guests/test-broker-browser.py \
	tests/guests/test-helpdesk-reset.py \
	tests/guests/test-portal.py \
	tests/guests/test-portal-browser.py \
	tests/guests/test-client.py \
	tests/guests/test-client-errors.py \
	tests/guests/test-client-kiosk.py \
	tests/guests/test-client-monitors.py \
	tests/guests/test-client-tls-gateway.py
.PHONY: check-postgresql
check-postgresql:
	PAPRIKA_TEST_DB=postgresql $(MAKE) $(AM_MAKEFLAGS) check \
	    TESTS='$(POSTGRESQL_TESTS)'
