"""The differential harness: a pipeline, its sources and a sequence of deletion requests,
checked against an oracle that shares nothing with the engine's deletion code.

* The oracle of every request is a fresh ``run`` of the same pipeline file on *cleaned
  inputs* that this module writes itself: the source rows the requests deleted dropped, the
  cells they redacted set to NULL (pandas, from the request's keys or its predicate, here
  evaluated by this module; a redaction of a linked source follows the row provenance of the
  previous oracle's prepared table). The encoder is the original run's fitted one (X is then
  comparable), or, for a case whose scaler's statistics are downdated, one the oracle fits
  afresh on its cleaned input (a downdate must equal that refit).
* Tables are compared as multisets: every prepared column (data, split, row id, provenance;
  merged provenance arrays as sorted monomials, since the order of ``collect_list`` is not a
  meaning), X row by row (vectors rounded to 1e-4), labels, and the model's training size.
* The erasure check (:func:`erasure_hits`) reads every file under the warehouse root (tables,
  ``_delta_log`` JSON, checkpoints, deletion vectors, temporary files, the registry, the
  ledger, anything else): raw bytes, and for Parquet files every decoded value, the column
  statistics and the key-value metadata, for every string that the requests removed and that
  no remaining source cell holds. It does not use ``spark_lester.deletion.verify``.

Ids are only comparable when a cleaned input gives its rows the ids the engine keeps: true
for keyed sources, and for keyless ones as long as their rows are only deleted (a redacted
keyless row would get a new content hash in a re-run). So redactions target keyed sources.
"""

from __future__ import annotations

import io
import json
import math
import os
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

#: Module-level code of every generated pipeline file.
HEADER = '''"""Generated pipeline (tests/fuzz)."""
from pyspark.sql import functions as F
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler

SOURCES = {sources}
LABEL = {label}
FEATURE_COLUMNS = ["f"]
ENCODER_STATISTICS = {statistics}
CLUSTER_BY = {cluster}
MODEL = {model}
SPLIT = {{"test_fraction": 0.3, "seed": 1}}


def prepare({params}):
{body}
    return out


def encoder():
    return ColumnTransformer([("f", StandardScaler(), ["f"])])
'''

#: Failures a request may legitimately end with (the state must then be unchanged).
REFUSALS = ("EmptyRemainderError",)
#: The most an unlearned model may stay away from the retrained one, as a fraction of the
#: original model's distance (the engine retrains when its certified bound is above budget;
#: its Newton update with refinement reaches rho <= 1e-3 on the benchmarks).
MAX_RHO = 0.1


@dataclass
class Source:
    name: str
    key: str | None
    columns: list[tuple[str, str]]  # (name, "INT" | "DOUBLE" | "STRING")
    rows: list[tuple[Any, ...]]
    #: This source reads the file of that source (the same rows; its own column names, by
    #: position): one file read twice under two names, e.g. to join a source to itself.
    reads: str | None = None

    @property
    def schema(self) -> str:
        return ", ".join(f"{c} {t}" for c, t in self.columns)

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=[c for c, _ in self.columns])
        for c, t in self.columns:
            if t == "INT":
                df[c] = df[c].astype("Int64")
            elif t == "DOUBLE":
                df[c] = df[c].astype("float64")
            else:
                df[c] = df[c].astype("object")
        return df


