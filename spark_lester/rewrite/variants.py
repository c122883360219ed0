"""Generated input variants that push the original program down its other branches.

The sample inputs rarely exercise every branch of a messy program, and a faulty rewrite that
agrees with the original on the samples is accepted unless some input tells them apart. The
variants are built deterministically from the program's own constants and the samples' shape,
for every kind of input: CSV files, Parquet files, folders of CSV or Parquet files (written
back in the same format and layout: a folder stays a folder with its file names) and ``.npy``
matrices (the feature matrix of a model task).

What the program compares against comes from its AST (:func:`program_facts`): the constants
of ``Compare`` nodes (``row["qty"] >= 2``, ``country in ("UK", "DE")``, a loop variable over a
constant list), the bounds of ``min``/``max``/``clip``/``clamp``/``np.maximum``... and the
digits of ``round``. Each constant is tied to the input column(s) the compared expression
reads (``row["qty"]``, or a name assigned from it such as ``qty = int(r["qty"])``).

Table variants, in order (:data:`FAMILIES`; ``count`` keeps the first ones):

``probes``    the program's own constants and generic probes, in one input set (each Spark
              set costs about a second per rewrite): every literal compared against, with
              its neighbours, in the columns it is compared with (integers ``c-1, c, c+1``;
              floats ``c-eps, c, c+eps, c-0.5, c+0.5``; dates a day either side; strings the
              exact value, a case variant and a whitespace variant; for ``round(x, d)``
              values just off the rounding step); an unseen value, a case and a whitespace
              variant of each text column; 0, negative, large (``+-1e3``, ``1e6``) and
              extra-precision numbers; far past and future dates; exact duplicate rows
              (duplicate keys); keys that match nothing in the other table and references
              moved to keys nothing referred to; two new groups (of a text column with
              repeated values) with every compared column just below, and just above, its
              literal, so that one of them is empty after the program's filter. When the
              original fails on the whole, its parts (``boundary``, ``mixed-text``,
              ``mixed-numbers``, ``mixed-duplicates``, ``mixed-joins``, ``mixed-groups``)
              are tried one by one.
``nulls``     empty cells (NULL for Spark) in every column but join keys (split into text and
              number NULLs when the original cannot run on both at once).
``groups``    an existing group emptied (every row of one value moved to another value) and
              the rows of one group moved across the compared boundary, in place.
``empty``     every table with its header only.

Probes are added as copies of sample rows with one cell changed (identifier columns get
fresh values, so a rewrite that memorised the sample's ids fails), so the sample rows and
their join partners stay intact. A table that the program loads into a plain dict keyed by a
unique column (``by_email[row["email"]] = row``: the last row wins, unlike a join) never gets
a second row with the same key: its copies get fresh keys, and the rows of the other tables
that referred to the copied row are copied along with the fresh key, so the probe still
reaches the output. A variant is never dropped for adding no coverage; one on which the
original itself fails is outside its domain and is dropped by the validator (with the
reason), after its parts were tried one by one.

Two probes are left out on purpose, because a faithful Spark rewrite cannot agree with a
Python original on them: NULLs in columns compared with ``==``/``!=``/``not in`` against a
string (``"" != "view"`` is true, ``NULL != 'view'`` is NULL) and, for encoders, NULLs in
text columns (pandas reads NaN, which scikit-learn sorts after every category; the ``csv``
module reads ``""``, which sorts first). Rounding probes are never exact halves: Python's
``round`` is half-even on the binary value, Spark's ``round`` is half-up on the decimal.

Matrix variants (``.npy``, same number of columns and dtype): ``boundary`` (rows filled with
each numeric constant of the program and its neighbours, values around 0 for ReLU, tanh and
clamps) and ``extremes`` (rows of zeros, +-1, +-1e3, +-1e6, one large feature at a time,
sign-flipped and scaled sample rows), each with the sample rows; with table inputs too, the
matrix ``boundary`` joins ``probes``. Every variant stays small
(tens of rows) so that validation stays fast.

>>> sorted(map(str, boundary_values({"2022-01-01", 5})))
['2021-12-31', '2022-01-01', '2022-01-02', '4', '5', '6']
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_ID_NAME = re.compile(r"(^|_)(id|key|no|nr|number|code)$|id$", re.IGNORECASE)
#: Hidden column of a folder input's table: the file each row belongs to.
PART = "\x00part"
#: Variant families of table inputs, in the order ``count`` keeps them.
FAMILIES = ("probes", "extremes", "nulls", "groups", "empty")
#: How many variants :meth:`~spark_lester.rewrite.validate.Oracle.build` makes by default.
DEFAULT_VARIANTS = 2
#: Strings pandas reads as NaN: never written as a probe value.
_PANDAS_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
              "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
#: Calls whose constant arguments bound a value (clip bounds are boundaries too).
_BOUND_CALLS = {"min", "max", "clip", "clamp", "clamp_", "clip_", "maximum", "minimum", "fmax",
                "fmin", "where", "hardtanh", "threshold", "greatest", "least", "between"}
_ROUND_CALLS = {"round", "around", "round_"}
#: Base rows a probe value is copied into (per table), and the rows a table's boundary
#: probes may add before fewer base rows are used per value.
_BASE_ROWS = 4
_BOUNDARY_ROWS = 32


# ---- what the program compares against ----------------------------------------------------
@dataclass
class ProgramFacts:
    """Constants of a program and the input columns they are compared with."""

    #: column -> constants compared with it (``None``: columns not known)
    compared: dict[str | None, set[Any]] = field(default_factory=dict)
    #: column -> digits of ``round`` calls on expressions reading it
    rounded: dict[str | None, set[int]] = field(default_factory=dict)
    #: columns compared with ``==``/``!=``/``not in`` against a string (an empty CSV field is
    #: ``""`` for the original and NULL for Spark: such comparisons differ by construction)
    null_sensitive: set[str] = field(default_factory=set)
    #: unique-looking columns the program keys a plain dict with (``d[row["k"]] = row``)
    dict_keys: set[str] = field(default_factory=set)
    #: every numeric constant of the program
    numbers: set[float] = field(default_factory=set)

    def literals_for(self, column: str) -> set[Any]:
        return set(self.compared.get(column, set())) | set(self.compared.get(None, set()))


def literals(source: str) -> set[Any]:
    """String and number constants of a program (what it may compare against)."""
    out: set[Any] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float)):
            if isinstance(node.value, bool):
                continue
            if isinstance(node.value, str) and (len(node.value) > 40 or "\n" in node.value):
                continue
            out.add(node.value)
    return out


def program_facts(source: str, columns: Iterable[str] = ()) -> ProgramFacts:
    """What ``source`` compares against, tied to the input ``columns`` it reads (any
    string subscript when no columns are given).

    >>> src = ('for r in rows:\\n    qty = int(r["qty"])\\n'
    ...        '    if qty >= 2 and r["s"] != "paid":\\n        pass')
    >>> facts = program_facts(src, ["qty", "s"])
    >>> sorted(facts.compared["qty"]), sorted(facts.compared["s"]), sorted(facts.null_sensitive)
    ([2], ['paid'], ['s'])
    """
    tree = ast.parse(source)
    known = set(columns)
    facts = ProgramFacts()
    consts: dict[str, set[Any]] = {}
    cols_of: dict[str, set[str]] = {}

    def constants(node: ast.AST | None) -> set[Any]:
        if node is None:
            return set()
        if isinstance(node, ast.Constant) and _usable(node.value):
            return {node.value}
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
                isinstance(node.operand, ast.Constant) and _number(node.operand.value):
            return {-node.operand.value}
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return set().union(*[constants(e) for e in node.elts]) if node.elts else set()
        if isinstance(node, ast.Name):
            return set(consts.get(node.id, set()))
        return set()

    def columns_in(node: ast.AST) -> set[str]:
        out: set[str] = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Subscript):
                key = sub.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and \
                        (not known or key.value in known):
                    out.add(key.value)
            elif isinstance(sub, ast.Attribute) and sub.attr in known:
                out.add(sub.attr)
            elif isinstance(sub, ast.Name):
                out |= cols_of.get(sub.id, set())
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and \
                    sub.func.attr == "get" and sub.args and \
                    isinstance(sub.args[0], ast.Constant) and sub.args[0].value in known:
                out.add(sub.args[0].value)
        return out

    # Names bound to constants or to expressions reading columns (twice: order-free).
    for _ in range(2):
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                if value is None:
                    continue
                for target in targets:
                    if isinstance(target, ast.Name):
                        found = constants(value)
                        if found and not isinstance(value, ast.Name):
                            consts.setdefault(target.id, set()).update(found)
                        cols_of.setdefault(target.id, set()).update(columns_in(value))
            elif isinstance(node, (ast.For, ast.comprehension)) and \
                    isinstance(node.target, ast.Name):
                consts.setdefault(node.target.id, set()).update(constants(node.iter))
                cols_of.setdefault(node.target.id, set()).update(columns_in(node.iter))

    def record(cols: set[str], values: set[Any], into: dict[str | None, set[Any]]) -> None:
        for col in cols or {None}:
            into.setdefault(col, set()).update(values)

    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and _number(node.value):
            facts.numbers.add(float(node.value))
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            values = set().union(*[constants(o) for o in operands])
            cols = set().union(*[columns_in(o) for o in operands
                                 if not isinstance(o, ast.Constant)])
            if values:
                record(cols, values, facts.compared)
            sensitive = (ast.Eq, ast.NotEq, ast.NotIn, ast.Is, ast.IsNot)
            if any(isinstance(op, sensitive) for op in node.ops) and \
                    any(isinstance(v, str) for v in values):
                facts.null_sensitive |= cols
        elif isinstance(node, ast.Call):
            name = (node.func.id if isinstance(node.func, ast.Name) else
                    node.func.attr if isinstance(node.func, ast.Attribute) else "")
            args = [*node.args, *[k.value for k in node.keywords]]
            target = node.func.value if isinstance(node.func, ast.Attribute) else None
            read = set().union(*[columns_in(a) for a in args]) if args else set()
            if target is not None and name in _BOUND_CALLS | _ROUND_CALLS:
                read |= columns_in(target)
            if name.lower() in _BOUND_CALLS:
                values = {v for a in args for v in constants(a) if _number(v)}
                if values:
                    record(read, values, facts.compared)
            elif name in _ROUND_CALLS:
                digits = [a for a in args if isinstance(a, ast.Constant) and
                          isinstance(a.value, int) and not isinstance(a.value, bool)]
                record(read, {int(digits[-1].value) if digits else 0}, facts.rounded)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    reads_itself = any(isinstance(n, ast.Name) and n.id == target.value.id
                                       for n in ast.walk(node.value))
                    if not reads_itself:
                        facts.dict_keys |= columns_in(target.slice)
    return facts


def _usable(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return 0 < len(value) <= 40 and "\n" not in value
    return _number(value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


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
        elif _number(v):
            out.update({v - 1, v + 1})
    return out


def probe_values(literal: Any, kind: str) -> list[str]:
    """The values written into a column of ``kind`` for one ``literal`` compared with it:
    at, just below and just above it (see the module doc); empty when they do not fit.

    >>> probe_values(5000, "int"), probe_values(2.5, "int"), probe_values("UK", "text")
    (['4999', '5000', '5001'], ['1', '2', '3', '4'], ['UK', 'uk', ' UK'])
    >>> probe_values(1, "float")
    ['0.999', '1', '1.001', '0.5', '1.5']
    """
    if isinstance(literal, str):
        if kind == "date" and _DATE.match(literal):
            return sorted(boundary_values({literal}))
        if kind == "text":
            out = [literal]
            flipped = literal.lower() if literal.lower() != literal else literal.upper()
            if flipped != literal:
                out.append(flipped)
            out.append(" " + literal)
            return out
        if kind in ("int", "float") and _FLOAT.match(literal.strip()):
            return probe_values(float(literal), kind)
        return []
    if not _number(literal) or kind not in ("int", "float"):
        return []
    if kind == "int":
        if float(literal).is_integer():
            c = int(literal)
            return [str(v) for v in (c - 1, c, c + 1)]
        low, high = math.floor(literal), math.ceil(literal)
        return [str(v) for v in (low - 1, low, high, high + 1)]
    eps = 1e-3 * max(1.0, abs(float(literal)))
    c = float(literal)
    return _unique([_fmt(v) for v in (c - eps, c, c + eps, c - 0.5, c + 0.5)])


def rounding_values(sample: Sequence[str], digits: int) -> list[str]:
    """Values just off the rounding step of ``round(x, digits)`` near the sample's values
    (never an exact half: Python's round-half-even on binary floats and Spark's HALF_UP
    disagree there, whatever the rewrite)."""
    step = 10.0 ** -digits
    v = next((float(v) for v in sample if _FLOAT.match(v.strip())), 1.0)
    return _unique([_fmt(v + 0.37 * step), _fmt(v - 0.41 * step)])


def _fmt(value: float) -> str:
    text = f"{value:.10g}"
    return text if "e" not in text else repr(value)


def _unique(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


# ---- inputs ------------------------------------------------------------------------------------
@dataclass
class InputData:
    """One input read for variant generation: a table (strings; ``""`` is NULL) or a matrix,
    with what it takes to write a variant back in the same format and layout."""

    name: str
    path: Path
    fmt: str  # "csv", "parquet" or "npy"
    table: pd.DataFrame | None = None
    matrix: np.ndarray | None = None
    files: list[str] = field(default_factory=list)  # a folder's data files (relative)
    schema: Any = None  # the pyarrow schema of a Parquet input
    opaque: list[str] = field(default_factory=list)  # Parquet columns never edited

    @property
    def folder(self) -> bool:
        return self.path.is_dir()

    @property
    def columns(self) -> list[str]:
        if self.table is None:
            return []
        return [c for c in self.table.columns if c != PART]


def read_table(path: Path) -> pd.DataFrame:
    """A CSV input as strings (empty field -> empty string), as the messy program sees it."""
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False)


def load_input(name: str, path: Path) -> InputData | None:
    """``path`` (a CSV, Parquet or ``.npy`` file, or a folder of CSV or Parquet files) ready
    for variants; None when it is none of those (it then stays the sample in every set)."""
    import pandas as pd

    path = Path(path)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npy":
            import numpy as np

            matrix = np.load(path, allow_pickle=False)
            return InputData(name, path, "npy", matrix=matrix) if matrix.ndim == 2 else None
        if suffix == ".csv":
            return InputData(name, path, "csv", table=read_table(path))
        if suffix == ".parquet":
            table, schema, opaque = _read_parquet([path])
            return InputData(name, path, "parquet", table=table, schema=schema, opaque=opaque)
        return None
    if not path.is_dir():
        return None
    data = sorted(p for p in path.rglob("*") if p.is_file()
                  and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts))
    suffixes = {p.suffix.lower() for p in data}
    if not data or len(suffixes) != 1 or suffixes.pop() not in (".csv", ".parquet"):
        return None
    files = [str(p.relative_to(path)) for p in data]
    if data[0].suffix.lower() == ".csv":
        frames = [read_table(p) for p in data]
        if len({tuple(f.columns) for f in frames}) != 1:
            return None
        for i, frame in enumerate(frames):
            frame[PART] = i
        return InputData(name, path, "csv", table=pd.concat(frames, ignore_index=True),
                         files=files)
    table, schema, opaque = _read_parquet(data)
    return InputData(name, path, "parquet", table=table, files=files, schema=schema,
                     opaque=opaque)


def _read_parquet(paths: Sequence[Path]) -> tuple[pd.DataFrame, Any, list[str]]:
    """Parquet files as one string table (plus the part column) and the shared schema."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.ParquetFile(p).read() for p in paths]  # no partitions from the path
    schema = tables[0].schema
    frames = []
    for i, table in enumerate(tables):
        frame = table.cast(schema).to_pandas()
        frame[PART] = i
        frames.append(frame)
    typed = pd.concat(frames, ignore_index=True)
    out = pd.DataFrame(index=typed.index)
    opaque = []
    for f in schema:
        t = f.type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or \
                pa.types.is_string(t) or pa.types.is_large_string(t) or \
                pa.types.is_date(t) or pa.types.is_timestamp(t):
            out[f.name] = [_to_text(v) for v in typed[f.name]]
        else:
            out[f.name] = typed[f.name]
            opaque.append(f.name)
    out[PART] = typed[PART]
    return out, schema, opaque


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else _fmt(value)
    if hasattr(value, "isoformat"):
        try:
            import pandas as pd

            if pd.isna(value):
                return ""
        except (TypeError, ValueError):
            pass
        if isinstance(value, dt.datetime) or hasattr(value, "to_pydatetime"):
            stamp = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
            return stamp.isoformat(sep=" ")
        return value.isoformat()
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def write_input(data: InputData, value: Any, target: Path) -> Path:
    """Write a variant of ``data`` (a table or a matrix) under the folder ``target`` with the
    sample's file (or folder) name, format and layout; returns its path."""
    import numpy as np

    target.mkdir(parents=True, exist_ok=True)
    out = target / data.path.name
    if data.fmt == "npy":
        np.save(out, np.asarray(value, dtype=data.matrix.dtype), allow_pickle=False)
        return out
    table = value
    if not data.folder:
        _write_table(data, table.drop(columns=[PART], errors="ignore"), out)
        return out
    out.mkdir(parents=True, exist_ok=True)
    parts = table[PART] if PART in table.columns else [len(data.files) - 1] * len(table)
    parts = [int(p) for p in parts]
    for i, rel in enumerate(data.files):
        keep = [p == i for p in parts]
        rows = table.loc[keep if keep else slice(0, -1)].drop(columns=[PART], errors="ignore")
        file = out / rel
        file.parent.mkdir(parents=True, exist_ok=True)
        _write_table(data, rows.reset_index(drop=True), file)
    return out


