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
