# SPDX-License-Identifier: ISC
"""The web portal in a real browser: headless Debian chromium, driven by
Selenium and chromedriver (tests/lib/webdriver.py), against a real deployment
(broker, gateway, QEMU guests), over HTTPS with the deployment's CA trusted
through an NSS database: certificate errors are not ignored.

A wrong password and the login throttle show their messages; demo logs in,
connects (progress, then a console.vv download fetched with the anti-CSRF
header), ends the session and logs
out, and resets the desktop from its card (the office pool allows users
to: user_reset = yes); helper sees demo's live session (connected by remote-viewer under Xvfb),
disconnects it and ends it, and sees the audit log."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, finish, import_demo, note, top_builddir, top_srcdir, wait_until  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402
from webdriver import Browser, missing_tools, nss_home  # noqa: E402

DEMO_PW, HELPER_PW = "demo-pass-1", "helper-pass-1"
CARD = '.card[data-id="office"]'
# A throttle that the second or third wrong password reaches.
LIMITS = """[limits]
login_free_failures = 1
login_delay = 5s
login_delay_max = 5s
"""


def need_tools():
    """Fails (not skips) when a tool is missing: scripts/deps.sh installs them."""
    ok = True
    for tool in ("Xvfb", "remote-viewer"):
        ok &= bool(check(shutil.which(tool), f"{tool} is installed", "run scripts/deps.sh"))
    missing = missing_tools()
    ok &= bool(check("certutil" not in missing, "certutil is installed", "run scripts/deps.sh"))
    browser = [m for m in missing if m != "certutil"]
    ok &= bool(check(not browser, "chromium and chromedriver are installed",
                     f"run scripts/deps.sh: {browser}"))
    return ok


def session_of(d, helper, user):
    _, body, _ = d.api("GET", "/api/v1/sessions", token=helper)
    mine = [s for s in body.get("sessions", []) if s["user"] == user]
    return mine[0] if mine else None


def main():
    if not need_tools():
        return finish()
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-portal."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir,
                                      log=lambda m: print(f"# {m}", flush=True))
    procs, b = [], None
    try:
        d.make_pki()
        d.define_guests()
        d.add_user("demo", DEMO_PW, "staff")
        d.add_user("helper", HELPER_PW, "helpdesk")
        d.start_gateway()
        conf = d.broker_config("user_reset = yes\n") + LIMITS
        d.conf_text = conf
        d.start_broker()
        b = Browser(nss_home(work, os.path.join(d.pki, "ca", "ca-cert.pem")),
                    os.path.join(work, "chromedriver.log"), network=True)
        note(f"chromium {b.version}")
        run(d, b, procs)
    except Exception as e:  # a failed step is a failed test, with the logs
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        print("# broker log:\n# " + d.broker_tail(30).replace("\n", "\n# "))
    finally:
        if b is not None:
            b.close()
        for p in reversed(procs):
            p.kill()
            p.wait()
        d.stop()
    return finish()


def run(d, b, procs):
    base = f"https://127.0.0.1:{d.broker_port}/"

    # --- the page loads over verified TLS, with its own files only -------
    ok, r = b.try_("goto", base)
    check(ok and r["status"] == 200, "the portal loads over HTTPS with the deployment CA trusted", r)
    check(ok and "default-src 'self'" in r["headers"].get("content-security-policy", ""),
          "the page comes with its Content-Security-Policy", r)
    ok, err = b.try_("wait", "#login-form")
    check(ok, "without a login the page shows the login form", err)

    # --- wrong password, then the throttle --------------------------------
    b.fill("#username", "demo")
    b.fill("#password", "not-the-password")
    b.click("#login-button")
    ok, msg = b.try_("wait", "#login-error", re="wrong user name or password")
    check(ok, "a wrong password shows 'wrong user name or password'", msg)
    ok = False
    for _ in range(3):
        b.fill("#password", "not-the-password")
        b.click("#login-button")
        # A failure is answered login_fail_delay (2 s, plus jitter) later,
        # the button disabled meanwhile; a refusal at once.
        ok, msg = b.try_("wait", "#login-error", re=r"try again in \d+ seconds", timeout=4)
        if ok:
            break
    check(ok, "the throttle's 429 shows 'try again in N seconds'", msg)
    check(b.text("#app") is None, "a failed login shows no desktops")
    time.sleep(6)  # the throttle's delay

    # --- demo logs in and sees the office desktop ---------------------------
    b.fill("#username", "demo")
    b.fill("#password", DEMO_PW)
    b.click("#login-button")
    ok, name = b.try_("wait", "#user-name", re="^demo$")
    check(ok, "after login the page shows the user's name", name)
    ok, state = b.try_("wait", f"{CARD} .badge", re="^available$")
    check(ok, "the Office desktop card is shown as available", state)
    jar = b.driver.get_cookies()
    check([(c["name"], c["secure"], c["path"], c["httpOnly"]) for c in jar] ==
          [("__Host-paprika_session", True, "/", True)],
          "the browser keeps one login cookie: __Host-paprika_session, Secure, "
          "Path=/, HttpOnly", jar)
    ok, title = b.try_("wait", f"{CARD} h3", re="^Office desktop$")
    check(ok, "the card shows the pool's title", title)
    check(b.text("#helpdesk") is None, "a staff user sees no helpdesk tables")
    check(b.text(f"{CARD} button.reset") is None,
          "without a session the card has no Reset button", b.text(CARD))

    # --- connect: progress, then console.vv --------------------------------
    b.expect_download()
    b.click(f"{CARD} button.connect")
    steps = "creating the desktop|desktop assigned|waiting for the host|starting the desktop|waiting for SPICE"
    ok, step = b.try_("wait", f"{CARD} progress + .step", re=steps, timeout=60)
    check(ok,
          "while the desktop starts the card shows a progress bar and the broker's step", step)
    ok, dl = b.try_("download")
    text = dl["text"] if ok else ""
    # Fetched with the anti-CSRF header, then saved from a blob: a plain
    # link cannot carry the header, so the broker would refuse it.
    check(ok and dl["name"] == "console.vv" and dl["url"].startswith(f"blob:{base[:-1]}"),
          "once ready the page downloads console.vv (fetched with its header, saved "
          "from a blob)", dl)
    check(all(k in text for k in ("[virt-viewer]", "host=pk.", "tls-port=", "password=")),
          "the download is a virt-viewer file with host=pk., tls-port and password", text[:300])
    ok, msg = b.try_("wait", "#notice", re="remote-viewer")
    check(ok, "the page tells the user to open it with remote-viewer", msg)
    ok, state = b.try_("wait", f"{CARD} .badge", re="^(ready|connected)$")
    check(ok, "the card then shows the session's state", state)
    ok, err = b.try_("wait", f"{CARD} button.end")
    check(ok, "and an End session button", err)
    shot = os.path.join(d.work, "portal-user.png")
    b.screenshot(shot)
    print(f"# screenshot of demo's page: {shot}", flush=True)

    # --- reset the desktop from its card (user_reset = yes) ------------------
    helper = d.login("helper", HELPER_PW)

    def resets():
        st, body, _ = d.api("GET", "/api/v1/audit?user=demo&limit=50", token=helper)
        if st != 200:
            raise brokerdeploy.ApiError(st, body)
        return [a for a in body["audit"] if a["action"] == "reset"]

    ok, err = b.try_("wait", f"{CARD} button.reset", re="^Reset$")
    check(ok, "with a session on a pool with user_reset = yes the card has a Reset button", err)
    session_before = session_of(d, helper, "demo")
    b.try_("click", f"{CARD} button.reset")
    ok, asked = b.try_("dialog", accept=False)
    time.sleep(2)
    check(ok and "Unsaved work" in asked and not resets(),
          "Reset asks for confirmation, and a No resets nothing", (asked, resets()))
    ok, err = b.try_("click", f"{CARD} button.reset")
    if ok:
        ok, err = b.try_("dialog", accept=True)
    check(ok, "Reset can be clicked again", err)
    ok, note_ = b.try_("wait", f"{CARD} .card-note", re="reset", timeout=30)
    check(ok and b.text(f"{CARD} .error") is None,
          "a confirmed Reset says on the card that the desktop was reset",
          (note_, b.text(f"{CARD} .error")))
    done = resets()
    check(len(done) == 1 and done[0]["actor"] == "demo" and done[0]["result"] == "ok" and
          done[0]["target"].startswith("office/"),
          "the broker's audit log has one reset of an office desktop by demo, ok", done)
    after = session_of(d, helper, "demo")
    check(session_before and after and after["id"] == session_before["id"],
          "the session outlives the reset", (session_before, after))

    # --- end the session, log out -----------------------------------------
    b.click(f"{CARD} button.end")
    ok, state = b.try_("wait", f"{CARD} .badge", re="^available$", timeout=30)
    check(ok and b.text(f"{CARD} button.end") is None,
          "End session returns the desktop to available, without an End button", state)
    b.click("#logout")
    ok, err = b.try_("wait", "#login-form")
    check(ok and b.text("#app") is None, "logout returns to the login form", err)
    st = b.evaluate("return fetch('/api/v1/me').then(r => r.status);")
    check(st == 401, "after logout GET /api/v1/me in the page gives 401", st)
    b.goto(base)
    ok, err = b.try_("wait", "#login-form")
    check(ok, "a reload after logout still shows the login form", err)

    # --- demo connects with remote-viewer; helper sees and acts on it --------
    token = d.login("demo", DEMO_PW)
    vv = d.connect(token, vv=True)
    vv_path = os.path.join(d.work, "demo.vv")
    with open(vv_path, "w") as f:
        f.write(vv)
    display = next(f":{n}" for n in range(90, 140)
                   if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"))
    procs.append(subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_until(lambda: os.path.exists(f"/tmp/.X11-unix/X{display[1:]}"), 5, 0.05)
    procs.append(subprocess.Popen(["remote-viewer", vv_path], env=dict(os.environ, DISPLAY=display),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    s = wait_until(lambda: (lambda x: x if x and x["state"] == "connected" else None)(
        session_of(d, helper, "demo")), 60, 0.5)
    if not check(s, "remote-viewer connects demo's session", session_of(d, helper, "demo")):
        return
    row = f'#sessions tr[data-session="{s["id"]}"]'

    b.fill("#username", "helper")
    b.fill("#password", HELPER_PW)
    b.click("#login-button")
    ok, err = b.try_("wait", "#sessions")
    check(ok, "helper sees the Live sessions table", err)
    ok, txt = b.try_("wait", row, re=r"demo.*office.*connected.*127\.0\.0\.1")
    check(ok, "it lists demo's session: user, desktop, pool, state and source", txt)
    ok, err = b.try_("wait", "#audit tbody tr")
    check(ok and "connect" in (b.text("#audit") or ""), "helper sees the audit log", err)
    shot = os.path.join(d.work, "portal-helpdesk.png")
    b.screenshot(shot)
    print(f"# screenshot of the helpdesk view: {shot}", flush=True)

    b.click(f"{row} button.disconnect")
    ok, state = b.try_("wait", f"{row} .badge", re="^disconnected$", timeout=20)
    s2 = session_of(d, helper, "demo")
    check(ok and s2 and s2["state"] == "disconnected",
          "Disconnect drops the client: the session shows disconnected", (state, s2))

    b.click(f"{row} button.end-session")
    ok, asked = b.try_("dialog", accept=False)
    time.sleep(2)
    check(ok and "demo" in asked and session_of(d, helper, "demo"),
          "End asks for confirmation, and a No keeps the session", (asked, session_of(d, helper, "demo")))
    b.click(f"{row} button.end-session")
    b.dialog(accept=True)
    ok, err = b.try_("wait", row, hidden=True, timeout=20)
    check(ok and session_of(d, helper, "demo") is None, "a confirmed End ends the session", err)
    problems = b.problems(http_errors=False)
    check(not problems, "no script errors or CSP violations in the page", problems)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
