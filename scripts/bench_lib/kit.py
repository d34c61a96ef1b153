"""Where the benchmark gets the local HEASARC from: the only import of the test kit.

LocalHeasarc starts a private local HEASARC (port 0, own process group) with its knobs;
read_manifest reads build/heasarc-data/manifest.tsv as {path: (size, sha256)}; DATA_DIR is the
generated archive it serves. When scripts/heasarc_kit lands, the import below becomes
`from heasarc_kit import DATA_DIR, LocalHeasarc, read_manifest` and nothing else changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))
from heasarc_fixture import DATA_DIR, LocalHeasarc, read_manifest  # noqa: E402

__all__ = ["DATA_DIR", "LocalHeasarc", "read_manifest"]
