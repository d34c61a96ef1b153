"""The local HEASARC: one loopback port answering as the real services do.

  <base>/tap/sync, /tap/capabilities        RegTAP over TAP (VOTable BINARY, as GAVO answers)
  <base>/cgi-bin/nph-sesame/<db>?<name>     CDS Sesame (plain text, %J line)
  <base>/xamin/vo/cone?showoffsets&table=   Xamin Simple Cone Search (+ /cgi-bin/vo/cone/coneGet.pl)
  <base>/xamin/vo/datalink/<table>?ID=      DataLink
  <base>/FTP/...                            the archive: a streaming reverse proxy to a private
                                            Apache httpd (mod_autoindex, Range, ETag, ...)
  <base>/_local_heasarc/{knobs,reset,log}   control: knobs and the request log (no real service
                                            uses this path)

Knobs (latency, rate cap, faults) and the request log apply to every request but the control
ones, the archive included. See knobs.py. Run through scripts/local-heasarc.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from . import regtap, vo
from .apache import Apache
from .knobs import KnobError, Knobs, RequestLog, Throttle
from .votable_writer import VOTABLE_NS, binary_data, error_document, info, tabledata

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTROL_PREFIX = "/_local_heasarc"
CHUNK = 1 << 20                      # proxy buffer: 1 MiB
FAULT_CUT_MAX = 1 << 20              # reset/truncate send at most this much of a body
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection"}
TAP_CT = "application/x-votable+xml"
APACHE_DOCTYPE = b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">'
REAL_DOCTYPE = b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">'


def _eprint(*args) -> None:
    print("local-heasarc:", *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the application ----------
class App:
    def __init__(self, catalog, data_root: Path, knobs: Knobs, log: RequestLog):
        self.catalog = catalog
        self.data_root = data_root
        self.knobs = knobs
        self.log = log
        self.manifest = vo.Manifest(data_root)
        self.stop_event = threading.Event()
        self.base_url = ""
        self.apache_port = 0
        self.apache_pid = 0
        self.model: regtap.RegistryModel | None = None
        self._capabilities: bytes | None = None

    def set_base(self, base_url: str) -> None:
        self.base_url = base_url
        self.model = regtap.build_model(self.catalog, base_url)

    def urls(self) -> dict:
        b = self.base_url
        return {"registry": f"{b}/tap", "resolver": f"{b}/cgi-bin/nph-sesame/",
                "archive": f"{b}/FTP/", "control": f"{b}{CONTROL_PREFIX}/"}

    def capabilities(self) -> bytes:
        if self._capabilities is None:
            sample = REPO_ROOT / "tests/data/samples/pyvo_registry_tests_data_capabilities.xml"
            if not sample.exists():
                sample = Path("/work/shared/heasarc/samples/pyvo_registry_tests_data_capabilities.xml")
            try:
                text = sample.read_text(encoding="utf-8")
            except OSError:
                text = _MINIMAL_CAPABILITIES
            b = self.base_url
            for host in ("http://dc.zah.uni-heidelberg.de", "https://dc.zah.uni-heidelberg.de"):
                text = text.replace(f"{host}/__system__/tap/run/", f"{b}/tap/")
                text = text.replace(f"{host}/tap", f"{b}/tap")
            self._capabilities = text.encode("utf-8")
        return self._capabilities


_MINIMAL_CAPABILITIES = """<?xml version='1.0' encoding='utf-8'?>
<cap:capabilities xmlns:cap="http://www.ivoa.net/xml/VOSICapabilities/v1.0" xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0" xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess"><interface role="std" version="1.1" xsi:type="vs:ParamHTTP"><accessURL use="full">http://dc.zah.uni-heidelberg.de/tap</accessURL></interface><language><name>ADQL</name><version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version></language></capability></cap:capabilities>
"""


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


class _Abort(Exception):
    """The response was cut on purpose (reset/truncate): stop, close, do not reuse."""


# ---------------------------------------------------------------- the request handler ------
class Handler(BaseHTTPRequestHandler):
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

    # -- the VO services -------------------------------------------------------------------
    def route(self, service: str, path: str, query: str, body: bytes, knobs: dict) -> None:
        app = self.app
        params = parse_qsl(query, keep_blank_values=True)
        if service == "registry":
            self.tap(path, params, body)
        elif service == "sesame":
            tail = path[len("/cgi-bin/nph-sesame"):]
            status, ctype, out = vo.sesame(app.catalog, tail, query)
            self.respond(status, ctype, out)
        elif service == "cone":
            status, ctype, out = vo.cone_search(app.catalog, app.base_url, params)
            self.respond(status, ctype, out)
        elif service == "datalink":
            rest = path[len("/xamin/vo/datalink"):].strip("/")
            ident = _param(params, "ID")
            if rest:
                status, ctype, out = vo.datalink(
                    app.catalog, app.manifest, app.base_url, unquote(rest), ident,
                    knobs["datalink_directory_content_type"])
            else:
                status, ctype, out = vo.datalink_products(app.catalog, app.manifest,
                                                          app.base_url, ident)
            self.respond(status, ctype, out)
        elif service == "bib":
            table = _param(params, "table") or ""
            ident = _param(params, "id") or ""
            html = (f"<html><head><title>Bibliography for {_h(table)} {_h(ident)}</title></head>"
                    f"<body><h1>Bibliography: {_h(table)} {_h(ident)}</h1>"
                    "<p>No references in the local HEASARC.</p></body></html>\n")
            self.respond(200, "text/html; charset=UTF-8", html.encode())
        elif service == "home":
            u = app.urls()
            lines = "".join(f"<li>{k}: <a href=\"{_h(v)}\">{_h(v)}</a></li>" for k, v in u.items())
            html = (f"<html><head><title>local HEASARC</title></head><body><h1>local HEASARC</h1>"
                    f"<ul>{lines}</ul></body></html>\n")
            self.respond(200, "text/html; charset=UTF-8", html.encode())
        else:
            self.respond(404, "text/html; charset=iso-8859-1", _HTML_404)

    def tap(self, path: str, params: list, body: bytes) -> None:
        sub = path[len("/tap"):].strip("/")
        if sub in ("capabilities",):
            self.respond(200, "text/xml", self.app.capabilities())
            return
        if sub == "availability":
            self.respond(200, "text/xml", _AVAILABILITY)
            return
        if sub == "":
            self.respond(200, "text/html; charset=UTF-8",
                         b"<html><body><h1>local HEASARC RegTAP (TAP sync only)</h1></body></html>\n")
            return
        if sub != "sync":
            self.respond(404 if sub != "async" else 501, TAP_CT,
                         error_document(f"{path}: only {self.app.base_url}/tap/sync is served"))
            return
        if self.command == "POST":
            params = params + _form_params(self.headers.get("Content-Type", ""), body)
        p: dict[str, str] = {}
        for k, v in params:
            p.setdefault(k.upper(), v)
        if "QUERY" not in p or not p["QUERY"].strip():
            self.respond(400, TAP_CT, error_document("Missing required parameter QUERY"))
            return
        if "REQUEST" in p and p["REQUEST"].lower() != "doquery":
            self.respond(400, TAP_CT, error_document(
                f"REQUEST={p['REQUEST']} is not supported (only doQuery)"))
            return
        lang = p.get("LANG", "ADQL")
        if not lang.upper().startswith("ADQL"):
            self.respond(400, TAP_CT, error_document(f"LANG={lang} is not supported (only ADQL)"))
            return
        maxrec = None
        if p.get("MAXREC", "").strip():
            try:
                maxrec = max(0, int(p["MAXREC"]))
            except ValueError:
                self.respond(400, TAP_CT, error_document(f"Invalid MAXREC: {p['MAXREC']}"))
                return
        fmt = (p.get("RESPONSEFORMAT") or p.get("FORMAT") or "").lower()
        tabledata_out = "tabledata" in fmt or fmt in ("votable/td", "votabletd")
        query = p["QUERY"]
        try:
            result = regtap.execute(self.app.model, query, maxrec)
        except regtap.AdqlError as e:
            self.respond(200, TAP_CT, error_document(f"Could not execute query: {e}"))
            return
        self.respond(200, TAP_CT, _tap_document(query, result, tabledata_out))

    # -- the archive: reverse proxy to Apache ---------------------------------------------
    def _connect_upstream(self) -> http.client.HTTPConnection:
        if self._upstream is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.app.apache_port, timeout=300)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            except OSError:
                pass
            self._upstream = conn
        return self._upstream

    def _drop_upstream(self) -> None:
        conn = getattr(self, "_upstream", None)
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass
        self._upstream = None

    def proxy(self, target: str, body: bytes, ignore_range: bool) -> None:
        headers = {}
        for k, v in self.headers.items():
            lk = k.lower()
            if lk in HOP_BY_HOP or lk == "content-length":
                continue
            if ignore_range and lk in ("range", "if-range"):
                continue
            headers[k] = v
        if body or self.command in ("POST", "PUT"):
            headers["Content-Length"] = str(len(body))
        if not any(k.lower() == "host" for k in headers):
            # Apache builds redirects (dir -> dir/) from Host: make them point at this port
            headers["Host"] = urlsplit(self.app.base_url).netloc
        resp = None
        for attempt in (0, 1):
            fresh = self._upstream is None
            try:
                conn = self._connect_upstream()
                conn.putrequest(self.command, target, skip_host=True, skip_accept_encoding=True)
                for k, v in headers.items():
                    conn.putheader(k, v)
                conn.endheaders(body or None)
                resp = conn.getresponse()
                break
            except (http.client.HTTPException, ConnectionError, OSError) as e:
                self._drop_upstream()
                if attempt == 1 or fresh:
                    self.respond(502, "text/plain", f"archive upstream failed: {e}\n".encode())
                    return
        assert resp is not None
        status = resp.status
        out_headers = []
        length = resp.getheader("Content-Length")
        chunked = resp.chunked
        ctype = resp.getheader("Content-Type", "")
        for k, v in resp.getheaders():
            if k.lower() in HOP_BY_HOP:
                continue
            out_headers.append((k, v))
        no_body = self.command == "HEAD" or status in (204, 304) or 100 <= status < 200
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
                self._drop_upstream()
            self._start_raw(status, out_headers)
            self._send_body(memoryview(data), len(data))
            return
        self._start_raw(status, out_headers)
        if no_body:
            if resp.will_close:
                self._drop_upstream()
            else:
                resp.read()       # nothing; marks the response complete for reuse
            self._end_body_if_fault(0)
            return
        total = int(length)
        cut = self._cut_limit(total)
        remaining = total if cut is None else cut
        buf = bytearray(CHUNK)
        mv = memoryview(buf)
        try:
            while remaining > 0:
                n = resp.readinto(mv[:min(CHUNK, remaining)])
                if not n:
                    raise ConnectionError("archive upstream closed early")
                self._write(mv[:n])
                remaining -= n
        except BaseException:
            self._drop_upstream()
            raise
        if cut is not None:
            self._drop_upstream()       # the rest of the body is still upstream
            self._end_body(total, cut)
        if resp.will_close:
            self._drop_upstream()

    def _end_body_if_fault(self, total: int) -> None:
        if self._fault in ("reset", "truncate"):
            self._end_body(total, 0)

    def _start_raw(self, status: int, headers) -> None:
        """Status line and upstream headers verbatim (its Date, Server, ETag, ...)."""
        self._status = status
        self.log_request(status)
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    # -- control ---------------------------------------------------------------------------
    def control(self, sub: str, query: str, body: bytes) -> None:
        app = self.app
        sub = sub.strip("/")

        def send_json(status, obj):
            self._status = status
            data = (json.dumps(obj, indent=None) + "\n").encode()
            self._start(status, [("Content-Type", "application/json"),
                                 ("Content-Length", str(len(data))),
                                 ("Cache-Control", "no-store")])
            if self.command != "HEAD":
                self.connection.sendall(data)

        if sub == "knobs":
            if self.command in ("POST", "PUT"):
                try:
                    changes = json.loads(body.decode() or "{}")
                    send_json(200, app.knobs.update(changes))
                except (KnobError, ValueError) as e:
                    send_json(400, {"error": str(e)})
                return
            if self.command == "DELETE":
                send_json(200, app.knobs.reset())
                return
            send_json(200, app.knobs.snapshot())
        elif sub == "reset":
            if self.command not in ("POST", "PUT", "GET"):
                send_json(405, {"error": "use POST"})
                return
            app.knobs.reset()
            app.log.clear()
            send_json(200, {"knobs": app.knobs.snapshot(), "log": 0})
        elif sub == "log":
            if self.command in ("DELETE", "POST"):
                app.log.clear()
                send_json(200, [])
                return
            entries = app.log.entries()
            q = dict(parse_qsl(query))
            if "path" in q:
                try:
                    rx = re.compile(q["path"])
                except re.error as e:
                    send_json(400, {"error": str(e)})
                    return
                entries = [e for e in entries if rx.search(e["path"])]
            send_json(200, entries)
        elif sub == "":
            send_json(200, dict(app.urls(), apache_port=app.apache_port,
                                apache_pid=app.apache_pid, data=str(app.data_root),
                                pid=os.getpid()))
        else:
            send_json(404, {"error": f"unknown control endpoint {sub!r}",
                            "endpoints": ["knobs", "reset", "log"]})


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


def _param(params: list, name: str):
    for k, v in params:
        if k.upper() == name.upper():
            return v
    return None


def _h(s: str) -> str:
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _form_params(ctype: str, body: bytes) -> list:
    if not body:
        return []
    if ctype.lower().startswith("multipart/form-data"):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        out = []
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name and not part.get_filename():
                out.append((name, part.get_content()))
        return out
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def _tap_document(query: str, result: regtap.Result, as_tabledata: bool) -> bytes:
    fields = "".join(c.field_xml() for c in result.cols)
    data = (f"<DATA>{tabledata(result.cols, result.rows)}</DATA>" if as_tabledata
            else binary_data(result.cols, result.rows))
    overflow = info("QUERY_STATUS", "OVERFLOW") if result.overflow else ""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        f'<VOTABLE version="1.4" {VOTABLE_NS} xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 '
        'http://vo.ari.uni-heidelberg.de/docs/schemata/VOTable-1.4.xsd">'
        '<RESOURCE type="results">'
        + info("query", query, "Original ADQL query")
        + info("QUERY_STATUS", "OK", "Query successful")
        + info("server_software", "local-heasarc RegTAP", "Software that produced this VOTable")
        + info("ivoid", "ivo://nasa.heasarc/registry", "Originating VO resource", ucd="meta.ref.ivoid")
        + info("request_date", now, "", ucd="time.creation")
        + f'<TABLE name="resource_capability_interface">{fields}{data}</TABLE>'
        + overflow + "</RESOURCE></VOTABLE>"
    ).encode("utf-8")


_HTML_404 = (b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
             b"<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
             b"<p>The requested URL was not found on this server.</p>\n</body></html>\n")
_HTML_503 = (b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
             b"<title>503 Service Unavailable</title>\n</head><body>\n"
             b"<h1>Service Unavailable</h1>\n<p>The server is temporarily unable to service your\n"
             b"request due to maintenance downtime or capacity\nproblems. Please try again later."
             b"</p>\n</body></html>\n")
_AVAILABILITY = (b"<?xml version='1.0' encoding='utf-8'?>\n"
                 b'<avl:availability xmlns:avl="http://www.ivoa.net/xml/VOSIAvailability/v1.0">'
                 b"<avl:available>true</avl:available></avl:availability>\n")


# ---------------------------------------------------------------- main ---------------------
def ensure_data(data_root: Path) -> None:
    if (data_root / ".complete").exists():
        return
    maker = REPO_ROOT / "scripts" / "make-archive-data"
    if not maker.exists():
        raise SystemExit(f"local-heasarc: {data_root} has no archive data and {maker} is missing")
    _eprint(f"no archive data in {data_root}: running {maker}")
    subprocess.run([str(maker), "--data", str(data_root)], check=True, stdout=sys.stderr)
    if not (data_root / ".complete").exists():
        raise SystemExit(f"local-heasarc: {maker} did not complete {data_root}")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="local-heasarc", description=(
        "A local HEASARC on 127.0.0.1 answering as the real services do: RegTAP registry, "
        "Sesame, Xamin cone search, DataLink and the /FTP/ archive (Apache). Prints "
        "registry=, resolver=, archive=, control= and ready on stdout, then serves until "
        "SIGINT/SIGTERM."))
    ap.add_argument("--port", type=int, default=0, help="public port (0: any free port)")
    ap.add_argument("--data", default=None,
                    help="archive data dir (default $HEASARC_DATA or <repo>/build/heasarc-data)")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="latency added per request")
    ap.add_argument("--rate-kib", type=float, default=0.0, help="byte-rate cap per connection")
    ap.add_argument("--fault", default="none",
                    help="none | 5xx | reset | truncate | ignore_range | hang")
    ap.add_argument("--fault-path", default="", help="regex/prefix of paths the fault applies to")
    ap.add_argument("--fault-count", type=int, default=None,
                    help="apply the fault to the next N matching requests only")
    ap.add_argument("--request-log", default=None, help="append every request as a JSON line")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from . import catalog  # written alongside; imported late so --help works without it

    try:
        knobs = Knobs({"latency_ms": args.latency_ms, "rate_kib": args.rate_kib,
                       "fault": args.fault, "fault_path": args.fault_path,
                       "fault_count": args.fault_count})
    except KnobError as e:
        _eprint(str(e))
        return 2
    data_root = Path(catalog.data_root(args.data)).resolve()
    ensure_data(data_root)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    log = RequestLog(args.request_log)
    app = App(catalog, data_root, knobs, log)
    apache = Apache(data_root, log=_eprint)
    server = None
    try:
        app.apache_port = apache.start()
        app.apache_pid = apache.proc.pid if apache.proc else 0
        try:
            server = Server(("127.0.0.1", args.port), app)
        except OSError as e:
            _eprint(f"cannot listen on 127.0.0.1:{args.port}: {e}")
            return 1
        port = server.server_address[1]
        app.set_base(f"http://127.0.0.1:{port}")
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                  name="local-heasarc", daemon=True)
        thread.start()
        urls = app.urls()
        for key in ("registry", "resolver", "archive", "control"):
            print(f"{key}={urls[key]}", flush=True)
        print("ready", flush=True)
        while not stop.is_set():
            stop.wait(0.5)
            if apache.proc is not None and apache.proc.poll() is not None:
                _eprint("apache2 exited unexpectedly:\n" + apache.error_log()[-2000:])
                return 1
        return 0
    finally:
        app.stop_event.set()
        if server is not None:
            server.shutdown()
            server.server_close()
        apache.stop()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
