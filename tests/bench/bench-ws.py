# SPDX-License-Identifier: ISC
"""Gateway CPU per MB through the WebSocket listener next to the CONNECT
listeners, in one run on one gateway (tests/bench/README.md, "WebSocket
path").

Each round pulls BENCH_WS_BYTES from an upstream to a sink in this
process through each path, one tunnel at a time, and reads the gateway's
own CPU time (utime + stime from /proc/PID/stat, summed over its
processes) before and after:

  ws      listen_ws: WSS from the client, the gateway's own SPICE TLS to
          the upstream (verified against spice_ca and the host's
          spice_subject), binary frames down: two TLS sessions and the
          framing for every byte
  tls     listen_tls: CONNECT inside TLS; the bytes inside are relayed as
          they come (for SPICE, the guest's own TLS, which the gateway does
          not open): one TLS session per byte
  plain   listen: plain CONNECT (spice-gtk's proxy): no TLS at the gateway

The upstream is a separate Python process (TLS with a hypervisor
certificate for ws, plain for the CONNECT paths, where the gateway would
relay the guest's TLS unopened anyway) that sends what it is asked for
from one buffer; the client discards what it receives.

Usage: top_builddir=. python3 tests/bench/bench-ws.py (after make;
`make bench-ws` does this).
"""

import multiprocessing
import os
import signal
import socket
import ssl
import statistics
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import gwharness as g  # noqa: E402
from procstat import children, cpu_seconds  # noqa: E402
import wsclient as ws  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK", "0") not in ("", "0")


def size(text):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper()
    return int(text[:-1]) * mult[text[-1]] if text[-1] in mult else int(text)


BYTES = size(os.environ.get("BENCH_WS_BYTES", "128M" if QUICK else "1G"))
REPEAT = int(os.environ.get("BENCH_WS_REPEAT", "1" if QUICK else "3"))
CHUNK = 1 << 16
PATHS = ("ws", "tls", "plain")


