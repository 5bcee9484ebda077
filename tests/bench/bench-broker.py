# SPDX-License-Identifier: ISC
"""Broker benchmark: paprika-brokerd and paprika-gatewayd against real QEMU
guests (libvirt's embedded driver), next to the same guests driven directly
with libvirt and no broker or gateway. One run, on one machine, everything on
loopback; it prints one table (tests/bench/README.md, "Broker benchmark").

  logins         p50/p99 of sequential POST /api/v1/login, the password check
                 (argon2id, from /metrics) apart from the rest; logins per
                 second with one and with BENCH_THREADS client threads
  login+connect  login then POST connect until 200, on a running guest
  first frame    from the click (POST connect) until spicy-screenshot, through
                 the gateway, has written a frame equal to the desktop's
                 settled screen (the guest's own screenshot once ready: the
                 demo banner, still for 1 s), capturing again while what it
                 gets is black, QEMU's placeholder or the firmware: a stopped
                 guest, a template pool's spare, a running guest, a shared
                 guest reverted to a running snapshot; and the same with
                 libvirt alone (start or revert the guest, set a SPICE
                 password, spicy-screenshot straight to its TLS port, again
                 until its frame equals the settled screen)

Usage: top_srcdir=. top_builddir=. python3 tests/bench/bench-broker.py
(after make; `make bench-broker` does this). Child mode, used by the run
itself: bench-broker.py direct JSON-ARGS (the libvirt baseline, in its own
process because the embedded driver stays locked by the process that opened
it until it exits, and the broker opens it next).
"""

import http.client
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from paprikatest import top_builddir, top_srcdir, wait_until  # noqa: E402

import brokerdeploy  # noqa: E402
import deployment  # noqa: E402
import guest as guestmod  # noqa: E402
import images  # noqa: E402
from aims import Aims  # noqa: E402

AIM = "aim: a spare guest on screen in under 1.5 s with KVM"


def env_int(name, full, quick):
    q = os.environ.get("BENCH_QUICK", "0") not in ("", "0")
    return int(os.environ.get(name, quick if q else full))


QUICK = os.environ.get("BENCH_QUICK", "0") not in ("", "0")
LOGINS = env_int("BENCH_LOGINS", 100, 20)
THREADS = env_int("BENCH_THREADS", 8, 8)
CONC_LOGINS = env_int("BENCH_CONC_LOGINS", 160, 40)
CONNECTS = env_int("BENCH_CONNECTS", 50, 10)
# Rounds counted under strace (system calls, fsyncs): not timed.
TRACED = env_int("BENCH_TRACED", 20, 10)
LOGIN_ROUTE = 'route="/api/v1/login",method="POST"'
CONNECT_ROUTE = 'route="/api/v1/desktops/{id}/connect",method="POST"'
STOPPED = env_int("BENCH_STOPPED", 3, 1)
SPARE = env_int("BENCH_SPARE", 3, 1)
RUNNING = env_int("BENCH_RUNNING", 5, 2)
REVERTED = env_int("BENCH_REVERTED", 3, 1)
WAIT = env_int("BENCH_WAIT", 30, 30)
KEEP = os.environ.get("BENCH_KEEP", "0") not in ("", "0")
# How long the screen must stay the same before it is the settled desktop:
# the broker's ready_settle default (docs/broker.md, "Ready").
SETTLE = 1.0
# Seconds between two captures while the frame is not yet the settled screen.
CAPTURE_PAUSE = 0.25
# A guest of its own for the reverted shared pool, and that pool: its
# snapshot is taken of the running guest showing its desktop, so a revert
# gives back a running desktop (LIVE_SNAPSHOT, made by the direct baseline).
LIVE_GUEST = "live-1"
LIVE_SNAPSHOT = "live"
KIOSK_POOL = f"""
[pool kiosk]
title = Kiosk desktop
kind = shared
host = local
guests = {LIVE_GUEST}
snapshot = {LIVE_SNAPSHOT}
groups = staff
disconnect_action = none
"""


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pct(values, p):
    """Nearest-rank percentile (p in 0..100)."""
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


# libvirt calls that stay in the client library: no round trip to a remote
# host's daemon.
LIBVIRT_LOCAL = ("virDomainFree", "virDomainRef")


