"""The HTTP front of the local HEASARC: the listening server and its request handler.

Every request comes through `Handler.dispatch`: control requests go to the control endpoints
untouched; every other one takes the knobs (latency, rate cap, a fault if its path matches),
goes to the archive proxy or the VO services by its path, and ends as one request-log entry.
The handler's other parts are mixins: responses.py (writing under the knobs and faults),
vo_services.py, tap_endpoint.py, archive_proxy.py and control.py.
"""

from __future__ import annotations

import http.client
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .app import App, _eprint
from .archive_proxy import ArchiveProxyMixin
from .control import CONTROL_PREFIX, ControlMixin
from .knobs import Throttle
from .responses import ResponseMixin, _Abort
from .tap_endpoint import TapMixin
from .vo_services import VoServicesMixin


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, app: App):
        self.app = app
        super().__init__(addr, Handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, socket.timeout, TimeoutError,
                            OSError)):
            return
        super().handle_error(request, client_address)


# ---------------------------------------------------------------- the request handler ------
class Handler(VoServicesMixin, TapMixin, ArchiveProxyMixin, ControlMixin, ResponseMixin,
              BaseHTTPRequestHandler):
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

    @property
    def app(self) -> App:
        return self.server.app

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._upstream: http.client.HTTPConnection | None = None

    def finish(self):
        try:
            super().finish()
        finally:
            self._drop_upstream()

    # every method goes through dispatch
    def do_GET(self):
        self.dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_GET

    # -- request plumbing ------------------------------------------------------------------
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
        self._sent = 0
        self._status = 0
        self._fault = "none"
        target = self.path
        if target.startswith("http://") or target.startswith("https://"):
            parts = urlsplit(target)
            target = parts.path + (("?" + parts.query) if parts.query else "")
        path, _, query = target.partition("?")
        self._target = target
        body = b""
        if self.command in ("POST", "PUT"):
            body = self._read_body()
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            self.control(path[len(CONTROL_PREFIX):], query, body)
            return

        knobs = self.app.knobs.snapshot()
        fault = self.app.knobs.take_fault(target)
        self._fault = fault
        throttle = Throttle(knobs["rate_kib"] * 1024.0) if knobs["rate_kib"] > 0 else None
        self._throttle = throttle
        service = _service_of(path)
        try:
            if knobs["latency_ms"] > 0:
                time.sleep(knobs["latency_ms"] / 1000.0)
            if fault == "hang":
                self._log(t0, service)           # logged at once: it never finishes
                self.app.stop_event.wait()
                self.close_connection = True
                return
            if fault == "5xx":
                self.respond(503, "text/html; charset=iso-8859-1", _HTML_503,
                             [("Retry-After", "1")])
            elif service == "archive":
                self.proxy(target, body, ignore_range=(fault == "ignore_range"))
            else:
                self.route(service, path, query, body, knobs)
        except _Abort:
            self.close_connection = True
        except (ConnectionError, BrokenPipeError, socket.timeout, TimeoutError):
            self.close_connection = True
            self._drop_upstream()
        finally:
            if fault != "hang":
                self._log(t0, service)

    def _log(self, t0: float, service: str) -> None:
        self.app.log.add({
            "time": round(time.time(), 6),
            "method": self.command,
            "path": self._target,
            "range": self.headers.get("Range"),
            "status": self._status,
            "bytes": self._sent,
            "duration": round(time.monotonic() - t0, 6),
            "service": service,
            "fault": None if self._fault == "none" else self._fault,
            "client": f"{self.client_address[0]}:{self.client_address[1]}",
        })


def _service_of(path: str) -> str:
    if path == "/FTP" or path.startswith("/FTP/") or path.startswith("/icons/"):
        return "archive"
    if path == "/tap" or path.startswith("/tap/"):
        return "registry"
    if path == "/cgi-bin/nph-sesame" or path.startswith("/cgi-bin/nph-sesame/"):
        return "sesame"
    if path in ("/xamin/vo/cone", "/xamin/vo/cone/", "/cgi-bin/vo/cone/coneGet.pl"):
        return "cone"
    if path == "/xamin/vo/datalink" or path.startswith("/xamin/vo/datalink/"):
        return "datalink"
    if path == "/xamin/bib":
        return "bib"
    if path == "/":
        return "home"
    return "other"


_HTML_503 = (b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
             b"<title>503 Service Unavailable</title>\n</head><body>\n"
             b"<h1>Service Unavailable</h1>\n<p>The server is temporarily unable to service your\n"
             b"request due to maintenance downtime or capacity\nproblems. Please try again later."
             b"</p>\n</body></html>\n")
