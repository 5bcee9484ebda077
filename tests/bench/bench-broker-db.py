#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The broker's state database under a morning storm: the same load against
one broker on SQLite, one on PostgreSQL (a private cluster on this machine)
and two brokers sharing that PostgreSQL database, in one run, as ratios
(tests/bench/README.md, "State database benchmark").

Login storm: each of BENCH_USERS users (default 40) logs in, lists their
desktops (a static pool on libvirt's test driver) and logs out,
BENCH_THREADS (default 8) at a time, all starting together: the password
check (argon2id), the token and audit writes, reads, and the logout's
deletes.

Connect storm: BENCH_GUESTS (default 4) small real guests (the demo's boot
sector under the embedded QEMU driver, running, each user's session on its
own guest), and each user connects BENCH_CONNECTS times (default 10) to
their running desktop, BENCH_THREADS at a time: the broker's work on a
connect (a new SPICE password on the guest through libvirt, a ticket, the
session's writes), with the guest doing next to nothing.

With two brokers, the client threads take turns between them: the leader
does the work and the other forwards what it is sent to the leader
(docs/broker.md, "Several brokers"). Reported per configuration: cycles or
connects per second, p50/p99 of each request, and on PostgreSQL the writing
transactions per cycle (transaction ids handed out, the leases' renewals
included), the audit rows per cycle and the database's CPU time per cycle
(its server processes' user + system time).

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
GUESTS = int(os.environ.get("BENCH_GUESTS", "4"))
CONNECTS = int(os.environ.get("BENCH_CONNECTS", "10"))


def node_xml(n):
    domains = "\n".join(
        f"<domain type='test'>{brokerdeploy.test_domain(f'desk-{i}', f'00000000-0000-4000-8000-{i:012d}')}</domain>"
        .replace("port='5931' tlsPort='5932'", f"port='{6000 + 2 * i}' tlsPort='{6001 + 2 * i}'")
        for i in range(n))
    return f"<node>\n{domains}\n</node>\n"


def cluster_lines(database, d):
    """The [broker] lines of a broker on database; on PostgreSQL it says
    where the others reach it, should it lead."""
    if not database:
        return ""
    return (f"database = {database}\nadvertise = https://127.0.0.1:{d.broker_port}\n"
            f"cluster_ca = {d.pki}/ca/ca-cert.pem\n")


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
    d.conf_text = d.test_driver_config(extra=cluster_lines(database, d), assign="x").replace(
        "assign = x", assign).replace(
        "uri = test:///default", f"uri = test://{node}").replace(
        "[broker]\n", "[broker]\nauth_threads = 2\n", 1)
    return d


def second_broker(d, name):
    """Another broker with d's configuration, PKI and users, on a port of its
    own: beside d on the same database it stands by and forwards."""
    work = make_workdir(tempfile.mkdtemp(prefix=f"paprika-benchdb-{name}."))
    e = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=lambda m: None,
                                      guests=1)
    e.pki = d.pki
    e.conf_text = d.conf_text.replace(
        f"listen = 127.0.0.1:{d.broker_port}", f"listen = 127.0.0.1:{e.broker_port}").replace(
        f"advertise = https://127.0.0.1:{d.broker_port}",
        f"advertise = https://127.0.0.1:{e.broker_port}")
    return e


def login_cycle(d, i, out):
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


def connect_cycle(d, token, out):
    t0 = time.monotonic()
    status, body, _ = d.api("POST", "/api/v1/desktops/office/connect", token=token)
    if status != 200:
        raise RuntimeError(f"connect: HTTP {status}: {body}")
    out.append((time.monotonic() - t0,))


def storm(brokers, jobs, run):
    """run(broker, job, results) for every job, THREADS at a time, thread k
    sending to brokers[k % len]; (seconds, results)."""
    results, errors, todo = [], [], list(jobs)
    lock = threading.Lock()

    def worker(d):
        while True:
            with lock:
                if not todo:
                    return
                job = todo.pop()
            try:
                run(d, job, results)
            except Exception as e:  # reported with the figures
                errors.append(str(e))
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(brokers[k % len(brokers)],))
               for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed: {errors[:3]}")
    return time.monotonic() - t0, results


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def pg_cpu(pg):
    """Seconds of CPU the cluster's processes have run: the postmaster and
    its live children from the scheduler's nanoseconds (/proc/PID/schedstat),
    and the children that ended (a broker's connection closed) from the
    postmaster's cutime and cstime."""
    with open(os.path.join(pg.data, "postmaster.pid")) as f:
        master = int(f.readline())
    with open(f"/proc/{master}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total = (int(fields[13]) + int(fields[14])) * 1e9 / os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if int(pid) != master and ppid != master:
                continue
            with open(f"/proc/{pid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def pg_counters(pg):
    """Transaction ids handed out so far (one per writing transaction; the
    query's own counts one), the audit's rows and the cluster's CPU."""
    row = pg.psql("SELECT txid_current(), (SELECT count(*) FROM audit)", pg.bench_db)
    return [int(x) for x in row.split("|")] + [pg_cpu(pg)]


def measured(name, brokers, pg, jobs, run, names):
    """One storm with its figures: a row of the table."""
    before = pg_counters(pg) if pg else None
    seconds, results = storm(brokers, jobs, run)
    after = pg_counters(pg) if pg else None
    row = {"db": name, "brokers": len(brokers), "per s": len(jobs) / seconds}
    for col, values in zip(names, zip(*results)):
        row[f"{col} p50"] = statistics.median(values) * 1000
        row[f"{col} p99"] = pct(values, 99) * 1000
    if pg:
        # Less the second query's own id; the leases' renewals (one every
        # 2 s from each broker) stay in.
        row["writes/op"] = (after[0] - before[0] - 1) / len(jobs)
        row["audit rows/op"] = (after[1] - before[1]) / len(jobs)
        row["db cpu ms/op"] = (after[2] - before[2]) * 1000 / len(jobs)
    return row


def login_storm(name, brokers, pg=None):
    # Warm: the first login pays for loading the users file.
    for d in brokers:
        d.login("user0", "password-0")
    return measured(name, brokers, pg, range(USERS), login_cycle,
                    ("login", "desktops", "logout"))


def connect_storm(name, brokers, pg=None):
    """Each user logs in and waits for their desktop (started or found
    running), then the storm of connects to it."""
    tokens = []
    for i in range(GUESTS):
        token = brokers[0].login(f"user{i}", f"password-{i}")
        brokers[0].connect(token, timeout=300)
        tokens.append(token)
    return measured(name, brokers, pg, tokens * CONNECTS, connect_cycle, ("connect",))


def guests_deployment():
    """GUESTS demo guests running their desktop, a gateway, users user0...
    in the shared pool office; the broker is started per configuration."""
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-benchdb-guests."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=lambda m: None,
                                      guests=GUESTS)
    d.make_pki()
    for i in range(GUESTS):
        d.add_user(f"user{i}", f"password-{i}", "staff")
    d.define_guests(running=True)
    d.start_gateway()
    return d


def table(title, rows, cols):
    print(title)
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.1f}" if isinstance(r.get(c), float) else
                               str(r.get(c, "–")) for c in cols) + " |")
    base = rows[0]
    for r in rows[1:]:
        print(f"# {r['db']}, {r['brokers']} broker(s) / SQLite: " + ", ".join(
            f"{c} {r[c] / base[c]:.2f}x" for c in cols[2:] if c in base and base[c]))


