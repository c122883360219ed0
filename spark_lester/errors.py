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
from collections.abc import Callable, Iterable
from typing import TypeVar


class Transient(Exception):
    """Mix-in: repeating the same call may succeed (throttling, a server error, a network
    fault). ``isinstance(err, Transient)`` (or ``except Transient``) is the one test of
    whether to retry; :mod:`spark_lester.retry` classifies a transport's failures."""


class Terminal(Exception):
    """Mix-in: repeating the same call fails again until someone fixes the cause (denied
    access, a missing bucket or file, a bad request)."""


class LesterError(Exception):
    """Root of every spark_lester error. ``hint`` says what to do about it.

    ``retryable`` is read from the type: True exactly for :class:`Transient` errors.

    >>> TransientStorageError("read failed", path="s3://b/t").retryable
    True
    >>> isinstance(TerminalStorageError("denied", path="s3://b/t"), StorageError)
    True
    """

    hint: str = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if issubclass(cls, Transient) and issubclass(cls, Terminal):
            raise TypeError(f"{cls.__qualname__} cannot be both Transient and Terminal.")

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        if hint is not None:
            self.hint = hint
        full = f"{message} {self.hint}".strip() if self.hint else message
        super().__init__(full)

    @property
    def retryable(self) -> bool:
        """Whether repeating the same call may succeed: the error is :class:`Transient`."""
        return isinstance(self, Transient)


E = TypeVar("E", bound=LesterError)
_VARIANTS: dict[tuple[type[LesterError], bool], type[LesterError]] = {}


def _variant_of(family: type[E]) -> Callable[[type[E]], type[E]]:
    """Register a Transient or Terminal subclass of ``family`` for :func:`variant`.

    The subclass reports the family's name (``type(err).__name__``), so ledger reasons and
    JSON summaries read ``StorageError`` as before; tracebacks (``__qualname__``) name the
    variant.
    """

    def register(cls: type[E]) -> type[E]:
        transient = issubclass(cls, Transient)
        if not (transient or issubclass(cls, Terminal)) or cls.__mro__[1] is not family:
            raise TypeError(f"{cls.__qualname__} must derive from {family.__name__} and "
                            "Transient or Terminal, in that order.")
        _VARIANTS[family, transient] = cls
        cls.__name__ = family.__name__
        return cls

    return register


def variant(family: type[E], *, transient: bool) -> type[E]:
    """The subclass of ``family`` that is :class:`Transient` (or :class:`Terminal`): how a
    caller turns a classifier's answer (:mod:`spark_lester.retry`) into an error's type.

    >>> err = variant(StorageError, transient=False)("access denied", path="s3://b/t")
    >>> type(err).__qualname__, type(err).__name__, err.retryable
    ('TerminalStorageError', 'StorageError', False)
    """
    try:
        return _VARIANTS[family, transient]  # type: ignore[return-value]
    except KeyError:
        raise TypeError(f"{family.__name__} has no {'Transient' if transient else 'Terminal'} "
                        "variant; a retry answer is fixed by its class.") from None


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


class NoRuleError(UnsupportedOperationError):
    """A plan walker met a node type it has no ``visit_<Node>`` rule for (ibis's
    ``OperationNotDefinedError``): raised, never skipped, so no node falls through."""

    def __init__(self, node: str, *, walker: str) -> None:
        self.node = node
        self.walker = walker
        super().__init__(
            f"no {walker} rule for plan node {node}.",
            op=walker,
            hint=f"Build plans from spark_lester.plan.nodes.NODE_TYPES, or give every walker "
                 f"a visit_{node} rule.",
        )


class NotInSubsetError(UnsupportedOperationError, AttributeError):
    """A tracked frame was asked for a PySpark DataFrame method outside the tracked subset
    (also an ``AttributeError``, so ``hasattr`` answers False)."""


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
    """An AWS API or LLM endpoint call failed; its variant (:func:`variant`) says whether to
    try again."""

    def __init__(self, message: str, *, service: str, hint: str | None = None):
        self.service = service
        super().__init__(f"{service}: {message}", hint=hint)


