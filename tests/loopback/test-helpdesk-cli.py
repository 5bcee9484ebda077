# SPDX-License-Identifier: ISC
"""paprika-helpdesk against a real paprika-brokerd on libvirt's test driver:
login with the password on standard input and the token in a 0600 file;
each listing's --json is the API's answer (sessions, pools, a user, an
audit search with its filters, GPUs); actions (unlock, reset, disconnect
of an unknown session) with their audit records; clear errors for a
user-role login (the role it needs), a token the broker no longer knows, a
desktop that does not exist, a broker that is not there, and a CA that did
not sign the broker's certificate. Neither the password nor the token is
ever printed."""

import json
import os
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, run_deployment,  # noqa: E402
                     top_builddir, top_srcdir)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import free_port, make_workdir  # noqa: E402

TOOL = os.path.join(top_builddir, "paprika-helpdesk")
SECRETS = ["helper-password", "demo-password", "boss-password"]


def tool(d, *args, stdin="", env=None, url=None, ca=None):
    """Runs paprika-helpdesk; (exit status, stdout, stderr). Checks that
    no password and no token of this test is in what it printed."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("PAPRIKA_")}
    e["PAPRIKA_BROKER"] = url or f"https://127.0.0.1:{d.broker_port}"
    e["PAPRIKA_CA"] = ca or os.path.join(d.pki, "ca", "ca-cert.pem")
    e.update(env or {})
    r = subprocess.run([TOOL, *args], input=stdin, text=True, capture_output=True,
                       env=e, timeout=120)
    leaked = [s for s in SECRETS + d.tokens_seen if s in r.stdout + r.stderr]
    check(not leaked, f"paprika-helpdesk {' '.join(args[:3])}: prints no password "
          "or token", leaked)
    return r.returncode, r.stdout, r.stderr


def same(d, token, path, args, what, env=None):
    st, api, _ = d.api("GET", path, token=token)
    rc, out, err = tool(d, *args, env=env)
    try:
        got = json.loads(out)
    except ValueError:
        got = None
    check(rc == 0 and st == 200 and got == api, f"{what}: --json is the API's answer",
          (rc, err, got, api))
    return got


def login(d, tokfile):
    rc, out, err = tool(d, "-l", "helper", "--token-file", tokfile, "login",
                        stdin="helper-password\n")
    check(rc == 0 and os.path.exists(tokfile), "login keeps the token in the file",
          (rc, out, err))
    mode = stat.S_IMODE(os.stat(tokfile).st_mode)
    check(mode == 0o600, "the token file is 0600", oct(mode))
    with open(tokfile) as f:
        tok = f.read().strip()
    d.tokens_seen.append(tok)
    st, me, _ = d.api("GET", "/api/v1/me", token=tok)
    check(st == 200 and me["user"] == "helper", "the kept token is helper's login", me)
    rc, out, err = tool(d, "-l", "helper", "--token-file", tokfile, "login",
                        stdin="wrong\n")
    check(rc == 1 and "wrong user name, password or code" in err,
          "a wrong password says so", (rc, err))
    return tok


def listings(d, tok, admin):
    for path, args, what in (
            ("/api/v1/sessions", ["sessions"], "sessions"),
            ("/api/v1/pools", ["pools"], "the desktops board"),
            ("/api/v1/users/demo", ["user", "demo"], "the user lookup"),
            ("/api/v1/audit?user=demo&action=login&result=failed&limit=2",
             ["audit", "--user", "demo", "--action", "login", "--result", "failed",
              "--limit", "2"], "the audit search with filters"),
            ("/api/v1/audit?target=demo&since=2020-01-01", ["audit", "--target", "demo",
                                                            "--since", "2020-01-01"],
             "the audit search by target and time")):
        got = same(d, tok, path, ["--token-file", d.tokfile, "--json", *args], what)
    check(got and got["audit"], "the target search finds the unlock", got)
    rc, out, err = tool(d, "--token-file", d.tokfile, "pools")
    check(rc == 0 and "office (static): capacity 1" in out,
          "pools in words: the pool's use", out)
    rc, out, err = tool(d, "--token-file", d.tokfile, "user", "demo")
    check(rc == 0 and "failed logins on record" in out and "office/test" in out,
          "a user in words", out)
    same(d, admin, "/api/v1/gpus", ["--json", "gpus"], "GPUs", env={"PAPRIKA_TOKEN": admin})


def actions(d, tok):
    for _ in range(3):
        d.api("POST", "/api/v1/login", {"username": "demo", "password": "wrong"},
              source="127.0.0.5")
    rc, out, err = tool(d, "--token-file", d.tokfile, "unlock", "demo")
    check(rc == 0 and "unlocked" in out, "unlock", (rc, out, err))
    st, u, _ = d.api("GET", "/api/v1/users/demo", token=tok)
    check(not u["throttle"]["locked"] and u["throttle"]["failures"] == 0,
          "demo is no longer locked out", u["throttle"])
    rc, out, err = tool(d, "--token-file", d.tokfile, "--json", "reset", "office", "test")
    check(rc == 0 and json.loads(out).get("done") == "reset", "reset a desktop",
          (rc, out, err))
    st, body, _ = d.api("GET", "/api/v1/audit?action=reset&target=office/test", token=tok)
    check(st == 200 and body["audit"] and body["audit"][0]["actor"] == "helper",
          "the reset is audited with helper as the actor", body)
    rc, out, err = tool(d, "--token-file", d.tokfile, "reset", "office", "nosuch")
    check(rc == 1 and "(404 no_desktop)" in err, "a desktop that is not there: 404 in words",
          err)
    rc, out, err = tool(d, "--token-file", d.tokfile, "end", "0123456789abcdef")
    check(rc == 1 and "(404 no_session)" in err, "a session that is not there: 404", err)


def refusals(d):
    rc, out, err = tool(d, "-l", "demo", "sessions", stdin="demo-password\n")
    check(rc == 1 and "needs the helpdesk role" in err and "403" in err,
          "a user-role login is told the role it needs", (rc, err))
    rc, out, err = tool(d, "-l", "boss", "gpu-clear", "local", "0000:00:00.0",
                        stdin="boss-password\n")
    check(rc == 1 and "404" in err, "gpu-clear of a GPU that is not quarantined: 404", err)
    rc, out, err = tool(d, "-l", "boss", "repair", "office", "test", stdin="boss-password\n")
    check(rc == 1 and "(409 not_broken)" in err, "repair of a desktop that is not broken: 409",
          err)
    rc, out, err = tool(d, "--token-file", d.tokfile, "gpu-clear", "local", "0000:00:00.0")
    check(rc == 1 and "needs the admin role" in err, "gpu-clear needs admin", err)
    rc, out, err = tool(d, "sessions", env={"PAPRIKA_TOKEN": "0" * 64})
    check(rc == 1 and "log in again" in err and "401" in err,
          "a token the broker does not know: log in again", err)
    other = paprikatest.other_ca(os.path.join(d.work, "other-ca"))
    rc, out, err = tool(d, "--token-file", d.tokfile, "sessions", ca=other)
    check(rc == 1 and "not trusted" in err, "a CA that did not sign the broker: refused",
          err)
    rc, out, err = tool(d, "--token-file", d.tokfile, "sessions",
                        url=f"https://127.0.0.1:{free_port()}")
    check(rc == 1 and "cannot reach the broker" in err, "no broker there: said so", err)


def logout(d, tok):
    rc, out, err = tool(d, "--token-file", d.tokfile, "logout")
    check(rc == 0 and not os.path.exists(d.tokfile), "logout removes the token file",
          (rc, err))
    st, _, _ = d.api("GET", "/api/v1/me", token=tok)
    check(st == 401, "and the broker no longer takes the token", st)


def steps(d):
    d.start_helpdesk_broker("login_fail_delay = 0\nlogin_delay = 1s\n")
    d.tokens_seen = []
    d.tokfile = os.path.join(d.work, "helper.token")
    admin = d.login("boss", "boss-password")
    d.tokens_seen.append(admin)
    tok = login(d, d.tokfile)
    actions(d, tok)
    listings(d, tok, admin)
    refusals(d)
    logout(d, tok)


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-hdcli."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, steps)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
