# SPDX-License-Identifier: ISC
"""GPU desktops in paprika-brokerd against libvirt's test driver with a
host modelled on real GPU servers (tests/fixtures/gpu-host.xml): the
inventory and its verdicts through the API and `paprikactl gpus`, the
allocation of a pool's GPUs (two users racing for one card, a card held by
another domain), release when the guest stops and after a broker restart,
quarantine with its sentence and the admin's clear, and mediated devices.

libvirt's test driver drops a node device's <driver> (it reads drivers from
sysfs only), so the host-driver verdicts are proven in test-gpu, and here
every device reads as driverless, as libvirt reports it.

A second host is a real libvirtd with the QEMU driver and the node-device
driver reading this machine's sysfs (in private namespaces, tests/lib/libvirtd.py):
a pool there asks for a GPU the machine does not have, and the start fails
with the broker's own sentence, leaving no allocation."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, finish, import_demo, note, top_builddir, top_srcdir, wait_until  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
import libvirt  # noqa: E402
from deployment import make_workdir  # noqa: E402
from libvirtd import Libvirtd  # noqa: E402

FIXTURE = os.path.join(top_srcdir, "tests", "fixtures", "gpu-host.xml")
FIXTURE2 = os.path.join(top_srcdir, "tests", "fixtures", "gpu-host2.xml")

# The test driver has no virNodeDeviceReset: its passthrough pools opt out
# of the reset (gpu_reset = no), but for unreset, which shows the refusal.
POOLS = """
[pool design-3d]
title = Design 3D
kind = shared
host = local
guests = gpu-desk1, gpu-desk2
gpu = passthrough
gpu_reset = no
gpu_devices = 0000:41:00.0
groups = staff
disconnect_action = none

[pool cad]
kind = static
host = local
assign = carol=gpu-desk3
gpu = passthrough
gpu_reset = no
gpu_match = 10de:2231
kvm_hidden = yes
hyperv_vendor_id = paprika
groups = staff

[pool held]
kind = static
host = local
assign = carol=gpu-desk4
gpu = passthrough
gpu_reset = no
gpu_devices = 0000:47:00.0
groups = staff

[pool big]
kind = static
host = local
assign = carol=gpu-big
gpu = passthrough
gpu_reset = no
gpu_devices = 0000:48:00.0
groups = staff

[pool unreset]
kind = static
host = local
assign = erin=gpu-desk4
gpu = passthrough
gpu_devices = 0000:48:00.0
groups = staff

[pool vgpu]
kind = static
host = local
assign = carol=gpu-desk5
gpu = mdev
mdev_type = nvidia-231
groups = staff

[pool render]
kind = template
hosts = local, second
template = gpu-tmpl
max = 6
spares = 0
gpu = passthrough
gpu_reset = no
gpu_match = 10de:2204
groups = staff

[pool gvt]
kind = static
host = local
assign = dave=gpu-desk5
gpu = mdev
mdev_type = nvidia-999
groups = staff
"""


REAL_POOL = """
[pool absent]
kind = static
host = real
assign = carol=absent-gpu
gpu = passthrough
gpu_devices = 0000:41:00.0
groups = staff
"""

# A guest of the real QEMU driver; it never starts, as its GPU is missing.
REAL_GUEST = """<domain type='qemu'>
  <name>absent-gpu</name>
  <memory unit='MiB'>128</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <graphics type='spice' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>"""


def broker_conf(d):
    conf = d.broker_config().split("[host local]")[0]
    conf = conf.replace("[roles]\nhelpdesk = helpdesk", "[roles]\nhelpdesk = helpdesk\nadmin = admin")
    return conf + f"""[host local]
uri = test://{FIXTURE}
spice_address = 127.0.0.1

[host second]
uri = test://{FIXTURE2}
spice_address = 127.0.0.1

