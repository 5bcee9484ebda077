# SPDX-License-Identifier: ISC
"""paprika-client end to end: a real deployment (broker, gateway, QEMU
guests under libvirt's embedded driver) and the client itself.

Headless: the first frame it saves is the guest's own screen pixel for
pixel; a wrong password and an unreachable broker exit with their own
statuses and plain messages; --monitor 1 on this one-monitor desktop is
refused saying how many it has. GUI under Xvfb, typed into with xdotool: a
wrong password shows its message, the right one shows the desktop pixel
for pixel on the X screen in one window, with the clipboard shared and a
USB control (the pool's defaults), Ctrl+Alt+R resets it (the pool has
user_reset = yes) after a confirmation that Escape and Enter cancel and
its Reset button (Alt+R) accepts, the guest rebooting in the same view,
and Ctrl+Alt+Q logs out (the broker ends the session) back to the login
page."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, import_demo, note, wait_until  # noqa: E402

import_demo()
import deployment  # noqa: E402
import images  # noqa: E402
from brokerdeploy import ApiError, DEMO_PASSWORD, DEMO_USER  # noqa: E402
from desktop import (CLIENT, Log, guest_on_screen, need_tools, own_banner, run_deployment,  # noqa: E402
                    sessions_of, start_xvfb, wait_banner, x_screen, xdo)

HELPER_PASSWORD = "helpdesk-pass-1"
KEEP = ("login.png", "login-error.png", "desktop.png", "headless.png", "reset-confirm.png")


def headless(d, env, password, extra=(), broker=None, timeout=90):
    """Runs paprika-client --headless; (exit status, stderr, seconds)."""
    out = os.path.join(d.work, "headless.png")
    args = [CLIENT, "--headless", "--screenshot", out, "--verbose",
            "--broker", broker or f"https://127.0.0.1:{d.broker_port}",
            "--ca", os.path.join(d.pki, "ca", "ca-cert.pem"), "--user", DEMO_USER, *extra]
    t0 = time.monotonic()
    r = subprocess.run(args, input=password + "\n", text=True, capture_output=True,
                       env=env, timeout=timeout)
    return r.returncode, r.stderr, time.monotonic() - t0


def run(d, procs):
    d.make_pki()
    d.define_guests()
    d.add_user(DEMO_USER, DEMO_PASSWORD, "staff")
    d.add_user("helper", HELPER_PASSWORD, "helpdesk")
    d.start_gateway()
    d.start_broker(pool_extra="user_reset = yes\n")
    helper = d.login("helper", HELPER_PASSWORD)
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(d.work, "config"))
    env.pop("DISPLAY", None)

    # --- headless -------------------------------------------------------
    rc, err, _ = headless(d, env, "not-the-password")
    check(rc == 2 and "Wrong user name or password." in err,
          "headless with a wrong password exits 2 saying 'Wrong user name or password.'",
          f"exit {rc}: {err[-300:]}")
    rc, err, _ = headless(d, env, DEMO_PASSWORD,
                          broker=f"https://127.0.0.1:{deployment.free_port()}")
    check(rc == 3 and "Cannot reach the broker" in err,
          "headless with no broker listening exits 3 saying it cannot reach the broker",
          f"exit {rc}: {err[-300:]}")

    # Let the guest boot to its banner first, so that the client's first
    # frame is the banner and not a black screen.
    token = d.login()
    d.connect(token)
    desk = sessions_of(d, helper, DEMO_USER)[0]["desktop"]
    own = os.path.join(d.work, "own.png")
    wait_banner(d, helper, desk, own)

    rc, err, secs = headless(d, env, DEMO_PASSWORD, extra=["--no-logout"])
    shot = os.path.join(d.work, "headless.png")
    if not check(rc == 0 and os.path.exists(shot),
                 "headless --screenshot without an X display exits 0 with a PNG",
                 f"exit {rc}: {err[-500:]}"):
        return
    first = [line for line in err.splitlines() if "first frame" in line]
    note(f"headless: {secs:.1f}s in all; {first[0].split(': ', 1)[1] if first else err}")
    mine = sessions_of(d, helper, DEMO_USER)
    if not check(len(mine) == 1, "the headless client has one session", str(mine)):
        return
    desk = mine[0]["desktop"]
    d.guest_screenshot(helper, desk, own)
    ok, why = images.same_screen(images.read_image(shot), images.read_image(own),
                                 names=("the client's first frame", "the guest's screen"))
    check(ok, f"the headless first frame equals {desk}'s own screenshot", why)
    check(not [line for line in err.splitlines() if "WARNING" in line or "CRITICAL" in line],
          "headless prints no GLib warnings", err[-500:])
    rc, err, _ = headless(d, env, DEMO_PASSWORD, extra=["--no-logout", "--monitor", "1"])
    check(rc == 4 and "The desktop has 1 monitor: there is no monitor 1" in err,
          "headless --monitor 1 on a one-monitor desktop exits 4 saying it has 1 monitor",
          f"exit {rc}: {err[-500:]}")
    rc, err, _ = headless(d, env, DEMO_PASSWORD, extra=["--monitor", "16"])
    check(rc == 1 and "--monitor must be 0 to 15" in err,
          "headless --monitor 16 is refused at once", f"exit {rc}: {err[-300:]}")
    # Free the desktop for the GUI (a forced logout from the helpdesk).
    d.api("POST", f"/api/v1/users/{DEMO_USER}/logout", token=helper)

    # --- GUI under Xvfb ---------------------------------------------------
    genv = start_xvfb(env, procs, 140, 190)
    # USB redirection on (the default), sharing at once what this filter
    # allows: nothing (the test has no USB devices to give away).
    os.makedirs(os.path.join(d.work, "config", "paprika"), exist_ok=True)
    with open(os.path.join(d.work, "config", "paprika", "client.conf"), "w") as f:
        f.write("[client]\nusb_auto_share = -1,-1,-1,-1,0\n")
    log_path = os.path.join(d.work, "client-gui.log")
    with open(log_path, "w") as logf:
        gui = subprocess.Popen([CLIENT, "--verbose", "--no-audio",
                                "--broker", f"https://127.0.0.1:{d.broker_port}",
                                "--ca", os.path.join(d.pki, "ca", "ca-cert.pem")],
                               env=genv, stdout=logf, stderr=subprocess.STDOUT)
    procs.append(gui)
    log = Log(log_path)
    if not check(log.wait(r"ui: login$", 15), "the GUI shows the login page",
                 "\n".join(log.lines()[-10:])):
        return
    time.sleep(0.5)
    before = x_screen(genv, os.path.join(d.work, "login.png"))
    note(f"login page: {os.path.join(d.work, 'login.png')}")

    xdo(genv, "type", "--delay", "15", DEMO_USER)
    xdo(genv, "key", "Tab")
    xdo(genv, "type", "--delay", "15", "not-the-password")
    xdo(genv, "key", "Return")
    line = log.wait(r"ui: login: ", 15)
    check(line and line.endswith("Wrong user name or password."),
          "a wrong password in the GUI: 'Wrong user name or password.'", str(line))
    time.sleep(0.5)
    after = x_screen(genv, os.path.join(d.work, "login-error.png"))
    changed = images.compare(before, after)
    check(changed > 200, "the login page shows the message (the screen changed)",
          f"{changed} pixels changed")

    t0 = time.monotonic()
    xdo(genv, "type", "--delay", "15", DEMO_PASSWORD)
    xdo(genv, "key", "Return")
    check(log.wait(r"ui: logged in as demo", 15), "the right password logs in",
          "\n".join(log.lines()[-10:]))
    _, banner, found, why = guest_on_screen(d, helper, genv, own,
                                            os.path.join(d.work, "desktop.png"),
                                            90 - (time.monotonic() - t0), gui)
    note(f"GUI: Enter to the guest's screen on the X screen: {time.monotonic() - t0:.1f}s; "
         f"{os.path.join(d.work, 'desktop.png')}")
    check(found is not None, "the GUI shows the guest's own screen pixel for pixel",
          f"{why} (client {'running' if gui.poll() is None else 'exited'}): "
          + "\n".join(log.lines()[-10:]))
    check(any(line.endswith("ui: desktop office") for line in log.lines()),
          "the client says it shows desktop 'office'")
    line = next((x for x in log.lines() if "ui: clipboard " in x), "")
    check("ui: clipboard shared, USB redirection on, USB control shown " in line,
          "where client.conf and the pool allow both, the clipboard is shared and USB "
          "offered", line)
    check(any(x.endswith("ui: desktop has 1 monitor") for x in log.lines()) and
          not any("in its own window" in x for x in log.lines()),
          "a one-monitor desktop opens no window beyond the main one",
          "\n".join(x for x in log.lines() if "monitor" in x))
    check(any(line.endswith("usb: sharing at once: -1,-1,-1,-1,0") for line in log.lines()),
          "usb_auto_share from client.conf goes to the USB redirection",
          "\n".join(line for line in log.lines() if "usb" in line))
    with open(os.path.join(d.work, "config", "paprika", "client.conf")) as f:
        check("user=demo" in f.read().replace(" ", ""),
              "the user name is remembered in the user's client.conf")
    gw = [s for s in d.gateway_sessions() if s["user"] == DEMO_USER and s["tunnels"]]
    check(gw, "the GUI's SPICE channels go through the gateway", str(d.gateway_sessions()))
    # The login spinner turned through both logins. GtkSpinner would have
    # loaded Adwaita's SVG and librsvg with it: 7 MB of the idle client
    # (tests/bench/README.md, "Where the client's memory goes").
    with open(f"/proc/{gui.pid}/maps") as f:
        svg = sorted({x.split()[-1] for x in f if "rsvg" in x or "pixbufloader-svg" in x})
    check(not svg, "the GUI has loaded no SVG renderer (librsvg)", ", ".join(svg))

    # --- reset: Ctrl+Alt+R, confirmed; the desktop reboots in view ------------
    def resets():
        status, body, _ = d.api("GET", "/api/v1/audit?user=demo&limit=50", token=helper)
        if status != 200:
            raise ApiError(status, body)
        return [a for a in body["audit"] if a["action"] == "reset"]

    check(any(line.endswith("ui: reset offered (Ctrl+Alt+R)") for line in log.lines()),
          "the client offers Reset for a pool with user_reset = yes",
          "\n".join(log.lines()[-10:]))

    def ask_reset(what):
        xdo(genv, "key", "ctrl+alt+r")
        check(log.wait(r"ui: reset the desktop\?$", 10), what, "\n".join(log.lines()[-10:]))
        time.sleep(0.5)

    def cancel_reset(key, what):
        xdo(genv, "key", key)
        check(log.wait(r"ui: reset cancelled$", 10) and not resets(), what,
              ("\n".join(log.lines()[-5:]), resets()))

    before = sessions_of(d, helper, DEMO_USER)
    ask_reset("Ctrl+Alt+R asks for confirmation first")
    x_screen(genv, os.path.join(d.work, "reset-confirm.png"))
    cancel_reset("Escape", "Escape cancels the confirmation and nothing is reset")
    ask_reset("Ctrl+Alt+R asks again")
    cancel_reset("Return", "Enter cancels too (Cancel is the default) and nothing is reset")
    ask_reset("Ctrl+Alt+R asks a third time")
    xdo(genv, "key", "alt+r")
    line = log.wait(r"ui: (desktop office reset|reset failed: .*)$", 30)
    check(line and line.endswith("ui: desktop office reset"),
          "its Reset button (Alt+R) confirms, and the broker resets the desktop", str(line))
    done = resets()
    check(len(done) == 1 and done[0]["actor"] == DEMO_USER and done[0]["result"] == "ok" and
          done[0]["target"].startswith("office/"),
          "the broker's audit log has one reset of an office desktop by demo, ok", done)
    after = sessions_of(d, helper, DEMO_USER)
    check(before and after and after[0]["id"] == before[0]["id"],
          "the session outlives the reset", (before, after))
    # The SPICE connection stays: the guest boots to its banner again, in view.
    desk = after[0]["desktop"] if after else desk
    found, why = None, f"{desk}'s own screen did not show its banner again"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and found is None:
        time.sleep(0.5)
        banner = own_banner(d, helper, desk, own)
        if banner is None:
            continue
        screen = x_screen(genv, os.path.join(d.work, "after-reset.png"))
        found, why = images.find_screen(screen, banner)
    check(found is not None and not log.wait(r"ui: (login|reconnecting|connection lost)", 0.1),
          "after the reset the GUI still shows the guest's own screen, not reconnecting",
          why + "\n" + "\n".join(log.lines()[-10:]))

    # --- log out: Ctrl+Alt+Q ------------------------------------------------
    xdo(genv, "key", "ctrl+alt+q")
    check(log.wait(r"ui: login$", 10), "Ctrl+Alt+Q returns to the login page",
          "\n".join(log.lines()[-10:]))
    gone = wait_until(lambda: not sessions_of(d, helper, DEMO_USER), 10)
    check(gone, "the logout ended the session at the broker",
          str(sessions_of(d, helper, DEMO_USER)))
    time.sleep(0.5)
    screen = x_screen(genv, os.path.join(d.work, "logged-out.png"))
    # The banner seen last: a blank one would be "not found" anywhere.
    check(banner is not None and images.find(screen, banner) is None,
          "after the logout the desktop is no longer on the screen",
          "no banner was seen to look for" if banner is None else "it still is")

    check(gui.poll() is None, "the GUI client still runs")
    noise = [line for line in log.lines() if "WARNING" in line or "CRITICAL" in line]
    check(not noise, "the GUI prints no GLib warnings or criticals", "\n".join(noise[:5]))


def main():
    need_tools("Xvfb", "xwd", "xdotool", "unshare", "qemu-img")
    return run_deployment(run, KEEP)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
