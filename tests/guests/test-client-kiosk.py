# SPDX-License-Identifier: ISC
"""paprika-client in kiosk mode and its automatic reconnect, end to end: a
real deployment (broker, gateway, QEMU guests under libvirt's embedded
driver) and the GUI client under Xvfb, typed into with xdotool.

Kiosk (from client.conf's [client] group): the window covers the whole X
screen with no decorations, and a close request (what a window manager
sends for Alt+F4 or its close button) does not end it, while the same
request does end a client outside kiosk mode. Reconnect: with the desktop
shown, the gateway is stopped and started again on the same ports; the
client shows its countdown, retries with backoff and comes back to the same
broker session, the guest's own screen again on the X screen. The kiosk
hotkey's menu logs out, and a login ended at the broker (helpdesk) sends
the client to its login page without retrying; the program runs on.

The pool has clipboard = no and usbredir = no and no user_reset: its .vv
file has enable-usbredir=0; the client shares no clipboard (spice-gtk's
auto-clipboard, read back), opens no USB redirection and shows no USB
control; the kiosk menu has neither USB nor Reset, and Ctrl+Alt+R neither
asks nor resets."""

import ctypes
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, import_demo, note, wait_until  # noqa: E402

import_demo()
import images  # noqa: E402
from brokerdeploy import DEMO_PASSWORD, DEMO_USER  # noqa: E402
from desktop import (client_windows, free_display, guest_on_screen, need_tools, own_banner,  # noqa: E402
                    run_deployment, sessions_of, start_client, x_screen, xdo)

HELPER_PASSWORD = "helpdesk-pass-1"
KEEP = ("kiosk-login.png", "kiosk-desktop.png", "kiosk-countdown.png",
        "kiosk-reconnected.png", "kiosk-menu.png", "kiosk-ctrl-alt-r.png")
# Not the client's default window size (1024x768): a window that is not
# made full screen cannot cover it by chance.
SCREEN_W, SCREEN_H = 1280, 800
RECONNECT_TIMEOUT = 60
GATEWAY_DOWN = 5  # seconds: long enough for a failed try and a longer wait


def client_window(env):
    """The client's largest top-level window: (id, w, h, x, y), or None."""
    wins = client_windows(env)
    return wins[0][:5] if wins else None


def xprop(env, win, name):
    return subprocess.run(["xprop", "-id", win, name], env=env, capture_output=True,
                          text=True).stdout.strip()


