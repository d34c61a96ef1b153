"""The VO answers of the local HEASARC: Xamin cone search, DataLink, CDS Sesame.

Each function takes parsed request parameters plus the catalog and returns
(status, content_type, body bytes), shaped like the real services' answers (see
/work/shared/heasarc/README.md and the samples): Xamin's VOTable 1.4 with its INFOs, FIELD
attributes and the adhoc:service DataLink block; DataLink's {links} table; Sesame's plain text
with the `%J ra dec = sexagesimal` line.
"""

from __future__ import annotations

import math
import threading
import time
import zlib
from pathlib import Path
from urllib.parse import unquote
from xml.sax.saxutils import escape, quoteattr

from .votable_writer import Col, VOTABLE_NS, error_document, info, tabledata

VOTABLE_CT = "text/xml;content=x-votable"      # what Xamin's cone search answers with
DATALINK_CT = "application/x-votable+xml;content=datalink"
DATALINK_STD = "ivo://ivoa.net/std/DataLink#links-1.0"


# ---------------------------------------------------------------- geometry -----------------
def angular_distance_deg(ra1, dec1, ra2, dec2) -> float:
    """Great-circle distance (haversine), degrees."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    s = (math.sin((d2 - d1) / 2) ** 2
         + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2)
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(s))))


def sexagesimal(ra: float, dec: float) -> str:
    """'12:10:32.57 +39:24:21.0' as Sesame prints it."""
    t = round((ra % 360.0) / 15.0 * 3600.0, 2)
    h, rem = divmod(t, 3600.0)
    m, s = divmod(rem, 60.0)
    ra_s = f"{int(h) % 24:02d}:{int(m):02d}:{s:05.2f}"
    sign = "-" if dec < 0 else "+"
    a = round(abs(dec) * 3600.0, 1)
    d, rem = divmod(a, 3600.0)
    m, s = divmod(rem, 60.0)
    return f"{ra_s} {sign}{int(d):02d}:{int(m):02d}:{s:04.1f}"


# ---------------------------------------------------------------- manifest -----------------
class Manifest:
    """manifest.tsv (path, size, sha256) with cached per-directory byte totals."""

    def __init__(self, data_root: Path):
        self.path = Path(data_root) / "manifest.tsv"
        self._lock = threading.Lock()
        self._files: dict[str, int] | None = None
        self._mtime = None

    def files(self) -> dict[str, int]:
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime
            except OSError:
                return {}
            if self._files is None or mtime != self._mtime:
                files = {}
                with open(self.path, encoding="utf-8") as fh:
                    for line in fh:
                        parts = line.rstrip("\n").split("\t")
                        if len(parts) >= 2 and parts[1].isdigit():
                            files[_collapse(parts[0])] = int(parts[1])
                self._files, self._mtime = files, mtime
            return self._files

    def sample_files(self) -> list[str]:
        """One file with content (the first in manifest order), to check it is served."""
        for path, size in self.files().items():
            if size > 0:
                return [path]
        return []

    def tree(self, archive_path: str) -> dict[str, int]:
        prefix = _collapse(archive_path).rstrip("/") + "/"
        return {p: s for p, s in self.files().items() if p.startswith(prefix)}


def _collapse(path: str) -> str:
    while "//" in path:
        path = path.replace("//", "/")
    return path.lstrip("/")


# ---------------------------------------------------------------- cone search --------------
def _cone_error(message: str) -> tuple[int, str, bytes]:
    return 200, VOTABLE_CT, error_document(message, scs=True)


def _params_ci(params: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in params:
        out.setdefault(k.upper(), v)
    return out


def _parse_number(p: dict, name: str, lo: float, hi: float, lo_open=False) -> float:
    raw = p.get(name)
    if raw is None or raw.strip() == "":
        raise ValueError(f"Missing required parameter {name}")
    try:
        v = float(raw)
    except ValueError:
        raise ValueError(f"Invalid value for {name}: '{raw}' is not a number")
    if math.isnan(v) or math.isinf(v):
        raise ValueError(f"Invalid value for {name}: '{raw}'")
    if v > hi or v < lo or (lo_open and v <= lo):
        bound = f"({lo}, {hi}]" if lo_open else f"[{lo}, {hi}]"
        raise ValueError(f"Invalid value for {name}: {raw} is outside {bound}")
    return v


def _table_cols(table, verb: int) -> list:
    fields = list(table.fields)
    if verb <= 1:
        keep = {table.key, table.ra, table.dec, table.datalink_field}
        fields = [f for f in fields if f.name in keep or f.name == "__row"]
    return fields


def _field_col(f, table) -> Col:
    attrs = [("unit", f.unit), ("ucd", f.ucd), ("precision", f.precision)]
    if getattr(f, "width", None):
        attrs.append(("width", str(f.width)))
    ID = getattr(f, "id", "") or ""
    if f.name == table.datalink_field:
        ID = "DataLinkID"
    arraysize = f.arraysize or ("*" if f.datatype in ("char", "unicodeChar") else "")
    return Col(f.name, f.datatype, arraysize, ID=ID, attrs=attrs, description=f.description)


def cone_search(catalog, base_url: str, query_params: list[tuple[str, str]]):
    """GET /xamin/vo/cone?showoffsets&table=<t>&&RA=&DEC=&SR=&VERB= (and coneGet.pl)."""
    p = _params_ci(query_params)
    table_name = p.get("TABLE", "")
    if not table_name:
        return _cone_error("Missing required parameter table")
    table = catalog.TABLES.get(table_name) or catalog.TABLES.get(table_name.lower())
    if table is None:
        return _cone_error(f"Unknown table: {table_name}")
    try:
        ra = _parse_number(p, "RA", 0.0, 360.0)
        dec = _parse_number(p, "DEC", -90.0, 90.0)
        sr = _parse_number(p, "SR", 0.0, 180.0, lo_open=True)
        verb_raw = p.get("VERB", "2").strip() or "2"
        try:
            verb = int(float(verb_raw))
        except ValueError:
            raise ValueError(f"Invalid value for VERB: '{verb_raw}'")
        if verb not in (1, 2, 3):
            raise ValueError(f"Invalid value for VERB: {verb_raw} (1, 2 or 3)")
    except ValueError as e:
        return _cone_error(str(e))
    show_offsets = "SHOWOFFSETS" in p

    matches = []
    for row in table.rows:
        r_ra, r_dec = row.get(table.ra), row.get(table.dec)
        if r_ra is None or r_dec is None:
            continue
        d = angular_distance_deg(ra, dec, float(r_ra), float(r_dec))
        if d <= sr:
            matches.append((d, row))
    matches.sort(key=lambda m: m[0])

    fields = _table_cols(table, verb)
    cols = [_field_col(f, table) for f in fields]
    if show_offsets:
        cols.append(Col("Search_Offset", "double",
                        description="Distance from the search position (arcmin)"))
    rows = []
    for d, row in matches:
        line = [row.get(f.name) for f in fields]
        if show_offsets:
            line.append(d * 60.0)
        rows.append(line)

    names = ", ".join(f.name for f in fields)
    description = (
        f"Query result for:\nselect {names} from {table.name} where "
        f"( (( power(sin((radians( dec ) - {math.radians(dec)!r})/2),2) "
        f"+cos(radians( dec ))*cos({math.radians(dec)!r})*power(sin((radians( ra ) - "
        f"{math.radians(ra)!r})/2),2)<{math.sin(math.radians(sr) / 2) ** 2!r}) ) )")
    fields_xml = "\n".join("   " + c.field_xml(order="xamin") for c in cols)
    dl_url = f"{base_url}/xamin/vo/datalink/{table.name}"
    product_key = _product_key_for_table(table)
    body = f"""<?xml version="1.0"?>
