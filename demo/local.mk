# SPDX-License-Identifier: ISC
# demo/: the demo guest's boot image, built from source with nasm, and the
# demo itself; its Python glue (libvirt's embedded QEMU driver) is the
# tests' library, tests/lib.
noinst_DATA = demo/guest/paprika-demo.img demo/guest/paprika-gpu-guest.img \
	demo/guest/paprika-anim-guest.img
CLEANFILES += demo/guest/paprika-demo.img demo/guest/paprika-gpu-guest.img \
	demo/guest/paprika-anim-guest.img
EXTRA_DIST += demo/guest/paprika-guest.asm demo/guest/paprika-gpu-guest.asm \
	demo/guest/paprika-anim-guest.asm demo/run-demo.py demo/run-demo.sh

# A 512-byte boot sector in a 1 MiB raw disk.
demo/guest/paprika-demo.img: demo/guest/paprika-guest.asm
	@mkdir -p demo/guest
	$(AM_V_GEN)nasm -f bin -o $@.tmp $(srcdir)/demo/guest/paprika-guest.asm && \
	truncate -s 1M $@.tmp && mv $@.tmp $@

# The other boot sectors: the nested GPU host's desktop
# (tests/guests/test-gpu-nested.py) and a screen that never stops
# changing (make bench-fps).
demo/guest/paprika-gpu-guest.img: demo/guest/paprika-gpu-guest.asm
	@mkdir -p demo/guest
	$(AM_V_GEN)nasm -f bin -o $@.tmp $(srcdir)/demo/guest/paprika-gpu-guest.asm && \
	truncate -s 1M $@.tmp && mv $@.tmp $@
demo/guest/paprika-anim-guest.img: demo/guest/paprika-anim-guest.asm
	@mkdir -p demo/guest
	$(AM_V_GEN)nasm -f bin -o $@.tmp $(srcdir)/demo/guest/paprika-anim-guest.asm && \
	truncate -s 1M $@.tmp && mv $@.tmp $@
