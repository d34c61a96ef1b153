"""ceiling: what the local HEASARC itself delivers at the link's per-connection cap.

1, 8 and 16 parallel range GETs of the large .evt, each on its own keep-alive connection
(opened and used once, by a HEAD, before the clock starts), each for `seconds` worth of the
cap at a different offset; every byte is compared with the archive file. A server that shapes
per connection gives about n x the cap; one that cannot (a rate limiter or proxy that
serializes) would be what every tool below measures, not the tool.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from urllib.parse import urlsplit

from ..checks import same_bytes
from ..model import Run, Section, fmt, load_average, medians, progress, root_cause, run_ok, status_of
from ..tools import ARCHIVE_DIR, BIG_EVT, BIG_OBSID, archive_file

STREAMS = (1, 8, 16)
PASS_SHARE = 0.85        # "about n x the cap": at least 85% of it (the added latency is in the time)
NO_CAP_BYTES = 64 << 20  # per stream when there is no cap (--quick: QUICK_NO_CAP_BYTES)
QUICK_NO_CAP_BYTES = 4 << 20


def _stream(host, port, path, offset, length, reference_fd, barrier, out, i):
    conn = http.client.HTTPConnection(host, port, timeout=120)
    try:
        conn.request("HEAD", path)
        conn.getresponse().read()
        barrier.wait()
        conn.request("GET", path, headers={"Range": f"bytes={offset}-{offset + length - 1}"})
        resp = conn.getresponse()
        if resp.status != 206:
            raise RuntimeError(f"range GET answered {resp.status}")
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        got = 0
        while got < length:
            n = resp.readinto(view[:min(len(buf), length - got)])
            if not n:
                raise RuntimeError(f"stream ended after {got} of {length} bytes")
            if not same_bytes(reference_fd, offset + got, view[:n]):
                raise RuntimeError(f"bytes at {offset + got} differ from the archive file")
            got += n
        out[i] = (got, time.monotonic(), None)
    except Exception as e:         # reported as this stream's failure
        out[i] = (0, time.monotonic(), f"{type(e).__name__}: {e}")
        try:
            barrier.abort()
        except threading.BrokenBarrierError:
            pass
    finally:
        conn.close()


def measure(ctx, n: int, length: int) -> Run:
    u = urlsplit(ctx.h.base)
    path = "/" + ARCHIVE_DIR.format(obsid=BIG_OBSID) + "/" + BIG_EVT
    size = ctx.manifest[ARCHIVE_DIR.format(obsid=BIG_OBSID) + "/" + BIG_EVT][0]
    length = min(length, size)
    fd = os.open(archive_file(ctx.data, BIG_OBSID, BIG_EVT), os.O_RDONLY)
    barrier = threading.Barrier(n + 1)
    out: list = [None] * n
    threads = [threading.Thread(target=_stream, args=(u.hostname, u.port, path,
                                                      (i * (size - length)) // max(n - 1, 1), length,
                                                      fd, barrier, out, i), daemon=True)
               for i in range(n)]
    run = Run()
    try:
        for t in threads:
            t.start()
        try:
            barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            pass
        t0 = time.monotonic()
        for t in threads:
            t.join(timeout=ctx.args.timeout)
        if any(t.is_alive() for t in threads):
            return run_ok(run, f"a stream did not end within {ctx.args.timeout} s")
        errors = [o[2] for o in out if o[2]]
        total = sum(o[0] for o in out)
        seconds = max(o[1] for o in out) - t0
        if total and seconds > 0:                   # a run that broke before its start has no speed
            run.values = {"seconds": seconds, "mibps": total / seconds / 2**20, "bytes": total}
        return run_ok(run, root_cause(errors))
    finally:
        os.close(fd)


def run(ctx) -> Section:
    a = ctx.args
    link = ctx.default_link()
    seconds = 1.0 if a.quick else 3.0
    if a.rate_mib > 0:
        length = int(a.rate_mib * 2**20 * seconds)
    else:
        length = QUICK_NO_CAP_BYTES if a.quick else NO_CAP_BYTES
    runs: dict[int, list[Run]] = {n: [] for n in STREAMS}
    load = load_average()
    for k in range(1, a.runs + 1):
        for n in STREAMS:
            r = measure(ctx, n, length)
            runs[n].append(r)
            progress("ceiling", f"{n} GETs", k, a.runs, r,
                     f"{fmt(r.values.get('mibps'), '.1f')} MiB/s in {fmt(r.values.get('seconds'))} s")
    section = Section("ceiling", "Server ceiling: parallel range GETs of the large file", link,
                      ["parallel GETs", "MiB/s (all)", "MiB/s per GET", "x the cap", "target", "result",
                       "check"], load=f"{load} -> {load_average()}")
    for n in STREAMS:
        s = medians(runs[n])
        section.summaries[f"{n}"] = s
        mibps = s.get("mibps")
        times = "-" if not (mibps and a.rate_mib > 0) else f"{mibps / a.rate_mib:.2f}x"
        if a.rate_mib > 0:
            target = f">= {PASS_SHARE * n * a.rate_mib:.1f} MiB/s"
            ok = mibps is not None and mibps >= PASS_SHARE * n * a.rate_mib
            result = "pass" if ok else "FAIL"
            s["pass"] = ok
        else:
            target, result = "(no cap)", "-"
        section.rows.append([str(n), fmt(mibps, ".1f"), fmt(None if mibps is None else mibps / n, ".2f"),
                             times, target, result, status_of(s)])
        section.add_failures("ceiling", f"{n} GETs", runs[n])
    section.notes.append(
        f"Each GET is a {length / 2**20:.0f} MiB range of {BIG_EVT} at its own offset, on its own "
        "keep-alive connection (opened by a HEAD before the clock starts); MiB/s is all bytes over "
        "the wall time from the common start to the last byte (the added latency included); every "
        "byte is compared with the archive file.")
    return section
