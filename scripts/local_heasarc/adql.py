"""The ADQL the local HEASARC registry understands: tokenizer, syntax tree and parser.

This is deliberately not an ADQL engine. It parses, honestly, the query shapes real clients
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

`Parser(text).parse()` returns the query as a dict (see Parser.parse); regtap_query.execute
evaluates it. Errors (syntax, and anything unsupported, named) raise AdqlError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .regtap_records import TABLE_ALIASES, column_meta


class AdqlError(Exception):
    pass


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
