"""Many nodes, one site cache: the shipped nginx config (docs/nginx-site-cache.conf) on
loopback in front of the local HEASARC, and heasarcfs mounts with -o archive=<nginx>/FTP/.

- Two mounts with separate block caches copy the same observations cold and concurrently: the
  origin's request log shows every 1 MiB slice fetched once (aligned single closed ranges, no
  (path, range) twice, each file's bytes exactly once) and every listing once.
- A third mount with a fresh cache (a warm pass for the site cache) sends no archive request
  to the origin at all.
- The control run, two mounts straight at the origin, costs the origin at least twice the bytes.
- What heasarcfs sent the cache (nginx's access log): single closed ranges only, never If-Range,
  always Accept-Encoding: identity.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import LocalHeasarc, Mount, SiteCache, read_manifest, sha256_of  # noqa: E402

ROW = ("numaster", "NGC4151", "exposure_a>=50000")
OBSIDS = ("60001111003", "60001111005")
OBS_DIR = "nustar/data/obs/00/6"
SLICE = 1 << 20
RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")


class SiteCacheTest(unittest.TestCase):
    def setUp(self):
        # A little latency per request, so the two mounts' misses overlap in time.
        self.heasarc = LocalHeasarc(latency_ms=20).start()
        self.addCleanup(self.heasarc.stop)
        self.work = tempfile.mkdtemp(prefix="heasarcfs-site-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.manifest = read_manifest()
        self.expected = {}
        for obsid in OBSIDS:
            prefix = f"FTP/{OBS_DIR}/{obsid}/"
            self.expected[obsid] = {p[len(prefix):]: v for p, v in self.manifest.items() if p.startswith(prefix)}

    def mount(self, *options):
        mount = Mount(self.heasarc.registry, self.heasarc.resolver, options=list(options), timeout=60)
        mount.start()
        self.addCleanup(mount.__exit__, None, None, None)
        # The row directories (VO queries, straight to the services) before the archive part.
        os.listdir(mount.p(*ROW))
        return mount

    def copy_all(self, mounts):
        """cp -r of every observation from every mount at once; checks the bytes."""
        failures = []

        def copy(mount, index):
            try:
                for obsid in OBSIDS:
                    destination = os.path.join(self.work, f"m{index}-{len(os.listdir(self.work))}-{obsid}")
                    subprocess.run(["cp", "-r", mount.p(*ROW, obsid), destination], check=True, timeout=300)
                    for relative, (size, digest) in self.expected[obsid].items():
                        path = os.path.join(destination, relative)
                        if os.path.getsize(path) != size or sha256_of(path) != digest:
                            failures.append(f"{path}: wrong bytes")
            except Exception as error:  # reported below, in the test's thread
                failures.append(f"mount {index}: {error!r}")

        threads = [threading.Thread(target=copy, args=(m, i)) for i, m in enumerate(mounts)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        self.assertFalse([t for t in threads if t.is_alive()], "a copy hung")
        self.assertEqual(failures, [])

    def origin_archive(self):
        return [e for e in self.heasarc.log() if e["path"].startswith("/FTP")]

    def test_two_nodes_one_origin_fetch_per_slice(self):
        cache = SiteCache(self.heasarc.base).start()
        self.addCleanup(cache.close)
        a = self.mount(f"archive={cache.prefix}")
        b = self.mount(f"archive={cache.prefix}")
        self.heasarc.clear_log()
        self.copy_all([a, b])

        origin = self.origin_archive()
        self.assertTrue(origin)
        ranged = [e for e in origin if e["range"]]
        pages = [e for e in origin if not e["range"]]
        # every slice once, aligned, each a single closed range
        seen = Counter((e["path"], e["range"]) for e in ranged)
        self.assertEqual([k for k, n in seen.items() if n > 1], [])
        for e in ranged:
            self.assertEqual(e["method"], "GET")
            m = RANGE.match(e["range"])
            self.assertIsNotNone(m, e["range"])
            first, last = int(m.group(1)), int(m.group(2))
            self.assertEqual((first % SLICE, last - first + 1), (0, SLICE), e)
        # and so each file's bytes came from the origin exactly once
        per_file = Counter()
        for e in ranged:
            per_file[e["path"]] += e["bytes"]
        for obsid in OBSIDS:
            for relative, (size, _) in self.expected[obsid].items():
                path = f"/FTP/{OBS_DIR}/{obsid}/{relative}"
                self.assertEqual(per_file[path], size, path)
        # listings once each (the cache keeps them 10 min)
        self.assertEqual([k for k, n in Counter(e["path"] for e in pages).items() if n > 1], [])
        self.assertEqual({e["method"] for e in origin}, {"GET"})
        cached_run_bytes = sum(e["bytes"] for e in origin)

        # What heasarcfs sent the cache: single closed ranges, no If-Range, identity encoding.
        access = cache.access_log()
        self.assertTrue(access)
        for line in access:
            self.assertRegex(line, r'range="(-|bytes=\d+-\d+)"')
            self.assertIn('if_range="-"', line)
            self.assertIn('accept_encoding="identity"', line)

        # A warm pass: another node, cold itself, costs the origin nothing.
        c = self.mount(f"archive={cache.prefix}")
        self.heasarc.clear_log()
        self.copy_all([c])
        self.assertEqual(self.origin_archive(), [])

        # Control: the same two cold nodes without the site cache.
        d = self.mount()
        e = self.mount()
        self.heasarc.clear_log()
        self.copy_all([d, e])
        direct_bytes = sum(x["bytes"] for x in self.origin_archive())
        print(f"origin archive bytes: {cached_run_bytes} with the site cache, {direct_bytes} without "
              f"({direct_bytes / cached_run_bytes:.2f}x)", file=sys.stderr)
        self.assertGreaterEqual(direct_bytes, 2 * cached_run_bytes)


if __name__ == "__main__":
    unittest.main(verbosity=2)
