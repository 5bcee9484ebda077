# SPDX-License-Identifier: ISC
"""A reader of the broker's event stream (GET /api/v1/events) for the
tests: TLS, HTTP/1.1 chunked, server-sent events, on a thread; each event
with the time it arrived."""

import json
import socket
import threading
import time


class EventStream:
    """Opens the stream with token; status and headers once the reply has
    begun; events as (arrival time, event name, data as JSON); comments
    (heartbeats) counted; closed once the broker ends the stream."""

    def __init__(self, port, ctx, token, rcvbuf=None, read=True):
        self.events = []
        self.comments = 0
        self.closed = False
        self.status = None
        self.headers = {}
        self.lock = threading.Lock()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(30)
        sock.connect(("127.0.0.1", port))
        self.sock = ctx.wrap_socket(sock, server_hostname="localhost")
        self.sock.sendall((f"GET /api/v1/events HTTP/1.1\r\nHost: localhost\r\n"
                           f"Authorization: Bearer {token}\r\n"
                           f"Accept: text/event-stream\r\n\r\n").encode())
        self.buf = b""
        self.thread = None
        self._head()
        if read and self.status == 200:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def _head(self):
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        if self.status != 200:
            n = int(self.headers.get("content-length", "0"))
            while len(self.buf) < n:
                self._more()
            self.body = self.buf[:n]

    def _chunks(self):
        """The body's bytes as they come, chunk by chunk."""
        while True:
            while b"\r\n" not in self.buf:
                self._more()
            size_line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                return
            while len(self.buf) < size + 2:
                self._more()
            chunk, self.buf = self.buf[:size], self.buf[size + 2:]
            yield chunk

    def _run(self):
        text = b""
        try:
            for chunk in self._chunks():
                text += chunk
                while b"\n\n" in text:
                    block, text = text.split(b"\n\n", 1)
                    self._event(block.decode(), time.time())
        except (EOFError, OSError, ValueError):
            pass
        self.closed = True

    def _event(self, block, at):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith(":"):
                with self.lock:
                    self.comments += 1
            elif line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if data:
            with self.lock:
                self.events.append((at, name, json.loads("\n".join(data))))

    def find(self, pred):
        """The first event (at, name, data) with pred(name, data), or None."""
        with self.lock:
            for e in self.events:
                if pred(e[1], e[2]):
                    return e
        return None

    def close(self):
        """Ends the stream; the reader is gone before the socket closes, so
        that it cannot read from a new socket given the same descriptor."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self.thread is not None:
            self.thread.join(30)
        self.sock.close()
