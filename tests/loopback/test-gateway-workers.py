#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A gateway with workers = 2 is one gateway:

- tunnels land on both workers (the kernel spreads connections over their
  SO_REUSEPORT sockets): paprikactl sessions and the per-worker accept
  counter show both, and the tunnel log lines say which;
- a kill and a session revocation from the control socket close the
  session's tunnels on both workers, and a revoked session's next tunnel is
  refused;
- max_tunnels_per_source holds for the gateway, not for each worker: refused
  on both workers, no more than the limit gets through in all;
- a TLS session ticket one worker gave resumes on the other;
- /metrics is one answer, the sum over the workers."""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gwharness as g  # noqa: E402

# Enough tries that all landing on one worker by chance (2^-63) never
# happens; each stops as soon as both workers have been seen.
TRIES = 64


def metric(gw, name):
    """A metric's value from the control socket, or None."""
    text = gw.ctl("metrics").stdout
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def workers_of(gw, session):
    """{tunnel id: worker} of a session's tunnels, from paprikactl."""
    for s in gw.ctl_json("sessions", "--json")["sessions"]:
        if s["session"] == session:
            return {tn["id"]: tn.get("worker") for tn in s["tunnels"]}
    return {}


def open_on_both(t, gw, echo, tk, label):
    """Opens tunnels of tk's session until both workers hold one."""
    conns = []
    for _ in range(TRIES):
        rep = gw.open_tunnel(tk, echo.port)
        if rep.status != 200 or rep.conn is None:
            t.ok(False, "%s: a tunnel opens" % label, repr(rep))
            break
        conns.append(rep.conn)
        if len(set(workers_of(gw, tk.session).values())) == 2:
            break
    where = workers_of(gw, tk.session)
    t.eq(sorted(set(where.values())), [0, 1],
         "%s: the session's %d tunnels are on workers 0 and 1"
         % (label, len(conns)))
    return conns


def all_closed(conns):
    for c in conns:
        if not c.wait_eof(10):
            return False
    return True


def kill_and_revoke(h, t):
    echo = g.Upstream(h, g.handler_echo)
    gw = g.Gateway(h, "kill", gateway={"workers": 2},
                   limits={"max_tunnels_per_source": 1000})
    gw.start()
    t.ok(re.search(r"started: .*, 2 workers", gw.log(gw.start_offset)),
         "the start line says 2 workers")

    tk = h.ticket(echo.port)
    conns = open_on_both(t, gw, echo, tk, "kill")
    msg = os.urandom(100)
    t.ok(all(c.echo(msg) == msg for c in conns),
         "kill: every tunnel echoes, on either worker")
    acc = {w: metric(gw, 'paprika_gateway_worker_accepted_total'
                         '{worker="%d"}' % w) for w in (0, 1)}
    t.ok(all(acc[w] and acc[w] > 0 for w in (0, 1))
         and acc[0] + acc[1] == len(conns),
         "metrics: each worker counts what it accepted, %d in all"
         % len(conns), repr(acc))
    t.eq(metric(gw, "paprika_gateway_tunnels"), len(conns),
         "metrics: one answer counts the tunnels of both workers")
    since = gw.log_size()
    r = gw.ctl("kill", tk.session)
    t.ok(r.returncode == 0 and "closed %d tunnel(s)" % len(conns)
         in r.stdout, "kill: closes all %d tunnels" % len(conns),
         r.stdout + r.stderr)
    t.ok(all_closed(conns), "kill: every client sees its tunnel end")
    t.ok(gw.wait_connections(0), "kill: nothing left on either worker")
    lines = [ln for ln in g.TUNNEL_RE.finditer(gw.log(since))]
    workers = set(re.findall(r"killed by control: .* worker=(\d)",
                             gw.log(since)))
    t.ok(len(lines) == len(conns) and workers == {"0", "1"},
         "kill: one log line per tunnel, from both workers",
         gw.log(since)[-2000:])

    tk2 = h.ticket(echo.port)
    conns = open_on_both(t, gw, echo, tk2, "revoke")
    r = gw.ctl("revoke", "--session", tk2.session)
    t.ok(r.returncode == 0, "revoke: accepted", r.stdout + r.stderr)
    t.ok(all_closed(conns), "revoke: the session's tunnels end on both "
         "workers")
    t.ok(gw.wait_connections(0), "revoke: nothing left")
    refused = [gw.open_tunnel(tk2, echo.port).status for _ in range(8)]
    t.ok(refused == [403] * 8, "revoke: its next tunnels are refused on "
         "whichever worker takes them", repr(refused))


def per_source(h, t):
    echo = g.Upstream(h, g.handler_echo)
    limit = 3
    gw = g.Gateway(h, "source", gateway={"workers": 2},
                   limits={"max_tunnels_per_source": limit})
    gw.start()
    since = gw.log_size()
    tk = h.ticket(echo.port)
    held, statuses = [], []
    for _ in range(TRIES):
        rep = gw.open_tunnel(tk, echo.port)
        statuses.append(rep.status)
        if rep.status == 200 and rep.conn is not None:
            held.append(rep.conn)
        refusers = set(re.findall(r"refused 503: too many connections from "
                                  r"this address: .* worker=(\d)",
                                  gw.log(since)))
        if refusers == {"0", "1"}:
            break
    t.ok(refusers == {"0", "1"}, "per source: both workers refuse over "
         "the limit", gw.log(since)[-2000:])
    t.eq(len(held), limit, "per source: %d tunnels in all, not %d per "
         "worker" % (limit, limit))
    for c in held:
        c.close()
    t.ok(gw.wait_connections(0), "per source: closed")
    rep = gw.open_tunnel(tk, echo.port)
    t.eq(rep.status, 200, "per source: once closed, a tunnel opens again")
    if rep.conn is not None:
        rep.conn.close()


def resume_across(h, t):
    """A TLS session from one worker resumes on the other."""
    echo = g.Upstream(h, g.handler_echo)
    gw = g.Gateway(h, "resume", gateway={"workers": 2},
                   limits={"max_tunnels_per_source": 1000})
    gw.start()
    tk = h.ticket(echo.port)
    raw = g.http_request("%s:%d" % (tk.text, echo.port),
                         ["Host: %s:%d" % (tk.text, echo.port)])
    c = gw.connect(tls=True)
    rep = gw.request(raw, conn=c)
    first = workers_of(gw, tk.session)
    # TLS 1.3 tickets come behind the CONNECT answer: read on first.
    if rep.status == 200:
        rep.conn.echo(b"tickets")
    session = c.tls.session
    t.ok(rep.status == 200 and len(first) == 1 and session is not None,
         "resume: a first TLS tunnel opens on one worker", repr(first))
    other = None
    for _ in range(TRIES):
        c2 = gw.connect(tls=True, session=session)
        rep2 = gw.request(raw, conn=c2)
        where = workers_of(gw, tk.session)
        new = {k: v for k, v in where.items() if k not in first}
        if rep2.status == 200 and set(new.values()) - set(first.values()):
            other = c2
            break
        if rep2.conn is not None:
            rep2.conn.close()
    t.ok(other is not None and other.tls.session_reused,
         "resume: a tunnel on the other worker resumed the first one's "
         "session")
    if rep.conn is not None:
        rep.conn.close()


def main(h, t):
    with t.section("kill and revoke"):
        kill_and_revoke(h, t)
    with t.section("per source"):
        per_source(h, t)
    with t.section("resume across"):
        resume_across(h, t)


if __name__ == "__main__":
    g.run(main, time_limit=200)
