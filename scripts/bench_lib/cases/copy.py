"""copy, small, nocap: a cold copy of one observation by each tool.

  copy   the big obsid (60001111005, ~283 MB) on the benchmark's link, every tool
  small  the tutorial's obsid (60001111003, ~1.8 MB in 17 files) on the benchmark's link
  nocap  the big obsid with no added latency and no rate cap, wget and heasarcfs only (is the
         CPU the limit?)

Cold every run: a fresh mount, cache dir and destination (Apache and the kernel keep their own
caches). A mount tool's time is `cp -r` alone (mounting excluded); heasarcfs's includes its path
walk's VO queries. wget runs the tutorial's `wget -r` of the DataLink directory URL. Every copy
is checked file by file against the manifest (paths, sizes, sha256, nothing extra).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from ..checks import check_tree, expected_files
from ..model import (Run, Section, describe_exception, end_mount, fmt, load_average, medians, progress,
                          run_ok, status_of)
from ..procs import failure_of, run_timed
from ..serverlog import settle, traffic
from ..tools import BIG_OBSID, MOUNT_TOOLS, SMALL_OBSID, WGET, directory_url

SLOW = {("copy", "httpdirfs-nocache")}          # minutes a run: only with --all

SPECS = {
    "copy": {"obsid": BIG_OBSID, "title": "Cold `cp -r` of the big obsid ({obsid})", "link": "default"},
    "small": {"obsid": SMALL_OBSID, "title": "Cold `cp -r` of the tutorial's obsid ({obsid})", "link": "default"},
    "nocap": {"obsid": BIG_OBSID, "title": "Cold `cp -r` of the big obsid ({obsid}), no latency, no cap",
              "link": "none", "tools": ["wget", "heasarcfs"]},
}


def measure(ctx, tool: str, obsid: str) -> Run:
    run_dir = tempfile.mkdtemp(prefix=f"copy-{tool}-", dir=ctx.work)
    mount = None
    run = Run()
    size = sum(v[0] for v in expected_files(ctx.manifest, obsid).values())
    try:
        settle(ctx.h, quiet=0.2, limit=5)
        ctx.h.clear_log()
        dest = os.path.join(run_dir, "copy")
        if tool == "wget":
            os.mkdir(dest)
            secs, done = run_timed(WGET.format(directory_url(ctx.h.base, obsid)), dest, ctx.args.timeout, shell=True)
        else:
            mount = ctx.tools.mount(tool, obsid).start()
            secs, done = run_timed(["cp", "-r", ctx.tools.obsid_dir(tool, mount, obsid), dest],
                                   run_dir, ctx.args.timeout)
        run.values = {"seconds": secs, "mibps": size / secs / 2**20}
        run_ok(run, failure_of(done) or check_tree(dest, expected_files(ctx.manifest, obsid), obsid)
               or (mount.died() if mount else None))
    except Exception as e:              # a timeout, a mount that did not come up
        run_ok(run, describe_exception(e))
    finally:
        end_mount(run, mount)
        shutil.rmtree(run_dir, ignore_errors=True)
    run.values.update(traffic(settle(ctx.h)))
    return run


def run(ctx, case: str) -> Section:
    spec = SPECS[case]
    obsid = spec["obsid"]
    a = ctx.args
    link = ctx.default_link() if spec["link"] == "default" else ctx.set_link(0, 0)
    tools = ctx.tools_for(spec.get("tools", ["wget"] + MOUNT_TOOLS))
    skipped = [t for t in tools if (case, t) in SLOW and not a.all]
    tools = [t for t in tools if t not in skipped]
    if skipped:
        ctx.say(f"[{case}] skipping {', '.join(skipped)} (minutes per run; --all includes it)")
    runs: dict[str, list[Run]] = {t: [] for t in tools}
    load = load_average()
    for k in range(1, a.runs + 1):
        for tool in tools:
            r = measure(ctx, tool, obsid)
            runs[tool].append(r)
            v = r.values
            progress(case, tool, k, a.runs, r,
                     f"{fmt(v.get('seconds'))} s, {v.get('bytes', 0):>11} B, {v.get('requests', 0):>4} requests, "
                     f"{v.get('par', 0):>2} GETs at once")
    section = Section(case, spec["title"].format(obsid=obsid), link,
                      ["tool", "seconds", "MiB/s", "bytes moved", "requests", "GETs at once", "vs wget", "check"],
                      load=f"{load} -> {load_average()}")
    for tool in tools:
        section.summaries[tool] = medians(runs[tool])
        section.add_failures(case, tool, runs[tool])
    base = section.summaries.get("wget")
    for tool in tools:
        s = section.summaries[tool]
        ratio = "-"
        if base and base["failed"] == 0 and base.get("seconds") and s["failed"] == 0 and s.get("seconds"):
            ratio = f"{base['seconds'] / s['seconds']:.2f}x"
        section.rows.append([tool, fmt(s.get("seconds")), fmt(s.get("mibps"), ".1f"),
                             fmt(s.get("bytes"), ".0f"), fmt(s.get("requests"), ".0f"),
                             fmt(s.get("par"), ".0f"), ratio, status_of(s)])
    section.notes.append(
        "seconds: the copy command alone (mounting excluded); MiB/s: the obsid's bytes over that time; "
        "bytes moved, requests: what the local HEASARC logged from before the mount to after the "
        "unmount (heasarcfs's include its VO queries); GETs at once: most file GETs in flight together; "
        "vs wget: wget's seconds over the tool's.")
    return section