def main():
    pg = pgcluster.Cluster()
    deployments = []
    logins, connects = [], []
    try:
        pg.start()
        pg.bench_db = "bench"
        url = pg.create_db("bench")
        lite = deployment("sqlite", None)
        deployments.append(lite)
        lite.start_broker()
        logins.append(login_storm("SQLite", [lite]))
        lite.stop()
        one = deployment("postgresql", url)
        deployments.append(one)
        one.start_broker()
        logins.append(login_storm("PostgreSQL", [one], pg))
        two = second_broker(one, "second")
        deployments.append(two)
        two.start_broker(standby=True)
        logins.append(login_storm("PostgreSQL", [one, two], pg))
        two.stop()
        one.stop()

        gd = guests_deployment()
        deployments.append(gd)
        gd.conf_text = gd.broker_config()
        gd.start_broker()
        connects.append(connect_storm("SQLite", [gd]))
        gd.stop_broker()
        pg.bench_db = "connects"
        url = pg.create_db("connects")
        gd.conf_text = gd.broker_config(extra=cluster_lines(url, gd))
        gd.start_broker()
        connects.append(connect_storm("PostgreSQL", [gd], pg))
        gd2 = second_broker(gd, "second-guests")
        deployments.append(gd2)
        gd2.start_broker(standby=True)
        connects.append(connect_storm("PostgreSQL", [gd, gd2], pg))
    finally:
        # Standbys first: none takes over from a leader stopped after them.
        for d in reversed(deployments):
            d.stop()
        pg.cleanup()
    table(f"# Login storm: {USERS} users, {THREADS} at a time, login + desktops + logout "
          "each, libvirt's test driver",
          logins, ["db", "brokers", "per s", "login p50", "login p99", "desktops p50",
                   "desktops p99", "logout p50", "logout p99", "writes/op",
                   "audit rows/op", "db cpu ms/op"])
    print()
    table(f"# Connect storm: {GUESTS} users on running demo guests ({gd.virt}), "
          f"{CONNECTS} connects each, {THREADS} at a time",
          connects, ["db", "brokers", "per s", "connect p50", "connect p99", "writes/op",
                     "audit rows/op", "db cpu ms/op"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
