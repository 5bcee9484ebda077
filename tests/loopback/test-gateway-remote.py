#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A gateway on another host: its control channel in TLS (control_listen)
with client certificates, as a broker reaches it with control = tls://.

- a client with the broker's control certificate (paprika-certs --only
  control) gets answers; one from another CA, one with no certificate, one
  of the right CA but a subject control_clients does not name, and one whose
  certificate is not for client use are refused, each with its log line;
  a client that never finishes its handshake is dropped after
  handshake_timeout; the Unix socket still answers;
- a real broker (libvirt's test driver) ends a session, and the session's
  live tunnel through the gateway is closed over the TLS channel;
- the gateway down when the broker ends a session: the broker queues the
  revocation (logged once), delivers it once the gateway is back, and the
  session's ticket is refused from then on."""

import json
import os
import re
import socket
import sqlite3
import subprocess
import ssl
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gwharness as g  # noqa: E402
import paprikatest  # noqa: E402
from brokerdeploy import ApiError, BrokerDeployment  # noqa: E402

CLIENT = "O=Paprika,OU=Gateway control,CN=paprika-brokerd"
# A host of libvirt's test driver with one running guest that has SPICE.
HOST = """<node>
  <domain type='test'>
    <name>desk-a</name>
    <memory unit='MiB'>512</memory><vcpu>1</vcpu>
    <os><type>hvm</type></os>
    <devices>
      <graphics type='spice' port='5931' tlsPort='5932' autoport='no'
                listen='127.0.0.1'>
        <listen type='address' address='127.0.0.1'/>
      </graphics>
    </devices>
  </domain>
</node>
"""


def make_certs(h):
    """The broker's certificates from the harness's CA, a libvirt client
    certificate (right CA, another subject) and a control certificate from
    another CA."""
    g.make_pki(h.pki, "--only", "broker,control,libvirt", "--days", "2",
               "--dns", "localhost", "--ip", "127.0.0.1", "--spice-name", "hv1")
    other = g.make_pki(h.path("other"), "--only", "control", "--days", "2")
    p = h.pki
    return {
        "control": (os.path.join(p, "broker", "control-cert.pem"),
                    os.path.join(p, "broker", "control-key.pem")),
        "other-ca": (os.path.join(other, "broker", "control-cert.pem"),
                     os.path.join(other, "broker", "control-key.pem")),
        "subject": (os.path.join(p, "libvirt", "client", "clientcert.pem"),
                    os.path.join(p, "libvirt", "client", "clientkey.pem")),
        "server": (h.cert, h.key),
    }


def control_gateway(h, name, limits=None, extra=None):
    port = g.free_port()
    gw = g.Gateway(h, name, limits=limits, gateway=dict({
        "control_listen": "127.0.0.1:%d" % port,
        "control_ca": h.ca,
        "control_clients": CLIENT,
    }, **(extra or {})))
    gw.control_port = port
    gw.start()
    m = re.search(r"started: .*, (\d+) workers", gw.log(gw.start_offset))
    gw.nworkers = int(m.group(1)) if m else 1
    return gw


def ask(h, gw, pair=None, request=b'{"command":"status"}\n'):
    """One request on control_listen with the client certificate pair (or
    none); the reply line, or the exception that ended it."""
    ctx = ssl.create_default_context(cafile=h.ca)
    if pair is not None:
        ctx.load_cert_chain(*pair)
    s = socket.create_connection(("127.0.0.1", gw.control_port), timeout=10)
    try:
        ss = ctx.wrap_socket(s, server_hostname="localhost")
        ss.sendall(request)
        data = b""
        while not data.endswith(b"\n"):
            chunk = ss.recv(4096)
            if not chunk:
                break
            data += chunk
        return data
    except (OSError, ssl.SSLError) as e:
        return e
    finally:
        s.close()


def refusals(h, t, certs):
    gw = control_gateway(h, "ctl", limits={"handshake_timeout": "2s"})
    r = ask(h, gw, certs["control"])
    ok = isinstance(r, bytes) and r.startswith(b"{")
    t.ok(ok and "version" in json.loads(r),
         "the broker's control certificate gets an answer", repr(r))
    r = gw.ctl("status")
    t.ok(r.returncode == 0, "the Unix socket still answers",
         r.stdout + r.stderr)
    cases = (
        ("other-ca", r"control: TLS handshake with 127\.0\.0\.1:\d+ failed: "
         r"client certificate refused: unable to get local issuer"),
        (None, r"control: TLS handshake with 127\.0\.0\.1:\d+ failed: the "
         r"client sent no certificate"),
        ("subject", r"control: refused TLS client 127\.0\.0\.1:\d+: subject "
         r"\"O=Paprika,OU=Libvirt client,CN=paprika-brokerd\" is not in "
         r"control_clients"),
        ("server", r"control: TLS handshake with 127\.0\.0\.1:\d+ failed: "
         r"client certificate refused: unsuitable certificate purpose"),
    )
    for which, pattern in cases:
        since = gw.log_size()
        r = ask(h, gw, certs[which] if which else None)
        t.ok(not (isinstance(r, bytes) and r), "%s: no answer"
             % (which or "no certificate"), repr(r))
        t.ok(gw.wait_log(pattern, since, 5), "%s: the gateway says why"
             % (which or "no certificate"), gw.log(since)[-1000:])
    since = gw.log_size()
    s = socket.create_connection(("127.0.0.1", gw.control_port), timeout=10)
    t.ok(gw.wait_log(r"control: TLS handshake with 127\.0\.0\.1:\d+ took "
                     r"longer than 2 s", since, 6),
         "a handshake that never ends is dropped after handshake_timeout",
         gw.log(since)[-1000:])
    s.settimeout(5)
    try:
        t.eq(s.recv(10), b"", "its connection is closed")
    except OSError as e:
        t.ok(False, "its connection is closed", repr(e))
    s.close()
    # A reload takes a new control_clients list: a broker's access is
    # withdrawn without a restart.
    gw.gateway_extra["control_clients"] = \
        "O=Paprika,OU=Libvirt client,CN=paprika-brokerd"
    gw.write_conf()
    r = gw.ctl("reload")
    t.ok(r.returncode == 0, "reload with another control_clients",
         r.stdout + r.stderr)
    r = ask(h, gw, certs["control"])
    t.ok(not (isinstance(r, bytes) and r),
         "after the reload the broker's subject is refused", repr(r))
    r = ask(h, gw, certs["subject"])
    t.ok(isinstance(r, bytes) and r.startswith(b"{"),
         "and the newly named subject answered", repr(r))
    t.eq(gw.stop(), 0, "the gateway exits 0 (under ASan: nothing leaked)")


def config(h, t):
    """paprika-gatewayd -n on control_listen's keys."""
    good = {"control_listen": "127.0.0.1:%d" % g.free_port(),
            "control_ca": h.ca, "control_clients": CLIENT}
    cases = (
        ("without control_ca and control_clients",
         {"control_listen": good["control_listen"]},
         "control_listen needs control_ca"),
        ("with a control_clients line that is no subject",
         dict(good, control_clients="paprika-brokerd"),
         '"paprika-brokerd" is not a subject'),
        ("with a control_ca that is missing",
         dict(good, control_ca=h.path("no-such-ca.pem")),
         "control_listen: control_ca %s" % h.path("no-such-ca.pem")),
        ("without a certificate to show",
         dict(good, tls_cert=None, tls_key=None, listen_tls="none"),
         "control_listen needs control_tls_cert and control_tls_key"),
    )
    for label, keys, words in cases:
        gw = g.Gateway(h, "cfg", gateway=keys)
        gw.pick_ports()
        gw.write_conf()
        r = subprocess.run([h.gatewayd, "-n", "-f", gw.conf_path],
                           capture_output=True, text=True, timeout=30)
        t.ok(r.returncode != 0 and words in r.stderr,
             "-n: refuses control_listen %s" % label, r.stderr)
    gw = g.Gateway(h, "cfg", gateway=good)
    gw.pick_ports()
    gw.write_conf()
    r = subprocess.run([h.gatewayd, "-n", "-v", "-f", gw.conf_path],
                       capture_output=True, text=True, timeout=30)
    t.ok(r.returncode == 0 and "configuration OK" in r.stdout
         and "control_tls_cert = %s\n" % h.cert in r.stdout,
         "-n: control_listen with its keys is OK, its certificate the "
         "gateway's", r.stdout + r.stderr)


def session_gw_id(d, exclude):
    """The gateway session id of demo's newest session, from the broker's
    state (the API does not show it; its tickets carry it)."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.work, "broker.db"),
                         uri=True, timeout=5)
    try:
        rows = db.execute("SELECT gw_id FROM sessions WHERE user = 'demo' "
                          "ORDER BY id DESC").fetchall()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    for (v,) in rows:
        sid = "%016x" % (v & (2 ** 64 - 1))
        if sid not in exclude:
            return sid
    return None


def start_broker(h, certs, gw, wrong):
    d = BrokerDeployment(h.path("broker"), paprikatest.top_srcdir,
                         paprikatest.top_builddir, log=paprikatest.note)
    os.makedirs(d.work, exist_ok=True)
    d.pki = h.pki
    d.add_user("demo", "demo-password", "staff")
    host = os.path.join(d.work, "host.xml")
    with open(host, "w") as f:
        f.write(HOST)
    user = "user = root\n" if os.geteuid() == 0 else ""
    d.conf_text = f"""[broker]
{user}listen = 127.0.0.1:{d.broker_port}
tls_cert = {h.pki}/broker/broker-cert.pem
tls_key = {h.pki}/broker/broker-key.pem
state = {d.work}/broker.db
ticket_keys = {h.keys}
spice_ca = {h.ca}
pam_service =
users_file = {d.users_file}
portal_dir =

[host local]
uri = test://{host}
spice_address = 127.0.0.1

[gateway remote]
proxy = http://127.0.0.1:{gw.ports["plain"]}
control = tls://localhost:{gw.control_port}
control_cert = {certs["control"][0]}
control_key = {certs["control"][1]}
control_ca = {h.ca}

[gateway wrongname]
proxy = http://127.0.0.1:1
control = tls://localhost:{wrong.control_port}
control_cert = {certs["control"][0]}
control_key = {certs["control"][1]}
control_ca = {h.ca}

[pool office]
title = Office desktop
kind = static
host = local
assign = demo=desk-a
"""
    d.start_broker()
    return d


def live_session(h, t, d, gw, echo, label, seen):
    """A session of demo's at the broker and a live tunnel of it through
    the gateway (a ticket of the broker's session id, to the echo server)."""
    token = d.login("demo", "demo-password")
    try:
        d.connect(token, timeout=30)
    except ApiError as e:
        # The test driver sets no SPICE password: the session is started,
        # its tickets would carry its id, and that is what counts here.
        paprikatest.note("connect: %s" % e)
    sid = g.wait_until(lambda: session_gw_id(d, seen), 15)
    t.ok(sid is not None, "%s: the broker has a session for demo" % label)
    seen.add(sid)
    tk = h.ticket(echo.port, session=sid)
    conns = []
    # With workers > 1, tunnels on every worker: the revocation must reach
    # them all (64 tries: all on one worker by chance never happens).
    for _ in range(64):
        rep = gw.open_tunnel(tk, echo.port)
        if rep.status != 200 or rep.conn is None:
            break
        conns.append(rep.conn)
        if len(workers_of(gw, sid)) >= gw.nworkers:
            break
    t.ok(conns and all(c.echo(b"hello") == b"hello" for c in conns)
         and len(workers_of(gw, sid)) == gw.nworkers,
         "%s: %d tunnels of session %s carry bytes, on all %d worker(s)"
         % (label, len(conns), sid, gw.nworkers), repr(rep))
    return token, sid, tk, conns


def workers_of(gw, session):
    """The workers holding a session's tunnels, from paprikactl."""
    for s in gw.ctl_json("sessions", "--json")["sessions"]:
        if s["session"] == session:
            return {tn.get("worker", 0) for tn in s["tunnels"]}
    return set()


def end_session(d, token):
    status, body, _ = d.api("POST", "/api/v1/desktops/office/end", {},
                            token=token)
    if status != 200:
        raise RuntimeError("end: HTTP %d: %r" % (status, body))


def queued_metric(d, gateway):
    """paprika_broker_gateway_revocations_queued of a gateway, or None."""
    status, body, _ = d.api("GET", "/metrics", raw=True)
    m = re.search(r'^paprika_broker_gateway_revocations_queued\{gateway="%s"\}'
                  r' (\d+)$' % gateway, body.decode(), re.M)
    return int(m.group(1)) if status == 200 and m else None


def broker_log(d, since=0):
    with open(d.broker_log, "rb") as f:
        f.seek(since)
        return f.read().decode("utf-8", "replace")


def revoked_over_tls(h, t, certs):
    echo = g.Upstream(h, g.handler_echo)
    gw = control_gateway(h, "remote")
    # Its control certificate names hv1, not localhost.
    wrong = control_gateway(h, "wrongname", extra={
        "control_tls_cert": os.path.join(h.pki, "libvirt", "server",
                                         "servercert.pem"),
        "control_tls_key": os.path.join(h.pki, "libvirt", "server",
                                        "serverkey.pem")})
    d = start_broker(h, certs, gw, wrong)
    seen = set()
    try:
        token, sid, tk, conns = live_session(h, t, d, gw, echo, "end", seen)
        since = gw.log_size()
        end_session(d, token)
        t.ok(all(c.wait_eof(15) for c in conns), "end: the broker's "
             "revocation closes the live tunnels", gw.log(since)[-1500:])
        t.ok(gw.wait_log(r"control: revoked session %s, closed %d tunnel"
                         % (sid, len(conns)), since, 5),
             "end: the gateway logs the revocation", gw.log(since)[-1500:])
        t.eq(gw.open_tunnel(tk, echo.port).status, 403,
             "end: the session's ticket is refused from then on")
        t.ok("gateway remote: revocation" not in broker_log(d),
             "end: nothing was queued for it", broker_log(d)[-1500:])
        mismatch = (r"gateway wrongname: revocation of session %s queued "
                    r".*the gateway's certificate is refused: hostname "
                    r"mismatch" % sid)
        t.ok(g.wait_until(lambda: re.search(mismatch, broker_log(d)), 10),
             "end: a gateway whose certificate does not name it is not "
             "trusted", broker_log(d)[-1500:])
        t.ok("control: revoked" not in wrong.log(),
             "end: nor told anything", wrong.log()[-1500:])

        token, sid, tk, conns = live_session(h, t, d, gw, echo, "down", seen)
        gw.stop()
        t.ok(all(c.wait_eof(10) for c in conns), "down: the gateway is "
             "stopped")
        bsince = os.path.getsize(d.broker_log)
        end_session(d, token)
        queued = r"gateway remote: revocation of session %s queued" % sid
        t.ok(g.wait_until(lambda: re.search(queued, broker_log(d, bsince)),
                          10),
             "down: the broker queues the revocation",
             broker_log(d, bsince)[-1500:])
        t.eq(queued_metric(d, "remote"), 1,
             "down: /metrics counts the revocation waiting for it")
        # Two tries at least fail meanwhile (after 1 s, then 2 s).
        time.sleep(3.5)
        gsince = gw.log_size()
        gw.start()
        delivered = (r"gateway remote: revocation of session %s delivered "
                     r"after \d+ s" % sid)
        t.ok(g.wait_until(lambda: re.search(delivered,
                                            broker_log(d, bsince)), 40),
             "down: delivered once the gateway is back",
             broker_log(d, bsince)[-1500:])
        t.eq(queued_metric(d, "remote"), 0, "down: and none once delivered")
        t.ok((queued_metric(d, "wrongname") or 0) >= 2,
             "down: the gateway that is not trusted still has its two "
             "waiting")
        t.eq(len(re.findall(queued, broker_log(d, bsince))), 1,
             "down: the queueing is logged once, not at each try")
        t.ok(gw.wait_log(r"control: revoked session %s" % sid, gsince, 5),
             "down: the gateway got it", gw.log(gsince)[-1500:])
        rep = gw.open_tunnel(tk, echo.port)
        t.eq(rep.status, 403, "down: the session's ticket is refused once "
             "the gateway is back")
        d = restarted_meanwhile(h, t, d, certs, gw, wrong, echo, seen)
    finally:
        d.stop_broker()


def revocation_rows(d):
    """The undelivered revocations in the broker's state: {(gateway,
    session)}."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.work, "broker.db"),
                         uri=True, timeout=5)
    try:
        return {(gw, "%016x" % (s & (2 ** 64 - 1))) for gw, s in db.execute(
            "SELECT gateway, session FROM revocations").fetchall()}
    finally:
        db.close()


def restarted_meanwhile(h, t, d, certs, gw, wrong, echo, seen):
    """A revocation the gateway missed survives the broker's restart: the
    state keeps it, and the broker started next delivers it."""
    token, sid, tk, conns = live_session(h, t, d, gw, echo, "restart", seen)
    gw.stop()
    bsince = os.path.getsize(d.broker_log)
    end_session(d, token)
    queued = r"gateway remote: revocation of session %s queued" % sid
    t.ok(g.wait_until(lambda: re.search(queued, broker_log(d, bsince)), 10),
         "restart: the broker queues the revocation",
         broker_log(d, bsince)[-1500:])
    t.ok(("remote", sid) in revocation_rows(d), "restart: the queued "
         "revocation is in the state at once (a kill -9 would keep it)",
         repr(revocation_rows(d)))
    d.stop_broker()
    t.ok(re.search(r"gateway remote: 1 revocations undelivered at the stop, "
                   r"left in the state", broker_log(d, bsince)),
         "restart: the stopping broker says it leaves it in the state",
         broker_log(d, bsince)[-1500:])
    t.ok(("remote", sid) in revocation_rows(d),
         "restart: and the stop does not take it out")
    # A gateway restarted meanwhile knows nothing of it: the ticket opens a
    # tunnel again until the broker comes back.
    gw.start()
    rep = gw.open_tunnel(tk, echo.port)
    t.eq(rep.status, 200, "restart: with no broker, the restarted gateway "
         "still takes the ended session's ticket")
    bsince = os.path.getsize(d.broker_log)
    d.start_broker()
    delivered = (r"gateway remote: revocation of session %s delivered "
                 r"after \d+ s" % sid)
    t.ok(g.wait_until(lambda: re.search(delivered, broker_log(d, bsince)),
                      20),
         "restart: the broker started next delivers it",
         broker_log(d, bsince)[-1500:])
    t.ok("revocations an earlier broker could not deliver are on their way "
         "again" in broker_log(d, bsince), "restart: and says so at start")
    t.ok(rep.conn is not None and rep.conn.wait_eof(10), "restart: the "
         "tunnel opened meanwhile is closed")
    t.eq(gw.open_tunnel(tk, echo.port).status, 403,
         "restart: the ticket is refused again")
    t.ok(("remote", sid) not in revocation_rows(d),
         "restart: and the state no longer holds it")
    return d


def main(h, t):
    certs = make_certs(h)
    with t.section("config"):
        config(h, t)
    with t.section("refusals"):
        refusals(h, t, certs)
    with t.section("broker"):
        revoked_over_tls(h, t, certs)


if __name__ == "__main__":
    g.run(main, time_limit=240)
