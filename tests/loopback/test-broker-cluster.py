#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Brokers sharing one PostgreSQL database (a private cluster, as in
test-broker-postgresql): one leads, the others stand by and forward the
API to it, and a standby takes over when the leader dies or stops
answering. The brokers share one PKI (CA, certificates and ticket keys), as
a deployment's do. Hosts of libvirt's test driver: no guest runs.

- The first broker leads; a second stands by: its health check says 200,
  role "standby", naming the leader's URL, and it serves the whole API by
  forwarding: a login through it (from 127.0.0.5) gives a token the leader
  takes, the leader's tokens work through it, a desktop connects, the
  helpdesk disconnects and ends the session through it, the audit export
  (chunked) comes through whole, past max_forwards it answers 503
  overloaded, the helpdesk's
  event stream opened on it carries an event of the leader's, the stream
  closed on it closes at the leader, and the leader's audit names the
  client's own address. A Paprika-Forwarded header sent straight to the
  leader with a wrong MAC, or stale, gets 400; one sent to a standby 503.
- Password checks spread: a login through the standby has its password
  checked there (the standby's metrics count the check and the verdict
  sent), the leader takes the verdict (counted) and checks nothing itself;
  a wrong password through the standby fails and counts at the leader:
  three of them lock the name out, and then the right password through the
  standby is refused as locked, checked nowhere (the standby reads the
  leader's counts from the database). A Paprika-Verified header sent straight to
  the leader is taken when signed as the brokers sign it (even for a wrong
  password: the verdict is what counts), and refused with 400 in words
  when its MAC is wrong, when it is replayed with another body or for
  another user, when it is stale, without a Paprika-Forwarded header, or
  on another route; none of those counts as a login; one sent to a standby
  gets 503.
  A standby whose cluster_ca did not sign the leader's certificate
  forwards nothing and says why, as does its health check (503).
- Right after kill -9 of the leader, the standby (which cannot reach it)
  answers 503 standby with Retry-After, and its health check 503 down,
  naming the unreachable leader.
- kill -9 of the leader with a live session: the standby leads within
  about lease_time (measured and printed), with the session the dead
  broker started, and the login made on the dead broker still works.
- Fencing: the new leader is stopped with SIGSTOP; a third broker takes the
  lease over and, as leader, ends the session when its max_session runs
  out. The stopped broker, resumed, does not act on what it thought it
  held: it exits with status 75 at once, having ended nothing, and the
  database still names the third broker as the holder.
- A leader stopped with SIGTERM gives the lease back: a standby leads at
  once, not a lease_time later.
- Then a leader with a lease_time of 30 s and a standby with one auth
  thread, its second factor (TOTP) on:
  - a user enrols a second factor through the standby; her logins through
    it have their password checked there and the code at the leader: no
    code gets 401 totp_required, a wrong one 401, the right one a token
    that works on both brokers;
  - 12 logins at once through the standby fill its password checks (8 per
    auth thread): it forwards the rest unchecked and the leader checks
    them (password_checks_total, verdicts_total), all succeed;
  - the standby's health says 200 while it reaches the leader, 503 down
    with the reason in words within a few seconds of the leader's SIGSTOP
    (its lease still runs: nobody takes over), and 200 again once the
    leader is resumed; its paprika_broker_leader_reachable says the
    same;
  - a leader that advertises a standby's address (as one that advertises
    the load balancer's would reach one): the standby's health says 503
    down, the leader answering its probe 503 in its own words, and its
    forwards are refused rather than bounced between brokers."""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, hotp, import_demo, note, read_text,  # noqa: E402
                         top_builddir, top_srcdir, wait_until)
import pgcluster  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

LEASE = 3           # lease_time, seconds
LONG_LEASE = 30     # the last leader's: it outlives a SIGSTOP of seconds
HEALTH_FRESH = 3    # seconds a standby's last good forward answers its health
PROBE = 2           # seconds a standby's probe of the leader may take
TOTP_PERIOD = 30
MAX_SESSION = 25    # the pool's max_session, seconds

# One running test-driver domain with SPICE, so that a session starts (each
# broker's test driver reads its own copy of it).
NODE = f"""<node>
  <domain type='test'>
    {brokerdeploy.test_domain("desk-a", "5d0e8a1c-3b7f-4e2a-9c61-8f4b2a7d9e10")}
  </domain>
</node>
"""


def deployment(name, url, pki_from=None):
    """A broker's deployment on database url; pki_from: another
    deployment whose PKI this one shares (the brokers of one site do)."""
    work = make_workdir(tempfile.mkdtemp(prefix=f"paprika-cluster-{name}."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    if pki_from is None:
        d.make_pki()
    else:
        shutil.copytree(pki_from.pki, d.pki, symlinks=True)
        d.host_subject = pki_from.host_subject
    d.add_user("demo", "demo-password", "staff")
    d.add_user("boss", "boss-password", "helpdesk,admin")
    d.add_user("victim", "victim-password", "staff")
    url_self = f"https://127.0.0.1:{d.broker_port}"
    node = os.path.join(work, "node.xml")
    with open(node, "w") as f:
        f.write(NODE)
    d.conf_text = d.test_driver_config(
        extra=f"database = {url}\nlease_time = {LEASE}s\nadvertise = {url_self}\n"
              f"cluster_ca = {d.pki}/ca/ca-cert.pem\n",
        assign="demo=desk-a").replace(
        "[roles]\nhelpdesk = helpdesk", "[roles]\nhelpdesk = helpdesk\nadmin = admin").replace(
        "uri = test:///default", f"uri = test://{node}") + f"max_session = {MAX_SESSION}s\n"
    # The same login throttle on every broker: a standby reads the
    # leader's counts from the database and judges them by its own limits.
    d.conf_text += ("\n[limits]\nlogin_free_failures = 5\nlogin_lockout_failures = 3\n"
                    "login_fail_delay = 0\n")
    d.advertised = url_self
    return d


def health(d):
    try:
        status, body, _ = d.api("GET", "/api/v1/health")
        return status, body
    except OSError:
        return None, None


def leads(d):
    status, body = health(d)
    return status == 200 and isinstance(body, dict) and body.get("role") == "leader"


def sessions(d, token):
    status, body, _ = d.api("GET", "/api/v1/sessions", token=token)
    return [s["id"] for s in body.get("sessions", [])] if status == 200 else None


def takeover_time(d, since, timeout):
    """Seconds from since until d's health says it leads, or None."""
    ok = wait_until(lambda: leads(d), timeout, interval=0.05)
    return time.monotonic() - since if ok else None


def log_since(d, offset):
    return read_text(d.broker_log)[offset:]


def ticket_key(d, info):
    """(key id, the key derived from d's newest ticket key over info)."""
    keys = os.path.join(d.pki, "ticket-keys")
    ids = sorted(int(n[:-4]) for n in os.listdir(keys) if n.endswith(".key"))
    with open(os.path.join(keys, f"{ids[-1]}.key")) as f:
        secret = bytes.fromhex(f.read().strip())
    return ids[-1], hmac.new(secret, info, hashlib.sha256).digest()


def forwarded_header(d, addr, ts, method, target):
    """A Paprika-Forwarded value as a broker of d's PKI signs it: HMAC-SHA256
    under HMAC-SHA256(ticket key, "paprika forwarded request v1") over
    addr, ts, method and target, one per line."""
    kid, key = ticket_key(d, b"paprika forwarded request v1")
    mac = hmac.new(key, f"{addr}\n{ts}\n{method}\n{target}".encode(),
                   hashlib.sha256).hexdigest()
    return f"for={addr}; ts={ts}; key={kid}; mac={mac}"


def verified_header(d, user, ok, body, for_addr, for_ts, ts=None, account=None,
                    via="local", groups="staff"):
    """A Paprika-Verified value as a standby of d's PKI signs it: HMAC-SHA256
    under HMAC-SHA256(ticket key, "paprika verified login v1") over user,
    ok, account, via, groups, ts, the body's SHA-256, and the
    Paprika-Forwarded header's address and time, one per line."""
    kid, key = ticket_key(d, b"paprika verified login v1")
    ts = for_ts if ts is None else ts
    digest = hashlib.sha256(body).hexdigest()
    if not ok:
        account, via, groups = "", "", ""
    elif account is None:
        account = user
    msg = f"{user}\n{int(ok)}\n{account}\n{via}\n{groups}\n{ts}\n{digest}\n{for_addr}\n{for_ts}"
    mac = hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()
    if ok:
        return (f"user={user}; ok=1; account={account}; via={via}; groups={groups}; "
                f"ts={ts}; key={kid}; body={digest}; mac={mac}")
    return f"user={user}; ok=0; ts={ts}; key={kid}; body={digest}; mac={mac}"


def metric(d, name, labels):
    """The value of d's metric name{labels}, or None."""
    status, metrics, _ = d.api("GET", "/metrics", raw=True)
    m = re.search(rb"\n" + re.escape(f"{name}{{{labels}}}".encode()) + rb" ([0-9.e+]+)\n",
                  metrics)
    return float(m.group(1)) if m else None


def checks(d):
    """d's password checks: (done here, verdicts taken from standbys)."""
    return (metric(d, "paprika_broker_password_checks_total", 'where="here"'),
            metric(d, "paprika_broker_password_checks_total", 'where="standby"'))


def open_events(d, token):
    """GET /api/v1/events on d: (connection, response, or None when no
    answer began within 5 s)."""
    conn = http.client.HTTPSConnection("127.0.0.1", d.broker_port, context=d.tls_context(),
                                       timeout=5)
    conn.request("GET", "/api/v1/events", headers={"Authorization": f"Bearer {token}",
                                                   "Accept": "text/event-stream"})
    try:
        return conn, conn.getresponse()
    except OSError:
        return conn, None


def read_until(r, needle, timeout):
    """Reads the stream r until needle arrives: what was read."""
    got = b""
    if r is None:
        return got
    deadline = time.monotonic() + timeout
    while needle not in got and time.monotonic() < deadline:
        try:
            piece = r.read1(65536)
        except (OSError, http.client.HTTPException):
            break
        if not piece:
            break
        got += piece
    return got


def subscribers(d):
    status, metrics, _ = d.api("GET", "/metrics", raw=True)
    m = re.search(rb"\npaprika_broker_event_subscribers (\d+)\n", metrics)
    return int(m.group(1)) if m else None


def check_forwarding(a, b):
    """b stands by for a: everything through b works as on a."""
    status, body, _ = b.api("POST", "/api/v1/login",
                            {"username": "demo", "password": "demo-password"},
                            source="127.0.0.5")
    check(status == 200 and isinstance(body, dict) and len(body.get("token", "")) > 0,
          "a login through the standby returns a token", (status, body))
    through = body.get("token") if isinstance(body, dict) else None
    check(through and a.api("GET", "/api/v1/desktops", token=through)[0] == 200,
          "the token from the standby works on the leader")
    token = a.login("demo", "demo-password")
    check(b.api("GET", "/api/v1/desktops", token=token)[0] == 200,
          "and a token from the leader works on the standby")
    boss = a.login("boss", "boss-password")
    status, body, _ = a.api("GET", "/api/v1/audit?action=login&user=demo&limit=5", token=boss)
    sources = [x.get("source") for x in body.get("audit", [])] if status == 200 else body
    check(isinstance(sources, list) and "127.0.0.5" in sources,
          "the leader's audit of the login through the standby names the client's own "
          "address (127.0.0.5), not the standby's", sources)
    export = "/api/v1/audit/export?action=login&user=demo"
    sa, ba, _ = a.api("GET", export, token=boss, raw=True)
    sb, bb, hb = b.api("GET", export, token=boss, raw=True)
    check(sa == 200 and sb == 200 and bb == ba and b"127.0.0.5" in bb and
          hb.get("transfer-encoding") == "chunked" and
          hb.get("content-type") == "application/x-ndjson",
          "the audit export (chunked) comes through the standby as the leader sends it",
          (sa, sb, hb, bb[-200:], ba[-200:]))

    # The helpdesk's stream on the standby, left while nothing happens:
    # the leader's end closes with it.
    conn, r = open_events(b, boss)
    check(r is not None and r.status == 200 and
          r.getheader("Content-Type", "").startswith("text/event-stream"),
          "the helpdesk's event stream opens on the standby at once",
          r and (r.status, r.getheaders()))
    got = read_until(r, b"retry:", 5)
    check(b"retry:" in got and subscribers(a) == 1,
          "its first bytes come through at once, and the leader has it open", got)
    conn.close()
    check(wait_until(lambda: subscribers(a) == 0, 3, interval=0.1),
          "the client leaving the stream on the standby closes it at the leader",
          subscribers(a))

    # Another stream; a connect through the standby makes an event.
    conn, r = open_events(b, boss)
    status, body, _ = b.api("POST", "/api/v1/desktops/office/connect?wait=1", token=through)
    check(status in (200, 202), "a desktop connect through the standby answers", (status, body))
    sid = sessions(a, boss)
    check(sid is not None and len(sid) == 1, "and the leader started the session", sid)
    got = read_until(r, b"event: session", 5)
    check(b"event: session" in got,
          "the stream on the standby carries the leader's session event", got[-300:])
    conn.close()
    if not sid:
        return
    status, body, _ = b.api("POST", f"/api/v1/sessions/{sid[0]}/disconnect", token=boss)
    check(status == 200, "the helpdesk disconnects the session through the standby",
          (status, body))
    status, body, _ = b.api("POST", f"/api/v1/sessions/{sid[0]}/end", token=boss)
    check(status == 200 and sessions(a, boss) == [],
          "and ends it through the standby", (status, body, sessions(a, boss)))

    # b forwards max_forwards = 2 at once: two streams hold both.
    held = [open_events(b, boss) for _ in range(2)]
    status, body, headers = b.api("GET", "/api/v1/desktops", token=token)
    error = body.get("error", {}) if isinstance(body, dict) else {}
    check(status == 503 and error.get("code") == "overloaded" and
          "max_forwards" in error.get("message", "") and headers.get("retry-after") == "1",
          "past max_forwards the standby answers 503 overloaded, in words", (status, body))
    for conn, _ in held:
        conn.close()
    check(wait_until(lambda: b.api("GET", "/api/v1/desktops", token=token)[0] == 200, 5,
                     interval=0.1),
          "and forwards again once the streams are closed")

    # The header straight to the leader: only a broker of the site makes it.
    now = int(time.time())
    path = "/api/v1/me"
    good = forwarded_header(a, "10.9.8.7", now, "GET", path)
    status, body, _ = a.api("GET", path, token=token, headers={"Paprika-Forwarded": good})
    check(status == 200, "a Paprika-Forwarded header signed as the brokers sign it is taken",
          (status, body))
    forged = good[:-64] + ("0" if good[-64] != "0" else "1") + good[-63:]
    offset = len(read_text(a.broker_log))
    status, body, _ = a.api("GET", path, token=token, headers={"Paprika-Forwarded": forged})
    error = body.get("error", {}) if isinstance(body, dict) else {}
    check(status == 400 and error.get("code") == "bad_forward" and "MAC" in error.get("message", ""),
          "a forged Paprika-Forwarded header sent to the leader gets 400, in words", (status, body))
    logged = log_since(a, offset)
    check("Paprika-Forwarded header" in logged and forged[-64:] not in logged,
          "and a log line, without the MAC", logged[-400:])
    stale = forwarded_header(a, "10.9.8.7", now - 120, "GET", path)
    status, body, _ = a.api("GET", path, token=token, headers={"Paprika-Forwarded": stale})
    error = body.get("error", {}) if isinstance(body, dict) else {}
    check(status == 400 and "stale" in error.get("message", ""),
          "a stale one (120 s old) gets 400", (status, body))
    status, body, _ = b.api("GET", path, token=token, headers={"Paprika-Forwarded": good})
    check(status == 503, "a forwarded request reaching a standby is not forwarded again: 503",
          (status, body))


def post_login(d, body, headers=None, source=None):
    """POST /api/v1/login to d with body (bytes) as it is: (status, JSON)."""
    conn = http.client.HTTPSConnection("127.0.0.1", d.broker_port, context=d.tls_context(),
                                       timeout=60,
                                       source_address=(source, 0) if source else None)
    try:
        conn.request("POST", "/api/v1/login", body=body,
                     headers={"Content-Type": "application/json", **(headers or {})})
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def logins(d, result):
    return metric(d, "paprika_broker_logins_total", f'result="{result}"')


def check_verdicts(a, b):
    """b checks the passwords of the logins it receives; a takes its
    verdicts."""
    here_a, standby_a = checks(a)
    here_b, _ = checks(b)
    sent_b = metric(b, "paprika_broker_verdicts_total", 'result="sent"')
    status, body, _ = b.api("POST", "/api/v1/login",
                            {"username": "demo", "password": "demo-password"},
                            source="127.0.0.5")
    check(status == 200 and len(body.get("token", "")) > 0,
          "a login through the standby returns a token", (status, body))
    check(checks(b)[0] == here_b + 1 and
          metric(b, "paprika_broker_verdicts_total", 'result="sent"') == sent_b + 1,
          "the standby checked the password itself and sent its verdict",
          (here_b, checks(b), sent_b))
    check(checks(a) == (here_a, standby_a + 1),
          "the leader took the standby's verdict and checked nothing itself",
          ((here_a, standby_a), checks(a)))

    failed = logins(a, "failed")
    status, body, _ = b.api("POST", "/api/v1/login",
                            {"username": "demo", "password": "wrong"}, source="127.0.0.5")
    check(status == 401 and body.get("error", {}).get("code") == "login_failed" and
          logins(a, "failed") == failed + 1 and checks(a)[0] == here_a,
          "a wrong password through the standby fails, counted as a failure at the leader "
          "(which checked nothing)", (status, body, failed, logins(a, "failed"), checks(a)))

    # The leader locks a name out at 3 failures (login_lockout_failures).
    for i in range(3):
        status, body, _ = b.api("POST", "/api/v1/login",
                                {"username": "victim", "password": f"wrong-{i}"},
                                source="127.0.0.6")
        check(status == 401, f"wrong password {i + 1} for victim through the standby: 401",
              (status, body))
    here_b = checks(b)[0]
    status, body, _ = b.api("POST", "/api/v1/login",
                            {"username": "victim", "password": "victim-password"},
                            source="127.0.0.7")
    error = body.get("error", {}) if isinstance(body, dict) else {}
    check(status == 429 and error.get("code") == "locked_out",
          "and then the right password through the standby is refused as locked out",
          (status, body))
    check(checks(b)[0] == here_b and checks(a)[0] == here_a,
          "with no password check, on the standby or the leader: the standby read the "
          "lockout from the database and forwarded the login unchecked",
          (here_b, checks(b), here_a, checks(a)))
    boss = a.login("boss", "boss-password")
    status, body, _ = a.api("GET", "/api/v1/audit?action=login&user=victim&limit=10",
                            token=boss)
    sources = {x.get("source") for x in body.get("audit", [])} if status == 200 else body
    check(sources == {"127.0.0.6", "127.0.0.7"},
          "the leader's audit of those names the clients' own addresses", sources)

    # Verdicts straight to the leader: only a broker of the site signs one.
    now = int(time.time())
    addr = "10.9.8.6"
    fwd = forwarded_header(a, addr, now, "POST", "/api/v1/login")
    wrong = json.dumps({"username": "demo", "password": "not-the-password"}).encode()
    good = verified_header(a, "demo", True, wrong, addr, now)
    ok, failed = logins(a, "ok"), logins(a, "failed")
    status, body = post_login(a, wrong, {"Paprika-Forwarded": fwd, "Paprika-Verified": good})
    check(status == 200 and len(body.get("token", "")) > 0 and logins(a, "ok") == ok + 1,
          "a Paprika-Verified header signed as the standbys sign it is taken in place of a "
          "check (even with a wrong password in the body: the verdict counts)", (status, body))
    ok = logins(a, "ok")
    other_body = json.dumps({"username": "demo", "password": "another"}).encode()
    other_user = json.dumps({"username": "boss", "password": "not-the-password"}).encode()
    forged = good[:-64] + ("0" if good[-64] != "0" else "1") + good[-63:]
    cases = [
        ("with a wrong MAC", wrong, forged, "MAC"),
        ("replayed with another body", other_body, good, "another request body"),
        ("replayed for another user", other_user, good, "another request body"),
        ("for another user, signed", other_user,
         verified_header(a, "demo", True, other_user, addr, now), "another user"),
        ("stale (120 s old)", wrong, verified_header(a, "demo", True, wrong, addr, now,
                                                     ts=now - 120), "stale"),
        ("bound to another client address", wrong,
         verified_header(a, "demo", True, wrong, "10.9.8.5", now), "MAC"),
    ]
    for what, data, value, words in cases:
        offset = len(read_text(a.broker_log))
        status, body = post_login(a, data, {"Paprika-Forwarded": fwd,
                                            "Paprika-Verified": value})
        error = body.get("error", {}) if isinstance(body, dict) else {}
        logged = log_since(a, offset)
        check(status == 400 and error.get("code") == "bad_verdict" and
              words in error.get("message", "") and "Paprika-Verified header" in logged and
              value[-64:] not in logged,
              f"a Paprika-Verified header {what} gets 400 in words, logged without the MAC",
              (status, body, logged[-300:]))
    status, body = post_login(a, wrong, {"Paprika-Verified": good})
    check(status == 400, "one without a Paprika-Forwarded header gets 400", (status, body))
    status, body, _ = a.api("GET", "/api/v1/me", token=boss,
                            headers={"Paprika-Forwarded": forwarded_header(
                                a, addr, now, "GET", "/api/v1/me"), "Paprika-Verified": good})
    check(status == 400, "and one on another route", (status, body))
    check(logins(a, "ok") == ok and logins(a, "failed") == failed,
          "none of them counts as a login", (ok, logins(a, "ok"), failed, logins(a, "failed")))
    status, body = post_login(b, wrong, {"Paprika-Verified": good})
    check(status == 503, "a Paprika-Verified header sent to a standby gets 503", (status, body))


def check_other_ca(a, x):
    """x stands by for a with a cluster_ca that did not sign a's certificate."""
    x.start_broker(standby=True)
    token = a.login("demo", "demo-password")
    status, body, headers = x.api("GET", "/api/v1/desktops", token=token)
    error = body.get("error", {}) if isinstance(body, dict) else {}
    check(status == 503 and error.get("code") == "standby" and
          "certificate verify failed" in error.get("message", "") and "retry-after" in headers,
          "a standby whose cluster_ca did not sign the leader's certificate forwards "
          "nothing: 503 standby, saying why", (status, body))
    status, body = health(x)
    check(status == 503 and "certificate verify failed" in body.get("reason", ""),
          "and its health check says 503, saying why", (status, body))
    x.stop_broker()


def load_users(a, c, n):
    """n more users in a's users file, copied to c's: names load0... with
    demo's hash (its password), written here: no argon2id run for each."""
    with open(a.users_file) as f:
        lines = f.read().splitlines()
    demo = next(x for x in lines if x.startswith("demo:"))
    names = [f"load{i}" for i in range(n)]
    with open(a.users_file, "a") as f:
        for name in names:
            f.write(name + demo[len("demo"):] + "\n")
    shutil.copyfile(a.users_file, c.users_file)
    return names


def logins_at_once(d, names, password, source):
    """Logins of names sent to d at once, each on a connection opened (TLS
    done) beforehand: [(status, JSON)]."""
    conns = []
    for _ in names:
        conn = http.client.HTTPSConnection("127.0.0.1", d.broker_port,
                                           context=d.tls_context(), timeout=60,
                                           source_address=(source, 0))
        conn.connect()
        conns.append(conn)
    results = [(None, None)] * len(names)
    barrier = threading.Barrier(len(names))

    def one(i):
        body = json.dumps({"username": names[i], "password": password})
        barrier.wait()
        try:
            conns[i].request("POST", "/api/v1/login", body=body,
                             headers={"Content-Type": "application/json"})
            r = conns[i].getresponse()
            results[i] = (r.status, json.loads(r.read() or b"null"))
        except (OSError, http.client.HTTPException, ValueError) as e:
            results[i] = (None, str(e))
        finally:
            conns[i].close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def verdicts(d, result):
    return metric(d, "paprika_broker_verdicts_total", f'result="{result}"')


def check_full(a, c, names):
    """c (one auth thread: 8 checks waiting fill it) gets len(names) logins
    at once: those past its bound go to a unchecked, and a checks them."""
    here_a, standby_a = checks(a)
    here_c = checks(c)[0]
    sent_c, unchecked_c = verdicts(c, "sent"), verdicts(c, "unchecked")
    accepted_a = verdicts(a, "accepted")
    results = logins_at_once(c, names, "demo-password", "127.0.0.8")
    tokens = [b.get("token") for s, b in results if s == 200 and isinstance(b, dict)]
    check(len(tokens) == len(names),
          f"{len(names)} logins at once through a standby with one auth thread all succeed",
          [s for s, _ in results])
    sent = verdicts(c, "sent") - sent_c
    unchecked = verdicts(c, "unchecked") - unchecked_c
    note(f"of {len(names)} logins at once, the standby checked {sent:.0f} and forwarded "
         f"{unchecked:.0f} unchecked")
    check(unchecked >= 1 and sent >= 1 and sent + unchecked == len(names),
          "past its full password checks the standby forwards logins unchecked "
          "(verdicts_total{result=\"unchecked\"}), the others with its verdict",
          (sent, unchecked))
    check(checks(c)[0] - here_c == sent,
          "the standby checked only those it sent a verdict for", (here_c, checks(c), sent))
    check(checks(a) == (here_a + unchecked, standby_a + sent) and
          verdicts(a, "accepted") - accepted_a == sent,
          "the leader checked the unchecked ones itself (password_checks_total"
          "{where=\"here\"}) and took the standby's verdict on the rest",
          ((here_a, standby_a), checks(a), sent, unchecked))
    check(all(a.api("GET", "/api/v1/me", token=t)[0] == 200 for t in tokens) and
          all(c.api("GET", "/api/v1/me", token=t)[0] == 200 for t in tokens[:3]),
          "their tokens work at the leader and through the standby")


def otp_uri_secret(uri):
    s = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    return base64.b32decode(s + "=" * (-len(s) % 8))


def check_totp(a, c):
    """tina enrols a second factor through the standby c; her logins
    through it have their password checked by c and their code by the
    leader a."""
    token = a.login("tina", "tina-password")
    status, body, _ = c.api("POST", "/api/v1/totp/enroll", token=token)
    check(status == 200 and body.get("uri", "").startswith("otpauth://totp/"),
          "a second factor is enrolled through the standby", (status, body))
    if status != 200:
        return
    secret = otp_uri_secret(body["uri"])
    step = int(time.time()) // TOTP_PERIOD
    status, body, _ = c.api("POST", "/api/v1/totp/confirm",
                            {"code": hotp(secret, step)}, token=token)
    check(status == 200, "and confirmed through it with the right code", (status, body))
    here_a, standby_a = checks(a)
    here_c = checks(c)[0]

    def login(code=None):
        body = {"username": "tina", "password": "tina-password"}
        if code is not None:
            body["totp"] = code
        status, out, _ = c.api("POST", "/api/v1/login", body, source="127.0.0.9")
        error = out.get("error", {}).get("code") if isinstance(out, dict) else None
        return status, out, error

    status, body, error = login()
    check(status == 401 and error == "totp_required",
          "a login through the standby with the right password and no code: 401 "
          "totp_required", (status, body))
    valid = {hotp(secret, s) for s in range(step - 1, step + 3)}
    wrong = next(x for x in ("%06d" % i for i in range(1000000)) if x not in valid)
    status, body, error = login(wrong)
    check(status == 401 and error == "login_failed",
          "with a wrong code: 401 login_failed", (status, body))
    status, body, error = login(hotp(secret, step + 1))
    tina = body.get("token") if isinstance(body, dict) else None
    check(status == 200 and tina, "with the right code: a token", (status, body))
    check(tina and a.api("GET", "/api/v1/me", token=tina)[0] == 200 and
          c.api("GET", "/api/v1/me", token=tina)[0] == 200,
          "which works at the leader and through the standby")
    check(checks(c)[0] == here_c + 3 and checks(a) == (here_a, standby_a + 3),
          "the standby checked the three passwords, the leader took its verdicts and "
          "checked the codes", ((here_a, standby_a), checks(a), here_c, checks(c)))


def check_health(a, c):
    """c's health check says whether it reaches its leader a, whose
    lease_time is long enough that nobody takes over while it is stopped."""
    status, body = health(c)
    check(status == 200 and body.get("role") == "standby" and body.get("leader") == a.advertised,
          "a standby that reaches the leader: health 200", (status, body))
    check(b"\npaprika_broker_leader_reachable 1\n" in c.api("GET", "/metrics", raw=True)[1],
          "and its metrics say it reaches the leader")
    t0 = time.monotonic()
    a.broker.send_signal(signal.SIGSTOP)
    try:
        down = wait_until(lambda: health(c)[0] == 503, HEALTH_FRESH + 2 * PROBE + 2,
                          interval=0.2)
        took = time.monotonic() - t0
        status, body = health(c)
        reason = body.get("reason", "") if isinstance(body, dict) else ""
        note(f"the stopped leader: {reason}")
        check(down and status == 503 and body.get("status") == "down" and
              body.get("role") == "standby" and a.advertised in reason and
              "unreachable" in reason and "within 2 s" in reason,
              f"the leader stopped (SIGSTOP, its lease still running): the standby's health "
              f"says 503 down in {took:.1f} s, with the reason in words", (status, body))
        check(b"\npaprika_broker_leader_reachable 0\n" in c.api("GET", "/metrics", raw=True)[1],
              "and its metrics say it does not reach the leader")
    finally:
        a.broker.send_signal(signal.SIGCONT)
    t0 = time.monotonic()
    up = wait_until(lambda: health(c)[0] == 200, HEALTH_FRESH + 2 * PROBE + 2, interval=0.2)
    check(up, f"the leader resumed: the standby's health says 200 again in "
          f"{time.monotonic() - t0:.1f} s", health(c))


def check_misadvertised(a, c):
    """a leads but advertises c's address: c's probes and forwards reach
    c itself, which does not lead."""
    c.stop_broker()
    a.stop_broker()
    a.conf_text = a.conf_text.replace(f"advertise = {a.advertised}\n",
                                      f"advertise = {c.advertised}\n")
    a.start_broker()
    check(leads(a), "a leader that advertises the standby's address still leads", health(a))
    c.start_broker(standby=True)
    status, body = health(c)
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    note(f"a leader advertising the standby's address: {reason}")
    check(status == 503 and body.get("status") == "down" and body.get("leader") == c.advertised
          and "answers 503: a forwarded request reached a broker that does not lead" in reason,
          "the standby whose forwards would reach itself: health 503 down, with what the "
          "'leader' answered its probe", (status, body))
    token = a.login("demo", "demo-password")
    status, body, _ = c.api("GET", "/api/v1/desktops", token=token)
    error = body.get("error", {}) if isinstance(body, dict) else {}
    check(status == 503 and error.get("code") == "standby",
          "and a request through it gets 503 standby, not forwarded round in circles",
          (status, body))


def broker_extra(d, text):
    """Adds text to d's [broker] section."""
    d.conf_text = d.conf_text.replace("[broker]\n", "[broker]\n" + text, 1)


def steps(pg, a, b, c, x):
    a.start_broker()
    check(leads(a), "the first broker on the database leads", health(a))
    b.start_broker(standby=True)
    status, body = health(b)
    check(status == 200 and body.get("role") == "standby" and body.get("leader") == a.advertised,
          "a second broker stands by: health 200, role 'standby', naming the leader's URL",
          (status, body))
    status, metrics, _ = b.api("GET", "/metrics", raw=True)
    check(status == 200 and b"\npaprika_broker_leader 0\n" in metrics and
          b'paprika_broker_host_up{host="local"} 0' in metrics,
          "its metrics say it stands by and reaches no host", (status, metrics[-300:]))
    check(b"\npaprika_broker_leader 1\n" in a.api("GET", "/metrics", raw=True)[1],
          "the leader's say it leads")
    check_forwarding(a, b)
    check_verdicts(a, b)
    check_other_ca(a, x)
    status, metrics, _ = b.api("GET", "/metrics", raw=True)
    counts = dict(re.findall(rb'paprika_broker_forwarded_requests_total\{result="(\w+)"\} (\d+)',
                             metrics))
    check(int(counts.get(b"relayed", 0)) >= 5 and int(counts.get(b"client_gone", 0)) >= 1,
          "the standby counts what it forwarded: relayed, and the stream the client left",
          counts)

    token = a.login("demo", "demo-password")
    a.api("POST", "/api/v1/desktops/office/connect?wait=1", token=token)
    boss = a.login("boss", "boss-password")
    before = sessions(a, boss)
    states = [(x["id"], x["state"]) for x in a.api("GET", "/api/v1/sessions", token=boss)[1]
              .get("sessions", [])]
    check(before is not None and len(before) == 1 and states[0][1] != "failed",
          "the leader started a session", states)

    # kill -9 of the leader.
    t0 = time.monotonic()
    a.broker.send_signal(signal.SIGKILL)
    a.broker.wait()
    a.broker = None
    status, body, headers = b.api("GET", "/api/v1/desktops", token=token)
    error = body.get("error", {}) if isinstance(body, dict) else {}
    check(status == 503 and error.get("code") == "standby" and
          "cannot reach" in error.get("message", "") and headers.get("retry-after") == str(LEASE),
          "while the dead leader's lease runs, the standby answers 503 standby in words, "
          "with Retry-After", (status, body))
    status, body = health(b)
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    note(f"the leader killed: {reason}")
    check(status == 503 and body.get("status") == "down" and a.advertised in reason and
          "unreachable" in reason,
          "and its health check says 503 down: the leader is unreachable, in words",
          (status, body))
    took = takeover_time(b, t0, 4 * LEASE)
    check(took is not None, f"after kill -9 of the leader the standby leads, in "
          f"{took if took is None else round(took, 2)} s (lease_time {LEASE} s)",
          b.broker_tail(10))
    if took is None:
        return
    note(f"takeover after kill -9: {took:.2f} s with lease_time {LEASE} s")
    check(took <= LEASE + LEASE / 3 + 3, "within lease_time and one renewal (plus start-up)", took)
    check(sessions(b, boss) == before, "with the session the dead broker started",
          (sessions(b, boss), before))
    check(b.api("GET", "/api/v1/desktops", token=token)[0] == 200,
          "and the login made on the dead broker works on the new leader")

    # Fencing: the leader paused past its lease. A helpdesk request reaches
    # it while it is stopped, on a connection opened before: the first thing
    # it reads when it resumes, before any timer of its own.
    c.start_broker(standby=True)
    offset = len(read_text(b.broker_log))
    early = http.client.HTTPSConnection("127.0.0.1", b.broker_port, context=b.tls_context(),
                                        timeout=30)
    early.connect()
    t0 = time.monotonic()
    b.broker.send_signal(signal.SIGSTOP)
    took = takeover_time(c, t0, 4 * LEASE)
    check(took is not None, "a third broker takes over from the stopped leader",
          c.broker_tail(10))
    if took is None:
        b.broker.send_signal(signal.SIGCONT)
        return
    note(f"takeover from a stopped leader: {took:.2f} s")
    sid = before[0]
    ended = wait_until(lambda: f"session {sid}" in read_text(c.broker_log) and
                       re.search(rf"session {sid} \(.*\) ended", read_text(c.broker_log)),
                       MAX_SESSION + 20)
    check(ended, "the new leader ends the session when its max_session runs out",
          c.broker_tail(10))
    holder = pg.psql("SELECT holder FROM leases WHERE name = 'leader'", "cluster")
    early.request("POST", f"/api/v1/sessions/{sid}/end",
                  headers={"Authorization": f"Bearer {boss}"})
    b.broker.send_signal(signal.SIGCONT)
    try:
        rc = b.broker.wait(timeout=3 * LEASE)
    except subprocess.TimeoutExpired:
        rc = None
    b.broker = None
    try:
        answer = early.getresponse().status
    except (OSError, http.client.HTTPException):
        answer = None
    early.close()
    check(answer is None, "the request that came in while it was stopped got no answer",
          answer)
    after = log_since(b, offset)
    check(rc == 75, "the stopped broker, resumed, exits (status 75) at once", (rc, after[-800:]))
    # By its own clock, before it asks the database anything.
    check("the lease ran out before it was renewed" in after,
          "saying its lease ran out while it was stopped", after[-800:])
    check(not re.search(r"ended|reverting|connected|purged|POST", after),
          "and it ended, reverted or purged nothing on the way out, not even the session "
          "the helpdesk asked it to end", after[-800:])
    check(pg.psql("SELECT holder FROM leases WHERE name = 'leader'", "cluster") == holder,
          "the database still names the third broker as the holder", holder)

    # A clean stop hands the lease over at once.
    b.start_broker(standby=True)
    t0 = time.monotonic()
    c.stop_broker()
    took = takeover_time(b, t0, 4 * LEASE)
    # Told at once (NOTIFY), not at its next poll a third of lease_time on.
    check(took is not None and took < 0.5 and
          "cluster: the leader gave the lease back" in read_text(b.broker_log),
          f"a leader stopped with SIGTERM gives the lease back: the standby leads in "
          f"{took if took is None else round(took, 2)} s, before its next poll",
          b.broker_tail(5))

    # A leader whose lease outlasts a stop (SIGSTOP) of a few seconds, a
    # standby with one auth thread, and a user with a second factor.
    b.stop_broker()
    a.add_user("tina", "tina-password", "staff")
    names = load_users(a, c, 12)
    totp = f"totp = optional\ntotp_key = {a.totp_key}\n"
    a.conf_text = a.conf_text.replace(f"lease_time = {LEASE}s", f"lease_time = {LONG_LEASE}s")
    broker_extra(a, totp)
    broker_extra(c, totp + "auth_threads = 1\n")
    a.start_broker()
    check(leads(a), "a broker with a longer lease_time leads", health(a))
    c.start_broker(standby=True)
    check_totp(a, c)
    check_full(a, c, names)
    check_health(a, c)
    check_misadvertised(a, c)


def main():
    paprikatest.need_built("paprika-brokerd")
    pg = pgcluster.Cluster()
    deployments = []
    try:
        pg.start()
        url = pg.create_db("cluster")
        deployments = [deployment("a", url)]
        deployments += [deployment(n, url, pki_from=deployments[0]) for n in "bc"]
        deployments[1].conf_text += "max_forwards = 2\n"
        deployments.append(deployment("x", url))
        steps(pg, *deployments)
    except Exception as e:  # a failed step is a failed test, with the logs
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        for d in deployments:
            note(d.broker_tail(15))
    finally:
        for d in deployments:
            if d.broker is not None and d.broker.poll() is None:
                d.broker.send_signal(signal.SIGCONT)
            d.stop()
        pg.cleanup()
    return paprikatest.finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
