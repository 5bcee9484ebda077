# SPDX-License-Identifier: ISC
"""The gateway's test harness: paprika-gatewayd on free loopback ports with
the PKI from paprika-certs, ticket keys and configurations, upstream
servers in threads, CONNECT over plain TCP and over TLS, and a teardown
that runs on the way out, failed or not.

TLS connections are driven through ssl.MemoryBIO from a single thread with
poll(): an SSL object must never be used from two threads at once, and this
way one loop can send and receive at the same time. Every wait has a deadline.

A script calls run(main): main(h, t) gets a Harness and the Checks
(paprikatest's TAP checks); run() prints the plan and exits.
"""

import hashlib
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

import paprikatest
from paprikatest import TimeUp, free_port, launch_gateway, make_pki, need_built, wait_until

# Whole-script watchdog: teardown still runs when it fires.
DEFAULT_TIME_LIMIT = 240

OK_REPLY = b"HTTP/1.1 200 Connection established\r\n\r\n"

threading.stack_size(512 * 1024)


Watchdog = TimeUp


# --------------------------------------------------------------------------
# Deterministic data


class Pattern:
    """A long deterministic byte stream: a random block of odd length,
    repeated, so lost, doubled or reordered chunks change the digest."""

    BLOCK = (1 << 20) + 4093
    _cache = {}

    def __init__(self, seed):
        if seed not in Pattern._cache:
            block = random.Random(seed).randbytes(self.BLOCK)
            Pattern._cache[seed] = memoryview(block + block)
        self.mv = Pattern._cache[seed]
        self.seed = seed
        self._digests = {}

    def chunks(self, total, size=256 * 1024):
        pos = 0
        while pos < total:
            n = min(size, total - pos, self.BLOCK)
            off = pos % self.BLOCK
            yield self.mv[off:off + n]
            pos += n

    def bytes(self, total):
        return b"".join(bytes(c) for c in self.chunks(total))

    def sha256(self, total):
        if total not in self._digests:
            h = hashlib.sha256()
            for c in self.chunks(total, 1 << 20):
                h.update(c)
            self._digests[total] = h.hexdigest()
        return self._digests[total]


class Sink:
    """Counts and hashes what arrives; keeps the first bytes."""

    def __init__(self, keep=65536):
        self.n = 0
        self.h = hashlib.sha256()
        self.head = bytearray()
        self.keep = keep

    def __call__(self, data):
        self.n += len(data)
        self.h.update(data)
        if len(self.head) < self.keep:
            self.head += data[:self.keep - len(self.head)]

    def hexdigest(self):
        return self.h.hexdigest()


MiB = 1 << 20


# --------------------------------------------------------------------------
# Client connections: plain or TLS, one thread each


class ConnClosed(Exception):
    pass


