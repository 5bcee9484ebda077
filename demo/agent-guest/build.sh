#!/bin/sh
# SPDX-License-Identifier: ISC
# Builds a tiny Linux guest that runs the QEMU guest agent, for the broker's
# "lock" disconnect action (tests/guests/test-broker-lock.py), or with
# --monitors one that draws a different pattern on each of two qxl monitors
# (tests/guests/test-client-monitors.py), or with --gpu-host the initramfs of
# a nested GPU host (tests/lib/gpuhost.py) that boots into this machine's own
# root file system, read-only, to run libvirtd with an emulated IOMMU:
#
#   demo/agent-guest/build.sh OUTDIR   ->  OUTDIR/vmlinuz, OUTDIR/initrd.gz
#   demo/agent-guest/build.sh --monitors OUTDIR
#                                      ->  OUTDIR/vmlinuz, OUTDIR/initrd-monitors.gz
#   demo/agent-guest/build.sh --gpu-host OUTDIR
#                                      ->  OUTDIR/vmlinuz, OUTDIR/initrd-gpuhost.gz
#
# From Debian 12 packages only, downloaded (apt-get download) into
# OUTDIR/debs and unpacked with dpkg-deb -x, never installed: the kernel
# (whatever linux-image-amd64 points to), busybox-static and
# qemu-guest-agent; qemu-ga's shared libraries come from this machine (also
# Debian 12), as ldd lists them. The initramfs holds busybox, qemu-ga, the
# virtio-serial modules in load order, /init (init.sh) and a loginctl stub
# (loginctl.sh) that writes its call to the serial console. The monitors'
# initramfs holds busybox, the qxl driver's modules in load order and /init
# (init-monitors.sh); the GPU host's, busybox, its modules and /init
# (init-gpuhost.sh). The same kernel boots all three.
#
# Idempotent: the packages are downloaded once (cached in OUTDIR/debs);
# the initramfs is rebuilt only when its inputs changed. Exits 3 when a
# package cannot be downloaded (no network, no apt lists), 1 on other errors.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# What differs between the two guests: packages, modules, files.
name=initrd
pkglist="busybox-static qemu-guest-agent"
modules="virtio_pci virtio_console"
inputs="init.sh loginctl.sh"
case ${1:-} in
--monitors)
	shift
	name=initrd-monitors
	pkglist=busybox-static
	modules=qxl
	inputs=init-monitors.sh
	;;
--gpu-host)
	shift
	name=initrd-gpuhost
	pkglist=busybox-static
	# 9p and overlay for the root it borrows from this machine; vfio-pci
	# for passthrough; snd-hda-intel and ehci-pci, host drivers that take
	# the functions sharing the displays' IOMMU groups.
	modules="virtio_pci 9pnet_virtio 9p overlay virtio_net vfio-pci vfio_iommu_type1 snd-hda-intel ehci-pci"
	inputs=init-gpuhost.sh
	;;
