# SPDX-License-Identifier: ISC
"""GPU desktops benchmark, on the nested GPU host (tests/lib/gpuhost.py: a
level-1 QEMU with an emulated IOMMU running this machine's libvirtd, reached
over qemu+tls). One run; it prints one table (tests/bench/README.md, "GPU
desktops benchmark").

  click to desktop   POST connect until 200 (the broker's "ready": drawn and
                     still), then spicy-screenshot through the gateway until a
                     frame that is the desktop's own screen: for a desktop with
                     the bochs-display passed through (allocation, vfio-pci,
                     QEMU opening the device) and for the same desktop without
                     it, alternating, each stopped before every round
  allocation race    N users click at once in a pool of N guests with N-1
                     devices: when each is answered, and what the one left
                     without a device is told

Everything runs under TCG twice over (level 1 and level 2), so the seconds
are long; the ratio is the figure.

Usage: top_srcdir=. top_builddir=. python3 tests/bench/bench-gpu.py (after
make; `make bench-gpu` does this).
"""

import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from paprikatest import build_agent_guest, top_builddir, top_srcdir, wait_until  # noqa: E402

import brokerdeploy  # noqa: E402
import gpuhost  # noqa: E402
import images  # noqa: E402
import libvirt  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = int(os.environ.get("BENCH_GPU_ROUNDS", "2" if QUICK else "5"))
RACERS = 3                      # users; the race pool has RACERS - 1 devices
DEVICE = "0000:01:00.0"         # the bochs-display, managed='yes'


def log(msg):
    print(f"bench-gpu: {msg}", file=sys.stderr, flush=True)


def config(d, host):
    racers = ", ".join(f"race{i + 1}" for i in range(RACERS))
    sections = f"""[host gpu]
uri = {host.uri(os.path.join(d.pki, 'libvirt', 'client'))}
spice_address = 127.0.0.1
spice_cert = {d.pki}/spice/server-cert.pem

[pool with-gpu]
kind = static
host = gpu
assign = bench=desk-gpu
gpu = passthrough
gpu_devices = {DEVICE}
firmware = bios

[pool without-gpu]
kind = static
host = gpu
assign = bench=desk-plain

[pool race]
kind = shared
host = gpu
guests = {racers}
groups = staff
disconnect_action = none
gpu = passthrough
gpu_devices = {DEVICE}, 0000:00:05.0
gpu_detach = yes
# 0000:00:05.0 sits on the root bus with no reset the kernel knows: without
# this its start is refused, and the race would have one device, not two.
gpu_reset = no
firmware = bios

"""
    gateway = f"[gateway local]\nproxy = {d.proxy_url()}\ncontrol = {d.control}\n"
    return d.test_driver_config(sections=sections).replace(
        "[gateway local]\nproxy = http://127.0.0.1:1\n", gateway)


def click_to_desktop(d, lv, token, helper, pool, desk):
    """Seconds from the click to the 200 and to the desktop's own frame
    through the gateway; then powers the desktop off and waits until the
    broker has seen it stop."""
    t0 = time.monotonic()
    conn = d.connect(token, pool=pool, timeout=300)
    ready = time.monotonic() - t0
    own = os.path.join(d.work, f"{desk}-own.png")
    d.guest_screenshot(helper, desk, own, pool=pool)
    ref, shot = images.read_image(own), os.path.join(d.work, f"{desk}.ppm")
    while True:
        ok, out = d.spicy_capture(conn, shot)
        if ok and images.same_screen(images.read_image(shot), ref)[0]:
            break
        if time.monotonic() - t0 > 300:
            raise RuntimeError(f"{desk}: no frame of its desktop: {out}")
    frame = time.monotonic() - t0
    lv.lookupByName(desk).destroy()

    def stopped():
        _, body, _ = d.api("GET", "/api/v1/sessions", token=helper)
        return not [s for s in body.get("sessions", []) if s.get("pool") == pool]
    if not wait_until(stopped, 60):
        raise RuntimeError(f"{desk}: the broker did not see it stop")
    return ready, frame