def _write_table(data: InputData, table: pd.DataFrame, path: Path) -> None:
    if data.fmt == "csv":
        table.to_csv(path, index=False)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = []
    for f in data.schema:
        values = list(table[f.name])
        if f.name in data.opaque:
            arrays.append(pa.array(values, type=f.type))
        else:
            arrays.append(pa.array([_from_text(v, f.type) for v in values], type=f.type))
    pq.write_table(pa.Table.from_arrays(arrays, schema=data.schema), path)


def _from_text(text: Any, arrow_type: Any) -> Any:
    import pyarrow as pa

    if text is None or text == "":
        return None
    text = str(text)
    if pa.types.is_integer(arrow_type):
        return int(float(text))
    if pa.types.is_floating(arrow_type):
        return float(text)
    if pa.types.is_boolean(arrow_type):
        return text.strip().lower() in ("true", "1")
    if pa.types.is_date(arrow_type):
        return dt.date.fromisoformat(text.strip()[:10])
    if pa.types.is_timestamp(arrow_type):
        import pandas as pd

        stamp = pd.Timestamp(text.strip())
        if arrow_type.tz is not None and stamp.tzinfo is None:
            stamp = stamp.tz_localize(arrow_type.tz)
        return stamp.to_pydatetime()
    return text


# ---- variants ----------------------------------------------------------------------------------
@dataclass
class Variant:
    """One generated input set: replacement data per input name (the others stay the
    sample), what it probes, and its parts (tried one by one when the original fails on
    the whole)."""

    name: str
    data: dict[str, Any]
    note: str = ""
    parts: list[Variant] = field(default_factory=list)


