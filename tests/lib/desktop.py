# SPDX-License-Identifier: ISC
"""What the tests with a desktop on a screen share: a deployment run to its
end, the broker's sessions, paprika-client and its log, an X display (Xvfb)
and what is on it."""

import os
import re
import subprocess
import time

import deployment
import images
from brokerdeploy import DEMO_USER, ApiError, BrokerDeployment
from paprikatest import (Missing, Skip, check, checks, finish, need, note, stop_process,
                         top_builddir, top_srcdir, wait_until)

CLIENT = os.path.join(top_builddir, "paprika-client")


def sessions_of(d, helper, user):
    status, body, _ = d.api("GET", "/api/v1/sessions", token=helper)
    if status != 200:
        raise ApiError(status, body)
    return [s for s in body["sessions"] if s["user"] == user]


def free_display(first, last):
    """An X display number in first..last that no server holds."""
    for n in range(first, last):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            return f":{n}"
    raise deployment.DeploymentError("no free X display number")


def x_screen(env, path):
    """The X screen as (w, h, rgb), also written to path as PNG."""
    xwd = path + ".xwd"
    subprocess.run(["xwd", "-root", "-silent", "-out", xwd], env=env, check=False)
    screen = images.read_xwd(xwd)
    os.unlink(xwd)
    images.write_png(path, *screen)
    return screen


class Log:
    """A GUI client's stderr, read as it grows."""

    def __init__(self, path):
        self.path = path
        self.seen = 0

    def lines(self):
        with open(self.path) as f:
            return f.read().splitlines()

    def tail(self, n=12):
        return "\n".join(self.lines()[-n:])

    def wait(self, pattern, timeout):
        """The first new line matching pattern within timeout, or None."""
        def match():
            lines = self.lines()
            for i in range(self.seen, len(lines)):
                if re.search(pattern, lines[i]):
                    self.seen = i + 1
                    return lines[i]
            return None
        return wait_until(match, timeout, 0.1)

    def noise(self):
        """Its GLib warnings and criticals."""
        return [x for x in self.lines() if "WARNING" in x or "CRITICAL" in x]


def own_banner(d, helper, guest, path, pool="office"):
    """guest's own screen (the broker's screenshot route), also at path:
    (w, h, rgb) when it shows the demo guest's banner, else None."""
    d.guest_screenshot(helper, guest, path, pool=pool)
    own = images.read_image(path)
    return own if images.shows_banner(own) else None


def wait_banner(d, helper, guest, path, timeout=90, pool="office"):
    """Waits until guest's own screen shows the demo guest's banner, which
    every comparison with it needs first: (w, h, rgb), also at path. A
    check either way; the failed one says what the screen showed last."""
    t0 = time.monotonic()
    own = wait_until(lambda: own_banner(d, helper, guest, path, pool), timeout, 0.5)
    check(own is not None, f"{guest}'s own screen shows the demo guest's banner "
          f"({time.monotonic() - t0:.0f}s)",
          f"not within {timeout}s: it shows "
          f"{images.describe(images.read_image(path))} ({path})")
    return own


def guest_on_screen(d, helper, genv, own, shot, timeout, proc, user=DEMO_USER):
    """Waits until user's desktop is ready, its own screen shows the demo
    guest's banner, and the X screen (saved at shot) holds that screen pixel
    for pixel: (the broker's session, the banner, where on the X screen, a
    sentence). The session is None when that did not happen within timeout
    or while proc ran; the sentence then says how far it got."""
    deadline = time.monotonic() + timeout
    banner, why = None, "the desktop never got ready"
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
        mine = sessions_of(d, helper, user)
        if not mine or mine[0]["state"] not in ("ready", "connected"):
            continue
        # The guest's own screen first: until it shows its banner there is
        # nothing to look for (a black guest is "found" on any black window).
        banner = own_banner(d, helper, mine[0]["desktop"], own)
        if banner is None:
            why = f"{mine[0]['desktop']}'s own screen never showed its banner"
            continue
        found, why = images.find_screen(x_screen(genv, shot), banner)
        if found is not None:
            return mine[0], banner, found, why
    return None, banner, None, why


def start_xvfb(env, procs, first, last):
    """An Xvfb of 1024x768 on a free display in first..last, ended with
    procs: env with its DISPLAY."""
    display = free_display(first, last)
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(xvfb)
    wait_until(lambda: os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"), 5, 0.05)
    return dict(env, DISPLAY=display)


def xdo(env, *args):
    subprocess.run(["xdotool", *args], env=env, check=False)


def client_windows(env):
    """The client's top-level windows on the root, largest first: a list of
    (id, w, h, x, y, title)."""
    out = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True,
                         text=True).stdout
    wins = []
    for line in out.splitlines():
        m = re.match(r'\s+(0x[0-9a-f]+) "(.*)": \("paprika-client" "Paprika-client"\)\s+'
                     r'(\d+)x(\d+)\+(-?\d+)\+(-?\d+)', line)
        if m:
            wins.append((m.group(1), *(int(v) for v in m.groups()[2:]), m.group(2)))
    return sorted(wins, key=lambda w: -w[1] * w[2])


def start_client(env, log_path, procs, *args):
    """The GUI client, verbose, its output to log_path: (process, Log)."""
    with open(log_path, "w") as logf:
        p = subprocess.Popen([CLIENT, "--verbose", "--no-audio", *args], env=env,
                             stdout=logf, stderr=subprocess.STDOUT)
    procs.append(p)
    return p, Log(log_path)


def need_tools(*tools):
    """Raises Missing for the client or the first tool that is not there:
    scripts/deps.sh installs them all."""
    if not os.access(CLIENT, os.X_OK):
        raise Missing(f"{CLIENT} was not built (configure found no "
                      "spice-client-gtk-3.0: scripts/deps.sh installs it)")
    for tool in tools:
        need(tool)


def run_deployment(run, keep, guests=2):
    """run(d, procs) on a new BrokerDeployment: an error on the way is a
    failed check. Then ends the processes run left in procs and the
    deployment; where every check passed, keeps of the work directory only
    the files named in keep. Returns finish()'s exit status."""
    started = time.monotonic()
    work = deployment.make_workdir()
    d = BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=guests)
    procs = []
    try:
        run(d, procs)
    except Skip as e:
        checks.skip(str(e))
    except (deployment.DeploymentError, ApiError, OSError, ValueError, KeyError,
            StopIteration, subprocess.TimeoutExpired) as e:
        check(False, "the deployment works end to end", f"{type(e).__name__}: {e}")
        note(d.broker_tail(20))
    finally:
        for p in reversed(procs):
            stop_process(p)
        d.stop()
    failed = finish(f" in {time.monotonic() - started:.0f}s")
    if failed:
        print(f"# work directory kept: {work}")
    else:
        for name in os.listdir(work):
            if name not in keep:
                subprocess.run(["rm", "-rf", os.path.join(work, name)])
        print(f"# screenshots kept in {work}")
    return failed