[gateway local]
proxy = http://127.0.0.1:{d.plain_port}
control = {d.control}
""" + POOLS


def connect(d, token, pool):
    return d.api("POST", f"/api/v1/desktops/{pool}/connect?wait=0", token=token)


def session_of(d, helpdesk, user, pool):
    _, body, _ = d.api("GET", "/api/v1/sessions", token=helpdesk)
    return next((s for s in body["sessions"] if s["user"] == user and s["pool"] == pool),
                None)


def settled(d, helpdesk, user, pool):
    """The session once it is ready or failed."""
    def done():
        s = session_of(d, helpdesk, user, pool)
        return s if s and s["state"] in ("ready", "failed", "connected") else None
    return wait_until(done, 30)


def gpus(d, token):
    st, body, _ = d.api("GET", "/api/v1/gpus", token=token)
    if st != 200:
        return st, body
    return st, {g["address"]: g for g in body["hosts"][0].get("gpus", [])}


def paprikactl(d, *args):
    return subprocess.run([os.path.join(d.build, "paprikactl"), "gpus", "--config",
                           d.broker_conf, *args], capture_output=True, text=True, timeout=60)


def check_inventory(d, helpdesk, user):
    st, body = gpus(d, user)
    check(st == 403, "a plain user may not read the GPU inventory", (st, body))
    st, inv = gpus(d, helpdesk)
    check(st == 200, "the helpdesk reads each host's GPUs", (st, inv))
    a5000 = inv.get("0000:41:00.0", {})
    check(a5000.get("verdict") == "assignable" and a5000.get("vendor_id") == "10de"
          and a5000.get("product_id") == "2231" and a5000.get("iommu_group") == 40,
          "an RTX A5000 with vendor, product, IOMMU group: assignable", a5000)
    check([m["address"] for m in a5000.get("group", [])] == ["0000:41:00.0", "0000:41:00.1"],
          "its group lists the card and its audio function", a5000.get("group"))
    check(a5000.get("numa_node") in (0, 1), "and its NUMA node", a5000.get("numa_node"))
    held = inv.get("0000:47:00.0", {})
    check(held.get("verdict") == "in-use" and "other-vm" in held.get("reason", ""),
          "a card that a running domain holds: in use, naming the domain", held)
    check(inv.get("0000:46:00.0", {}).get("verdict") == "assignable",
          "a card that shares its group with a bridge: assignable",
          inv.get("0000:46:00.0"))
    check("0000:01:00.0" not in inv and "0000:41:00.1" not in inv,
          "network ports and audio functions are not listed as GPUs", sorted(inv))
    t4 = inv.get("0000:44:00.0", {})
    types = {t["id"]: t["available"] for t in t4.get("mdev_types", [])}
    check(types.get("nvidia-231") == 7 and types.get("nvidia-222") == 0,
          "a vGPU parent lists its mediated types with free instances", types)
    r = paprikactl(d)
    check(r.returncode == 0 and "host local" in r.stdout and "0000:47:00.0" in r.stdout
          and "in use" in r.stdout and "other-vm" in r.stdout,
          "paprikactl gpus prints each host's GPUs with verdicts in words",
          r.stdout + r.stderr)
    check("mediated type nvidia-231 (GRID T4-2Q): 7 free" in r.stdout,
          "and the mediated types with what is free", r.stdout)
    r = paprikactl(d, "--json")
    try:
        hosts = json.loads(r.stdout)
        same = {g["address"]: g["verdict"] for g in hosts[0]["gpus"]} == \
            {a: g["verdict"] for a, g in inv.items()}
    except (ValueError, KeyError, IndexError) as e:
        same = e
    check(same is True, "paprikactl gpus --json gives the API's verdicts", same)


def check_race(d, helpdesk, alice, bob):
    """Two users of a one-GPU pool start at the same moment."""
    results = {}

    def go(name, token):
        results[name] = connect(d, token, "design-3d")[0]
    threads = [threading.Thread(target=go, args=(n, t)) for n, t in
               (("alice", alice), ("bob", bob))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(set(results.values()) <= {200, 202}, "both connects are accepted", results)
    sa = settled(d, helpdesk, "alice", "design-3d")
    sb = settled(d, helpdesk, "bob", "design-3d")
    states = sorted([sa["state"], sb["state"]]) if sa and sb else None
    check(states == ["failed", "ready"], "exactly one of two simultaneous starts gets the GPU",
          (sa, sb))
    if states != ["failed", "ready"]:
        return None, None
    winner, loser = (sa, sb) if sa["state"] == "ready" else (sb, sa)
    check(winner["gpus"] == ["0000:41:00.0"], "the helpdesk sees the session's GPU", winner)
    check(loser["error"] == f"GPU 0000:41:00.0 is given to desktop {winner['desktop']}",
          "the other is told in a sentence who has it", loser["error"])
    _, inv = gpus(d, helpdesk)
    check(inv["0000:41:00.0"]["verdict"] == "allocated" and
          inv["0000:41:00.0"].get("allocated_to") == winner["desktop"],
          "the inventory shows the card given to the winner's desktop", inv["0000:41:00.0"])
    return winner, loser


def check_release(d, helpdesk, admin, winner, loser, tokens):
    """The winner's guest is powered off: the GPU goes back."""
    st, body, _ = d.api("POST", f"/api/v1/pools/design-3d/desktops/{winner['desktop']}/shutdown",
                        token=admin)
    check(st == 200, "the helpdesk powers the GPU desktop off", (st, body))
    back = wait_until(lambda: gpus(d, helpdesk)[1]["0000:41:00.0"]["verdict"] == "assignable", 15)
    check(back, "the stopped guest's GPU is free again", gpus(d, helpdesk)[1]["0000:41:00.0"])
    st, body, _ = connect(d, tokens[loser["user"]], "design-3d")
    s = settled(d, helpdesk, loser["user"], "design-3d")
    check(s and s["state"] == "ready" and s["gpus"] == ["0000:41:00.0"],
          "the user who lost the race gets it on trying again", (st, body, s))