def plan_variants(inputs: Mapping[str, InputData], source: str, *,
                  count: int = DEFAULT_VARIANTS, seed: int = 0, kind: str = "prepare"
                  ) -> list[Variant]:
    """Up to ``count`` variants of ``inputs`` for the program ``source`` of task ``kind``
    (see the module doc), in priority order."""
    if count <= 0 or not inputs:
        return []
    tables = {n: d for n, d in inputs.items() if d.table is not None}
    matrices = {n: d for n, d in inputs.items() if d.matrix is not None}
    columns = {c for d in tables.values() for c in d.columns}
    facts = program_facts(source, columns)
    planned: list[Variant] = []
    if tables:
        planned += _table_variants(tables, facts, kind=kind, seed=seed)
    if matrices:
        found = _matrix_variants(matrices, facts)
        if not tables:
            planned += found
        for variant in found if tables else []:  # matrices join the tables' variants
            name = "probes" if variant.name == "boundary" else variant.name
            same = next((v for v in planned if v.name == name), None)
            if same is None:
                planned.append(Variant(name, dict(variant.data), variant.note))
            else:
                same.data.update(variant.data)
                same.note = f"{same.note}; {variant.note}"
                for part in same.parts:
                    part.data.update(variant.data)
        if tables:
            planned.sort(key=lambda v: FAMILIES.index(v.name) if v.name in FAMILIES else 99)
    return planned[:count]


