"""The shipped nginx site cache (docs/nginx-site-cache.conf) run on loopback in front of an
origin, for tests and benchmarks:

    with SiteCache(heasarc.base) as cache:          # a free 127.0.0.1 port, its own temp dir
        cache.prefix                                # http://127.0.0.1:PORT/FTP/ (archive=)
        cache.access_log()                          # what the clients asked, and HIT/MISS

The shipped file is used as it is, with only the origin, the listen address, the cache path and
the Host sent upstream replaced (each replacement must match, so the test breaks if the file
changes shape). nginx runs in the foreground as a child (`-g 'daemon off;'`), with its pid,
logs, temp paths and cache under its temp dir, and is stopped by its pid; a distro service is
never touched. Stdlib only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from .paths import SOURCE_DIR

NGINX = "/usr/sbin/nginx"
SITE_CONF = SOURCE_DIR / "docs" / "nginx-site-cache.conf"
# One access-log line per client request: what the client sent and what the cache did.
LOG_FORMAT = ("'$request_method $uri range=\"$http_range\" if_range=\"$http_if_range\" "
              "accept_encoding=\"$http_accept_encoding\" cache=$upstream_cache_status "
              "status=$status bytes=$body_bytes_sent'")


class SiteCacheError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def site_config(origin_host_port: str, listen: str, cache_path: str) -> str:
    """The shipped site config pointed at a plain-HTTP origin on loopback."""
    text = SITE_CONF.read_text()
    replacements = [
        ("proxy_cache_path /var/cache/nginx/heasarc ", f"proxy_cache_path {cache_path} "),
        ("server heasarc.gsfc.nasa.gov:443;", f"server {origin_host_port};"),
        ("listen 8080;", f"listen {listen};"),
        ("proxy_pass https://heasarc_origin;", "proxy_pass http://heasarc_origin;"),
        ("proxy_set_header Host heasarc.gsfc.nasa.gov;", f"proxy_set_header Host {origin_host_port};"),
    ]
    for old, new in replacements:
        if old not in text:
            raise SiteCacheError(f"{SITE_CONF} no longer contains {old!r}")
        text = text.replace(old, new)
    return text


class SiteCache:
    def __init__(self, origin_base: str, ready_timeout: float = 30.0):
        self.origin = urlsplit(origin_base).netloc
        self.ready_timeout = ready_timeout
        self.dir = Path(tempfile.mkdtemp(prefix="heasarcfs-nginx-"))
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def prefix(self) -> str:
        return f"http://127.0.0.1:{self.port}/FTP/"

    def _write_config(self) -> Path:
        d = self.dir
        for sub in ("cache", "tmp"):
            (d / sub).mkdir(exist_ok=True)
        (d / "site.conf").write_text(site_config(self.origin, f"127.0.0.1:{self.port}", str(d / "cache")))
        user = "user root;\n" if os.geteuid() == 0 else ""   # workers must write the temp dir
        temp = "".join(f"    {kind}_temp_path {d}/tmp/{kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = (f"{user}worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
                "events { worker_connections 512; }\n"
                "http {\n"
                f"    log_format cachelog {LOG_FORMAT};\n"
                f"    access_log {d}/access.log cachelog;\n{temp}"
                f"    include {d}/site.conf;\n"
                "}\n")
        path = d / "nginx.conf"
        path.write_text(conf)
        return path

    def start(self) -> "SiteCache":
        last_error = ""
        for _attempt in range(3):   # a free port found may be taken before nginx binds it
            self.port = _free_port()
            conf = self._write_config()
            self.proc = subprocess.Popen([NGINX, "-p", str(self.dir), "-c", str(conf), "-g", "daemon off;"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         start_new_session=True)
            deadline = time.monotonic() + self.ready_timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return self
                except OSError:
                    time.sleep(0.05)
            last_error = self.stop() or ""
        raise SiteCacheError(f"nginx did not start: {last_error}{self.error_log()}")

    def stop(self) -> str | None:
        """Stops nginx (its process group, by pid); returns what it wrote to stderr."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=20)
        if proc.stderr is None:
            return None
        with proc.stderr:
            return proc.stderr.read().decode(errors="replace")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "SiteCache":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def error_log(self) -> str:
        try:
            return (self.dir / "error.log").read_text(errors="replace")
        except OSError:
            return ""

    def access_log(self) -> list[str]:
        try:
            return (self.dir / "access.log").read_text(errors="replace").splitlines()
        except OSError:
            return []