esac
[ $# -eq 1 ] || { echo "usage: $0 [--monitors|--gpu-host] OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
debs=$out/debs
mkdir -p "$debs"

say() { echo "agent-guest: $*"; }
die() { echo "agent-guest: $*" >&2; exit 1; }

# --- the packages (downloaded once) -------------------------------------
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
if [ -z "$kpkg" ]; then
	# apt's lists may be missing: use the kernel downloaded before.
	kpkg=$(ls "$debs" 2>/dev/null | sed -n 's/^\(linux-image-[0-9][^_]*-amd64\)_.*\.deb$/\1/p' |
		sort -V | tail -n 1)
fi
[ -n "$kpkg" ] || die "cannot tell the kernel package (apt-cache depends linux-image-amd64)"
for p in "$kpkg" $pkglist; do
	if ! ls "$debs/${p}_"*.deb >/dev/null 2>&1; then
		say "downloading $p"
		# apt's sandbox user cannot write everywhere: download in a
		# directory of its own, then move the package into the cache.
		tmp=$(mktemp -d)
		chmod 777 "$tmp"
		(cd "$tmp" && apt-get download -q "$p" >/dev/null) ||
			{ rm -rf "$tmp"; echo "agent-guest: apt-get download $p failed" >&2; exit 3; }
		mv "$tmp"/*.deb "$debs/"
		rm -rf "$tmp"
	fi
done

# --- unpacked (not installed) ---------------------------------------------
debfiles=$(for p in "$kpkg" $pkglist; do ls "$debs/${p}_"*.deb; done)
stamp="$(echo "$debfiles" | sed 's,.*/,,' | sort | tr '\n' ' ')"
stamp="$stamp $(cd "$here" && cat build.sh $inputs | cksum)"
if [ -f "$out/$name.gz" ] && [ -f "$out/vmlinuz" ] &&
   [ "$(cat "$out/$name.stamp" 2>/dev/null)" = "$stamp" ]; then
	say "up to date in $out ($name.gz)"
	exit 0
fi
pkgs=$out/pkgs-$name
rm -rf "$pkgs" "$out/root-$name"
mkdir -p "$pkgs"
for f in $debfiles; do
	dpkg-deb -x "$f" "$pkgs"
done
kver=$(ls "$pkgs/lib/modules" | head -n 1)
if [ -z "$kver" ] || [ ! -f "$pkgs/boot/vmlinuz-$kver" ]; then
	die "no kernel in $kpkg"
fi

# --- the initramfs tree ---------------------------------------------------
root=$out/root-$name
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" \
	"$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/tmp" "$root/var" \
	"$root/lib/modules" "$root/lib64" "$root/lib/x86_64-linux-gnu"
ln -s ../run "$root/var/run"
cp "$pkgs/bin/busybox" "$root/bin/busybox"
for a in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done

# The modules (those not built in), dependencies first.
modroot=$pkgs/lib/modules/$kver
order=""
add_module() {	# NAME: adds NAME's dependencies, then NAME, to $order
	case " $order " in *" $1 "*) return ;; esac
	if grep -q "/$1\.ko\$" "$modroot/modules.builtin" 2>/dev/null; then
		return	# built into the kernel
	fi
	ko=$(find "$modroot/kernel" -name "$1.ko" | head -n 1)
	[ -n "$ko" ] || die "module $1 is neither built in nor in $kpkg"
	deps=$(tr '\0' '\n' <"$ko" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ')
	for dep in $deps; do
		add_module "$dep"
	done
	# sh has no local variables: the recursion changed $ko.
	ko=$(find "$modroot/kernel" -name "$1.ko" | head -n 1)
	cp "$ko" "$root/lib/modules/$1.ko"
	order="$order $1"
}
for m in $modules; do
	add_module "$m"
done
echo "$order" | tr ' ' '\n' | sed '/^$/d' >"$root/etc/modules"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

if [ $name != initrd ]; then
	cp "$here/$inputs" "$root/init"
	chmod 755 "$root/init"
else
	# qemu-ga and its libraries, from this machine (the same Debian release).
	cp "$pkgs/usr/sbin/qemu-ga" "$root/usr/sbin/qemu-ga"
	ldd "$pkgs/usr/sbin/qemu-ga" >"$out/ldd.txt" 2>&1 || die "ldd qemu-ga: $(cat "$out/ldd.txt")"
	if grep -q "not found" "$out/ldd.txt"; then
		die "qemu-ga needs libraries this machine lacks: $(grep 'not found' "$out/ldd.txt" | tr -s ' \t\n' ' ')"
	fi
	for lib in $(sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' "$out/ldd.txt"); do
		case $lib in
		*/ld-linux-x86-64.so.2) cp -L "$lib" "$root/lib64/ld-linux-x86-64.so.2" ;;
		*) cp -L "$lib" "$root/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
		esac
	done
	cp "$here/init.sh" "$root/init"
	cp "$here/loginctl.sh" "$root/usr/bin/loginctl"
	chmod 755 "$root/init" "$root/usr/bin/loginctl"
	cat >"$root/etc/os-release" <<'EOF'
ID=paprika-agent-guest
NAME="Paprika agent guest"
PRETTY_NAME="Paprika agent guest (busybox, qemu-ga)"
EOF
fi

# cpio newc, written by the busybox just unpacked (no cpio needed here).
(cd "$root" && find . | "$root/bin/busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
	gzip -9 >"$out/$name.gz.new"
mv "$out/$name.gz.new" "$out/$name.gz"
# Renamed into place: the other guest's QEMU may be reading it.
cp "$pkgs/boot/vmlinuz-$kver" "$out/vmlinuz.$name.new"
mv "$out/vmlinuz.$name.new" "$out/vmlinuz"
echo "$stamp" >"$out/$name.stamp"
rm -rf "$pkgs"
say "built $out/vmlinuz ($kver) and $out/$name.gz (modules:$order)"
