"""FITS tools on mounted files: fitsverify and astropy (which opens with mmap); a header read
of the large uncompressed event file moves < 1 MiB; after a remount the same reads send no
data GETs (the disk cache serves them)."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import LocalHeasarc, Mount    # noqa: E402

from astropy.io import fits  # noqa: E402

BIG_OBSID = "60001111005"
BIG = "event_cl/nu60001111005A01_cl.evt"


def data_gets(heasarc, path_regex):
    return [e for e in heasarc.requests_for(path_regex, method="GET") if not e["path"].endswith("/")]


class MountFits(unittest.TestCase):
    def setUp(self):
        self.heasarc = LocalHeasarc().start()
        self.addCleanup(self.heasarc.stop)
        self.work = tempfile.mkdtemp(prefix="heasarcfs-fits-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.cache = os.path.join(self.work, "cache")

    def mount(self):
        m = Mount(self.heasarc.registry, self.heasarc.resolver, cache_dir=self.cache)
        m.start()
        self.addCleanup(m.__exit__, None, None, None)
        return m

    def row(self, m, obsid):
        return m.p("numaster", "NGC4151", "exposure_a>=50000", obsid)

    def test_fitsverify_and_astropy_on_mounted_files(self):
        m = self.mount()
        row = self.row(m, "60001111003")
        for relative in ["event_cl/nu60001111003A01_cl.evt.gz", "hk/nu60001111003A_fpm.hk.gz"]:
            with self.subTest(file=relative):
                path = os.path.join(row, relative)
                verify = subprocess.run(["fitsverify", "-q", path], capture_output=True, text=True, timeout=300)
                self.assertIn("verification OK", verify.stdout + verify.stderr)
                header = fits.getheader(path)
                self.assertEqual(header["SIMPLE"], True)
        with fits.open(os.path.join(self.row(m, BIG_OBSID), BIG), memmap=True) as hdus:
            events = hdus["EVENTS"]
            self.assertGreater(events.header["NAXIS2"], 1000)
            self.assertEqual(len(events.data[:100]), 100)  # rows read through mmap

    def test_header_read_of_large_file_moves_little(self):
        m = self.mount()
        path = os.path.join(self.row(m, BIG_OBSID), BIG)
        self.assertGreater(os.stat(path).st_size, 200 << 20)
        self.heasarc.clear_log()
        header = fits.getheader(path)
        self.assertEqual(header["SIMPLE"], True)
        moved = sum(e["bytes"] for e in data_gets(self.heasarc, BIG + "$"))
        self.assertGreater(moved, 0)
        self.assertLess(moved, 1 << 20, f"a header read moved {moved} bytes")
        fitsheader = subprocess.run(["fitsheader", path], capture_output=True, text=True, timeout=120)
        self.assertEqual(fitsheader.returncode, 0, fitsheader.stderr)
        self.assertRegex(fitsheader.stdout, r"EXTNAME\s*=\s*'EVENTS")
        print(f"\nheader read of a {os.stat(path).st_size} B file moved {moved} B", file=sys.stderr)

    def test_remount_reads_from_the_cache(self):
        def read_some(m):
            row = self.row(m, "60001111003")
            contents = {}
            for relative in ["pipe.log", "event_cl/nu60001111003A01_cl.evt.gz"]:
                with open(os.path.join(row, relative), "rb") as f:
                    contents[relative] = f.read()
            contents["header"] = repr(fits.getheader(os.path.join(self.row(m, BIG_OBSID), BIG)))
            return contents

        first = self.mount()
        self.heasarc.clear_log()
        before = read_some(first)
        self.assertTrue(data_gets(self.heasarc, "/FTP/.+[^/]$"))
        first.stop()

        second = self.mount()
        self.heasarc.clear_log()
        after = read_some(second)
        self.assertEqual(before, after)
        self.assertEqual(data_gets(self.heasarc, "/FTP/.+[^/]$"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
