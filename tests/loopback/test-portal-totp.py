# SPDX-License-Identifier: ISC
"""The portal's second factor in a real browser: headless Debian chromium
over its DevTools protocol (the Browser of test-portal.py), HTTPS with the
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
import importlib.util
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

HERE = os.path.dirname(os.path.abspath(__file__))


def portal_module():
    """tests/guests/test-portal.py, for its browser (the portal against
    real guests is its test; this one needs only the test driver)."""
    spec = importlib.util.spec_from_file_location(
        "portal_test", os.path.join(HERE, "..", "guests", "test-portal.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def login(b, user, password):
    b("fill", sel="#username", value=user)
    b("fill", sel="#password", value=password)
    b("click", sel="#login-button")


def run(d, b):
    base = f"https://127.0.0.1:{d.broker_port}/"
    ok, r = b.try_("goto", url=base)
    check(ok and r["status"] == 200, "the portal loads", r)
    b("wait", sel="#login-form")

    # --- erin enrols from the portal ---------------------------------------
    login(b, "erin", "erin-pw")
    ok, msg = b.try_("wait", sel="#totp-offer")
    check(ok, "signed in, erin is offered two-factor sign-in", msg)
    b("click", sel="#totp-offer")
    b("click", sel="#enrol-start")
    ok, msg = b.try_("wait", sel="#enrol-secret", re="[A-Z2-7]{4}")
    check(ok, "setting up shows the key", msg)
    loaded = False
    for _ in range(50):
        loaded = b("evaluate", js="(() => { const i = document.getElementById('enrol-qr');"
                   " return i.complete && i.naturalWidth > 0; })()")
        if loaded:
            break
        time.sleep(0.2)
    check(loaded, "and the QR code the broker drew loads as an image", loaded)
    secret = b("text", sel="#enrol-secret").replace(" ", "")
    secret = base64.b32decode(secret + "=" * (-len(secret) % 8))
    step = int(time.time()) // 30
    b("fill", sel="#enrol-code", value=hotp(secret, step))
    b("click", sel="#enrol-button")
    ok, msg = b.try_("wait", sel="#enrol-done")
    check(ok, "the code from the app confirms it", msg)
    codes = b("evaluate", js="Array.from(document.querySelectorAll('#recovery-codes li'))"
              ".map(e => e.textContent)")
    check(len(codes or []) == 10, "and ten recovery codes are shown", codes)
    b("click", sel="#enrol-continue")
    ok, msg = b.try_("wait", sel="#desktops-title")
    check(ok, "continue leads to her desktops", msg)
    ok, msg = b.try_("wait", sel="#totp-offer", hidden=True)
    check(ok, "and the offer is gone", msg)

    # --- erin signs in with the code -----------------------------------------
    b("click", sel="#logout")
    b("wait", sel="#login-form")
    login(b, "erin", "erin-pw")
    ok, msg = b.try_("wait", sel="#totp", re="")
    check(ok, "after the password the portal asks for the code", msg)
    ok, msg = b.try_("wait", sel="#login-error", re="code")
    check(ok, "and says so", msg)
    b("fill", sel="#totp", value=hotp(secret, max(step + 1, int(time.time()) // 30)))
    b("click", sel="#login-button")
    ok, msg = b.try_("wait", sel="#user-name", re="erin")
    check(ok, "the code signs her in", msg)
    ok, msg = b.try_("wait", sel="#desktops-title")
    check(ok, "to her desktops", msg)
    b("click", sel="#logout")
    b("wait", sel="#login-form")

    # --- fay must enrol first -----------------------------------------------
    login(b, "fay", "fay-pw")
    ok, msg = b.try_("wait", sel="#enrol-why", re="needs a second factor")
    check(ok, "fay (totp_groups) is shown the enrolment first", msg)
    ok, msg = b.try_("wait", sel="#app", hidden=True)
    check(ok, "and no desktops", msg)
    problems = b("problems")
    check(not problems, "no console errors or CSP violations", problems)


def main():
    portal = portal_module()
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-portal-totp."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    b = None
    try:
        if not check(os.access(portal.CHROMIUM, os.X_OK), f"{portal.CHROMIUM} is installed",
                     "run scripts/deps.sh"):
            return finish()
        d.make_pki()
        d.add_user("erin", "erin-pw", "staff")
        d.add_user("fay", "fay-pw", "staff,secure")
        d.conf_text = d.test_driver_config(
            extra=f"totp = optional\ntotp_key = {d.totp_key}\ntotp_groups = secure\n",
            assign="erin=test")
        d.start_broker()
        blog = open(os.path.join(work, "browser.log"), "w")
        b = portal.Browser(portal.CHROMIUM, portal.nss_home(d), blog)
        note(b("launch"))
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
