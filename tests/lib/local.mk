# SPDX-License-Identifier: ISC
# tests/lib: the Python tests' one library (TAP checks, waits, the skip
# policy, the PKI from paprika-certs, the gateway harness, the deployment
# helpers the demo shares), and virttest, the C tests' libvirt harness.
VIRTTEST_SOURCES = tests/lib/virttest.c tests/lib/virttest.h
VIRT_TEST_CFLAGS = $(BROKER_CFLAGS) -I$(top_srcdir)/tests/lib
EXTRA_DIST += \
	tests/lib/paprikatest.py \
	tests/lib/gwharness.py \
	tests/lib/desktop.py \
	tests/lib/accel.py \
	tests/lib/brokerdeploy.py \
	tests/lib/deployment.py \
	tests/lib/gpuhost.py \
	tests/lib/guest.py \
	tests/lib/images.py \
	tests/lib/libvirtd.py \
	tests/lib/pamwrap.py \
	tests/lib/pgcluster.py \
	tests/lib/ssestream.py \
	tests/lib/webdriver.py \
	tests/lib/wsclient.py
