# SPDX-License-Identifier: ISC
"""GPU verdicts read from a running kernel: a nested GPU host
(tests/lib/gpuhost.py: a level-1 QEMU guest with an emulated Intel IOMMU and
emulated display devices, running this machine's libvirtd) reached by
paprika-brokerd over qemu+tls:// with the deployment's certificates, as a
real hypervisor is.

Its kernel puts the devices in IOMMU groups and binds host drivers; the
broker's inventory (GET /api/v1/gpus and paprikactl gpus) must say, for each
display device, what that kernel says: the bochs-display alone in its group
behind a PCIe root port is assignable, and so is the secondary VGA alone on
the root bus; the VGA whose audio function snd_hda_intel holds is refused
for its host driver; the VGA sharing its group with a USB controller on
ehci-pci is refused as a group that cannot be given away.

Then a GPU pool on it starts a level-2 desktop (demo/guest/paprika-gpu-
guest.asm, a boot sector) with the bochs-display passed through by libvirt
(managed='yes'), and another pool with the VGA and its audio function bound
to vfio-pci by the broker first (gpu_detach): each desktop paints its
passed-through device with a colour chosen here, and the outer QEMU's
screendump of that very device shows it, which only a guest that drives the
device can do. The desktop's SPICE reaches a client through the gateway.
When the desktops stop, the allocations are released and the devices are
assignable again.

Real failures: a device whose IOMMU group another program holds open
(outside libvirt, so no check before the start can see it) fails the start
in QEMU, and the broker quarantines it in words until an admin clears it; a
device hot-unplugged from the outer QEMU fails the next start by name and is
quarantined, listed as missing while it is gone and as quarantined once a
display device is plugged back in at its address, until an admin clears it;
the VGA on the root bus, which the kernel knows no way to reset (the two
behind root ports have a bus reset, which the broker does before each of
their starts), is refused before QEMU runs, in words naming it, its host
and libvirt's reason, and quarantined and listed the same way; a pool with
gpu_reset = no passes it through all the same.

The same host booted without the IOMMU has no groups: every display device
is no-iommu."""

import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import build_agent_guest, check, finish, import_demo, note, top_builddir, top_srcdir, wait_until  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
import gpuhost  # noqa: E402
import images  # noqa: E402
import libvirt  # noqa: E402
from deployment import make_workdir  # noqa: E402

DISPLAYS = sorted(gpuhost.DISPLAYS)


# Desktop, pool, its device, the outer QEMU's id of that device, the pool's
# way of binding it to vfio-pci.
DESKTOPS = (("gpu-desk1", "gpu-managed", "0000:01:00.0", "display", ""),
            ("gpu-desk2", "gpu-detach", "0000:02:00.0", "vga", "gpu_detach = yes\n"))
# The same for the device that cannot be reset: its start is refused.
UNRESETTABLE = ("gpu-desk3", "gpu-root", "0000:00:05.0", "rootvga", "")
# The same device for a pool whose hardware is trusted to reset itself.
SELF_RESET = ("gpu-desk4", "gpu-root-trusted", "0000:00:05.0", "rootvga", "gpu_reset = no\n")


def host_config(d, host):
    """The broker's configuration: the test driver's host for the office
    pool, the real gateway, and the nested GPU host with a passthrough pool
    for each of DESKTOPS."""
    sections = f"""[host gpu]
uri = {host.uri(os.path.join(d.pki, 'libvirt', 'client'))}
spice_address = 127.0.0.1
spice_cert = {d.pki}/spice/server-cert.pem

"""
    for desk, pool, device, _, extra in DESKTOPS + (UNRESETTABLE, SELF_RESET):
        sections += f"""[pool {pool}]
title = GPU desktop {device}
kind = static
host = gpu
assign = demo={desk}
gpu = passthrough
gpu_devices = {device}
firmware = bios
{extra}
"""
    gateway = f"""[gateway local]
proxy = {d.proxy_url()}
control = {d.control}
"""
    return d.test_driver_config(sections=sections).replace(
        "[gateway local]\nproxy = http://127.0.0.1:1\n", gateway).replace(
        "[roles]\nhelpdesk = helpdesk\n", "[roles]\nhelpdesk = helpdesk\nadmin = admin\n")


