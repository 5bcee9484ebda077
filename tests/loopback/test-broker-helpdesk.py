# SPDX-License-Identifier: ISC
"""paprika-brokerd's helpdesk routes for the console, on libvirt's test
driver: a user lookup (sessions, desktops, recent logins with their
addresses, throttle and lockout state), unlocking a locked-out user, the
audit search by user, action, target, result and time with paging, the
export with the same filters, and each pool's capacity and use (a desktop
leaves out the keys it has no value for). A user-role login gets 403 on
every one of them.

Screenshots fill no audit log: a board refreshing thumbnails fetches each
desktop's screen every 20 s, and within audit_screenshot_window (a short
one here) the same viewer, address and screen get one record, which counts
the fetches; a new record after the window, and one for another viewer, or
another address, or another screen."""

import csv
import io
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, run_deployment,  # noqa: E402
                     top_builddir, top_srcdir)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

ROUTES = [("GET", "/api/v1/users/demo"), ("POST", "/api/v1/users/demo/unlock"),
          ("GET", "/api/v1/audit?user=demo"), ("GET", "/api/v1/pools"),
          ("GET", "/api/v1/events"), ("GET", "/api/v1/sessions"),
          ("POST", "/api/v1/users/demo/logout"),
          ("POST", "/api/v1/pools/office/desktops/test/reset"),
          ("GET", "/api/v1/pools/office/desktops/test/screenshot"),
          ("GET", "/api/v1/audit/export?format=csv")]


def lockout(d, helper):
    for _ in range(3):
        d.api("POST", "/api/v1/login", {"username": "demo", "password": "wrong"},
              source="127.0.0.5")
    st, body, _ = d.api("POST", "/api/v1/login",
                        {"username": "demo", "password": "demo-password"})
    check(st == 429, "after 3 failures demo is locked out, right password or not", (st, body))
    st, u, _ = d.api("GET", "/api/v1/users/demo", token=helper)
    check(st == 200 and u["throttle"]["locked"] and u["throttle"]["failures"] >= 3 and
          u["throttle"]["wait"] > 0,
          "the lookup shows the lockout, its failures and the wait", (st, u))
    failed = [r for r in u.get("logins", []) if r["result"] == "failed"]
    check(len(failed) >= 3 and all(r["source"] == "127.0.0.5" for r in failed),
          "and the failed logins with their address", u.get("logins"))
    check(any(r["result"] == "ok" and r["source"] == "127.0.0.1" for r in u["logins"]),
          "and the good one before them", u.get("logins"))
    check(u["desktops"] and u["desktops"][0]["name"] == "test",
          "and the desktop assigned to demo", u.get("desktops"))
    st, body, _ = d.api("POST", "/api/v1/users/demo/unlock", token=helper)
    check(st == 200 and body["unlocked"] and body["failures_cleared"] >= 3,
          "unlock answers with the failures it forgot", (st, body))
    st, u, _ = d.api("GET", "/api/v1/users/demo", token=helper)
    check(not u["throttle"]["locked"] and u["throttle"]["failures"] == 0,
          "the lookup no longer shows a lockout", u["throttle"])
    st, body, _ = d.api("POST", "/api/v1/login",
                        {"username": "demo", "password": "demo-password"})
    check(st == 200, "demo logs in again", (st, body))
    st, body, _ = d.api("GET", "/api/v1/audit?action=unlock&target=demo", token=helper)
    check(st == 200 and len(body["audit"]) == 1 and body["audit"][0]["actor"] == "helper",
          "the unlock is audited, found by action and target", body)
    st, body, _ = d.api("POST", "/api/v1/users/-x/unlock", token=helper)
    check(st == 400, "a bad user name is a 400", (st, body))


def search(d, admin):
    t0 = int(time.time()) - 5
    st, body, _ = d.api("GET", "/api/v1/audit?user=demo&action=login&result=failed",
                        token=admin)
    recs = body.get("audit", [])
    check(st == 200 and len(recs) >= 3 and all(
        r["actor"] == "demo" and r["action"] == "login" and r["result"] == "failed"
        for r in recs), "search by user, action and result", body)
    st, page1, _ = d.api("GET", "/api/v1/audit?user=demo&limit=2", token=admin)
    check(len(page1["audit"]) == 2 and "next_before" in page1,
          "a full page says where the next begins", page1)
    st, page2, _ = d.api("GET", f"/api/v1/audit?user=demo&limit=2&before={page1['next_before']}",
                         token=admin)
    ids = [r["id"] for r in page1["audit"] + page2["audit"]]
    check(page2["audit"] and ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids),
          "the next page continues, newest first, no record twice", ids)
    st, body, _ = d.api("GET", f"/api/v1/audit?user=demo&until={t0 - 3600}", token=admin)
    check(st == 200 and body["audit"] == [], "a time range before any record finds none", body)
    st, body, _ = d.api("GET", "/api/v1/audit?since=yesterday", token=admin)
    check(st == 400, "a bad time is a 400", (st, body))
    st, raw, hdrs = d.api("GET", "/api/v1/audit/export?format=csv&user=demo&result=failed",
                          token=admin, raw=True)
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    check(st == 200 and len(rows) == len(recs) and
          all(r["actor"] == "demo" and r["result"] == "failed" for r in rows),
          "the CSV export takes the same filters and parses", (st, rows[:2]))
    st, raw, hdrs = d.api("GET", "/api/v1/audit/export?format=jsonl&action=unlock",
                          token=admin, raw=True)
    lines = [json.loads(x) for x in raw.decode().splitlines()]
    check(st == 200 and len(lines) == 1 and lines[0]["target"] == "demo",
          "the JSON-lines export too", lines)