def check_restart(d, helpdesk_login):
    """Allocations are kept in the state file and given back when the guest
    is found stopped after a restart (the test driver forgets its running
    guests with the broker process, as a host would after a power cut)."""
    d.stop_broker()
    r = paprikactl(d, "--json")
    try:
        alloc = {g["address"]: g for g in json.loads(r.stdout)[0]["gpus"]}["0000:41:00.0"]
    except (ValueError, KeyError, IndexError) as e:
        alloc = e
    check(isinstance(alloc, dict) and alloc.get("allocated_to", "").startswith("gpu-desk"),
          "with the broker stopped, its state file still records the allocation", alloc)
    d.start_broker()
    helpdesk = helpdesk_login()
    freed = wait_until(lambda: gpus(d, helpdesk)[1]["0000:41:00.0"]["verdict"] == "assignable",
                     20)
    check(freed, "after the restart, a GPU whose guest is no longer running is released",
          gpus(d, helpdesk)[1].get("0000:41:00.0"))
    return helpdesk


def check_refusals(d, helpdesk, carol):
    st, body, _ = connect(d, carol, "held")
    s = settled(d, helpdesk, "carol", "held")
    check(s and s["state"] == "failed" and s["error"].startswith("GPU 0000:47:00.0 cannot be "
                                                                  "used:")
          and "other-vm" in s["error"], "a pool whose card another domain holds says so",
          (st, body, s))
    st, body, _ = d.api("POST", "/api/v1/pools/held/desktops/gpu-desk4/start", token=helpdesk)
    check(st == 502 and "0000:47:00.0" in body["error"]["message"]
          and "other-vm" in body["error"]["message"],
          "a helpdesk start of a GPU desktop goes through the same checks", (st, body))
    st, body, _ = connect(d, carol, "big")
    s = settled(d, helpdesk, "carol", "big")
    check(s and s["state"] == "failed" and "pinned for its GPU" in s["error"]
          and "GiB" in s["error"], "a guest bigger than the host's free memory is refused",
          (st, body, s))
    _, inv = gpus(d, helpdesk)
    check(inv["0000:47:00.0"].get("allocated_to") is None and
          inv["0000:48:00.0"].get("allocated_to") is None,
          "refused starts leave no allocation behind", (inv["0000:47:00.0"], inv["0000:48:00.0"]))
    st, body, _ = connect(d, carol, "cad")
    s = settled(d, helpdesk, "carol", "cad")
    check(s and s["state"] == "ready" and s["gpus"] == ["0000:41:00.0"],
          "a pool matching by vendor:product gets a free A5000", (st, body, s))


