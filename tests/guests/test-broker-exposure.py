# SPDX-License-Identifier: ISC
"""What paprika-brokerd lets out, against a real deployment (libvirt's
embedded QEMU driver, the gateway): the portal cookie is a __Host- cookie;
console.vv, which starts a session and sets a SPICE password, refuses a
cookie without the anti-CSRF header (a link or form on another site) and
starts nothing; the health route tells strangers only up or down; a desktop
whose start libvirt refuses gives its user a sentence, not libvirt's text,
which the helpdesk finds in the audit log; and TLS private keys that others
can read are refused at start, by the broker and by the gateway."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, import_demo, note, run_deployment, top_builddir, top_srcdir  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

COOKIE = "__Host-paprika_session"
# ghost-1 is defined, but its disk is gone: libvirt refuses to start it,
# in its own words. nowhere-1 is not defined at all.
EXTRA = """
[pool ghost]
title = Ghost desktop
kind = static
host = local
assign = demo=ghost-1

[pool nowhere]
kind = static
host = local
assign = demo=nowhere-1
"""


def deploy(d):
    """PKI, the guests (ghost-1's disk removed), two users, the gateway and
    the broker with the two broken pools."""
    d.make_pki()
    d.define_guests("ghost-1")
    os.remove(d.disk("ghost-1"))
    d.add_user("demo", "demo-password", "staff")
    d.add_user("helper", "helper-password", "helpdesk")
    d.start_gateway()
    conf = d.broker_config() + EXTRA
    d.conf_text = conf
    d.start_broker()


def main():
    d = brokerdeploy.BrokerDeployment(
        make_workdir(tempfile.mkdtemp(prefix="paprika-exposure.")), top_srcdir,
        top_builddir, log=note)
    return run_deployment(d, deploy_and_run)


def deploy_and_run(d):
    deploy(d)
    run(d)
    key_modes(d)


def sessions(d, helper, pool=None):
    _, body, _ = d.api("GET", "/api/v1/sessions", token=helper)
    return [s for s in body.get("sessions", []) if pool is None or s["pool"] == pool]


def audit(d, helper, action):
    _, body, _ = d.api("GET", "/api/v1/audit?user=demo&limit=100", token=helper)
    return [r for r in body.get("audit", []) if r["action"] == action]


def run(d):
    # --- the cookie -------------------------------------------------------
    st, body, hdrs = d.api("POST", "/api/v1/login",
                           {"username": "demo", "password": "demo-password"})
    cookie = hdrs.get("set-cookie", "")
    attrs = [a.strip() for a in cookie.split(";")]
    check(st == 200 and attrs[0] == f"{COOKIE}={body['token']}",
          f"the login sets the {COOKIE} cookie", cookie[:40])
    check("Secure" in attrs and "Path=/" in attrs and
          not any(a.lower().startswith("domain=") for a in attrs),
          "with Secure, Path=/ and no Domain, as the __Host- prefix needs",
          attrs[1:])
    demo = body["token"]
    helper = d.login("helper", "helper-password")

    # --- console.vv needs the anti-CSRF header with a cookie ---------------
    st, body, _ = d.api("GET", "/api/v1/desktops/office/console.vv",
                        headers={"Cookie": f"{COOKIE}={demo}"})
    check(st == 403 and body.get("error", {}).get("code") == "csrf",
          "console.vv with the cookie alone (a link on another site): 403 csrf",
          (st, body))
    check(sessions(d, helper) == [] and audit(d, helper, "session start") == [],
          "and it started no session", sessions(d, helper))
    st, body, _ = d.api("GET", "/api/v1/desktops/ghost/console.vv",
                        headers={"Cookie": f"{COOKIE}={demo}",
                                 "X-Paprika-Request": "1"})
    check(st in (202, 502) and len(sessions(d, helper, "ghost")) == 1,
          "with the header, the portal's request starts the session", (st, body))

    # --- a start that libvirt refuses ----------------------------------------
    st, body, _ = d.api("POST", "/api/v1/desktops/ghost/connect?wait=30", token=demo)
    msg = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
    check(st == 502 and body["error"]["code"] == "start_failed",
          "a desktop libvirt cannot start: 502 start_failed", (st, body))
    failed = [r for r in audit(d, helper, "connect") if r["result"] == "failed"]
    raw = failed[0]["detail"] if failed else ""
    check("ghost-1: start: " in raw and len(raw) > len("desktop ghost-1: start: "),
          "the helpdesk finds libvirt's own words in the audit detail", raw)
    said = raw.split("ghost-1: start: ", 1)[-1]
    leaks = [w for w in ("error:", "virDomain", said, d.disk("ghost-1")) if w and w in msg]
    check(msg and not leaks, "the user is told in a sentence, without libvirt's text",
          (msg, leaks))
    _, body, _ = d.api("GET", "/api/v1/desktops", token=demo)
    ghost = next((x for x in body["desktops"] if x["id"] == "ghost"), {})
    err = ghost.get("session", {}).get("error", "")
    check(err and said not in err, "the desktop list shows the same sentence", ghost)
    with open(d.broker_log) as f:
        check(said in f.read(), "libvirt's words are in the broker's log")

    st, body, _ = d.api("POST", "/api/v1/desktops/nowhere/connect?wait=30", token=demo)
    msg = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
    check(st in (502, 503) and "virDomain" not in msg and "error:" not in msg,
          "a desktop whose guest does not exist: a sentence too", (st, body))

    # --- health -------------------------------------------------------------
    # A broker on a database it may share with others names its role too,
    # for the load balancer in front of them: nothing else.
    up = {"status": "up", **({"role": "leader"} if brokerdeploy.on_postgresql() else {})}
    for who, token in (("without a login", None), ("for a plain user", demo)):
        st, body, _ = d.api("GET", "/api/v1/health", token=token)
        check(st == 200 and body == up,
              f"health {who} says only that the broker is up"
              + (" (and leads)" if "role" in up else ""), body)
    st, body, _ = d.api("GET", "/api/v1/health", token=helper)
    check(st == 200 and body.get("status") == "up" and body.get("hosts") == {"local": True},
          "the helpdesk also sees each host", body)


def key_modes(d):
    """A TLS key that others can read stops the broker and the gateway."""
    for prog, conf, key in (
            ("paprika-brokerd", d.broker_conf, f"{d.pki}/broker/broker-key.pem"),
            ("paprika-gatewayd", os.path.join(d.work, "gatewayd.conf"),
             f"{d.pki}/gateway/gateway-key.pem")):
        for mode in (0o644, 0o600):
            copy = os.path.join(d.work, f"{prog}-{mode:o}.pem")
            shutil.copyfile(key, copy)
            os.chmod(copy, mode)
            alt = os.path.join(d.work, f"{prog}-{mode:o}.conf")
            with open(conf) as f, open(alt, "w") as out:
                out.write(f.read().replace(key, copy))
            r = subprocess.run([os.path.join(d.build, prog), "-d", "-n", "-f", alt],
                               capture_output=True, text=True, timeout=30)
            text = r.stdout + r.stderr
            if mode == 0o644:
                check(r.returncode != 0 and copy in text and "0644" in text,
                      f"{prog} refuses a TLS key of mode 0644, naming the file and "
                      "the mode", text.strip()[-300:])
            else:
                check(r.returncode == 0 and "configuration OK" in text,
                      f"{prog} accepts one of mode 0600", text.strip()[-300:])
    copy = os.path.join(d.work, "paprika-brokerd-644.conf")
    r = subprocess.run([os.path.join(d.build, "paprika-brokerd"), "-d", "-f", copy],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "mode 0644" in r.stderr,
          "and the broker does not start with it", r.stderr.strip()[-300:])


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
