#!/bin/sh
# SPDX-License-Identifier: ISC
# /init of the two-monitor guest (demo/agent-guest/build.sh --monitors):
# loads the qxl driver, which gives each of the domain's two qxl video
# devices a framebuffer (/dev/fb0, /dev/fb1), takes the text console off
# them and draws a fixed pattern on each, a different one per monitor:
# colour bars side by side on the first, stacked on the second. Every step
# says so on the serial console (ttyS0), which the test reads from a file.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
exec >/dev/ttyS0 2>&1 </dev/null
say() { echo "monitors-guest: $*"; }
say "init started ($(uname -r))"
for m in $(cat /etc/modules); do
	insmod "/lib/modules/$m.ko" || say "insmod $m failed"
done
i=0
while [ ! -e /dev/fb1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -e /dev/fb1 ]; then
	say "no /dev/fb1: $(ls /dev/fb* 2>&1)"
	exec sleep 1000000
fi
# The framebuffer console would draw over the patterns (its cursor too).
for v in /sys/class/vtconsole/*; do
	case $(cat "$v/name") in *"frame buffer"*) echo 0 >"$v/bind" ;; esac
done

# Eight colours, as tr(1) turns the bytes 1, 2, 3 of a pixel (B, G, R, X in
# the framebuffer) into them.
COLOURS='\377\377\377 \000\377\377 \377\377\000 \000\377\000 \377\000\377 \000\000\377
\377\000\000 \100\100\100'

repeat() {	# FILE BYTES: FILE doubled until it has BYTES bytes
	while [ "$(wc -c <"$1")" -lt "$2" ]; do
		cat "$1" "$1" >"$1.2" && mv "$1.2" "$1"
	done
}

bars() {	# N WIDTH HEIGHT STRIDE: the pattern of monitor N on stdout
	printf '\001\002\003\000' >/tmp/pixels
	repeat /tmp/pixels $(($4 * $3))
	: >/tmp/bars
	i=0
	for c in $COLOURS; do
		if [ "$1" = 0 ]; then	# side by side: bar i of a row
			bytes=$((((i + 1) * $2 / 8 - i * $2 / 8) * 4))
		else			# stacked: a band of whole rows
			bytes=$((((i + 1) * $3 / 8 - i * $3 / 8) * $4))
		fi
		head -c $bytes /tmp/pixels | tr '\001\002\003' "$c" >>/tmp/bars
		i=$((i + 1))
	done
	if [ "$1" = 0 ]; then	# the row, padded to the stride, row after row
		head -c $(($4 - $2 * 4)) /dev/zero >>/tmp/bars
		repeat /tmp/bars $(($4 * $3))
	fi
	head -c $(($4 * $3)) /tmp/bars
}

for n in 0 1; do
	size=$(cat /sys/class/graphics/fb$n/virtual_size)
	stride=$(cat /sys/class/graphics/fb$n/stride)
	bpp=$(cat /sys/class/graphics/fb$n/bits_per_pixel)
	say "fb$n: ${size%,*}x${size#*,}, stride $stride, $bpp bits"
	# Into a file first: head writing straight to /dev/fb left it blank.
	bars $n "${size%,*}" "${size#*,}" "$stride" >/tmp/screen
	cat /tmp/screen >/dev/fb$n
done
say "both monitors drawn"
exec sleep 1000000
