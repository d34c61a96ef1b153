"""A private local HEASARC (scripts/local-heasarc) as a process of one test or benchmark.

    with LocalHeasarc(latency_ms=0) as h:          # port 0, its own process group
        h.registry, h.resolver, h.archive, h.control, h.base   # URLs
        h.set_knobs(fault="5xx", fault_path="/FTP/", fault_count=1)
        h.clear_knobs(); h.reset()                  # knobs only / knobs and log
        h.log()                                     # list of request dicts (GET control/log)
        h.requests_for("/FTP/nustar/"), h.bytes_for("/FTP/nustar/")
    # stopped here (SIGTERM, then SIGKILL of the group if needed), also on exceptions, and at
    # interpreter exit for any still running

Knobs (see scripts/local_heasarc/knobs.py) can be given at start: latency_ms, rate_kib and
fault as the server's flags, any other through `knobs={...}`, set before start() returns.
The data dir is the server's default ($HEASARC_DATA or <checkout>/build/heasarc-data, which it
generates on first use) unless `data` is given. `source_dir` runs the server of another
checkout; `command_prefix` runs it through another program (e.g. setpriv as another user).
Stdlib only.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.request
from pathlib import Path

from .paths import PYTHON, SOURCE_DIR

_live: list["LocalHeasarc"] = []


def _stop_all() -> None:
    for h in list(_live):
        h.stop()


atexit.register(_stop_all)


class LocalHeasarc:
    def __init__(self, *, data: str | Path | None = None, latency_ms: float = 0,
                 rate_kib: float = 0, fault: str = "none", knobs: dict | None = None,
                 request_log: str | None = None, ready_timeout: float = 600.0,
                 extra_args: list[str] | None = None, source_dir: Path | None = None,
                 command_prefix: list[str] | None = None):
        script = Path(source_dir or SOURCE_DIR) / "scripts" / "local-heasarc"
        self.args = list(command_prefix or []) + [PYTHON, str(script), "--port", "0"]
        if data:
            self.args += ["--data", str(data)]
        if latency_ms:
            self.args += ["--latency-ms", str(latency_ms)]
        if rate_kib:
            self.args += ["--rate-kib", str(rate_kib)]
        if fault and fault != "none":
            self.args += ["--fault", fault]
        self.initial_knobs = dict(knobs or {})
        self._tmp = tempfile.mkdtemp(prefix="heasarc-fixture-")
        self.request_log = request_log or os.path.join(self._tmp, "requests.jsonl")
        self.args += ["--request-log", self.request_log]
        self.args += list(extra_args or [])
        self.ready_timeout = ready_timeout
        self.keep_tmp = bool(os.environ.get("HEASARC_FIXTURE_KEEP"))  # request log, stderr
        self.proc: subprocess.Popen | None = None
        self.urls: dict[str, str] = {}
        self.stderr_path = os.path.join(self._tmp, "stderr.log")

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "LocalHeasarc":
        err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=err,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     text=True, bufsize=1)
        err.close()
        _live.append(self)
        lines: list[str] = []
        ready = threading.Event()

        def reader():
            for line in self.proc.stdout:
                line = line.strip()
                lines.append(line)
                if line == "ready":
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=reader, daemon=True)
        self._reader.start()
        if not ready.wait(self.ready_timeout) or "ready" not in lines:
            err = self.stderr()
            self.stop()
            raise RuntimeError("local-heasarc did not become ready:\n" + "\n".join(lines)
                               + "\n" + err)
        for line in lines:
            key, eq, value = line.partition("=")
            if eq:
                self.urls[key] = value
        if self.initial_knobs:
            try:
                self.set_knobs(**self.initial_knobs)
            except Exception:
                self.stop()
                raise
        return self

    def stop(self, timeout: float = 20.0) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # stragglers of the group, if any
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self in _live:
            _live.remove(self)
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(timeout=5)
            if not reader.is_alive() and proc.stdout is not None:
                proc.stdout.close()
        if self.keep_tmp is False:
            shutil.rmtree(self._tmp, ignore_errors=True)
        self.proc = None
        return proc.returncode

    def __enter__(self) -> "LocalHeasarc":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stderr(self) -> str:
        try:
            return Path(self.stderr_path).read_text(errors="replace")
        except OSError:
            return ""

    # -- URLs ----------------------------------------------------------------------------------
    @property
    def registry(self) -> str:
        return self.urls["registry"]

    @property
    def resolver(self) -> str:
        return self.urls["resolver"]

    @property
    def archive(self) -> str:
        return self.urls["archive"]

    @property
    def control(self) -> str:
        return self.urls["control"]

    @property
    def base(self) -> str:
        return self.urls["registry"].rsplit("/tap", 1)[0]

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    # -- control -------------------------------------------------------------------------------
    def _control(self, sub: str, payload=None, method: str | None = None):
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.control.rstrip("/") + "/" + sub, data=data,
                                     method=method or ("POST" if data is not None else "GET"),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read().decode())

    def knobs(self) -> dict:
        return self._control("knobs")

    def set_knobs(self, **knobs) -> dict:
        return self._control("knobs", knobs)

    def clear_knobs(self) -> dict:
        return self._control("knobs", method="DELETE")

    def reset(self) -> None:
        self._control("reset", {})

    def log(self) -> list[dict]:
        return self._control("log")

    def clear_log(self) -> None:
        self._control("log", method="DELETE")

    def requests_for(self, path_regex: str, method: str | None = None) -> list[dict]:
        rx = re.compile(path_regex)
        return [e for e in self.log() if rx.search(e["path"])
                and (method is None or e["method"] == method)]

    def bytes_for(self, path_regex: str) -> int:
        return sum(e["bytes"] for e in self.requests_for(path_regex))
