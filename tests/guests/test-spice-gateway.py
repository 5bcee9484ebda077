# SPDX-License-Identifier: ISC
"""End to end: a real QEMU guest with SPICE TLS behind paprika-gatewayd, and
real SPICE clients (stock spicy-screenshot and remote-viewer) through it.
What reaches the client must equal the guest's own screendump."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, import_demo, top_builddir, top_srcdir  # noqa: E402

import_demo()
import deployment  # noqa: E402
import images  # noqa: E402


def log_lines(d, needle):
    with open(d.gateway_log) as f:
        return [line for line in f if needle in line]


def remote_viewer_check(d, work):
    """Stock remote-viewer under Xvfb opens the broker-style .vv file: the
    ticket is the SPICE host, CA and host-subject pin QEMU's certificate."""
    t = d.ticket(ttl=300)
    vv = os.path.join(work, "desktop.vv")
    d.write_vv(vv, t["ticket"])
    display = None
    for n in range(90, 140):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            display = f":{n}"
            break
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    viewer = None
    try:
        for _ in range(100):
            if os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"):
                break
            time.sleep(0.05)
        env = dict(os.environ, DISPLAY=display)
        viewer = subprocess.Popen(["remote-viewer", vv], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        guest_shot = os.path.join(work, "guest-own.png")
        d.guest.screenshot(guest_shot)
        own = images.read_image(guest_shot)
        check(images.shows_banner(own), "the guest's own screen shows its banner",
              images.describe(own))
        found, session, why = None, None, "no X screenshot"
        deadline = time.monotonic() + 45
        xwd = os.path.join(work, "x-root.xwd")
        while time.monotonic() < deadline and found is None:
            time.sleep(1)
            sessions = [s for s in d.gateway_sessions() if s["session"] == t["session"]]
            if not sessions:
                continue
            session = sessions[0]
            subprocess.run(["xwd", "-root", "-silent", "-out", xwd], env=env, check=False)
            if os.path.exists(xwd):
                found, why = images.find_screen(images.read_xwd(xwd), own)
        check(session is not None and len(session["tunnels"]) >= 3,
              "remote-viewer opened its SPICE channels through the gateway",
              f"session: {session}")
        if found is None and os.path.exists(xwd):
            images.write_png(os.path.join(work, "x-root.png"), *images.read_xwd(xwd))
        check(found is not None,
              "remote-viewer shows the guest's screen pixel for pixel",
              f"{why}: the X screenshot {work}/x-root.png")
        # A helpdesk revoke drops the session's tunnels at once.
        out = subprocess.run([os.path.join(top_builddir, "paprikactl"), "-s", d.control,
                              "revoke", "--session", t["session"]],
                             capture_output=True, text=True)
        time.sleep(0.5)
        left = [s for s in d.gateway_sessions() if s["session"] == t["session"]]
        check(out.returncode == 0 and not left,
              "revoking the session closes remote-viewer's tunnels", out.stderr + str(left))
    finally:
        paprikatest.stop_process(viewer)
        xvfb.terminate()
        xvfb.wait()


def main():
    for tool in ("spicy-screenshot", "remote-viewer", "Xvfb", "xwd", "unshare"):
        paprikatest.need(tool)
    work = deployment.make_workdir()
    d = deployment.Deployment(work, top_srcdir, top_builddir, log=lambda m: print("# " + m))
    try:
        d.make_pki()
        d.start_guest()
        d.start_gateway()
        d.new_spice_password(300)

        t = d.ticket(ttl=300)
        for listener in ("plain", "tls"):
            shot = os.path.join(work, f"shot-{listener}.ppm")
            ok, out = d.spicy_screenshot(shot, t["ticket"], listener=listener)
            if check(ok, f"spicy-screenshot through the {listener} listener", out):
                same, why = d.compare_with_guest(shot)
                check(same, f"{listener}: the capture equals the guest's own screendump", why)
        check(len(log_lines(d, f"session={t['session']}")) >= 4,
              "the gateway logged one line per SPICE channel of the session")

        ok, _ = d.spicy_screenshot(os.path.join(work, "bad-pw.ppm"), t["ticket"],
                                   password="wrong-password")
        check(not ok, "a wrong SPICE password is refused by QEMU through the gateway")

        other = d.ticket(ports=[d.guest.tls_port() + 1])
        ok, _ = d.spicy_screenshot(os.path.join(work, "bad-port.ppm"), other["ticket"])
        check(not ok and log_lines(d, "refused 403: port not allowed by the ticket"),
              "a ticket for another port is refused with 403")

        stranger = os.path.join(work, "stranger-keys")
        os.makedirs(stranger, mode=0o700)
        with open(os.path.join(stranger, "1.key"), "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chmod(os.path.join(stranger, "1.key"), 0o600)
        forged = d.ticket(keys=stranger)
        ok, _ = d.spicy_screenshot(os.path.join(work, "forged.ppm"), forged["ticket"])
        check(not ok and log_lines(d, "refused 403: bad ticket signature"),
              "a ticket signed with a key the gateway does not have is refused with 403")

        expired = d.ticket(ttl=1)
        time.sleep(2)
        ok, _ = d.spicy_screenshot(os.path.join(work, "expired.ppm"), expired["ticket"])
        check(not ok and log_lines(d, "refused 403: ticket expired"),
              "an expired ticket is refused with 403")

        remote_viewer_check(d, work)

        with open(d.gateway_log) as f:
            text = f.read()
        check(all(x not in text for x in (t["ticket"], d.password, forged["ticket"])),
              "no ticket or SPICE password appears in the gateway's log")
    except (deployment.DeploymentError, deployment.guestmod.GuestError) as e:
        check(False, "the deployment came up", str(e))
    finally:
        d.stop()
    return paprikatest.finish_in(work)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