@_variant_of(RemoteServiceError)
class TransientRemoteServiceError(RemoteServiceError, Transient):
    """A remote call failed for a reason that can pass (throttling, the network)."""

    hint = "Try again later."


@_variant_of(RemoteServiceError)
class TerminalRemoteServiceError(RemoteServiceError, Terminal):
    """A remote call was refused for a reason a retry cannot remove (no such job, denied)."""


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
    """A call to the LLM endpoint failed. Raised as :class:`TransientLLMError` when trying
    again can help (throttling, server errors, timeouts), :class:`TerminalLLMError` when not
    (bad key, unknown model, bad request)."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None):
        self.status = status
        super().__init__(message, hint=hint)


@_variant_of(LLMError)
class TransientLLMError(LLMError, Transient):
    """The endpoint was busy, slow or unreachable; a later call may succeed."""


@_variant_of(LLMError)
class TerminalLLMError(LLMError, Terminal):
    """The endpoint refused the call (key, model, request); fix the cause first."""


class ExtractionError(RewriteError):
    """An LLM answer holds no usable program (no fence, cut off)."""

    hint = "Answer with the whole module in one ```python fenced block."

    def __init__(self, message: str) -> None:
        super().__init__(message, stage="extract")


# ---- artifacts and deletion ------------------------------------------------------------
class StorageError(LesterError, OSError):
    """Reading or writing the warehouse failed (S3 error, permissions, missing bucket).

    Raised as :class:`TerminalStorageError` when the cause cannot go away by itself (access
    denied, no such bucket or file, a malformed request), :class:`TransientStorageError`
    otherwise (server errors, throttling, network); ``except StorageError`` catches both.
    """

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None):
        self.path = path
        super().__init__(message, hint=hint)


@_variant_of(StorageError)
class TransientStorageError(StorageError, Transient):
    """A storage failure a retry may remove (throttling, a reset connection, a 5xx)."""

    hint = ("Retrying may help (a transient S3 error). Every table stays at a committed "
            "version; a deletion request run again resumes, and the ledger names the step "
            "that failed.")


@_variant_of(StorageError)
class TerminalStorageError(StorageError, Terminal):
    """A storage failure that stays until someone fixes it (denied, missing, malformed)."""

    hint = "Check the warehouse location, the bucket and the credentials."


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

class DeletionFailedError(LesterError, RuntimeError):
    """A step of a deletion request failed for a reason that is not one of the typed ones
    above (an engine error, a Spark job failure); the ledger holds a ``failed`` row."""

    def __init__(self, message: str, *, request_id: str, step: str):
        self.request_id, self.step = request_id, step
        super().__init__(message, hint="Re-submit the request: it resumes from the tables' "
                         "current state. If it fails again, report the ledger row.")


class EncoderFormatError(LesterError, ValueError):
    """Stored encoder bytes cannot be loaded: not an encoder dump, or written by another
    scikit-learn version (whose transforms may differ, so re-encoding would not be exact)."""

class PackagingError(LesterError, RuntimeError):
    """``spark-lester package`` could not build the wheel or a dependency archive.

    ``step`` names what failed (wheel, requirements, pyfiles, venv). Retrying does not help
    unless the step fetched from the network (then it is a :class:`TransientPackagingError`).
    """

    def __init__(self, message: str, *, step: str, hint: str | None = None):
        self.step = step
        super().__init__(f"package {step}: {message}", hint=hint)


@_variant_of(PackagingError)
class TransientPackagingError(PackagingError, Transient):
    """A packaging step that downloads (pip from an index) failed; the index may recover."""


@_variant_of(PackagingError)
class TerminalPackagingError(PackagingError, Terminal):
    """A packaging step failed on local inputs; running it again gives the same failure."""


class AwsError(LesterError, RuntimeError):
    """An AWS call made by ``spark_lester.aws`` failed.

    ``service`` and ``operation`` name the call; ``code`` is AWS's error code when there is
    one. Raised as :class:`TransientAwsError` when repeating the same call may succeed
    (throttling, server errors, timeouts), :class:`TerminalAwsError` when not (missing
    resources, denied access, bad parameters), or as one of the typed subclasses below.
    """

    def __init__(self, message: str, *, service: str, operation: str | None = None,
                 code: str | None = None, hint: str | None = None):
        self.service = service
        self.operation = operation
        self.code = code
        where = f"{service}.{operation}" if operation else service
        super().__init__(f"{where}: {message}", hint=hint)


@_variant_of(AwsError)
class TransientAwsError(AwsError, Transient):
    """An AWS call failed for a reason that can pass (throttling, a 5xx, the network)."""

    hint = "Throttled or a server-side error: try again later."


@_variant_of(AwsError)
class TerminalAwsError(AwsError, Terminal):
    """An AWS call was refused for a reason a retry cannot remove."""

    hint = "Retrying does not help; fix the request."


class AwsCredentialsError(AwsError, PermissionError, Terminal):
    """No AWS credentials were found (or they were rejected). Retrying does not help."""

    hint = ("Configure credentials: `aws configure`, AWS_PROFILE, or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY (on EC2/EMR, an instance profile).")


class BucketNotFoundError(AwsError, FileNotFoundError, Terminal):
    """An S3 bucket named in a URI does not exist (or is not visible to these credentials)."""

    def __init__(self, bucket: str, *, operation: str | None = None):
        self.bucket = bucket
        super().__init__(
            f"bucket '{bucket}' does not exist or is not accessible.", service="s3",
            operation=operation, code="NoSuchBucket",
            hint="Create it (terraform apply in terraform/ creates the code, artifacts and "
                 "logs buckets) or fix the s3:// URI; retrying does not help.",
        )


class IamRoleNotFoundError(AwsError, LookupError, Terminal):
    """The EMR service role or EC2 instance profile given to a cluster does not exist."""

    def __init__(self, name: str, *, kind: str):
        self.name = name
        self.kind = kind
        super().__init__(
            f"{kind} '{name}' does not exist.", service="iam", code="NoSuchEntity",
            hint="Create it with terraform/ (outputs emr_service_role_name and "
                 "emr_instance_profile_name) or `aws emr create-default-roles`, then pass "
                 "--service-role/--instance-profile; retrying does not help.",
        )


class StepFailedError(AwsError, Terminal):
    """An EMR step ended FAILED (or CANCELLED/INTERRUPTED). ``log_tail`` holds the end of its
    stderr when EMR had pushed the logs to the log bucket. Retrying the same step only helps
    when the failure was transient (spot loss, throttling): read the log tail first."""

    def __init__(self, *, cluster_id: str, step_id: str, step_name: str, state: str,
                 reason: str | None = None, log_uri: str | None = None,
                 log_tail: str | None = None):
        self.cluster_id = cluster_id
        self.step_id = step_id
        self.step_name = step_name
        self.state = state
        self.reason = reason
        self.log_uri = log_uri
        self.log_tail = log_tail
        message = f"step {step_id} ({step_name}) on cluster {cluster_id} ended {state}"
        message += f": {reason}." if reason else "."
        where = log_uri or "the cluster's log bucket"
        super().__init__(
            message, service="emr", operation="DescribeStep", code=state,
            hint=f"Read the step logs ({where}; `spark-lester emr logs`), fix the cause and "
                 "submit again.",
        )
        if log_tail:  # last, so that the hint is not buried under the log
            self.args = (f"{self.args[0]}\n--- end of step log ---\n{log_tail.rstrip()}\n---",)


class ClusterTerminatedError(AwsError):
    """The EMR cluster terminated before the submitted steps completed.

    ``state`` is TERMINATED_WITH_ERRORS (bootstrap failure, lost nodes, bad configuration)
    or TERMINATED (someone ended it). Raised as :class:`TransientClusterTerminatedError` only
    for the capacity and internal-error reasons where a fresh cluster may succeed
    (:func:`spark_lester.retry.emr_cluster_end`).
    """

    def __init__(self, *, cluster_id: str, state: str, reason_code: str | None = None,
                 reason: str | None = None, pending_steps: Iterable[str] = ()):
        self.cluster_id = cluster_id
        self.state = state
        self.reason_code = reason_code
        self.reason = reason
        self.pending_steps = tuple(pending_steps)
        detail = ": ".join(x for x in (reason_code, reason) if x)
        message = f"cluster {cluster_id} is {state}" + (f" ({detail})" if detail else "")
        if self.pending_steps:
            message += f"; steps not completed: {', '.join(self.pending_steps)}"
        super().__init__(
            message + ".", service="emr", operation="DescribeCluster", code=reason_code,
            hint="A BOOTSTRAP_FAILURE means the bootstrap action failed: read "
                 "<log-uri>/<cluster-id>/node/*/bootstrap-actions/ in the log bucket. "
                 "Fix the cause and submit again.",
        )


@_variant_of(ClusterTerminatedError)
class TransientClusterTerminatedError(ClusterTerminatedError, Transient):
    """The cluster ended on lost capacity or an internal error; a fresh cluster may succeed."""


@_variant_of(ClusterTerminatedError)
class TerminalClusterTerminatedError(ClusterTerminatedError, Terminal):
    """The cluster ended on its configuration, a bootstrap failure or a person's request."""


