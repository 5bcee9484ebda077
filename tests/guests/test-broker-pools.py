# SPDX-License-Identifier: ISC
"""paprika-brokerd's pools beyond the shared one, against real QEMU guests:
a static pool (each user their own named guest, kept after a session),
readiness (the "booting" step, and guests that never get ready failing
with the reason), idle and maximum session time, the gateway address chosen by the client's
network (proxy_for), and login throttling per client address."""

import os
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

IDLE = 6
MAX_SESSION = 20   # past a shared guest's revert and start, even under ASan on a busy machine
READY_TIMEOUT = 4

# The shared pool ends sessions after MAX_SESSION; a static pool gives demo
# the guest "own-demo", ends a session nobody connects to after IDLE and
# has its clients share neither the clipboard nor USB devices;
# clients from 127.0.0.2 are told another gateway address.
POOL_EXTRA = f"max_session = {MAX_SESSION}s\n"
EXTRA = f"""[pool mine]
title = My desktop
kind = static
host = local
assign = demo=own-demo
idle_timeout = {IDLE}s
user_reset = yes
clipboard = no
usbredir = no

[pool needagent]
title = Needs an agent
kind = static
host = local
assign = demo=agentless
ready_when = agent

[pool restless]
title = Never still long enough
kind = static
host = local
assign = demo=restless
ready_settle = 60s
ready_timeout = {READY_TIMEOUT}s

[gateway local]
proxy_for = 127.0.0.2/32 http://gw-inside.example:3128

[limits]
login_free_failures = 2
login_delay = 30s
login_delay_max = 30s
"""


def sessions(d, helper, pool):
    _, body, _ = d.api("GET", "/api/v1/sessions", token=helper)
    return [s for s in body.get("sessions", []) if s["pool"] == pool]


def audit_has(d, helper, text):
    _, body, _ = d.api("GET", "/api/v1/audit?user=broker&limit=100", token=helper)
    return any(text in r["detail"] for r in body.get("audit", []))


def address_throttle(d):
    """Wrong passwords for ever new user names from one address: that
    address waits, other addresses do not."""
    statuses = []
    for i in range(4):
        st, body, hdrs = d.api("POST", "/api/v1/login", {
            "username": f"nobody{i}", "password": "guess"}, source="127.0.0.3")
        statuses.append(st)
    check(statuses[:2] == [401, 401] and statuses[-1] == 429 and
          "retry-after" in hdrs,
          "guessing many user names from one address: 401, 401, then 429", statuses)
    st, body, _ = d.api("POST", "/api/v1/login", {
        "username": "demo", "password": "demo-password"}, source="127.0.0.3")
    check(st == 429, "that address waits even with a right password", (st, body))
    st, body, _ = d.api("POST", "/api/v1/login", {
        "username": "nobody9", "password": "guess"}, source="127.0.0.4")
    check(st == 401, "another address is not held back", (st, body))


def failed_session(d, helper, pool, timeout):
    """The session of pool once it has failed, or None."""
    def failed():
        s = sessions(d, helper, pool)
        return s[0] if s and s[0]["state"] == "failed" else None
    return wait_until(failed, timeout)


def readiness_failures(d, demo, helper):
    """ready_when = agent on a guest without an agent channel, and a screen
    that must stay still longer than ready_timeout allows: each session
    fails with a sentence, which the user's connect also gets."""
    st, body, _ = d.api("POST", "/api/v1/desktops/needagent/connect?wait=1", token=demo)
    s = failed_session(d, helper, "needagent", 60)
    check(s and "agentless has no guest agent channel" in s.get("error", ""),
          "ready_when = agent on a guest with no agent channel fails the session, "
          "saying so", s or sessions(d, helper, "needagent"))
    # The next connect tries again (the guest runs now) and waits for it.
    st, body, _ = d.api("POST", "/api/v1/desktops/needagent/connect?wait=20", token=demo)
    check(st == 502 and "no guest agent channel" in str(body),
          "and the user's next connect is told why", (st, body))
    t0 = time.monotonic()
    d.api("POST", "/api/v1/desktops/restless/connect?wait=1", token=demo)
    s = failed_session(d, helper, "restless", 90)
    check(s and f"restless did not become ready in {READY_TIMEOUT} s: " in s.get("error", ""),
          "a guest not ready within ready_timeout fails the session with the reason",
          s or sessions(d, helper, "restless"))
    note(f"restless failed after {time.monotonic() - t0:.1f}s: {s and s.get('error')}")


