"""The archive half of the local HEASARC: a real Apache httpd serving the data dir's FTP/ tree.

The real https://heasarc.gsfc.nasa.gov/FTP/ is Apache with mod_autoindex; rather than imitate
its listings and its Range/ETag/Last-Modified logic we run the same server. It runs as an
ordinary foreground process (no system service, nothing under /etc/apache2 used) on a loopback
port of its own, with a config written into a private temp dir:

  * FancyIndexing without HTMLTable, so listings are the `<pre>` pages of the real archive,
    icons and alts as on the real page (`[DIR]`, `[TXT]`, `[   ]` for .gz, `[PARENTDIR]`);
  * `.gz` is a type only, never an encoding: no `Content-Encoding: gzip`, the exact bytes;
  * keep-alive without a request limit, sendfile, ETag from mtime+size;
  * `MergeSlashes On` (the default) so the NuSTAR `00/6//<obsid>/` double slash works.

Apache is started with PR_SET_PDEATHSIG=SIGTERM so it stops even if its parent is SIGKILLed;
`stop()` sends SIGTERM and waits, then SIGKILLs the process group as a last resort.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

APACHE_BIN = "/usr/sbin/apache2"
MODULE_DIR = Path("/usr/lib/apache2/modules")
ICON_DIR = Path("/usr/share/apache2/icons")
MIME_TYPES = Path("/etc/mime.types")  # read-only type table, not an apache2 config file

MODULES = [
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("mime_module", "mod_mime.so"),
    ("dir_module", "mod_dir.so"),
    ("alias_module", "mod_alias.so"),
    ("autoindex_module", "mod_autoindex.so"),
    ("headers_module", "mod_headers.so"),
]

# The icon/alt table of Debian's (= stock Apache's) autoindex.conf, restricted to what an
# archive tree contains, minus AddIconByEncoding (we have no encodings on purpose).
AUTOINDEX_ICONS = """\
AddIconByType (TXT,/icons/text.gif) text/*
AddIconByType (IMG,/icons/image2.gif) image/*
AddIcon /icons/binary.gif .bin .exe
AddIcon /icons/tar.gif .tar
AddIcon /icons/compressed.gif .Z .z .tgz .gz .zip
AddIcon /icons/a.gif .ps .ai .eps
AddIcon /icons/layout.gif .html .shtml .htm .pdf
AddIcon /icons/text.gif .txt
AddIcon /icons/p.gif .pl .py
AddIcon /icons/script.gif .conf .sh .shar .csh .ksh .tcl
AddIcon /icons/back.gif ..
AddIcon /icons/hand.right.gif README
AddIcon /icons/folder.gif ^^DIRECTORY^^
AddIcon /icons/blank.gif ^^BLANKICON^^
DefaultIcon /icons/unknown.gif
"""

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """preexec_fn: SIGTERM this child when the process that started it dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except OSError:
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render_config(tmp: Path, data_root: Path, port: int) -> str:
    user_lines = ""
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("www-data")
            user_lines = "User www-data\nGroup www-data\n"
        except KeyError:
            user_lines = "User nobody\nGroup nogroup\n"
    loads = "\n".join(f"LoadModule {name} {MODULE_DIR / so}" for name, so in MODULES)
    return f"""\
# Written by scripts/local_heasarc/apache.py for one run of scripts/local-heasarc.
ServerRoot "{tmp}"
DefaultRuntimeDir "{tmp}"
PidFile "{tmp}/httpd.pid"
ErrorLog "{tmp}/error.log"
LogLevel warn
Mutex file:{tmp} default
{loads}
{user_lines}Listen 127.0.0.1:{port}
ServerName 127.0.0.1
UseCanonicalName Off
ServerTokens Prod
ServerSignature Off
TraceEnable Off
HostnameLookups Off

StartServers 1
ServerLimit 4
ThreadsPerChild 32
MaxRequestWorkers 128
MinSpareThreads 8
MaxSpareThreads 128
MaxConnectionsPerChild 0

Timeout 300
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 120
EnableSendfile On
EnableMMAP On
FileETag MTime Size
MergeSlashes On

TypesConfig "{MIME_TYPES}"
AddType text/plain .log .txt
AddType application/gzip .gz
# .gz is served as bytes, never as a content-coding.
RemoveEncoding .gz .Z .z .bz2 .xz

DocumentRoot "{data_root}"
<Directory />
    Options None
    AllowOverride None
    Require all denied
</Directory>
<Directory "{data_root}">
    Options Indexes FollowSymLinks
    AllowOverride None
    Require all granted
</Directory>

Alias /icons/ "{ICON_DIR}/"
<Directory "{ICON_DIR}">
    Options None
    AllowOverride None
    Require all granted
</Directory>

DirectoryIndex disabled
IndexOptions FancyIndexing VersionSort NameWidth=* Charset=UTF-8
IndexOptions -HTMLTable
IndexIgnore .??* *~ *# RCS CVS *,v *,t manifest.tsv
{AUTOINDEX_ICONS}"""


class Apache:
    """One private Apache httpd serving `data_root` on 127.0.0.1:<ephemeral port>."""

    def __init__(self, data_root: Path, log=None):
        self.data_root = Path(data_root).resolve()
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.tmp: Path | None = None
        self._log = log or (lambda msg: None)

    # -- lifecycle -------------------------------------------------------------------------
    @staticmethod
    def remove_stale_dirs() -> None:
        """Temp dirs of runs that were SIGKILLed (Apache itself died with them)."""
        for d in Path(tempfile.gettempdir()).glob("local-heasarc-apache-*"):
            try:
                if time.time() - d.stat().st_mtime < 120:
                    continue
                pid = int((d / "httpd.pid").read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid:
                try:
                    os.kill(pid, 0)
                    continue            # still running: someone else's live instance
                except ProcessLookupError:
                    pass
                except PermissionError:
                    continue
            shutil.rmtree(d, ignore_errors=True)

    def check_readable(self) -> None:
        """As root, Apache's workers run as www-data: every directory above the data must be
        searchable by others, or every archive request is a 403."""
        if os.geteuid() != 0:
            return
        for d in [self.data_root, *self.data_root.parents]:
            try:
                if not d.stat().st_mode & 0o001:
                    self._log(f"warning: {d} is not searchable by others; Apache (www-data) "
                              "will answer 403 for the archive")
                    return
            except OSError:
                return

    def start(self, attempts: int = 6, timeout: float = 20.0) -> int:
        self.check_readable()
        self.remove_stale_dirs()
        self.tmp = Path(tempfile.mkdtemp(prefix="local-heasarc-apache-"))
        os.chmod(self.tmp, 0o755)
        last_error = ""
        for _ in range(attempts):
            port = free_port()
            conf = self.tmp / "httpd.conf"
            conf.write_text(render_config(self.tmp, self.data_root, port))
            err_log = self.tmp / "error.log"
            stderr = open(self.tmp / "stderr.log", "wb")
            self.proc = subprocess.Popen(
                [APACHE_BIN, "-f", str(conf), "-DFOREGROUND"],
                stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                preexec_fn=_die_with_parent, start_new_session=True, close_fds=True)
            stderr.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        self.port = port
                        return port
                except OSError:
                    time.sleep(0.05)
            # failed: gather why, clean, maybe retry on another port
            last_error = ""
            for f in (self.tmp / "stderr.log", err_log):
                try:
                    last_error += f.read_text(errors="replace")
                except OSError:
                    pass
            self._kill()
            if "Address already in use" not in last_error and "could not bind" not in last_error:
                break
        self.cleanup()
        raise RuntimeError(f"apache2 did not start: {last_error.strip()[-2000:]}")

    def _kill(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # Apache's workers run in its process group (start_new_session): clean any straggler.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    def stop(self) -> None:
        self._kill()
        self.cleanup()

    def cleanup(self) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def error_log(self) -> str:
        if self.tmp is None:
            return ""
        try:
            return (self.tmp / "error.log").read_text(errors="replace")
        except OSError:
            return ""
