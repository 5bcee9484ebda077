#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Everything the gateway must refuse, refused as specified, while one good
tunnel keeps echoing through it all: malformed and oversized requests, slow
requests and handshakes, TLS and plain mixed up, every ticket and policy
check, upstream failures, the three connection limits, kill and revocation
(which survives a restart), and the log: one line per connection with the
reason, and never a ticket in it."""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gwharness as g  # noqa: E402

REQUEST_TIMEOUT = 2
HANDSHAKE_TIMEOUT = 2
CONNECT_TIMEOUT = 2
# How late a timeout may fire on a loaded machine before it counts as lost.
SLACK = 6


class Ctx:
    def __init__(self, h, t, gw, echo, other):
        self.h = h
        self.t = t
        self.gw = gw
        self.echo = echo
        self.other = other
        self.ka = None
        self.secrets = []   # strings that must never reach the log

    def keepalive(self, label):
        """The long-lived tunnel still echoes."""
        msg = b"still here after " + label.encode() + os.urandom(32).hex().encode()
        try:
            got = self.ka.echo(msg, timeout=10)
        except Exception as e:
            got = repr(e)
        self.t.ok(got == msg, "good tunnel still flows after: " + label)

    def req(self, target, headers=()):
        return g.http_request(target, list(headers))

    def tgt(self, ticket, port=None):
        return "%s:%d" % (ticket.text if hasattr(ticket, "text") else ticket,
                          port or self.echo.port)


def expect_refusal(c, label, raw, status, reason, tls=False, src=None,
                   log_reason=None):
    """Sends raw; checks the answer, the close, and the one log line."""
    t, gw = c.t, c.gw
    since = gw.log_size()
    rep = gw.request(raw, tls=tls, src=src)
    t.eq(rep.status, status, "%s: answered %s" % (label, status))
    if rep.status is not None:
        body = rep.body.decode("utf-8", "replace")
        t.ok(reason in body, "%s: the answer says why" % label, body)
        t.ok(rep.headers.get("connection") == "close"
             and getattr(rep, "closed_after", False),
             "%s: then the gateway closes" % label)
    else:
        t.note("%s: %r" % (label, rep))
    if hasattr(rep, "local"):
        lines = gw.wait_tunnel_lines(since, g.peer_str(rep.local))
        want = log_reason or "refused %d: %s" % (status, reason)
        t.ok(len(lines) == 1 and lines[0].reason == want,
             "%s: one log line, reason \"%s\"" % (label, want), repr(lines))
    c.keepalive(label)
    return rep


def raw_connect(gw, tls_port, src=None):
    addr = gw.address(tls_port)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    gw.h.sockets.append(s)
    if src:
        s.bind((src, 0))
    s.settimeout(10)
    s.connect(addr)
    return s


def read_until_closed(s, timeout):
    """All bytes until the peer closes; (data, seconds, closed)."""
    t0 = time.monotonic()
    data = b""
    s.settimeout(0.5)
    while time.monotonic() - t0 < timeout:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data, time.monotonic() - t0, True
        if not chunk:
            return data, time.monotonic() - t0, True
        data += chunk
    return data, time.monotonic() - t0, False


def expect_closed(c, label, port_tls, payload, log_reason, timeout=SLACK,
                  min_time=None, max_time=None):
    """Raw bytes to a listener: no HTTP answer, closed, one log line."""
    t, gw = c.t, c.gw
    since = gw.log_size()
    s = raw_connect(gw, port_tls)
    local = s.getsockname()
    if payload:
        s.sendall(payload)
    data, secs, closed = read_until_closed(s, (max_time or 0) + timeout)
    s.close()
    t.ok(closed, "%s: connection closed" % label, "after %.1fs" % secs)
    t.ok(b"HTTP/1.1 200" not in data, "%s: no tunnel" % label, data[:200])
    if min_time is not None:
        t.ok(min_time <= secs <= max_time + SLACK,
             "%s: closed after %.1fs (timeout %ds)" % (label, secs, max_time))
    lines = gw.wait_tunnel_lines(since, g.peer_str(local))
    t.ok(len(lines) == 1 and lines[0].reason == log_reason,
         "%s: one log line, reason \"%s\"" % (label, log_reason), repr(lines))
    t.ok(gw.alive(), "%s: gateway still running" % label)
    c.keepalive(label)
    return data


def slowloris(c, tls):
    t, gw = c.t, c.gw
    label = "slowloris (%s)" % ("tls" if tls else "plain")
    since = gw.log_size()
    # The ticket first: the timeout runs from the connection.
    text = c.tgt(c.h.ticket(c.echo.port))
    conn = gw.connect(tls=tls)
    dribble = ("CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n" % text).encode()
    t0 = time.monotonic()
    answer = b""
    i = 0
    deadline = t0 + REQUEST_TIMEOUT + SLACK
    while time.monotonic() < deadline and not conn.eof:
        if i < len(dribble):
            try:
                conn.sendall(dribble[i:i + 1])
            except Exception:
                break
            i += 1
        try:
            answer += conn.recv(65536, timeout=0.4)
        except socket.timeout:
            pass
        except g.ConnClosed:
            break
        if b"\r\n\r\n" in answer:
            break
    secs = time.monotonic() - t0
    t.ok(answer.startswith(b"HTTP/1.1 408 "), "%s: answered 408" % label,
         answer[:200])
    t.ok(REQUEST_TIMEOUT - 0.5 <= secs <= REQUEST_TIMEOUT + SLACK,
         "%s: within request_timeout (%.1fs for %ds)"
         % (label, secs, REQUEST_TIMEOUT))
    t.ok(i < len(dribble), "%s: refused before the request was whole"
         % label)
    t.ok(conn.wait_eof(5), "%s: then closed" % label)
    local = conn.local
    conn.close()
    lines = gw.wait_tunnel_lines(since, g.peer_str(local))
    t.ok(len(lines) == 1 and lines[0].reason == "refused 408: request timeout",
         "%s: one log line" % label, repr(lines))
    c.keepalive(label)


def requests(c):
    tk = c.h.ticket(c.echo.port)
    target = c.tgt(tk)
    expect_refusal(c, "request line without spaces", b"HELLO\r\n\r\n", 400,
                   "malformed request line")
    expect_refusal(c, "CONNECT without a port",
                   b"CONNECT desktop.example HTTP/1.1\r\n\r\n", 400,
                   "malformed CONNECT target (expected host:port)")
    expect_refusal(c, "CONNECT with port 0",
                   c.req("%s:0" % tk.text), 400,
                   "malformed CONNECT target (expected host:port)")
    expect_refusal(c, "header name with a space",
                   c.req(target, ["Bad Header: x"]), 400,
                   "malformed header name")
    expect_refusal(c, "NUL byte in a header",
                   c.req(target, ["X-A: a\x00b"]), 400,
                   "NUL byte in request")
    rep = c.gw.request(g.http_request(target, version="1.0"))
    c.t.eq(rep.status, 200, "HTTP/1.0 CONNECT: 200")
    if rep.conn:
        msg = os.urandom(500)
        c.t.ok(rep.conn.echo(msg) == msg, "HTTP/1.0 CONNECT: tunnel echoes")
        rep.conn.close()
    expect_refusal(c, "lower-case method", c.req(target).replace(
        b"CONNECT", b"connect"), 405, "only CONNECT is supported")
    expect_refusal(c, "GET instead of CONNECT",
                   b"GET / HTTP/1.1\r\nHost: example\r\n\r\n", 405,
                   "only CONNECT is supported: WebSocket clients use the "
                   "gateway's WebSocket listener")
    expect_refusal(c, "method recognised before the line ends",
                   b"POST /a-very-long-path", 405,
                   "only CONNECT is supported")
    expect_refusal(c, "request larger than max_request_size",
                   c.req(target, ["X-Pad: " + "a" * 1500]), 431,
                   "request too large")
    expect_refusal(c, "request without an end, over max_request_size",
                   ("CONNECT %s HTTP/1.1\r\n" % target).encode()
                   + b"X-Long: " + b"c" * 2000, 431,
                   "request too large")
    expect_refusal(c, "more than max_headers headers",
                   c.req(target, ["X-H%d: v" % i for i in range(9)]), 431,
                   "too many headers")
    t = c.t
    rep = c.gw.request(c.req(target, ["X-H%d: v" % i for i in range(8)]))
    t.eq(rep.status, 200, "exactly max_headers headers: 200")
    if rep.conn:
        rep.conn.close()
    # A request of exactly max_request_size bytes is whole; one more is not.
    head = ("CONNECT %s HTTP/1.1\r\nX-Pad: " % target).encode()
    pad = 1024 - len(head) - 4
    exact = head + b"p" * pad + b"\r\n\r\n"
    rep = c.gw.request(exact)
    t.ok(len(exact) == 1024 and rep.status == 200,
         "a request of exactly max_request_size bytes: 200", repr(rep))
    if rep.conn:
        rep.conn.close()
    expect_refusal(c, "a request of max_request_size + 1 bytes",
                   head + b"p" * (pad + 1) + b"\r\n\r\n", 431,
                   "request too large")
    expect_refusal(c, "unsupported Proxy-Authorization scheme",
                   c.req("desktop.example:%d" % c.echo.port,
                         ["Proxy-Authorization: Bearer abc"]), 400,
                   "only Basic proxy authorization is supported")
    expect_refusal(c, "Basic credentials that are not base64",
                   c.req("desktop.example:%d" % c.echo.port,
                         ["Proxy-Authorization: Basic !!!!"]), 400,
                   "malformed Basic credentials")
    for tls in (False, True):
        slowloris(c, tls)


def tls_mixups(c):
    t = c.t
    expect_closed(c, "non-TLS bytes on the TLS port", True,
                  b"\x00\x01\x02 this is not TLS at all\r\n\r\n" * 4,
                  "TLS handshake failed")
    expect_closed(c, "TLS record header with garbage on the TLS port", True,
                  b"\x16\x03\x01\x00\x40" + os.urandom(64),
                  "TLS handshake failed")
    data = expect_closed(c, "plain HTTP CONNECT on the TLS port", True,
                         c.req(c.tgt(c.h.ticket(c.echo.port))),
                         "TLS handshake failed")
    t.ok(not data.startswith(b"HTTP/"), "plain HTTP on the TLS port: no "
         "HTTP answer", data[:100])
    hello = g.client_hello_bytes()
    # A ClientHello is not a CONNECT: 405, or 400 if a line ends in it.
    since = c.gw.log_size()
    s = raw_connect(c.gw, False)
    local = s.getsockname()
    s.sendall(hello)
    data, secs, closed = read_until_closed(s, SLACK)
    s.close()
    t.ok(data.startswith(b"HTTP/1.1 405 ") or data.startswith(b"HTTP/1.1 400 "),
         "TLS ClientHello on the plain port: answered 405 (or 400) in "
         "plain HTTP", data[:100])
    t.ok(closed, "TLS ClientHello on the plain port: then closed")
    lines = c.gw.wait_tunnel_lines(since, g.peer_str(local))
    t.ok(len(lines) == 1 and lines[0].reason.startswith("refused 40"),
         "TLS ClientHello on the plain port: one log line", repr(lines))
    c.keepalive("TLS ClientHello on the plain port")
    expect_closed(c, "TLS client silent after connecting", True, b"",
                  "TLS handshake timeout", min_time=HANDSHAKE_TIMEOUT - 0.5,
                  max_time=HANDSHAKE_TIMEOUT)
    expect_closed(c, "TLS client stopping halfway through its ClientHello",
                  True, hello[:len(hello) // 2], "TLS handshake timeout",
                  min_time=HANDSHAKE_TIMEOUT - 0.5, max_time=HANDSHAKE_TIMEOUT)


def tampered(text):
    """The ticket with one base32 character changed."""
    i = len("pk.") + 20
    ch = text[i]
    return text[:i] + ("b" if ch == "a" else "a") + text[i + 1:]


def tickets(c, low_port):
    h, t = c.h, c.t
    other = c.other.port
    tk = h.ticket(c.echo.port)
    expect_refusal(c, "ticket for another port", c.req(c.tgt(tk, other)),
                   403, "port not allowed by the ticket")
    out = g.Upstream(h, g.handler_echo, host="127.0.0.2")
    tk2 = h.ticket(out.port, upstream="127.0.0.2")
    expect_refusal(c, "upstream outside upstream_networks",
                   c.req(c.tgt(tk2, out.port)), 403,
                   "upstream outside the gateway's hypervisor networks")
    t.eq(len(out.records), 0, "upstream outside upstream_networks: "
         "never contacted")
    tk3 = h.ticket(low_port)
    expect_refusal(c, "port outside upstream_ports",
                   c.req(c.tgt(tk3, low_port)), 403,
                   "port outside the gateway's upstream ports")
    short = h.ticket(c.echo.port, ttl=2)
    if short.expires - time.time() > 0.5:
        rep = c.gw.open_tunnel(short, c.echo.port)
        t.eq(rep.status, 200, "short-lived ticket: works before it expires")
        if rep.conn:
            rep.conn.close()
    wait = max(0.0, short.expires - time.time()) + 0.3
    t.note("waiting %.1fs for a ticket to expire" % wait)
    time.sleep(wait)
    expect_refusal(c, "expired ticket", c.req(c.tgt(short)), 403,
                   "ticket expired")
    bad = tampered(tk.text)
    c.secrets.append(bad)
    rep = expect_refusal(c, "ticket with one character changed",
                         c.req(c.tgt(bad)), 403, "bad ticket signature")
    foreign = h.make_keys("foreign-keys", [7])
    tk7 = h.ticket(c.echo.port, keys=foreign)
    expect_refusal(c, "ticket from an unknown key id", c.req(c.tgt(tk7)),
                   403, "ticket signed with an unknown key")
    forged = h.make_keys("forged-keys", [1])
    tkf = h.ticket(c.echo.port, keys=forged)
    expect_refusal(c, "ticket signed by another key with the same id",
                   c.req(c.tgt(tkf)), 403, "bad ticket signature")
    expect_refusal(c, "ticket with a wrong prefix",
                   c.req(c.tgt("pk." + "a" * 90)), 403, "malformed ticket")
    rep = expect_refusal(c, "no ticket",
                         c.req("desktop.example:%d" % c.echo.port), 407,
                         "no ticket: connect with the connection file from "
                         "the broker")
    t.eq(rep.headers.get("proxy-authenticate"), 'Basic realm="paprika"',
         "no ticket: Proxy-Authenticate asks for Basic")
    junk = g.basic_auth("alice", "not-a-ticket")
    c.secrets.append(junk.split()[-1])
    expect_refusal(c, "Basic credentials without a ticket",
                   c.req("desktop.example:%d" % c.echo.port, [junk]), 403,
                   "malformed ticket")
    for tls in (False, True):
        label = "ticket in Basic credentials (%s)" % ("tls" if tls else
                                                      "plain")
        c.secrets.append(g.basic_auth("alice", tk.text).split()[-1])
        rep = c.gw.open_tunnel(tk, c.echo.port, basic=True, tls=tls)
        t.eq(rep.status, 200, label + ": 200")
        if rep.conn:
            msg = os.urandom(2000)
            t.ok(rep.conn.echo(msg) == msg, label + ": tunnel echoes")
            rep.conn.close()
    rep = c.gw.request(c.req("desktop.example:%d" % c.echo.port,
                             [g.basic_auth(tk.text, "x")]))
    t.eq(rep.status, 200, "ticket as the Basic user name: 200")
    if rep.conn:
        rep.conn.close()
    two = h.ticket([c.echo.port, other])
    for port in (c.echo.port, other):
        rep = c.gw.open_tunnel(two, port)
        ok = rep.status == 200
        if rep.conn:
            msg = os.urandom(100)
            ok = ok and rep.conn.echo(msg) == msg
            rep.conn.close()
        t.ok(ok, "a two-port ticket opens port %d" % port, repr(rep))
    # The CONNECT host is never used for routing: the ticket decides.
    rep = c.gw.request(c.req("127.0.0.1:%d" % other,
                             [g.basic_auth("alice", tk.text)]))
    t.eq(rep.status, 403, "Basic ticket with a CONNECT host naming another "
         "upstream port: 403 (port from the request, checked in the ticket)")
    c.keepalive("tickets")


def upstream_failures(c):
    h, t = c.h, c.t
    port = g.reserve_refusing_port(h)
    tk = h.ticket(port)
    expect_refusal(c, "upstream refuses the connection", c.req(c.tgt(tk, port)),
                   502, "Connection refused")
    port, works = g.blackhole(h)
    if not works:
        t.note("SKIP upstream connect timeout: cannot make a port that drops "
               "SYNs on this machine")
        return
    tk = h.ticket(port)
    t0 = time.monotonic()
    expect_refusal(c, "upstream never answers the SYN", c.req(c.tgt(tk, port)),
                   504, "upstream connect timeout")
    secs = time.monotonic() - t0
    t.ok(CONNECT_TIMEOUT - 0.5 <= secs <= CONNECT_TIMEOUT + SLACK + 2,
         "upstream connect timeout after %.1fs (connect_timeout %ds)"
         % (secs, CONNECT_TIMEOUT))


def open_ok(c, ticket, src, label, tls=False):
    rep = c.gw.open_tunnel(ticket, c.echo.port, src=src, tls=tls)
    ok = rep.status == 200 and rep.conn is not None
    if ok:
        msg = os.urandom(100)
        ok = rep.conn.echo(msg) == msg
    c.t.ok(ok, label, repr(rep))
    return rep.conn


def read_reply(s, timeout=10):
    """The gateway's answer head, up to the blank line."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def pending_limit(c):
    """max_pending_per_source = 3: connections from one address that have
    not shown a valid ticket yet; past the check they no longer count."""
    t, gw = c.t, c.gw
    waiting = [raw_connect(gw, False, src="127.0.0.6") for _ in range(3)]
    t.ok(gw.wait_connections(4), "pending: 3 connections wait without a request")
    s = raw_connect(gw, False, src="127.0.0.6")
    data, secs, closed = read_until_closed(s, SLACK)
    s.close()
    t.ok(data.startswith(b"HTTP/1.1 503 ") and
         b"too many connections from this address" in data and closed,
         "pending: a 4th connection without a ticket gets 503 at once",
         data[:200])
    tk = c.h.ticket(c.echo.port)
    for s in waiting:
        s.sendall(c.req(c.tgt(tk)))
    answers = [read_reply(s) for s in waiting]
    t.ok(all(a.startswith(b"HTTP/1.1 200 ") for a in answers),
         "pending: the waiting connections show a ticket and get tunnels",
         repr(answers))
    s = raw_connect(gw, False, src="127.0.0.6")
    s.sendall(c.req(c.tgt(c.h.ticket(c.echo.port))))  # sessions hold 3 at most
    answer = read_reply(s)
    t.ok(answer.startswith(b"HTTP/1.1 200 "),
         "pending: tunnels no longer count as pending, a 4th gets through",
         repr(answer))
    for conn in waiting + [s]:
        conn.close()
    t.ok(gw.wait_connections(1), "pending: back to the good tunnel alone")
    c.keepalive("pending limit")


