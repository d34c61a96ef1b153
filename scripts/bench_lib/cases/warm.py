"""warm: re-reading the large .evt from heasarcfs's cache after a remount, against local disk.

Once: a fresh cache dir is filled by reading the file through a mount (cold, checked against
the manifest), and the mount is stopped. Each run: remount over that cache, look the file up
(untimed), drop the page cache, time one sequential read of the whole file in 1 MiB read()s;
then drop the page cache again and time the same read of the archive's own file on local disk
(the same filesystem). The mount's bytes are checked afterwards, untimed (sha256 against the
manifest), so the check's CPU is in neither time. Ratio: local seconds over heasarcfs seconds.

A third reader shows where heasarcfs's time goes: after the check, only the mounted file's own
pages are dropped (POSIX_FADV_DONTNEED on it), so the cache files stay in the page cache and
their blocks are verified: the same read then costs the request path alone (FUSE round trips,
the store's lookups, splicing from the cache file), no disk and no checksums.
"""

from __future__ import annotations

import hashlib
import os
import time

from ..checks import sha256_of
from ..model import (Run, Section, describe_exception, end_mount, fmt, load_average, medians, progress,
                          run_ok, status_of)
from ..pagecache import drop, drop_file, resident_bytes
from ..tools import ARCHIVE_DIR, BIG_EVT, BIG_OBSID, archive_file

CHUNK = 1 << 20


def timed_read(path: str) -> tuple[float, int]:
    buf = bytearray(CHUNK)
    got = 0
    t0 = time.monotonic()
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            got += n
    return time.monotonic() - t0, got


def fill_cache(ctx, cache_dir: str, digest: str) -> str | None:
    mount = ctx.tools.mount("heasarcfs", BIG_OBSID, cache_dir=cache_dir).start()
    try:
        path = os.path.join(ctx.tools.obsid_dir("heasarcfs", mount, BIG_OBSID), BIG_EVT)
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        wrong = None if h.hexdigest() == digest else "the cold read differs from the manifest"
    finally:
        mount.stop()
    return wrong or mount.early_exit


RESIDENT = "heasarcfs, cache files in page cache"


def timed_checked_read(run: Run, path: str, size: int, digest: str, mount) -> None:
    """One timed read of the mounted file into `run`, then (untimed) its sha256 against the
    manifest and whether the daemon is still alive."""
    secs, got = timed_read(path)
    run.values = {"seconds": secs, "mibps": got / secs / 2**20}
    wrong = None if got == size else f"read {got} bytes of {size}"
    if wrong is None and sha256_of(path) != digest:
        wrong = "the re-read differs from the manifest"
    run_ok(run, wrong or mount.died())


def measure(ctx, cache_dir: str, size: int, digest: str, local: str) -> tuple[Run, Run, Run, dict]:
    hfs, disk, resident = Run(), Run(), Run()
    info = {}
    mount = None
    try:
        mount = ctx.tools.mount("heasarcfs", BIG_OBSID, cache_dir=cache_dir).start()
        path = os.path.join(ctx.tools.obsid_dir("heasarcfs", mount, BIG_OBSID), BIG_EVT)
        os.stat(path)                                   # the walk, untimed
        info["method"] = drop([cache_dir, local])
        info["resident_cache"] = resident_bytes([cache_dir])
        timed_checked_read(hfs, path, size, digest, mount)
        if hfs.ok:
            drop_file(path)
            info["resident_mount"] = resident_bytes([path])
            timed_checked_read(resident, path, size, digest, mount)
        else:
            run_ok(resident, "not run: the re-read failed")
    except Exception as e:
        failed_run = resident if hfs.ok else hfs
        run_ok(failed_run, describe_exception(e))
        if failed_run is hfs:
            run_ok(resident, "not run: the re-read failed")
    finally:
        end_mount(hfs, mount)
    try:
        drop([local])
        info["resident_local"] = resident_bytes([local])
        secs, got = timed_read(local)
        disk.values = {"seconds": secs, "mibps": got / secs / 2**20}
        run_ok(disk, None if got == size else f"read {got} bytes of {size}")
    except OSError as e:
        run_ok(disk, describe_exception(e))
    return hfs, disk, resident, info


