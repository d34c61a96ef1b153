"""Where the benchmark gets the local HEASARC from: the project's Python kit (scripts/heasarc_kit),
shared with the tests and the demo -- the benchmark imports no test module.

LocalHeasarc starts a private local HEASARC (port 0, own process group) with its knobs;
read_manifest reads build/heasarc-data/manifest.tsv as {path: (size, sha256)}; DATA_DIR is the
generated archive it serves.
"""

from __future__ import annotations

import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "scripts"))
from heasarc_kit import DATA_DIR, LocalHeasarc, files_under, read_manifest, sha256_of  # noqa: E402

__all__ = ["DATA_DIR", "LocalHeasarc", "files_under", "read_manifest", "sha256_of"]