<VOTABLE {VOTABLE_NS} xsi:noNamespaceSchemaLocation="http://www.ivoa.net/xml/VOTable/v1.3" xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 http://www.ivoa.net/xml/VOTable/v1.3" version="1.4">
 <RESOURCE type="results">
  {info("Info: Search Radius", f"Search radius: {_fmt(sr * 60.0)}' from {table.name}")}
  {info("Info: Name resolution", f"Position {p.get('RA')},{p.get('DEC')} corresponds to J2000 decimal coordinates:{ra!r} {dec!r}")}
  {info("QUERY_STATUS", "OK")}
  <TABLE>
   <DESCRIPTION>{escape(description)}</DESCRIPTION>
{fields_xml}
   <DATA>
{tabledata(cols, rows, indent="    ")}
   </DATA>
  </TABLE>
 </RESOURCE>
 <RESOURCE utype="adhoc:service" type="meta">
  <PARAM datatype="char" arraysize="*" name="standardID" value="{DATALINK_STD}"/>
  <PARAM datatype="char" arraysize="*" name="accessURL" value={quoteattr(dl_url)}/>
  <GROUP name="inputParams">
   <PARAM ref="DataLinkID" datatype="char" arraysize="*" name="id" value=""/>
  </GROUP>
  <PARAM datatype="char" arraysize="*" name="Products_{escape(table.name)}" value={quoteattr(f"[point.bib, {product_key}]" if product_key else "[point.bib]")}/>
 </RESOURCE>
