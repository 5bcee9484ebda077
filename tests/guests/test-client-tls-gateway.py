# SPDX-License-Identifier: ISC
"""paprika-client through the gateway's TLS listener, end to end: a real
deployment whose broker hands out proxy = https://127.0.0.1:PORT, with the
deployment's CA given to the client with --ca and absent from the system
trust store (GLib's own https proxy would refuse it).

Headless: the first frame is the guest's own screen pixel for pixel, every
channel went through a TLS tunnel (the client's log, the gateway's log and
its metrics), no GLib warnings. A gateway certificate that the client's CA
did not sign (self-signed, made with openssl): exit 5 with one plain line
saying the gateway is not trusted; a host subject from the broker that the
desktop's certificate does not have: exit 5, saying so. The GUI under Xvfb shows the guest's
screen through it, and reconnects through it when the gateway restarts.
Last, the same desktop through the plain listener (spice-gtk's own proxy
path, as before) for the time to the first frame of both."""

import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, import_demo, note, read_text, wait_until  # noqa: E402

import_demo()
import images  # noqa: E402
from brokerdeploy import DEMO_PASSWORD, DEMO_USER  # noqa: E402
from desktop import (CLIENT, guest_on_screen, need_tools, run_deployment,  # noqa: E402
                    sessions_of, start_client, start_xvfb, wait_banner, xdo)

HELPER_PASSWORD = "helpdesk-pass-1"
KEEP = ("headless-tls.png", "desktop-tls.png", "reconnected-tls.png")
NOISE = re.compile(r"WARNING|CRITICAL|\*\*|^\(paprika-client:\d+\)")
FIRST = re.compile(r"first frame .* (\d+) ms after the SPICE connect")
# The gateway's one line per tunnel, as it closes (gateway/tunnel.c,
# tunnel_log), whatever the reason: "closed", "client closed", "client reset"...
CLOSED = re.compile(r"^.* tunnel (\d+) ([^:]+): listener=tls peer=\S+ session=\S+ user=demo ",
                    re.M)


def headless(d, env, shot, verbose=True):
    """paprika-client --headless --no-logout: (exit status, stderr lines)."""
    if os.path.exists(shot):
        os.unlink(shot)
    args = [CLIENT, "--headless", "--screenshot", shot, "--no-logout", "--timeout", "60",
            "--broker", f"https://127.0.0.1:{d.broker_port}",
            "--ca", os.path.join(d.pki, "ca", "ca-cert.pem"), "--user", DEMO_USER]
    if verbose:
        args.append("--verbose")
    r = subprocess.run(args, input=DEMO_PASSWORD + "\n", text=True, capture_output=True,
                       env=env, timeout=120)
    return r.returncode, [line for line in r.stderr.splitlines() if line.strip()]


def gateway_metric(d, name):
    """A metric of the gateway's now (name with its labels), or 0."""
    out = subprocess.run([os.path.join(d.build, "paprikactl"), "-s", d.control, "metrics"],
                         capture_output=True, text=True).stdout
    m = re.search(r'^%s (\d+)$' % re.escape(name), out, re.M)
    return int(m.group(1)) if m else 0


def tls_tunnels(d):
    """paprika_gateway_tunnels_opened_total{listener="tls"} now."""
    return gateway_metric(d, 'paprika_gateway_tunnels_opened_total{listener="tls"}')


def tls_resumed(d):
    """TLS handshakes with the gateway that resumed a session, so far."""
    return gateway_metric(d, "paprika_gateway_tls_resumed_total")


def first_frame_ms(lines):
    m = next((FIRST.search(x) for x in lines if FIRST.search(x)), None)
    return int(m.group(1)) if m else None


def untrusted_gateway(d, env):
    """The gateway with a certificate from another CA (its IP right, its CA
    unknown to the client): the client's own message and exit 5."""
    gw = os.path.join(d.pki, "gateway")
    for name in ("gateway-cert.pem", "gateway-key.pem"):
        shutil.copyfile(os.path.join(gw, name), os.path.join(d.work, name + ".orig"))
    rogue = os.path.join(d.work, "rogue-pki")
    try:
        paprikatest.make_pki(rogue, "--only", "gateway", "--ip", "127.0.0.1")
        made = None
    except RuntimeError as e:
        made = e
    if not check(made is None, "paprika-certs makes a gateway certificate from another CA",
                 made):
        return
    # In place: the files keep the modes and owner the gateway insists on.
    for name in ("gateway-cert.pem", "gateway-key.pem"):
        with open(os.path.join(rogue, "gateway", name)) as f, \
                open(os.path.join(gw, name), "w") as out:
            out.write(f.read())
    ctl = [os.path.join(d.build, "paprikactl"), "-s", d.control, "reload"]
    subprocess.run(ctl, check=True, capture_output=True)
    before = tls_tunnels(d)
    rc, lines = headless(d, env, os.path.join(d.work, "rogue.png"), verbose=False)
    want = (f"paprika-client: The gateway at 127.0.0.1:{d.tls_port} is not trusted: its "
            "certificate is not signed by a CA this client trusts (is the right CA given "
            "with --ca?)")
    check(rc == 5 and lines == [want] and not os.path.exists(os.path.join(d.work, "rogue.png")),
          "a gateway certificate not signed by the client's CA: exit 5, one plain line "
          "saying so, no PNG", f"exit {rc}: {lines}")
    check(tls_tunnels(d) == before, "no tunnel was opened through the untrusted gateway")
    for name in ("gateway-cert.pem", "gateway-key.pem"):
        with open(os.path.join(d.work, name + ".orig")) as f, \
                open(os.path.join(gw, name), "w") as out:
            out.write(f.read())
    subprocess.run(ctl, check=True, capture_output=True)


