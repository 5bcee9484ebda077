# SPDX-License-Identifier: ISC
"""paprika-brokerd against password guesses sent at once (issue: parallel
guesses bypassed the login throttle, every one of 100 was checked).

100 wrong-password logins for one user go out on 100 connections, opened
and handshaken first so that the requests arrive together. One check per
user runs at a time and checks under way count as failures, so only the
free failures (and a few after each delay) are checked; the rest get 429
(or 503 when the queue of checks is full), never a check each. A good
user from another address logs in meanwhile and keeps getting in, and
eight users behind one clean address (an office's NAT) log in side by
side.

Then a slowloris: clients that send a header line every second (each byte
well inside any idle timeout) lose their connections when request_timeout
runs out, while the good user keeps logging in."""

import http.client
import json
import os
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, run_deployment,  # noqa: E402
                     top_builddir, top_srcdir)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

GUESSES = 100
FREE = 3
OFFICE = 8


def guess_all_at_once(d, user):
    """GUESSES wrong-password logins for user, each on its own connection,
    released together; their statuses."""
    conns = []
    for _ in range(GUESSES):
        c = http.client.HTTPSConnection("127.0.0.1", d.broker_port,
                                        context=d.tls_context(), timeout=120)
        c.connect()
        conns.append(c)
    go = threading.Barrier(GUESSES)
    statuses = [None] * GUESSES
    body = json.dumps({"username": user, "password": "not-the-password"})

    def one(i):
        try:
            go.wait()
            conns[i].request("POST", "/api/v1/login", body,
                             {"Content-Type": "application/json"})
            statuses[i] = conns[i].getresponse().status
        except (OSError, http.client.HTTPException) as e:
            statuses[i] = type(e).__name__
        finally:
            conns[i].close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(GUESSES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def office_at_nine(d):
    """OFFICE users behind one address log in side by side: a clean address
    is not throttled for checks under way."""
    statuses = [None] * OFFICE
    go = threading.Barrier(OFFICE)

    def one(i):
        go.wait()
        statuses[i] = d.api("POST", "/api/v1/login", {
            "username": f"office{i}", "password": f"office{i}-password"},
            source="127.0.0.7")[0]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(OFFICE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(statuses == [200] * OFFICE,
          f"{OFFICE} users behind one address log in at the same time", statuses)


REQUEST_TIMEOUT = 3
SLOW = 5


def slowloris(d, good_client):
    """SLOW connections trickle a login's head in, a line a second."""
    ctx = d.tls_context()
    slow = []
    for i in range(SLOW):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", d.broker_port)),
                            server_hostname="127.0.0.1")
        s.sendall(b"POST /api/v1/login HTTP/1.1\r\nHost: broker\r\n")
        slow.append(s)
    good = []
    stop = threading.Event()
    g = threading.Thread(target=good_client, args=(good, stop))
    g.start()
    t0 = time.monotonic()
    closed = {}
    try:
        while time.monotonic() - t0 < 3 * REQUEST_TIMEOUT and len(closed) < SLOW:
            for i, s in enumerate(slow):
                if i in closed:
                    continue
                try:
                    s.sendall(b"X-Slow: %d\r\n" % i)
                except (ssl.SSLError, OSError):
                    closed[i] = round(time.monotonic() - t0, 1)
            time.sleep(1)
    finally:
        stop.set()
        g.join()
        for s in slow:
            s.close()
    note(f"slow connections closed after {closed} s")
    check(len(closed) == SLOW and
          all(v <= 2 * REQUEST_TIMEOUT for v in closed.values()),
          f"{SLOW} clients sending a header line a second are cut off at "
          f"request_timeout ({REQUEST_TIMEOUT} s)", closed)
    check(good and all(st == 200 for st in good),
          "the good user logs in all along", good)
    _, metrics, _ = d.api("GET", "/metrics", raw=True)
    line = [x for x in metrics.decode().splitlines() if x.startswith(
        'paprika_broker_http_connections_refused_total{reason="request_timeout"}')]
    check(line and int(line[0].split()[-1]) >= SLOW,
          "the metrics count the connections cut off", line)


def audit_of_burst(d, count):
    """The burst's refusals are a few audit records, not a write each."""
    st, body, _ = d.api("POST", "/api/v1/login", {
        "username": "helper", "password": "helper-password"}, source="127.0.0.8")
    token = body.get("token") if st == 200 else None
    st, body, _ = d.api("GET", "/api/v1/audit?user=demo&limit=500", token=token)
    rows = body.get("audit", []) if st == 200 else []
    refused = [r for r in rows if r["result"] == "refused"]
    note(f"audit records of the burst: {Counter(r['result'] for r in rows)}")
    check(st == 200 and 1 <= len(refused) <= 3 and
          count[429] + count[503] > len(refused),
          f"{count[429] + count[503]} refusals are {len(refused)} audit "
          "record(s): one per key and window", (st, [r["detail"] for r in refused]))
    check(refused and "counted, not recorded" in refused[-1]["detail"],
          "the record says later refusals are only counted", refused[-1:])


def throttle_rows(d):
    return [r[0] for r in d.state("SELECT key FROM throttle")]


def purge_of_expired_rows(d):
    """Throttle rows that no longer count leave the database."""
    d.stop_broker()
    # login_window 2s: the burst's counts are stale once the broker is back.
    d.start_broker(extra="\n[limits]\nlogin_window = 2s\nlogin_lockout = 2s\n")
    before = throttle_rows(d)
    time.sleep(4)
    after = throttle_rows(d)
    check(any(k.startswith("user:demo") or k.startswith("addr:") for k in before)
          and not after,
          "rows of counts a window old are purged from the state", (before, after))


def run(d):
    office_at_nine(d)
    good = []
    stop = threading.Event()

    def good_client(good, stop):
        while not stop.is_set():
            st, body, _ = d.api("POST", "/api/v1/login", {
                "username": "alice", "password": "alice-password"}, source="127.0.0.5")
            good.append(st)
            time.sleep(0.2)

    g = threading.Thread(target=good_client, args=(good, stop))
    g.start()
    t0 = time.monotonic()
    try:
        statuses = guess_all_at_once(d, "demo")
    finally:
        stop.set()
        g.join()
    count = Counter(statuses)
    note(f"{GUESSES} guesses at once in {time.monotonic() - t0:.1f}s: {dict(count)}")
    check(set(count) <= {401, 429, 503},
          "every guess gets 401, 429 or 503 (nothing else, no dropped connection)",
          dict(count))
    # A few more than the free failures may be checked: each delay that
    # runs out while late requests still arrive lets one more through.
    check(count[401] <= FREE + 4,
          f"at most a handful of the {GUESSES} guesses are checked, not each",
          dict(count))
    check(count[429] + count[503] >= GUESSES - FREE - 4,
          "the others are turned away before any check", dict(count))
    check(good and all(st == 200 for st in good),
          "a good user from another address logs in all along", good)
    st, body, hdrs = d.api("POST", "/api/v1/login", {
        "username": "demo", "password": "demo-password"}, source="127.0.0.6")
    check(st == 200,
          "the real user still gets in: the burst cost one checked guess", (st, body))
    _, metrics, _ = d.api("GET", "/metrics", raw=True)
    text = metrics.decode()
    failed = [line for line in text.splitlines()
              if line.startswith('paprika_broker_logins_total{result="failed"}')]
    note(failed)
    check(failed and int(float(failed[0].split()[-1])) == count[401],
          "the broker's own count of checked wrong passwords matches", failed)
    audit_of_burst(d, count)
    # Opening the burst's 100 connections may take longer than a short
    # request_timeout on a loaded machine: the slowloris gets its own run.
    d.stop_broker()
    d.start_broker(extra=f"\n[limits]\nrequest_timeout = {REQUEST_TIMEOUT}s\n")
    slowloris(d, good_client)
    purge_of_expired_rows(d)


def deploy_and_run(d):
    d.make_pki()
    d.define_guests()
    for user, groups in (("demo", "staff"), ("alice", "staff"),
                         ("helper", "helpdesk"),
                         *((f"office{i}", "staff") for i in range(OFFICE))):
        d.add_user(user, f"{user}-password", groups)
    d.start_gateway()
    d.start_broker()
    run(d)


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-brute."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, deploy_and_run)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
