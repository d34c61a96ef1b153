"""Checking what a tool produced against the archive: every measured answer is checked, and a
wrong one fails its run (a fast wrong answer is not a result).

  check_tree     a copied tree is exactly the manifest's files of the obsid (paths, sizes, sha256)
  check_listing  `ls -lR` output names exactly those files with their sizes
  same_bytes     a file region read through a mount equals the archive file's region
"""

from __future__ import annotations

import os
import re

from .kit import files_under, sha256_of
from .tools import ARCHIVE_DIR


def expected_files(manifest: dict, obsid: str) -> dict[str, tuple[int, str]]:
    """The obsid's files from the manifest as {path below the obsid dir: (size, sha256)}."""
    prefix = ARCHIVE_DIR.format(obsid=obsid) + "/"
    found = {p[len(prefix):]: v for p, v in manifest.items() if p.startswith(prefix)}
    if not found:
        raise RuntimeError(f"manifest.tsv has no files under {prefix}")
    return found


def _strip_obsid(got: dict, obsid: str) -> dict:
    # wget's --cut-dirs=6 with the NuSTAR double slash leaves the obsid directory on top
    if got and all(p.startswith(obsid + "/") for p in got):
        return {p[len(obsid) + 1:]: v for p, v in got.items()}
    return got


def _differences(got: set, expected: set) -> str | None:
    missing = sorted(expected - got)
    extra = sorted(got - expected)
    if missing or extra:
        return f"missing {missing[:3]}{'...' if len(missing) > 3 else ''} extra {extra[:3]}"
    return None


def check_tree(top: str, expected: dict[str, tuple[int, str]], obsid: str) -> str | None:
    """None when the tree under top is exactly the expected files, else what is wrong."""
    got = _strip_obsid(files_under(top), obsid)
    wrong = _differences(set(got), set(expected))
    if wrong:
        return wrong
    for rel, (size, digest) in expected.items():
        path = got[rel]
        if os.path.getsize(path) != size:
            return f"{rel}: {os.path.getsize(path)} bytes, manifest says {size}"
        if sha256_of(path) != digest:
            return f"{rel}: sha256 differs from the manifest"
    return None


_LS_FILE = re.compile(r"^-\S*\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\S+\s+(.+)$")


def parse_ls_lr(output: str, top: str) -> dict[str, int]:
    """`ls -lR --time-style=+%s TOP` output as {path below TOP: size} of its regular files."""
    sizes = {}
    current = None
    for line in output.splitlines():
        if line.endswith(":") and (line[:-1] == top or line.startswith(top + "/")):
            current = os.path.relpath(line[:-1], top)
            continue
        m = _LS_FILE.match(line)
        if m and current is not None:
            rel = m.group(2) if current == "." else os.path.join(current, m.group(2))
            sizes[rel] = int(m.group(1))
    return sizes


def check_listing(output: str, top: str, expected: dict[str, tuple[int, str]]) -> str | None:
    got = parse_ls_lr(output, top)
    wrong = _differences(set(got), set(expected))
    if wrong:
        return "ls -lR: " + wrong
    for rel, (size, _digest) in expected.items():
        if got[rel] != size:
            return f"ls -lR: {rel} is {got[rel]} bytes, manifest says {size}"
    return None


def same_bytes(reference_fd: int, offset: int, data: bytes | memoryview) -> bool:
    """The archive file's bytes at offset equal `data` (the page cache makes this cheap)."""
    return os.pread(reference_fd, len(data), offset) == data
