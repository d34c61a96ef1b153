"""Helpers for the tests of the ways a user mounts heasarcfs (mount -t, fstab, as a user, in a
user namespace, on a /dev/fd/N descriptor): a private mount namespace, heasarcfs on the PATH
mount.fuse3 searches, waits with deadlines, trees compared with the archive manifest.

Everything these tests change on the machine (what /usr/local/sbin or /dev/fuse show) is
changed inside a private mount namespace the test process runs in, and is gone with it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import read_manifest    # noqa: E402

NAMESPACE_MARK = "HEASARCFS_TEST_PRIVATE_MOUNT_NS"


def reexec_in_private_mount_namespace() -> None:
    """Runs this test file again inside `unshare -m --propagation private` (once). Mounts made
    there, and the bind mounts below, are seen by this process tree only."""
    if os.environ.get(NAMESPACE_MARK) == "1":
        return
    if os.geteuid() != 0:
        return  # the caller decides what it can test without root
    env = dict(os.environ, **{NAMESPACE_MARK: "1"})
    os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable,
                           os.path.abspath(sys.argv[0])] + sys.argv[1:], env)


def in_private_namespace() -> bool:
    return os.environ.get(NAMESPACE_MARK) == "1"


def put_on_default_path(binary: str, workdir: str) -> None:
    """mount.fuse3 runs `heasarcfs` through /bin/sh, which mount(8) starts with no PATH: dash
    then searches /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin. The build's
    binary goes first on it by a bind mount over /usr/local/sbin (empty on Debian) in this
    private namespace; the machine's /usr/local/sbin is untouched."""
    assert in_private_namespace(), "put_on_default_path outside the private mount namespace"
    sbin = os.path.join(workdir, "sbin")
    os.makedirs(sbin, exist_ok=True)
    # A copy, not a link: a user the mount drops to must be able to reach it, and the build
    # tree may sit under a directory only root can enter (a 0700 home, mktemp -d).
    shutil.copy2(os.path.realpath(binary), os.path.join(sbin, "heasarcfs"))
    os.chmod(os.path.join(sbin, "heasarcfs"), 0o755)
    os.chmod(sbin, 0o755)
    subprocess.run(["mount", "--bind", sbin, "/usr/local/sbin"], check=True, timeout=30)


def wait_until(predicate, timeout: float, what: str, process: subprocess.Popen | None = None,
               log=None) -> None:
    """Polls `predicate` until true; fails after `timeout` s, or at once if `process` exited."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {process.returncode} first"
                                 + (f":\n{log()}" if log else ""))
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s" + (f":\n{log()}" if log else ""))
        time.sleep(0.05)


def mount_entry(path: str, mounts: str = "/proc/self/mounts") -> list[str] | None:
    """The /proc/self/mounts fields of the mount on `path`, or None."""
    path = os.path.realpath(path)
    with open(mounts) as f:
        for line in f:
            fields = line.split()
            if fields[1] == path:
                return fields
    return None


def unmount_quietly(path: str) -> None:
    if mount_entry(path):
        subprocess.run(["umount", "-l", path], capture_output=True, timeout=30)


def tree_of(top: str) -> dict:
    """{relative path: (size, sha256)} of every regular file below `top`."""
    found = {}
    for root, _dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            found[os.path.relpath(path, top)] = (os.path.getsize(path), digest.hexdigest())
    return found


def manifest_under(prefix: str) -> dict:
    """The archive manifest's files below `prefix` (e.g. FTP/nustar/data/obs/00/6/60001111003/),
    keyed by their path below it."""
    entries = {path[len(prefix):]: value for path, value in read_manifest().items() if path.startswith(prefix)}
    assert entries, f"the manifest has no files under {prefix}"
    return entries


def argv_of(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[:-1]
    except OSError:
        return []


def heasarcfs_processes() -> list[int]:
    """Pids of the heasarcfs processes (by argv[0]) other than this one: the daemons a mount
    helper started are not this process's children."""
    return [int(entry) for entry in os.listdir("/proc")
            if entry.isdigit() and int(entry) != os.getpid()
            and os.path.basename((argv_of(int(entry)) or [b""])[0]) == b"heasarcfs"]


def processes_with(argument: str) -> list[int]:
    """Pids of heasarcfs processes with `argument` (a mount point) as one of their arguments."""
    return [pid for pid in heasarcfs_processes() if argument.encode() in argv_of(pid)[1:]]


def read_text(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def status_field(pid: int, field: str) -> str:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def exe_of(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/exe")


def scratch_dir(prefix: str) -> str:
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    return path


def remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
