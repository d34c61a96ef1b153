#!/usr/bin/python3
"""Proxies, mounted over the local HEASARC: `-o proxy=DEAD;LIVE` reads everything through the
second proxy (a dead first one is failed over and named once in the log), and without the
option libcurl's http_proxy / no_proxy variables are honoured. The proxy is the kit's
ForwardProxy (plain http, logs every request)."""

import hashlib
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import LocalHeasarc, Mount, read_manifest    # noqa: E402
from heasarc_kit.forward_proxy import ForwardProxy  # noqa: E402

ROW = ("numaster", "NGC4151", "60001111003")
FILE = "FTP/nustar/data/obs/00/6/60001111003/event_cl/nu60001111003A01_cl.evt.gz"
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                   "no_proxy", "NO_PROXY")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed): connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MountProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.heasarc = LocalHeasarc().start()

    @classmethod
    def tearDownClass(cls):
        cls.heasarc.stop()

    def setUp(self):
        # The mount inherits this environment: start each test from no proxy settings at all.
        saved = {name: os.environ.pop(name) for name in PROXY_VARIABLES if name in os.environ}

        def restore():
            for name in PROXY_VARIABLES:
                os.environ.pop(name, None)
            os.environ.update(saved)
        self.addCleanup(restore)
        self.proxy = ForwardProxy().start()
        self.addCleanup(self.proxy.stop)

    def walk_and_read(self, mount):
        listing = os.listdir(mount.p(*ROW))
        self.assertIn("event_cl", listing)
        with open(mount.p(*ROW, "event_cl", os.path.basename(FILE)), "rb") as f:
            data = f.read()
        size, sha256 = read_manifest()[FILE]
        self.assertEqual(len(data), size)
        self.assertEqual(hashlib.sha256(data).hexdigest(), sha256)

    def proxied(self):
        return [url for _, url, _ in self.proxy.log() if url.startswith(self.heasarc.base)]

    def test_dead_first_proxy_fails_over_to_the_second(self):
        dead = f"http://127.0.0.1:{closed_port()}"
        with Mount(self.heasarc.registry, self.heasarc.resolver, options=[f"proxy={dead};{self.proxy.url}"],
                   allow=[r" warn transfer: proxy " + dead.replace(".", r"\.") + r": .*skipped for 60 s"]) as mount:
            self.walk_and_read(mount)
            urls = self.proxied()
            log = mount.log()
        # Every kind of request went through the live proxy: registry, resolver, cone search,
        # DataLink, the archive's listings, HEADs and range reads.
        self.assertTrue(any("/xamin/vo/cone" in u for u in urls), urls)
        self.assertTrue(any("/xamin/vo/datalink/" in u for u in urls), urls)
        self.assertTrue(any(u.endswith("/" + os.path.basename(FILE)) for u in urls), urls)
        self.assertTrue(any(u.startswith(self.heasarc.registry) for u in urls), urls)
        methods = {m for m, u, _ in self.proxy.log()}
        self.assertIn("GET", methods)
        self.assertIn("POST", methods)   # the registry's TAP query
        # The origin saw them all (through the proxy), and the dead proxy was named in the log.
        self.assertTrue(self.heasarc.requests_for(r"/event_cl/nu60001111003A01_cl\.evt\.gz"))
        self.assertIn(f"proxy {dead}: ", log)
        self.assertIn(f"trying {self.proxy.url}", log)

    def test_http_proxy_variable_is_honoured(self):
        os.environ["http_proxy"] = self.proxy.url
        with Mount(self.heasarc.registry, self.heasarc.resolver) as mount:
            self.walk_and_read(mount)
        urls = self.proxied()
        self.assertTrue(any("/xamin/vo/cone" in u for u in urls), urls)
        self.assertTrue(any(u.endswith("/" + os.path.basename(FILE)) for u in urls), urls)

    def test_no_proxy_variable_is_honoured(self):
        os.environ["http_proxy"] = self.proxy.url
        os.environ["no_proxy"] = "localhost,127.0.0.1"
        with Mount(self.heasarc.registry, self.heasarc.resolver) as mount:
            self.walk_and_read(mount)
        self.assertEqual(self.proxy.log(), [])
        # And with -o proxy= too: no_proxy hosts go direct.
        with Mount(self.heasarc.registry, self.heasarc.resolver, options=[f"proxy={self.proxy.url}"]) as mount:
            self.walk_and_read(mount)
        self.assertEqual(self.proxy.log(), [])


if __name__ == "__main__":
    unittest.main()
