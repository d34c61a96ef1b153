"""Mounting heasarcfs in tests: start it in the foreground on a fresh mount point, wait until
the mount is live, and always unmount (lazily if need be) and stop it, with a timeout on every
step (cf. libfuse's test/util.py: wait_for_mount, cleanup with fusermount3 -z -u)."""

import os
import shutil
import signal
import subprocess
import tempfile
import time

HEASARCFS = os.environ.get("HEASARCFS_BIN") or os.path.join(
    os.environ.get("HEASARCFS_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build")), "heasarcfs")


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as mounts:
        return any(line.split()[1] == path for line in mounts)


class Mount:
    """One heasarcfs mount. Use as a context manager; .path is the mount point, .log() the
    daemon's stderr so far."""

    def __init__(self, registry, resolver, cache_dir=None, options=(), timeout=30):
        self.workdir = tempfile.mkdtemp(prefix="heasarcfs-mount-")
        self.path = os.path.join(self.workdir, "mnt")
        os.mkdir(self.path)
        self.own_cache = cache_dir is None
        self.cache_dir = cache_dir or os.path.join(self.workdir, "cache")
        self.log_path = os.path.join(self.workdir, "heasarcfs.log")
        opts = [f"registry={registry}", f"resolver={resolver}", f"cache_dir={self.cache_dir}"] + list(options)
        self.command = [HEASARCFS, self.path, "-f", "-o", ",".join(opts)]
        self.timeout = timeout
        self.process = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        if self.own_cache:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            shutil.rmtree(self.path, ignore_errors=True)

    def start(self):
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + self.timeout
        while not is_mounted(self.path):
            if self.process.poll() is not None:
                raise RuntimeError(f"heasarcfs exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"heasarcfs did not mount within {self.timeout} s:\n{self.log()}")
            time.sleep(0.05)

    def stop(self):
        if self.process is None:
            return
        if is_mounted(self.path):
            if subprocess.run(["fusermount3", "-u", self.path], capture_output=True, timeout=30).returncode != 0:
                subprocess.run(["fusermount3", "-u", "-z", self.path], capture_output=True, timeout=30)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=15)
        if is_mounted(self.path):
            subprocess.run(["fusermount3", "-u", "-z", self.path], capture_output=True, timeout=30)
        self.process = None
        self._log.close()

    def log(self):
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()
        except OSError:
            return ""

    def p(self, *parts):
        return os.path.join(self.path, *parts)
