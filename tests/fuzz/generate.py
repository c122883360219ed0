"""Generated cases for the differential fuzzer: sources, a pipeline over every operator of
the DataFrame subset, and a sequence of deletion requests.

The generator draws through a small interface (``Draw``) with two backends: hypothesis
(``cases()``: shrinkable, used by the tests) and ``random.Random`` (``random_case``: the
long profile of ``bench/fuzz_deletion.py``, one seed per case).

* Sources ``s0..s{n-1}`` (2-4), each keyed (``s<i>_id``) or keyless (then with duplicate
  rows), columns ``_k`` (a skewed string join key with NULLs), ``_g`` (an INT join key),
  ``_v`` (DOUBLE with NULLs), ``_t`` (distinct text tokens, some holding a card number: the
  values the erasure check looks for).
* A pipeline written as PySpark code: ``filter``, ``withColumn`` (a Column expression, or
  ``F.udf(lambda ..., type)(F.col(c))``), inner and left joins on an equality Column (one or
  two key pairs joined with ``&``; ``F.col`` names, or columns bound to their frame as
  ``a["k"]``), ``union`` (two branches of one frame, or two frames reduced to one schema by
  ``select`` and ``withColumnRenamed``/``withColumnsRenamed``), ``select``,
  ``withColumnRenamed``, ``groupBy(k).agg(...alias(...))``, ``distinct`` and ``split``, then
  the feature ``f`` (and a label when the case has a model) by ``withColumn``. The operator
  names counted in ``Case.ops`` stay the subset's (``project``, ``rename``, ``aggregate``,
  ``join_left``...): the long profile's counts are kept under them.
* Requests: ``delete_rows`` and ``redact_columns`` (own columns, or a linked keyed source's)
  by ``keys`` (present or absent) and by ``where``, 2-3 of them, sometimes a re-submit.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

from tests.fuzz.harness import Case, Source

OPERATORS = ("filter", "project", "project_udf", "join_inner", "join_left", "join_multi",
             "union", "select", "rename", "aggregate", "distinct", "split", "source_twice")
KINDS = ("delete_keys", "delete_where", "redact_own", "redact_linked", "no_match", "resubmit")
CARDS = ("4111 1111 1111 1111", "5500-0000-0000-0004", "3400 0000 0000 009")
#: The Python UDFs a projection draws (``F.udf(<lambda>, returns)(F.col(c))``).
UDF_TAG = 'lambda v: None if v is None else v + "#"'
UDF_LEN = "lambda v: 0 if v is None else len(v)"


class Draw:
    """What the generator needs from a source of choices."""

    def int(self, lo: int, hi: int) -> int:  # inclusive
        raise NotImplementedError

    def choice(self, seq: Any) -> Any:
        return seq[self.int(0, len(seq) - 1)]

    def chance(self, percent: int) -> bool:
        return self.int(0, 99) < percent


class RandomDraw(Draw):
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def int(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class HypothesisDraw(Draw):
    def __init__(self, draw: Any) -> None:
        self.draw = draw

    def int(self, lo: int, hi: int) -> int:
        from hypothesis import strategies as st

        return self.draw(st.integers(lo, hi))


@dataclass
class Frame:
    var: str
    columns: dict[str, str]  # name -> "str" | "num" | "int"
    sources: set[str]
    merged: bool = False
    keyed_ids: set[str] = field(default_factory=set)


class Builder:
    def __init__(self, d: Draw) -> None:
        self.d = d
        self.lines: list[str] = []
        self.ops: list[str] = []
        self.n = 0

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def emit(self, line: str, op: str) -> None:
        self.lines.append(line)
        self.ops.append(op)

    # ---- unary operators ----------------------------------------------------------------
    def filter(self, f: Frame) -> Frame:
        col = self.d.choice(sorted(f.columns))
        kind = f.columns[col]
        if kind == "num":
            pred = self.d.choice([f'F.col("{col}") > 2.0', f'F.col("{col}") <= 3.5',
                                  f'F.col("{col}").isNotNull()'])
        elif kind == "int":
            pred = self.d.choice([f'F.col("{col}") == 1', f'F.col("{col}").isNull()',
                                  f'F.coalesce(F.col("{col}"), F.lit(0)) != 2'])
        else:
            pred = self.d.choice([f'F.col("{col}") != "b"', f'F.col("{col}").isNull()',
                                  f'F.coalesce(F.col("{col}"), F.lit("none")) != "a"',
                                  f'F.length(F.col("{col}")) > 3'])
        var = self.fresh("x")
        self.emit(f"{var} = {f.var}.filter({pred})", "filter")
        return Frame(var, dict(f.columns), set(f.sources), f.merged)

    def project(self, f: Frame) -> Frame:
        """``withColumn`` of a fresh column: a Column expression, or a Python UDF."""
        col = self.d.choice(sorted(f.columns))
        kind = f.columns[col]
        target = self.fresh("p")
        var = self.fresh("x")
        if self.d.chance(50):
            if kind == "str":
                expr, out = (f'F.concat(F.coalesce(F.col("{col}"), F.lit("")), '
                             f'F.lit("!"))'), "str"
            else:
                expr, out = f'F.col("{col}") * 2', "num" if kind == "num" else "int"
            self.emit(f'{var} = {f.var}.withColumn("{target}", {expr})', "project")
        else:
            if kind == "str":
                udf, returns, out = self.d.choice([(UDF_TAG, "string", "str"),
                                                   (UDF_LEN, "int", "int")])
            else:
                udf, returns, out = UDF_LEN, "int", "int"
                col = next((c for c in sorted(f.columns) if f.columns[c] == "str"), None)
                if col is None:
                    return f
            self.emit(f'{var} = {f.var}.withColumn("{target}", '
                      f'F.udf({udf}, "{returns}")(F.col("{col}")))', "project_udf")
        return Frame(var, {**f.columns, target: out}, set(f.sources), f.merged)

    def select(self, f: Frame) -> Frame:
        names = sorted(f.columns)
        keep = [c for c in names if self.d.chance(60)] or [self.d.choice(names)]
        var = self.fresh("x")
        self.emit(f"{var} = {f.var}.select({', '.join(repr(c) for c in keep)})", "select")
        return Frame(var, {c: f.columns[c] for c in keep}, set(f.sources), f.merged)

    def rename(self, f: Frame) -> Frame:
        col = self.d.choice(sorted(f.columns))
        new = self.fresh("r")
        var = self.fresh("x")
        self.emit(f'{var} = {f.var}.withColumnRenamed("{col}", "{new}")', "rename")
        cols = {(new if c == col else c): k for c, k in f.columns.items()}
        return Frame(var, cols, set(f.sources), f.merged)

    def aggregate(self, f: Frame) -> Frame:
        keys = [c for c in sorted(f.columns) if f.columns[c] in ("str", "int")]
        if not keys:
            return f
        key = self.d.choice(keys)
        aggs = {"n": 'F.count(F.lit(1))'}
        nums = [c for c in sorted(f.columns) if f.columns[c] == "num"]
        strs = [c for c in sorted(f.columns) if f.columns[c] == "str" and c != key]
        if nums and self.d.chance(60):
            aggs["sv"] = f'F.sum("{self.d.choice(nums)}")'
        if strs and self.d.chance(60):
            aggs["mt"] = f'F.min("{self.d.choice(strs)}")'
        names = {k: self.fresh(k) for k in aggs}
        body = ", ".join(f'{v}.alias("{names[k]}")' for k, v in aggs.items())
        var = self.fresh("x")
        self.emit(f'{var} = {f.var}.groupBy("{key}").agg({body})', "aggregate")
        cols = {key: f.columns[key], names["n"]: "int"}
        if "sv" in aggs:
            cols[names["sv"]] = "num"
        if "mt" in aggs:
            cols[names["mt"]] = "str"
        return Frame(var, cols, set(f.sources), True)

    def distinct(self, f: Frame) -> Frame:
        names = sorted(f.columns)
        keep = [c for c in names if self.d.chance(40)] or [self.d.choice(names)]
        var = self.fresh("x")
        self.lines.append(f"{var} = {f.var}.select({', '.join(repr(c) for c in keep)})"
                          ".distinct()")
        self.ops.append("distinct")
        return Frame(var, {c: f.columns[c] for c in keep}, set(f.sources), True)

    def split(self, f: Frame) -> Frame:
        var = self.fresh("x")
        side = self.d.choice(["train", "test", "both"])
        seed = self.d.int(0, 3)
        if side == "both":
            self.emit(f"{var}_a, {var}_b = {f.var}.split(test_fraction=0.5, seed={seed})\n"
                      f"{var} = {var}_a.union({var}_b)", "split")
        else:
            pick = "a" if side == "train" else "b"
            self.emit(f"{var}_a, {var}_b = {f.var}.split(test_fraction=0.4, seed={seed})\n"
                      f"{var} = {var}_{pick}", "split")
        return Frame(var, dict(f.columns), set(f.sources), f.merged)

    def union_branches(self, f: Frame) -> Frame:
        a, b = self.filter(f), self.filter(f)
        self.ops[-2:] = ["filter", "filter"]
        var = self.fresh("x")
        self.emit(f"{var} = {a.var}.union({b.var})", "union")
        return Frame(var, dict(f.columns), set(f.sources), f.merged)

    # ---- binary operators ----------------------------------------------------------------
    def join(self, a: Frame, b: Frame) -> Frame | None:
        pairs = [(x, y) for x in sorted(a.columns) for y in sorted(b.columns)
                 if a.columns[x] == b.columns[y] and a.columns[x] in ("str", "int")
                 and x != y]
        if not pairs:
            return None
        how = self.d.choice(["inner", "left"])
        first = self.d.choice(pairs)
        keys = [first]
        rest = [p for p in pairs if p[0] != first[0] and p[1] != first[1]]
        if rest and self.d.chance(30):
            keys.append(self.d.choice(rest))
        var = self.fresh("x")
        # PySpark's equality condition: names when each key is a column of one side only,
        # else (or by a draw) columns bound to their frame
        unambiguous = all(x not in b.columns and y not in a.columns for x, y in keys)
        if unambiguous and self.d.chance(50):
            terms = [f'F.col("{x}") == F.col("{y}")' for x, y in keys]
        else:
            terms = [f'{a.var}["{x}"] == {b.var}["{y}"]' for x, y in keys]
        on = terms[0] if len(terms) == 1 else " & ".join(f"({t})" for t in terms)
        self.emit(f'{var} = {a.var}.join({b.var}, {on}, how="{how}")',
                  "join_multi" if len(keys) > 1 else f"join_{how}")
        if len(keys) > 1:
            self.ops.append(f"join_{how}")
        # the engine keeps both key columns (their names differ); a right column whose name
        # the output already holds gets "_right" appended until it is new
        cols = dict(a.columns)
        for c, k in b.columns.items():
            name = c
            while name in cols:
                name += "_right"
            cols[name] = k
        return Frame(var, cols, a.sources | b.sources, False)

    def union_renamed(self, a: Frame, b: Frame) -> Frame | None:
        """Two frames reduced to one schema ``u_<kind>`` by ``select`` and
        ``withColumnRenamed`` (one column) or ``withColumnsRenamed`` (several), then union."""
        shared = [k for k in ("str", "num", "int")
                  if any(v == k for v in a.columns.values())
                  and any(v == k for v in b.columns.values())]
        if not shared or a.merged != b.merged:
            return None
        kinds = [k for k in shared if self.d.chance(70)] or [shared[0]]
        parts = []
        for f in (a, b):
            picks = {k: self.d.choice(sorted(c for c, v in f.columns.items() if v == k))
                     for k in kinds}
            var = self.fresh("x")
            renames = [(c, f"u_{k}") for k, c in picks.items() if c != f"u_{k}"]
            if not renames:  # already named so (a frame of an earlier union)
                rename = ""
            elif len(renames) == 1:
                rename = f'.withColumnRenamed("{renames[0][0]}", "{renames[0][1]}")'
            else:
                body = ", ".join(f'"{c}": "{u}"' for c, u in renames)
                rename = f".withColumnsRenamed({{{body}}})"
            self.lines.append(f"{var} = {f.var}.select({', '.join(repr(c) for c in picks.values())})"
                              f"{rename}")
            self.ops.extend(["select", "rename"] if rename else ["select"])
            parts.append(var)
        var = self.fresh("x")
        self.emit(f"{var} = {parts[0]}.union({parts[1]})", "union")
        return Frame(var, {f"u_{k}": k for k in kinds}, a.sources | b.sources, a.merged)


def _token(d: Draw, prefix: str) -> str:
    body = "".join(d.choice(string.ascii_lowercase + string.digits) for _ in range(7))
    text = f"w{prefix}{body}"
    if d.chance(25):
        text += " card " + d.choice(CARDS)
    return text


def _source(d: Draw, i: int, keyed: bool) -> Source:
    name = f"s{i}"
    n = d.int(8, 12)  # with 6-10 rows, 40% of the pipelines kept no training row
    rows = []
    for r in range(n):
        k = d.choice(["a", "a", "a", "b", "c", None])
        g = d.choice([1, 1, 2, None])
        v = d.choice([0.5, 1.5, 2.5, 3.5, 4.5, None])
        t = _token(d, f"{i}{r}") if d.chance(85) else None
        rows.append((r + 1, k, g, v, t))
    if not keyed:
        for _ in range(d.int(1, 2)):  # duplicate rows: identical in every column
            rows.append(rows[d.int(0, len(rows) - 1)])
    cols = [(f"{name}_id", "INT"), (f"{name}_k", "STRING"), (f"{name}_g", "INT"),
            (f"{name}_v", "DOUBLE"), (f"{name}_t", "STRING")]
    return Source(name, f"{name}_id" if keyed else None, cols, rows)


def _alias(i: int, of: Source) -> Source:
    """Source ``s<i>``: the file of ``of`` read a second time under another name (its own
    column names, the same key position): how a pipeline joins a source to itself."""
    name = f"s{i}"
    cols = [(f"{name}{c[len(of.name):]}", t) for c, t in of.columns]
    return Source(name, f"{name}_id" if of.key else None, cols, list(of.rows), reads=of.name)


def _branches(d: Draw, b: Builder, frames: list[Frame]) -> Frame | None:
    """One frame in two union branches, each joined to another frame (the first sometimes
    filtered after its join): a deletion through one join re-derives the shared frame's rows
    in both. Takes three frames from ``frames``; None (and nothing emitted or taken) when
    the branches have no common schema."""
    mark = (len(b.lines), len(b.ops))
    a = frames[d.int(0, len(frames) - 1)]
    rest = [f for f in frames if f is not a]
    c = rest[d.int(0, len(rest) - 1)]
    rest = [f for f in rest if f is not c]
    e = rest[d.int(0, len(rest) - 1)]
    first = b.join(a, b.filter(c) if d.chance(35) else c)
    if first is not None and d.chance(50):
        first = b.filter(first)
    second = b.join(a, e)
    joined = b.union_renamed(first, second) if first and second else None
    if joined is None:
        del b.lines[mark[0]:], b.ops[mark[1]:]
        return None
    b.ops.append("source_branches")
    frames[:] = [f for f in frames if f is not a and f is not c and f is not e]
    return joined


def build(d: Draw, *, max_sources: int = 3, model_percent: int = 15,
          twice_percent: int = 25) -> Case:
    n = d.int(2, max_sources)
    sources = [_source(d, i, keyed=(i == 0 or d.chance(70))) for i in range(n)]
    twice = d.chance(twice_percent)
    if twice:
        sources.append(_alias(n, d.choice(sources)))
    kind = {"INT": "int", "DOUBLE": "num", "STRING": "str"}
    frames = [Frame(s.name, {c: kind[t] for c, t in s.columns}, {s.name}) for s in sources]
    b = Builder(d)
    # combine the sources: joins (and sometimes a union of two renamed frames)
    while len(frames) > 1 and (len(frames) > 2 or d.chance(85)):
        if len(frames) > 2 and d.chance(25):
            branched = _branches(d, b, frames)
            if branched is not None:
                frames.append(branched)
                continue
        a = frames.pop(d.int(0, len(frames) - 1))
        c = frames.pop(d.int(0, len(frames) - 1))
        a = b.filter(a) if d.chance(35) else a
        c = b.filter(c) if d.chance(35) else c
        joined = None
        if d.chance(20):
            joined = b.union_renamed(a, c)
        joined = joined or b.join(a, c)
        if joined is None:
            frames.extend([a])
            continue
        frames.append(joined)
    f = frames[0]
    for _ in range(d.int(1, 4)):
        op = d.choice(["filter", "project", "project", "select", "rename", "union",
                       "aggregate", "aggregate", "distinct", "split"])  # aggregates: rarest
        if op in ("aggregate", "distinct") and f.merged:
            op = "project"
        if op == "select" and len(f.columns) < 2:
            op = "project"
        f = {"filter": b.filter, "project": b.project, "select": b.select,
             "rename": b.rename, "union": b.union_branches, "aggregate": b.aggregate,
             "distinct": b.distinct, "split": b.split}[op](f)
    # the feature
    col = d.choice(sorted(f.columns))
    kind_of = f.columns[col]
    if kind_of == "str":
        expr = f'F.length(F.coalesce(F.col("{col}"), F.lit(""))).cast("double")'
    else:
        expr = f'F.coalesce(F.col("{col}").cast("double"), F.lit(0.0))'
    model = d.chance(model_percent)
    lines = list(b.lines)
    lines.append(f'out = {f.var}.withColumn("f", {expr})')
    if model:
        lines.append('out = out.withColumn("label", (F.col("f") > 2.0).cast("int"))')
    in_output = sorted(f.sources)
    case = Case(sources, "\n".join(lines), requests=[], cluster=in_output[0], model=model,
                ops=b.ops + (["source_twice"] if twice and sources[-1].name in in_output
                             and sources[-1].reads in in_output else []))
    case.requests = _requests(d, sources, in_output)
    # drawn last, so the draws above (and every case found before it) stay as they were
    if d.chance(30):
        case.statistics = "downdate"
    return case


def _requests(d: Draw, sources: list[Source], in_output: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    keyed = [s for s in sources if s.key]
    for _ in range(d.int(2, 3)):
        sent = sum(1 for r in out if "resubmit" not in r)  # the harness counts these
        if sent and d.chance(15):
            out.append({"resubmit": d.int(0, sent - 1), "_kind": "resubmit"})
            continue
        src = d.choice(sources if d.chance(30) else
                       [s for s in sources if s.name in in_output] or sources)
        kind = d.choice(["delete_keys", "delete_where", "redact_own", "redact_linked",
                         "no_match"])
        where = _where(d, src)
        if kind in ("delete_keys", "no_match") and src.key:
            present = [r[0] for r in src.rows]
            keys = [99] if kind == "no_match" else sorted({d.choice(present)
                                                          for _ in range(d.int(1, 2))})
            out.append({"source": src.name, "keys": keys, "action": "delete_rows",
                        "_kind": kind})
        elif kind == "redact_own" and src.key:
            cols = [c for c, _ in src.columns[1:] if d.chance(50)] or [f"{src.name}_t"]
            sel = ({"keys": [d.choice([r[0] for r in src.rows])]} if d.chance(50)
                   else {"where": where})
            out.append({"source": src.name, **sel, "action": "redact_columns",
                        "columns": [f"{src.name}.{c}" for c in cols], "_kind": kind,
                        "verify_patterns": [r"\b(?:\d[ -]?){12,18}\d\b"]})
        elif kind == "redact_linked" and any(s.name != src.name and s.name in in_output
                                             for s in keyed) and src.name in in_output:
            other = d.choice([s for s in keyed if s.name != src.name and s.name in in_output])
            sel = ({"keys": [d.choice([r[0] for r in src.rows])]} if src.key and d.chance(50)
                   else {"where": where})
            out.append({"source": src.name, **sel, "action": "redact_columns",
                        "columns": [f"{other.name}.{other.name}_t"], "_kind": kind})
        else:
            out.append({"source": src.name, "where": where, "action": "delete_rows",
                        "_kind": "delete_where"})
    return out


def _where(d: Draw, src: Source) -> list[Any]:
    col, kind = d.choice(src.columns[1:])
    if kind == "STRING" and col.endswith("_k"):
        return [col, "=", d.choice(["a", "b", "c"])]
    if kind == "STRING":
        values = [r[4] for r in src.rows if r[4] is not None]
        return [col, "=", d.choice(values)] if values and d.chance(70) else [col, "null", None]
    if kind == "INT":
        return [col, "=", d.choice([1, 2])]
    return [col, d.choice([">", "<="]), d.choice([1.0, 2.0, 3.0])]


def cases(max_sources: int = 3, model_percent: int = 15) -> Any:
    """The hypothesis strategy of cases."""
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw: Any) -> Case:
        return build(HypothesisDraw(draw), max_sources=max_sources,
                     model_percent=model_percent)

    return strategy()


def random_case(seed: int, *, max_sources: int = 4, model_percent: int = 15) -> Case:
    return build(RandomDraw(seed), max_sources=max_sources, model_percent=model_percent)
