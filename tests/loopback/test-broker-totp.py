# SPDX-License-Identifier: ISC
"""paprika-brokerd's second factor (RFC 6238 TOTP) through its login API,
with local users (the users file) and a PAM user (pam_wrapper, as in
pamwrap.py), libvirt's test driver standing in for the hosts.
Codes are computed here with Python's hmac: an implementation of its own.

- paprika-users enrols a user (prints the otpauth:// URI, a QR code and
  ten recovery codes); the state holds the secret sealed, not in clear.
- An enrolled user's login without a code gets 401 totp_required; the
  right code logs in; the same code again is refused (a replay), as is an
  older one; a newer one within the window logs in.
- A recovery code logs in once; the second time it is refused.
- A wrong code fails like a wrong password: 401 after login_fail_delay,
  counted by the throttle, so that after the free failures even the right
  code waits (429).
- Enrolment through the API (the portal's routes): a secret and its QR
  code (SVG), a wrong first code refused, the right one gives recovery
  codes and the second factor is asked from then on.
- totp_groups and a pool's totp = required: a member not yet enrolled gets
  an enrolment-only login (403 totp_enrol_required elsewhere) until the
  enrolment is confirmed, which makes it a full login.
- paprika-users totp remove: back to the password alone.
- Neither the audit log nor the broker's log holds a secret or a code."""

import base64
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
import pamwrap  # noqa: E402
from paprikatest import (check, hotp, import_demo, note, run_deployment,  # noqa: E402
                     top_builddir, top_srcdir)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

FAIL_DELAY = 2.0        # the broker's default login_fail_delay
PERIOD = 30


def secret_of(uri):
    u = urllib.parse.urlparse(uri)
    q = urllib.parse.parse_qs(u.query)
    s = q["secret"][0]
    return base64.b32decode(s + "=" * (-len(s) % 8))


class Factor:
    """A user's authenticator: the next code not used yet (waiting for the
    clock when the window is used up)."""

    def __init__(self, secret):
        self.secret, self.last = secret, -1

    def step_now(self):
        return int(time.time()) // PERIOD

    def fresh(self):
        step = max(self.last + 1, self.step_now())
        while step > self.step_now() + 1:
            time.sleep(1)
        self.last = step
        return hotp(self.secret, step)


class Api:
    """Logins from a fresh loopback address each, so that the address keys
    of the throttle stay apart."""

    def __init__(self, d):
        self.d, self.n = d, 10

    def source(self):
        self.n += 1
        return f"127.0.{self.n // 250 + 20}.{self.n % 250 + 1}"

    def login(self, user, password, code=None):
        body = {"username": user, "password": password}
        if code is not None:
            body["totp"] = code
        t0 = time.monotonic()
        st, out, _ = self.d.api("POST", "/api/v1/login", body, source=self.source())
        return st, out, time.monotonic() - t0


def error_code(body):
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


def users(d, *args):
    return subprocess.run([os.path.join(top_builddir, "paprika-users"), "-c",
                           d.broker_conf, *args], capture_output=True, text=True)


def enrol_with_paprika_users(d, user):
    r = users(d, "totp", "enroll", user)
    check(r.returncode == 0, f"paprika-users totp enroll {user} exits 0", r.stderr)
    uris = re.findall(r"otpauth://totp/\S+", r.stdout)
    codes = re.findall(r"^  ([a-z2-7]{5}-[a-z2-7]{5})$", r.stdout, re.M)
    check(len(uris) == 1 and f"Paprika:{user}" in urllib.parse.unquote(uris[0]),
          "it prints the otpauth:// URI with the user's label", r.stdout[:300])
    check("\u2580" in r.stdout or "\u2584" in r.stdout,
          "and a QR code drawn in the terminal", r.stdout[:300])
    check(len(set(codes)) == 10, "and ten different recovery codes", codes)
    return Factor(secret_of(uris[0])), codes


