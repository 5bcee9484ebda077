# SPDX-License-Identifier: ISC
"""The portal's "Open in browser": the desktop in a browser tab through the
gateway's WebSocket listener, drawn by spice-html5.

A real deployment: one QEMU guest (the demo boot sector, SPICE TLS only,
which echoes the keys typed on its row 22), the real gateway with
listen_ws (the portal's origin allowed, SPICE TLS to the guest verified)
and the real broker (pool browser = yes). Headless Debian chromium under
Selenium and chromedriver (tests/lib/webdriver.py) logs demo in to the
portal and clicks "Open in browser": the console tab shows the pool's
title, and its canvas becomes the guest's own screenshot (the broker's
screenshot route) pixel for pixel. Keys typed into the canvas reach the
guest: its screen shows one more character cell per key, and the canvas
matches it again. The helpdesk disconnects the session and the page says
so; Reconnect brings the desktop back; a logout in the portal's tab
closes every WebSocket tunnel (the gateway's metrics) and the console says
the login ended. The gateway restarted with a wrong spice_subject for the
host refuses the guest, and the console says why. No CSP violation is
logged. Each page's screenshot is kept in the work directory."""

import base64
import os
import re as regexp
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, finish, import_demo, note, top_builddir, top_srcdir, wait_until  # noqa: E402
from webdriver import Browser, BrowserError, missing_tools, nss_home  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
import images  # noqa: E402
from deployment import free_port, make_workdir  # noqa: E402

DEMO_PW, HELPER_PW = "demo-pass-1", "helper-pass-1"
CARD = '.card[data-id="office"]'
CANVAS = "#screen canvas"
TYPED = "paprika13"
KEYS_ROW = 22                      # the demo guest echoes keys on this row
WRONG_SUBJECT = "O=Paprika test,CN=not-this-host"

# The canvas's pixels as [width, height, base64 of RGB].
CANVAS_JS = """
const c = document.querySelector(args[0]);
if (!c || !c.width) return null;
const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
let s = "";
for (let i = 0; i < d.length; i += 4)
  s += String.fromCharCode(d[i], d[i + 1], d[i + 2]);
return [c.width, c.height, btoa(s)];
"""


def canvas(b):
    r = b.evaluate(CANVAS_JS, CANVAS)
    return (r[0], r[1], base64.b64decode(r[2])) if r else None


def guest_screen(d, helper):
    st, body, _ = d.api("GET", "/api/v1/pools/office/desktops/desk-1/screenshot",
                        token=helper, raw=True)
    if st != 200:
        raise brokerdeploy.ApiError(st, body)
    return images.read_png(body)


