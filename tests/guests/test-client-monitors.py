# SPDX-License-Identifier: ISC
"""paprika-client and a desktop with two monitors, end to end: a real
deployment (broker, gateway, QEMU under libvirt's embedded driver) whose
static pool "two" gives demo a guest with two qxl video devices.

demo/agent-guest/build.sh --monitors makes that guest from Debian packages
(the Debian 12 kernel's qxl driver, busybox): it draws colour bars side by
side on its first monitor and stacked on its second. Each monitor's own
screen comes from libvirt (the broker's screenshot route with ?screen=N).

Headless: --monitor 0 and --monitor 1 each save their monitor pixel for
pixel, and --monitor 2 exits 4 saying the desktop has 2 monitors. GUI under
Xvfb: one window per monitor, each showing its own monitor pixel for pixel;
then in kiosk mode on an X display with two screens (Xinerama), each
monitor full screen in its window, and no GLib warning or critical in
either client's output (the second monitor's keyboard grab).

The Debian packages are downloaded on the first run (cached in
build/agent-guest); a run that cannot get them fails."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (build_agent_guest, check, finish, import_demo, note,  # noqa: E402
                     read_text as read, wait_until)

import_demo()
import deployment  # noqa: E402
import images  # noqa: E402
from brokerdeploy import DEMO_PASSWORD, DEMO_USER  # noqa: E402
from desktop import (CLIENT, client_windows, free_display, need_tools,  # noqa: E402
                    run_deployment, start_client, x_screen, xdo)

HELPER_PASSWORD = "helpdesk-pass-1"
DESK = "two"
KEEP = ("own-0.png", "own-1.png", "headless-0.png", "headless-1.png", "gui.png",
        "kiosk-0.png", "kiosk-1.png")
W, H = 1024, 768  # the guest's framebuffers
DRAWN = "monitors-guest: both monitors drawn"
# The eight colours of init-monitors.sh's bars, in order: side by side on
# monitor 0 (bar i in columns i*W/8 to (i+1)*W/8), stacked on monitor 1.
BARS = [bytes.fromhex(c) for c in ("ffffff", "ffff00", "00ffff", "00ff00",
                                   "ff00ff", "ff0000", "0000ff", "404040")]

POOL = f"""[pool {DESK}]
title = Two monitors
kind = static
host = local
assign = {DEMO_USER}={DESK}
"""

# Two qxl video devices: two SPICE display channels, two libvirt screens.
DEVICES = """    <video><model type='qxl' primary='yes'/></video>
    <video><model type='qxl'/></video>
