# SPDX-License-Identifier: ISC
"""A private libvirtd for the tests: run in its own mount and network
namespaces (its state on tmpfs, nothing of the machine's own libvirt
touched), serving its drivers over a unix socket in a directory of the
test's. Keep that directory's path short: it holds the socket. It can
also listen for TLS on its namespace's own loopback; in_netns() runs a
client there."""

import os
import subprocess

from paprikatest import stop_process, wait_until

LIBVIRTD_CONF = """unix_sock_dir = "{dir}"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
"""

# libvirtd's state and the definitions it writes (/etc/libvirt/qemu, secrets)
# go to tmpfs inside the namespaces, so the machine's own stay untouched; its
# sockets go to dir.
NAMESPACED = ('for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt; do '
              'mkdir -p "$d" && mount -t tmpfs tmpfs "$d" || exit 1; done; '
              'for d in /etc/libvirt/qemu /etc/libvirt/secrets; do '
              '[ ! -d "$d" ] || mount -t tmpfs tmpfs "$d" || exit 1; done; '
              '[ -z "${1:-}" ] || ip link set lo up || exit 1; '
              'exec libvirtd -f "$0/libvirtd.conf" -p "$0/libvirtd.pid" ${1:+"$1"}')


class Libvirtd:
    """libvirtd in DIR; uri is its test driver through its socket."""

    def __init__(self, dir, group=None, tls_conf=None):
        """With group, its read-write socket is that group's (0770), as a
        deployment gives an unprivileged broker libvirt's socket. With
        tls_conf (libvirtd.conf lines: listen_tls, the files, tls_port...)
        it also listens for TLS (libvirtd --listen)."""
        self.dir = dir
        self.proc = None
        self.listen = tls_conf is not None
        conf = LIBVIRTD_CONF.format(dir=dir) + (tls_conf or "")
        if group is not None:
            conf = conf.replace('unix_sock_rw_perms = "0700"',
                                f'unix_sock_rw_perms = "0770"\nunix_sock_group = "{group}"')
        with open(os.path.join(dir, "libvirtd.conf"), "w") as f:
            f.write(conf)
        self.uri = f"test+unix:///default?socket={dir}/libvirt-sock"

    def start(self):
        sock = os.path.join(self.dir, "libvirt-sock")
        if os.path.exists(sock):
            os.unlink(sock)
        log = open(os.path.join(self.dir, "libvirtd.log"), "a")
        self.proc = subprocess.Popen(["unshare", "-m", "-n", "sh", "-c", NAMESPACED,
                                      self.dir] + (["--listen"] if self.listen else []),
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not wait_until(lambda: os.path.exists(sock) or self.proc.poll() is not None, 20):
            raise RuntimeError("libvirtd did not create its socket")
        if self.proc.poll() is not None:
            raise RuntimeError("libvirtd exited: see " + os.path.join(self.dir, "libvirtd.log"))

    def stop(self):
        stop_process(self.proc, timeout=10)
        self.proc = None

    def driver_uri(self, driver_path):
        """The URI of another of its drivers: "test:///abs/node.xml" or
        "qemu:///system" become their +unix forms through this socket."""
        scheme, rest = driver_path.split("://", 1)
        return f"{scheme}+unix://{rest}?socket={self.dir}/libvirt-sock"

    def in_netns(self, argv):
        """argv run inside its network namespace (where it listens for TCP)."""
        return ["nsenter", "-t", str(self.proc.pid), "-n"] + list(argv)

    def listening(self, port):
        """Whether it listens on 127.0.0.1:port in its namespace."""
        want = f"0100007F:{port:04X}"
        try:
            with open(f"/proc/{self.proc.pid}/net/tcp") as f:
                return any(ln.split()[1] == want and ln.split()[3] == "0A"
                           for ln in f.readlines()[1:])
        except OSError:
            return False
