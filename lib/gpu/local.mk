# SPDX-License-Identifier: ISC
# lib/gpu: the GPU inventory. gpu.c reads libvirt's node-device XML and the
# host's sysfs facts into one verdict per card (pure: no libvirt calls);
# gpujson.c shows the inventory as the API and paprikactl print it.
noinst_LIBRARIES += lib/gpu/libgpu.a
lib_gpu_libgpu_a_SOURCES = lib/gpu/gpu.c lib/gpu/gpu.h \
	lib/gpu/gpujson.c lib/gpu/gpujson.h
GPU_CPPFLAGS = -I$(top_srcdir)/lib/gpu
lib_gpu_libgpu_a_CFLAGS = $(AM_CFLAGS) $(GPU_CPPFLAGS) $(LIBXML2_CFLAGS) \
	$(JANSSON_CFLAGS)
GPU_LIBS = lib/gpu/libgpu.a $(LIBXML2_LIBS) $(JANSSON_LIBS)
