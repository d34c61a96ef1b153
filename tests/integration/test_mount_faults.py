"""A mount over a misbehaving archive: a hung service costs an `ls` at most the timeout= deadline
and then a clear error (not cached: the next `ls` works); 5xx with Retry-After, connections
reset mid-body, truncated bodies and 200 answers to Range requests are retried, and every read
returns the manifest's bytes or an error, never wrong bytes."""

import errno
import hashlib
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import LocalHeasarc, Mount, read_manifest    # noqa: E402

OBSID = "60001111003"
PREFIX = f"FTP/nustar/data/obs/00/6/{OBSID}/"
DEADLINE_S = 3
# What the daemon's log says a fault did to a GET (curl's words, or the status).
FAULT_MESSAGES = {"5xx": r"HTTP 503",
                  "reset": r"Recv failure: Connection reset by peer",
                  "truncate": r"transfer closed with \d+ bytes remaining to read",
                  "ignore_range": r"(?!)"}        # answered in full: retried by nobody, no warning


class MountFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.manifest = read_manifest()

    def setUp(self):
        self.heasarc = LocalHeasarc().start()
        self.addCleanup(self.heasarc.stop)
        self.mount = Mount(self.heasarc.registry, self.heasarc.resolver, options=[f"timeout={DEADLINE_S}"])
        self.mount.start()
        self.addCleanup(self.mount.__exit__, None, None, None)
        self.row = self.mount.p("numaster", "NGC4151", "exposure_a>=50000", OBSID)

    def listed(self, relative):
        """Stats the file (the listing and its sizes come from a healthy server) and returns its
        mounted path and the manifest's (size, sha256)."""
        path = os.path.join(self.row, relative)
        size, sha = self.manifest[PREFIX + relative]
        self.assertEqual(os.stat(path).st_size, size)
        return path, sha

    @staticmethod
    def fault_path(relative):
        # A regex: DataLink's NuSTAR directory URLs carry a double slash (…/00/6//<obsid>/).
        return f"/FTP/.*/{OBSID}/{re.escape(relative)}$"

    def allow_failed_gets(self, relative, why, read_fails=False):
        """The daemon's warnings for `relative` under this test's fault: its retries after `why`
        and, when the fault outlasts them, the failed read."""
        url = r"http://127\.0\.0\.1:\d+/FTP/\S*/" + re.escape(relative)
        # The fetcher retries the blocks a read waits for (cache/fetcher.cpp).
        self.mount.allow(rf" warn fetch: retry [1-3]/3 of {url} blocks \d+-\d+ in \d+ ms after: "
                         rf"({url} bytes \d+-\d+: |GET {url}: )?({why})$")
        if read_fails:
            self.mount.allow(rf" warn read: inode \d+ at \d+\+\d+: .*{url}\b.*: ({why})$")

    def data_gets(self, relative):
        return [e for e in self.heasarc.requests_for(relative.replace(".", r"\.") + "$", "GET")]

    def assert_reads_right_bytes(self, relative, fault, **knobs):
        path, sha = self.listed(relative)
        self.allow_failed_gets(relative, FAULT_MESSAGES[fault])
        self.heasarc.clear_log()
        self.heasarc.set_knobs(fault=fault, fault_path=self.fault_path(relative), **knobs)
        with open(path, "rb") as f:
            content = f.read()
        self.heasarc.clear_knobs()
        self.assertEqual(hashlib.sha256(content).hexdigest(), sha, f"{fault}: wrong bytes for {relative}")
        gets = self.data_gets(relative)
        self.assertTrue(any(e["fault"] not in (None, "", "none") for e in gets),
                        f"{fault}: the fault was never applied: {gets}")
        return gets

    # -- deadlines ------------------------------------------------------------------------------
    def test_hung_cone_search_fails_within_the_deadline_and_is_not_cached(self):
        self.heasarc.set_knobs(fault="hang", fault_path="/xamin/vo/cone")
        self.mount.allow(r" warn opendir: inode \d+: Connection timed out: GET http://127\.0\.0\.1:\d+/xamin/vo/cone\?"
                         r".*: (Operation timed out after \d+ milliseconds|no complete answer before its deadline)")
        started = time.monotonic()
        with self.assertRaises(OSError) as raised:
            os.listdir(self.mount.p("numaster", "M 31"))
        elapsed = time.monotonic() - started
        print(f"\n  ls of a new target, cone search hung, timeout={DEADLINE_S}: "
              f"{os.strerror(raised.exception.errno)} after {elapsed:.2f} s", file=sys.stderr)
        self.assertIn(raised.exception.errno, (errno.ETIMEDOUT, errno.EIO))
        self.assertLess(elapsed, DEADLINE_S + 5, f"ls took {elapsed:.1f} s with timeout={DEADLINE_S}")
        self.assertGreaterEqual(elapsed, DEADLINE_S - 0.5)
        self.assertRegex(self.mount.log(), r"(?i)(timed out|timeout).*cone|cone.*(timed out|timeout)")

        self.heasarc.clear_knobs()
        self.assertTrue(os.listdir(self.mount.p("numaster", "M 31")), "a failed query must not be cached")

    def test_hung_archive_read_fails_within_the_deadline(self):
        path, _ = self.listed("auxil/nu60001111003_orb.fits.gz")
        self.heasarc.set_knobs(fault="hang", fault_path=self.fault_path("auxil/nu60001111003_orb.fits.gz"))
        # The read's own deadline, or (for a read that joined the hung part late) the part's.
        self.mount.allow(r" warn read: inode \d+ at \d+\+\d+: Connection timed out: (GET )?http://127\.0\.0\.1:\d+/FTP/"
                         r"\S*/auxil/nu60001111003_orb\.fits\.gz( blocks \d+-\d+: deadline passed|"
                         r": no complete answer before its deadline)")
        started = time.monotonic()
        with self.assertRaises(OSError) as raised:
            with open(path, "rb") as f:
                f.read()
        elapsed = time.monotonic() - started
        print(f"\n  read of a file whose GETs hang, timeout={DEADLINE_S}: "
              f"{os.strerror(raised.exception.errno)} after {elapsed:.2f} s", file=sys.stderr)
        self.assertIn(raised.exception.errno, (errno.ETIMEDOUT, errno.EIO))
        self.assertLess(elapsed, DEADLINE_S + 5)
        self.heasarc.clear_knobs()
        with open(path, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(),
                             self.manifest[PREFIX + "auxil/nu60001111003_orb.fits.gz"][1])

    # -- retried faults -------------------------------------------------------------------------
    def test_5xx_with_retry_after_is_retried(self):
        gets = self.assert_reads_right_bytes("hk/nu60001111003_eng.hk.gz", "5xx", fault_count=2)
        statuses = [e["status"] for e in gets]
        self.assertEqual(statuses[:2], [503, 503], statuses)
        self.assertIn(statuses[2], (200, 206), statuses)

    def test_reset_mid_body_is_retried(self):
        self.assert_reads_right_bytes("auxil/nu60001111003_orb.fits.gz", "reset", fault_count=1)

    def test_truncated_body_is_retried(self):
        self.assert_reads_right_bytes("event_cl/nu60001111003A01_cl.evt.gz", "truncate", fault_count=1)

    def test_full_answer_to_a_range_request_gives_right_bytes(self):
        self.assert_reads_right_bytes("event_uf/nu60001111003B_uf.evt.gz", "ignore_range", fault_count=1)

    def test_persistent_faults_are_errors_not_wrong_bytes(self):
        for fault in ("truncate", "reset", "5xx"):
            relative = {"truncate": "event_uf/nu60001111003A_uf.evt.gz",
                        "reset": "hk/nu60001111003_met.fits.gz",
                        "5xx": "pipe.log"}[fault]
            with self.subTest(fault=fault):
                path, sha = self.listed(relative)
                self.allow_failed_gets(relative, FAULT_MESSAGES[fault], read_fails=True)
                self.heasarc.set_knobs(fault=fault, fault_path=self.fault_path(relative))
                try:
                    with open(path, "rb") as f:
                        content = f.read()
                except OSError as e:
                    self.assertIn(e.errno, (errno.EIO, errno.ETIMEDOUT))
                else:
                    self.fail(f"{fault} on every request, yet the read returned {len(content)} bytes")
                finally:
                    self.heasarc.clear_knobs()
                with open(path, "rb") as f:
                    self.assertEqual(hashlib.sha256(f.read()).hexdigest(), sha, "nothing bad was cached")


if __name__ == "__main__":
    unittest.main(verbosity=2)
