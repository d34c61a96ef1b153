"""Mounting heasarcfs for a test: start it in the foreground on a fresh mount point, wait until
the mount is live, always unmount (fusermount3 -u, lazily with -z if need be) and stop it, with
a timeout on every step (cf. libfuse's test/util.py: wait_for_mount, cleanup with
fusermount3 -z -u). The daemon's stderr goes to a log file the test can read (`log()`).

A mount fails its test when the daemon logged something the test did not expect: every line
of level warn or error (`<time> heasarcfs <level> <component>: <message>`) and every line not
in that format (a sanitizer report, an abort, libfuse complaining) must match one of the
regexes the test allowed (`allow=` at construction, `allow(...)` later; `once=True` patterns
hold until the next check only), and the daemon must exit 0 once unmounted. The check runs at
`__exit__` (context manager, or `addCleanup(mount.__exit__, None, None, None)`) and whenever
the test calls `check_log()`: a class-wide mount should check after every test
(`self.addCleanup(self.mount.check_log)` in setUp) so the test that caused a line fails.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from .paths import HEASARCFS

# "<ISO time> heasarcfs <level> <component>: <message>" (common/log.cpp)
LOG_LINE = re.compile(r"^\S+ heasarcfs (?P<level>debug|info|warn|error) (?P<rest>.*)$")

# libfuse's own stderr lines that are not faults of ours, and so never fail a test:
# - a reply spliced to /dev/fuse for a request the kernel no longer holds (ENOENT: the request
#   was interrupted, or the connection aborted at unmount while page-cache read-ahead was in
#   flight). libfuse 3.14's splice path perror()s this where its writev path stays silent
#   (fuse_lowlevel.c, fuse_send_data_iov vs fuse_send_msg); the reader is gone, nothing is lost.
LIBFUSE_BENIGN = [re.compile(r"^fuse: splice from pipe: No such file or directory$")]


class DaemonLogError(AssertionError):
    """The daemon logged a warning or error the test did not allow, or exited badly."""


def is_mounted(path) -> bool:
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as mounts:
        return any(line.split()[1] == path for line in mounts)


def unexpected_lines(text: str, allowed) -> list[str]:
    """The lines of a daemon log that are neither debug/info nor matched by an allowed regex."""
    bad = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = LOG_LINE.match(line)
        if m and m.group("level") in ("debug", "info"):
            continue
        if any(rx.search(line) for rx in allowed) or any(rx.search(line) for rx in LIBFUSE_BENIGN):
            continue
        bad.append(line)
    return bad


class Mount:
    """One heasarcfs mount. Use as a context manager; .path is the mount point, .log() the
    daemon's stderr so far, .p(*parts) a path inside the mount."""

    def __init__(self, registry, resolver, cache_dir=None, options=(), timeout=30, allow=(),
                 binary=None):
        self.workdir = tempfile.mkdtemp(prefix="heasarcfs-mount-")
        self.path = os.path.join(self.workdir, "mnt")
        os.mkdir(self.path)
        self.own_cache = cache_dir is None
        self.cache_dir = cache_dir or os.path.join(self.workdir, "cache")
        self.log_path = os.path.join(self.workdir, "heasarcfs.log")
        opts = [f"registry={registry}", f"resolver={resolver}", f"cache_dir={self.cache_dir}"] + list(options)
        self.command = [str(binary or HEASARCFS), self.path, "-f", "-o", ",".join(opts)]
        self.timeout = timeout
        self.process = None
        self.returncode = None
        self._killed = False              # we had to SIGKILL it: its exit status is ours
        self._log_file = None
        self._allowed = [re.compile(p) for p in allow]
        self._allowed_once: list[re.Pattern] = []
        self._checked = 0                 # log offset up to which lines were checked

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type=None, exc=None, tb=None):
        try:
            self.stop()
            if exc_type is None:
                self.check_log()
        finally:
            if self.own_cache:
                shutil.rmtree(self.workdir, ignore_errors=True)
            else:
                shutil.rmtree(self.path, ignore_errors=True)

    def start(self):
        self._log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL,
                                        stdout=self._log_file, stderr=self._log_file)
        deadline = time.monotonic() + self.timeout
        while not is_mounted(self.path):
            if self.process.poll() is not None:
                raise RuntimeError(f"heasarcfs exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"heasarcfs did not mount within {self.timeout} s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def stop(self):
        if self.process is None:
            return
        if is_mounted(self.path):
            if subprocess.run(["fusermount3", "-u", self.path], capture_output=True, timeout=30).returncode != 0:
                subprocess.run(["fusermount3", "-u", "-z", self.path], capture_output=True, timeout=30)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._killed = True
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=15)
        if is_mounted(self.path):
            subprocess.run(["fusermount3", "-u", "-z", self.path], capture_output=True, timeout=30)
        self.returncode = self.process.returncode
        self.process = None
        self._log_file.close()

    # -- the daemon's log ----------------------------------------------------------------------
    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()
        except OSError:
            return ""

    def allow(self, *patterns: str, once: bool = False) -> None:
        """Log lines matching any of these regexes are expected (once: until the next check)."""
        compiled = [re.compile(p) for p in patterns]
        (self._allowed_once if once else self._allowed).extend(compiled)

    def _unchecked(self) -> tuple[str, int]:
        """The log, and where its complete lines since the last check end (while the daemon
        runs, a line it is still writing waits for the next check)."""
        text = self.log()
        end = len(text) if self.process is None else max(self._checked, text.rfind("\n") + 1)
        return text, end

    def unexpected_log_lines(self) -> list[str]:
        """Unexpected lines logged since the last check (see the module's doc)."""
        text, end = self._unchecked()
        return unexpected_lines(text[self._checked:end], self._allowed + self._allowed_once)

    def check_log(self) -> None:
        """Raise DaemonLogError if the daemon logged an unexpected line since the last check,
        or, once stopped, exited with anything but 0 (without our SIGKILL)."""
        text, end = self._unchecked()
        bad = unexpected_lines(text[self._checked:end], self._allowed + self._allowed_once)
        self._checked = end
        self._allowed_once.clear()
        problems = [f"unexpected daemon log line: {line}" for line in bad]
        if self.process is None and self.returncode not in (None, 0) and not self._killed:
            problems.append(f"heasarcfs exited with {self.returncode} after the unmount")
        if problems:
            tail = "\n".join(text.splitlines()[-30:])
            raise DaemonLogError("\n".join(problems) + "\n--- the daemon's log (last 30 lines):\n" + tail)

    def p(self, *parts) -> str:
        return os.path.join(self.path, *parts)
