# SPDX-License-Identifier: ISC
"""paprika-brokerd's audit retention and export.

Records are written straight into the broker's state, SQLite or
PostgreSQL (old ones while it is stopped, as a restored backup would hold
them). With
audit_keep_days = 0 the broker keeps them all. With a retention of 30 days
it purges the older ones at start-up and again every audit_purge_interval,
in batches that leave the loop free (the API keeps answering while a big
purge runs), and logs how many went; newer records stay.

GET /api/v1/audit/export streams the records as JSON lines or CSV, chunked;
values with commas, quotes, newlines and a leading = + - @ come back
through Python's json and csv modules as they were (CSV with a leading '
where a spreadsheet would run a formula). A helpdesk or plain user gets 403,
no login 401. paprikactl audit export writes the same bytes from the state
file. A client that leaves in the middle of a big export costs only its own
connection. A login that cannot be saved is refused and leaves no record
of a success. The broker uses libvirt's test driver: no guest runs."""

import csv
import io
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, read_text, run_deployment,  # noqa: E402
                     top_builddir, top_srcdir, wait_until)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

DAY = 86400
NOW = int(time.time())
OLD = 2500          # records 100 days old: three purge batches
RECENT = 1200       # records a day old: three export pages
BIG = 60000         # for the client that leaves and the purge under load
COLUMNS = ["id", "time", "time_utc", "actor", "source", "action", "target",
           "result", "detail"]

# (actor, source, action, target, result, detail) with what breaks naive
# exports; a day old, so inside every range below.
NASTY = [
    ("alice", "10.0.0.1", "login", "", "failed", 'say "hi", then\nleave'),
    ("bob", "+1 555", "=cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
     '=HYPERLINK("http://evil.example/","click")'),
    ("carol,dave", "::1", "connect", "pool, \"office\"", "ok", "line1\r\nline2\n"),
]
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def broker_conf(d, keep_days, interval="2s"):
    """The deployment's [broker] with the retention, an admin group, and a
    host of libvirt's test driver instead of QEMU guests."""
    conf = d.test_driver_config(
        extra=f"audit_keep_days = {keep_days}\naudit_purge_interval = {interval}\n")
    return conf.replace("[roles]\nhelpdesk = helpdesk",
                        "[roles]\nhelpdesk = helpdesk\nadmin = admin")


def start(d, keep_days, interval="2s"):
    conf = broker_conf(d, keep_days, interval)
    d.conf_text = conf
    d.start_broker()


