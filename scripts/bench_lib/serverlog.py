"""What the local HEASARC's request log says about one run: bytes, requests, parallelism."""

from __future__ import annotations

import time


def settle(heasarc, quiet: float = 0.5, limit: float = 15.0) -> list[dict]:
    """The log once no entry has been added for `quiet` s (streams a client dropped end late)."""
    deadline = time.monotonic() + limit
    entries = heasarc.log()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        again = heasarc.log()
        if len(again) == len(entries):
            return again
        entries = again
    return entries


def is_file_get(e: dict) -> bool:
    """A GET of file bytes (not a listing, a VO query, a HEAD)."""
    path = e["path"].split("?", 1)[0]
    return e["method"] == "GET" and e.get("service") == "archive" and not path.endswith("/") \
        and "?" not in e["path"] and e["status"] in (200, 206)


def of_file(entries: list[dict], name: str) -> list[dict]:
    """The entries (any method) of the archive file whose path ends with /name."""
    return [e for e in entries if e.get("service") == "archive"
            and e["path"].split("?", 1)[0].endswith("/" + name)]


def peak_in_flight(entries: list[dict]) -> int:
    """Most file GETs in flight at once: the parallelism of the data transfer."""
    events = []
    for e in filter(is_file_get, entries):
        start = e["time"] - e["duration"]
        events.append((start, 1))
        # the log stamps a request when its handler ends, a moment after the client has its
        # answer and may have sent the next one: 2 ms of overlap is not parallelism
        events.append((e["time"] - min(0.002, e["duration"] / 2), -1))
    events.sort(key=lambda t: (t[0], t[1]))
    peak = level = 0
    for _, d in events:
        level += d
        peak = max(peak, level)
    return peak


def traffic(entries: list[dict]) -> dict:
    """The run's totals: body bytes, requests, most file GETs at once."""
    return {"bytes": sum(e["bytes"] for e in entries), "requests": len(entries),
            "par": peak_in_flight(entries)}
