"""CDS Sesame: GET <base>/cgi-bin/nph-sesame/<options/><db>?<name>.

`handle` is the route table's handler; `answer` builds Sesame's plain text (with the
`%J ra dec = sexagesimal` line astropy reads) or, with an -ox option, its XML, for the
catalogue's objects (names matched ignoring case and spaces). Each text answer carries the
next query number of the run (`QueryNumbers`, held by the App), as the real service counts.
"""

from __future__ import annotations

import threading
import time
import zlib
from urllib.parse import unquote
from xml.sax.saxutils import escape

from .request import Request
from .sky import sexagesimal


def handle(req: Request) -> None:
    tail = req.path[len("/cgi-bin/nph-sesame"):]
    status, ctype, out = answer(req.app.catalog, req.app.sesame_queries, tail, req.query)
    req.reply.respond(status, ctype, out)


class QueryNumbers:
    """The #Q<n> numbers of one run's Sesame answers: the first is FIRST + 1."""
    FIRST = 22524495

    def __init__(self):
        self._lock = threading.Lock()
        self._last = self.FIRST

    def next(self) -> int:
        with self._lock:
            self._last += 1
            return self._last


def _resolver_line(db: str) -> str:
    first = (db.lstrip("~") or "A")[0].upper()
    if first == "N":
        return "#=N=NED:    1"
    if first == "V":
        return "#=V=VizieR (local):    1"
    if first == "A":
        return "#=Si=Simbad, all IDs (via url):    1     0ms (from cache)"
    return "#=S=Simbad (via url):    1"


def _decimal(x, sign=False) -> str:
    """Plain decimal digits (never exponent form, which astropy's %J regex would not read)."""
    text = format(float(x), ".12f").rstrip("0")
    if text.endswith("."):
        text += "0"
    if sign and not text.startswith("-"):
        text = "+" + text
    return text


def answer(catalog, query_numbers: QueryNumbers, path_tail: str, raw_query: str):
    """GET /cgi-bin/nph-sesame/<options/><db>?<name>. path_tail is what follows nph-sesame."""
    parts = [x for x in path_tail.strip("/").split("/") if x]
    dbs = [x for x in parts if not x.startswith("-")]
    db = dbs[-1] if dbs else "A"
    name = unquote(raw_query)
    entry = catalog.OBJECTS.get(catalog.normalize_name(name))
    if entry is None and "+" in name:
        entry = catalog.OBJECTS.get(catalog.normalize_name(name.replace("+", " ")))
    done = time.strftime("#====Done (%Y-%b-%d,%H:%M:%Sz)====", time.gmtime())
    xml = any(o.startswith("-o") and "x" in o[2:] for o in parts if o.startswith("-"))
    if xml:
        return _sesame_xml(name, db, entry)
    lines = [f"# {name}    #Q{query_numbers.next()}"]
    if entry is None:
        lines.append("#! *** Nothing found *** ")
        lines.append("")
    else:
        ra, dec, display, otype = entry
        lines += [
            _resolver_line(db),
            f"%@ {zlib.crc32(display.encode()) % 1000000}",
            f"%I.0 {display}",
            f"%C.0 {otype}",
            f"%J {_decimal(ra)} {_decimal(dec, sign=True)} = {sexagesimal(float(ra), float(dec))}",
            f"%#B {len(display) * 7 + 100}",
            "",
            "",
        ]
    lines.append(done)
    return 200, "text/plain", ("\n".join(lines) + "\n").encode("utf-8")


def _sesame_xml(name: str, db: str, entry):
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<Sesame xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:noNamespaceSchemaLocation="http://vizier.cds.unistra.fr/xml/sesame_4x.xsd">',
           f'<Target option="{escape(db)}">', f"  <name>{escape(name)}</name>"]
    if entry is None:
        out.append("  <INFO>*** Nothing found *** </INFO>")
    else:
        ra, dec, display, otype = entry
        out += ['  <Resolver name="S=Simbad (via url)">',
                f"    <otype>{escape(otype)}</otype>",
                f"    <jpos>{sexagesimal(float(ra), float(dec))}</jpos>",
                f"    <jradeg>{float(ra)!r}</jradeg>",
                f"    <jdedeg>{float(dec)!r}</jdedeg>",
                f"    <oname>{escape(display)}</oname>",
                "  </Resolver>"]
    out += ["</Target>", "</Sesame>", ""]
    return 200, "text/xml", "\n".join(out).encode("utf-8")
