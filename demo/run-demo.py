"""The Paprika demo (README command 1): a small real deployment on loopback.

Two demo guests in a shared pool under libvirt's embedded QEMU driver,
paprika-brokerd and paprika-gatewayd, and a demo user. The demo logs in
through the broker's API, connects, and shows the desktop in remote-viewer
with the broker's .vv file, or, with no display, captures it through the
gateway and prints "screenshot: PATH" last.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

import brokerdeploy
import deployment
import images


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", default="demo-run",
                        help="where the PKI, state, logs and images go (recreated)")
    parser.add_argument("--headless", action="store_true",
                        help="capture the screen even when a display is available")
    parser.add_argument("--keep", action="store_true",
                        help="keep broker, gateway and guests running until Ctrl-C "
                             "(log in yourself with the printed credentials)")
    args = parser.parse_args()
    top_src = os.environ.get("top_srcdir", os.path.dirname(here))
    top_build = os.environ.get("top_builddir", top_src)

    def log(msg):
        print(f"demo: {msg}", flush=True)

    work = deployment.make_workdir(args.workdir)
    d = brokerdeploy.BrokerDeployment(work, top_src, top_build, log=log)
    try:
        log("making the PKI with paprika-certs")
        d.make_pki()
        d.define_guests()
        d.add_user(brokerdeploy.DEMO_USER, brokerdeploy.DEMO_PASSWORD, "staff")
        d.add_user("helpdesk", "paprika-helpdesk", "helpdesk")
        log("users: demo (pool office), helpdesk (helpdesk role)")
        d.start_gateway()
        d.start_broker()
        portal = f"https://127.0.0.1:{d.broker_port}"
        log(f"broker API and portal: {portal}/api/v1 "
            f"(CA: {os.path.join(d.pki, 'ca', 'ca-cert.pem')})")
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

        if args.keep:
            log("running; press Ctrl-C to stop everything")
            try:
                signal.pause()
            except KeyboardInterrupt:
                pass
            return 0
        if os.environ.get("DISPLAY") and not args.headless:
            log("opening the desktop in remote-viewer with the broker's .vv; "
                "close its window to stop")
            subprocess.run(["remote-viewer", vv])
            return 0

        log("no display: capturing the desktop through the gateway "
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
        diff = images.compare(a, b)
        log(f"captured {a[0]}x{a[1]} of {desk} through the gateway in "
            f"{time.time() - started:.1f}s; "
            + ("identical to the guest's own screenshot" if diff == 0 else
               f"{diff} pixel(s) differ from the guest's own screenshot"))
        status, body, _ = d.api("POST", "/api/v1/logout", token=token)
        log(f"logged out: {body.get('sessions_ended')} session ended, "
            f"{desk} goes back to the pool reverted to its snapshot")
        print(f"screenshot: {os.path.abspath(png)}")
        return 0 if diff == 0 else 1
    except (deployment.DeploymentError, brokerdeploy.ApiError) as e:
        log(f"error: {e}")
        log(f"logs: {d.broker_log}, {d.gateway_log}")
        return 1
    finally:
        d.stop()


if __name__ == "__main__":
    sys.exit(main())
