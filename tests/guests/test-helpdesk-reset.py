# SPDX-License-Identifier: ISC
"""Reset from the helpdesk console reboots a real guest, and the board shows
it: headless Debian chromium under Selenium at 1280x720, against a real
deployment (broker, gateway, a QEMU demo guest whose screen is a banner).

demo's session runs on desk-1, whose thumbnail on the board shows the
banner. The helpdesk clicks Reset on its row and confirms (the confirmation
names demo); libvirt's reboot event for desk-1 comes through the broker's
event stream (QEMU reset the machine: a reset keeps the domain running, so
no lifecycle state changes), the row shows the reboot as it happens, and
the guest's screen comes back: a thumbnail fetched after the reboot shows
the banner again, as does the broker's screenshot route. Page screenshots
are kept in the work directory."""

import base64
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, run_deployment,  # noqa: E402
                     top_builddir, top_srcdir, wait_until)
from ssestream import EventStream  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402
from images import describe, read_image, read_png, shows_banner  # noqa: E402

from webdriver import Browser, missing_tools, nss_home  # noqa: E402

ROW = 'tr[data-key="office/desk-1"]'
# Each thumbnail the row loads, as the PNG a canvas gives of it at its own
# size, with the time it loaded.
WATCH = """
    const img = document.querySelector(args[0] + ' img.thumb');
    window.thumbs = [];
    const keep = () => {
      if (!img.naturalWidth) return;
      const c = document.createElement('canvas');
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      c.getContext('2d').drawImage(img, 0, 0);
      window.thumbs.push([Date.now(), c.toDataURL('image/png')]);
    };
    img.addEventListener('load', keep);
    if (img.complete) keep();"""


def shot(d, b, name):
    path = b.screenshot(os.path.join(d.work, f"helpdesk-reset-{name}.png"))
    note(f"screenshot: {path}")


def thumbs_since(b, t):
    """The thumbnails loaded at t (ms) or after, decoded."""
    got = b.evaluate("return window.thumbs.filter(x => x[0] >= args[0]).map(x => x[1]);", t)
    return [read_png(base64.b64decode(u.split(",", 1)[1])) for u in got]


def steps(d):
    missing = missing_tools()
    if missing:
        check(False, "chromium, chromedriver and certutil are installed", missing)
        return
    d.make_pki()
    d.define_guests()
    d.add_user("demo", "demo-password", "staff")
    d.add_user("helper", "helper-password", "helpdesk")
    d.start_gateway()
    d.conf_text = d.broker_config()
    d.start_broker()
    demo = d.login("demo", "demo-password")
    conn = d.connect(demo)
    check(conn.get("host") is not None, "demo's desktop desk-1 is ready", sorted(conn))
    helper = d.login("helper", "helper-password")
    b = Browser(nss_home(d.work, os.path.join(d.pki, "ca", "ca-cert.pem")),
                os.path.join(d.work, "chromedriver.log"), width=1280, height=720)
    try:
        b.goto(f"https://127.0.0.1:{d.broker_port}/")
        b.wait("#login-form")
        b.fill("#username", "helper")
        b.fill("#password", "helper-password")
        b.click("#login-button")
        b.wait("#user-name", re="^helper$")
        b.problems()    # the portal's own, before its login (401 /me)
        b.goto(f"https://127.0.0.1:{d.broker_port}/portal/helpdesk.html")
        b.wait("#live", re="^Live$")
        b.wait(f"{ROW} .user", re="^demo$")
        b.evaluate(WATCH, ROW)
        b.until("return window.thumbs.length > 0;", timeout=30, what="desk-1's thumbnail")
        before = thumbs_since(b, 0)
        check(before and shows_banner(before[-1]), "desk-1's thumbnail on the board shows the "
              "guest's banner", [describe(x) for x in before])
        shot(d, b, "before")
        ev = EventStream(d.broker_port, d.tls_context(), helper)
        b.click(f'{ROW} button[aria-label="Reset desk-1"]')
        text = b.wait("#confirm-text")
        check(all(x in text for x in ("Reset", "desk-1", "demo")),
              "Reset asks for a confirmation that names demo", text)
        shot(d, b, "confirm")
        b.click("#confirm-ok")
        e = wait_until(lambda: next((x for x in ev.events if x[1] == "domain" and
                                   x[2]["domain"]["name"] == "desk-1" and
                                   x[2]["domain"].get("rebooted")), None), 30)
        ev.close()
        check(e is not None, "libvirt's reboot event for desk-1 comes through the broker's "
              "event stream: the guest really rebooted", [x[2] for x in ev.events])
        state = b.wait(f"{ROW}[data-rebooted] .power", re="rebooted", timeout=10)
        check(True, "the row shows the reboot live", state)
        shot(d, b, "rebooted")
        since = e[2]["time"] if e else 0
        back = b.until(f"return window.thumbs.some(x => x[0] >= {since});", timeout=60,
                       what="a thumbnail after the reboot")
        banner = None
        if back:
            banner = wait_until(lambda: next((x for x in thumbs_since(b, since)
                                            if shows_banner(x)), None), 60)
        check(banner is not None, "the guest's screen comes back: a thumbnail fetched after "
              "the reboot shows the banner again",
              [describe(x) for x in thumbs_since(b, since)])
        path = os.path.join(d.work, "desk-1-after.png")

        def route_banner():
            d.guest_screenshot(helper, "desk-1", path)
            return shows_banner(read_image(path))
        # A frame right after the reset can still hold the old screen while
        # the BIOS has not drawn yet: the guest's boot is what is waited for.
        check(wait_until(route_banner, 60, 1), "and so does the broker's screenshot route",
              describe(read_image(path)))
        _, body, _ = d.api("GET", "/api/v1/audit?action=reset", token=helper)
        check(body["audit"] and body["audit"][0]["actor"] == "helper" and
              body["audit"][0]["result"] == "ok", "the reset is audited as the helpdesk's",
              body["audit"][:1])
        shot(d, b, "after")
        problems = [p for p in b.problems() if "favicon.ico" not in p]
        check(not problems, "no console error or CSP violation", problems)
    finally:
        b.close()


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-helpdesk-reset."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, steps)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
