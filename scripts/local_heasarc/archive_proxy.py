"""The archive: <base>/FTP/... (and /icons/) as a streaming reverse proxy to the private Apache.

`proxy` is the route table's handler for them. Each client connection keeps one keep-alive
connection to Apache (`ArchiveUpstream`, request.upstream); `proxy` forwards the request without its
hop-by-hop headers (and without Range/If-Range under the `ignore_range` fault), passes
Apache's status and headers through verbatim and streams bodies in CHUNK pieces; generated
HTML pages (autoindex listings, errors) are buffered and given the real archive's DOCTYPE.
"""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

from .request import Request

CHUNK = 1 << 20                      # proxy buffer: 1 MiB
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection"}
APACHE_DOCTYPE = b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">'
REAL_DOCTYPE = b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">'


class ArchiveUpstream:
    """One client connection's keep-alive connection to Apache (opened on first use)."""

    def __init__(self, apache_port: int):
        self.apache_port = apache_port
        self.conn: http.client.HTTPConnection | None = None

    def connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.apache_port, timeout=300)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            except OSError:
                pass
            self.conn = conn
        return self.conn

    def drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None


def proxy(req: Request) -> None:
    """<base>/FTP/... and /icons/: the request to Apache, its answer back (see the module doc)."""
    reply, upstream = req.reply, req.upstream
    ignore_range = reply.fault == "ignore_range"
    headers = {}
    for k, v in req.headers.items():
        lk = k.lower()
        if lk in HOP_BY_HOP or lk == "content-length":
            continue
        if ignore_range and lk in ("range", "if-range"):
            continue
        headers[k] = v
    if req.body or req.method in ("POST", "PUT"):
        headers["Content-Length"] = str(len(req.body))
    if not any(k.lower() == "host" for k in headers):
        # Apache builds redirects (dir -> dir/) from Host: make them point at this port
        headers["Host"] = urlsplit(req.app.base_url).netloc
    resp = None
    for attempt in (0, 1):
        fresh = upstream.conn is None
        try:
            conn = upstream.connect()
            conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders(req.body or None)
            resp = conn.getresponse()
            break
        except (http.client.HTTPException, ConnectionError, OSError) as e:
            upstream.drop()
            if attempt == 1 or fresh:
                reply.respond(502, "text/plain", f"archive upstream failed: {e}\n".encode())
                return
    assert resp is not None
    status = resp.status
    out_headers = []
    length = resp.getheader("Content-Length")
    chunked = resp.chunked
    ctype = resp.getheader("Content-Type", "")
    strip_validators = not req.knobs["archive_validators"]
    for k, v in resp.getheaders():
        if k.lower() in HOP_BY_HOP:
            continue
        if strip_validators and k.lower() in ("etag", "last-modified"):
            continue
        out_headers.append((k, v))
    no_body = req.method == "HEAD" or status in (204, 304) or 100 <= status < 200
    small_html = (ctype.startswith("text/html") and length is not None
                  and length.isdigit() and int(length) <= CHUNK)
    if not no_body and (chunked or length is None or small_html):
        # generated pages (autoindex listings, errors): buffer, fix Content-Length; the
        # listing gets the HTML 3.2 DOCTYPE the real archive's (older) Apache writes
        data = resp.read()
        if status == 200 and ctype.startswith("text/html") and data.startswith(APACHE_DOCTYPE):
            data = REAL_DOCTYPE + data[len(APACHE_DOCTYPE):]
        out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-length"]
        out_headers.append(("Content-Length", str(len(data))))
        if resp.will_close:
            upstream.drop()
        reply.start_verbatim(status, out_headers)
        reply.send_body(memoryview(data), len(data))
        return
    reply.start_verbatim(status, out_headers)
    if no_body:
        if resp.will_close:
            upstream.drop()
        else:
            resp.read()       # nothing; marks the response complete for reuse
        reply.end_body_if_fault(0)
        return
    total = int(length)
    cut = reply.cut_limit(total)
    remaining = total if cut is None else cut
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    try:
        while remaining > 0:
            n = resp.readinto(mv[:min(CHUNK, remaining)])
            if not n:
                raise ConnectionError("archive upstream closed early")
            reply.write(mv[:n])
            remaining -= n
    except BaseException:
        upstream.drop()
        raise
    if cut is not None:
        upstream.drop()       # the rest of the body is still upstream
        reply.end_body(total, cut)
    if resp.will_close:
        upstream.drop()