def close_request(env, win):
    """Sends win the WM_DELETE_WINDOW request a window manager sends for
    Alt+F4 or its close button (there is no window manager under Xvfb, and
    `xdotool windowclose` destroys the window instead of asking)."""
    display = env["DISPLAY"].encode()
    x11 = ctypes.CDLL("libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int,
                               ctypes.c_long, ctypes.c_void_p]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong),
                    ("send_event", ctypes.c_int), ("display", ctypes.c_void_p),
                    ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("l", ctypes.c_long * 5)]

    class XEvent(ctypes.Union):
        _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]

    dpy = x11.XOpenDisplay(display)
    if not dpy:
        raise OSError(f"cannot open X display {display.decode()}")
    ev = XEvent()
    ev.xclient.type = 33  # ClientMessage
    ev.xclient.window = int(win, 16)
    ev.xclient.message_type = x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
    ev.xclient.format = 32
    ev.xclient.l[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
    sent = x11.XSendEvent(dpy, int(win, 16), 0, 0, ctypes.byref(ev))
    x11.XFlush(dpy)
    x11.XCloseDisplay(dpy)
    return sent != 0


def log_in(genv, log):
    xdo(genv, "type", "--delay", "15", DEMO_USER)
    xdo(genv, "key", "Tab")
    xdo(genv, "type", "--delay", "15", DEMO_PASSWORD)
    xdo(genv, "key", "Return")
    return log.wait(r"ui: logged in as demo", 20)


def run(d, procs):
    d.make_pki()
    d.define_guests()
    d.add_user(DEMO_USER, DEMO_PASSWORD, "staff")
    d.add_user("helper", HELPER_PASSWORD, "helpdesk")
    d.start_gateway()
    d.start_broker(pool_extra="clipboard = no\nusbredir = no\n")
    helper = d.login("helper", HELPER_PASSWORD)

    # --- the pool's policy in the .vv file, for remote-viewer -----------------
    token = d.login()
    vv = d.connect(token, vv=True)
    d.api("POST", "/api/v1/logout", token=token)
    check("\nenable-usbredir=0\n" in vv,
          "the .vv file of a pool with usbredir = no has enable-usbredir=0", vv[-200:])
    check(wait_until(lambda: not sessions_of(d, helper, DEMO_USER), 10),
          "that session ends with its logout", str(sessions_of(d, helper, DEMO_USER)))
    broker_url = f"https://127.0.0.1:{d.broker_port}"
    ca = os.path.join(d.pki, "ca", "ca-cert.pem")

    display = free_display(190, 240)
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{SCREEN_W}x{SCREEN_H}x24",
                             "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(xvfb)
    wait_until(lambda: os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"), 5, 0.05)

    # --- the close request ends a client outside kiosk mode ---------------
    plain_env = dict(os.environ, DISPLAY=display,
                     XDG_CONFIG_HOME=os.path.join(d.work, "config-plain"))
    plain, plog = start_client(plain_env, os.path.join(d.work, "client-plain.log"), procs,
                               "--broker", broker_url, "--ca", ca)
    if not check(plog.wait(r"ui: login$", 15), "a client outside kiosk mode shows its login page",
                 plog.tail()):
        return
    time.sleep(0.5)
    win = client_window(plain_env)
    check(win is not None and (win[1], win[2]) != (SCREEN_W, SCREEN_H),
          "outside kiosk mode the window does not cover the screen", str(win))
    check(win is not None and close_request(plain_env, win[0])
          and wait_until(lambda: plain.poll() is not None, 15),
          "outside kiosk mode the close request ends the client (the request works)",
          f"window {win}, {'running' if plain.poll() is None else 'exited'}")

    # --- kiosk mode, from client.conf ---------------------------------------
    conf_dir = os.path.join(d.work, "config", "paprika")
    os.makedirs(conf_dir)
    with open(os.path.join(conf_dir, "client.conf"), "w") as f:
        f.write(f"[broker]\nurl = {broker_url}\nca = {ca}\n\n"
                f"[client]\nkiosk = true\nlock_broker = true\n"
                f"reconnect_timeout = {RECONNECT_TIMEOUT}\n")
    genv = dict(os.environ, DISPLAY=display, XDG_CONFIG_HOME=os.path.join(d.work, "config"))
    gui, log = start_client(genv, os.path.join(d.work, "client-kiosk.log"), procs)
    check(log.wait(r"ui: kiosk mode, menu on <Control><Alt>End$", 15),
          "client.conf's kiosk = true starts kiosk mode, menu on Ctrl+Alt+End", log.tail())
    if not check(log.wait(r"ui: login$", 15), "the kiosk shows its login page", log.tail()):
        return
    time.sleep(1)
    win = client_window(genv)
    check(win is not None and win[1:] == (SCREEN_W, SCREEN_H, 0, 0),
          f"the kiosk window covers the whole {SCREEN_W}x{SCREEN_H} screen at +0+0", str(win))
    if win is None:
        return
    state = xprop(genv, win[0], "_NET_WM_STATE")
    check("_NET_WM_STATE_FULLSCREEN" in state, "the kiosk window asks to be full screen", state)
    hints = xprop(genv, win[0], "_MOTIF_WM_HINTS")
    m = re.search(r"= (0x[0-9a-f]+), (0x[0-9a-f]+), (0x[0-9a-f]+)", hints)
    check(m and int(m.group(1), 16) & 2 and int(m.group(3), 16) == 0,
          "the kiosk window asks for no decorations (_MOTIF_WM_HINTS)", hints)
    screen = x_screen(genv, os.path.join(d.work, "kiosk-login.png"))
    w, h, rgb = screen
    corners = {bytes(rgb[3 * (y * w + x):3 * (y * w + x) + 3])
               for x, y in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))}
    check(len(corners) == 1 and corners != {b"\0\0\0"},
          "the login page fills the screen to its four corners", str(corners))

    xdo(genv, "key", "alt+F4")
    check(close_request(genv, win[0]), "the close request is sent to the kiosk window")
    check(log.wait(r"ui: kiosk: closing the window refused", 10),
          "the kiosk refuses to close its window", log.tail())
    time.sleep(2)
    check(gui.poll() is None and client_window(genv) == win,
          "Alt+F4 and the close request leave the kiosk running, full screen",
          f"{'running' if gui.poll() is None else 'exited'}, window {client_window(genv)}")
    if gui.poll() is not None:
        return

    # --- log in, the desktop --------------------------------------------------
    t0 = time.monotonic()
    check(log_in(genv, log), "the kiosk logs in", log.tail())
    own = os.path.join(d.work, "own.png")
    shown, banner, _, why = guest_on_screen(d, helper, genv, own,
                                         os.path.join(d.work, "kiosk-desktop.png"), 120, gui)
    if not check(shown, "the kiosk shows the guest's own screen pixel for pixel",
                 f"after {time.monotonic() - t0:.0f}s: {why}\n" + log.tail()):
        return
    note(f"kiosk: login to the guest's screen: {time.monotonic() - t0:.1f}s")
    session = shown["id"]
    line = next((x for x in log.lines() if "ui: clipboard " in x), "")
    check("ui: clipboard not shared, USB redirection off, USB control hidden " in line,
          "with the pool's clipboard = no and usbredir = no the client shares no "
          "clipboard, redirects no USB and shows no USB control", line or log.tail())

    # --- no user_reset: Ctrl+Alt+R does nothing visible ------------------------
    check(not any("ui: reset offered" in x for x in log.lines()),
          "the client offers no Reset for a pool without user_reset")
    xdo(genv, "key", "ctrl+alt+r")
    check(not log.wait(r"ui: reset the desktop\?$", 3),
          "Ctrl+Alt+R asks nothing", log.tail())
    screen = x_screen(genv, os.path.join(d.work, "kiosk-ctrl-alt-r.png"))
    banner = own_banner(d, helper, shown["desktop"], own)
    found, why = images.find_screen(screen, banner) if banner else \
        (None, f"{shown['desktop']}'s own screen no longer shows its banner")
    check(found is not None,
          "and the screen still shows the guest's own screen, nothing over it", why)
    status, body, _ = d.api("GET", "/api/v1/audit?user=demo&limit=50", token=helper)
    check(status == 200 and not [a for a in body["audit"] if a["action"] == "reset"],
          "and nothing is reset", body)
    xdo(genv, "key", "ctrl+alt+End")
    line = log.wait(r"ui: kiosk menu: ", 10)
    check(line and line.endswith("ui: kiosk menu: Log out | Reconnect | Send Ctrl+Alt+Del"),
          "the kiosk menu offers neither USB devices nor Reset", str(line))
    time.sleep(0.5)
    x_screen(genv, os.path.join(d.work, "kiosk-menu.png"))
    xdo(genv, "key", "Escape")
    time.sleep(0.5)
    line = next((x for x in log.lines() if "ui: connecting to office (session" in x), "")
    check(f"(session {session})" in line, "the client connected to the broker's session",
          f"broker {session}, client: {line}")

    # --- the gateway goes away and comes back -----------------------------------
    ports = (d.plain_port, d.tls_port)
    t_down = time.monotonic()
    d.stop_gateway()
    check(log.wait(r"ui: connection lost: ", 15), "the client notices the lost connection",
          log.tail())
    check(log.wait(r"ui: reconnecting in 2 s: ", 5), "it counts down 2 s to its first try",
          log.tail())
    time.sleep(1)
    screen = x_screen(genv, os.path.join(d.work, "kiosk-countdown.png"))
    # The banner seen last: a blank one would be "not found" anywhere.
    check(banner is not None and images.find(screen, banner) is None,
          "the countdown page replaces the desktop on the screen",
          "no banner was seen to look for" if banner is None else "the desktop is still there")
    check(log.wait(r"ui: reconnecting to office, try 1$", 10), "its first try", log.tail())
    check(log.wait(r"ui: reconnecting in 4 s: ", 20),
          "with the gateway still down, the next wait doubles to 4 s", log.tail())
    time.sleep(max(0.0, GATEWAY_DOWN - (time.monotonic() - t_down)))
    d.start_gateway()
    check((d.plain_port, d.tls_port) == ports, "the gateway is back on the same ports")
    line = log.wait(r"ui: reconnected to office \(session ", RECONNECT_TIMEOUT)
    check(line and f"(session {session})" in line,
          f"the client reconnects to the same session within {RECONNECT_TIMEOUT}s",
          str(line) + "\n" + log.tail())
    note(f"gateway down to reconnected: {time.monotonic() - t_down:.1f}s: {line}")
    again, _, _, why = guest_on_screen(d, helper, genv, own,
                                    os.path.join(d.work, "kiosk-reconnected.png"), 30, gui)
    check(again, "the X screen shows the guest's own screen again", f"{why}\n" + log.tail())
    check(again and again["id"] == session,
          "the broker shows the same session as before the gateway went away",
          f"before {session}, now {again and again['id']}")
    gw = [s for s in d.gateway_sessions() if s["user"] == DEMO_USER and s["tunnels"]]
    check(gw, "the client's channels go through the restarted gateway",
          str(d.gateway_sessions()))

    # --- the kiosk hotkey's menu: Log out --------------------------------------
    xdo(genv, "key", "ctrl+alt+End")
    check(log.wait(r"ui: kiosk menu: ", 10), "Ctrl+Alt+End opens the kiosk menu", log.tail())
    time.sleep(0.5)
    xdo(genv, "key", "Return")
    check(log.wait(r"ui: login$", 10), "its Log out returns to the login page", log.tail())
    check(wait_until(lambda: not sessions_of(d, helper, DEMO_USER), 10),
          "the logout ended the session at the broker", str(sessions_of(d, helper, DEMO_USER)))
    check(gui.poll() is None, "the kiosk still runs after the logout")

    # --- the login ends at the broker: no retrying ------------------------------
    t0 = time.monotonic()
    check(log_in(genv, log), "the kiosk logs in again", log.tail())
    again, _, _, why = guest_on_screen(d, helper, genv, own, os.path.join(d.work, "again.png"),
                                    120, gui)
    if not check(again, "the kiosk shows the guest again", f"{why}\n" + log.tail()):
        return
    d.api("POST", f"/api/v1/users/{DEMO_USER}/logout", token=helper)
    check(log.wait(r"ui: reconnecting: the login is gone", 20),
          "after the helpdesk logs the user out, the broker answers the reconnect: "
          "login gone", log.tail())
    line = log.wait(r"ui: login: ", 5)
    check(line and line.endswith("Your login has ended: log in again."),
          "the kiosk goes to its login page at once, saying why", str(line))
    time.sleep(3)
    retries = [x for x in log.lines()[log.seen:] if "ui: reconnecting" in x]
    check(not retries, "and does not retry", "\n".join(retries))

    check(gui.poll() is None, "the kiosk client still runs")
    noise = [x for x in log.lines() if "WARNING" in x or "CRITICAL" in x]
    check(not noise, "the kiosk prints no GLib warnings or criticals", "\n".join(noise[:5]))


def main():
    need_tools("Xvfb", "xwd", "xdotool", "xwininfo", "xprop", "unshare", "qemu-img")
    return run_deployment(run, KEEP)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