def limits(c):
    """max_tunnels_per_session = 3, max_tunnels_per_source = 4,
    max_tunnels = 10; the good tunnel counts for one."""
    h, t, gw = c.h, c.t, c.gw
    t.ok(gw.wait_connections(1), "limits: only the good tunnel is open")
    held = []
    s1 = h.ticket(c.echo.port)
    for i in range(3):
        held.append(open_ok(c, s1, "127.0.0.2",
                            "per session: tunnel %d of 3" % (i + 1)))
    rep = expect_refusal(c, "per session: a 4th tunnel",
                         c.req(c.tgt(s1)), 503,
                         "too many tunnels for this session", src="127.0.0.2")
    s1b = h.ticket(c.echo.port, session=s1.session)
    expect_refusal(c, "per session: a 4th tunnel with another ticket of the "
                   "session", c.req(c.tgt(s1b)), 503,
                   "too many tunnels for this session", src="127.0.0.2")
    s2 = h.ticket(c.echo.port)
    s3 = h.ticket(c.echo.port)
    for i in range(4):
        held.append(open_ok(c, s2 if i < 3 else s3, "127.0.0.3",
                            "per source: tunnel %d of 4" % (i + 1)))
    s4 = h.ticket(c.echo.port)
    expect_refusal(c, "per source: a 5th connection", c.req(c.tgt(s4)), 503,
                   "too many connections from this address", src="127.0.0.3")
    since = gw.log_size()
    rep = gw.open_tunnel(s4, c.echo.port, src="127.0.0.3", tls=True)
    t.ok(rep.status is None and rep.conn is None,
         "per source over TLS: closed without an answer", repr(rep))
    if hasattr(rep, "local"):
        lines = gw.wait_tunnel_lines(since, g.peer_str(rep.local))
        t.ok(len(lines) == 1 and lines[0].reason ==
             "refused: too many connections from this address",
             "per source over TLS: one log line", repr(lines))
    t.ok(gw.wait_connections(8), "limits: 8 connections open")
    s5 = h.ticket(c.echo.port)
    for i in range(2):
        held.append(open_ok(c, s5, "127.0.0.4",
                            "max_tunnels: tunnel %d of 10" % (9 + i)))
    t.ok(gw.wait_connections(10), "limits: 10 connections open")
    since = gw.log_size()
    s = raw_connect(gw, False, src="127.0.0.5")
    local = s.getsockname()
    s.sendall(c.req(c.tgt(s5)))
    data, secs, closed = read_until_closed(s, SLACK)
    s.close()
    t.ok(data.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 5" in data,
         "max_tunnels: the 11th connection gets 503 with Retry-After",
         data[:200])
    t.ok(closed, "max_tunnels: and is closed")
    s = raw_connect(gw, True, src="127.0.0.5")
    data, secs, closed = read_until_closed(s, SLACK)
    s.close()
    t.ok(closed and data == b"", "max_tunnels: a TLS connection is closed")
    # Refusals at accept are counted in a rate-limited line, not one each.
    t.ok(gw.wait_log(r"max_tunnels \(10\) reached: refused \d+ connection",
                     since, 5),
         "max_tunnels: the log says max_tunnels was reached")
    t.eq(len(gw.tunnel_lines(since, g.peer_str(local))), 0,
         "max_tunnels: no per-connection line for refusals at accept")
    c.keepalive("limits reached")
    for conn in held[:3]:
        if conn:
            conn.close()
    t.ok(gw.wait_connections(7), "limits: closing a session's tunnels frees "
         "them")
    held.append(open_ok(c, s1, "127.0.0.2", "per session: room again after "
                        "tunnels closed"))
    for conn in held:
        if conn:
            conn.close()
    t.ok(gw.wait_connections(1), "limits: all closed again")