def wrong_subject(d, env):
    """The broker names another host subject (that of the other CA's gateway
    certificate): the desktop's own certificate does not match, exit 5."""
    rogue = os.path.join(d.work, "rogue-pki", "gateway", "gateway-cert.pem")
    conf = d.broker_config().replace(f"spice_cert = {d.pki}/spice/server-cert.pem",
                                     f"spice_cert = {rogue}")
    d.stop_broker()
    d.conf_text = conf
    try:
        d.start_broker()
        rc, lines = headless(d, env, os.path.join(d.work, "rogue.png"), verbose=False)
    finally:
        d.conf_text = None
        d.stop_broker()
        d.start_broker()
    want = (f'paprika-client: The desktop\'s TLS connection failed: its certificate is for '
            f'"{d.host_subject}", not "{d.cert_subject(rogue)}"')
    check(rc == 5 and lines == [want],
          "a host subject other than the desktop certificate's: exit 5, one plain line "
          "saying whose certificate it is", f"exit {rc}: {lines}")


def gui(d, env, helper, procs, own):
    """The GUI under Xvfb through the TLS gateway; then the gateway restarts."""
    genv = start_xvfb(env, procs, 190, 240)
    client, log = start_client(genv, os.path.join(d.work, "client-gui.log"), procs,
                               "--broker", f"https://127.0.0.1:{d.broker_port}",
                               "--ca", os.path.join(d.pki, "ca", "ca-cert.pem"),
                               "--user", DEMO_USER)
    if not check(log.wait(r"ui: login$", 15), "the GUI shows the login page", log.tail()):
        return
    time.sleep(0.5)
    xdo(genv, "type", "--delay", "15", DEMO_PASSWORD)
    xdo(genv, "key", "Return")

    def shown(name):
        """Where the X screen shows the guest's own screen, once that is its
        banner: (x, y) or None, and a sentence."""
        _, _, found, why = guest_on_screen(d, helper, genv, own,
                                           os.path.join(d.work, name), 60, client)
        return found, why

    t0 = time.monotonic()
    found, why = shown("desktop-tls.png")
    note(f"GUI: Enter to the guest's screen through the TLS gateway: {time.monotonic() - t0:.1f}s")
    check(found is not None, "the GUI shows the guest's own screen through the TLS gateway",
          why + "\n" + log.tail())
    check(any(re.search(r"tunnel: main channel: TLS 1\.[23] to the gateway", x)
              for x in log.lines()), "the GUI's channels go through its own TLS tunnels",
          log.tail())

    # The gateway restarts: the client reconnects through it.
    d.stop_gateway()
    check(log.wait(r"ui: connection lost: ", 20), "with the gateway gone the GUI notices",
          log.tail())
    time.sleep(1)
    d.start_gateway()
    line = log.wait(r"ui: reconnected to office \(session ", 60)
    check(line, "with the gateway back the GUI reconnects to the same session through it",
          log.tail())
    found, why = shown("reconnected-tls.png")
    check(found is not None, "after reconnecting it shows the guest's own screen again",
          why + "\n" + log.tail())
    check(client.poll() is None, "the GUI client still runs")
    check(not log.noise(), "the GUI prints no GLib warnings or criticals",
          "\n".join(log.noise()[:5]))
    # It goes without logging out: the session stays for the last part.
    client.terminate()
    client.wait(10)


