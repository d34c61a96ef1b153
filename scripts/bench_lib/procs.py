"""Processes of a benchmark run: FUSE mounts in the foreground, timed commands, peak RSS.

Every step that waits has a timeout: a mount that does not come up, a daemon that does not
exit, an unmount that hangs are ended (fusermount3 -u, then -u -z; SIGTERM, then SIGKILL of the
daemon's own process group), never waited on forever.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def is_mounted(path: str) -> bool:
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as mounts:
        return any(line.split()[1] == path for line in mounts)


def unmount(path: str) -> None:
    """fusermount3 -u, then -u -z; every step with a timeout."""
    for args in (["fusermount3", "-u", path], ["fusermount3", "-u", "-z", path]):
        if not is_mounted(path):
            return
        try:
            subprocess.run(args, capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            pass


def stop_process(proc: subprocess.Popen | None, grace: float = 15) -> None:
    """SIGTERM to its process group, then SIGKILL; never waits unboundedly."""
    if proc is None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass


def peak_rss_bytes(pid: int) -> int | None:
    """VmHWM (the resident set's high-water mark) of a live process, in bytes."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class FuseMount:
    """One mount of heasarcfs, httpdirfs or rclone in the foreground (own process group) on a
    fresh mount point. `command_for(mountpoint, cache_dir)` gives its command line. The cache
    dir is fresh unless one is given (a remount over a cache filled before); stop() unmounts,
    ends the daemon and removes what it created."""

    live: list["FuseMount"] = []

    def __init__(self, name: str, command_for, workdir: str, cache_dir: str | None = None,
                 timeout: float = 60):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"{name}-", dir=workdir)
        self.path = os.path.join(self.dir, "mnt")
        os.mkdir(self.path)
        if cache_dir is None:
            cache_dir = os.path.join(self.dir, "cache")
            os.mkdir(cache_dir)
        self.cache = cache_dir
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.command = command_for(self.path, self.cache)
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.early_exit: str | None = None      # set by stop(): the daemon had exited before it

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self) -> "FuseMount":
        FuseMount.live.append(self)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while not is_mounted(self.path):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not mount within {self.timeout} s: {self.log_tail()}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.early_exit is None:
            self.early_exit = self.died()
        unmount(self.path)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            stop_process(self.proc)
        unmount(self.path)              # a daemon killed before unmounting leaves a dead mount
        if self in FuseMount.live:
            FuseMount.live.remove(self)
        if not is_mounted(self.path):
            shutil.rmtree(self.dir, ignore_errors=True)

    def died(self) -> str | None:
        """None while the daemon runs; else that it exited mid-run (a crash answers reads no more)."""
        if self.proc is None or self.proc.poll() is None:
            return None
        return f"{self.name} exited with {self.proc.returncode} during the run"

    def log_tail(self, n: int = 15) -> str:
        try:
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    @classmethod
    def stop_all(cls) -> None:
        for m in list(cls.live):
            try:
                m.stop()
            except Exception as e:      # keep cleaning up the others
                print(f"bench: cleanup of {m.path}: {e}", file=sys.stderr)


class PeakRss(threading.Thread):
    """Samples a process's VmHWM every `interval` s until stop(): the high-water mark is kept
    even if the process dies before the end (it would be unreadable then)."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak: int | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self._sample()
            self._stop_event.wait(self.interval)

    def _sample(self) -> None:
        now = peak_rss_bytes(self.pid)
        if now is not None:
            self.peak = max(self.peak or 0, now)

    def stop(self) -> int | None:
        self._stop_event.set()
        self.join(timeout=10)
        self._sample()
        return self.peak


def run_timed(command, cwd: str, timeout: float, shell: bool = False) -> tuple[float, subprocess.CompletedProcess]:
    """Runs a command to its end; its wall time in seconds (start-up included) and its result."""
    t0 = time.monotonic()
    done = subprocess.run(command, cwd=cwd, shell=shell, timeout=timeout, capture_output=True,
                          stdin=subprocess.DEVNULL)
    return time.monotonic() - t0, done


def failure_of(done: subprocess.CompletedProcess) -> str | None:
    if done.returncode == 0:
        return None
    return f"exit {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}"
