"""The registry's TAP endpoint: <base>/tap/{sync,capabilities,availability}.

`handle` is the route table's handler. It checks the TAP sync parameters (GET query or POST
form, urlencoded or multipart), runs the ADQL through regtap_query.execute and answers a
VOTable (BINARY, as GAVO answers, or TABLEDATA on request).
"""

from __future__ import annotations

import email.parser
import email.policy
import time
from urllib.parse import parse_qsl

from . import regtap_query
from .request import Request
from .votable_writer import VOTABLE_NS, binary_data, error_document, info, tabledata

TAP_CT = "application/x-votable+xml"


def handle(req: Request) -> None:
    reply, app = req.reply, req.app
    path = req.path
    sub = path[len("/tap"):].strip("/")
    if sub in ("capabilities",):
        reply.respond(200, "text/xml", app.capabilities())
        return
    if sub == "availability":
        reply.respond(200, "text/xml", _AVAILABILITY)
        return
    if sub == "":
        reply.respond(200, "text/html; charset=UTF-8",
                      b"<html><body><h1>local HEASARC RegTAP (TAP sync only)</h1></body></html>\n")
        return
    if sub != "sync":
        reply.respond(404 if sub != "async" else 501, TAP_CT,
                      error_document(f"{path}: only {app.base_url}/tap/sync is served"))
        return
    params = req.params
    if req.method == "POST":
        params = params + _form_params(req.headers.get("Content-Type", ""), req.body)
    p: dict[str, str] = {}
    for k, v in params:
        p.setdefault(k.upper(), v)
    if "QUERY" not in p or not p["QUERY"].strip():
        reply.respond(400, TAP_CT, error_document("Missing required parameter QUERY"))
        return
    if "REQUEST" in p and p["REQUEST"].lower() != "doquery":
        reply.respond(400, TAP_CT, error_document(
            f"REQUEST={p['REQUEST']} is not supported (only doQuery)"))
        return
    lang = p.get("LANG", "ADQL")
    if not lang.upper().startswith("ADQL"):
        reply.respond(400, TAP_CT, error_document(f"LANG={lang} is not supported (only ADQL)"))
        return
    maxrec = None
    if p.get("MAXREC", "").strip():
        try:
            maxrec = max(0, int(p["MAXREC"]))
        except ValueError:
            reply.respond(400, TAP_CT, error_document(f"Invalid MAXREC: {p['MAXREC']}"))
            return
    fmt = (p.get("RESPONSEFORMAT") or p.get("FORMAT") or "").lower()
    tabledata_out = "tabledata" in fmt or fmt in ("votable/td", "votabletd")
    query = p["QUERY"]
    try:
        result = regtap_query.execute(app.model, query, maxrec)
    except regtap_query.AdqlError as e:
        reply.respond(200, TAP_CT, error_document(f"Could not execute query: {e}"))
        return
    reply.respond(200, TAP_CT, _tap_document(query, result, tabledata_out))


def _form_params(ctype: str, body: bytes) -> list:
    if not body:
        return []
    if ctype.lower().startswith("multipart/form-data"):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        out = []
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name and not part.get_filename():
                out.append((name, part.get_content()))
        return out
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def _tap_document(query: str, result: regtap_query.Result, as_tabledata: bool) -> bytes:
    fields = "".join(c.field_xml() for c in result.cols)
    data = (f"<DATA>{tabledata(result.cols, result.rows)}</DATA>" if as_tabledata
            else binary_data(result.cols, result.rows))
    overflow = info("QUERY_STATUS", "OVERFLOW") if result.overflow else ""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        f'<VOTABLE version="1.4" {VOTABLE_NS} xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 '
        'http://vo.ari.uni-heidelberg.de/docs/schemata/VOTable-1.4.xsd">'
        '<RESOURCE type="results">'
        + info("query", query, "Original ADQL query")
        + info("QUERY_STATUS", "OK", "Query successful")
        + info("server_software", "local-heasarc RegTAP", "Software that produced this VOTable")
        + info("ivoid", "ivo://nasa.heasarc/registry", "Originating VO resource", ucd="meta.ref.ivoid")
        + info("request_date", now, "", ucd="time.creation")
        + f'<TABLE name="resource_capability_interface">{fields}{data}</TABLE>'
        + overflow + "</RESOURCE></VOTABLE>"
    ).encode("utf-8")


_AVAILABILITY = (b"<?xml version='1.0' encoding='utf-8'?>\n"
                 b'<avl:availability xmlns:avl="http://www.ivoa.net/xml/VOSIAvailability/v1.0">'
                 b"<avl:available>true</avl:available></avl:availability>\n")