def broker_conf(d, limits):
    extra = ("pam_service = paprika\n"
             "totp = optional\n"
             f"totp_key = {d.totp_key}\n"
             "totp_groups = secure\n")
    vault = """[pool vault]
title = Vault
kind = shared
host = local
guests = test
groups = vault
totp = required

"""
    return d.test_driver_config(extra=extra, sections=f"[limits]\n{limits}\n" + vault,
                                assign="alice=test")


def check_paprika_users(d, api, secrets):
    st, body, _ = api.login("alice", "alice-pw")
    check(st == 200 and body.get("totp_enrol") is False,
          "totp = optional: alice, not enrolled, logs in with her password", (st, body))
    f, codes = enrol_with_paprika_users(d, "alice")
    secrets += [f.secret, *codes]
    rows = d.state('SELECT "user", secret, confirmed FROM totp')
    rec = d.state('SELECT hash FROM totp_recovery WHERE "user" = \'alice\'')
    b32 = base64.b32encode(f.secret).decode().rstrip("=")
    check(len(rows) == 1 and rows[0][0] == "alice" and rows[0][2] == "1",
          "the state has alice's second factor, confirmed", rows)
    blob = repr(rows) + repr(rec)
    check(f.secret.hex() not in blob and b32 not in blob and b32.lower() not in blob and
          f.secret.decode("latin-1") not in blob,
          "and not her secret in clear (hex, base32 or raw)", rows)
    check(len(rec) == 10 and not any(x.replace("-", "") in blob for x in codes),
          "ten recovery codes, stored hashed", rec)
    r = users(d, "totp", "status", "ALICE")
    check(r.returncode == 0 and "enrolled, 10 recovery codes left" in r.stdout,
          "paprika-users totp status knows her in any case", r.stdout + r.stderr)
    r = users(d, "totp", "enroll", "alice")
    check(r.returncode == 1 and "has a second factor" in r.stderr,
          "a second enrol is refused while one exists", r.stderr)
    return f, codes


def check_login(d, api, f):
    st, body, _ = api.login("alice", "alice-pw")
    check(st == 401 and error_code(body) == "totp_required",
          "alice without a code: 401 totp_required", (st, body))
    st, body, _ = api.login("alice", "wrong-pw")
    check(st == 401 and error_code(body) == "login_failed",
          "a wrong password without a code: login_failed, not totp_required", (st, body))
    code = f.fresh()
    st, body, _ = api.login("alice", "alice-pw", code)
    check(st == 200 and body.get("user") == "alice" and body.get("token"),
          "alice with the right code logs in", (st, body))
    st, out, _ = d.api("GET", "/api/v1/desktops", token=body.get("token"))
    check(st == 200, "and the login is a full one", (st, out))
    st, body, took = api.login("alice", "alice-pw", code)
    check(st == 401 and error_code(body) == "login_failed",
          "the same code again is refused (a replay)", (st, body))
    check(took >= FAIL_DELAY * 0.95,
          f"after login_fail_delay ({FAIL_DELAY:.0f} s), as a wrong password", took)
    older = hotp(f.secret, f.last - 1)
    st, body, _ = api.login("alice", "alice-pw", older)
    check(st == 401, "an older code within the window is refused too", (st, body))
    st, body, _ = api.login("alice", "alice-pw", f.fresh())
    check(st == 200, "a newer code logs in", (st, body))
    st, body, _ = api.login("alice", "alice-pw", "12345")
    check(st == 401 and error_code(body) == "login_failed", "a malformed code fails",
          (st, body))
    st, body, _ = api.login("alice", "alice-pw", f.fresh())
    check(st == 200, "(and the next right code clears the failure)", (st, body))


def check_recovery(d, api, codes):
    code = codes[3].upper()
    st, body, _ = api.login("alice", "alice-pw", code)
    check(st == 200, "a recovery code (in upper case) logs alice in", (st, body))
    st, body, _ = api.login("alice", "alice-pw", codes[3])
    check(st == 401 and error_code(body) == "login_failed",
          "the same recovery code a second time is refused", (st, body))
    st, body, _ = api.login("alice", "alice-pw", codes[4].replace("-", ""))
    check(st == 200, "another one (without its dash) logs in", (st, body))
    r = users(d, "totp", "status", "alice")
    check("8 recovery codes left" in r.stdout, "two are used up", r.stdout)