@dataclass
class Case:
    """A pipeline (``body`` assigns ``out``; it must hold a DOUBLE column ``f``, and an INT
    column ``label`` when ``model``), its sources and the requests, applied in order. A
    request is a request dict whose ``where`` is ``[column, op, value]`` (op one of ``=``,
    ``>``, ``<=``, ``null``), rendered as SQL for the engine and evaluated here with
    pandas; ``{"resubmit": i}`` re-submits the ``i``-th request that is not a re-submit."""

    sources: list[Source]
    body: str
    requests: list[dict[str, Any]]
    cluster: str
    model: bool = False
    ops: list[str] = field(default_factory=list)
    #: The scaler's statistics: kept (the oracle encodes with the run's fitted encoder), or
    #: downdated (the oracle fits its own on the cleaned input: a downdate equals a refit).
    statistics: str = "keep"

    def oracle_encoder(self, fitted: Any) -> Any:
        """The encoder an oracle run gets: the run's fitted one, or None (fit afresh)."""
        return None if self.statistics == "downdate" else fitted

    def pipeline_text(self) -> str:
        specs = {s.name: {"key": s.key, "schema": s.schema} for s in self.sources}
        return HEADER.format(
            sources=repr(specs), label=repr("label" if self.model else None),
            cluster=repr(self.cluster), statistics=repr(self.statistics),
            model=repr({"kind": "logreg", "lam": 1.0, "seed": 0} if self.model else None),
            params=", ".join(s.name for s in self.sources),
            body=textwrap.indent(textwrap.dedent(self.body).strip("\n"), "    "))

    def describe(self) -> str:
        """A reproduction: the pipeline, the sources and the requests."""
        return json.dumps({"body": textwrap.dedent(self.body).strip("\n"),
                           "cluster": self.cluster, "model": self.model,
                           "statistics": self.statistics,
                           "sources": [{"name": s.name, "key": s.key, "columns": s.columns,
                                        "rows": s.rows, "reads": s.reads}
                                       for s in self.sources],
                           "requests": self.requests}, default=str, indent=1)


def sql(where: list[Any]) -> str:
    column, op, value = where
    if op == "null":
        return f"{column} IS NULL"
    literal = f"'{value}'" if isinstance(value, str) else repr(value)
    return f"{column} {op} {literal}"


def matches(df: pd.DataFrame, where: list[Any]) -> pd.Series:
    column, op, value = where
    col = df[column]
    if op == "null":
        return col.isna()
    present = col.notna()
    if op == "=":
        return present & (col == value).fillna(False).astype(bool)
    if op == ">":
        return present & (col > value).fillna(False).astype(bool)
    if op == "<=":
        return present & (col <= value).fillna(False).astype(bool)
    raise ValueError(op)


def engine_request(request: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in request.items() if not k.startswith("_")}
    if isinstance(out.get("where"), list):
        out["where"] = sql(out["where"])
    return out


@dataclass
class Outcome:
    """What a case found: one line per difference or erasure hit (empty: the case passed)."""

    differences: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    #: Per request with a model: rho of the engine's model against the re-run's retrained
    #: one (``|w_u - w_r| / |w_o - w_r|``; 0 is the retrained model itself).
    rhos: list[float] = field(default_factory=list)
    seconds: float = 0.0
    #: The generated pipeline cannot run at all (e.g. no training row): not a case.
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.differences


