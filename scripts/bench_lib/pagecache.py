"""Dropping files from the kernel's page cache, and checking that they are out of it.

drop() writes 3 to /proc/sys/vm/drop_caches after a sync when this process may (root, not in
a restricted container): every clean page and the dentries and inodes go, for both sides of a
comparison alike. Where it may not, every file under the given paths is fdatasync'ed and
given POSIX_FADV_DONTNEED (what vmtouch -e does). resident_bytes() asks fincore(1) how much
of the files is still cached, so the report can show the drop worked.
"""

from __future__ import annotations

import os
import subprocess

DROP_CACHES = "/proc/sys/vm/drop_caches"


def _files(paths: list[str]) -> list[str]:
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, _dirs, files in os.walk(p):
                out += [os.path.join(root, f) for f in files]
        elif os.path.exists(p):
            out.append(p)
    return out


def drop_file(path: str) -> None:
    """Drops one file's pages (fdatasync + POSIX_FADV_DONTNEED), leaving the rest cached."""
    _fadvise_dontneed(path)


def _fadvise_dontneed(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        try:
            os.fdatasync(fd)        # dirty pages are not dropped: write them first
        except OSError:
            pass
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def drop(paths: list[str]) -> str:
    """Drops the page cache (all of it, or the files under `paths`); the method used."""
    os.sync()
    try:
        with open(DROP_CACHES, "w") as f:
            f.write("3\n")
        return "drop_caches"
    except OSError:
        for path in _files(paths):
            _fadvise_dontneed(path)
        return "fadvise"


def resident_bytes(paths: list[str]) -> int | None:
    """Bytes of the files under `paths` in the page cache (fincore), None if unknown."""
    files = _files(paths)
    if not files:
        return 0
    total = 0
    for i in range(0, len(files), 200):
        try:
            done = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES",
                                   *files[i:i + 200]], capture_output=True, timeout=60, text=True)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0:
            return None
        total += sum(int(x) for x in done.stdout.split())
    return total
