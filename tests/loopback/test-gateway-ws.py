#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The gateway's WebSocket listener (listen_ws) on loopback, with a client
written here on the standard library (TLS, the RFC 6455 upgrade and frames).

Upstreams are a real QEMU with SPICE TLS only (-machine none: no guest is
needed for the link exchange), which must answer the SPICE link message sent
in WebSocket frames with its "REDQ" link reply, and stand-in SPICE TLS
servers (an echo behind the hypervisor certificate) that keep one good
tunnel flowing while every kind of bad input is refused beside it: the
upgrade (ticket, Origin, version, path, method), the frames (unmasked,
reserved bits, unknown opcodes, oversized, fragmented forever, bad UTF-8,
ping floods), the guest's TLS (wrong host subject, unknown CA: closed with
1014, no TLS tickets given), a WebSocket upgrade on the CONNECT listeners;
then kill and revoke, the per-session
limit, the per-source caps (unfinished upgrades against
max_pending_per_source, tunnels against max_tunnels_per_source, another
address served meanwhile), the one log line per tunnel, metrics and the
log's silence about tickets."""

import os
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gwharness as g  # noqa: E402
from wsclient import (HV_SUBJECT, ORIGIN, accept_of, frame, hv_cert,  # noqa: E402
                      upgrade_request, ws_answer, ws_open)

MAX_MESSAGE = 64 * 1024


# --------------------------------------------------------------------------
# Certificates for the hypervisors


def tls_echo_upstream(h, host, cert, key):
    """A stand-in SPICE TLS port: TLS with the hypervisor's certificate,
    then an echo."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    def handler(sock, rec):
        s = ctx.wrap_socket(sock, server_side=True)
        while True:
            data = s.recv(65536)
            if not data:
                break
            rec.add(data)
            s.sendall(data)
        rec.got_eof = True
    return g.Upstream(h, handler, host=host)


class Qemu:
    """QEMU with nothing but a SPICE server on a TLS-only port."""

    def __init__(self, h, x509_dir):
        self.bin = g.paprikatest.need("qemu-system-x86_64")
        self.port = g.free_port()
        self.proc = subprocess.Popen(
            [self.bin, "-machine", "none", "-nodefaults", "-display", "none",
             "-S", "-object", "secret,id=spicepw,data=%s" % os.urandom(8).hex(),
             "-spice", "tls-port=%d,addr=127.0.0.1,x509-dir=%s,"
             "password-secret=spicepw" % (self.port, x509_dir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(h.path("qemu.log"), "wb"))
        h.procs.append(self.proc)

        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return True
            except OSError:
                return False
        if not g.wait_until(listening, 30):
            raise RuntimeError("QEMU's SPICE port did not open")


def spice_link_message():
    """SpiceLinkHeader (REDQ, 2.2) and SpiceLinkMess for the main channel."""
    mess = struct.pack("<IBBIII", 0, 1, 0, 0, 0, 18)
    return b"REDQ" + struct.pack("<III", 2, 2, len(mess)) + mess


# --------------------------------------------------------------------------
# The checks


def check_good(t, gw, tk, port=None, label="tunnel"):
    q = "?ticket=%s" % tk.text + ("&port=%d" % port if port else "")
    ws = ws_open(gw, q)
    t.eq(ws.status, 101, "%s: 101 Switching Protocols" % label)
    return ws


def refused(t, gw, tk, status, word, label):
    """An upgrade with tk's ticket is answered status, saying word."""
    ws = ws_open(gw, "?ticket=%s" % tk.text)
    t.eq(ws.status, status, "%s: %d" % (label, status))
    t.ok(word in ws.body, "%s: the answer says why" % label, ws.body)
    ws.close()


def flowing(t, good, label):
    """The good tunnel still carries bytes both ways."""
    data = os.urandom(3000 + len(label))
    try:
        got = good.echo(data)
    except Exception as e:  # recorded as a failure below
        got = repr(e)
    t.ok(got == data, "good tunnel still flows after: %s" % label)