def define_desktops(d, conn):
    """DESKTOPS (and UNRESETTABLE's and SELF_RESET's) defined on the level-1
    host, each painting its own colour: {desktop: colour bytes}."""
    return {desk: gpuhost.define_desktop(conn, desk, d.build, d.work)
            for desk, *_ in DESKTOPS + (UNRESETTABLE, SELF_RESET)}


def device_driver(conn, address):
    """The level-1 kernel's driver of a PCI device, as libvirt reads it."""
    name = "pci_" + address.replace(":", "_").replace(".", "_")
    m = re.search(r"<driver>\s*<name>([^<]+)</name>", conn.nodeDeviceLookupByName(name).XMLDesc())
    return m.group(1) if m else ""


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
        lv = libvirt.open(host.uri(os.path.join(d.pki, "libvirt", "client")))
        colours = define_desktops(d, lv)
        lv.close()
        d.conf_text = host_config(d, host)
        d.start_broker()
        helpdesk = d.login("helper", helpdesk_pw)
        check(wait_until(lambda: d.host_up("gpu"), 60),
              "the broker connects to the nested host over qemu+tls with its client certificate",
              d.broker_tail(10))
        kernel = kernel_view(host)
        check(all(kernel.get(a, (None, None))[1] is not None for a in DISPLAYS),
              "the nested host's kernel puts each display device in an IOMMU group", kernel)
        st, inv = inventory(d, helpdesk)
        check(st == 200 and sorted(inv) == DISPLAYS,
              "GET /api/v1/gpus lists the nested host's four display devices, and only those",
              (st, inv))
        for a in DISPLAYS:
            check(inv.get(a, {}).get("iommu_group") == kernel.get(a, (None, None))[1],
                  f"{a}: the IOMMU group the running kernel gave it", (inv.get(a), kernel.get(a)))
        bochs, vga, vga2, root = (inv.get(a, {}) for a in ("0000:01:00.0", "0000:02:00.0",
                                                           "0000:00:07.0", "0000:00:05.0"))
        check(bochs.get("verdict") == "assignable" and bochs.get("vendor_id") == "1234"
              and bochs.get("product_id") == "1111",
              "the bochs-display behind its root port, without a driver: assignable", bochs)
        check(root.get("verdict") == "assignable",
              "the VGA alone on the root bus, without a driver: assignable", root)
        check(vga.get("verdict") == "host-driver" and "0000:02:00.1" in vga.get("reason", "")
              and "snd_hda_intel" in vga.get("reason", ""),
              "the VGA whose audio function snd_hda_intel holds: refused, naming both", vga)
        check(kernel.get("0000:02:00.1", ("",))[0] == "snd_hda_intel",
              "(the kernel did bind snd_hda_intel to that audio function)", kernel.get("0000:02:00.1"))
        methods = {a: host.shell(f"cat /sys/bus/pci/devices/{a}/reset_method 2>/dev/null "
                                 "|| echo none")[1].splitlines()[0].strip()
                   for a in ("0000:01:00.0", "0000:02:00.0", "0000:00:05.0")}
        check("bus" in methods["0000:01:00.0"].split() and "bus" in methods["0000:02:00.0"].split()
              and methods["0000:00:05.0"] == "none",
              "the level-1 kernel offers a bus reset for the two devices behind root ports, "
              "and no reset at all for the VGA on the root bus", methods)
        check(vga2.get("verdict") == "group-not-viable" and "0000:00:07.1" in vga2.get("reason", "")
              and "ehci-pci" in vga2.get("reason", ""),
              "the VGA sharing its group with a USB controller on ehci-pci: group not viable", vga2)
        verdicts = paprikactl_json(d)
        check(verdicts == {a: g.get("verdict") for a, g in inv.items()},
              "paprikactl gpus --json reads the same verdicts from the nested host", verdicts)
        passthrough(d, host, helpdesk, colours)
        failures(d, host, helpdesk, colours)
    finally:
        d.stop_broker()
        host.stop()


