# SPDX-License-Identifier: ISC
"""paprika-brokerd without root (docs/broker.md, "Privileges").

Started as root with "user =" a system account this test creates (and
removes), the broker:
- runs its loop as that account: its uids and gids, the supplementary
  group /etc/group gives it, no capability, no_new_privs;
- makes its state directory (0700) and database (0600) that account's;
- keeps exactly one root process, its PAM helper, through which a PAM login
  (pam_wrapper, pam_matrix) still works, and a users-file login too;
- reaches libvirt without root: a private libvirtd whose read-write socket
  belongs to a group the account is in (unix_sock_group, 0770), with the
  test driver behind it;
- stops, saying why, when its PAM helper dies;
- refuses to run as root without "user", and refuses a state that is a
  symbolic link, owned by another user, or writable by its group, naming
  the path and the problem."""

import grp
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
import pamwrap  # noqa: E402
from libvirtd import Libvirtd  # noqa: E402
from paprikatest import (check, finish, import_demo, note, top_builddir,  # noqa: E402
                     top_srcdir, wait_until)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402

USER = f"paprika-t{os.getpid() % 100000}"
GROUP = f"paprika-v{os.getpid() % 100000}"
PASSDB = "pamuser:pam-pw:paprika\n"


def pam_env(work):
    """The broker's environment under pam_wrapper with pam_matrix (one
    user, pamuser); None without them."""
    mod = pamwrap.matrix()
    if mod is None:
        return None
    with open(os.path.join(work, "passdb"), "w") as f:
        f.write(PASSDB)
    passwords = f"{mod} passdb={work}/passdb"
    return pamwrap.env(work, f"auth required {passwords}\naccount required {passwords}\n")


