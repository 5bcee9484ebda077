# SPDX-License-Identifier: ISC
"""The Paprika demo (README command 1): a small real deployment on loopback.

Two demo guests in a shared pool under libvirt's embedded QEMU driver,
paprika-brokerd and paprika-gatewayd, and a demo user. The demo logs in
through the broker's API and connects (the desktop starts). With a display it
then opens paprika-client on the deployment (broker URL, CA and user filled
in: type the demo password), or, when paprika-client was not built,
remote-viewer with the broker's .vv file; with no display it captures the
desktop through the gateway and prints "screenshot: PATH" last.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

# The deployment helpers are the tests' library (tests/lib), shared with the demo.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "lib"))
import brokerdeploy  # noqa: E402
import deployment  # noqa: E402
import images  # noqa: E402


def client_command(top_build, broker_url, ca):
    """paprika-client on the demo deployment, in a window (not kiosk), with
    the broker, the CA and the user filled in; None if it was not built."""
    client = os.path.join(top_build, "paprika-client")
    if not os.access(client, os.X_OK):
        return None
    cmd = [client, "--broker", broker_url, "--ca", ca, "--user", brokerdeploy.DEMO_USER]
    try:
        usage = subprocess.run([client, "--help-all"], capture_output=True, text=True,
                               timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        usage = ""
    if "--no-kiosk" in usage:
        cmd.append("--no-kiosk")
    return cmd


def run_viewer(cmd, env=None):
    """Runs a viewer until its window is closed (or Ctrl-C); its exit status."""
    p = subprocess.Popen(cmd, env=env)
    try:
        return p.wait()
    except KeyboardInterrupt:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        return 0


def stop_on_signal(signum, frame):
    raise KeyboardInterrupt


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", default="demo-run",
                        help="where the PKI, state, logs and images go (recreated)")
    parser.add_argument("--headless", action="store_true",
                        help="capture the screen even when a display is available")
    parser.add_argument("--cold", action="store_true",
                        help="snapshot the guests shut off, so that each user's "
                             "desktop boots (slower; what the tests exercise)")
    parser.add_argument("--keep", action="store_true",
                        help="keep broker, gateway and guests running until Ctrl-C "
                             "(log in yourself with the printed credentials)")
    args = parser.parse_args()
    top_src = os.environ.get("top_srcdir", os.path.dirname(here))
    top_build = os.environ.get("top_builddir", top_src)

    def log(msg):
        print(f"demo: {msg}", flush=True)

    # SIGTERM stops everything as Ctrl-C does: the guests, the broker and
    # the gateway must not outlive the demo.
    signal.signal(signal.SIGTERM, stop_on_signal)
    work = deployment.make_workdir(args.workdir)
    d = brokerdeploy.BrokerDeployment(work, top_src, top_build, log=log)
    try:
        log("making the PKI with paprika-certs")
        d.make_pki()
        # The shared pool reverts to a snapshot of the running desktop: no
        # user waits for a boot, the first one included.
        d.define_guests(running=not args.cold)
        d.add_user(brokerdeploy.DEMO_USER, brokerdeploy.DEMO_PASSWORD, "staff")
        d.add_user("helpdesk", "paprika-helpdesk", "helpdesk")
        log("users: demo (pool office), helpdesk (helpdesk role)")
        d.start_gateway()
        d.start_broker()
        portal = f"https://127.0.0.1:{d.broker_port}"
        ca = os.path.join(d.pki, "ca", "ca-cert.pem")
        log(f"portal: {portal}/ (the office login page; API under /api/v1; "
            f"CA: {ca})")
        log(f"demo credentials: user {brokerdeploy.DEMO_USER}, "
            f"password {brokerdeploy.DEMO_PASSWORD}")

        t0 = time.time()
        token = d.login()
        log(f"logged in as demo in {time.time() - t0:.2f}s")
        last = [None]

        def progress(body):
            step = f"{body['progress']}% {body['step']}"
            if step != last[0]:
                log(f"  desktop: {step}")
                last[0] = step
        vv_text = d.connect(token, vv=True, progress=progress)
        log(f"desktop ready {time.time() - t0:.2f}s after login")
        vv = os.path.join(work, "console.vv")
        with open(vv, "w") as f:
            f.write(vv_text)
        os.chmod(vv, 0o600)

        client = client_command(top_build, portal, ca)
        if args.keep:
            # Ctrl-C or SIGTERM may come as soon as the line is out.
            try:
                if client:
                    log("log in with paprika-client: " + " ".join(client))
                log("running; press Ctrl-C to stop everything")
                signal.pause()
            except KeyboardInterrupt:
                pass
            return 0
        if os.environ.get("DISPLAY") and not args.headless:
            if client:
                log(f"opening paprika-client on {portal} as user "
                    f"{brokerdeploy.DEMO_USER}: the password is the demo password, "
                    f"{brokerdeploy.DEMO_PASSWORD}; close its window to stop")
                # Its own configuration directory: the demo's broker and user
                # do not go into the user's ~/.config/paprika/client.conf.
                env = dict(os.environ,
                           XDG_CONFIG_HOME=os.path.abspath(os.path.join(work, "client-config")))
                run_viewer(client, env)
                return 0
            if shutil.which("remote-viewer"):
                log("paprika-client was not built: opening the desktop in "
                    "remote-viewer with the broker's .vv; close its window to stop")
                run_viewer(["remote-viewer", vv])
                return 0
            log("neither paprika-client nor remote-viewer is here (scripts/deps.sh)")

        why = "no display" if not os.environ.get("DISPLAY") else (
            "--headless" if args.headless else "no viewer")
        log(f"{why}: capturing the desktop through the gateway "
            "with spicy-screenshot")
        conn = d.connect(token)
        shot = os.path.join(work, "through-gateway.ppm")
        png = os.path.join(work, "through-gateway.png")
        started = time.time()
        ok, out = d.spicy_capture(conn, shot)
        if not ok:
            log(f"spicy-screenshot failed: {out}")
            log(f"logs: {d.broker_log}, {d.gateway_log}")
            return 1
        helpdesk = d.login("helpdesk", "paprika-helpdesk")
        status, sessions, _ = d.api("GET", "/api/v1/sessions", token=helpdesk)
        desk = sessions["sessions"][0]["desktop"]
        own = os.path.join(work, "guest-own.png")
        d.guest_screenshot(helpdesk, desk, own)
        a, b = images.read_image(shot), images.read_image(own)
        images.write_png(png, *a)
        same, how = images.same_screen(a, b, cursor=True)
        log(f"captured {a[0]}x{a[1]} of {desk} through the gateway in "
            f"{time.time() - started:.1f}s: "
            + (f"the guest's drawn screen ({how})" if same else
               f"NOT the guest's drawn screen: {how}"))
        status, body, _ = d.api("POST", "/api/v1/logout", token=token)
        log(f"logged out: {body.get('sessions_ended')} session ended, "
            f"{desk} goes back to the pool reverted to its snapshot")
        if not same:
            log(f"the capture is not the desktop the guest drew (its own "
                f"screenshot: {own}); logs: {d.broker_log}, {d.gateway_log}")
            return 1
        print(f"screenshot: {os.path.abspath(png)}")
        return 0
    except (deployment.DeploymentError, brokerdeploy.ApiError) as e:
        log(f"error: {e}")
        log(f"logs: {d.broker_log}, {d.gateway_log}")
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the cleanup finish
        d.stop()


if __name__ == "__main__":
    sys.exit(main())