def run(d, procs):
    d.listener = "tls"
    d.make_pki()
    d.define_guests()
    d.add_user(DEMO_USER, DEMO_PASSWORD, "staff")
    d.add_user("helper", HELPER_PASSWORD, "helpdesk")
    d.start_gateway()
    d.start_broker()
    helper = d.login("helper", HELPER_PASSWORD)
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(d.work, "config"))
    for k in ("DISPLAY", "G_MESSAGES_DEBUG", "SPICE_DEBUG"):
        env.pop(k, None)

    with open(os.path.join(d.pki, "ca", "ca-cert.pem")) as f:
        body = "".join(x for x in f.read().splitlines() if not x.startswith("-----"))
    with open("/etc/ssl/certs/ca-certificates.crt") as f:
        store = f.read().replace("\n", "")
    check(body not in store, "the deployment's CA is not in the system trust store")

    token = d.login()
    conn = d.connect(token)
    check(conn["proxy"] == f"https://127.0.0.1:{d.tls_port}",
          "the broker hands out the gateway's TLS listener", conn["proxy"])
    desk = sessions_of(d, helper, DEMO_USER)[0]["desktop"]
    own = os.path.join(d.work, "own.png")
    wait_banner(d, helper, desk, own)

    # --- headless through the TLS gateway ------------------------------------
    before = tls_tunnels(d)
    resumed_before = tls_resumed(d)
    log_at = len(read_text(d.gateway_log))
    shot = os.path.join(d.work, "headless-tls.png")
    rc, lines = headless(d, env, shot)
    if not check(rc == 0 and os.path.exists(shot),
                 "headless through the TLS gateway exits 0 with a PNG",
                 f"exit {rc}: {lines[-8:]}"):
        return
    tls_ms = first_frame_ms(lines)
    d.guest_screenshot(helper, desk, own)
    ok, why = images.same_screen(images.read_image(shot), images.read_image(own),
                                 names=("the client's first frame", "the guest's screen"))
    check(ok, f"its first frame equals {desk}'s own screenshot", why)
    tunnels = [x for x in lines if re.search(r"tunnel: \w+ channel: TLS 1\.[23] to the "
                                             r"gateway 127\.0\.0\.1:\d+, CONNECT 200, "
                                             r"TLS 1\.[23] to the desktop", x)]
    check(any("tunnel: main channel" in x for x in tunnels) and
          any("tunnel: display channel" in x for x in tunnels),
          "the client opened its own TLS tunnels for the main and display channels",
          "\n".join(lines[-10:]))
    opened = tls_tunnels(d) - before
    check(opened == len(tunnels) and opened >= 2,
          "the gateway's metrics count as many TLS tunnels as the client opened",
          f"{opened} in the metrics, {len(tunnels)} in the client's log")
    # One TLS session for the whole SPICE session: the main channel's
    # handshake is the only full one, every later tunnel resumes it.
    resumed = tls_resumed(d) - resumed_before
    check(opened >= 2 and resumed == opened - 1,
          "every TLS tunnel after the main channel's resumes its TLS session",
          f"{resumed} of {opened} tunnels resumed")
    # The client has gone, but the gateway writes each close line as it
    # notices its end of the tunnel: wait for as many lines as tunnels.
    def closes():
        return {m.group(1): m.group(2)
                for m in CLOSED.finditer(read_text(d.gateway_log)[log_at:])}
    closed = wait_until(lambda: len(closes()) >= opened, 30, 0.2)
    check(closed and opened >= 2, "the gateway logs each TLS tunnel of user demo when it closes",
          f"{len(closes())} close lines for {opened} tunnels after 30s: {closes()}\n"
          + read_text(d.gateway_log)[log_at:][-800:])
    note(f"the TLS tunnels' close reasons: {sorted(set(closes().values()))}")
    noise = [x for x in lines if NOISE.search(x)]
    check(not noise, "headless prints no GLib warnings", "\n".join(noise[:5]))

    untrusted_gateway(d, env)
    wrong_subject(d, env)
    # The control: with its own certificate back, the gateway serves again.
    rc, lines = headless(d, env, shot)
    check(rc == 0, "with its certificate back, the TLS gateway serves the client again",
          f"exit {rc}: {lines[-5:]}")

    # --- GUI: to the same session (a logout would send the guest to be
    # cleaned) -------------------------------------------------------------
    gui(d, env, helper, procs, own)

    # --- the plain listener: spice-gtk's own proxy, for the timing ---------
    d.stop_broker()
    d.listener = "plain"
    d.start_broker()
    rc, lines = headless(d, env, os.path.join(d.work, "headless-plain.png"))
    check(rc == 0 and not any("tunnel:" in x for x in lines),
          "through the plain listener spice-gtk connects as before (no tunnel of ours)",
          f"exit {rc}: {lines[-5:]}")
    plain_ms = first_frame_ms(lines)
    note(f"first frame after the SPICE connect: {tls_ms} ms through the TLS gateway "
         f"(the client's tunnels), {plain_ms} ms through the plain one (spice-gtk)")


def main():
    need_tools("Xvfb", "xwd", "xdotool", "qemu-img", "openssl")
    return run_deployment(run, KEEP, guests=1)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
