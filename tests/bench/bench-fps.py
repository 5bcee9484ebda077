# SPDX-License-Identifier: ISC
"""Frame-rate benchmark: a desktop that never stops changing
(demo/guest/paprika-anim-guest.asm: a hex count and a block of colour
repainted as fast as the guest runs) watched through the gateway by the
browser console ("Open in browser": spice-html5 over the WebSocket listener)
and by paprika-client --headless --frames (CONNECT through the gateway), one
after the other, in one run; it prints one table (tests/bench/README.md,
"Frame-rate benchmark").

A frame is a 60 Hz interval in which the client drew something: in the
browser, an animation frame after a canvas draw call (counted by a script
the benchmark adds to the page, not by the product); in paprika-client, a
16.7 ms slot with a display invalidation. QEMU refreshes a text-mode screen
on its own clock, so neither can exceed it; the ratio says whether the
browser keeps up with the native client.

Usage: top_srcdir=. top_builddir=. python3 tests/bench/bench-fps.py (after
make; `make bench-fps` does this).
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from paprikatest import top_builddir, top_srcdir  # noqa: E402

import brokerdeploy  # noqa: E402
import webdriver  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
SECONDS = int(os.environ.get("BENCH_FPS_SECONDS", "5" if QUICK else "15"))
ROUNDS = int(os.environ.get("BENCH_FPS_ROUNDS", "2" if QUICK else "3"))
CLIENT = os.environ.get("BENCH_CLIENT") or os.path.join(top_builddir, "paprika-client")
GUEST = "anim-1"
POOL = f"""
[pool anim]
title = Changing desktop
kind = static
host = local
assign = {brokerdeploy.DEMO_USER}={GUEST}
ready_when = port
browser = yes
"""
# Counts animation frames that follow a draw on any canvas; added to the
# console page by the benchmark before the page's own scripts run.
COUNTER_JS = """
(() => {
  let drew = false;
  window.benchFrames = 0;
  window.benchCounting = false;
  const proto = CanvasRenderingContext2D.prototype;
  for (const name of ["putImageData", "drawImage", "fillRect"]) {
    const real = proto[name];
    proto[name] = function (...args) { drew = true; return real.apply(this, args); };
  }
  const tick = () => {
    if (drew && window.benchCounting)
      window.benchFrames++;
    drew = false;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def log(msg):
    print(f"bench-fps: {msg}", file=sys.stderr, flush=True)


def browser_round(b, url):
    b.goto(url)
    try:
        b.until("const c = document.querySelector('#screen canvas');"
                " return c && c.width > 0 && window.benchFrames !== undefined;",
                timeout=120, what="the console's canvas")
    except webdriver.BrowserError:
        b.screenshot(os.path.join(tempfile.gettempdir(), "bench-fps-console.png"))
        raise webdriver.BrowserError("the console did not draw: "
                                     + (b.evaluate("return document.body.innerText;") or "")[:300])
    time.sleep(1)  # past the first full draw
    b.evaluate("window.benchFrames = 0; window.benchCounting = true;")
    t0 = time.monotonic()
    time.sleep(SECONDS)
    frames = b.evaluate("window.benchCounting = false; return window.benchFrames;")
    return frames / (time.monotonic() - t0)


def client_round(d, password_file, out):
    r = subprocess.run([CLIENT, "--headless", "--broker", f"https://127.0.0.1:{d.broker_port}",
                        "--ca", os.path.join(d.pki, "ca", "ca-cert.pem"),
                        "--user", brokerdeploy.DEMO_USER, "--desktop", "anim",
                        "--password-file", password_file, "--screenshot", out,
                        "--no-logout", "--frames", str(SECONDS),
                        "--timeout", str(SECONDS + 120)],
                       capture_output=True, text=True, timeout=SECONDS + 180)
    m = re.search(r"frames: (\d+) in (\d+) s: ([\d.]+) per second", r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"paprika-client --frames: exit {r.returncode}: "
                           f"{r.stdout[-300:]} {r.stderr[-600:]}")
    return float(m.group(3))


def main():
    work = tempfile.mkdtemp(prefix="paprika-bench-fps.")
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=log)
    b = None
    try:
        if webdriver.missing_tools():
            raise RuntimeError(f"{', '.join(webdriver.missing_tools())} missing (scripts/deps.sh)")
        d.make_pki()
        d.define_guests(GUEST)
        # The static guest's disk becomes the changing desktop.
        subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2",
                        os.path.join(d.build, "demo", "guest", "paprika-anim-guest.img"),
                        d.disk(GUEST)], check=True)
        d.add_user(brokerdeploy.DEMO_USER, brokerdeploy.DEMO_PASSWORD, "staff")
        password_file = os.path.join(work, "password")
        with open(password_file, "w") as f:
            f.write(brokerdeploy.DEMO_PASSWORD + "\n")
        d.start_gateway(d.browser_gateway())
        d.conf_text = d.broker_config(pool_extra="browser = yes\n") + POOL
        d.start_broker()
        log(f"{GUEST} runs under {d.virt_why}")

        b = webdriver.Browser(webdriver.nss_home(d.work, os.path.join(d.pki, "ca", "ca-cert.pem")),
                              os.path.join(work, "chromedriver.log"))
        b.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COUNTER_JS})
        base = f"https://127.0.0.1:{d.broker_port}/"
        b.goto(base)
        b.wait("#username", timeout=30)
        b.fill("#username", brokerdeploy.DEMO_USER)
        b.fill("#password", brokerdeploy.DEMO_PASSWORD)
        b.click("#login-button")
        b.wait("#user-name", timeout=30)
        d.connect(d.login(), pool="anim", timeout=180)  # boots it once

        browser, client = [], []
        for r in range(ROUNDS):
            browser.append(browser_round(b, base + "portal/console.html?desktop=anim"))
            b.goto(base)
            client.append(client_round(d, password_file, os.path.join(work, f"client-{r}.png")))
            log(f"round {r + 1}/{ROUNDS}: browser {browser[-1]:.1f}, "
                f"paprika-client {client[-1]:.1f} frames/s")
        med_b, med_c = statistics.median(browser), statistics.median(client)
        print(f"\nA desktop that never stops changing, {SECONDS} s a round, medians of "
              f"{ROUNDS} rounds; guest under {d.virt_why}")
        print(f"{'frames per second':<40} {'browser':>8} {'client':>8} {'b/c':>6}")
        print(f"{'through the gateway (WSS / CONNECT)':<40} {med_b:>8.1f} {med_c:>8.1f} "
              f"{med_b / med_c:>5.2f}x")
        return 0
    except Exception as e:  # noqa: BLE001 (a failed run says why, with the log)
        log(f"failed: {type(e).__name__}: {e}")
        log("broker log:\n" + d.broker_tail(20))
        return 1
    finally:
        if b is not None:
            b.close()
        d.stop()


if __name__ == "__main__":
    sys.exit(main())