class Harness:
    """Runs cases in folders under ``root`` with one Spark session.

    ``warehouse`` may be an ``s3a://`` URI (then ``s3`` is a boto3 client for the erasure
    check); sources and oracles stay local."""

    def __init__(self, spark: Any, root: Path, *, warehouse: str | None = None,
                 s3: Any = None) -> None:
        self.spark, self.root, self.warehouse, self.s3 = spark, Path(root), warehouse, s3
        #: source name -> the source whose file it reads (set by ``setup``)
        self.reads: dict[str, str] = {}

    # ---- running ---------------------------------------------------------------------
    def run(self, case: Case, *, submit: Any = None) -> Outcome:
        """Apply the case's requests, checking after each one. ``submit(request dict,
        warehouse)`` replaces the in-process ``unlearn`` (the fault injector uses it)."""
        import time

        from spark_lester.artifacts.run import run
        from spark_lester.errors import LesterError
        from spark_lester.features.encode import load_encoder

        from spark_lester.errors import PlanError

        started = time.perf_counter()
        try:
            record, wh = self.setup(case)
        except PlanError as err:
            return Outcome(skipped=f"the pipeline does not run: {err}")
        pipeline = self.root / "pipeline.py"
        state = {s.name: s.frame() for s in case.sources}
        original = {n: df.copy() for n, df in state.items()}
        keys = {s.name: s.key for s in case.sources}
        encoder = load_encoder(record.encoder)
        outcome = Outcome()
        previous = record  # the oracle of the current state (the run itself, at first)
        sent: list[dict[str, Any]] = []
        for i, request in enumerate(case.requests):
            if "resubmit" in request:
                body = sent[request["resubmit"]]
                before = self._versions(record)
                try:
                    result = (submit or self._unlearn)(body, wh)
                except LesterError as err:  # a refused request is refused again, unchanged
                    outcome.statuses.append(type(err).__name__)
                    if type(err).__name__ not in REFUSALS:
                        outcome.differences.append(f"request {i}: re-submit: "
                                                   f"{type(err).__name__}: {err}")
                    if self._versions(record) != before:
                        outcome.differences.append(f"request {i}: a re-submit changed tables")
                    continue
                outcome.statuses.append(result["status"])
                if result["status"] not in ("already_applied",):
                    outcome.differences.append(f"request {i}: re-submitting request "
                                               f"{request['resubmit']} gave "
                                               f"{result['status']}")
                if self._versions(record) != before:
                    outcome.differences.append(f"request {i}: a re-submit changed tables")
                continue
            body = engine_request(request)
            body.setdefault("request_id", f"q{i}")
            sent.append(body)
            linked = self._linked(previous, request, state, keys)
            before = self._versions(record)
            w_before = self._weights(record) if case.model else None
            try:
                result = (submit or self._unlearn)(body, wh)
                outcome.statuses.append(result["status"])
            except LesterError as err:
                outcome.statuses.append(type(err).__name__)
                if type(err).__name__ not in REFUSALS and not request.get("_bad"):
                    outcome.differences.append(f"request {i}: {type(err).__name__}: {err}")
                if request.get("_bad") and type(err).__name__ != request["_bad"]:
                    outcome.differences.append(f"request {i}: expected {request['_bad']}")
                if self._versions(record) != before:
                    outcome.differences.append(f"request {i}: refused, but tables changed")
                if type(err).__name__ in REFUSALS:
                    trained = self._trains(pipeline, request, state, keys, linked,
                                           case.oracle_encoder(encoder), i)
                    if trained is not None:
                        outcome.differences.append(
                            f"request {i}: refused ({type(err).__name__}), but a re-run on "
                            f"the cleaned input trains its model on {trained} row(s)")
                continue  # refused: nothing may have changed
            if request.get("_bad"):
                outcome.differences.append(f"request {i}: a bad request was accepted "
                                           f"({result['status']})")
                continue
            if request.get("_expect") and result["status"] != request["_expect"]:
                outcome.differences.append(f"request {i}: status {result['status']}, "
                                           f"expected {request['_expect']}")
            if result["status"] == "noop" and self._versions(record) != before:
                outcome.differences.append(f"request {i}: a noop rewrote tables")
            apply(state, request, keys, linked, self.reads)
            cleaned = self._write(state, f"clean{i}")
            oracle = run(pipeline, cleaned, warehouse=str(self.root / f"oracle{i}"),
                         spark=self.spark, run_id="o", encoder=case.oracle_encoder(encoder),
                         rows_per_file=1000)
            for line in compare(self.spark, record, oracle):
                outcome.differences.append(f"request {i}: {line}")
            if w_before is not None:
                rho = model_rho(w_before, self._weights(record), self._weights(oracle))
                if rho is not None:
                    outcome.rhos.append(rho)
                    if not rho <= MAX_RHO:
                        outcome.differences.append(
                            f"request {i}: model: rho {rho:.3g} against the model retrained "
                            f"on the re-run's X (at most {MAX_RHO})")
            for hit in erasure_hits(wh, removed_values(original, state), s3=self.s3):
                outcome.differences.append(f"request {i}: erasure: {hit}")
            previous = oracle
        outcome.seconds = round(time.perf_counter() - started, 2)
        return outcome

    def oracle_differences(self, case: Case, record: Any, requests: list[dict[str, Any]],
                           wh: str, tag: str) -> list[str]:
        """The differences between the engine's state after ``requests`` (already applied,
        in order; redactions of the request's own source only) and a fresh run on inputs
        cleaned by them, and the erasure hits."""
        from spark_lester.artifacts.run import run
        from spark_lester.features.encode import load_encoder

        state = {s.name: s.frame() for s in case.sources}
        original = {n: df.copy() for n, df in state.items()}
        keys = {s.name: s.key for s in case.sources}
        for request in requests:
            apply(state, request, keys, {}, self.reads)
        cleaned = self._write(state, f"clean_{tag}")
        oracle = run(self.root / "pipeline.py", cleaned, warehouse=str(self.root / f"o_{tag}"),
                     spark=self.spark, run_id="o",
                     encoder=case.oracle_encoder(load_encoder(record.encoder)),
                     rows_per_file=1000)
        lines = compare(self.spark, record, oracle)
        lines += [f"erasure: {h}" for h in erasure_hits(wh, removed_values(original, state),
                                                         s3=self.s3)]
        return lines

    def setup(self, case: Case) -> tuple[Any, str]:
        """Write the case's pipeline and sources and run it: ``(record, warehouse)``."""
        from spark_lester.artifacts.run import run

        self.root.mkdir(parents=True, exist_ok=True)
        self.reads = {s.name: s.reads for s in case.sources if s.reads}
        pipeline = self.root / "pipeline.py"
        pipeline.write_text(case.pipeline_text())
        paths = self._write({s.name: s.frame() for s in case.sources}, "src")
        wh = self.warehouse or str(self.root / "wh")
        return run(pipeline, paths, warehouse=wh, spark=self.spark, run_id="r1",
                   rows_per_file=3), wh

    def _trains(self, pipeline: Path, request: dict[str, Any],
                state: dict[str, pd.DataFrame], keys: dict[str, str | None],
                linked: dict[str, set[int]], encoder: Any, i: int) -> int | None:
        """The oracle of a refusal: the number of rows a fresh run on the input cleaned by
        ``request`` trains its model on (None: that run cannot train one either, so
        refusing the request was right). ``state`` is left as it was."""
        from spark_lester.artifacts.run import run
        from spark_lester.errors import ModelError, PlanError

        cleaned_state = {n: df.copy() for n, df in state.items()}
        apply(cleaned_state, request, keys, linked, self.reads)
        cleaned = self._write(cleaned_state, f"refused{i}")
        try:
            oracle = run(pipeline, cleaned, warehouse=str(self.root / f"refused_oracle{i}"),
                         spark=self.spark, run_id="o", encoder=encoder, rows_per_file=1000)
        except (ModelError, PlanError):
            return None
        from spark_lester.artifacts.layout import MODEL
        from spark_lester.artifacts.model import load_model

        if MODEL not in oracle.tables:
            return None
        return load_model(self.spark, oracle.tables[MODEL].path).params.n_train

    def _unlearn(self, body: dict[str, Any], wh: str) -> dict[str, Any]:
        from spark_lester.deletion.unlearn import unlearn

        return unlearn(body, warehouse=wh, spark=self.spark)

    def _weights(self, record: Any) -> Any:
        from spark_lester.artifacts.layout import MODEL
        from spark_lester.artifacts.model import load_model

        if MODEL not in record.tables:
            return None
        return load_model(self.spark, record.tables[MODEL].path).params.w

    def _versions(self, record: Any) -> dict[str, int]:
        from spark_lester.artifacts import store

        return {n: store.table_version(self.spark, t.path) for n, t in record.tables.items()}

    def _write(self, state: dict[str, pd.DataFrame], folder: str) -> dict[str, str]:
        """One CSV file per source; a source that reads another's file gets its path."""
        out = {}
        for name, df in state.items():
            if name in self.reads:
                continue
            path = self.root / folder / f"{name}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            df.to_csv(path, index=False)
            out[name] = str(path)
        for name, target in self.reads.items():
            if name in state:
                out[name] = out[target]
        return out

    def _names(self, source: str) -> list[str]:
        """``source``'s file's names: the source that owns the file, then its other readers."""
        root = self.reads.get(source, source)
        return [root, *sorted(n for n, t in self.reads.items() if t == root)]

    def _linked(self, oracle: Any, request: dict[str, Any], state: dict[str, pd.DataFrame],
                keys: dict[str, str | None]) -> dict[str, set[int]]:
        """For a redaction of other sources' columns: per such source, the ids of its rows
        that share a prepared row (a monomial) with the request's rows, in the oracle. The
        request's rows are rows of a file: linked through any name that file is read under;
        a linked row is a row of a file too (found under any of its names, keyed by key)."""
        if request["action"] != "redact_columns":
            return {}
        source = request["source"]
        group = self._names(source)
        others = sorted({c.split(".")[0] for c in request["columns"]} - set(group))
        if not others:
            return {}
        from spark_lester.artifacts.layout import PREPARED
        from spark_lester.frame.source import keyed_row_id

        mine = {source: ids_of(self.spark, state, request, keys, self.root / "ids")}
        chosen = state[source][_selected(state[source], request, keys[source])]
        for name in group:
            if name != source:
                mine[name] = ({keyed_row_id(name, int(k)) for k in chosen[keys[source]]}
                              if keys[source] else mine[source])
        key_of = {}  # (name, id) -> key value, for every name of the linked files
        for o in others:
            for name in self._names(o):
                for k in state[name][keys[name]].dropna():
                    key_of[(name, keyed_row_id(name, int(k)))] = int(k)
        df = self.spark.read.format("delta").load(oracle.tables[PREPARED].path)
        linked_keys: dict[str, set[int]] = {o: set() for o in others}
        for row in df.collect():
            for mono in monomials(row.asDict()):
                if not any(mono.get(f"__prov_{g}") in ids for g, ids in mine.items()):
                    continue
                for o in others:
                    for name in self._names(o):
                        value = mono.get(f"__prov_{name}")
                        if value is not None and (name, int(value)) in key_of:
                            linked_keys[o].add(key_of[(name, int(value))])
        return {o: {keyed_row_id(o, k) for k in ks} for o, ks in linked_keys.items()}


