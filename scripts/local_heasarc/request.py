"""One request as the handlers of the route table (routes.py) see it.

Everything a handler may use is here, declared: the run's shared state (`app`), what was asked
(method, target, headers, body), the knobs as they were when it arrived, the `reply` to write
the answer through (response_writer.py: the rate cap and reset/truncate faults applied), and
the client connection's keep-alive connection to Apache (`upstream`, archive_proxy.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from .response_writer import ResponseWriter

if TYPE_CHECKING:
    from .app import App
    from .archive_proxy import ArchiveUpstream


@dataclass
class Request:
    app: App
    method: str
    target: str                  # path?query as asked (an absolute-form URL reduced to it)
    path: str
    query: str                   # raw, still %-encoded
    headers: Message
    body: bytes                  # POST/PUT body (chunked decoded), else b""
    knobs: dict                  # the knobs' snapshot at arrival
    reply: ResponseWriter
    upstream: ArchiveUpstream

    @property
    def params(self) -> list[tuple[str, str]]:
        """The query's parameters in order, blank values kept."""
        return parse_qsl(self.query, keep_blank_values=True)

    def param(self, name: str) -> str | None:
        """The first value of a parameter, its name matched ignoring case."""
        for k, v in self.params:
            if k.upper() == name.upper():
                return v
        return None
