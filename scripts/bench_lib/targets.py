"""The targets of issue 7, read from the cases' medians: measured value, goal, pass or FAIL.

Targets hold at the issue's link (50 ms per request, 8 MiB/s per connection); on another link
the verdicts are printed but marked as such. A target whose heasarcfs runs gave a wrong answer
fails whatever its speed; one whose case was not run is "not measured".
"""

from __future__ import annotations

from dataclasses import dataclass

from .cases.cache_limit import LIMIT_MIB
from .model import Section
from .tools import PEERS

TARGET_LATENCY_MS = 50.0
TARGET_RATE_MIB = 8.0


@dataclass
class Verdict:
    target: str
    goal: str
    measured: str
    result: str        # pass | FAIL | not measured


def _hfs(sections: dict, case: str) -> dict | None:
    s = sections.get(case)
    return None if s is None else s.summaries.get("heasarcfs")


def _check(name: str, goal: str, s: dict | None, value, ok, shown: str) -> Verdict:
    if s is None or value is None:
        return Verdict(name, goal, "-", "not measured")
    if s["failed"]:
        return Verdict(name, goal, shown, f"FAIL (wrong answer or error in {s['failed']}/{s['runs']} runs)")
    return Verdict(name, goal, shown, "pass" if ok else "FAIL")


def _ratio(name, goal, limit, sections, case, base_tools, base_label) -> Verdict:
    hfs = _hfs(sections, case)
    sec = sections.get(case)
    bases = [] if sec is None else [(sec.summaries[t]["seconds"], t) for t in base_tools
                                    if t in sec.summaries and sec.summaries[t]["failed"] == 0
                                    and sec.summaries[t].get("seconds")]
    if hfs is None or not hfs.get("seconds") or not bases:
        return Verdict(name, goal, "-", "not measured")
    best, tool = min(bases)
    ratio = best / hfs["seconds"]
    label = base_label or tool
    return _check(name, goal, hfs, ratio, ratio >= limit,
                  f"{ratio:.2f}x ({hfs['seconds']:.2f} s vs {label} {best:.2f} s)")


def verdicts(sections: dict[str, Section]) -> list[Verdict]:
    out = []
    ceiling = sections.get("ceiling")
    if ceiling is not None:
        for n in ("8", "16"):
            s = ceiling.summaries.get(n)
            if s is None or "pass" not in s:
                continue
            out.append(Verdict(f"server ceiling, {n} parallel GETs", f"about {n}x the cap",
                               f"{s['mibps']:.1f} MiB/s" if s.get("mibps") else "-",
                               "pass" if s["pass"] and not s["failed"] else "FAIL"))
    out.append(_ratio("cold copy vs `wget -r`", ">= 6x (done when >= 5x)", 6.0, sections, "copy",
                      ["wget"], "wget"))
    out.append(_ratio("cold copy vs the best peer", ">= 4x", 4.0, sections, "copy", PEERS, None))
    h = _hfs(sections, "header")
    b = None if h is None else h.get("file_bytes")
    out.append(_check("header: bytes moved", "<= 128 KiB", h, b, b is not None and b <= 128 * 1024,
                      "-" if b is None else f"{b / 1024:.1f} KiB in {h.get('file_requests', 0):.0f} requests"))
    t = None if h is None else h.get("seconds")
    out.append(_check("header: time", "<= 0.2 s", h, t, t is not None and t <= 0.2,
                      "-" if t is None else f"{t:.3f} s"))
    ls = _hfs(sections, "ls")
    t = None if ls is None else ls.get("seconds")
    out.append(_check("`ls -lR` cold, with the VO queries", "<= 0.5 s", ls, t, t is not None and t <= 0.5,
                      "-" if t is None else f"{t:.3f} s, {ls.get('requests', 0):.0f} requests"))
    warm = sections.get("warm")
    out.append(_ratio("warm re-read vs local disk", ">= 0.9x", 0.9, sections, "warm", ["local disk"],
                      "local disk") if warm and "local disk" in warm.summaries
               else Verdict("warm re-read vs local disk", ">= 0.9x", "-", "not measured"))
    c = _hfs(sections, "concurrent")
    rss = None if c is None else c.get("rss")
    out.append(_check("peak RSS, 16 readers", "<= 150 MB", c, rss, rss is not None and rss <= 150e6,
                      "-" if rss is None else f"{rss / 1e6:.0f} MB ({c.get('mibps') or 0:.1f} MiB/s)"))
    cache = _hfs(sections, "cache")
    mx = None if cache is None else cache.get("max_all")
    out.append(_check("cache never above its limit", f"<= {LIMIT_MIB} MiB", cache, mx,
                      mx is not None and mx <= LIMIT_MIB * 2**20,
                      "-" if mx is None else f"largest du {mx / 2**20:.1f} MiB"))
    out.append(_ratio("no latency, no cap: cold copy vs `wget -r`", ">= 1x", 1.0, sections, "nocap",
                      ["wget"], "wget"))
    return out


def link_matches(latency_ms: float, rate_mib: float) -> bool:
    return latency_ms == TARGET_LATENCY_MS and rate_mib == TARGET_RATE_MIB