def monomials(row: dict[str, Any]) -> list[dict[str, Any]]:
    cols = [c for c in row if c.startswith("__prov_")]
    if cols and isinstance(row[cols[0]], list):
        return [dict(zip(cols, vals, strict=True)) for vals in
                zip(*[row[c] for c in cols], strict=True)]
    return [{c: row[c] for c in cols}]


def ids_of(spark: Any, state: dict[str, pd.DataFrame], request: dict[str, Any],
           keys: dict[str, str | None], folder: Path) -> set[int]:
    """Row ids of the request's rows in the current state (the library's id rule)."""
    from spark_lester.frame.source import keyed_row_id

    source = request["source"]
    df = state[source]
    if keys[source] is not None:
        rows = df[_selected(df, request, keys[source])]
        return {keyed_row_id(source, int(k)) for k in rows[keys[source]]}
    # keyless: ids are content hashes; read the current state with the library
    from spark_lester.frame.source import read_csv

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{source}.csv"
    df.to_csv(path, index=False)
    schema = ", ".join(f"{c} {_ddl(df[c])}" for c in df.columns)
    frame = read_csv(source, str(path), schema=schema, spark=spark)
    from pyspark.sql import functions as F

    return {int(r[0]) for r in frame.df.where(F.expr(sql(request["where"])))
            .select(f"__prov_{source}").collect()}


