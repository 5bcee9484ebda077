# SPDX-License-Identifier: ISC
"""paprika-client --headless when things go wrong, end to end: a real
deployment (broker, gateway and one shared-pool guest under libvirt's
embedded driver) and the client itself.

Each failure ends with its own exit status (client/client.h PaprikaError)
and one plain line on stderr, no GLib warning or critical:
 - a broker whose certificate is not trusted (no --ca, or the wrong CA):
   3, with the hint about --ca;
 - the pool is full (alice holds its only desktop, bob runs the client):
   4, with the broker's reason;
 - the gateway is down while the user's desktop is ready: 5, saying the
   desktop cannot be reached through the gateway; with the gateway back,
   the same command exits 0;
 - wrong passwords: 2, then the broker's throttle ([limits] below): 2,
   saying to try again in N seconds, N from the broker's Retry-After.
The throttle counts failures per source address too, and every client
runs from 127.0.0.1: that check comes last."""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, import_demo, note, top_builddir, top_srcdir  # noqa: E402

import_demo()
import deployment  # noqa: E402
from brokerdeploy import ApiError, BrokerDeployment  # noqa: E402
from desktop import need_tools  # noqa: E402

CLIENT = os.path.join(top_builddir, "paprika-client")
PASSWORDS = {"alice": "alice-pass-1", "bob": "bob-pass-1", "helper": "helper-pass-1"}
# The second wrong password is the first that is not free; the third waits.
DELAY = 20
LIMITS = f"""[limits]
login_free_failures = 1
login_delay = {DELAY}s
login_delay_max = {DELAY}s
"""
# One line: the program's name and the message, nothing of GLib's.
PLAIN = re.compile(r"paprika-client: [^\s].*")
NOISE = re.compile(r"WARNING|CRITICAL|\*\*|^\(paprika-client:\d+\)")


class Run:
    """One paprika-client --headless run: exit status, stderr, seconds."""

    def __init__(self, rc, err, secs, shot):
        self.rc, self.err, self.secs, self.shot = rc, err, secs, shot
        self.lines = [line for line in err.splitlines() if line.strip()]

    @property
    def message(self):
        """The one message, without the program's name ('' if not one line)."""
        if len(self.lines) == 1 and PLAIN.fullmatch(self.lines[0]):
            return self.lines[0][len("paprika-client: "):]
        return ""

    def __str__(self):
        return f"exit {self.rc} after {self.secs:.1f}s, stderr: {self.err.strip()[-600:]!r}"


def client(d, user, password, ca=None, extra=(), timeout=60):
    """paprika-client --headless for user (no --verbose: stderr holds only
    what a user is told); ca: the --ca file (the deployment's CA by
    default), or "" for no --ca."""
    shot = os.path.join(d.work, "headless.png")
    if os.path.exists(shot):
        os.unlink(shot)
    args = [CLIENT, "--headless", "--screenshot", shot, "--timeout", str(timeout),
            "--broker", f"https://127.0.0.1:{d.broker_port}", "--user", user, *extra]
    if ca is None:
        ca = os.path.join(d.pki, "ca", "ca-cert.pem")
    if ca:
        args += ["--ca", ca]
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(d.work, "config"))
    env.pop("DISPLAY", None)
    env.pop("G_MESSAGES_DEBUG", None)
    env.pop("SPICE_DEBUG", None)
    t0 = time.monotonic()
    r = subprocess.run(args, input=password + "\n", text=True, capture_output=True,
                       env=env, timeout=timeout + 30)
    return Run(r.returncode, r.stderr, time.monotonic() - t0, os.path.exists(shot))


def plain(run, what):
    """Checks that run told its failure in one plain line."""
    note(f"{what}: exit {run.rc} after {run.secs:.1f}s: {run.err.strip()}")
    noise = [line for line in run.lines if NOISE.search(line)]
    check(run.message and not noise and not run.shot,
          f"{what}: one plain line on stderr, no GLib warnings, no PNG", str(run))


def sessions_of(d, helper, user):
    status, body, _ = d.api("GET", "/api/v1/sessions", token=helper)
    if status != 200:
        raise ApiError(status, body)
    return [s for s in body["sessions"] if s["user"] == user]


