"""-o archive=: where the archive's listings and bytes come from, through a real mount over a
local HEASARC. The VO queries (registry, Sesame, cone search, DataLink) go to the services in
every mode; the request log shows what the archive side asked.

- archive=DIR (SciServer's /FTP): the generated archive's FTP/ directory stands in for /FTP.
  `cp -r` of an observation equals the directory and the manifest, with NO archive request at
  all (listings included) and nothing written to the block cache. A local tree that lacks an
  observation gets it over HTTP, with one log line.
- archive=s3:ENDPOINT: the local HEASARC's S3 endpoint (path-style, bucket nasa-heasarc). The
  walk (ls -lR) gives the same tree and sizes as the default mode, one ListObjectsV2 request per
  directory (continuation tokens followed when pages are small), the bytes equal the manifest,
  and there is not one HEAD request.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import DATA_DIR, HEASARCFS, LocalHeasarc, Mount, files_under, read_manifest, sha256_of  # noqa: E402

OBS_DIR = "nustar/data/obs/00/6"
OBSIDS = ("60001111003", "60001111005")     # numaster rows of NGC 4151 with exposure_a >= 50000
ROW = ("numaster", "NGC4151", "exposure_a>=50000")


def expected_files(obsid):
    prefix = f"FTP/{OBS_DIR}/{obsid}/"
    return {p[len(prefix):]: v for p, v in read_manifest().items() if p.startswith(prefix)}


def tree(top):
    """{relative path: size} of files and {relative path: None} of directories below top."""
    found = {}
    for root, dirs, files in os.walk(top):
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), top)] = None
        for name in files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, top)] = os.stat(path).st_size
    return found


def regular_bytes(top):
    return sum(os.stat(p).st_size for p in files_under(top).values())


class Base(unittest.TestCase):
    def setUp(self):
        self.heasarc = LocalHeasarc().start()
        self.addCleanup(self.heasarc.stop)
        self.work = tempfile.mkdtemp(prefix="heasarcfs-sources-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def mount(self, *options, allow=()):
        mount = Mount(self.heasarc.registry, self.heasarc.resolver, options=list(options), timeout=60,
                      allow=allow)
        mount.start()
        self.addCleanup(mount.__exit__, None, None, None)
        return mount

    def copy_and_check(self, mount, obsid):
        """cp -r of the row equals the manifest, byte for byte."""
        destination = os.path.join(self.work, f"cp-{obsid}-{len(os.listdir(self.work))}")
        subprocess.run(["cp", "-r", mount.p(*ROW, obsid), destination], check=True, timeout=300)
        copied = files_under(destination)
        expected = expected_files(obsid)
        self.assertTrue(expected)
        self.assertEqual(sorted(copied), sorted(expected))
        for relative, path in copied.items():
            with self.subTest(file=relative):
                self.assertEqual(os.stat(path).st_size, expected[relative][0])
                self.assertEqual(sha256_of(path), expected[relative][1])
        return destination

    def archive_requests(self):
        return [e for e in self.heasarc.log() if e["path"].startswith("/FTP")]


class LocalDirectory(Base):
    def test_cp_r_reads_the_local_tree_with_no_archive_request(self):
        local_root = os.path.join(DATA_DIR, "FTP")
        mount = self.mount(f"archive={local_root}")
        self.heasarc.clear_log()
        listing = subprocess.run(["ls", "-lR", mount.p(*ROW)], capture_output=True, text=True, check=True,
                                 timeout=120).stdout
        self.assertIn(OBSIDS[0], listing)
        cache_bytes = regular_bytes(mount.cache_dir)
        for obsid in OBSIDS:
            destination = self.copy_and_check(mount, obsid)
            # The copy equals the local directory itself, and the mount shows its mtimes.
            local = os.path.join(local_root, OBS_DIR, obsid)
            self.assertEqual(sorted(files_under(destination)), sorted(files_under(local)))
            for relative in files_under(local):
                self.assertEqual(os.stat(mount.p(*ROW, obsid, relative)).st_mtime // 1,
                                 os.stat(os.path.join(local, relative)).st_mtime // 1)
        self.assertEqual(self.archive_requests(), [])
        services = {e["service"] for e in self.heasarc.log()}
        self.assertIn("datalink", services)   # the VO queries still went to the services
        self.assertNotIn("archive", services)
        # Not a byte of the archive went into the block cache.
        self.assertEqual(regular_bytes(mount.cache_dir), cache_bytes)

    def test_an_observation_missing_locally_comes_over_http_with_one_log_line(self):
        local_root = os.path.join(self.work, "FTP")
        # A mirror of the archive (files as symbolic links) that lacks one observation.
        subprocess.run(["cp", "-rs", os.path.join(DATA_DIR, "FTP"), local_root], check=True, timeout=120)
        shutil.rmtree(os.path.join(local_root, OBS_DIR, OBSIDS[1]))
        mount = self.mount(f"archive={local_root}")
        self.heasarc.clear_log()
        self.copy_and_check(mount, OBSIDS[0])
        self.assertEqual(self.archive_requests(), [])
        self.copy_and_check(mount, OBSIDS[1])
        asked = self.archive_requests()
        self.assertTrue(asked)
        for entry in asked:
            self.assertIn(f"/{OBSIDS[1]}/", entry["path"])
        lines = [line for line in mount.log().splitlines() if "not in the local archive" in line]
        self.assertEqual(len(lines), 1, "\n".join(lines))
        self.assertIn(f"{OBS_DIR}/{OBSIDS[1]}", lines[0])
        self.assertIn(" info archive: ", lines[0])

    def test_a_missing_directory_stops_the_mount_with_one_line(self):
        missing = os.path.join(self.work, "no-such-FTP")
        os.mkdir(os.path.join(self.work, "mnt"))
        result = subprocess.run(
            [str(HEASARCFS), os.path.join(self.work, "mnt"), "-f", "-o",
             f"registry={self.heasarc.registry},archive={missing},cache_dir={self.work}/cache"],
            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"archive={missing}", result.stderr)


class S3Endpoint(Base):
    def walk(self, mount):
        """ls -lR of the query directory, then {row: its tree} of every row it lists."""
        subprocess.run(["ls", "-lR", mount.p(*ROW)], capture_output=True, check=True, timeout=120)
        rows = [r for r in os.listdir(mount.p(*ROW)) if os.path.isdir(mount.p(*ROW, r))]
        self.assertTrue(set(OBSIDS) <= set(rows), rows)
        return {row: tree(mount.p(*ROW, row)) for row in rows}

    def test_walk_and_bytes_equal_the_default_mode_with_no_head(self):
        default = self.mount()
        by_http = self.walk(default)
        s3 = self.mount(f"archive=s3:{self.heasarc.base}")
        self.heasarc.clear_log()
        by_s3 = self.walk(s3)
        self.assertEqual(by_s3, by_http)
        for obsid in OBSIDS:
            self.assertEqual({p: s for p, s in by_s3[obsid].items() if s is not None},
                             {p: v[0] for p, v in expected_files(obsid).items()})
        log = self.heasarc.log()
        self.assertEqual([e for e in log if e["method"] == "HEAD"], [])
        self.assertEqual(self.archive_requests(), [])
        lists = [e for e in log if e["service"] == "s3" and "list-type=2" in e["path"]]
        # (a proprietary row has no directory: nothing to list)
        directories = sum(1 + sum(1 for s in t.values() if s is None) for t in by_s3.values() if t)
        self.assertEqual(len(lists), directories)   # one ListObjectsV2 request per directory
        for obsid in OBSIDS:
            self.copy_and_check(s3, obsid)
        log = self.heasarc.log()
        self.assertEqual([e for e in log if e["method"] == "HEAD"], [])
        reads = [e for e in log if e["service"] == "s3" and "list-type" not in e["path"]]
        self.assertTrue(reads)
        for entry in reads:
            self.assertEqual(entry["method"], "GET")
            self.assertRegex(entry["range"] or "", r"^bytes=\d+-\d+$")   # single closed ranges

    def test_small_pages_are_followed_by_their_continuation_tokens(self):
        self.heasarc.set_knobs(s3_page_keys=2)
        s3 = self.mount(f"archive=s3:{self.heasarc.base}")
        self.heasarc.clear_log()
        walked = tree(s3.p(*ROW, OBSIDS[0]))
        self.assertEqual({p: s for p, s in walked.items() if s is not None},
                         {p: v[0] for p, v in expected_files(OBSIDS[0]).items()})
        tokens = [e for e in self.heasarc.log() if "continuation-token=" in e["path"]]
        self.assertTrue(tokens)
        self.assertEqual([e for e in self.heasarc.log() if e["method"] == "HEAD"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