def relay_to_qemu(t, h, gw, qemu):
    tk = h.ticket(qemu.port)
    ws = ws_open(gw, "?ticket=%s" % tk.text)
    t.eq(ws.status, 101, "QEMU: upgrade answered 101")
    t.eq(ws.headers.get("sec-websocket-accept"), accept_of(ws.key),
         "QEMU: Sec-WebSocket-Accept matches the key")
    t.eq(ws.headers.get("sec-websocket-protocol"), "binary",
         "QEMU: the binary subprotocol is chosen")
    if ws.status != 101:
        return
    link = spice_link_message()
    # In two fragments of one message: the relay carries a byte stream.
    ws.send(frame(2, link[:10], fin=False) + frame(0, link[10:]))
    reply = ws.read_data(16)
    t.ok(reply[:4] == b"REDQ", "QEMU: the SPICE link reply (REDQ) comes back "
         "through the WebSocket", reply[:16])
    t.eq(struct.unpack("<II", reply[4:12]), (2, 2),
         "QEMU: SPICE protocol 2.2 in the link reply")
    since = gw.log_size()
    ws.send(frame(8, struct.pack(">H", 1000) + b"bye"))
    t.eq(ws.read_close(), (1000, ""), "QEMU: our close is answered with 1000")
    t.ok(ws.conn.wait_eof(), "QEMU: the gateway closes after the close frames")
    lines = gw.wait_tunnel_lines(since, g.peer_str(ws.conn.local))
    if t.eq(len(lines), 1, "QEMU: one log line for the tunnel"):
        ln = lines[0]
        t.eq((ln.reason, ln.listener, ln.user, ln.upstream),
             ("closed", "ws", "alice", "127.0.0.1:%d" % qemu.port),
             "QEMU: log line says closed, listener=ws, user, upstream")
        t.ok(ln.up >= len(link), "QEMU: log counts the bytes up", ln.text)


def wrong_subject_qemu(t, h, qemu, keys):
    gw = g.Gateway(h, name="gw-wrong", ws=True, keys=keys, gateway={
        "ws_origins": ORIGIN, "spice_ca": h.ca},
        sections={"hypervisor 127.0.0.1": {
            "spice_subject": "O=Paprika,CN=hv9"}}).start()
    tk = h.ticket(qemu.port)
    ws = ws_open(gw, "?ticket=%s" % tk.text)
    t.eq(ws.status, 101, "QEMU, wrong host subject configured: the "
         "WebSocket opens, for the page to read why it closes")
    close = ws.read_close() if ws.status == 101 else None
    t.ok(close and close[0] == 1014 and "hv1" in close[1] and
         "spice_subject" in close[1],
         "QEMU, wrong host subject: closed at once with 1014, saying which "
         "subject it got", close)
    ws.close()
    gw.stop()


