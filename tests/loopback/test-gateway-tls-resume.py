#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""TLS session resumption on the gateway's TLS listener: a client that
kept the session of its first tunnel resumes it for the next ones (TLS 1.3
and TLS 1.2 tickets), counted in paprika_gateway_tls_resumed_total; a
resumed tunnel still needs its CONNECT ticket; a reload keeps the ticket
keys; a session older than tls_session_lifetime is not resumed, and
tls_session_lifetime = 0 turns resumption off."""

import os
import re
import ssl
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
    """The TLS session of a tunnel just opened and closed."""
    rep, c = tunnel(h, gw, up)
    if rep.conn is not None:
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


def main(h, t):
    up = g.Upstream(h, g.handler_echo)
    gw = g.Gateway(h, "gw")
    gw.start()

    with t.section("TLS 1.3"):
        s13 = resumes(h, t, gw, up, None, "TLS 1.3")
        t.eq(metric(gw, "paprika_gateway_tls_handshakes_total"), 2,
             "TLS 1.3: two handshakes counted")

    with t.section("TLS 1.2"):
        ctx12 = ssl.create_default_context(cafile=h.ca)
        ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
        resumes(h, t, gw, up, ctx12, "TLS 1.2")

    with t.section("a resumed tunnel still needs its ticket"):
        forged = h.make_keys("forged-keys", [1])
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