def log(msg):
    print(f"[bench-ws {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- the upstream ---------------------------------------------------------

def upstream(sock, cert, key):
    """Serves one connection at a time: 8 bytes ask for n, n bytes go back
    (over TLS when cert is given)."""
    # Not the harness's watchdog, inherited with the fork: terminate() ends it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    ctx = None
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    buf = os.urandom(CHUNK)
    while True:
        c, _ = sock.accept()
        try:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s = ctx.wrap_socket(c, server_side=True) if ctx else c
            want = b""
            while len(want) < 8:
                more = s.recv(8 - len(want))
                if not more:
                    raise ConnectionError("closed")
                want += more
            n = struct.unpack(">Q", want)[0]
            view = memoryview(buf)
            while n > 0:
                k = min(n, CHUNK)
                s.sendall(view[:k])
                n -= k
            # Until the client is done with it.
            while s.recv(CHUNK):
                pass
        except (OSError, ssl.SSLError, ConnectionError):
            pass
        finally:
            c.close()


# --- the client -------------------------------------------------------------

def read_head(s):
    head = b""
    while b"\r\n\r\n" not in head:
        more = s.recv(1)
        if not more:
            raise ConnectionError(f"closed before an answer: {head!r}")
        head += more
    return head


def pull_ws(gw, ctx, query, n):
    raw = socket.create_connection(gw.address("ws"))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    req, _key = ws.upgrade_request(gw, query)
    s.sendall(req)
    head = read_head(s)
    if not head.startswith(b"HTTP/1.1 101 "):
        raise ConnectionError(f"upgrade refused: {head!r}")
    s.sendall(ws.frame(2, struct.pack(">Q", n)))
    buf = bytearray(1 << 18)
    view = memoryview(buf)
    have = 0       # bytes in buf not parsed yet
    got = 0        # payload bytes received
    left = 0       # payload bytes of the current frame still to come
    while got < n:
        k = s.recv_into(view[have:])
        if not k:
            raise ConnectionError(f"closed after {got} of {n} bytes")
        have += k
        pos = 0
        while pos < have:
            if left:
                take = min(left, have - pos)
                left -= take
                got += take
                pos += take
                continue
            if have - pos < 2:
                break
            b1 = buf[pos + 1] & 0x7f
            hl = 2 + (2 if b1 == 126 else 8 if b1 == 127 else 0)
            if have - pos < hl:
                break
            if buf[pos] & 0x0f == 8:
                raise ConnectionError(f"closed by the gateway: {bytes(buf[pos:have])!r}")
            if b1 == 126:
                left = struct.unpack_from(">H", buf, pos + 2)[0]
            elif b1 == 127:
                left = struct.unpack_from(">Q", buf, pos + 2)[0]
            else:
                left = b1
            pos += hl
        view[:have - pos] = view[pos:have] if pos < have else b""
        have -= pos
    s.close()


def pull_connect(gw, ctx, ticket, port, n, tls):
    raw = socket.create_connection(gw.address(tls))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw
    s.sendall(g.http_request(f"{ticket}:{port}", [f"Host: {ticket}:{port}"]))
    head = read_head(s)
    if not head.startswith(b"HTTP/1.1 200 "):
        raise ConnectionError(f"CONNECT refused: {head!r}")
    s.sendall(struct.pack(">Q", n))
    buf = bytearray(1 << 18)
    got = 0
    while got < n:
        k = s.recv_into(buf)
        if not k:
            raise ConnectionError(f"closed after {got} of {n} bytes")
        got += k
    s.close()


def main(h, t):
    cert, key = ws.hv_cert(h, "hv1", "hv1")
    gw = g.Gateway(h, ws=True, metrics=False, gateway={
        "ws_origins": ws.ORIGIN, "spice_ca": h.ca},
        limits={"ws_max_message": "1m"},
        sections={"hypervisor 127.0.0.1": {"spice_subject": ws.HV_SUBJECT}}).start()
    ups = {}
    for name, args in (("tls-up", (cert, key)), ("plain-up", ())):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        p = multiprocessing.Process(target=upstream, args=(sock, *args) if args
                                    else (sock, None, None), daemon=True)
        p.start()
        ups[name] = (p, sock.getsockname()[1])
        sock.close()
    ctx = h.client_ctx
    wport, pport = ups["tls-up"][1], ups["plain-up"][1]

    def one(path):
        if path == "ws":
            tk = h.ticket(wport)
            return lambda: pull_ws(gw, ctx, f"?ticket={tk.text}", BYTES)
        tk = h.ticket(pport)
        return lambda: pull_connect(gw, ctx, tk.text, pport, BYTES, path == "tls")

    res = {p: [] for p in PATHS}
    log(f"{BYTES / 1e6:.0f} MB per run, {REPEAT} round(s) after one of 16 MB not counted")
    for p in PATHS:  # warm-up
        tk = h.ticket(wport if p == "ws" else pport)
        if p == "ws":
            pull_ws(gw, ctx, f"?ticket={tk.text}", 16 << 20)
        else:
            pull_connect(gw, ctx, tk.text, pport, 16 << 20, p == "tls")
    pid = gw.proc.pid
    for r in range(REPEAT):
        for p in PATHS:
            run = one(p)
            c0, t0 = cpu_seconds(children(pid)), time.monotonic()
            run()
            c1, t1 = cpu_seconds(children(pid)), time.monotonic()
            res[p].append((BYTES / (t1 - t0) / 1e6, (c1 - c0) * 1e3 / (BYTES / 1e6)))
            log(f"round {r + 1} {p}: {res[p][-1][0]:.0f} MB/s, "
                f"gateway {res[p][-1][1]:.3f} CPU ms/MB")
    for p, _port in ups.values():
        p.terminate()
    med = statistics.median
    print()
    hdr = f"{'gateway, download':<28} {'ws':>9} {'tls':>9} {'plain':>9} | {'ws/tls':>7} {'ws/plain':>8}"
    print(hdr)
    print("-" * len(hdr))
    for name, k, unit in (("MB/s", 0, "{:.0f}"), ("CPU ms/MB", 1, "{:.3f}")):
        v = {p: med([x[k] for x in res[p]]) for p in PATHS}
        print(f"{name:<28} " + " ".join(f"{unit.format(v[p]):>9}" for p in PATHS)
              + f" | {v['ws'] / v['tls']:>6.2f}x {v['ws'] / v['plain']:>7.2f}x")
    print(f"medians of {REPEAT}, {BYTES / 1e6:.0f} MB each; ws: WSS in, SPICE TLS out "
          "(two TLS sessions); tls: CONNECT in TLS; plain: CONNECT. CPU: the gateway's "
          "utime+stime. Lower CPU ms/MB is better.")
    t.ok(True, "bench-ws ran")


if __name__ == "__main__":
    g.run(main, time_limit=1800)
