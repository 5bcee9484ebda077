"""What the Python tests share: where the source and build trees are, the
demo modules on sys.path, and TAP-like checks that end in one
"N passed, M failed" line (scripts/test.sh counts those)."""

import os
import subprocess
import sys
import time

top_srcdir = os.environ.get("top_srcdir", os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
top_builddir = os.environ.get("top_builddir", top_srcdir)
sys.path.insert(0, os.path.join(top_srcdir, "demo"))

results = []


def check(ok, what, detail=""):
    """Records one check; prints 'ok - what' or 'not ok - what: detail'."""
    results.append(bool(ok))
    print(f"{'ok' if ok else 'not ok'} - {what}" + (f": {detail}" if detail and not ok else ""),
          flush=True)
    return ok


def note(msg):
    print("# " + str(msg).replace("\n", "\n# "), flush=True)


def wait_for(fn, timeout, step=0.2):
    """fn() until it returns something true (returned), or None after timeout."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            return None
        time.sleep(step)


def finish(suffix=""):
    """Prints the summary line; the exit status: 1 if a check failed or none ran."""
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed{suffix}")
    return 1 if failed or not results else 0


def run_deployment(d, steps):
    """steps(d), then d.stop(): an exception is a failed check, with the
    end of the broker's log. Returns finish()."""
    try:
        steps(d)
    except Exception as e:  # a failed step is a failed test, with the log
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        note(d.broker_tail(40))
    finally:
        d.stop()
    return finish()


def read_text(path):
    """The text of path, or "" when there is none."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def build_agent_guest(*options):
    """demo/agent-guest/build.sh [options] into build/agent-guest (or
    $PAPRIKA_AGENT_GUEST_DIR), which downloads the Debian packages once;
    that directory. Raises DeploymentError, saying so where the packages
    cannot be downloaded."""
    from deployment import DeploymentError
    out = os.environ.get("PAPRIKA_AGENT_GUEST_DIR",
                         os.path.join(top_builddir, "build", "agent-guest"))
    r = subprocess.run(["sh", os.path.join(top_srcdir, "demo", "agent-guest", "build.sh"),
                        *options, out], capture_output=True, text=True, timeout=600)
    note((r.stdout + r.stderr).strip())
    if r.returncode == 3:
        raise DeploymentError("the Debian packages for the guest cannot be downloaded "
                              "(apt-get download)")
    if r.returncode != 0:
        raise DeploymentError(f"demo/agent-guest/build.sh failed ({r.returncode})")
    return out


def hotp(secret, counter):
    """RFC 4226 HOTP, 6 digits, written from the RFC (HMAC-SHA1, dynamic
    truncation): the tests' own implementation, to check the broker's
    TOTP codes (RFC 6238: counter = unix time // 30) against."""
    import hashlib
    import hmac
    import struct
    h = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 10**6)


def import_demo():
    """Imports the demo modules, or fails the test saying why."""
    try:
        import brokerdeploy  # noqa: F401
        import deployment  # noqa: F401
        import images  # noqa: F401
    except ImportError as e:  # python3-libvirt missing: scripts/deps.sh installs it
        print(f"not ok - cannot import the demo modules: {e}")
        sys.exit(1)
