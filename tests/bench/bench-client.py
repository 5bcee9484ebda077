# SPDX-License-Identifier: ISC
"""Client benchmark: paprika-client next to stock remote-viewer, both on the
same running guest of a real deployment (tests/lib/brokerdeploy.py: broker,
gateway, QEMU guests under libvirt's embedded driver) and under the same
Xvfb. One run, on one machine, everything on loopback; it prints one table
(tests/bench/README.md, "Client benchmark").

  first frame    paprika-client's window, the user name filled in: the
                 password typed with xdotool, timed from the Enter until the
                 X screen holds the guest's settled screen (its own
                 screenshot once it shows its banner, still for 1 s: never
                 black or QEMU's placeholder) pixel for pixel (the
                 client logs in, connects and opens SPICE through the
                 gateway in that time); remote-viewer, timed from its launch
                 with the broker's .vv until the same; paprika-client
                 --headless, from its launch until it exits having saved the
                 first frame (checked equal to the settled screen). The
                 screen is grabbed only once the guest can show: from the
                 client's SPICE connect, from 150 ms after remote-viewer's
                 launch
  like for like  the client's start-up (until its window is drawn) and its
                 Enter to frame, step by step from its --verbose log;
                 remote-viewer's login, GET console.vv and launch to frame
  idle desktop   each viewer showing the desktop, nothing moving: RSS and
                 PSS from /proc, CPU (utime + stime) over BENCH_IDLE seconds

Usage: top_srcdir=. top_builddir=. python3 tests/bench/bench-client.py
(after make; `make bench-client` does this).
"""

import base64
import ctypes
import ctypes.util
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import top_builddir, top_srcdir, wait_until  # noqa: E402

import brokerdeploy  # noqa: E402
import images  # noqa: E402
from procstat import children, cpu_seconds  # noqa: E402
from aims import Aims  # noqa: E402

try:
    import webdriver  # noqa: E402 (Selenium: the browser column)
except ImportError as _e:
    webdriver = None
    WEBDRIVER_WHY = f"python3-selenium: {_e}"


def env_int(name, full, quick):
    q = os.environ.get("BENCH_QUICK", "0") not in ("", "0")
    return int(os.environ.get(name, quick if q else full))


QUICK = os.environ.get("BENCH_QUICK", "0") not in ("", "0")
ROUNDS = env_int("BENCH_ROUNDS", 5, 2)
IDLE = env_int("BENCH_IDLE", 30, 10)
POLL_MS = env_int("BENCH_POLL_MS", 50, 50)
SETTLE = env_int("BENCH_SETTLE", 2, 2)
TIMEOUT = env_int("BENCH_TIMEOUT", 60, 60)
KEEP = os.environ.get("BENCH_KEEP", "0") not in ("", "0")
# "idle": only the idle-desktop figures (memory, CPU), one round of each
# viewer before them not counted; the work directory keeps each viewer's
# /proc/PID/smaps from the end of the idle window. "paths": only the
# gateway paths of paprika-client --headless (plain, TLS, no resumption),
# their aims not recorded.
ONLY = os.environ.get("BENCH_ONLY", "")
if ONLY not in ("", "idle", "paths"):
    sys.exit(f"BENCH_ONLY={ONLY}: only idle or paths")
# Seconds the guest's screen stays the same before it is the settled
# desktop: the broker's ready_settle default (docs/broker.md, "Ready").
SETTLE_READY = 1.0
CLIENT = os.environ.get("BENCH_CLIENT") or os.path.join(top_builddir, "paprika-client")
VIEWER = os.environ.get("BENCH_VIEWER", "remote-viewer")
HELPER = ("helper", "helper-password")
# Milliseconds after remote-viewer's launch before the screen is polled:
# its start-up runs unpolled, as the client's start-up and login do (the
# client's poll begins at its SPICE connect), plus up to one poll interval
# at random. A frame shown sooner is counted late, never early, and the
# round says so.
VIEWER_QUIET_MS = env_int("BENCH_VIEWER_QUIET_MS", 150, 150)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class BenchError(Exception):
    pass


# --- the X screen ------------------------------------------------------------

class _XImage(ctypes.Structure):
    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int),
                ("xoffset", ctypes.c_int), ("format", ctypes.c_int),
                ("data", ctypes.c_void_p), ("byte_order", ctypes.c_int),
                ("bitmap_unit", ctypes.c_int), ("bitmap_bit_order", ctypes.c_int),
                ("bitmap_pad", ctypes.c_int), ("depth", ctypes.c_int),
                ("bytes_per_line", ctypes.c_int), ("bits_per_pixel", ctypes.c_int)]


def to_rgb(width, height, data, bpl, step, lsb_first):
    """RGB bytes of a 24/32-bit ZPixmap (as images.read_xwd does)."""
    rgb = bytearray(width * height * 3)
    for y in range(height):
        row = data[y * bpl:y * bpl + width * step]
        out = rgb[y * width * 3:(y + 1) * width * 3]
        base = 0 if lsb_first else step - 3
        r, g, b = (2, 1, 0) if lsb_first else (base, base + 1, base + 2)
        out[0::3], out[1::3], out[2::3] = row[r::step], row[g::step], row[b::step]
        rgb[y * width * 3:(y + 1) * width * 3] = out
    return bytes(rgb)