def http_refusals(t, h, gw, good, up, other_keys):
    tk = h.ticket(up.port)
    cases = [
        ("no ticket", "", {}, 401, b"ticket="),
        ("ticket signed with an unknown key",
         "?ticket=%s" % h.ticket(up.port, keys=other_keys).text, {}, 403,
         b"signature"),
        ("port outside the ticket", "?ticket=%s&port=%d" % (tk.text,
                                                             up.port + 1),
         {}, 403, b"port"),
        ("upstream outside the networks", "?ticket=%s"
         % h.ticket(up.port, upstream="10.1.2.3").text, {}, 403, b"network"),
        ("malformed ticket", "?ticket=pk.a%20b", {}, 400, b"ticket"),
        ("bad Origin", "?ticket=%s" % tk.text,
         {"origin": "https://evil.example.com"}, 403, b"origin"),
        ("no Origin", "?ticket=%s" % tk.text, {"origin": None}, 403,
         b"Origin"),
        ("WebSocket version 8", "?ticket=%s" % tk.text, {"version": "8"},
         426, b"version"),
        ("no Sec-WebSocket-Key", "?ticket=%s" % tk.text, {"key": ""}, 400,
         b"Sec-WebSocket-Key"),
        ("another path", "?ticket=%s" % tk.text, {"path": "/vnc"}, 404,
         b"/spice"),
        ("POST", "?ticket=%s" % tk.text, {"method": "POST"}, 405, b"GET"),
        ("frames before the answer", "?ticket=%s" % tk.text,
         {"extra": frame(2, b"early")}, 400, b"before"),
    ]
    for label, q, kw, status, word in cases:
        ws = ws_open(gw, q, **kw)
        t.eq(ws.status, status, "%s: answered %d" % (label, status))
        t.ok(word in ws.body, "%s: the answer says why" % label, ws.body)
        if status == 426:
            t.eq(ws.headers.get("sec-websocket-version"), "13",
                 "%s: the answer names version 13" % label)
        if status == 405:
            t.eq(ws.headers.get("allow"), "GET", "%s: Allow: GET" % label)
        ws.close()
        flowing(t, good, label)
    # The ticket names two ports: the URL must say which.
    tk2 = h.ticket([up.port, up.port + 1])
    refused(t, gw, tk2, 400, b"port=", "two-port ticket without port=")
    ws = ws_open(gw, "?ticket=%s&port=%d" % (tk2.text, up.port))
    t.eq(ws.status, 101, "two-port ticket with port=: 101")
    if ws.status == 101:
        t.ok(ws.echo(b"x" * 5000) == b"x" * 5000, "port= tunnel relays")
    ws.close()
    # Expiry, as for CONNECT.
    tk3 = h.ticket(up.port, ttl=1)
    g.wait_until(lambda: time.time() > tk3.expires + 1, 5)
    refused(t, gw, tk3, 403, b"expired", "expired ticket")
    flowing(t, good, "HTTP refusals")


def connect_listeners_refuse_upgrades(t, h, gw, good, up):
    tk = h.ticket(up.port)
    for listener in ("plain", "tls"):
        ws = ws_open(gw, "?ticket=%s" % tk.text, listener=listener)
        label = "WebSocket upgrade on the %s CONNECT listener" % listener
        t.eq(ws.status, 405, "%s: 405" % label)
        t.eq(ws.headers.get("allow"), "CONNECT", "%s: Allow: CONNECT" % label)
        t.ok(b"WebSocket" in ws.body, "%s: the answer points to the "
             "WebSocket listener" % label, ws.body)
        ws.close()
        flowing(t, good, label)
    # And CONNECT on the WebSocket listener.
    c = gw.connect(tls="ws")
    c.sendall(g.http_request("%s:%d" % (tk.text, up.port)))
    head = c.recv_until(b"\r\n\r\n") or b""
    t.ok(head.startswith(b"HTTP/1.1 405 "), "CONNECT on the WebSocket "
         "listener: 405", head)
    c.close()


