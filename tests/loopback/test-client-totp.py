# SPDX-License-Identifier: ISC
"""paprika-client --headless and the broker's second factor (TOTP), against
the real broker on libvirt's test driver (the login is what is tested: no
guest runs, so the client stops at the desktop after it). Codes are
computed here with Python's hmac.

- Without a code the client says the broker asks for one, and exits 7.
- A wrong code: exit 2, "Wrong user name, password or code."
- The right code, as the second line of the password input, logs in: the
  broker's audit log records the login with its second factor.
- A user the policy requires who has not enrolled is told to enrol in the
  web portal (exit 2)."""

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
from paprikatest import (check, hotp, import_demo, note, run_deployment,  # noqa: E402
                     top_builddir, top_srcdir)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

CLIENT = os.path.join(top_builddir, "paprika-client")


def client(d, user, stdin):
    args = [CLIENT, "--headless", "--screenshot", os.path.join(d.work, "shot.png"),
            "--timeout", "20", "--broker", f"https://127.0.0.1:{d.broker_port}",
            "--user", user, "--ca", os.path.join(d.pki, "ca", "ca-cert.pem")]
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(d.work, "config"))
    env.pop("DISPLAY", None)
    r = subprocess.run(args, input=stdin, text=True, capture_output=True, env=env,
                       timeout=60)
    note(f"{user}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
    return r


def last_login(d, user):
    rows = d.state("SELECT result, detail FROM audit WHERE actor = ? AND action = "
                   "'login' ORDER BY id DESC LIMIT 1", (user,))
    return rows[0] if rows else None


def run(d):
    d.make_pki()
    d.add_user("gil", "gil-pw", "staff")
    d.add_user("hal", "hal-pw", "secure")
    d.conf_text = d.test_driver_config(
        extra=f"totp = optional\ntotp_key = {d.totp_key}\ntotp_groups = secure\n",
        assign="gil=test")
    d.start_broker()
    r = subprocess.run([os.path.join(top_builddir, "paprika-users"), "-c", d.broker_conf,
                        "totp", "enroll", "gil"], capture_output=True, text=True)
    uri = re.search(r"otpauth://\S+", r.stdout).group(0)
    s = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    secret = base64.b32decode(s + "=" * (-len(s) % 8))

    r = client(d, "gil", "gil-pw\n")
    check(r.returncode == 7 and "code your authenticator app shows" in r.stderr,
          "without a code the client says the broker asks for one (exit 7)", r.stderr)
    step = int(time.time()) // 30
    window = {hotp(secret, x) for x in range(step - 2, step + 3)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in window)
    r = client(d, "gil", f"gil-pw\n{wrong}\n")
    check(r.returncode == 2 and "Wrong user name, password or code." in r.stderr,
          "a wrong code: exit 2, wrong user name, password or code", r.stderr)
    r = client(d, "gil", f"gil-pw\n{hotp(secret, int(time.time()) // 30)}\n")
    row = last_login(d, "gil")
    check(r.returncode not in (2, 7) and row and row[0] == "ok" and
          "second factor: code" in row[1],
          "the right code on the second line logs in (the audit log has the login)",
          (r.returncode, row))
    r = client(d, "hal", "hal-pw\n")
    check(r.returncode == 2 and "web portal" in r.stderr,
          "a user who must enrol first is sent to the web portal (exit 2)", r.stderr)


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-client-totp."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, run)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
