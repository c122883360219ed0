"""Pipeline files: load a user's pipeline module by path and run it on named sources.

A pipeline file defines ``prepare(**sources) -> LesterFrame`` whose parameter names are the
source names, and optionally ``SOURCES = {name: {"key": ..., "schema": ..., "format": ...}}``
and ``encoder()`` returning an unfitted scikit-learn ColumnTransformer. The module is
registered for pickling by value, so functions it defines can be UDFs on executors that
cannot import it.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from spark_lester.errors import PlanError, SourceError, SourceNotFoundError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_lester.frame.frame import LesterFrame


def load_pipeline(path: str | Path) -> ModuleType:
    """Import the pipeline file at ``path`` under a private module name."""
    from pyspark import cloudpickle

    path = Path(path)
    if not path.is_file():
        raise SourceNotFoundError(f"pipeline file {path} does not exist.")
    name = f"_lester_pipeline_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PlanError(f"cannot load {path} as a Python module.", op="load")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "prepare", None)):
        raise PlanError(f"{path} defines no prepare(**sources) function.", op="load",
                        hint="Define prepare() with one parameter per source name.")
    cloudpickle.register_pickle_by_value(module)
    return module


def source_names(module: ModuleType) -> list[str]:
    return list(inspect.signature(module.prepare).parameters)


def read_sources(module: ModuleType, paths: Mapping[str, str], *,
                 spark: SparkSession | None = None,
                 versions: Mapping[str, int] | None = None) -> dict[str, LesterFrame]:
    """Read every source ``prepare`` takes, with keys and schemas from ``SOURCES``; a Delta
    source named in ``versions`` at that version."""
    from spark_lester.frame.source import read_csv, read_delta, read_parquet

    specs: Mapping[str, Mapping[str, Any]] = getattr(module, "SOURCES", {})
    wanted = source_names(module)
    missing = [n for n in wanted if n not in paths]
    if missing:
        raise SourceError(f"no path given for source(s) {', '.join(missing)}.",
                          source=missing[0], hint="Pass --source NAME=PATH for each.")
    unknown = [n for n in paths if n not in wanted]
    if unknown:
        raise SourceError(f"source(s) {', '.join(unknown)} are not parameters of prepare() "
                          f"(it takes {', '.join(wanted)}).", source=unknown[0])
    frames = {}
    for name in wanted:
        spec = dict(specs.get(name, {}))
        path = str(paths[name])
        fmt = spec.get("format") or _format_of(path)
        key = spec.get("key")
        if fmt == "csv":
            frames[name] = read_csv(name, path, key=key, schema=spec.get("schema"), spark=spark)
        elif fmt == "parquet":
            frames[name] = read_parquet(name, path, key=key, spark=spark)
        elif fmt == "delta":
            frames[name] = read_delta(name, path, key=key, spark=spark,
                                      version=(versions or {}).get(name))
        else:
            raise SourceError(f"source '{name}': unknown format {fmt!r}.", source=name)
    return frames


def run_pipeline(module: ModuleType, paths: Mapping[str, str], *,
                 spark: SparkSession | None = None) -> LesterFrame:
    """Read the sources and call ``prepare``; the result must be a LesterFrame."""
    return call_prepare(module, read_sources(module, paths, spark=spark))


def call_prepare(module: ModuleType, frames: Mapping[str, LesterFrame]) -> LesterFrame:
    """Call the pipeline's ``prepare`` on source frames; the result must be a LesterFrame."""
    from spark_lester.frame.frame import LesterFrame

    out = module.prepare(**frames)
    if not isinstance(out, LesterFrame):
        raise PlanError(f"prepare() returned {type(out).__name__}, not a LesterFrame.",
                        op="prepare")
    return out


def _format_of(path: str) -> str:
    p = path.rstrip("/")
    if p.endswith(".csv"):
        return "csv"
    if p.endswith(".parquet"):
        return "parquet"
    if "://" not in p and (Path(p) / "_delta_log").is_dir():
        return "delta"
    return "parquet" if "://" not in p and Path(p).is_dir() else "csv"
