# SPDX-License-Identifier: ISC
"""A shared guest reverted to a snapshot of its running desktop is ready for
its next user without a boot and without waiting ready_settle again.

One QEMU guest under libvirt's embedded driver, snapshotted running at its
drawn desktop (tests/lib/brokerdeploy.py define_guests(running=True)), in a
shared pool that reverts it when a session ends, with ready_settle = 5 s.
The first connect waits for the screen to stay still; the end of that
session reverts the guest, and the broker then watches it on its own
(nobody waits yet) and knows the reverted screen as one the pool settled
on: the guest is ready before its next user asks, who gets the desktop
(checked pixel for pixel against the guest's own screenshot) with no wait.
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, read_text, run_deployment,  # noqa: E402
                     top_builddir, top_srcdir, wait_until)

import_demo()
import brokerdeploy  # noqa: E402
import images  # noqa: E402
from deployment import make_workdir  # noqa: E402

SETTLE = 5
POOL_EXTRA = f"ready_when = display\nready_settle = {SETTLE}s\n"


def log_since(d, offset):
    return read_text(d.broker_log)[offset:]


def connect_and_look(d, token, desk, label):
    """Connects and checks that SPICE through the gateway shows the guest's
    own drawn desktop."""
    conn = d.connect(token)
    shot = os.path.join(d.work, f"{label}.ppm")
    own = os.path.join(d.work, f"{label}-own.png")
    ok, out = d.spicy_capture(conn, shot)
    check(ok, f"{label}: SPICE through the gateway gives a frame", out)
    helper = d.login("helper", "helper-password")
    d.guest_screenshot(helper, desk, own)
    if ok:
        same, why = images.same_screen(images.read_image(shot), images.read_image(own),
                                       cursor=True)
        check(same and images.shows_banner(images.read_image(shot)),
              f"{label}: the frame is the guest's drawn desktop", why)
    return conn


def run(d):
    desk = d.guest_names[0]
    token = d.login()
    start = len(read_text(d.broker_log))
    connect_and_look(d, token, desk, "first")
    text = log_since(d, start)
    check(f"desktop office/{desk} ready after" in text and
          f"its screen was drawn and still for {SETTLE} s" in text,
          f"the first connect waited for the screen to stay still {SETTLE} s",
          text[-2000:])

    start = len(read_text(d.broker_log))
    st, body, _ = d.api("POST", "/api/v1/desktops/office/end", token=token)
    check(st == 200, "the session ends", (st, body))
    warmed = f"desktop office/{desk}: ready for its next user (its screen is one " \
             "the pool's desktops settled on before)"
    check(wait_until(lambda: warmed in log_since(d, start), 60),
          "after the revert to the running snapshot the broker finds the guest "
          "ready on its own, by its known settled screen", log_since(d, start)[-2000:])
    text = log_since(d, start)
    check(f"reverted to {brokerdeploy.SNAPSHOT}" in text,
          f"the guest was reverted to '{brokerdeploy.SNAPSHOT}'", text[-2000:])

    start = len(read_text(d.broker_log))
    t0 = time.monotonic()
    connect_and_look(d, token, desk, "second")
    note(f"second connect and frame in {time.monotonic() - t0:.2f}s")
    text = log_since(d, start)
    check(f"still for {SETTLE} s" not in text,
          "the next user's connect did not wait for the screen to settle again",
          text[-2000:])


def deploy_and_run(d):
    d.make_pki()
    d.define_guests(running=True)
    d.add_user(brokerdeploy.DEMO_USER, brokerdeploy.DEMO_PASSWORD, "staff")
    d.add_user("helper", "helper-password", "helpdesk")
    d.start_gateway()
    d.start_broker(pool_extra=POOL_EXTRA)
    run(d)


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-revert."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, deploy_and_run)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
