# SPDX-License-Identifier: ISC
"""The broker's browser connections against the real gateway's WebSocket
listener.

One QEMU guest under libvirt's embedded driver (SPICE TLS only), the real
paprika-gatewayd with listen_ws (the portal's origin allowed, SPICE TLS to
the guest verified against the SPICE CA and the host's subject) and the
real broker, whose [gateway local] names that listener in websocket and
whose pool has browser = yes. The desktop list says the pool can be opened
in a browser; the connect answer carries browser.url, wss:// to that
listener with the ticket; a WebSocket client written here on the standard
library opens it from the portal's origin, as a browser would, and QEMU's
SPICE server answers the SPICE link message through it with "REDQ". The
portal's Content-Security-Policy allows connections to that listener. The
same URL from another origin is refused, and neither the ticket nor the
SPICE password reaches either log.
"""

import base64
import os
import socket
import struct
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import (check, import_demo, note, read_text,  # noqa: E402
                     run_deployment, top_builddir, top_srcdir)

import_demo()
import brokerdeploy  # noqa: E402
from deployment import make_workdir  # noqa: E402


def spice_link_message():
    """SpiceLinkHeader (REDQ, 2.2) and SpiceLinkMess for the main channel."""
    mess = struct.pack("<IBBIII", 0, 1, 0, 0, 0, 18)
    return b"REDQ" + struct.pack("<III", 2, 2, len(mess)) + mess


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError(f"closed after {len(out)} of {n} bytes")
        out += chunk
    return out


class WebSocket:
    """A client WebSocket over TLS (RFC 6455, binary frames, masked)."""

    def __init__(self, d, url, origin):
        u = urllib.parse.urlsplit(url)
        raw = socket.create_connection((u.hostname, u.port), timeout=30)
        self.s = d.tls_context().wrap_socket(raw, server_hostname=u.hostname)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET {u.path}?{u.query} HTTP/1.1\r\n"
               f"Host: {u.netloc}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Key: {key}\r\nOrigin: {origin}\r\n"
               "Sec-WebSocket-Protocol: binary\r\n\r\n")
        self.s.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.s.recv(1)
            if not chunk:
                break
            head += chunk
        first = head.split(b"\r\n", 1)[0].decode("latin-1")
        self.status = int(first.split(" ")[1]) if " " in first else None

    def send_binary(self, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + struct.pack(">H", n))
        self.s.sendall(head + mask + bytes(c ^ mask[i & 3]
                                           for i, c in enumerate(payload)))

    def read_data(self, n):
        """n bytes of the server's binary frames."""
        out = b""
        while len(out) < n:
            b0, b1 = recv_exact(self.s, 2)
            size = b1 & 0x7f
            if size == 126:
                size = struct.unpack(">H", recv_exact(self.s, 2))[0]
            elif size == 127:
                size = struct.unpack(">Q", recv_exact(self.s, 8))[0]
            payload = recv_exact(self.s, size) if size else b""
            if b0 & 0x0f == 8:
                raise EOFError(f"closed by the gateway: {payload!r}")
            if b0 & 0x0f == 2:
                out += payload
        return out

    def close(self):
        self.s.close()


def run(d):
    token = d.login()
    st, body, _ = d.api("GET", "/api/v1/desktops", token=token)
    office = [p for p in body.get("desktops", []) if p.get("id") == "office"]
    check(st == 200 and office and office[0].get("browser") is True,
          "the desktop list says the pool opens in a browser", body)

    st, _, hdrs = d.api("GET", "/", raw=True)
    csp = hdrs.get("content-security-policy", "")
    check(st == 200 and csp == "default-src 'self'; connect-src 'self' "
          f"wss://127.0.0.1:{d.ws_port}",
          "the portal's CSP lets its script open WebSockets to the gateway "
          "and nothing else beyond its own origin", csp)

    conn = d.connect(token)
    browser = conn.get("browser") or {}
    url = browser.get("url", "")
    prefix = f"wss://127.0.0.1:{d.ws_port}/spice?ticket="
    check(url == prefix + conn["host"],
          "the connection's browser.url is the gateway's WebSocket listener "
          "with the connection's ticket", url)
    check(conn.get("password") and conn.get("password_expires") and
          conn.get("ticket_expires"),
          "the browser gets the SPICE password and the expiries of the "
          "connection", sorted(conn))
    if not url.startswith(prefix):
        return

    ws = WebSocket(d, url, d.portal_origin())
    check(ws.status == 101, "the gateway opens the WebSocket from the "
          "portal's origin", ws.status)
    if ws.status == 101:
        link = spice_link_message()
        ws.send_binary(link)
        reply = ws.read_data(16)
        check(reply[:4] == b"REDQ" and
              struct.unpack("<II", reply[4:12]) == (2, 2),
              "QEMU's SPICE server answers the link message through the "
              "gateway (REDQ, protocol 2.2)", reply)
    ws.close()

    other = WebSocket(d, url, "https://elsewhere.example")
    check(other.status == 403, "the same URL from another origin is refused",
          other.status)
    other.close()

    for name, path in (("broker", d.broker_log), ("gateway", d.gateway_log)):
        text = read_text(path)
        check(conn["host"] not in text and conn["password"] not in text,
              f"neither the ticket nor the SPICE password is in the {name}'s log")


def deploy_and_run(d):
    d.make_pki()
    d.define_guests()
    d.add_user(brokerdeploy.DEMO_USER, brokerdeploy.DEMO_PASSWORD, "staff")
    d.start_gateway(d.browser_gateway())
    d.start_broker(pool_extra="browser = yes\n")
    run(d)


def main():
    work = make_workdir(tempfile.mkdtemp(prefix="paprika-browser."))
    d = brokerdeploy.BrokerDeployment(work, top_srcdir, top_builddir, log=note,
                                      guests=1)
    return run_deployment(d, deploy_and_run)


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