class LibvirtCalls:
    """Counts the libvirt API calls of the broker, whose embedded driver
    runs in its own process, by domain: libvirt's debug log of its public
    API (LIBVIRT_LOG_FILTERS 1:libvirt) goes to a FIFO that a thread here
    reads and counts, keeping nothing else. Never a file: that log quotes
    the XML given to virDomainUpdateDeviceFlags, SPICE password and all."""

    def __init__(self, work):
        self.path = os.path.join(work, "broker-libvirt.fifo")
        os.mkfifo(self.path, 0o600)
        self.counts = {}  # (domain, api) -> calls
        self.lock = threading.Lock()
        threading.Thread(target=self.read, daemon=True).start()

    def env(self):
        return {"LIBVIRT_LOG_FILTERS": "1:libvirt 4:*",
                "LIBVIRT_LOG_OUTPUTS": f"1:file:{self.path}"}

    def read(self):
        pat = re.compile(rb": debug : (vir[A-Za-z]+):\d+ : .*?name=([^,\s)]+)")
        with open(self.path, "rb") as f:
            for line in f:
                m = pat.search(line)
                if m:
                    key = (m.group(2).decode(errors="replace"),
                           m.group(1).decode())
                    with self.lock:
                        self.counts[key] = self.counts.get(key, 0) + 1

    def snapshot(self):
        with self.lock:
            return dict(self.counts)

    @staticmethod
    def per_op(before, after, n):
        """Calls per operation on the domain called most between two
        snapshots (the guest the operations went to): (calls, {api:
        calls}, domain)."""
        delta = {k: after[k] - before.get(k, 0) for k in after}
        doms = {}
        for (dom, _), v in delta.items():
            doms[dom] = doms.get(dom, 0) + v
        if not doms:
            return float("nan"), {}, None
        dom = max(doms, key=doms.get)
        apis = {api: v / n for (dd, api), v in delta.items() if dd == dom and v}
        return doms[dom] / n, dict(sorted(apis.items(), key=lambda kv: -kv[1])), dom


def strace_summary(path):
    """({system call: calls}, {system call: wall seconds}) from the table
    of strace -c -w."""
    calls, secs = {}, {}
    try:
        with open(path) as f:
            for line in f:
                p = line.split()
                # % time, seconds, usecs/call, calls, [errors], syscall
                if len(p) >= 5 and p[3].isdigit() and p[-1] != "total":
                    calls[p[-1]] = int(p[3])
                    secs[p[-1]] = float(p[1])
    except OSError:
        pass
    return calls, secs


# --- spicy-screenshot straight to the guest, no proxy -----------------------

def spicy_direct(ca_bundle, port, password, out, timeout=60):
    """spicy-screenshot to 127.0.0.1:PORT over TLS with no proxy (the
    client verifies the SPICE certificate's IP address)."""
    return deployment.spicy_capture(ca_bundle, "127.0.0.1", port, password, out,
                                    timeout=timeout)


class CaptureTimeout(Exception):
    pass


def capture_until(capture, out, ref, timeout=120):
    """Runs capture(out) (one spicy-screenshot, which writes the first frame
    it receives) again and again until that frame equals ref, the settled
    screen (images.same_screen): a guest still in its firmware gives black,
    QEMU's placeholder or SeaBIOS's text first. Returns (when the equal
    frame was written, when any frame was first written, captures made,
    what the first frame showed), times from time.monotonic()."""
    start = time.monotonic()
    first, n, fails, last = None, 0, 0, "nothing captured"
    while True:
        ok, text = capture(out)
        n += 1
        now = time.monotonic()
        if ok:
            fails = 0
            img = images.read_image(out)
            if first is None:
                first = (now, images.describe(img))
            same, why = images.same_screen(img, ref, cursor=True)
            if same:
                return now, first[0], n, first[1]
            last = f"{images.describe(img)}: {why}"
        else:
            fails += 1
            last = f"spicy-screenshot failed: {text}"
            if fails >= 10:
                raise CaptureTimeout(f"{fails} captures in a row failed: {text}")
        if now - start > timeout:
            raise CaptureTimeout(f"no frame equal to the settled screen "
                                 f"({images.describe(ref)}) after {timeout} s and "
                                 f"{n} captures; the last: {last}")
        # Not back to back: each capture is a process, a TLS handshake and
        # a SPICE connection, and on 2 cores a loop of them slows the very
        # boot it waits for. The broker's own check looks every 0.25 s too.
        time.sleep(CAPTURE_PAUSE)


def settled_screen(shot, path, timeout=120):
    """The guest's own screen once it is the demo banner (shows_banner) and
    has not changed for SETTLE seconds, as the broker's ready_when =
    display sees it: shot(path) writes one screenshot. Returns the image."""
    deadline = time.monotonic() + timeout
    prev, since = None, None
    while True:
        shot(path)
        img = images.read_image(path)
        now = time.monotonic()
        if images.shows_banner(img):
            if prev is not None and images.same_screen(img, prev)[0]:
                if now - since >= SETTLE:
                    return img
            else:
                prev, since = img, now
        else:
            prev = None
        if now > deadline:
            raise RuntimeError(f"the guest's screen did not settle on its banner "
                               f"in {timeout} s: it shows {images.describe(img)}")
        time.sleep(0.25)


# --- child mode: the libvirt baseline ----------------------------------------

