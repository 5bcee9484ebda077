"""GPU verdicts read from a running kernel: a nested GPU host
(demo/gpuhost.py: a level-1 QEMU guest with an emulated Intel IOMMU and
emulated display devices, running this machine's libvirtd) reached by
paprika-brokerd over qemu+tls:// with the deployment's certificates, as a
real hypervisor is.

Its kernel puts the devices in IOMMU groups and binds host drivers; the
broker's inventory (GET /api/v1/gpus and paprikactl gpus) must say, for each
display device, what that kernel says: the bochs-display alone in its group
is assignable; the VGA whose audio function snd_hda_intel holds is refused
for its host driver; the VGA sharing its group with a USB controller on
ehci-pci is refused as a group that cannot be given away. The same host
booted without the IOMMU has no groups: every display device is no-iommu."""

import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from testlib import build_agent_guest, check, finish, import_demo, note, top_builddir, top_srcdir, wait_for  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
import gpuhost  # noqa: E402
from deployment import make_workdir  # noqa: E402

DISPLAYS = sorted(gpuhost.DISPLAYS)


def host_config(d, host):
    """The broker's configuration: the test driver's host for the office
    pool, plus the nested GPU host and a passthrough pool on it."""
    sections = f"""[host gpu]
uri = {host.uri(os.path.join(d.pki, 'libvirt', 'client'))}
spice_address = 127.0.0.1

[pool gpu-desks]
title = GPU desktops
kind = static
host = gpu
assign = demo=gpu-desk1
gpu = passthrough
gpu_match = 1234:1111

"""
    return d.test_driver_config(sections=sections)


def kernel_view(host):
    """What the level-1 kernel itself reported at boot on its console:
    {address: (driver, iommu group or None)}."""
    seen = {}
    for m in re.finditer(r"gpuhost: pci (\S+) \S+ class \S+ driver (\S*) group (\S*)",
                         host.console()):
        seen[m.group(1)] = (m.group(2), int(m.group(3)) if m.group(3) else None)
    return seen


def inventory(d, token):
    st, body, _ = d.api("GET", "/api/v1/gpus", token=token)
    if st != 200:
        return st, body
    hosts = {h["name"]: h for h in body["hosts"]}
    return st, {g["address"]: g for g in hosts.get("gpu", {}).get("gpus", [])}


def paprikactl_json(d):
    r = subprocess.run([os.path.join(d.build, "paprikactl"), "gpus", "--config",
                        d.broker_conf, "--json"], capture_output=True, text=True, timeout=120)
    try:
        hosts = {h["name"]: h for h in json.loads(r.stdout)}
        return {g["address"]: g["verdict"] for g in hosts["gpu"]["gpus"]}
    except (ValueError, KeyError) as e:
        return f"{e}: {r.stdout[-500:]} {r.stderr[-500:]}"


def with_iommu(d, guest_dir, broker_dn, helpdesk_pw):
    host = gpuhost.GpuHost(d.work, guest_dir, os.path.join(d.pki, "libvirt", "server"),
                           broker_dn, os.path.join(d.pki, "spice"), log=note)
    try:
        host.start()
        d.conf_text = host_config(d, host)
        d.start_broker()
        helpdesk = d.login("helper", helpdesk_pw)
        check(wait_for(lambda: d.host_up("gpu"), 60),
              "the broker connects to the nested host over qemu+tls with its client certificate",
              d.broker_tail(10))
        kernel = kernel_view(host)
        check(all(kernel.get(a, (None, None))[1] is not None for a in DISPLAYS),
              "the nested host's kernel puts each display device in an IOMMU group", kernel)
        st, inv = inventory(d, helpdesk)
        check(st == 200 and sorted(inv) == DISPLAYS,
              "GET /api/v1/gpus lists the nested host's three display devices, and only those",
              (st, inv))
        for a in DISPLAYS:
            check(inv.get(a, {}).get("iommu_group") == kernel.get(a, (None, None))[1],
                  f"{a}: the IOMMU group the running kernel gave it", (inv.get(a), kernel.get(a)))
        bochs, vga, vga2 = (inv.get(a, {}) for a in ("0000:00:06.0", "0000:00:05.0", "0000:00:07.0"))
        check(bochs.get("verdict") == "assignable" and bochs.get("vendor_id") == "1234"
              and bochs.get("product_id") == "1111",
              "the bochs-display alone in its group, without a driver: assignable", bochs)
        check(vga.get("verdict") == "host-driver" and "0000:00:05.1" in vga.get("reason", "")
              and "snd_hda_intel" in vga.get("reason", ""),
              "the VGA whose audio function snd_hda_intel holds: refused, naming both", vga)
        check(kernel.get("0000:00:05.1", ("",))[0] == "snd_hda_intel",
              "(the kernel did bind snd_hda_intel to that audio function)", kernel.get("0000:00:05.1"))
        check(vga2.get("verdict") == "group-not-viable" and "0000:00:07.1" in vga2.get("reason", "")
              and "ehci-pci" in vga2.get("reason", ""),
              "the VGA sharing its group with a USB controller on ehci-pci: group not viable", vga2)
        verdicts = paprikactl_json(d)
        check(verdicts == {a: g.get("verdict") for a, g in inv.items()},
              "paprikactl gpus --json reads the same verdicts from the nested host", verdicts)
    finally:
        d.stop_broker()
        host.stop()


def without_iommu(d, guest_dir, broker_dn, helpdesk_pw):
    host = gpuhost.GpuHost(d.work, guest_dir, os.path.join(d.pki, "libvirt", "server"),
                           broker_dn, os.path.join(d.pki, "spice"), iommu=False, log=note)
    try:
        host.start()
        d.conf_text = host_config(d, host)
        d.start_broker()
        helpdesk = d.login("helper", helpdesk_pw)
        check(wait_for(lambda: d.host_up("gpu"), 60), "the broker connects to the host again")
        st, inv = inventory(d, helpdesk)
        check(st == 200 and sorted(inv) == DISPLAYS
              and all(g.get("verdict") == "no-iommu" for g in inv.values())
              and all("intel_iommu=on" in g.get("reason", "") for g in inv.values()),
              "booted without an IOMMU: every display device is no-iommu, saying how to turn it on",
              (st, inv))
    finally:
        d.stop_broker()
        host.stop()


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-gpu-nested."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir,
                                      log=lambda m: print(f"# {m}", flush=True))
    try:
        guest_dir = build_agent_guest("--gpu-host")
        d.make_pki()
        broker_dn = d.make_libvirt_pki()
        d.add_user("helper", "helper-pass-1", "helpdesk")
        with_iommu(d, guest_dir, broker_dn, "helper-pass-1")
        without_iommu(d, guest_dir, broker_dn, "helper-pass-1")
    except Exception as e:  # a failed step is a failed test, with the logs
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        print("# broker log:\n# " + d.broker_tail(30).replace("\n", "\n# "))
    finally:
        d.stop()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
