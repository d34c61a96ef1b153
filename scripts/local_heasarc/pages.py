"""The plain HTML pages of the local HEASARC: the home page (its URLs), Xamin's bibliography
page (DataLink's #documentation link points at it), and the 404 and 503 pages in the words of
the real services' Apache."""

from __future__ import annotations

from .request import Request

HTML_UTF8 = "text/html; charset=UTF-8"
HTML_LATIN1 = "text/html; charset=iso-8859-1"

NOT_FOUND = (b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
             b"<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
             b"<p>The requested URL was not found on this server.</p>\n</body></html>\n")

SERVICE_UNAVAILABLE = (
    b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
    b"<title>503 Service Unavailable</title>\n</head><body>\n"
    b"<h1>Service Unavailable</h1>\n<p>The server is temporarily unable to service your\n"
    b"request due to maintenance downtime or capacity\nproblems. Please try again later."
    b"</p>\n</body></html>\n")


def home(req: Request) -> None:
    """GET <base>/: the run's service URLs."""
    u = req.app.urls()
    lines = "".join(f"<li>{k}: <a href=\"{_h(v)}\">{_h(v)}</a></li>" for k, v in u.items())
    html = (f"<html><head><title>local HEASARC</title></head><body><h1>local HEASARC</h1>"
            f"<ul>{lines}</ul></body></html>\n")
    req.reply.respond(200, HTML_UTF8, html.encode())


def bibliography(req: Request) -> None:
    """GET <base>/xamin/bib?table=&id=: Xamin's bibliography page (no references here)."""
    table = req.param("table") or ""
    ident = req.param("id") or ""
    html = (f"<html><head><title>Bibliography for {_h(table)} {_h(ident)}</title></head>"
            f"<body><h1>Bibliography: {_h(table)} {_h(ident)}</h1>"
            "<p>No references in the local HEASARC.</p></body></html>\n")
    req.reply.respond(200, HTML_UTF8, html.encode())


def not_found(req: Request) -> None:
    req.reply.respond(404, HTML_LATIN1, NOT_FOUND)


def service_unavailable(req: Request) -> None:
    """The `5xx` fault's answer, whatever was asked."""
    req.reply.respond(503, HTML_LATIN1, SERVICE_UNAVAILABLE, [("Retry-After", "1")])


def _h(s: str) -> str:
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))
