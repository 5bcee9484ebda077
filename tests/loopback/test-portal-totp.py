# SPDX-License-Identifier: ISC
"""The portal's second factor in a real browser: headless Debian chromium
driven by Selenium and chromedriver (tests/lib/webdriver.py), HTTPS with the
deployment's CA trusted, against the real broker (libvirt's test driver
for its host: no guest runs). Codes are computed here with Python's hmac.

- erin (totp = optional) signs in, is offered two-factor sign-in, scans
  the QR code the broker drew (an image that loads under the page's CSP),
  confirms with the code and sees ten recovery codes once.
- Signing in again asks for the code after the password; the code gets
  her in.
- fay (in totp_groups) signs in and is shown the enrolment at once,
  before any desktop.
- No console error or CSP violation on the way."""

import base64
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, finish, hotp, import_demo, note, top_builddir, top_srcdir  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402
from webdriver import Browser, missing_tools, nss_home  # noqa: E402


def login(b, user, password):
    b.fill("#username", user)
    b.fill("#password", password)
    b.click("#login-button")


def run(d, b):
    base = f"https://127.0.0.1:{d.broker_port}/"
    ok, r = b.try_("goto", base)
    check(ok and r["status"] == 200, "the portal loads", r)
    b.wait("#login-form")

    # --- erin enrols from the portal ---------------------------------------
    login(b, "erin", "erin-pw")
    ok, msg = b.try_("wait", "#totp-offer")
    check(ok, "signed in, erin is offered two-factor sign-in", msg)
    b.click("#totp-offer")
    b.click("#enrol-start")
    ok, msg = b.try_("wait", "#enrol-secret", re="[A-Z2-7]{4}")
    check(ok, "setting up shows the key", msg)
    loaded = False
    for _ in range(50):
        loaded = b.evaluate("const i = document.getElementById('enrol-qr');"
                            " return i.complete && i.naturalWidth > 0;")
        if loaded:
            break
        time.sleep(0.2)
    check(loaded, "and the QR code the broker drew loads as an image", loaded)
    secret = b.text("#enrol-secret").replace(" ", "")
    secret = base64.b32decode(secret + "=" * (-len(secret) % 8))
    step = int(time.time()) // 30
    b.fill("#enrol-code", hotp(secret, step))
    b.click("#enrol-button")
    ok, msg = b.try_("wait", "#enrol-done")
    check(ok, "the code from the app confirms it", msg)
    codes = b.evaluate("return Array.from(document.querySelectorAll('#recovery-codes li'))"
                       ".map(e => e.textContent);")
    check(len(codes or []) == 10, "and ten recovery codes are shown", codes)
    b.click("#enrol-continue")
    ok, msg = b.try_("wait", "#desktops-title")
    check(ok, "continue leads to her desktops", msg)
    ok, msg = b.try_("wait", "#totp-offer", hidden=True)
    check(ok, "and the offer is gone", msg)

    # --- erin signs in with the code -----------------------------------------
    b.click("#logout")
    b.wait("#login-form")
    login(b, "erin", "erin-pw")
    ok, msg = b.try_("wait", "#totp", re="")
    check(ok, "after the password the portal asks for the code", msg)
    ok, msg = b.try_("wait", "#login-error", re="code")
    check(ok, "and says so", msg)
    b.fill("#totp", hotp(secret, max(step + 1, int(time.time()) // 30)))
    b.click("#login-button")
    ok, msg = b.try_("wait", "#user-name", re="erin")
    check(ok, "the code signs her in", msg)
    ok, msg = b.try_("wait", "#desktops-title")
    check(ok, "to her desktops", msg)
    b.click("#logout")
    b.wait("#login-form")

    # --- fay must enrol first -----------------------------------------------
    login(b, "fay", "fay-pw")
    ok, msg = b.try_("wait", "#enrol-why", re="needs a second factor")
    check(ok, "fay (totp_groups) is shown the enrolment first", msg)
    ok, msg = b.try_("wait", "#app", hidden=True)
    check(ok, "and no desktops", msg)
    problems = b.problems(http_errors=False)
    check(not problems, "no console errors or CSP violations", problems)


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-portal-totp."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    b = None
    try:
        missing = missing_tools()
        if not check(not missing, "chromium, chromedriver and certutil are installed",
                     f"run scripts/deps.sh: {missing}"):
            return finish()
        d.make_pki()
        d.add_user("erin", "erin-pw", "staff")
        d.add_user("fay", "fay-pw", "staff,secure")
        d.conf_text = d.test_driver_config(
            extra=f"totp = optional\ntotp_key = {d.totp_key}\ntotp_groups = secure\n",
            assign="erin=test")
        d.start_broker()
        b = Browser(nss_home(work, os.path.join(d.pki, "ca", "ca-cert.pem")),
                    os.path.join(work, "chromedriver.log"), network=True)
        note(f"chromium {b.version}")
        run(d, b)
    except Exception as e:  # a failed step is a failed test, with the logs
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        print("# broker log:\n# " + d.broker_tail(30).replace("\n", "\n# "))
    finally:
        if b is not None:
            b.close()
        d.stop()
    return finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
