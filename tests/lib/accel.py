# SPDX-License-Identifier: ISC
"""Which accelerator each type of test guest runs under: KVM where that
type boots under it, TCG otherwise.

A /dev/kvm that opens is not enough: on some machines (nested KVM) the
demo's real-mode boot sector runs under KVM but a Linux kernel hangs right
after SeaBIOS, with no output. So each guest type gets a short boot probe
under KVM, with qemu-system-x86_64 alone (no libvirt: the embedded driver
is one process's at a time). A probe costs up to PROBE_SECONDS, so its
result is cached in a file per type, under a lock, and reused by every
test of one run (make -j check starts many at once): in $PAPRIKA_ACCEL_CACHE,
else in build/accel-cache. The cache names the boot it was made in and the
files it booted; a result from another boot, kernel or image is not reused.

PAPRIKA_TEST_ACCEL=kvm or tcg skips the probe.
"""

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import images

# Each guest type: what the log calls its guests, and what boots in them.
KINDS = {"boot-sector": ("boot-sector guests", "a boot sector"),
         "linux-kernel": ("Linux kernel guests", "a Linux kernel")}
PROBE_SECONDS = 20
QEMU = "qemu-system-x86_64"
# What a kernel with no root file system prints once it has booted through
# its own start-up; the probe passes no initrd.
KERNEL_BOOTED = "Unable to mount root fs"


class AccelError(Exception):
    pass


def kvm_usable():
    """Whether /dev/kvm can be opened for writing."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def accel_for(kind, path, log=print):
    """The libvirt domain type ("kvm" or "qemu") for a guest of kind
    ("boot-sector": path is its disk image; "linux-kernel": path is the
    kernel), after logging one line saying which and why."""
    accel, why = choose(kind, path)
    log(summary(kind, why))
    return accel


def summary(kind, why):
    """The line a caller logs about choose()'s answer."""
    return f"{KINDS[kind][0]} run under {why}"


def forced():
    """PAPRIKA_TEST_ACCEL ("kvm" or "tcg"), or None when unset or empty."""
    value = os.environ.get("PAPRIKA_TEST_ACCEL", "")
    if value and value not in ("kvm", "tcg"):
        raise AccelError(f"PAPRIKA_TEST_ACCEL={value!r}: use kvm or tcg, "
                         "or leave it unset for a boot probe")
    return value or None


def choose(kind, path):
    """(domain type, why) for a guest of kind booting path: the
    environment's choice, else TCG with no usable /dev/kvm, else the
    probe's answer for this boot and this file, probed once."""
    if kind not in KINDS:
        raise AccelError(f"unknown guest type {kind!r}")
    if forced() == "kvm":
        return "kvm", "KVM (PAPRIKA_TEST_ACCEL=kvm)"
    if forced() == "tcg":
        return "qemu", "TCG (PAPRIKA_TEST_ACCEL=tcg)"
    if not kvm_usable():
        return "qemu", "TCG: /dev/kvm is not usable"
    ok, detail = cached_probe(kind, path)
    if ok:
        return "kvm", f"KVM (boot probe passed: {detail})"
    return "qemu", f"TCG: {KINDS[kind][1]} does not boot under this machine's KVM ({detail})"


def cache_dir():
    """$PAPRIKA_ACCEL_CACHE, else build/accel-cache in the build tree."""
    d = os.environ.get("PAPRIKA_ACCEL_CACHE")
    if not d:
        from paprikatest import top_builddir as top
        d = os.path.join(top, "build", "accel-cache")
    os.makedirs(d, exist_ok=True)
    return d


def cache_key(kind, path):
    """What a probe's result holds for: this boot, this QEMU, the file it
    booted (by content: build.sh renames a rebuilt kernel into place)."""
    with open("/proc/sys/kernel/random/boot_id") as f:
        boot = f.read().strip()
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        raise AccelError(f"cannot read what the probe would boot: {e}")
    qemu = shutil.which(QEMU)
    st = os.stat(qemu) if qemu else None
    return {"kind": kind, "boot_id": boot, "file": h.hexdigest(),
            "qemu": [qemu, st.st_size, st.st_mtime] if st else None}


