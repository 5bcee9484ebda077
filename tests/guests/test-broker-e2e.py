# SPDX-License-Identifier: ISC
"""End to end through the broker: real QEMU guests under libvirt's embedded
driver, paprika-gatewayd, paprika-brokerd with a shared pool, and stock
SPICE clients (spicy-screenshot, remote-viewer under Xvfb).

A user logs in, gets a desktop and sees the guest's own screen pixel for
pixel; a broker restart, the move of the running site onto PostgreSQL and a
kill -9 failover to a standby broker leave remote-viewer connected; logging
out drops the client, revokes the gateway tickets and the
token, and the shared guest is reverted to its snapshot before the next
user gets a desktop."""

import atexit
import configparser
import copy
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, import_demo, note, wait_until  # noqa: E402

import_demo()
import images  # noqa: E402
import brokerdeploy  # noqa: E402
import pgcluster  # noqa: E402
from brokerdeploy import ApiError, DEMO_PASSWORD, DEMO_USER  # noqa: E402
from desktop import (free_display, own_banner, run_deployment, sessions_of,  # noqa: E402
                    wait_banner)

ALICE_PASSWORD = "alice-pass-1"
HELPER_PASSWORD = "helpdesk-pass-1"
POOL = "office"


def tunnels_of(d, gw_ids):
    return {t["id"] for s in d.gateway_sessions() if s["session"] in gw_ids
            for t in s["tunnels"]}


def failover(d, helper, gw_ids, viewer, sid):
    """The live site moves onto PostgreSQL (--migrate-from) with remote-viewer
    connected; a second broker stands by; the leader is killed with kill -9
    and the standby takes over. The viewer, its tunnels and the connected
    session come through; from then on d's broker is the new leader."""
    pg = pgcluster.Cluster()
    pg.start()
    atexit.register(pg.cleanup)
    url = pg.create_db("site")
    tunnels = tunnels_of(d, gw_ids)
    d.stop_broker()
    with open(d.broker_conf) as f:
        conf = f.read().replace("[broker]\n", f"[broker]\ndatabase = {url}\nlease_time = 3s\n", 1)
    d.conf_text = conf
    with open(d.broker_conf, "w") as f:
        f.write(conf)
    r = subprocess.run([os.path.join(d.build, "paprika-brokerd"), "-f", d.broker_conf,
                        "--migrate-from", f"sqlite:{d.work}/broker.db"],
                       capture_output=True, text=True, timeout=60)
    if not check(r.returncode == 0, "the running site's state moves to PostgreSQL "
                 "(paprika-brokerd --migrate-from)", r.stdout + r.stderr):
        return False
    d.start_broker()
    standby = copy.copy(d)
    standby.broker_port = paprikatest.free_port()
    standby.broker_conf = d.broker_conf + ".standby"
    standby.broker_log = d.broker_log + ".standby"
    standby.conf_text = conf.replace(f"listen = 127.0.0.1:{d.broker_port}",
                                     f"listen = 127.0.0.1:{standby.broker_port}")
    standby.broker = None
    standby.start_broker(standby=True)
    mine = sessions_of(d, helper, DEMO_USER)
    check(mine and mine[0]["id"] == sid and mine[0]["state"] == "connected",
          "on PostgreSQL the leader has the connected session, and a second broker "
          "stands by", mine)

    t0 = time.monotonic()
    d.broker.kill()
    d.broker.wait()
    led = wait_until(lambda: standby.role() == "leader", 30, 0.05)
    took = time.monotonic() - t0
    if not check(led, "after kill -9 of the leader the standby leads", standby.broker_tail(10)):
        return False
    note(f"failover with remote-viewer connected: the standby led {took:.2f} s after kill -9")
    # From here on the deployment's broker is the new leader.
    d.broker, d.broker_port, d.broker_log, d.broker_conf, d.conf_text = (
        standby.broker, standby.broker_port, standby.broker_log, standby.broker_conf,
        standby.conf_text)
    still = tunnels_of(d, gw_ids)
    check(tunnels and tunnels <= still and viewer.poll() is None,
          "remote-viewer and its tunnels came through the move and the failover",
          (tunnels, still, viewer.poll()))
    mine = sessions_of(d, helper, DEMO_USER)
    check(mine and mine[0]["id"] == sid and mine[0]["state"] == "connected",
          "the new leader has the session, connected, and the helpdesk login still works",
          mine)
    return True


