"""The state one run of the local HEASARC shares across requests.

`App` holds the catalogue, the archive data dir and its manifest, the knobs and the request
log, the Apache it proxies to, the public base URL and the RegTAP model built for it, and the
TAP capabilities document rewritten for that base URL. Also `_eprint`, the run's stderr line.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from . import vo
from .control import CONTROL_PREFIX
from .knobs import Knobs, RequestLog
from .regtap_records import RegistryModel, build_model

REPO_ROOT = Path(__file__).resolve().parents[2]


def _eprint(*args) -> None:
    print("local-heasarc:", *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the application ----------
class App:
    def __init__(self, catalog, data_root: Path, knobs: Knobs, log: RequestLog):
        self.catalog = catalog
        self.data_root = data_root
        self.knobs = knobs
        self.log = log
        self.manifest = vo.Manifest(data_root)
        self.stop_event = threading.Event()
        self.base_url = ""
        self.apache_port = 0
        self.apache_pid = 0
        self.model: RegistryModel | None = None
        self._capabilities: bytes | None = None

    def set_base(self, base_url: str) -> None:
        self.base_url = base_url
        self.model = build_model(self.catalog, base_url)

    def urls(self) -> dict:
        b = self.base_url
        return {"registry": f"{b}/tap", "resolver": f"{b}/cgi-bin/nph-sesame/",
                "archive": f"{b}/FTP/", "control": f"{b}{CONTROL_PREFIX}/"}

    def capabilities(self) -> bytes:
        if self._capabilities is None:
            sample = REPO_ROOT / "tests/data/samples/pyvo_registry_tests_data_capabilities.xml"
            if not sample.exists():
                sample = Path("/work/shared/heasarc/samples/pyvo_registry_tests_data_capabilities.xml")
            try:
                text = sample.read_text(encoding="utf-8")
            except OSError:
                text = _MINIMAL_CAPABILITIES
            b = self.base_url
            for host in ("http://dc.zah.uni-heidelberg.de", "https://dc.zah.uni-heidelberg.de"):
                text = text.replace(f"{host}/__system__/tap/run/", f"{b}/tap/")
                text = text.replace(f"{host}/tap", f"{b}/tap")
            self._capabilities = text.encode("utf-8")
        return self._capabilities


_MINIMAL_CAPABILITIES = """<?xml version='1.0' encoding='utf-8'?>
<cap:capabilities xmlns:cap="http://www.ivoa.net/xml/VOSICapabilities/v1.0" xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0" xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess"><interface role="std" version="1.1" xsi:type="vs:ParamHTTP"><accessURL use="full">http://dc.zah.uni-heidelberg.de/tap</accessURL></interface><language><name>ADQL</name><version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version></language></capability></cap:capabilities>
"""
