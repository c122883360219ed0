"""Generated input variants that push the original program down its other branches.

The sample inputs rarely exercise every branch of a messy program. Variants are drawn with
hypothesis (derandomised, so the same inputs give the same variants) by editing the sample
tables: cells set to NULL (an empty CSV field), rows duplicated, join-like values replaced by
values no other table has (unmatched keys: a key changed in one table only), and cells set to
the literals the program
compares against and their neighbours (boundary dates such as ``2021-12-31`` around
``2022-01-01``, numbers +-1, the strings of an ``in ("UK", "DE")`` test). The validator runs
the original on each variant with line tracing and keeps those it can run; a variant the
original fails on is outside its domain and is dropped.

With several tables, each one is edited on its own draw, and join keys are the columns that
link two tables (:func:`join_keys`): a column name two tables share, or a unique column whose
values another table's column refers to under another name (``customers.id`` and
``orders.customer_id``).

>>> sorted(map(str, boundary_values({"2022-01-01", 5})))
['2021-12-31', '2022-01-01', '2022-01-02', '4', '5', '6']
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def literals(source: str) -> set[Any]:
    """String and number constants of a program (what it compares against)."""
    out: set[Any] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float)):
            if isinstance(node.value, bool):
                continue
            if isinstance(node.value, str) and (len(node.value) > 40 or "\n" in node.value):
                continue
            out.add(node.value)
    return out


def boundary_values(values: Iterable[Any]) -> set[Any]:
    """Each literal and its neighbours (a day either side of a date, +-1 of a number)."""
    out: set[Any] = set()
    for v in values:
        out.add(v)
        if isinstance(v, str) and _DATE.match(v):
            try:
                day = dt.date.fromisoformat(v)
            except ValueError:
                continue
            out.update({(day - dt.timedelta(days=1)).isoformat(),
                        (day + dt.timedelta(days=1)).isoformat()})
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.update({v - 1, v + 1})
    return out


def read_table(path: Path) -> pd.DataFrame:
    """A CSV input as strings (empty field -> empty string), as the messy program sees it."""
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False)


def generate_variants(tables: Mapping[str, pd.DataFrame], program_source: str, *,
                      count: int = 4, seed: int = 0) -> list[dict[str, pd.DataFrame]]:
    """``count`` edited copies of ``tables`` (name -> string table), drawn with hypothesis."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    if count <= 0 or not tables:
        return []
    names = sorted(tables)
    interesting = sorted(boundary_values(literals(program_source)), key=repr)
    shared = join_keys(tables)
    drawn: list[dict[str, pd.DataFrame]] = []

    kinds = {name: {c: _kind(tables[name][c]) for c in tables[name].columns} for name in names}
    by_kind: dict[str, list[Any]] = {"date": [], "number": [], "text": []}
    for value in interesting:
        if isinstance(value, str) and _DATE.match(value):
            by_kind["date"].append(value)
        elif isinstance(value, (int, float)):
            by_kind["number"].append(value)
        else:
            by_kind["text"].append(value)
    # A row duplicated on the "one" side of a join changes a dict-based join's semantics
    # (last one wins) but not a relational one: only duplicate where keys already repeat.
    can_duplicate = {n: not shared.get(n) or any(tables[n][k].duplicated().any()
                                                  for k in shared[n]) for n in names}

    @settings(max_examples=count * 3, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(st.data())
    def draw(data: Any) -> None:
        variant = {}
        for name in names:
            table = tables[name].copy()
            if table.empty:
                variant[name] = table
                continue
            ops = data.draw(st.lists(st.sampled_from(
                ["null", "duplicate", "unmatched", "boundary"]), min_size=1, max_size=3))
            for op in ops:
                row = data.draw(st.integers(0, len(table) - 1))
                col = data.draw(st.sampled_from(list(table.columns)))
                if op == "null" and col not in shared.get(name, ()):
                    table.iloc[row, table.columns.get_loc(col)] = ""
                elif op == "duplicate" and can_duplicate[name]:
                    table = _pd_concat([table, table.iloc[[row]]])
                elif op == "unmatched" and shared.get(name):
                    key = data.draw(st.sampled_from(sorted(shared[name])))
                    table.iloc[row, table.columns.get_loc(key)] = _unmatched(
                        tables, key, kinds[name][key], row)
                elif op == "boundary" and by_kind[kinds[name][col]]:
                    value = data.draw(st.sampled_from(by_kind[kinds[name][col]]))
                    table.iloc[row, table.columns.get_loc(col)] = str(value)
            variant[name] = table.reset_index(drop=True)
        if len(drawn) < count and not all(variant[n].equals(tables[n]) for n in names):
            drawn.append(variant)

    draw()
    return drawn


def _unmatched(tables: Mapping[str, pd.DataFrame], column: str, kind: str, row: int) -> str:
    """A value of ``column``'s kind that no table holds (numbers stay numbers, so a program
    that parses its keys as numbers still runs)."""
    if kind == "number":
        numbers = [float(v) for t in tables.values() for c in t.columns if _kind(t[c]) == kind
                   for v in t[c] if v != ""]
        return str(int(max(numbers, default=0)) + 1000 + row)
    return f"unmatched_{row}"


def _pd_concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def join_keys(tables: Mapping[str, pd.DataFrame]) -> dict[str, set[str]]:
    """Per table, the columns that likely join it to another table: names two tables share,
    and pairs of differently named columns where one is unique (a key) and at least half of
    the other's values are among its values (a reference to it).

    >>> import pandas as pd
    >>> customers = pd.DataFrame({"id": ["1", "2", "3"], "city": ["Rome", "Oslo", "Rome"]})
    >>> orders = pd.DataFrame({"order_id": ["7", "8", "9"], "customer_id": ["1", "1", "3"],
    ...                        "city": ["Rome", "Rome", "Oslo"]})
    >>> {n: sorted(c) for n, c in join_keys({"customers": customers, "orders": orders}).items()}
    {'customers': ['city', 'id'], 'orders': ['city', 'customer_id']}
    """
    out: dict[str, set[str]] = {name: set() for name in tables}
    for name, table in tables.items():
        others = set().union(*[set(t.columns) for n, t in tables.items() if n != name])
        out[name] |= set(table.columns) & others
    values = {(n, c): {v for v in t[c] if v != ""} for n, t in tables.items() for c in t.columns}
    unique = {(n, c) for n, t in tables.items() for c in t.columns
              if len(values[(n, c)]) >= 2 and not t[c].duplicated().any()}
    for (key_table, key), key_values in values.items():
        if (key_table, key) not in unique:
            continue
        for (ref_table, ref), ref_values in values.items():
            if ref_table == key_table or ref == key or not ref_values:
                continue
            if len(ref_values & key_values) * 2 >= len(ref_values):
                out[key_table].add(key)
                out[ref_table].add(ref)
    return out


def _kind(column: pd.Series) -> str:
    values = [v for v in column if v != ""]
    if values and all(_DATE.match(v) for v in values):
        return "date"
    if values and all(re.match(r"^[+-]?\d+(\.\d*)?$", v) for v in values):
        return "number"
    return "text"
