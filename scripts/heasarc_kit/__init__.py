"""The Python kit shared by the integration tests, the benchmarks and the demo.

    sys.path.insert(0, "<checkout>/scripts")
    from heasarc_kit import LocalHeasarc, Mount, read_manifest, DATA_DIR, HEASARCFS

  LocalHeasarc   a private local HEASARC process on port 0 with knobs (heasarc_process.py)
  Mount          a heasarcfs mount with timeouts and cleanup that fails the test when the daemon
                 logs an unexpected warning or error (mount.py)
  read_manifest  the archive data's manifest.tsv as {path: (size, sha256)} (manifest.py)
  SiteCache      the shipped nginx site cache (docs/nginx-site-cache.conf) on loopback in front
                 of an origin (site_cache.py)
  paths          SOURCE_DIR, BUILD_DIR, HEASARCFS, DATA_DIR, PYTHON (paths.py)

Stdlib only; runs on Debian's /usr/bin/python3. See tests/README.md for which test tier and
fault mechanism to use where.
"""

from .heasarc_process import LocalHeasarc
from .manifest import files_under, read_manifest, sha256_of
from .mount import DaemonLogError, Mount, is_mounted, unexpected_lines
from .mounted_case import MountedTestCase
from .paths import BUILD_DIR, DATA_DIR, HEASARCFS, PYTHON, SOURCE_DIR
from .site_cache import SiteCache

__all__ = ["BUILD_DIR", "DATA_DIR", "DaemonLogError", "HEASARCFS", "LocalHeasarc", "Mount",
           "MountedTestCase",
           "PYTHON", "SOURCE_DIR", "SiteCache", "files_under", "is_mounted", "read_manifest", "sha256_of",
           "unexpected_lines"]