def run(d):
    address_throttle(d)
    demo = d.login("demo", "demo-password")
    alice = d.login("alice", "alice-password")
    helper = d.login("helper", "helper-password")

    # --- readiness: guests that never get ready fail, saying why ----------
    readiness_failures(d, demo, helper)

    # --- static pool -----------------------------------------------------
    st, body, _ = d.api("GET", "/api/v1/desktops", token=demo)
    check(st == 200 and {x["id"] for x in body["desktops"]} ==
          {"office", "mine", "needagent", "restless"},
          "demo sees the shared pool and the static one assigned to them", body)
    st, body, _ = d.api("GET", "/api/v1/desktops", token=alice)
    check(st == 200 and {x["id"] for x in body["desktops"]} == {"office"},
          "alice, with no guest in the static pool, does not see it", body)
    st, body, _ = d.api("POST", "/api/v1/desktops/mine/connect", token=alice)
    check(st == 404, "nor can she connect to it", (st, body))
    # Asked without waiting, again and again: the boot takes a second at
    # least (ready_settle), so its step shows however fast the guest is.
    steps = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        st, body, _ = d.api("POST", "/api/v1/desktops/mine/connect?wait=0", token=demo)
        if st != 202:
            break
        steps.append((body["progress"], body["step"]))
        time.sleep(0.1)
    conn = body
    check(st == 200, "then the connect answers with the connection", (st, body))
    booting = [p for p, step in steps if step == "booting"]
    check(booting and all(75 <= p <= 99 for p in booting),
          "while the stopped guest boots, the connect reports the 'booting' "
          "step at 75 to 99%", steps)
    s = sessions(d, helper, "mine")
    check(len(s) == 1 and s[0]["desktop"] == "own-demo",
          "demo's session in the static pool is on their own guest", s)
    ok, out = d.spicy_capture(conn, os.path.join(d.work, "own.ppm"))
    check(ok, "and reaches it through the gateway", out)

    # --- the pool's clipboard and USB policy, for its clients --------------
    _, body, _ = d.api("GET", "/api/v1/desktops", token=demo)
    policy = {x["id"]: (x["clipboard"], x["usbredir"]) for x in body["desktops"]
              if x["id"] in ("office", "mine")}
    check(policy == {"office": (True, True), "mine": (False, False)},
          "the desktop list has each pool's clipboard and usbredir (yes by default)", policy)
    check(conn.get("clipboard") is False and conn.get("usbredir") is False,
          "the connection to the static desktop says: no clipboard, no USB",
          {k: conn.get(k) for k in ("clipboard", "usbredir")})
    vv = d.connect(demo, pool="mine", vv=True)
    check("\nenable-usbredir=0\n" in vv, "its .vv file has enable-usbredir=0", vv[-300:])

    # --- self-service reset: where the pool allows it ---------------------
    _, body, _ = d.api("GET", "/api/v1/desktops", token=demo)
    resettable = {x["id"]: x["can_reset"] for x in body["desktops"]
                  if x["id"] in ("office", "mine")}
    check(resettable == {"office": False, "mine": True},
          "the desktop list says where the user may reset", resettable)
    st, body, _ = d.api("POST", "/api/v1/desktops/office/reset", token=demo)
    check(st == 403 and body["error"]["code"] == "reset_not_allowed",
          "resetting a shared desktop is the helpdesk's: 403", (st, body))
    st, body, _ = d.api("POST", "/api/v1/desktops/mine/reset", token=demo)
    check(st == 200 and body.get("done") == "reset" and body.get("state") == "running",
          "demo resets their own desktop, which keeps running", (st, body))
    _, body, _ = d.api("GET", "/api/v1/audit?user=demo&limit=20", token=helper)
    check(any(r["action"] == "reset" and r["target"] == "mine/own-demo" and
              r["result"] == "ok" for r in body["audit"]),
          "the reset is audited", body)

    # --- idle timeout: nobody connected for IDLE seconds ------------------
    gone = wait_until(lambda: not sessions(d, helper, "mine"), IDLE + 15)
    check(gone, "with no client for the idle timeout, the session ends")
    check(audit_has(d, helper, "idle"), "the audit log says why: idle")
    _, body, _ = d.api("GET", "/api/v1/pools", token=helper)
    own = [g for g in body["desktops"] if g["name"] == "own-demo"]
    check(own and own[0]["state"] == "assigned" and own[0]["user"] == "demo",
          "a static guest stays its user's after the session", own)

    # --- a reset guest boots again: not "ready before" on the next connect --
    d.connect(demo, pool="mine")
    s = sessions(d, helper, "mine")
    log = read_text(d.broker_log)
    line = [x for x in log.splitlines()
            if s and f"session {s[0]['id']} (demo on mine/own-demo) ready in" in x]
    check(line and "(its screen was drawn and still" in line[0],
          "after the reset, the next session waits for the rebooted guest's "
          "screen again", line or log[-600:])

    # --- maximum session time on the shared pool --------------------------
    d.connect(alice)
    created = sessions(d, helper, "office")[0]["created"]
    ended = wait_until(lambda: not sessions(d, helper, "office"), MAX_SESSION + 15)
    check(ended and time.time() - created >= MAX_SESSION - 1,
          "a session ends at the pool's maximum session time, not before",
          time.time() - created)
    check(audit_has(d, helper, "maximum session time"),
          "the audit log says why: maximum session time")

    # --- the gateway address by client network -----------------------------
    wait_until(lambda: d.api("GET", "/api/v1/desktops", token=demo)[1]["desktops"][0]
             ["state"] == "available", 30)
    inside = d.connect(demo, source="127.0.0.2")
    check(inside and inside["proxy"] == "http://gw-inside.example:3128",
          "a client from 127.0.0.2 is given the proxy_for gateway address",
          inside and inside["proxy"])
    outside = d.connect(demo)
    check(outside["proxy"] == f"http://127.0.0.1:{d.plain_port}",
          "a client from elsewhere gets the gateway's default address", outside["proxy"])

    # --- the clipboard policy, in the guest's own SPICE server ------------
    d.stop_broker()
    mine, office = d.definition("own-demo"), d.definition(d.guest_names[0])
    check("<clipboard copypaste='no'/>" in mine and "<filetransfer enable='no'/>" in mine,
          "the guest of a pool with clipboard = no has copy and paste and file "
          "transfer off in its definition", mine)
    check("<clipboard" not in office and "<filetransfer" not in office,
          "a pool that allows the clipboard leaves the definition alone", office)


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-pools."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, deploy_and_run)


def deploy_and_run(d):
    d.make_pki()
    d.define_guests("own-demo", "agentless", "restless")
    for user, groups in (("demo", "staff"), ("alice", "staff"),
                         ("helper", "helpdesk")):
        d.add_user(user, f"{user}-password", groups)
    d.start_gateway()
    d.conf_text = d.broker_config(POOL_EXTRA) + EXTRA
    d.start_broker()
    run(d)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
