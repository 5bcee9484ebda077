# SPDX-License-Identifier: ISC
"""The web portal in a real browser: headless Debian chromium, driven over
its DevTools protocol on a pipe (Python only), against a real deployment
(broker, gateway, QEMU guests), over HTTPS with the deployment's CA trusted
through an NSS database: certificate errors are not ignored.

A wrong password and the login throttle show their messages; demo logs in,
connects (progress, then a console.vv download fetched with the anti-CSRF
header), ends the session and logs
out, and resets the desktop from its card (the office pool allows users
to: user_reset = yes); helper sees demo's live session (connected by remote-viewer under Xvfb),
disconnects it and ends it, and sees the audit log."""

import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, finish, import_demo, note, top_builddir, top_srcdir, wait_until  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

CHROMIUM = os.environ.get("PAPRIKA_CHROMIUM", "/usr/bin/chromium")
DEMO_PW, HELPER_PW = "demo-pass-1", "helper-pass-1"
CARD = '.card[data-id="office"]'
# A throttle that the second or third wrong password reaches.
LIMITS = """[limits]
login_free_failures = 1
login_delay = 5s
login_delay_max = 5s
"""


class BrowserError(Exception):
    pass


class Browser:
    """Headless chromium over the DevTools protocol on a pipe (fds 3 and 4,
    NUL-ended JSON messages): b(op, **kw) runs op_<op>."""

    def __init__(self, executable, home, log):
        r_in, w_in = os.pipe()     # we write, chromium reads on fd 3
        r_out, w_out = os.pipe()   # chromium writes on fd 4, we read
        hi_in, hi_out = fcntl.fcntl(r_in, fcntl.F_DUPFD, 10), fcntl.fcntl(w_out, fcntl.F_DUPFD, 10)

        def fds():
            os.dup2(hi_in, 3)
            os.dup2(hi_out, 4)
        self.downloads_dir = os.path.join(home, "downloads")
        os.makedirs(self.downloads_dir)
        self.proc = subprocess.Popen(
            [executable, "--headless", "--remote-debugging-pipe", f"--user-data-dir={home}/profile",
             "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "about:blank"],
            env=dict(os.environ, HOME=home), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            preexec_fn=fds, pass_fds=(3, 4))
        for fd in (r_in, w_out, hi_in, hi_out):
            os.close(fd)
        self.w, self.r = w_in, r_out
        self.lock, self.cond = threading.Lock(), threading.Condition()
        self.next_id, self.replies, self.loads, self.doc = 0, {}, 0, None
        self.downloads, self.dialog_log, self.problem_log = {}, [], []
        self.accept_dialogs, self.session = True, None
        threading.Thread(target=self._reader, daemon=True).start()

    def _send(self, method, params=None, session=True):
        with self.lock:
            self.next_id += 1
            mid = self.next_id
            msg = {"id": mid, "method": method, "params": params or {}}
            if session and self.session:
                msg["sessionId"] = self.session
            os.write(self.w, json.dumps(msg).encode() + b"\0")
        return mid

    def cdp(self, method, params=None, session=True, timeout=30):
        mid = self._send(method, params, session)
        with self.cond:
            if not self.cond.wait_for(lambda: mid in self.replies or self.proc.poll() is not None,
                                      timeout):
                raise BrowserError(f"{method}: no answer in {timeout}s")
            if mid not in self.replies:
                raise BrowserError(f"chromium exited ({self.proc.returncode})")
            r = self.replies.pop(mid)
        if "error" in r:
            raise BrowserError(f"{method}: {r['error'].get('message')}")
        return r.get("result", {})

    def _reader(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self.r, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self.cond:
                    self.cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                self._event(json.loads(raw))

    def _event(self, m):
        method, p = m.get("method"), m.get("params", {})
        with self.cond:
            if "id" in m:
                self.replies[m["id"]] = m
            elif method == "Page.javascriptDialogOpening":
                self.dialog_log.append(p.get("message"))
                self._send("Page.handleJavaScriptDialog", {"accept": self.accept_dialogs})
            elif method == "Page.loadEventFired":
                self.loads += 1
            elif method == "Network.responseReceived" and p.get("type") == "Document":
                self.doc = p["response"]
            elif method == "Browser.downloadWillBegin":
                self.downloads[p["guid"]] = {"url": p["url"], "name": p["suggestedFilename"]}
            elif method == "Browser.downloadProgress" and p["guid"] in self.downloads:
                self.downloads[p["guid"]]["state"] = p["state"]
            elif method == "Runtime.exceptionThrown":
                self.problem_log.append("exception: " + json.dumps(p["exceptionDetails"])[:300])
            elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
                self.problem_log.append("console.error: " + json.dumps(p.get("args"))[:300])
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error" and \
                    not p["entry"]["text"].startswith("Failed to load resource"):
                # CSP violations land here; the API's 401s and 404s do not count.
                self.problem_log.append("log: " + p["entry"]["text"])
            self.cond.notify_all()

    def __call__(self, op, **kw):
        return getattr(self, "op_" + op)(**kw)

    def try_(self, op, **kw):
        """(True, value) or (False, error text): for checks that may fail."""
        try:
            return True, self(op, **kw)
        except BrowserError as e:
            return False, str(e)

    def op_launch(self):
        version = self.cdp("Browser.getVersion", session=False)["product"]
        self.cdp("Browser.setDownloadBehavior", {"behavior": "allowAndName", "eventsEnabled": True,
                                                 "downloadPath": self.downloads_dir}, session=False)
        target = self.cdp("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.cdp("Target.attachToTarget", {"targetId": target, "flatten": True},
                                session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.cdp(domain + ".enable")
        self.cdp("Emulation.setDeviceMetricsOverride",
                 {"width": 1100, "height": 800, "deviceScaleFactor": 1, "mobile": False})
        return version

    def op_goto(self, url):
        loads, self.doc = self.loads, None
        self.cdp("Page.navigate", {"url": url})
        with self.cond:
            if not self.cond.wait_for(lambda: self.loads > loads, 30):
                raise BrowserError(f"{url} did not load")
        doc = self.doc or {}
        return {"status": doc.get("status"),
                "headers": {k.lower(): v for k, v in doc.get("headers", {}).items()}}

    def op_evaluate(self, js):
        r = self.cdp("Runtime.evaluate", {"expression": js, "awaitPromise": True,
                                          "returnByValue": True})
        if "exceptionDetails" in r:
            raise BrowserError(r["exceptionDetails"].get("exception", {}).get("description")
                               or r["exceptionDetails"].get("text"))
        return r["result"].get("value")

    def _find(self, sel, js):
        return self.op_evaluate(f"(() => {{ const e = document.querySelector({json.dumps(sel)});"
                                f" const vis = !!e && e.offsetParent !== null; {js} }})()")

    def op_fill(self, sel, value):
        if not self._find(sel, "if (vis) { e.focus(); e.select(); } return vis;"):
            raise BrowserError(f"fill {sel}: no such visible field")
        self.cdp("Input.insertText", {"text": value})

    def op_click(self, sel):
        at = self._find(sel, "if (!vis || e.disabled) return null; e.scrollIntoView({block: 'center'});"
                        " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2];")
        if not at:
            raise BrowserError(f"click {sel}: no such visible, enabled element")
        for kind in ("mousePressed", "mouseReleased"):
            self.cdp("Input.dispatchMouseEvent", {"type": kind, "x": at[0], "y": at[1],
                                                  "button": "left", "clickCount": 1})

    def op_text(self, sel):
        """The text of sel when it is visible, else None."""
        return self._find(sel, "return vis ? e.textContent : null;")

    def op_wait(self, sel, re=None, timeout=15000, hidden=False):
        """Until sel is visible (and its text matches re), or gone with hidden."""
        return paprikatest.wait_text(lambda: self.op_text(sel), sel, re, timeout / 1000,
                                     hidden, BrowserError)

    def op_expectDownload(self, timeout=None):
        with self.cond:
            self.downloads.clear()

    def op_download(self, dir, timeout=180):
        with self.cond:
            if not self.cond.wait_for(lambda: any(x.get("state") in ("completed", "canceled")
                                                  for x in self.downloads.values()), timeout):
                raise BrowserError(f"no download in {timeout}s")
            guid, dl = next((g, x) for g, x in self.downloads.items() if x.get("state"))
        if dl["state"] != "completed":
            raise BrowserError(f"download canceled: {dl}")
        file = os.path.join(dir, "browser-" + os.path.basename(dl["name"]))
        shutil.copy(os.path.join(self.downloads_dir, guid), file)
        with open(file, encoding="utf-8", errors="replace") as f:
            return dict(dl, file=file, text=f.read())

    def op_screenshot(self, file):
        size = self.cdp("Page.getLayoutMetrics")["cssContentSize"]
        png = self.cdp("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                  "clip": {"x": 0, "y": 0, "width": size["width"],
                                                           "height": size["height"], "scale": 1}})
        with open(file, "wb") as f:
            f.write(base64.b64decode(png["data"]))
        return file

    def op_dialogs(self, accept=None):
        with self.cond:
            if accept is not None:
                self.accept_dialogs = accept
            seen, self.dialog_log = self.dialog_log, []
        return seen

    def op_problems(self):
        with self.cond:
            seen, self.problem_log = self.problem_log, []
        return seen

    def close(self):
        try:
            self.cdp("Browser.close", session=False, timeout=5)
        except BrowserError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)


