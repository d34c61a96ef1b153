"""The registry half of the local HEASARC: RegTAP tables in memory and a small ADQL evaluator.

This is deliberately not an ADQL engine. It evaluates, honestly, the query shapes real clients
send for "find the services of this HEASARC table":

  SELECT [DISTINCT] [TOP n] item, ...
    item := column | COALESCE(column, 'lit') | ivo_string_agg(COALESCE(column,'lit'), 'sep')
            | ivo_string_agg(column, 'sep') | COUNT(*)        each with optional [AS] alias
  FROM rr.resource | rr.capability | rr.interface
       joined by NATURAL [LEFT [OUTER]] JOIN (columns in common: ivoid, cap_index)
  [WHERE cond]   cond := cond OR cond | cond AND cond | NOT cond | ( cond )
                         | column (= | != | <>) literal | column [NOT] LIKE 'pattern'
                         | column [NOT] IN (literal, ...) | column IS [NOT] NULL
                         | 1 = ivo_nocasematch(column, 'pattern')
  [GROUP BY column, ...]  [ORDER BY column [ASC|DESC], ...]

Anything else is refused with a message naming what is not supported (TAP: QUERY_STATUS ERROR).
Values follow RegTAP: ivoids and standard ids lower-case, NULL where a record has nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .votable_writer import Col

SEP = ":::py VO sep:::"


class AdqlError(Exception):
    pass


# ---------------------------------------------------------------- the rr schema ------------
# column -> (datatype, extra FIELD attributes, description); mirrors GAVO's RegTAP FIELDs.
_U = "unicodeChar"
RR_COLUMNS = {
    "rr.resource": {
        "ivoid": ("char", "xpath:identifier", "Unambiguous reference to the resource conforming to the IVOA standard for identifiers."),
        "res_type": ("char", "xpath:@xsi:type", "Resource type (something like vg:authority, vs:catalogservice, etc)."),
        "created": ("char", "xpath:@created", "The UTC date and time this resource metadata description was created."),
        "short_name": ("char", "xpath:shortName", "A short name or abbreviation given to something, for presentation in space-constrained fields (up to 16 characters)."),
        "res_title": (_U, "xpath:title", "The full name given to the resource."),
        "updated": ("char", "xpath:@updated", "The UTC date this resource metadata description was last updated."),
        "content_level": ("char", "xpath:content/contentLevel", "A hash-separated list of content levels specifying the intended audience."),
        "res_description": (_U, "xpath:content/description", "An account of the nature of the resource."),
        "reference_url": ("char", "xpath:content/referenceURL", "URL pointing to a human-readable document describing this resource."),
        "creator_seq": (_U, "xpath:curation/creator/name", "The creator(s) of the resource in the order given by the resource record author, separated by semicolons."),
        "content_type": ("char", "xpath:content/type", "A hash-separated list of natures or genres of the content of the resource."),
        "source_format": ("char", "xpath:content/source/@format", "The format of source_value. This, in particular, can be ``bibcode''."),
        "source_value": (_U, "xpath:content/source", "A bibliographic reference from which the present resource is derived or extracted."),
        "res_version": ("char", "xpath:curation/version", "Label associated with creation or availablilty of a version of a resource."),
        "region_of_regard": ("float", "xpath:coverage/regionOfRegard", "A single numeric value representing the angle, given in decimal degrees, by which a positional query against this resource should be ``blurred'' in order to get an appropriate match."),
        "waveband": ("char", "xpath:coverage/waveband", "A hash-separated list of regions of the electro-magnetic spectrum that the resource's spectral coverage overlaps with."),
        "rights": ("char", "xpath:/rights", "A statement of usage conditions (license, attribution, embargo, etc)."),
        "rights_uri": ("char", "xpath:/rights/@rightsURI", "A URI identifier for a license"),
        "harvested_from": ("char", "", "IVOA identifier of the registry this record was harvested from."),
    },
    "rr.capability": {
        "ivoid": ("char", "", "The parent resource."),
        "cap_index": ("short", "", "An arbitrary identifier of this capability within the resource."),
        "cap_type": ("char", "xpath:@xsi:type", "The type of capability covered here.  If looking for endpoints implementing a certain standard, you should not use this column; rather, match against standard_id."),
        "cap_description": ("char", "xpath:description", "A human-readable description of what this capability provides as part of the over-all service."),
        "standard_id": ("char", "xpath:@standardID", "A URI for a standard this capability conforms to."),
    },
    "rr.interface": {
        "ivoid": ("char", "", "The parent resource."),
        "cap_index": ("short", "", "The index of the parent capability."),
        "intf_index": ("short", "", "An arbitrary identifier for the interfaces of a resource."),
        "intf_type": ("char", "xpath:@xsi:type", "The type of the interface (vr:webbrowser, vs:paramhttp, etc)."),
        "intf_role": ("char", "xpath:@role", "An identifier for the role the interface plays in the particular capability.  If the value is equal to 'std' or begins with 'std:', then the interface refers to a standard interface defined by the standard referred to by the capability's standardID attribute."),
        "std_version": ("char", "xpath:@version", "The version of a standard interface specification that this interface complies with.  When the interface is provided in the context of a Capability element, then the standard being refered to is the one identified by the Capability's standardID element."),
        "query_type": ("char", "xpath:queryType", "Hash-joined list of HTTP requests supported by the interface."),
        "result_type": ("char", "xpath:resultType", "The MIME type of a document returned in the HTTP response."),
        "wsdl_url": ("char", "xpath:wsdlURL", "The location of the WSDL that describes this Web Service."),
        "url_use": ("char", "xpath:accessURL/@use", "A flag indicating whether this should be interpreted as a base URL ('base'), a full URL ('full'), or a URL to a directory that will produce a listing of files ('dir')."),
        "access_url": ("char", "xpath:accessURL", "The URL at which the interface is found."),
        "mirror_url": ("char", "xpath:mirrorURL", "Secondary access URLs of this interface, separated by hash characters."),
        "authenticated_only": ("short", "", "A flag for whether an interface is available for anonymous use (0) or only authenticated clients are served (1)."),
        "security_method_id": ("char", "xpath:securityMethod/@standardID", "The standard identifier of the security method associated with this interface."),
    },
}
TABLE_ALIASES = {"rr.resource": "rr.resource", "rr.capability": "rr.capability",
                 "rr.interface": "rr.interface"}
_SHORT_NULL = -32768


def column_meta(name: str):
    for table in ("rr.resource", "rr.capability", "rr.interface"):
        if name in RR_COLUMNS[table]:
            return RR_COLUMNS[table][name]
    return None


@dataclass
class RegistryModel:
    resources: list[dict]
    capabilities: list[dict]
    interfaces: list[dict]

    def table(self, name: str) -> list[dict]:
        return {"rr.resource": self.resources, "rr.capability": self.capabilities,
                "rr.interface": self.interfaces}[name]


def build_model(catalog, base_url: str) -> RegistryModel:
    """RegTAP rows for every catalog table (4 interfaces each, as HEASARC publishes them)
    and every REGISTRY_ONLY resource. All URLs point at base_url (http://127.0.0.1:PORT)."""
    resources, caps, intfs = [], [], []

    def add(table_name: str, title: str, description: str, has_cone: bool, waveband="x-ray"):
        ivoid = f"ivo://nasa.heasarc/{table_name}".lower()
        resources.append({
            "ivoid": ivoid, "res_type": "vs:catalogservice", "created": "2023-12-08T00:00:00",
            "short_name": table_name.upper()[:16], "res_title": title,
            "updated": "2023-12-08T00:00:00", "content_level": "research",
            "res_description": description,
            "reference_url": f"{base_url}/W3Browse/all/{table_name}.html",
            "creator_seq": "HEASARC", "content_type": "catalog", "source_format": "",
            "source_value": "", "res_version": None, "region_of_regard": None,
            "waveband": waveband, "rights": "", "rights_uri": None,
            "harvested_from": "ivo://nasa.heasarc/registry",
        })
        interfaces = [
            # (cap_type, standard_id, intf_type, intf_role, std_version, url_use, url)
            (None, None, "vr:webbrowser", None, None, "full",
             f"{base_url}/cgi-bin/W3Browse/w3query.pl?tablehead=name=heasarc_{table_name}"
             "&Action=More+Options&Action=Parameter+Search&ConeAdd=1"),
            (None, None, "vs:paramhttp", None, None, "base",
             f"{base_url}/cgi-bin/W3Browse/getvotable.pl?name={table_name}"),
            ("tr:tableaccess", "ivo://ivoa.net/std/tap#aux", "vs:paramhttp", "std", "1.0", "base",
             f"{base_url}/xamin/vo/tap"),
        ]
        if has_cone:
            interfaces.append(
                ("cs:conesearch", "ivo://ivoa.net/std/conesearch", "vs:paramhttp", "std", "1.0",
                 "base", f"{base_url}/xamin/vo/cone?showoffsets&table={table_name}&"))
        for i, (cap_type, std, itype, role, ver, use, url) in enumerate(interfaces, start=1):
            caps.append({"ivoid": ivoid, "cap_index": i, "cap_type": cap_type,
                         "cap_description": None, "standard_id": std})
            intfs.append({"ivoid": ivoid, "cap_index": i, "intf_index": i, "intf_type": itype,
                          "intf_role": role, "std_version": ver,
                          "query_type": "get" if itype == "vs:paramhttp" else None,
                          "result_type": "text/xml" if std else None, "wsdl_url": None,
                          "url_use": use, "access_url": url, "mirror_url": None,
                          "authenticated_only": 0, "security_method_id": None})

    for name, table in catalog.TABLES.items():
        add(name, table.title, table.description, True)
    for entry in getattr(catalog, "REGISTRY_ONLY", []):
        ivoid = entry["ivoid"].lower()
        prefix = "ivo://nasa.heasarc/"
        name = ivoid[len(prefix):] if ivoid.startswith(prefix) else ivoid.rsplit("/", 1)[-1]
        if any(r["ivoid"] == ivoid for r in resources):
            continue
        add(name, entry.get("title", name), entry.get("description", ""),
            bool(entry.get("has_cone", False)))
    return RegistryModel(resources, caps, intfs)


# ---------------------------------------------------------------- tokenizer ---------------
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|"[^"]+")
  | (?P<op><>|!=|<=|>=|\|\||[=<>(),*;+-])
