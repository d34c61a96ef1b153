"""cache: the cache directory's size during a cold copy of the big obsid with a small cache_size.

heasarcfs is mounted with cache_size=64M on a fresh cache dir and `cp -r` copies the 283 MB
obsid (checked against the manifest); a sampler walks the cache dir every 50 ms during the
copy and once after it, summing allocated blocks (what `du` shows). The target: no sample
above the limit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading

from ..checks import check_tree, expected_files
from ..model import (Run, Section, describe_exception, end_mount, fmt, load_average, medians, progress,
                          run_ok, status_of)
from ..procs import failure_of, run_timed
from ..serverlog import settle, traffic
from ..tools import BIG_OBSID

LIMIT_MIB = 64
INTERVAL = 0.05


def disk_usage(top: str) -> tuple[int, int]:
    """Allocated bytes of everything under top (du -s --block-size=1; directories included) and
    the apparent size of its files, skipping what vanishes while we look (evictions)."""
    allocated = apparent = 0
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            allocated += st.st_blocks * 512
            if name in files:
                apparent += st.st_size
    return allocated, apparent


class Sampler(threading.Thread):
    def __init__(self, top: str):
        super().__init__(daemon=True)
        self.top = top
        self.stop_event = threading.Event()
        self.samples: list[tuple[int, int]] = []

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.samples.append(disk_usage(self.top))
            self.stop_event.wait(INTERVAL)

    def finish(self) -> list[tuple[int, int]]:
        self.stop_event.set()
        self.join(timeout=30)
        self.samples.append(disk_usage(self.top))
        return self.samples


def measure(ctx) -> Run:
    run_dir = tempfile.mkdtemp(prefix="cache-", dir=ctx.work)
    mount = None
    run = Run()
    sampler = None
    try:
        settle(ctx.h, quiet=0.2, limit=5)
        ctx.h.clear_log()
        mount = ctx.tools.mount("heasarcfs", BIG_OBSID, heasarcfs_options=f"cache_size={LIMIT_MIB}M").start()
        sampler = Sampler(mount.cache)
        sampler.start()
        dest = os.path.join(run_dir, "copy")
        secs, done = run_timed(["cp", "-r", ctx.tools.obsid_dir("heasarcfs", mount, BIG_OBSID), dest],
                               run_dir, ctx.args.timeout)
        samples = sampler.finish()
        sampler = None
        run.values = {"seconds": secs, "max": max(a for a, _ in samples), "final": samples[-1][0],
                      "max_files": max(f for _, f in samples), "samples": len(samples)}
        wrong = failure_of(done) or check_tree(dest, expected_files(ctx.manifest, BIG_OBSID), BIG_OBSID) \
            or mount.died()
        run_ok(run, wrong)
    except Exception as e:
        run_ok(run, describe_exception(e))
    finally:
        if sampler is not None:
            sampler.finish()
        end_mount(run, mount)
        shutil.rmtree(run_dir, ignore_errors=True)
    run.values.update(traffic(settle(ctx.h)))
    return run


def run(ctx) -> Section:
    a = ctx.args
    link = ctx.default_link()
    section = Section("cache", f"Cache dir size during a cold copy of the big obsid, cache_size={LIMIT_MIB}M",
                      link, ["tool", "copy seconds", "largest du (MiB)", "largest file bytes (MiB)", "after (MiB)",
                             "samples", "limit (MiB)", "bytes moved", "check"])
    if "heasarcfs" not in a.tools:
        section.notes.append("not run: heasarcfs is not among --tools")
        return section
    load = load_average()
    runs = []
    for k in range(1, a.runs + 1):
        r = measure(ctx)
        runs.append(r)
        v = r.values
        progress("cache", "heasarcfs", k, a.runs, r,
                 f"{fmt(v.get('seconds'))} s, largest du {fmt(None if v.get('max') is None else v['max'] / 2**20, '.1f')} MiB "
                 f"in {v.get('samples', 0)} samples")
    section.load = f"{load} -> {load_average()}"
    s = medians(runs)
    # the target is about every sample of every run, not a median
    s["max_all"] = max((r.values["max"] for r in runs if r.values.get("max") is not None), default=None)
    s["max_files_all"] = max((r.values["max_files"] for r in runs if r.values.get("max_files") is not None),
                             default=None)
    section.summaries["heasarcfs"] = s
    section.add_failures("cache", "heasarcfs", runs)
    mib = (lambda x: None if x is None else x / 2**20)
    section.rows.append(["heasarcfs", fmt(s.get("seconds")), fmt(mib(s["max_all"]), ".2f"),
                         fmt(mib(s["max_files_all"]), ".2f"), fmt(mib(s.get("final")), ".2f"),
                         fmt(s.get("samples"), ".0f"), str(LIMIT_MIB), fmt(s.get("bytes"), ".0f"), status_of(s)])
    section.notes.append(
        f"largest du: the largest sample of all runs (every {INTERVAL * 1000:.0f} ms during the copy and once "
        "after it; allocated blocks of everything in the cache dir, directories included, as `du` counts: "
        "the target's measure); largest file bytes: the largest sum of the files' sizes; after: the "
        "median of the last samples' du.")
    return section