def check_api_enrolment(d, api, secrets):
    st, body, _ = api.login("bob", "bob-pw")
    check(st == 200 and body.get("totp_enrol") is False, "bob logs in (not enrolled)",
          (st, body))
    token = body.get("token")
    st, stat, _ = d.api("GET", "/api/v1/totp", token=token)
    check(st == 200 and stat == {"enrolled": False, "required": False,
                                 "recovery_codes_left": 0},
          "GET /api/v1/totp: not enrolled, not required", (st, stat))
    st, en, _ = d.api("POST", "/api/v1/totp/enroll", token=token)
    check(st == 200 and en.get("uri", "").startswith("otpauth://totp/Paprika:bob?"),
          "POST /api/v1/totp/enroll gives an otpauth:// URI", (st, en))
    f = Factor(secret_of(en["uri"]))
    secrets.append(f.secret)
    st, svg, hdrs = d.api("GET", "/api/v1/totp/qr.svg", token=token, raw=True)
    check(st == 200 and hdrs.get("content-type", "").startswith("image/svg+xml") and
          svg.startswith(b"<svg") and b"<path" in svg and b"script" not in svg and
          b"http://" not in svg.replace(b"http://www.w3.org/2000/svg", b""),
          "its QR code is an SVG drawn by the broker (no script, no outside link)",
          (st, hdrs, svg[:120]))
    st, body, _ = api.login("bob", "bob-pw")
    check(st == 200, "an enrolment not confirmed asks nothing at login yet", (st, body))
    wrong = "%06d" % ((int(hotp(f.secret, f.step_now())) + 1) % 10**6)
    st, body, _ = d.api("POST", "/api/v1/totp/confirm", {"code": wrong}, token=token)
    check(st == 400 and error_code(body) == "wrong_code",
          "confirming with a wrong code: 400 wrong_code", (st, body))
    st, body, _ = d.api("POST", "/api/v1/totp/confirm", {"code": f.fresh()}, token=token)
    rc = body.get("recovery_codes", []) if st == 200 else []
    check(st == 200 and len(rc) == 10, "the right code confirms it, with ten recovery "
          "codes", (st, body))
    secrets += rc
    st, body, _ = d.api("POST", "/api/v1/totp/enroll", token=token)
    check(st == 409, "enrolling again is refused (409)", (st, body))
    st, body, _ = api.login("bob", "bob-pw")
    check(st == 401 and error_code(body) == "totp_required",
          "from now on bob's login asks for the code", (st, body))
    st, body, _ = api.login("bob", "bob-pw", f.fresh())
    check(st == 200, "and his code logs him in", (st, body))
    return f


def check_required(d, api, user, password, why, secrets):
    st, body, _ = api.login(user, password)
    check(st == 200 and body.get("totp_enrol") is True,
          f"{user} ({why}), not enrolled: an enrolment-only login", (st, body))
    token = body.get("token")
    st, out, _ = d.api("GET", "/api/v1/desktops", token=token)
    check(st == 403 and error_code(out) == "totp_enrol_required",
          "which may not list desktops: 403 totp_enrol_required", (st, out))
    st, stat, _ = d.api("GET", "/api/v1/totp", token=token)
    check(st == 200 and stat.get("required") is True, "GET /api/v1/totp says required",
          (st, stat))
    st, en, _ = d.api("POST", "/api/v1/totp/enroll", token=token)
    check(st == 200, "but may enrol", (st, en))
    f = Factor(secret_of(en["uri"]))
    secrets.append(f.secret)
    st, body, _ = d.api("POST", "/api/v1/totp/confirm", {"code": f.fresh()}, token=token)
    check(st == 200, "and confirm", (st, body))
    secrets += body.get("recovery_codes", [])
    st, out, _ = d.api("GET", "/api/v1/desktops", token=token)
    check(st == 200, "after which the same login is a full one", (st, out))
    st, body, _ = api.login(user, password)
    check(st == 401 and error_code(body) == "totp_required",
          "the next login asks for the code", (st, body))


