# SPDX-License-Identifier: ISC
"""paprika-brokerd's logins through a real PAM stack and its users file.

The broker runs under pam_wrapper (its PAM service files come from a test
directory: pam_exec writes down the items modules see, pam_faildelay asks
for 3 s after a failure as Debian's login does, pam_matrix checks the
passwords) and nss_wrapper (passwd entries: root, a system account of uid
500, PAM users above 1000). The broker's PAM settings are its defaults:
pam_min_uid from /etc/login.defs, pam_allow_root = no, login_fail_delay =
2s. libvirt's test driver stands in for the hosts: no guest runs.

- PAM modules see PAM_RHOST (the client's address) and PAM_TTY (paprika).
- root and a system account are refused with their right password, and
  PAM never sees it.
- A case variant of a users-file name is that user, named as the file
  spells it in the login, its sessions and a forced logout; it is never
  passed on to PAM (which knows another account of that spelling), and
  the throttle counts its failures with the user's.
- A failed login takes as long whoever it was for (a users-file name, a
  PAM name, a name nobody has); the auth thread is free at once: with one
  auth thread, a good login sent during a failure's delay gets in first."""

import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
import pamwrap  # noqa: E402
from paprikatest import (check, import_demo, note, run_deployment,  # noqa: E402
                     top_builddir, top_srcdir)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

FAIL_DELAY = 2.0        # the broker's default login_fail_delay
ROUNDS = 5              # failures measured per kind of name
TOLERANCE = 0.30        # medians within 30%: the machine is shared and noisy

def broker_conf(d, limits):
    """PAM on, one auth thread, limits, and a host of libvirt's test
    driver with one static pool: alice's."""
    return d.test_driver_config(extra="pam_service = paprika\nauth_threads = 1\n",
                                sections=f"[limits]\n{limits}\n", assign="alice=test")


def start(d, limits=""):
    d.stop_broker()
    conf = broker_conf(d, limits)
    d.conf_text = conf
    d.start_broker()


def login(d, user, password, source):
    t0 = time.monotonic()
    st, body, hdrs = d.api("POST", "/api/v1/login",
                           {"username": user, "password": password}, source=source)
    return st, body, time.monotonic() - t0


def items(d):
    try:
        with open(os.path.join(d.work, "items")) as f:
            return f.read().splitlines()
    except OSError:
        return []


def audit_detail(d, user):
    rows = d.state("SELECT result, detail FROM audit WHERE actor = ? AND "
                   "action = 'login' ORDER BY id DESC LIMIT 1", (user,))
    return rows[0] if rows else None


def check_items(d):
    st, body, _ = login(d, "pamuser", "pam-pw", "127.0.0.9")
    check(st == 200 and body.get("user") == "pamuser", "a PAM user logs in", (st, body))
    check("auth pamuser rhost=127.0.0.9 tty=paprika" in items(d),
          "PAM modules see PAM_RHOST (the client's address) and PAM_TTY (paprika)", items(d))


def check_accounts(d):
    before = len(items(d))
    st, body, _ = login(d, "root", "root-pw", "127.0.0.10")
    check(st == 401, "root is refused with its right password (401)", (st, body))
    check(not any(" root " in x for x in items(d)[before:]),
          "and PAM never saw root's password", items(d)[before:])
    row = audit_detail(d, "root")
    check(row and row[0] == "failed" and "uid 0" in row[1],
          "the audit log says why (uid 0)", row)
    st, body, _ = login(d, "sysacct", "sys-pw", "127.0.0.11")
    check(st == 401, "an account below pam_min_uid (500 < 1000) is refused with its "
          "right password", (st, body))
    row = audit_detail(d, "sysacct")
    check(row and "system account" in row[1], "the audit log says why", row)


