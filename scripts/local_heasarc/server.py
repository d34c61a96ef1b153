"""The local HEASARC: one loopback port answering as the real services do.

  <base>/tap/sync, /tap/capabilities        RegTAP over TAP (VOTable BINARY, as GAVO answers):
                                            registry_tap.py; ADQL over the rr tables in
                                            regtap_query.py, adql.py, regtap_records.py
  <base>/cgi-bin/nph-sesame/<db>?<name>     CDS Sesame (plain text, %J line): sesame.py
  <base>/xamin/vo/cone?showoffsets&table=   Xamin Simple Cone Search (+ /cgi-bin/vo/cone/
                                            coneGet.pl): cone_search.py
  <base>/xamin/vo/datalink/<table>?ID=      DataLink: datalink.py
  <base>/, /xamin/bib, anything else        home, bibliography and 404 pages: pages.py
  <base>/FTP/...                            the archive: a streaming reverse proxy
                                            (archive_proxy.py) to a private Apache httpd
                                            (apache.py: mod_autoindex, Range, ETag, ...)
  <base>/nasa-heasarc?list-type=2&prefix=   the same tree as an S3 bucket, path-style, as AWS
  <base>/nasa-heasarc/<key>                 open data serves it: ListObjectsV2, GET/HEAD with
                                            Range and ETag (s3_endpoint.py)
  <base>/_local_heasarc/{knobs,reset,log}   control: knobs and the request log (no real service
                                            uses this path): control.py

routes.py maps paths to those handlers; http_server.py reads each request into a
request.Request and writes its answer through response_writer.py. Knobs (latency, rate cap,
faults) and the request log apply to every request but the control ones, the archive
included. See knobs.py. Run through scripts/local-heasarc.

This module is the run itself: the command line, the archive data check, Apache and the
HTTP server started, the URLs printed, served until SIGINT/SIGTERM/SIGHUP.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .apache import Apache, ApacheError
from .app import CAPABILITIES_SAMPLE, REPO_ROOT, App, _eprint
from .http_server import Server
from .knobs import KnobError, Knobs, RequestLog


# ---------------------------------------------------------------- main ---------------------
def ensure_data(data_root: Path) -> None:
    if (data_root / ".complete").exists():
        return
    maker = REPO_ROOT / "scripts" / "make-archive-data"
    if not maker.exists():
        raise SystemExit(f"local-heasarc: {data_root} has no archive data and {maker} is missing")
    _eprint(f"no archive data in {data_root}: running {maker}")
    subprocess.run([str(maker), "--data", str(data_root)], check=True, stdout=sys.stderr)
    if not (data_root / ".complete").exists():
        raise SystemExit(f"local-heasarc: {maker} did not complete {data_root}")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="local-heasarc", description=(
        "A local HEASARC on 127.0.0.1 answering as the real services do: RegTAP registry, "
        "Sesame, Xamin cone search, DataLink and the /FTP/ archive (Apache). Prints "
        "registry=, resolver=, archive=, control= and ready on stdout, then serves until "
        "SIGINT/SIGTERM."))
    ap.add_argument("--port", type=int, default=0, help="public port (0: any free port)")
    ap.add_argument("--data", default=None,
                    help="archive data dir (default $HEASARC_DATA or <repo>/build/heasarc-data)")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="latency added per request")
    ap.add_argument("--rate-kib", type=float, default=0.0, help="byte-rate cap per connection")
    ap.add_argument("--fault", default="none",
                    help="none | 5xx | reset | truncate | ignore_range | hang")
    ap.add_argument("--fault-path", default="", help="regex/prefix of paths the fault applies to")
    ap.add_argument("--fault-count", type=int, default=None,
                    help="apply the fault to the next N matching requests only")
    ap.add_argument("--request-log", default=None, help="append every request as a JSON line")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from . import catalog  # written alongside; imported late so --help works without it

    try:
        knobs = Knobs({"latency_ms": args.latency_ms, "rate_kib": args.rate_kib,
                       "fault": args.fault, "fault_path": args.fault_path,
                       "fault_count": args.fault_count})
    except KnobError as e:
        _eprint(str(e))
        return 2
    data_root = Path(catalog.data_root(args.data)).resolve()
    ensure_data(data_root)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    try:
        app = App(catalog, data_root, knobs, RequestLog(args.request_log))
    except OSError as e:
        _eprint(f"cannot read {e.filename or CAPABILITIES_SAMPLE}: {e.strerror}")
        return 1
    log = app.log
    server = None
    apache = None
    try:
        try:
            apache = Apache(data_root)
            app.apache_port = apache.start()
            apache.check_serves(["FTP/", *app.manifest.sample_files()])
        except ApacheError as e:
            _eprint(str(e))
            return 1
        app.apache_pid = apache.proc.pid if apache.proc else 0
        try:
            server = Server(("127.0.0.1", args.port), app)
        except OSError as e:
            _eprint(f"cannot listen on 127.0.0.1:{args.port}: {e}")
            return 1
        port = server.server_address[1]
        app.set_base(f"http://127.0.0.1:{port}")
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                  name="local-heasarc", daemon=True)
        thread.start()
        urls = app.urls()
        for key in ("registry", "resolver", "archive", "control"):
            print(f"{key}={urls[key]}", flush=True)
        print("ready", flush=True)
        while not stop.is_set():
            stop.wait(0.5)
            if apache.proc is not None and apache.proc.poll() is not None:
                _eprint("apache2 exited unexpectedly:\n" + apache.error_log()[-2000:])
                return 1
        return 0
    finally:
        app.stop_event.set()
        if server is not None:
            server.shutdown()
            server.server_close()
        if apache is not None:
            apache.stop()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