class Conn:
    """A client connection to the gateway. With tls_ctx the TLS layer runs
    over memory BIOs, so the same single-threaded loop serves both kinds."""

    READ_SIZE = 256 * 1024

    def __init__(self, sock, tls_ctx=None, server_hostname=None,
                 session=None):
        sock.setblocking(False)
        self.sock = sock
        self.fd = sock.fileno()
        self.local = sock.getsockname()
        self.rbuf = bytearray()      # application bytes not yet consumed
        self.wire_out = bytearray()  # bytes for the socket not yet sent
        self.eof = False             # the peer's direction has ended
        self.reset = False
        self.tcp_eof = False
        self.closed = False
        self.tls = None
        self.tls_clean_close = False
        if tls_ctx is not None:
            self.bio_in = ssl.MemoryBIO()
            self.bio_out = ssl.MemoryBIO()
            self.tls = tls_ctx.wrap_bio(self.bio_in, self.bio_out,
                                        server_hostname=server_hostname,
                                        session=session)
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)

    @property
    def local_port(self):
        return self.local[1]

    # -- low level

    def _poll(self, want_write, deadline):
        # Once the peer's FIN is in, POLLIN would report it forever.
        mask = (0 if self.tcp_eof else select.POLLIN) | (
            select.POLLOUT if want_write else 0)
        self.poller.modify(self.fd, mask)
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        ev = self.poller.poll(max(1, int(min(left, 0.5) * 1000)))
        return ev[0][1] if ev else 0

    def _collect_tls_out(self):
        if self.tls is not None and self.bio_out.pending:
            self.wire_out += self.bio_out.read()

    def _send_some(self):
        self._collect_tls_out()
        while self.wire_out:
            try:
                n = self.sock.send(self.wire_out[:1 << 20])
            except BlockingIOError:
                return
            except (ConnectionResetError, BrokenPipeError):
                self.reset = True
                raise ConnClosed("connection reset while sending")
            del self.wire_out[:n]

    def _read_some(self):
        """Moves what the socket has into rbuf. Returns True if it read."""
        if self.tcp_eof:
            return False
        try:
            data = self.sock.recv(self.READ_SIZE)
        except BlockingIOError:
            return False
        except ConnectionResetError:
            self.reset = True
            self.tcp_eof = True
            self.eof = True
            return True
        if not data:
            self.tcp_eof = True
            if self.tls is None:
                self.eof = True
            else:
                self.bio_in.write_eof()
        elif self.tls is None:
            self.rbuf += data
        else:
            self.bio_in.write(data)
        if self.tls is not None:
            self._tls_read()
        return True

    def _tls_read(self):
        while not self.eof:
            try:
                data = self.tls.read(self.READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.tls_clean_close = True
                self.eof = True
                break
            except (ssl.SSLEOFError, ssl.SSLSyscallError):
                self.eof = True
                break
            except ssl.SSLError:
                self.eof = True
                self.reset = True
                break
            if not data:
                self.eof = True
                break
            self.rbuf += data
        self._collect_tls_out()

    def _step(self, deadline):
        """Waits for the socket once, then moves bytes both ways."""
        self._collect_tls_out()
        ev = self._poll(bool(self.wire_out), deadline)
        if ev & (select.POLLOUT | select.POLLERR | select.POLLHUP):
            if self.wire_out:
                self._send_some()
        if ev & (select.POLLIN | select.POLLERR | select.POLLHUP):
            self._read_some()
        return ev

    # -- TLS

    def handshake(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            self._collect_tls_out()
            self._send_some()
            if self.tcp_eof:
                raise ConnClosed("connection closed during the handshake")
            ev = self._poll(bool(self.wire_out), deadline)
            if ev & (select.POLLIN | select.POLLERR | select.POLLHUP):
                try:
                    data = self.sock.recv(self.READ_SIZE)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    raise ConnClosed("connection reset during the handshake")
                if not data:
                    self.tcp_eof = True
                    self.bio_in.write_eof()
                else:
                    self.bio_in.write(data)
        self._collect_tls_out()
        self._send_some()

    # -- application level

    def sendall(self, data, timeout=20):
        deadline = time.monotonic() + timeout
        if self.tls is not None:
            mv = memoryview(data)
            while mv:
                n = self.tls.write(mv[:64 * 1024])
                mv = mv[n:]
        else:
            self.wire_out += data
        self._send_some()
        while self.wire_out:
            self._step(deadline)

    def recv(self, n=65536, timeout=10):
        """Some bytes, or b"" once the peer's direction has ended."""
        deadline = time.monotonic() + timeout
        while not self.rbuf and not self.eof:
            self._step(deadline)
        data = bytes(self.rbuf[:n])
        del self.rbuf[:n]
        return data

    def recv_exact(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.rbuf) < n:
            if self.eof:
                raise ConnClosed("closed after %d of %d bytes"
                                 % (len(self.rbuf), n))
            self._step(deadline)
        data = bytes(self.rbuf[:n])
        del self.rbuf[:n]
        return data

    def recv_until(self, sep, limit=65536, timeout=10):
        """Bytes up to and including sep; None if the peer ends first."""
        deadline = time.monotonic() + timeout
        while True:
            i = self.rbuf.find(sep)
            if i >= 0:
                data = bytes(self.rbuf[:i + len(sep)])
                del self.rbuf[:i + len(sep)]
                return data
            if self.eof or len(self.rbuf) > limit:
                return None
            self._step(deadline)

    def recv_all(self, timeout=10, limit=16 * MiB):
        """Everything until the peer's direction ends."""
        deadline = time.monotonic() + timeout
        while not self.eof and len(self.rbuf) <= limit:
            self._step(deadline)
        data = bytes(self.rbuf)
        self.rbuf.clear()
        return data

    def wait_eof(self, timeout=10):
        """True once the peer has ended its direction (data dropped)."""
        deadline = time.monotonic() + timeout
        try:
            while not self.eof:
                self._step(deadline)
                self.rbuf.clear()
        except socket.timeout:
            return False
        except ConnClosed:
            return True
        return True

    def echo(self, payload, timeout=10):
        """Sends payload and returns what comes back of the same length."""
        self.sendall(payload, timeout)
        return self.recv_exact(len(payload), timeout)

    def shut_write(self, timeout=10):
        """Ends our direction: close_notify over TLS, FIN over TCP."""
        if self.tls is not None:
            try:
                self.tls.unwrap()
            except (ssl.SSLWantReadError, ssl.SSLError):
                pass
            self._collect_tls_out()
            self.sendall(b"", timeout)
        else:
            self.sendall(b"", timeout)
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def transfer(self, up=None, sink=None, timeout=60, shut=True,
                 down_until_eof=True):
        """Sends every chunk of up while handing what arrives to sink.
        Ends our direction after up when shut is set, and returns once the
        peer's direction has ended (or at once, if down_until_eof is off)."""
        deadline = time.monotonic() + timeout
        chunks = iter(up) if up is not None else iter(())
        sending = True
        while True:
            if self.rbuf:
                if sink is not None:
                    sink(bytes(self.rbuf))
                self.rbuf.clear()
            if sending:
                self._collect_tls_out()
                while len(self.wire_out) < (1 << 20):
                    chunk = next(chunks, None)
                    if chunk is None:
                        sending = False
                        if shut:
                            self.shut_write(max(1, deadline - time.monotonic()))
                        break
                    if self.tls is not None:
                        self.tls.write(chunk)
                        self._collect_tls_out()
                    else:
                        self.wire_out += chunk
                self._send_some()
            if not sending and not self.wire_out and (
                    self.eof or not down_until_eof):
                break
            if self.reset:
                raise ConnClosed("connection reset during the transfer")
            if sending and not self.wire_out:
                continue
            self._step(deadline)
        if self.rbuf and sink is not None:
            sink(bytes(self.rbuf))
            self.rbuf.clear()

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.poller.unregister(self.fd)
            except (KeyError, ValueError, OSError):
                pass
            self.sock.close()


class Reply:
    """The gateway's answer to a CONNECT."""

    def __init__(self):
        self.status = None
        self.head = b""
        self.headers = {}
        self.body = b""
        self.conn = None
        self.error = None

    def __repr__(self):
        return "<Reply %r %r error=%r>" % (self.status, self.body[:200],
                                          self.error)


def client_hello_bytes(server_hostname="localhost"):
    """A real TLS ClientHello, as the first bytes a TLS client sends."""
    ctx = ssl.create_default_context()
    bin_, bout = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(bin_, bout, server_hostname=server_hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return bout.read()


def ticket_counter(cafile):
    """A client context (ssl.SSLContext, trusting cafile) that counts the
    TLS 1.3 tickets it is given, and notes how many had come when the first
    application bytes did: (context, {"tickets", "before_data"}). Python
    shows post-handshake messages only to its private message callback."""
    ctx = ssl.create_default_context(cafile=cafile)
    seen = {"tickets": 0, "before_data": None}

    def cb(conn, direction, version, content_type, msg_type, data):
        if direction != "read":
            return
        if msg_type == ssl._TLSMessageType.NEWSESSION_TICKET:
            seen["tickets"] += 1
        elif (content_type == ssl._TLSContentType.INNER_CONTENT_TYPE and
              data == bytes([ssl._TLSContentType.APPLICATION_DATA]) and
              seen["before_data"] is None):
            seen["before_data"] = seen["tickets"]
    ctx._msg_callback = cb
    return ctx, seen


def http_request(target, headers=(), version="1.1"):
    lines = ["CONNECT %s HTTP/%s" % (target, version)]
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def basic_auth(user, password):
    import base64
    tok = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return "Proxy-Authorization: Basic " + tok


# --------------------------------------------------------------------------
# Upstream servers


class Record:
    """What an upstream saw on one connection."""

    def __init__(self, peer):
        self.peer = peer
        self.received = 0
        self.h = hashlib.sha256()
        self.head = bytearray()
        self.sent = 0
        self.got_eof = False
        self.error = None
        self.done = threading.Event()
        self.eof_at = None
        self.lock = threading.Lock()

    def add(self, data):
        with self.lock:
            self.received += len(data)
            self.h.update(data)
            if len(self.head) < 4096:
                self.head += data[:4096 - len(self.head)]

    def hexdigest(self):
        with self.lock:
            return self.h.copy().hexdigest()


def _drain_into(sock, rec, stall=0.0):
    if stall:
        time.sleep(stall)
    while True:
        data = sock.recv(256 * 1024)
        if not data:
            rec.got_eof = True
            rec.eof_at = time.monotonic()
            return
        rec.add(data)


def handler_echo(sock, rec):
    while True:
        data = sock.recv(65536)
        if not data:
            rec.got_eof = True
            rec.eof_at = time.monotonic()
            break
        rec.add(data)
        sock.sendall(data)
        rec.sent += len(data)
    sock.shutdown(socket.SHUT_WR)


def handler_duplex(sock, rec, down=0, seed=2, stall=0.0, hold=0.0):
    """Sends `down` pattern bytes then ends its direction, while reading
    (after `stall` seconds) until the client ends; `hold` keeps the
    connection open that long after both ends have finished."""
    err = []

    def reader():
        try:
            _drain_into(sock, rec, stall)
        except Exception as e:  # recorded, checked by the test
            err.append(e)

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    for chunk in Pattern(seed).chunks(down):
        sock.sendall(chunk)
        rec.sent += len(chunk)
    sock.shutdown(socket.SHUT_WR)
    th.join(120)
    if err:
        raise err[0]
    if hold:
        time.sleep(hold)


def handler_reply_after_eof(sock, rec, size=0, seed=3):
    """Reads until the client ends its direction, then answers with the
    digest and length of what it got and `size` pattern bytes."""
    _drain_into(sock, rec)
    answer = bytes.fromhex(rec.hexdigest()) + rec.received.to_bytes(8, "big")
    sock.sendall(answer)
    for chunk in Pattern(seed).chunks(size):
        sock.sendall(chunk)
    rec.sent = len(answer) + size
    sock.shutdown(socket.SHUT_WR)


def handler_banner(sock, rec, banner=b""):
    """Speaks first, as a VNC server does, then echoes."""
    sock.sendall(banner)
    rec.sent += len(banner)
    handler_echo(sock, rec)


def reset(sock):
    """Closes with a TCP RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


def handler_reset(sock, rec, after=0, seed=4):
    """Sends `after` bytes, waits a little, then resets the connection."""
    for chunk in Pattern(seed).chunks(after):
        sock.sendall(chunk)
        rec.sent += len(chunk)
    time.sleep(0.3)
    reset(sock)


def handler_hold(sock, rec):
    """Accepts and reads, answering nothing, until the client goes."""
    _drain_into(sock, rec)


class Upstream:
    """A TCP server in a thread; one thread per connection runs handler."""

    def __init__(self, h, handler, host="127.0.0.1", port=0, backlog=1024,
                 listen=True, **kwargs):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.h = h
        self.host = host
        self.handler = handler
        self.kwargs = kwargs
        self.records = []
        self.conns = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.thread = None
        h.upstreams.append(self)
        if listen:
            self.sock.listen(backlog)
            self.sock.settimeout(0.2)
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()

    def _loop(self):
        while not self.stopping.is_set():
            try:
                s, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s.settimeout(120)
            rec = Record(peer)
            with self.lock:
                self.records.append(rec)
                self.conns.append(s)
            threading.Thread(target=self._serve, args=(s, rec),
                             daemon=True).start()

    def _serve(self, s, rec):
        try:
            self.handler(s, rec, **self.kwargs)
        except Exception as e:
            rec.error = e
        finally:
            rec.done.set()
            try:
                s.close()
            except OSError:
                pass

    def wait_records(self, n, timeout=10):
        return wait_until(lambda: len(self.records) >= n, timeout)

    def close(self):
        self.stopping.set()
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.thread is not None:
            self.thread.join(2)


def reserve_refusing_port(h, host="127.0.0.1"):
    """A port that refuses connections: bound, never listening."""
    up = Upstream(h, None, host=host, listen=False)
    return up.port


def blackhole(h, host="127.0.0.1"):
    """A port whose SYNs are dropped: a listener with a full accept queue.
    Linux drops a SYN while the accept queue of its listener is full, so a
    connect to it stays in SYN-SENT until the caller gives up."""
    up = Upstream(h, None, host=host, listen=False)
    up.sock.listen(0)
    fillers = []
    for _ in range(4):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((host, up.port))
        except (BlockingIOError, InterruptedError):
            pass
        fillers.append(s)
        h.sockets.append(s)
    time.sleep(0.3)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect((host, up.port))
        works = False
    except (socket.timeout, OSError):
        works = True
    finally:
        probe.close()
    return up.port, works


# --------------------------------------------------------------------------
# The gateway


TUNNEL_RE = re.compile(
    r"tunnel (\d+) (.*?): listener=(\S+) peer=(\S+) session=(\S+) "
    r"user=(\S+) upstream=(\S+) up=(\d+) down=(\d+) duration=([\d.]+)s")


class TunnelLine:
    def __init__(self, m):
        self.id = int(m.group(1))
        self.reason = m.group(2)
        self.listener = m.group(3)
        self.peer = m.group(4)
        self.session = m.group(5)
        self.user = m.group(6)
        self.upstream = m.group(7)
        self.up = int(m.group(8))
        self.down = int(m.group(9))
        self.duration = float(m.group(10))
        self.text = m.group(0)

    def __repr__(self):
        return self.text


def accepted(gw):
    """Client connections the gateway accepted so far, all workers
    together (each worker's paprika_gateway_worker_accepted_total)."""
    text = gw.ctl("metrics").stdout
    return sum(int(n) for n in re.findall(
        r'^paprika_gateway_worker_accepted_total\{worker="\d+"\} (\d+)$',
        text, re.M))


# GWTEST_WORKERS=N runs every test gateway with workers = N (unset: the
# gateway's default, one per core).
WORKERS = os.environ.get("GWTEST_WORKERS") or None


def peer_str(addr):
    host, port = addr[0], addr[1]
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


class Gateway:
    """One paprika-gatewayd with its configuration, log and sockets."""

    def __init__(self, h, name="gw", gateway=None, limits=None, keys=None,
                 plain=True, tls=True, metrics=True, host="127.0.0.1",
                 ws=False, sections=None):
        self.h = h
        self.name = name
        self.host = host
        self.conf_path = os.path.join(h.dir, name + ".conf")
        self.log_path = os.path.join(h.dir, name + ".log")
        self.sock_path = os.path.join(h.dir, name + ".sock")
        self.state_dir = os.path.join(h.dir, name + "-state")
        self.keys = keys or h.keys
        self.want = {"plain": plain, "tls": tls, "metrics": metrics,
                     "ws": ws}
        # Further sections, such as {"hypervisor 127.0.0.1": {...}}.
        self.sections = dict(sections or {})
        self.ports = {}
        self.gateway_extra = dict(gateway or {})
        self.limits = dict(limits or {})
        self.proc = None
        self.start_offset = 0
        self.fixed_ports = False
        open(self.log_path, "ab").close()
        h.gateways.append(self)

    # -- configuration

    def _addr(self, port):
        if ":" in self.host:
            return "[%s]:%d" % (self.host, port)
        return "%s:%d" % (self.host, port)

    def pick_ports(self):
        for k in ("plain", "tls", "metrics", "ws"):
            self.ports[k] = free_port(self.host) if self.want[k] else None

    def settings(self):
        g = {
            "listen": self._addr(self.ports["plain"]) if self.want["plain"]
            else "none",
            "listen_tls": self._addr(self.ports["tls"]) if self.want["tls"]
            else "none",
            "metrics_listen": self._addr(self.ports["metrics"])
            if self.want["metrics"] else "none",
            "listen_ws": self._addr(self.ports["ws"]) if self.want["ws"]
            else None,
            "tls_cert": self.h.cert,
            "tls_key": self.h.key,
            "ticket_keys": self.keys,
            "upstream_networks": "127.0.0.1/32, ::1/128",
            "upstream_ports": "1024-65535",
            "control_socket": self.sock_path,
            "state_dir": self.state_dir,
            "workers": WORKERS,
        }
        g.update(self.gateway_extra)
        lim = {
            "request_timeout": "10s",
            "handshake_timeout": "10s",
            "connect_timeout": "5s",
            "drain_timeout": "5s",
        }
        lim.update(self.limits)
        return g, lim

    def conf_text(self):
        g, lim = self.settings()
        out = ["# written by gwharness.py", "[gateway]"]
        out += ["%s = %s" % (k, v) for k, v in g.items() if v is not None]
        out += ["", "[limits]"]
        out += ["%s = %s" % (k, v) for k, v in lim.items() if v is not None]
        for name, values in self.sections.items():
            out += ["", "[%s]" % name]
            out += ["%s = %s" % (k, v) for k, v in values.items()]
        return "\n".join(out) + "\n"

    def write_conf(self, text=None):
        with open(self.conf_path + ".tmp", "w") as f:
            f.write(text if text is not None else self.conf_text())
        os.chmod(self.conf_path + ".tmp", 0o644)
        os.rename(self.conf_path + ".tmp", self.conf_path)

    # -- process

    def start(self, timeout=20, verbose=False, user=None):
        """Starts the daemon and waits for its "started" line. Retries with
        new ports when one was taken between picking and binding."""
        last = ""
        for _attempt in range(4):
            if not self.fixed_ports or not self.ports:
                self.pick_ports()
            self.write_conf()
            self.start_offset = self.log_size()
            started = re.compile(r"paprika-gatewayd: started: ")
            self.proc = launch_gateway(
                self.h.gatewayd, self.conf_path, self.log_path,
                lambda: started.search(self.log(self.start_offset)),
                timeout, verbose)
            self.h.procs.append(self.proc)
            last = self.log(self.start_offset)
            if started.search(last):
                self.fixed_ports = True
                return self
            if "Address already in use" not in last:
                raise RuntimeError("gateway exited at start (%s):\n%s"
                                   % (self.proc.returncode, last))
            self.fixed_ports = False
        raise RuntimeError("gateway could not bind its ports:\n" + last)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL if it lingers; returns the exit status."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        rc = self.wait_exit(timeout)
        if rc is None:
            self.kill()
            rc = self.proc.returncode
        return rc

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.wait_exit(10)

    def proc_status(self, field):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return line.split(":", 1)[1].split()
        except OSError:
            return None
        return None

    def rss_kib(self):
        v = self.proc_status("VmRSS")
        return int(v[0]) if v else None

    # -- log

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log(self, since=0):
        with open(self.log_path, "rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, since=0, timeout=10):
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log(since)), timeout)

    def tunnel_lines(self, since=0, peer=None):
        out = [TunnelLine(m) for m in TUNNEL_RE.finditer(self.log(since))]
        if peer is not None:
            out = [t for t in out if t.peer == peer]
        return out

    def wait_tunnel_lines(self, since, peer, n=1, timeout=10):
        """Waits until n lines name peer; returns them (maybe fewer)."""
        wait_until(lambda: len(self.tunnel_lines(since, peer)) >= n, timeout)
        time.sleep(0.05)
        return self.tunnel_lines(since, peer)

    # -- control

    def ctl(self, *args, timeout=20):
        return subprocess.run([self.h.paprikactl, "-s", self.sock_path]
                              + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def ctl_json(self, *args):
        import json
        r = self.ctl(*args)
        if r.returncode != 0:
            raise RuntimeError("paprikactl %s: %s" % (" ".join(args),
                                                      r.stderr.strip()))
        return json.loads(r.stdout)

    def status(self):
        return self.ctl_json("status", "--json")

    def wait_connections(self, n, timeout=10):
        """Waits until the gateway holds exactly n client connections."""
        def check():
            try:
                return self.status()["connections"] == n
            except Exception:
                return False
        return wait_until(check, timeout, 0.05)

    def metrics_http(self, path="/metrics", timeout=10):
        s = socket.create_connection((self.host, self.ports["metrics"]),
                                     timeout=timeout)
        data = ask(s, ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        head, _, body = data.partition(b"\r\n\r\n")
        return head.decode("latin-1"), body.decode("utf-8", "replace")

    # -- clients

    def address(self, tls=False):
        if tls == "ws":
            return (self.host, self.ports["ws"])
        return (self.host, self.ports["tls" if tls else "plain"])

    def connect(self, tls=False, src=None, timeout=10, handshake=True,
                ctx=None, session=None):
        """A connection to a listener (TLS handshake done when tls; "ws"
        is the WebSocket listener, TLS too), with the harness's client
        context or ctx, offering session (ssl.SSLSession) to resume."""
        addr = self.address(tls)
        fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.h.sockets.append(s)
        try:
            if src is not None:
                s.bind((src, 0))
            s.settimeout(timeout)
            s.connect(addr)
        except BaseException:
            s.close()
            raise
        c = Conn(s, (ctx or self.h.client_ctx) if tls else None,
                 server_hostname=addr[0] if tls else None, session=session)
        self.h.conns.append(c)
        if tls and handshake:
            c.handshake(timeout)
        return c

    def request(self, raw, tls=False, src=None, extra=b"", timeout=10,
                conn=None):
        """Sends raw request bytes (and extra in the same write) and reads
        the answer. A 200 leaves reply.conn open for the tunnel; any other
        answer is read to its end and the connection closed."""
        rep = Reply()
        try:
            c = conn or self.connect(tls=tls, src=src, timeout=timeout)
        except (OSError, ConnClosed, ssl.SSLError) as e:
            rep.error = e
            return rep
        rep.local = c.local
        rep.conn = c
        try:
            c.sendall(raw + extra, timeout)
            head = c.recv_until(b"\r\n\r\n", 65536, timeout)
        except (OSError, ConnClosed, ssl.SSLError) as e:
            rep.error = e
            head = None
        if head is None:
            rep.head = bytes(c.rbuf)
            c.close()
            rep.conn = None
            if rep.error is None:
                rep.error = "connection ended before an answer"
            return rep
        rep.head = head
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        try:
            rep.status = int(parts[1])
        except (IndexError, ValueError):
            rep.status = None
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                rep.headers[k.strip().lower()] = v.strip()
        if rep.status != 200:
            try:
                n = int(rep.headers.get("content-length", "0"))
                rep.body = c.recv_exact(n, timeout) if n else b""
                rep.closed_after = c.wait_eof(timeout)
            except (OSError, ConnClosed) as e:
                rep.error = e
            c.close()
            rep.conn = None
        return rep

    def open_tunnel(self, ticket, port, tls=False, src=None, extra=b"",
                    basic=False, host="desktop.example", timeout=10):
        """CONNECT with the ticket as host, or in Basic credentials."""
        text = ticket.text if hasattr(ticket, "text") else ticket
        if basic:
            raw = http_request("%s:%d" % (host, port),
                               [basic_auth("alice", text)])
        else:
            raw = http_request("%s:%d" % (text, port),
                               ["Host: %s:%d" % (text, port)])
        return self.request(raw, tls=tls, src=src, extra=extra,
                            timeout=timeout)


def ask(s, data):
    """Sends data on the connected (blocking) socket s, then reads until the
    peer closes; what came back. Closes s."""
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


class Ticket:
    def __init__(self, d, h):
        self.text = d["ticket"]
        self.session = d["session"]
        self.ticket_id = d["ticket_id"]
        self.expires = d["expires"]
        h.ticket_texts.append(self.text)

    def __str__(self):
        return self.text


# --------------------------------------------------------------------------
# The environment


class Harness:
    def __init__(self, t):
        self.t = t
        self.procs = []
        self.gateways = []
        self.upstreams = []
        self.sockets = []
        self.conns = []
        self.ticket_texts = []
        self.dir = None
        self.gatewayd, self.paprikactl = need_built("paprika-gatewayd", "paprikactl")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.dir = tempfile.mkdtemp(prefix="paprika-it.")
        # Traversable, so a gateway that dropped to "nobody" finds its files.
        os.chmod(self.dir, 0o755)
        # The deployment's own PKI script: a CA and the gateway's certificate
        # for localhost, 127.0.0.1 and ::1 (ca/ca-key.pem signs more).
        pki = make_pki(self.path("pki"), "--only", "gateway", "--days", "2",
                       "--dns", "localhost", "--ip", "127.0.0.1", "--ip", "::1")
        self.pki = pki
        self.ca = os.path.join(pki, "ca", "ca-cert.pem")
        self.ca_key = os.path.join(pki, "ca", "ca-key.pem")
        self.cert = os.path.join(pki, "gateway", "gateway-cert.pem")
        self.key = os.path.join(pki, "gateway", "gateway-key.pem")
        self.keys = self.make_keys("keys", [1])
        self.client_ctx = ssl.create_default_context(cafile=self.ca)
        self.client_ctx.check_hostname = True

    # -- files

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def _run(self, argv):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (" ".join(argv), r.stderr))
        return r.stdout

    def make_keys(self, name, ids):
        d = self.path(name)
        os.makedirs(d, mode=0o700, exist_ok=True)
        for i in ids:
            self.add_key(d, i)
        return d

    def add_key(self, keydir, key_id, secret=None):
        p = os.path.join(keydir, "%d.key" % key_id)
        fd = os.open(p + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write((secret or os.urandom(32).hex()) + "\n")
        os.chmod(p + ".tmp", 0o600)
        os.rename(p + ".tmp", p)
        return p

    # -- tickets

    def ticket(self, ports, upstream="127.0.0.1", user="alice", ttl=600,
               session=None, keys=None, key_id=None):
        import json
        if isinstance(ports, int):
            ports = [ports]
        argv = [self.paprikactl, "ticket", "--keys", keys or self.keys,
                "--user", user, "--upstream", upstream, "--ports",
                ",".join(str(p) for p in ports), "--ttl", str(ttl), "--json"]
        if session is not None:
            argv += ["--session", session]
        if key_id is not None:
            argv += ["--key-id", str(key_id)]
        return Ticket(json.loads(self._run(argv)), self)

    # -- teardown

    def teardown(self, keep=False):
        for c in self.conns:
            try:
                c.close()
            except Exception:
                pass
        for s in self.sockets:
            try:
                s.close()
            except Exception:
                pass
        for p in self.procs:
            try:
                if p.poll() is None:
                    p.kill()
                p.wait(10)
            except Exception:
                pass
        for u in self.upstreams:
            try:
                u.close()
            except Exception:
                pass
        if self.dir and os.path.isdir(self.dir):
            if keep:
                print("# kept %s" % self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)


def _watchdog(signum, frame):
    raise Watchdog("time limit reached (signal %d)" % signum)


def run(main, time_limit=DEFAULT_TIME_LIMIT):
    """Runs main(h, t) with a watchdog, always tears down, and exits with
    paprikatest.run's status (the TAP plan printed)."""
    sys.stdout.reconfigure(line_buffering=True)
    t = paprikatest.checks
    hs = []
    signal.signal(signal.SIGALRM, _watchdog)
    signal.signal(signal.SIGTERM, _watchdog)
    signal.signal(signal.SIGHUP, _watchdog)
    signal.alarm(time_limit)
    started = time.monotonic()

    def body():
        hs.append(Harness(t))
        main(hs[0], t)

    def cleanup():
        signal.alarm(0)
        for h in hs:
            if t.failed:
                for gw in h.gateways:
                    try:
                        tail = gw.log()[-6000:]
                    except OSError:
                        tail = ""
                    t.note("log of %s (tail):\n%s" % (gw.name, tail))
            h.teardown(keep=bool(os.environ.get("PAPRIKA_KEEP_TMP")))
        t.note("%.1fs" % (time.monotonic() - started))
    sys.exit(paprikatest.run(body, cleanup=cleanup))