def pool_states(d, helper):
    status, body, _ = d.api("GET", "/api/v1/pools", token=helper)
    if status != 200:
        raise ApiError(status, body)
    return {g["name"]: g for g in body["desktops"] if g["pool"] == POOL}


def console_vv(d, token, timeout=120):
    """GET console.vv, polling while the desktop starts: (status, headers, text)."""
    deadline = time.monotonic() + timeout
    while True:
        status, body, hdrs = d.api("GET", f"/api/v1/desktops/{POOL}/console.vv",
                                   token=token, raw=True)
        if status != 202 or time.monotonic() > deadline:
            return status, hdrs, body.decode(errors="replace")
        time.sleep(0.2)


def parse_vv(text):
    cp = configparser.RawConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read_string(text)
    return cp["virt-viewer"]


def qemu_pid(d, guest):
    """The pid of the QEMU process running guest under the deployment's root."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if not any(b"qemu-system" in a for a in cmd[:1]):
            continue
        if d.root.encode() in b" ".join(cmd) and f"guest={guest}".encode() in b" ".join(cmd):
            return int(pid)
    return None


def capture_equals_guest(d, conn, helper, guest, name):
    """Once guest's own screen shows its banner, spicy-screenshot through the
    gateway with conn equals it (and neither is blank)."""
    own = os.path.join(d.work, f"{name}-own.png")
    if not wait_banner(d, helper, guest, own):
        return False
    shot = os.path.join(d.work, f"{name}.ppm")
    ok, out = d.spicy_capture(conn, shot)
    if not check(ok, f"{name}: spicy-screenshot through the gateway with the broker's connection",
                 out[-400:]):
        return False
    d.guest_screenshot(helper, guest, own)
    ok, why = images.same_screen(images.read_image(shot), images.read_image(own))
    return check(ok, f"{name}: the capture equals {guest}'s own screenshot", why)


def run(d, procs):
    d.make_pki()
    d.define_guests()
    d.add_user(DEMO_USER, DEMO_PASSWORD, "staff")
    d.add_user("alice", ALICE_PASSWORD, "staff")
    d.add_user("helper", HELPER_PASSWORD, "helpdesk")
    d.start_gateway()
    d.start_broker()
    helper = d.login("helper", HELPER_PASSWORD)
    token = d.login()

    # --- a fresh connect: spicy-screenshot equals the guest's own screen --
    t0 = time.monotonic()
    conn = d.connect(token)
    note(f"desktop ready after {time.monotonic() - t0:.1f}s")
    mine = sessions_of(d, helper, DEMO_USER)
    if not check(len(mine) == 1 and mine[0]["id"] == conn["session"],
                 "the demo user has exactly the session the connect returned", str(mine)):
        return
    desk = mine[0]["desktop"]
    note(f"demo got {desk}")
    capture_equals_guest(d, conn, helper, desk, "demo")
    # spicy-screenshot has left: the session is no longer connected, so the
    # 'connected' seen with remote-viewer below is remote-viewer's.
    left = wait_until(lambda: [s for s in sessions_of(d, helper, DEMO_USER)
                             if s["state"] != "connected"], 10)
    check(left, "the session leaves 'connected' once spicy-screenshot has gone",
          str(sessions_of(d, helper, DEMO_USER)))

    # --- console.vv -----------------------------------------------------
    status, hdrs, text = console_vv(d, token)
    ctype = hdrs.get("content-type", "")
    check(status == 200 and ctype.split(";")[0].strip() == "application/x-virt-viewer",
          "console.vv is served as application/x-virt-viewer", f"HTTP {status} {ctype}: {text[:200]}")
    if status != 200:
        return
    try:
        vv = parse_vv(text)
    except (configparser.Error, KeyError) as e:
        check(False, "console.vv is a [virt-viewer] key file", f"{e}: {text[:300]}")
        return
    proxy = f"http://127.0.0.1:{d.plain_port}"
    want = {
        "type": lambda v: v == "spice",
        "host": lambda v: v.startswith("pk."),
        "tls-port": lambda v: v.isdigit() and 0 < int(v) < 65536,
        "password": lambda v: len(v) >= 16,
        "proxy": lambda v: v == proxy,
        "ca": lambda v: v.startswith("-----BEGIN"),
        "host-subject": lambda v: v == d.host_subject,
        "delete-this-file": lambda v: v == "1",
        "secure-channels": lambda v: "main" in v and "display" in v,
    }
    bad = {k: vv.get(k) for k, ok in want.items() if k not in vv or not ok(vv[k])}
    check(not bad, "console.vv has type, host=pk., tls-port, password, the gateway proxy, "
          "the CA, host-subject, secure-channels and delete-this-file=1", str(bad))
    vv_conn = {"host": vv.get("host"), "tls_port": int(vv.get("tls-port", "0") or 0),
               "password": vv.get("password")}

    # --- stock remote-viewer under Xvfb ---------------------------------
    display = free_display(90, 140)
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(xvfb)
    wait_until(lambda: os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"), 5, 0.05)
    env = dict(os.environ, DISPLAY=display)
    vv_path = os.path.join(d.work, "console.vv")
    with open(vv_path, "w") as f:
        f.write(text)
    os.chmod(vv_path, 0o600)
    viewer_log = open(os.path.join(d.work, "remote-viewer.log"), "w")
    viewer = subprocess.Popen(["remote-viewer", vv_path], env=env,
                              stdout=viewer_log, stderr=subprocess.STDOUT)
    viewer_log.close()
    procs.append(viewer)

    xwd = os.path.join(d.work, "x-root.xwd")
    own_path = os.path.join(d.work, "demo-own-rv.png")
    found, screen, why = None, None, "remote-viewer showed nothing"
    own = wait_banner(d, helper, desk, own_path)
    deadline = time.monotonic() + 45
    while own and time.monotonic() < deadline and found is None and viewer.poll() is None:
        time.sleep(1)
        own = own_banner(d, helper, desk, own_path)
        if own is None:
            why = f"{desk}'s own screen no longer shows its banner"
            break
        if os.path.exists(xwd):
            os.unlink(xwd)
        subprocess.run(["xwd", "-root", "-silent", "-out", xwd], env=env, check=False)
        if os.path.exists(xwd):
            screen = images.read_xwd(xwd)
            found, why = images.find_screen(screen, own)
    if screen is not None:
        png = os.path.join(d.work, "x-screen.png")
        images.write_png(png, *screen)
        note(f"the X screen with remote-viewer: {png}")
    check(found is not None, "remote-viewer shows the guest's own screen pixel for pixel",
          f"{why} (remote-viewer "
          f"{'running' if viewer.poll() is None else 'exited ' + str(viewer.returncode)})")
    check(not os.path.exists(vv_path), "remote-viewer deleted the .vv file (delete-this-file=1)")

    gw = [s for s in d.gateway_sessions() if s["user"] == DEMO_USER and s["tunnels"]]
    check(gw and sum(len(s["tunnels"]) for s in gw) >= 2,
          "remote-viewer's SPICE channels go through the gateway", str(d.gateway_sessions()))
    gw_ids = {s["session"] for s in gw}

    connected = wait_until(lambda: [s for s in sessions_of(d, helper, DEMO_USER)
                                  if s["state"] == "connected"], 10)
    check(connected, "the session is 'connected' while remote-viewer is on it",
          str(sessions_of(d, helper, DEMO_USER)))

    # --- a broker restart drops no live tunnel ----------------------------
    tunnels = {t["id"] for s in d.gateway_sessions() if s["session"] in gw_ids
               for t in s["tunnels"]}
    d.stop_broker()
    d.start_broker()
    still = {t["id"] for s in d.gateway_sessions() if s["session"] in gw_ids
             for t in s["tunnels"]}
    check(tunnels and tunnels <= still and viewer.poll() is None,
          "a broker restart leaves remote-viewer's tunnels and the viewer running",
          (tunnels, still, viewer.poll()))
    after = sessions_of(d, helper, DEMO_USER)
    check(after and after[0]["state"] == "connected" and
          after[0]["id"] == connected[0]["id"],
          "after the restart the broker still has the session, connected", after)
    found, why = None, f"{desk}'s own screen does not show its banner"
    deadline = time.monotonic() + 10
    while own and found is None and time.monotonic() < deadline:
        subprocess.run(["xwd", "-root", "-silent", "-out", xwd], env=env, check=False)
        found, why = images.find_screen(images.read_xwd(xwd), own)
    check(found is not None, "and remote-viewer still shows the desktop", why)

    if not failover(d, helper, gw_ids, viewer, connected[0]["id"]):
        return
    found, why = None, f"{desk}'s own screen does not show its banner"
    deadline = time.monotonic() + 10
    while own and found is None and time.monotonic() < deadline:
        subprocess.run(["xwd", "-root", "-silent", "-out", xwd], env=env, check=False)
        found, why = images.find_screen(images.read_xwd(xwd), own)
    check(found is not None, "and remote-viewer still shows the desktop after the failover",
          why)

    # --- logout ---------------------------------------------------------
    before = pool_states(d, helper)
    pid_before = qemu_pid(d, desk)
    status, body, _ = d.api("POST", "/api/v1/logout", token=token)
    check(status == 200 and body.get("sessions_ended") == 1,
          "logout ends the demo user's session", f"HTTP {status}: {body}")
    seen = []
    t_logout = time.monotonic()
    while time.monotonic() - t_logout < 60:
        g = pool_states(d, helper).get(desk)
        state = g["state"] if g else None
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == "free":
            break
        time.sleep(0.02)
    note(f"{desk} after logout: {' -> '.join(map(str, seen))} "
         f"({time.monotonic() - t_logout:.1f}s); before: {before.get(desk, {}).get('state')}")
    check(seen and seen[-1] == "free", f"{desk} is free again after the logout", str(seen))
    check("cleaning" in seen, f"{desk} went through 'cleaning' after the logout", str(seen))

    check(not sessions_of(d, helper, DEMO_USER), "the demo user has no session left",
          str(sessions_of(d, helper, DEMO_USER)))
    gone = wait_until(lambda: not [s for s in d.gateway_sessions()
                                 if s["session"] in gw_ids and s["tunnels"]], 5)
    check(gone and gw_ids, "the gateway closed remote-viewer's tunnels",
          str(d.gateway_sessions()))
    viewer_gone = wait_until(lambda: viewer.poll() is not None, 5)
    note(f"remote-viewer {'exited ' + str(viewer.returncode) if viewer_gone else 'still runs'}"
         " after the logout")

    with open(d.gateway_log) as f:
        gw_lines = len(f.readlines())
    ok, out = d.spicy_capture(vv_conn, os.path.join(d.work, "after-logout.ppm"), timeout=20)
    check(not ok, "the old ticket and password no longer reach the desktop", out[-300:])
    with open(d.gateway_log) as f:
        refused = [line for line in f.readlines()[gw_lines:] if "ticket revoked" in line]
    check(refused, "the gateway refuses the old ticket as revoked")
    status, body, hdrs = d.api("GET", "/api/v1/desktops", token=token)
    check(status == 401 and hdrs.get("www-authenticate", "").startswith("Bearer"),
          "the old bearer token gets 401", f"HTTP {status}: {body}")

    status, body, _ = d.api("GET", "/api/v1/audit?limit=200", token=helper)
    ends = [r for r in body.get("audit", []) if r["action"] == "session end"
            and f"user {DEMO_USER}," in r.get("detail", "")] if status == 200 else []
    check(ends and ends[0]["actor"] == DEMO_USER and "logout" in ends[0]["detail"],
          "the audit log has the demo user's 'session end' (logout)", str(ends or body))

    with open(d.broker_log) as f:
        blog = f.read()
    check(f"{desk}: reverted to {brokerdeploy.SNAPSHOT}" in blog
          or f"{desk} reverted to {brokerdeploy.SNAPSHOT}" in blog
          or any(desk in line and f"reverted to {brokerdeploy.SNAPSHOT}" in line
                 for line in blog.splitlines()),
          f"the broker log says {desk} was reverted to '{brokerdeploy.SNAPSHOT}'")
    pid_after = qemu_pid(d, desk)
    check(pid_before is not None and pid_after != pid_before,
          f"{desk}'s QEMU was stopped by the revert to the offline snapshot",
          f"QEMU pid before {pid_before}, after {pid_after}")

    # --- the next user --------------------------------------------------
    alice = d.login("alice", ALICE_PASSWORD)
    t0 = time.monotonic()
    aconn = d.connect(alice)
    asess = sessions_of(d, helper, "alice")
    if not check(len(asess) == 1 and asess[0]["id"] == aconn["session"],
                 "alice gets a desktop of the shared pool", str(asess)):
        return
    adesk = asess[0]["desktop"]
    note(f"alice got {adesk} after {time.monotonic() - t0:.1f}s")
    capture_equals_guest(d, aconn, helper, adesk, "alice")


def main():
    for tool in ("spicy-screenshot", "remote-viewer", "Xvfb", "xwd", "unshare", "qemu-img"):
        paprikatest.need(tool)
    return run_deployment(run, ("x-screen.png",))


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
