#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Limits that must hold under attack and across reloads:

- max_pending: connections that never send a ticket, from several loopback
  addresses, fill the slots for connections without a ticket; the extra ones
  are refused at once with a reason (answer, log line, metric), and a good
  client still gets its tunnels, plain and TLS, by pushing out the oldest
  waiting connection of the busiest address.
- a reload that raises max_request_size above the running buffer_size (which
  changes only at restart) is refused, the old limits stay, and a request
  larger than them is still answered 431 by a gateway that stays up."""

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gwharness as g  # noqa: E402

PENDING_REASON = b"too many connections waiting for a ticket"
EVICTED_REASON = PENDING_REASON + b"; this one waited longest"
ATTACKERS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]


def metric(gw, name):
    """A metric's value from the control socket, or None."""
    text = gw.ctl("metrics").stdout
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def attacker_connect(gw, src):
    """A plain connection that will never send a byte."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    gw.h.sockets.append(s)
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(gw.address(False))
    s.setblocking(False)
    return s


def answered(socks, timeout=5, quiet=1.0):
    """What each socket received, for those that received anything (or
    were closed), until nothing has arrived for quiet seconds."""
    got = {}
    done = set()
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while time.monotonic() < deadline:
        live = [s for s in socks if s not in done]
        ready = select.select(live, [], [], 0.1)[0] if live else []
        for s in ready:
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                data = b""
            got[s] = got.get(s, b"") + data
            if not data:
                done.add(s)
            last = time.monotonic()
        if got and time.monotonic() - last > quiet:
            break
    return got


def good_tunnel(t, gw, echo, label, tls=False):
    rep = gw.open_tunnel(gw.h.ticket(echo.port), echo.port, tls=tls)
    ok = rep.status == 200 and rep.conn is not None
    if ok:
        msg = os.urandom(200)
        ok = rep.conn.echo(msg) == msg
    t.ok(ok, label, repr(rep))
    return rep.conn


def pending_cap(h, t):
    echo = g.Upstream(h, g.handler_echo)
    gw = g.Gateway(h, "pending", limits={
        "max_tunnels": 12,
        "max_pending": 4,
        "max_pending_per_source": 3,
        "request_timeout": "60s",
    })
    gw.start()
    first = good_tunnel(t, gw, echo, "pending: the good client's first "
                        "tunnel opens")

    # Eleven silent connections, round-robin over four addresses: each
    # address stays under max_pending_per_source, together they would fill
    # max_tunnels with the good tunnel.
    since = gw.log_size()
    # One at a time, each seen by the gateway before the next: with several
    # workers, connections that arrive together are taken in any order.
    attack = []
    for i in range(11):
        seen = g.accepted(gw)
        attack.append(attacker_connect(gw, ATTACKERS[i % len(ATTACKERS)]))
        g.wait_until(lambda: g.accepted(gw) > seen, 10)
    t.ok(g.wait_until(lambda: metric(gw, 'paprika_gateway_refusals_total'
                                         '{reason="pending"}') == 7, 10),
         "pending: 7 of 11 silent connections refused for max_pending",
         gw.ctl("metrics").stdout[-3000:])
    got = answered(attack, 5)
    refused = [s for s in attack if got.get(s, b"").startswith(
        b"HTTP/1.1 503 ") and PENDING_REASON in got[s]]
    t.eq(len(refused), 7, "pending: those 7 get 503 and the reason at once")
    t.ok(attack[:4] == [s for s in attack if s not in refused],
         "pending: the first 4 are the ones that wait")
    t.eq(metric(gw, "paprika_gateway_pending"), 4,
         "pending: the gauge shows 4 waiting")
    peers = [g.peer_str(s.getsockname()) for s in refused]
    for s in refused:
        s.close()
    t.ok(gw.wait_connections(5), "pending: the good tunnel and 4 waiting "
         "connections remain")
    # Each line is written when its connection ends.
    lines = [ln for ln in gw.tunnel_lines(since) if ln.peer in peers]
    t.ok(len(lines) == 7 and all(
        ln.reason == "refused 503: " + PENDING_REASON.decode()
        for ln in lines),
        "pending: one log line each with the reason", repr(lines))

    second = good_tunnel(t, gw, echo, "pending: with the slots full, the "
                         "good client still opens a tunnel")
    got = answered(attack[:4], 5)
    t.ok(list(got) == [attack[0]] and got[attack[0]].startswith(
        b"HTTP/1.1 503 ") and EVICTED_REASON in got[attack[0]],
        "pending: the oldest waiting connection made room, with a reason",
        repr(got))
    attack[0].close()

    attack.append(attacker_connect(gw, ATTACKERS[0]))
    t.ok(g.wait_until(lambda: metric(gw, "paprika_gateway_pending") == 4,
                      5), "pending: the attacker fills the slots again")
    third = good_tunnel(t, gw, echo, "pending: and a TLS client still "
                        "opens a tunnel", tls=True)
    got = answered(attack[1:4] + attack[-1:], 5)
    t.ok(list(got) == [attack[1]] and EVICTED_REASON in got[attack[1]],
         "pending: again the oldest waiting connection made room",
         repr(got))
    t.eq(metric(gw, 'paprika_gateway_refusals_total{reason="pending"}'), 9,
         "pending: the metric counts 7 refused and 2 pushed out")
    for c in (first, second, third):
        msg = os.urandom(64)
        t.ok(c is not None and c.echo(msg) == msg,
             "pending: the good tunnels all still echo")
    t.ok(gw.alive(), "pending: the gateway is still running")


def default_pending(h, t):
    """Unset, max_pending is a quarter of max_tunnels."""
    gw = g.Gateway(h, "defaults", limits={"max_tunnels": 100})
    gw.pick_ports()
    gw.write_conf()
    r = subprocess.run([h.gatewayd, "-n", "-v", "-f", gw.conf_path],
                       capture_output=True, text=True, timeout=20)
    t.ok("max_pending = 25\n" in r.stdout,
         "max_pending defaults to a quarter of max_tunnels", r.stdout)


def big_request(size):
    """A well-formed CONNECT of about size bytes, padded with a header."""
    head = g.http_request("desktop.example:5900", ["X-Pad: "])
    return head[:-4] + b"x" * (size - len(head)) + b"\r\n\r\n"


def reload_overflow(h, t):
    echo = g.Upstream(h, g.handler_echo)
    gw = g.Gateway(h, "reload", limits={
        "buffer_size": 4096,
        "max_request_size": 2048,
    })
    gw.start()
    first = good_tunnel(t, gw, echo, "reload: a tunnel opens")
    rep = gw.request(big_request(3000))
    t.eq(rep.status, 431, "reload: 3000 bytes are over max_request_size")

    since = gw.log_size()
    gw.limits.update({"buffer_size": 65536, "max_request_size": 32768})
    gw.write_conf()
    gw.send_signal(signal.SIGHUP)
    m = gw.wait_log(r"reload failed, keeping the running configuration: "
                    r"(.*)", since)
    t.ok(m and "max_request_size" in m.group(1) and "buffer_size" in
         m.group(1), "reload: raising max_request_size above the running "
         "buffer_size is refused with a reason",
         gw.log(since))
    t.ok(not re.search(r"reloaded ", gw.log(since)),
         "reload: and nothing was reloaded")
    r = gw.ctl("reload")
    t.ok(r.returncode != 0 and "max_request_size" in r.stderr,
         "reload: paprikactl reload is refused the same way",
         r.stdout + r.stderr)

    for size in (3000, 8000, 30000):
        rep = gw.request(big_request(size))
        t.eq(rep.status, 431, "reload: a %d-byte request is still refused "
             "(431)" % size)
    t.ok(gw.alive(), "reload: the gateway is still running")
    msg = os.urandom(64)
    t.ok(first is not None and first.echo(msg) == msg,
         "reload: the open tunnel still echoes")
    good_tunnel(t, gw, echo, "reload: new tunnels still open")


def main(h, t):
    with t.section("max_pending"):
        pending_cap(h, t)
    with t.section("max_pending default"):
        default_pending(h, t)
    with t.section("reload overflow"):
        reload_overflow(h, t)


if __name__ == "__main__":
    g.run(main, time_limit=150)