""", re.VERBOSE)

KEYWORDS = {"select", "distinct", "top", "from", "where", "group", "by", "order", "asc", "desc",
            "and", "or", "not", "like", "in", "is", "null", "as", "natural", "left", "right",
            "outer", "inner", "join", "on", "using", "having", "union", "limit", "offset", "all",
            "full", "cross", "between", "exists", "ilike"}


@dataclass
class Tok:
    kind: str   # string number ident kw op end
    value: str
    pos: int


def tokenize(text: str) -> list[Tok]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise AdqlError(f"unexpected character {text[pos]!r} at position {pos}")
        kind = m.lastgroup
        val = m.group(kind)
        if kind == "string":
            out.append(Tok("string", val[1:-1].replace("''", "'"), pos))
        elif kind == "ident":
            if val.startswith('"'):
                out.append(Tok("ident", val[1:-1], pos))
            elif val.lower() in KEYWORDS:
                out.append(Tok("kw", val.lower(), pos))
            else:
                out.append(Tok("ident", val, pos))
        elif kind != "ws":
            out.append(Tok(kind, val, pos))
        pos = m.end()
    out.append(Tok("end", "", len(text)))
    return out


# ---------------------------------------------------------------- AST ---------------------
@dataclass
class ColRef:
    name: str


@dataclass
class Lit:
    value: object


@dataclass
class Coalesce:
    args: list


@dataclass
class StringAgg:
    expr: object
    sep: str


@dataclass
class Count:
    pass


@dataclass
class SelectItem:
    expr: object
    alias: str


class Parser:
    def __init__(self, text: str):
        self.toks = tokenize(text)
        self.i = 0

    # helpers
    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def next(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def accept_kw(self, *words) -> bool:
        if self.tok.kind == "kw" and self.tok.value in words:
            self.i += 1
            return True
        return False

    def expect_kw(self, word: str):
        if not self.accept_kw(word):
            self.fail(f"expected {word.upper()}")

    def accept_op(self, op: str) -> bool:
        if self.tok.kind == "op" and self.tok.value == op:
            self.i += 1
            return True
        return False

    def expect_op(self, op: str):
        if not self.accept_op(op):
            self.fail(f"expected '{op}'")

    def fail(self, what: str):
        t = self.tok
        near = repr(t.value) if t.kind != "end" else "end of query"
        raise AdqlError(f"{what} near {near} (position {t.pos})")

    def unsupported(self, what: str):
        raise AdqlError(f"unsupported by the local HEASARC registry: {what}")

    # grammar
    def parse(self) -> dict:
        q: dict = {"distinct": False, "top": None, "items": [], "tables": [], "joins": [],
                   "where": None, "group": [], "order": []}
        self.expect_kw("select")
        if self.accept_kw("all"):
            pass
        if self.accept_kw("distinct"):
            q["distinct"] = True
        if self.accept_kw("top"):
            t = self.next()
            if t.kind != "number":
                self.fail("expected a number after TOP")
            q["top"] = int(float(t.value))
        q["items"].append(self.select_item())
        while self.accept_op(","):
            q["items"].append(self.select_item())
        self.expect_kw("from")
        q["tables"].append(self.table_name())
        while True:
            if self.accept_op(","):
                self.unsupported("comma joins (cross products); use NATURAL JOIN")
            natural = self.accept_kw("natural")
            left = False
            if self.accept_kw("left"):
                left = True
                self.accept_kw("outer")
            elif self.tok.kind == "kw" and self.tok.value in ("right", "full", "cross"):
                self.unsupported(f"{self.tok.value.upper()} JOIN")
            elif self.accept_kw("inner"):
                pass
            if not self.accept_kw("join"):
                if natural or left:
                    self.fail("expected JOIN")
                break
            if not natural:
                self.unsupported("JOIN without NATURAL (ON/USING joins)")
            q["tables"].append(self.table_name())
            q["joins"].append("left" if left else "inner")
        if self.accept_kw("where"):
            q["where"] = self.condition()
        if self.accept_kw("group"):
            self.expect_kw("by")
            q["group"].append(self.column_name())
            while self.accept_op(","):
                q["group"].append(self.column_name())
        if self.tok.kind == "kw" and self.tok.value == "having":
            self.unsupported("HAVING")
        if self.accept_kw("order"):
            self.expect_kw("by")
            while True:
                t = self.next()
                if t.kind != "ident":
                    self.i -= 1
                    self.fail("expected a column name or alias")
                name = t.value.rsplit(".", 1)[-1]
                desc = False
                if self.accept_kw("desc"):
                    desc = True
                else:
                    self.accept_kw("asc")
                q["order"].append((name, desc))
                if not self.accept_op(","):
                    break
        if self.tok.kind == "kw" and self.tok.value in ("union", "limit", "offset"):
            self.unsupported(self.tok.value.upper())
        self.accept_op(";")
        if self.tok.kind != "end":
            self.fail("unexpected text")
        return q

    def table_name(self) -> str:
        t = self.next()
        if t.kind != "ident":
            self.i -= 1
            if t.kind == "op" and t.value == "(":
                self.unsupported("subqueries")
            self.fail("expected a table name")
        name = t.value.lower()
        if name not in TABLE_ALIASES:
            self.unsupported(f"table {t.value} (only rr.resource, rr.capability, rr.interface)")
        if self.accept_kw("as") or (self.tok.kind == "ident"):
            self.unsupported("table aliases")
        return TABLE_ALIASES[name]

    def column_name(self) -> str:
        t = self.next()
        if t.kind != "ident":
            self.i -= 1
            self.fail("expected a column name")
        name = t.value.lower()
        if "." in name:
            # rr.interface.access_url -> access_url (qualified names are unambiguous here)
            name = name.rsplit(".", 1)[1]
        if column_meta(name) is None:
            self.unsupported(f"column {t.value}")
        return name

    def literal(self):
        t = self.next()
        if t.kind == "string":
            return t.value
        if t.kind == "number":
            return float(t.value) if any(c in t.value for c in ".eE") else int(t.value)
        if t.kind == "op" and t.value == "-" and self.tok.kind == "number":
            v = self.literal()
            return -v
        if t.kind == "kw" and t.value == "null":
            return None
        self.i -= 1
        self.fail("expected a literal")

    def value_expr(self):
        """column | COALESCE(column, literal, ...) | literal"""
        t = self.tok
        if t.kind == "ident" and t.value.lower() == "coalesce":
            self.next()
            self.expect_op("(")
            args = [self.value_expr()]
            while self.accept_op(","):
                args.append(self.value_expr())
            self.expect_op(")")
            return Coalesce(args)
        if t.kind == "ident":
            nxt = self.toks[self.i + 1]
            if nxt.kind == "op" and nxt.value == "(":
                self.unsupported(f"function {t.value}()")
            return ColRef(self.column_name())
        return Lit(self.literal())

    def select_item(self) -> SelectItem:
        t = self.tok
        if t.kind == "op" and t.value == "*":
            self.unsupported("SELECT * (name the columns)")
        if t.kind == "ident" and t.value.lower() in ("ivo_string_agg", "string_agg"):
            self.next()
            self.expect_op("(")
            expr = self.value_expr()
            self.expect_op(",")
            sep = self.next()
            if sep.kind != "string":
                self.i -= 1
                self.fail("expected the separator string")
            self.expect_op(")")
            expr = StringAgg(expr, sep.value)
            default = t.value.lower()
        elif t.kind == "ident" and t.value.lower() == "count":
            self.next()
            self.expect_op("(")
            if not self.accept_op("*"):
                self.unsupported("COUNT of anything but *")
            self.expect_op(")")
            expr, default = Count(), "count"
        else:
            expr = self.value_expr()
            default = expr.name if isinstance(expr, ColRef) else (
                "coalesce" if isinstance(expr, Coalesce) else "expr")
        alias = default
        if self.accept_kw("as"):
            a = self.next()
            if a.kind != "ident":
                self.i -= 1
                self.fail("expected an alias")
            alias = a.value
        elif self.tok.kind == "ident":
            alias = self.next().value
        return SelectItem(expr, alias)

    # conditions
    def condition(self):
        left = self.and_cond()
        while self.accept_kw("or"):
            left = ("or", left, self.and_cond())
        return left

    def and_cond(self):
        left = self.not_cond()
        while self.accept_kw("and"):
            left = ("and", left, self.not_cond())
        return left

    def not_cond(self):
        if self.accept_kw("not"):
            return ("not", self.not_cond())
        return self.predicate()

    def predicate(self):
        if self.accept_op("("):
            if self.tok.kind == "kw" and self.tok.value == "select":
                self.unsupported("subqueries")
            c = self.condition()
            self.expect_op(")")
            return c
        # 1 = ivo_nocasematch(col, 'pat')   or   ivo_nocasematch(col, 'pat') = 1
        if self.tok.kind == "number" and self.toks[self.i + 1].value == "=" \
                and self.toks[self.i + 2].kind == "ident":
            num = self.next().value
            self.expect_op("=")
            return self.udf_pred(num)
        if self.tok.kind == "ident" and self.toks[self.i + 1].value == "(" \
                and self.tok.value.lower() not in ("coalesce",):
            pred = self.udf_pred(None)
            return pred
        lhs = self.value_expr()
        negate = self.accept_kw("not")
        if self.accept_kw("like"):
            pat = self.literal()
            if not isinstance(pat, str):
                self.fail("LIKE needs a string pattern")
            p = ("like", lhs, pat)
            return ("not", p) if negate else p
        if self.accept_kw("in"):
            self.expect_op("(")
            if self.tok.kind == "kw" and self.tok.value == "select":
                self.unsupported("subqueries")
            vals = [self.literal()]
            while self.accept_op(","):
                vals.append(self.literal())
            self.expect_op(")")
            p = ("in", lhs, vals)
            return ("not", p) if negate else p
        if negate:
            self.fail("expected LIKE or IN after NOT")
        if self.accept_kw("is"):
            neg = self.accept_kw("not")
            self.expect_kw("null")
            p = ("isnull", lhs)
            return ("not", p) if neg else p
        if self.tok.kind == "kw" and self.tok.value in ("ilike", "between", "exists"):
            self.unsupported(self.tok.value.upper())
        t = self.next()
        if t.kind == "op" and t.value in ("=", "!=", "<>", "<", ">", "<=", ">="):
            rhs = self.value_expr()
            return ("cmp", t.value, lhs, rhs)
        self.i -= 1
        self.fail("expected a comparison")

    def udf_pred(self, num):
        name = self.next().value.lower()
        if name != "ivo_nocasematch":
            self.unsupported(f"function {name}()")
        self.expect_op("(")
        col = self.value_expr()
        self.expect_op(",")
        pat = self.literal()
        self.expect_op(")")
        if num is None:
            self.expect_op("=")
            t = self.next()
            num = t.value
        if str(num) not in ("1", "0"):
            self.fail("ivo_nocasematch compares with 1 or 0")
        p = ("ilike", col, str(pat))
        return p if str(num) == "1" else ("not", p)


# ---------------------------------------------------------------- evaluation --------------
def _like_regex(pattern: str, flags=0):
    out = []
    for ch in pattern:
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out) + r"\Z", re.DOTALL | flags)


def _value(expr, row):
    if isinstance(expr, ColRef):
        return row.get(expr.name)
    if isinstance(expr, Lit):
        return expr.value
    if isinstance(expr, Coalesce):
        for a in expr.args:
            v = _value(a, row)
            if v is not None:
                return v
        return None
    raise AdqlError("aggregate used where a value is needed")


def _truth(cond, row) -> bool | None:
    """Three-valued logic: None is SQL's UNKNOWN."""
    op = cond[0]
    if op == "or":
        a, b = _truth(cond[1], row), _truth(cond[2], row)
        if a or b:
            return True
        return None if a is None or b is None else False
    if op == "and":
        a, b = _truth(cond[1], row), _truth(cond[2], row)
        if a is False or b is False:
            return False
        return None if a is None or b is None else True
    if op == "not":
        a = _truth(cond[1], row)
        return None if a is None else not a
    if op == "isnull":
        return _value(cond[1], row) is None
    if op in ("like", "ilike"):
        v = _value(cond[1], row)
        if v is None:
            return None
        rx = _like_regex(cond[2], re.IGNORECASE if op == "ilike" else 0)
        return rx.match(str(v)) is not None
    if op == "in":
        v = _value(cond[1], row)
        if v is None:
            return None
        return any(v == x for x in cond[2] if x is not None)
    if op == "cmp":
        a, b = _value(cond[2], row), _value(cond[3], row)
        if a is None or b is None:
            return None
        if isinstance(a, (int, float)) != isinstance(b, (int, float)):
            raise AdqlError(f"cannot compare {a!r} with {b!r}")
        return {"=": a == b, "!=": a != b, "<>": a != b, "<": a < b, ">": a > b,
                "<=": a <= b, ">=": a >= b}[cond[1]]
    raise AdqlError(f"internal: unknown condition {op}")


