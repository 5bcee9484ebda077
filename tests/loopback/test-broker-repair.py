# SPDX-License-Identifier: ISC
"""Repair of a broken guest (POST /api/v1/pools/{pool}/desktops/{name}/repair)
on libvirt's test driver, with a guest that has a snapshot "clean".

A shared pool whose snapshot is misnamed breaks its guest at the end of the
first session (the revert fails): the guest is broken, never lent again.
A repair while the cause is still there cleans again and leaves it broken,
with the reason. The operator then fixes the pool's snapshot and restarts
the broker: the guest is still broken (the state remembers), and a repair
reverts it and frees it. Each repair is audited with the admin as actor;
the helpdesk and users get 403, a guest that is not broken 409."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, run_deployment,  # noqa: E402
                     top_builddir, top_srcdir, wait_until)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

UUID = "6b2c1a4e-1f0b-4c43-9a55-3d2f4e6a7b81"
DOMAIN = brokerdeploy.test_domain("desk-a", UUID)
HOST = f"""<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    {DOMAIN}
    <test:domainsnapshot>
      <name>clean</name><state>running</state><creationTime>1700000000</creationTime>
      <domain type='test'>{DOMAIN}</domain>
      <active>1</active>
    </test:domainsnapshot>
  </domain>
</node>
"""
REPAIR = "/api/v1/pools/office/desktops/desk-a/repair"


def config(d, host, snapshot):
    return d.broker_config().split("[host local]")[0].replace(
        "[roles]\nhelpdesk = helpdesk", "[roles]\nhelpdesk = helpdesk\nadmin = admin") + f"""
[host local]
uri = test://{host}
spice_address = 127.0.0.1

[gateway local]
proxy = http://127.0.0.1:1

[pool office]
kind = shared
host = local
guests = desk-a
snapshot = {snapshot}
groups = staff
disconnect_action = none
"""


def guest(d, token):
    st, body, _ = d.api("GET", "/api/v1/pools", token=token)
    return next((g for g in body.get("desktops", []) if g["name"] == "desk-a"), None)


def audits(d, token, action, target="office/desk-a"):
    _, body, _ = d.api("GET", f"/api/v1/audit?action={action}&target={target}",
                       token=token)
    return body["audit"]


def restart(d, host, snapshot):
    d.stop_broker()
    d.conf_text = config(d, host, snapshot)
    d.start_broker()
    return (d.login("demo", "demo-password"), d.login("helper", "helper-password"),
            d.login("boss", "boss-password"))


def break_guest(d, demo, boss):
    d.api("POST", "/api/v1/desktops/office/connect?wait=2", token=demo)
    lent = wait_until(lambda: (guest(d, boss) or {}).get("state") == "assigned", 30)
    check(lent, "demo's session gets desk-a", guest(d, boss))
    d.api("POST", "/api/v1/desktops/office/end", token=demo)
    g = wait_until(lambda: (lambda g: g if g and g["state"] == "broken" else None)(
        guest(d, boss)), 30)
    check(g and "gone" in g.get("error", ""),
          "a revert to a missing snapshot breaks the guest, with the reason", guest(d, boss))


def steps(d):
    d.make_pki()
    for user, groups in (("demo", "staff"), ("helper", "helpdesk"),
                         ("boss", "helpdesk,admin")):
        d.add_user(user, f"{user}-password", groups)
    host = os.path.join(d.work, "host.xml")
    with open(host, "w") as f:
        f.write(HOST)
    demo, helper, boss = restart(d, host, "gone")
    break_guest(d, demo, boss)
    for who, token in (("a user", demo), ("the helpdesk", helper)):
        st, body, _ = d.api("POST", REPAIR, token=token)
        check(st == 403 and "admin" in body["error"]["message"],
              f"{who} may not repair: 403, admin needed", (st, body))
    st, body, _ = d.api("POST", REPAIR, token=boss)
    check(st == 202 and body["repairing"] == "office/desk-a",
          "an admin's repair starts: 202", (st, body))
    again = wait_until(lambda: len(audits(d, boss, "desktop%20broken", "office")) == 2, 30)
    g = guest(d, boss)
    check(again and g["state"] == "broken" and "gone" in g["error"],
          "with the cause still there it is broken again, with the reason", g)

    demo, helper, boss = restart(d, host, "clean")
    g = guest(d, boss)
    check(g and g["state"] == "broken", "after the operator's fix and a restart it is "
          "still broken: never lent until repaired", g)
    st, body, _ = d.api("POST", "/api/v1/desktops/office/connect", token=demo)
    check(st >= 400 or body.get("state") == "failed" or body.get("desktop") != "desk-a",
          "and a user does not get it", (st, body))
    d.api("POST", "/api/v1/desktops/office/end", token=demo)
    st, body, _ = d.api("POST", REPAIR, token=boss)
    check(st == 202, "the admin repairs it", (st, body))
    g = wait_until(lambda: (lambda g: g if g and g["state"] == "free" else None)(
        guest(d, boss)), 30)
    check(g and not g.get("error"), "reverted to the snapshot, it is free again, "
          "its error gone", guest(d, boss))
    recs = audits(d, boss, "repair")
    check(len(recs) == 2 and all(r["actor"] == "boss" and r["result"] == "ok" for r in recs),
          "each repair is audited with the admin as actor", recs)
    st, body, _ = d.api("POST", REPAIR, token=boss)
    check(st == 409 and body["error"]["code"] == "not_broken",
          "a guest that is not broken: 409 not_broken", (st, body))
    st, body, _ = d.api("POST", "/api/v1/pools/office/desktops/nosuch/repair", token=boss)
    check(st == 404, "a desktop the pool does not have: 404", (st, body))


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-repair."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, steps)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