def _ddl(series: pd.Series) -> str:
    if str(series.dtype) == "Int64":
        return "INT"
    if str(series.dtype) == "float64":
        return "DOUBLE"
    return "STRING"


def _selected(df: pd.DataFrame, request: dict[str, Any], key: str | None) -> pd.Series:
    if request.get("keys") is not None:
        wanted = set()
        for k in request["keys"]:
            try:
                wanted.add(int(k))
            except (TypeError, ValueError):
                continue
        return df[key].isin(list(wanted)).fillna(False).astype(bool)
    return matches(df, request["where"])


def apply(state: dict[str, pd.DataFrame], request: dict[str, Any],
          keys: dict[str, str | None], linked: dict[str, set[int]],
          reads: dict[str, str] | None = None) -> None:
    """Clean ``state`` (source name -> pandas frame) by ``request``, as a user would; a file
    read under two names is cleaned once, so both names see the change."""
    reads = reads or {}
    source = request["source"]
    root = reads.get(source, source)
    if request.get("columns"):  # a column of another name of the request's own file
        own = list(state[source].columns)
        mapped = []
        for column in request["columns"]:
            src, _, name = column.rpartition(".")
            if src != source and reads.get(src, src) == root:
                column = f"{source}.{own[list(state[src].columns).index(name)]}"
            mapped.append(column)
        request = {**request, "columns": mapped}
    _apply_one(state, request, keys, linked)
    for name, target in reads.items():
        touched = {request["source"], *(c.rpartition(".")[0] for c in
                                        request.get("columns") or [])}
        if target in touched:
            state[name] = _renamed(state[target], state[name].columns)
        elif name in touched:
            state[target] = _renamed(state[name], state[target].columns)
            for other, t in reads.items():  # other names of the same file
                if t == target and other != name:
                    state[other] = _renamed(state[target], state[other].columns)


