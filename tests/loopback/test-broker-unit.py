# SPDX-License-Identifier: ISC
"""The broker's systemd unit (broker/paprika-brokerd.service), checked the
way systemd itself reads it, offline: `systemd-analyze verify` finds no
error (with the unit's commands pointed at this build), `systemd-analyze
security --offline` rates it at most as exposed as the gateway's unit,
and it has the hardening the broker's privilege separation allows:
NoNewPrivileges, ProtectSystem=strict, its own StateDirectory, and a
capability bounding set that holds only what the drop and the PAM helper
use (never CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_NET_ADMIN...)."""

import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, finish, top_builddir, top_srcdir  # noqa: E402

ALLOWED_CAPS = {"CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_READ_SEARCH",
                "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"}


def unit_copy(tmp, src, prog):
    """The unit with its commands pointed at this build, in tmp."""
    with open(src) as f:
        text = f.read()
    path = os.path.join(tmp, os.path.basename(src))
    with open(path, "w") as f:
        f.write(text.replace(f"/usr/sbin/{prog}", os.path.join(top_builddir, prog)))
    return path, text


def exposure(path):
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", path],
                       capture_output=True, text=True, timeout=120)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
    return float(m.group(1)) if m else None, r.stdout + r.stderr


def main():
    paprikatest.need("systemd-analyze", why="scripts/deps.sh installs systemd")
    src = os.path.join(top_srcdir, "broker", "paprika-brokerd.service")
    check(os.path.isfile(src), "the broker ships a systemd unit", src)
    if not os.path.isfile(src):
        return finish()
    tmp = tempfile.mkdtemp(prefix="paprika-unit.")
    try:
        path, text = unit_copy(tmp, src, "paprika-brokerd")
        gw, _ = unit_copy(tmp, os.path.join(top_srcdir, "gateway", "paprika-gatewayd.service"),
                          "paprika-gatewayd")
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                           capture_output=True, text=True, timeout=120)
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and out == "", "systemd-analyze verify finds nothing wrong", out)

        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str
        unit.read_string(text)
        svc = unit["Service"]
        for key, want in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                          ("StateDirectory", "paprika/broker"), ("StateDirectoryMode", "0700"),
                          ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                          ("PrivateDevices", "yes"), ("RestrictSUIDSGID", "yes")):
            check(svc.get(key) == want, f"{key}={want}", svc.get(key))
        check("-n -f" in svc.get("ExecStartPre", ""), "the configuration is checked first",
              svc.get("ExecStartPre"))
        caps = set(svc.get("CapabilityBoundingSet", "").split())
        check(caps and caps <= ALLOWED_CAPS,
              "the capability bounding set holds only what the drop and the PAM helper use",
              sorted(caps - ALLOWED_CAPS) or "not set")
        check("User" not in svc, "no User=: the daemon drops to its user itself, after "
              "forking the PAM helper")

        mine, detail = exposure(path)
        theirs, _ = exposure(gw)
        check(mine is not None and theirs is not None and mine <= theirs,
              f"systemd-analyze security rates it no more exposed than the gateway's "
              f"({mine} <= {theirs})", detail[-600:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
