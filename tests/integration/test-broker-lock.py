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
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from testlib import check, finish, import_demo, note, top_builddir, top_srcdir, wait_for  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
import guest as guestmod  # noqa: E402
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

# Direct kernel boot, the agent's virtio-serial channel, SPICE as the demo
# guests have it, the serial console to a file.
AGENT_XML = """<domain type='{virt}'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <channel type='unix'>
      <source mode='bind' path='{agent_socket}'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <serial type='file'>
      <source path='{serial_log}'/>
      <target port='0'/>
    </serial>
    <graphics type='spice' autoport='yes' defaultMode='secure'
              passwd='{password}'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <video><model type='qxl'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def agent_guest_dir():
    return os.environ.get("PAPRIKA_AGENT_GUEST_DIR",
                          os.path.join(top_builddir, "build", "agent-guest"))


def build_agent_guest():
    """demo/agent-guest/build.sh (downloads once); (vmlinuz, initrd)."""
    out = agent_guest_dir()
    r = subprocess.run(["sh", os.path.join(top_srcdir, "demo", "agent-guest", "build.sh"),
                        out], capture_output=True, text=True, timeout=600)
    note((r.stdout + r.stderr).strip())
    if r.returncode == 3:
        raise DeploymentError("the Debian packages for the agent guest cannot "
                              "be downloaded (apt-get download)")
    if r.returncode != 0:
        raise DeploymentError(f"demo/agent-guest/build.sh failed ({r.returncode})")
    return os.path.join(out, "vmlinuz"), os.path.join(out, "initrd.gz")


def define_agent_guest(d, kernel, initrd, serial_log):
    """Defines the agent guest under the deployment's embedded root, in a
    child process like BrokerDeployment's own steps (the embedded driver
    stays locked by the process that opened it)."""
    env = dict(os.environ, LIBVIRT_LOG_OUTPUTS=
               f"3:file:{os.path.join(d.work, 'libvirt.log')}")
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "define-agent",
                        d.root, d.virt, kernel, initrd, serial_log,
                        os.path.join(d.work, "agent.sock")],
                       env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise DeploymentError(f"defining {AGENT}: {(r.stdout + r.stderr).strip()}")


def _define_agent(root, virt, kernel, initrd, serial_log, agent_socket):
    import libvirt
    guestmod._start_event_loop()
    conn = libvirt.open(f"qemu:///embed?root={root}")
    conn.defineXML(AGENT_XML.format(
        virt=virt, name=AGENT, kernel=kernel, initrd=initrd,
        serial_log=serial_log, agent_socket=agent_socket,
        password=guestmod.new_password()))
    conn.close()
    return 0


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


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
    up = wait_for(lambda: "qemu-ga is listening" in read(serial_log), 90, 0.5)
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
    state = wait_for(lambda: session_state(d, helper, "locked") == "disconnected", 10)
    check(state, "once the client left, the session is disconnected",
          session_state(d, helper, "locked"))
    check(TRACE not in read(serial_log),
          "nothing is locked before the grace delay is over", read(serial_log)[-500:])

    # --- after the grace delay: the lock, through the agent ----------------
    rec = wait_for(lambda: audit_times(d, helper, f"lock desktop {AGENT} of demo"),
                   GRACE + 20)
    check(rec, f"the audit log has 'lock desktop {AGENT} of demo'",
          [r["detail"] for r in audit_times(d, helper, "")][:10])
    left = audit_times(d, helper, f"desktop {AGENT}", "desktop disconnected")
    delay = rec[0]["time"] - left[0]["time"] if rec and left else None
    check(delay is not None and GRACE <= delay <= GRACE + 5,
          f"the broker locks {GRACE}s (the grace delay) after the client left",
          f"{delay}s" if delay is not None else
          "no lock record" if not rec else "no 'desktop disconnected' record")
    ran = wait_for(lambda: TRACE in read(serial_log), 20, 0.2)
    check(ran, "the guest really ran 'loginctl lock-sessions' (its serial console says so)",
          read(serial_log)[-800:])

    # --- the guest without an agent: a clear warning ------------------------
    no_agent = f"lock nolock/{PLAIN} after disconnect: {PLAIN}: no QEMU guest agent"
    warned = wait_for(lambda: no_agent in read(d.broker_log), 20)
    check(warned, f"for {PLAIN}, which has no agent, the broker logs '{no_agent} ...'",
          d.broker_tail(15))
    check([r for r in audit_times(d, helper, f"lock desktop {PLAIN} of demo")
           if r["result"] == "failed" and "no QEMU guest agent" in r["detail"]],
          "and audits the lock as failed, saying why")

    # Whatever the agent answered has been handled by now: no warning.
    time.sleep(2)
    log = read(d.broker_log)
    bad = [line for line in log.splitlines()
           if f"lock locked/{AGENT} after disconnect" in line or
           (AGENT in line and "agent" in line.replace(AGENT, ""))]
    check(not bad, f"the broker logs no warning about locking {AGENT}", bad)
    check(read(serial_log).count(TRACE) == 1 and
          [r["result"] for r in audit_times(d, helper, f"lock desktop {AGENT} of demo")]
          == ["ok"],
          "the lock ran once for one disconnect", read(serial_log).count(TRACE))
    check(session_state(d, helper, "locked") == "disconnected",
          "the session stays, disconnected, for the user to come back to",
          session_state(d, helper, "locked"))


def main():
    started = time.time()
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-lock."))
    try:
        images = build_agent_guest()
    except (DeploymentError, subprocess.TimeoutExpired) as e:
        check(False, "the agent guest builds", e)
        return finish()
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    serial_log = os.path.join(d.work, f"{AGENT}-serial.log")
    try:
        d.make_pki()
        d.define_guests(PLAIN)
        define_agent_guest(d, *images, serial_log)
        for user, groups in (("demo", "staff"), ("helper", "helpdesk")):
            d.add_user(user, f"{user}-password", groups)
        d.start_gateway()
        d.broker_port = brokerdeploy.free_port()
        conf = d.broker_config() + EXTRA
        d.broker_config = lambda *a, **k: conf
        d.start_broker()
        run(d, serial_log)
    except Exception as e:  # a failed step is a failed test, with the log
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        note(d.broker_tail(40))
    finally:
        d.stop()
    note(f"{time.time() - started:.0f}s in all")
    return finish()


if __name__ == "__main__":
    if sys.argv[1:2] == ["define-agent"]:
        sys.exit(_define_agent(*sys.argv[2:]))
    sys.exit(main())
