"""Knobs (latency, rate cap, injected faults) and the request log of the local HEASARC.

Knobs are settable at start (command-line flags) and while running (control endpoints):

  latency_ms   float  added to every request before its answer starts
  rate_kib     float  cap of the response byte rate, per connection, in KiB/s (0 = none);
                      paced from the first body byte, after the latency (see Throttle)
  fault        str    none | 5xx | reset | truncate | ignore_range | hang | mix (each faulted
                      request gets one of 5xx, reset, truncate, ignore_range at random)
  fault_path   str    only requests whose path (with query) matches: a regex matched at the
                      start of the path ("^" implied), or a plain prefix of it; "" = all
  fault_count  int    apply the fault to the next N matching requests only, then fault=none;
                      null = every matching request
  fault_skip   int    let the first K matching requests through untouched before counting
                      (fault_skip=1, fault_count=1: "the 2nd GET of this file fails")
  fault_probability  float  a matching request is faulted with this probability (default 1;
                      0.1: "10 % of archive requests faulted"); skipped ones are not counted
  datalink_directory_content_type  str  content_type of DataLink's directory row
                      (default "directory"; "text/html" reproduces the 2026 drift)
  s3_page_keys int    entries per ListObjectsV2 page of the S3 endpoint (1..1000, default
                      1000 as AWS); smaller pages make clients follow continuation tokens
  archive_validators  bool  false: the archive's answers carry no ETag and no Last-Modified
                      (a server or proxy without validators: only sizes tell versions apart)
  cone_body_bytes  int  0 = off; N: every cone-search answer with at least one row is padded
                      with synthetic rows (copies of its first row, keys PAD<n>) and
                      whitespace to exactly N bytes (an answer already longer is sent as is):
                      answers of a chosen size around the body cap (test_mount_memory.py)

The request log records every request but the control ones, as JSON objects:
  {"time", "method", "path" (with query), "range", "status", "bytes" (body bytes sent),
   "duration" (s), "service", "fault", "client"}
kept in memory (GET <control>/log) and appended, one JSON line each, to --request-log FILE.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time

FAULTS = ("none", "5xx", "reset", "truncate", "ignore_range", "hang", "mix")
MIXED_FAULTS = ("5xx", "reset", "truncate", "ignore_range")

DEFAULTS = {
    "latency_ms": 0.0,
    "rate_kib": 0.0,
    "fault": "none",
    "fault_path": "",
    "fault_count": None,
    "fault_skip": 0,
    "fault_probability": 1.0,
    "datalink_directory_content_type": "directory",
    "s3_page_keys": 1000,
    "archive_validators": True,
    "cone_body_bytes": 0,
}


class KnobError(ValueError):
    pass


def _integer(name: str, value) -> int:
    """An integer knob's value (a bool is not one), or a KnobError naming the knob."""
    if isinstance(value, bool):
        raise KnobError(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise KnobError(f"{name} must be an integer, not {value!r}")


def _validate(name: str, value):
    if name not in DEFAULTS:
        raise KnobError(f"unknown knob {name!r} (known: {', '.join(DEFAULTS)})")
    if name == "fault_probability":
        try:
            v = 1.0 if value is None else float(value)
        except (TypeError, ValueError):
            raise KnobError(f"fault_probability must be a number, not {value!r}")
        if not 0.0 <= v <= 1.0:
            raise KnobError("fault_probability must be between 0 and 1")
        return v
    if name in ("latency_ms", "rate_kib"):
        if value is None:
            return 0.0
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise KnobError(f"{name} must be a number, not {value!r}")
        if not v >= 0 or v == float("inf"):
            raise KnobError(f"{name} must be >= 0")
        return v
    if name == "fault":
        v = "none" if value in (None, "") else str(value)
        if v not in FAULTS:
            raise KnobError(f"fault must be one of {', '.join(FAULTS)}, not {value!r}")
        return v
    if name == "fault_path":
        v = "" if value is None else str(value)
        try:
            re.compile(v)
        except re.error as e:
            raise KnobError(f"fault_path is not a valid regex: {e}")
        return v
    if name in ("fault_count", "fault_skip"):
        if value is None:
            return None if name == "fault_count" else 0
        v = _integer(name, value)
        if v < 0:
            raise KnobError(f"{name} must be >= 0")
        return v
    if name == "s3_page_keys":
        if value is None:
            return 1000
        v = _integer(name, value)
        if not 1 <= v <= 1000:
            raise KnobError(f"{name} must be in 1..1000")
        return v
    if name == "cone_body_bytes":
        if value is None:
            return 0
        v = _integer(name, value)
        if v < 0:
            raise KnobError(f"{name} must be >= 0")
        return v
    if name == "archive_validators":
        if value is None:
            return True
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "on", "yes"):
            return True
        if str(value).lower() in ("0", "false", "off", "no"):
            return False
        raise KnobError(f"archive_validators must be true or false, not {value!r}")
    if name == "datalink_directory_content_type":
        v = "directory" if value in (None, "") else str(value)
        return v
    return value


