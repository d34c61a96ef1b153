"""The registry half of the local HEASARC: ADQL queries evaluated over the RegTAP tables.

`execute(model, query, maxrec)` parses the query (adql.py), joins, filters, groups, orders and
limits the in-memory rr tables (regtap_records.py) and returns a `Result`: VOTable columns
(with GAVO's FIELD metadata) and rows, flagged overflow when MAXREC cut it. WHERE follows
SQL's three-valued logic. The query shapes understood are listed in adql.py; anything else
is refused with a message naming what is not supported (TAP: QUERY_STATUS ERROR).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .adql import AdqlError, Coalesce, ColRef, Count, Lit, Parser, StringAgg, tokenize
from .regtap_records import RR_COLUMNS, _SHORT_NULL, RegistryModel, build_model, column_meta
from .votable_writer import Col

# the names the rest of the local HEASARC uses, wherever they are defined
__all__ = ["AdqlError", "Parser", "RegistryModel", "Result", "SEP", "build_model", "execute",
           "tokenize"]

SEP = ":::py VO sep:::"


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
