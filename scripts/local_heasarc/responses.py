"""Writing responses under the knobs: the byte-rate cap and the reset/truncate faults.

`ResponseMixin` is a part of the request handler (see http_front.Handler): status and headers,
bodies written through the connection's Throttle, and a body cut after at most FAULT_CUT_MAX
bytes by a `reset` (RST) or `truncate` (FIN) fault, which then raises `_Abort`.
"""

from __future__ import annotations

import socket
import struct

FAULT_CUT_MAX = 1 << 20              # reset/truncate send at most this much of a body


class _Abort(Exception):
    """The response was cut on purpose (reset/truncate): stop, close, do not reuse."""


class ResponseMixin:
    # -- responses -------------------------------------------------------------------------
    def _start(self, status: int, headers) -> None:
        self._status = status
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def respond(self, status: int, ctype: str, body: bytes, extra=()) -> None:
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))] + list(extra)
        self._start(status, headers)
        if self.command == "HEAD":
            self._end_body(len(body), 0)
            return
        self._send_body(memoryview(body), len(body))

    def _cut_limit(self, total: int | None) -> int | None:
        if self._fault in ("reset", "truncate"):
            if total is None:
                return FAULT_CUT_MAX // 4
            return min(total // 2, FAULT_CUT_MAX)
        return None

    def _write(self, piece: memoryview) -> None:
        th = self._throttle
        if th is None:
            self.connection.sendall(piece)
            self._sent += len(piece)
            return
        step = th.chunk_size()
        for i in range(0, len(piece), step):
            part = piece[i:i + step]
            th.wait(len(part))
            self.connection.sendall(part)
            self._sent += len(part)

    def _send_body(self, body: memoryview, total: int) -> None:
        cut = self._cut_limit(total)
        if cut is not None:
            self._write(body[:cut])
            self._end_body(total, cut)
        self._write(body)

    def _end_body(self, total: int, cut: int | None) -> None:
        """Apply reset/truncate after `cut` body bytes (HEAD: right after the headers)."""
        if self._fault == "reset":
            self._reset_connection()
            raise _Abort()
        if self._fault == "truncate":
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            raise _Abort()

    def _reset_connection(self) -> None:
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.rfile.close()          # the fd really closes (-> RST) once no file uses it
            self.connection.close()
        except OSError:
            pass

    def _end_body_if_fault(self, total: int) -> None:
        if self._fault in ("reset", "truncate"):
            self._end_body(total, 0)