def direct_main(args):
    """The libvirt baseline, with no broker or gateway. Starts args['guest']
    (shut off, at its snapshot), sets a SPICE password on the live graphics,
    and times until spicy-screenshot straight to its TLS port has a frame
    equal to the settled screen; then destroys it and reverts it. The first
    such round is not counted and gives the settled screen itself (the
    guest's own screenshot, written to args['settled']). Then a running
    guest: a new password and captures, args['running'] times. Then
    args['live']: booted to its settled banner, snapshotted running
    (LIVE_SNAPSHOT), and args['reverted'] times reverted to that snapshot,
    then a new password and captures. Prints JSON; every guest ends shut
    off, desk-1 at its snapshot, as the broker expects to find them."""
    import libvirt
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    guestmod._start_event_loop()
    conn = libvirt.open(f"qemu:///embed?root={args['root']}")
    dom = conn.lookupByName(args["guest"])
    snap = dom.snapshotLookupByName(brokerdeploy.SNAPSHOT)
    g = guestmod.Guest(args["root"], args["work"], "/dev/null",
                       name=args["guest"], log=lambda m: None)
    g.conn, g.dom = conn, dom
    out = os.path.join(args["work"], "bench-direct.ppm")
    shot = os.path.join(args["work"], "bench-direct-own.png")
    res = {"stopped": [], "stopped_start": [], "stopped_any": [], "running": [],
           "reverted": [], "revert": [], "firsts": []}
    ref = None

    def err(msg):
        print(msg, file=sys.stderr, flush=True)

    def capture(port, pw):
        return lambda path: spicy_direct(args["ca_bundle"], port, pw, path)

    def stopped_round():
        t0 = time.monotonic()
        dom.create()
        pw = guestmod.new_password()
        g.set_password(pw, 300)
        port = g.tls_port()
        t1 = time.monotonic()
        if ref is None:
            return capture(port, pw)
        t2, t_any, n, first = capture_until(capture(port, pw), out, ref)
        return t2 - t0, t1 - t0, t_any - t0, n, first

    def reset(d=dom, s=snap):
        try:
            d.destroy()
        except libvirt.libvirtError:
            pass
        if s is not None:
            d.revertToSnapshot(s)

    live = None
    try:
        # One round not counted (page cache and the like); it gives the
        # settled screen every capture is compared with.
        warm = stopped_round()
        ref = settled_screen(g.screenshot, shot)
        images.write_png(args["settled"], *ref)
        err(f"direct: settled screen {images.describe(ref)}")
        capture_until(warm, out, ref)
        reset()
        for i in range(args["stopped"]):
            total, start, anyf, n, first = stopped_round()
            res["stopped"].append(total)
            res["stopped_start"].append(start)
            res["stopped_any"].append(anyf)
            res["firsts"].append(first)
            err(f"direct stopped round {i + 1}: {total:.3f}s ({n} captures; "
                f"the first frame, {first}, after {anyf:.3f}s)")
            reset()
        dom.create()
        pw = guestmod.new_password()
        g.set_password(pw, 300)
        capture_until(capture(g.tls_port(), pw), out, ref)
        for i in range(args["running"]):
            t0 = time.monotonic()
            pw = guestmod.new_password()
            g.set_password(pw, 300)
            t, _, n, _ = capture_until(capture(g.tls_port(), pw), out, ref)
            res["running"].append(t - t0)
            err(f"direct running round {i + 1}: {t - t0:.3f}s ({n} captures)")
        reset()

        # A shared guest reverted to a snapshot of itself running its desktop.
        live = conn.lookupByName(args["live"])
        gl = guestmod.Guest(args["root"], args["work"], "/dev/null",
                            name=args["live"], log=lambda m: None)
        gl.conn, gl.dom = conn, live
        live.create()
        settled_screen(gl.screenshot, shot)
        live_snap = live.snapshotCreateXML(
            f"<domainsnapshot><name>{LIVE_SNAPSHOT}</name></domainsnapshot>", 0)
        err(f"direct: {args['live']} snapshotted running as '{LIVE_SNAPSHOT}'")
        for i in range(args["reverted"]):
            t0 = time.monotonic()
            live.revertToSnapshot(live_snap)
            t1 = time.monotonic()
            pw = guestmod.new_password()
            gl.set_password(pw, 300)
            t, _, n, first = capture_until(capture(gl.tls_port(), pw), out, ref)
            res["reverted"].append(t - t1)
            res["revert"].append(t1 - t0)
            err(f"direct reverted round {i + 1}: {t - t1:.3f}s after a "
                f"{t1 - t0:.3f}s revert ({n} captures, the first {first})")
    finally:
        reset()
        if live is not None:
            reset(live, None)
        conn.close()
    print(json.dumps(res))
    return 0


# --- the broker run ------------------------------------------------------------