def bad_frames(t, h, gw, good, up):
    tk = h.ticket(up.port)
    q = "?ticket=%s" % tk.text
    cases = [
        ("unmasked client frame", frame(2, b"abc", mask=False), 1002),
        ("reserved bits set", frame(2, b"abc", rsv=4), 1002),
        ("unknown opcode", frame(3, b"abc"), 1002),
        ("oversized control frame", frame(9, b"p" * 126), 1002),
        ("fragmented ping", frame(9, b"p", fin=False), 1002),
        ("continuation outside a message", frame(0, b"abc"), 1002),
        ("new message inside a fragmented one",
         frame(2, b"a", fin=False) + frame(2, b"b"), 1002),
        ("64-bit length with its top bit set",
         frame(2, length=1 << 63), 1002),
        ("oversized message", frame(2, length=MAX_MESSAGE + 1), 1009),
        ("oversized fragmented message",
         frame(2, b"a" * 40000, fin=False) + frame(0, b"b" * 40000), 1009),
        ("fragmented forever", frame(2, b"f" * 10, fin=False)
         + b"".join(frame(0, b"f" * 10, fin=False) for _ in range(1100)),
         1009),
        ("bad UTF-8 in a text frame", frame(1, b"caf\xc3\x28"), 1007),
        ("UTF-8 surrogate in a text frame", frame(1, b"\xed\xa0\x80"), 1007),
        ("text message ending inside a character",
         frame(1, b"caf\xc3", fin=False) + frame(0, b"", fin=True), 1007),
        ("close frame with a one-byte payload", frame(8, b"\x03"), 1002),
        ("close frame with a reserved code",
         frame(8, struct.pack(">H", 1005)), 1002),
        ("ping flood", b"".join(frame(9, b"ping%d" % i) for i in range(400)),
         1008),
    ]
    for label, data, code in cases:
        since = gw.log_size()
        ws = ws_open(gw, q)
        if not t.eq(ws.status, 101, "%s: upgrade answered 101" % label):
            continue
        # Data first: what came before the bad frame still flows.
        ok = ws.echo(b"before") == b"before"
        t.ok(ok, "%s: the tunnel relayed before" % label)
        try:
            ws.send(data)
            got = ws.read_close()
        except (g.ConnClosed, OSError):
            got = None      # a failed check below, and on to the next case
        t.eq(got[0] if got else None, code, "%s: closed with %d" % (label,
                                                                    code))
        t.ok(ws.conn.wait_eof(), "%s: the connection ends" % label)
        ws.close()
        lines = gw.wait_tunnel_lines(since, g.peer_str(ws.conn.local))
        t.ok(len(lines) == 1 and lines[0].listener == "ws" and
             lines[0].reason.startswith("websocket %d: " % code),
             "%s: one log line with the close code" % label, lines)
        flowing(t, good, label)

    # Good things a client may do: pings, pongs, text, empty frames.
    ws = ws_open(gw, q)
    ws.send(frame(9, b"are you there"))
    f = ws.read_frame()
    t.eq(f, (True, 10, b"are you there"), "a ping gets its pong")
    ws.send(frame(10, b"unsolicited") + frame(2, b"") +
            frame(1, "caf\u00e9 ".encode(), fin=False) +
            frame(0, "\u2603".encode()))
    t.eq(ws.read_data(len("caf\u00e9 \u2603".encode())),
         "caf\u00e9 \u2603".encode(),
         "pongs and empty frames are skipped, valid text is relayed")
    ws.send(frame(8))
    t.eq(ws.read_close(), (1000, ""), "a close without a code gets 1000")
    ws.close()


def kill_and_revoke(t, h, gw, good, up):
    tk = h.ticket(up.port, session="00000000000000a1")
    ws = check_good(t, gw, tk, label="kill")
    t.ok(ws.echo(b"k" * 100) == b"k" * 100, "kill: tunnel relays")
    sessions = gw.ctl_json("sessions", "--json")
    listeners = [tn["listener"] for s in sessions["sessions"]
                 if s["session"] == tk.session for tn in s["tunnels"]]
    t.eq(listeners, ["ws"], "sessions shows the tunnel on listener ws")
    r = gw.ctl("kill", tk.session)
    t.eq(r.returncode, 0, "paprikactl kill succeeds")
    t.eq(ws.read_close(), (1001, "killed by control"),
         "kill: the browser gets close 1001 with the reason")
    ws.close()
    flowing(t, good, "kill")

    tk = h.ticket(up.port, session="00000000000000a2")
    ws = check_good(t, gw, tk, label="revoke")
    r = gw.ctl("revoke", "--session", tk.session)
    t.eq(r.returncode, 0, "paprikactl revoke succeeds")
    t.eq(ws.read_close(), (1001, "session revoked"),
         "revoke: the browser gets close 1001 with the reason")
    ws.close()
    refused(t, gw, tk, 403, b"revoked", "revoke: the ticket afterwards")
    flowing(t, good, "revoke")