def cached_probe(kind, path):
    """(passed, detail): the cached result for kind when its key matches,
    else a new probe, recorded. The lock makes concurrent callers wait for
    one probe rather than each run their own."""
    d = cache_dir()
    key = cache_key(kind, path)
    with open(os.path.join(d, f"{kind}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = os.path.join(d, f"{kind}.json")
        try:
            with open(record) as f:
                old = json.load(f)
            if old.get("key") == key:
                return old["passed"], old["detail"] + ", probed earlier"
        except (OSError, ValueError, KeyError):
            pass
        passed, detail = PROBES[kind](path)
        with open(record + ".new", "w") as f:
            json.dump({"key": key, "passed": passed, "detail": detail}, f)
        os.replace(record + ".new", record)
        return passed, detail


def run_probe(args, booted, timeout=PROBE_SECONDS):
    """Runs QEMU (args after the common ones) under KVM in a temporary
    directory until booted(dir) is true, QEMU exits, or timeout; QEMU is
    killed whatever happens. (passed, detail)."""
    with tempfile.TemporaryDirectory(prefix="paprika-accel.") as tmp:
        cmd = [QEMU, "-accel", "kvm", "-machine", "pc", "-m", "256",
               "-nodefaults", "-display", "none", "-no-reboot",
               "-serial", f"file:{os.path.join(tmp, 'serial.log')}",
               "-qmp", f"unix:{os.path.join(tmp, 'qmp.sock')},server=on,wait=off",
               *args]
        started = time.monotonic()
        try:
            with open(os.path.join(tmp, "stderr"), "w") as err:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=err)
        except OSError as e:
            return False, f"cannot run {QEMU}: {e}"
        try:
            while time.monotonic() - started < timeout:
                exited = proc.poll() is not None
                if booted(tmp):
                    return True, f"booted in {time.monotonic() - started:.1f} s"
                if exited:
                    with open(os.path.join(tmp, "stderr")) as f:
                        err = " ".join(f.read().split())[-200:]
                    return False, f"QEMU exited ({proc.returncode}) before the guest " \
                                  f"booted: {err or 'no message'}"
                time.sleep(0.25)
            return False, f"probe timed out after {timeout} s"
        finally:
            proc.kill()
            proc.wait()


def probe_kernel(kernel):
    """Boots kernel alone (no initrd) to its 'cannot mount root' panic."""
    def booted(tmp):
        try:
            with open(os.path.join(tmp, "serial.log"), errors="replace") as f:
                return KERNEL_BOOTED in f.read()
        except OSError:
            return False
    return run_probe(["-kernel", kernel, "-append", "console=ttyS0 panic=-1"], booted)


def probe_boot_sector(image):
    """Boots the demo's image until its screen is the banner (SeaBIOS's
    and QEMU's placeholder are not)."""
    def booted(tmp):
        shot = os.path.join(tmp, "screen.ppm")
        if not qmp(os.path.join(tmp, "qmp.sock"), "screendump", {"filename": shot}):
            return False
        return shows_banner(shot)
    return run_probe(["-vga", "std", "-drive",
                      f"file={image},format=raw,if=ide,snapshot=on"], booted)


def qmp(sock_path, command, arguments):
    """Runs one QMP command on a fresh connection; whether it succeeded
    (a screendump fails until the guest has initialised its display)."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(sock_path)
            f = s.makefile("rw")
            f.readline()  # the greeting
            for msg in ({"execute": "qmp_capabilities"},
                        {"execute": command, "arguments": arguments}):
                f.write(json.dumps(msg) + "\n")
                f.flush()
                reply = qmp_reply(f)
                if "return" not in reply:
                    return False
            return True
    except (OSError, ValueError):
        return False


def qmp_reply(f):
    """The next reply on QMP stream f, skipping asynchronous events."""
    while True:
        line = f.readline()
        if not line:
            raise ValueError("QMP closed")
        msg = json.loads(line)
        if "event" not in msg:
            return msg


def shows_banner(path):
    """Whether the screendump at path is the demo guest's banner drawn."""
    try:
        return images.shows_banner(images.read_image(path))
    except (OSError, images.ImageError):
        return False


PROBES = {"boot-sector": probe_boot_sector, "linux-kernel": probe_kernel}
