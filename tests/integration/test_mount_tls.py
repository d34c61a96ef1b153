"""Secure defaults over a mount: the local HEASARC's registry served over TLS with a
self-signed certificate (made here with openssl) is refused unless its certificate is given
with -o cainfo=FILE; an https registry that redirects to http is refused (no downgrade); and
the user:password of a registry URL never reaches the daemon's log."""

import errno
import re
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import LocalHeasarc, Mount    # noqa: E402


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 (key and cert in PEM)."""
    key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return key, cert


class TlsFront(ThreadingHTTPServer):
    """HTTPS on 127.0.0.1:0 in front of the local HEASARC's VO services: /tls/<path> is
    forwarded to <upstream>/<path>; /downgrade/<path> answers 307 to the plain-http
    <upstream>/<path>."""

    daemon_threads = True

    def __init__(self, upstream, key, cert):
        self.upstream = upstream.rstrip("/")
        self.seen = []
        super().__init__(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True)

    def url(self, path):
        return f"https://127.0.0.1:{self.server_address[1]}{path}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self):
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        prefix, _, rest = self.path.lstrip("/").partition("/")
        target = f"{self.server.upstream}/{rest}"
        if prefix == "downgrade":
            self.answer(307, [("Location", target)], b"")
            return
        request = urllib.request.Request(target, data=body, method=self.command)
        if self.headers.get("Content-Type"):
            request.add_header("Content-Type", self.headers["Content-Type"])
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                self.answer(response.status, response.getheaders(), response.read())
        except urllib.error.HTTPError as error:
            self.answer(error.code, error.headers.items(), error.read())

    do_GET = do_POST = do_HEAD = forward


class MountTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="heasarcfs-tls-")
        key, cls.cert = make_certificate(cls.workdir)
        cls.heasarc = LocalHeasarc().start()
        cls.front = TlsFront(cls.heasarc.base, key, cls.cert)
        cls.thread = threading.Thread(target=cls.front.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.front.shutdown()
        cls.front.server_close()
        cls.heasarc.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def mount(self, registry, options=(), allow=()):
        mount = Mount(registry, self.heasarc.resolver, options=options, allow=allow)
        mount.start()
        self.addCleanup(mount.__exit__, None, None, None)
        return mount

    def test_a_self_signed_registry_is_refused_without_its_ca(self):
        mount = self.mount(self.front.url("/tls/tap"),
                           allow=[r" warn http: POST https://\S+/tls/tap/sync: SSL certificate problem"])
        with self.assertRaises(OSError) as raised:
            os.listdir(mount.path)
        self.assertEqual(raised.exception.errno, errno.EACCES)
        log = mount.log()
        self.assertEqual(len(re.findall(r" warn http: POST https://127\.0\.0\.1:\d+/tls/tap/sync: SSL certificate problem",
                                        log)), 1, log)
        self.assertEqual([seen for seen in self.front.seen if seen[1].startswith("/tls/tap/sync")], [])

    def test_with_cainfo_the_same_registry_is_used(self):
        mount = self.mount(self.front.url("/tls/tap"), options=[f"cainfo={self.cert}"])
        tables = os.listdir(mount.path)
        self.assertIn("numaster", tables)
        self.assertIn(("POST", "/tls/tap/sync", None), self.front.seen)

    def test_an_https_to_http_redirect_is_refused(self):
        before = len(self.heasarc.requests_for(r"^/tap/sync"))
        mount = self.mount(self.front.url("/downgrade/tap"), options=[f"cainfo={self.cert}"],
                           allow=[r" warn http: POST https://\S+/downgrade/tap/sync: redirect to http://\S+ refused"])
        with self.assertRaises(OSError) as raised:
            os.listdir(mount.path)
        self.assertEqual(raised.exception.errno, errno.EACCES)
        self.assertRegex(mount.log(), r"POST https://127\.0\.0\.1:\d+/downgrade/tap/sync: redirect to "
                                      r"http://127\.0\.0\.1:\d+/tap/sync refused")
        # The plain-http registry behind the redirect was never asked.
        self.assertEqual(len(self.heasarc.requests_for(r"^/tap/sync")), before)

    def test_credentials_in_a_url_never_reach_the_log(self):
        registry = self.front.url("/tls/tap").replace("https://", "https://astro:s3cret-word@")
        mount = self.mount(registry, options=[f"cainfo={self.cert}", "log_level=debug"])
        self.assertIn("numaster", os.listdir(mount.path))
        # curl sends them as Basic auth (the user asked for it); the log leaves them out.
        self.assertTrue(any(seen[2] for seen in self.front.seen if seen[1] == "/tls/tap/sync"))
        mount.stop()
        log = mount.log()
        self.assertIn("127.0.0.1", log)
        self.assertNotIn("s3cret-word", log)
        self.assertNotIn("astro:", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
