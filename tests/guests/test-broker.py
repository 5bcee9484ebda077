# SPDX-License-Identifier: ISC
"""paprika-brokerd against real QEMU guests (libvirt's embedded driver) and
a real gateway: logins and brute-force protection, entitlements and roles,
bad input, a full pool, a host that is down, disconnect actions with grace
and cancel, helpdesk routes, and a broker restart that loses nothing."""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, run_deployment, top_builddir,  # noqa: E402
                     top_srcdir, wait_until)

import_demo()
import brokerdeploy  # noqa: E402
import images  # noqa: E402
from deployment import make_workdir  # noqa: E402


def error_code(body):
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


GRACE = 15
POOL_EXTRA = f"""disconnect_action = shutdown
disconnect_grace = {GRACE}s
"""

# A second pool on a host that cannot be reached, and a login throttle that
# a test can reach quickly. The delay outlasts a password check even under
# AddressSanitizer on a busy machine, or the third try would find it over.
EXTRA = """[limits]
login_free_failures = 2
login_delay = 5s
login_lockout_failures = 4
login_lockout = 60s

[host away]
uri = qemu+tcp://127.0.0.1:1/system
spice_address = 127.0.0.1

[pool remote]
kind = shared
host = away
guests = far-1
groups = staff

"""


def revocations(d):
    """The gateway's saved revocations: (kind, id, until) tuples."""
    try:
        with open(os.path.join(d.work, "gateway-state", "revocations")) as f:
            rows = [line.split() for line in f if not line.startswith("#")]
    except FileNotFoundError:
        return []
    return [(r[0], r[1], int(r[2])) for r in rows if len(r) == 3]


def session_of(d, helper, user):
    _, body, _ = d.api("GET", "/api/v1/sessions", token=helper)
    for s in body.get("sessions", []):
        if s["user"] == user:
            return s
    return None


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-broker."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note)
    return run_deployment(d, deploy_and_run)


def deploy_and_run(d):
    d.make_pki()
    d.define_guests("lab-template")
    for user, groups in (("demo", "staff"), ("alice", "staff"),
                         ("bob", "staff"), ("mallory", "guests"),
                         ("helper", "helpdesk")):
        d.add_user(user, f"{user}-password", groups)
    d.start_gateway()
    # The pool's extra settings go after its [pool office] lines; the
    # throttle and the unreachable host go in their own sections.
    d.conf_text = d.broker_config(POOL_EXTRA) + EXTRA + brokerdeploy.LAB_POOL
    d.start_broker()
    run(d)


