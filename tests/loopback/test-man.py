# SPDX-License-Identifier: ISC
"""The manual pages (man/) against the programs they describe.

Each page must name, in an item of its lists (.It), every option the
program's usage or --help prints, every command of paprikactl and
paprika-users, and every configuration key the daemons know: the keys their
check mode prints (-n -v, run on a configuration that sets every kind of
section) and the keys of the example configurations. man --warnings and
groff -ww must not warn about any page, and `make install-man` must put the
pages in share/man/man1, man5 and man8."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, finish, note, top_builddir, top_srcdir  # noqa: E402

MAN = os.path.join(top_builddir, "man")
CLIENT = os.path.join(top_builddir, "paprika-client")


def build(name):
    return os.path.join(top_builddir, name)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, **kw)


def items(page):
    """The text of a page's .It lines (an .It Xo item up to its .Xc), with
    mdoc's flags written out: ".It Fl \\-keys Ar dir" is "--keys Ar dir"."""
    with open(page) as f:
        lines = f.read().splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".It"):
            if line.split()[-1] == "Xo":
                while i + 1 < len(lines) and not lines[i].startswith(".Xc"):
                    i += 1
                    line += " " + lines[i].lstrip(".")
            out.append(line)
        i += 1
    text = "\n".join(out).replace("\\&", "").replace("\\-", "-")
    return re.sub(r"\bFl\s+(\S+)", lambda m: "-" + m.group(1), text)


def named(text, word):
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text)


def options(usage):
    """Every -x and --long option a usage text names; "-dnv" is -d, -n, -v."""
    found = set()
    for o in re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", usage):
        found.update([o] if o.startswith("--") else ["-" + c for c in o[1:]])
    return sorted(found)


def commands(usage):
    """The commands of a usage that lists them as "  name ..." lines."""
    return sorted(set(re.findall(r"(?m)^  ([a-z][a-z-]*[a-z])\b", usage)))


def keys(text):
    """The keys of "key = value" lines, commented out or not."""
    return sorted(set(re.findall(r"(?m)^#?([a-z][a-z0-9_]*) *=", text)))


def check_all(page, what, words):
    text = items(page)
    missing = [w for w in words if not named(text, w)]
    check(words and not missing, f"{os.path.basename(page)} has every {what}",
          f"missing: {', '.join(missing) or '(none found: bad extraction)'}")


def usage_of(argv):
    r = run(argv)
    return r.stdout + r.stderr


def pki(work):
    """A deployment's PKI made by paprika-certs itself."""
    d = os.path.join(work, "pki")
    r = run(["sh", os.path.join(top_srcdir, "certs", "paprika-certs"),
             "--spice-key-type", "ec", "--spice-name", "hv1", d])
    if not check(r.returncode == 0, "paprika-certs makes a PKI", r.stdout + r.stderr):
        return None
    return d


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


GATEWAY_CONF = """[gateway]
listen = 127.0.0.1:3128
listen_tls = none
ticket_keys = {pki}/ticket-keys
upstream_networks = 10.0.0.0/24
control_socket = {work}/gw.sock
state_dir = {work}/gw-state
"""

BROKER_CONF = """[broker]
tls_cert = {pki}/broker/broker-cert.pem
tls_key = {pki}/broker/broker-key.pem
state = {work}/broker.db
ticket_keys = {pki}/ticket-keys
spice_ca = {pki}/ca/ca-cert.pem
users_file = {work}/users
portal_dir = {src}/broker/portal
[roles]
helpdesk = helpdesk
admin = admins
[host hv1]
uri = test:///default
spice_address = 10.0.0.21
spice_cert = {pki}/spice/server-cert.pem
[host hv2]
uri = test:///default
spice_subject = O=Paprika,CN=hv2
[gateway gw1]
proxy = http://192.0.2.10:3128
proxy_for = 10.20.0.0/16 http://10.20.0.1:3128
control = {work}/gw.sock
[pool desk]
kind = static
host = hv1
assign = alice=desk-alice
[pool office]
kind = shared
host = hv1
guests = office-1
snapshot = clean
groups = staff
users = carol
[pool lab]
kind = template
hosts = hv1, hv2
template = lab-template
[pool render]
kind = template
host = hv1
template = render-template
name_prefix = render-
gpu = passthrough
gpu_match = 10de:2231
gpu_devices = 0000:41:00.0
hyperv_vendor_id = paprika
[pool vgpu]
kind = template
host = hv2
template = vgpu-template
gpu = mdev
mdev_type = nvidia-222
"""


def daemon_keys(work, d):
    """The keys each daemon's -n -v prints; {} where it cannot run."""
    args = dict(pki=d, work=work, src=top_srcdir)
    got = {}
    for name, conf in (("paprika-gatewayd", GATEWAY_CONF), ("paprika-brokerd", BROKER_CONF)):
        path = write(os.path.join(work, name + ".conf"), conf.format(**args))
        r = run([build(name), "-n", "-v", "-f", path])
        if check(r.returncode == 0, f"{name} -n -v loads a configuration with every "
                 "kind of section", r.stdout + r.stderr):
            got[name] = keys(r.stdout)
            note(f"{name} knows {len(got[name])} keys")
    return got


