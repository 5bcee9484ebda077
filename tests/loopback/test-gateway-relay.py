#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The gateway's relay on loopback: large transfers both ways at once through
the plain and TLS listeners (sha256 compared at both ends), half-close in
each direction, the first tunnel bytes riding in the CONNECT packet, splice
on and off, hundreds of tunnels open at once, and slow readers on either side
holding the gateway's memory flat while the other side pushes as fast as it
can."""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gwharness as g  # noqa: E402
from gwharness import MiB, Pattern, Sink  # noqa: E402

BIG = 64 * MiB
# What the gateway may grow by while a reader stalls: one buffer per
# direction is 64 KiB, so a few MiB covers allocator noise with room to spare.
RSS_SLACK_KIB = 4 * 1024
# Under AddressSanitizer the quarantine holds freed buffers for a while:
# the bound is then only a sanity check.
if os.environ.get("PAPRIKA_SANITIZED"):
    RSS_SLACK_KIB *= 8
STALL = 4.0


def mode(tls):
    return "tls" if tls else "plain"


def tunnel_or_fail(t, gw, ticket, port, label, **kw):
    rep = gw.open_tunnel(ticket, port, **kw)
    t.ok(rep.status == 200 and rep.conn is not None,
         "%s: CONNECT answered 200" % label, repr(rep))
    return rep


def check_log_line(t, gw, since, rep, label, up=None, down=None,
                   reason="closed"):
    lines = gw.wait_tunnel_lines(since, g.peer_str(rep.local))
    if not t.eq(len(lines), 1, "%s: one log line for the tunnel" % label):
        return None
    ln = lines[0]
    t.eq(ln.reason, reason, "%s: logged reason" % label)
    if up is not None:
        t.eq(ln.up, up, "%s: log counts up=%d" % (label, up))
    if down is not None:
        # The gateway's own "200 Connection established" may be counted.
        t.ok(ln.down in (down, down + len(g.OK_REPLY)),
             "%s: log counts down=%d" % (label, down), ln.text)
    return ln


def first_bytes(t, h, gw, tls):
    label = "%s: bytes sent with the CONNECT" % mode(tls)
    up = g.Upstream(h, g.handler_echo)
    tk = h.ticket(up.port)
    first = b"spice-link-header-in-the-same-packet:" + os.urandom(600)
    rep = tunnel_or_fail(t, gw, tk, up.port, label, tls=tls, extra=first)
    if rep.conn is None:
        return
    t.eq(rep.head, g.OK_REPLY, "%s: exact 200 reply" % label)
    got = rep.conn.recv_exact(len(first))
    t.ok(got == first, "%s: echoed back intact" % label)
    more = os.urandom(3000)
    t.ok(rep.conn.echo(more) == more, "%s: tunnel keeps working" % label)
    up.wait_records(1)
    t.ok(bytes(up.records[0].head).startswith(first),
         "%s: upstream got them first" % label)
    rep.conn.close()
    # More than max_request_size right behind the request.
    label = "%s: 1 MiB written with the CONNECT" % mode(tls)
    big = Pattern(7).bytes(MiB)
    rep = tunnel_or_fail(t, gw, tk, up.port, label, tls=tls, extra=big)
    if rep.conn is None:
        return
    t.ok(rep.conn.recv_exact(len(big), timeout=30) == big,
         "%s: echoed back intact" % label)
    rep.conn.close()


def upstream_speaks_first(t, h, gw, tls):
    label = "%s: upstream speaking first" % mode(tls)
    banner = b"RFB 003.008\n" + os.urandom(500)
    up = g.Upstream(h, g.handler_banner, banner=banner)
    tk = h.ticket(up.port)
    rep = tunnel_or_fail(t, gw, tk, up.port, label, tls=tls)
    if rep.conn is None:
        return
    t.eq(rep.head, g.OK_REPLY, "%s: the 200 reply comes first" % label)
    t.ok(rep.conn.recv_exact(len(banner)) == banner,
         "%s: then the upstream's greeting, intact" % label)
    msg = os.urandom(1000)
    t.ok(rep.conn.echo(msg) == msg, "%s: then the tunnel echoes" % label)
    rep.conn.close()


def resets(t, h, gw, tls):
    label = "%s: upstream resets" % mode(tls)
    up = g.Upstream(h, g.handler_reset, after=200 * 1024)
    tk = h.ticket(up.port)
    since = gw.log_size()
    rep = tunnel_or_fail(t, gw, tk, up.port, label, tls=tls)
    if rep.conn is not None:
        t.ok(rep.conn.wait_eof(10), "%s: the client's connection ends"
             % label)
        lines = gw.wait_tunnel_lines(since, g.peer_str(rep.local))
        t.ok(len(lines) == 1 and lines[0].reason == "upstream reset",
             "%s: one line, reason \"upstream reset\"" % label, repr(lines))
        rep.conn.close()
    label = "%s: client resets" % mode(tls)
    up = g.Upstream(h, g.handler_echo)
    tk = h.ticket(up.port)
    since = gw.log_size()
    rep = tunnel_or_fail(t, gw, tk, up.port, label, tls=tls)
    if rep.conn is not None:
        rep.conn.echo(b"x" * 1000)
        local = rep.local
        rep.conn.closed = True
        g.reset(rep.conn.sock)
        up.wait_records(1)
        rec = up.records[0]
        t.ok(rec.done.wait(10) and rec.got_eof,
             "%s: the upstream's connection ends" % label, repr(rec.error))
        lines = gw.wait_tunnel_lines(since, g.peer_str(local))
        t.ok(len(lines) == 1 and lines[0].reason == "client reset",
             "%s: one line, reason \"client reset\"" % label, repr(lines))


def bidirectional(t, h, gw, tls, label, size=BIG):
    """size bytes up while size bytes come down, in one tunnel."""
    up = g.Upstream(h, g.handler_duplex, down=size, seed=12)
    tk = h.ticket(up.port)
    since = gw.log_size()
    rep = tunnel_or_fail(t, gw, tk, up.port, label, tls=tls)
    if rep.conn is None:
        return
    sink = Sink()
    t0 = time.monotonic()
    rep.conn.transfer(Pattern(11).chunks(size), sink, timeout=120)
    elapsed = time.monotonic() - t0
    rec = up.records[0]
    rec.done.wait(30)
    t.eq(sink.n, size, "%s: %d MiB arrived down" % (label, size // MiB))
    t.ok(sink.hexdigest() == Pattern(12).sha256(size),
         "%s: down bytes identical (sha256)" % label)
    t.eq(rec.received, size, "%s: %d MiB arrived up" % (label, size // MiB))
    t.ok(rec.hexdigest() == Pattern(11).sha256(size),
         "%s: up bytes identical (sha256)" % label)
    t.ok(rec.got_eof and rec.error is None,
         "%s: upstream saw the client's end" % label, repr(rec.error))
    t.note("%s: %d MiB each way in %.2fs: %.0f MiB/s up+down"
           % (label, size // MiB, elapsed, 2 * size / MiB / elapsed))
    check_log_line(t, gw, since, rep, label, up=size, down=size)
    rep.conn.close()


def expected_answer(sent_digest, sent_len, seed, size):
    import hashlib
    hh = hashlib.sha256()
    hh.update(bytes.fromhex(sent_digest) + sent_len.to_bytes(8, "big"))
    for c in Pattern(seed).chunks(size):
        hh.update(c)
    return hh.hexdigest()


def half_close_client_first(t, h, gw, tls, label):
    """Client sends, ends its direction; the upstream answers after EOF."""
    sent, answer = 5 * MiB, 8 * MiB
    up = g.Upstream(h, g.handler_reply_after_eof, size=answer, seed=21)
    tk = h.ticket(up.port)
    since = gw.log_size()
    rep = tunnel_or_fail(t, gw, tk, up.port, label, tls=tls)
    if rep.conn is None:
        return
    sink = Sink()
    rep.conn.transfer(Pattern(20).chunks(sent), sink, timeout=60)
    rec = up.records[0]
    rec.done.wait(20)
    t.ok(rec.got_eof, "%s: upstream saw EOF after %d MiB"
         % (label, sent // MiB))
    head = bytes(sink.head[:40])
    t.ok(head[:32].hex() == Pattern(20).sha256(sent)
         and int.from_bytes(head[32:40], "big") == sent,
         "%s: upstream got every byte before the EOF" % label)
    t.eq(sink.n, 40 + answer, "%s: whole answer after the half-close"
         % label)
    t.ok(sink.hexdigest() == expected_answer(Pattern(20).sha256(sent), sent,
                                             21, answer),
         "%s: answer identical (sha256)" % label)
    t.ok(rep.conn.eof, "%s: then the tunnel ends" % label)
    check_log_line(t, gw, since, rep, label, up=sent, down=40 + answer)
    rep.conn.close()


def half_close_upstream_first(t, h, gw, tls, label):
    """Upstream sends and ends its direction; the client, having read to
    EOF, still sends through the half-open tunnel."""
    down, sent = 3 * MiB, 2 * MiB
    up = g.Upstream(h, g.handler_duplex, down=down, seed=31)
    tk = h.ticket(up.port)
    since = gw.log_size()
    rep = tunnel_or_fail(t, gw, tk, up.port, label, tls=tls)
    if rep.conn is None:
        return
    c = rep.conn
    sink = Sink()
    c.transfer(None, sink, shut=False, timeout=60)
    t.ok(sink.n == down and sink.hexdigest() == Pattern(31).sha256(down),
         "%s: client read the upstream's %d MiB to EOF" % (label, down // MiB),
         "got %d bytes" % sink.n)
    rec = up.records[0]
    t.ok(not rec.got_eof, "%s: upstream still open for reading" % label)
    c.transfer(Pattern(30).chunks(sent), None, shut=True, timeout=60)
    rec.done.wait(20)
    t.ok(rec.got_eof and rec.received == sent
         and rec.hexdigest() == Pattern(30).sha256(sent),
         "%s: upstream got %d MiB sent after its EOF" % (label, sent // MiB),
         "received %d, eof %s, error %r" % (rec.received, rec.got_eof,
                                             rec.error))
    check_log_line(t, gw, since, rep, label, up=sent, down=down)
    c.close()


def many_tunnels(t, h, gw, nplain, ntls):
    label = "%d plain + %d TLS tunnels at once" % (nplain, ntls)
    up = g.Upstream(h, g.handler_echo)
    tk = h.ticket(up.port)
    since = gw.log_size()
    req = g.http_request("%s:%d" % (tk.text, up.port))
    conns = []
    failures = []
    t0 = time.monotonic()
    for i in range(nplain + ntls):
        tls = i >= nplain
        try:
            c = gw.connect(tls=tls, timeout=30)
            c.sendall(req)
            conns.append(c)
        except Exception as e:
            failures.append("open %d: %r" % (i, e))
    t.eq(len(conns), nplain + ntls, "%s: all connected" % label)
    replies = 0
    for i, c in enumerate(conns):
        try:
            if c.recv_until(b"\r\n\r\n", timeout=30) == g.OK_REPLY:
                replies += 1
        except Exception as e:
            failures.append("reply %d: %r" % (i, e))
    t.eq(replies, len(conns), "%s: all answered 200" % label)
    st = gw.status()
    t.eq(st["connections"], nplain + ntls,
         "%s: gateway reports them all open" % label)
    msgs = [(b"tunnel %05d %s|" % (i, os.urandom(16).hex().encode())) * 40
            for i in range(len(conns))]
    for c, m in zip(conns, msgs):
        try:
            c.sendall(m)
        except Exception as e:
            failures.append("send: %r" % e)
    good = 0
    for c, m in zip(conns, msgs):
        try:
            if c.recv_exact(len(m), timeout=30) == m:
                good += 1
        except Exception as e:
            failures.append("echo: %r" % e)
    t.eq(good, len(conns), "%s: each echoed its own message" % label)
    t.note("%s: opened and echoed in %.1fs"
           % (label, time.monotonic() - t0))
    for c in conns:
        try:
            c.shut_write()
        except Exception:
            pass
    ended = sum(1 for c in conns if c.wait_eof(20))
    t.eq(ended, len(conns), "%s: all end after the client's EOF" % label)
    for c in conns:
        c.close()
    t.ok(gw.wait_connections(0, 30), "%s: gateway holds none after" % label)
    lines = [ln for ln in gw.tunnel_lines(since) if ln.reason == "closed"]
    t.eq(len(lines), len(conns), "%s: one 'closed' log line each" % label)
    if failures:
        t.note("\n".join(failures[:10]))


def sample_rss(gw, seconds):
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append(gw.rss_kib() or 0)
        time.sleep(0.2)
    return samples


def tunnel_bytes(gw, session):
    for s in gw.ctl_json("sessions", "--json")["sessions"]:
        if s["session"] == session and s["tunnels"]:
            return s["tunnels"][0]["bytes_up"], s["tunnels"][0]["bytes_down"]
    return None


def slow_client(t, h, gw, tls, size, label, figures):
    """The upstream sends size bytes flat out; the client reads nothing for
    a while, then everything."""
    up = g.Upstream(h, g.handler_duplex, down=size, seed=41)
    tk = h.ticket(up.port)
    base = gw.rss_kib()
    anon = gw.proc_status("RssAnon")
    rep = tunnel_or_fail(t, gw, tk, up.port, label, tls=tls)
    if rep.conn is None:
        return
    samples = sample_rss(gw, STALL)
    growth = max(samples) - base
    figures.append("%s: RSS %d KiB before, at most %d KiB while the client "
                   "read nothing for %.0fs (+%d KiB; RssAnon %s then %s kB)"
                   % (label, base, max(samples), STALL, growth, anon[0],
                      gw.proc_status("RssAnon")[0]))
    t.ok(growth < RSS_SLACK_KIB, "%s: gateway RSS growth %d KiB < %d KiB"
         % (label, growth, RSS_SLACK_KIB))
    b1 = tunnel_bytes(gw, tk.session)
    time.sleep(0.5)
    b2 = tunnel_bytes(gw, tk.session)
    t.ok(b1 is not None and b1 == b2 and b1[1] < size,
         "%s: the relay pauses while the client does not read" % label,
         "bytes %r then %r" % (b1, b2))
    t.ok(up.records[0].sent < size,
         "%s: backpressure reaches the upstream" % label,
         "upstream sent %d" % up.records[0].sent)
    sink = Sink(keep=0)
    t0 = time.monotonic()
    rep.conn.transfer(None, sink, shut=True, timeout=150)
    elapsed = time.monotonic() - t0
    t.eq(sink.n, size, "%s: all %d MiB arrive once the client reads"
         % (label, size // MiB))
    t.ok(sink.hexdigest() == Pattern(41).sha256(size),
         "%s: intact (sha256)" % label)
    figures.append("%s: %d MiB drained in %.1fs, %.0f MiB/s"
                   % (label, size // MiB, elapsed, size / MiB / elapsed))
    rep.conn.close()


def slow_upstream(t, h, gw, tls, size, label, figures):
    """The client sends size bytes flat out; the upstream reads nothing for
    a while, then everything."""
    up = g.Upstream(h, g.handler_duplex, down=0, stall=STALL + 1)
    tk = h.ticket(up.port)
    base = gw.rss_kib()
    rep = tunnel_or_fail(t, gw, tk, up.port, label, tls=tls)
    if rep.conn is None:
        return
    err = []

    def push():
        try:
            rep.conn.transfer(Pattern(51).chunks(size), None, shut=True,
                              timeout=150)
        except Exception as e:
            err.append(e)

    th = threading.Thread(target=push, daemon=True)
    t0 = time.monotonic()
    th.start()
    samples = sample_rss(gw, STALL)
    growth = max(samples) - base
    figures.append("%s: RSS %d KiB before, at most %d KiB while the upstream "
                   "read nothing for %.0fs (+%d KiB; RssAnon %s kB)"
                   % (label, base, max(samples), STALL, growth,
                      gw.proc_status("RssAnon")[0]))
    t.ok(growth < RSS_SLACK_KIB, "%s: gateway RSS growth %d KiB < %d KiB"
         % (label, growth, RSS_SLACK_KIB))
    th.join(160)
    rec = up.records[0]
    rec.done.wait(30)
    elapsed = time.monotonic() - t0
    t.ok(not err and not th.is_alive(), "%s: the client's send completes"
         % label, repr(err))
    t.ok(rec.received == size and rec.hexdigest() == Pattern(51).sha256(size),
         "%s: upstream got all %d MiB intact" % (label, size // MiB),
         "received %d" % rec.received)
    figures.append("%s: %d MiB in %.1fs including the %.0fs stall"
                   % (label, size // MiB, elapsed, STALL + 1))
    rep.conn.close()


def main(h, t):
    figures = []
    gw = g.Gateway(h, "gw", limits={
        "splice": "yes",
        "max_tunnels_per_session": 2000,
        "max_tunnels_per_source": 2000,
        "request_timeout": "30s",
        "handshake_timeout": "30s",
    })
    gw.start()
    t.ok(gw.alive(), "gateway (splice = yes) started")

    for tls in (False, True):
        with t.section("first bytes, " + mode(tls)):
            first_bytes(t, h, gw, tls)
    for tls in (False, True):
        with t.section("upstream speaks first, " + mode(tls)):
            upstream_speaks_first(t, h, gw, tls)
    # Before anything else has grown the heap, so growth would show.
    with t.section("slow client, plain"):
        slow_client(t, h, gw, False, 1024 * MiB,
                    "plain splice=yes slow client", figures)
    with t.section("slow client, tls"):
        slow_client(t, h, gw, True, 256 * MiB, "tls slow client", figures)
    with t.section("slow upstream, plain"):
        slow_upstream(t, h, gw, False, 256 * MiB,
                      "plain splice=yes slow upstream", figures)
    with t.section("slow upstream, tls"):
        slow_upstream(t, h, gw, True, 128 * MiB, "tls slow upstream",
                      figures)
    for tls in (False, True):
        with t.section("bidirectional, " + mode(tls)):
            bidirectional(t, h, gw, tls, "%s splice=yes: %d MiB both ways"
                          % (mode(tls), BIG // MiB))
    for tls in (False, True):
        with t.section("half-close, client first, " + mode(tls)):
            half_close_client_first(t, h, gw, tls,
                                    "%s: half-close by the client" % mode(tls))
        with t.section("half-close, upstream first, " + mode(tls)):
            half_close_upstream_first(t, h, gw, tls,
                                      "%s: half-close by the upstream"
                                      % mode(tls))
    for tls in (False, True):
        with t.section("resets, " + mode(tls)):
            resets(t, h, gw, tls)
    with t.section("many tunnels"):
        many_tunnels(t, h, gw, 500, 200)
    t.eq(gw.stop(), 0, "gateway (splice = yes) exits 0 on SIGTERM")

    gw2 = g.Gateway(h, "gw-nosplice", tls=False, limits={"splice": "no"})
    gw2.start()
    t.ok(gw2.alive(), "gateway (splice = no) started")
    with t.section("first bytes, splice=no"):
        first_bytes(t, h, gw2, False)
    with t.section("slow client, splice=no"):
        slow_client(t, h, gw2, False, 512 * MiB,
                    "plain splice=no slow client", figures)
    with t.section("slow upstream, splice=no"):
        slow_upstream(t, h, gw2, False, 256 * MiB,
                      "plain splice=no slow upstream", figures)
    with t.section("bidirectional, plain, splice=no"):
        bidirectional(t, h, gw2, False, "plain splice=no: %d MiB both ways"
                      % (BIG // MiB))
    with t.section("half-close, splice=no"):
        half_close_client_first(t, h, gw2, False,
                                "plain splice=no: half-close by the client")
        half_close_upstream_first(t, h, gw2, False,
                                  "plain splice=no: half-close by the "
                                  "upstream")
    t.eq(gw2.stop(), 0, "gateway (splice = no) exits 0 on SIGTERM")
    for f in figures:
        t.note(f)


if __name__ == "__main__":
    g.run(main, time_limit=200)
