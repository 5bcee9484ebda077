# SPDX-License-Identifier: ISC
"""paprika-brokerd's "lock" disconnect action against a real QEMU guest agent.

demo/agent-guest/build.sh makes a tiny Linux guest from Debian packages (the
Debian 12 kernel, busybox, qemu-ga) whose loginctl only writes its call to
the serial console. A static pool "locked" gives demo that guest with
disconnect_action = lock; a SPICE client connects through the gateway and
leaves; after the grace delay the broker asks the agent for the guest's OS
(guest-get-osinfo) and runs "loginctl lock-sessions" in it (guest-exec). The
test reads the guest's serial console to see the command really ran, and the
audit and broker logs. A second static pool with the demo guest, which has
no agent, shows the clear "no QEMU guest agent" warning instead.

The Debian packages are downloaded from Debian's archive on the first run
(cached in build/agent-guest); a run that cannot get them fails."""

import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (build_agent_guest, check, finish, import_demo, note,  # noqa: E402
                     read_text as read, top_builddir, top_srcdir, wait_until)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import DeploymentError, make_workdir  # noqa: E402

GRACE = 3
AGENT = "agent-desk"
PLAIN = "plain-desk"
TRACE = "agent-guest: loginctl lock-sessions"

EXTRA = f"""[pool locked]
title = Locked desktop
kind = static
host = local
assign = demo={AGENT}
disconnect_action = lock
disconnect_grace = {GRACE}s

[pool nolock]
title = Desktop without agent
kind = static
host = local
assign = demo={PLAIN}
disconnect_action = lock
disconnect_grace = {GRACE}s
"""

# The agent's virtio-serial channel, a display as the demo guests have.
DEVICES = """    <channel type='unix'>
      <source mode='bind' path='{agent_socket}'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <video><model type='qxl'/></video>
"""


def audit_times(d, helper, text, action=None):
    """The audit records (newest first) whose detail has text."""
    _, body, _ = d.api("GET", "/api/v1/audit?limit=200", token=helper)
    return [r for r in body.get("audit", []) if text in r.get("detail", "")
            and (action is None or r.get("action") == action)]


def session_state(d, helper, pool):
    _, body, _ = d.api("GET", "/api/v1/sessions", token=helper)
    s = [x for x in body.get("sessions", []) if x["pool"] == pool]
    return s[0]["state"] if s else None


