#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Running the gateway: configuration check and dump (-n, -v) with file:line
errors; reload by SIGHUP and by paprikactl with ticket key rotation while
tunnels keep flowing, and a broken reload that keeps the running setup;
SIGTERM drain, its deadline and a second signal; the control socket
(sessions, status, metrics, errors); Prometheus metrics over HTTP; dropping
privileges to "nobody"; an IPv6 listener."""

import grp
import json
import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gwharness as g  # noqa: E402

SLACK = 6


class Flow(threading.Thread):
    """Echoes messages through one tunnel until stopped. Only this thread
    touches the connection."""

    def __init__(self, conn, name):
        super().__init__(daemon=True)
        self.conn = conn
        self.label = name
        self.rounds = 0
        self.errors = []
        self.stopping = threading.Event()

    def run(self):
        i = 0
        while not self.stopping.is_set():
            msg = b"%08d:" % i + os.urandom(2048)
            try:
                got = self.conn.echo(msg, timeout=10)
            except Exception as e:
                self.errors.append(repr(e))
                return
            if got != msg:
                self.errors.append("round %d came back different" % i)
                return
            self.rounds += 1
            i += 1
            time.sleep(0.01)

    def progressing(self, timeout=5):
        r0 = self.rounds
        return bool(g.wait_until(lambda: self.rounds >= r0 + 3, timeout))

    def stop(self):
        self.stopping.set()
        self.join(15)
        return not self.is_alive()


def run_check(h, path, verbose=False):
    argv = [h.gatewayd, "-n", "-f", path]
    if verbose:
        argv.insert(1, "-v")
    return subprocess.run(argv, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def config_check(h, t):
    base = ("[gateway]\n"
            "listen = 127.0.0.1:%d\n"
            "listen_tls = none\n"
            "ticket_keys = %s\n"
            "upstream_networks = 10.0.0.0/24, fd00:1::/64\n"
            "upstream_ports = 5900-5999, 6100\n"
            "control_socket = %s\n"
            "state_dir = %s\n"
            "[limits]\n"
            "max_request_size = 2k\n"
            "request_timeout = 7s\n"
            "buffer_size = 128k\n"
            "splice = no\n"
            % (g.free_port(), h.keys, h.path("check.sock"),
               h.path("check-state")))
    path = h.path("check.conf")
    write(path, base)
    r = run_check(h, path)
    t.ok(r.returncode == 0 and r.stdout.strip() == "configuration OK",
         "-n: a good configuration is OK", r.stdout + r.stderr)
    t.ok(not os.path.exists(h.path("check.sock"))
         and not os.path.exists(h.path("check-state")),
         "-n: creates neither the control socket nor state_dir")
    r = run_check(h, path, verbose=True)
    want = ["listen = 127.0.0.1:", "listen_tls = none",
            "metrics_listen = none", "ticket_keys = " + h.keys,
            "upstream_networks = 10.0.0.0/24, fd00:1::/64",
            "upstream_ports = 5900-5999, 6100", "max_request_size = 2048",
            "request_timeout = 7s", "handshake_timeout = 10s",
            "buffer_size = 131072", "splice = no", "max_tunnels = 8192",
            "[limits]", "configuration OK"]
    missing = [w for w in want if w not in r.stdout]
    t.ok(r.returncode == 0 and not missing,
         "-n -v: dumps the effective configuration, defaults included",
         "missing %r in:\n%s" % (missing, r.stdout + r.stderr))

    cases = [
        ("a bad value on line 4",
         "[gateway]\nlisten = 127.0.0.1:3128\n[limits]\nmax_tunnels = lots\n",
         4, '"lots" is not a number'),
        ("an unknown setting on line 3",
         "[gateway]\nlisten = 127.0.0.1:3128\nlisen_tls = none\n",
         3, 'unknown setting "lisen_tls" in [gateway]'),
        ("a setting in an unknown section, line 10",
         base.split("[limits]")[0] + "[limit]\nsplice = no\n",
         10, "unknown section [limit]"),
        ("a line that is not a setting, line 2",
         "[gateway]\nthis is not a setting\n", 2, "syntax error"),
        ("a value out of range on line 10",
         base.replace("max_request_size = 2k", "max_request_size = 100"),
         10, "out of range"),
        ("a zero request_timeout on line 11",
         base.replace("request_timeout = 7s", "request_timeout = 0"),
         11, "request_timeout 0 is out of range (1s to 1h)"),
        ("a bad network on line 5",
         base.replace("10.0.0.0/24", "10.0.0.1/24"), 5, "bad network"),
        ("a bad listen address on line 2",
         base.replace("listen = 127.0.0.1:", "listen = 127.0.0.1;"), 2,
         "is not an address:port"),
    ]
    for label, text, line, words in cases:
        write(path, text)
        r = run_check(h, path)
        t.ok(r.returncode != 0 and ("%s:%d:" % (path, line)) in r.stderr
             and words in r.stderr,
             "-n: %s is reported as FILE:%d: ... %s" % (label, line, words),
             "rc %d: %s" % (r.returncode, r.stderr))
    others = [
        ("without upstream_networks",
         re.sub(r"upstream_networks = .*\n", "", base),
         "upstream_networks is not set"),
        ("listen_tls without a certificate",
         base.replace("listen_tls = none", "listen_tls = 127.0.0.1:3129"),
         "listen_tls needs tls_cert and tls_key"),
        ("buffer_size below max_request_size",
         base.replace("buffer_size = 128k", "buffer_size = 4k")
         .replace("max_request_size = 2k", "max_request_size = 8k"),
         "buffer_size must be at least max_request_size"),
    ]
    for label, text, words in others:
        write(path, text)
        r = run_check(h, path)
        t.ok(r.returncode != 0 and words in r.stderr,
             "-n: refuses a configuration %s" % label, r.stderr)
    # A check of the whole file names the line of the key it is about.
    write(path, base.replace("listen_tls = none", "listen_tls = 127.0.0.1:3129"))
    r = run_check(h, path)
    t.ok(r.returncode != 0 and ("%s:3: listen_tls needs" % path) in r.stderr,
         "-n: listen_tls without a certificate is reported at its line 3",
         r.stderr)
    loose = h.make_keys("loose-keys", [1])
    os.chmod(os.path.join(loose, "1.key"), 0o644)
    write(path, base.replace(h.keys, loose))
    r = run_check(h, path)
    t.ok(r.returncode != 0 and "accessible by others" in r.stderr,
         "-n: refuses a world-readable ticket key", r.stderr)
    empty = h.path("empty-keys")
    os.makedirs(empty, 0o700, exist_ok=True)
    write(path, base.replace(h.keys, empty))
    r = run_check(h, path)
    t.ok(r.returncode != 0 and "no ticket keys" in r.stderr,
         "-n: refuses a key directory without keys", r.stderr)
    r = run_check(h, h.path("no-such.conf"))
    t.ok(r.returncode != 0 and "no-such.conf" in r.stderr,
         "-n: names a missing file", r.stderr)


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def check_histogram(t, m, name, count, label):
    buckets = [(k, v) for k, v in m.items()
               if k.startswith(name + "_bucket{")]
    values = [v for _, v in buckets]
    inf = m.get(name + '_bucket{le="+Inf"}')
    t.ok(len(buckets) >= 5 and values == sorted(values) and inf == count
         and m.get(name + "_count") == count and m.get(name + "_sum", -1) >= 0,
         "%s: histogram %s has %d observation(s), cumulative buckets"
         % (label, name, count), repr(buckets[-3:]) + repr(
             (m.get(name + "_count"), m.get(name + "_sum"))))


def control_and_metrics(h, t, gw, echo, keys):
    """On a fresh gateway, so every counter is known."""
    ta = h.ticket(echo.port, user="alice", keys=keys)
    tb = h.ticket(echo.port, user="bob", keys=keys)
    conns = []
    for tk, tls in ((ta, False), (ta, False), (tb, True)):
        rep = gw.open_tunnel(tk, echo.port, tls=tls)
        conns.append(rep.conn)
    t.ok(all(conns), "control: 3 tunnels open")
    if not all(conns):
        return
    for c, n in zip(conns, (1000, 1000, 500)):
        c.echo(os.urandom(n))
    for raw in (g.http_request("desktop.example:%d" % echo.port),
                g.http_request("pk.%s:%d" % ("b" * 60, echo.port)),
                g.http_request("%s:%d" % (ta.text[:-1] + ("q" if ta.text[-1] != "q" else "r"), echo.port)),
                b"GET /metrics HTTP/1.1\r\n\r\n"):
        gw.request(raw)

    r = gw.ctl("sessions", "--json")
    try:
        sessions = {s["session"]: s for s in json.loads(r.stdout)["sessions"]}
    except ValueError:
        sessions = {}
    t.eq(sorted(sessions), sorted([ta.session, tb.session]),
         "sessions --json: lists both sessions")
    sa, sb = sessions.get(ta.session), sessions.get(tb.session)
    if sa and sb:
        t.ok(sa["user"] == "alice" and sb["user"] == "bob",
             "sessions --json: with their users")
        t.eq(len(sa["tunnels"]), 2, "sessions --json: alice has 2 tunnels")
        ports = sorted(x["peer"] for x in sa["tunnels"])
        want = sorted(g.peer_str(c.local) for c in conns[:2])
        t.eq(ports, want, "sessions --json: each tunnel's client address")
        tun = sb["tunnels"][0] if sb["tunnels"] else {}
        t.ok(tun.get("listener") == "tls" and tun.get("state") == "relay"
             and tun.get("upstream") == "127.0.0.1:%d" % echo.port,
             "sessions --json: listener, state and upstream", repr(tun))
        t.ok(tun.get("bytes_up") == 500 and tun.get("bytes_down") in
             (500, 500 + len(g.OK_REPLY)),
             "sessions --json: bytes up and down", repr(tun))
        if tun.get("bytes_down") == 500 + len(g.OK_REPLY):
            t.note("observation: bytes_down counts the gateway's own "
                   "39-byte '200 Connection established' reply")
    r = gw.ctl("sessions")
    t.ok(r.returncode == 0 and ta.session in r.stdout
         and tb.session in r.stdout and "alice" in r.stdout
         and r.stdout.count("tunnel ") == 3,
         "sessions: the table names sessions, users and 3 tunnels", r.stdout)
    st = gw.status()
    t.ok(st.get("connections") == 3 and st.get("sessions") == 2
         and st.get("draining") is False and st.get("revocations") == 0
         and st.get("uptime", -1) >= 0 and st.get("version"),
         "status --json: connections, sessions, draining, version", repr(st))
    r = gw.ctl("status")
    t.ok(re.match(r"paprika-gatewayd \S+, up \d+s, 3 connection\(s\), "
                  r"2 session\(s\), 0 revocation\(s\)$", r.stdout.strip()),
         "status: one line summary", r.stdout)

    head, body = gw.metrics_http()
    t.ok(head.startswith("HTTP/1.1 200 ") and
         "text/plain; version=0.0.4" in head,
         "metrics over HTTP: 200, Prometheus text", head)
    m = parse_metrics(body)
    want = {
        'paprika_gateway_tunnels_opened_total{listener="plain"}': 2,
        'paprika_gateway_tunnels_opened_total{listener="tls"}': 1,
        "paprika_gateway_tunnels": 3,
        "paprika_gateway_connections": 3,
        "paprika_gateway_sessions": 2,
        'paprika_gateway_refusals_total{reason="no_ticket"}': 1,
        'paprika_gateway_refusals_total{reason="bad_ticket"}': 2,
        'paprika_gateway_refusals_total{reason="method"}': 1,
        'paprika_gateway_refusals_total{reason="expired"}': 0,
        'paprika_gateway_refusals_total{reason="upstream_failed"}': 0,
        'paprika_gateway_bytes_total{direction="up"}': 2500,
    }
    bad = {k: m.get(k) for k, v in want.items() if m.get(k) != v}
    t.ok(not bad, "metrics over HTTP: tunnels, refusals by reason, bytes",
         repr(bad))
    down = m.get('paprika_gateway_bytes_total{direction="down"}', 0)
    t.ok(2500 <= down <= 2500 + 3 * len(g.OK_REPLY) + 4 * 200,
         "metrics over HTTP: bytes down %d (2500 relayed)" % down)
    check_histogram(t, m, "paprika_gateway_upstream_connect_seconds", 3,
                    "metrics")
    check_histogram(t, m, "paprika_gateway_tls_handshake_seconds", 1,
                    "metrics")
    reasons = [k for k in m if k.startswith("paprika_gateway_refusals_total")]
    t.ok(len(reasons) >= 14, "metrics: every refusal reason is exported "
         "(%d)" % len(reasons))
    r = gw.ctl("metrics")
    m2 = parse_metrics(r.stdout)
    drop = ("paprika_gateway_uptime_seconds",)
    same = {k: v for k, v in m.items() if k not in drop} == \
        {k: v for k, v in m2.items() if k not in drop}
    t.ok(r.returncode == 0 and same,
         "paprikactl metrics: the same numbers as over HTTP")
    head, _ = gw.metrics_http("/other")
    t.ok(head.startswith("HTTP/1.1 404 "), "metrics over HTTP: 404 elsewhere",
         head)

    # The control socket itself: private, and strict about what it reads.
    mode = os.stat(gw.sock_path).st_mode
    t.ok(stat.S_ISSOCK(mode) and mode & 0o077 == 0,
         "control socket is private (mode %o)" % (mode & 0o777))
    for raw, words in ((b'{"command":"bogus"}\n', "unknown command"),
                       (b"not json\n", "malformed JSON"),
                       (b"[1,2]\n", "expected a JSON object"),
                       (b'{"command":"kill","session":"xyz"}\n',
                        "kill needs")):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(gw.sock_path)
        data = g.ask(s, raw)
        try:
            err = json.loads(data).get("error", "")
        except ValueError:
            err = ""
        t.ok(words in err, "control: %r answered with an error"
             % raw.strip(), data)
    r = gw.ctl("kill", "0123456789abcdef")
    t.ok(r.returncode == 0 and "closed 0 tunnel(s)" in r.stdout,
         "control: kill of an unknown session closes nothing")
    for c in conns:
        c.close()
    t.ok(gw.wait_connections(0), "control: all closed")
    m = parse_metrics(gw.ctl("metrics").stdout)
    t.ok(m.get('paprika_gateway_bytes_total{direction="up"}') == 2500
         and m.get("paprika_gateway_tunnels") == 0
         and m.get("paprika_gateway_sessions") == 0,
         "metrics: bytes kept after the tunnels close, gauges back to 0")


def open_echo(gw, tk, port, tls=False):
    rep = gw.open_tunnel(tk, port, tls=tls)
    return rep.status, rep.conn


def reload_and_rotation(h, t, gw, echo, keys):
    t1 = h.ticket(echo.port, keys=keys)
    t1b = h.ticket(echo.port, keys=keys, user="bob")
    flows = []
    for tk, tls in ((t1, False), (t1b, True)):
        st, c = open_echo(gw, tk, echo.port, tls)
        if c is None:
            t.ok(False, "reload: a flowing tunnel opens")
            return
        f = Flow(c, "tls" if tls else "plain")
        f.start()
        flows.append(f)
    old = h.ticket(echo.port, keys=keys, ttl=800)

    def flowing(when):
        for f in flows:
            t.ok(f.progressing() and not f.errors,
                 "%s tunnel keeps flowing %s" % (f.label, when),
                 repr(f.errors))

    flowing("before any reload")
    h.add_key(keys, 2)
    since = gw.log_size()
    gw.send_signal(signal.SIGHUP)
    t.ok(gw.wait_log(r"reloaded .*: 2 ticket key\(s\), 2 tunnel\(s\) kept",
                     since), "SIGHUP: reloaded with 2 keys, tunnels kept")
    flowing("across the SIGHUP")
    new = h.ticket(echo.port, keys=keys, ttl=801)
    st, c = open_echo(gw, new, echo.port)
    t.eq(st, 200, "rotation: a ticket signed with the new key is accepted")
    if c:
        c.close()
    st, c = open_echo(gw, old, echo.port)
    t.eq(st, 200, "rotation: a ticket signed with the old key still is")
    if c:
        c.close()
    os.unlink(os.path.join(keys, "1.key"))
    since = gw.log_size()
    gw.send_signal(signal.SIGHUP)
    t.ok(gw.wait_log(r"reloaded .*: 1 ticket key\(s\)", since),
         "SIGHUP: reloaded without the old key")
    rep = gw.open_tunnel(old, echo.port)
    t.ok(rep.status == 403 and b"unknown key" in rep.body,
         "rotation: with the old key gone its tickets get 403", repr(rep))
    st, c = open_echo(gw, new, echo.port)
    t.eq(st, 200, "rotation: new-key tickets still accepted")
    if c:
        c.close()
    flowing("after its key was removed (live tunnels are not re-checked)")

    good = gw.conf_text()
    lines = good.splitlines()
    bad_line = lines.index("[limits]") + 2
    lines.insert(bad_line - 1, "max_tunnels = many")
    gw.write_conf("\n".join(lines) + "\n")
    since = gw.log_size()
    gw.send_signal(signal.SIGHUP)
    m = gw.wait_log(r"reload failed, keeping the running configuration: "
                    r"(\S+):(\d+): (.*)", since)
    t.ok(m and m.group(1) == gw.conf_path and int(m.group(2)) == bad_line,
         "SIGHUP with a broken file: logs FILE:%d and keeps running"
         % bad_line, m.group(0) if m else gw.log(since))
    t.ok(gw.alive(), "SIGHUP with a broken file: still running")
    st, c = open_echo(gw, new, echo.port)
    t.eq(st, 200, "SIGHUP with a broken file: still accepts tunnels")
    if c:
        c.close()
    r = gw.ctl("reload")
    t.ok(r.returncode != 0 and "reload failed" in r.stderr
         and "%s:%d:" % (gw.conf_path, bad_line) in r.stderr,
         "paprikactl reload with a broken file: fails and says where",
         r.stdout + r.stderr)
    flowing("through failed reloads")

    gw.write_conf()
    write(os.path.join(keys, "3.key"), "not hex\n", 0o600)
    r = gw.ctl("reload")
    t.ok(r.returncode != 0 and "3.key" in r.stderr,
         "paprikactl reload with a broken key file: fails and names it",
         r.stderr)
    os.unlink(os.path.join(keys, "3.key"))

    gw.limits["max_tunnels_per_session"] = 1
    gw.write_conf()
    r = gw.ctl("reload")
    t.ok(r.returncode == 0 and r.stdout.strip() == "reloaded",
         "paprikactl reload: reloaded", r.stdout + r.stderr)
    st, c1 = open_echo(gw, new, echo.port)
    rep = gw.open_tunnel(new, echo.port)
    t.ok(st == 200 and rep.status == 503,
         "paprikactl reload: the new max_tunnels_per_session = 1 applies",
         repr(rep))
    if c1:
        c1.close()
    gw.limits.pop("max_tunnels_per_session")

    moved = dict(gw.gateway_extra)
    gw.gateway_extra["listen"] = "127.0.0.1:%d" % g.free_port()
    gw.write_conf()
    since = gw.log_size()
    r = gw.ctl("reload")
    t.ok(r.returncode == 0 and gw.wait_log("listener addresses changed",
                                           since, 5),
         "reload with another listen address: warns it needs a restart")
    st, c = open_echo(gw, new, echo.port)
    t.eq(st, 200, "reload with another listen address: the old listener "
         "still serves")
    if c:
        c.close()
    gw.gateway_extra = moved
    gw.write_conf()
    gw.ctl("reload")
    flowing("after every reload")
    for f in flows:
        t.ok(f.stop() and not f.errors, "%s tunnel: %d echo rounds, no error"
             % (f.label, f.rounds), repr(f.errors))
        f.conn.close()


def refused_connect(addr, timeout=5):
    """True once connecting to addr is refused."""
    def attempt():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(addr)
            return False
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
        finally:
            s.close()
    return g.wait_until(attempt, timeout, 0.1)


def drain(h, t, echo):
    gw = g.Gateway(h, "gw-drain", limits={"drain_timeout": "30s"})
    gw.start()
    tk = h.ticket(echo.port)
    st, a = open_echo(gw, tk, echo.port)
    idle = gw.connect()
    idle_local = idle.local
    t.ok(a is not None and gw.wait_connections(2), "drain: a tunnel and an "
         "idle connection")
    if a is None:
        return
    since = gw.log_size()
    gw.send_signal(signal.SIGTERM)
    t.ok(gw.wait_log(r"draining 1 tunnel\(s\), at most 30s", since),
         "SIGTERM: draining the one tunnel")
    t.ok(idle.wait_eof(5), "SIGTERM: a connection without a tunnel is "
         "closed at once")
    lines = gw.wait_tunnel_lines(since, g.peer_str(idle_local))
    t.ok(len(lines) == 1 and lines[0].reason == "gateway shutting down",
         "SIGTERM: logged as \"gateway shutting down\"", repr(lines))
    t.ok(refused_connect(gw.address(False)),
         "SIGTERM: the plain listener is closed")
    t.ok(refused_connect(gw.address(True)),
         "SIGTERM: the TLS listener is closed")
    t.ok(gw.status().get("draining") is True, "SIGTERM: status says draining")
    ok = True
    for _ in range(5):
        msg = os.urandom(4000)
        ok = ok and a.echo(msg) == msg
        time.sleep(0.2)
    t.ok(ok and gw.alive(), "SIGTERM: the open tunnel keeps flowing")
    a.shut_write()
    t.ok(a.wait_eof(5), "drain: the tunnel ends normally")
    a.close()
    t0 = time.monotonic()
    rc = gw.wait_exit(SLACK)
    t.ok(rc == 0, "drain: the gateway exits 0 when its last tunnel ends "
         "(%.1fs later)" % (time.monotonic() - t0), "rc %r" % rc)
    t.ok(not os.path.exists(gw.sock_path), "drain: control socket removed")

    gw = g.Gateway(h, "gw-deadline", limits={"drain_timeout": "2s"})
    gw.start()
    st, b = open_echo(gw, tk, echo.port)
    if b is None:
        t.ok(False, "drain deadline: tunnel opens")
        return
    since = gw.log_size()
    t0 = time.monotonic()
    gw.send_signal(signal.SIGTERM)
    ended = b.wait_eof(2 + SLACK)
    secs = time.monotonic() - t0
    t.ok(ended and 1.5 <= secs <= 2 + SLACK,
         "drain_timeout = 2: the lingering tunnel is closed after %.1fs" % secs)
    rc = gw.wait_exit(SLACK)
    t.ok(rc == 0 and time.monotonic() - t0 <= 2 + SLACK,
         "drain_timeout = 2: the gateway exits within %.1fs"
         % (time.monotonic() - t0), "rc %r" % rc)
    t.ok(gw.wait_log(r"drain deadline reached: closing 1 tunnel\(s\)",
                     since, 1), "drain_timeout = 2: logged")
    lines = gw.tunnel_lines(since, g.peer_str(b.local))
    t.ok(len(lines) == 1 and lines[0].reason == "gateway shutting down",
         "drain_timeout = 2: the tunnel's line says why", repr(lines))
    b.close()

    gw = g.Gateway(h, "gw-twice", limits={"drain_timeout": "60s"})
    gw.start()
    st, c = open_echo(gw, tk, echo.port)
    since = gw.log_size()
    gw.send_signal(signal.SIGTERM)
    gw.wait_log("draining", since)
    t0 = time.monotonic()
    gw.send_signal(signal.SIGTERM)
    rc = gw.wait_exit(SLACK)
    t.ok(rc == 0, "a second SIGTERM: exits at once (%.1fs)"
         % (time.monotonic() - t0), "rc %r" % rc)
    t.ok(gw.wait_log("second signal: closing now", since, 1),
         "a second SIGTERM: logged")
    t.ok(c is not None and c.wait_eof(5),
         "a second SIGTERM: the tunnel is closed")
    if c:
        c.close()


def idle_timeout(h, t, echo):
    """idle_timeout = 2: a silent tunnel goes, a talking one stays."""
    gw = g.Gateway(h, "gw-idle", limits={"idle_timeout": "2s"})
    gw.start()
    tk = h.ticket(echo.port)
    st, quiet = open_echo(gw, tk, echo.port)
    st2, busy = open_echo(gw, tk, echo.port, tls=True)
    if quiet is None or busy is None:
        t.ok(False, "idle_timeout: tunnels open")
        return
    since = gw.log_size()
    t0 = time.monotonic()
    closed_at = None
    busy_ok = True
    while time.monotonic() - t0 < 5.0 or (
            closed_at is None and time.monotonic() - t0 < 2 + SLACK):
        msg = os.urandom(100)
        try:
            busy_ok = busy_ok and busy.echo(msg) == msg
        except Exception:
            busy_ok = False
        if closed_at is None and quiet.wait_eof(0.3):
            closed_at = time.monotonic() - t0
    t.ok(closed_at is not None and 1.5 <= closed_at <= 2 + SLACK,
         "idle_timeout = 2: the silent tunnel is closed (after %s s)"
         % ("%.1f" % closed_at if closed_at else "-"))
    t.ok(busy_ok and not busy.eof,
         "idle_timeout = 2: a tunnel with traffic stays open for %.0fs"
         % (time.monotonic() - t0))
    lines = gw.tunnel_lines(since, g.peer_str(quiet.local))
    t.ok(len(lines) == 1 and lines[0].reason == "idle timeout",
         "idle_timeout = 2: logged as \"idle timeout\"", repr(lines))
    quiet.close()
    busy.close()
    t.eq(gw.stop(), 0, "idle_timeout: gateway exits 0")


def privileges(h, t, echo):
    """user = nobody, started as root.

    What works: everything the gateway opens after dropping privileges
    must be readable by the user it drops to. That is the ticket key
    directory and keys, the TLS certificate and key (SIGHUP and paprikactl
    reload read them again) and the configuration file. Here the key
    directory is 0750 and the keys 0640, all owned by root with group
    nogroup (the keyring accepts 0640: group-readable, not writable).
    state_dir is chowned to the user at start, so revocations can be
    written. The control socket is made by root before the drop, mode
    0600: root's paprikactl can use it (root, or the daemon's own uid, is
    what the gateway accepts). Keys left 0600 root:root start fine but make
    every later reload fail with "Permission denied", as checked below.
    """
    if os.geteuid() != 0:
        t.note("SKIP privilege drop: not running as root")
        return
    try:
        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid)
    except KeyError:
        t.note("SKIP privilege drop: no user nobody")
        return
    gid = nobody.pw_gid
    d = h.path("priv")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    keys = h.make_keys("priv/keys", [1])
    os.chown(keys, 0, gid)
    os.chmod(keys, 0o750)
    kfile = os.path.join(keys, "1.key")
    os.chown(kfile, 0, gid)
    os.chmod(kfile, 0o640)
    tls_key = os.path.join(d, "gateway-key.pem")
    with open(h.key) as src:
        write(tls_key, src.read(), 0o640)
    os.chown(tls_key, 0, gid)
    gw = g.Gateway(h, "gw-priv", keys=keys,
                   gateway={"user": "nobody", "tls_key": tls_key})
    gw.start()
    uid = gw.proc_status("Uid")
    gids = gw.proc_status("Gid")
    groups = gw.proc_status("Groups")
    t.ok(uid == [str(nobody.pw_uid)] * 4,
         "user = nobody: every uid of the process is %d" % nobody.pw_uid,
         repr(uid))
    t.ok(gids == [str(gid)] * 4 and groups == [str(gid)],
         "user = nobody: gids are %s's, no supplementary groups"
         % group.gr_name, "%r %r" % (gids, groups))
    st = os.stat(gw.state_dir)
    t.ok(st.st_uid == nobody.pw_uid, "user = nobody: state_dir is chowned")
    t.ok("running as root" not in gw.log(gw.start_offset),
         "user = nobody: no running-as-root warning")
    tk = h.ticket(echo.port, keys=keys)
    for tls in (False, True):
        st_, c = open_echo(gw, tk, echo.port, tls)
        t.eq(st_, 200, "user = nobody: %s tunnel works"
             % ("TLS" if tls else "plain"))
        if c:
            c.close()
    since = gw.log_size()
    gw.send_signal(signal.SIGHUP)
    t.ok(gw.wait_log(r"reloaded .*1 ticket key", since),
         "user = nobody: SIGHUP reloads keys readable by group %s"
         % group.gr_name, gw.log(since))
    r = gw.ctl("revoke", "--session", tk.session)
    rev = os.path.join(gw.state_dir, "revocations")
    # The writer thread appends it a moment later, off the loop.
    deadline = time.monotonic() + 5
    while not os.path.exists(rev) and time.monotonic() < deadline:
        time.sleep(0.05)
    t.ok(r.returncode == 0 and os.path.exists(rev)
         and os.stat(rev).st_uid == nobody.pw_uid,
         "user = nobody: revocations are written to state_dir",
         r.stdout + r.stderr)
    os.chown(kfile, 0, 0)
    os.chmod(kfile, 0o600)
    r = gw.ctl("reload")
    t.ok(r.returncode != 0 and "Permission denied" in r.stderr,
         "user = nobody: a 0600 root-owned key makes reload fail",
         r.stdout + r.stderr)
    t.ok(gw.alive(), "user = nobody: and the gateway keeps running")
    t.eq(gw.stop(), 0, "user = nobody: exits 0")
    shared_state_dir(h, t, keys, tls_key, nobody)


def shared_state_dir(h, t, keys, tls_key, nobody):
    """A state_dir that holds the broker's database is not handed over."""
    shared = h.path("priv/shared-state")
    os.makedirs(shared, exist_ok=True)
    os.chmod(shared, 0o755)
    write(os.path.join(shared, "broker.db"), "not the gateway's", 0o600)
    gw = g.Gateway(h, "gw-shared", keys=keys, gateway={
        "user": "nobody", "tls_key": tls_key, "state_dir": shared})
    try:
        gw.start(timeout=10)
        started = True
    except RuntimeError as e:
        started, why = False, str(e)
    if started:
        gw.stop()
    t.ok(not started and "holds \"broker.db\", which is not the gateway's"
         in why, "a state_dir shared with the broker is refused at start",
         "started" if started else why)
    st = os.stat(shared)
    t.ok(st.st_uid == 0 and st.st_mode & 0o777 == 0o755,
         "and it stays root's, unchanged", oct(st.st_mode))
    own = h.path("priv/parent/gateway")
    gw = g.Gateway(h, "gw-own", keys=keys, gateway={
        "user": "nobody", "tls_key": tls_key, "state_dir": own})
    gw.start()
    st = os.stat(own)
    t.ok(st.st_uid == nobody.pw_uid and st.st_mode & 0o777 == 0o700,
         "a missing state_dir (and its parent) is made, 0700, the user's",
         (st.st_uid, oct(st.st_mode)))
    t.eq(gw.stop(), 0, "and the gateway runs and exits 0")


