"""The typed records a deletion request passes between modules and leaves behind.

:class:`MergeMetrics` is what one MERGE did to a table, :class:`TableVersions` a ledger
row's account of one table, :class:`LedgerEntry` one row of the ledger, and
:class:`DeletionResult` what ``unlearn`` returns (and ``spark-lester delete --json``
prints). Each has ``to_json()``, the form the ledger stores and the command prints; the
ledger's JSON is the one it always had (``tests/deletion/test_ledger_golden.py``).

>>> m = MergeMetrics.from_delta({"numTargetRowsDeleted": "3", "scanTimeMs": "41"},
...                             version=2, operation="MERGE", seconds=0.5)
>>> m.rows_deleted, m.to_json()["numTargetRowsDeleted"]
(3, 3)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Our names of the Delta ``operationMetrics`` a MERGE's commit records, and Delta's.
DELTA_METRICS = {
    "rows_deleted": "numTargetRowsDeleted", "rows_updated": "numTargetRowsUpdated",
    "rows_inserted": "numTargetRowsInserted", "rows_copied": "numTargetRowsCopied",
    "files_added": "numTargetFilesAdded", "files_removed": "numTargetFilesRemoved",
    "deletion_vectors_added": "numTargetDeletionVectorsAdded",
    "execution_ms": "executionTimeMs", "materialize_source_ms": "materializeSourceTimeMs",
    "scan_ms": "scanTimeMs", "rewrite_ms": "rewriteTimeMs",
}


@dataclass(frozen=True)
class MergeMetrics:
    """What one MERGE (or a source's DELETE) did to a table: its commit's version and Delta's
    operation metrics (``None``: Delta did not report it), the seconds it took; ``skipped``
    when the table had nothing to change. ``encoder_rewrite``: the encoder's rewrite of X
    after the MERGE (``deletion.encoder.rewrite_features``)."""

    seconds: float | None = None
    version: int | None = None
    operation: str | None = None
    skipped: bool | None = None
    rows_deleted: int | None = None
    rows_updated: int | None = None
    rows_inserted: int | None = None
    rows_copied: int | None = None
    files_added: int | None = None
    files_removed: int | None = None
    deletion_vectors_added: int | None = None
    execution_ms: int | None = None
    materialize_source_ms: int | None = None
    scan_ms: int | None = None
    rewrite_ms: int | None = None
    encoder_rewrite: Mapping[str, Any] | None = None

    @classmethod
    def from_delta(cls, metrics: Mapping[str, Any], **known: Any) -> MergeMetrics:
        """From a commit's ``operationMetrics`` (Delta's names, values as strings)."""
        counts = {ours: int(metrics[theirs]) for ours, theirs in DELTA_METRICS.items()
                  if metrics.get(theirs) is not None}
        return cls(**counts, **known)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> MergeMetrics:
        rest = {k: value.get(k) for k in ("seconds", "version", "operation", "skipped",
                                          "encoder_rewrite")}
        return cls.from_delta(value, **rest)

    def to_json(self) -> dict[str, Any]:
        """Delta's names for its metrics, as the ledger has always stored them; unset
        fields left out."""
        out = {DELTA_METRICS.get(f.name, f.name): getattr(self, f.name)
               for f in dataclasses.fields(self) if getattr(self, f.name) is not None}
        if self.encoder_rewrite is not None:
            out["encoder_rewrite"] = dict(self.encoder_rewrite)
        return out


def skipped() -> MergeMetrics:
    """The metrics of a table with nothing to change."""
    return MergeMetrics(seconds=0.0, skipped=True)


@dataclass(frozen=True)
class TableVersions:
    """A ledger row's account of one table: its version before the request (``started``),
    and once done its version after, the MERGE's metrics and the erasure's report."""

    before: int | None = None
    after: int | None = None
    merge: MergeMetrics | None = None
    erasure: Mapping[str, Any] | None = None

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> TableVersions:
        merge = value.get("merge")
        return cls(before=value.get("before"), after=value.get("after"),
                   merge=MergeMetrics.from_json(merge) if merge is not None else None,
                   erasure=value.get("erasure"))

    def to_json(self) -> dict[str, Any]:
        """``{}`` (a failed request's table), ``{"before"}`` (started), or all four keys
        once the table is done (``merge``/``erasure`` null where there was none)."""
        out: dict[str, Any] = {} if self.before is None else {"before": self.before}
        if self.after is not None:
            out |= {"after": self.after,
                    "merge": self.merge.to_json() if self.merge is not None else None,
                    "erasure": dict(self.erasure) if self.erasure is not None else None}
        return out


def _tables_json(tables: Mapping[str, TableVersions] | None) -> dict[str, Any] | None:
    return None if tables is None else {p: t.to_json() for p, t in tables.items()}


def _record_json(record: LedgerEntry | DeletionResult) -> dict[str, Any]:
    """Every field of a ledger row or a result, ``tables`` in its JSON form."""
    out = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    out["tables"] = _tables_json(record.tables)
    return out


def _tables(value: Mapping[str, Any] | None) -> dict[str, TableVersions] | None:
    return None if value is None else {p: TableVersions.from_json(t) for p, t in value.items()}


@dataclass(frozen=True)
class LedgerEntry:
    """One row of the ledger: a state change of one request. Ids, counts, paths and a
    fingerprint of the request, never key values or predicates. ``at`` is set when the
    row is written."""

    request_id: str
    status: str
    fingerprint: str | None = None
    description: str | None = None
    reason: str | None = None
    runs: list[str] | None = None
    tables: dict[str, TableVersions] | None = None
    #: Per cleaned source, its fingerprint before and after (``registry.fingerprint``).
    sources: dict[str, Any] | None = None
    changes: list[dict[str, Any]] | None = None
    timings: dict[str, float] | None = None
    verification: dict[str, Any] | None = None
    quality: dict[str, Any] | None = None
    #: Per run, the stored model update.
    model: dict[str, Any] | None = None
    seconds: float | None = None
    at: Any = None

    #: The fields stored as JSON strings.
    JSON = ("runs", "tables", "sources", "changes", "timings", "verification", "quality",
            "model")

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> LedgerEntry:
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in value.items() if k in names}
        known["tables"] = _tables(value.get("tables"))
        return cls(**known)

    def to_json(self) -> dict[str, Any]:
        return _record_json(self)


@dataclass(frozen=True)
class DeletionResult:
    """What ``unlearn`` did with a request. ``status``: ``completed`` (tables, model and
    encoder follow the request; erased and verified), ``updated`` (not erased:
    ``--no-erase``), ``noop`` (nothing to change; ``reason`` says why) or
    ``already_applied`` (``ledger`` is the earlier row's status).

    ``result["status"]`` reads the field's JSON form, as the dict this record replaced
    did; ``to_json()`` is what ``spark-lester delete --json`` prints."""

    request_id: str
    status: str
    fingerprint: str | None = None
    description: str | None = None
    runs: list[str] = field(default_factory=list)
    reason: str | None = None
    changes: list[dict[str, Any]] | None = None
    tables: dict[str, TableVersions] = field(default_factory=dict)
    sources: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    verification: dict[str, Any] | None = None
    quality: dict[str, Any] | None = None
    seconds: float = 0.0
    #: Seconds from the request's start until every artifact table and model followed it.
    seconds_to_consistent: float | None = None
    #: Seconds of the purge, vacuum and verification.
    erasure_seconds: float | None = None
    #: Rows of the prepared tables deleted, updated or inserted.
    rows_affected: int | None = None
    resumed: bool = False
    ledger: str | None = None

    @property
    def verified(self) -> bool | None:
        """Whether the erasure scan found no removed value (``None``: not erased)."""
        return (self.verification or {}).get("verified")

    def to_json(self) -> dict[str, Any]:
        return _record_json(self)

    def __getitem__(self, key: str) -> Any:
        if key not in {f.name for f in dataclasses.fields(self)}:
            raise KeyError(key)
        return self.to_json()[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            value = self[key]
        except KeyError:
            return default
        return default if value is None else value