def pools(d, helper):
    st, body, _ = d.api("GET", "/api/v1/pools", token=helper)
    p = body.get("pools", [{}])[0]
    check(st == 200 and p.get("name") == "office" and p.get("capacity") == 1 and
          p.get("kind") == "static" and "broken" in p and "gpus_in_use" in p,
          "the pools' capacity and use", body)
    desk = [g for g in body.get("desktops", []) if g["name"] == "test"]
    check(desk and "error" not in desk[0] and desk[0].get("user") == "demo" and
          None not in desk[0].values(),
          "a desktop leaves out the keys it has no value for (no \"error\": null)", desk)


WINDOW = 4      # audit_screenshot_window in this test's broker, seconds
SHOT = "/api/v1/pools/office/desktops/test/screenshot"


def shot_records(d, admin):
    _, body, _ = d.api("GET", "/api/v1/audit?action=screenshot&limit=100", token=admin)
    return body.get("audit", [])


def fetches(r):
    """How many fetches a screenshot record stands for (its detail)."""
    m = re.search(r"fetched (\d+) times", r["detail"])
    return int(m.group(1)) if m else 1


def screenshots(d, helper, admin):
    before = {r["id"] for r in shot_records(d, admin)}
    start = time.monotonic()
    codes = [d.api("GET", SHOT, token=helper, raw=True)[0] for _ in range(6)]
    took = time.monotonic() - start
    new = [r for r in shot_records(d, admin) if r["id"] not in before]
    note(f"6 screenshots in {took:.2f}s: {codes}")
    check(took >= WINDOW or (len(new) == 1 and fetches(new[0]) == 6 and
                             new[0]["actor"] == "helper" and new[0]["target"] == "test"),
          "6 screenshots of one screen by one viewer within the window: one record, "
          "counting 6 fetches", new)
    check(sum(fetches(r) for r in new) == 6, "the records count every fetch", new)
    first = new[0]["id"] if new else 0
    d.api("GET", SHOT, token=admin, raw=True)
    d.api("GET", SHOT, token=helper, raw=True, source="127.0.0.9")
    d.api("GET", SHOT + "?screen=1", token=helper, raw=True)
    new = [r for r in shot_records(d, admin) if r["id"] > first]
    got = sorted((r["actor"], r["source"], r["detail"].split(";")[0]) for r in new)
    check(got == [("boss", "127.0.0.1", "pool office, screen 0"),
                  ("helper", "127.0.0.1", "pool office, screen 1"),
                  ("helper", "127.0.0.9", "pool office, screen 0")],
          "another viewer, another address, another screen: a record each", got)
    # The first record's window ends WINDOW seconds after its fetch.
    time.sleep(max(0.0, start + WINDOW + 1 - time.monotonic()))
    d.api("GET", SHOT, token=helper, raw=True)
    new = [r for r in shot_records(d, admin) if r["id"] > first]
    again = [r for r in new if r["actor"] == "helper" and r["source"] == "127.0.0.1" and
             r["detail"] == "pool office, screen 0"]
    check(len(again) == 1, "after the window, the same viewer's next fetch: a new record", new)


def refused(d, demo):
    got = [(m, path, d.api(m, path, token=demo)[0]) for m, path in ROUTES]
    check(all(st == 403 for _, _, st in got), "a user-role login: 403 on every helpdesk route",
          [g for g in got if g[2] != 403])


def steps(d):
    d.start_helpdesk_broker("login_fail_delay = 0\nlogin_delay = 1s\n",
                            broker=f"audit_screenshot_window = {WINDOW}s\n")
    demo = d.login("demo", "demo-password")
    helper = d.login("helper", "helper-password")
    admin = d.login("boss", "boss-password")
    refused(d, demo)
    lockout(d, helper)
    search(d, admin)
    d.api("POST", "/api/v1/desktops/office/connect?wait=1", token=demo)
    pools(d, helper)
    screenshots(d, helper, admin)


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-helpdesk."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, steps)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
