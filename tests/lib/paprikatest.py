# SPDX-License-Identifier: ISC
"""What every Python test shares: where the source and build trees are,
checks printed as TAP (automake's tap-driver.sh counts them), one
monotonic wait, one skip policy, free ports and the test PKI made by
certs/paprika-certs.

A test records checks with check() (or a Checks of its own), and ends with
sys.exit(run(main)): run() turns an exception into a failed check, Skip into
a skip, prints the plan and returns the exit status.

The skip policy: what README's install step (scripts/deps.sh) installs must
be there, so need() fails the test without it; only a tool or condition the
install step cannot provide (root, an optional tool) skips, with a reason.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback

top_srcdir = os.environ.get("top_srcdir", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
top_builddir = os.environ.get("top_builddir", top_srcdir)


class Skip(Exception):
    """The test cannot run here, for a reason the install step cannot fix."""


class Missing(Exception):
    """Something the install step (or make) provides is not there."""


class TimeUp(BaseException):
    """A test's watchdog fired: not an Exception, so no handler in the
    test's own code takes it for an ordinary failure."""


# --------------------------------------------------------------------------
# Checks, printed as TAP


class Checks:
    """Numbers checks and prints one TAP line for each; the plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.failures = []
        self.finished = False

    @property
    def passed(self):
        return self.n - self.failed

    def ok(self, cond, what, detail=None):
        """One check: "ok N - what", or "not ok N - what" and the detail as
        diagnostics. Returns bool(cond)."""
        self.n += 1
        # A "#" in a name would start a TAP directive (SKIP, TODO).
        name = str(what).replace("#", "\\#").replace("\n", " ")
        if cond:
            print("ok %d - %s" % (self.n, name), flush=True)
        else:
            self.failed += 1
            self.failures.append(what)
            print("not ok %d - %s" % (self.n, name))
            if detail is not None and detail != "":
                for line in str(detail).splitlines()[:40]:
                    print("#   " + line)
            sys.stdout.flush()
        return bool(cond)

    def eq(self, got, want, what):
        return self.ok(got == want, what, "got %r, want %r" % (got, want))

    def note(self, text):
        """Diagnostics: each line as "# ...", never read as a result."""
        for line in str(text).splitlines() or [""]:
            print("# " + line)
        sys.stdout.flush()

    def section(self, name):
        return _Section(self, name)

    def skip(self, reason):
        """Ends the checks here for a reason the install step cannot fix:
        the whole test is a skip when no check ran, else one skipped check."""
        if self.n == 0:
            self.finished = True
            print("1..0 # SKIP " + reason.replace("\n", " "), flush=True)
        else:
            self.n += 1
            print("ok %d # SKIP %s" % (self.n, reason.replace("\n", " ")), flush=True)

    def relay(self, out):
        """Counts the TAP lines of a child test as checks of this one."""
        for line in out.splitlines():
            m = re.match(r"(not )?ok \d+ - (.*)", line)
            if m:
                self.ok(not m.group(1), m.group(2).replace("\\#", "#"))
            elif line.startswith("#"):
                print(line)
            elif line:
                self.note(line)
        sys.stdout.flush()

    def finish(self, suffix=""):
        """The plan line; the exit status: 1 if a check failed or none ran."""
        if self.finished:
            return 1 if self.failed else 0
        self.finished = True
        if self.n == 0:
            self.ok(False, "the test made at least one check")
        self.note("%d passed, %d failed%s" % (self.passed, self.failed, suffix))
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


class _Section:
    """Runs a block; an exception in it is one failed check, not the end."""

    def __init__(self, t, name):
        self.t = t
        self.name = name

    def __enter__(self):
        self.t.note("--- " + self.name)
        return self

    def __exit__(self, etype, value, tb):
        if etype is None:
            return False
        if not issubclass(etype, Exception) or issubclass(etype, (Skip, Missing)):
            return False
        self.t.ok(False, "%s: ran without an exception" % self.name,
                  "".join(traceback.format_exception(etype, value, tb)))
        return True


# The checks of this process, for tests that use the functions below.
checks = Checks()


def check(ok, what, detail=None):
    return checks.ok(ok, what, detail)


def note(msg):
    checks.note(msg)


def finish(suffix=""):
    return checks.finish(suffix)


def finish_in(work, started=None):
    """finish(), with the time since started (monotonic) where given; then
    work, a directory, is kept where a check failed and removed where none
    did. The exit status."""
    failed = finish(f" in {time.monotonic() - started:.0f}s" if started is not None else "")
    if failed:
        note(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return failed


def run(main, *args, cleanup=None):
    """main(*args), then cleanup(), then the plan: an exception is a failed
    check, Skip a skip, Missing a failed check saying what to install.
    main's own exit status, where it returns one, counts too. The exit
    status."""
    t = checks
    status = 0
    try:
        status = main(*args) or 0
    except Skip as e:
        t.skip(str(e))
    except Missing as e:
        t.ok(False, str(e))
    except (Exception, TimeUp) as e:
        t.ok(False, "the test ran to its end",
             "".join(traceback.format_exception(type(e), e, e.__traceback__)))
    finally:
        if cleanup is not None:
            cleanup()
    return max(t.finish(), 1 if status else 0)


def need(tool, optional=False, why="scripts/deps.sh installs it"):
    """The path of a command. Missing (a failed test) when it is not there;
    with optional, for a tool the install step does not install, Skip."""
    path = shutil.which(tool)
    if path is None:
        raise (Skip if optional else Missing)(f"{tool} is not installed ({why})")
    return path


def need_built(*names):
    """Paths of programs in the build tree; Missing (make builds them)."""
    paths = [os.path.join(top_builddir, n) for n in names]
    for p in paths:
        if not os.access(p, os.X_OK):
            raise Missing(f"{p} is not built (make check builds it)")
    return paths[0] if len(paths) == 1 else paths


# --------------------------------------------------------------------------
# Waiting, ports, files


def wait_until(fn, timeout, interval=0.2):
    """Calls fn until it returns something true (returned) or timeout
    seconds pass on the monotonic clock (fn's last, false, value)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def free_port(host="127.0.0.1"):
    """A TCP port free on host just now (the caller binds it soon after and
    retries with another where something took it in between)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def launch_gateway(gatewayd, conf, log_path, ready, timeout=20, verbose=False):
    """paprika-gatewayd -d -f conf, its output appended to log_path, until
    ready() says it serves or it exits. The process: exited where it could
    not start (its log says why); killed, and RuntimeError, where it is not
    ready within timeout."""
    argv = [gatewayd, "-d", "-f", conf]
    if verbose:
        argv.insert(1, "-v")
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT)
    if not wait_until(lambda: proc.poll() is not None or ready(), timeout, 0.05):
        proc.kill()
        proc.wait()
        raise RuntimeError("the gateway did not start within %ds:\n%s"
                           % (timeout, read_text(log_path)[-3000:]))
    return proc


def stop_process(p, sig=signal.SIGTERM, timeout=5):
    """Sends sig to p where it still runs, and kills it if it lingers past
    timeout seconds; its exit status (None where p is None)."""
    if p is None:
        return None
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def wait_text(text_of, what, pattern=None, timeout=15, hidden=False, error=RuntimeError):
    """Until text_of() gives a text (matching pattern, case-insensitive), or
    None with hidden: that text. Raises error, with the last text, after
    timeout seconds."""
    last = [None]

    def shown():
        last[0] = text = text_of()
        if hidden:
            return text is None
        return text is not None and (not pattern or re.search(pattern, text, re.I))
    if not wait_until(shown, timeout, 0.05):
        raise error(f"wait {what} {pattern or ''}: timed out; text {last[0]!r}")
    return last[0]


def read_text(path):
    """The text of path, or "" when there is none."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def make_pki(directory, *options):
    """certs/paprika-certs [options] DIRECTORY: the test PKI the way a
    deployment makes its own. Returns DIRECTORY; raises RuntimeError with
    the script's words when it fails."""
    need("openssl")
    r = subprocess.run([os.path.join(top_srcdir, "certs", "paprika-certs"), *options,
                        directory], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise RuntimeError("paprika-certs %s failed:\n%s%s"
                           % (" ".join(options), r.stdout, r.stderr))
    return directory


def other_ca(directory):
    """A CA that signed nothing of the deployment's (paprika-certs in a
    directory of its own): the path of its certificate."""
    make_pki(directory, "--only", "ticket-key")
    return os.path.join(directory, "ca", "ca-cert.pem")


# --------------------------------------------------------------------------
# Shared by the broker tests


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


def run_deployment(d, steps):
    """steps(d), then d.stop(): an exception is a failed check, with the
    end of the broker's log. Returns finish()."""
    try:
        steps(d)
    except Skip as e:
        checks.skip(str(e))
    except Exception as e:  # a failed step is a failed test, with the log
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        note(d.broker_tail(40))
    finally:
        d.stop()
    return finish()


def import_demo():
    """Imports the deployment modules, or fails the test saying why."""
    import importlib
    try:
        for name in ("brokerdeploy", "deployment", "images"):
            importlib.import_module(name)
    except ImportError as e:  # python3-libvirt missing: scripts/deps.sh installs it
        check(False, f"cannot import the deployment modules: {e}")
        sys.exit(finish())