def session_limit(t, h, gw, good, up):
    tk = h.ticket(up.port, session="00000000000000b1")
    open_ = [check_good(t, gw, tk, label="session limit %d" % i)
             for i in range(4)]
    ws = ws_open(gw, "?ticket=%s" % tk.text)
    t.eq(ws.status, 503, "max_tunnels_per_session: the fifth is refused 503")
    ws.close()
    for w in open_:
        w.close()
    flowing(t, good, "session limit")


def guest_tls(t, h, gw, good, up, rogue_up, nosubject_up, wrong_up):
    # TLS 1.3 tickets are for a client let through: the good one gets its
    # four once the WebSocket is open, one refused at the guest's TLS none.
    ctx, seen = g.ticket_counter(h.ca)
    ws = ws_open(gw, "?ticket=%s" % h.ticket(up.port).text, ctx=ctx)
    data = os.urandom(100)
    t.ok(ws.status == 101 and ws.echo(data) == data,
         "a tunnel through the ticket counter opens and echoes")
    t.eq(seen["tickets"], 4, "a WebSocket let through is given four tickets")
    ws.send(frame(8, struct.pack(">H", 1000)))
    ws.close()
    for up, label, word in (
            (wrong_up, "a stand-in guest with the wrong host subject",
             "spice_subject"),
            (rogue_up, "a stand-in guest with another CA's certificate",
             "certificate"),
            (nosubject_up, "a guest whose host has no spice_subject",
             "spice_subject")):
        tk = h.ticket(up.port, upstream=up.host)
        since = gw.log_size()
        seen["tickets"] = 0
        ws = ws_open(gw, "?ticket=%s" % tk.text, ctx=ctx)
        t.eq(ws.status, 101, "%s: the WebSocket opens" % label)
        close = ws.read_close() if ws.status == 101 else None
        t.ok(close and close[0] == 1014 and word in close[1],
             "%s: and closes at once with 1014 saying why" % label, close)
        if close:
            ws.send(frame(8, struct.pack(">H", 1000)))
        ws.conn.wait_eof()
        ws.close()
        t.eq(seen["tickets"], 0, "%s: no TLS tickets for it" % label)
        lines = gw.wait_tunnel_lines(since, g.peer_str(ws.conn.local))
        t.ok(len(lines) == 1 and lines[0].reason.startswith("refused 1014: ")
             and lines[0].listener == "ws",
             "%s: one log line, refused 1014" % label, lines)
        flowing(t, good, label)


PENDING_CAP = 3            # max_pending_per_source of the caps gateway
SOURCE_CAP = 5             # max_tunnels_per_source of the caps gateway
BUSY_SRC, OTHER_SRC = "127.0.0.7", "127.0.0.8"
PER_SOURCE_REASON = "too many connections from this address"


def turned_away(t, gw, src, label):
    """A connection from src is closed at accept: no TLS session, so no
    answer, and one log line with the reason."""
    since = gw.log_size()
    try:
        c = gw.connect(tls="ws", src=src)
        c.sendall(upgrade_request(gw, "?ticket=x")[0])
        head = c.recv_until(b"\r\n\r\n")
        local = c.local
        c.close()
    except (g.ConnClosed, OSError, ssl.SSLError) as e:
        head, local = repr(e), None
    t.ok(head is None or not isinstance(head, bytes),
         "%s: closed without an answer" % label, head)
    lines = [ln for ln in gw.wait_tunnel_lines(since, None)
             if ln.peer.startswith(src + ":") and
             (local is None or ln.peer == g.peer_str(local))]
    t.ok(len(lines) == 1 and lines[0].listener == "ws" and
         lines[0].reason == "refused: " + PER_SOURCE_REASON,
         "%s: one log line with the reason" % label,
         [ln.reason for ln in lines])


