"""concurrent: 16 readers at once through one fresh mount, aggregate MiB/s and the daemon's peak RSS.

The generated archive has two large files (the 200 MiB .evt and the 68 MiB .evt.gz), so the 16
readers read 16 disjoint regions of them, in proportion to their sizes (12 in the .evt, 4 in
the .gz), each sequentially in 1 MiB read()s from its own open file. Every byte is compared with
the archive's file (its regions are read into the page cache before the clock starts).
Aggregate MiB/s: all bytes over the time from the common start to the last reader's end.
Peak RSS: the daemon's VmHWM just before the unmount.
"""

from __future__ import annotations

import os
import threading
import time

from ..checks import same_bytes
from ..model import (Run, Section, describe_exception, end_mount, fmt, load_average, medians, progress,
                          root_cause, run_ok, status_of)
from ..procs import PeakRss
from ..serverlog import settle, traffic
from ..tools import ARCHIVE_DIR, BIG_EVT, BIG_GZ, BIG_OBSID, MOUNT_TOOLS, archive_file

SLOW = {"httpdirfs-nocache"}        # one range GET per 128 KiB read: minutes a run, only with --all
READERS = 16
REGION = 16 << 20
QUICK_REGION = 4 << 20
CHUNK = 1 << 20


def regions(sizes: dict[str, int], length: int) -> list[tuple[str, int, int]]:
    """(file, offset, length) of READERS disjoint regions spread over the files by size."""
    total = sum(sizes.values())
    counts = {rel: max(1, round(READERS * size / total)) for rel, size in sizes.items()}
    first = next(iter(counts))
    counts[first] += READERS - sum(counts.values())
    out = []
    for rel, n in counts.items():
        step = sizes[rel] // n
        if step < length:
            raise RuntimeError(f"{rel} is too small for {n} disjoint regions of {length} bytes")
        out += [(rel, i * step, length) for i in range(n)]
    return out


def _reader(path, offset, length, reference, barrier, out, i):
    try:
        ref_fd = os.open(reference, os.O_RDONLY)
        try:
            with open(path, "rb", buffering=0) as f:
                f.seek(offset)
                buf = bytearray(CHUNK)
                view = memoryview(buf)
                got = 0
                barrier.wait()
                while got < length:
                    n = f.readinto(view[:min(CHUNK, length - got)])
                    if not n:
                        raise RuntimeError(f"end of file after {got} of {length} bytes at {offset}")
                    if not same_bytes(ref_fd, offset + got, view[:n]):
                        raise RuntimeError(f"bytes at {offset + got} differ from the archive file")
                    got += n
        finally:
            os.close(ref_fd)
        out[i] = (got, time.monotonic(), None)
    except Exception as e:
        out[i] = (0, time.monotonic(), f"{type(e).__name__}: {e}")
        barrier.abort()


def measure(ctx, tool: str, plan: list[tuple[str, int, int]]) -> Run:
    mount = None
    rss = None
    run = Run()
    try:
        settle(ctx.h, quiet=0.2, limit=5)
        ctx.h.clear_log()
        mount = ctx.tools.mount(tool, BIG_OBSID).start()
        rss = PeakRss(mount.pid)
        rss.start()
        top = ctx.tools.obsid_dir(tool, mount, BIG_OBSID)
        for rel in {p[0] for p in plan}:
            os.stat(os.path.join(top, rel))             # the walk, untimed
        barrier = threading.Barrier(len(plan) + 1)
        out: list = [None] * len(plan)
        threads = [threading.Thread(target=_reader, daemon=True,
                                    args=(os.path.join(top, rel), off, n, archive_file(ctx.data, BIG_OBSID, rel),
                                          barrier, out, i))
                   for i, (rel, off, n) in enumerate(plan)]
        for t in threads:
            t.start()
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            pass
        t0 = time.monotonic()
        for t in threads:
            t.join(timeout=ctx.args.timeout)
        if any(t.is_alive() for t in threads):
            raise RuntimeError(f"a reader did not end within {ctx.args.timeout} s")
        run.values["rss"] = rss.stop()
        errors = [o[2] for o in out if o[2]]
        if mount.died():
            errors.insert(0, mount.died())
        total = sum(o[0] for o in out)
        seconds = max(o[1] for o in out) - t0
        if total and seconds > 0:                   # a run that broke before its start has no speed
            run.values.update({"seconds": seconds, "mibps": total / seconds / 2**20, "read": total})
        run_ok(run, root_cause(errors))
    except Exception as e:
        run_ok(run, describe_exception(e))
    finally:
        if rss is not None:
            rss.stop()
        end_mount(run, mount)
    run.values.update(traffic(settle(ctx.h)))
    return run


def run(ctx) -> Section:
    a = ctx.args
    link = ctx.default_link()
    tools = ctx.tools_for(MOUNT_TOOLS)
    skipped = [t for t in tools if t in SLOW and not a.all]
    tools = [t for t in tools if t not in skipped]
    if skipped:
        ctx.say(f"[concurrent] skipping {', '.join(skipped)} (minutes per run; --all includes it)")
    sizes = {rel: ctx.manifest[ARCHIVE_DIR.format(obsid=BIG_OBSID) + "/" + rel][0] for rel in (BIG_EVT, BIG_GZ)}
    plan = regions(sizes, QUICK_REGION if a.quick else REGION)
    for rel, off, n in plan:                              # the references into the page cache
        with open(archive_file(ctx.data, BIG_OBSID, rel), "rb") as f:
            f.seek(off)
            f.read(n)
    runs: dict[str, list[Run]] = {t: [] for t in tools}
    load = load_average()
    for k in range(1, a.runs + 1):
        for tool in tools:
            r = measure(ctx, tool, plan)
            runs[tool].append(r)
            v = r.values
            rss = v.get("rss")
            progress("concurrent", tool, k, a.runs, r,
                     f"{fmt(v.get('mibps'), '.1f')} MiB/s in {fmt(v.get('seconds'))} s, peak RSS "
                     f"{fmt(None if rss is None else rss / 1e6, '.0f')} MB, {v.get('par', 0)} GETs at once")
    section = Section("concurrent", f"{READERS} concurrent readers of the large files", link,
                      ["tool", "seconds", "MiB/s (all)", "bytes moved / read", "GETs at once", "peak RSS (MB)",
                       "check"], load=f"{load} -> {load_average()}")
    for tool in tools:
        s = medians(runs[tool])
        section.summaries[tool] = s
        section.add_failures("concurrent", tool, runs[tool])
        moved = None if not (s.get("bytes") and s.get("read")) else s["bytes"] / s["read"]
        rss = None if s.get("rss") is None else s["rss"] / 1e6
        section.rows.append([tool, fmt(s.get("seconds")), fmt(s.get("mibps"), ".1f"), fmt(moved, ".2f"),
                             fmt(s.get("par"), ".0f"), fmt(rss, ".0f"), status_of(s)])
    per = plan[0][2] / 2**20
    counts = {rel: sum(1 for p in plan if p[0] == rel) for rel in sizes}
    section.notes.append(
        f"{READERS} readers, {per:.0f} MiB each: " + ", ".join(f"{n} in {rel}" for rel, n in counts.items()) +
        ", disjoint regions. bytes moved / read: the server's body bytes over the bytes the readers "
        "asked for (over 1: read-ahead past a region's end). The server's ceiling for 16 connections is "
        "in the ceiling table.")
    return section