def kill_and_revoke(c):
    h, t, gw = c.h, c.t, c.gw
    k = h.ticket(c.echo.port)
    conns = [open_ok(c, k, "127.0.0.6", "kill: tunnel %d" % i)
             for i in (1, 2)]
    since = gw.log_size()
    r = gw.ctl("kill", k.session)
    t.ok(r.returncode == 0 and "closed 2 tunnel(s)" in r.stdout,
         "kill: paprikactl kill closes 2 tunnels", r.stdout + r.stderr)
    t.ok(all(x and x.wait_eof(5) for x in conns),
         "kill: both clients see the tunnel end")
    lines = [ln for ln in gw.tunnel_lines(since)
             if ln.session == k.session]
    t.ok(len(lines) == 2 and all(ln.reason == "killed by control"
                                 for ln in lines),
         "kill: one line each, reason \"killed by control\"", repr(lines))
    for x in conns:
        if x:
            x.close()
    again = open_ok(c, k, "127.0.0.6", "kill: the same ticket connects "
                    "again (kill is not a ban)")
    if again:
        again.close()
    c.keepalive("kill")

    rv = h.ticket(c.echo.port)
    conns = [open_ok(c, rv, "127.0.0.7", "revoke --session: tunnel %d" % i)
             for i in (1, 2)]
    since = gw.log_size()
    r = gw.ctl("revoke", "--session", rv.session)
    t.ok(r.returncode == 0 and "closed 2 tunnel(s)" in r.stdout,
         "revoke --session: closes its 2 live tunnels", r.stdout + r.stderr)
    t.ok(all(x and x.wait_eof(5) for x in conns),
         "revoke --session: both clients see the tunnel end")
    lines = [ln for ln in gw.tunnel_lines(since) if ln.session == rv.session]
    t.ok(len(lines) == 2 and all(ln.reason == "session revoked"
                                 for ln in lines),
         "revoke --session: one line each, reason \"session revoked\"",
         repr(lines))
    for x in conns:
        if x:
            x.close()
    expect_refusal(c, "revoked session: the same ticket", c.req(c.tgt(rv)),
                   403, "ticket revoked")
    rv2 = h.ticket(c.echo.port, session=rv.session)
    expect_refusal(c, "revoked session: a new ticket of the session",
                   c.req(c.tgt(rv2)), 403, "ticket revoked")

    q1 = h.ticket(c.echo.port)
    r = gw.ctl("revoke", "--ticket", q1.text)
    t.ok(r.returncode == 0 and r.stdout.strip() ==
         "revoked ticket " + q1.ticket_id,
         "revoke --ticket: acknowledged with the ticket id",
         r.stdout + r.stderr)
    t.ok(q1.text not in r.stdout, "revoke --ticket: does not echo the ticket")
    expect_refusal(c, "revoked ticket", c.req(c.tgt(q1)), 403,
                   "ticket revoked")
    # Same session, another expiry: tickets carry no nonce, so one minted
    # with identical fields in the same second would be the same ticket.
    q2 = h.ticket(c.echo.port, session=q1.session, ttl=900)
    t.ok(q2.ticket_id != q1.ticket_id, "revoke --ticket: the session's "
         "second ticket has its own id")
    conn = open_ok(c, q2, None, "revoke --ticket: a new ticket of the same "
                   "session still works")
    if conn:
        conn.close()
    r = gw.ctl("revoke", "--ticket", tampered(q2.text))
    t.ok(r.returncode != 0 and "cannot revoke" in r.stderr,
         "revoke --ticket refuses a ticket that does not verify",
         r.stdout + r.stderr)
    tmp = h.ticket(c.echo.port)
    r = gw.ctl("revoke", "--session", tmp.session, "--seconds", "2")
    t.ok(r.returncode == 0, "revoke --session --seconds 2", r.stderr)
    expect_refusal(c, "session revoked for 2 s", c.req(c.tgt(tmp)), 403,
                   "ticket revoked")
    st = gw.status()
    t.eq(st["revocations"], 3, "status counts 3 revocations")
    time.sleep(2.5)
    conn = open_ok(c, tmp, None, "revoke --seconds 2: the session is "
                   "allowed again 2 s later")
    if conn:
        conn.close()
    return rv, q1, q2, tmp


