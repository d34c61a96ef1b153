"""One deadline per filesystem call, interrupts, and a crash mid-copy (issue 8, items 1, 2, 10),
through a real mount over the local HEASARC:

- with the archive's HEADs hung, `ls -l` of a directory of 70 files (60001111002/hk) finishes
  within timeout+1 s in total, every unknown size failing with ETIMEDOUT, the daemon logging a
  bounded number of lines (not one per entry); and so does the next `ls -l` once the failed
  sizes are no longer remembered (10 s later: RemoteTtls::failed_stat, which has no mount
  option, so the test waits that TTL out), asking for them again in one fan-out;
- a process blocked in `ls` or `cat` on a hung server dies within 1 s of SIGTERM;
- with the server hung and several readers blocked on it, `ls` and `cat` of cached paths still
  answer at once;
- kill -9 of the daemon during `cp -r` of the large obsid, `fusermount3 -u -z`, a remount on the
  same cache_dir: the copy repeated equals the manifest byte for byte.

Time bounds are the generous promises of the issue, measured and printed (worst return time,
SIGTERM-to-exit), not speed targets."""

import errno
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import LocalHeasarc, Mount, read_manifest  # noqa: E402
from heasarc_kit.mount import is_mounted  # noqa: E402

DEADLINE_S = 3
WIDE_OBSID = "60001111002"
WIDE_FILES = 70                       # hk/ of WIDE_OBSID (scripts/local_heasarc/make_archive.py)
BIG_OBSID = "60001111005"
BIG_PREFIX = f"FTP/nustar/data/obs/00/6/{BIG_OBSID}/"
SMALL_OBSID = "60001111003"
SMALL_PREFIX = f"FTP/nustar/data/obs/00/6/{SMALL_OBSID}/"
# What a call that the server never answers, or the caller's signal, may leave in the log.
ENDED = r"(Connection timed out|Interrupted system call|timed out|deadline|cancelled|interrupted|shutting down)"


def report(line):
    print(line, file=sys.stderr, flush=True)


def wait_for(predicate, what, limit=60.0):
    """Polls until predicate() holds; a bound on failure only."""
    give_up = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sigterm_to_exit(process):
    """Seconds from SIGTERM to the process's exit (a bound of 30 s on failure)."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)
        raise AssertionError(f"{process.args} still alive 30 s after SIGTERM")
    return time.monotonic() - started


FAILED_SIZE_MEMO_S = 10                # RemoteTtls::failed_stat (fs/remote_view.h)


class WideListingWithHeadsHung(unittest.TestCase):
    def ls_l(self, heasarc, mount, directory, what):
        """`ls -l` of directory: its seconds, stderr lines and the daemon's new log lines."""
        log_before = len(mount.log().splitlines())
        started = time.monotonic()
        ls = subprocess.run(["ls", "-l", directory], capture_output=True, text=True, timeout=120)
        elapsed = time.monotonic() - started
        log_lines = mount.log().splitlines()[log_before:]
        report(f"\n{what} ls -l of {WIDE_FILES} files, HEADs hung, timeout={DEADLINE_S}: returned in {elapsed:.2f} s; "
               f"{len(log_lines)} daemon log lines")
        failed = [line for line in ls.stderr.splitlines() if "cannot access" in line]
        self.assertEqual(len(failed), WIDE_FILES, ls.stderr)
        self.assertTrue(all(os.strerror(errno.ETIMEDOUT) in line for line in failed), failed[:3])
        self.assertLess(elapsed, DEADLINE_S + 1.0, f"{what} ls -l took {elapsed:.2f} s with timeout={DEADLINE_S}")
        return elapsed, log_lines

    def test_ls_l_of_70_files_whose_heads_hang_costs_one_deadline(self):
        with LocalHeasarc() as heasarc, \
                Mount(heasarc.registry, heasarc.resolver, options=[f"timeout={DEADLINE_S}"]) as mount:
            row = mount.p("numaster", "NGC4151", WIDE_OBSID)
            os.stat(row)                                   # registry, resolver, cone: a healthy server
            hk = os.path.join(row, "hk")
            heasarc.set_knobs(fault="hang", fault_path=rf"/FTP/.*/{WIDE_OBSID}/hk/[^/]+$")
            mount.allow(rf" warn archive: {WIDE_FILES} of {WIDE_FILES} sizes in \S+/hk/ unknown .*{ENDED}")
            # The listing prefetch of the row's subdirectories (fs/remote_view.h: auxil/,
            # event_cl/... fetched in the background) may have HEADs queued behind the hung ones
            # for the 8 connections: they end by their own deadline, one line per directory.
            mount.allow(rf" warn archive: \d+ of \d+ sizes in \S+/{WIDE_OBSID}/\w+/ unknown .*{ENDED}")
            _, log_lines = self.ls_l(heasarc, mount, hk, "first")
            first_done = time.monotonic()

            # At most one HEAD per file (as many as the connections let start before the
            # deadline), none again for the lstat of each entry.
            hung = heasarc.requests_for(rf"/{WIDE_OBSID}/hk/[^/]+$", "HEAD")
            self.assertTrue(0 < len(hung) <= WIDE_FILES, f"{len(hung)} HEADs for {WIDE_FILES} files")
            self.assertEqual(len({e["path"] for e in hung}), len(hung), "a size was asked twice")
            self.assertLessEqual(len(log_lines), 5, "\n".join(log_lines))

            # The next `ls -l`, once the failed sizes are forgotten (the listing, cached for an
            # hour, still lacks them): its first lstat asks for all of them again in one
            # fan-out under its deadline, the others get that answer. Waiting out the memo's
            # TTL is not a timing assertion: no mount option shortens it.
            time.sleep(max(0.0, first_done + FAILED_SIZE_MEMO_S + 0.5 - time.monotonic()))
            heads_before = len(heasarc.requests_for(rf"/{WIDE_OBSID}/hk/[^/]+$", "HEAD"))
            mount.allow(rf" warn archive: {WIDE_FILES} of {WIDE_FILES} sizes in \S+/hk/ unknown after asking again "
                        rf".*{ENDED}")
            _, log_lines = self.ls_l(heasarc, mount, hk, "second")
            again = heasarc.requests_for(rf"/{WIDE_OBSID}/hk/[^/]+$", "HEAD")[heads_before:]
            self.assertTrue(0 < len(again) <= WIDE_FILES, f"{len(again)} HEADs for {WIDE_FILES} files")
            self.assertEqual(len({e["path"] for e in again}), len(again), "a size was asked twice")
            refreshed = [line for line in log_lines if "sizes in" in line and "/hk/" in line]
            self.assertEqual(len(refreshed), 1, "\n".join(log_lines))
            self.assertIn("unknown after asking again", refreshed[0])
            self.assertLessEqual(len(log_lines), 5, "\n".join(log_lines))
            heasarc.clear_knobs()