def check_quarantine(d, helpdesk, admin, carol, dave):
    st, body, _ = connect(d, carol, "vgpu")
    s = settled(d, helpdesk, "carol", "vgpu")
    want = "GPU 0000:44:00.0 failed and is quarantined until an admin clears it: "
    check(s and s["state"] == "failed" and s["error"].startswith(want)
          and "nvidia-231 mediated device could not be made" in s["error"],
          "a vGPU parent that cannot make its device is quarantined, in words", s)
    _, inv = gpus(d, helpdesk)
    check(inv["0000:44:00.0"]["verdict"] == "quarantined", "the inventory shows the quarantine",
          inv["0000:44:00.0"])
    check(not any(g.get("allocated_to") for g in inv.values() if g["address"] != "0000:41:00.0"),
          "the failed start left no allocation", inv)
    st, body, _ = d.api("POST", "/api/v1/desktops/vgpu/end", token=carol)
    st, body, _ = connect(d, carol, "vgpu")
    s = settled(d, helpdesk, "carol", "vgpu")
    check(s and s["error"].startswith("GPU 0000:44:00.0 is quarantined: a nvidia-231 mediated"),
          "the next start names the quarantined GPU and why", s)
    st, body, _ = d.api("POST", "/api/v1/gpus/local/0000:44:00.0/clear", token=helpdesk)
    check(st == 403, "the helpdesk may not clear a quarantine", (st, body))
    st, body, _ = d.api("POST", "/api/v1/gpus/local/0000:44:00.0/clear", token=admin)
    check(st == 200, "an admin clears it", (st, body))
    st, body, _ = d.api("POST", "/api/v1/gpus/local/0000:44:00.0/clear", token=admin)
    check(st == 404 and "not quarantined" in body["error"]["message"],
          "clearing it again says it is not quarantined", (st, body))
    _, inv = gpus(d, helpdesk)
    check(inv["0000:44:00.0"]["verdict"] != "quarantined", "the GPU is back in service",
          inv["0000:44:00.0"])
    st, body, _ = d.api("GET", "/api/v1/audit?limit=50", token=helpdesk)
    actions = [e["action"] for e in body.get("entries", body.get("audit", []))]
    check("gpu quarantine" in actions and "gpu clear" in actions,
          "quarantine and clear are in the audit log", actions)
    st, body, _ = connect(d, dave, "gvt")
    s = settled(d, helpdesk, "dave", "gvt")
    check(s and s["error"] == "host local has no GPU that offers mediated devices of type "
          "nvidia-999", "a type no GPU offers is named in the refusal", s)


def check_not_reset(d, helpdesk, admin, erin):
    """A card without a driver, that libvirt binds at the start, is reset
    first; the test driver has no virNodeDeviceReset: it cannot be reset."""
    st, body, _ = connect(d, erin, "unreset")
    s = settled(d, helpdesk, "erin", "unreset")
    check(s and s["state"] == "failed" and s["error"].startswith(
        "GPU 0000:48:00.0 on host local cannot be reset: ")
          and "virNodeDeviceReset" in s["error"]
          and s["error"].endswith("; GPU 0000:48:00.0 is quarantined until an admin clears it"),
          "a card that cannot be reset is refused before the start, in words, and quarantined",
          (st, body, s))
    _, inv = gpus(d, helpdesk)
    g = inv["0000:48:00.0"]
    check(g["verdict"] == "quarantined" and "cannot be reset" in g.get("reason", "")
          and not g.get("allocated_to"),
          "the inventory shows the quarantine and why, and no allocation", g)
    st, body, _ = d.api("POST", "/api/v1/gpus/local/0000:48:00.0/clear", token=admin)
    check(st == 200, "an admin clears it", (st, body))
    d.api("POST", "/api/v1/desktops/unreset/end", token=erin)


def check_placement(d, helpdesk, tokens):
    """A template pool over two hosts: each clone goes where a GeForce RTX
    3090 is free (one on local, two on second), the most free first."""
    placed = []
    for user in ("alice", "bob", "dave"):
        st, body, _ = connect(d, tokens[user], "render")
        s = settled(d, helpdesk, user, "render")
        placed.append((s or {}).get("host"))
        check(s and s["state"] == "ready" and len(s.get("gpus") or []) == 1,
              f"{user}'s clone of the template starts with a GPU", (st, body, s))
        if user == "alice":
            check(s and s["host"] == "second" and s["gpus"] == ["0000:21:00.0"],
                  "the first clone goes to the host with the most free GPUs", s)
    check(sorted(placed) == ["local", "second", "second"],
          "three clones fill the three free GPUs across both hosts", placed)
    st, body, _ = connect(d, tokens["erin"], "render")
    check(st == 503 and body["error"]["message"] ==
          "no free GPU in pool render on any of its hosts",
          "a fourth user is told that no host has a free GPU", (st, body))
    _, pools, _ = d.api("GET", "/api/v1/pools", token=helpdesk)
    hosts = sorted(g["host"] for g in pools.get("guests", pools.get("desktops", []))
                   if g["pool"] == "render")
    check(hosts == ["local", "second", "second"], "the helpdesk sees each clone's host", pools)