</VOTABLE>
"""
    return 200, VOTABLE_CT, body.encode("utf-8")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _product_key_for_table(table) -> str:
    for row in table.rows:
        try:
            key = table.product_key(row)
        except Exception:
            key = None
        if key:
            return key
    return ""


# ---------------------------------------------------------------- DataLink -----------------
DATALINK_COLS = [
    Col("ID", "char", "*", ID="ID", attrs=[("ucd", "meta.id;meta.main")],
        description="Publisher data set id; this is an identifier for the dataset in question and can be used to retrieve the data."),
    Col("access_url", "char", "*", ID="access_url", attrs=[("ucd", "meta.ref.url")],
        description="URL to retrieve the data or access the service."),
    Col("service_def", "char", "*", ID="service_def", attrs=[("ucd", "meta.code")],
        description="Identifier for the type of service if accessURL refers to a service."),
    Col("error_message", "char", "*", ID="error_message", attrs=[("ucd", "meta.code.error")],
        description="If accessURL is empty, this column gives the reason why."),
    Col("description", "char", "*", ID="description", attrs=[("ucd", "meta.note")],
        description="More information on this link"),
    Col("semantics", "char", "*", ID="semantics", attrs=[("ucd", "meta.code")],
        description="What kind of data is linked here? Standard identifiers here include science, calibration, preview, info, auxiliary"),
    Col("content_type", "char", "*", ID="content_type", attrs=[("ucd", "meta.code.mime")],
        description="MIME type for the data returned."),
    Col("content_length", "long", ID="content_length",
        attrs=[("ucd", "phys.size;meta.file"), ("unit", "byte")],
        description="Size of the resource at access_url", null=-1),
]


def _datalink_doc(rows: list[list]) -> bytes:
    fields = "\n".join("      " + c.field_xml() for c in DATALINK_COLS)
    body = f"""<?xml version="1.0"?>
<VOTABLE {VOTABLE_NS} version="1.4">
  <RESOURCE type="results">
    {info("QUERY_STATUS", "OK")}
    <TABLE name="dlresponse">
      <DESCRIPTION>Data links for data sets.</DESCRIPTION>
{fields}
      <DATA>
{tabledata(DATALINK_COLS, rows, indent="        ")}
      </DATA>
    </TABLE>
  </RESOURCE>
