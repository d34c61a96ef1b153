"""The HTTP front of the local HEASARC: the listening server and its client connections.

A `ClientConnection` (one per TCP connection, HTTP/1.1 keep-alive) reads each request, finds
its route (routes.py) and builds the request object its handler gets (request.Request).
Control requests go to their handler untouched. Every other request takes the knobs (latency
first, then a fault if its path matches: `hang` never answers, `5xx` answers 503 instead of
the handler, reset/truncate/ignore_range act inside the answer), is answered by its route's
handler, and ends as one request-log entry.
"""

from __future__ import annotations

import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from . import pages
from .app import App, _eprint
from .archive_proxy import ArchiveUpstream
from .knobs import Throttle
from .request import Request
from .response_writer import Abort, ResponseWriter
from .routes import route_for


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, app: App):
        self.app = app
        super().__init__(addr, ClientConnection)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, socket.timeout, TimeoutError,
                            OSError)):
            return
        super().handle_error(request, client_address)


class ClientConnection(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "local-heasarc"
    sys_version = ""
    timeout = 300
    rbufsize = 64 * 1024

    # quiet: errors only
    def log_message(self, fmt, *args):
        pass

    def log_error(self, fmt, *args):
        msg = fmt % args
        if "Request timed out" in msg:
            return
        _eprint(f"{self.client_address[0]}:{self.client_address[1]} {msg}")

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.upstream = ArchiveUpstream(self.server.app.apache_port)

    def finish(self):
        try:
            super().finish()
        finally:
            self.upstream.drop()

    # every method goes through dispatch
    def do_GET(self):
        self.dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(3)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def dispatch(self):
        t0 = time.monotonic()
        app: App = self.server.app
        target = self.path
        if target.startswith("http://") or target.startswith("https://"):
            parts = urlsplit(target)
            target = parts.path + (("?" + parts.query) if parts.query else "")
        path, _, query = target.partition("?")
        body = self._read_body() if self.command in ("POST", "PUT") else b""
        route = route_for(path)

        def request(reply: ResponseWriter, knobs: dict) -> Request:
            return Request(app=app, method=self.command, target=target, path=path, query=query,
                           headers=self.headers, body=body, knobs=knobs, reply=reply,
                           upstream=self.upstream)

        if route.control:
            route.handler(request(ResponseWriter(self, self.command), {}))
            return

        knobs = app.knobs.snapshot()
        fault = app.knobs.take_fault(target)
        throttle = Throttle(knobs["rate_kib"] * 1024.0) if knobs["rate_kib"] > 0 else None
        reply = ResponseWriter(self, self.command, fault, throttle)
        req = request(reply, knobs)
        try:
            if knobs["latency_ms"] > 0:
                time.sleep(knobs["latency_ms"] / 1000.0)
            if fault == "hang":
                self._log(req, t0, route.service)   # logged at once: it never finishes
                app.stop_event.wait()
                self.close_connection = True
                return
            if fault == "5xx":
                pages.service_unavailable(req)
            else:
                route.handler(req)
        except Abort:
            self.close_connection = True
        except (ConnectionError, BrokenPipeError, socket.timeout, TimeoutError):
            self.close_connection = True
            self.upstream.drop()
        finally:
            if fault != "hang":
                self._log(req, t0, route.service)

    def _log(self, req: Request, t0: float, service: str) -> None:
        req.app.log.add({
            "time": round(time.time(), 6),
            "method": req.method,
            "path": req.target,
            "range": req.headers.get("Range"),
            "status": req.reply.status,
            "bytes": req.reply.sent,
            "duration": round(time.monotonic() - t0, 6),
            "service": service,
            "fault": None if req.reply.fault == "none" else req.reply.fault,
            "client": f"{self.client_address[0]}:{self.client_address[1]}",
        })
