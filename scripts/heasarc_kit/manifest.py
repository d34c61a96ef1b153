"""The archive data's manifest.tsv: one `path<TAB>size<TAB>sha256` line per file, paths
relative to the data dir (FTP/...), written by scripts/make-archive-data."""

from __future__ import annotations

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
