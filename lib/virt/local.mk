# lib/virt: libvirt for a daemon on an event loop. One connection and one
# worker thread per host with jobs that report back to the loop (virt.c),
# libvirt's event loop on libevent (virtevent.c), the GPU jobs (virtgpu.c),
# the readiness probe on a guest's screen (virtready.c, screen.c: pure and
# fuzzed) and the edits of domain XML (domxml.c: pure and fuzzed). It knows
# nothing of pools or sessions.
noinst_LIBRARIES += lib/virt/libvirtjobs.a
lib_virt_libvirtjobs_a_SOURCES = lib/virt/virt.c lib/virt/virt.h \
	lib/virt/virtpriv.h lib/virt/virtevent.c \
	lib/virt/virtgpu.c lib/virt/virtgpu.h \
	lib/virt/virtready.c lib/virt/screen.c lib/virt/screen.h \
	lib/virt/domxml.c lib/virt/domxml.h
VIRT_CPPFLAGS = -I$(top_srcdir)/lib/virt $(GPU_CPPFLAGS)
lib_virt_libvirtjobs_a_CFLAGS = $(AM_CFLAGS) $(VIRT_CPPFLAGS) \
	$(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) \
	$(LIBVIRT_CFLAGS) $(LIBXML2_CFLAGS) $(LIBPNG_CFLAGS)
VIRT_LIBS = lib/virt/libvirtjobs.a $(GPU_LIBS) $(LIBVIRT_LIBS) \
	$(LIBPNG_LIBS) $(LIBEVENT_LIBS) $(LIBEVENT_PTHREADS_LIBS) -lpthread