class WaitTimeoutError(AwsError, TimeoutError, Transient):
    """Waiting for EMR steps took longer than allowed; the steps may still be running.
    Waiting again (``spark-lester emr wait``) can help."""

    def __init__(self, *, cluster_id: str, step_ids: Iterable[str], seconds: float):
        self.cluster_id = cluster_id
        self.step_ids = tuple(step_ids)
        self.seconds = seconds
        super().__init__(
            f"steps {', '.join(self.step_ids)} on cluster {cluster_id} not finished after "
            f"{seconds:.0f} s.", service="emr", operation="ListSteps",
            hint=f"Wait again: spark-lester emr wait {cluster_id} "
                 + " ".join(f"--step-id {s}" for s in self.step_ids),
        )


class QualityCheckError(LesterError, RuntimeError):
    """great-expectations could not run the quality suite on an artifact table (not installed,
    or an expectation raised instead of returning a result). A failed expectation is not this
    error: it is reported in the result of :func:`spark_lester.deletion.quality.check_tables`.
    ``table`` and ``expectation`` say where it failed, when known."""

    def __init__(self, message: str, *, table: str | None = None,
                 expectation: str | None = None, hint: str | None = None):
        self.table = table
        self.expectation = expectation
        prefix = f"quality check of table '{table}': " if table else "quality check: "
        super().__init__(prefix + message, hint=hint)


class GlueJobArgumentError(ConfigError):
    """A spark_lester Glue job (``run_pipeline``, ``apply_deletion``) got a missing or malformed
    argument. ``job`` and ``argument`` (without the leading ``--``) say which. Running the job
    again with the same arguments cannot help: fix its ``Arguments`` (StartJobRun) or its
    default arguments (Terraform)."""

    def __init__(self, message: str, *, job: str, argument: str | None = None,
                 hint: str | None = None):
        self.job = job
        self.argument = argument
        super().__init__(f"Glue job {job}: {message}", hint=hint)

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


class QueryError(LesterError, ValueError):
    """A provenance query (``used_rows``, ``fairness_report``) asks about something its run
    did not read or write: a source it did not read, no label, no model. ``run_id`` and
    ``source`` say which; the message lists what the run has."""

    def __init__(self, message: str, *, run_id: str | None = None, source: str | None = None,
                 hint: str | None = None):
        self.run_id = run_id
        self.source = source
        super().__init__(f"run '{run_id}': {message}" if run_id else message, hint=hint)