def restart(c, rv, q1, q2, tmp):
    h, t, gw = c.h, c.t, c.gw
    c.ka.close()
    t.ok(gw.wait_connections(0), "restart: no tunnel left")
    t.eq(gw.stop(), 0, "restart: gateway exits 0")
    path = os.path.join(gw.state_dir, "revocations")
    try:
        text = open(path).read()
    except OSError as e:
        text = repr(e)
    t.ok(("session %s " % rv.session) in text
         and ("ticket %s " % q1.ticket_id) in text,
         "restart: revocations are in state_dir", text)
    t.ok(q1.text not in text, "restart: the state file holds ids, not "
         "tickets")
    since = gw.log_size()
    gw.start()
    m = gw.wait_log(r"loaded (\d+) revocation\(s\)", since, 5)
    # Two are live; the one that lapsed may or may not be carried along.
    t.ok(m and int(m.group(1)) in (2, 3),
         "restart: the gateway loads its revocations",
         m.group(0) if m else gw.log(since))
    ka = h.ticket(c.echo.port)
    rep = gw.open_tunnel(ka, c.echo.port)
    t.eq(rep.status, 200, "restart: a new good tunnel")
    c.ka = rep.conn
    expect_refusal(c, "after restart: revoked session", c.req(c.tgt(rv)),
                   403, "ticket revoked")
    expect_refusal(c, "after restart: revoked ticket", c.req(c.tgt(q1)),
                   403, "ticket revoked")
    conn = open_ok(c, q2, None, "after restart: the session's other ticket "
                   "still works")
    if conn:
        conn.close()
    conn = open_ok(c, tmp, None, "after restart: a lapsed revocation stays "
                   "lapsed")
    if conn:
        conn.close()