def run(ctx) -> Section:
    a = ctx.args
    link = ctx.default_link()
    size, digest = ctx.manifest[ARCHIVE_DIR.format(obsid=BIG_OBSID) + "/" + BIG_EVT]
    local = archive_file(ctx.data, BIG_OBSID, BIG_EVT)
    cache_dir = os.path.join(ctx.work, "warm-cache")
    os.makedirs(cache_dir, exist_ok=True)
    load = load_average()
    section = Section("warm", f"Re-read of the large `.evt` after a remount, page cache dropped ({size / 2**20:.0f} MiB)",
                      link, ["reader", "seconds", "MiB/s", "vs local disk", "check"])
    if "heasarcfs" not in a.tools:
        section.notes.append("not run: heasarcfs is not among --tools")
        return section
    ctx.say("[warm] filling a cache by reading the file once through a mount")
    t0 = time.monotonic()
    try:
        wrong = fill_cache(ctx, cache_dir, digest)
    except Exception as e:
        wrong = describe_exception(e)
    fill_secs = time.monotonic() - t0
    runs: dict[str, list[Run]] = {"heasarcfs": [], "local disk": [], RESIDENT: []}
    infos = []
    if wrong:
        section.failures.append(f"warm: filling the cache: {wrong}")
        failed = run_ok(Run(), wrong)
        runs["heasarcfs"].append(failed)
    else:
        for k in range(1, a.runs + 1):
            hfs, disk, resident, info = measure(ctx, cache_dir, size, digest, local)
            runs["heasarcfs"].append(hfs)
            runs["local disk"].append(disk)
            runs[RESIDENT].append(resident)
            infos.append(info)
            for name, r in (("heasarcfs", hfs), ("local disk", disk), (RESIDENT, resident)):
                progress("warm", name, k, a.runs, r,
                         f"{fmt(r.values.get('seconds'), '.3f')} s, {fmt(r.values.get('mibps'), '.0f')} MiB/s")
    section.load = f"{load} -> {load_average()}"
    local_s = medians(runs["local disk"]) if runs["local disk"] else None
    for name, rs in runs.items():
        if not rs:
            continue
        s = medians(rs)
        section.summaries[name] = s
        section.add_failures("warm", name, rs)
        ratio = "-"
        if local_s and local_s.get("seconds") and s.get("seconds") and s["failed"] == 0:
            ratio = f"{local_s['seconds'] / s['seconds']:.2f}x"
        section.rows.append([name, fmt(s.get("seconds"), ".3f"), fmt(s.get("mibps"), ".0f"), ratio, status_of(s)])
    methods = sorted({i["method"] for i in infos})
    res_cache = [i["resident_cache"] for i in infos if i.get("resident_cache") is not None]
    res_local = [i["resident_local"] for i in infos if i.get("resident_local") is not None]
    res_mount = [i["resident_mount"] for i in infos if i.get("resident_mount") is not None]
    section.notes.append(
        f"The cache was filled once by a cold read through a mount ({fill_secs:.1f} s, checked); each run "
        "remounts over it. seconds: one sequential read of the whole file in 1 MiB read()s, open to "
        f"close. Page cache dropped before each read by {', '.join(methods) or '-'}; still resident "
        f"after the drop: cache files at most {max(res_cache, default=0)} B, the local file at most "
        f"{max(res_local, default=0)} B (fincore). vs local disk: local seconds over the reader's. "
        f"{RESIDENT}: the same mount read again after only the mounted file's pages were dropped "
        f"(at most {max(res_mount, default=0)} B of it still resident), the cache files in the page "
        "cache and their blocks verified: the request path alone, no disk, no checksums.")
    return section