def check_names(d):
    st, body, _ = login(d, "ALICE", "alice-password", "127.0.0.12")
    check(st == 200 and body.get("user") == "alice",
          "ALICE with the users file's password logs in as alice", (st, body))
    token = body.get("token") if st == 200 else None
    st, me, _ = d.api("GET", "/api/v1/me", token=token)
    check(st == 200 and me.get("user") == "alice", "the login is alice's", (st, me))
    st, desks, _ = d.api("GET", "/api/v1/desktops", token=token)
    check(st == 200 and [x.get("id") for x in desks.get("desktops", [])] == ["office"],
          "and sees alice's desktop (assign = alice=test)", (st, desks))
    helper = d.login("helper", "helper-password")
    st, out, _ = d.api("POST", "/api/v1/users/Alice/logout", token=helper)
    check(st == 200 and out.get("logins_ended") == 1,
          "a forced logout of Alice ends the login made as ALICE", (st, out))
    st, _, _ = d.api("GET", "/api/v1/me", token=token)
    check(st == 401, "that token no longer works", st)

    before = len(items(d))
    st, body, _ = login(d, "ALICE", "pam-alice-pw", "127.0.0.13")
    check(st == 401, "ALICE with the password PAM has for its own ALICE is refused",
          (st, body))
    check(not any(" ALICE " in x for x in items(d)[before:]),
          "PAM was never asked about a case variant of a users-file name",
          items(d)[before:])

    # One failure above (ALICE), three more: past the three free failures,
    # the next try waits login_delay whatever the case of the name.
    for user, source in (("alice", "127.0.0.14"), ("aLiCe", "127.0.0.15"),
                         ("alicE", "127.0.0.16")):
        st, _, _ = login(d, user, "wrong", source)
        check(st == 401, f"{user} with a wrong password: 401", st)
    keys = [r[0] for r in d.state("SELECT key FROM throttle WHERE lower(key) = 'user:alice'")]
    check(keys == ["user:alice"], "the throttle keeps one row for the user", keys)
    st, body, _ = login(d, "Alice", "alice-password", "127.0.0.17")
    check(st == 429, "after four failures as ALICE, alice, aLiCe and alicE, Alice "
          "(right password, fresh address) waits: one throttle key", (st, body))


def fail_times(d):
    """ROUNDS failures of each kind of name, sent side by side in each
    round; their reply times by kind."""
    kinds = {"users file": ("alice", "wrong"), "PAM": ("pamuser", "wrong"),
             "unknown": (None, "wrong")}
    times = {k: [] for k in kinds}
    statuses = []
    for r in range(ROUNDS):
        def one(i, kind):
            user, pw = kinds[kind]
            st, _, t = login(d, user or f"nobody{r}", pw, f"127.0.{r + 2}.{i + 1}")
            statuses.append(st)
            times[kind].append(t)
        threads = [threading.Thread(target=one, args=(i, k)) for i, k in enumerate(kinds)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return times, statuses


def check_timing(d):
    times, statuses = fail_times(d)
    medians = {k: statistics.median(v) for k, v in times.items()}
    note("failure reply times (s): " + "; ".join(
        f"{k}: median {m:.2f} of {', '.join(f'{x:.2f}' for x in times[k])}"
        for k, m in medians.items()))
    check(set(statuses) == {401}, f"{len(statuses)} failed logins get 401", statuses)
    lo, hi = min(medians.values()), max(medians.values())
    check(hi <= lo * (1 + TOLERANCE),
          "a users-file name, a PAM name and an unknown name fail in the same "
          f"time (medians within {TOLERANCE:.0%})", medians)
    check(lo >= FAIL_DELAY * 0.95,
          f"each after login_fail_delay ({FAIL_DELAY:.0f} s): the 401 waits", medians)


def check_thread_free(d):
    """With one auth thread: a failure whose PAM stack asks for 3 s, then a
    good login 0.3 s later."""
    out = {}

    def failing():
        out["fail"] = login(d, "pamuser", "wrong", "127.0.9.1")
        out["fail_end"] = time.monotonic()

    t = threading.Thread(target=failing)
    t0 = time.monotonic()
    t.start()
    time.sleep(0.3)
    st, body, took = login(d, "pamuser2", "pam2-pw", "127.0.9.2")
    good_end = time.monotonic()
    t.join()
    fst, _, ftook = out["fail"]
    note(f"failure answered after {ftook:.2f}s, the good login {took:.2f}s after it was sent")
    check(st == 200, "the good login gets in", (st, body))
    check(fst == 401 and good_end < out["fail_end"],
          "it is answered before the failure's 401", (fst, ftook, took))
    check(good_end - t0 < 1.5,
          "within 1.5 s of the failure: the one auth thread is not asleep in "
          "PAM's failure delay", round(good_end - t0, 2))


def run(d):
    d.broker_env = pamwrap.matrix_env(d.work)
    if not check(d.broker_env is not None, "pam_wrapper, nss_wrapper, pam_exec and "
                 "pam_faildelay are installed (scripts/deps.sh)"):
        return
    d.make_pki()
    d.add_user("alice", "alice-password", "staff")
    d.add_user("helper", "helper-password", "helpdesk")
    # A long login_delay: the throttle's wait outlasts a failure's reply.
    start(d, "login_delay = 30s\n")
    check_items(d)
    check_accounts(d)
    check_names(d)
    # Failures that are never throttled, for the timing.
    start(d, "login_free_failures = 1000\nlogin_lockout_failures = 0\n")
    check_timing(d)
    check_thread_free(d)


def main():
    pamwrap.lock()
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-pam."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, run)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