def _natural_join(left: list[dict], left_cols: set, right: list[dict], right_cols: set,
                  outer: bool) -> list[dict]:
    common = sorted(left_cols & right_cols)
    index: dict = {}
    for r in right:
        index.setdefault(tuple(r[c] for c in common), []).append(r)
    out = []
    nulls = {c: None for c in right_cols - left_cols}
    for l in left:
        matches = index.get(tuple(l[c] for c in common), [])
        if matches:
            for r in matches:
                row = dict(l)
                row.update(r)
                out.append(row)
        elif outer:
            row = dict(l)
            row.update(nulls)
            out.append(row)
    return out


@dataclass
class Result:
    cols: list[Col]
    rows: list[list]
    overflow: bool = False


def execute(model: RegistryModel, query: str, maxrec: int | None = None) -> Result:
    q = Parser(query).parse()
    # FROM
    rows = [dict(r) for r in model.table(q["tables"][0])]
    cols = set(RR_COLUMNS[q["tables"][0]])
    for table, kind in zip(q["tables"][1:], q["joins"]):
        tcols = set(RR_COLUMNS[table])
        if not cols & tcols:
            raise AdqlError(f"no column in common for NATURAL JOIN with {table}")
        rows = _natural_join(rows, cols, model.table(table), tcols, kind == "left")
        cols |= tcols

    def check(expr):
        if isinstance(expr, ColRef) and expr.name not in cols:
            raise AdqlError(f"column {expr.name} is not in "
                            + ", ".join(q["tables"]))
        if isinstance(expr, Coalesce):
            for a in expr.args:
                check(a)
        if isinstance(expr, StringAgg):
            check(expr.expr)

    def check_cond(c):
        if c is None:
            return
        if c[0] in ("or", "and"):
            check_cond(c[1]); check_cond(c[2])
        elif c[0] == "not":
            check_cond(c[1])
        elif c[0] == "cmp":
            check(c[2]); check(c[3])
        else:
            check(c[1])

    for it in q["items"]:
        check(it.expr)
    check_cond(q["where"])
    for g in q["group"]:
        check(ColRef(g))

    # WHERE
    if q["where"] is not None:
        rows = [r for r in rows if _truth(q["where"], r) is True]

    aggregate = any(isinstance(it.expr, (StringAgg, Count)) for it in q["items"])
    out_rows: list[list] = []
    if q["group"] or aggregate:
        for it in q["items"]:
            plain = it.expr if isinstance(it.expr, ColRef) else None
            if plain is not None and plain.name not in q["group"]:
                raise AdqlError(f"column {plain.name} must appear in GROUP BY "
                                "or be used in an aggregate")
            if isinstance(it.expr, Coalesce):
                raise AdqlError("COALESCE outside an aggregate in a grouped query")
        groups: dict = {}
        for r in rows:
            groups.setdefault(tuple(r.get(g) for g in q["group"]), []).append(r)
        if not q["group"] and not groups:
            groups[()] = []
        for key, members in groups.items():
            first = members[0] if members else {}
            line = []
            for it in q["items"]:
                if isinstance(it.expr, StringAgg):
                    vals = [_value(it.expr.expr, m) for m in members]
                    vals = [str(v) for v in vals if v is not None]
                    line.append(it.expr.sep.join(vals) if vals else None)
                elif isinstance(it.expr, Count):
                    line.append(len(members))
                else:
                    line.append(_value(it.expr, first))
            out_rows.append(line)
    else:
        out_rows = [[_value(it.expr, r) for it in q["items"]] for r in rows]

    if q["distinct"]:
        seen, uniq = set(), []
        for line in out_rows:
            k = tuple(line)
            if k not in seen:
                seen.add(k)
                uniq.append(line)
        out_rows = uniq

    # output columns
    out_cols: list[Col] = []
    aliases = []
    for it in q["items"]:
        aliases.append(it.alias)
        if isinstance(it.expr, StringAgg):
            out_cols.append(Col(it.alias, "char", "*", ID=it.alias))
        elif isinstance(it.expr, Count):
            out_cols.append(Col(it.alias, "long", ID=it.alias))
        else:
            base = it.expr if isinstance(it.expr, ColRef) else (
                next((a for a in it.expr.args if isinstance(a, ColRef)), None)
                if isinstance(it.expr, Coalesce) else None)
            if base is None:
                out_cols.append(Col(it.alias, "char", "*", ID=it.alias))
                continue
            dtype, utype, desc = column_meta(base.name)
            attrs = []
            if base.name == "region_of_regard":
                attrs.append(("unit", "deg"))
            if utype:
                attrs.append(("utype", utype))
            if base.name in ("created", "updated"):
                attrs.append(("xtype", "timestamp"))
            col = Col(it.alias, dtype, "*" if dtype in ("char", "unicodeChar") else "",
                      ID=it.alias, attrs=attrs, description=desc,
                      null=_SHORT_NULL if dtype == "short" else None,
                      values='<VALUES null=""></VALUES>' if base.name in ("created", "updated")
                      else "")
            out_cols.append(col)

    # ORDER BY (on output aliases or on selected columns)
    for name, desc in reversed(q["order"]):
        lowered = [a.lower() for a in aliases]
        if name in aliases:
            idx = aliases.index(name)
        elif name.lower() in lowered:
            idx = lowered.index(name.lower())
        else:
            raise AdqlError(f"ORDER BY {name}: only selected columns can be ordered by here")
        out_rows.sort(key=lambda line: (line[idx] is None, line[idx] if line[idx] is not None
                                        else 0), reverse=desc)

    overflow = False
    limit = q["top"]
    if maxrec is not None and (limit is None or maxrec < limit):
        if len(out_rows) > maxrec:
            overflow = True
        limit = maxrec
    if limit is not None:
        out_rows = out_rows[:limit]
    return Result(out_cols, out_rows, overflow)