def generate_variants(tables: Mapping[str, pd.DataFrame], program_source: str, *,
                      count: int = 4, seed: int = 0, kind: str = "prepare"
                      ) -> list[dict[str, pd.DataFrame]]:
    """``count`` edited copies of ``tables`` (name -> CSV string table): the tables of
    :func:`plan_variants`, each input missing from a variant being the sample."""
    inputs = {n: InputData(n, Path(f"{n}.csv"), "csv", table=t.copy())
              for n, t in tables.items()}
    out = []
    for variant in plan_variants(inputs, program_source, count=count, seed=seed, kind=kind):
        out.append({n: variant.data.get(n, tables[n]).reset_index(drop=True)
                    for n in tables})
    return out


@dataclass
class _Table:
    """A table being edited: the sample, its column kinds and what may be done to it."""

    name: str
    sample: pd.DataFrame
    kinds: dict[str, str]
    keys: set[str]  # join keys
    unique: set[str]
    ids: set[str]  # unique identifier columns (not join keys): fresh values in copies
    dict_keys: set[str]  # unique columns the program keys a plain dict with
    opaque: list[str]

    @property
    def columns(self) -> list[str]:
        return [c for c in self.sample.columns if c != PART and c not in self.opaque]

    @property
    def protected(self) -> bool:
        """A dict keyed by a unique column: a copy with the same key would replace the
        row for the original (the last one wins) but not for a join. Copies get fresh keys
        (and their partner rows in the other tables come along)."""
        return bool(self.dict_keys)