def typed_cells(img):
    """How many cells of the guest's key row are not plain background (the
    colour of the screen's top left pixel)."""
    w, _, px = img
    blue = px[0:3]
    y0 = KEYS_ROW * images.CELL_H
    n = 0
    for col in range(w // images.CELL_W):
        x0 = col * images.CELL_W
        if any(px[((y0 + y) * w + x0 + x) * 3:((y0 + y) * w + x0 + x) * 3 + 3] != blue
               for y in range(images.CELL_H) for x in range(images.CELL_W)):
            n += 1
    return n


def same_as_guest(d, b, helper, want_typed=None, timeout=60):
    """Waits until the canvas is the guest's own screen pixel for pixel
    (and the guest's key row holds want_typed cells); (ok, why)."""
    last = ["nothing compared"]

    def matches():
        g = guest_screen(d, helper)
        if want_typed is not None and typed_cells(g) != want_typed:
            last[0] = f"the guest's key row has {typed_cells(g)} cells typed"
            return None
        c = canvas(b)
        if c is None:
            last[0] = "no canvas"
            return None
        ok, why = images.same_screen(c, g, names=("the page's canvas", "the guest's screen"))
        last[0] = why
        return (c, g) if ok else None
    got = wait_until(matches, timeout, 0.5)
    return got, last[0]


def gateway_metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    m = regexp.search(rf"^{regexp.escape(name)} (\d+)$", text, regexp.M)
    return int(m.group(1)) if m else None


def seen(b, sel, re, timeout):
    """The text of sel once it matches re, or None (a failed check, not
    the end of the test)."""
    try:
        return b.wait(sel, re=re, timeout=timeout)
    except BrowserError as e:
        note(e)
        return None


def shot(b, d, name, what):
    path = b.screenshot(os.path.join(d.work, name))
    print(f"# screenshot of {what}: {path}", flush=True)


def csp_problems(b):
    return [p for p in b.problems() if "Content Security Policy" in p or "Refused to" in p]


def run(d, b, metrics_port, gw_conf):
    base = f"https://127.0.0.1:{d.broker_port}/"
    helper = d.login("helper", HELPER_PW)

    # --- the portal offers the browser next to the .vv ----------------------
    b.goto(base)
    b.fill("#username", "demo")
    b.fill("#password", DEMO_PW)
    b.click("#login-button")
    b.wait("#user-name", re="^demo$")
    text = b.wait(f"{CARD} #browser-office", re="^Open in browser$")
    check(text and b.text(f"{CARD} button.connect"),
          "the desktop card offers Open in browser beside its Connect (.vv)", text)
    shot(b, d, "portal-card.png", "the portal's desktop card")

    # --- the console: the pool's title, then the desktop ------------------
    console, portal = b.new_window(f"{CARD} #browser-office")
    check("/portal/console.html?desktop=office" in b.driver.current_url and
          "ticket" not in b.driver.current_url and "password" not in b.driver.current_url,
          "Open in browser opens the console page in a new tab; its address names the "
          "desktop and holds no ticket or password", b.driver.current_url)
    state = b.wait("#state", re="^Connected$", timeout=180)
    check(state, "the console connects to the desktop", state)
    check(b.text("#title") == "Office desktop" and b.driver.title.startswith("Office desktop"),
          "the console shows the pool's title", (b.text("#title"), b.driver.title))
    got, why = same_as_guest(d, b, helper)
    check(got, "the page's canvas is the guest's own screenshot, pixel for pixel", why)
    before = got[1] if got else None
    shot(b, d, "console-desktop.png", "the desktop in the console")
    opened = gateway_metric(metrics_port,
                            'paprika_gateway_tunnels_opened_total{listener="ws"}')
    check(opened and opened >= 3,
          "the gateway opened one WebSocket tunnel per SPICE channel", opened)

    # --- keys typed into the page reach the guest ---------------------------
    b.click(CANVAS)
    b.type_into(CANVAS, TYPED)
    got, why = same_as_guest(d, b, helper, want_typed=len(TYPED))
    check(got and before and got[1] != before,
          f"the {len(TYPED)} keys typed in the page show on the guest's screen, "
          "and the canvas matches it again, pixel for pixel", why)
    shot(b, d, "console-typed.png", "the console after typing")
    check(b.text("#cad") is not None and b.text("#disconnect") is not None,
          "the console has Ctrl+Alt+Del and Disconnect buttons")

    # --- the helpdesk disconnects the session -------------------------------
    st, body, _ = d.api("GET", "/api/v1/sessions", token=helper)
    sess = [s for s in body.get("sessions", []) if s.get("user") == "demo"]
    st, body, _ = d.api("POST", f"/api/v1/sessions/{sess[0]['id']}/disconnect", token=helper)
    check(st == 200, "the helpdesk disconnects demo's session", body)
    why = seen(b, "#ended-why", "helpdesk disconnected", 30)
    check(why, "the console says the helpdesk disconnected the session", why)
    shot(b, d, "console-helpdesk.png", "the console after the helpdesk's disconnect")

    # --- Reconnect ------------------------------------------------------------
    b.click("#reconnect")
    state = seen(b, "#state", "^Connected$", 60)
    got, why = same_as_guest(d, b, helper, want_typed=len(TYPED))
    check(state and got, "Reconnect brings the desktop back, the canvas the guest's screen",
          (state, why))

    # --- logout in the portal closes the WebSocket tunnels ------------------
    tunnels = gateway_metric(metrics_port, "paprika_gateway_tunnels")
    check(tunnels and tunnels >= 3, "while connected the gateway relays the console's "
          "WebSocket tunnels", tunnels)
    b.switch(portal)
    b.click("#logout")
    b.wait("#login-form")
    left = wait_until(lambda: gateway_metric(metrics_port, "paprika_gateway_tunnels") == 0,
                    30, 0.2)
    check(left, "the logout closes every tunnel: the gateway relays none",
          gateway_metric(metrics_port, "paprika_gateway_tunnels"))
    b.switch(console)
    why = seen(b, "#ended-why", "login has ended", 30)
    check(why, "the console says the login ended", why)
    shot(b, d, "console-logout.png", "the console after the logout")
    problems = csp_problems(b)
    check(not problems, "no CSP violation in the console's log", problems)

    # --- a gateway that does not trust the guest's certificate subject ------
    d.stop_gateway()
    d.start_gateway(gw_conf.replace(f"spice_subject = {d.host_subject}",
                                    f"spice_subject = {WRONG_SUBJECT}"))
    b.switch(portal)
    b.fill("#username", "demo")
    b.fill("#password", DEMO_PW)
    b.click("#login-button")
    b.wait("#user-name", re="^demo$")
    # The logout ended the session: the shared guest is reverted first.
    b.wait(f"{CARD} .badge", re="^available$", timeout=120)
    b.switch(console)
    b.click("#reconnect")
    why = seen(b, "#ended-why", "gateway refused", 180)
    check(why and "spice_subject" in why and d.host_subject.split(",")[-1] in why,
          "with a wrong spice_subject the gateway refuses, and the console says why", why)
    shot(b, d, "console-wrong-subject.png", "the console refused by the gateway")
    problems = csp_problems(b)
    check(not problems, "still no CSP violation in the console's log", problems)


def main():
    missing = missing_tools()
    if missing:
        check(False, "chromium, chromedriver and certutil are installed (scripts/deps.sh)", missing)
        return finish()
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-portal-browser."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    b = None
    try:
        d.make_pki()
        d.define_guests()
        d.add_user("demo", DEMO_PW, "staff")
        d.add_user("helper", HELPER_PW, "helpdesk")
        metrics_port = free_port()
        gw_conf = f"metrics_listen = 127.0.0.1:{metrics_port}\n" + d.browser_gateway()
        d.start_gateway(gw_conf)
        d.start_broker(pool_extra="browser = yes\n")
        b = Browser(nss_home(work, os.path.join(d.pki, "ca", "ca-cert.pem")),
                    os.path.join(work, "chromedriver.log"))
        note(f"chromium {b.version}")
        run(d, b, metrics_port, gw_conf)
    except (BrowserError, brokerdeploy.ApiError, Exception) as e:
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        note(d.broker_tail(30))
    finally:
        if b is not None:
            try:
                shot(b, d, "last-page.png", "the last page")
            except Exception:
                pass
            b.close()
        d.stop()
    return finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