def run(d):
    d.make_pki()
    d.define_guests()
    for user, password in PASSWORDS.items():
        d.add_user(user, password, "helpdesk" if user == "helper" else "staff")
    d.start_gateway()
    conf = d.broker_config() + LIMITS
    d.conf_text = conf
    d.start_broker()
    helper = d.login("helper", PASSWORDS["helper"])

    # --- (4) a broker certificate the client does not trust ---------------
    # Another CA than the deployment's one (whose CA signs every certificate).
    other = paprikatest.other_ca(os.path.join(d.work, "other-ca"))
    for ca, how in (("", "without --ca"), (other, "with another CA's --ca")):
        r = client(d, "alice", PASSWORDS["alice"], ca=ca)
        check(r.rc == 3 and "is not trusted" in r.message and "--ca" in r.message,
              f"{how} the untrusted broker exits 3 saying it is not trusted, "
              "with the hint about --ca", str(r))
        plain(r, f"untrusted broker {how}")
    check(not sessions_of(d, helper, "alice"),
          "an untrusted broker got no login from the client (alice has no session)")

    # --- (2) the pool is full ---------------------------------------------
    alice = d.login("alice", PASSWORDS["alice"])
    conn = d.connect(alice)
    held = sessions_of(d, helper, "alice")
    note(f"alice holds {held[0]['desktop'] if held else '?'} "
         f"(session {conn.get('session')})")
    r = client(d, "bob", PASSWORDS["bob"])
    check(r.rc == 4 and r.message.startswith("The desktop is unavailable: ")
          and "every desktop of pool office is in use" in r.message,
          "with the only desktop held by alice, bob's client exits 4 with the "
          "broker's reason: every desktop of pool office is in use", str(r))
    plain(r, "pool full")
    check(not sessions_of(d, helper, "bob") and len(sessions_of(d, helper, "alice")) == 1,
          "bob got no session and alice kept hers",
          f"bob {sessions_of(d, helper, 'bob')}, alice {sessions_of(d, helper, 'alice')}")

    # --- (3) the gateway is down --------------------------------------------
    ports = (d.plain_port, d.tls_port)
    d.stop_gateway()
    try:
        r = client(d, "alice", PASSWORDS["alice"], extra=["--no-logout"], timeout=45)
        check(r.rc == 5 and re.search(r"(?i)cannot reach the desktop through the gateway",
                                      r.message),
              "with the gateway down, alice's client (her desktop ready) exits 5 saying "
              "it cannot reach the desktop through the gateway", str(r))
        plain(r, "gateway down")
        check(r.secs < 30, "it says so without waiting for its timeout", str(r))
    finally:
        d.start_gateway()
    check((d.plain_port, d.tls_port) == ports, "the gateway is back on the same ports")
    # The control: the same command works again once the gateway is back.
    r = client(d, "alice", PASSWORDS["alice"], extra=["--no-logout"], timeout=90)
    check(r.rc == 0 and r.shot and not r.lines,
          "with the gateway back, the same command exits 0 with a PNG and a quiet stderr",
          str(r))

    # --- (1) wrong passwords, then the throttle -----------------------------
    # Free ones first: a plain "wrong password"; then the broker's delay.
    runs, throttled = [], None
    for _ in range(3):
        r = client(d, "bob", "not-bobs-password")
        runs.append(r)
        m = re.fullmatch(r"(?:Too many failed logins|Locked out after too many "
                         r"failed logins): try again in (\d+) seconds\.", r.message)
        if m:
            throttled = (r, int(m.group(1)), time.monotonic())
            break
    first = runs[0]
    check(first.rc == 2 and first.message == "Wrong user name or password.",
          "a wrong password exits 2 saying 'Wrong user name or password.'", str(first))
    plain(first, "wrong password")
    if not check(throttled is not None and throttled[0].rc == 2 and len(runs) in (2, 3),
                 "the second or third wrong password is throttled: exit 2, "
                 "'... try again in N seconds.'",
                 "\n".join(f"try {i + 1}: {x}" for i, x in enumerate(runs))):
        return
    r, n, t_end = throttled
    note(f"wrong password {len(runs)} was the first the broker throttled")
    plain(r, "throttled")
    # What the broker says now: its Retry-After only shrinks with time.
    status, body, hdrs = d.api("POST", "/api/v1/login",
                               {"username": "bob", "password": "not-bobs-password"})
    after = int(hdrs.get("retry-after", "-1")) if status == 429 else -1
    slack = int(time.monotonic() - t_end + r.secs) + 1
    check(1 <= n <= DELAY and after >= 0 and after <= n <= after + slack,
          f"N is the broker's Retry-After (N={n}; the broker says {after} "
          f"a moment later; login_delay {DELAY}s)",
          f"HTTP {status} {body} retry-after {hdrs.get('retry-after')}")
    r = client(d, "bob", PASSWORDS["bob"])
    check(r.rc == 2 and re.search(r"try again in \d+ seconds\.$", r.message),
          "while throttled even bob's right password exits 2 saying to try again",
          str(r))
    plain(r, "throttled, right password")


def main():
    need_tools("qemu-img", "openssl")
    started = time.monotonic()
    work = deployment.make_workdir()
    d = BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    try:
        run(d)
    except (deployment.DeploymentError, ApiError, OSError, ValueError, KeyError,
            subprocess.SubprocessError) as e:
        check(False, "the deployment works end to end", f"{type(e).__name__}: {e}")
        note(d.broker_tail(20))
    finally:
        d.stop()
    return paprikatest.finish_in(work, started)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
