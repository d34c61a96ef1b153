"""The corners of the mounted tree a user runs into: coordinates with a negative Dec, listings
larger than one readdir buffer, `find`/`du -b`/`ls` agreeing with lookups, access(2) and
every write-like call, statfs, .results.csv inside filter directories, concurrent listings of
a new target (one cone search), and the daemon (no -f) started with relative paths."""

import csv
import errno
import io
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import HEASARCFS, LocalHeasarc, MountedTestCase, is_mounted, read_manifest  # noqa: E402

OBSID = "60001111003"
PREFIX = f"FTP/nustar/data/obs/00/6/{OBSID}/"


class MountEdges(MountedTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        prefix_len = len(PREFIX)
        cls.expected = {p[prefix_len:]: v for p, v in read_manifest().items() if p.startswith(PREFIX)}

    def row(self, *parts):
        return self.mount.p("numaster", "NGC4151", "exposure_a>=50000", OBSID, *parts)

    # -- targets --------------------------------------------------------------------------------
    def test_positions_with_negative_dec_and_signs(self):
        # Cen A lies at Dec -43: one numaster row.
        self.assertIn("60001081002", os.listdir(self.mount.p("numaster", "201.3651,-43.0191")))
        self.assertIn("60001081002", os.listdir(self.mount.p("numaster", "201.3651, -43.0191@2'")))
        self.assertEqual(sorted(os.listdir(self.mount.p("numaster", "182.6357,+39.4058"))),
                         sorted(os.listdir(self.mount.p("numaster", "NGC 4151"))))
        for bad in ["201.3651,-93", "400,10", "1,2,3", "NGC4151@wide"]:
            with self.subTest(target=bad), self.assertRaises(FileNotFoundError):
                os.stat(self.mount.p("numaster", bad))

    # -- listings -------------------------------------------------------------------------------
    def test_listing_larger_than_one_readdir_buffer_lists_each_name_once(self):
        # Positions need no resolver: 600 targets make the table directory span many
        # readdir buffers (one is a page: ~100 names of this length).
        names = [f"{10 + i * 0.01:.2f},{-20 - i * 0.01:.2f}@1arcsec" for i in range(600)]
        for name in names:
            self.assertTrue(os.path.isdir(self.mount.p("chanmaster", name)))
        listed = os.listdir(self.mount.p("chanmaster"))
        self.assertEqual(len(listed), len(set(listed)), "a name listed twice")
        self.assertEqual(set(names) - set(listed), set())
        by_ls = subprocess.run(["ls", "-1a", self.mount.p("chanmaster")], capture_output=True, text=True,
                               check=True, timeout=120).stdout.splitlines()
        self.assertEqual(sorted(by_ls), sorted(listed + [".", ".."]))
        # Reading the directory in small getdents chunks pages through the same entries.
        fd = os.open(self.mount.p("chanmaster"), os.O_RDONLY | os.O_DIRECTORY)
        try:
            with os.scandir(fd) as entries:
                scanned = [entry.name for entry in entries]
        finally:
            os.close(fd)
        self.assertEqual(sorted(scanned), sorted(listed))

    def test_every_listed_name_stats_like_its_lookup(self):
        # readdir's inode and type of each name are what lookup + getattr give for it.
        pending = [self.mount.path, self.mount.p("numaster", "NGC4151", "exposure_a>=50000")]
        checked = 0
        while pending:
            directory = pending.pop()
            with os.scandir(directory) as entries:
                listed = list(entries)
            names = [entry.name for entry in listed]
            self.assertEqual(len(names), len(set(names)), directory)
            for entry in listed:
                st = os.lstat(entry.path)
                self.assertEqual(entry.inode(), st.st_ino, entry.path)
                self.assertEqual(entry.is_dir(follow_symlinks=False), stat.S_ISDIR(st.st_mode), entry.path)
                checked += 1
                if entry.is_dir(follow_symlinks=False) and directory != self.mount.path:
                    pending.append(entry.path)
        self.assertGreater(checked, 50)

    def test_find_and_du_over_a_row(self):
        found = subprocess.run(["find", self.row(), "-type", "f"], capture_output=True, text=True, check=True,
                               timeout=120).stdout.splitlines()
        self.assertEqual(sorted(os.path.relpath(p, self.row()) for p in found), sorted(self.expected))
        dirs = subprocess.run(["find", self.row(), "-mindepth", "1", "-type", "d"], capture_output=True, text=True,
                              check=True, timeout=120).stdout.splitlines()
        self.assertEqual(sorted(os.path.relpath(p, self.row()) for p in dirs),
                         sorted({p.split("/")[0] for p in self.expected if "/" in p}))
        du = subprocess.run(["du", "-sb", self.row()], capture_output=True, text=True, check=True, timeout=120)
        self.assertEqual(int(du.stdout.split()[0]), sum(size for size, _ in self.expected.values()))

    def test_string_filters_with_spaces_and_operators(self):
        target = ("chanmaster", "NGC 4151")
        every = sorted(n for n in os.listdir(self.mount.p(*target)) if not n.startswith(".results."))
        self.assertEqual(every, ["29001", "3052", "3480", "7829", "7830"])

        def rows(*filters):
            return sorted(n for n in os.listdir(self.mount.p(*target, *filters)) if not n.startswith(".results."))
        self.assertEqual(rows("name=NGC 4151"), every)
        self.assertEqual(rows("name!=NGC 4151"), [])
        self.assertEqual(rows("pi<l"), ["3052", "3480"])                   # kraemer
        self.assertEqual(rows("pi>=miller"), ["29001", "7829", "7830"])    # miller, wang
        self.assertEqual(rows("PI>=miller", "grating=NONE"), ["7829", "7830"])
        self.assertEqual(rows("grating=NONE", "grating=NONE"), ["7829", "7830"])  # repeated: the same
        self.assertEqual(rows("obsid>5"), ["7829", "7830"])                # text order: "3052" < "5"
        self.mount.allow(r" warn filter: chanmaster: filter 'exposure>lots': column 'exposure' is "
                         r"numeric \(double\) and 'lots' is not a number$", once=True)
        with self.assertRaises(FileNotFoundError):
            os.listdir(self.mount.p(*target, "exposure>lots"))

    def test_results_csv_in_filter_directories(self):
        for parts in [("NGC4151",), ("NGC4151", "exposure_a>=50000"), ("NGC4151", "exposure_a>=50000", "status=archived"),
                      ("NGC4151", "name=NGC_4151", "exposure_a<1")]:
            with self.subTest(path="/".join(parts)):
                path = self.mount.p("numaster", *parts, ".results.csv")
                self.assertIn(".results.csv", os.listdir(self.mount.p("numaster", *parts)))
                with open(path, "rb") as f:
                    content = f.read()
                self.assertEqual(os.stat(path).st_size, len(content))
                rows = list(csv.DictReader(io.StringIO(content.decode())))
                listed = sorted(n for n in os.listdir(self.mount.p("numaster", *parts)) if not n.startswith(".results."))
                self.assertEqual(sorted(r["obsid"] for r in rows), listed)

    def test_concurrent_listings_of_a_new_target_send_one_cone_search(self):
        self.heasarc.set_knobs(latency_ms=300)
        self.heasarc.clear_log()
        try:
            results, errors = [], []

            def ls():
                try:
                    results.append(sorted(os.listdir(self.mount.p("numaster", "Cyg X-1"))))
                except OSError as error:
                    errors.append(error)

            threads = [threading.Thread(target=ls) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        finally:
            self.heasarc.clear_knobs()
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 4)
        self.assertTrue(all(r == results[0] for r in results))
        self.assertEqual(len(self.heasarc.requests_for("/xamin/vo/cone")), 1)
        self.assertEqual(len(self.heasarc.requests_for("sesame")), 1)

    # -- permissions and writes -----------------------------------------------------------------
    def test_access_follows_the_modes(self):
        log = self.row("pipe.log")
        self.assertTrue(os.access(log, os.R_OK))
        self.assertFalse(os.access(log, os.X_OK), "a 0444 file is not executable")
        self.assertFalse(os.access(log, os.W_OK))
        self.assertTrue(os.access(self.row(), os.R_OK | os.X_OK))
        self.assertFalse(os.access(self.row(), os.W_OK))
        executables = subprocess.run(["find", self.row(), "-type", "f", "-executable"], capture_output=True,
                                     text=True, check=True, timeout=120).stdout
        self.assertEqual(executables, "")

    def test_every_write_is_erofs(self):
        log = self.row("pipe.log")
        new = self.row("new")
        actions = {
            "chmod": lambda: os.chmod(log, 0o644),
            "chown": lambda: os.chown(log, 0, 0),
            "truncate": lambda: os.truncate(log, 0),
            "utime": lambda: os.utime(log, (0, 0)),
            "setxattr": lambda: os.setxattr(log, "user.x", b"1"),
            "removexattr": lambda: os.removexattr(log, "user.x"),
            "symlink": lambda: os.symlink("pipe.log", new),
            "link": lambda: os.link(log, new),
            "mknod": lambda: os.mknod(new),
            "mkfifo": lambda: os.mkfifo(new),
            "mkdir": lambda: os.mkdir(new),
            "rmdir": lambda: os.rmdir(self.row("hk")),
            "unlink": lambda: os.unlink(log),
            "rename": lambda: os.rename(log, new),
            "create": lambda: os.open(new, os.O_WRONLY | os.O_CREAT, 0o644),
            "O_WRONLY": lambda: os.open(log, os.O_WRONLY),
            "O_RDWR": lambda: os.open(log, os.O_RDWR),
            "O_TRUNC": lambda: os.open(log, os.O_RDONLY | os.O_TRUNC),
            "csv O_RDWR": lambda: os.open(self.mount.p("numaster", "NGC4151", ".results.csv"), os.O_RDWR),
            "mkdir at the root": lambda: os.mkdir(self.mount.p("newtable")),
        }
        for name, action in actions.items():
            with self.subTest(call=name):
                with self.assertRaises(OSError) as caught:
                    action()
                self.assertEqual(caught.exception.errno, errno.EROFS, name)
        self.assertEqual(os.stat(log).st_size, self.expected["pipe.log"][0])
        with self.assertRaises(NotADirectoryError):
            os.open(log, os.O_RDONLY | os.O_DIRECTORY)
        with self.assertRaises(IsADirectoryError):
            open(self.row("hk"), "rb").read()

    def test_unknown_names_are_enoent_at_every_level(self):
        self.mount.allow(r" warn filter: numaster: filter 'nosuchcolumn=1': no column 'nosuchcolumn'; "
                         r"the columns are: ", once=True)
        for parts in [("no_such_table",), ("numaster", ".hidden"), ("numaster", "NGC4151", "no_such_row"),
                      ("numaster", "NGC4151", "exposure_a>=50000", "60001111002"),
                      ("numaster", "NGC4151", "nosuchcolumn=1"), (OBSID + "x",),
                      ("numaster", "NGC4151", "exposure_a>=50000", OBSID, "no_such_file"),
                      ("numaster", "NGC4151", "exposure_a>=50000", OBSID, "hk", "no_such_file")]:
            with self.subTest(path="/".join(parts)), self.assertRaises(FileNotFoundError):
                os.stat(self.mount.p(*parts))
        with self.assertRaises(NotADirectoryError):
            os.stat(self.row("pipe.log", "x"))

    def test_statfs(self):
        st = os.statvfs(self.mount.path)
        self.assertEqual(st.f_namemax, 255)
        self.assertEqual(st.f_bsize, 4096)
        self.assertTrue(st.f_flag & os.ST_RDONLY)
        df = subprocess.run(["df", self.mount.path], capture_output=True, text=True, timeout=60)
        self.assertEqual(df.returncode, 0, df.stderr)


class DaemonWithRelativePaths(unittest.TestCase):
    """heasarcfs without -f daemonizes into "/": relative paths given on the command line must
    still name the mount point and cache directory the user meant."""

    def setUp(self):
        self.heasarc = LocalHeasarc().start()
        self.addCleanup(self.heasarc.stop)
        self.work = tempfile.mkdtemp(prefix="heasarcfs-daemon-")
        self.addCleanup(shutil.rmtree, self.work, True)
        os.mkdir(os.path.join(self.work, "mnt"))
        self.mountpoint = os.path.join(self.work, "mnt")
        self.addCleanup(self.force_unmount)

    def force_unmount(self):
        if is_mounted(self.mountpoint):
            subprocess.run(["fusermount3", "-u", "-z", self.mountpoint], capture_output=True, timeout=30)

    def daemon_pid(self):
        """The one heasarcfs process this test started (its -o names this test's own server)."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and argv[0] == os.fsencode(HEASARCFS) and os.fsencode(self.options) in argv:
                return int(entry)
        return None

    def test_relative_mountpoint_and_cache_dir(self):
        self.options = f"registry={self.heasarc.registry},resolver={self.heasarc.resolver},cache_dir=cache"
        started = subprocess.run([HEASARCFS, "mnt", "-o", self.options], cwd=self.work, capture_output=True, text=True,
                                 timeout=60)
        self.assertEqual(started.returncode, 0, started.stderr)
        deadline = time.monotonic() + 30
        while not is_mounted(self.mountpoint) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(is_mounted(self.mountpoint))
        pid = None
        while pid is None and time.monotonic() < deadline:
            pid = self.daemon_pid()
            time.sleep(0.05)
        self.assertIsNotNone(pid, "the daemon is running")
        self.assertEqual(os.readlink(f"/proc/{pid}/cwd"), "/")

        log = os.path.join(self.mountpoint, "numaster", "NGC4151", OBSID, "pipe.log")
        with open(log, "rb") as f:
            self.assertEqual(len(f.read()), read_manifest()[PREFIX + "pipe.log"][0])
        # The bytes read went to the cache under the relative cache_dir (one .data file per
        # object version, cache/object_store.h), not somewhere relative to the daemon's cwd.
        objects = os.path.join(self.work, "cache", "objects")
        deadline = time.monotonic() + 10
        stored = []
        while not stored and time.monotonic() < deadline:
            stored = [name for _, _, files in os.walk(objects) for name in files if name.endswith(".data")]
            time.sleep(0.1)
        self.assertTrue(stored, f"the block read went to {objects}")

        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split(") ")[1].startswith("Z"):
                        break
            except OSError:
                break
            time.sleep(0.05)
        self.assertFalse(is_mounted(self.mountpoint), "SIGTERM left the mount behind")


if __name__ == "__main__":
    unittest.main(verbosity=2)