class Bench:
    def __init__(self, d, ref):
        self.d = d
        self.ref = ref  # the settled screen, (w, h, rgb)
        self.rows = []  # (figure, paprika, direct, ratio text, note)

    def metrics(self):
        st, body, _ = self.d.api("GET", "/metrics", raw=True)
        if st != 200:
            raise deployment.DeploymentError(f"/metrics: HTTP {st}")
        m = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                m[k] = float(v)
        return m

    @staticmethod
    def route_delta(before, after, route):
        """(requests, mean seconds, {bound: cumulative count}) of route
        (LOGIN_ROUTE, CONNECT_ROUTE) between two /metrics readings: the
        broker's own time from the whole request to its reply."""
        def get(m, name, extra=""):
            return m.get(f"paprika_broker_request_seconds_{name}{{{route}{extra}}}", 0.0)
        n = get(after, "count") - get(before, "count")
        sec = get(after, "sum") - get(before, "sum")
        buckets = {}
        for k in after:
            if k.startswith("paprika_broker_request_seconds_bucket{" + route):
                le = k.split('le="')[1].rstrip('"}')
                bound = math.inf if le == "+Inf" else float(le)
                buckets[bound] = after[k] - before.get(k, 0.0)
        return int(n), (sec / n if n else float("nan")), buckets

    @staticmethod
    def bucket_pct(buckets, n, p):
        """The smallest histogram bound that holds p% of n requests: the
        server-side pth percentile is at most that."""
        for bound in sorted(buckets):
            if buckets[bound] >= math.ceil(p / 100 * n):
                return bound
        return math.inf

    def auth_delta(self, before, after):
        ok = 'paprika_broker_logins_total{result="ok"}'
        n = after[ok] - before[ok]
        s = (after["paprika_broker_auth_seconds_total"] -
             before["paprika_broker_auth_seconds_total"])
        return s / n if n else float("nan"), int(n)

    def connect_until_200(self, token, pool):
        """POST connect?wait=WAIT: the broker answers as soon as the desktop
        is ready (asked again if it answers 202 after the wait)."""
        deadline = time.monotonic() + 180
        while True:
            st, body, _ = self.d.api(
                "POST", f"/api/v1/desktops/{pool}/connect?wait={WAIT}", token=token)
            if st == 200:
                return body
            if st != 202 or time.monotonic() > deadline:
                raise brokerdeploy.ApiError(st, body)

    def capture(self, conn, name):
        """spicy-screenshot through the gateway until its frame equals the
        settled screen: capture_until's (when, first frame when, captures,
        what the first showed)."""
        return capture_until(lambda out: self.d.spicy_capture(conn, out),
                             os.path.join(self.d.work, name), self.ref)

    def pools(self, pool, helper):
        _, body, _ = self.d.api("GET", "/api/v1/pools", token=helper)
        return [g for g in body["desktops"] if g["pool"] == pool]

    # 1 and 2 ------------------------------------------------------------
    def logins(self):
        d = self.d
        d.login("bench", "bench-password")  # not counted
        m0 = self.metrics()
        lat = []
        t_all = time.monotonic()
        for _ in range(LOGINS):
            t0 = time.monotonic()
            d.login("bench", "bench-password")
            lat.append(time.monotonic() - t0)
        elapsed = time.monotonic() - t_all
        m1 = self.metrics()
        kdf, n = self.auth_delta(m0, m1)
        self.login_lat, self.kdf, self.rate1 = lat, kdf, LOGINS / elapsed
        _, self.login_server, _ = self.route_delta(m0, m1, LOGIN_ROUTE)
        log(f"{LOGINS} sequential logins: p50 {pct(lat, 50) * 1e3:.1f} ms, "
            f"password check {kdf * 1e3:.1f} ms per login ({n} in /metrics)")

        # Concurrent: THREADS threads, a fresh TLS connection per login.
        per = [CONC_LOGINS // THREADS + (i < CONC_LOGINS % THREADS)
               for i in range(THREADS)]
        errors = []
        go = threading.Event()

        def worker(i, k):
            go.wait()
            try:
                # Users logging in side by side, each their own: the
                # broker checks one password per user at a time.
                for _ in range(k):
                    d.login(f"bench{i + 1}", f"bench{i + 1}-password")
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)
        threads = [threading.Thread(target=worker, args=(i, k))
                   for i, k in enumerate(per)]
        for t in threads:
            t.start()
        m0 = self.metrics()
        t0 = time.monotonic()
        go.set()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        if errors:
            raise errors[0]
        self.kdf_conc, _ = self.auth_delta(m0, self.metrics())
        self.rateN = CONC_LOGINS / elapsed
        log(f"{CONC_LOGINS} logins on {THREADS} threads: {self.rateN:.1f}/s "
            f"(1 thread: {self.rate1:.1f}/s)")

    def session_round(self, token, pool, helper, shot):
        """Once every guest of pool is free: a connect timed from the click
        to the 200, to the first frame and to the settled desktop, then the
        session ended. (total, to 200, to any frame, captures, first)."""
        if not wait_until(lambda: all(g["state"] == "free"
                                    for g in self.pools(pool, helper)), 120):
            raise deployment.DeploymentError(
                f"{pool} guests not free: {self.pools(pool, helper)}")
        t0 = time.monotonic()
        conn = self.connect_until_200(token, pool)
        t1 = time.monotonic()
        t2, t_any, n, first = self.capture(conn, shot)
        st, body, _ = self.d.api("POST", f"/api/v1/desktops/{pool}/end", token=token)
        if st != 200:
            raise brokerdeploy.ApiError(st, body)
        return t2 - t0, t1 - t0, t_any - t0, n, first

    # 4, stopped -----------------------------------------------------------
    def stopped(self, helper):
        d = self.d
        self.stop_total, self.stop_200, self.stop_any = [], [], []
        for i in range(STOPPED):
            user = f"fresh{i + 1}"
            token = d.login(user, f"{user}-password")
            # Every office guest shut off and clean before the click.
            total, to200, to_any, n, first = self.session_round(
                token, "office", helper, f"stopped{i + 1}.ppm")
            self.stop_total.append(total)
            self.stop_200.append(to200)
            self.stop_any.append(to_any)
            log(f"stopped round {i + 1}: {total:.3f}s (200 after {to200:.3f}s; "
                f"{n} captures, the first {first})")
        wait_until(lambda: all(g["state"] == "free"
                             for g in self.pools("office", helper)), 120)

    # 3 and 4, running -------------------------------------------------------
    def running(self):
        d = self.d
        token = d.login("runner", "runner-password")
        conn = self.connect_until_200(token, "office")  # starts its guest
        self.capture(conn, "running0.ppm")              # not counted
        self.lc = []
        for _ in range(CONNECTS):
            t0 = time.monotonic()
            token = d.login("runner", "runner-password")
            st, body, _ = d.api("POST", "/api/v1/desktops/office/connect",
                                token=token)
            self.lc.append(time.monotonic() - t0)
            if st != 200:
                raise brokerdeploy.ApiError(st, body)
        log(f"{CONNECTS} login+connect on a running guest: p50 "
            f"{pct(self.lc, 50) * 1e3:.1f} ms")
        self.connect_alone(token)
        self.run_total = []
        for i in range(RUNNING):
            t0 = time.monotonic()
            conn = self.connect_until_200(token, "office")
            t2, _, n, _ = self.capture(conn, f"running{i + 1}.ppm")
            self.run_total.append(t2 - t0)
            log(f"running round {i + 1}: {self.run_total[-1]:.3f}s ({n} captures)")

    def connect_alone(self, token):
        """POST connect on the running guest, CONNECTS rounds on one kept-
        alive connection, then CONNECTS with a fresh TLS connection each
        (one client SSL context for all: its making is not the broker's),
        timed by the client; the broker's own time per connect from its
        /metrics; the libvirt API calls it made meanwhile (LibvirtCalls)."""
        d = self.d
        path = "/api/v1/desktops/office/connect"
        hdrs = {"Authorization": f"Bearer {token}"}
        ctx = d.tls_context()

        def one(conn):
            t0 = time.monotonic()
            conn.request("POST", path, headers=hdrs)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise brokerdeploy.ApiError(r.status, body)
            return time.monotonic() - t0

        def fresh():
            return http.client.HTTPSConnection("127.0.0.1", d.broker_port,
                                               context=ctx, timeout=60)
        conn = fresh()
        one(conn)  # the handshake, not counted
        m0 = self.metrics()
        v0 = self.libvirt.snapshot()
        self.ca_keep = [one(conn) for _ in range(CONNECTS)]
        conn.close()
        m1 = self.metrics()
        time.sleep(0.2)  # the FIFO read
        self.libvirt_calls = LibvirtCalls.per_op(v0, self.libvirt.snapshot(),
                                                 CONNECTS)
        self.ca_fresh = []
        for _ in range(CONNECTS):
            conn = fresh()
            self.ca_fresh.append(one(conn))
            conn.close()
        m2 = self.metrics()
        n, self.ca_server, bk = self.route_delta(m0, m1, CONNECT_ROUTE)
        self.ca_server_p99 = self.bucket_pct(bk, n, 99)
        _, self.ca_server_fresh, _ = self.route_delta(m1, m2, CONNECT_ROUTE)

        # The host's libvirt worker meanwhile: jobs, and their time waiting
        # for it and running on it, per connect.
        def lv(m, name):
            return m.get(f"paprika_broker_libvirt_{name}", 0.0) - \
                m0.get(f"paprika_broker_libvirt_{name}", 0.0)
        self.lv_jobs = lv(m1, 'jobs_total{host="local"}') / CONNECTS
        self.lv_wait = lv(m1, 'seconds_total{host="local",phase="wait"}') / CONNECTS
        self.lv_run = lv(m1, 'seconds_total{host="local",phase="run"}') / CONNECTS
        log(f"connect alone: p50 {pct(self.ca_keep, 50) * 1e3:.1f} ms kept "
            f"alive, {pct(self.ca_fresh, 50) * 1e3:.1f} ms fresh TLS; broker "
            f"{self.ca_server * 1e3:.2f} ms per connect; libvirt calls per "
            f"connect {self.libvirt_calls[0]:.1f} on {self.libvirt_calls[2]} "
            f"({self.libvirt_calls[1]})")

    def traced(self, token):
        """System calls of the broker (all its threads) over TRACED connects
        and then TRACED logins, under strace -f -c: not timed, strace
        slows every call. (calls per connect, fsyncs per connect, calls per
        login, fsyncs per login), or None without strace."""
        if shutil.which("strace") is None:
            return None
        d = self.d
        out = []
        for what in ("connect", "login"):
            path = os.path.join(d.work, f"strace-{what}.txt")
            st = subprocess.Popen(["strace", "-f", "-c", "-w", "-o", path, "-p",
                                   str(d.broker.pid)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            time.sleep(1)  # attached to every thread
            for _ in range(TRACED):
                if what == "connect":
                    d.api("POST", "/api/v1/desktops/office/connect", token=token)
                else:
                    d.login("runner", "runner-password")
            time.sleep(0.5)
            st.send_signal(2)
            st.wait(30)
            calls, secs = strace_summary(path)
            syncs = ("fsync", "fdatasync", "sync_file_range")
            # /metrics is read by no one meanwhile: the rounds are all.
            out.append((sum(calls.values()) / TRACED,
                        sum(calls.get(k, 0) for k in syncs) / TRACED,
                        sum(secs.get(k, 0) for k in syncs) / TRACED,
                        sorted(calls.items(), key=lambda kv: -kv[1])[:8]))
            log(f"strace, {TRACED} {what}s: {out[-1][0]:.0f} system calls, "
                f"{out[-1][1]:.2f} fsyncs ({out[-1][2] * 1e3:.2f} ms) per "
                f"{what}; most: {out[-1][3]}")
        return out

    # 4, spare -------------------------------------------------------------
    def spare(self, helper):
        d = self.d
        token = d.login("sparer", "sparer-password")
        self.spare_total, self.spare_200 = [], []
        for i in range(SPARE):
            spares = wait_until(lambda: [g for g in self.pools("lab", helper)
                                       if g["state"] == "spare"] and
                              len(self.pools("lab", helper)) == 1, 180)
            if not spares:
                raise deployment.DeploymentError(
                    f"no spare in pool lab: {self.pools('lab', helper)}")
            t0 = time.monotonic()
            conn = self.connect_until_200(token, "lab")
            t1 = time.monotonic()
            t2, _, n, first = self.capture(conn, f"spare{i + 1}.ppm")
            self.spare_total.append(t2 - t0)
            self.spare_200.append(t1 - t0)
            log(f"spare round {i + 1}: {t2 - t0:.3f}s (200 after {t1 - t0:.3f}s; "
                f"{n} captures, the first {first})")
            st, body, _ = d.api("POST", "/api/v1/desktops/lab/end", token=token)
            if st != 200:
                raise brokerdeploy.ApiError(st, body)

    # 4, a shared guest reverted to a running snapshot ----------------------
    def reverted(self, helper):
        """The kiosk pool's guest, reverted to LIVE_SNAPSHOT when the previous
        session ended. The first round is not counted: the guest starts shut
        off (the direct baseline left it so) and boots; its end reverts it to
        the running snapshot, as every later round finds it."""
        d = self.d
        token = d.login("reverter", "reverter-password")
        self.rev_total, self.rev_200 = [], []
        for i in range(REVERTED + 1):
            total, to200, _, n, first = self.session_round(
                token, "kiosk", helper, f"reverted{i}.ppm")
            if i:
                self.rev_total.append(total)
                self.rev_200.append(to200)
            log(f"reverted round {i}{' (not counted: cold boot)' if not i else ''}: "
                f"{total:.3f}s (200 after {to200:.3f}s; {n} captures, "
                f"the first {first})")


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "ms":
        return f"{v * 1e3:.1f}"
    if unit == "s":
        return f"{v:.2f}"
    return f"{v:.1f}"


def report(b, direct, virt, virt_why):
    med = statistics.median
    rows = []

    def row(label, p, unit, dv=None, note=""):
        ratio = f"{p / dv:.2f}x" if dv else "-"
        rows.append((label, fmt(p, unit), fmt(dv, unit), ratio, note))

    lat = b.login_lat
    mean = statistics.fmean(lat)
    row("login p50 ms", pct(lat, 50), "ms", note=f"{LOGINS} sequential")
    row("login p99 ms", pct(lat, 99), "ms")
    row("login mean ms", mean, "ms")
    row("  password check ms/login", b.kdf, "ms",
        note="argon2id: auth_seconds / logins ok, /metrics")
    row("  rest ms/login", mean - b.kdf, "ms",
        note="mean - check: HTTP+TLS+SQLite+client")
    row("  broker ms/login - check", b.login_server - b.kdf, "ms",
        note="server side: request_seconds{login} - auth_seconds, /metrics")
    row("logins/s, 1 thread", b.rate1, "n")
    rows.append((f"logins/s, {THREADS} threads", fmt(b.rateN, "n"), "-",
                 f"{b.rateN / b.rate1:.2f}x", "ratio to 1 thread"))
    row("  password check ms/login", b.kdf_conc, "ms",
        note=f"{THREADS} threads, auth_threads=2")
    row("login+connect p50 ms", pct(b.lc, 50), "ms",
        note=f"running guest, {CONNECTS} rounds")
    row("login+connect p99 ms", pct(b.lc, 99), "ms")
    row("connect p50 ms, kept alive", pct(b.ca_keep, 50), "ms",
        note=f"running guest, {CONNECTS} rounds on one connection")
    row("connect p99 ms, kept alive", pct(b.ca_keep, 99), "ms")
    row("connect p50 ms, fresh TLS", pct(b.ca_fresh, 50), "ms",
        note="a TLS handshake per connect")
    row("connect p99 ms, fresh TLS", pct(b.ca_fresh, 99), "ms")
    row("  broker ms/connect", b.ca_server, "ms",
        note=f"server side, mean; p99 <= {b.ca_server_p99 * 1e3:g} ms "
             "(histogram bound); fresh TLS "
             f"{b.ca_server_fresh * 1e3:.2f} ms")
    rows.append(("  libvirt ms/connect", f"{b.lv_run * 1e3:.2f}", "-", "-",
                 f"running on the host's worker; {b.lv_wait * 1e3:.2f} ms waiting "
                 f"for it; {b.lv_jobs:.2f} jobs per connect, /metrics"))
    rows.append(("  libvirt calls/connect", f"{b.libvirt_calls[0]:.1f}", "-", "-",
                 ", ".join(f"{k} {v:g}" for k, v in
                           list(b.libvirt_calls[1].items())[:5])))
    trips = sum(v for k, v in b.libvirt_calls[1].items() if k not in LIBVIRT_LOCAL)
    rows.append(("  of them round trips", f"{trips:.1f}", "-", "-",
                 "on a remote host: all but " + ", ".join(LIBVIRT_LOCAL)))
    if b.strace:
        for what, (calls, fsyncs, fsecs, _) in zip(("connect", "login"), b.strace):
            rows.append((f"  system calls/{what}", f"{calls:.0f}", "-", "-",
                         f"the broker's threads, strace -f -c -w, {TRACED} rounds"))
            rows.append((f"  fsyncs/{what}", f"{fsyncs:.2f}", "-", "-",
                         f"{fsecs * 1e3:.2f} ms each {what} (wall, under strace)"))
    def dmed(key):
        return med(direct[key]) if direct[key] else None
    dstop, drun, drev = dmed("stopped"), dmed("running"), dmed("reverted")
    row("stopped guest, first frame s", med(b.stop_total), "s", dstop,
        note=f"median of {len(b.stop_total)}/{len(direct['stopped'])}; shared pool, "
             "shut off at its snapshot")
    row("  until connect 200 s", med(b.stop_200), "s", dmed("stopped_start"),
        note="direct: start+password")
    row("  any frame s (old figure)", med(b.stop_any), "s", dmed("stopped_any"),
        note="the first frame received, whatever it shows")
    row("spare guest, first frame s", med(b.spare_total), "s", drun,
        note=f"median of {len(b.spare_total)}; spares = 1, ready; direct = running guest")
    row("  until connect 200 s", med(b.spare_200), "s")
    row("running guest, first frame s", med(b.run_total), "s", drun,
        note=f"median of {len(b.run_total)}/{len(direct['running'])}; a reconnect")
    row("reverted guest, first frame s", med(b.rev_total), "s", drev,
        note=f"median of {len(b.rev_total)}/{len(direct['reverted'])}; shared pool, "
             "running snapshot")
    row("  until connect 200 s", med(b.rev_200), "s",
        note="direct: from the end of the revert (median "
             f"{fmt(dmed('revert'), 's')} s), password")
    aims = Aims("broker")
    rest, p99 = b.login_server - b.kdf, pct(b.ca_keep, 99)
    aims.add("broker: a login beyond the password check ms, server side", fmt(rest, "ms"),
             "-", "-", "< 5 ms", rest < 0.005)
    aims.add("broker: connect on a running guest p99 ms, kept alive", fmt(p99, "ms"), "-",
             "-", "< 20 ms", p99 < 0.020)
    # Judged in README.md: on 2 cores the test's clients take their share.
    aims.add(f"broker: logins/s, {THREADS} clients / 1 (auth_threads = 2)",
             fmt(b.rateN, "n"), fmt(b.rate1, "n"), f"{b.rateN / b.rate1:.2f}x",
             "scales with auth_threads", None)
    print()
    hdr = f"{'figure':<32} {'paprika':>9} {'direct':>9} {'ratio':>7} | notes"
    print(hdr)
    print("-" * len(hdr) + "-" * 30)
    for label, p, dv, ratio, note in rows:
        print(f"{label:<32} {p:>9} {dv:>9} {ratio:>7} | {note}".rstrip())
    print()
    print(f"guests ran under {virt_why}.")
    spare = med(b.spare_total)
    verdict = ("met" if spare < 1.5 and virt == "kvm" else
               "not met" if virt == "kvm" else
               f"{'under' if spare < 1.5 else 'over'} 1.5 s here, but under TCG: "
               "the aim is for KVM")
    print(f"spare guest on screen: {spare:.2f} s; {AIM} ({verdict}).")
    for label, p, dv in (("stopped guest", med(b.stop_total), dstop),
                         ("running guest", med(b.run_total), drun),
                         ("spare guest", spare, drun),
                         ("reverted guest", med(b.rev_total), drev)):
        if dv:
            print(f"{label}: broker {p:.2f} s, direct libvirt {dv:.2f} s, "
                  f"ratio {p / dv:.2f}" +
                  (" (direct = running guest)" if label == "spare guest" else ""))
    print("paprika: through paprika-brokerd and paprika-gatewayd (plain CONNECT "
          "listener); direct: libvirt and spicy-screenshot")
    print("straight to the guest's TLS port. First frame: from the POST connect "
          f"(?wait={WAIT}: answered when ready) until")
    print("spicy-screenshot has written a frame equal to the settled screen "
          f"({images.describe(b.ref)}, still for {SETTLE:.0f} s),")
    print("capturing again while it gets anything else; direct likewise. "
          "ratio = paprika / direct, lower is better except logins/s.")

def main():
    work = tempfile.mkdtemp(prefix="paprika-bench-broker.")
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=log)
    rc = 1
    try:
        for tool in ("spicy-screenshot", "unshare", "qemu-img"):
            if shutil.which(tool) is None:
                raise deployment.DeploymentError(f"{tool} is missing (scripts/deps.sh)")
        log(f"work directory {work}" + (" (BENCH_QUICK)" if QUICK else ""))
        d.make_pki()
        d.define_guests("lab-template", LIVE_GUEST)
        log(f"guests run under {d.virt_why}")
        for user, groups in (("bench", "staff"), ("runner", "staff"),
                             ("sparer", "staff"), ("reverter", "staff"),
                             ("helper", "helpdesk"),
                             *((f"bench{i + 1}", "staff") for i in range(THREADS)),
                             *((f"fresh{i + 1}", "staff") for i in range(STOPPED))):
            d.add_user(user, f"{user}-password", groups)

        # 5: the libvirt baseline, before the broker opens the driver.
        log(f"direct libvirt baseline on {d.guest_names[0]} and {LIVE_GUEST} "
            f"({STOPPED} stopped, {RUNNING} running, {REVERTED} reverted rounds)")
        settled = os.path.join(d.work, "settled.png")
        args = {"root": d.root, "work": d.work, "guest": d.guest_names[0],
                "live": LIVE_GUEST, "settled": settled,
                "ca_bundle": d.ca_bundle_path(), "stopped": STOPPED,
                "running": RUNNING, "reverted": REVERTED}
        env = dict(os.environ, LIBVIRT_LOG_OUTPUTS=
                   f"3:file:{os.path.join(d.work, 'libvirt.log')}")
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "direct",
                            json.dumps(args)], env=env, capture_output=True,
                           text=True, timeout=600)
        with open(os.path.join(d.work, "direct.log"), "w") as f:
            f.write(r.stderr)
        for line in r.stderr.strip().splitlines():
            if line.startswith("direct ") or r.returncode != 0:
                log(line)
        if r.returncode != 0:
            raise deployment.DeploymentError("direct baseline failed")
        direct = json.loads(r.stdout.strip().splitlines()[-1])
        ref = images.read_image(settled)

        d.start_gateway()
        conf = d.broker_config() + brokerdeploy.LAB_POOL + KIOSK_POOL
        d.conf_text = conf
        lv = LibvirtCalls(d.work)
        d.broker_env = dict(os.environ, **lv.env())
        d.start_broker()
        helper = d.login("helper", "helper-password")
        b = Bench(d, ref)
        b.libvirt = lv
        # The template pool clones and starts its spare as the broker
        # starts: let that finish before timing anything.
        if not wait_until(lambda: [g for g in b.pools("lab", helper)
                                 if g["state"] == "spare"], 180):
            raise deployment.DeploymentError(
                f"no spare in pool lab: {b.pools('lab', helper)}")
        time.sleep(2)
        b.logins()
        b.stopped(helper)
        b.running()
        b.strace = b.traced(d.login("runner", "runner-password"))
        b.spare(helper)
        b.reverted(helper)
        report(b, direct, d.virt, d.virt_why)
        rc = 0
    except Exception as e:  # noqa: BLE001 (a failed run says why, with the log)
        log(f"FAILED: {type(e).__name__}: {e}")
        tail = d.broker_tail(30)
        if tail:
            print("broker log:\n" + tail)
    finally:
        d.stop()
        if KEEP or rc:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "direct":
        sys.exit(direct_main(json.loads(sys.argv[2])))
    sys.exit(main())
