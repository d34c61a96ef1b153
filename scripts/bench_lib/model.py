"""The shapes every case shares: one run's outcome, a case's table, the context cases run in."""

from __future__ import annotations

import statistics
import subprocess
import sys
from dataclasses import dataclass, field

from .tools import PEERS


@dataclass
class Run:
    """One measurement: ok when its answer was checked and right; values are its numbers."""
    ok: bool = False
    error: str | None = None
    values: dict = field(default_factory=dict)
    log_tail: str = ""


def medians(runs: list[Run]) -> dict:
    """Per value, the median over the runs that passed their check (over all runs when none
    did: a failed row still shows what it measured), plus runs/failed counts."""
    pool = [r for r in runs if r.ok] or runs
    out: dict = {"runs": len(runs), "failed": sum(1 for r in runs if not r.ok)}
    keys = {k for r in pool for k in r.values}
    for k in sorted(keys):
        xs = [r.values[k] for r in pool if r.values.get(k) is not None]
        out[k] = statistics.median(xs) if xs else None
    return out


@dataclass
class Section:
    """A case's part of the report: a table (header + rows of strings), notes under it, the
    medians the targets read (summaries[tool]), and the errors of failed runs."""
    case: str
    title: str
    link: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summaries: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    peer_failures: list[str] = field(default_factory=list)
    load: str = ""

    def add_failures(self, label: str, tool: str, runs: list["Run"]) -> None:
        """Records the errors of failed runs: a peer's (httpdirfs, rclone) are reported only,
        anything else's (heasarcfs, wget, the server, local disk) fails the benchmark."""
        errors = [f"{label} {tool}: {r.error}" for r in runs if not r.ok]
        (self.peer_failures if tool in PEERS else self.failures).extend(errors)


class Context:
    """What a case needs: the options, the local HEASARC, the tools, the manifest, a work
    dir, and say() for progress lines."""

    def __init__(self, args, heasarc, tools, manifest: dict, data_dir, workdir: str):
        self.args = args
        self.h = heasarc
        self.tools = tools
        self.manifest = manifest
        self.data = data_dir
        self.work = workdir

    def set_link(self, latency_ms: float, rate_mib: float) -> str:
        """Shapes the server (knobs apply to requests that start from now on); its label."""
        self.h.set_knobs(latency_ms=latency_ms, rate_kib=rate_mib * 1024)
        return link_label(latency_ms, rate_mib)

    def default_link(self) -> str:
        return self.set_link(self.args.latency_ms, self.args.rate_mib)

    def tools_for(self, allowed: list[str]) -> list[str]:
        return [t for t in self.args.tools if t in allowed]

    @staticmethod
    def say(line: str) -> None:
        print(line, flush=True)


def link_label(latency_ms: float, rate_mib: float) -> str:
    rate = f"{rate_mib:g} MiB/s per connection" if rate_mib > 0 else "no rate cap"
    return f"{latency_ms:g} ms per request, {rate}"


def load_average() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def fmt(value, spec: str = ".2f", unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def status_of(summary: dict) -> str:
    return "ok" if summary["failed"] == 0 else f"FAIL {summary['failed']}/{summary['runs']}"


def progress(case: str, tool: str, n: int, total: int, run: Run, detail: str) -> None:
    status = "ok" if run.ok else f"FAIL: {run.error}"
    print(f"[{case}] {tool:<17} run {n}/{total}: {detail}  {status}", flush=True)
    if run.log_tail:
        print("    daemon log:\n    " + run.log_tail.replace("\n", "\n    "), flush=True)


def run_ok(run: Run, error: str | None) -> Run:
    run.error = error
    run.ok = error is None
    return run


def end_mount(run: Run, mount) -> None:
    """Stops a run's mount (if any). A daemon that had exited on its own before the unmount
    (a crash, e.g. while releasing files after the last read) fails the run; a failed run keeps
    the daemon's last log lines."""
    if mount is None:
        return
    tail = mount.log_tail()
    mount.stop()
    if run.ok and mount.early_exit:
        run_ok(run, mount.early_exit)
    if not run.ok:
        run.log_tail = tail


def root_cause(errors: list[str]) -> str | None:
    """The first error that is not another thread's broken barrier (a consequence)."""
    real = [e for e in errors if not e.startswith("BrokenBarrierError")]
    return (real or errors or [None])[0]


def describe_exception(e: BaseException) -> str:
    if isinstance(e, subprocess.TimeoutExpired):
        return f"timed out after {e.timeout} s"
    return f"{type(e).__name__}: {e}"


def eprint(*a) -> None:
    print("bench:", *a, file=sys.stderr, flush=True)
