"""The kit's daemon-log rule (scripts/heasarc_kit/mount.py), without a mount: which lines of a
heasarcfs log fail a test, allow-lists (for the mount, and once), the checked offset, and the
exit status after an unmount."""

import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import DaemonLogError, Mount, unexpected_lines    # noqa: E402

INFO = "2026-01-01T00:00:00Z heasarcfs info main: mounted on /mnt (registry http://x/tap)"
DEBUG = "2026-01-01T00:00:00Z heasarcfs debug fetch: block 3"
WARN = "2026-01-01T00:00:01Z heasarcfs warn archive: retry 1/3 of GET http://x/FTP/a in 10 ms after HTTP 503"
ERROR = "2026-01-01T00:00:02Z heasarcfs error main: could not start: no registry"
ASAN = "==123==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020"
FUSE = "fuse: bad mount point `/mnt': No such file or directory"


class UnexpectedLines(unittest.TestCase):
    def test_info_and_debug_pass_warn_error_and_foreign_lines_fail(self):
        text = "\n".join([INFO, DEBUG, WARN, ERROR, ASAN, FUSE, ""])
        self.assertEqual(unexpected_lines(text, []), [WARN, ERROR, ASAN, FUSE])

    def test_allowed_regexes_are_searched_in_the_line(self):
        allowed = [re.compile(r" warn archive: retry \d/3 of GET \S+/FTP/a "), re.compile("AddressSanitizer")]
        self.assertEqual(unexpected_lines("\n".join([WARN, ERROR, ASAN]), allowed), [ERROR])

    def test_blank_lines_are_ignored(self):
        self.assertEqual(unexpected_lines("\n\n   \n", []), [])


class MountLogCheck(unittest.TestCase):
    def setUp(self):
        self.mount = Mount("http://127.0.0.1:9/tap", "http://127.0.0.1:9/sesame/")
        self.addCleanup(shutil.rmtree, self.mount.workdir, True)

    def write(self, *lines, end="\n"):
        with open(self.mount.log_path, "a") as log:
            log.write("\n".join(lines) + end)

    def test_a_clean_log_passes_and_a_warning_fails_naming_the_line(self):
        self.write(INFO)
        self.mount.check_log()
        self.write(WARN)
        with self.assertRaises(DaemonLogError) as raised:
            self.mount.check_log()
        self.assertIn("unexpected daemon log line: " + WARN, str(raised.exception))

    def test_each_line_is_checked_once(self):
        self.write(WARN)
        with self.assertRaises(DaemonLogError):
            self.mount.check_log()
        self.write(INFO)
        self.mount.check_log()            # the warning was already reported

    def test_allow_holds_for_the_mount_and_once_until_the_next_check(self):
        self.mount.allow(r" warn archive: retry ")
        self.mount.allow(r"AddressSanitizer", once=True)
        self.write(WARN, ASAN)
        self.mount.check_log()
        self.write(WARN)
        self.mount.check_log()
        self.write(ASAN)
        with self.assertRaises(DaemonLogError):
            self.mount.check_log()

    def test_allow_at_construction(self):
        mount = Mount("http://127.0.0.1:9/tap", "http://127.0.0.1:9/sesame/", allow=[r" error main: "])
        self.addCleanup(shutil.rmtree, mount.workdir, True)
        with open(mount.log_path, "w") as log:
            log.write(ERROR + "\n")
        mount.check_log()

    def test_a_line_still_being_written_waits_while_the_daemon_runs(self):
        self.mount.process = object()     # stands for a running daemon: only whole lines count
        self.write(INFO, WARN[:30], end="")
        self.mount.check_log()
        self.write(WARN[30:])
        with self.assertRaises(DaemonLogError) as raised:
            self.mount.check_log()
        self.assertIn(WARN, str(raised.exception))

    def test_a_non_zero_exit_after_the_unmount_fails_unless_we_killed_it(self):
        self.write(INFO)
        self.mount.returncode = -11       # SIGSEGV
        with self.assertRaises(DaemonLogError) as raised:
            self.mount.check_log()
        self.assertIn("heasarcfs exited with -11", str(raised.exception))
        self.mount._killed = True         # our own SIGKILL after an unmount that hung
        self.mount.check_log()
        self.mount._killed = False
        self.mount.returncode = 0
        self.mount.check_log()


if __name__ == "__main__":
    unittest.main(verbosity=2)
