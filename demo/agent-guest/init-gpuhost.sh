#!/bin/sh
# SPDX-License-Identifier: ISC
# /init of the nested GPU host (demo/agent-guest/build.sh --gpu-host,
# tests/lib/gpuhost.py). Loads its modules, then boots into the outer machine's
# own root file system: shared read-only over 9p (tag "hostroot"), under a
# tmpfs overlay so that libvirtd and QEMU can write. That gives the level-1
# host the very libvirt and QEMU of the machine that runs the tests, with no
# disk image to build. The script the kernel command line names in
# paprika.stage2= then runs as the new root's init.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec >/dev/ttyS0 2>&1 </dev/null
say() { echo "gpuhost: $*"; }
fail() { say "$*"; poweroff -f; }
say "init started ($(uname -r))"
for m in $(cat /etc/modules); do
	insmod "/lib/modules/$m.ko" || say "insmod $m failed"
done
mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 hostroot /lower ||
	fail "cannot mount the host's root (9p tag hostroot)"
mount -t tmpfs -o mode=0755 rw /rw
mkdir /rw/upper /rw/work
mount -t overlay root -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
	fail "cannot mount the overlay root"
stage2=$(sed -n 's/.*paprika\.stage2=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -f "/newroot$stage2" ] || fail "no stage2 script at '$stage2' (paprika.stage2=)"
for m in dev proc sys; do
	mount --move "/$m" "/newroot/$m"
done
say "switching to the host's root, then $stage2"
exec switch_root /newroot /bin/sh "$stage2"
