#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""TLS session resumption on the gateway's TLS listener: a client that
kept the session of its first tunnel resumes it for the next ones (TLS 1.3
and TLS 1.2 tickets), counted in paprika_gateway_tls_resumed_total; a
resumed tunnel still needs its CONNECT ticket; a reload keeps the ticket
keys; a session older than tls_session_lifetime is not resumed, and
tls_session_lifetime = 0 turns resumption off. Also the key exchange: a
client that sends key shares for P-256 and X25519, P-256 first (GnuTLS,
and so paprika-client, does), gets X25519, whose key an idle tunnel keeps
at less cost; one with a P-256 share only still gets P-256. And the
tickets themselves: four after a full handshake (one for each channel a
SPICE client opens after its main one), one after a resumed handshake,
none for a refused tunnel, all given after the CONNECT answer."""

import os
import re
import socket
import ssl
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gwharness as g  # noqa: E402


def metric(gw, name):
    """A metric's value from the control socket, or None."""
    text = gw.ctl("metrics").stdout
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def tunnel(h, gw, up, ctx=None, session=None, ticket=None):
    """A TLS tunnel to up, offering session; returns (reply, conn)."""
    c = gw.connect(tls=True, ctx=ctx, session=session)
    text = ticket or h.ticket(up.port).text
    raw = g.http_request("%s:%d" % (text, up.port),
                         ["Host: %s:%d" % (text, up.port)])
    return gw.request(raw, conn=c), c


def session_of(h, gw, up):
    """The TLS session of a tunnel just opened, used and closed. TLS 1.3
    tickets come behind the CONNECT answer, so the client reads on (as a
    SPICE client does on its main channel) before it has them."""
    rep, c = tunnel(h, gw, up)
    if rep.conn is not None:
        echoes(rep, "session")
        rep.conn.close()
    return c.tls.session


def resumed_after(h, gw, up, s):
    """Opens a tunnel offering s: (its status, whether it resumed)."""
    rep, c = tunnel(h, gw, up, session=s)
    if rep.conn is not None:
        rep.conn.close()
    return rep.status, c.tls.session_reused


def echoes(rep, what):
    msg = os.urandom(64)
    try:
        return rep.conn is not None and rep.conn.echo(msg) == msg
    except Exception:
        return False


def resumes(h, t, gw, up, ctx, label):
    """The first tunnel does a full handshake, the second resumes it."""
    before = metric(gw, "paprika_gateway_tls_resumed_total") or 0
    rep, c = tunnel(h, gw, up, ctx=ctx)
    t.eq(rep.status, 200, "%s: the first tunnel opens" % label)
    t.ok(not c.tls.session_reused, "%s: the first tunnel is a full "
         "handshake" % label)
    t.ok(echoes(rep, label), "%s: the first tunnel carries bytes" % label)
    first = c.tls.session
    t.ok(first is not None and first.has_ticket,
         "%s: the gateway gave the client a session ticket" % label,
         repr(first))
    rep2, c2 = tunnel(h, gw, up, ctx=ctx, session=first)
    t.eq(rep2.status, 200, "%s: the second tunnel opens" % label)
    t.ok(c2.tls.session_reused, "%s: the second tunnel resumes the first "
         "one's TLS session" % label, c2.tls.version())
    t.ok(echoes(rep2, label), "%s: the resumed tunnel carries bytes" % label)
    t.eq(metric(gw, "paprika_gateway_tls_resumed_total"), before + 1,
         "%s: the gateway counts one resumed handshake" % label)
    rep.conn.close()
    rep2.conn.close()
    return c2.tls.session


# The P-256 base point: a valid public key for a share the test never uses.
P256_POINT = bytes.fromhex(
    "04"
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
GROUP_P256, GROUP_X25519 = 0x0017, 0x001d


def ext(kind, data):
    return struct.pack(">HH", kind, len(data)) + data


def client_hello(shares):
    """A TLS 1.3 ClientHello offering P-256 and X25519, with key shares
    for the groups in shares (in that order)."""
    keys = {GROUP_P256: P256_POINT, GROUP_X25519: os.urandom(32)}
    entries = b"".join(struct.pack(">HH", gr, len(keys[gr])) + keys[gr]
                       for gr in shares)
    exts = (ext(0x002b, b"\x02\x03\x04") +           # supported_versions
            ext(0x000a, struct.pack(">HHH", 4, GROUP_P256, GROUP_X25519)) +
            ext(0x000d, struct.pack(">HHH", 4, 0x0403, 0x0804)) +
            ext(0x0033, struct.pack(">H", len(entries)) + entries))
    body = (b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) +
            struct.pack(">HH", 2, 0x1301) + b"\x01\x00" +
            struct.pack(">H", len(exts)) + exts)
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def chosen_group(gw, shares):
    """The group of the key share in the gateway's ServerHello, or None."""
    with socket.create_connection(gw.address(True), timeout=10) as c:
        c.sendall(client_hello(shares))
        f = c.makefile("rb")
        head = f.read(5)
        if len(head) < 5 or head[0] != 0x16:
            return None
        rec = f.read(struct.unpack(">H", head[3:5])[0])
    if rec[0] != 0x02:
        return None
    p = 4 + 2 + 32
    p += 1 + rec[p] + 2 + 1
    end = p + 2 + struct.unpack(">H", rec[p:p + 2])[0]
    p += 2
    while p + 4 <= end:
        kind, n = struct.unpack(">HH", rec[p:p + 4])
        if kind == 0x0033:
            return struct.unpack(">H", rec[p + 4:p + 6])[0]
        p += 4 + n
    return None