class BlockedCallsOnAHungServer(unittest.TestCase):
    """A long timeout=, so that only the signal can end the blocked calls."""

    @classmethod
    def setUpClass(cls):
        cls.manifest = read_manifest()

    def setUp(self):
        self.heasarc = LocalHeasarc().start()
        self.addCleanup(self.heasarc.stop)
        self.mount = Mount(self.heasarc.registry, self.heasarc.resolver, options=["timeout=60"])
        self.mount.start()
        self.addCleanup(self.mount.__exit__, None, None, None)
        # Blocked calls end by the signal (info lines); what they left in flight ends at the
        # unmount or by its deadline.
        self.mount.allow(rf" warn \w+: .*{ENDED}")
        self.row = self.mount.p("numaster", "NGC4151", "exposure_a>=50000", SMALL_OBSID)
        self.started = []

    def start(self, command, hung_request):
        """Runs `command` and waits until its request is held by the hung server."""
        before = len(self.heasarc.requests_for(hung_request))
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: process.poll() is None and (process.kill(), process.wait(30)))
        wait_for(lambda: len(self.heasarc.requests_for(hung_request)) > before, f"{command} to reach the server")
        return process

    def test_blocked_ls_and_cat_die_within_a_second_of_sigterm(self):
        path = os.path.join(self.row, "auxil", f"nu{SMALL_OBSID}_orb.fits.gz")
        os.stat(path)                                      # size known; its bytes not read
        self.heasarc.set_knobs(fault="hang", fault_path=r"/(xamin/vo/cone|FTP/.*_orb\.fits\.gz$)")
        ls = self.start(["ls", self.mount.p("numaster", "M 31")], r"/xamin/vo/cone")
        cat = self.start(["cat", path], r"_orb\.fits\.gz$")
        time.sleep(0.3)                                    # both well inside their wait
        ls_exit = sigterm_to_exit(ls)
        cat_exit = sigterm_to_exit(cat)
        report(f"\nSIGTERM to exit, blocked on a hung server: ls {ls_exit:.3f} s, cat {cat_exit:.3f} s")
        self.assertEqual(ls.returncode, -signal.SIGTERM)
        self.assertEqual(cat.returncode, -signal.SIGTERM)
        self.assertLess(ls_exit, 1.0)
        self.assertLess(cat_exit, 1.0)
        # The interrupted opendir answered EINTR and said so once.
        wait_for(lambda: re.search(r" info opendir: .*Interrupted system call", self.mount.log()),
                 "the interrupted opendir's log line", 10)
        self.heasarc.clear_knobs()
        self.assertTrue(os.listdir(self.mount.p("numaster", "M 31")), "an interrupt must not be cached")

    def test_cached_paths_answer_while_readers_are_blocked(self):
        cached = os.path.join(self.row, "pipe.log")
        expected = self.manifest[SMALL_PREFIX + "pipe.log"][1]
        self.assertEqual(sha256_of(cached), expected)      # listing, size and bytes now cached
        listed = sorted(os.listdir(self.row))
        # The last file of its directory: opening it prefetches no neighbours, so each blocked
        # reader holds one connection.
        uncached = os.path.join(self.row, "event_cl", f"nu{SMALL_OBSID}B01_cl.evt.gz")
        os.stat(uncached)
        self.heasarc.set_knobs(fault="hang", fault_path="")     # every request from now on
        # In two directories: this kernel serializes the lookups of one directory (FUSE's
        # parallel dirops are asked for in op_init, but not granted here).
        blocked = [self.start(["ls", self.mount.p(table, name)], r"/cgi-bin/nph-sesame/")
                   for table, name in (("numaster", "3C 273"), ("chanmaster", "M 31"))]
        blocked.append(self.start(["cat", uncached], re.escape(os.path.basename(uncached)) + "$"))
        worst = 0.0
        for _ in range(3):
            started = time.monotonic()
            self.assertEqual(sorted(os.listdir(self.row)), listed)
            self.assertEqual(sha256_of(cached), expected)
            ls = subprocess.run(["ls", "-l", self.row], capture_output=True, text=True, timeout=60)
            self.assertEqual(ls.returncode, 0, ls.stderr)
            worst = max(worst, time.monotonic() - started)
        exits = [sigterm_to_exit(process) for process in blocked]
        report(f"\ncached ls/cat with {len(blocked)} readers blocked on a hung server: worst {worst:.3f} s; "
               f"SIGTERM to exit of the blocked: worst {max(exits):.3f} s")
        self.assertLess(worst, 2.0)
        self.assertLess(max(exits), 1.0)
        self.heasarc.clear_knobs()


