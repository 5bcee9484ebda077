# SPDX-License-Identifier: ISC
"""A small real Paprika deployment on loopback: the PKI from paprika-certs,
a demo guest with SPICE TLS, paprika-gatewayd in front of it, tickets from
paprikactl, a virt-viewer .vv file, and SPICE clients that go through the
gateway. Used by the demo (README command 1) and the end-to-end tests."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import guest as guestmod
import images
from paprikatest import free_port, launch_gateway, stop_process

HV_NAME = "paprika-demo-hv"


class DeploymentError(Exception):
    pass


class Deployment:
    def __init__(self, workdir, top_srcdir, top_builddir, log=print):
        self.work = os.path.abspath(workdir)
        self.src = os.path.abspath(top_srcdir)
        self.build = os.path.abspath(top_builddir)
        self.log = log
        self.pki = os.path.join(self.work, "pki")
        self.guest = None
        self.gateway = None
        self.gateway_log = os.path.join(self.work, "gatewayd.log")
        self.control = os.path.join(self.work, "gatewayd.sock")
        self.plain_port = self.tls_port = None
        self.password = None
        self.ca_bundle = None

    # --- setting up -----------------------------------------------------

    def make_pki(self):
        os.makedirs(self.work, exist_ok=True)
        cmd = [os.path.join(self.src, "certs", "paprika-certs"), "--force",
               "--ip", "127.0.0.1", "--dns", "localhost",
               "--spice-name", HV_NAME, "--spice-ip", "127.0.0.1", self.pki]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise DeploymentError("paprika-certs failed:\n" + r.stdout + r.stderr)
        self.host_subject = self.cert_subject(os.path.join(self.pki, "spice",
                                                           "server-cert.pem"))

    def make_libvirt_pki(self):
        """paprika-certs --only libvirt: pki/libvirt/server for a
        hypervisor's libvirtd, pki/libvirt/client for the broker (pkipath=);
        the broker's client subject, as tls_allowed_dn_list names it."""
        cmd = [os.path.join(self.src, "certs", "paprika-certs"), "--only", "libvirt",
               "--spice-name", HV_NAME, "--spice-ip", "127.0.0.1", self.pki]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise DeploymentError("paprika-certs --only libvirt failed:\n" + r.stdout + r.stderr)
        return self.cert_subject(os.path.join(self.pki, "libvirt", "client", "clientcert.pem"))

    @staticmethod
    def cert_subject(path):
        """The subject as virt-viewer's host-subject wants it: in certificate order."""
        out = subprocess.check_output(["openssl", "x509", "-noout", "-subject",
                                       "-nameopt", "RFC2253", "-in", path],
                                      text=True).strip()
        rdns = out.split("=", 1)[1].strip().split(",")
        return ",".join(reversed(rdns))

    def start_guest(self):
        disk = os.path.join(self.work, "paprika-demo.img")
        image = os.path.join(self.build, "demo", "guest", "paprika-demo.img")
        if not os.path.exists(image):
            raise DeploymentError(f"{image} is missing: run make first")
        shutil.copyfile(image, disk)
        self.guest = guestmod.Guest(os.path.join(self.work, "libvirt"),
                                    os.path.join(self.pki, "spice"), disk,
                                    log=self.log)
        self.password = guestmod.new_password()
        started = time.monotonic()
        self.guest.start(self.password, valid_seconds=600)
        self.log(f"guest started ({'KVM' if self.guest.virt == 'kvm' else 'TCG'}),"
                 f" SPICE TLS port {self.guest.tls_port()}")
        self.guest.wait_banner(os.path.join(self.work, "guest-boot.png"))
        self.boot_seconds = time.monotonic() - started
        self.log(f"guest shows its banner after {self.boot_seconds:.1f}s")

    def gateway_config(self, extra=""):
        return f"""[gateway]
listen = 127.0.0.1:{self.plain_port}
listen_tls = 127.0.0.1:{self.tls_port}
tls_cert = {self.pki}/gateway/gateway-cert.pem
tls_key = {self.pki}/gateway/gateway-key.pem
ticket_keys = {self.pki}/ticket-keys
upstream_networks = 127.0.0.0/8
upstream_ports = 1024-65535
control_socket = {self.control}
state_dir = {self.work}/gateway-state
{extra}"""

    def start_gateway(self, extra=""):
        if self.plain_port is None:
            self.plain_port, self.tls_port = free_port(), free_port()
        conf = os.path.join(self.work, "gatewayd.conf")
        with open(conf, "w") as f:
            f.write(self.gateway_config(extra))
        # It opens its control socket after its listeners: probing the
        # ports would log refused connections.
        ctl = [os.path.join(self.build, "paprikactl"), "-s", self.control, "status"]
        try:
            self.gateway = launch_gateway(
                os.path.join(self.build, "paprika-gatewayd"), conf, self.gateway_log,
                lambda: subprocess.run(ctl, capture_output=True).returncode == 0,
                timeout=10)
        except RuntimeError as e:
            raise DeploymentError(str(e)) from None
        if self.gateway.poll() is not None:
            raise DeploymentError("the gateway exited at startup")
        self.log(f"gateway listening on 127.0.0.1:{self.plain_port} (plain) "
                 f"and 127.0.0.1:{self.tls_port} (TLS)")

    def stop_gateway(self):
        stop_process(self.gateway, signal.SIGINT)
        self.gateway = None

    def stop(self):
        self.stop_gateway()
        if self.guest is not None:
            self.guest.stop()
            self.guest = None

    # --- connections ----------------------------------------------------

    def ticket(self, ports=None, ttl=300, keys=None, user="demo", session=None):
        cmd = [os.path.join(self.build, "paprikactl"), "ticket",
               "--keys", keys or os.path.join(self.pki, "ticket-keys"),
               "--user", user, "--upstream", "127.0.0.1",
               "--ports", ",".join(str(p) for p in (ports or [self.guest.tls_port()])),
               "--ttl", str(ttl), "--json"]
        if session:
            cmd += ["--session", session]
        return json.loads(subprocess.check_output(cmd, text=True))

    def new_spice_password(self, valid_seconds=300):
        self.password = guestmod.new_password()
        self.guest.set_password(self.password, valid_seconds)
        return self.password

    def write_vv(self, path, ticket, proxy=None):
        with open(os.path.join(self.pki, "spice", "ca-cert.pem")) as f:
            ca = f.read().strip().replace("\n", "\\n")
        with open(path, "w") as f:
            f.write("[virt-viewer]\n"
                    "type=spice\n"
                    f"host={ticket}\n"
                    f"tls-port={self.guest.tls_port()}\n"
                    f"password={self.password}\n"
                    f"proxy={proxy or f'http://127.0.0.1:{self.plain_port}'}\n"
                    f"ca={ca}\\n\n"
                    f"host-subject={self.host_subject}\n"
                    "secure-channels=all\n"
                    "title=Paprika demo desktop\n"
                    "delete-this-file=0\n")
        os.chmod(path, 0o600)

    def ca_bundle_path(self):
        """The system CA bundle plus the deployment's CA, for a private mount."""
        if self.ca_bundle is None:
            self.ca_bundle = os.path.join(self.work, "ca-bundle.crt")
            with open(self.ca_bundle, "w") as out:
                with open("/etc/ssl/certs/ca-certificates.crt") as f:
                    out.write(f.read())
                with open(os.path.join(self.pki, "ca", "ca-cert.pem")) as f:
                    out.write(f.read())
        return self.ca_bundle

    def spicy_screenshot(self, out, ticket, listener="plain", password=None,
                         timeout=60):
        """Captures the guest with stock spicy-screenshot through the gateway.

        spicy-screenshot has no CA or host-subject options: it verifies the
        SPICE certificate against the system store and the host name. So the
        ticket travels as the proxy password (Basic), the host is the
        hypervisor's certificate name."""
        scheme, port = (("https", self.tls_port) if listener == "tls"
                        else ("http", self.plain_port))
        return spicy_capture(self.ca_bundle_path(), HV_NAME, self.guest.tls_port(),
                             password if password is not None else self.password,
                             out, proxy=f"{scheme}://paprika:{ticket}@127.0.0.1:{port}",
                             timeout=timeout)

    def compare_with_guest(self, captured, png_out=None):
        """Compares a capture with the guest's own screendump, which
        start_guest() saw show its banner: images.same_screen's (ok, a
        sentence); never ok when either side is blank or QEMU's placeholder."""
        own = os.path.join(self.work, "guest-screendump.png")
        self.guest.screenshot(own)
        a = images.read_image(captured)
        b = images.read_image(own)
        if png_out:
            images.write_png(png_out, *a)
        return images.same_screen(a, b)

    def gateway_sessions(self):
        out = subprocess.check_output([os.path.join(self.build, "paprikactl"),
                                       "-s", self.control, "sessions", "--json"],
                                      text=True)
        return json.loads(out)["sessions"]


def spicy_capture(ca_bundle, host, port, password, out, proxy=None, timeout=60):
    """Stock spicy-screenshot over SPICE TLS to host:port, through proxy when
    given, else straight to the guest (no proxy looked up either). Its first
    frame goes to out. The deployment's CA joins the system bundle in a
    private mount namespace, the only way to make spicy-screenshot trust it.
    Returns (ok, what it printed)."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("spice_proxy", "http_proxy", "https_proxy", "all_proxy")}
    if proxy:
        env["SPICE_PROXY"] = proxy
    else:
        env["GIO_USE_PROXY_RESOLVER"] = "dummy"
    inner = 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"'
    cmd = ["unshare", "-m", "sh", "-c", inner, ca_bundle, "spicy-screenshot",
           "-h", host, "-s", str(port), "-w", password, "-o", out]
    if os.path.exists(out):
        os.unlink(out)
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "spicy-screenshot timed out"
    return r.returncode == 0 and os.path.exists(out), (r.stdout + r.stderr).strip()


def make_workdir(path=None):
    if path is None:
        return tempfile.mkdtemp(prefix="paprika-e2e.")
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


if __name__ == "__main__":
    sys.exit("deployment.py is a module: run demo/run-demo.sh")
