# SPDX-License-Identifier: ISC
"""A GPU host without a GPU: a level-1 QEMU guest with an emulated Intel
IOMMU and emulated display devices, running libvirtd, for the broker to
use as a real hypervisor with real VFIO passthrough.

The level-1 host is this machine's own root file system, shared read-only
over 9p under a tmpfs overlay (demo/agent-guest/init-gpuhost.sh), booted by
the Debian kernel that demo/agent-guest/build.sh --gpu-host unpacks: the
same libvirt and QEMU as here, no disk image to build. Its libvirtd listens
for TLS (qemu+tls://) with the deployment's certificates, on a loopback port
forwarded by user-mode networking, as do the SPICE ports of the desktops it
runs.

Its PCI devices, in IOMMU groups as on a real board:
  00:05.0  a secondary VGA (1234:1111, class 0x0380) alone on the root bus:
           the kernel knows no way to reset it (no FLR, PM or bus reset)
  01:00.0  bochs-display (1234:1111, class 0x0380) behind a PCIe root port
           (00:04.0), so that the outer QEMU can unplug it (unplug()); a
           bus reset resets it
  02:00.0  std VGA (1234:1111, class 0x0300) behind a PCIe root port
           (00:06.0), multifunction with
  02:00.1  an Intel HDA audio function, bound to snd_hda_intel: one group,
           reset together by a bus reset
  00:07.0  a secondary VGA (1234:1111, class 0x0300), multifunction with
  00:07.1  a USB EHCI controller bound to ehci-pci: a group that cannot be
           given to a guest
"""

import json
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
import time

import accel
from paprikatest import free_port, top_srcdir
import guest
import images

QEMU = "qemu-system-x86_64"
# QEMU ids of the display devices, for screendump and device_del.
DISPLAYS = {"0000:00:05.0": "rootvga", "0000:01:00.0": "display", "0000:02:00.0": "vga",
            "0000:00:07.0": "vga2"}
# The one behind a root port, that can be unplugged: its QEMU device, the
# port it sits on, its address on the level-1 host.
PLUGGABLE = {"display": ("bochs-display", "port1", "0000:01:00.0")}
STAGE2 = os.path.join(top_srcdir, "demo", "agent-guest", "gpuhost-stage2.sh")
READY = "gpuhost: ready"
# A level-2 desktop is the demo guests' definition with the GPU guest's boot
# sector (demo/guest/paprika-gpu-guest.asm), SPICE listening on the level-1
# host's forwarded ports; the broker adds the GPU.
DESKTOP_XML = guest.DOMAIN_XML.replace("address='127.0.0.1'", "address='0.0.0.0'")
COLOUR_OFFSET = 0x1f8   # COLOUR in paprika-gpu-guest.asm: 0x00RRGGBB


def define_desktop(conn, name, build, work):
    """Defines desktop name on the level-1 host (libvirt connection conn)
    with its own copy of the GPU guest's image, painting a random colour;
    that colour's 3 bytes (RGB)."""
    rgb = secrets.token_bytes(3)
    path = os.path.join(work, f"{name}.img")
    shutil.copyfile(os.path.join(build, "demo", "guest", "paprika-gpu-guest.img"), path)
    with open(path, "r+b") as f:
        f.seek(COLOUR_OFFSET)
        f.write(struct.pack("<I", int.from_bytes(rgb, "big")))
    conn.defineXML(DESKTOP_XML.format(virt="qemu", name=name, image=path, disk_format="raw",
                                      password=secrets.token_hex(8), valid_to=""))
    return rgb


class GpuHostError(Exception):
    pass


def free_ports(n, host="127.0.0.1"):
    """n consecutive TCP ports free on host, found by binding them."""
    for _ in range(50):
        base = free_port(host)
        if base + n > 65535:
            continue
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                # As QEMU binds them: a port some earlier connection left in
                # TIME_WAIT is free for a listener.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((host, p))
            return list(range(base, base + n))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise GpuHostError(f"no {n} consecutive free ports on {host}")