class _Builder:
    """The edits of one variant over all tables; :meth:`result` adds, for every copy of a
    row of a dict-keyed table, copies of the rows of other tables that referred to it."""

    def __init__(self, tables: Mapping[str, _Table], seed: int) -> None:
        self.tables = tables
        self.editors = {n: _Editor(t, seed, self) for n, t in tables.items()}
        self.links: list[tuple[str, str, str, str]] = []  # table, column, old, new
        self.partners = _partners(tables)

    def __getitem__(self, name: str) -> _Editor:
        return self.editors[name]

    def result(self) -> dict[str, pd.DataFrame]:
        for table, column, old, new in self.links:
            for other, ref in self.partners.get((table, column), []):
                editor = self.editors[other]
                for row in [i for i, v in enumerate(self.tables[other].sample[ref])
                            if v == old][:2]:
                    editor.copy(row, {ref: new}, link=False)
        out = {}
        for name, editor in self.editors.items():
            frame = editor.result()
            if frame is not None:
                out[name] = frame
        return out


def _partners(tables: Mapping[str, _Table]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(table, dict-key column) -> the (table, column)s of other tables that join to it."""
    plain = {n: t.sample.drop(columns=[PART], errors="ignore") for n, t in tables.items()}
    refs = _references(plain)
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name, table in tables.items():
        for key in table.dict_keys:
            found = [(other, key) for other, t in tables.items()
                     if other != name and key in t.keys and key in t.columns]
            found += [ref for ref, target in refs.items() if target == (name, key)
                      and ref not in found]
            out[(name, key)] = found
    return out


class _Editor:
    """Copies of sample rows with one cell changed, appended; a few edits in place."""

    def __init__(self, table: _Table, seed: int, builder: _Builder | None = None) -> None:
        self.t = table
        self.builder = builder
        self.frame = table.sample.copy()
        self.added: list[dict[str, Any]] = []
        self.rotate = 0
        self.seed = seed
        self.fresh = 0
        self.changed = False

    def base_rows(self) -> list[int]:
        n = len(self.t.sample)
        if n == 0:
            return []
        k = min(n, _BASE_ROWS)  # spread over the table, first and last row included
        rows = _unique(round(i * (n - 1) / max(1, k - 1)) for i in range(k))
        return [(r + self.seed) % n for r in rows]

    def probe(self, column: str, value: str, *, copies: int | None = None,
              spread: int | None = None) -> None:
        """Put ``value`` into ``column`` in copies of (``copies`` of, rotating) the base
        rows (the first ``spread`` of them)."""
        rows = self.base_rows()[:spread]
        if not rows:
            return
        if copies is not None:  # rotate through the base rows
            rows = [rows[(self.rotate + i) % len(rows)] for i in range(min(copies, len(rows)))]
            self.rotate += copies
        for row in rows:
            self.copy(row, {column: value})

    def copy(self, row: int, changes: Mapping[str, str], *, keep_ids: bool = False,
             link: bool = True) -> None:
        record = dict(self.t.sample.iloc[row])
        if not keep_ids:
            for col in self.t.ids:
                record[col] = self._fresh(col, str(record[col]))
        for col in self.t.dict_keys - set(changes):
            new = self._fresh(col, str(record[col]))
            if link and self.builder is not None:
                self.builder.links.append((self.t.name, col, str(record[col]), new))
            record[col] = new
        record.update(changes)
        self.added.append(record)
        self.changed = True

    def set(self, row: int, column: str, value: str) -> None:
        self.frame.iloc[row, self.frame.columns.get_loc(column)] = value
        self.changed = True

    def _fresh(self, column: str, current: str = "") -> str:
        self.fresh += 1
        values = [v for v in self.t.sample[column] if v != ""]
        kind = self.t.kinds[column]
        if kind in ("int", "float"):
            top = max((float(v) for v in values), default=0.0)
            return str(int(top) + 100 + self.fresh)
        if kind == "date":
            top = max(values, default="2000-01-01")
            return (dt.date.fromisoformat(top) + dt.timedelta(days=self.fresh)).isoformat()
        return f"new{self.fresh}_{current or (values[0] if values else column)}"

    def result(self) -> pd.DataFrame | None:
        if not self.changed:
            return None
        import pandas as pd

        if not self.added:
            return self.frame.reset_index(drop=True)
        extra = pd.DataFrame(self.added, columns=list(self.frame.columns))
        return pd.concat([self.frame, extra], ignore_index=True)


def _table_variants(inputs: Mapping[str, InputData], facts: ProgramFacts, *, kind: str,
                    seed: int) -> list[Variant]:
    samples = {n: d.table for n, d in inputs.items()}
    plain = {n: t.drop(columns=[PART], errors="ignore") for n, t in samples.items()}
    keys = join_keys({n: t[[c for c in t.columns if c not in inputs[n].opaque]]
                      for n, t in plain.items()})
    tables = {}
    for name, data in inputs.items():
        table = plain[name]
        cols = [c for c in table.columns if c not in data.opaque]
        kinds = {c: _kind(table[c]) for c in cols}
        unique = {c for c in cols if len(table) >= 2 and not table[c].duplicated().any()
                  and (table[c] != "").all()}
        ids = {c for c in unique - keys[name] if _ID_NAME.search(c)}
        tables[name] = _Table(name, data.table, kinds, keys[name], unique, ids,
                              unique & facts.dict_keys, data.opaque)

    def build(*families: Any) -> dict[str, pd.DataFrame]:
        builder = _Builder(tables, seed)
        for family in families:
            family(builder)
        return builder.result()

    out: list[Variant] = []
    families = {"boundary": lambda b: _boundary(b, facts), "mixed-text": _mixed_text,
                "mixed-numbers": lambda b: _mixed_numbers(b, facts),
                "mixed-duplicates": _duplicates, "mixed-joins": _join_probes,
                "mixed-groups": lambda b: _group_probes(b, facts)}
    parts = [Variant(label, data) for label, family in families.items()
             if (data := build(family))]
    probes = build(*families.values())
    if probes:
        out.append(Variant("probes", probes, "the program's literals with their neighbours "
                           "and case and whitespace variants; unseen values; extreme and "
                           "precise numbers; far dates; duplicate rows; unmatched keys",
                           parts if len(parts) > 1 else []))
    null_parts = {"text": lambda b: _nulls(b, facts, kind, numbers=False),
                  "numbers": lambda b: _nulls(b, facts, kind, numbers=True)}
    parts = [Variant(f"nulls-{label}", data) for label, family in null_parts.items()
             if (data := build(family))]
    nulls = build(*null_parts.values())
    if nulls:
        out.append(Variant("nulls", nulls, "empty cells (NULL)",
                           parts if len(parts) > 1 else []))
    groups = build(lambda b: _groups(b, facts))
    if groups:
        out.append(Variant("groups", groups, "a group emptied, a group moved across the "
                           "compared boundary"))
    empty = {n: t.sample.iloc[0:0].copy() for n, t in tables.items() if len(t.sample)}
    if empty and kind != "encoder":  # scikit-learn cannot fit on zero rows
        out.append(Variant("empty", empty, "every table with its header only"))
    return out


def _boundary(builder: _Builder, facts: ProgramFacts) -> None:
    for name, table in builder.tables.items():
        ranked: list[tuple[int, str, str]] = []  # exact values first, then neighbours
        for col in table.columns:
            kind = table.kinds[col]
            for literal in sorted(facts.literals_for(col), key=repr):
                ranked += [(rank, col, v) for rank, v in enumerate(probe_values(literal, kind))]
            if kind == "float":
                for digits in sorted(facts.rounded.get(col, set()) |
                                     facts.rounded.get(None, set())):
                    ranked += [(1, col, v) for v in
                               rounding_values(list(table.sample[col]), digits)]
        ranked.sort(key=lambda r: r[0])  # stable: columns and literals keep their order
        probes = _unique((col, v) for _, col, v in ranked if v not in _PANDAS_NA)
        spread = max(1, _BOUNDARY_ROWS // max(1, len(probes)))
        for col, value in probes:
            builder[name].probe(col, value, spread=spread)


def _text_probes(values: Sequence[str], column: str) -> list[str]:
    present = [v for v in values if v != ""]
    if not present:
        return []
    base = present[0]
    flipped = next((v.swapcase() for v in present if v.swapcase() != v), None)
    out = [f"{base}_new" if len(base) < 30 else "new_value"]
    if flipped is not None:
        out.append(flipped)
    out.append(" " + base)
    return [v for v in _unique(out) if v not in _PANDAS_NA and v not in present]


def _mixed_text(builder: _Builder) -> None:
    for name, table in builder.tables.items():
        for col in table.columns:
            if table.kinds[col] != "text" or col in table.ids or col in table.keys or \
                    col in table.dict_keys:
                continue
            for value in _text_probes(list(table.sample[col]), col):
                builder[name].probe(col, value, copies=1)


def _number_probes(values: Sequence[str], kind: str, facts: ProgramFacts, column: str
                   ) -> list[str]:
    present = [float(v) for v in values if v != "" and _FLOAT.match(v.strip())]
    if kind == "int":
        out = ["0", "-1", "1000", "-1000", "1000000"]
    else:
        out = ["0.0", "-1.5", "1000.25", "-1000.25", "1000000.5"]
        digits = sorted(facts.rounded.get(column, set()) | facts.rounded.get(None, set()))
        step = 10.0 ** -(max(digits) + 1 if digits else 3)
        for v in present[:2]:  # more decimals than the sample has
            out.append(_fmt(v + 3.7 * step))
    return _unique(out)


def _mixed_numbers(builder: _Builder, facts: ProgramFacts) -> None:
    for name, table in builder.tables.items():
        editor = builder[name]
        last = len(table.sample) - 1  # changed in place below: never copied
        for col in table.columns:
            kind = table.kinds[col]
            if kind not in ("int", "float", "date") or col in table.ids or \
                    col in table.keys or col in table.dict_keys:
                continue
            probes = (["1970-01-01", "2099-12-31"] if kind == "date" else
                      _number_probes(list(table.sample[col]), kind, facts, col))
            rows = [r for r in editor.base_rows() if r != last] or editor.base_rows()
            for i, value in enumerate(probes):
                if value.lstrip("-").startswith("1000"):  # large values on every base row
                    for row in rows:
                        editor.copy(row, {col: value})
                elif rows:
                    editor.copy(rows[i % len(rows)], {col: value})
            if not table.protected and last >= 1 and kind != "date":
                # and once in place: a row whose only copy is out of the sample's range
                editor.set(last, col, "1000" if kind == "int" else "1000.25")


def _duplicates(builder: _Builder) -> None:
    for name, table in builder.tables.items():
        if table.protected:  # a duplicated dict key: the last row wins in the original
            continue
        editor = builder[name]
        for row in editor.base_rows()[::2] or editor.base_rows():
            editor.copy(row, {}, keep_ids=True)


def _join_probes(builder: _Builder) -> None:
    """Keys that match nothing (a key changed in one table only) and references moved to a
    key nothing referred to (so that a left and an inner join differ)."""
    tables = builder.tables
    if len(tables) < 2:
        return
    plain = {n: t.sample.drop(columns=[PART], errors="ignore") for n, t in tables.items()}
    pairs = _references(plain)
    for t, (name, table) in enumerate(tables.items()):
        editor = builder[name]
        rows = editor.base_rows()
        if not table.keys or not rows:
            continue
        for i, key in enumerate(sorted(table.keys)):
            serial = 100 * t + 10 * i  # never the value another table gets
            for j, row in enumerate(rows[:2] if table.protected else rows[:1]):
                editor.copy(row, {key: _unmatched(plain, key, table.kinds.get(key, "text"),
                                                  serial + j)})
        for (ref_table, ref), (key_table, key) in pairs.items():
            if ref_table != name or ref in table.dict_keys:
                continue
            unused = sorted(set(plain[key_table][key]) - set(plain[name][ref]) - {""})
            for value in unused[:2]:
                editor.copy(rows[0], {ref: value})


def _nulls(builder: _Builder, facts: ProgramFacts, kind: str, *, numbers: bool) -> None:
    for name, table in builder.tables.items():
        for col in table.columns:
            if col in table.keys or col in facts.null_sensitive or col in table.dict_keys:
                continue
            is_number = table.kinds[col] in ("int", "float")
            if is_number != numbers:
                continue
            if kind == "encoder" and not is_number:
                continue  # pandas reads NaN (sorted last by scikit-learn), csv reads ""
            builder[name].probe(col, "", copies=1)


def _group_columns(table: _Table) -> list[str]:
    """Text columns with a repeated value (what a program may group by)."""
    out = []
    for col in table.columns:
        values = [v for v in table.sample[col] if v != ""]
        if table.kinds[col] == "text" and col not in table.keys and \
                col not in table.dict_keys and len(set(values)) >= 2 and \
                len(set(values)) < len(values):
            out.append(col)
    return out


def _group_probes(builder: _Builder, facts: ProgramFacts) -> None:
    """Two new groups of two rows each, one with every compared column just below its
    literal and one just above: whichever way the filter goes, one group is left empty."""
    for name, table in builder.tables.items():
        compared = {c: probe_values(lit, table.kinds[c]) for c in table.columns
                    for lit in sorted(facts.compared.get(c, set()), key=repr)[:1]}
        compared = {c: v for c, v in compared.items() if len(v) >= 2}
        groups = _group_columns(table)
        rows = builder[name].base_rows()[:2]
        if not groups or not compared or not rows:
            continue
        col = groups[0]
        first = next(v for v in table.sample[col] if v != "")
        for label, pick in (("low", 0), ("high", -1)):
            for row in rows:
                changes = {c: v[pick] for c, v in compared.items() if c != col}
                builder[name].copy(row, {**changes, col: f"{first}_{label}"})


def _groups(builder: _Builder, facts: ProgramFacts) -> None:
    for name, table in builder.tables.items():
        editor = builder[name]
        for col in _group_columns(table)[:1]:
            values = _unique(v for v in table.sample[col] if v != "")
            group, into = values[-1], values[0]
            for row in [i for i, v in enumerate(table.sample[col]) if v == group]:
                editor.set(row, col, into)  # the last group is left empty
            moved = [i for i, v in enumerate(editor.frame[col]) if v == into]
            for other in table.columns:
                literal = [v for lit in sorted(facts.compared.get(other, set()), key=repr)
                           for v in probe_values(lit, table.kinds[other])]
                if literal and other != col:
                    for row in moved:  # and one group moved below the compared boundary
                        editor.set(row, other, literal[0])


# ---- matrices ----------------------------------------------------------------------------------
def _matrix_variants(inputs: Mapping[str, InputData], facts: ProgramFacts) -> list[Variant]:
    import numpy as np

    boundary, extremes = {}, {}
    for name, data in inputs.items():
        sample = np.asarray(data.matrix)
        n_cols = sample.shape[1]
        if n_cols == 0:
            continue
        head = sample[:8]
        values = sorted(facts.numbers | {0.0}, key=lambda v: (abs(v), v))[:8]
        rows = []
        for c in values:
            for v in (c, c - 1e-3 * max(1.0, abs(c)), c + 1e-3 * max(1.0, abs(c)), -c,
                      c - 0.5, c + 0.5):
                rows.append(np.full(n_cols, v))
        rows += [np.full(n_cols, v) for v in (1e-6, -1e-6, 0.1, -0.1)]
        boundary[name] = _stack(head, rows, sample.dtype)
        spikes = []
        for j in range(min(n_cols, 12)):
            for scale in (1e3, -1e3):
                spike = np.zeros(n_cols)
                spike[j] = scale
                spikes.append(spike)
        signs = np.where(np.arange(n_cols) % 2 == 0, 1.0, -1.0)
        rows = [np.zeros(n_cols), np.ones(n_cols), -np.ones(n_cols), np.full(n_cols, 1e3),
                np.full(n_cols, -1e3), np.full(n_cols, 1e6), np.full(n_cols, -1e6),
                signs * 5.0, signs * -50.0, *spikes]
        rows += list(-head[:4]) + list(head[:4] * 10.0)
        extremes[name] = _stack(head, rows, sample.dtype)
    out = []
    if boundary:
        out.append(Variant("boundary", boundary, "rows at, just below and just above each "
                           "numeric constant of the program, values around 0"))
    if extremes:
        out.append(Variant("extremes", extremes, "zeros, +-1, +-1e3, +-1e6, one large "
                           "feature at a time, sign-flipped and scaled sample rows"))
    return out


def _stack(head: np.ndarray, rows: Sequence[np.ndarray], dtype: Any) -> np.ndarray:
    import numpy as np

    body = np.vstack([head, *[np.asarray(r, dtype=float).reshape(1, -1) for r in rows]])
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        body = np.clip(np.round(body), info.min, info.max)
    return body.astype(dtype)


# ---- shared helpers ------------------------------------------------------------------------
def _unmatched(tables: Mapping[str, pd.DataFrame], column: str, kind: str, row: int) -> str:
    """A value of ``column``'s kind that no table holds (numbers stay numbers, so a program
    that parses its keys as numbers still runs)."""
    if kind in ("int", "float", "number"):
        numbers = [float(v) for t in tables.values() for c in t.columns
                   if _kind(t[c]) in ("int", "float") for v in t[c] if v != ""]
        return str(int(max(numbers, default=0)) + 1000 + row)
    return f"unmatched_{row}"


def _references(tables: Mapping[str, pd.DataFrame]) -> dict[tuple[str, str], tuple[str, str]]:
    """(table, column) -> the unique (table, column) it refers to (see :func:`join_keys`)."""
    values = {(n, c): {v for v in t[c] if v != ""} for n, t in tables.items() for c in t.columns}
    unique = {(n, c) for n, t in tables.items() for c in t.columns
              if len(values[(n, c)]) >= 2 and not t[c].duplicated().any()}
    out = {}
    for (key_table, key), key_values in values.items():
        if (key_table, key) not in unique:
            continue
        for (ref_table, ref), ref_values in values.items():
            if ref_table == key_table or not ref_values:
                continue
            if len(ref_values & key_values) * 2 >= len(ref_values):
                out.setdefault((ref_table, ref), (key_table, key))
    return out


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
        for other, t in tables.items():
            if other != name and set(t.columns) != set(table.columns):  # not a union
                out[name] |= set(table.columns) & set(t.columns)
    for (ref_table, ref), (key_table, key) in _references(tables).items():
        if ref != key:
            out[key_table].add(key)
            out[ref_table].add(ref)
    return out


def _kind(column: pd.Series) -> str:
    values = [str(v) for v in column if v != "" and v is not None]
    if values and all(_DATE.match(v) for v in values):
        return "date"
    if values and all(_INT.match(v.strip()) for v in values):
        return "int"
    if values and all(_FLOAT.match(v.strip()) for v in values):
        return "float"
    return "text"


__all__ = ["DEFAULT_VARIANTS", "FAMILIES", "InputData", "ProgramFacts", "Variant",
           "boundary_values", "generate_variants", "join_keys", "literals", "load_input",
           "plan_variants", "probe_values", "program_facts", "read_table", "write_input"]