def tickets_given(h, gw, up, counter, session=None, ticket=None):
    """Opens a tunnel with counter's context (offering session): once an
    echo has come back, (status, tickets, tickets that came before the
    CONNECT answer, the TLS session)."""
    ctx, seen = counter
    seen.update(tickets=0, before_data=None)
    rep, c = tunnel(h, gw, up, ctx=ctx, session=session, ticket=ticket)
    if rep.status == 200:
        echoes(rep, "tickets")
        rep.conn.close()
    return rep.status, seen["tickets"], seen["before_data"], c.tls.session


def main(h, t):
    up = g.Upstream(h, g.handler_echo)
    gw = g.Gateway(h, "gw")
    gw.start()

    with t.section("TLS 1.3"):
        s13 = resumes(h, t, gw, up, None, "TLS 1.3")
        t.eq(metric(gw, "paprika_gateway_tls_handshakes_total"), 2,
             "TLS 1.3: two handshakes counted")

    with t.section("key exchange"):
        t.eq(chosen_group(gw, [GROUP_P256, GROUP_X25519]), GROUP_X25519,
             "shares for P-256 then X25519: the gateway takes X25519")
        t.eq(chosen_group(gw, [GROUP_P256]), GROUP_P256,
             "a P-256 share only: the gateway takes P-256")

    with t.section("tickets given"):
        counter = g.ticket_counter(h.ca)
        status, n, before, sess = tickets_given(h, gw, up, counter)
        t.eq(status, 200, "a full handshake's tunnel opens")
        t.eq(n, 4, "a full handshake gives four tickets")
        t.eq(before, 0, "none before the CONNECT answer")
        status, n, before, _ = tickets_given(h, gw, up, counter, session=sess)
        t.eq((status, n), (200, 1), "a resumed handshake gives one, for the "
             "one it used")
        forged = h.make_keys("forged-keys", [1])
        status, n, before, _ = tickets_given(
            h, gw, up, counter, ticket=h.ticket(up.port, keys=forged).text)
        t.eq((status, n), (403, 0), "a refused tunnel gets none")

    with t.section("TLS 1.2"):
        ctx12 = ssl.create_default_context(cafile=h.ca)
        ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
        resumes(h, t, gw, up, ctx12, "TLS 1.2")

    with t.section("a resumed tunnel still needs its ticket"):
        rep, c = tunnel(h, gw, up, session=s13,
                        ticket=h.ticket(up.port, keys=forged).text)
        t.ok(c.tls.session_reused, "the session resumes")
        t.eq(rep.status, 403, "a resumed tunnel with a bad ticket is refused")

    with t.section("reload keeps the ticket keys"):
        s = session_of(h, gw, up)
        r = gw.ctl("reload")
        t.ok(r.returncode == 0, "paprikactl reload", r.stderr)
        status, reused = resumed_after(h, gw, up, s)
        t.eq(status, 200, "a tunnel after the reload opens")
        t.ok(reused, "it resumes a session from before the reload")

    with t.section("lifetime"):
        short = g.Gateway(h, "short", gateway={"tls_session_lifetime": "1s"})
        short.start()
        s = session_of(h, short, up)
        t.ok(s is not None and 0 < s.ticket_lifetime_hint <= 1,
             "the ticket's lifetime is tls_session_lifetime",
             s and s.ticket_lifetime_hint)
        # Past the lifetime, and past the ticket key's own rotation.
        time.sleep(3.5)
        status, reused = resumed_after(h, short, up, s)
        t.eq(status, 200, "a tunnel after the lifetime opens")
        t.ok(not reused, "a session older than tls_session_lifetime is not "
             "resumed")
        short.stop()

    with t.section("off"):
        off = g.Gateway(h, "off", gateway={"tls_session_lifetime": "0"})
        off.start()
        s = session_of(h, off, up)
        t.ok(s is None or not s.has_ticket, "tls_session_lifetime = 0: no "
             "ticket")
        status, reused = resumed_after(h, off, up, s)
        t.eq(status, 200, "the second tunnel opens")
        t.ok(not reused, "tls_session_lifetime = 0: nothing resumes")
        t.eq(metric(off, "paprika_gateway_tls_resumed_total"), 0,
             "tls_session_lifetime = 0: no resumption counted")
        off.stop()

    t.eq(gw.stop(), 0, "the gateway stops cleanly")
    t.ok(not re.search(r"AddressSanitizer|LeakSanitizer|runtime error",
                       gw.log()), "no sanitizer report in the log")


if __name__ == "__main__":
    g.run(main, time_limit=120)
