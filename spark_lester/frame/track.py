"""``track(fn)``: run a plain PySpark function on tracked frames.

A function ``prepare(customers: DataFrame, mails: DataFrame) -> DataFrame`` that uses only
the tracked subset of PySpark's DataFrame methods (see ``frame.SUBSET``) runs unchanged:
its arguments become tracked frames (a plain DataFrame is read as a keyless source named
after its parameter; a frame from ``read_csv``/``read_delta`` keeps its key), and what it
returns carries row and column provenance. A method outside the subset raises
``UnsupportedOperationError`` naming it, instead of silently losing provenance.

A pipeline file for ``spark-lester run`` needs no decorator: its ``prepare`` is called with
tracked frames already.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from spark_lester.errors import PlanError


def track(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``fn`` so that it takes PySpark DataFrames (or tracked frames) and returns a
    tracked frame (``LesterFrame``: ``.df``, ``.plan``, ``.lineage()``)."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def tracked(*args: Any, **kwargs: Any) -> Any:
        from spark_lester.frame.frame import LesterFrame

        bound = signature.bind(*args, **kwargs)
        for name, value in list(bound.arguments.items()):
            bound.arguments[name] = as_tracked(name, value)
        out = fn(*bound.args, **bound.kwargs)
        if not isinstance(out, LesterFrame):
            raise PlanError(f"{fn.__name__}() returned {type(out).__name__}, not a tracked "
                            "frame: a step left the tracked subset (e.g. through .df or "
                            "spark.sql).", op="track",
                            hint="Use only the subset's methods on the frames passed in.")
        return out

    tracked.__lester_tracked__ = True  # type: ignore[attr-defined]
    return tracked


def as_tracked(name: str, value: Any) -> Any:
    """``value`` as a tracked frame: a LesterFrame as is, a DataFrame as a keyless source
    ``name`` (content-hash row ids), anything else unchanged."""
    from pyspark.sql import DataFrame

    from spark_lester.frame.frame import LesterFrame
    from spark_lester.frame.source import row_ids
    from spark_lester.plan.nodes import Source

    if isinstance(value, LesterFrame) or not isinstance(value, DataFrame):
        return value
    node = Source(name=name, format="dataframe", path=f"<dataframe {name}>", key=None,
                  columns=tuple(value.columns))
    return LesterFrame(row_ids(value.alias(name), name, None), node)