def ipv6(h, t):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        t.note("SKIP IPv6: no ::1 on this machine")
        return
    echo6 = g.Upstream(h, g.handler_echo, host="::1")
    echo4 = g.Upstream(h, g.handler_echo)
    gw = g.Gateway(h, "gw-v6", host="::1")
    gw.start()
    tk6 = h.ticket(echo6.port, upstream="::1")
    tk4 = h.ticket(echo4.port)
    since = gw.log_size()
    for tk, port, what in ((tk6, echo6.port, "an IPv6 upstream"),
                           (tk4, echo4.port, "an IPv4 upstream")):
        for tls in (False, True):
            rep = gw.open_tunnel(tk, port, tls=tls)
            ok = rep.status == 200 and rep.conn is not None
            if ok:
                msg = os.urandom(3000)
                ok = rep.conn.echo(msg) == msg
                rep.conn.close()
            t.ok(ok, "[::1] %s listener: tunnel to %s"
                 % ("TLS" if tls else "plain", what), repr(rep))
    t.ok(gw.wait_connections(0), "[::1]: all closed")
    lines = gw.tunnel_lines(since)
    t.ok(len(lines) == 4 and all(ln.peer.startswith("[::1]:")
                                 for ln in lines)
         and sum(ln.upstream == "[::1]:%d" % echo6.port for ln in lines) == 2,
         "[::1]: log lines show IPv6 peers and upstreams", repr(lines))
    head, body = gw.metrics_http()
    t.ok(head.startswith("HTTP/1.1 200") and
         'paprika_gateway_tunnels_opened_total{listener="tls"} 2' in body,
         "[::1]: metrics listener")
    t.eq(gw.stop(), 0, "[::1]: exits 0")


def main(h, t):
    echo = g.Upstream(h, g.handler_echo)
    with t.section("configuration check"):
        config_check(h, t)
    keys = h.make_keys("rot-keys", [1])
    gw = g.Gateway(h, "gw", keys=keys)
    gw.start()
    with t.section("control socket and metrics"):
        control_and_metrics(h, t, gw, echo, keys)
    with t.section("reload and key rotation"):
        reload_and_rotation(h, t, gw, echo, keys)
    t.eq(gw.stop(), 0, "gateway exits 0 on SIGTERM")
    with t.section("drain"):
        drain(h, t, echo)
    with t.section("idle timeout"):
        idle_timeout(h, t, echo)
    with t.section("privileges"):
        privileges(h, t, echo)
    with t.section("IPv6"):
        ipv6(h, t)


if __name__ == "__main__":
    g.run(main, time_limit=200)
