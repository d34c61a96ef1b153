"""header: the primary and first extension headers of the large .evt, read as astropy/cfitsio do.

A mount tool: fresh mount, the file's path looked up (stat, untimed: the walk is the `ls`
case's), the request log cleared, then fits_header_reader.py reads the two headers; its seconds
are measured inside the reader (open to close, no interpreter start-up). wget has to download
the whole file first: its seconds are the download plus the same reader on the local copy.
Bytes moved are the body bytes of the file's requests in the server's log. The headers' sha256
is checked against the reader's on the archive's own file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

from .. import fits_header_reader
from ..model import (Run, Section, describe_exception, end_mount, fmt, load_average, medians, progress,
                          run_ok, status_of)
from ..procs import failure_of, run_timed
from ..serverlog import of_file, settle
from ..tools import BIG_EVT, BIG_OBSID, MOUNT_TOOLS, archive_file, file_url

READER = os.path.abspath(fits_header_reader.__file__)
PYTHON = "/usr/bin/python3"


def read_headers(path: str, timeout: float) -> tuple[dict | None, str | None]:
    done = subprocess.run([PYTHON, READER, path], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    wrong = failure_of(done)
    if wrong:
        return None, wrong
    return json.loads(done.stdout), None


def measure(ctx, tool: str, reference: dict) -> Run:
    run_dir = tempfile.mkdtemp(prefix=f"header-{tool}-", dir=ctx.work)
    mount = None
    run = Run()
    name = os.path.basename(BIG_EVT)
    try:
        settle(ctx.h, quiet=0.2, limit=5)
        ctx.h.clear_log()
        download = 0.0
        if tool == "wget":
            target = os.path.join(run_dir, name)
            download, done = run_timed(["wget", "-q", "-O", target, file_url(ctx.h.base, BIG_OBSID, BIG_EVT)],
                                       run_dir, ctx.args.timeout)
            if failure_of(done):
                raise RuntimeError("wget: " + failure_of(done))
        else:
            mount = ctx.tools.mount(tool, BIG_OBSID).start()
            target = os.path.join(ctx.tools.obsid_dir(tool, mount, BIG_OBSID), BIG_EVT)
            os.stat(target)                     # the walk, untimed
            settle(ctx.h, quiet=0.2, limit=5)
            ctx.h.clear_log()
        result, wrong = read_headers(target, ctx.args.timeout)
        if result is not None:
            run.values = {"seconds": download + result["seconds"], "reads": result["reads"]}
            if result["sha256"] != reference["sha256"]:
                wrong = "the headers differ from the archive file's"
        wrong = wrong or (mount.died() if mount else None)
        run_ok(run, wrong)
    except Exception as e:
        run_ok(run, describe_exception(e))
    finally:
        end_mount(run, mount)
        shutil.rmtree(run_dir, ignore_errors=True)
    entries = settle(ctx.h)
    mine = of_file(entries, name)
    run.values.update({"file_bytes": sum(e["bytes"] for e in mine), "file_requests": len(mine),
                       "requests": len(entries)})
    return run


def run(ctx) -> Section:
    a = ctx.args
    link = ctx.default_link()
    tools = ctx.tools_for(["wget"] + MOUNT_TOOLS)
    reference = fits_header_reader.read_two_headers(archive_file(ctx.data, BIG_OBSID, BIG_EVT))
    runs: dict[str, list[Run]] = {t: [] for t in tools}
    load = load_average()
    for k in range(1, a.runs + 1):
        for tool in tools:
            r = measure(ctx, tool, reference)
            runs[tool].append(r)
            v = r.values
            progress("header", tool, k, a.runs, r,
                     f"{fmt(v.get('seconds'), '.3f')} s, {v.get('file_bytes', 0):>10} B of the file in "
                     f"{v.get('file_requests', 0)} requests")
    section = Section("header", f"Primary + first extension header of the large `.evt` ({BIG_EVT})", link,
                      ["tool", "seconds", "bytes moved", "KiB moved", "file requests", "check"],
                      load=f"{load} -> {load_average()}")
    for tool in tools:
        s = medians(runs[tool])
        section.summaries[tool] = s
        section.add_failures("header", tool, runs[tool])
        kib = None if s.get("file_bytes") is None else s["file_bytes"] / 1024
        section.rows.append([tool, fmt(s.get("seconds"), ".3f"), fmt(s.get("file_bytes"), ".0f"),
                             fmt(kib, ".1f"), fmt(s.get("file_requests"), ".0f"), status_of(s)])
    section.notes.append(
        f"The reader reads {reference['bytes_read']} bytes in {reference['reads']} read(2) calls of 2880 "
        f"(the primary header, then the extension header at {reference['extension_offset']}). seconds: "
        "open to close inside the reader (wget: its download of the whole file plus that); bytes moved: "
        "body bytes of the file's requests in the server's log.")
    return section
