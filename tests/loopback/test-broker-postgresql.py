#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""paprika-brokerd's state on PostgreSQL (database = postgresql://...), on a
private cluster this test starts itself (tests/lib/pgcluster.py: initdb and
pg_ctl, SCRAM passwords from a passfile, no system service).

- The broker core's unit tests (test-session, test-pool, test-api,
  test-gpualloc: sessions, pools, spares, clones, restarts and GPU
  allocation on fake hosts, with their real state) pass on PostgreSQL, each
  test on a database of its own, as they pass on SQLite in the unit suite.
- A real broker (libvirt's test driver) keeps its logins and audit in
  PostgreSQL: the token is a row there, a restart keeps the login.
- Two brokers started at once on one empty database migrate it once, and
  one of them leads while the other stands by (test-broker-cluster goes
  on from there). PostgreSQL restarted under both, the standby connects
  again and still hears a lease given back at once (LISTEN/NOTIFY).
- paprika-brokerd --migrate-from sqlite:PATH copies a real broker's SQLite
  state: its login keeps working on PostgreSQL, its audit records are there
  and a new record's id follows theirs; a second copy into the database,
  now not empty, is refused, as is a source that is not SQLite.
- A wrong password and a server that is down stop the broker at start with
  the database named and no password anywhere in the log; a server
  restarted under a running broker costs no request after it."""

import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, read_text, top_builddir,  # noqa: E402
                         top_srcdir)
import pgcluster  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

UNIT_TESTS = ("test-session", "test-pool", "test-api", "test-gpualloc")


def unit_tests_on(pg):
    env = dict(pg.env(), PAPRIKA_TEST_PG=pg.base(), CMOCKA_MESSAGE_OUTPUT="TAP")
    for name in UNIT_TESTS:
        path = os.path.join(top_builddir, "tests", "unit", name)
        paprikatest.need_built(os.path.join("tests", "unit", name))
        before = pg.psql("SELECT count(*) FROM pg_stat_database")
        r = subprocess.run([path], env=env, capture_output=True, text=True, timeout=600)
        out = r.stdout + r.stderr
        passed = re.findall(r"(?m)^ok \d+ ", r.stdout)
        failed = re.findall(r"(?m)^not ok \d+ .*", r.stdout)
        check(r.returncode == 0 and passed and not failed,
              f"unit {name}: {len(passed)} tests pass on PostgreSQL",
              failed or out[-3000:])
        # Each test made its database and dropped it: none is left over.
        after = pg.psql("SELECT count(*) FROM pg_stat_database")
        check(after == before, f"unit {name}: every test's database was dropped",
              pg.psql("SELECT string_agg(datname, ' ') FROM pg_database"))


def deployment(prefix, pg_url):
    work = make_workdir(tempfile.mkdtemp(prefix=prefix))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    d.make_pki()
    d.add_user("demo", "demo-password", "staff")
    d.add_user("boss", "boss-password", "helpdesk,admin")
    set_database(d, pg_url)
    return d


def set_database(d, url):
    # A long lease: a standby's poll (a third of it) is then slow enough to
    # tell from a NOTIFY.
    extra = f"database = {url}\nlease_time = 15s\n" if url else ""
    d.conf_text = d.test_driver_config(extra=extra).replace(
        "[roles]\nhelpdesk = helpdesk", "[roles]\nhelpdesk = helpdesk\nadmin = admin")


def desktops(d, token):
    return d.api("GET", "/api/v1/desktops", token=token)[0]


def check_one_broker(pg):
    url = pg.create_db("one")
    d = deployment("paprika-pg1.", url)
    try:
        d.start_broker()
        token = d.login("demo", "demo-password")
        check(desktops(d, token) == 200, "a broker on PostgreSQL: a login works")
        check(pg.psql("SELECT count(*) FROM tokens WHERE \"user\" = 'demo'", "one") == "1",
              "the login is a row of PostgreSQL's tokens table")
        check(not os.path.exists(os.path.join(d.work, "broker.db")),
              "and no SQLite file was made")
        logins = pg.psql("SELECT count(*) FROM audit WHERE action = 'login' AND "
                         "actor = 'demo'", "one")
        check(logins == "1", "the login is in the audit table", logins)
        check(pg.psql("SELECT version FROM paprika_schema", "one") != "",
              "the schema's version is recorded")
        d.stop_broker()
        d.start_broker()
        check(desktops(d, token) == 200, "after a restart the login still works")

        # The server restarts under the running broker.
        pg.stop("fast")
        pg.start_again()
        check(desktops(d, token) == 200,
              "after PostgreSQL restarts, the broker's next request works (it reconnects)",
              d.broker_tail(5))
        check("the connection was lost; connecting again" in read_text(d.broker_log),
              "and the broker logged that it connected again", d.broker_tail(5))
    finally:
        d.stop()


def check_two_brokers(pg):
    url = pg.create_db("two")
    a = deployment("paprika-pg2a.", url)
    b = deployment("paprika-pg2b.", url)
    try:
        errors = []

        def start(d):
            try:
                d.start_broker(wait=30, standby=None)
            except Exception as e:  # reported below
                errors.append(e)
        # Started together: which one leads is a race, but one does.
        threads = [threading.Thread(target=start, args=(d,)) for d in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        roles = sorted(health_status(d) for d in (a, b))
        check(roles == ["standby", "up"],
              "two brokers started at once on one empty database: one leads, one stands by",
              (roles, errors))
        migrated = [read_text(d.broker_log).count("schema migrated to version 1\n")
                    for d in (a, b)]
        check(sorted(migrated) == [0, 1],
              "the schema was migrated once, by one of them", migrated)
        notify_after_restart(pg, a, b)
    finally:
        a.stop()
        b.stop()


def notify_after_restart(pg, a, b):
    """PostgreSQL restarts under a leader and a standby: the standby's
    connection is made again, and its LISTEN with it, so a lease given back
    afterwards still wakes it at once rather than at its next poll (every
    third of lease_time, 5 s here)."""
    leader, standby = (a, b) if health_status(a) == "up" else (b, a)
    since = os.path.getsize(standby.broker_log)
    pg.stop("fast")
    pg.start_again()
    check(paprikatest.wait_until(lambda: "the connection was lost; connecting again" in
                                 read_text(standby.broker_log)[since:], 15),
          "PostgreSQL restarted: the standby connects again", standby.broker_tail(5))
    time.sleep(0.5)
    t0 = time.monotonic()
    leader.stop_broker()
    took = paprikatest.wait_until(
        lambda: health_status(standby) == "up" and max(time.monotonic() - t0, 1e-6), 15,
        interval=0.02)
    note(f"after PostgreSQL's restart, a lease given back: the standby leads in {took} s")
    check("cluster: the leader gave the lease back" in read_text(standby.broker_log)[since:],
          "after PostgreSQL's restart the standby still hears a lease given back (NOTIFY)",
          standby.broker_tail(5))
    check(took and took < 2.5, f"and leads in {took and round(took, 2)} s, not at its "
          "next poll", took)


def health_status(d):
    try:
        return d.api("GET", "/api/v1/health")[1].get("status")
    except (OSError, AttributeError):
        return None


def check_migrate_from(pg):
    d = deployment("paprika-pgm.", None)
    try:
        d.start_broker()
        token = d.login("demo", "demo-password")
        admin = d.login("boss", "boss-password")
        d.stop_broker()
        sqlite_path = os.path.join(d.work, "broker.db")

        def sqlite(sql):
            return subprocess.run(["sqlite3", sqlite_path, sql], capture_output=True,
                                  text=True, timeout=30).stdout.strip()
        records, last_id = sqlite("SELECT count(*) FROM audit"), sqlite("SELECT max(id) FROM audit")

        url = pg.create_db("moved")
        set_database(d, url)
        with open(d.broker_conf, "w") as f:
            f.write(d.conf_text)
        brokerd = os.path.join(top_builddir, "paprika-brokerd")
        r = subprocess.run([brokerd, "-f", d.broker_conf, "--migrate-from",
                            f"sqlite:{sqlite_path}"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and re.search(r"^\d+ rows copied from .*broker\.db to "
                                              r"postgresql://paprika@127\.0\.0\.1:\d+/moved$",
                                              r.stdout.strip()),
              "--migrate-from copies the SQLite state and says how many rows, and where",
              r.stdout + r.stderr)
        moved = (pg.psql("SELECT count(*) FROM audit", "moved"),
                 pg.psql("SELECT max(id) FROM audit", "moved"))
        check(int(records) > 0 and moved == (records, last_id),
              f"the {records} audit records came across with their ids", (moved, records, last_id))
        check(pg.psql("SELECT count(*) FROM tokens", "moved") == sqlite("SELECT count(*) FROM tokens"),
              "so did the logins")
        d.start_broker()
        check(desktops(d, token) == 200, "the login made on SQLite works on PostgreSQL")
        status, body, _ = d.api("GET", "/api/v1/audit?limit=500", token=admin)
        ids = [e["id"] for e in body.get("audit", [])] if status == 200 else []
        check(int(last_id) in ids, "the broker's audit API lists the records made on SQLite",
              (status, ids[:5]))
        d.login("demo", "demo-password")
        newest = pg.psql("SELECT max(id) FROM audit", "moved")
        check(int(newest) > int(last_id), "a new audit record's id follows theirs",
              (newest, last_id))
        d.stop_broker()

        r = subprocess.run([brokerd, "-f", d.broker_conf, "--migrate-from",
                            f"sqlite:{sqlite_path}"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and "already holds a state" in r.stderr and
              "migrate only into an empty database" in r.stderr,
              "a second copy into the database, now not empty, is refused", r.stderr)
        r = subprocess.run([brokerd, "-f", d.broker_conf, "--migrate-from", url],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and "takes the SQLite state" in r.stderr,
              "--migrate-from with a PostgreSQL URL is refused", r.stderr)
    finally:
        d.stop()


def starts(d):
    """Whether the broker comes up."""
    try:
        d.start_broker(wait=20)
        return True
    except brokerdeploy.DeploymentError:
        return False


def check_errors(pg):
    password = "sEcReT-" + os.urandom(6).hex()
    d = deployment("paprika-pge.", f"postgresql://paprika:{password}@127.0.0.1:{pg.port}/one")
    try:
        started = starts(d)
        log = read_text(d.broker_log)
        check(not started and f"postgresql://paprika@127.0.0.1:{pg.port}/one: cannot connect"
              in log and "password authentication failed" in log,
              "a wrong password stops the broker at start, naming the database", log[-600:])
        check(password not in log, "the URL's password is not in the log")

        port = paprikatest.free_port()
        set_database(d, f"postgresql://paprika@127.0.0.1:{port}/one?passfile={pg.passfile}")
        started = starts(d)
        log = read_text(d.broker_log)
        check(not started and "cannot connect" in log and "Connection refused" in log,
              "a server that is down stops the broker at start with libpq's reason",
              log[-600:])
    finally:
        d.stop()


def main():
    pg = pgcluster.Cluster()
    try:
        t0 = time.monotonic()
        pg.start()
        note(f"PostgreSQL up on port {pg.port} in {time.monotonic() - t0:.1f} s")
        unit_tests_on(pg)
        check_one_broker(pg)
        check_two_brokers(pg)
        check_migrate_from(pg)
        check_errors(pg)
    finally:
        pg.cleanup()
    return paprikatest.finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