def race(d, tokens):
    """All users click at once; [(seconds to the answer, outcome)]."""
    results, start = [None] * len(tokens), threading.Barrier(len(tokens))

    def one(i, token):
        start.wait()
        t0 = time.monotonic()
        try:
            d.connect(token, pool="race", timeout=300)
            results[i] = (time.monotonic() - t0, "desktop")
        except brokerdeploy.ApiError as e:
            results[i] = (time.monotonic() - t0, str(e))
    threads = [threading.Thread(target=one, args=(i, t)) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main():
    work = tempfile.mkdtemp(prefix="paprika-bench-gpu.")
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=log)
    host = None
    try:
        guest_dir = build_agent_guest("--gpu-host")
        d.make_pki()
        broker_dn = d.make_libvirt_pki()
        d.add_user("bench", "bench-password", "staff")
        d.add_user("helper", "helper-password", "helpdesk")
        for i in range(RACERS):
            d.add_user(f"racer{i + 1}", "racer-password", "staff")
        d.start_gateway()
        host = gpuhost.GpuHost(work, guest_dir, os.path.join(d.pki, "libvirt", "server"),
                               broker_dn, os.path.join(d.pki, "spice"), log=log)
        host.start()
        lv = libvirt.open(host.uri(os.path.join(d.pki, "libvirt", "client")))
        for desk in ("desk-gpu", "desk-plain", *(f"race{i + 1}" for i in range(RACERS))):
            gpuhost.define_desktop(lv, desk, d.build, d.work)
        d.conf_text = config(d, host)
        d.start_broker()
        if not wait_until(lambda: d.host_up("gpu"), 60):
            raise RuntimeError("the broker does not reach the nested host")
        token, helper = d.login("bench", "bench-password"), d.login("helper", "helper-password")
        times = {"with-gpu": [], "without-gpu": []}
        for r in range(ROUNDS):
            for pool, desk in (("with-gpu", "desk-gpu"), ("without-gpu", "desk-plain")):
                times[pool].append(click_to_desktop(d, lv, token, helper, pool, desk))
                log(f"round {r + 1}/{ROUNDS} {pool}: ready {times[pool][-1][0]:.2f} s, "
                    f"frame {times[pool][-1][1]:.2f} s")
        tokens = [d.login(f"racer{i + 1}", "racer-password") for i in range(RACERS)]
        raced = race(d, tokens)
        report(times, raced, host.boot_seconds)
        lv.close()
        return 0
    except Exception as e:  # noqa: BLE001 (a failed run says why, with the log)
        log(f"failed: {type(e).__name__}: {e}")
        log("broker log:\n" + d.broker_tail(30))
        return 1
    finally:
        d.stop()
        if host is not None:
            host.stop()


def report(times, raced, boot):
    med = statistics.median
    g = [t for t in times["with-gpu"]]
    p = [t for t in times["without-gpu"]]
    rows = [("click to desktop on screen, s", med(x[1] for x in g), med(x[1] for x in p)),
            ("  of which until connect 200, s", med(x[0] for x in g), med(x[0] for x in p))]
    print(f"\nGPU desktops on the nested GPU host (level-1 boot {boot:.1f} s; "
          f"medians of {ROUNDS} rounds; TCG at both levels)")
    print(f"{'figure':<36} {'with the GPU':>13} {'without':>9} {'ratio':>7}")
    for label, a, b in rows:
        print(f"{label:<36} {a:>13.2f} {b:>9.2f} {a / b:>6.2f}x")
    got = sorted(t for t, what in raced if what == "desktop")
    told = [(t, what) for t, what in raced if what != "desktop"]
    print(f"\nallocation race: {RACERS} users at once, {RACERS - 1} devices")
    print(f"  desktops: {len(got)}, answered after " + ", ".join(f"{t:.2f} s" for t in got))
    for t, what in told:
        print(f"  refused after {t:.2f} s: {what}")


if __name__ == "__main__":
    sys.exit(main())
