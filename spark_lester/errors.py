"""The error hierarchy: one root, ``LesterError``, and typed subclasses that say how to fix.

Every error a user can cause derives from :class:`LesterError`; where a built-in fits, the
subclass also inherits it (``PlanError`` is a ``ValueError``), so callers can catch either.
Errors carry the fields that identify what went wrong (source, column, node, request id) and
never the data values themselves: messages must not leak personal data into logs.

>>> try:
...     raise ColumnNotFoundError("mail_subjct", available=("mail_id", "mail_subject"), op="project")
... except ValueError as err:
...     print(err)
project: column 'mail_subjct' does not exist; available columns: mail_id, mail_subject. Did you mean 'mail_subject'?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LesterError(Exception):
    """Root of every spark_lester error. ``hint`` says what to do about it."""

    hint: str = ""
    #: Whether repeating the same call may succeed (network, throttling); False by default.
    retryable: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        if hint is not None:
            self.hint = hint
        full = f"{message} {self.hint}".strip() if self.hint else message
        super().__init__(full)


class ConfigError(LesterError, ValueError):
    """A ``SPARK_LESTER_*`` setting or an argument has an invalid value."""


class SessionError(LesterError, RuntimeError):
    """Spark could not be started as configured (missing jars, no Java)."""


class SourceError(LesterError, ValueError):
    """A source cannot be read: missing path, unknown format, bad key column."""

    def __init__(self, message: str, *, source: str | None = None, hint: str | None = None):
        self.source = source
        super().__init__(message, hint=hint)


class SourceNotFoundError(SourceError, FileNotFoundError):
    """The path of a source does not exist."""


class SourceNameError(SourceError):
    """A source name is invalid, or used for two different inputs of one pipeline."""


class PlanError(LesterError, ValueError):
    """An operation of the DataFrame subset was called with arguments it cannot plan."""

    def __init__(self, message: str, *, op: str | None = None, hint: str | None = None):
        self.op = op
        super().__init__(f"{op}: {message}" if op else message, hint=hint)


class ColumnNotFoundError(PlanError, KeyError):
    """An operation names a column its input does not have."""

    def __init__(self, column: str, *, available: Iterable[str], op: str | None = None):
        self.column = column
        self.available = tuple(available)
        close = difflib.get_close_matches(column, self.available, n=1)
        hint = f"Did you mean '{close[0]}'?" if close else None
        super().__init__(
            f"column '{column}' does not exist; available columns: {', '.join(self.available)}.",
            op=op,
            hint=hint,
        )

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class UnsupportedOperationError(PlanError, NotImplementedError):
    """A walker met a plan node (or an op met an argument kind) it has no rule for."""


class LineageMismatchError(PlanError):
    """Declared column lineage disagrees with Spark's analyzed plan."""


class ExampleMismatchError(LesterError, AssertionError):
    """The declarative pipeline and the messy original disagree on the same input."""


class AnalyzeError(LesterError, ValueError):
    """The static analyzer cannot do what was asked (bad path, unreadable catalog, bad input)."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message, hint=hint)


class SummaryRejectedError(AnalyzeError):
    """An LLM summary names a storage location the static analysis did not find."""

    hint = "The summary was discarded; use the offline summary or retry with another model."

    def __init__(self, unknown: Iterable[str], *, path: str | None = None):
        self.unknown = tuple(unknown)
        super().__init__(
            f"summary names locations not found statically: {', '.join(self.unknown)}.", path=path
        )


class RemoteServiceError(AnalyzeError, RuntimeError):
    """An AWS API or LLM endpoint call failed; ``retryable`` says whether to try again."""

    def __init__(self, message: str, *, service: str, retryable: bool = False):
        self.service = service
        self.retryable = retryable
        super().__init__(f"{service}: {message}")

class RewriteError(LesterError, RuntimeError):
    """The LLM-assisted rewrite could not run: bad inputs, an unusable answer, a sandbox fault.

    ``stage`` names the validation stage (parse, allowlist, original, rewrite, compare,
    provenance) or the rewrite step that failed.
    """

    def __init__(self, message: str, *, stage: str | None = None, hint: str | None = None):
        self.stage = stage
        super().__init__(f"{stage}: {message}" if stage else message, hint=hint)


class SandboxError(RewriteError):
    """The sandbox itself could not start a program (not: the program failed inside it)."""


class LLMError(LesterError, RuntimeError):
    """A call to the LLM endpoint failed. ``retryable`` says whether trying again can help
    (throttling, server errors, timeouts) or not (bad key, unknown model, bad request)."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None,
                 hint: str | None = None):
        self.retryable = retryable
        self.status = status
        super().__init__(message, hint=hint)


class ExtractionError(RewriteError):
    """An LLM answer holds no usable program (no fence, cut off)."""

    hint = "Answer with the whole module in one ```python fenced block."

    def __init__(self, message: str) -> None:
        super().__init__(message, stage="extract")


# ---- artifacts and deletion ------------------------------------------------------------
class StorageError(LesterError, OSError):
    """Reading or writing the warehouse failed (S3 error, permissions, missing bucket)."""

    retryable = True

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None):
        self.path = path
        super().__init__(message, hint=hint or "Check the warehouse location and credentials; "
                         "retrying may help for transient S3 errors. Tables are unchanged "
                         "unless the ledger records a completed step.")


class RunNotFoundError(LesterError, LookupError):
    """No run with that id (or no run at all) is recorded in the warehouse."""

    def __init__(self, message: str, *, run_id: str | None = None, hint: str | None = None):
        self.run_id = run_id
        super().__init__(message, hint=hint or "List runs with `spark-lester runs --warehouse "
                         "URI` and check the warehouse location.")


class RequestError(LesterError, ValueError):
    """A deletion request is malformed or names something that does not exist."""

    def __init__(self, message: str, *, request_id: str | None = None, field: str | None = None,
                 hint: str | None = None):
        self.request_id = request_id
        self.field = field
        prefix = f"deletion request {request_id}: " if request_id else "deletion request: "
        super().__init__(prefix + message, hint=hint)


class TableChangedError(LesterError, RuntimeError):
    """An artifact table was changed outside spark_lester since its run or last request."""

    def __init__(self, message: str, *, table: str, expected: int, found: int,
                 request_id: str | None = None):
        self.table, self.expected, self.found, self.request_id = table, expected, found, request_id
        super().__init__(message, hint="Re-run the pipeline to rebuild its artifacts (the "
                         "incremental update needs the tables as spark_lester left them), or "
                         "restore the table to the recorded version.")


class SourceChangedError(LesterError, RuntimeError):
    """A source changed since the run read it, so its artifacts cannot be updated exactly."""

    def __init__(self, message: str, *, source: str, run_id: str):
        self.source, self.run_id = source, run_id
        super().__init__(message, hint="Re-run the pipeline on the current data, or restore "
                         "the source the run read.")


class ErasureNotVerifiedError(LesterError, RuntimeError):
    """The verification scan still found deleted values after the purge."""

    def __init__(self, message: str, *, request_id: str, objects: int):
        self.request_id, self.objects = request_id, objects
        super().__init__(message, hint="Do not report the request as done; inspect the listed "
                         "objects (the ledger has their paths) and re-run the request.")

class EncoderFormatError(LesterError, ValueError):
    """Stored encoder bytes cannot be loaded: not an encoder dump, or written by another
    scikit-learn version (whose transforms may differ, so re-encoding would not be exact)."""