class Screen:
    """Grabs the root window: XGetImage through libX11 (about 15 ms for
    1024x768 here), or xwd(1) (a process per grab, about 100 ms) when
    libX11 cannot be loaded."""

    def __init__(self, display, width, height, work):
        self.display, self.width, self.height = display, width, height
        self.xwd = os.path.join(work, "screen.xwd")
        self.dpy = None
        self.native = None  # (key, the guest's screen in the grab's layout)
        self.how = "xwd"
        name = ctypes.util.find_library("X11")
        if os.environ.get("BENCH_GRAB") == "xwd" or not name:
            return
        x = ctypes.CDLL(name)
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XGetImage.restype = ctypes.POINTER(_XImage)
        x.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int,
                                ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                ctypes.c_ulong, ctypes.c_int]
        x.XFree.argtypes = [ctypes.c_void_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.x = x
        self.dpy = x.XOpenDisplay(display.encode())
        if self.dpy:
            self.root = x.XDefaultRootWindow(self.dpy)
            self.how = "XGetImage"

    def grab_raw(self):
        """(width, height, data, bytes per line, bytes per pixel, LSB first)."""
        p = self.x.XGetImage(self.dpy, self.root, 0, 0, self.width, self.height,
                             0xffffffff, 2)  # AllPlanes, ZPixmap
        if not p:
            raise BenchError("XGetImage failed")
        im = p.contents
        try:
            if im.bits_per_pixel not in (24, 32):
                raise BenchError(f"XGetImage: {im.bits_per_pixel} bits per pixel")
            return (im.width, im.height, ctypes.string_at(im.data, im.bytes_per_line * im.height),
                    im.bytes_per_line, im.bits_per_pixel // 8, im.byte_order == 0)
        finally:
            self.x.XFree(im.data)
            self.x.XFree(p)

    def grab(self):
        """(width, height, rgb) of the X screen."""
        if self.dpy:
            w, h, data, bpl, step, lsb = self.grab_raw()
            return w, h, to_rgb(w, h, data, bpl, step, lsb)
        subprocess.run(["xwd", "-root", "-silent", "-out", self.xwd],
                       env=dict(os.environ, DISPLAY=self.display), check=False)
        return images.read_xwd(self.xwd)

    def contains(self, own):
        """Whether the X screen holds own (w, h, rgb) pixel for pixel.
        With XGetImage and 32-bit pixels whose padding byte is the same
        everywhere, it searches the grab as it comes (a few ms) instead of
        converting it to RGB first (about 10 ms more)."""
        if not self.dpy:
            return images.find(self.grab(), own) is not None
        w, h, data, bpl, step, lsb = self.grab_raw()
        pad = data[3:4] if lsb else data[0:1]
        if step != 4 or bpl != w * 4 or data[(3 if lsb else 0)::4].count(pad) != w * h:
            return images.find((w, h, to_rgb(w, h, data, bpl, step, lsb)), own) is not None
        ow, oh, rgb = own
        key = (id(own), pad, lsb)
        if self.native is None or self.native[0] != key:
            native = bytearray(ow * oh * 4)
            if lsb:  # B G R pad
                native[0::4], native[1::4], native[2::4] = rgb[2::3], rgb[1::3], rgb[0::3]
                native[3::4] = pad * (ow * oh)
            else:    # pad R G B
                native[1::4], native[2::4], native[3::4] = rgb[0::3], rgb[1::3], rgb[2::3]
                native[0::4] = pad * (ow * oh)
            self.native = (key, bytes(native))
        return _find4(data, w, h, self.native[1], ow, oh) is not None

    def close(self):
        # Before the X server goes: Xlib exits the process when it loses it.
        if self.dpy:
            self.x.XCloseDisplay(self.dpy)
            self.dpy = None


def _find4(big, bw, bh, small, sw, sh):
    """images.find on 4-byte pixels: where small is inside big, or None."""
    return images.find((bw, bh, big), (sw, sh, small), bpp=4)


class Poller:
    """Grabs the screen every POLL_MS until want(found) holds; the time of
    the grab that showed it (taken as the grab was asked for: late by up to
    one poll interval). first: whether the first grab of the last wait
    showed it (the figure may then be late by however long the poll began
    after the change)."""

    def __init__(self, screen, own):
        self.screen, self.own = screen, own
        self.cycles = []  # seconds per grab and search
        self.first = False

    def wait(self, present, timeout, alive=lambda: True):
        period = POLL_MS / 1000
        deadline = time.monotonic() + timeout
        tick = time.monotonic()
        self.first = True
        while time.monotonic() < deadline:
            t = time.monotonic()
            found = self.screen.contains(self.own)
            self.cycles.append(time.monotonic() - t)
            if found == present:
                return t
            self.first = False
            if not alive():
                return None
            tick += period
            time.sleep(max(0.0, tick - time.monotonic()))
        return None


# --- processes -----------------------------------------------------------------

def memory_kb(pids):
    """(RSS, anonymous RSS, PSS) in KiB summed over pids: VmRSS and RssAnon
    from status, Pss from smaps_rollup (None if unreadable)."""
    rss, anon, pss = 0, 0, 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                status = f.read()
            rss += int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
            anon += int(re.search(r"^RssAnon:\s+(\d+)", status, re.M).group(1))
        except (OSError, AttributeError):
            pass
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                v = int(re.search(r"^Pss:\s+(\d+)", f.read(), re.M).group(1))
            pss = None if pss is None else pss + v
        except (OSError, AttributeError):
            pss = None
    return rss, anon, pss


def stop(p):
    paprikatest.stop_process(p)


class ClientLog:
    """paprika-client's --verbose stderr, read as it grows."""

    def __init__(self, path):
        self.path = path

    def lines(self):
        try:
            with open(self.path) as f:
                return f.read().splitlines()
        except OSError:
            return []

    def wait(self, pattern, timeout, step=0.01):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines():
                if re.search(pattern, line):
                    return time.monotonic()
            time.sleep(step)
        return None

    def tail(self, n=10):
        return "\n".join(self.lines()[-n:])

    def at(self, pattern):
        """The time.monotonic() of the first line matching pattern, from the
        client's own clock (its "started at" line and the milliseconds
        each line begins with), or None."""
        start, when = None, None
        for line in self.lines():
            m = re.search(r"started at ([0-9.]+) s of the monotonic clock", line)
            if m:
                start = float(m.group(1))
            m = re.match(r"paprika-client: \[\s*([0-9.]+)\] (.*)", line)
            if m and when is None and re.search(pattern, m.group(2)):
                when = float(m.group(1)) / 1000
        return None if start is None or when is None else start + when


# The like-for-like time of each side, step by step (report_steps): the
# client's from its --verbose log, lined up with the bench's clock;
# remote-viewer's from the bench's own requests and the launch.
CLIENT_STEPS = (
    ("exec until main()", None),
    ("main() until the login page drawn", r"^ui: window drawn$"),
    ("Enter until the client acts on it", r"^ui: logging in to "),
    ("login: POST (TLS, password check)", r"^ui: logged in as "),
    ("desktop list: GET", r"^ui: progress: connecting to "),
    ("connect: POST", r"^ui: connecting to "),
    ("SPICE until main is open", r"^ui: desktop "),
    ("main open until the display channel", r"^ui: display 0$"),
    ("display channel until on the X screen", None),
)
VIEWER_STEPS = (
    "login: POST (TLS, password check; Python)",
    "console.vv: GET (TLS; Python)",
    "launch until on the X screen",
)


# --- the run -------------------------------------------------------------------

class Bench:
    def __init__(self, d, env, screen, own):
        self.d, self.env, self.screen, self.own = d, env, screen, own
        self.poller = Poller(screen, own)
        self.url = f"https://127.0.0.1:{d.broker_port}"
        self.ca = os.path.join(d.pki, "ca", "ca-cert.pem")
        self.n = 0
        self.live = []  # processes to stop, whatever happens

    def spawn(self, args, name):
        self.n += 1
        path = os.path.join(self.d.work, f"{name}-{self.n}.log")
        with open(path, "w") as f:
            p = subprocess.Popen(args, env=self.env, stdout=f, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        self.live.append(p)
        return p, path

    def finish(self, p):
        stop(p)
        if p in self.live:
            self.live.remove(p)
        # The next round starts from a screen without the guest on it.
        if self.poller.wait(False, 10) is None:
            raise BenchError("the guest's screen stayed on the X screen after the viewer exited")

    def xdo(self, *args):
        subprocess.run(["xdotool", *args], env=self.env, check=False)

    def gui(self, keep=False):
        """paprika-client's window: (start-up until the login page is drawn,
        Enter to the guest's screen, the steps of CLIENT_STEPS, in seconds;
        whether the poll's first grab showed it: late); with keep, the running process too. The screen is
        polled from the client's SPICE connect on: the guest cannot show
        before it, and grabs during the login would take the cores from the
        broker's password check (remote-viewer's login runs unpolled too)."""
        t_launch = time.monotonic()
        p, path = self.spawn([CLIENT, "--verbose", "--broker", self.url, "--ca", self.ca,
                              "--user", brokerdeploy.DEMO_USER], "client-gui")
        clog = ClientLog(path)
        if clog.wait(r"ui: window drawn$", TIMEOUT) is None:
            raise BenchError(f"paprika-client showed no login page:\n{clog.tail()}")
        t_page = clog.at(r"^ui: window drawn$")
        time.sleep(0.3)  # the page mapped and focused, as a person would see it
        self.xdo("type", "--delay", "10", brokerdeploy.DEMO_PASSWORD)
        t_enter = time.monotonic()
        self.xdo("key", "Return")
        if clog.wait(r"ui: connecting to ", TIMEOUT, step=0.005) is None:
            raise BenchError(f"paprika-client did not connect:\n{clog.tail()}")
        t_frame = self.poller.wait(True, TIMEOUT, lambda: p.poll() is None)
        late = self.poller.first
        if t_frame is None:
            raise BenchError(f"paprika-client did not show the guest's screen "
                             f"({'running' if p.poll() is None else 'exited'}):\n"
                             f"{clog.tail()}")
        marks = [t_launch, clog.at(r"started at ")]
        for _, pattern in CLIENT_STEPS[1:-1]:
            marks.append(clog.at(pattern))
        marks.append(t_frame)
        # Before the Enter: from the launch; after: from the Enter.
        marks[2:3] = [marks[2], t_enter]
        steps = [b - a if a is not None and b is not None else None
                 for a, b in zip(marks, marks[1:])]
        del steps[2]  # the 0.3 s pause and the typing
        if keep:
            return t_page - t_launch, t_frame - t_enter, p
        self.finish(p)
        return t_page - t_launch, t_frame - t_enter, steps, late

    def headless(self):
        """paprika-client --headless: (launch to exit, its own first frame after
    start, after the SPICE connect, and when it was drawn whole, before
    the quiet time it waits for, after the SPICE connect), in seconds."""
        out = os.path.join(self.d.work, "headless.png")
        if os.path.exists(out):
            os.unlink(out)
        pw = os.path.join(self.d.work, "password")
        t0 = time.monotonic()
        p, path = self.spawn([CLIENT, "--headless", "--screenshot", out, "--verbose",
                              "--no-logout", "--password-file", pw, "--broker", self.url,
                              "--ca", self.ca, "--user", brokerdeploy.DEMO_USER],
                             "client-headless")
        try:
            rc = p.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            rc = None
        t = time.monotonic() - t0
        self.live.remove(p)
        stop(p)
        clog = ClientLog(path)
        if rc != 0 or not os.path.exists(out):
            raise BenchError(f"paprika-client --headless: exit {rc}:\n{clog.tail()}")
        same, why = images.same_screen(images.read_image(out), self.own)
        if not same:
            raise BenchError("paprika-client --headless saved something else than "
                             f"the guest's settled screen: {why}")
        own_ms, spice_ms, drawn_ms = None, None, None
        for line in clog.lines():
            m = re.search(r"first frame .*: (\d+) ms after start, (\d+) ms after the SPICE "
                          r"connect", line)
            if m:
                own_ms = int(m.group(1)) / 1000
                spice_ms = int(m.group(2)) / 1000
            m = re.search(r"first frame .* drawn whole at (\d+) ms", line)
            if m:
                drawn_ms = int(m.group(1)) / 1000
        return t, own_ms, spice_ms, drawn_ms

    def viewer(self, keep=False):
        """remote-viewer with a fresh .vv: (launch to the guest's screen,
        login + GET console.vv + launch to the guest's screen, the steps of
        VIEWER_STEPS in seconds, whether the poll's first grab showed it:
        late)."""
        t0 = time.monotonic()
        token = self.d.login()
        t_login = time.monotonic()
        vv_text = self.d.connect(token, vv=True)
        t_vv = time.monotonic()
        vv = os.path.join(self.d.work, "console.vv")
        with open(vv, "w") as f:
            f.write(vv_text)
        os.chmod(vv, 0o600)
        t_launch = time.monotonic()
        p, path = self.spawn([VIEWER, vv], "remote-viewer")
        # A random phase of the poll, as the client's has (it starts at a
        # log line): the figure is late by up to one interval on both sides
        # alike, not by a fixed part of one.
        quiet = (VIEWER_QUIET_MS + random.uniform(0, POLL_MS)) / 1000
        time.sleep(max(0.0, t_launch + quiet - time.monotonic()))
        t_frame = self.poller.wait(True, TIMEOUT, lambda: p.poll() is None)
        late = self.poller.first
        if t_frame is None:
            raise BenchError(f"remote-viewer did not show the guest's screen "
                             f"({'running' if p.poll() is None else 'exited'}):\n"
                             + ClientLog(path).tail())
        if keep:
            return t_frame - t_launch, t_frame - t0, p
        self.finish(p)
        return t_frame - t_launch, t_frame - t0, [t_login - t0, t_vv - t_login,
                                                  t_frame - t_vv], late

    def idle(self, p, xvfb, name):
        """The viewer p showing the idle desktop: RSS and PSS (KiB) after
        SETTLE seconds, then its CPU and the X server's over IDLE seconds.
        Each process's smaps at the end goes to name-PID.smaps in the work
        directory (BENCH_KEEP=1 keeps it), for "Where the client's memory
        goes" in the README."""
        time.sleep(SETTLE)
        pids = children(p.pid)
        rss, anon, pss = memory_kb(pids)
        c0, x0, t0 = cpu_seconds(pids), cpu_seconds([xvfb.pid]), time.monotonic()
        time.sleep(IDLE)
        pids = children(p.pid)
        c1, x1, t1 = cpu_seconds(pids), cpu_seconds([xvfb.pid]), time.monotonic()
        rss2, anon2, pss2 = memory_kb(pids)
        for q in pids:
            try:
                shutil.copyfile(f"/proc/{q}/smaps",
                                os.path.join(self.d.work, f"{name}-{q}.smaps"))
            except OSError:
                pass
        if p.poll() is not None:
            raise BenchError("the viewer exited during the idle window")
        # The screen still shows the desktop (checked after the window).
        if not self.screen.contains(self.own):
            raise BenchError("the desktop left the X screen during the idle window")
        return {"rss": rss2, "anon": anon2, "pss": pss2, "rss_before": rss,
                "anon_before": anon, "pss_before": pss,
                "cpu": (c1 - c0) / (t1 - t0), "xcpu": (x1 - x0) / (t1 - t0),
                "procs": len(pids)}


# In the console page: until the canvas holds the guest's settled screen
# (RGB, base64), compared on every animation frame and every 10 ms; the
# wall clock (Date.now(), the clock of time.time()) of the first match.
WATCH_JS = """
if (!location.pathname.endsWith("/console.html")) return "not yet";
const want = Uint8Array.from(atob(args[1]), c => c.charCodeAt(0));
const w = args[2], h = args[3];
window.benchFirst = null;
window.benchChecks = 0;
const check = () => {
  if (window.benchFirst !== null) return;
  window.benchChecks++;
  const c = document.querySelector(args[0]);
  if (!c || c.width !== w || c.height !== h) return;
  const d = c.getContext("2d").getImageData(0, 0, w, h).data;
  for (let i = 0, j = 0; j < want.length; i += 4, j += 3)
    if (d[i] !== want[j] || d[i + 1] !== want[j + 1] || d[i + 2] !== want[j + 2]) return;
  window.benchFirst = Date.now();
};
const frame = () => { check(); if (window.benchFirst === null) requestAnimationFrame(frame); };
requestAnimationFrame(frame);
const timer = setInterval(() => { check(); if (window.benchFirst !== null) clearInterval(timer); }, 10);
check();
return window.benchFirst === null;
"""
BROWSER_CARD = '.card[data-id="office"]'


class BrowserBench:
    """Headless chromium (tests/lib/webdriver.py) on the portal, demo logged
    in: each round clicks "Open in browser" and times until the console's
    canvas is the guest's settled screen, pixel for pixel."""

    def __init__(self, d, own):
        self.d, self.own = d, own
        self.b = webdriver.Browser(
            webdriver.nss_home(d.work, os.path.join(d.pki, "ca", "ca-cert.pem")),
            os.path.join(d.work, "chromedriver.log"), page_load="none")
        self.want = base64.b64encode(own[2]).decode()
        b = self.b
        b.goto(f"https://127.0.0.1:{d.broker_port}/")
        b.wait("#username", timeout=30)
        b.fill("#username", brokerdeploy.DEMO_USER)
        b.fill("#password", brokerdeploy.DEMO_PASSWORD)
        b.click("#login-button")
        b.wait("#user-name", re="^" + brokerdeploy.DEMO_USER + "$", timeout=30)
        b.wait(f"{BROWSER_CARD} #browser-office", re="^Open in browser$", timeout=30)
        self.portal = b.driver.current_window_handle
        self.version = b.version

    def round(self):
        """Seconds from the click until the canvas shows the guest's screen;
        and whether the watch began after the page had drawn it already
        (then the figure is late by the time it took to begin)."""
        b = self.b
        before = set(b.driver.window_handles)
        t_click = time.time()
        b.click(f"{BROWSER_CARD} #browser-office")
        # The watch starts as soon as the console's document is there
        # (commands do not wait for its load: page_load="none").
        deadline = time.monotonic() + TIMEOUT
        pending, console = "not yet", None
        while pending == "not yet":
            if time.monotonic() > deadline:
                raise BenchError("Open in browser opened no console page")
            if console is None:
                new = set(b.driver.window_handles) - before
                if new:
                    console = new.pop()
                    b.switch(console)
            if console is not None:
                pending = b.evaluate(WATCH_JS, "#screen canvas", self.want,
                                     self.own[0], self.own[1])
            time.sleep(0.005)
        first = b.until("return window.benchFirst;", timeout=TIMEOUT,
                        what="the console's canvas to show the guest's screen")
        b.driver.close()
        b.switch(self.portal)
        return first / 1000 - t_click, not pending

    def close(self):
        self.b.close()


GATEWAY_ROUNDS = env_int("BENCH_GATEWAY_ROUNDS", 15, 3)
# The gateway paths of paprika-client --headless, in the order they run:
# (label, the broker's listener, what the gateway's [gateway] adds).
GATEWAY_PATHS = (
    ("plain", "plain", ""),
    ("TLS", "tls", ""),
    ("TLS, no resumption", "tls", "tls_session_lifetime = 0"),
)


def gateway_paths(d, b, ws_conf="", pool_extra=""):
    """paprika-client --headless on the same guest through each of
    GATEWAY_PATHS, GATEWAY_ROUNDS rounds each after one not counted:
    {label: [(launch to exit, first frame after start, after the SPICE
    connect, drawn after the SPICE connect)]}. The paths interleave round by round, so drift in the
    machine's load spreads over all of them. Leaves the deployment as it
    found it (plain listener, the gateway's own defaults)."""
    out = {label: [] for label, _, _ in GATEWAY_PATHS}
    now = (None, None)

    def use(listener, extra):
        nonlocal now
        if now[1] != extra:
            d.stop_gateway()
            d.start_gateway(extra + "\n" + ws_conf)
        if now[0] != listener:
            d.stop_broker()
            d.listener = listener
            d.start_broker(pool_extra=pool_extra)
        now = (listener, extra)

    try:
        for i in range(GATEWAY_ROUNDS + 1):
            for label, listener, extra in GATEWAY_PATHS:
                use(listener, extra)
                r = b.headless()
                if i > 0:
                    out[label].append(r)
            log(f"gateway paths round {i}" + (" (not counted)" if i == 0 else "") + ": "
                + ", ".join(f"{label} {out[label][-1][2] * 1e3:.0f} ms"
                            + (f" (drawn {out[label][-1][3] * 1e3:.0f})"
                               if out[label][-1][3] is not None else "")
                            for label, _, _ in GATEWAY_PATHS if i > 0 and out[label]
                            and out[label][-1][2] is not None))
    finally:
        use("plain", "")
    return out


def aim(aims, figure, c, v, unit, goal, at_most):
    """One figure held against its aim: c / v at most (or least) goal."""
    r = c / v if c is not None and v else None
    aims.add(figure, fmt(c, unit), fmt(v, unit), "-" if r is None else f"{r:.2f}x",
             f"{'<=' if at_most else '>='} {goal}x",
             None if r is None else r <= goal if at_most else r >= goal)


def report_gateway_paths(paths, aims):
    med = statistics.median
    print()
    hdr = f"{'paprika-client --headless through':<34} " + " ".join(
        f"{label:>18}" for label, _, _ in GATEWAY_PATHS)
    print(hdr)
    print("-" * len(hdr))
    for name, k in (("SPICE connect to first frame ms", 2), ("  of which until drawn whole ms", 3),
                    ("launch to exit ms", 0)):
        vals = [[r[k] for r in paths[label] if r[k] is not None] for label, _, _ in GATEWAY_PATHS]
        print(f"{name:<34} " + " ".join(f"{med(v) * 1e3:>18.0f}" if v else f"{'-':>18}"
                                         for v in vals))
    for what, k in (("first frame", 2), ("drawn whole", 3)):
        base = [r[k] for r in paths["plain"] if r[k] is not None]
        for label, _, _ in GATEWAY_PATHS[1:]:
            v = [r[k] for r in paths[label] if r[k] is not None]
            if base and v:
                print(f"{label} / plain, SPICE connect to {what}: "
                      f"{med(v) / med(base):.2f}x (aim for TLS: 1.2x at most)")
                if label == "TLS":
                    aim(aims, f"client SPICE connect to {what} ms, TLS / plain gateway",
                        med(v) * 1e3, med(base) * 1e3, "ms", 1.2, True)
    print("first frame: the PNG saved, after the headless client's 100 ms of quiet once the "
          "screen is drawn whole; drawn whole: without that wait, what a window would show.")
    print(f"medians of {GATEWAY_ROUNDS} rounds, interleaved; 'no resumption' is the gateway with "
          "tls_session_lifetime = 0: every channel's tunnel a full TLS handshake.")


def settled(d, helper, guest, path, timeout=90):
    """The guest's own screen once it is its banner (images.shows_banner)
    and has not changed for SETTLE_READY seconds: the desktop as the
    broker's ready_when = display sees it, the screen every first frame is
    compared with. None after timeout."""
    deadline = time.monotonic() + timeout
    prev, since = None, None
    while time.monotonic() < deadline:
        d.guest_screenshot(helper, guest, path)
        img = images.read_image(path)
        now = time.monotonic()
        if not images.shows_banner(img):
            prev = None
        elif prev is None or not images.same_screen(img, prev)[0]:
            prev, since = img, now
        elif now - since >= SETTLE_READY:
            return img
        time.sleep(0.25)
    return None


def free_display():
    for n in range(190, 240):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            return f":{n}"
    raise BenchError("no free X display number")


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:.2f}"
    if unit == "MB":
        return f"{v / 1024:.1f}"
    if unit == "%":
        return f"{v * 100:.2f}"
    return f"{v:.1f}"


def report(res, virt_why, poll, aims):
    med = statistics.median
    rows = []

    def ratio(a, b):
        return f"{a / b:.2f}x" if a is not None and b else "-"

    def row(label, c, unit, v=None, note="", br=None):
        rows.append((label, fmt(c, unit), fmt(v, unit), fmt(br, unit), ratio(c, v),
                     ratio(br, v), ratio(br, c), note))

    rv = res.get("viewer")
    rv_launch = med([r[0] for r in rv]) if rv else None
    rv_all = med([r[1] for r in rv]) if rv else None
    gui = res["gui"]
    enter = med([g[1] for g in gui])
    page = med([g[0] for g in gui])
    bw = res.get("browser")
    bw_click = med([r[0] for r in bw]) if bw else None
    n = f"median of {len(gui)}" + (f"/{len(rv)}" if rv else "") + (f"/{len(bw)}" if bw else "")
    row("first frame s: Enter|launch|click", enter, "s", rv_launch, br=bw_click,
        note=f"{n}; client: login+connect+SPICE; viewer: launch with .vv; "
             "browser: click on Open in browser, connect+WebSocket+SPICE")
    row("  start-up to login page s", page, "s",
        note="client: launch until its window is first drawn ('ui: window drawn')")
    row("  start-up + Enter to frame s", med([g[0] + g[1] for g in gui]), "s", rv_all,
        note="viewer: login + GET console.vv + launch")
    hl = res["headless"]
    own = [h[1] for h in hl if h[1] is not None]
    row("headless: launch to exit s", med([h[0] for h in hl]), "s", rv_launch,
        note=f"median of {len(hl)}; PNG == settled screen; its own first frame "
             + (f"{med(own) * 1e3:.0f} ms" if own else "-"))
    ci, vi = res["idle_client"], res.get("idle_viewer")
    row("idle RSS MB", ci["rss"], "MB", vi and vi["rss"],
        note=f"VmRSS after {SETTLE + IDLE} s on the desktop")
    row("  of which anonymous MB", ci["anon"], "MB", vi and vi["anon"],
        note="RssAnon: heap, stacks, buffers (not the libraries' pages)")
    row("idle PSS MB", ci["pss"], "MB", vi and vi["pss"],
        note="smaps_rollup: shared pages split; moves with what else maps them")
    row("idle CPU % of a core", ci["cpu"], "%", vi and vi["cpu"],
        note=f"utime+stime over {IDLE} s")
    row("  Xvfb CPU % of a core", ci["xcpu"], "%", vi and vi["xcpu"],
        note="the X server meanwhile")

    aim(aims, "client Enter / remote-viewer launch with .vv, to first frame s", enter,
        rv_launch, "s", 1.0, True)
    aim(aims, "client start-up + Enter / remote-viewer login + .vv + launch s",
        med([g[0] + g[1] for g in gui]), rv_all, "s", 1.0, True)
    aim(aims, "client idle RSS MB / remote-viewer", ci["rss"], vi and vi["rss"], "MB", 1.1,
        True)
    print()
    hdr = (f"{'figure':<34} {'client':>8} {'r-viewer':>8} {'browser':>8} {'c/rv':>7} "
           f"{'b/rv':>7} {'b/c':>7} | notes")
    print(hdr)
    print("-" * len(hdr) + "-" * 50)
    for label, c, v, br, r1, r2, r3, note in rows:
        print(f"{label:<34} {c:>8} {v:>8} {br:>8} {r1:>7} {r2:>7} {r3:>7} | {note}".rstrip())
    print()
    print(f"guest ran under {virt_why}; both viewers on the same running guest, "
          "through paprika-gatewayd, under one Xvfb 1024x768x24.")
    print(f"screen polled every {POLL_MS} ms with {poll[0]} (one grab and search: "
          f"median {poll[1] * 1e3:.0f} ms, max {poll[2] * 1e3:.0f} ms): the first-frame "
          "figures are late by up to one interval.")
    if rv_launch:
        print(f"first frame: paprika-client {enter:.2f} s from Enter, remote-viewer "
              f"{rv_launch:.2f} s from launch with the .vv, ratio {enter / rv_launch:.2f}")
    if bw_click:
        late = sum(1 for r in bw if r[1])
        print(f"first frame: the browser {bw_click:.2f} s from the click (headless chromium, "
              f"the portal already logged in), ratio {ratio(bw_click, rv_launch)} to "
              f"remote-viewer, {ratio(bw_click, enter)} to paprika-client"
              + (f"; {late} round(s) drawn before the watch began (late)" if late else ""))
    print("c/rv = paprika-client / remote-viewer, b/rv = browser / remote-viewer, "
          "b/c = browser / paprika-client; lower is better on every row.")


def report_steps(res):
    """The like-for-like time of each side, step by step: medians of the
    rounds (so the steps need not add up to the median of the sums)."""
    med = statistics.median
    gui, rv = res["gui"], res.get("viewer")
    print()
    print(f"{'paprika-client, like for like':<42} {'ms':>6}   "
          f"{'remote-viewer, like for like':<42} {'ms':>6}")
    print("-" * 101)
    left = [(name, [g[2][i] for g in gui if g[2][i] is not None])
            for i, (name, _) in enumerate(CLIENT_STEPS)]
    right = [(name, [r[2][i] for r in rv]) for i, name in enumerate(VIEWER_STEPS)] if rv else []
    for i in range(max(len(left), len(right))):
        ln, lv = left[i] if i < len(left) else ("", [])
        rn, rvv = right[i] if i < len(right) else ("", [])
        lf = f"{med(lv) * 1e3:6.0f}" if lv else f"{'':6}"
        rf = f"{med(rvv) * 1e3:6.0f}" if rvv else f"{'':6}"
        print(f"{ln:<42} {lf}   {rn:<42} {rf}".rstrip())
    print(f"{'sum (start-up + Enter to frame)':<42} "
          f"{med([g[0] + g[1] for g in gui]) * 1e3:6.0f}   "
          + (f"{'sum (login + .vv + launch to frame)':<42} {med([r[1] for r in rv]) * 1e3:6.0f}"
             if rv else ""))
    late = (sum(1 for g in gui if g[3]), sum(1 for r in rv if r[3]) if rv else 0)
    print("client steps from its --verbose log (its own clock, the monotonic one); "
          "'on the X screen' is the bench's grab (polled every "
          f"{POLL_MS} ms: late by up to that); the Enter includes xdotool's start. "
          "The screen is polled from the client's SPICE connect on, and from "
          f"{VIEWER_QUIET_MS} ms after remote-viewer's launch on"
          + (f"; shown at the first grab (late): client {late[0]}, remote-viewer "
             f"{late[1]} round(s)" if any(late) else "") + ".")


def report_idle(res):
    """BENCH_ONLY=idle: the memory and CPU rows only."""
    ci, vi = res["idle_client"], res.get("idle_viewer")
    print(f"\n{'figure':<24} {'client':>8} {'r-viewer':>8} {'c/rv':>7}")
    for label, key, unit in (("idle RSS MB", "rss", "MB"), ("  anonymous MB", "anon", "MB"),
                             ("idle PSS MB", "pss", "MB"), ("idle CPU %", "cpu", "%")):
        c, v = ci[key], vi and vi[key]
        r = f"{c / v:.2f}x" if c is not None and v else "-"
        print(f"{label:<24} {fmt(c, unit):>8} {fmt(v, unit):>8} {r:>7}")


def main():
    global CLIENT
    if not os.access(CLIENT, os.X_OK):
        log(f"skipped: {CLIENT} was not built (configure found no spice-client-gtk-3.0)")
        return 0
    work = tempfile.mkdtemp(prefix="paprika-bench-client.")
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=log)
    rc = 1
    xvfb, screen, b, browser = None, None, None, None
    try:
        for tool in ("Xvfb", "xdotool", "unshare", "qemu-img"):
            if shutil.which(tool) is None:
                raise BenchError(f"{tool} is missing (scripts/deps.sh)")
        # A copy: a rebuild during the run does not swap the binary under it.
        shutil.copy2(CLIENT, os.path.join(work, "paprika-client"))
        CLIENT = os.path.join(work, "paprika-client")
        have_viewer = shutil.which(VIEWER) is not None
        if not have_viewer:
            log(f"{VIEWER} is missing: its column stays empty")
        log(f"work directory {work}" + (" (BENCH_QUICK)" if QUICK else ""))
        d.make_pki()
        d.define_guests()
        d.add_user(brokerdeploy.DEMO_USER, brokerdeploy.DEMO_PASSWORD, "staff")
        d.add_user(*HELPER, "helpdesk")
        with open(os.path.join(work, "password"), "w") as f:
            f.write(brokerdeploy.DEMO_PASSWORD + "\n")
        # The browser column: the gateway's WebSocket listener, the pool
        # open to browsers.
        ws_conf, pool_extra, why = "", "", None
        no_browser = os.environ.get("BENCH_BROWSER", "1") in ("", "0")
        if no_browser:
            log("no browser column: BENCH_BROWSER=0")
        elif webdriver is None:
            why = WEBDRIVER_WHY
        elif webdriver.missing_tools():
            why = ", ".join(webdriver.missing_tools())
        if why:
            log(f"no browser column: {why} missing (scripts/deps.sh)")
        elif not no_browser:
            ws_conf, pool_extra = d.browser_gateway(), "browser = yes\n"
        d.start_gateway(ws_conf)
        d.start_broker(pool_extra=pool_extra)
        helper = d.login(*HELPER)

        # One running guest in the demo user's session, booted to its banner:
        # every round reconnects to it.
        d.connect(d.login())
        _, body, _ = d.api("GET", "/api/v1/sessions", token=helper)
        desk = [s for s in body["sessions"] if s["user"] == brokerdeploy.DEMO_USER][0]["desktop"]
        own = settled(d, helper, desk, os.path.join(work, "own.png"))
        if own is None:
            raise BenchError(f"{desk} did not settle on its banner")
        log(f"{desk} runs under {d.virt_why}; its settled screen: "
            f"{images.describe(own)}")

        display = free_display()
        xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24",
                                 "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(lambda: os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"), 10, 0.05):
            raise BenchError("Xvfb did not start")
        env = dict(os.environ, DISPLAY=display,
                   XDG_CONFIG_HOME=os.path.join(work, "config"))
        screen = Screen(display, 1024, 768, work)
        b = Bench(d, env, screen, own)
        log(f"Xvfb on {display}; screen grabs with {screen.how}, every {POLL_MS} ms")

        if ws_conf and not ONLY:
            browser = BrowserBench(d, own)
            log(f"chromium {browser.version}, demo logged in to the portal")

        # One round of each not counted (page cache, fonts, icon caches).
        if ONLY != "paths":
            b.gui()
        if ONLY != "idle":
            b.headless()
        if have_viewer and ONLY != "paths":
            b.viewer()
        if browser and ONLY != "idle":
            browser.round()
        res = {"gui": [], "headless": [], "viewer": [] if have_viewer else None,
               "browser": [] if browser else None}
        for i in range(0 if ONLY else ROUNDS):
            res["gui"].append(b.gui())
            res["headless"].append(b.headless())
            msg = (f"round {i + 1}: client Enter to frame {res['gui'][-1][1]:.3f}s "
                   f"(start-up {res['gui'][-1][0]:.3f}s), headless {res['headless'][-1][0]:.3f}s")
            if have_viewer:
                res["viewer"].append(b.viewer())
                msg += (f", remote-viewer {res['viewer'][-1][0]:.3f}s "
                        f"({res['viewer'][-1][1]:.3f}s with login and .vv)")
            if browser:
                res["browser"].append(browser.round())
                msg += (f", browser click to canvas {res['browser'][-1][0]:.3f}s"
                        + (" (drawn before the watch began: late)"
                           if res["browser"][-1][1] else ""))
            log(msg)
        if browser:
            browser.close()
            browser = None
        cycles = sorted(b.poller.cycles)

        if ONLY != "idle":
            log(f"gateway paths: headless through {', '.join(x[0] for x in GATEWAY_PATHS)}")
            paths = gateway_paths(d, b, ws_conf, pool_extra)

        if ONLY != "paths":
            log(f"idle desktop: paprika-client, {SETTLE} s then {IDLE} s")
            _, _, p = b.gui(keep=True)
            res["idle_client"] = b.idle(p, xvfb, "client")
            b.finish(p)
        if have_viewer and ONLY != "paths":
            log(f"idle desktop: remote-viewer, {SETTLE} s then {IDLE} s")
            _, _, p = b.viewer(keep=True)
            res["idle_viewer"] = b.idle(p, xvfb, "viewer")
            b.finish(p)
        for k in ("idle_client", "idle_viewer"):
            if res.get(k):
                r = res[k]
                log(f"{k}: RSS {r['rss_before']} -> {r['rss']} KiB, PSS {r['pss_before']} -> "
                    f"{r['pss']} KiB, anonymous {r['anon_before']} -> {r['anon']} KiB, CPU {r['cpu'] * 100:.2f}% ({r['procs']} process(es))")
        if ONLY == "idle":
            report_idle(res)
        elif ONLY == "paths":
            report_gateway_paths(paths, Aims(None))
        else:
            aims = Aims("client")
            report(res, d.virt_why, (screen.how, statistics.median(cycles), cycles[-1]),
                   aims)
            report_steps(res)
            report_gateway_paths(paths, aims)
        rc = 0
    except Exception as e:  # noqa: BLE001 (a failed run says why, with the logs)
        log(f"FAILED: {type(e).__name__}: {e}")
        tail = d.broker_tail(15)
        if tail:
            print("broker log:\n" + tail)
    finally:
        if browser is not None:
            browser.close()
        for p in reversed(b.live if b else []):
            stop(p)
        if screen is not None:
            screen.close()
        stop(xvfb)
        d.stop()
        if KEEP or rc:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