def check_pam(d, api, secrets):
    f, codes = enrol_with_paprika_users(d, "pamuser")
    secrets += [f.secret, *codes]
    st, body, _ = api.login("pamuser", "pam-pw")
    check(st == 401 and error_code(body) == "totp_required",
          "a PAM user with a second factor: 401 totp_required", (st, body))
    st, body, _ = api.login("pamuser", "pam-pw", f.fresh())
    check(st == 200 and body.get("user") == "pamuser", "the PAM user's code logs in",
          (st, body))


def check_throttle(d, api, f):
    """login_free_failures = 2, login_delay = 30 s: wrong codes count, and
    the attempt after the third waits."""
    now = f.step_now()
    window = {hotp(f.secret, s) for s in range(now - 2, now + 3)}
    wrong = [c for c in ("000000", "999999", "123456", "654321") if c not in window]
    for i in range(3):
        st, body, took = api.login("bob", "bob-pw", wrong[i])
        check(st == 401 and error_code(body) == "login_failed",
              f"bob's wrong code #{i + 1}: 401", (st, body))
    st, body, _ = api.login("bob", "bob-pw", f.fresh())
    check(st == 429, "after three wrong codes even the right one waits (429): the "
          "throttle counts wrong codes as it counts wrong passwords", (st, body))


def check_remove(d, api):
    r = users(d, "totp", "remove", "alice")
    check(r.returncode == 0, "paprika-users totp remove alice", r.stderr)
    st, body, _ = api.login("alice", "alice-pw")
    check(st == 200, "alice logs in with her password alone again", (st, body))
    r = users(d, "totp", "remove", "alice")
    check(r.returncode == 1, "removing again exits 1", r.stderr)


def check_no_secrets(d, secrets):
    audit = repr(d.state("SELECT * FROM audit"))
    log = d.broker_tail(100000)
    texts = []
    for s in secrets:
        if isinstance(s, bytes):
            texts += [s.hex(), base64.b32encode(s).decode().rstrip("=")]
        else:
            texts += [s, s.replace("-", "")]
    found = [t for t in texts if t in audit or t in log or t.lower() in log.lower()]
    check(not found, "neither the audit log nor the broker's log holds a secret or a "
          "recovery code", found)
    check("recovery code used, 9 left" in audit and "second factor: code already used"
          in audit and "totp enrol" in audit,
          "the audit log records the recovery code's use, the replay and the enrolments",
          audit[-600:])


def run(d):
    d.broker_env = pamwrap.matrix_env(d.work)
    if not check(d.broker_env is not None, "pam_wrapper and nss_wrapper are installed"):
        return
    d.make_pki()
    d.add_user("alice", "alice-pw", "staff")
    d.add_user("bob", "bob-pw", "staff")
    d.add_user("carol", "carol-pw", "staff,secure")
    d.add_user("dave", "dave-pw", "vault")
    d.add_user("helper", "helper-password", "helpdesk")
    d.stop_broker()
    d.conf_text = broker_conf(d, "login_free_failures = 2\nlogin_delay = 30s\n")
    d.start_broker()
    api, secrets = Api(d), []
    f, codes = check_paprika_users(d, api, secrets)
    check_login(d, api, f)
    check_recovery(d, api, codes)
    bob = check_api_enrolment(d, api, secrets)
    check_required(d, api, "carol", "carol-pw", "group secure in totp_groups", secrets)
    check_required(d, api, "dave", "dave-pw", "pool vault has totp = required", secrets)
    check_pam(d, api, secrets)
    check_throttle(d, api, bob)
    check_remove(d, api)
    check_no_secrets(d, secrets)


def main():
    pamwrap.lock()
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-totp."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, run)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
