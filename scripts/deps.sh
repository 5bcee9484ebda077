#!/bin/sh
# SPDX-License-Identifier: ISC
# Installs every Debian 12 package Paprika needs to build, test, benchmark and run its demo.
# One list, one place: README.md explains why each is here.
set -eu

PACKAGES="
  build-essential autoconf automake libtool pkg-config clang libclang-rt-14-dev
  libevent-dev libssl-dev libinih-dev libjansson-dev libcmocka-dev libvirt-dev
  libbsd-dev uthash-dev libsqlite3-dev libpq-dev postgresql-15 libsodium-dev libqrencode-dev libpam0g-dev libxml2-dev libpng-dev
  libpam-wrapper libnss-wrapper sqlite3
  openssl ca-certificates python3 python3-libvirt libvirt-daemon-system
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
  ovmf
  nasm mtools
  man-db groff-base
  systemd passwd
  spice-client-gtk virt-viewer xvfb xauth x11-apps
  libspice-client-gtk-3.0-dev libgtk-3-dev libsoup-3.0-dev xdotool
  haproxy stunnel4 squid
  chromium libnss3-tools fonts-dejavu-core chromium-driver python3-selenium
  spice-html5
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all Debian packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run this script as root to install them" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# An old or missing package list makes apt-get install fail: refresh it once.
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
