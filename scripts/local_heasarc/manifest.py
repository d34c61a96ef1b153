"""The archive data's manifest.tsv (path, size, sha256), as the VO services read it: DataLink
gives directory sizes and per-file rows from it, the start-up check picks a file from it."""

from __future__ import annotations

import threading
from pathlib import Path


class Manifest:
    """manifest.tsv (path, size, sha256) with cached per-directory byte totals."""

    def __init__(self, data_root: Path):
        self.path = Path(data_root) / "manifest.tsv"
        self._lock = threading.Lock()
        self._files: dict[str, int] | None = None
        self._mtime = None

    def files(self) -> dict[str, int]:
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime
            except OSError:
                return {}
            if self._files is None or mtime != self._mtime:
                files = {}
                with open(self.path, encoding="utf-8") as fh:
                    for line in fh:
                        parts = line.rstrip("\n").split("\t")
                        if len(parts) >= 2 and parts[1].isdigit():
                            files[collapse_slashes(parts[0])] = int(parts[1])
                self._files, self._mtime = files, mtime
            return self._files

    def sample_files(self) -> list[str]:
        """One file with content (the first in manifest order), to check it is served."""
        for path, size in self.files().items():
            if size > 0:
                return [path]
        return []

    def tree(self, archive_path: str) -> dict[str, int]:
        prefix = collapse_slashes(archive_path).rstrip("/") + "/"
        return {p: s for p, s in self.files().items() if p.startswith(prefix)}


def collapse_slashes(path: str) -> str:
    while "//" in path:
        path = path.replace("//", "/")
    return path.lstrip("/")
