#!/bin/sh
# SPDX-License-Identifier: ISC
# The nested GPU host's init once it runs on the outer machine's root (see
# init-gpuhost.sh): a network for libvirt's TLS port, then libvirtd with
# the deployment's certificates, as on a real hypervisor. Its settings come
# from the shell file that paprika.env= on the kernel command line names,
# written by tests/lib/gpuhost.py:
#   LIBVIRT_PKI     directory with cacert.pem, servercert.pem, serverkey.pem
#   ALLOWED_DN      the broker's client certificate subject
#   SPICE_DIR       the SPICE x509 directory for the nested desktops
#   SPICE_PORTS     "MIN MAX", the SPICE ports the outer machine forwards
# Every step is reported on the serial console; "gpuhost: ready" last.
# The second serial port gets a root shell.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "gpuhost: $*"; }
fail() { say "$*"; echo o >/proc/sysrq-trigger; sleep 10; }
mount -t tmpfs -o mode=0755 run /run
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs shm /dev/shm
env=$(sed -n 's/.*paprika\.env=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -f "$env" ] || fail "no settings file at '$env' (paprika.env=)"
. "$env"
hostname gpuhost

# User-mode networking's fixed addresses: the outer machine forwards its
# loopback ports to 10.0.2.15.
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2

iommu=no
[ -n "$(ls /sys/kernel/iommu_groups 2>/dev/null)" ] && iommu=yes
say "IOMMU groups: $iommu"
for d in /sys/bus/pci/devices/*; do
	drv=$(readlink "$d/driver" 2>/dev/null)
	group=$(readlink "$d/iommu_group" 2>/dev/null)
	say "pci ${d##*/} $(cat "$d/vendor"):$(cat "$d/device") class $(cat "$d/class")" \
	    "driver ${drv##*/} group ${group##*/}"
done

mkdir -p /etc/libvirt
cat >/etc/libvirt/libvirtd.conf <<CONF
listen_tls = 1
listen_tcp = 0
auth_tls = "none"
key_file = "$LIBVIRT_PKI/serverkey.pem"
cert_file = "$LIBVIRT_PKI/servercert.pem"
ca_file = "$LIBVIRT_PKI/cacert.pem"
tls_allowed_dn_list = ["$ALLOWED_DN"]
CONF
cat >/etc/libvirt/qemu.conf <<CONF
spice_tls = 1
spice_tls_x509_cert_dir = "$SPICE_DIR"
spice_listen = "0.0.0.0"
user = "root"
group = "root"
remote_display_port_min = ${SPICE_PORTS% *}
remote_display_port_max = ${SPICE_PORTS#* }
CONF
virtlogd -d || fail "virtlogd did not start"
libvirtd -d -l || fail "libvirtd did not start"
i=0
until virsh -c qemu:///system version >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 120 ] || fail "libvirtd does not answer"
	sleep 0.5
done
# A root shell on the second serial port, for the tests to look inside
# (tests/lib/gpuhost.py's shell()): the outer machine's root owns this host.
stty -F /dev/ttyS1 raw -echo
setsid sh -c 'exec sh </dev/ttyS1 >/dev/ttyS1 2>&1' &
say "ready: libvirtd $(libvirtd --version | sed 's/.* //')"
exec sleep 1000000000
