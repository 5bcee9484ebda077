"""End to end: a real QEMU guest with SPICE TLS behind paprika-gatewayd, and
real SPICE clients (stock spicy-screenshot and remote-viewer) through it.
What reaches the client must equal the guest's own screendump."""

import os
import signal
import struct
import subprocess
import sys
import time

top_srcdir = os.environ.get("top_srcdir", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
top_builddir = os.environ.get("top_builddir", top_srcdir)
sys.path.insert(0, os.path.join(top_srcdir, "demo"))

try:
    import deployment
    import images
except ImportError as e:  # python3-libvirt missing: scripts/deps.sh installs it
    print(f"not ok - cannot import the demo modules: {e}")
    sys.exit(1)

results = []


def check(ok, what, detail=""):
    results.append(bool(ok))
    print(f"{'ok' if ok else 'not ok'} - {what}" + (f": {detail}" if detail and not ok else ""),
          flush=True)
    return ok


def log_lines(d, needle):
    with open(d.gateway_log) as f:
        return [line for line in f if needle in line]


def read_xwd(path):
    """(width, height, RGB) of a 24/32-bit ZPixmap xwd dump of the root window."""
    with open(path, "rb") as f:
        data = f.read()
    h = struct.unpack(">25I", data[:100])
    header_size, fmt, width, height = h[0], h[2], h[4], h[5]
    byte_order, bpp, bpl, ncolors = h[7], h[11], h[12], h[19]
    if fmt != 2 or bpp not in (24, 32):
        raise images.ImageError(f"unsupported xwd: format {fmt}, {bpp} bpp")
    step = bpp // 8
    pixels = data[header_size + 12 * ncolors:]
    rgb = bytearray(width * height * 3)
    for y in range(height):
        row = pixels[y * bpl:y * bpl + width * step]
        out = rgb[y * width * 3:(y + 1) * width * 3]
        if byte_order == 0:  # LSB first: B G R [X]
            out[0::3], out[1::3], out[2::3] = row[2::step], row[1::step], row[0::step]
        else:                # [X] R G B
            base = step - 3
            out[0::3], out[1::3], out[2::3] = row[base::step], row[base + 1::step], row[base + 2::step]
        rgb[y * width * 3:(y + 1) * width * 3] = out
    return width, height, bytes(rgb)


def find_subimage(big, small):
    """Where small appears pixel for pixel inside big, or None."""
    bw, bh, bp = big
    sw, sh, sp = small
    # Anchor on a row with the banner in it, then check every row.
    anchor = next((y for y in range(sh) if len(set(sp[y * sw * 3:(y + 1) * sw * 3:3])) > 1), 0)
    needle = sp[anchor * sw * 3:(anchor + 1) * sw * 3]
    for y in range(anchor, bh - (sh - anchor) + 1):
        row = bp[y * bw * 3:(y + 1) * bw * 3]
        x = row.find(needle)
        while x != -1:
            if x % 3 == 0:
                x0, y0 = x // 3, y - anchor
                if all(bp[((y0 + r) * bw + x0) * 3:((y0 + r) * bw + x0 + sw) * 3] ==
                       sp[r * sw * 3:(r + 1) * sw * 3] for r in range(sh)):
                    return x0, y0
            x = row.find(needle, x + 1)
    return None


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
        found, session = None, None
        deadline = time.time() + 45
        xwd = os.path.join(work, "x-root.xwd")
        while time.time() < deadline and found is None:
            time.sleep(1)
            sessions = [s for s in d.gateway_sessions() if s["session"] == t["session"]]
            if not sessions:
                continue
            session = sessions[0]
            subprocess.run(["xwd", "-root", "-silent", "-out", xwd], env=env, check=False)
            if os.path.exists(xwd):
                found = find_subimage(read_xwd(xwd), own)
        check(session is not None and len(session["tunnels"]) >= 3,
              "remote-viewer opened its SPICE channels through the gateway",
              f"session: {session}")
        if found is None and os.path.exists(xwd):
            images.write_png(os.path.join(work, "x-root.png"), *read_xwd(xwd))
        check(found is not None,
              "remote-viewer shows the guest's screen pixel for pixel",
              f"the guest's screen is not in the X screenshot {work}/x-root.png")
        # A helpdesk revoke drops the session's tunnels at once.
        out = subprocess.run([os.path.join(top_builddir, "paprikactl"), "-s", d.control,
                              "revoke", "--session", t["session"]],
                             capture_output=True, text=True)
        time.sleep(0.5)
        left = [s for s in d.gateway_sessions() if s["session"] == t["session"]]
        check(out.returncode == 0 and not left,
              "revoking the session closes remote-viewer's tunnels", out.stderr + str(left))
    finally:
        if viewer is not None:
            viewer.send_signal(signal.SIGTERM)
            try:
                viewer.wait(5)
            except subprocess.TimeoutExpired:
                viewer.kill()
        xvfb.terminate()
        xvfb.wait()


def main():
    for tool in ("spicy-screenshot", "remote-viewer", "Xvfb", "xwd", "unshare"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            print(f"not ok - {tool} is not installed (scripts/deps.sh installs it)")
            return 1
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
                diff, size, own = d.compare_with_guest(shot)
                check(diff == 0, f"{listener}: the capture equals the guest's own screendump",
                      f"{diff} pixels differ (capture {size}, guest {own})")
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
    failed = results.count(False)
    print(f"{results.count(True)} passed, {failed} failed")
    if failed:
        print(f"# work directory kept: {work}")
    else:
        subprocess.run(["rm", "-rf", work])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
