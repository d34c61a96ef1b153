"""Start/stop a private local HEASARC (scripts/local-heasarc) for one integration test.

    from heasarc_fixture import LocalHeasarc
    with LocalHeasarc(latency_ms=0) as h:         # port 0, own process group
        h.registry, h.resolver, h.archive, h.control, h.base   # URLs
        h.set_knobs(fault="5xx", fault_path="/FTP/", fault_count=1)
        h.clear_knobs(); h.reset()                 # knobs only / knobs and log
        h.log()                                    # list of request dicts (GET control/log)
        h.requests_for("/FTP/nustar/"), h.bytes_for("/FTP/nustar/")
    # stopped here (SIGTERM, then SIGKILL of the group if needed), also on exceptions

Runs the server with Debian's /usr/bin/python3. Data dir (DATA_DIR; read_manifest() reads its
manifest): $HEASARC_DATA, else the default of catalog.data_root() (<repo>/build/heasarc-data),
generated on first use by the server itself.
Stdlib only, so C++-side mount tests can reuse it.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("HEASARCFS_SOURCE_DIR")
                  or Path(__file__).resolve().parents[2])
SCRIPT = SOURCE_DIR / "scripts" / "local-heasarc"
PYTHON = "/usr/bin/python3"
# The generated archive the server serves (scripts/make-archive-data) and its manifest.
DATA_DIR = Path(os.environ.get("HEASARC_DATA") or SOURCE_DIR / "build" / "heasarc-data")


def read_manifest(root: Path = DATA_DIR) -> dict:
    """manifest.tsv as {path: (size, sha256)}, checking every line's shape."""
    entries = {}
    with open(Path(root) / "manifest.tsv") as f:
        for number, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3 or not fields[1].isdigit() or not re.fullmatch(r"[0-9a-f]{64}", fields[2]):
                raise AssertionError(f"manifest.tsv line {number} is not 'path<TAB>size<TAB>sha256': {line!r}")
            if fields[0] in entries:
                raise AssertionError(f"manifest.tsv line {number}: duplicate path {fields[0]}")
            entries[fields[0]] = (int(fields[1]), fields[2])
    return entries

_live: list["LocalHeasarc"] = []


def _stop_all() -> None:
    for h in list(_live):
        h.stop()


atexit.register(_stop_all)


class LocalHeasarc:
    def __init__(self, *, data: str | None = None, latency_ms: float = 0, rate_kib: float = 0,
                 fault: str = "none", request_log: str | None = None,
                 ready_timeout: float = 600.0, extra_args: list[str] | None = None,
                 source_dir: Path | None = None, command_prefix: list[str] | None = None):
        script = Path(source_dir) / "scripts" / "local-heasarc" if source_dir else SCRIPT
        self.args = list(command_prefix or []) + [PYTHON, str(script), "--port", "0"]
        if data:
            self.args += ["--data", str(data)]
        if latency_ms:
            self.args += ["--latency-ms", str(latency_ms)]
        if rate_kib:
            self.args += ["--rate-kib", str(rate_kib)]
        if fault and fault != "none":
            self.args += ["--fault", fault]
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


if __name__ == "__main__":
    # Manual use: start one and print its URLs until Ctrl-C.
    with LocalHeasarc() as h:
        print(json.dumps(h.urls, indent=1))
        try:
            while h.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    sys.exit(0)
