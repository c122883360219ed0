"""The Transient/Terminal mix-ins: an error's retry answer is its type."""

from __future__ import annotations

import inspect

import pytest

from spark_lester import errors
from spark_lester.errors import (
    AwsCredentialsError,
    AwsError,
    BucketNotFoundError,
    ClusterTerminatedError,
    IamRoleNotFoundError,
    LesterError,
    LLMError,
    PackagingError,
    RemoteServiceError,
    StepFailedError,
    StorageError,
    Terminal,
    Transient,
    WaitTimeoutError,
    variant,
)

ALL = [c for _, c in inspect.getmembers(errors, inspect.isclass)
       if issubclass(c, LesterError)]
#: The families whose members can be either; each has one variant of each kind.
FAMILIES = {
    StorageError: (("read failed",), {"path": "s3://b/t"}),
    LLMError: (("HTTP 503",), {"status": 503}),
    RemoteServiceError: (("GetJobRuns failed",), {"service": "glue"}),
    AwsError: (("denied",), {"service": "s3", "operation": "PutObject"}),
    PackagingError: (("pip exited 1",), {"step": "venv"}),
    ClusterTerminatedError: ((), {"cluster_id": "j-1", "state": "TERMINATED_WITH_ERRORS",
                                  "reason_code": "INSTANCE_FAILURE"}),
}


def _bare(cls: type[LesterError]) -> LesterError:
    """An instance without running ``__init__`` (constructors differ; the type is what counts).
    A class with two built-in bases needs the ``__new__`` of the one that lays it out."""
    new = OSError.__new__ if issubclass(cls, OSError) else Exception.__new__
    return new(cls)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__qualname__)
def test_retryable_is_read_from_the_type(cls):
    err = _bare(cls)
    assert err.retryable is isinstance(err, Transient)
    assert not (isinstance(err, Transient) and isinstance(err, Terminal))


def test_retryable_cannot_be_set():
    err = variant(StorageError, transient=True)("read failed", path="s3://b/t")
    with pytest.raises(AttributeError):
        err.retryable = False  # type: ignore[misc]
    assert err.retryable is True


@pytest.mark.parametrize("family", list(FAMILIES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("transient", [True, False])
def test_each_family_has_one_variant_of_each_kind(family, transient):
    cls = variant(family, transient=transient)
    assert issubclass(cls, family) and cls is not family
    assert issubclass(cls, Transient if transient else Terminal)
    # reports (ledger reasons, JSON summaries) keep the family's name; tracebacks name the kind
    assert cls.__name__ == family.__name__
    assert cls.__qualname__ == ("Transient" if transient else "Terminal") + family.__name__
    assert getattr(errors, cls.__qualname__) is cls
    args, kwargs = FAMILIES[family]
    with pytest.raises(family) as info:
        raise cls(*args, **kwargs)
    assert info.value.retryable is transient


def test_except_transient_catches_the_transient_variants_only():
    caught = []
    for transient in (True, False):
        try:
            raise variant(StorageError, transient=transient)("read failed", path="s3://b/t")
        except Transient as err:
            caught.append(err)
        except Terminal:
            pass
    assert [type(e).__qualname__ for e in caught] == ["TransientStorageError"]


@pytest.mark.parametrize("cls,kind", [
    (WaitTimeoutError, Transient), (StepFailedError, Terminal), (BucketNotFoundError, Terminal),
    (IamRoleNotFoundError, Terminal), (AwsCredentialsError, Terminal),
])
def test_classes_with_one_answer_carry_their_mix_in(cls, kind):
    assert issubclass(cls, kind)


def test_a_class_without_variants_is_refused():
    with pytest.raises(TypeError, match="StepFailedError has no Transient variant"):
        variant(StepFailedError, transient=True)


def test_a_class_cannot_be_both():
    with pytest.raises(TypeError, match="cannot be both Transient and Terminal"):
        type("Both", (LesterError, Transient, Terminal), {})


def test_variants_are_registered_only_in_the_documented_shape():
    with pytest.raises(TypeError, match="must derive from StorageError and Transient"):
        errors._variant_of(StorageError)(type("Odd", (StorageError,), {}))
