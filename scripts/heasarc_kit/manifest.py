"""The archive data's manifest.tsv: one `path<TAB>size<TAB>sha256` line per file, paths
relative to the data dir (FTP/...), written by scripts/make-archive-data."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from .paths import DATA_DIR

_SHA256 = re.compile(r"[0-9a-f]{64}")


def read_manifest(root: Path = DATA_DIR) -> dict[str, tuple[int, str]]:
    """manifest.tsv as {path: (size, sha256)}, checking every line's shape."""
    entries: dict[str, tuple[int, str]] = {}
    with open(Path(root) / "manifest.tsv") as f:
        for number, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3 or not fields[1].isdigit() or not _SHA256.fullmatch(fields[2]):
                raise AssertionError(f"manifest.tsv line {number} is not 'path<TAB>size<TAB>sha256': {line!r}")
            if fields[0] in entries:
                raise AssertionError(f"manifest.tsv line {number}: duplicate path {fields[0]}")
            entries[fields[0]] = (int(fields[1]), fields[2])
    return entries


def sha256_of(path) -> str:
    """The sha256 of a file, as manifest.tsv holds it (read in 1 MiB pieces)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_under(top) -> dict[str, str]:
    """Every file below `top`: {path relative to top: full path} (a copy or mount to compare
    with the manifest)."""
    found = {}
    for root, _dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, top)] = path
    return found
