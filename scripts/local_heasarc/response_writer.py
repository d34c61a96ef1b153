"""Writing one response under the knobs: the byte-rate cap and the reset/truncate faults.

A `ResponseWriter` belongs to one request (request.Request.reply). It writes the status line
and headers through the connection's BaseHTTPRequestHandler (which owns the socket), and
bodies through the request's Throttle; under a `reset` (RST) or `truncate` (FIN) fault it cuts
the body after at most FAULT_CUT_MAX bytes and raises `Abort`. It counts the status and the
body bytes sent, for the request log.
"""

from __future__ import annotations

import socket
import struct
from http.server import BaseHTTPRequestHandler

from .knobs import Throttle

FAULT_CUT_MAX = 1 << 20              # reset/truncate send at most this much of a body


class Abort(Exception):
    """The response was cut on purpose (reset/truncate): stop, close, do not reuse."""


class ResponseWriter:
    def __init__(self, connection: BaseHTTPRequestHandler, method: str, fault: str = "none",
                 throttle: Throttle | None = None):
        self._connection = connection     # status line, headers, the socket
        self.method = method
        self.fault = fault                # the fault this request takes ("none" mostly)
        self.throttle = throttle          # the byte-rate cap, None = none
        self.status = 0                   # the status sent (0: nothing yet)
        self.sent = 0                     # body bytes sent

    # -- status line and headers -----------------------------------------------------------
    def start(self, status: int, headers) -> None:
        """Status line with our Server and Date, then `headers`."""
        c = self._connection
        self.status = status
        c.send_response(status)
        for k, v in headers:
            c.send_header(k, v)
        if c.close_connection:
            c.send_header("Connection", "close")
        c.end_headers()

    def start_verbatim(self, status: int, headers) -> None:
        """Status line and an upstream's headers verbatim (its Date, Server, ETag, ...)."""
        c = self._connection
        self.status = status
        c.log_request(status)
        c.send_response_only(status)
        for k, v in headers:
            c.send_header(k, v)
        if c.close_connection:
            c.send_header("Connection", "close")
        c.end_headers()

    # -- bodies ----------------------------------------------------------------------------
    def respond(self, status: int, ctype: str, body: bytes, extra=()) -> None:
        """A whole response: status, Content-Type and -Length, `extra` headers, the body
        (none for HEAD)."""
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))] + list(extra)
        self.start(status, headers)
        if self.method == "HEAD":
            self.end_body(len(body), 0)
            return
        self.send_body(memoryview(body), len(body))

    def cut_limit(self, total: int | None) -> int | None:
        """How much of a `total`-byte body a reset/truncate fault lets through (None: all)."""
        if self.fault in ("reset", "truncate"):
            if total is None:
                return FAULT_CUT_MAX // 4
            return min(total // 2, FAULT_CUT_MAX)
        return None

    def write(self, piece: memoryview) -> None:
        sock = self._connection.connection
        th = self.throttle
        if th is None:
            sock.sendall(piece)
            self.sent += len(piece)
            return
        step = th.chunk_size()
        for i in range(0, len(piece), step):
            part = piece[i:i + step]
            th.wait(len(part))
            sock.sendall(part)
            self.sent += len(part)

    def send_body(self, body: memoryview, total: int) -> None:
        cut = self.cut_limit(total)
        if cut is not None:
            self.write(body[:cut])
            self.end_body(total, cut)
        self.write(body)

    def end_body(self, total: int, cut: int | None) -> None:
        """Apply reset/truncate after `cut` body bytes (HEAD: right after the headers)."""
        if self.fault == "reset":
            self._reset_connection()
            raise Abort()
        if self.fault == "truncate":
            try:
                self._connection.wfile.flush()
                self._connection.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            raise Abort()

    def end_body_if_fault(self, total: int) -> None:
        if self.fault in ("reset", "truncate"):
            self.end_body(total, 0)

    def _reset_connection(self) -> None:
        c = self._connection
        try:
            c.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.rfile.close()          # the fd really closes (-> RST) once no file uses it
            c.connection.close()
        except OSError:
            pass
