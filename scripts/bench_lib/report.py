"""The report: the machine, the command, the targets and every case's table, as Markdown (written
to docs/benchmarks.md and printed)."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import time

from .model import Section, link_label, load_average
from .targets import TARGET_LATENCY_MS, TARGET_RATE_MIB, link_matches, verdicts


def machine() -> dict:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                    break
    except (OSError, ValueError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count() or 0, "kernel": platform.release(), "memory": mem}


def _first_line(cmd, top, containing: str = "") -> str:
    """The first line of a command's output (stdout, then stderr) that contains `containing`."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, cwd=top)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    for line in (done.stdout + "\n" + done.stderr).splitlines():
        if line.strip() and containing.lower() in line.lower():
            return line.strip()
    return "" if done.returncode == 0 else "?"


def versions(top, heasarcfs_bin: str) -> dict:
    commit = _first_line(["git", "rev-parse", "--short", "HEAD"], top)
    dirty = _first_line(["git", "status", "--porcelain", "--untracked-files=no"], top)
    return {"commit": commit + (" (with uncommitted changes)" if dirty not in ("?", "") else ""),
            "heasarcfs": _first_line([heasarcfs_bin, "--version"], top, "heasarcfs"),
            "wget": _first_line(["wget", "--version"], top, "wget"),
            "httpdirfs": _first_line(["httpdirfs", "--version"], top, "httpdirfs"),
            "rclone": _first_line(["rclone", "version"], top, "rclone")}


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def render(args, argv: list[str], sections: list[Section], top, started: float, load_start: str,
           heasarcfs_bin: str) -> str:
    m = machine()
    v = versions(top, heasarcfs_bin)
    by_case = {s.case: s for s in sections}
    lines = ["# Benchmarks", "",
             f"Written by `scripts/bench` on {time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(started))} "
             f"in {(time.time() - started) / 60:.1f} min.", "",
             "    " + " ".join(shlex.quote(a) for a in ["scripts/bench", *argv]), "",
             f"- machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, {m['memory']} memory; "
             f"load average (1, 5, 15 min) {load_start} at the start, {load_average()} at the end",
             f"- {v['heasarcfs']}, the worktree at commit {v['commit']}; peers: {v['httpdirfs']}; {v['rclone']}; {v['wget']}",
             f"- link: {link_label(args.latency_ms, args.rate_mib)} (the local HEASARC's latency_ms and "
             "rate_kib knobs), except where a case says otherwise; "
             f"{args.runs} run(s) per tool and case, medians shown", ""]
    if not link_matches(args.latency_ms, args.rate_mib):
        lines += [f"The targets are set for {TARGET_LATENCY_MS:g} ms and {TARGET_RATE_MIB:g} MiB/s per connection; "
                  "this run used another link, so its verdicts are indicative only.", ""]
    lines += ["## Targets", ""]
    checked = verdicts(by_case)
    lines += _table(["target", "goal", "measured (heasarcfs, median)", "result"],
                    [[t.target, t.goal, t.measured, t.result] for t in checked])
    lines.append("")
    if any(t.target.startswith("server ceiling") and t.result != "pass" for t in checked):
        lines += ["**The local HEASARC did not deliver its ceiling in this run** (see the ceiling table): "
                  "where a tool's speed nears it, the server (or this machine's load) is what is measured, "
                  "not the tool.", ""]
    for s in sections:
        lines += [f"## {s.title}", "", f"Case `{s.case}`; link: {s.link}; load average {s.load or '-'}.", ""]
        if s.rows:
            lines += _table(s.header, s.rows)
            lines.append("")
        lines += s.notes
        lines.append("")
    failures = [f for s in sections for f in s.failures]
    if failures:
        lines += ["## Failed runs", ""] + [f"- {_one_line(f)}" for f in failures] + [""]
    peers = [f for s in sections for f in s.peer_failures]
    if peers:
        lines += ["## Failed runs of the peers", "",
                  "A peer's failure is its result (reported, not a failure of the benchmark):", ""]
        lines += [f"- {_one_line(f)}" for f in peers] + [""]
    lines += ["## Method", "",
              "Every case runs against a private local HEASARC (scripts/local-heasarc: the VO services "
              "and a real Apache behind a shaping proxy) on this machine; the latency is added before each "
              "answer starts and the rate is capped per connection, from the first body byte. Every "
              "measurement is cold unless it says otherwise: a fresh mount, cache dir and destination. "
              "Every answer is checked (copies against build/heasarc-data/manifest.tsv: paths, sizes, "
              "sha256; headers and regions against the archive's own files); a wrong answer fails the run. "
              "`scripts/bench` exits 1 when a run of heasarcfs, wget, the server or local disk failed; "
              "a peer's failure (httpdirfs, rclone) is reported as its result. The speed targets do not "
              "change the exit status.", ""]
    return "\n".join(lines)
