# SPDX-License-Identifier: ISC
"""A WebSocket client for the gateway's listen_ws, written on the standard
library (the RFC 6455 upgrade and frames over a gwharness connection), and
the hypervisor certificates its upstreams present: for test-gateway-ws.py
and bench-ws.py."""

import base64
import hashlib
import os
import struct

import gwharness as g

ORIGIN = "https://portal.example.com"
HV_SUBJECT = "O=Paprika,CN=hv1"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def hv_cert(h, name, cn, pki=None):
    """A SPICE server certificate for O=Paprika,CN=cn made by paprika-certs
    and signed by the test CA, or by the CA of another paprika-certs
    directory pki (made there when missing: a rogue CA). (cert, key), in
    the x509 dir pki/name."""
    pki = pki or h.pki
    g.make_pki(pki, "--only", "spice", "--spice-name", cn, "--spice-subdir", name,
               "--spice-key-type", "ec", "--days", "2")
    d = os.path.join(pki, name)
    return os.path.join(d, "server-cert.pem"), os.path.join(d, "server-key.pem")


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """A client frame; length overrides the announced payload length."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | rsv << 4 | opcode
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n <= 0xffff:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(c ^ key[i & 3] for i, c in enumerate(payload))


class WS:
    """A WebSocket over a gwharness connection (TLS done over memory BIOs)."""

    def __init__(self, conn, status, headers, body):
        self.conn = conn
        self.status = status
        self.headers = headers
        self.body = body

    def send(self, data, timeout=10):
        self.conn.sendall(data, timeout)

    def binary(self, payload):
        self.send(frame(2, payload))

    def read_frame(self, timeout=10):
        """(fin, opcode, payload) of the next server frame; None at EOF."""
        c = self.conn
        try:
            b0, b1 = c.recv_exact(2, timeout)
        except g.ConnClosed:
            return None
        if b1 & 0x80:
            raise AssertionError("the gateway masked a frame")
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack(">H", c.recv_exact(2, timeout))[0]
        elif n == 127:
            n = struct.unpack(">Q", c.recv_exact(8, timeout))[0]
        return (bool(b0 & 0x80), b0 & 0x0f,
                c.recv_exact(n, timeout) if n else b"")

    def read_data(self, n, timeout=10):
        """n bytes of binary frames' payloads (pongs are skipped)."""
        out = b""
        while len(out) < n:
            f = self.read_frame(timeout)
            if f is None or f[1] == 8:
                raise AssertionError("closed after %d of %d bytes: %r"
                                     % (len(out), n, f))
            if f[1] == 2:
                out += f[2]
        return out

    def read_close(self, timeout=10):
        """The close frame's (code, reason), skipping data and pongs."""
        while True:
            f = self.read_frame(timeout)
            if f is None:
                return None
            if f[1] == 8:
                p = f[2]
                return (struct.unpack(">H", p[:2])[0] if len(p) >= 2
                        else None, p[2:].decode("utf-8", "replace"))

    def echo(self, payload, timeout=10):
        self.binary(payload)
        return self.read_data(len(payload), timeout)

    def close(self):
        self.conn.close()


def upgrade_request(gw, query, origin=ORIGIN, path="/spice", method="GET",
                    version="13", key=None, headers=None, listener="ws",
                    protocol="binary"):
    """An upgrade request's bytes and its Sec-WebSocket-Key."""
    key = key if key is not None else base64.b64encode(
        os.urandom(16)).decode()
    lines = ["%s %s%s HTTP/1.1" % (method, path, query),
             "Host: 127.0.0.1:%d" % gw.address(listener)[1],
             "Upgrade: websocket", "Connection: Upgrade"]
    if key:
        lines.append("Sec-WebSocket-Key: " + key)
    if version is not None:
        lines.append("Sec-WebSocket-Version: " + version)
    if origin is not None:
        lines.append("Origin: " + origin)
    if protocol is not None:
        lines.append("Sec-WebSocket-Protocol: " + protocol)
    lines += headers or []
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), key


def ws_answer(c, key):
    """Reads the answer to an upgrade sent on c; returns a WS with it."""
    head = c.recv_until(b"\r\n\r\n")
    if head is None:
        return WS(c, None, {}, b"")
    first, *rest = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in rest:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    status = int(first.split(" ")[1])
    body = b""
    if status != 101:
        n = int(hdrs.get("content-length", "0"))
        body = c.recv_exact(n) if n else b""
    ws = WS(c, status, hdrs, body)
    ws.key = key
    return ws


def ws_open(gw, query, listener="ws", extra=b"", src=None, ctx=None, **kw):
    """Sends an upgrade request (upgrade_request's keywords) from src, over
    TLS with ctx (None: the harness's context); returns a WS with the
    answer."""
    raw, key = upgrade_request(gw, query, listener=listener, **kw)
    c = gw.connect(tls=listener if listener != "plain" else False, src=src,
                   ctx=ctx)
    c.sendall(raw + extra)
    return ws_answer(c, key)


def accept_of(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