"""


def own_screens(d, helper):
    """Each monitor's own screen from libvirt, once both show their bars:
    [(w, h, rgb), (w, h, rgb)], also written to own-N.png."""
    shots = []
    for n in (0, 1):
        path = os.path.join(d.work, f"own-{n}.png")
        d.guest_screenshot(helper, DESK, path, pool=DESK, screen=n)
        shots.append(images.read_image(path))
    return shots


def shows_bars(img, n):
    """Whether img is monitor n's own pattern (init-monitors.sh): the
    middle row (monitor 0) or column (monitor 1) runs through all eight
    bars in order, each its width, and the corners are white and grey."""
    w, h, rgb = img
    if (w, h) != (W, H) or rgb[:3] != BARS[0] or rgb[-3:] != BARS[-1]:
        return False
    if n == 0:
        want = b"".join(c * ((i + 1) * W // 8 - i * W // 8) for i, c in enumerate(BARS))
        return rgb[H // 2 * W * 3:(H // 2 + 1) * W * 3] == want
    want = b"".join(c * ((i + 1) * H // 8 - i * H // 8) for i, c in enumerate(BARS))
    return b"".join(rgb[(y * W + W // 2) * 3:(y * W + W // 2 + 1) * 3] for y in range(H)) == want


def drawn(shots):
    """Whether both screens show their own bars (never blank, never QEMU's
    placeholder)."""
    return all(shows_bars(img, n) for n, img in enumerate(shots))


def headless(d, env, monitor, out):
    """paprika-client --headless --monitor N; (exit status, stderr)."""
    r = subprocess.run([CLIENT, "--headless", "--screenshot", out, "--verbose", "--no-logout",
                        "--broker", f"https://127.0.0.1:{d.broker_port}",
                        "--ca", os.path.join(d.pki, "ca", "ca-cert.pem"),
                        "--user", DEMO_USER, "--desktop", DESK, "--monitor", str(monitor)],
                       input=DEMO_PASSWORD + "\n", text=True, capture_output=True,
                       env=env, timeout=90)
    return r.returncode, r.stderr


def start_x(procs, *screens):
    """Xvfb with these screens ("WxH"; several: Xinerama); its environment."""
    display = free_display(240, 290)
    args = ["Xvfb", display, "-nolisten", "tcp", "+bs"]
    for i, size in enumerate(screens):
        args += ["-screen", str(i), f"{size}x24"]
    if len(screens) > 1:
        args.append("+xinerama")
    procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_until(lambda: os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"), 5, 0.05)
    return display


def log_in(genv, log):
    # No window manager: the keyboard goes where the pointer is.
    xdo(genv, "mousemove", "200", "200")
    xdo(genv, "type", "--delay", "15", DEMO_USER)
    xdo(genv, "key", "Tab")
    xdo(genv, "type", "--delay", "15", DEMO_PASSWORD)
    xdo(genv, "key", "Return")
    return log.wait(r"ui: logged in as demo", 20)


def monitor_windows(genv, log, what):
    """Once the client opened its second monitor's window: [main, second]
    as client_windows() gives them, or None."""
    check(log.wait(r"ui: desktop has 2 monitors$", 60), f"{what}: the client counts 2 monitors",
          log.tail())
    if not check(any(x.endswith("ui: display 1, monitor 0 (1024x768) in its own window")
                     for x in log.lines()),
                 f"{what}: the second monitor gets a window of its own", log.tail()):
        return None
    time.sleep(1)
    wins = client_windows(genv)
    main = [w for w in wins if w[5] == "Two monitors"]
    second = [w for w in wins if w[5] == "Two monitors: monitor 2"]
    if not check(len(main) == 1 and len(second) == 1,
                 f"{what}: two client windows, 'Two monitors' and 'Two monitors: monitor 2'",
                 wins):
        return None
    return [main[0], second[0]]


def inside(pos, win, w, h):
    return pos is not None and win[3] <= pos[0] and pos[0] + w <= win[3] + win[1] \
        and win[4] <= pos[1] and pos[1] + h <= win[4] + win[2]


def run(d, procs, guest_dir):
    d.make_pki()
    d.define_guests()
    serial_log = d.define_kernel_guest(
        DESK, os.path.join(guest_dir, "vmlinuz"), os.path.join(guest_dir, "initrd-monitors.gz"),
        DEVICES, cmdline=" vt.global_cursor_default=0 consoleblank=0")
    d.add_user(DEMO_USER, DEMO_PASSWORD, "staff")
    d.add_user("helper", HELPER_PASSWORD, "helpdesk")
    d.start_gateway()
    conf = d.broker_config() + POOL
    d.conf_text = conf
    d.start_broker()
    helper = d.login("helper", HELPER_PASSWORD)
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(d.work, "config"))
    env.pop("DISPLAY", None)

    # --- the guest's two monitors, from libvirt --------------------------------
    t0 = time.monotonic()
    d.connect(d.login(), pool=DESK)
    up = wait_until(lambda: DRAWN in read(serial_log), 120, 0.5)
    if not check(up, f"the two-monitor guest boots and draws ({time.monotonic() - t0:.0f}s)",
                 read(serial_log)[-1500:]):
        return
    last = []

    def own_drawn():
        last[:] = own_screens(d, helper)
        return last if drawn(last) else None
    own = wait_until(own_drawn, 20, 0.5)
    if not check(own, "libvirt's screens 0 and 1 (?screen=N) are the guest's two monitors, "
                 "each its own bars",
                 "; ".join(f"screen {n} shows {images.describe(img)} (own-{n}.png)"
                           for n, img in enumerate(last))):
        return
    status, body, _ = d.api("GET", f"/api/v1/pools/{DESK}/desktops/{DESK}/screenshot?screen=16",
                            token=helper)
    check(status == 400 and "screen is 0 to 15" in str(body),
          "the screenshot route refuses ?screen=16", (status, body))

    # --- headless: --monitor 0, 1, 2 --------------------------------------------
    for n in (0, 1):
        shot = os.path.join(d.work, f"headless-{n}.png")
        rc, err = headless(d, env, n, shot)
        if not check(rc == 0 and os.path.exists(shot),
                     f"headless --monitor {n} exits 0 with a PNG", f"exit {rc}: {err[-500:]}"):
            continue
        mine = images.read_image(shot)
        ok, why = images.same_screen(mine, own[n], names=(f"the client's monitor {n}",
                                                         f"libvirt's screen {n}"))
        check(ok, f"headless --monitor {n} equals libvirt's screen {n} pixel for pixel", why)
        check(images.compare(mine, own[1 - n]) > 0, f"and not screen {1 - n}")
        check(not [x for x in err.splitlines() if "WARNING" in x or "CRITICAL" in x],
              f"headless --monitor {n} prints no GLib warnings", err[-500:])
    rc, err = headless(d, env, 2, os.path.join(d.work, "headless-2.png"))
    check(rc == 4 and "The desktop has 2 monitors: there is no monitor 2" in err,
          "headless --monitor 2 exits 4 saying 'The desktop has 2 monitors: there is no "
          "monitor 2'", f"exit {rc}: {err[-500:]}")
    broker_url = f"https://127.0.0.1:{d.broker_port}"
    ca = os.path.join(d.pki, "ca", "ca-cert.pem")

    # --- GUI: a window per monitor ----------------------------------------------
    genv = dict(env, DISPLAY=start_x(procs, "2200x1000"))
    gui, log = start_client(genv, os.path.join(d.work, "client-gui.log"), procs,
                            "--broker", broker_url, "--ca", ca, "--desktop", DESK)
    if not check(log.wait(r"ui: login$", 15), "the GUI shows its login page", log.tail()):
        return
    time.sleep(0.5)
    t0 = time.monotonic()
    check(log_in(genv, log), "the GUI logs in", log.tail())
    wins = monitor_windows(genv, log, "GUI")
    if wins is None:
        return
    # No window manager here: room for the main window's header bar, and
    # the second window beside it.
    xdo(genv, "windowsize", wins[0][0], str(W + 40), str(H + 120))
    xdo(genv, "windowmove", wins[1][0], str(W + 80), "0")
    found = [None, None]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and None in found:
        time.sleep(0.5)
        placed = client_windows(genv)
        wins = [next(w for w in placed if w[0] == v[0]) for v in wins]
        screen = x_screen(genv, os.path.join(d.work, "gui.png"))
        found = [images.find_screen(screen, own[n], f"monitor {n}")[0] for n in (0, 1)]
        found = [p if inside(p, wins[n], W, H) else None for n, p in enumerate(found)]
    note(f"GUI: Enter to both monitors on the X screen: {time.monotonic() - t0:.1f}s; "
         f"{os.path.join(d.work, 'gui.png')}")
    for n in (0, 1):
        check(found[n], f"window {n + 1} ({wins[n][5]!r}) shows monitor {n} pixel for pixel",
              f"found at {found[n]}, windows {wins}")
    check(not log.noise(), "the GUI prints no GLib warnings or criticals",
          "\n".join(log.noise()[:5]))
    gui.send_signal(signal.SIGTERM)
    gui.wait(10)

    # --- kiosk: each monitor full screen, no criticals ---------------------------
    conf_dir = os.path.join(d.work, "config", "paprika")
    os.makedirs(conf_dir, exist_ok=True)
    with open(os.path.join(conf_dir, "client.conf"), "w") as f:
        f.write(f"[broker]\nurl = {broker_url}\nca = {ca}\n\n[client]\nkiosk = true\n")
    kenv = dict(env, DISPLAY=start_x(procs, f"{W}x{H}", f"{W}x{H}"))
    kiosk, klog = start_client(kenv, os.path.join(d.work, "client-kiosk.log"), procs,
                               "--desktop", DESK)
    if not check(klog.wait(r"ui: login$", 15), "the kiosk shows its login page", klog.tail()):
        return
    time.sleep(0.5)
    check(log_in(kenv, klog), "the kiosk logs in", klog.tail())
    wins = monitor_windows(kenv, klog, "kiosk")
    if wins is None:
        return
    # Xvfb puts both screens at +0+0: each window in turn on top.
    same = [(False, "not compared"), (False, "not compared")]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (same[0][0] and same[1][0]):
        for n in (0, 1):
            xdo(kenv, "windowraise", wins[n][0])
            time.sleep(0.5)
            shot = x_screen(kenv, os.path.join(d.work, f"kiosk-{n}.png"))
            same[n] = images.same_screen(shot, own[n], names=("the X screen", f"monitor {n}"))
    for n in (0, 1):
        check(same[n][0] and wins[n][1:] == (W, H, 0, 0, wins[n][5]),
              f"kiosk window {n + 1} covers its {W}x{H} screen, monitor {n} pixel for pixel",
              f"{wins[n]}: {same[n][1]}")
    time.sleep(2)
    check(kiosk.poll() is None, "the kiosk still runs")
    check(not klog.noise(), "the kiosk prints no GLib warnings or criticals "
          "(the second monitor's keyboard grab)", "\n".join(klog.noise()[:5]))


def main():
    need_tools("Xvfb", "xwd", "xdotool", "xwininfo", "unshare", "qemu-img")
    try:
        guest_dir = build_agent_guest("--monitors")
    except (deployment.DeploymentError, subprocess.TimeoutExpired) as e:
        check(False, "the two-monitor guest builds", e)
        return finish()
    return run_deployment(lambda d, procs: run(d, procs, guest_dir), KEEP, guests=1)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
