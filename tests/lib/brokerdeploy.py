# SPDX-License-Identifier: ISC
"""A small real Paprika deployment: broker, gateway and demo guests.

Used by the demo (README command 1) and the broker's integration and
end-to-end tests. Everything runs on loopback: the PKI from paprika-certs,
demo guests defined under libvirt's embedded QEMU driver
(qemu:///embed?root=DIR), paprika-gatewayd, and paprika-brokerd, which
owns the embedded driver while it runs. A user logs in through the
broker's HTTPS API like any client would.
"""

import atexit
import contextlib
import csv
import http.client
import io
import json
import os
import signal
import sqlite3
import ssl
import subprocess
import sys
import time

import libvirt

import accel
import guest as guestmod
import pgcluster
from deployment import Deployment, DeploymentError
from paprikatest import free_port, stop_process

DEMO_USER = "demo"
DEMO_PASSWORD = "paprika-demo"
SNAPSHOT = "clean"

# A template pool for the tests and the benchmark: define_guests("lab-template").
LAB_POOL = """
[pool lab]
title = Lab desktop
kind = template
host = local
template = lab-template
max = 2
spares = 1
groups = staff
"""


# A guest booted from a kernel and an initramfs (demo/agent-guest/build.sh),
# its serial console to a file, SPICE as the demo guests have it; devices
# (XML) add to those.
KERNEL_GUEST_XML = """<domain type='{virt}'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet{cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <serial type='file'>
      <source path='{serial_log}'/>
      <target port='0'/>
    </serial>
    <graphics type='spice' autoport='yes' defaultMode='secure'
              passwd='{password}'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
{devices}    <memballoon model='none'/>
  </devices>
</domain>
"""


def test_domain(name, uuid):
    """The inside of a test-driver <domain> with SPICE on fixed ports, for
    a host of libvirt's test driver (test:///path/node.xml)."""
    return f"""<name>{name}</name><uuid>{uuid}</uuid>
    <memory unit='MiB'>512</memory><vcpu>1</vcpu>
    <os><type>hvm</type></os>
    <devices>
      <graphics type='spice' port='5931' tlsPort='5932' autoport='no' listen='127.0.0.1'>
        <listen type='address' address='127.0.0.1'/>
      </graphics>
    </devices>"""


# PAPRIKA_TEST_DB=postgresql: every deployment's broker keeps its state in
# a database of its own on one private PostgreSQL cluster per test process
# (make check-postgresql runs the broker's tests so).
_cluster = None


def _database_name(work):
    """The PostgreSQL database of the deployment in work, made when new;
    None on SQLite."""
    global _cluster
    if os.environ.get("PAPRIKA_TEST_DB", "sqlite") != "postgresql":
        return None
    if _cluster is None:
        _cluster = pgcluster.Cluster()
        atexit.register(_cluster.cleanup)
        _cluster.start()
    name = "d_" + os.path.basename(work).replace(".", "_").replace("-", "_").lower()
    if _cluster.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "0":
        _cluster.create_db(name)
    return name


def _database_line(work):
    name = _database_name(work)
    return "" if name is None else f"database = {_cluster.url(name)}\n"


def _sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _bind(sql, params):
    """sql with each ? replaced by its value as an SQL literal."""
    parts = sql.split("?")
    if len(parts) != len(params) + 1:
        raise ValueError(f"{sql!r}: {len(parts) - 1} placeholders for {len(params)} values")
    return parts[0] + "".join(_sql_literal(v) + rest for v, rest in zip(params, parts[1:]))


def _psql(name, text, csv_out=False):
    """Runs text (on standard input: it may be long) on database name."""
    args = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", _cluster.url(name)]
    if csv_out:
        args += ["--csv", "-t", "-P", "null=\\N"]
    # Bytes, not text=True: its newline translation would turn a value's
    # \r\n into \n.
    r = subprocess.run(args, input=text.encode(), capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"psql {text[:200]!r}: {r.stderr.decode().strip()}")
    return r.stdout.decode()


def on_postgresql():
    """Whether the deployments keep their state on PostgreSQL."""
    return os.environ.get("PAPRIKA_TEST_DB", "sqlite") == "postgresql"


def state_rows(work, sql, params=()):
    """The rows sql (with ? for params) reads from the state of the
    deployment in work, on SQLite or PostgreSQL alike: tuples of text (None
    for NULL), as the two give back different types. Write a column named
    user as "user", which PostgreSQL reserves."""
    name = _database_name(work)
    if name is None:
        with contextlib.closing(sqlite3.connect(
                f"file:{work}/broker.db?mode=ro", uri=True, timeout=30)) as c:
            return [tuple(None if v is None else str(v) for v in row)
                    for row in c.execute(sql, params).fetchall()]
    out = _psql(name, _bind(sql, params) + ";\n", csv_out=True)
    return [tuple(None if v == "\\N" else v for v in row)
            for row in csv.reader(io.StringIO(out, newline=""))]


