#!/usr/bin/python3
"""What a mount tells about itself, mounted over the local HEASARC: .results.vot read by astropy
equals pyvo's to_table() of the same cone search; the extended attributes through getfattr and
os.getxattr (ENODATA, ERANGE, EROFS); /.heasarcfs/stats read with json, its counters moving
with a read."""

import ctypes
import errno
import json
import os
import subprocess
import sys
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import MountedTestCase, read_manifest  # noqa: E402

import numpy as np  # noqa: E402
import pyvo  # noqa: E402
import astropy.units as u  # noqa: E402
from astropy.table import Table  # noqa: E402

warnings.simplefilter("ignore", ResourceWarning)
warnings.filterwarnings("ignore", module="astropy")

NGC4151 = (182.63573325, 39.40585097)   # what Sesame answers for NGC4151 (the local HEASARC's)
ROW = ("numaster", "NGC4151", "60001111003")
FILE = ROW + ("event_cl", "nu60001111003A01_cl.evt.gz")
FILE_MANIFEST = "FTP/nustar/data/obs/00/6/60001111003/event_cl/nu60001111003A01_cl.evt.gz"


def same_column(test, mine, theirs, name):
    test.assertEqual(mine.dtype, theirs.dtype, name)
    test.assertEqual(mine.unit, theirs.unit, name)
    test.assertEqual(mine.description, theirs.description, name)
    test.assertEqual(mine.meta.get("ucd"), theirs.meta.get("ucd"), name)
    mask_a = np.ma.getmaskarray(mine)
    mask_b = np.ma.getmaskarray(theirs)
    test.assertTrue(np.array_equal(mask_a, mask_b), name)
    a, b = np.asarray(mine)[~mask_a], np.asarray(theirs)[~mask_b]
    test.assertTrue(np.array_equal(a, b), f"{name}: {a!r} != {b!r}")