def insert(d, rows):
    """rows: (time, actor, source, action, target, result, detail)."""
    d.state_write("INSERT INTO audit (time, actor, source, action, target, "
                  "result, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def count(d, where="1 = 1"):
    return int(d.state(f"SELECT count(*) FROM audit WHERE {where}")[0][0])


def old_rows(n, age_days=100):
    return [(NOW - age_days * DAY - i, "olduser", "10.9.9.9", "login", "", "ok",
             f"old record {i}") for i in range(n)]


def recent_rows(n):
    return [(NOW - DAY + i % 600, "newuser", "10.1.1.1", "connect", "office",
             "ok", f"recent record {i}") for i in range(n)]


def export(d, token, query):
    return d.api("GET", f"/api/v1/audit/export?{query}", token=token, raw=True)


def check_keep_forever(d):
    insert(d, old_rows(OLD) + recent_rows(RECENT) +
           [(NOW - DAY,) + r for r in NASTY])
    start(d, 0)
    logged = wait_until(lambda: "records are kept forever" in read_text(d.broker_log), 10)
    check(logged, "audit_keep_days = 0: the broker logs that records are kept forever",
          d.broker_tail(10))
    time.sleep(3)   # more than a purge interval
    check(count(d, f"time < {NOW - 99 * DAY}") == OLD,
          f"and keeps all {OLD} records 100 days old", count(d))
    d.stop_broker()


def check_purge(d):
    start(d, 30)
    want = f"audit: purged {OLD} records older than 30 days"
    check(wait_until(lambda: want in read_text(d.broker_log), 20),
          f"audit_keep_days = 30: at start-up the broker logs '{want}'", d.broker_tail(10))
    check(count(d, f"time < {NOW - 30 * DAY}") == 0,
          "no record older than 30 days is left", count(d, f"time < {NOW - 30 * DAY}"))
    check(count(d, "actor = 'newuser'") == RECENT and
          count(d, f"time = {NOW - DAY} AND actor IN ('alice', 'bob', 'carol,dave')") == 3,
          f"the {RECENT + 3} records of a day ago are all still there",
          count(d, "actor = 'newuser'"))
    purge = [r for r in api_audit(d) if r["action"] == "audit purge"]
    check(purge and purge[0]["detail"] == f"{OLD} records older than 30 days",
          "the purge is itself in the audit log", purge[:1])

    # Every audit_purge_interval (2s here): a big backlog, in batches,
    # with the API answering all along.
    insert(d, old_rows(BIG, age_days=31))
    want = f"audit: purged {BIG} records older than 30 days"
    slowest, statuses, t_end = 0.0, set(), time.time() + 60
    while want not in read_text(d.broker_log) and time.time() < t_end:
        t0 = time.monotonic()
        statuses.add(d.api("GET", "/api/v1/health")[0])
        slowest = max(slowest, time.monotonic() - t0)
    check(want in read_text(d.broker_log),
          f"{BIG} records that aged past 30 days go at the next interval's purge "
          f"('{want}')", d.broker_tail(10))
    check(statuses == {200} and slowest < 1.0, f"the API answered within a second "
          f"all along (slowest {slowest:.3f}s)", (statuses, slowest))
    check(count(d, f"time < {NOW - 30 * DAY}") == 0 and count(d, "actor = 'newuser'") == RECENT,
          "old records gone, recent ones kept", count(d))


def api_audit(d):
    token = d.login("root-admin", "root-admin-password")
    _, body, _ = d.api("GET", "/api/v1/audit?limit=50", token=token)
    return body.get("audit", [])


def expected(d, since, until):
    """The records in range from the database, in export order."""
    rows = d.state("SELECT id, time, actor, source, action, target, result, "
                   "detail FROM audit WHERE time >= ? AND time < ? "
                   "ORDER BY time, id", (since, until))
    return [dict(zip(["id", "time", "actor", "source", "action", "target", "result",
                      "detail"], (int(r[0]), int(r[1]), *r[2:]))) for r in rows]


def utc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def defused(v):
    return "'" + v if v[:1] in FORMULA else v


def check_jsonl(d, admin, since, until):
    st, body, hdrs = export(d, admin, f"format=jsonl&since={since}&until={until}")
    check(st == 200 and hdrs.get("content-type") == "application/x-ndjson",
          "an admin exports JSON lines", (st, hdrs))
    check(hdrs.get("transfer-encoding") == "chunked",
          "streamed in chunks, not built whole", hdrs)
    lines = body.decode().split("\n")
    check(lines[-1] == "", "the export ends with a newline", lines[-1:])
    got = [json.loads(line) for line in lines[:-1]]
    want = expected(d, since, until)
    for w in want:
        w["time_utc"] = utc(w["time"])
    check(len(got) == RECENT + 3 and got == want,
          f"every record of the range comes back through json.loads as stored "
          f"({len(got)} records over several pages)",
          next((f"{g} != {w}" for g, w in zip(got, want) if g != w), len(got)))
    nasty = [g for g in got if g["actor"] in ("alice", "bob", "carol,dave")]
    check([(g["actor"], g["source"], g["action"], g["target"], g["result"], g["detail"])
           for g in nasty] == NASTY,
          "commas, quotes, newlines and leading = + - @ unchanged in JSON", nasty)


def check_csv(d, admin, since, until):
    st, body, hdrs = export(d, admin, f"format=csv&since={since}&until={until}")
    check(st == 200 and hdrs.get("content-type", "").startswith("text/csv") and
          'filename="audit.csv"' in hdrs.get("content-disposition", ""),
          "an admin exports CSV, as a file", (st, hdrs))
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    check(rows[0] == COLUMNS, "the CSV's first line names the columns", rows[:1])
    want = expected(d, since, until)
    got = [dict(zip(COLUMNS, r)) for r in rows[1:]]
    ok = len(got) == len(want) == RECENT + 3
    for g, w in zip(got, want):
        ref = {"id": str(w["id"]), "time": str(w["time"]), "time_utc": utc(w["time"]),
               **{k: defused(w[k]) for k in COLUMNS[3:]}}
        if g != ref:
            ok = False
            note(f"{g} != {ref}")
            break
    check(ok, f"every record comes back through the csv module ({len(got)} records)")
    nasty = [g for g in got if g["actor"] in ("alice", "bob", "carol,dave")]
    check([tuple(g[k] for k in COLUMNS[3:]) for g in nasty] ==
          [tuple(defused(v) for v in r) for r in NASTY],
          "commas, quotes and newlines survive; = + - @ get a leading '", nasty)
    check(nasty[1]["action"] == "'=cmd|' /C calc'!A0" and nasty[1]["source"] == "'+1 555",
          "a spreadsheet sees text, not a formula", nasty[1:2])
    return body


def check_refusals(d):
    helper = d.login("helper", "helper-password")
    demo = d.login("demo", "demo-password")
    for who, token in (("a helpdesk user", helper), ("a plain user", demo)):
        st, body, _ = export(d, token, "format=csv")
        check(st == 403 and json.loads(body)["error"]["code"] == "forbidden",
              f"{who} gets 403", (st, body[:200]))
    st, body, hdrs = export(d, None, "format=jsonl")
    check(st == 401 and hdrs.get("www-authenticate") == "Bearer",
          "without a login: 401", (st, body[:200]))
    admin = d.login("root-admin", "root-admin-password")
    for q in ("format=xml", "since=yesterday", "until=2024-02-30T00:00:00",
              "since=-5"):
        st, body, _ = export(d, admin, q)
        check(st == 400, f"'{q}' is refused with 400", (st, body[:200]))


def check_cli(d, api_csv, since, until):
    tool = os.path.join(d.build, "paprikactl")
    r = subprocess.run([tool, "audit", "export", "--config", d.broker_conf, "--format",
                        "csv", "--since", str(since), "--until", str(until)],
                       capture_output=True, timeout=60)
    check(r.returncode == 0 and r.stdout == api_csv,
          "paprikactl audit export --format csv writes the API's bytes",
          (r.returncode, r.stderr.decode()[-300:], len(r.stdout), len(api_csv)))
    # --state names a SQLite file; on PostgreSQL --config above is the way.
    if not brokerdeploy.on_postgresql():
        r = subprocess.run([tool, "audit", "export", "--state",
                            os.path.join(d.work, "broker.db"), "--since", utc(since)[:10]],
                           capture_output=True, text=True, timeout=60)
        lines = [json.loads(x) for x in r.stdout.splitlines()]
        check(r.returncode == 0 and len(lines) >= RECENT + 3 and
              all(x["time"] >= since - DAY for x in lines),
              "--state and a date for --since: JSON lines from that day on",
              (r.returncode, r.stderr[-300:], len(lines)))
    r = subprocess.run([tool, "audit", "export", "--format", "pdf", "--state", "x"],
                       capture_output=True, text=True)
    check(r.returncode == 2 and "usage" in r.stderr, "a bad --format shows the usage",
          r.stderr)


def check_leaver(d, admin):
    """A client reads the start of a big export and closes: the broker cuts
    that stream and goes on serving."""
    insert(d, recent_rows(BIG))
    ctx = ssl.create_default_context(cafile=os.path.join(d.pki, "ca", "ca-cert.pem"))
    raw = socket.create_connection(("127.0.0.1", d.broker_port), timeout=30)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(f"GET /api/v1/audit/export?format=jsonl HTTP/1.1\r\nHost: x\r\n"
              f"Authorization: Bearer {admin}\r\n\r\n".encode())
    first = s.recv(4096)
    s.close()
    check(first.startswith(b"HTTP/1.1 200"), "a big export starts", first[:100])
    cut = wait_until(lambda: re.search(r"audit: export to 127\.0\.0\.1 cut after \d+ records",
                                     read_text(d.broker_log)), 15)
    check(cut, "the broker notices the client left and ends that export",
          d.broker_tail(8))
    st, body, _ = d.api("GET", "/api/v1/health")
    check(st == 200, "and goes on serving", st)
    st, body, _ = export(d, admin, "format=jsonl")
    n = body.count(b"\n")
    check(st == 200 and n == count(d), f"a whole export of {n} records still works",
          (st, n, count(d)))
    check(re.search(r"GET /api/v1/audit/export 200 \d{7,} bytes", read_text(d.broker_log)),
          "the access log has one line for it with its size", d.broker_tail(5))


def check_crash(d):
    """A login that was answered is committed, in one transaction with its
    audit record: both survive the broker killed (SIGKILL) right after."""
    ok = "action = 'login' AND actor = 'demo' AND result = 'ok'"
    before = count(d, ok)
    token = d.login("demo", "demo-password")
    d.stop_broker(signal.SIGKILL)
    after = count(d, ok)
    d.start_broker()
    st, body, _ = d.api("GET", "/api/v1/me", token=token)
    check(st == 200 and after == before + 1,
          "a login answered just before a kill -9 keeps its token and its "
          "audit record", (st, body, before, after))


def check_unsaved(d):
    """A login the broker cannot write down is refused in words, leaves no
    audit record of a success, and costs only that login."""
    ok = "action = 'login' AND actor = 'demo' AND result = 'ok'"
    before = count(d, ok)
    if brokerdeploy.on_postgresql():
        d.state_write("CREATE FUNCTION refuse_tokens() RETURNS trigger LANGUAGE plpgsql "
                      "AS $$ BEGIN RAISE EXCEPTION 'the test refuses it'; END $$")
        d.state_write("CREATE TRIGGER refuse_tokens BEFORE INSERT ON tokens "
                      "FOR EACH ROW EXECUTE FUNCTION refuse_tokens()")
    else:
        d.state_write("CREATE TRIGGER refuse_tokens BEFORE INSERT ON tokens "
                      "BEGIN SELECT RAISE(ABORT, 'the test refuses it'); END")
    st, body, _ = d.api("POST", "/api/v1/login",
                        {"username": "demo", "password": "demo-password"})
    err = body.get("error", {}) if isinstance(body, dict) else {}
    check(st == 500 and err.get("code") == "state"
          and err.get("message") == "the broker cannot save the login"
          and count(d, ok) == before,
          "a login whose token cannot be saved: 500 in words, and no audit record of a "
          "login that did not happen", (st, body, before, count(d, ok)))
    d.state_write("DROP TRIGGER refuse_tokens" +
                  (" ON tokens" if brokerdeploy.on_postgresql() else ""))
    token = d.login("demo", "demo-password")
    st, _, _ = d.api("GET", "/api/v1/me", token=token)
    check(st == 200 and count(d, ok) == before + 1,
          "once the state takes writes again, the next login works", st)


def steps(d):
    d.make_pki()
    for user, groups in (("demo", "staff"), ("helper", "helpdesk"),
                         ("root-admin", "helpdesk,admin")):
        d.add_user(user, f"{user}-password", groups)
    # A first start makes the state and its schema; then the records.
    start(d, 0)
    d.stop_broker()
    check_keep_forever(d)
    check_purge(d)
    admin = d.login("root-admin", "root-admin-password")
    since, until = NOW - 2 * DAY, NOW - DAY + 600
    check_jsonl(d, admin, since, until)
    api_csv = check_csv(d, admin, since, until)
    check_refusals(d)
    check_cli(d, api_csv, since, until)
    check_leaver(d, admin)
    check_unsaved(d)
    check_crash(d)


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-audit."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, steps)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
