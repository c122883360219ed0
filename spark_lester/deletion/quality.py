"""The great-expectations suite run on the artifact tables after an erasure.

Erasure proves the deleted values are gone from every object under a table; this suite
checks the tables' current contents from the other side: no text column still holds
something that looks like a leaked value (by default a credit-card number), every row has a
unique surrogate row id (the MERGE key), and every row of X has a feature vector.

The suite per table is a function of its schema alone (:func:`expectations`):

* every string column that is not a system column (provenance, row id, split), for every
  pattern: ``expect_column_values_to_not_match_regex`` (Java/Spark regex syntax, NULLs pass);
* ``__lester_row_id``, when the table has it: not null and unique;
* the ``features`` column, when the table has it: not null.

The result is JSON-ready and never holds a value of the data: great-expectations is asked
for no unexpected values (``partial_unexpected_count: 0``) and only counts are copied out.

>>> from pyspark.sql.types import LongType, StringType, StructField, StructType
>>> schema = StructType([StructField("__lester_row_id", LongType()),
...                      StructField("__lester_split", StringType()),
...                      StructField("title", StringType())])
>>> for e in expectations(schema):
...     print(e.type, e.column)
expect_column_values_to_not_match_regex title
expect_column_values_to_not_be_null __lester_row_id
expect_column_values_to_be_unique __lester_row_id
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import store
from spark_lester.deletion.request import CARD_NUMBER
from spark_lester.errors import ConfigError, QualityCheckError, TerminalStorageError
from spark_lester.features.encode import FEATURES as VECTOR
from spark_lester.plan.columns import ROW_ID, is_system_column

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


NOT_MATCH_REGEX = "expect_column_values_to_not_match_regex"
NOT_NULL = "expect_column_values_to_not_be_null"
UNIQUE = "expect_column_values_to_be_unique"

#: Counts only: no unexpected value is collected to the driver or kept in the result.
_RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}
_HINT = "Install the quality extra (pip install 'spark-lester[quality]')."


@dataclass(frozen=True)
class Expected:
    """One expectation of the suite: its great-expectations type, column and regex."""

    type: str
    column: str
    regex: str | None = None

    def to_gx(self) -> Any:
        """The great-expectations 1.x expectation object."""
        import great_expectations.expectations as gxe

        if self.type == NOT_MATCH_REGEX:
            return gxe.ExpectColumnValuesToNotMatchRegex(column=self.column, regex=self.regex)
        if self.type == NOT_NULL:
            return gxe.ExpectColumnValuesToNotBeNull(column=self.column)
        if self.type == UNIQUE:
            return gxe.ExpectColumnValuesToBeUnique(column=self.column)
        raise QualityCheckError(f"no great-expectations class for {self.type!r}.",
                                expectation=self.type)


def expectations(schema: StructType, patterns: Sequence[str] = (CARD_NUMBER,)) -> list[Expected]:
    """The suite for a table with this schema (see the module docstring)."""
    from pyspark.sql.types import StringType

    checks = [Expected(NOT_MATCH_REGEX, field.name, pattern)
              for field in schema.fields
              if isinstance(field.dataType, StringType) and not is_system_column(field.name)
              for pattern in patterns]
    names = set(schema.fieldNames())
    if ROW_ID in names:
        checks += [Expected(NOT_NULL, ROW_ID), Expected(UNIQUE, ROW_ID)]
    if VECTOR in names:
        checks.append(Expected(NOT_NULL, VECTOR))
    return checks


def check_tables(spark: SparkSession, tables: Mapping[str, str], *,
                 patterns: Sequence[str] = (CARD_NUMBER,)) -> dict:
    """Validate each Delta table of ``tables`` (name -> path) with great-expectations.

    Returns ``{"success": bool, "tables": {name: {"success": bool, "expectations": int,
    "failed": [{"expectation": type, "column": col, "unexpected_count": n}]}}}``; a failed
    expectation is reported there, not raised. Raises :class:`QualityCheckError` only when
    great-expectations cannot run (not installed, an expectation raised), and
    :class:`StorageError` when a table cannot be read.

    Example (``spark`` a session with Delta, ``path`` a Delta table of the prepared data)::

        report = check_tables(spark, {"prepared": path})
        if not report["success"]:
            print(report["tables"]["prepared"]["failed"])
    """
    patterns = _checked_patterns(patterns)
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    report: dict[str, Any] = {}
    with _quiet():
        try:
            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False,
                                                                 metric_calculations=False)
            source = context.data_sources.add_spark(name="spark_lester", persist=False)
        except Exception as exc:  # noqa: BLE001 - any failure here means GE cannot run
            raise QualityCheckError(f"cannot start great-expectations: {_first_line(exc)}",
                                    hint=_HINT) from None
        for name, path in tables.items():
            df = _load(spark, name, path)
            checks = expectations(df.schema, patterns)
            try:
                suite = gx.ExpectationSuite(name=f"spark_lester_{name}")
                for check in checks:
                    suite.add_expectation(check.to_gx())
                asset = source.add_dataframe_asset(name=name)
                batch = (asset.add_batch_definition_whole_dataframe(f"{name}_whole")
                         .get_batch(batch_parameters={"dataframe": df}))
                result = batch.validate(suite, result_format=_RESULT_FORMAT).to_json_dict()
            except QualityCheckError:
                raise
            except Exception as exc:  # noqa: BLE001 - GE's own failures, typed for callers
                raise QualityCheckError(f"great-expectations failed: {_first_line(exc)}",
                                        table=name) from None
            report[name] = summarize(name, result, expected=len(checks))
    return {"success": all(t["success"] for t in report.values()), "tables": report}


def summarize(table: str, result: Mapping[str, Any], *, expected: int) -> dict[str, Any]:
    """Reduce a suite validation result (``to_json_dict()``) to counts, dropping all values.

    Only the expectation type, its column and the unexpected count are copied, so anything
    great-expectations put in ``partial_unexpected_list`` (values of the data) is left out.

    >>> raw = {"success": False, "results": [{"success": False,
    ...     "expectation_config": {"type": NOT_NULL, "kwargs": {"column": "features"}},
    ...     "result": {"unexpected_count": 1, "partial_unexpected_list": ["4111 1111"]},
    ...     "exception_info": {"raised_exception": False}}]}
    >>> report = summarize("features", raw, expected=1)
    >>> report["success"], report["failed"][0]["column"], report["failed"][0]["unexpected_count"]
    (False, 'features', 1)
    >>> "4111" in str(report)
    False
    """
    results = list(result.get("results") or ())
    if len(results) != expected:
        raise QualityCheckError(f"great-expectations returned {len(results)} results for "
                                f"{expected} expectations.", table=table)
    failed = []
    for item in results:
        config = item.get("expectation_config") or {}
        kind = str(config.get("type"))
        raised = _raised(item.get("exception_info"))
        if raised is not None:
            raise QualityCheckError(f"expectation raised: {raised}", table=table,
                                    expectation=kind,
                                    hint="Check the patterns (Java regex syntax) and the "
                                         "table's column types.")
        if not item.get("success"):
            counts = item.get("result") or {}
            failed.append({"expectation": kind,
                           "column": str((config.get("kwargs") or {}).get("column")),
                           "unexpected_count": int(counts.get("unexpected_count") or 0)})
    return {"success": not failed, "expectations": len(results), "failed": failed}


def _raised(info: Any) -> str | None:
    """The first line of an exception GE caught while evaluating, or None.

    ``exception_info`` is either one dict or a dict of them keyed by metric id."""
    if not isinstance(info, Mapping):
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("raised_exception"):
            return (str(entry.get("exception_message") or "unknown error").splitlines()
                    or ["unknown error"])[0][:200]
    return None


def _checked_patterns(patterns: Sequence[str]) -> tuple[str, ...]:
    if isinstance(patterns, str) or not all(isinstance(p, str) and p for p in patterns):
        raise ConfigError("patterns must be a sequence of non-empty regex strings, e.g. "
                          "(CARD_NUMBER,); a single string is not accepted.")
    return tuple(patterns)


def _import_gx() -> Any:
    try:
        import great_expectations as gx
    except ImportError as exc:
        raise QualityCheckError(f"great-expectations is not importable ({exc}).",
                                hint=_HINT) from None
    return gx


def _load(spark: SparkSession, name: str, path: str) -> DataFrame:
    from pyspark.errors import AnalysisException

    try:
        with store.storage_errors(path):
            return spark.read.format("delta").load(path)
    except AnalysisException as exc:
        kind = exc.getErrorClass() or type(exc).__name__
        raise TerminalStorageError(
            f"table '{name}': cannot read a Delta table at {path} ({kind}).", path=path
        ) from None


@contextmanager
def _quiet() -> Iterator[None]:
    """Raise great-expectations' loggers to ERROR while the suite runs."""
    logger = logging.getLogger("great_expectations")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {(lines or [''])[0][:200]}"