def _renamed(df: pd.DataFrame, columns: Any) -> pd.DataFrame:
    out = df.copy()
    out.columns = list(columns)
    return out


def _apply_one(state: dict[str, pd.DataFrame], request: dict[str, Any],
               keys: dict[str, str | None], linked: dict[str, set[int]]) -> None:
    from spark_lester.frame.source import keyed_row_id

    source = request["source"]
    df = state[source]
    hit = _selected(df, request, keys[source])
    if request["action"] == "delete_rows":
        state[source] = df[~hit].reset_index(drop=True)
        return
    for column in request["columns"]:
        src, _, name = column.rpartition(".")
        src = src or source
        target = state[src]
        if src == source:
            target.loc[hit, name] = None
        else:
            key = keys[src]
            ids = target[key].map(lambda k: keyed_row_id(src, int(k)) if pd.notna(k) else None)
            target.loc[ids.isin(linked.get(src, set())), name] = None


def removed_values(original: dict[str, pd.DataFrame], state: dict[str, pd.DataFrame],
                   min_length: int = 8) -> set[str]:
    """String cells of the original inputs that no cell of the cleaned inputs holds."""
    def strings(frames: dict[str, pd.DataFrame]) -> set[str]:
        out: set[str] = set()
        for df in frames.values():
            for c in df.columns:
                out.update(v for v in df[c] if isinstance(v, str))
        return out

    return {v for v in strings(original) - strings(state) if len(v) >= min_length}


# ---- comparison -------------------------------------------------------------------------
def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else round(value, 6)
    if isinstance(value, list):
        return tuple(_norm(v) for v in value)
    return value


def normalized_rows(spark: Any, path: str) -> Counter:
    """A table as a multiset of normalized rows: merged provenance as sorted monomials
    (and without the row id, which hashes the arrays in their collected order), feature
    vectors rounded to 1e-4."""
    df = spark.read.format("delta").load(path)
    out: Counter = Counter()
    for row in df.collect():
        d = row.asDict()
        prov = sorted(c for c in d if c.startswith("__prov_"))
        merged = bool(prov) and isinstance(d[prov[0]], list)
        items = []
        for c in sorted(d):
            if c.startswith("__prov_") or (merged and c == "__lester_row_id"):
                continue
            v = d[c]
            if c == "features" and isinstance(v, list):
                v = tuple(round(float(x), 4) + 0.0 for x in v)
            items.append((c, _norm(v)))
        if merged:
            monos = sorted((tuple((c, m[c]) for c in prov) for m in monomials(d)),
                           key=lambda mono: [(c, v is None, v or 0) for c, v in mono])
            items.append(("__provenance", tuple(monos)))
        else:
            items.extend((c, d[c]) for c in prov)
        out[tuple(items)] += 1
    return out


def compare(spark: Any, engine: Any, oracle: Any) -> list[str]:
    """Differences between the engine's tables (after its requests) and the oracle's."""
    from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED

    lines = []
    for name in (PREPARED, FEATURES):
        a = normalized_rows(spark, engine.tables[name].path)
        b = normalized_rows(spark, oracle.tables[name].path)
        extra, missing = a - b, b - a
        if name == FEATURES:
            extra, missing = _pair_close(extra, missing)
        if extra or missing:
            lines.append(f"{name}: {sum(extra.values())} row(s) only in the engine's table, "
                         f"{sum(missing.values())} only in the re-run's; e.g. engine "
                         f"{_short(next(iter(extra), None))} re-run "
                         f"{_short(next(iter(missing), None))}")
    if MODEL in engine.tables and MODEL in oracle.tables:
        from spark_lester.artifacts.model import load_model

        mine = load_model(spark, engine.tables[MODEL].path)
        theirs = load_model(spark, oracle.tables[MODEL].path)
        if mine.params.n_train != theirs.params.n_train:
            lines.append(f"model: trained on {mine.params.n_train} rows, the re-run's on "
                         f"{theirs.params.n_train}")
        if not all(math.isfinite(float(w)) for w in list(mine.params.w)):
            lines.append("model: non-finite weights")
    return lines


