"""heasarcfs mounted the ways network filesystems are: `mount -t fuse.heasarcfs` and fstab lines
(through `mount -T FILE`, never the machine's /etc/fstab) via the real mount.fuse3 with the
arguments it passes; rw refused in one line; -f, -d, -s, log_level=; daemon mode; unmount
with fusermount3 -u (refused while busy), -u -z during reads, and signals, after which the
daemon exits 0 with no error in its log.

Runs as root inside a private mount namespace (re-executed under `unshare -m`), where the
build's heasarcfs is put first on the PATH mount.fuse3 searches (see mount_routes.py)."""

import hashlib
import filecmp
import os
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import mount_routes as routes  # noqa: E402
from heasarc_kit import DATA_DIR, HEASARCFS, LocalHeasarc    # noqa: E402
from heasarc_kit.mount import unexpected_lines  # noqa: E402

ROW = ("numaster", "NGC4151", "exposure_a>=50000", "60001111003")
ROW_PREFIX = "FTP/nustar/data/obs/00/6/60001111003/"
BIG = "FTP/nustar/data/obs/00/6/60001111005/event_cl/nu60001111005A01_cl.evt"
BIG_PATH = ("numaster", "NGC4151", "60001111005", "event_cl", "nu60001111005A01_cl.evt")


def run(command, timeout=120, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)


class Daemon:
    """heasarcfs in the foreground (-f or -d) as this process's child: its exit status and
    its log are the test's to check."""

    def __init__(self, test, mountpoint, options, flags=("-f",), source=None):
        self.mountpoint = mountpoint
        self.log_path = mountpoint + ".log"
        command = [str(HEASARCFS)] + ([source] if source else []) + [mountpoint] + list(flags) + ["-o", ",".join(options)]
        self.log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdout=self.log_file, stderr=self.log_file)
        test.addCleanup(self.cleanup)
        routes.wait_until(lambda: routes.mount_entry(mountpoint), 30, f"mount on {mountpoint}",
                          self.process, self.log)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait(self, timeout=60):
        return self.process.wait(timeout=timeout)

    def cleanup(self):
        routes.unmount_quietly(self.mountpoint)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.log_file.close()


