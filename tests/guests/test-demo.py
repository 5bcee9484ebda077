# SPDX-License-Identifier: ISC
"""The demo (README command 1) as a new user runs it, without a display.

demo/run-demo.sh --headless must wait for the desktop to be ready, capture
it through the gateway, and exit 0 with "screenshot: PATH" last only when
that PNG is the banner the guest drew (a blank capture or QEMU's "not
initialized" screen is a failure). With --keep --cold (guests that boot on
connect) it must stop its guests, broker and gateway on SIGTERM as it does
on Ctrl-C."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, read_text,  # noqa: E402
                     top_builddir, top_srcdir)

import_demo()
import images  # noqa: E402

DEMO = os.path.join(top_srcdir, "demo", "run-demo.sh")


def demo_env():
    env = dict(os.environ, top_srcdir=top_srcdir, top_builddir=top_builddir)
    env.pop("DISPLAY", None)
    return env


def processes_under(work):
    """PIDs whose command line names the demo's work directory: its QEMU
    guests, broker and gateway."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ")
        except OSError:
            continue
        if work.encode() in cmd and b"run-demo" not in cmd:
            found.append((int(pid), cmd.decode(errors="replace")[:120]))
    return found


def headless(work):
    t0 = time.monotonic()
    r = subprocess.run([DEMO, "--headless", "--workdir", work], env=demo_env(),
                       capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    note(out.strip())
    check(r.returncode == 0, "the demo exits 0", f"exit {r.returncode}")
    lines = out.strip().splitlines()
    m = re.match(r"^screenshot: (\S+\.png)$", lines[-1] if lines else "")
    if not check(m is not None, "its last line is 'screenshot: PATH'",
                 lines[-1] if lines else "no output"):
        return
    shot = images.read_image(m.group(1))
    check(images.shows_banner(shot), "the screenshot shows the guest's drawn banner",
          images.describe(shot))
    own = images.read_image(os.path.join(work, "guest-own.png"))
    same, how = images.same_screen(shot, own, cursor=True)
    check(same, "and equals the guest's own screenshot", how)
    check("snapshotted running as 'clean'" in out,
          "its shared guests revert to a snapshot of the running desktop")
    note(f"demo run in {time.monotonic() - t0:.1f}s")


def keep_then_sigterm(work):
    # --cold: the desktop boots on connect, and the demo shows it booting.
    p = subprocess.Popen([DEMO, "--keep", "--cold", "--workdir", work], env=demo_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    running = False
    deadline = time.monotonic() + 300
    lines = []
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if "press Ctrl-C to stop everything" in line:
            running = True
            break
    note("\n".join(lines))
    log = read_text(os.path.join(work, "brokerd.log"))
    check(re.search(r"\(demo on office/desk-\d\) ready in \d+s \(its screen was drawn "
                    r"and still", log),
          "with --cold the desktop boots, and is ready once its screen is drawn and still",
          log[-600:])
    if not check(running, "demo --keep leaves the deployment running"):
        p.kill()
        p.wait()
        return
    before = processes_under(work)
    check(any("qemu-system" in c for _, c in before) and
          any("paprika-brokerd" in c for _, c in before) and
          any("paprika-gatewayd" in c for _, c in before),
          "a guest, the broker and the gateway run", str(before))
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    p.stdout.close()
    check(rc == 0, "SIGTERM ends demo --keep like Ctrl-C", f"exit {rc}")
    left = []
    for _ in range(50):
        left = processes_under(work)
        if not left:
            break
        time.sleep(0.2)
    check(not left, "and nothing of it keeps running", str(left))
    for pid, _ in left:
        os.kill(pid, signal.SIGKILL)


def main():
    started = time.monotonic()
    base = tempfile.mkdtemp(prefix="paprika-demo-test.")
    headless(os.path.join(base, "headless"))
    keep_then_sigterm(os.path.join(base, "keep"))
    return paprikatest.finish_in(base, started)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
