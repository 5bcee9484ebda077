# SPDX-License-Identifier: ISC
"""The broker under a real PAM stack without touching the system's: pam_wrapper
loads the PAM service files of a test's work directory, pam_matrix checks
passwords from a text file, nss_wrapper gives those users passwd entries and
groups. Used by test-broker-pam, test-broker-totp and test-broker-privsep
(test-pam.sh does the same for pam-check in shell).

pam_wrapper picks its scratch directory /tmp/pam.X by lstat and then mkdir,
so two processes that preload it at once can share one and delete it under
each other: a test holds lock() while anything it starts preloads it."""

import fcntl
import os
import subprocess

LOCK = "/tmp/paprika-pam_wrapper.lock"   # test-pam.sh takes it too

# The users of matrix_env: pam_matrix's "user:password:service", and what
# nss_wrapper says of them. ALICE is a case variant of a users-file name.
PASSDB = """pamuser:pam-pw:paprika
pamuser2:pam2-pw:paprika
root:root-pw:paprika
sysacct:sys-pw:paprika
ALICE:pam-alice-pw:paprika
"""
PASSWD = """root:x:0:0:root:/root:/bin/sh
sysacct:x:500:500:System account:/nonexistent:/bin/false
pamuser:x:2001:2001:PAM user:/nonexistent:/bin/false
pamuser2:x:2002:2001:PAM user 2:/nonexistent:/bin/false
ALICE:x:2003:2001:Not the local alice:/nonexistent:/bin/false
"""
GROUP = """root:x:0:
pamusers:x:2001:
"""


_held = None


def lock():
    """Waits for the other tests that preload pam_wrapper; held until this
    process exits."""
    global _held
    if _held is None:
        _held = open(LOCK, "w")
        fcntl.flock(_held, fcntl.LOCK_EX)


def pkg_var(args):
    r = subprocess.run(["pkg-config", *args], capture_output=True, text=True)
    return r.stdout.strip().replace(" ", "") if r.returncode == 0 else ""


def system_module(name):
    """The path of one of the system's PAM modules, or None."""
    for d in ("/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
              "/lib/security"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def matrix():
    """pam_matrix.so's path, or None when pam_wrapper is not installed."""
    path = os.path.join(pkg_var(["--variable=modules", "pam_wrapper"]), "pam_matrix.so")
    return path if os.path.isfile(path) else None


def env(work, service, users=None):
    """Writes service (the text of the PAM service "paprika") under work and
    returns the broker's environment preloading pam_wrapper, and with
    users = (passwd, group) texts nss_wrapper too; None when they are not
    installed."""
    preload = [pkg_var(["--libs", "pam_wrapper"])]
    if users is not None:
        preload.append(pkg_var(["--libs", "nss_wrapper"]))
    if not all(os.path.isfile(p) for p in preload):
        return None
    os.makedirs(os.path.join(work, "pam.d"))
    with open(os.path.join(work, "pam.d", "paprika"), "w") as f:
        f.write(service)
    # Under --enable-asan the wrappers come before ASan's runtime, and
    # must not dlopen libc with RTLD_DEEPBIND, which ASan cannot follow.
    asan = ":".join(x for x in (os.environ.get("ASAN_OPTIONS"),
                                "verify_asan_link_order=0") if x)
    e = dict(os.environ, LD_PRELOAD=":".join(preload), PAM_WRAPPER="1",
             ASAN_OPTIONS=asan, UID_WRAPPER_DISABLE_DEEPBIND="1",
             PAM_WRAPPER_SERVICE_DIR=os.path.join(work, "pam.d"))
    if users is not None:
        for name, text in zip(("passwd", "group"), users):
            with open(os.path.join(work, name), "w") as f:
                f.write(text)
        e.update(NSS_WRAPPER_DISABLE_DEEPBIND="1",
                 NSS_WRAPPER_PASSWD=os.path.join(work, "passwd"),
                 NSS_WRAPPER_GROUP=os.path.join(work, "group"))
    return e


def matrix_env(work):
    """The users above under pam_matrix and nss_wrapper, with pam_exec
    writing each conversation's items to work/items and pam_faildelay
    asking for 3 s after a failure; the broker's environment, or None
    when a module is missing."""
    mod = matrix()
    pam_exec, faildelay = system_module("pam_exec.so"), system_module("pam_faildelay.so")
    if not (mod and pam_exec and faildelay):
        return None
    with open(os.path.join(work, "passdb"), "w") as f:
        f.write(PASSDB)
    items = os.path.join(work, "items.sh")
    with open(items, "w") as f:
        f.write("#!/bin/sh\necho \"$PAM_TYPE $PAM_USER rhost=$PAM_RHOST tty=$PAM_TTY\" "
                f">>{work}/items\n")
    os.chmod(items, 0o755)
    passwords = f"{mod} passdb={work}/passdb"
    return env(work, f"auth optional {pam_exec} quiet {items}\n"
                     f"auth optional {faildelay} delay=3000000\n"
                     f"auth required {passwords}\naccount required {passwords}\n",
               (PASSWD, GROUP))