def passthrough(d, host, helpdesk, colours):
    lv = libvirt.open(host.uri(os.path.join(d.pki, "libvirt", "client")))
    demo = d.login()
    for desk, pool, device, qemu_id, _ in DESKTOPS:
        how = "gpu_detach" if "detach" in pool else "managed='yes'"
        check(not host.painted(qemu_id, colours[desk]),
              f"{device}: before the start the outer screendump does not show {desk}'s colour")
        conn = d.connect(demo, pool=pool, timeout=300)
        dom = lv.lookupByName(desk)
        live = dom.XMLDesc()
        bus, slot, fn = device[5:7], device[8:10], device[11]
        check(f"host gpu: reset {device} for {desk}" in d.broker_tail(400),
              f"the broker reset {device} through libvirt before starting {desk}",
              d.broker_tail(10))
        check(dom.isActive() and re.search(
            rf"<hostdev mode='subsystem' type='pci' managed='(yes|no)'>.*?"
            rf"bus='0x{bus}' slot='0x{slot}' function='0x{fn}'", live, re.S),
              f"{pool}: the broker started {desk} with {device} passed through ({how})", live[-1500:])
        check(device_driver(lv, device) == "vfio-pci",
              f"{device} is bound to vfio-pci on the level-1 host while {desk} runs",
              device_driver(lv, device))
        if "detach" in pool:
            check(device_driver(lv, "0000:02:00.1") == "vfio-pci",
                  "gpu_detach bound the audio function of its group to vfio-pci too",
                  device_driver(lv, "0000:02:00.1"))
        check(wait_until(lambda: host.painted(qemu_id, colours[desk]), 60),
              f"the outer QEMU's screendump of {device} ({qemu_id}) is all {desk}'s colour "
              f"#{colours[desk].hex()}: the desktop drives the passed-through device")
        st, inv = inventory(d, helpdesk)
        g = inv.get(device, {})
        check(g.get("verdict") == "allocated" and g.get("allocated_to") == desk,
              f"the inventory shows {device} given to {desk}", g)
        shot, own = (os.path.join(d.work, f"{desk}-{x}") for x in ("spice.ppm", "own.png"))
        ok, out = d.spicy_capture(conn, shot)
        check(ok, f"{desk}'s SPICE reaches a client through the gateway", out)
        if ok:
            d.guest_screenshot(helpdesk, desk, own, pool=pool)
            same, why = images.same_screen(images.read_image(shot), images.read_image(own))
            check(same and not images.is_blank(images.read_image(shot)),
                  f"and shows {desk}'s own screen", why)
    for desk, pool, device, qemu_id, _ in DESKTOPS:
        lv.lookupByName(desk).destroy()   # the desktop powers off

        def released():
            st, inv = inventory(d, helpdesk)
            return inv.get(device, {}).get("verdict") == "assignable"
        check(wait_until(released, 60),
              f"once {desk} stops, its allocation is released and {device} is assignable again",
              inventory(d, helpdesk)[1].get(device))
    check(device_driver(lv, "0000:01:00.0") == "",
          "libvirt gave the managed device back to the host (no driver, as before)",
          device_driver(lv, "0000:01:00.0"))
    lv.close()


def session_error(d, token, pool):
    """Connects to pool, expecting the start to fail; the session's error."""
    try:
        d.connect(token, pool=pool, timeout=300)
    except brokerdeploy.ApiError as e:
        return str(e)
    return None


