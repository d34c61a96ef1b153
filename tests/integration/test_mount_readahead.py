"""The kernel's read-ahead of a mount (fs/kernel_readahead.h): heasarcfs raises its mount's
read_ahead_kb to readahead= (default 256 KiB), so sequential readers cost one FUSE request per
256 KiB instead of per 128 KiB; readahead=128K leaves the kernel's default, readahead=1M asks
for 1 MiB. Reads through each give the archive's bytes; a header read moves the same 64 KiB
with 128K and 256K (the kernel ramps a new file's window from 16 KiB in the same steps), and
one window more with 1M."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import DATA_DIR, LocalHeasarc, Mount, read_manifest, sha256_of    # noqa: E402

OBSID = "60001111005"
PREFIX = f"FTP/nustar/data/obs/00/6/{OBSID}/"
BIG = "event_cl/nu60001111005A01_cl.evt"
HEADER_BYTES = 46080        # the primary header and the first extension's, as FITS readers read them


def read_ahead_kb(mount_path: str) -> int:
    device = os.stat(mount_path).st_dev
    with open(f"/sys/class/bdi/{os.major(device)}:{os.minor(device)}/read_ahead_kb") as f:
        return int(f.read())


class KernelReadahead(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.manifest = read_manifest()
        cls.heasarc = LocalHeasarc().start()

    @classmethod
    def tearDownClass(cls):
        cls.heasarc.stop()

    def mounted(self, options):
        mount = Mount(self.heasarc.registry, self.heasarc.resolver, options=options)
        mount.start()
        self.addCleanup(mount.__exit__, None, None, None)
        return mount

    def header_bytes_moved(self, mount) -> int:
        path = mount.p("numaster", "NGC4151", OBSID, BIG)
        os.stat(path)
        self.heasarc.clear_log()
        with open(path, "rb") as f:
            got = b"".join(f.read(2880) for _ in range(HEADER_BYTES // 2880))
        with open(DATA_DIR / PREFIX / BIG, "rb") as f:
            self.assertEqual(got, f.read(HEADER_BYTES))
        return sum(e["bytes"] for e in self.heasarc.requests_for(rf"/{BIG}$", "GET"))

    @unittest.skipUnless(os.geteuid() == 0, "only root may write a mount's read_ahead_kb")
    def test_the_default_raises_read_ahead_to_256_KiB_and_reads_are_right(self):
        mount = self.mounted([])
        self.assertEqual(read_ahead_kb(mount.path), 256)
        moved = self.header_bytes_moved(mount)
        print(f"\n  default: read_ahead_kb 256, header read moved {moved} bytes", file=sys.stderr)
        self.assertLessEqual(moved, 128 * 1024)
        relative = "event_uf/nu60001111005A_uf.evt.gz"
        self.assertEqual(sha256_of(mount.p("numaster", "NGC4151", OBSID, relative)),
                         self.manifest[PREFIX + relative][1])

    @unittest.skipUnless(os.geteuid() == 0, "only root may write a mount's read_ahead_kb")
    def test_readahead_1M_asks_the_kernel_for_1_MiB(self):
        mount = self.mounted(["readahead=1M"])
        self.assertEqual(read_ahead_kb(mount.path), 1024)
        moved = self.header_bytes_moved(mount)
        print(f"\n  readahead=1M: read_ahead_kb 1024, header read moved {moved} bytes", file=sys.stderr)
        self.assertLessEqual(moved, 256 * 1024)

    def test_readahead_128K_leaves_the_kernel_default(self):
        mount = self.mounted(["readahead=128K"])
        self.assertEqual(read_ahead_kb(mount.path), 128)
        moved = self.header_bytes_moved(mount)
        print(f"\n  readahead=128K: read_ahead_kb 128, header read moved {moved} bytes", file=sys.stderr)
        self.assertLessEqual(moved, 128 * 1024)


if __name__ == "__main__":
    unittest.main(verbosity=2)
