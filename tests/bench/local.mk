# SPDX-License-Identifier: ISC
# tests/bench: `make bench` for the gateway, side by side with HAProxy,
# stunnel, squid and raw loopback TCP, for the broker, side by side with
# libvirt alone, and for paprika-client, side by side with remote-viewer
# (tests/bench/README.md). The gateway, broker and client benches keep
# the figures the speed issue aims at in BENCH_AIMS_DIR; make bench ends
# with them in one table (aims.py).
BENCH_AIMS_DIR = $(abs_top_builddir)/build/bench-aims
noinst_PROGRAMS += tests/bench/loadgen
tests_bench_loadgen_SOURCES = tests/bench/loadgen.c tests/bench/loadgen.h \
	tests/bench/loadgen-sink.c tests/bench/loadgen-client.c \
	tests/bench/loadgen-hold.c
tests_bench_loadgen_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_loadgen_LDADD = $(OPENSSL_LIBS) $(LIBBSD_LIBS)
EXTRA_DIST += tests/bench/bench-gateway.sh tests/bench/bench-broker.py \
	tests/bench/bench-broker-db.py \
	tests/bench/bench-client.py tests/bench/bench-ws.py tests/bench/procstat.py \
	tests/bench/bench-gpu.py tests/bench/bench-fps.py tests/bench/README.md \
	tests/bench/aims.py

BENCH_TARGETS += bench-gateway
.PHONY: bench-gateway
# Sizes and counts come from the environment (BENCH_QUICK=1 for a short run).
bench-gateway: tests/bench/loadgen$(EXEEXT) paprika-gatewayd$(EXEEXT) paprikactl$(EXEEXT)
	BENCH_AIMS_DIR='$(BENCH_AIMS_DIR)' \
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	LOADGEN='$(abs_top_builddir)/tests/bench/loadgen$(EXEEXT)' \
	OPENSSL='$(OPENSSL_BIN)' \
	bash '$(abs_top_srcdir)/tests/bench/bench-gateway.sh'

BENCH_TARGETS += bench-broker
.PHONY: bench-broker
# Real guests under libvirt's embedded QEMU driver; counts from the
# environment (BENCH_QUICK=1 for a short run).
bench-broker: paprika-brokerd$(EXEEXT) paprika-gatewayd$(EXEEXT) paprika-users$(EXEEXT)
	BENCH_AIMS_DIR='$(BENCH_AIMS_DIR)' \
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	$(PYTHON3) '$(abs_top_srcdir)/tests/bench/bench-broker.py'

BENCH_TARGETS += bench-broker-db
.PHONY: bench-broker-db
# The state on SQLite and on a private PostgreSQL cluster, under a login
# storm on libvirt's test driver (BENCH_USERS, BENCH_THREADS).
bench-broker-db: paprika-brokerd$(EXEEXT) paprika-users$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	$(PYTHON3) '$(abs_top_srcdir)/tests/bench/bench-broker-db.py'

BENCH_TARGETS += bench-client
.PHONY: bench-client
# paprika-client and remote-viewer on one running guest under Xvfb; counts
# from the environment (BENCH_QUICK=1 for a short run). Without the client
# (configure found no spice-client-gtk-3.0) it says so and does nothing.
if BUILD_CLIENT
BENCH_CLIENT_DEPS = paprika-client$(EXEEXT)
else
BENCH_CLIENT_DEPS =
endif
bench-client: paprika-brokerd$(EXEEXT) paprika-gatewayd$(EXEEXT) paprika-users$(EXEEXT) \
		$(BENCH_CLIENT_DEPS)
	BENCH_AIMS_DIR='$(BENCH_AIMS_DIR)' \
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	$(PYTHON3) '$(abs_top_srcdir)/tests/bench/bench-client.py'

BENCH_TARGETS += bench-ws
.PHONY: bench-ws
# The gateway's CPU per MB through listen_ws next to its CONNECT listeners;
# sizes from the environment (BENCH_QUICK=1 for a short run).
bench-ws: paprika-gatewayd$(EXEEXT) paprikactl$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	$(PYTHON3) '$(abs_top_srcdir)/tests/bench/bench-ws.py'

BENCH_TARGETS += bench-gpu
.PHONY: bench-gpu
# GPU desktops on the nested GPU host (tests/lib/gpuhost.py): click to desktop
# with and without a passed-through device, and the allocation race
# (BENCH_QUICK=1 for a short run).
bench-gpu: paprika-brokerd$(EXEEXT) paprika-gatewayd$(EXEEXT) paprika-users$(EXEEXT) \
		demo/guest/paprika-gpu-guest.img
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	$(PYTHON3) '$(abs_top_srcdir)/tests/bench/bench-gpu.py'

BENCH_TARGETS += bench-fps
.PHONY: bench-fps
# Frames per second of a desktop that never stops changing, in the browser
# console and in paprika-client (BENCH_QUICK=1 for a short run).
bench-fps: paprika-brokerd$(EXEEXT) paprika-gatewayd$(EXEEXT) paprika-users$(EXEEXT) \
		$(BENCH_CLIENT_DEPS) demo/guest/paprika-anim-guest.img
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	$(PYTHON3) '$(abs_top_srcdir)/tests/bench/bench-fps.py'