def _pair_close(extra: Counter, missing: Counter) -> tuple[Counter, Counter]:
    """X rows that differ only by the rounding of their vectors (one step of 1e-4: a
    downdated scaler and a refit agree to float error, which can fall on either side of a
    rounding boundary) are paired off; the rest stay differences."""
    extra, missing = Counter(extra), Counter(missing)

    def split(row: tuple) -> tuple[tuple, tuple | None]:
        rest = tuple(item for item in row if item[0] != "features")
        vec = next((item[1] for item in row if item[0] == "features"), None)
        return rest, vec

    for row in list(extra):
        rest, vec = split(row)
        for other in list(missing):
            if extra[row] == 0:
                break
            if missing[other] == 0:
                continue
            rest2, vec2 = split(other)
            if rest != rest2 or vec is None or vec2 is None or len(vec) != len(vec2):
                continue
            if all(abs(x - y) <= 1.5e-4 for x, y in zip(vec, vec2, strict=True)):
                n = min(extra[row], missing[other])
                extra[row] -= n
                missing[other] -= n
    return +extra, +missing


def model_rho(original: Any, unlearned: Any, retrained: Any) -> float | None:
    """``|w_u - w_r| / |w_o - w_r|`` (None when a vector is missing or the shapes differ:
    the table comparison reports that). Below the optimiser's precision (``1e-4 * |w_r|``)
    a distance is noise: a request that does not move the retrained model (no training row
    changed) gives 0 when the engine's model is within that precision too, else infinity."""
    import numpy as np

    if original is None or unlearned is None or retrained is None or \
            not (len(original) == len(unlearned) == len(retrained)):
        return None
    w_r = np.asarray(retrained)
    floor = 1e-4 * max(1.0, float(np.linalg.norm(w_r)))
    d_u = float(np.linalg.norm(np.asarray(unlearned) - w_r))
    d_o = float(np.linalg.norm(np.asarray(original) - w_r))
    if d_o <= floor:
        return 0.0 if d_u <= floor else math.inf
    return d_u / d_o


def _short(row: Any) -> str:
    if row is None:
        return "-"
    return str(dict(row))[:300]


# ---- the independent erasure check ----------------------------------------------------
def erasure_hits(warehouse: str, needles: set[str], *, s3: Any = None) -> list[str]:
    """Every object under ``warehouse`` that holds one of ``needles`` (raw bytes, or any
    decoded Parquet value, statistic or metadata): ``"<relative path> (<where>)"``."""
    if not needles:
        return []
    encoded = [n.encode() for n in sorted(needles)]
    hits = []
    for name, data in _objects(warehouse, s3):
        where = None
        if any(n in data for n in encoded):
            where = "bytes"
        elif data[:4] == b"PAR1" and _parquet_holds(data, needles):
            where = "parquet values"
        if where:
            hits.append(f"{name} ({where})")
    return hits


def _objects(warehouse: str, s3: Any) -> Any:
    if warehouse.startswith("s3a://"):
        bucket, _, prefix = warehouse.removeprefix("s3a://").partition("/")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                             Prefix=prefix.rstrip("/") + "/")
        for page in pages:
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                yield obj["Key"][len(prefix):], body
        return
    for folder, _, files in os.walk(warehouse):
        for f in files:
            path = os.path.join(folder, f)
            with open(path, "rb") as fh:
                yield os.path.relpath(path, warehouse), fh.read()


def _parquet_holds(data: bytes, needles: set[str]) -> bool:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(io.BytesIO(data))
        table = pf.read()
    except Exception:  # noqa: BLE001 - not readable as Parquet: the raw bytes were searched
        return False
    texts: list[str] = []
    for meta in (pf.metadata.metadata or {}).items():
        texts.extend(x.decode("utf-8", "replace") for x in meta)
    for rg in range(pf.metadata.num_row_groups):
        group = pf.metadata.row_group(rg)
        for ci in range(group.num_columns):
            stats = group.column(ci).statistics
            if stats is not None and stats.has_min_max:
                texts.extend(str(v) for v in (stats.min, stats.max))
    for column in table.columns:
        _collect(column.to_pylist(), texts)
    return any(n in t for t in texts for n in needles)


def _collect(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, bytes):
        out.append(value.decode("utf-8", "replace"))
    elif isinstance(value, dict):
        for v in value.values():
            _collect(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect(v, out)