def status(pid):
    """/proc/PID/status as a dict of strings."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def children(pid):
    kids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(p))
    return kids


def refused(d, conf, env=None):
    """Runs the broker on conf as root; (exit status, its output)."""
    path = os.path.join(d.work, "refused.conf")
    with open(path, "w") as f:
        f.write(conf)
    r = subprocess.run([os.path.join(d.build, "paprika-brokerd"), "-d", "-f", path],
                       capture_output=True, text=True, timeout=60, env=env)
    return r.returncode, r.stdout + r.stderr


def state_dir(d, name, uid, gid):
    path = os.path.join(d.work, name)
    os.mkdir(path, 0o700)
    os.chown(path, uid, gid)
    return path


def run(d, lv, pw, vgid, env):
    base = d.test_driver_config(extra="pam_service = paprika\nauth_threads = 2\n")
    base = base.replace("uri = test:///default", f"uri = {lv.uri}")
    state = os.path.join(d.work, "state")
    conf = base.replace("user = root\n", f"user = {USER}\n").replace(
        f"state = {d.work}/broker.db", f"state = {state}/broker.db")
    check(f"user = {USER}" in conf and f"state = {state}/broker.db" in conf,
          "the configuration names the user and a state directory of its own")
    d.broker_env = env
    d.conf_text = conf
    d.start_broker()
    pid = d.broker.pid

    st = status(pid)
    ids = {str(pw.pw_uid)}
    check(set(st["Uid"].split()) == ids, f"the broker runs as {USER} (real, effective, "
          "saved and file-system uid)", st["Uid"])
    check(set(st["Gid"].split()) == {str(pw.pw_gid)}, "with its group", st["Gid"])
    check(str(vgid) in st["Groups"].split(), "and the supplementary group /etc/group "
          "gives it (libvirt's socket group)", st["Groups"])
    check(all(int(st[k], 16) == 0 for k in ("CapPrm", "CapEff", "CapAmb")),
          "with no capability", {k: st[k] for k in ("CapPrm", "CapEff", "CapAmb")})
    check(st.get("NoNewPrivs") == "1", "and no_new_privs set", st.get("NoNewPrivs"))

    s = os.lstat(state)
    check(stat.S_ISDIR(s.st_mode) and s.st_uid == pw.pw_uid and
          stat.S_IMODE(s.st_mode) == 0o700,
          "it made its state directory, 0700 and its own", (s.st_uid, oct(s.st_mode)))
    s = os.lstat(os.path.join(state, "broker.db"))
    check(stat.S_ISREG(s.st_mode) and s.st_uid == pw.pw_uid and
          stat.S_IMODE(s.st_mode) == 0o600, "and its database, 0600 and its own",
          (s.st_uid, oct(s.st_mode)))

    kids = children(pid)
    check(len(kids) == 1, "the broker has one child process, its PAM helper", kids)
    helper = kids[0] if kids else None
    if helper is not None:
        hs = status(helper)
        check(hs["Uid"].split()[1] == "0" and hs["Name"] == "paprika-auth",
              "the helper is the one that keeps root", (hs["Name"], hs["Uid"]))
        check(children(helper) == [], "and it has no children of its own",
              children(helper))

    check(d.host_up("local"), "libvirt is reached without root, through a socket of "
          "libvirt's group (unix_sock_group)")
    st_, body, _ = d.api("POST", "/api/v1/login", {"username": "pamuser", "password": "pam-pw"})
    check(st_ == 200, "a PAM login works through the helper", (st_, body))
    st_, body, _ = d.api("POST", "/api/v1/login", {"username": "pamuser", "password": "nope"},
                         source="127.0.0.2")
    check(st_ == 401, "a wrong PAM password is refused", (st_, body))
    st_, body, _ = d.api("POST", "/api/v1/login",
                         {"username": "demo", "password": "demo-password"})
    check(st_ == 200, "a users-file login works as the broker's user", (st_, body))

    totp_as_root(d, conf, state, pw)

    if helper is not None:
        os.kill(helper, signal.SIGKILL)
        rc = wait_until(lambda: d.broker.poll() is not None, 30)
        check(rc and d.broker.returncode == 1,
              "when the helper dies the broker stops with status 1", d.broker.returncode)
        with open(d.broker_log, errors="replace") as f:
            log = f.read()
        check("the PAM helper (pid" in log and "was killed by signal 9: stopping" in log,
              "saying why", d.broker_tail(5))

    # Refusals: each start fails at once, naming the path and the problem.
    rc, out = refused(d, base.replace("user = root\n", ""))
    check(rc != 0 and "refusing to run as root" in out,
          "without \"user\", the broker refuses to run as root", out[-300:])

    target = state_dir(d, "elsewhere", pw.pw_uid, pw.pw_gid)
    with open(os.path.join(target, "real.db"), "w"):
        pass
    os.chown(os.path.join(target, "real.db"), pw.pw_uid, pw.pw_gid)
    cases = (("link", lambda db: os.symlink(os.path.join(target, "real.db"), db),
              "symbolic link", "a symbolic link"),
             ("foreign", lambda db: open(db, "w").close(), "owned by uid 0",
              "a database owned by another user (root)"),
             ("groupw", lambda db: (open(db, "w").close(), os.chown(db, pw.pw_uid, pw.pw_gid),
                                    os.chmod(db, 0o620)),
              "writable by group", "a database its group may write"))
    for name, make, words, what in cases:
        sdir = state_dir(d, name, pw.pw_uid, pw.pw_gid)
        db = os.path.join(sdir, "broker.db")
        make(db)
        rc, out = refused(d, conf.replace(f"state = {state}/broker.db", f"state = {db}"))
        check(rc != 0 and db in out and words in out,
              f"the broker refuses {what}, naming it", out[-300:])

    shared = state_dir(d, "shared", 0, 0)
    open(os.path.join(shared, "gateway.conf"), "w").close()
    rc, out = refused(d, conf.replace(f"state = {state}/broker.db",
                                      f"state = {shared}/broker.db"))
    check(rc != 0 and f'{shared} holds "gateway.conf", which is not the broker\'s' in out
          and os.stat(shared).st_uid == 0,
          "a root-owned state directory holding another's file is refused, not "
          "handed to the broker's user", out[-300:])


def totp_as_root(d, conf, state, pw):
    """paprika-users run by root on the running broker's state becomes the
    broker's user first: every file it leaves there is still that user's."""
    path = os.path.join(d.work, "totp.conf")
    with open(path, "w") as f:
        f.write(conf.replace("[broker]\n",
                             f"[broker]\ntotp = optional\ntotp_key = {d.totp_key}\n", 1))
    r = subprocess.run([os.path.join(top_builddir, "paprika-users"), "-c", path, "totp",
                        "enroll", "demo"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and "otpauth://" in r.stdout,
          "root enrols a second factor with paprika-users on the broker's state",
          (r.returncode, r.stderr[-500:]))
    foreign = [n for n in os.listdir(state)
               if os.lstat(os.path.join(state, n)).st_uid != pw.pw_uid]
    check(not foreign, f"and every file in the state directory is still {USER}'s", foreign)


def setup_account():
    subprocess.run(["groupadd", "--system", GROUP], check=True)
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                    "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                    "--groups", GROUP, USER], check=True)
    return pwd.getpwnam(USER), grp.getgrnam(GROUP).gr_gid


def remove_account():
    subprocess.run(["userdel", USER], capture_output=True)
    subprocess.run(["groupdel", GROUP], capture_output=True)


def main():
    if os.geteuid() != 0:
        raise paprikatest.Skip("the broker drops root only when started as root")
    for tool in ("useradd", "groupadd", "libvirtd"):
        paprikatest.need(tool)
    pamwrap.lock()
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-privsep."))
    # The broker's user walks through to its state and users file.
    os.chmod(work, 0o711)
    lvdir = tempfile.mkdtemp(prefix="lv.", dir="/tmp")
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    lv = None
    try:
        pw, vgid = setup_account()
        os.chown(lvdir, 0, vgid)
        os.chmod(lvdir, 0o750)
        lv = Libvirtd(lvdir, group=GROUP)
        env = pam_env(work)
        if env is None:
            raise RuntimeError("pam_wrapper is missing: scripts/deps.sh installs it")
        lv.start()
        d.make_pki()
        d.add_user("demo", "demo-password", "staff")
        os.chown(d.users_file, pw.pw_uid, pw.pw_gid)
        run(d, lv, pw, vgid, env)
    except Exception as e:  # a failed step is a failed test, with the log
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        note(d.broker_tail(40))
    finally:
        d.stop()
        if lv is not None:
            lv.stop()
        remove_account()
        shutil.rmtree(lvdir, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