def good_from(t, gw, up, src, label):
    """A WebSocket tunnel from src that opens and echoes, or None."""
    ws = ws_open(gw, "?ticket=%s" % gw.h.ticket(up.port).text, src=src)
    ok = ws.status == 101
    if ok:
        data = os.urandom(1000)
        ok = ws.echo(data) == data
    t.ok(ok, label, ws.status)
    if not ok:
        ws.close()
    return ws if ok else None


def source_caps(t, h, up):
    """max_pending_per_source and max_tunnels_per_source on the WebSocket
    listener: unfinished upgrades from one address fill its pending slots
    and the next one is turned away, while another address still gets its
    tunnel; once upgraded they no longer count as pending, but as tunnels
    of that address, up to its cap."""
    gw = g.Gateway(h, name="gw-caps", ws=True, gateway={
        "ws_origins": ORIGIN, "spice_ca": h.ca},
        limits={"max_pending_per_source": PENDING_CAP,
                "max_tunnels_per_source": SOURCE_CAP,
                "request_timeout": "60s"},
        sections={"hypervisor 127.0.0.1": {"spice_subject": HV_SUBJECT}}
    ).start()
    # Upgrades that stop short of the blank line that ends them.
    held = []
    for _ in range(PENDING_CAP):
        raw, key = upgrade_request(gw, "?ticket=%s" % h.ticket(up.port).text)
        c = gw.connect(tls="ws", src=BUSY_SRC)
        c.sendall(raw[:-2])
        held.append((c, raw[-2:], key))
    t.ok(gw.wait_connections(PENDING_CAP), "pending: %d unfinished upgrades "
         "from %s wait" % (PENDING_CAP, BUSY_SRC), gw.status())
    turned_away(t, gw, BUSY_SRC, "pending: one more from %s" % BUSY_SRC)
    other = good_from(t, gw, up, OTHER_SRC, "pending: meanwhile %s gets a "
                      "tunnel that relays" % OTHER_SRC)
    tunnels = []
    for i, (c, rest, key) in enumerate(held):
        c.sendall(rest)
        ws = ws_answer(c, key)
        ok = ws.status == 101 and ws.echo(b"held%d" % i) == b"held%d" % i
        t.ok(ok, "pending: unfinished upgrade %d, finished, gets its tunnel"
             % (i + 1), ws.status)
        tunnels.append(ws)
    # Upgraded, they count as tunnels of BUSY_SRC, no longer as pending.
    while len(tunnels) < SOURCE_CAP:
        ws = good_from(t, gw, up, BUSY_SRC, "per source: tunnel %d of %d "
                       "from %s" % (len(tunnels) + 1, SOURCE_CAP, BUSY_SRC))
        if ws is None:
            break
        tunnels.append(ws)
    turned_away(t, gw, BUSY_SRC, "per source: tunnel %d from %s"
                % (SOURCE_CAP + 1, BUSY_SRC))
    more = good_from(t, gw, up, OTHER_SRC, "per source: %s still gets a "
                     "tunnel" % OTHER_SRC)
    for ws in tunnels:
        data = os.urandom(500)
        t.ok(ws.echo(data) == data, "per source: the tunnels from %s all "
             "still relay" % BUSY_SRC)
    tunnels.pop().close()
    t.ok(gw.wait_connections(len(tunnels) + 2), "per source: one tunnel "
         "from %s closed" % BUSY_SRC, gw.status())
    last = good_from(t, gw, up, BUSY_SRC, "per source: below the cap again, "
                     "%s gets a tunnel" % BUSY_SRC)
    _head, body = gw.metrics_http()
    line = [ln for ln in body.splitlines() if ln.startswith(
        'paprika_gateway_refusals_total{reason="overloaded"} ')]
    t.ok(line and int(line[0].split()[1]) == 2, "metrics count the two "
         "turned away as overloaded", line)
    for ws in tunnels + [other, more, last]:
        if ws is not None:
            ws.close()
    t.eq(gw.stop(), 0, "the caps gateway stops cleanly")