</VOTABLE>
"""
    return body.encode("utf-8")


def _find_row(table, ident: str):
    for row in table.rows:
        v = row.get(table.datalink_field)
        if v is not None and str(v) == ident:
            return row
    return None


_MIME_BY_SUFFIX = [(".fits.gz", "application/fits"), (".fits", "application/fits"),
                   (".evt.gz", "application/fits"), (".hk.gz", "application/fits"),
                   (".cat.gz", "application/fits"), (".gz", "application/gzip"),
                   (".log", "text/plain"), (".txt", "text/plain"), (".html", "text/html"),
                   (".jpg", "image/jpeg"), (".png", "image/png")]


def _mime(path: str) -> str:
    for suffix, ct in _MIME_BY_SUFFIX:
        if path.endswith(suffix):
            return ct
    if ".txt." in path:
        return "text/plain"
    return "application/octet-stream"


def datalink(catalog, manifest: Manifest, base_url: str, table_name: str, ident: str | None,
             directory_content_type: str = "directory"):
    """GET /xamin/vo/datalink/<table>?ID=<id>: bib page, nested DataLink, archive directory."""
    table = catalog.TABLES.get(table_name) or catalog.TABLES.get(table_name.lower())
    if ident is None or ident == "":
        return 200, DATALINK_CT, error_document("Missing required parameter ID")
    if table is None:
        did = f"ivo://nasa.heasarc/{table_name}?{ident}"
        return 200, DATALINK_CT, _datalink_doc(
            [[did, None, None, f"NotFoundFault: unknown table {table_name}", None, "#this",
              None, None]])
    ident = ident.strip()
    if ident.startswith("ivo://"):       # accept a full publisher DID too
        ident = ident.split("?", 1)[-1]
    did = f"ivo://nasa.heasarc/{table.name}?{ident}"
    row = _find_row(table, ident)
    if row is None:
        return 200, DATALINK_CT, _datalink_doc(
            [[did, None, None, f"NotFoundFault: {did} not found in {table.name}", None,
              "#this", None, None]])
    rows = [[did, f"{base_url}/xamin/bib?table={table.name}&id={ident}", None, None,
             "Bibliographic references", "#documentation", "text/html", None]]
    product_key = table.product_key(row)
    if product_key:
        rows.append([did,
                     f"{base_url}/xamin/vo/datalink?datalink_key&id={did}/{product_key}",
                     None, None, f"Products: {product_key}", "#auxiliary", DATALINK_CT, None])
    archive_path = table.archive_path(row)
    if archive_path:
        size = sum(manifest.tree(archive_path).values())
        rows.append([did, f"{base_url}/{archive_path}", None, None,
                     "Observation directory", "#this", directory_content_type,
                     size if size > 0 else None])
    return 200, DATALINK_CT, _datalink_doc(rows)


def datalink_products(catalog, manifest: Manifest, base_url: str, ident: str | None):
    """GET /xamin/vo/datalink?datalink_key&id=ivo://nasa.heasarc/<t>?<id>/<product key>:
    one row per file of the observation directory."""
    if not ident:
        return 200, DATALINK_CT, error_document("Missing required parameter id")
    did = ident
    rest = ident[len("ivo://nasa.heasarc/"):] if ident.startswith("ivo://nasa.heasarc/") else ""
    table_name, _, tail = rest.partition("?")
    obs, _, _key = tail.partition("/")
    table = catalog.TABLES.get(table_name)
    row = _find_row(table, obs) if table is not None else None
    if row is None:
        return 200, DATALINK_CT, _datalink_doc(
            [[did, None, None, f"NotFoundFault: {did} not found", None, "#this", None, None]])
    archive_path = table.archive_path(row)
    if not archive_path:
        return 200, DATALINK_CT, _datalink_doc(
            [[did, None, None, f"NotFoundFault: {did} has no public products", None, "#this",
              None, None]])
    base_dir = archive_path if archive_path.endswith("/") else archive_path + "/"
    prefix = _collapse(base_dir)
    rows = []
    for path, size in sorted(manifest.tree(archive_path).items()):
        rel = path[len(prefix):]
        rows.append([did, f"{base_url}/{base_dir}{rel}", None, None, rel, "#this",
                     _mime(rel), size])
    return 200, DATALINK_CT, _datalink_doc(rows)


# ---------------------------------------------------------------- Sesame -------------------
_QUERY_COUNTER = [22524495]
_COUNTER_LOCK = threading.Lock()


def _qnum() -> int:
    with _COUNTER_LOCK:
        _QUERY_COUNTER[0] += 1
        return _QUERY_COUNTER[0]


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


def sesame(catalog, path_tail: str, raw_query: str):
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
    lines = [f"# {name}    #Q{_qnum()}"]
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