class MountConventions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not routes.in_private_namespace():
            raise AssertionError("run as root: the test re-executes itself in a private mount namespace")
        cls.work = routes.scratch_dir("heasarcfs-conventions-")
        routes.put_on_default_path(str(HEASARCFS), cls.work)
        cls.heasarc = LocalHeasarc().start()
        cls.expected_row = routes.manifest_under(ROW_PREFIX)

    @classmethod
    def tearDownClass(cls):
        cls.heasarc.stop()
        routes.remove_tree(cls.work)

    def setUp(self):
        self.heasarc.reset()
        self.dir = routes.scratch_dir(os.path.join(self.work, self._testMethodName + "-"))
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)

    def service_options(self, cache="cache"):
        return [f"registry={self.heasarc.registry}", f"resolver={self.heasarc.resolver}",
                f"cache_dir={os.path.join(self.dir, cache)}"]

    def assert_serves_the_row(self, mnt):
        row = os.path.join(mnt, *ROW)
        self.assertIn("60001111003", os.listdir(os.path.dirname(row)))
        copy = os.path.join(tempfile.mkdtemp(dir=self.dir, prefix="copy-"), "row")
        run(["cp", "-r", row, copy], check=True, timeout=300)
        self.assertEqual(routes.tree_of(copy), self.expected_row)

    def assert_clean_log(self, log):
        # No warn/error line, and no line outside the log format (libfuse, a sanitizer).
        self.assertEqual(unexpected_lines(log, []), [], "unexpected lines in the daemon's log")

    def wait_gone(self, pids, what):
        routes.wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in pids), 60, what)

    # -- mount(8) and fstab ------------------------------------------------------------------

    def test_mount_t_without_ro_is_refused_in_one_line(self):
        # mount(8) passes "rw" when neither ro nor rw is given.
        result = run(["mount", "-t", "fuse.heasarcfs", "heasarcfs", self.mnt, "-o", ",".join(self.service_options())])
        self.assertNotEqual(result.returncode, 0)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn("'rw'", lines[0])
        self.assertIn("-o ro", lines[0])
        self.assertIsNone(routes.mount_entry(self.mnt))

    def test_mount_t_through_mount_fuse3(self):
        options = ["ro", "allow_other", "_netdev", "nofail"] + self.service_options()
        result = run(["mount", "-t", "fuse.heasarcfs", "heasarcfs", self.mnt, "-o", ",".join(options)])
        self.assertEqual(result.returncode, 0, result.stderr)
        entry = routes.mount_entry(self.mnt)
        self.assertIsNotNone(entry)
        self.assertEqual(entry[0], "heasarcfs")
        self.assertEqual(entry[2], "fuse.heasarcfs")
        flags = entry[3].split(",")
        for flag in ("ro", "nosuid", "nodev", "allow_other"):
            self.assertIn(flag, flags)
        daemons = routes.processes_with(self.mnt)
        self.assertEqual(len(daemons), 1, "one daemon for the mount")
        # mount.fuse3 ran the build's binary with the source before the mount point.
        # mount.fuse3 ran the build's heasarcfs, copied onto the default PATH (mount_routes).
        self.assertEqual(routes.exe_of(daemons[0]), "/usr/local/sbin/heasarcfs")
        self.assertTrue(filecmp.cmp("/usr/local/sbin/heasarcfs", os.path.realpath(HEASARCFS), shallow=False))
        with open(f"/proc/{daemons[0]}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        self.assertEqual(argv[1:3], [b"heasarcfs", self.mnt.encode()])
        self.assert_serves_the_row(self.mnt)
        result = run(["fusermount3", "-u", self.mnt])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIsNone(routes.mount_entry(self.mnt))
        self.wait_gone(daemons, "the daemon exits after fusermount3 -u")

    def test_fstab_lines_through_mount_T(self):
        mnt_b = os.path.join(self.dir, "mnt-b")
        mnt_c = os.path.join(self.dir, "mnt-c")
        os.mkdir(mnt_b)
        os.mkdir(mnt_c)
        fstab = os.path.join(self.dir, "fstab")
        with open(fstab, "w") as f:
            f.write("# a test fstab (mount -T), not the machine's\n")
            f.write(f"heasarc-a {self.mnt} fuse.heasarcfs ro,_netdev,allow_other,nofail,x-systemd.automount,"
                    f"{','.join(self.service_options('cache-a'))} 0 0\n")
            f.write(f"heasarc-b {mnt_b} fuse.heasarcfs ro,noauto,user,"
                    f"{','.join(self.service_options('cache-b'))} 0 0\n")
            f.write(f"heasarc-c {mnt_c} fuse.heasarcfs defaults,noauto,{','.join(self.service_options('cache-c'))} 0 0\n")
        # mount -a: every line but the noauto ones.
        result = run(["mount", "-T", fstab, "-a"])
        self.assertEqual(result.returncode, 0, result.stderr)
        entry = routes.mount_entry(self.mnt)
        self.assertIsNotNone(entry, "mount -a mounted the first line")
        self.assertEqual(entry[:3], ["heasarc-a", self.mnt, "fuse.heasarcfs"])
        self.assertIn("allow_other", entry[3].split(","))
        self.assertIsNone(routes.mount_entry(mnt_b), "noauto is left to an explicit mount")
        self.assert_serves_the_row(self.mnt)
        # mount -T FILE MOUNTPOINT: the line of that mount point; "user" means noexec,nosuid,nodev.
        result = run(["mount", "-T", fstab, mnt_b])
        self.assertEqual(result.returncode, 0, result.stderr)
        entry = routes.mount_entry(mnt_b)
        self.assertEqual(entry[:3], ["heasarc-b", mnt_b, "fuse.heasarcfs"])
        for flag in ("ro", "noexec", "nosuid", "nodev"):
            self.assertIn(flag, entry[3].split(","))
        self.assert_serves_the_row(mnt_b)
        # "defaults" is rw: refused, naming the fix.
        result = run(["mount", "-T", fstab, mnt_c])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("-o ro", result.stderr)
        self.assertIsNone(routes.mount_entry(mnt_c))
        daemons = routes.processes_with(self.mnt) + routes.processes_with(mnt_b)
        self.assertEqual(len(daemons), 2)
        for mnt in (self.mnt, mnt_b):
            result = run(["fusermount3", "-u", mnt])
            self.assertEqual(result.returncode, 0, result.stderr)
        self.wait_gone(daemons, "both daemons exit after fusermount3 -u")

    # -- the daemon's own flags --------------------------------------------------------------

    def test_daemon_mode_returns_once_mounted(self):
        result = run([str(HEASARCFS), self.mnt, "-o", ",".join(self.service_options())])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIsNotNone(routes.mount_entry(self.mnt), "mounted when the command returns")
        daemons = routes.processes_with(self.mnt)
        self.assertEqual(len(daemons), 1)
        self.assertNotEqual(daemons[0], os.getpid())
        self.assert_serves_the_row(self.mnt)
        self.assertEqual(run(["fusermount3", "-u", self.mnt]).returncode, 0)
        self.wait_gone(daemons, "the daemon exits after fusermount3 -u")

    def test_log_levels_and_debug(self):
        quiet = Daemon(self, self.mnt, self.service_options() + ["log_level=warn"])
        self.assert_serves_the_row(self.mnt)
        self.assertEqual(run(["fusermount3", "-u", self.mnt]).returncode, 0)
        self.assertEqual(quiet.wait(), 0)
        self.assertNotIn(" info ", quiet.log())
        self.assertNotIn(" debug ", quiet.log())
        self.assert_clean_log(quiet.log())

        chatty = Daemon(self, self.mnt, self.service_options() + ["log_level=info"])
        os.listdir(self.mnt)
        self.assertEqual(run(["fusermount3", "-u", self.mnt]).returncode, 0)
        self.assertEqual(chatty.wait(), 0)
        self.assertIn(f"heasarcfs info main: mounted heasarcfs on {self.mnt}", chatty.log())
        self.assertIn("heasarcfs info main: unmounted, exiting", chatty.log())
        self.assertNotIn(" debug ", chatty.log())

        debug = Daemon(self, self.mnt, self.service_options(), flags=("-d",))
        self.assert_serves_the_row(self.mnt)
        self.assertEqual(run(["fusermount3", "-u", self.mnt]).returncode, 0)
        self.assertEqual(debug.wait(), 0)
        self.assertIn(" debug ", debug.log())
        self.assertIn("opcode: LOOKUP", debug.log())  # libfuse's request trace

    def test_single_threaded(self):
        daemon = Daemon(self, self.mnt, self.service_options(), flags=("-f", "-s"))
        self.assertIn("single-threaded", daemon.log())
        # Two readers at once are served one request at a time, both completely.
        errors = []

        def copy(name):
            try:
                target = os.path.join(self.dir, name)
                run(["cp", "-r", os.path.join(self.mnt, *ROW), target], check=True, timeout=300)
                self.assertEqual(routes.tree_of(target), self.expected_row)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=copy, args=(f"copy{i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        self.assertEqual(errors, [])
        self.assertEqual(run(["fusermount3", "-u", self.mnt]).returncode, 0)
        self.assertEqual(daemon.wait(), 0)
        self.assert_clean_log(daemon.log())

    # -- unmounting --------------------------------------------------------------------------

    def test_fusermount_u_refuses_while_busy_then_unmounts(self):
        daemon = Daemon(self, self.mnt, self.service_options())
        with open(os.path.join(self.mnt, *ROW, "hk", "nu60001111003A_fpm.hk.gz"), "rb") as held:
            held.read(100)
            result = run(["fusermount3", "-u", self.mnt])
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("busy", result.stderr)
            self.assertIsNotNone(routes.mount_entry(self.mnt), "still mounted while a file is open")
        result = run(["fusermount3", "-u", self.mnt])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(daemon.wait(), 0)
        self.assert_clean_log(daemon.log())

    def test_lazy_unmount_during_reads(self):
        # A capped rate keeps the read-ahead in flight when the mount is detached.
        self.heasarc.set_knobs(rate_kib=8192)
        daemon = Daemon(self, self.mnt, self.service_options())
        total = 48 << 20
        first_chunk_read = threading.Event()
        detached = threading.Event()
        outcome = {}

        def reader():
            try:
                digest = hashlib.sha256()
                with open(os.path.join(self.mnt, *BIG_PATH), "rb", buffering=0) as f:
                    done = 0
                    while done < total:
                        chunk = f.read(min(1 << 20, total - done))
                        if not chunk:
                            break
                        digest.update(chunk)
                        done += len(chunk)
                        if not first_chunk_read.is_set():
                            first_chunk_read.set()
                            if not detached.wait(120):
                                raise AssertionError("the mount was not detached")
                outcome["bytes"] = done
                outcome["sha256"] = digest.hexdigest()
            except Exception as error:  # noqa: BLE001 - reported below
                outcome["error"] = error
            finally:
                first_chunk_read.set()

        thread = threading.Thread(target=reader)
        thread.start()
        self.assertTrue(first_chunk_read.wait(120), "first chunk read")
        result = run(["fusermount3", "-u", "-z", self.mnt])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIsNone(routes.mount_entry(self.mnt), "detached at once")
        self.assertIsNone(daemon.process.poll(), "the daemon serves the open file")
        detached.set()
        thread.join(timeout=600)
        self.assertNotIn("error", outcome, outcome.get("error"))
        expected = hashlib.sha256()
        with open(os.path.join(DATA_DIR, BIG), "rb") as f:
            expected.update(f.read(total))
        self.assertEqual(outcome["bytes"], total)
        self.assertEqual(outcome["sha256"], expected.hexdigest(), "the bytes read after the detach are the archive's")
        self.assertEqual(daemon.wait(), 0, daemon.log())
        self.assert_clean_log(daemon.log())
        self.assertIn("unmounted, exiting", daemon.log())

    def test_sigterm_unmounts_and_exits_0(self):
        daemon = Daemon(self, self.mnt, self.service_options())
        os.listdir(self.mnt)
        daemon.process.send_signal(signal.SIGTERM)
        self.assertEqual(daemon.wait(), 0, daemon.log())
        self.assertIsNone(routes.mount_entry(self.mnt))
        self.assertIn("signal 15", daemon.log())
        self.assert_clean_log(daemon.log())


if __name__ == "__main__":
    routes.reexec_in_private_mount_namespace()
    unittest.main(verbosity=2)
