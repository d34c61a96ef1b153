"""The state one run of the local HEASARC shares across requests.

`App` holds the catalogue, the archive data dir and its manifest, the knobs and the request
log, the Apache it proxies to, the public base URL and the RegTAP model built for it, the TAP
capabilities document rewritten for that base URL (from the sample in tests/data/samples) and
the numbers of Sesame's answers. Also `_eprint`, the run's stderr line.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from .control import CONTROL_PREFIX
from .knobs import Knobs, RequestLog
from .manifest import Manifest
from .regtap_records import RegistryModel, build_model
from .sesame import QueryNumbers

REPO_ROOT = Path(__file__).resolve().parents[2]
# GAVO's TAP capabilities as pyvo's tests record them; served with its URLs pointed here.
CAPABILITIES_SAMPLE = REPO_ROOT / "tests/data/samples/pyvo_registry_tests_data_capabilities.xml"


def _eprint(*args) -> None:
    print("local-heasarc:", *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the application ----------
class App:
    def __init__(self, catalog, data_root: Path, knobs: Knobs, log: RequestLog):
        self.catalog = catalog
        self.data_root = data_root
        self.knobs = knobs
        self.log = log
        self.manifest = Manifest(data_root)
        self.sesame_queries = QueryNumbers()
        self.stop_event = threading.Event()
        self.base_url = ""
        self.apache_port = 0
        self.apache_pid = 0
        self.model: RegistryModel | None = None
        self._capabilities_template = CAPABILITIES_SAMPLE.read_text(encoding="utf-8")
        self._capabilities = b""

    def set_base(self, base_url: str) -> None:
        """Once, before serving: the URLs every answer points at."""
        self.base_url = base_url
        self.model = build_model(self.catalog, base_url)
        text = self._capabilities_template
        for host in ("http://dc.zah.uni-heidelberg.de", "https://dc.zah.uni-heidelberg.de"):
            text = text.replace(f"{host}/__system__/tap/run/", f"{base_url}/tap/")
            text = text.replace(f"{host}/tap", f"{base_url}/tap")
        self._capabilities = text.encode("utf-8")

    def urls(self) -> dict:
        b = self.base_url
        return {"registry": f"{b}/tap", "resolver": f"{b}/cgi-bin/nph-sesame/",
                "archive": f"{b}/FTP/", "control": f"{b}{CONTROL_PREFIX}/"}

    def capabilities(self) -> bytes:
        return self._capabilities
