# SPDX-License-Identifier: ISC
"""A real KVM guest for the demo and the end-to-end tests.

libvirt's embedded QEMU driver (qemu:///embed?root=DIR) runs guests with no
daemon. Its state lives in the process that opened it, so one process opens
it, starts the guest, serves what the caller asks, and destroys the guest
at the end (the embedded driver would otherwise leave QEMU running).
"""

import os
import secrets
import threading
import time
import xml.etree.ElementTree as ET

import libvirt

import accel
from images import describe, read_image, shows_banner

DOMAIN_XML = """<domain type='{virt}'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='{disk_format}'/>
      <source file='{image}'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <graphics type='spice' autoport='yes' defaultMode='secure'
              passwd='{password}'{valid_to}>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <video><model type='qxl'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
"""

QEMU_CONF = """# Written by Paprika's demo: SPICE TLS only, on loopback.
spice_tls = 1
spice_tls_x509_cert_dir = "{spice_dir}"
spice_listen = "127.0.0.1"
user = "root"
group = "root"
stdio_handler = "file"
remote_display_port_min = {port_min}
remote_display_port_max = {port_max}
"""


class GuestError(Exception):
    pass


_event_loop_started = False


def _start_event_loop():
    """The embedded driver needs a running event loop."""
    global _event_loop_started
    if _event_loop_started:
        return
    libvirt.virEventRegisterDefaultImpl()
    # Errors reach the caller as exceptions; libvirt need not print them too.
    libvirt.registerErrorHandler(lambda ctx, err: None, None)

    def run():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=run, daemon=True, name="libvirt-events").start()
    _event_loop_started = True


def spice_port_range():
    """The SPICE ports this process's guests may take. Each embedded driver
    root allocates ports on its own, so deployments that run at the same
    time (make -j check) each get their own hundred ports."""
    base = 30000 + (os.getpid() % 300) * 100
    return base, base + 99


def valid_to(seconds):
    """A libvirt passwdValidTo value: UTC, seconds from now."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + seconds))


class Guest:
    """One demo guest under the embedded QEMU driver in ROOT."""

    def __init__(self, root, spice_dir, image, name="paprika-demo",
                 port_range=None, log=print):
        self.root = os.path.abspath(root)
        self.spice_dir = os.path.abspath(spice_dir)
        self.image = os.path.abspath(image)
        self.name = name
        self.port_range = port_range or spice_port_range()
        self.log = log
        self.conn = None
        self.dom = None
        self.virt = None

    def start(self, password, valid_seconds=300):
        """Starts the guest: KVM where a boot sector boots under it (a
        probe, tests/lib/accel.py), TCG otherwise."""
        try:
            virt = accel.accel_for("boot-sector", self.image, self.log)
            # A KVM guest that libvirt refuses falls back to TCG, unless
            # KVM was asked for.
            kinds = ["kvm", "qemu"] if virt == "kvm" and not accel.forced() else [virt]
        except accel.AccelError as e:
            raise GuestError(str(e))
        os.makedirs(os.path.join(self.root, "etc"), exist_ok=True)
        with open(os.path.join(self.root, "etc", "qemu.conf"), "w") as f:
            f.write(QEMU_CONF.format(spice_dir=self.spice_dir,
                                     port_min=self.port_range[0],
                                     port_max=self.port_range[1]))
        # libvirt's own log (harmless errors about dmidecode and the like)
        # goes to a file; it is read when the first call initialises it.
        os.environ.setdefault("LIBVIRT_LOG_OUTPUTS",
                              f"3:file:{os.path.join(self.root, 'libvirt.log')}")
        _start_event_loop()
        try:
            self.conn = libvirt.open(f"qemu:///embed?root={self.root}")
        except libvirt.libvirtError as e:
            raise GuestError(f"cannot open libvirt's embedded QEMU driver: {e}")
        last = None
        for virt in kinds:
            xml = DOMAIN_XML.format(virt=virt, name=self.name, image=self.image,
                                    disk_format="raw", password=password,
                                    valid_to=f" passwdValidTo='{valid_to(valid_seconds)}'")
            try:
                self.dom = self.conn.createXML(xml, 0)
                self.virt = virt
                return
            except libvirt.libvirtError as e:
                last = e
                if virt == "kvm":
                    self.log(f"KVM guest failed to start ({e}); trying TCG")
        raise GuestError(f"cannot start the guest: {last}")

    def graphics(self, secure=False):
        flags = libvirt.VIR_DOMAIN_XML_SECURE if secure else 0
        root = ET.fromstring(self.dom.XMLDesc(flags))
        g = root.find("./devices/graphics[@type='spice']")
        if g is None:
            raise GuestError("the guest has no SPICE graphics")
        return g

    def tls_port(self):
        port = self.graphics().get("tlsPort")
        if not port or int(port) <= 0:
            raise GuestError("the guest has no SPICE TLS port")
        return int(port)

    def set_password(self, password, valid_seconds, connected="keep"):
        """Changes only passwd, passwdValidTo and connected on the live <graphics>."""
        g = self.graphics(secure=True)
        g.set("passwd", password)
        g.set("passwdValidTo", valid_to(valid_seconds))
        g.set("connected", connected)
        self.dom.updateDeviceFlags(ET.tostring(g, encoding="unicode"),
                                   libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def screenshot(self, path):
        """The guest's own screendump (QEMU gives PNG through libvirt 9)."""
        stream = self.conn.newStream(0)
        try:
            self.dom.screenshot(stream, 0, 0)
            with open(path, "wb") as f:
                stream.recvAll(lambda s, data, fh: fh.write(data), f)
            stream.finish()
        except libvirt.libvirtError as e:
            stream.abort()
            raise GuestError(f"screenshot failed: {e}")

    def wait_banner(self, path, timeout=60):
        """Waits until the screen shows the demo banner (images.shows_banner:
        not QEMU's placeholder, not SeaBIOS); its size."""
        deadline = time.monotonic() + timeout
        while True:
            self.screenshot(path)
            img = read_image(path)
            if shows_banner(img):
                return img[:2]
            if time.monotonic() > deadline:
                raise GuestError(f"the guest did not show its banner within {timeout}s: "
                                 f"it shows {describe(img)}")
            time.sleep(0.5)

    def stop(self):
        if self.dom is not None:
            try:
                self.dom.destroy()
            except libvirt.libvirtError:
                pass
            self.dom = None
        if self.conn is not None:
            try:
                self.conn.close()
            except libvirt.libvirtError:
                pass
            self.conn = None


def new_password():
    """A SPICE password: 24 random characters (spice allows up to 60 bytes)."""
    return secrets.token_urlsafe(18)