def main(h, t):
    cert, key = hv_cert(h, "hv1", "hv1")
    qemu = Qemu(h, os.path.dirname(cert))
    rcert, rkey2 = hv_cert(h, "rogue", "hv1", pki=h.path("rogue-pki"))
    other_keys = h.make_keys("other-keys", [1])
    gw = g.Gateway(h, ws=True, gateway={
        "ws_origins": "https://other.example.org, " + ORIGIN,
        "spice_ca": h.ca,
        "upstream_networks": "127.0.0.0/8, ::1/128"},
        limits={"ws_max_message": "64k", "max_tunnels_per_session": 4},
        sections={
            "hypervisor 127.0.0.1": {"spice_subject": HV_SUBJECT},
            "hypervisor 127.0.0.2": {"spice_subject": "O=Paprika,CN=hv2"},
            "hypervisor 127.0.0.3": {"spice_subject": HV_SUBJECT},
        }).start()
    up = tls_echo_upstream(h, "127.0.0.1", cert, key)
    wrong_up = tls_echo_upstream(h, "127.0.0.2", cert, key)
    rogue_up = tls_echo_upstream(h, "127.0.0.3", rcert, rkey2)
    nosubject_up = tls_echo_upstream(h, "127.0.0.4", cert, key)

    with t.section("the SPICE link through the WebSocket to QEMU"):
        relay_to_qemu(t, h, gw, qemu)
    with t.section("a wrong host subject for QEMU"):
        wrong_subject_qemu(t, h, qemu, h.keys)

    good = check_good(t, gw, h.ticket(up.port, session="00000000000000f1"),
                      label="the good tunnel")
    big = os.urandom(200 * 1024)
    for i in range(0, len(big), 32 * 1024):
        good.binary(big[i:i + 32 * 1024])
    t.ok(good.read_data(len(big), timeout=30) == big,
         "the good tunnel carries 200 KiB both ways (several frames)")
    with t.section("HTTP refusals on the WebSocket listener"):
        http_refusals(t, h, gw, good, up, other_keys)
    with t.section("WebSocket upgrades on the CONNECT listeners"):
        connect_listeners_refuse_upgrades(t, h, gw, good, up)
    with t.section("bad frames"):
        bad_frames(t, h, gw, good, up)
    with t.section("the guest's TLS"):
        guest_tls(t, h, gw, good, up, rogue_up, nosubject_up, wrong_up)
    with t.section("kill and revoke"):
        kill_and_revoke(t, h, gw, good, up)
    with t.section("per-session limit"):
        session_limit(t, h, gw, good, up)
    with t.section("per-source caps on the WebSocket listener"):
        source_caps(t, h, up)

    with t.section("metrics"):
        _head, body = gw.metrics_http()
        opened = [ln for ln in body.splitlines() if ln.startswith(
            'paprika_gateway_tunnels_opened_total{listener="ws"} ')]
        t.ok(opened and int(opened[0].split()[1]) >= 20,
             "metrics count WebSocket tunnels with listener=\"ws\"", opened)
        for reason in ("websocket", "origin", "upstream_tls", "upgrade",
                       "not_found"):
            line = [ln for ln in body.splitlines() if ln.startswith(
                'paprika_gateway_refusals_total{reason="%s"} ' % reason)]
            t.ok(line and int(line[0].split()[1]) > 0,
                 "metrics count refusals with reason=\"%s\"" % reason, line)
    good.send(frame(8, struct.pack(">H", 1000)))
    t.eq(good.read_close(), (1000, ""), "the good tunnel closes cleanly")
    with t.section("no ticket in the log"):
        log = gw.log()
        leaked = [tk for tk in h.ticket_texts if tk in log]
        t.ok(not leaked, "no ticket text appears in the gateway's log "
             "(%d checked)" % len(h.ticket_texts))
    # Under AddressSanitizer a leak or a bad access shows up in the log.
    t.eq(gw.stop(), 0, "the gateway stops cleanly")
    t.ok("Sanitizer" not in gw.log(), "no sanitizer report in the log")


if __name__ == "__main__":
    g.run(main)
