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

Who Apache runs as: the invoking user when that is not root. As root, Apache would drop to
www-data for its workers (it refuses to serve as root), and www-data cannot enter a checkout
under a 0700 directory (Debian 12's home directories, every `mktemp -d`): so as root the whole
Apache runs as www-data (nobody if there is none) through setpriv, keeping the one capability
CAP_DAC_READ_SEARCH, which lets it read the data wherever it lives and nothing more (it cannot
write outside its temp dir; the config denies everything but the data and the icons). After the
start, `check_serves` fetches the archive's top and one manifest file from Apache itself: if it
still cannot read them the run fails at once with one line saying why, not with 403s later.

Apache is started with PR_SET_PDEATHSIG=SIGTERM so it stops even if its parent is SIGKILLed;
`stop()` sends SIGTERM and waits, then SIGKILLs the process group as a last resort.
"""

from __future__ import annotations

import ctypes
import http.client
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

APACHE_BIN = "/usr/sbin/apache2"
SETPRIV = "/usr/bin/setpriv"         # util-linux: drops root for Apache, keeps one capability
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


class ApacheError(RuntimeError):
    """Apache did not start, or cannot serve the data: the message is one line saying why."""


def unprivileged_account() -> pwd.struct_passwd:
    for name in ("www-data", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    raise ApacheError("running as root, but neither www-data nor nobody exists to run "
                      "Apache as (it refuses to run as root)")


def pwd_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _last_error_line(log: str) -> str:
    """The reason in Apache's last error-log line, without its [time] [module] [pid] prefix."""
    lines = [line for line in log.splitlines() if line.strip()]
    if not lines:
        return ""
    return re.sub(r"^(\[[^]]*\] )+", "", lines[-1]).strip()


def render_config(tmp: Path, data_root: Path, port: int) -> str:
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
Listen 127.0.0.1:{port}
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

    def __init__(self, data_root: Path):
        self.data_root = Path(data_root).resolve()
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.tmp: Path | None = None
        # As root: the unprivileged account Apache runs as (None: it runs as we do).
        self.account = unprivileged_account() if os.geteuid() == 0 else None

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

    def start(self, attempts: int = 6, timeout: float = 20.0) -> int:
        self.remove_stale_dirs()
        self.tmp = Path(tempfile.mkdtemp(prefix="local-heasarc-apache-"))
        os.chmod(self.tmp, 0o755)
        if self.account is not None:       # Apache writes its pid file and logs here
            os.chown(self.tmp, self.account.pw_uid, self.account.pw_gid)
        last_error = ""
        for _ in range(attempts):
            port = free_port()
            conf = self.tmp / "httpd.conf"
            conf.write_text(render_config(self.tmp, self.data_root, port))
            err_log = self.tmp / "error.log"
            stderr = open(self.tmp / "stderr.log", "wb")
            try:
                self.proc = subprocess.Popen(
                    self.command(conf),
                    stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                    preexec_fn=_die_with_parent, start_new_session=True, close_fds=True)
            except OSError as e:
                self.cleanup()
                raise ApacheError(f"cannot run {e.filename or APACHE_BIN}: {e.strerror}")
            finally:
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
        raise ApacheError("apache2 did not start: "
                          + " / ".join(last_error.strip().splitlines()[-3:]))

    def command(self, conf: Path) -> list[str]:
        """apache2 in the foreground; as root, through setpriv as `account` keeping only
        CAP_DAC_READ_SEARCH (read any file, enter any directory), so that the data is
        readable wherever it lives (Apache itself refuses `User root`). The uid change clears
        the parent-death signal _die_with_parent set, so setpriv sets it again."""
        apache = [APACHE_BIN, "-f", str(conf), "-DFOREGROUND"]
        if self.account is None:
            return apache
        keep = "-all,+dac_read_search"
        return [SETPRIV, f"--reuid={self.account.pw_uid}", f"--regid={self.account.pw_gid}",
                "--clear-groups", f"--inh-caps={keep}", f"--ambient-caps={keep}",
                f"--bounding-set={keep}", "--pdeathsig=TERM", "--", *apache]

    def user(self) -> str:
        return self.account.pw_name if self.account is not None else pwd_name(os.geteuid())

    def check_serves(self, paths: list[str]) -> None:
        """GET each path (relative to the data root) from Apache itself; anything but 200
        means it cannot read the archive data: raise ApacheError with one line saying why
        (Apache's own reason from its error log) instead of serving 403s."""
        for rel in paths:
            url_path = "/" + quote(rel)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                try:
                    conn.request("GET", url_path, headers={"Range": "bytes=0-0"})
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                finally:
                    conn.close()
            except (OSError, http.client.HTTPException) as e:
                raise ApacheError(f"Apache on port {self.port} did not answer GET {url_path}: {e}")
            if status not in (200, 206):
                reason = _last_error_line(self.error_log()) or f"HTTP {status}"
                raise ApacheError(
                    f"Apache, running as {self.user()}, cannot serve the archive data in "
                    f"{self.data_root} (GET {url_path}: {status}; {reason}); let {self.user()} "
                    "enter every directory down to the files and read them, or put the data "
                    "elsewhere with --data DIR / HEASARC_DATA")

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