class KillMidCopy(unittest.TestCase):
    def test_kill_9_during_cp_r_then_remount_copies_the_manifest_bytes(self):
        expected = {path[len(BIG_PREFIX):]: value for path, value in read_manifest().items()
                    if path.startswith(BIG_PREFIX)}
        work = tempfile.mkdtemp(prefix="heasarcfs-crash-")
        self.addCleanup(shutil.rmtree, work, True)
        cache_dir = os.path.join(work, "cache")
        with LocalHeasarc() as heasarc:
            mount = Mount(heasarc.registry, heasarc.resolver, cache_dir=cache_dir, options=["timeout=30"])
            mount.start()
            try:
                row = mount.p("numaster", "NGC4151", BIG_OBSID)
                first = os.path.join(work, "first")
                cp = subprocess.Popen(["cp", "-r", row, first], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                # Killed mid-copy: once tens of MB of the big files have come in.
                wait_for(lambda: heasarc.bytes_for(r"/event_cl/") > 40 << 20 or cp.poll() is not None,
                         "the copy to be under way", 120)
                self.assertIsNone(cp.poll(), "the copy finished before the kill")
                os.kill(mount.process.pid, signal.SIGKILL)
                mount._killed = True                       # its exit status is ours
                mount.process.wait(timeout=30)
                cp.wait(timeout=60)
                self.assertNotEqual(cp.returncode, 0)
                self.assertEqual(subprocess.run(["fusermount3", "-u", "-z", mount.path],
                                                capture_output=True, timeout=30).returncode, 0)
                self.assertFalse(is_mounted(mount.path))
            finally:
                mount.__exit__(None, None, None)
            with Mount(heasarc.registry, heasarc.resolver, cache_dir=cache_dir, options=["timeout=30"]) as again:
                second = os.path.join(work, "second")
                subprocess.run(["cp", "-r", again.p("numaster", "NGC4151", BIG_OBSID), second], check=True,
                               timeout=600)
                copied = {}
                for dirpath, _, names in os.walk(second):
                    for name in names:
                        path = os.path.join(dirpath, name)
                        copied[os.path.relpath(path, second)] = (os.path.getsize(path), sha256_of(path))
        self.assertEqual(sorted(copied), sorted(expected))
        wrong = [name for name in expected if copied[name] != tuple(expected[name])]
        self.assertEqual(wrong, [], "files that differ from the manifest after the crash and remount")
        report(f"\nkill -9 mid cp -r of {BIG_OBSID}, remount on the same cache: {len(copied)} files, "
               f"{sum(size for size, _ in copied.values()) / 2**20:.1f} MiB equal the manifest")


if __name__ == "__main__":
    unittest.main()
