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


class ModelError(LesterError, ValueError):
    """A model cannot be trained, stored or loaded as asked (bad data, bad bytes, bad kind).

    ``kind`` names the model kind (``logreg``, ``mlp``) where one is known.
    """

    def __init__(self, message: str, *, kind: str | None = None, hint: str | None = None):
        self.kind = kind
        super().__init__(f"{kind}: {message}" if kind else message, hint=hint)


class ModelFormatError(ModelError):
    """Stored model or training-statistics bytes are not a valid artifact of this version."""

    hint = "Store artifacts with to_bytes() and load them with the matching from_bytes()."


class DimensionMismatchError(ModelError):
    """A model (or its stored statistics) and a feature matrix disagree on the width of X.

    Usually the model version belongs to another run than the X it is applied to.
    """

    hint = "Load the model version trained on this run's feature matrix, or retrain."

    def __init__(self, *, expected: int, got: int, what: str, kind: str | None = None):
        self.expected = expected
        self.got = got
        self.what = what
        super().__init__(f"{what} has {got} feature columns, the model expects {expected}.",
                         kind=kind)


class UnlearningError(LesterError, ValueError):
    """A model update cannot be computed from the given request, model and statistics."""

    def __init__(self, message: str, *, method: str | None = None, hint: str | None = None):
        self.method = method
        super().__init__(f"{method}: {message}" if method else message, hint=hint)


class EmptyRemainderError(UnlearningError):
    """The request removes every training row: no model can be fitted on nothing."""

    hint = "Drop the model (and its versions) instead of unlearning; there is no data left."

    def __init__(self, *, n_train: int, n_removed: int, method: str | None = None):
        self.n_train = n_train
        self.n_removed = n_removed
        super().__init__(f"the request removes {n_removed} of {n_train} training rows, "
                         "leaving none.", method=method)


class NonFiniteError(UnlearningError, ArithmeticError):
    """NaN or infinity in input features, labels, parameters or statistics.

    Raised before anything is updated, so no half-updated parameter vector exists. ``where``
    names the offending input (``X``, ``request.removed``, ``params``, ``stats``).
    """

    hint = "Fix or drop the non-finite rows (NaN features, null labels) and try again."

    def __init__(self, where: str, *, count: int | None = None, method: str | None = None):
        self.where = where
        self.count = count
        extra = f" ({count} values)" if count is not None else ""
        super().__init__(f"non-finite values in {where}{extra}.", method=method)


class StatsMismatchError(UnlearningError):
    """Stored training statistics do not belong to the model or the data they are used with."""

    hint = "Use the statistics artifact written with this model version (training_stats())."