def check_real_host(d, lv, helpdesk, carol):
    """The real QEMU driver: a GPU the host does not have."""
    up = wait_until(lambda: d.host_up("real"), 60)
    check(up, "the broker reaches the real libvirtd")
    st, body, _ = d.api("GET", "/api/v1/gpus", token=helpdesk)
    real = next((h for h in body.get("hosts", []) if h["name"] == "real"), {})
    check(real.get("up") and real.get("gpus") == [] and "error" not in real,
          "the real host's inventory is read from its sysfs: no display device here", real)
    st, body, _ = connect(d, carol, "absent")
    s = settled(d, helpdesk, "carol", "absent")
    check(s and s["state"] == "failed" and
          s["error"] == "GPU 0000:41:00.0 is not on host real and is quarantined until an admin "
          "clears it",
          "starting a guest whose GPU is absent fails with the broker's own sentence, and "
          "quarantines the address", (st, body, s))
    st, body, _ = d.api("GET", "/api/v1/gpus", token=helpdesk)
    real = next((h for h in body.get("hosts", []) if h["name"] == "real"), {})
    gone = real.get("gpus") or [{}]
    check(len(real.get("gpus", [])) == 1 and gone[0].get("address") == "0000:41:00.0"
          and gone[0].get("verdict") == "missing"
          and gone[0].get("reason", "").startswith("quarantined: it is not among the PCI devices "
                                                  "of host real at "),
          "the inventory lists the quarantined address as missing, with the reason", real)
    rows = d.state("SELECT host, device, guest FROM gpu_allocs WHERE host = 'real'")
    check(rows == [], "and leaves no allocation behind", rows)
    conn = libvirt.open(lv.driver_uri("qemu:///system"))
    try:
        state = conn.lookupByName("absent-gpu").state()[0]
    finally:
        conn.close()
    check(state == libvirt.VIR_DOMAIN_SHUTOFF, "the guest was never started", state)


def start_real_libvirtd(lvdir):
    lv = Libvirtd(lvdir)
    lv.start()
    conn = libvirt.open(lv.driver_uri("qemu:///system"))
    try:
        conn.defineXML(REAL_GUEST)
    finally:
        conn.close()
    return lv


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-gpu."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    lvdir = tempfile.mkdtemp(prefix="lv.", dir="/tmp")  # short: it holds a socket
    lv = None
    try:
        if shutil.which("libvirtd") is None:
            raise RuntimeError("libvirtd is missing: scripts/deps.sh installs it")
        lv = start_real_libvirtd(lvdir)
        d.make_pki()
        for user, groups in (("alice", "staff"), ("bob", "staff"), ("carol", "staff"),
                             ("dave", "staff"), ("erin", "staff"), ("helen", "helpdesk"),
                             ("root-admin", "helpdesk,admin")):
            d.add_user(user, f"{user}-password", groups)
        d.start_gateway()
        conf = broker_conf(d) + f"""
[host real]
uri = {lv.driver_uri("qemu:///system")}
spice_address = 127.0.0.1
""" + REAL_POOL
        d.conf_text = conf
        d.start_broker()
        helpdesk = d.login("helen", "helen-password")
        admin = d.login("root-admin", "root-admin-password")
        tokens = {u: d.login(u, f"{u}-password")
                  for u in ("alice", "bob", "carol", "dave", "erin")}
        check_inventory(d, helpdesk, tokens["alice"])
        winner, loser = check_race(d, helpdesk, tokens["alice"], tokens["bob"])
        if winner:
            check_release(d, helpdesk, admin, winner, loser, tokens)
            helpdesk = check_restart(d, lambda: d.login("helen", "helen-password"))
            admin = d.login("root-admin", "root-admin-password")
        check_refusals(d, helpdesk, tokens["carol"])
        check_quarantine(d, helpdesk, admin, tokens["carol"], tokens["dave"])
        check_not_reset(d, helpdesk, admin, tokens["erin"])
        check_placement(d, helpdesk, tokens)
        check_real_host(d, lv, helpdesk, tokens["carol"])
    except Exception as e:  # a failed step is a failed test, with the log
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        note(d.broker_tail(40))
    finally:
        d.stop()
        if lv is not None:
            lv.stop()
        shutil.rmtree(lvdir, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