class GpuHost:
    """One level-1 host. guest_dir holds vmlinuz and initrd-gpuhost.gz;
    libvirt_pki the server's cacert.pem, servercert.pem and serverkey.pem;
    broker_dn the subject libvirtd lets in; iommu=False boots it without
    an IOMMU (no groups: nothing can be passed through)."""

    def __init__(self, work, guest_dir, libvirt_pki, broker_dn, spice_dir,
                 iommu=True, memory_mb=1536, log=print, spice_ports=8):
        self.work, self.log, self.iommu = work, log, iommu
        self.kernel = os.path.join(guest_dir, "vmlinuz")
        self.initrd = os.path.join(guest_dir, "initrd-gpuhost.gz")
        self.serial_log = os.path.join(work, "gpuhost-serial.log")
        self.qmp_path = os.path.join(work, "gpuhost-qmp.sock")
        self.shell_path = os.path.join(work, "gpuhost-shell.sock")
        self.memory_mb = memory_mb
        self.env_path = os.path.join(work, "gpuhost.env")
        self.settings = (f"LIBVIRT_PKI='{libvirt_pki}'\nALLOWED_DN='{broker_dn}'\n"
                         f"SPICE_DIR='{spice_dir}'\n")
        self.nspice = spice_ports
        self._pick_ports()
        self.proc = None

    def _pick_ports(self):
        """Free loopback ports for libvirt and the SPICE range, written into
        the level-1 host's settings."""
        ports = free_ports(1 + self.nspice)
        self.libvirt_port, self.spice_ports = ports[0], ports[1:]
        with open(self.env_path, "w") as f:
            f.write(self.settings +
                    f"SPICE_PORTS='{self.spice_ports[0]} {self.spice_ports[-1]}'\n")

    def uri(self, pkipath):
        return f"qemu+tls://127.0.0.1:{self.libvirt_port}/system?pkipath={pkipath}"

    def command(self):
        virt, _ = accel.choose("linux-kernel", self.kernel)
        fwd = [f"hostfwd=tcp:127.0.0.1:{self.libvirt_port}-10.0.2.15:16514"]
        fwd += [f"hostfwd=tcp:127.0.0.1:{p}-10.0.2.15:{p}" for p in self.spice_ports]
        iommu = ["-device", "intel-iommu,intremap=on"] if self.iommu else []
        cmdline = (f"console=ttyS0 quiet panic=-1 paprika.stage2={STAGE2} "
                   f"paprika.env={self.env_path}")
        if self.iommu:
            cmdline += " intel_iommu=on"
        return [QEMU, "-accel", "kvm" if virt == "kvm" else "tcg",
                "-machine", "q35,kernel-irqchip=split", "-m", str(self.memory_mb), "-smp", "2",
                "-nodefaults", "-no-reboot", "-display", "none", "-vga", "none",
                *iommu,
                "-kernel", self.kernel, "-initrd", self.initrd, "-append", cmdline,
                "-serial", f"file:{self.serial_log}",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
                "-chardev", f"socket,id=shell,path={self.shell_path},server=on,wait=off",
                "-device", "isa-serial,chardev=shell",
                "-audiodev", "none,id=snd",
                "-device", "secondary-vga,id=rootvga,addr=5.0",
                "-device", "pcie-root-port,id=port1,bus=pcie.0,addr=4.0,chassis=1",
                "-device", "pcie-root-port,id=port2,bus=pcie.0,addr=6.0,chassis=2",
                "-device", "VGA,id=vga,bus=port2,addr=0.0,multifunction=on",
                "-device", "intel-hda,id=hda,bus=port2,addr=0.1",
                "-device", "hda-duplex,audiodev=snd",
                "-device", "{0},id=display,bus={1}".format(*PLUGGABLE["display"]),
                "-device", "secondary-vga,id=vga2,addr=7.0,multifunction=on",
                "-device", "usb-ehci,id=ehci,addr=7.1",
                "-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,"
                          "multidevs=remap",
                "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot,addr=8.0",
                "-netdev", "user,id=net," + ",".join(fwd),
                "-device", "virtio-net-pci,netdev=net,addr=10.0"]

    def start(self, timeout=240, tries=3):
        """Boots the host and waits until its libvirtd answers; raises
        GpuHostError with the end of its console otherwise. A port taken
        between choosing it and QEMU binding it (tests run side by side)
        costs a try with other ports."""
        for attempt in range(tries):
            try:
                return self._start(timeout)
            except GpuHostError as e:
                if "Could not set up host forwarding rule" not in str(e) or attempt == tries - 1:
                    raise
                self.log(f"a forwarded port was taken meanwhile; trying other ports: {e}")
                self._pick_ports()

    def _start(self, timeout):
        cmd = self.command()
        self.log(f"starting the nested GPU host ({cmd[2]}, IOMMU "
                 f"{'on' if self.iommu else 'off'}), libvirt TLS on 127.0.0.1:{self.libvirt_port}")
        t0 = time.monotonic()
        for old in (self.serial_log, self.qmp_path, self.shell_path):
            if os.path.exists(old):
                os.unlink(old)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.work, "gpuhost-qemu.log"), "w"),
                                     stderr=subprocess.STDOUT)
        while READY not in self.console():
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                raise GpuHostError(f"the GPU host stopped ({rc}):\n" + self.qemu_log()[-1000:]
                                   + self.console()[-2000:])
            if time.monotonic() - t0 > timeout:
                raise GpuHostError(f"the GPU host was not ready in {timeout} s:\n"
                                   + self.console()[-2000:])
            time.sleep(0.5)
        self.boot_seconds = time.monotonic() - t0
        self.log(f"the nested GPU host is ready after {self.boot_seconds:.1f} s")

    def qemu_log(self):
        try:
            with open(os.path.join(self.work, "gpuhost-qemu.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def console(self):
        try:
            with open(self.serial_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def qmp(self, execute, **arguments):
        """One QMP command to the outer QEMU; its return value."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(30)
            s.connect(self.qmp_path)
            f = s.makefile("rw")
            json.loads(f.readline())  # greeting
            for cmd in ({"execute": "qmp_capabilities"},
                        {"execute": execute, "arguments": arguments}):
                f.write(json.dumps(cmd) + "\n")
                f.flush()
                while True:
                    r = json.loads(f.readline())
                    if "event" not in r:
                        break
                if "error" in r:
                    raise GpuHostError(f"QMP {execute}: {r['error'].get('desc')}")
            return r.get("return")

    def shell(self, command, timeout=60):
        """Runs command (one line) in the level-1 host's root shell (its
        second serial port); (exit status, output). The output is what came
        between two markers the same line prints, so neither the terminal's
        echo of the line nor a prompt left over from an earlier command
        reaches it."""
        nonce = os.urandom(6).hex()
        start, end = "paprika-start-" + nonce, "paprika-done-" + nonce
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(self.shell_path)
            s.sendall(f"echo {start}; {command}; echo {end} $?\n".encode())
            out = b""
            while not re.search(end.encode() + rb" (\d+)\r?\n", out):
                chunk = s.recv(4096)
                if not chunk:
                    raise GpuHostError(f"the shell went away running {command!r}")
                out += chunk
        text = out.decode(errors="replace").replace("\r", "")
        body, status = text.rsplit(end, 1)
        # The echoed line has the marker too, followed by ";".
        began = re.search(rf"{start}\n", body)
        return int(status.split()[0]), body[began.end():] if began else body

    def unplug(self, qemu_id, timeout=60):
        """Hot-unplugs device qemu_id from the outer QEMU, as a card that
        falls off the bus; returns once the level-1 kernel has let it go."""
        self.qmp("device_del", id=qemu_id)
        deadline = time.monotonic() + timeout
        while any(d.get("qdev_id") == qemu_id for d in self._pci_devices()):
            if time.monotonic() > deadline:
                raise GpuHostError(f"{qemu_id} was not unplugged in {timeout} s")
            time.sleep(0.5)

    def plug(self, qemu_id, driver, timeout=60):
        """Hot-plugs a device of QEMU model driver into the slot qemu_id
        (PLUGGABLE) was unplugged from: a card put back at the same address.
        Not the same model: QEMU 7.2 keeps an unplugged display device's
        console, and with it its video memory, so the same model in the same
        slot aborts ("RAMBlock ... already registered"). Returns once the
        level-1 kernel has it in sysfs."""
        _, bus, address = PLUGGABLE[qemu_id]
        self.qmp("device_add", driver=driver, id=f"{qemu_id}-back", bus=bus)
        deadline = time.monotonic() + timeout
        while self.shell(f"test -e /sys/bus/pci/devices/{address}/config")[0] != 0:
            if time.monotonic() > deadline:
                raise GpuHostError(f"{driver} was not at {address} in {timeout} s")
            time.sleep(0.5)

    def _pci_devices(self):
        found = []

        def walk(devices):
            for d in devices:
                found.append(d)
                walk(d.get("pci_bridge", {}).get("devices", []))
        for bus in self.qmp("query-pci"):
            walk(bus["devices"])
        return found

    def painted(self, qemu_id, rgb):
        """Whether the outer QEMU's screendump of device qemu_id (DISPLAYS)
        is all rgb: what only a desktop driving that device can do."""
        path = os.path.join(self.work, f"screendump-{qemu_id}.ppm")
        self.qmp("screendump", filename=path, device=qemu_id)
        img = images.read_image(path)
        top = images.colours(img).most_common(1)
        return bool(top) and top[0][0] == rgb and top[0][1] == img[0] * img[1]

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc = None
