"""The Paprika demo: a real guest behind paprika-gatewayd (README command 1)."""

import argparse
import os
import subprocess
import sys
import time

import deployment


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", default="demo-run",
                        help="where the PKI, logs and images go (recreated)")
    parser.add_argument("--headless", action="store_true",
                        help="capture the screen even when a display is available")
    args = parser.parse_args()
    top_src = os.environ.get("top_srcdir", os.path.dirname(here))
    top_build = os.environ.get("top_builddir", top_src)

    def log(msg):
        print(f"demo: {msg}", flush=True)

    work = deployment.make_workdir(args.workdir)
    d = deployment.Deployment(work, top_src, top_build, log=log)
    try:
        log("making the PKI with paprika-certs")
        d.make_pki()
        log("starting the demo guest (libvirt embedded QEMU driver, SPICE TLS only)")
        d.start_guest()
        d.start_gateway()
        d.new_spice_password(valid_seconds=600)
        log("set a fresh SPICE password on the live guest, valid 10 minutes")
        t = d.ticket(ttl=600)
        log(f"minted a gateway ticket for user demo, session {t['session']}")
        vv = os.path.join(work, "paprika-demo.vv")
        d.write_vv(vv, t["ticket"])
        log(f"wrote {vv}")
        if os.environ.get("DISPLAY") and not args.headless:
            log("opening the desktop in remote-viewer; close its window to stop")
            subprocess.run(["remote-viewer", vv])
            return 0
        log("no display: capturing the guest screen through the gateway "
            "with spicy-screenshot")
        shot = os.path.join(work, "through-gateway.ppm")
        png = os.path.join(work, "through-gateway.png")
        started = time.time()
        ok, out = d.spicy_screenshot(shot, t["ticket"])
        if not ok:
            log(f"spicy-screenshot failed: {out}")
            log(f"gateway log: {d.gateway_log}")
            return 1
        diff, size, _ = d.compare_with_guest(shot, png)
        log(f"captured {size[0]}x{size[1]} through the gateway in "
            f"{time.time() - started:.1f}s; "
            + ("identical to the guest's own screendump" if diff == 0 else
               f"{diff} pixel(s) differ from the guest's own screendump"))
        with open(d.gateway_log) as f:
            tunnels = [line.rstrip() for line in f if " tunnel " in line]
        if tunnels:
            log("the gateway's log of that session:")
            for line in tunnels:
                print("  " + line)
        print(f"screenshot: {os.path.abspath(png)}")
        return 0 if diff == 0 else 1
    except (deployment.DeploymentError, deployment.guestmod.GuestError) as e:
        log(f"error: {e}")
        return 1
    finally:
        d.stop()


if __name__ == "__main__":
    sys.exit(main())