def failures(d, host, helpdesk, colours):
    device, pool = "0000:01:00.0", "gpu-managed"
    demo, admin = d.login(), d.login("admin", "admin-pass-1")
    # Bound to vfio-pci by hand, and its group held open by a process that
    # is not QEMU: a second open of a VFIO group is refused.
    rc, out = host.shell(f"echo vfio-pci > /sys/bus/pci/devices/{device}/driver_override && "
                         f"echo {device} > /sys/bus/pci/drivers_probe && "
                         f"g=$(basename $(readlink /sys/bus/pci/devices/{device}/iommu_group)) && "
                         f"(setsid sleep 100000 3</dev/vfio/$g >/dev/null 2>&1 &) && echo held $g")
    check(rc == 0 and "held" in out, f"a process on the level-1 host holds {device}'s VFIO group",
          (rc, out))
    err = session_error(d, demo, pool)
    check(err and f"GPU {device} failed and is quarantined until an admin clears it: "
          f"gpu-desk1: QEMU could not use GPU {device}: failed to open /dev/vfio/" in err
          and err.endswith("Device or resource busy"),
          "the start fails in QEMU; the broker quarantines the device, in QEMU's own words "
          "about it", err)
    st, inv = inventory(d, helpdesk)
    check(inv.get(device, {}).get("verdict") == "quarantined",
          "the inventory shows the quarantine", inv.get(device))
    err = session_error(d, demo, pool)
    check(err and f"GPU {device} is quarantined" in err,
          "the next start is refused before QEMU, naming the quarantine", err)
    host.shell("pkill -f 'sleep 100000'")
    st, body, _ = d.api("POST", f"/api/v1/gpus/gpu/{device}/clear", token=admin)
    check(st == 200, "an admin clears it once the holder is gone", (st, body))
    st, inv = inventory(d, helpdesk)
    check(inv.get(device, {}).get("verdict") == "assignable", "and it is assignable again",
          inv.get(device))

    host.unplug("display")
    err = session_error(d, demo, pool)
    check(err and err.endswith(f": GPU {device} vanished from host gpu and is quarantined until "
                               "an admin clears it"),
          "a device unplugged from the outer QEMU: the start is refused, naming it, and the "
          "device is quarantined", err)
    st, inv = inventory(d, helpdesk)
    g = inv.get(device, {})
    check(st == 200 and g.get("verdict") == "missing" and re.fullmatch(
        r"quarantined: it vanished from host gpu: not among its PCI devices at "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", g.get("reason", "")),
          "GET /api/v1/gpus still lists it, missing, with the quarantine's reason and time", g)
    verdicts = paprikactl_json(d)
    check(isinstance(verdicts, dict) and verdicts.get(device) == "missing",
          "paprikactl gpus --json lists it as missing too", verdicts)
    st, body, _ = d.api("GET", "/api/v1/audit?limit=50", token=helpdesk)
    quarantines = [e for e in body.get("entries", body.get("audit", []))
                   if e.get("action") == "gpu quarantine"]
    check(st == 200 and len(quarantines) == 2 and "vanished" in json.dumps(quarantines),
          "the quarantine is in the audit log, with why", quarantines)
    err = session_error(d, demo, pool)
    check(err and f": GPU {device} is quarantined: it vanished from host gpu: not among its PCI "
          "devices at " in err,
          "the next start is refused, naming the quarantine", err)

    # A display device again at its address (a card put back in its slot).
    host.plug("display", "secondary-vga")

    def back():
        return inventory(d, helpdesk)[1].get(device, {}).get("verdict") == "quarantined"
    check(wait_until(back, 60),
          "a display device plugged back in at its address is listed again, still quarantined",
          inventory(d, helpdesk)[1].get(device))
    err = session_error(d, demo, pool)
    check(err and f"GPU {device} is quarantined: it vanished" in err,
          "and a start is still refused until an admin clears it", err)
    cleared(d, helpdesk, admin, device)
    not_reset(d, host, helpdesk, demo, admin)
    self_reset(d, host, helpdesk, demo, colours)


def not_reset(d, host, helpdesk, demo, admin):
    """The VGA on the root bus: no FLR, no PM reset, no bus to reset."""
    desk, pool, device, _, _ = UNRESETTABLE
    lv = libvirt.open(host.uri(os.path.join(d.pki, "libvirt", "client")))
    try:
        err = session_error(d, demo, pool)
        check(err and f"GPU {device} on host gpu cannot be reset: " in err
              and "no FLR, PM reset or bus reset available" in err
              and err.endswith(f"; GPU {device} is quarantined until an admin clears it"),
              "a device the kernel cannot reset: the start is refused, naming it, its host and "
              "libvirt's reason, and the device is quarantined", err)
        check(not lv.lookupByName(desk).isActive() and device_driver(lv, device) == "",
              f"{desk} never ran: QEMU was not started and {device} never left the host",
              device_driver(lv, device))
        check(f"GPU {device} on gpu is quarantined: GPU {device} on host gpu cannot be reset"
              in d.broker_tail(400), "the broker's log says so in words", d.broker_tail(10))
    finally:
        lv.close()
    st, inv = inventory(d, helpdesk)
    g = inv.get(device, {})
    check(st == 200 and g.get("verdict") == "quarantined"
          and "cannot be reset" in g.get("reason", ""),
          "GET /api/v1/gpus lists it quarantined, with the reason", g)
    verdicts = paprikactl_json(d)
    check(isinstance(verdicts, dict) and verdicts.get(device) == "quarantined",
          "paprikactl gpus --json lists it as quarantined too", verdicts)
    err = session_error(d, demo, pool)
    check(err and f"GPU {device} is quarantined: GPU {device} on host gpu cannot be reset" in err,
          "the next start is refused, naming the quarantine", err)
    cleared(d, helpdesk, admin, device)


def self_reset(d, host, helpdesk, demo, colours):
    """gpu_reset = no: the same VGA that cannot be reset is passed through
    as it is (QEMU only warns), for hardware that resets itself."""
    desk, pool, device, qemu_id, _ = SELF_RESET
    lv = libvirt.open(host.uri(os.path.join(d.pki, "libvirt", "client")))
    try:
        check(not host.painted(qemu_id, colours[desk]),
              f"{device}: before the start the outer screendump does not show {desk}'s colour")
        d.connect(demo, pool=pool, timeout=300)
        dom = lv.lookupByName(desk)
        check(dom.isActive() and device_driver(lv, device) == "vfio-pci",
              f"a pool with gpu_reset = no starts {desk} with {device}, which cannot be reset",
              device_driver(lv, device))
        check(f"reset {device} for {desk}" not in d.broker_tail(400),
              "and the broker did not try to reset it", d.broker_tail(10))
        check(wait_until(lambda: host.painted(qemu_id, colours[desk]), 60),
              f"the outer QEMU's screendump of {device} is all {desk}'s colour: passed through "
              "without a reset")
        dom.destroy()

        def released():
            return inventory(d, helpdesk)[1].get(device, {}).get("verdict") == "assignable"
        check(wait_until(released, 60), f"once {desk} stops, {device} is assignable again",
              inventory(d, helpdesk)[1].get(device))
    finally:
        lv.close()


def cleared(d, helpdesk, admin, device):
    """An admin clears device's quarantine: it is assignable again."""
    st, body, _ = d.api("POST", f"/api/v1/gpus/gpu/{device}/clear", token=admin)
    check(st == 200, "an admin clears it", (st, body))
    st, inv = inventory(d, helpdesk)
    check(inv.get(device, {}).get("verdict") == "assignable", "and it is assignable again",
          inv.get(device))


def without_iommu(d, guest_dir, broker_dn, helpdesk_pw):
    host = gpuhost.GpuHost(d.work, guest_dir, os.path.join(d.pki, "libvirt", "server"),
                           broker_dn, os.path.join(d.pki, "spice"), iommu=False, log=note)
    try:
        host.start()
        d.conf_text = host_config(d, host)
        d.start_broker()
        helpdesk = d.login("helper", helpdesk_pw)
        check(wait_until(lambda: d.host_up("gpu"), 60), "the broker connects to the host again")
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
        d.start_gateway()
        broker_dn = d.make_libvirt_pki()
        d.add_user("helper", "helper-pass-1", "helpdesk")
        d.add_user("admin", "admin-pass-1", "admin")
        d.add_user(brokerdeploy.DEMO_USER, brokerdeploy.DEMO_PASSWORD, "staff")
        with_iommu(d, guest_dir, broker_dn, "helper-pass-1")
        without_iommu(d, guest_dir, broker_dn, "helper-pass-1")
    except Exception as e:  # a failed step is a failed test, with the logs
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        print("# broker log:\n# " + d.broker_tail(30).replace("\n", "\n# "))
    finally:
        d.stop()
    return finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
