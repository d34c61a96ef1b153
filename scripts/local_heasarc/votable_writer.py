"""A small VOTable writer: FIELD declarations, TABLEDATA and BINARY (base64 STREAM).

Only what the local HEASARC answers need. BINARY follows VOTable 1.4 section 5.4 (the
serialization GAVO's RegTAP service answers with): cells in FIELD order, no null flags,
big-endian numbers, variable-length arrays (`arraysize="*"`) as a 4-byte big-endian element
count followed by the elements — bytes for `char`, UCS-2/UTF-16BE code units for
`unicodeChar`. Nulls: empty string for char, NaN for float/double, the VALUES null value
(declared on the FIELD) for integers.
"""

from __future__ import annotations

import base64
import math
import struct
from dataclasses import dataclass, field as dc_field
from xml.sax.saxutils import escape, quoteattr

VOTABLE_NS = ('xmlns="http://www.ivoa.net/xml/VOTable/v1.3" '
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')

_NUMERIC = {
    # datatype: (struct code, is float)
    "double": ("d", True),
    "float": ("f", True),
    "long": ("q", False),
    "int": ("i", False),
    "short": ("h", False),
    "unsignedByte": ("B", False),
}
_INT_NULL_DEFAULT = {"long": -9223372036854775808, "int": -2147483648, "short": -32768,
                     "unsignedByte": 255}


@dataclass
class Col:
    """One FIELD. `attrs` are extra XML attributes in the order given (ucd, unit, utype, ...)."""
    name: str
    datatype: str = "char"
    arraysize: str = ""
    ID: str = ""
    attrs: list = dc_field(default_factory=list)   # [(attr, value), ...]
    description: str = ""
    null: object = None            # VALUES null="..." for integer columns
    values: str = ""               # a literal VALUES element, e.g. '<VALUES null=""></VALUES>'

    def __post_init__(self):
        if self.datatype in ("char", "unicodeChar") and not self.arraysize:
            self.arraysize = "*"

    def field_xml(self, order: str = "gavo") -> str:
        """The FIELD element. order='gavo' is DaCHS's (ID arraysize datatype name ...),
        order='xamin' is Xamin's (attrs first, then name, then ID)."""
        parts: list[tuple[str, str]] = []
        if order == "gavo":
            if self.ID:
                parts.append(("ID", self.ID))
            if self.arraysize:
                parts.append(("arraysize", self.arraysize))
            parts.append(("datatype", self.datatype))
            parts.append(("name", self.name))
            parts.extend((k, v) for k, v in self.attrs if v not in (None, ""))
        else:  # xamin: unit xtype datatype arraysize ucd precision name ID width
            extra = dict((k, v) for k, v in self.attrs if v not in (None, ""))
            for k in ("unit", "xtype"):
                if k in extra:
                    parts.append((k, extra.pop(k)))
            parts.append(("datatype", self.datatype))
            if self.arraysize:
                parts.append(("arraysize", self.arraysize))
            for k in ("ucd", "precision"):
                if k in extra:
                    parts.append((k, extra.pop(k)))
            parts.append(("name", self.name))
            if self.ID:
                parts.append(("ID", self.ID))
            parts.extend(extra.items())
        attr = " ".join(f"{k}={quoteattr(str(v))}" for k, v in parts)
        inner = ""
        if self.description:
            inner += f"<DESCRIPTION>{escape(self.description)}</DESCRIPTION>"
        if self.null is not None:
            inner += f'<VALUES null="{self.null}"/>'
        elif self.values:
            inner += self.values
        if inner:
            return f"<FIELD {attr}>{inner}</FIELD>"
        return f"<FIELD {attr}/>"


# ---------------------------------------------------------------- TABLEDATA ---------------
def format_cell(col: Col, value) -> str:
    if value is None:
        return ""
    if col.datatype in ("double", "float"):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "+Inf" if v > 0 else "-Inf"
        return repr(v)
    if col.datatype in ("long", "int", "short", "unsignedByte"):
        return str(int(value))
    if col.datatype == "boolean":
        return "T" if value else "F"
    return escape(str(value))


def tabledata(cols: list[Col], rows: list[list], indent: str = "") -> str:
    out = [f"{indent}<TABLEDATA>"]
    for row in rows:
        cells = "".join(f"<TD>{format_cell(c, v)}</TD>" if format_cell(c, v) != "" else "<TD/>"
                        for c, v in zip(cols, row))
        out.append(f"{indent}<TR>{cells}</TR>")
    out.append(f"{indent}</TABLEDATA>")
    return "\n".join(out)


# ---------------------------------------------------------------- BINARY ------------------
def _encode_cell(col: Col, value) -> bytes:
    dt = col.datatype
    if dt == "char":
        data = b"" if value is None else str(value).encode("utf-8")
        if col.arraysize.endswith("*"):
            return struct.pack(">I", len(data)) + data
        n = int(col.arraysize)
        return data[:n].ljust(n, b"\0")
    if dt == "unicodeChar":
        text = "" if value is None else str(value)
        data = text.encode("utf-16-be")
        units = len(data) // 2
        if col.arraysize.endswith("*"):
            return struct.pack(">I", units) + data
        n = int(col.arraysize)
        return data[: 2 * n].ljust(2 * n, b"\0")
    if dt == "boolean":
        return b"?" if value is None else (b"T" if value else b"F")
    if dt in _NUMERIC:
        code, is_float = _NUMERIC[dt]
        if col.arraysize:
            raise ValueError(f"arrays of {dt} are not supported by this writer ({col.name})")
        if value is None:
            value = math.nan if is_float else (
                int(col.null) if col.null is not None else _INT_NULL_DEFAULT[dt])
        return struct.pack(">" + code, float(value) if is_float else int(value))
    raise ValueError(f"unsupported datatype {dt} for {col.name}")


def binary_stream(cols: list[Col], rows: list[list]) -> str:
    """The base64 text of a BINARY STREAM for these rows (line-wrapped like DaCHS: none)."""
    raw = bytearray()
    for row in rows:
        for col, value in zip(cols, row):
            raw += _encode_cell(col, value)
    return base64.b64encode(bytes(raw)).decode("ascii")


def binary_data(cols: list[Col], rows: list[list]) -> str:
    return ('<DATA><BINARY><STREAM encoding="base64">'
            + binary_stream(cols, rows) + "</STREAM></BINARY></DATA>")


# ---------------------------------------------------------------- documents ---------------
def info(name: str, value: str, text: str = "", **attrs) -> str:
    extra = "".join(f" {k}={quoteattr(str(v))}" for k, v in attrs.items())
    if text:
        return f"<INFO name={quoteattr(name)}{extra} value={quoteattr(value)}>{escape(text)}</INFO>"
    return f"<INFO name={quoteattr(name)}{extra} value={quoteattr(value)}/>"


def error_document(message: str, version: str = "1.4", scs: bool = False) -> bytes:
    """A VOTable whose only content is QUERY_STATUS=ERROR with the message (TAP/SCS/DataLink).
    scs=True adds Simple Cone Search 1.03's `<INFO name="Error" value="message"/>` too."""
    scs_info = f'  {info("Error", message)}\n' if scs else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<VOTABLE version="{version}" {VOTABLE_NS}>\n'
            ' <RESOURCE type="results">\n'
            f'  {info("QUERY_STATUS", "ERROR", message)}\n'
            + scs_info +
            ' </RESOURCE>\n'
            '</VOTABLE>\n').encode("utf-8")
