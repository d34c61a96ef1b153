"""The mount-less commands equal the mount: `heasarcfs ls -alR` lists what os.walk of the mount
sees (names, types, sizes, mtimes), `heasarcfs cp -r` copies what `cp -r` from the mount
copies, `heasarcfs cat` prints the same bytes (archive files and .results.csv), all with FUSE
hidden from the commands (/dev/fuse is /dev/null in their mount namespace, where a mount
fails); and a second copy over the same cache_dir sends no archive data request."""

import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import mount_routes as routes  # noqa: E402
from heasarc_kit import HEASARCFS, LocalHeasarc, Mount    # noqa: E402

TARGET = "numaster/NGC4151/exposure_a>=50000"
ROW = TARGET + "/60001111003"
ROW_PREFIX = "FTP/nustar/data/obs/00/6/60001111003/"
# The commands run where FUSE is not: /dev/fuse is /dev/null in their own mount namespace.
WITHOUT_FUSE = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'mount --bind /dev/null /dev/fuse && exec "$@"', "without-fuse"]


def anchored(mtime, path):
    """(mtime, path) for archive entries; query results (rows, .results.csv, the entries
    right below the target) carry the time their filesystem started, a mount's or a
    command's, so only their path is compared."""
    return (mtime if "/" in path else None, path)


class CliVsMount(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("run as root: the commands run in a mount namespace without /dev/fuse")
        cls.heasarc = LocalHeasarc().start()
        cls.mount = Mount(cls.heasarc.registry, cls.heasarc.resolver).start()
        cls.work = tempfile.mkdtemp(prefix="heasarcfs-cli-")
        cls.cli_cache = os.path.join(cls.work, "cli-cache")

    @classmethod
    def tearDownClass(cls):
        cls.mount.__exit__(None, None, None)
        cls.heasarc.stop()
        routes.remove_tree(cls.work)

    def cli(self, *args, check=True):
        options = (f"registry={self.heasarc.registry},resolver={self.heasarc.resolver},"
                   f"cache_dir={self.cli_cache}")
        command = WITHOUT_FUSE + [str(HEASARCFS), args[0], "-o", options] + list(args[1:])
        result = subprocess.run(command, capture_output=True, timeout=600)
        if check:
            self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
            self.assertEqual(result.stderr, b"", "nothing on stderr")
        return result

    def test_there_is_no_fuse_where_the_commands_run(self):
        mnt = tempfile.mkdtemp(dir=self.work)
        result = subprocess.run(WITHOUT_FUSE + [str(HEASARCFS), mnt, "-f", "-o", f"cache_dir={self.work}/c"],
                                capture_output=True, text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertIsNone(routes.mount_entry(mnt))

    def test_ls_alR_equals_a_walk_of_the_mount(self):
        top = self.mount.p(*TARGET.split("/"))
        walked = set()
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                path = os.path.join(root, name)
                st = os.stat(path)
                kind = "d" if name in dirs else "-"
                size = 0 if kind == "d" else st.st_size
                mtime = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime))
                walked.add((kind, size, anchored(mtime, os.path.relpath(path, top))))
        listed = set()
        for line in self.cli("ls", "-alR", TARGET).stdout.decode().splitlines():
            kind, size, mtime, path = line.split(None, 3)
            listed.add((kind, int(size), anchored(mtime, path)))
        self.assertGreater(len(walked), 40)
        pipe_log = os.path.join(top, "60001111003", "pipe.log")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(pipe_log)))
        self.assertIn(("-", 51600, (stamp, "60001111003/pipe.log")), listed)
        self.assertEqual(listed, walked)
        # Without -a, ls hides dot names as ls does.
        plain = self.cli("ls", TARGET).stdout.decode().split()
        self.assertEqual(plain, sorted(name for name in os.listdir(top) if not name.startswith(".")))

    def test_cp_r_equals_cp_r_from_the_mount(self):
        from_mount = os.path.join(self.work, "from-mount")
        subprocess.run(["cp", "-r", self.mount.p(*ROW.split("/")), from_mount], check=True, timeout=600)
        os.mkdir(os.path.join(self.work, "from-cli"))
        self.cli("cp", "-r", ROW, os.path.join(self.work, "from-cli"))
        from_cli = os.path.join(self.work, "from-cli", "60001111003")
        self.assertEqual(routes.tree_of(from_cli), routes.tree_of(from_mount))
        self.assertEqual(routes.tree_of(from_cli), routes.manifest_under(ROW_PREFIX))
        # The same command again over the same cache_dir: listings come from the stored
        # answers (cache_dir/meta, fresh), file bytes from the block cache.
        self.heasarc.reset()
        again = os.path.join(self.work, "again")
        self.cli("cp", "-r", ROW, again)
        self.assertEqual(routes.tree_of(again), routes.tree_of(from_mount))
        data_gets = [r for r in self.heasarc.log()
                     if r["method"] == "GET" and r["path"].startswith("/FTP/") and not r["path"].endswith("/")]
        self.assertEqual(data_gets, [], "a warm copy reads the cache")
        listings = [r for r in self.heasarc.log() if r["path"].startswith("/FTP/") and r["path"].endswith("/")]
        self.assertEqual(listings, [], "a warm copy reads the stored listings")

    def test_cat_prints_the_mounted_bytes(self):
        for path in (ROW + "/pipe.log", ROW + "/event_cl/nu60001111003A01_cl.evt.gz", TARGET + "/.results.csv"):
            with open(self.mount.p(*path.split("/")), "rb") as f:
                mounted = f.read()
            self.assertGreater(len(mounted), 0)
            self.assertEqual(self.cli("cat", path).stdout, mounted, path)

    def test_a_missing_path_is_one_line_and_status_1(self):
        result = self.cli("ls", TARGET + "/60009999999", ROW, check=False)
        self.assertEqual(result.returncode, 1)
        lines = result.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith(f"heasarcfs ls: {TARGET}/60009999999: No such file or directory"), lines)
        self.assertIn("pipe.log", result.stdout.decode())
        bad = subprocess.run([str(HEASARCFS), "cp", ROW], capture_output=True, text=True, timeout=60)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("DEST", bad.stderr)

    def test_the_mounts_cache_dir_is_refused_while_mounted(self):
        # One process per cache directory: the command says who holds it, and reads nothing.
        result = subprocess.run([str(HEASARCFS), "ls", "-o", f"registry={self.heasarc.registry},"
                                 f"resolver={self.heasarc.resolver},cache_dir={self.mount.cache_dir}", TARGET],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn("is in use by another heasarcfs", result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
