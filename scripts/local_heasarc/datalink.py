"""Xamin's DataLink: GET <base>/xamin/vo/datalink/<table>?ID=<id> (the bibliography page, the
nested products DataLink, the observation's archive directory with its size) and
GET <base>/xamin/vo/datalink?datalink_key&id=<DID>/<product key> (one row per file).

`handle` is the route table's handler; the answers are DataLink {links} VOTables shaped like
the real service's (tests/data/samples); unknown tables and rows are in-band NotFoundFaults.
"""

from __future__ import annotations

from urllib.parse import unquote

from .manifest import Manifest, collapse_slashes
from .request import Request
from .votable_writer import Col, VOTABLE_NS, error_document, info, tabledata

DATALINK_CT = "application/x-votable+xml;content=datalink"
DATALINK_STD = "ivo://ivoa.net/std/DataLink#links-1.0"


def handle(req: Request) -> None:
    app = req.app
    rest = req.path[len("/xamin/vo/datalink"):].strip("/")
    ident = req.param("ID")
    if rest:
        status, ctype, out = datalink(app.catalog, app.manifest, app.base_url, unquote(rest),
                                      ident, req.knobs["datalink_directory_content_type"])
    else:
        status, ctype, out = datalink_products(app.catalog, app.manifest, app.base_url, ident)
    req.reply.respond(status, ctype, out)


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
    prefix = collapse_slashes(base_dir)
    rows = []
    for path, size in sorted(manifest.tree(archive_path).items()):
        rel = path[len(prefix):]
        rows.append([did, f"{base_url}/{base_dir}{rel}", None, None, rel, "#this",
                     _mime(rel), size])
    return 200, DATALINK_CT, _datalink_doc(rows)