def need_tools():
    """Fails (not skips) when a tool is missing: scripts/deps.sh installs them."""
    ok = True
    for tool in ("certutil", "Xvfb", "remote-viewer"):
        ok &= bool(check(shutil.which(tool), f"{tool} is installed", "run scripts/deps.sh"))
    ok &= bool(check(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is installed", "run scripts/deps.sh"))
    return ok


def nss_home(d):
    """A HOME whose NSS database trusts the deployment's CA, and only that."""
    home = os.path.join(d.work, "browser-home")
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db)
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{db}", "-n", "Paprika test CA", "-t", "C,,",
                    "-i", os.path.join(d.pki, "ca", "ca-cert.pem")], check=True)
    return home


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
        home = nss_home(d)
        blog = open(os.path.join(work, "browser.log"), "w")
        b = Browser(CHROMIUM, home, blog)
        note(b("launch"))
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
    ok, r = b.try_("goto", url=base)
    check(ok and r["status"] == 200, "the portal loads over HTTPS with the deployment CA trusted", r)
    check(ok and "default-src 'self'" in r["headers"].get("content-security-policy", ""),
          "the page comes with its Content-Security-Policy", r)
    ok, err = b.try_("wait", sel="#login-form")
    check(ok, "without a login the page shows the login form", err)

    # --- wrong password, then the throttle --------------------------------
    b("fill", sel="#username", value="demo")
    b("fill", sel="#password", value="not-the-password")
    b("click", sel="#login-button")
    ok, msg = b.try_("wait", sel="#login-error", re="wrong user name or password")
    check(ok, "a wrong password shows 'wrong user name or password'", msg)
    ok = False
    for _ in range(3):
        b("fill", sel="#password", value="not-the-password")
        b("click", sel="#login-button")
        # A failure is answered login_fail_delay (2 s, plus jitter) later,
        # the button disabled meanwhile; a refusal at once.
        ok, msg = b.try_("wait", sel="#login-error", re=r"try again in \d+ seconds", timeout=4000)
        if ok:
            break
    check(ok, "the throttle's 429 shows 'try again in N seconds'", msg)
    check(b("text", sel="#app") is None, "a failed login shows no desktops")
    time.sleep(6)  # the throttle's delay

    # --- demo logs in and sees the office desktop ---------------------------
    b("fill", sel="#username", value="demo")
    b("fill", sel="#password", value=DEMO_PW)
    b("click", sel="#login-button")
    ok, name = b.try_("wait", sel="#user-name", re="^demo$")
    check(ok, "after login the page shows the user's name", name)
    ok, state = b.try_("wait", sel=f"{CARD} .badge", re="^available$")
    check(ok, "the Office desktop card is shown as available", state)
    jar = b.cdp("Network.getCookies", {"urls": [base]})["cookies"]
    check([(c["name"], c["secure"], c["path"], c["httpOnly"]) for c in jar] ==
          [("__Host-paprika_session", True, "/", True)],
          "the browser keeps one login cookie: __Host-paprika_session, Secure, "
          "Path=/, HttpOnly", jar)
    ok, title = b.try_("wait", sel=f"{CARD} h3", re="^Office desktop$")
    check(ok, "the card shows the pool's title", title)
    check(b("text", sel="#helpdesk") is None, "a staff user sees no helpdesk tables")
    check(b("text", sel=f"{CARD} button.reset") is None,
          "without a session the card has no Reset button", b("text", sel=CARD))

    # --- connect: progress, then console.vv --------------------------------
    b("expectDownload", timeout=180000)
    b("click", sel=f"{CARD} button.connect")
    steps = "creating the desktop|desktop assigned|waiting for the host|starting the desktop|waiting for SPICE"
    ok, step = b.try_("wait", sel=f"{CARD} progress + .step", re=steps, timeout=60000)
    check(ok,
          "while the desktop starts the card shows a progress bar and the broker's step", step)
    ok, dl = b.try_("download", dir=d.work)
    text = dl["text"] if ok else ""
    # Fetched with the anti-CSRF header, then saved from a blob: a plain
    # link cannot carry the header, so the broker would refuse it.
    check(ok and dl["name"] == "console.vv" and dl["url"].startswith(f"blob:{base[:-1]}"),
          "once ready the page downloads console.vv (fetched with its header, saved "
          "from a blob)", dl)
    check(all(k in text for k in ("[virt-viewer]", "host=pk.", "tls-port=", "password=")),
          "the download is a virt-viewer file with host=pk., tls-port and password", text[:300])
    ok, msg = b.try_("wait", sel="#notice", re="remote-viewer")
    check(ok, "the page tells the user to open it with remote-viewer", msg)
    ok, state = b.try_("wait", sel=f"{CARD} .badge", re="^(ready|connected)$")
    check(ok, "the card then shows the session's state", state)
    ok, err = b.try_("wait", sel=f"{CARD} button.end")
    check(ok, "and an End session button", err)
    shot = os.path.join(d.work, "portal-user.png")
    b("screenshot", file=shot)
    print(f"# screenshot of demo's page: {shot}", flush=True)

    # --- reset the desktop from its card (user_reset = yes) ------------------
    helper = d.login("helper", HELPER_PW)

    def resets():
        st, body, _ = d.api("GET", "/api/v1/audit?user=demo&limit=50", token=helper)
        if st != 200:
            raise brokerdeploy.ApiError(st, body)
        return [a for a in body["audit"] if a["action"] == "reset"]

    ok, err = b.try_("wait", sel=f"{CARD} button.reset", re="^Reset$")
    check(ok, "with a session on a pool with user_reset = yes the card has a Reset button", err)
    session_before = session_of(d, helper, "demo")
    b("dialogs", accept=False)
    b.try_("click", sel=f"{CARD} button.reset")
    time.sleep(2)
    asked = b("dialogs", accept=True)
    check(asked and "Unsaved work" in asked[0] and not resets(),
          "Reset asks for confirmation, and a No resets nothing", (asked, resets()))
    ok, err = b.try_("click", sel=f"{CARD} button.reset")
    check(ok, "Reset can be clicked again", err)
    ok, note_ = b.try_("wait", sel=f"{CARD} .card-note", re="reset", timeout=30000)
    check(ok and b("text", sel=f"{CARD} .error") is None,
          "a confirmed Reset says on the card that the desktop was reset",
          (note_, b("text", sel=f"{CARD} .error")))
    done = resets()
    check(len(done) == 1 and done[0]["actor"] == "demo" and done[0]["result"] == "ok" and
          done[0]["target"].startswith("office/"),
          "the broker's audit log has one reset of an office desktop by demo, ok", done)
    after = session_of(d, helper, "demo")
    check(session_before and after and after["id"] == session_before["id"],
          "the session outlives the reset", (session_before, after))

    # --- end the session, log out -----------------------------------------
    b("click", sel=f"{CARD} button.end")
    ok, state = b.try_("wait", sel=f"{CARD} .badge", re="^available$", timeout=30000)
    check(ok and b("text", sel=f"{CARD} button.end") is None,
          "End session returns the desktop to available, without an End button", state)
    b("click", sel="#logout")
    ok, err = b.try_("wait", sel="#login-form")
    check(ok and b("text", sel="#app") is None, "logout returns to the login form", err)
    st = b("evaluate", js="fetch('/api/v1/me').then(r => r.status)")
    check(st == 401, "after logout GET /api/v1/me in the page gives 401", st)
    b("goto", url=base)
    ok, err = b.try_("wait", sel="#login-form")
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

    b("fill", sel="#username", value="helper")
    b("fill", sel="#password", value=HELPER_PW)
    b("click", sel="#login-button")
    ok, err = b.try_("wait", sel="#sessions")
    check(ok, "helper sees the Live sessions table", err)
    ok, txt = b.try_("wait", sel=row, re=r"demo.*office.*connected.*127\.0\.0\.1")
    check(ok, "it lists demo's session: user, desktop, pool, state and source", txt)
    ok, err = b.try_("wait", sel="#audit tbody tr")
    check(ok and "connect" in (b("text", sel="#audit") or ""), "helper sees the audit log", err)
    shot = os.path.join(d.work, "portal-helpdesk.png")
    b("screenshot", file=shot)
    print(f"# screenshot of the helpdesk view: {shot}", flush=True)

    b("click", sel=f"{row} button.disconnect")
    ok, state = b.try_("wait", sel=f"{row} .badge", re="^disconnected$", timeout=20000)
    s2 = session_of(d, helper, "demo")
    check(ok and s2 and s2["state"] == "disconnected",
          "Disconnect drops the client: the session shows disconnected", (state, s2))

    b("dialogs", accept=False)
    b("click", sel=f"{row} button.end-session")
    time.sleep(2)
    asked = b("dialogs", accept=True)
    check(asked and "demo" in asked[0] and session_of(d, helper, "demo"),
          "End asks for confirmation, and a No keeps the session", (asked, session_of(d, helper, "demo")))
    b("click", sel=f"{row} button.end-session")
    ok, err = b.try_("wait", sel=row, hidden=True, timeout=20000)
    check(ok and session_of(d, helper, "demo") is None, "a confirmed End ends the session", err)
    problems = b("problems")
    check(not problems, "no script errors or CSP violations in the page", problems)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
