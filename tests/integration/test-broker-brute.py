"""paprika-brokerd against password guesses sent at once (issue: parallel
guesses bypassed the login throttle, every one of 100 was checked).

100 wrong-password logins for one user go out on 100 connections, opened
and handshaken first so that the requests arrive together. One check per
user runs at a time and checks under way count as failures, so only the
free failures (and a few after each delay) are checked; the rest get 429
(or 503 when the queue of checks is full), never a check each. A good
user from another address logs in meanwhile and keeps getting in, and
eight users behind one clean address (an office's NAT) log in side by
side."""

import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from testlib import check, finish, import_demo, note, top_builddir, top_srcdir  # noqa: E402

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


def run(d):
    office_at_nine(d)
    good = []
    stop = threading.Event()

    def good_client():
        while not stop.is_set():
            st, body, _ = d.api("POST", "/api/v1/login", {
                "username": "alice", "password": "alice-password"}, source="127.0.0.5")
            good.append(st)
            time.sleep(0.2)

    g = threading.Thread(target=good_client)
    g.start()
    t0 = time.time()
    try:
        statuses = guess_all_at_once(d, "demo")
    finally:
        stop.set()
        g.join()
    count = Counter(statuses)
    note(f"{GUESSES} guesses at once in {time.time() - t0:.1f}s: {dict(count)}")
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


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-brute."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    try:
        d.make_pki()
        d.define_guests()
        for user, groups in (("demo", "staff"), ("alice", "staff"),
                             *((f"office{i}", "staff") for i in range(OFFICE))):
            d.add_user(user, f"{user}-password", groups)
        d.start_gateway()
        d.start_broker()
        run(d)
    except Exception as e:  # a failed step is a failed test, with the log
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        note(d.broker_tail(40))
    finally:
        d.stop()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