class Knobs:
    def __init__(self, initial: dict | None = None):
        self._lock = threading.Lock()
        self._values = dict(DEFAULTS)
        self._rx = None
        self._random = random.Random(8)   # reproducible sequences of faults
        if initial:
            self.update(initial)

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self._values)

    def get(self, name: str):
        with self._lock:
            return self._values[name]

    def update(self, changes: dict) -> dict:
        if not isinstance(changes, dict):
            raise KnobError("knobs must be a JSON object")
        validated = {k: _validate(k, v) for k, v in changes.items()}
        with self._lock:
            self._values.update(validated)
            self._rx = re.compile(self._values["fault_path"]) if self._values["fault_path"] else None
            return dict(self._values)

    def reset(self) -> dict:
        with self._lock:
            self._values = dict(DEFAULTS)
            self._rx = None
            return dict(self._values)

    def take_fault(self, path: str) -> str:
        """The fault to apply to this request ('none' most of the time); counts it down."""
        with self._lock:
            fault = self._values["fault"]
            if fault == "none":
                return "none"
            if self._rx is not None and not (self._rx.match(path)
                                             or path.startswith(self._values["fault_path"])):
                return "none"
            if self._values["fault_skip"] > 0:
                self._values["fault_skip"] -= 1
                return "none"
            if self._values["fault_probability"] < 1.0 and self._random.random() >= self._values["fault_probability"]:
                return "none"
            count = self._values["fault_count"]
            if count is not None:
                if count <= 0:
                    self._values["fault"] = "none"
                    return "none"
                count -= 1
                self._values["fault_count"] = count
                if count == 0:
                    self._values["fault"] = "none"
                    self._values["fault_count"] = None
            if fault == "mix":
                return self._random.choice(MIXED_FAULTS)
            return fault


class RequestLog:
    def __init__(self, path: str | None = None):
        self._lock = threading.Lock()
        self._entries: list[dict] = []
        self._file = open(path, "a", buffering=1, encoding="utf-8") if path else None

    def add(self, entry: dict) -> None:
        line = json.dumps(entry, separators=(",", ":"))
        with self._lock:
            self._entries.append(entry)
            if self._file is not None:
                try:
                    self._file.write(line + "\n")
                except (OSError, ValueError):
                    pass

    def entries(self) -> list[dict]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class Throttle:
    """Per-connection byte-rate cap: call wait(n) before sending n bytes.

    The clock starts at the first body byte, not when the request arrives: the added latency
    comes first and the transfer after it (a body of B bytes takes latency + B / rate, as on a
    real long link); a clock started before the latency sleep would let the first
    latency x rate bytes through at once and hide the latency of every large GET."""

    def __init__(self, rate_bytes_per_s: float):
        self.rate = rate_bytes_per_s
        self.start: float | None = None
        self.sent = 0

    def chunk_size(self) -> int:
        # small enough that the cap is smooth (~20 slices a second), never below 1 KiB
        return max(1024, int(self.rate / 20))

    def wait(self, n: int) -> None:
        if self.start is None:
            self.start = time.monotonic()
        self.sent += n
        due = self.start + self.sent / self.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
