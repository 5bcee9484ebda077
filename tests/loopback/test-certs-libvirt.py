# SPDX-License-Identifier: ISC
"""paprika-certs --only libvirt against a real libvirtd: libvirtd started
with the libvirtd.conf lines paprika-certs prints (listen_tls, the three
files of libvirt/server/, tls_allowed_dn_list) serves its test driver over
TLS to virsh with libvirt/client/ as pkipath, and refuses client
certificates from another CA or with another subject; virsh refuses a
libvirtd from another CA or under a name its certificate does not carry.
libvirtd runs in private mount and network namespaces (tests/lib/libvirtd.py),
listening on that namespace's loopback; virsh runs there too."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, finish, note, read_text, top_srcdir, wait_until  # noqa: E402
from libvirtd import Libvirtd  # noqa: E402

CERTS = os.path.join(top_srcdir, "certs", "paprika-certs")
PORT = 16514  # libvirt's own: nothing else listens in a fresh namespace


def certs(*args):
    r = subprocess.run(["sh", CERTS, *args], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"paprika-certs {' '.join(args)}: {r.stdout}{r.stderr}")
    return r.stdout


def printed_conf(out):
    """The libvirtd.conf lines paprika-certs printed."""
    lines = out.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("libvirtd.conf on "))
    conf = []
    for ln in lines[start + 1:]:
        if not ln.split(" = ", 1)[0].isidentifier():
            break
        conf.append(ln)
    return "\n".join(conf) + "\n"


def pkidir(path, ca, cert, key):
    """A pkipath= directory of the three files, from wherever they come."""
    os.makedirs(path)
    for src, name in ((ca, "cacert.pem"), (cert, "clientcert.pem"), (key, "clientkey.pem")):
        shutil.copy(src, os.path.join(path, name))
    return path


def other_subject(work, p):
    """A client certificate from the deployment's CA, made like paprika-certs
    makes the broker's but for another subject."""
    d = os.path.join(work, "intruder")
    os.makedirs(d)
    key, csr, cert = (os.path.join(d, n) for n in ("key.pem", "req.csr", "cert.pem"))
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("basicConstraints = critical, CA:false\n"
                "keyUsage = critical, digitalSignature, keyEncipherment\n"
                "extendedKeyUsage = clientAuth\n")
    for argv in (["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-out", key],
                 ["openssl", "req", "-new", "-key", key, "-subj",
                  "/O=Paprika/OU=Libvirt client/CN=intruder", "-out", csr],
                 ["openssl", "x509", "-req", "-in", csr, "-CA", f"{p}/ca/ca-cert.pem",
                  "-CAkey", f"{p}/ca/ca-key.pem", "-set_serial", "7", "-days", "2",
                  "-extfile", ext, "-out", cert]):
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return cert, key


def virsh(lv, host, pki):
    uri = f"test+tls://{host}:{PORT}/default?pkipath={pki}"
    return subprocess.run(lv.in_netns(["virsh", "-c", uri, "list", "--all", "--name"]),
                          capture_output=True, text=True, timeout=60)


def run(work, lvdir):
    p = os.path.join(work, "pki")
    o = os.path.join(work, "other")
    out = certs("--only", "libvirt", "--spice-name", "hv1", "--spice-ip", "127.0.0.1", p)
    certs("--only", "libvirt", "--spice-name", "hv1", "--spice-ip", "127.0.0.1", o)
    conf = printed_conf(out)
    note("libvirtd.conf as printed:\n" + conf)
    check(f'ca_file = "{p}/libvirt/server/cacert.pem"' in conf and
          "tls_allowed_dn_list" in conf, "paprika-certs prints the libvirtd.conf lines", out)

    lv = Libvirtd(lvdir, tls_conf=conf + f'listen_tcp = 0\nlisten_addr = "127.0.0.1"\n'
                  f'tls_port = "{PORT}"\n')
    log = os.path.join(lvdir, "libvirtd.log")
    lv.start()
    try:
        listens = wait_until(lambda: lv.listening(PORT) or lv.proc.poll() is not None, 20)
        if not check(listens and lv.proc.poll() is None,
                     "libvirtd starts with libvirt/server/ and listens for TLS",
                     read_text(log)[-2000:]):
            return

        client = f"{p}/libvirt/client"
        r = virsh(lv, "127.0.0.1", client)
        check(r.returncode == 0 and "test" in r.stdout.split(),
              "virsh reaches libvirtd over TLS with libvirt/client/ as pkipath "
              "(the --spice-ip in the certificate)", r.stderr)

        r = virsh(lv, "localhost", client)
        check(r.returncode != 0 and "does not match the hostname" in r.stderr,
              "virsh refuses libvirtd under a name its certificate does not carry",
              r.stdout + r.stderr)

        # virsh checks its own certificate against its cacert.pem first, so
        # each of these trusts the CA of the certificate it presents.
        other = f"{o}/libvirt/client"
        wrong_ca = pkidir(os.path.join(work, "wrong-ca"), f"{other}/cacert.pem",
                          f"{other}/clientcert.pem", f"{other}/clientkey.pem")
        r = virsh(lv, "127.0.0.1", wrong_ca)
        check(r.returncode != 0 and "Failed to verify peer's certificate" in r.stderr,
              "virsh refuses a libvirtd certificate from another CA", r.stdout + r.stderr)

        both = os.path.join(work, "both-cas.pem")
        with open(both, "w") as f:
            f.write(read_text(f"{client}/cacert.pem") + read_text(f"{other}/cacert.pem"))
        foreign = pkidir(os.path.join(work, "foreign"), both, f"{other}/clientcert.pem",
                         f"{other}/clientkey.pem")
        before = len(read_text(log))
        r = virsh(lv, "127.0.0.1", foreign)
        check(r.returncode != 0, "libvirtd refuses a client certificate from another CA",
              r.stdout)
        check(wait_until(lambda: "Failed to verify peer's certificate" in read_text(log)[before:],
                       10), "because it does not verify, its log says",
              read_text(log)[before:])

        cert, key = other_subject(work, p)
        before = len(read_text(log))
        intruder = pkidir(os.path.join(work, "intruder-pki"), f"{client}/cacert.pem",
                          cert, key)
        r = virsh(lv, "127.0.0.1", intruder)
        check(r.returncode != 0, "libvirtd refuses a client certificate of the same CA "
              "with another subject", r.stdout)
        check(wait_until(lambda: "tls_allowed_dn_list" in read_text(log)[before:], 10),
              "because of tls_allowed_dn_list, its log says", read_text(log)[before:])

        r = virsh(lv, "127.0.0.1", client)
        check(r.returncode == 0, "and the broker's certificate is still served", r.stderr)
    finally:
        lv.stop()


def main():
    work = tempfile.mkdtemp(prefix="paprika-certs-libvirt.")
    # The socket path must stay short (sun_path).
    lvdir = tempfile.mkdtemp(prefix="lv.", dir="/tmp")
    try:
        for tool in ("libvirtd", "virsh", "openssl", "nsenter"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is missing: scripts/deps.sh installs it")
        run(work, lvdir)
    except Exception as e:  # a failed step is a failed test, with the log
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
        note(read_text(os.path.join(lvdir, "libvirtd.log"))[-2000:])
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(lvdir, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
