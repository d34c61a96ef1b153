"""Xamin's Simple Cone Search: GET <base>/xamin/vo/cone?showoffsets&table=<t>&&RA=&DEC=&SR=&VERB=
(and the older /cgi-bin/vo/cone/coneGet.pl).

`handle` is the route table's handler; `cone_search` builds the answer as Xamin does: a
VOTable 1.4 with its INFOs, FIELD attributes in Xamin's order, rows sorted by distance
(Search_Offset in arcmin with showoffsets) and the adhoc:service DataLink block; a bad
parameter is an error VOTable with status 200, as Xamin answers (tests/data/samples).
The `cone_body_bytes` knob pads an answer with synthetic rows to an exact size (`_pad`).
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

from .datalink import DATALINK_STD
from .request import Request
from .sky import angular_distance_deg
from .votable_writer import Col, VOTABLE_NS, error_document, info, tabledata

VOTABLE_CT = "text/xml;content=x-votable"      # what Xamin's cone search answers with


def handle(req: Request) -> None:
    status, ctype, out = cone_search(req.app.catalog, req.app.base_url, req.params,
                                     pad_to=req.knobs.get("cone_body_bytes", 0))
    req.reply.respond(status, ctype, out)


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


def cone_search(catalog, base_url: str, query_params: list[tuple[str, str]], pad_to: int = 0):
    """GET /xamin/vo/cone?showoffsets&table=<t>&&RA=&DEC=&SR=&VERB= (and coneGet.pl).
    pad_to > 0: an answer with rows is padded to exactly that many bytes (see `_pad`)."""
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
    out = body.encode("utf-8")
    if pad_to > len(out) and rows:
        key = next(i for i, f in enumerate(fields) if f.name == table.key)
        out = _pad(out, cols, rows[0], key, pad_to)
    return 200, VOTABLE_CT, out


_PAD_MARK = "PAD000000000000"


def _pad(out: bytes, cols: list, template: list, key: int, size: int) -> bytes:
    """`out` with copies of the row `template` (its key cell PAD<12 digits>, distinct) and then
    blanks inserted before </TABLEDATA>, exactly `size` bytes long (size > len(out)). The key
    column holds text (obsid, as in every HEASARC master table)."""
    line = list(template)
    line[key] = _PAD_MARK
    indent = "    "
    text = tabledata(cols, [line], indent=indent)    # <TABLEDATA>, the row, </TABLEDATA>
    row = text[len(f"{indent}<TABLEDATA>\n"):-len(f"\n{indent}</TABLEDATA>")].encode("utf-8")
    head, tail = row.split(_PAD_MARK.encode(), 1)
    row_bytes = 1 + len(row)          # "\n" + the row
    at = out.rindex(b"\n    </TABLEDATA>")
    count, blanks = divmod(size - len(out), row_bytes)
    parts = [out[:at]]
    parts.extend(b"\n" + head + b"PAD%012d" % i + tail for i in range(count))
    parts.append(b" " * blanks)
    parts.append(out[at:])
    return b"".join(parts)


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