def log_hygiene(c):
    t, gw, h = c.t, c.gw, c.h
    text = gw.log()
    leaked = []
    for s in h.ticket_texts + c.secrets:
        if s in text or s.lower() in text.lower():
            leaked.append(s[:20] + "...")
        body = s[3:] if s.startswith("pk.") else None
        if body:
            for label in body.split("."):
                if len(label) >= 16 and label in text:
                    leaked.append("label of " + s[:20] + "...")
    t.ok(not leaked, "no ticket or credential ever appears in the log "
         "(%d checked)" % (len(h.ticket_texts) + len(c.secrets)),
         "\n".join(leaked[:10]))
    lines = gw.tunnel_lines()
    ids = [(ln.id) for ln in lines]
    # Tunnel ids restart with the process: count per run.
    runs = text.split("paprika-gatewayd: started: ")
    dup = 0
    for run in runs:
        seen = set()
        for ln in g.TUNNEL_RE.finditer(run):
            if ln.group(1) in seen:
                dup += 1
            seen.add(ln.group(1))
    t.ok(dup == 0 and ids, "every tunnel id is logged once per run (%d "
         "lines)" % len(lines), "%d duplicates" % dup)


def main(h, t):
    echo = g.Upstream(h, g.handler_echo)
    other = g.Upstream(h, g.handler_echo)
    gw = g.Gateway(h, "gw", gateway={
        "upstream_networks": "127.0.0.1/32",
        "upstream_ports": "1024-65535",
    }, limits={
        "max_request_size": 1024,
        "max_headers": 8,
        "request_timeout": "%ds" % REQUEST_TIMEOUT,
        "handshake_timeout": "%ds" % HANDSHAKE_TIMEOUT,
        "connect_timeout": "%ds" % CONNECT_TIMEOUT,
        "max_tunnels": 10,
        "max_tunnels_per_session": 3,
        "max_tunnels_per_source": 4,
        "max_pending_per_source": 3,
        "max_pending": 5,
        "drain_timeout": "1s",
    })
    gw.start()
    c = Ctx(h, t, gw, echo, other)
    ka = h.ticket(echo.port)
    rep = gw.open_tunnel(ka, echo.port)
    if not t.eq(rep.status, 200, "the good tunnel opens"):
        return
    c.ka = rep.conn
    c.keepalive("opening")

    # A port below upstream_ports with something listening on it, so only
    # the gateway's rule can refuse it (binding one needs root).
    low = None
    for p in range(1000, 900, -1):
        try:
            low = g.Upstream(h, g.handler_echo, port=p).port
            break
        except OSError:
            continue
    if low is None:
        low = 1000

    with t.section("requests"):
        requests(c)
    with t.section("TLS mix-ups"):
        tls_mixups(c)
    with t.section("tickets"):
        tickets(c, low)
    with t.section("upstream failures"):
        upstream_failures(c)
    with t.section("pending limit"):
        pending_limit(c)
    with t.section("limits"):
        limits(c)
    rv = None
    with t.section("kill and revoke"):
        rv, q1, q2, tmp = kill_and_revoke(c)
    if rv is not None:
        with t.section("restart"):
            restart(c, rv, q1, q2, tmp)
    with t.section("log"):
        log_hygiene(c)
    m = gw.ctl("metrics").stdout
    t.ok("paprika_gateway_refusals_total{reason=\"revoked\"} 2" in m,
         "metrics after restart count this run's revoked refusals", m[-2000:])


if __name__ == "__main__":
    g.run(main, time_limit=200)