def run(d):
    api = d.api

    # --- bad input costs only the request --------------------------------
    st, body, _ = api("POST", "/api/v1/login", {"username": "demo"})
    check(st == 400 and error_code(body) == "bad_request",
          "login without a password: 400 bad_request", (st, body))
    st, body, _ = api("POST", "/api/v1/login", {"username": "../etc", "password": "x"})
    check(st == 400, "login with a bad user name: 400", (st, body))
    st, body, _ = api("POST", "/api/v1/login", {"username": "demo",
                                                  "password": "x" * 300})
    check(st == 400, "login with an over-long password: 400", (st, body))
    st, body, _ = api("POST", "/api/v1/login", headers={"Content-Type": "application/json"},
                      body=None)
    check(st in (400, 415), "login without a body: 4xx", (st, body))
    st, body, _ = api("GET", "/api/v1/desktops")
    check(st == 401 and error_code(body) == "unauthenticated",
          "desktops without a token: 401", (st, body))
    st, body, _ = api("GET", "/api/v1/desktops", token="0" * 64)
    check(st == 401, "desktops with an unknown token: 401", (st, body))

    # --- logins, roles, entitlements -------------------------------------
    demo = d.login("demo", "demo-password")
    helper = d.login("helper", "helper-password")
    mallory = d.login("mallory", "mallory-password")
    st, body, _ = api("GET", "/api/v1/me", token=demo)
    check(st == 200 and body["user"] == "demo" and "staff" in body["groups"]
          and body["roles"] == ["user"], "me: user, groups and roles", body)
    st, body, _ = api("GET", "/api/v1/desktops", token=demo)
    ids = {x["id"]: x for x in body.get("desktops", [])}
    check(set(ids) == {"office", "remote", "lab"}, "demo sees the staff pools", body)
    check(ids.get("office", {}).get("state") == "available", "office is available", body)
    check(ids.get("remote", {}).get("state") == "unavailable" and
          ids["remote"].get("reason"), "the pool on a down host is unavailable, with a reason",
          ids.get("remote"))
    st, body, _ = api("POST", "/api/v1/desktops/remote/connect", token=demo)
    check(st == 503 and "unreachable" in body["error"]["message"],
          "connect on a down host: 503 with the reason", (st, body))
    st, body, _ = api("GET", "/api/v1/desktops", token=mallory)
    check(st == 200 and body["desktops"] == [], "a user outside the groups sees no desktop", body)
    st, body, _ = api("POST", "/api/v1/desktops/office/connect", token=mallory)
    check(st == 404 and error_code(body) == "no_desktop", "and cannot connect: 404", (st, body))
    st, body, _ = api("GET", "/api/v1/sessions", token=demo)
    check(st == 403 and error_code(body) == "forbidden", "helpdesk routes refuse users: 403",
          (st, body))
    st, body, _ = api("POST", "/api/v1/desktops/office/connect", token=None,
                      headers={"Cookie": f"__Host-paprika_session={demo}"})
    check(st == 403 and error_code(body) == "csrf",
          "a cookie-authenticated POST without the request header: 403 csrf", (st, body))
    st, body, _ = api("GET", "/api/v1/desktops", headers={"Cookie": f"__Host-paprika_session={demo}"})
    check(st == 200 and len(body["desktops"]) == 3, "the portal cookie authenticates a GET", (st, body))

    # --- connect: 202 with progress, then the connection ------------------
    st, body, _ = api("POST", "/api/v1/desktops/office/connect", token=demo)
    check(st == 202 and body["state"] == "starting" and 0 < body["progress"] < 100,
          "connect to a stopped desktop: 202 with progress", (st, body))
    st, body, _ = api("POST", "/api/v1/desktops/office/connect?wait=61", token=demo)
    check(st == 400 and error_code(body) == "bad_request", "wait over 60: 400", (st, body))
    t0 = time.monotonic()
    st, conn, _ = api("POST", "/api/v1/desktops/office/connect?wait=60", token=demo)
    check(st == 200 and time.monotonic() - t0 < 60,
          "connect?wait answers 200 once the desktop is ready, in one request",
          (st, conn, time.monotonic() - t0))
    check(conn["host"].startswith("pk.") and conn["tls_port"] > 0 and
          len(conn["password"]) >= 16 and conn["proxy"].startswith("http://127.0.0.1:"),
          "connection JSON: ticket host, TLS port, password, proxy", conn)
    s = session_of(d, helper, "demo")
    check(s is not None and s["state"] == "ready", "helpdesk sees demo's session ready", s)
    # Alice takes the other desktop first: its boot, slow on a loaded
    # machine, must not eat into the grace delay that demo's leaving starts.
    alice = d.login("alice", "alice-password")
    bob = d.login("bob", "bob-password")
    d.connect(alice)
    ok, out = d.spicy_capture(conn, os.path.join(d.work, "demo.ppm"))
    check(ok, "spicy-screenshot through the gateway with the broker's connection", out)

    # --- a full pool -----------------------------------------------------
    st, body, hdrs = api("POST", "/api/v1/desktops/office/connect", token=bob)
    check(st == 503 and "retry-after" in hdrs, "a third user of two desktops: 503 Retry-After",
          (st, body))
    st, body, _ = api("GET", "/api/v1/desktops", token=bob)
    check([x["state"] for x in body["desktops"] if x["id"] == "office"] == ["full"],
          "and sees the pool as full", body)

    # --- disconnect action after grace, cancelled by a reconnect ----------
    s = wait_until(lambda: (lambda x: x if x and x["state"] == "disconnected" else None)(
        session_of(d, helper, "demo")), 15)
    check(s is not None, "after spicy-screenshot left, demo's session is disconnected", s)
    first = s["disconnected_at"] if s else time.time()
    # Reconnect a few seconds after that disconnect, so that the first grace
    # delay ends well before the second one.
    time.sleep(max(0.0, first + 3 - time.time()))
    conn = d.connect(demo)
    ok, out = d.spicy_capture(conn, os.path.join(d.work, "demo2.ppm"))
    check(ok, "demo reconnects within the grace delay", out)
    # The second disconnect arrives as graphics events, just after the client.
    s = wait_until(lambda: (lambda x: x if x and x["state"] == "disconnected" and
                          x["disconnected_at"] >= first + 2 else None)(
        session_of(d, helper, "demo")), 10)
    check(s is not None, "the reconnect started a new grace delay",
          (first, session_of(d, helper, "demo")))
    time.sleep(max(0.0, first + GRACE + 1 - time.time()))
    s = session_of(d, helper, "demo")
    check(s is not None and s["state"] == "disconnected",
          "past the first grace delay the action has not run: the reconnect cancelled it", s)
    demo_desk = s["desktop"] if s else None
    s = wait_until(lambda: session_of(d, helper, "demo") is None, 30)
    check(s, "once disconnected past the grace, the action ends the session")
    st, body, _ = api("GET", "/api/v1/audit?user=broker&limit=50", token=helper)
    check(st == 200 and any(r["action"] == "session end" and "shut down" in r["detail"]
                            for r in body["audit"]),
          "the audit log has the disconnect action", body)

    # --- brute force: backoff, then lockout; audited --------------------
    statuses = []
    for _ in range(4):
        st, body, hdrs = api("POST", "/api/v1/login", {"username": "bob", "password": "wrong"})
        statuses.append(st)
        if st == 429:
            break
    check(statuses[:2] == [401, 401] and 429 in statuses,
          "wrong passwords: 401, then 429 once past the free failures", statuses)
    check("retry-after" in hdrs, "429 carries Retry-After", hdrs)
    time.sleep(int(hdrs.get("retry-after", "1")) + 0.2)
    st, body, _ = api("POST", "/api/v1/login", {"username": "bob", "password": "wrong"})
    st, body, hdrs = api("POST", "/api/v1/login", {"username": "bob", "password": "bob-password"})
    check(st == 429, "the right password is refused while the user is throttled", (st, body))
    st, body, _ = api("GET", "/api/v1/audit?user=bob&limit=20", token=helper)
    results_seen = {r["result"] for r in body.get("audit", []) if r["action"] == "login"}
    check({"ok", "failed", "refused"} <= results_seen, "every login is audited, failed or not",
          results_seen)
    log = open(d.broker_log).read()
    check("bob-password" not in log and "wrong" not in log.replace("wrong user name", "")
          and demo not in log, "no password or token in the broker's log")

    # --- helpdesk: disconnect, power, force logout ----------------------
    s = session_of(d, helper, "alice")
    st, body, _ = api("POST", f"/api/v1/sessions/{s['id']}/disconnect", token=helper)
    check(st == 200 and body["disconnected"], "helpdesk disconnects alice's session", (st, body))
    st, body, _ = api("POST", "/api/v1/sessions/zzzz/disconnect", token=helper)
    check(st == 404, "an unknown session id: 404", (st, body))
    st, body, _ = api("POST", f"/api/v1/pools/office/desktops/{s['desktop']}/explode",
                      token=helper)
    check(st == 404 and error_code(body) == "no_action", "an unknown power action: 404", (st, body))
    st, body, _ = api("POST", f"/api/v1/pools/office/desktops/{s['desktop']}/reboot",
                      token=helper)
    check(st == 200 and body["done"] == "reboot", "helpdesk reboots alice's desktop", (st, body))

    # --- restart: nothing lost -----------------------------------------
    before = session_of(d, helper, "alice")
    d.stop_broker()
    d.start_broker()
    after = session_of(d, helper, "alice")
    check(after is not None and after["id"] == before["id"] and
          after["desktop"] == before["desktop"],
          "after a restart alice's session is back, same id and desktop", (before, after))
    st, body, _ = api("GET", "/api/v1/desktops", token=alice)
    check(st == 200, "logins survive a restart", (st, body))
    conn = d.connect(alice)
    ok, out = d.spicy_capture(conn, os.path.join(d.work, "alice.ppm"))
    check(ok, "alice connects to the same running desktop after the restart", out)

    # The gateway is restarting when alice is logged out: the broker asks
    # it again until it answers, for no longer than her tickets can live.
    d.stop_gateway()
    revoked_before = revocations(d)
    st, body, _ = api("POST", "/api/v1/users/alice/logout", token=helper)
    check(st == 200 and body["sessions_ended"] == 1 and body["logins_ended"] >= 1,
          "force logout ends alice's logins and session", (st, body))
    time.sleep(1.5)
    d.start_gateway()
    new = wait_until(lambda: [r for r in revocations(d) if r not in revoked_before], 20)
    log = open(d.broker_log).read()
    check(new and "trying again in" in log,
          "a revocation the gateway missed while restarting reaches it on a retry",
          (new, [x for x in log.splitlines() if "revok" in x][-4:]))
    life = [until - time.time() for kind, _, until in new]
    check(new and all(0 < x <= 600 + 60 + 5 for x in life),
          "it lasts as long as her tickets could (ticket_lifetime plus skew), "
          "not a day", life)
    st, body, _ = api("GET", "/api/v1/desktops", token=alice)
    check(st == 401, "alice's token no longer works", (st, body))
    ok, out = d.spicy_capture(conn, os.path.join(d.work, "alice2.ppm"), timeout=20)
    check(not ok, "nor does her last connection (ticket revoked, password changed)", out)
    # --- template pool: a spare is ready, used, then deleted -------------
    def lab(state=None):
        _, body, _ = api("GET", "/api/v1/pools", token=helper)
        return [g for g in body["desktops"] if g["pool"] == "lab" and
                (state is None or g["state"] == state)]
    spare = wait_until(lambda: lab("spare"), 60)
    check(spare, "the template pool keeps a spare clone running", lab())
    if spare:
        # A spare counts once ready: its screen is drawn the moment it does.
        shot = os.path.join(d.work, "spare-own.png")
        d.guest_screenshot(helper, spare[0]["name"], shot, pool="lab")
        screen = images.read_image(shot)
        check(images.shows_banner(screen),
              "the spare's own screen already shows its desktop when it is listed "
              "as a spare", images.describe(screen))
    t0 = time.monotonic()
    conn = d.connect(demo, pool="lab")
    took = time.monotonic() - t0
    s = [x for x in api("GET", "/api/v1/sessions", token=helper)[1]["sessions"]
         if x["pool"] == "lab"]
    check(s and spare and s[0]["desktop"] == spare[0]["name"],
          f"demo gets the spare at once ({took:.2f}s)", (s, spare))
    ok, out = d.spicy_capture(conn, os.path.join(d.work, "lab.ppm"))
    check(ok, "and reaches it through the gateway", out)
    check(wait_until(lambda: lab("spare"), 60), "a new spare replaces it", lab())
    used = s[0]["desktop"] if s else None
    api("POST", "/api/v1/desktops/lab/end", token=demo)
    check(wait_until(lambda: used not in [g["name"] for g in lab()], 30),
          "after use the clone is deleted, not lent again", lab())
    clones = [f for f in os.listdir(d.work) if f.startswith("lab-") and f != "lab-template.qcow2"]
    check(len(clones) == len(lab()), "its copy-on-write disk is deleted too", (clones, lab()))

    st, body, _ = api("GET", "/metrics")
    text = body.decode() if isinstance(body, bytes) else str(body)
    check(st == 200 and "paprika_broker_logins_total{result=\"ok\"}" in text,
          "metrics in Prometheus text format", text[:200])
    print(f"# demo used {demo_desk}")


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
