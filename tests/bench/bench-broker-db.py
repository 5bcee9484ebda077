#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The broker's state database under a morning login storm: the same load
against one broker on SQLite and on PostgreSQL (a private cluster on this
machine), in one run, as ratios (tests/bench/README.md, "State database
benchmark").

Each of BENCH_USERS users (default 40) logs in, lists their desktops (a
static pool on libvirt's test driver) and logs out, BENCH_THREADS (default
8) at a time, all starting together: the password check (argon2id), the
token and audit writes, reads, and the logout's deletes. Connects are left
out: the test driver cannot set a SPICE password, and with real guests the
guest, not the state, sets the pace (bench-broker). Reported per database:
cycles per second, p50/p99 of each request, and for PostgreSQL the
writing transactions per cycle (transaction ids handed out, the leases'
renewals included) and the audit rows per cycle. A second broker on the
same PostgreSQL database stands by in a third run (brokers on one database
are active-passive today): it adds no throughput, and costs the leader
nothing it can measure.

Usage: top_srcdir=. top_builddir=. python3 tests/bench/bench-broker-db.py
(after make; `make bench-broker-db` does this)."""

import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from paprikatest import import_demo, top_builddir, top_srcdir  # noqa: E402
import pgcluster  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

USERS = int(os.environ.get("BENCH_USERS", "40"))
THREADS = int(os.environ.get("BENCH_THREADS", "8"))


def node_xml(n):
    domains = "\n".join(
        f"<domain type='test'>{brokerdeploy.test_domain(f'desk-{i}', f'00000000-0000-4000-8000-{i:012d}')}</domain>"
        .replace("port='5931' tlsPort='5932'", f"port='{6000 + 2 * i}' tlsPort='{6001 + 2 * i}'")
        for i in range(n))
    return f"<node>\n{domains}\n</node>\n"


def deployment(name, database):
    work = make_workdir(tempfile.mkdtemp(prefix=f"paprika-benchdb-{name}."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=lambda m: None,
                                      guests=1)
    d.make_pki()
    for i in range(USERS):
        d.add_user(f"user{i}", f"password-{i}", "staff")
    node = os.path.join(work, "node.xml")
    with open(node, "w") as f:
        f.write(node_xml(USERS))
    # One line each: a line is at most 198 characters, and the lines add up.
    assign = "\n".join(f"assign = user{i}=desk-{i}" for i in range(USERS))
    extra = f"database = {database}\n" if database else ""
    d.conf_text = d.test_driver_config(extra=extra, assign="x").replace(
        "assign = x", assign).replace(
        "uri = test:///default", f"uri = test://{node}").replace(
        "[broker]\n", "[broker]\nauth_threads = 2\n", 1)
    return d


def cycle(d, i, out):
    t0 = time.monotonic()
    token = d.login(f"user{i}", f"password-{i}")
    t1 = time.monotonic()
    status, body, _ = d.api("GET", "/api/v1/desktops", token=token)
    if status != 200:
        raise RuntimeError(f"user{i}: desktops: HTTP {status}: {body}")
    t2 = time.monotonic()
    status, body, _ = d.api("POST", "/api/v1/logout", token=token)
    if status != 200:
        raise RuntimeError(f"user{i}: logout: HTTP {status}: {body}")
    t3 = time.monotonic()
    out.append((t1 - t0, t2 - t1, t3 - t2))


def storm(d):
    """Every user's cycle, THREADS at a time; (seconds, [(login, list, logout)])."""
    results, errors, todo = [], [], list(range(USERS))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            try:
                cycle(d, i, results)
            except Exception as e:  # reported with the figures
                errors.append(str(e))
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} cycles failed: {errors[:3]}")
    return time.monotonic() - t0, results


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def pg_counters(pg):
    """Transaction ids handed out so far (one per writing transaction; the
    query's own counts one) and the audit's rows."""
    row = pg.psql("SELECT txid_current(), (SELECT count(*) FROM audit)", "bench")
    return [int(x) for x in row.split("|")]


def run_one(name, d, pg=None, start=True):
    if start:
        d.start_broker()
    # Warm: the first login pays for loading the users file.
    d.login("user0", "password-0")
    before = pg_counters(pg) if pg else None
    seconds, results = storm(d)
    after = pg_counters(pg) if pg else None
    logins, lists, logouts = zip(*results)
    row = {
        "db": name,
        "cycles/s": USERS / seconds,
        "login p50": statistics.median(logins) * 1000,
        "login p99": pct(logins, 99) * 1000,
        "desktops p50": statistics.median(lists) * 1000,
        "desktops p99": pct(lists, 99) * 1000,
        "logout p50": statistics.median(logouts) * 1000,
        "logout p99": pct(logouts, 99) * 1000,
    }
    if pg:
        # Less the second query's own id; the lease's renewals (one every
        # 2 s from each broker) stay in.
        row["writes/cycle"] = (after[0] - before[0] - 1) / USERS
        row["audit rows/cycle"] = (after[1] - before[1]) / USERS
    return row


def main():
    pg = pgcluster.Cluster()
    deployments = []
    rows = []
    try:
        pg.start()
        url = pg.create_db("bench")
        lite = deployment("sqlite", None)
        deployments.append(lite)
        rows.append(run_one("SQLite", lite))
        lite.stop()
        pgd = deployment("postgresql", url)
        deployments.append(pgd)
        rows.append(run_one("PostgreSQL", pgd, pg))
        # A standby beside it: the same load on the same one leader.
        standby = deployment("standby", url)
        deployments.append(standby)
        standby.start_broker(standby=True)
        rows.append(run_one("PostgreSQL, leader + standby", pgd, pg, start=False))
    finally:
        for d in deployments:
            d.stop()
        pg.cleanup()
    print(f"# State database benchmark: {USERS} users, {THREADS} at a time, "
          f"login + desktops + logout each, libvirt's test driver")
    cols = ["db", "cycles/s", "login p50", "login p99", "desktops p50", "desktops p99",
            "logout p50", "logout p99", "writes/cycle", "audit rows/cycle"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.1f}" if isinstance(r.get(c), float) else
                               str(r.get(c, "–")) for c in cols) + " |")
    base = rows[0]
    for r in rows[1:]:
        print(f"# {r['db']} / SQLite: cycles/s {r['cycles/s'] / base['cycles/s']:.2f}x, "
              f"login p50 {r['login p50'] / base['login p50']:.2f}x, "
              f"desktops p50 {r['desktops p50'] / base['desktops p50']:.2f}x, "
              f"logout p50 {r['logout p50'] / base['logout p50']:.2f}x, "
              f"logout p99 {r['logout p99'] / base['logout p99']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
