"""ls: a cold `ls -lR` of the big obsid's directory through each mount.

heasarcfs: `ls -lR numaster/NGC4151/60001111005` right after mounting, so its path walk's VO
queries (RegTAP, Sesame, cone search, DataLink) are part of it; the peers list their mount
point (the obsid's directory URL). The output is checked: exactly the manifest's files with
their sizes.
"""

from __future__ import annotations

from ..checks import check_listing, expected_files
from ..model import (Run, Section, describe_exception, end_mount, fmt, load_average, medians, progress,
                          run_ok, status_of)
from ..procs import failure_of, run_timed
from ..serverlog import settle
from ..tools import BIG_OBSID, MOUNT_TOOLS


def measure(ctx, tool: str) -> Run:
    mount = None
    run = Run()
    try:
        settle(ctx.h, quiet=0.2, limit=5)
        ctx.h.clear_log()
        mount = ctx.tools.mount(tool, BIG_OBSID).start()
        top = ctx.tools.obsid_dir(tool, mount, BIG_OBSID)
        secs, done = run_timed(["ls", "-lR", "--time-style=+%s", top], ctx.work, ctx.args.timeout)
        run.values = {"seconds": secs}
        run_ok(run, failure_of(done) or check_listing(done.stdout.decode(errors="replace"), top,
                                                      expected_files(ctx.manifest, BIG_OBSID))
               or mount.died())
    except Exception as e:
        run_ok(run, describe_exception(e))
    finally:
        end_mount(run, mount)
    entries = settle(ctx.h)
    run.values.update({"requests": len(entries), "bytes": sum(e["bytes"] for e in entries)})
    return run


def run(ctx) -> Section:
    a = ctx.args
    link = ctx.default_link()
    tools = ctx.tools_for(MOUNT_TOOLS)
    runs: dict[str, list[Run]] = {t: [] for t in tools}
    load = load_average()
    for k in range(1, a.runs + 1):
        for tool in tools:
            r = measure(ctx, tool)
            runs[tool].append(r)
            progress("ls", tool, k, a.runs, r,
                     f"{fmt(r.values.get('seconds'), '.3f')} s, {r.values.get('requests', 0)} requests")
    section = Section("ls", f"Cold `ls -lR` of the big obsid ({BIG_OBSID})", link,
                      ["tool", "seconds", "requests", "bytes moved", "check"], load=f"{load} -> {load_average()}")
    for tool in tools:
        s = medians(runs[tool])
        section.summaries[tool] = s
        section.add_failures("ls", tool, runs[tool])
        section.rows.append([tool, fmt(s.get("seconds"), ".3f"), fmt(s.get("requests"), ".0f"),
                             fmt(s.get("bytes"), ".0f"), status_of(s)])
    section.notes.append(
        "seconds: `ls -lR` right after mounting (heasarcfs: of numaster/NGC4151/" + BIG_OBSID +
        ", its VO queries included; the peers: of their mount point, the obsid's directory URL); "
        "requests: everything the server logged from the mount to the unmount.")
    return section
