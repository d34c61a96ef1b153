"""The VO services of the local HEASARC and the request routing among them.

`VoServicesMixin.route` answers Sesame, Xamin cone search, DataLink, the bibliography page and
the home page (through vo.py), hands /tap to the TAP endpoint (tap_endpoint.py) and answers
404 to anything else. It is a part of the request handler (see http_front.Handler).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

from . import vo


class VoServicesMixin:
    # -- the VO services -------------------------------------------------------------------
    def route(self, service: str, path: str, query: str, body: bytes, knobs: dict) -> None:
        app = self.app
        params = parse_qsl(query, keep_blank_values=True)
        if service == "registry":
            self.tap(path, params, body)
        elif service == "sesame":
            tail = path[len("/cgi-bin/nph-sesame"):]
            status, ctype, out = vo.sesame(app.catalog, tail, query)
            self.respond(status, ctype, out)
        elif service == "cone":
            status, ctype, out = vo.cone_search(app.catalog, app.base_url, params)
            self.respond(status, ctype, out)
        elif service == "datalink":
            rest = path[len("/xamin/vo/datalink"):].strip("/")
            ident = _param(params, "ID")
            if rest:
                status, ctype, out = vo.datalink(
                    app.catalog, app.manifest, app.base_url, unquote(rest), ident,
                    knobs["datalink_directory_content_type"])
            else:
                status, ctype, out = vo.datalink_products(app.catalog, app.manifest,
                                                          app.base_url, ident)
            self.respond(status, ctype, out)
        elif service == "bib":
            table = _param(params, "table") or ""
            ident = _param(params, "id") or ""
            html = (f"<html><head><title>Bibliography for {_h(table)} {_h(ident)}</title></head>"
                    f"<body><h1>Bibliography: {_h(table)} {_h(ident)}</h1>"
                    "<p>No references in the local HEASARC.</p></body></html>\n")
            self.respond(200, "text/html; charset=UTF-8", html.encode())
        elif service == "home":
            u = app.urls()
            lines = "".join(f"<li>{k}: <a href=\"{_h(v)}\">{_h(v)}</a></li>" for k, v in u.items())
            html = (f"<html><head><title>local HEASARC</title></head><body><h1>local HEASARC</h1>"
                    f"<ul>{lines}</ul></body></html>\n")
            self.respond(200, "text/html; charset=UTF-8", html.encode())
        else:
            self.respond(404, "text/html; charset=iso-8859-1", _HTML_404)


def _param(params: list, name: str):
    for k, v in params:
        if k.upper() == name.upper():
            return v
    return None


def _h(s: str) -> str:
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


_HTML_404 = (b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
             b"<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
             b"<p>The requested URL was not found on this server.</p>\n</body></html>\n")