def pages_and_options(work):
    pages = {
        "paprika-gatewayd": ([build("paprika-gatewayd"), "-h"], "8"),
        "paprika-brokerd": ([build("paprika-brokerd"), "-h"], "8"),
        "paprikactl": ([build("paprikactl"), "-h"], "8"),
        "paprika-users": ([build("paprika-users"), "-h"], "8"),
        "paprika-helpdesk": ([build("paprika-helpdesk"), "-h"], "1"),
        "paprika-certs": (["sh", os.path.join(top_srcdir, "certs", "paprika-certs"),
                           "--help"], "8"),
    }
    if os.path.exists(CLIENT):
        pages["paprika-client"] = ([CLIENT, "--help"], "1")
    else:
        note("paprika-client is not built: its page is not checked")
    for name, (argv, sect) in pages.items():
        page = os.path.join(MAN, f"{name}.{sect}")
        if not check(os.path.exists(page), f"{name}.{sect} is built"):
            continue
        usage = usage_of(argv)
        check_all(page, "option of its usage", options(usage))
        if name in ("paprikactl", "paprika-users", "paprika-helpdesk"):
            check_all(page, "command of its usage", commands(usage))
    return [f"{n}.{s}" for n, (_, s) in pages.items()] + \
        ["paprika-gatewayd.conf.5", "paprika-brokerd.conf.5"]


EXAMPLE_DIRS = {"paprika-gatewayd": "gateway", "paprika-brokerd": "broker"}


def config_pages(work):
    d = pki(work)
    got = daemon_keys(work, d) if d else {}
    for name in ("paprika-gatewayd", "paprika-brokerd"):
        page = os.path.join(MAN, f"{name}.conf.5")
        if not check(os.path.exists(page), f"{name}.conf.5 is built"):
            continue
        if name in got:
            check_all(page, f"key {name} -n -v prints", got[name])
        example = os.path.join(top_srcdir, EXAMPLE_DIRS[name], name + ".conf")
        with open(example) as f:
            check_all(page, f"key of the example {name}.conf", keys(f.read()))


# The directories of a packaged install: the pages as most readers see them.
FHS = {"sysconfdir": "/etc", "localstatedir": "/var", "runstatedir": "/run",
       "datadir": "/usr/share", "docdir": "/usr/share/doc/paprika"}


def no_warnings(page, name, env):
    """man --warnings and groff -ww on page, strictly."""
    r = run(["man", "--warnings", "-l", page], env=env)
    check(r.returncode == 0 and not r.stderr.strip() and "NAME" in r.stdout,
          f"man --warnings -l {name}: no warning", r.stderr.strip())
    r = run(["groff", "-mandoc", "-ww", "-z", page])
    check(r.returncode == 0 and not r.stderr.strip(),
          f"groff -mandoc -ww {name}: no warning", r.stderr.strip())


def warnings(work, names):
    """Each built page is complete and warns of nothing but lines that its
    build's directories make too long to break (make distcheck's are long);
    its source with the directories of a packaged install warns of
    nothing at all."""
    env = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80", LC_ALL="C.UTF-8")
    for name in names:
        page = os.path.join(MAN, name)
        if not os.path.exists(page):
            continue
        with open(page) as f:
            src = f.read()
        left = re.findall(r"@[a-z]+@", src)
        check(not left, f"{name}: make filled in every directory", " ".join(left))
        title = re.search(r"(?m)^\.Dt (\S+) (\S+)", src)
        check(title and title.group(1) == name.rsplit(".", 1)[0].upper()
              and title.group(2) == name.rsplit(".", 1)[1],
              f"{name}: its .Dt names the page and its section",
              title.group(0) if title else "no .Dt")
        r = run(["groff", "-mandoc", "-ww", "-Wbreak", "-z", page])
        check(r.returncode == 0 and not r.stderr.strip(),
              f"groff -mandoc -ww -Wbreak {name} (as built): no warning", r.stderr.strip())
        with open(os.path.join(top_srcdir, "man", name + ".in")) as f:
            src = re.sub(r"@([a-z]+)@", lambda m: FHS.get(m.group(1), m.group(0)), f.read())
        fhs = write(os.path.join(work, name), src)
        no_warnings(fhs, f"{name} (in /etc, /usr)", env)


def install(work, names):
    """make install-man into a DESTDIR: each page in share/man/manN."""
    dest = os.path.join(work, "dest")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = run([os.environ.get("MAKE", "make"), "-s", "-C", top_builddir, "install-man",
             "DESTDIR=" + dest], env=env)
    if not check(r.returncode == 0, "make install-man DESTDIR=... works", r.stdout + r.stderr):
        return
    found = {}
    for root, _, files in os.walk(dest):
        for f in files:
            found[f] = os.path.relpath(root, dest)
    for name in names:
        want = "share/man/man" + name.rsplit(".", 1)[1]
        where = found.get(name, "")
        check(where.endswith(want), f"{name} is installed in {want}",
              f"found in {where!r}" if where else "not installed")


def main():
    paprikatest.need("man")
    paprikatest.need("groff")
    work = tempfile.mkdtemp(prefix="paprika-man.")
    try:
        names = pages_and_options(work)
        config_pages(work)
        warnings(work, names)
        install(work, names)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
