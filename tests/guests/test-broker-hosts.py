# SPDX-License-Identifier: ISC
"""A libvirt host that goes away and comes back: paprika-brokerd keeps
serving the other host, reports the missing one in words, and reconnects
on its own with backoff once it is back. The host is a real libvirtd
serving libvirt's test driver over a unix socket, run in private mount and
network namespaces so that it touches nothing of the machine's own."""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, finish, import_demo, note, top_builddir, top_srcdir, wait_until  # noqa: E402

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402
from libvirtd import Libvirtd  # noqa: E402

def host_up(d, name):
    return d.host_up(name)


def run(d, lv):
    demo = d.login("demo", "demo-password")
    check(wait_until(lambda: host_up(d, "away"), 15), "the broker connects to the second host")

    def desktop(name):
        _, body, _ = d.api("GET", "/api/v1/desktops", token=demo)
        return next((x for x in body["desktops"] if x["id"] == name), None)

    check(desktop("far")["state"] == "available", "its pool is available", desktop("far"))

    lv.stop()
    t0 = time.monotonic()
    down = wait_until(lambda: not host_up(d, "away"), 30)
    check(down, "the broker notices the host is gone", time.monotonic() - t0)
    far = desktop("far")
    check(far["state"] == "unavailable" and far.get("reason"),
          "its pool shows as unavailable, with the reason", far)
    st, body, _ = d.api("POST", "/api/v1/desktops/far/connect", token=demo)
    check(st == 503 and "unreachable" in body["error"]["message"],
          "a connect there gets 503 saying the host is unreachable", (st, body))
    check(desktop("office")["state"] == "available",
          "the other host's pool goes on", desktop("office"))
    conn = d.connect(demo)
    check(conn["tls_port"] > 0, "and a desktop there can still be had")

    lv.start()
    t0 = time.monotonic()
    back = wait_until(lambda: host_up(d, "away"), 90)
    check(back, "once the host is back, the broker reconnects by itself",
          f"{time.monotonic() - t0:.1f}s")
    note(f"reconnected {time.monotonic() - t0:.1f}s after libvirtd was back")
    check(desktop("far")["state"] == "available", "and its pool is available again",
          desktop("far"))
    with open(d.broker_log) as f:
        log = f.read()
    check("retrying in" in log, "the log shows the backoff while it was down")


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-hosts."))
    # The socket path must stay short (sun_path).
    lvdir = tempfile.mkdtemp(prefix="lv.", dir="/tmp")
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    lv = Libvirtd(lvdir)
    try:
        if shutil.which("libvirtd") is None:
            raise RuntimeError("libvirtd is missing: scripts/deps.sh installs it")
        lv.start()
        d.make_pki()
        d.define_guests()
        d.add_user("demo", "demo-password", "staff")
        d.start_gateway()
        conf = d.broker_config() + f"""
[host away]
uri = {lv.uri}
spice_address = 127.0.0.1

[pool far]
kind = shared
host = away
guests = test
groups = staff
"""
        d.conf_text = conf
        d.start_broker()
        run(d, lv)
    except Exception as e:  # a failed step is a failed test, with the log
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        note(d.broker_tail(40))
    finally:
        d.stop()
        lv.stop()
        shutil.rmtree(lvdir, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
