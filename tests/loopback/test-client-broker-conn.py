# SPDX-License-Identifier: ISC
"""paprika-client's window and its connections to the broker, against the
real broker on libvirt's test driver (its guest has no SPICE: the broker
refuses the connect and the window logs out), through a TCP relay here that counts the
connections and, per connection, the TLS records the client sends.

- The window opens a connection ahead once its login page is drawn
  (--verbose: "broker: connected ahead").
- The login, the desktop list, the connect and the logout all go over one
  connection: the login takes the one made ahead and the POSTs after it
  the open one, where libsoup would open a new one for every POST (a TCP
  and TLS handshake on the Enter's path each).

The count uses TLS 1.3's records: after the handshake the client sends only
application-data records (type 23), its Finished (about 50 bytes) and at
the end a close_notify alert (about 20) among them, so a connection that
carried a request is one that sent an application-data record over 100
bytes (a request's headers are more); one opened ahead and never used sent
none."""

import os
import socket
import struct
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, run_deployment,  # noqa: E402
                         top_builddir, top_srcdir, wait_until)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402
from desktop import need_tools, start_client, start_xvfb, xdo  # noqa: E402

USER, PASSWORD = "gil", "gil-pw"
APP_DATA = 23
REQUEST_MIN = 100  # bytes of a record that can only be a request


class Relay:
    """127.0.0.1:port to the broker, a thread per direction; records holds,
    per accepted connection in order, the client's TLS records as (type,
    length)."""

    def __init__(self, target):
        self.target = target
        self.records = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            with self.lock:
                types = []
                self.records.append(types)
            threading.Thread(target=self.pipe, args=(c, u, types), daemon=True).start()
            threading.Thread(target=self.pipe, args=(u, c, None), daemon=True).start()

    def pipe(self, src, dst, types):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if types is None:
                    continue
                buf += data
                while len(buf) >= 5:
                    n = struct.unpack("!H", buf[3:5])[0]
                    if len(buf) < 5 + n:
                        break
                    with self.lock:
                        types.append((buf[0], n))
                    buf = buf[5 + n:]
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def used(self):
        """How many connections carried a request, and how many there were."""
        with self.lock:
            return (sum(1 for t in self.records
                        if any(k == APP_DATA and n > REQUEST_MIN for k, n in t)),
                    len(self.records))

    def close(self):
        self.sock.close()


def run(d):
    need_tools("Xvfb", "xdotool")
    procs = []
    relay = None
    try:
        d.make_pki()
        d.add_user(USER, PASSWORD, "staff")
        d.conf_text = d.test_driver_config(assign=f"{USER}=test")
        d.start_broker()
        relay = Relay(d.broker_port)
        env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(d.work, "config"))
        genv = start_xvfb(env, procs, 150, 199)
        _, log = start_client(genv, os.path.join(d.work, "client-gui.log"), procs,
                              "--broker", f"https://127.0.0.1:{relay.port}",
                              "--ca", os.path.join(d.pki, "ca", "ca-cert.pem"),
                              "--user", USER)
        if not check(log.wait(r"ui: window drawn$", 20), "the window is drawn",
                     "\n".join(log.lines()[-10:])):
            return
        check(log.wait(r"broker: connected ahead in ", 10),
              "the window opens a connection to the broker ahead of the login",
              "\n".join(log.lines()[-10:]))
        used, opened = relay.used()
        check(used == 0 and opened >= 1, "no request went out before the Enter",
              f"{used} of {opened} connections carried requests")
        xdo(genv, "type", "--delay", "15", PASSWORD)
        xdo(genv, "key", "Return")
        check(log.wait(rf"ui: logged in as {USER}$", 20), "the window logs in",
              "\n".join(log.lines()[-10:]))
        # The test driver's guest has no SPICE: the broker refuses the
        # connect and the window logs out.
        asked = log.wait(r"ui: progress: connecting to office$", 20)
        line = log.wait(r"ui: login: ", 20)
        check(asked is not None and line is not None and "The desktop is unavailable" in line,
              "the window asks to connect, is refused (no SPICE on the test driver's "
              "guest) and is back on its login page", "\n".join(log.lines()[-10:]))
        if not check(wait_until(lambda: "POST /api/v1/logout" in d.broker_tail(50), 10, 0.1),
                     "the broker has the logout", d.broker_tail(10)):
            return
        used, opened = relay.used()
        check(used == 1,
              "the login, the desktop list, the connect and the logout went over one "
              "connection", f"{used} of {opened} connections carried requests "
              f"(client TLS records per connection, type and length: {relay.records})")
        note(f"{opened} connection(s) in all, {used} with requests")
    finally:
        for p in reversed(procs):
            paprikatest.stop_process(p)
        if relay is not None:
            relay.close()


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-client-broker-conn."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note, guests=1)
    return run_deployment(d, run)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
