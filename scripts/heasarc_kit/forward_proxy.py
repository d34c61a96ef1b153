"""A tiny forward HTTP proxy for tests (stdlib only): requests in absolute form
(`GET http://host:port/path HTTP/1.1`, what a client sends to an http:// URL through a proxy)
are sent on to the origin with http.client and the answer is passed back whole; every request
is logged (`log()`: (method, absolute URL, status)). Plain http only: no CONNECT tunnels (an
https origin through a proxy would be one), no caching. Binds 127.0.0.1 port 0.

    with ForwardProxy() as proxy:
        ... -o proxy=http://127.0.0.1:DEAD;{proxy.url} ...
        assert any(url.startswith(heasarc.base) for _, url, _ in proxy.log())
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own, never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
              "te", "trailer", "transfer-encoding", "upgrade"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def _forward(self):
        target = urllib.parse.urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self._answer(400, b"not an absolute http URL\n")
            self.server.record(self.command, self.path, 400)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        path = target.path or "/"
        if target.query:
            path += "?" + target.query
        try:
            origin = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=60)
            origin.request(self.command, path, body=body, headers=headers)
            answer = origin.getresponse()
            payload = answer.read()
            answer_headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
            origin.close()
        except OSError as error:
            self._answer(502, f"origin unreachable: {error}\n".encode())
            self.server.record(self.command, self.path, 502)
            return
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer_headers:
            if name.lower() != "content-length" or self.command == "HEAD":
                self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(payload)))
        self.send_header("Via", "1.1 heasarc-kit-proxy")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.server.record(self.command, self.path, answer.status)

    def _answer(self, status, payload):
        self.send_response_only(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = _forward


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self._lock = threading.Lock()
        self._log: list[tuple[str, str, int]] = []

    def record(self, method, url, status):
        with self._lock:
            self._log.append((method, url, status))

    def entries(self):
        with self._lock:
            return list(self._log)


class ForwardProxy:
    def __init__(self):
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def log(self) -> list[tuple[str, str, int]]:
        return self._server.entries()

    def start(self) -> "ForwardProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