class MountObserve(MountedTestCase):
    def pyvo_table(self, cone_url):
        service = pyvo.dal.SCSService(cone_url)
        return service.search(pos=NGC4151, radius=1.0 * u.deg).to_table()

    # -- .results.vot ------------------------------------------------------------------------
    def test_results_vot_equals_pyvo(self):
        target = self.mount.p("numaster", "NGC4151")
        self.assertIn(".results.vot", os.listdir(target))
        cone_url = os.getxattr(target, "user.heasarc.url").decode()
        theirs = self.pyvo_table(cone_url)
        path = os.path.join(target, ".results.vot")
        mine = Table.read(path)
        self.assertEqual(mine.colnames, theirs.colnames)
        self.assertEqual(len(mine), len(theirs))
        self.assertGreater(len(mine), 2)
        for name in theirs.colnames:
            same_column(self, mine[name], theirs[name], name)
        self.assertEqual(str(mine["ra"].unit), "degree")  # the service's FIELD unit, as pyvo has it
        with open(path, "rb") as f:
            self.assertEqual(os.stat(path).st_size, len(f.read()))

    def test_results_vot_of_a_filter_directory(self):
        target = self.mount.p("numaster", "NGC4151", "exposure_a>=50000")
        theirs = self.pyvo_table(os.getxattr(target, "user.heasarc.url").decode())
        theirs = theirs[np.asarray(theirs["exposure_a"]) >= 50000]
        mine = Table.read(os.path.join(target, ".results.vot"))
        self.assertEqual(mine.colnames, theirs.colnames)
        self.assertEqual(sorted(mine["obsid"]), sorted(theirs["obsid"]))
        self.assertEqual(sorted(str(o) for o in mine["obsid"]),
                         sorted(n for n in os.listdir(target) if not n.startswith(".")))
        for name in theirs.colnames:
            same_column(self, mine[name], theirs[name], name)

    # -- extended attributes -------------------------------------------------------------------
    def test_getfattr_lists_them(self):
        path = self.mount.p(*FILE)
        os.stat(path)
        out = subprocess.run(["getfattr", "-d", "--absolute-names", path], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        self.assertEqual(set(values), {"user.heasarc.url", "user.heasarc.query", "user.heasarc.cached"})
        # DataLink directory URLs hold a "//" (README of the local HEASARC): compare without it.
        self.assertTrue(values["user.heasarc.url"].strip('"').replace("//", "/").endswith("/" + FILE_MANIFEST))
        self.assertIn("60001111003", values["user.heasarc.query"])
        size = read_manifest()[FILE_MANIFEST][0]
        self.assertRegex(values["user.heasarc.cached"], rf'^"\d+/{size}"$')

    def test_cached_follows_reads(self):
        path = self.mount.p(*FILE)
        size = os.stat(path).st_size
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(len(data), size)
        self.assertEqual(os.getxattr(path, "user.heasarc.cached").decode(), f"{size}/{size}")

    def test_every_kind_of_node(self):
        row = self.mount.p(*ROW)
        os.listdir(row)
        cone = os.getxattr(self.mount.p("numaster", "NGC4151"), "user.heasarc.query").decode()
        self.assertTrue(cone.startswith(self.heasarc.base + "/xamin/vo/cone?"))
        self.assertIn("RA=182.63573325&DEC=39.40585097&SR=1.0", cone)
        self.assertEqual(os.getxattr(self.mount.p("numaster", "NGC4151", ".results.csv"), "user.heasarc.query").decode(),
                         cone)
        datalink = os.getxattr(row, "user.heasarc.query").decode()
        self.assertIn("/xamin/vo/datalink/", datalink)
        self.assertIn("60001111003", datalink)
        self.assertEqual(os.getxattr(self.mount.p(*ROW, "event_cl"), "user.heasarc.query").decode(), datalink)
        self.assertTrue(os.getxattr(row, "user.heasarc.url").decode().endswith("/60001111003/"))
        self.assertEqual(os.getxattr(self.mount.path, "user.heasarc.url").decode(), self.heasarc.registry)
        self.assertEqual(sorted(os.listxattr(self.mount.p(*ROW, "event_cl"))),
                         ["user.heasarc.query", "user.heasarc.url"])
        self.assertEqual(os.listxattr(self.mount.p(".heasarcfs", "stats")), [])

    def test_errnos(self):
        path = self.mount.p(*FILE)
        for name in ("user.heasarc.stale", "user.other", "security.capability"):
            with self.assertRaises(OSError) as caught:
                os.getxattr(path, name)
            self.assertEqual(caught.exception.errno, errno.ENODATA, name)
        with self.assertRaises(OSError) as caught:
            os.setxattr(path, "user.heasarc.url", b"x")
        self.assertEqual(caught.exception.errno, errno.EROFS)
        with self.assertRaises(OSError) as caught:
            os.removexattr(path, "user.heasarc.url")
        self.assertEqual(caught.exception.errno, errno.EROFS)
        libc = ctypes.CDLL(None, use_errno=True)
        buffer = ctypes.create_string_buffer(4)
        result = libc.getxattr(path.encode(), b"user.heasarc.url", buffer, ctypes.c_size_t(4))
        self.assertEqual(result, -1)
        self.assertEqual(ctypes.get_errno(), errno.ERANGE)
        result = libc.listxattr(path.encode(), buffer, ctypes.c_size_t(4))
        self.assertEqual(result, -1)
        self.assertEqual(ctypes.get_errno(), errno.ERANGE)

    # -- the stats file ------------------------------------------------------------------------
    def stats(self):
        with open(self.mount.p(".heasarcfs", "stats")) as f:
            return json.load(f)

    def test_stats_move_with_a_read(self):
        self.assertNotIn(".heasarcfs", os.listdir(self.mount.path))
        self.assertEqual(os.listdir(self.mount.p(".heasarcfs")), ["stats"])
        path = self.mount.p(*ROW, "hk", "nu60001111003A_fpm.hk.gz")
        os.stat(path)
        before = self.stats()
        for key in ("uptime_seconds", "requests", "bytes_fetched", "bytes_in_flight", "cache", "reads", "errors",
                    "connections"):
            self.assertIn(key, before)
        with open(path, "rb") as f:
            f.read()
        after = self.stats()
        # "started", not "completed": a read returns as soon as its last block lands, which can
        # be before the engine has counted the transfer's end.
        self.assertGreater(after["requests"]["started"], before["requests"]["started"])
        self.assertGreater(after["bytes_fetched"], before["bytes_fetched"])
        self.assertGreater(after["cache"]["misses"], before["cache"]["misses"])
        self.assertGreaterEqual(after["uptime_seconds"], before["uptime_seconds"])
        # Opening it fetches the next small files of its directory in the background: what
        # is still on its way is counted, never less than nothing.
        self.assertGreaterEqual(after["bytes_in_flight"], 0)
        # A failed lookup is counted by its errno.
        with self.assertRaises(FileNotFoundError):
            os.stat(self.mount.p("no_such_table_here"))
        later = self.stats()
        self.assertGreaterEqual(later["errors"]["by_errno"].get("ENOENT", 0), 1)
        self.assertGreaterEqual(later["errors"]["replies"], later["errors"]["by_errno"]["ENOENT"])


if __name__ == "__main__":
    unittest.main()