def run(d, serial_log):
    demo = d.login("demo", "demo-password")
    helper = d.login("helper", "helper-password")

    conn = d.connect(demo, pool="locked")
    plain = d.connect(demo, pool="nolock")
    booted = time.time()
    # /init says so once qemu-ga holds the agent's port open.
    up = wait_until(lambda: "qemu-ga is listening" in read(serial_log), 90, 0.5)
    check(up, f"the agent guest boots and runs qemu-ga on its virtio-serial port "
          f"({time.time() - booted:.0f}s)", read(serial_log)[-1500:])
    if not up:
        return
    check(TRACE not in read(serial_log) and not audit_times(d, helper, "lock desktop"),
          "nothing is locked while the session is new")

    ok, out = d.spicy_capture(conn, os.path.join(d.work, "agent.ppm"))
    check(ok, f"a SPICE client reaches {AGENT} through the gateway", out)
    ok, out = d.spicy_capture(plain, os.path.join(d.work, "plain.ppm"))
    check(ok, f"and one reaches {PLAIN}", out)
    state = wait_until(lambda: session_state(d, helper, "locked") == "disconnected", 10)
    check(state, "once the client left, the session is disconnected",
          session_state(d, helper, "locked"))
    check(TRACE not in read(serial_log),
          "nothing is locked before the grace delay is over", read(serial_log)[-500:])

    # --- after the grace delay: the lock, through the agent ----------------
    rec = wait_until(lambda: audit_times(d, helper, f"lock desktop {AGENT} of demo"),
                   GRACE + 20)
    check(rec, f"the audit log has 'lock desktop {AGENT} of demo'",
          [r["detail"] for r in audit_times(d, helper, "")][:10])
    left = audit_times(d, helper, f"desktop {AGENT}", "desktop disconnected")
    delay = rec[0]["time"] - left[0]["time"] if rec and left else None
    check(delay is not None and GRACE <= delay <= GRACE + 5,
          f"the broker locks {GRACE}s (the grace delay) after the client left",
          f"{delay}s" if delay is not None else
          "no lock record" if not rec else "no 'desktop disconnected' record")
    ran = wait_until(lambda: TRACE in read(serial_log), 20, 0.2)
    check(ran, "the guest really ran 'loginctl lock-sessions' (its serial console says so)",
          read(serial_log)[-800:])

    # --- the guest without an agent: a clear warning ------------------------
    no_agent = f"lock nolock/{PLAIN} after disconnect: {PLAIN}: no QEMU guest agent"
    warned = wait_until(lambda: no_agent in read(d.broker_log), 20)
    check(warned, f"for {PLAIN}, which has no agent, the broker logs '{no_agent} ...'",
          d.broker_tail(15))
    check([r for r in audit_times(d, helper, f"lock desktop {PLAIN} of demo")
           if r["result"] == "failed" and "no QEMU guest agent" in r["detail"]],
          "and audits the lock as failed, saying why")

    # Readiness (ready_when = auto): the guest with qemu-ga was ready when
    # its agent answered, the one without when its screen was drawn.
    check(re.search(rf"\({re.escape('demo on locked/' + AGENT)}\) ready in \d+s "
                    r"\(its guest agent answered\)", log_now := read(d.broker_log)),
          f"{AGENT} became ready when its guest agent answered", d.broker_tail(15))
    check(re.search(rf"\({re.escape('demo on nolock/' + PLAIN)}\) ready in \d+s "
                    r"\(its screen was drawn and still", log_now),
          f"{PLAIN}, without an agent, when its screen was drawn and still")

    # Whatever the agent answered has been handled by now: no warning.
    time.sleep(2)
    log = read(d.broker_log)
    bad = [line for line in log.splitlines()
           if f"lock locked/{AGENT} after disconnect" in line or
           (AGENT in line and "agent" in line.replace(AGENT, "") and
            "its guest agent answered" not in line)]
    check(not bad, f"the broker logs no warning about locking {AGENT}", bad)
    check(read(serial_log).count(TRACE) == 1 and
          [r["result"] for r in audit_times(d, helper, f"lock desktop {AGENT} of demo")]
          == ["ok"],
          "the lock ran once for one disconnect", read(serial_log).count(TRACE))
    check(session_state(d, helper, "locked") == "disconnected",
          "the session stays, disconnected, for the user to come back to",
          session_state(d, helper, "locked"))


def main():
    started = time.monotonic()
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-lock."))
    try:
        guest_dir = build_agent_guest()
    except (DeploymentError, subprocess.TimeoutExpired) as e:
        check(False, "the agent guest builds", e)
        return finish()
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    try:
        d.make_pki()
        d.define_guests(PLAIN)
        serial_log = d.define_kernel_guest(
            AGENT, os.path.join(guest_dir, "vmlinuz"), os.path.join(guest_dir, "initrd.gz"),
            DEVICES.format(agent_socket=os.path.join(d.work, "agent.sock")))
        for user, groups in (("demo", "staff"), ("helper", "helpdesk")):
            d.add_user(user, f"{user}-password", groups)
        d.start_gateway()
        conf = d.broker_config() + EXTRA
        d.conf_text = conf
        d.start_broker()
        run(d, serial_log)
    except Exception as e:  # a failed step is a failed test, with the log
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        note(d.broker_tail(40))
    finally:
        d.stop()
    note(f"{time.monotonic() - started:.0f}s in all")
    return finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
