"""Where things are: the checkout, the build, the heasarcfs binary, the archive data.

Each can be overridden by the environment ctest sets for integration tests
(HEASARCFS_SOURCE_DIR, HEASARCFS_BUILD_DIR, HEASARCFS_BIN) or by HEASARC_DATA, the data dir
the local HEASARC serves (its default is the same <checkout>/build/heasarc-data).
"""

from __future__ import annotations

import os
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("HEASARCFS_SOURCE_DIR") or Path(__file__).resolve().parents[2])
BUILD_DIR = Path(os.environ.get("HEASARCFS_BUILD_DIR") or SOURCE_DIR / "build")
HEASARCFS = Path(os.environ.get("HEASARCFS_BIN") or BUILD_DIR / "heasarcfs")
# The generated archive the server serves (scripts/make-archive-data) and its manifest.
DATA_DIR = Path(os.environ.get("HEASARC_DATA") or SOURCE_DIR / "build" / "heasarc-data")
# Debian's python3: the local HEASARC and the tests need its modules (pyvo, astropy).
PYTHON = "/usr/bin/python3"