def state_write(work, sql, rows=((),)):
    """Runs sql (with ? for values) once for each of rows in one
    transaction on the state of the deployment in work."""
    name = _database_name(work)
    if name is None:
        # The outer with closes the connection, the inner commits.
        with contextlib.closing(sqlite3.connect(
                os.path.join(work, "broker.db"), timeout=30)) as c, c:
            c.executemany(sql, rows)
        return
    _psql(name, "BEGIN;\n" + "".join(_bind(sql, r) + ";\n" for r in rows) + "COMMIT;\n")


class ApiError(Exception):
    def __init__(self, status, body):
        self.status = status
        self.body = body
        err = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(f"HTTP {status}: {err.get('code')}: {err.get('message')}")


class BrokerDeployment(Deployment):
    """PKI, guests, gateway and broker in one work directory."""

    def __init__(self, workdir, top_srcdir, top_builddir, log=print, guests=2):
        super().__init__(workdir, top_srcdir, top_builddir, log=log)
        self.root = os.path.join(self.work, "libvirt")
        self.nguests = guests
        self.guest_names = [f"desk-{i + 1}" for i in range(guests)]
        self.broker = None
        self.broker_port = free_port()
        # A whole configuration a test wrote (its own sections, a host of its
        # own), kept across restarts; None: broker_config's.
        self.conf_text = None
        self.broker_log = os.path.join(self.work, "brokerd.log")
        self.broker_conf = os.path.join(self.work, "brokerd.conf")
        self.users_file = os.path.join(self.work, "users")
        # The demo guests' domain type ("kvm" or "qemu") and why, from
        # define_guests.
        self.virt = None
        self.virt_why = None
        # The gateway the broker hands out: "plain" (http://, the default)
        # or "tls" (https://, the gateway's TLS listener).
        self.listener = "plain"
        # The broker's environment (None: this process's), e.g. to run it
        # under pam_wrapper.
        self.broker_env = None
        # The gateway's WebSocket listener for browsers (browser_gateway).
        self.ws_port = None

    @property
    def totp_key(self):
        """The broker's TOTP key, which make_pki's paprika-certs makes."""
        return os.path.join(self.pki, "broker", "totp.key")

    # --- guests ---------------------------------------------------------

    def write_qemu_conf(self):
        os.makedirs(os.path.join(self.root, "etc"), exist_ok=True)
        with open(os.path.join(self.root, "etc", "qemu.conf"), "w") as f:
            f.write(guestmod.QEMU_CONF.format(
                spice_dir=os.path.abspath(os.path.join(self.pki, "spice")),
                port_min=guestmod.spice_port_range()[0],
                port_max=guestmod.spice_port_range()[1]))

    def _libvirt(self, *args):
        """Runs a libvirt step in a child process: the embedded driver stays
        locked by whichever process opened it until that process exits, and
        the broker must be able to open it next."""
        env = dict(os.environ, LIBVIRT_LOG_OUTPUTS=
                   f"3:file:{os.path.join(self.work, 'libvirt.log')}")
        r = subprocess.run([sys.executable, os.path.abspath(__file__), *args],
                           env=env, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            # What went wrong first: stdout may be long (a domain's XML).
            raise DeploymentError(f"libvirt {args[0]}: exit status {r.returncode}: "
                                  f"{r.stderr.strip()[-2000:]}\n{r.stdout.strip()[-2000:]}")
        return r.stdout

    def define_guests(self, *extra, running=False):
        """Defines the demo guests (not running) on qcow2 disks, each with
        a snapshot the shared pool reverts to between users; extra names
        more guests outside the shared pool (a template, a static guest).
        With running, the shared pool's guests are booted to their desktop
        and their snapshot is taken running, memory and all: a revert then
        gives the next user a drawn desktop without a boot."""
        image = os.path.join(self.build, "demo", "guest", "paprika-demo.img")
        if not os.path.exists(image):
            raise DeploymentError(f"{image} is missing: run make first")
        self.write_qemu_conf()
        self.virt, self.virt_why = self.accelerator("boot-sector", image)
        names = self.guest_names + list(extra)
        for name in names:
            subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O",
                            "qcow2", image, self.disk(name)], check=True)
        self._libvirt("define", self.root, self.virt,
                      *[f"{n}={self.disk(n)}" for n in names])
        self.log(f"guests {', '.join(names)} defined, each with "
                 f"snapshot '{SNAPSHOT}'")
        if running:
            t0 = time.monotonic()
            self._libvirt("snapshot-running", self.root, self.work, *self.guest_names)
            self.log(f"guests {', '.join(self.guest_names)} booted to their desktop "
                     f"and snapshotted running as '{SNAPSHOT}' in {time.monotonic() - t0:.1f}s: "
                     "each user gets a drawn desktop with no boot")

    def definition(self, name):
        """A guest's persistent XML (the broker must be stopped: the
        embedded driver is one process's at a time)."""
        return self._libvirt("xml", self.root, name)

    def accelerator(self, kind, path):
        """(domain type, why) for guests of kind booting path, logged: a
        Linux kernel may hang under a KVM that runs the demo's boot
        sector (tests/lib/accel.py)."""
        try:
            virt, why = accel.choose(kind, path)
        except accel.AccelError as e:
            raise DeploymentError(str(e))
        self.log(accel.summary(kind, why))
        return virt, why

    def define_kernel_guest(self, name, kernel, initrd, devices, cmdline=""):
        """Defines guest name (after define_guests) booting kernel and
        initrd with devices (KERNEL_GUEST_XML), under the accelerator a
        Linux kernel boots under here; the file its serial console goes to."""
        virt, _ = self.accelerator("linux-kernel", kernel)
        serial_log = os.path.join(self.work, f"{name}-serial.log")
        path = os.path.join(self.work, f"{name}.xml")
        with open(path, "w") as f:
            f.write(KERNEL_GUEST_XML.format(
                virt=virt, name=name, kernel=kernel, initrd=initrd,
                cmdline=cmdline, serial_log=serial_log, devices=devices,
                password=guestmod.new_password()))
        self._libvirt("define-xml", self.root, path)
        return serial_log

    def disk(self, name):
        return os.path.abspath(os.path.join(self.work, f"{name}.qcow2"))

    def destroy_guests(self):
        """Stops every guest QEMU under the embedded root: they outlive the
        broker by design (its restarts must not drop desktops)."""
        try:
            self._libvirt("destroy", self.root)
        except (DeploymentError, subprocess.TimeoutExpired):
            pass
        # Whatever the driver lost track of: QEMU processes under this root.
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"qemu-system" in cmd and self.root.encode() in cmd:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass

    # --- broker ---------------------------------------------------------

    def add_user(self, name, password, groups):
        r = subprocess.run([os.path.join(self.build, "paprika-users"), "-f",
                            self.users_file, "add", name, "--groups", groups,
                            "--stdin"], input=password + "\n", text=True,
                           capture_output=True)
        if r.returncode != 0:
            raise DeploymentError(f"paprika-users add {name}: {r.stderr.strip()}")

    def broker_config(self, pool_extra="", extra=""):
        names = ", ".join(self.guest_names)
        # The broker refuses root unless told: here it drives the embedded
        # QEMU under the work directory, which its caller owns.
        user = "user = root\n" if os.geteuid() == 0 else ""
        return f"""[broker]
{user}listen = 127.0.0.1:{self.broker_port}
tls_cert = {self.pki}/broker/broker-cert.pem
tls_key = {self.pki}/broker/broker-key.pem
state = {self.work}/broker.db
{_database_line(self.work)}ticket_keys = {self.pki}/ticket-keys
spice_ca = {self.pki}/spice/ca-cert.pem
pam_service =
users_file = {self.users_file}
portal_dir = {self.src}/broker/portal
start_timeout = 120s
{extra}
[roles]
helpdesk = helpdesk

[host local]
uri = qemu:///embed?root={self.root}
spice_address = 127.0.0.1
spice_cert = {self.pki}/spice/server-cert.pem

[gateway local]
proxy = {self.proxy_url()}
control = {self.control}
{self.websocket_line()}

[pool office]
title = Office desktop
kind = shared
host = local
guests = {names}
snapshot = {SNAPSHOT}
groups = staff
disconnect_action = none
{pool_extra}
"""

    def test_driver_config(self, extra="", sections="", assign="demo=test"):
        """broker_config with a host of libvirt's test driver instead of
        QEMU guests (no guest runs, no gateway is reached) and one static
        pool giving assign; sections go in before the host."""
        conf = self.broker_config(extra=extra)
        return conf.split("[host local]")[0] + sections + f"""[host local]
uri = test:///default
spice_address = 127.0.0.1

[gateway local]
proxy = http://127.0.0.1:1

[pool office]
title = Office desktop
kind = static
host = local
assign = {assign}
"""

    def start_helpdesk_broker(self, limits="login_fail_delay = 0\n", more="", broker=""):
        """A broker on the test driver for the helpdesk tests: users demo
        (staff), helper (helpdesk) and boss (helpdesk, admin), each with the
        password NAME-password; three failures lock a user name out. more
        is appended to the configuration (hosts, pools); broker goes in
        [broker]."""
        self.make_pki()
        for user, groups in (("demo", "staff"), ("helper", "helpdesk"),
                             ("boss", "helpdesk,admin")):
            self.add_user(user, f"{user}-password", groups)
        self.conf_text = self.test_driver_config(extra=broker).replace(
            "[roles]\nhelpdesk = helpdesk", "[roles]\nhelpdesk = helpdesk\nadmin = admin") + (
            "\n[limits]\nlogin_free_failures = 5\nlogin_lockout_failures = 3\n" + limits) + more
        self.start_broker()

    def browser_gateway(self):
        """The gateway's configuration lines (start_gateway's extra) for
        its WebSocket listener: browsers from the portal's origin, SPICE TLS
        to the guests verified against the SPICE CA and the host's subject;
        the broker's [gateway local] then names it in websocket."""
        self.ws_port = free_port()
        return (f"listen_ws = 127.0.0.1:{self.ws_port}\n"
                f"ws_origins = {self.portal_origin()}\n"
                f"spice_ca = {self.pki}/spice/ca-cert.pem\n"
                f"\n[hypervisor 127.0.0.1]\n"
                f"spice_subject = {self.host_subject}\n")

    def portal_origin(self):
        return f"https://127.0.0.1:{self.broker_port}"

    def websocket_line(self):
        if self.ws_port is None:
            return ""
        return f"websocket = wss://127.0.0.1:{self.ws_port}"

    def proxy_url(self):
        if self.listener == "tls":
            return f"https://127.0.0.1:{self.tls_port}"
        return f"http://127.0.0.1:{self.plain_port}"

    def start_broker(self, pool_extra="", extra="", wait=30, standby=False):
        """Starts the broker and waits until it reaches its host, or, with
        standby, until it stands by for another broker on its database
        (standby=None: either)."""
        with open(self.broker_conf, "w") as f:
            f.write(self.conf_text if self.conf_text is not None
                    else self.broker_config(pool_extra, extra))
        logf = open(self.broker_log, "a")
        self.broker = subprocess.Popen(
            [os.path.join(self.build, "paprika-brokerd"), "-d", "-v", "-f",
             self.broker_conf], stdout=logf, stderr=subprocess.STDOUT,
            env=self.broker_env)
        logf.close()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.broker.poll() is not None:
                raise DeploymentError("paprika-brokerd exited:\n" + self.broker_tail())
            try:
                if (standby is not False and self.standing_by()) or \
                        (not standby and self.host_up("local")):
                    self.log(f"broker listening on https://127.0.0.1:{self.broker_port}")
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise DeploymentError("the broker did not come up:\n" + self.broker_tail())

    def host_up(self, name):
        """Whether the broker reaches host name, from /metrics (served to
        loopback): the health route names no host without a helpdesk login."""
        status, body, _ = self.api("GET", "/metrics", raw=True)
        return status == 200 and \
            f'paprika_broker_host_up{{host="{name}"}} 1\n'.encode() in body

    def standing_by(self):
        """Whether the broker says it stands by (another one leads): 200
        when it forwards to the leader, 503 when it cannot."""
        return self.role() == "standby"

    def role(self):
        """"leader" or "standby" as the health check says, or None."""
        status, body, _ = self.api("GET", "/api/v1/health")
        return body.get("role") if isinstance(body, dict) else None

    def state(self, sql, params=()):
        """state_rows of this deployment's state: rows of text."""
        return state_rows(self.work, sql, params)

    def state_write(self, sql, rows=((),)):
        """state_write on this deployment's state."""
        state_write(self.work, sql, rows)

    def stop_broker(self, sig=signal.SIGTERM):
        stop_process(self.broker, sig, 10)
        self.broker = None

    def broker_tail(self, lines=30):
        try:
            with open(self.broker_log) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        self.stop_broker()
        self.stop_gateway()
        self.destroy_guests()

    # --- the API ----------------------------------------------------------

    def tls_context(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.pki, "ca",
                                                              "ca-cert.pem"))
        return ctx

    def api(self, method, path, body=None, token=None, headers=None, raw=False,
            source=None):
        """One request; returns (status, JSON body or bytes, headers)."""
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.broker_port, context=self.tls_context(), timeout=60,
            source_address=(source, 0) if source else None)
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            payload = r.read()
            rh = {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()
        if raw or not rh.get("content-type", "").startswith("application/json"):
            return r.status, payload, rh
        return r.status, json.loads(payload), rh

    def login(self, user=DEMO_USER, password=DEMO_PASSWORD):
        status, body, _ = self.api("POST", "/api/v1/login",
                                   {"username": user, "password": password})
        if status != 200:
            raise ApiError(status, body)
        return body["token"]

    def connect(self, token, pool="office", timeout=120, vv=False, progress=None,
                source=None):
        """Connects, asking again while the desktop starts (each request
        waits up to 2 s for it, then reports progress); returns the
        connection JSON (or the .vv text with vv=True)."""
        deadline = time.monotonic() + timeout
        while True:
            if vv:
                status, body, hdrs = self.api(
                    "GET", f"/api/v1/desktops/{pool}/console.vv?wait=2", token=token,
                    source=source)
            else:
                status, body, hdrs = self.api(
                    "POST", f"/api/v1/desktops/{pool}/connect?wait=2", token=token,
                    source=source)
            if status == 200:
                return body.decode() if vv else body
            if status != 202:
                raise ApiError(status, body)
            if progress:
                progress(body)
            if time.monotonic() > deadline:
                raise DeploymentError(f"desktop not ready after {timeout}s: {body}")

    def guest_screenshot(self, token, guest, path, pool="office", screen=None):
        """The guest's own screen (its screen number screen, from 0, where
        given), through the broker's helpdesk route."""
        query = "" if screen is None else f"?screen={screen}"
        status, body, hdrs = self.api(
            "GET", f"/api/v1/pools/{pool}/desktops/{guest}/screenshot{query}",
            token=token, raw=True)
        if status != 200:
            raise DeploymentError(f"screenshot of {guest}: HTTP {status}: {body[:200]}")
        with open(path, "wb") as f:
            f.write(body)

    def spicy_capture(self, conn, out, listener="plain", timeout=60):
        """spicy-screenshot through the gateway with a broker connection:
        the ticket as the proxy password, the SPICE password from the grant."""
        self.guest = _PortOnly(conn["tls_port"])
        return self.spicy_screenshot(out, conn["host"], listener=listener,
                                     password=conn["password"], timeout=timeout)


class _PortOnly:
    """What Deployment.spicy_screenshot needs of a guest: its TLS port."""

    def __init__(self, port):
        self.port = port

    def tls_port(self):
        return self.port


def _snapshot_running(conn, root, work, names):
    """Starts each guest, waits for its banner, and replaces its shut-off
    snapshot with one of it running (memory included); they keep running."""
    doms = [conn.lookupByName(n) for n in names]
    for dom in doms:
        dom.snapshotLookupByName(SNAPSHOT).delete()
        dom.create()
    for dom in doms:
        g = guestmod.Guest(root, work, "", name=dom.name())
        g.conn, g.dom = conn, dom
        g.wait_banner(os.path.join(work, f"{dom.name()}-snapshot.png"), timeout=90)
        dom.snapshotCreateXML(
            f"<domainsnapshot><name>{SNAPSHOT}</name></domainsnapshot>", 0)


def _main(argv):
    """Child-process steps: define ROOT VIRT NAME=DISK..., snapshot-running
    ROOT WORK NAME..., define-xml ROOT FILE, xml ROOT NAME (the persistent
    definition, on stdout), destroy ROOT."""
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    guestmod._start_event_loop()
    conn = libvirt.open(f"qemu:///embed?root={argv[1]}")
    if argv[0] == "define":
        for item in argv[3:]:
            name, disk = item.split("=", 1)
            # The demo guest's XML, on qcow2 (snapshots) with a password
            # nobody knows until the broker sets one.
            dom = conn.defineXML(guestmod.DOMAIN_XML.format(
                virt=argv[2], name=name, image=disk, disk_format="qcow2",
                password=guestmod.new_password(), valid_to=""))
            dom.snapshotCreateXML(
                f"<domainsnapshot><name>{SNAPSHOT}</name></domainsnapshot>", 0)
    elif argv[0] == "snapshot-running":
        _snapshot_running(conn, argv[1], argv[2], argv[3:])
    elif argv[0] == "xml":
        print(conn.lookupByName(argv[2]).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    elif argv[0] == "define-xml":
        with open(argv[2]) as f:
            conn.defineXML(f.read())
    elif argv[0] == "destroy":
        for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                dom.destroy()
            except libvirt.libvirtError:
                pass
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
