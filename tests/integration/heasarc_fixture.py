"""Deprecated: the old import name of the kit's local HEASARC, kept for scripts/bench-copy until
it imports scripts/heasarc_kit itself. Tests import heasarc_kit (see tests/README.md)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from heasarc_kit import DATA_DIR, PYTHON, SOURCE_DIR, LocalHeasarc, read_manifest  # noqa: E402

SCRIPT = SOURCE_DIR / "scripts" / "local-heasarc"
__all__ = ["DATA_DIR", "PYTHON", "SCRIPT", "SOURCE_DIR", "LocalHeasarc", "read_manifest"]
