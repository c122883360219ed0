"""The running example's life cycle as comparable snapshots, for any Spark session.

``life_cycle`` runs the pipeline into a warehouse (prepared rows, X/y, the model), asks
``used_rows`` and ``fairness_report``, applies the incident's deletion (redact the mail
subjects of the leaked customers: tables, model unlearning, erasure and verification) and
asks both queries again. Every table comes back as a sorted list of rows (a multiset, every
column, floats exact), the model as its parameter vector and statistics: JSON that a driver
on the cluster writes and the test compares with the same snapshot of a ``local[2]`` run.

This file imports only spark_lester and pyspark: a cluster driver imports it next to
itself, with spark_lester from the bundle (never from the checkout).
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import hashlib
import json
from typing import Any

#: Deletion result keys that hold timings, paths or file counts rather than outcomes.
_VOLATILE = ("seconds", "_seconds", "profile", "path", "files", "at", "created", "uri",
             "objects", "bytes", "version")


def plain(value: Any) -> Any:
    """A JSON-ready copy of a Spark row value (floats kept exactly: JSON writes repr)."""
    if isinstance(value, (bytes, bytearray)):
        return "b64:" + base64.b64encode(bytes(value)).decode()
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "asDict"):
        return plain(value.asDict(recursive=True))
    if hasattr(value, "toArray"):  # an ML vector
        return [float(v) for v in value.toArray()]
    return value


def rows(df, drop: tuple[str, ...] = ()) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Every row of ``df`` (columns sorted by name, ``drop`` left out) as a sorted list."""
    cols = sorted(c for c in df.columns if c not in drop)
    out = [json.dumps([plain(v) for v in r], sort_keys=True)
           for r in df.select(*cols).collect()]
    return {"columns": cols, "rows": sorted(out)}


def tables(spark, record) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The run's prepared and features tables as multisets, and its model."""
    from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED
    from spark_lester.artifacts.model import load_model

    out: dict[str, Any] = {}
    for name in (PREPARED, FEATURES):
        out[name] = rows(spark.read.format("delta").load(record.tables[name].path))
    if MODEL in record.tables:
        model = load_model(spark, record.tables[MODEL].path)
        out["model"] = {
            "version": model.version, "method": model.method, "kind": model.params.kind,
            "d": model.params.d, "n_train": model.params.n_train,
            "w": [float(v) for v in model.params.w],
            "params_sha256": hashlib.sha256(model.params.to_bytes()).hexdigest(),
            "stats_sha256": hashlib.sha256(model.stats.to_bytes()).hexdigest(),
        }
    return out


def queries(spark, record, warehouse: str,  # type: ignore[no-untyped-def]
            fairness_by: str | None = "customers.level") -> dict[str, Any]:
    """``used_rows`` of every source of the run and ``fairness_report`` by a column."""
    from spark_lester.queries.fairness_report import fairness_report
    from spark_lester.queries.used_rows import used_rows

    used = {s: rows(used_rows(record, s, warehouse=warehouse, spark=spark))
            for s in sorted(record.sources)}
    out: dict[str, Any] = {"used_rows": used}
    if fairness_by:
        out["fairness"] = plain(fairness_report(record, fairness_by, warehouse=warehouse,
                                                spark=spark))
    return out


def outcome(result: Any) -> Any:
    """A deletion result without timings, paths and storage details."""
    if isinstance(result, dict):
        return {k: outcome(v) for k, v in sorted(result.items())
                if not any(k == v_ or k.endswith(v_) for v_ in _VOLATILE)}
    if isinstance(result, list):
        return [outcome(v) for v in result]
    return plain(result)


def life_cycle(spark, pipeline: str, sources: dict[str, str], warehouse: str,  # type: ignore[no-untyped-def]
               request: dict[str, Any], config, *, fairness_by: str | None = "customers.level",
               rows_per_file: int = 200) -> dict[str, Any]:
    """Run, query, delete, query again: the snapshots (see the module doc)."""
    from spark_lester.artifacts import registry
    from spark_lester.artifacts.layout import Layout
    from spark_lester.artifacts.run import run
    from spark_lester.deletion.unlearn import unlearn

    record = run(pipeline, sources, warehouse=warehouse, spark=spark, run_id="r1",
                 rows_per_file=rows_per_file)
    out: dict[str, Any] = {
        "run": {"rows": record.rows, "lineage": plain(record.lineage),
                "matrix_provenance": plain(record.matrix_provenance),
                "output_columns": record.output_columns, **tables(spark, record)},
        "queries": queries(spark, record, warehouse, fairness_by),
    }
    result = unlearn(request, warehouse=warehouse, spark=spark, config=config)
    after = registry.get_run(spark, Layout(warehouse), "r1")
    out["deletion"] = {"status": result["status"],
                       "verified": result.get("verification", {}).get("verified"),
                       "quality": result.get("quality", {}).get("success"),
                       "outcome": outcome(result.get("changes"))}
    out["after"] = {"rows": after.rows, **tables(spark, after)}
    out["queries_after"] = queries(spark, after, warehouse, fairness_by)
    return out


def differences(left: Any, right: Any, where: str = "", limit: int = 20) -> list[str]:
    """Where two snapshots differ (paths into the JSON), at most ``limit``."""
    out: list[str] = []

    def walk(a: Any, b: Any, at: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                if k not in a or k not in b:
                    out.append(f"{at}/{k}: only on one side")
                else:
                    walk(a[k], b[k], f"{at}/{k}")
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                out.append(f"{at}: {len(a)} vs {len(b)} items")
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{at}[{i}]")
        elif a != b and not (a != a and b != b):  # NaN equals NaN here
            out.append(f"{at}: {str(a)[:300]} != {str(b)[:300]}")

    walk(left, right, where)
    return out
