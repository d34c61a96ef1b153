"""The route table: which handler answers which path, and the service name the request log
gives it. The first route whose exact paths or path prefixes match the request's path wins;
a path no route matches is `other`, answered 404. Every handler is a plain function taking the
request (request.Request) and writing its answer through `req.reply`.

Control routes take no knobs and are not logged (http_server.Connection.dispatch); every other
request takes the knobs (latency, rate cap, a fault if its path matches) and is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import archive_proxy, cone_search, control, datalink, pages, registry_tap, s3_endpoint, sesame
from .request import Request


@dataclass(frozen=True)
class Route:
    service: str                             # the request log's "service"
    handler: Callable[[Request], None]
    exact: tuple[str, ...] = ()              # paths matched as they are
    prefixes: tuple[str, ...] = ()           # paths matched by how they start
    control: bool = False                    # no knobs, not logged

    def matches(self, path: str) -> bool:
        return path in self.exact or any(path.startswith(p) for p in self.prefixes)


CONTROL_PREFIX = control.CONTROL_PREFIX

ROUTES = (
    Route("control", control.handle, exact=(CONTROL_PREFIX,), prefixes=(CONTROL_PREFIX + "/",),
          control=True),
    Route("archive", archive_proxy.proxy, exact=("/FTP",), prefixes=("/FTP/", "/icons/")),
    Route("registry", registry_tap.handle, exact=("/tap",), prefixes=("/tap/",)),
    Route("sesame", sesame.handle, exact=("/cgi-bin/nph-sesame",),
          prefixes=("/cgi-bin/nph-sesame/",)),
    Route("cone", cone_search.handle,
          exact=("/xamin/vo/cone", "/xamin/vo/cone/", "/cgi-bin/vo/cone/coneGet.pl")),
    Route("datalink", datalink.handle, exact=("/xamin/vo/datalink",),
          prefixes=("/xamin/vo/datalink/",)),
    Route("bib", pages.bibliography, exact=("/xamin/bib",)),
    Route("s3", s3_endpoint.handle, exact=(s3_endpoint.PREFIX,), prefixes=(s3_endpoint.PREFIX + "/",)),
    Route("home", pages.home, exact=("/",)),
)
OTHER = Route("other", pages.not_found)


def route_for(path: str) -> Route:
    for route in ROUTES:
        if route.matches(path):
            return route
    return OTHER
