"""The tools compared, and how each is pointed at one observation of the local HEASARC.

  wget               the pyvo tutorial's `wget -r` of the DataLink directory URL (WGET below)
  heasarcfs          a mount of the whole archive; the obsid is numaster/NGC4151/<obsid>/, so
                     its path walk (RegTAP, Sesame, cone search, DataLink) is part of the work
  httpdirfs          httpdirfs --cache --cache-location <fresh dir> <directory URL> (its fast
                     mode: 8 MiB download segments)
  httpdirfs-nocache  httpdirfs <directory URL> (its default: one range request per FUSE read)
  rclone             rclone mount :http: --http-url <directory URL> --read-only
                     --vfs-cache-mode off (its default: streaming, no disk cache)
  rclone-full        the same with --vfs-cache-mode full --cache-dir <fresh dir>

The peers mount the observation's directory URL as DataLink gives it (with the NuSTAR double
slash); nothing of theirs is tuned beyond their documented modes (rclone 1.60 has no
--vfs-read-chunk-streams; --multi-thread-streams is for `rclone copy`, not a mount).
"""

from __future__ import annotations

import os

from .procs import FuseMount

ALL_TOOLS = ["wget", "heasarcfs", "httpdirfs", "httpdirfs-nocache", "rclone", "rclone-full"]
MOUNT_TOOLS = [t for t in ALL_TOOLS if t != "wget"]
PEERS = ["httpdirfs", "httpdirfs-nocache", "rclone", "rclone-full"]

# The pyvo tutorial's download step, verbatim (tests/integration/test_wget_mirror.sh runs it too).
WGET = ("wget -q -nH --no-check-certificate --no-parent --cut-dirs=6 -r -l0 -c -N -np -R 'index*'"
        " -erobots=off --retr-symlinks {}")

TARGET = "NGC4151"
ARCHIVE_DIR = "FTP/nustar/data/obs/00/6/{obsid}"          # in the manifest and the data dir
DIR_URL = "{base}/FTP/nustar/data/obs/00/6//{obsid}/"      # as DataLink gives it (double slash)


BIG_OBSID = "60001111005"                 # ~283 MB: a 200 MiB .evt, a 71 MB .evt.gz, small files
SMALL_OBSID = "60001111003"               # the pyvo tutorial's: ~1.8 MB in 17 small files
BIG_EVT = "event_cl/nu60001111005A01_cl.evt"
BIG_GZ = "event_uf/nu60001111005A_uf.evt.gz"


def archive_file(data_dir, obsid: str, rel: str) -> str:
    """The archive's own copy of a file (what the local HEASARC serves)."""
    return os.path.join(str(data_dir), ARCHIVE_DIR.format(obsid=obsid), rel)


def directory_url(base: str, obsid: str) -> str:
    return DIR_URL.format(base=base, obsid=obsid)


def file_url(base: str, obsid: str, rel: str) -> str:
    return directory_url(base, obsid) + rel


class Tools:
    """Mount commands of every tool against one local HEASARC, with one heasarcfs binary."""

    def __init__(self, heasarc, heasarcfs_bin: str, workdir: str):
        self.h = heasarc
        self.heasarcfs_bin = heasarcfs_bin
        self.work = workdir

    def mount(self, tool: str, obsid: str, cache_dir: str | None = None,
              heasarcfs_options: str = "") -> FuseMount:
        """A FuseMount (not started) of `tool` showing `obsid`; heasarcfs_options are extra
        -o options (e.g. cache_size=64M)."""
        url = directory_url(self.h.base, obsid)
        if tool == "heasarcfs":
            opts = f"registry={self.h.registry},resolver={self.h.resolver}"
            if heasarcfs_options:
                opts += "," + heasarcfs_options

            def command(mnt, cache):
                return [self.heasarcfs_bin, mnt, "-f", "-o", f"{opts},cache_dir={cache}"]
        elif tool == "httpdirfs":
            def command(mnt, cache):
                return ["httpdirfs", "-f", "--cache", "--cache-location", cache, url, mnt]
        elif tool == "httpdirfs-nocache":
            def command(mnt, cache):
                return ["httpdirfs", "-f", url, mnt]
        elif tool in ("rclone", "rclone-full"):
            mode = "full" if tool == "rclone-full" else "off"

            def command(mnt, cache):
                return ["rclone", "mount", ":http:", mnt, "--http-url", url, "--read-only",
                        "--vfs-cache-mode", mode, "--cache-dir", cache,
                        "--config", os.path.join(os.path.dirname(mnt), "rclone.conf")]
        else:
            raise ValueError(f"{tool} is not a mount tool")
        return FuseMount(tool, command, self.work, cache_dir=cache_dir)

    @staticmethod
    def obsid_dir(tool: str, mount: FuseMount, obsid: str) -> str:
        """Where the observation's files are under the tool's mount point."""
        if tool == "heasarcfs":
            return os.path.join(mount.path, "numaster", TARGET, obsid)
        return mount.path
