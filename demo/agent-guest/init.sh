#!/bin/sh
# SPDX-License-Identifier: ISC
# /init of the agent guest (demo/agent-guest/build.sh): mounts the kernel's
# file systems, loads the virtio-serial modules, finds the port libvirt
# names org.qemu.guest_agent.0 and runs qemu-ga on it. Every step says so on
# the serial console (ttyS0), which the test reads from a file.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
exec >/dev/ttyS0 2>&1 </dev/null
say() { echo "agent-guest: $*"; }
say "init started ($(uname -r))"
for m in $(cat /etc/modules); do
	insmod "/lib/modules/$m.ko" || { say "insmod $m failed"; dmesg | tail -n 5; }
done
port=""
i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
	for p in /sys/class/virtio-ports/*; do
		[ -f "$p/name" ] || continue
		if [ "$(cat "$p/name")" = org.qemu.guest_agent.0 ]; then
			port=/dev/${p##*/}
		fi
	done
	[ -n "$port" ] || { sleep 0.1; i=$((i + 1)); }
done
if [ -z "$port" ]; then
	say "no virtio-serial port named org.qemu.guest_agent.0"
	ls /sys/class/virtio-ports 2>&1
	exec sleep 1000000
fi
i=0
while [ ! -e "$port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /dev/virtio-ports
ln -sf "$port" /dev/virtio-ports/org.qemu.guest_agent.0
say "qemu-ga starting on $port"
while :; do
	qemu-ga -m virtio-serial -p "$port" -t /run &
	pid=$!
	# Ready once it holds the port open.
	i=0
	while [ $i -lt 100 ] && kill -0 $pid 2>/dev/null; do
		open=""
		for fd in /proc/$pid/fd/*; do
			[ "$(readlink "$fd")" = "$port" ] && open=1
		done
		if [ -n "$open" ]; then
			say "qemu-ga is listening on $port"
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	wait $pid
	say "qemu-ga exited ($?), restarting"
	sleep 1
done
