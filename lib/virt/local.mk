# SPDX-License-Identifier: ISC
# lib/virt: libvirt for a daemon on an event loop. It knows nothing of pools
# or sessions.
#   virt.c       setup, errors, the job plumbing between loop and worker,
#                domain lookup and XML reading every job uses
#   host.c       one connection and one worker thread per host: connect,
#                keepalive, backoff, libvirt's domain events
#   domain.c     the jobs on a domain: state, list, start, power, SPICE
#                address and password, revert, lock, screenshot
#   clone.c      clones: disk overlays, definition, removal
#   virtgpu.c    the GPU jobs (inventory, checked start, strip)
#   virtevent.c  libvirt's event loop on libevent
#   virtready.c  the readiness probe on a guest's screen (screen.c: pure
#                and fuzzed)
#   domxml.c     the edits of domain XML for a start (pure and fuzzed)
#   domxml-clone.c  the same for a clone: rename, new identity, overlays
noinst_LIBRARIES += lib/virt/libvirtjobs.a
lib_virt_libvirtjobs_a_SOURCES = lib/virt/virt.c lib/virt/virt.h \
	lib/virt/virtnames.c \
	lib/virt/host.c lib/virt/domain.c lib/virt/clone.c \
	lib/virt/virtpriv.h lib/virt/virtevent.c \
	lib/virt/virtgpu.c lib/virt/virtgpu.h \
	lib/virt/virtready.c lib/virt/screen.c lib/virt/screen.h \
	lib/virt/domxml.c lib/virt/domxml.h \
	lib/virt/domxml-clone.c lib/virt/domxmlpriv.h
VIRT_CPPFLAGS = -I$(top_srcdir)/lib/virt $(GPU_CPPFLAGS)
lib_virt_libvirtjobs_a_CFLAGS = $(AM_CFLAGS) $(VIRT_CPPFLAGS) \
	$(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) \
	$(LIBVIRT_CFLAGS) $(LIBXML2_CFLAGS) $(LIBPNG_CFLAGS)
VIRT_LIBS = lib/virt/libvirtjobs.a $(GPU_LIBS) $(LIBVIRT_LIBS) \
	$(LIBPNG_LIBS) $(LIBEVENT_LIBS) $(LIBEVENT_PTHREADS_LIBS) -lpthread
