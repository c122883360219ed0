"""One notion of "retryable": the classifiers of spark_lester.retry on generated inputs, and
every place that used to keep its own list, giving the answers its old rule gave."""

from __future__ import annotations

import sys
from http import HTTPStatus

import pytest
from botocore import exceptions as bx
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker
from hypothesis import given, settings
from hypothesis import strategies as st

from spark_lester import retry
from spark_lester.errors import (
    AwsError,
    ClusterTerminatedError,
    LLMError,
    PackagingError,
    RemoteServiceError,
    StorageError,
    Terminal,
    Transient,
)

#: Reproducible draws, no deadline (the suite runs beside Spark on a loaded machine).
CHECK = settings(max_examples=200, deadline=None, derandomize=True)

# ---- HTTP ------------------------------------------------------------------------------
#: RFC 9110/8470/6585: the 4xx statuses that describe a passing state, and the 5xx ones
#: that describe what a server can never do.
PASSING_4XX = {HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_EARLY, HTTPStatus.TOO_MANY_REQUESTS}
LASTING_5XX = {HTTPStatus.NOT_IMPLEMENTED, HTTPStatus.HTTP_VERSION_NOT_SUPPORTED}


def _http_oracle(status: int) -> bool:
    klass = status // 100
    if klass == 4:
        return status in PASSING_4XX
    return klass == 5 and status not in LASTING_5XX


@pytest.mark.parametrize("status", list(HTTPStatus), ids=lambda s: f"{s.value}-{s.name}")
def test_http_status_for_every_named_status(status):
    assert retry.http_status(status) is _http_oracle(status)


@CHECK
@given(st.integers(min_value=0, max_value=999))
def test_http_status_on_any_code(status):
    assert retry.http_status(status) is _http_oracle(status)


@CHECK
@given(st.integers(min_value=100, max_value=599))
def test_http_status_agrees_with_the_rewrite_clients_old_rule(status):
    """The client used ``status == 429 or status >= 500 or status == 408``; the only
    differences are 425 (Too Early: retry) and 501/505 (the server cannot: do not)."""
    old = status == 429 or status >= 500 or status == 408
    if status not in (425, 501, 505):
        assert retry.http_status(status) is old


# ---- botocore --------------------------------------------------------------------------
BOTOCORE_THROTTLING = list(ThrottledRetryableChecker._THROTTLED_ERROR_CODES)
BOTOCORE_TRANSIENT = list(TransientRetryableChecker._TRANSIENT_ERROR_CODES)
TERMINAL_CODES = ["AccessDenied", "NoSuchBucket", "NoSuchKey", "ValidationException",
                  "EntityNotFoundException", "InvalidRequestException", "NoSuchEntity"]
STATUSES = st.sampled_from([0, 200, 301, 400, 403, 404, 408, 409, 429, 500, 501, 502, 503,
                            504, 505])


def client_error(code: str, status: int, operation: str = "GetObject") -> bx.ClientError:
    response = {"Error": {"Code": code, "Message": f"{code} happened"},
                "ResponseMetadata": {"HTTPStatusCode": status}}
    return bx.ClientError(response, operation)  # type: ignore[arg-type]


def _botocore_oracle(code: str, status: int) -> bool:
    """botocore's standard mode (its two code lists, 500/502/503/504) and the HTTP rule."""
    return (code in BOTOCORE_THROTTLING or code in BOTOCORE_TRANSIENT
            or status in (500, 502, 503, 504) or _http_oracle(status))


@CHECK
@given(st.sampled_from(BOTOCORE_THROTTLING + BOTOCORE_TRANSIENT + TERMINAL_CODES)
       | st.text(max_size=30), STATUSES)
def test_botocore_client_errors(code, status):
    assert retry.botocore_failure(client_error(code, status)) is _botocore_oracle(code, status)


@pytest.mark.parametrize("code,status,transient", [
    ("SlowDown", 503, True), ("ThrottlingException", 400, True),
    ("RequestLimitExceeded", 400, True), ("RequestTimeout", 400, True),
    ("InternalError", 500, True), ("ServiceUnavailable", 503, True),
    ("AccessDenied", 403, False), ("NoSuchKey", 404, False), ("ValidationException", 400, False),
    ("EntityNotFoundException", 400, False),
])
def test_botocore_known_codes(code, status, transient):
    assert retry.botocore_failure(client_error(code, status)) is transient


@pytest.mark.parametrize("err,transient", [
    (bx.EndpointConnectionError(endpoint_url="http://x"), True),
    (bx.ConnectTimeoutError(endpoint_url="http://x"), True),
    (bx.ReadTimeoutError(endpoint_url="http://x"), True),
    (bx.ConnectionClosedError(endpoint_url="http://x"), True),
    (ConnectionResetError("reset by peer"), True),
    (TimeoutError("timed out"), True),
    (bx.NoCredentialsError(), False),
    (bx.ParamValidationError(report="bad"), False),
    (ValueError("not a remote failure"), False),
], ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v))
def test_botocore_exceptions(err, transient):
    assert retry.botocore_failure(err) is transient


# ---- storage (Delta/Hadoop, pyarrow) ---------------------------------------------------
#: store.PERMANENT_FAILURES, the list storage_errors kept before.
OLD_TERMINAL_JVM = ["AccessDeniedException", "FileNotFoundException", "NoSuchFileException",
                    "UnknownStoreException", "AWSBadRequestException", "NoAuthWithAWSException"]
PASSING_JVM = ["IOException", "SocketTimeoutException", "ConnectException",
               "AWSServiceThrottledException", "AWSStatus500Exception", "AmazonS3Exception",
               "SdkClientException", "EOFException", "Py4JJavaError", "DeltaIOException"]
#: verify._PERMANENT, the words the verification scan looked for in pyarrow's message.
OLD_TERMINAL_WORDS = ["ACCESS_DENIED", "NO_SUCH_BUCKET", "AccessDenied", "NoSuchBucket",
                      "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH"]
PASSING_WORDS = ["SLOW_DOWN", "SlowDown", "NETWORK_CONNECTION", "SERVICE_UNAVAILABLE",
                 "INTERNAL_FAILURE", "THROTTLING", "UNKNOWN", "RequestTimeout"]


@CHECK
@given(st.lists(st.sampled_from(PASSING_JVM), max_size=4),
       st.lists(st.sampled_from(OLD_TERMINAL_JVM), max_size=2),
       st.sampled_from([None, 429, 500, 503, 200]))
def test_storage_jvm_chains(passing, lasting, status):
    """The old rule: transient unless the chain holds one of the permanent classes."""
    messages = [f"failed (Service: Amazon S3; Status Code: {status})"] if status else []
    chain = passing + lasting
    assert retry.storage_failure(chain, messages) is (not lasting)


@CHECK
@given(st.sampled_from(OLD_TERMINAL_WORDS + PASSING_WORDS), st.sampled_from(["GetObject",
                                                                            "ListObjectsV2"]))
def test_storage_pyarrow_messages(word, operation):
    """The old rule: transient unless the message holds one of the permanent words."""
    message = f"When reading key 'k' in bucket 'b': AWS Error {word} during {operation} " \
              "operation: details"
    assert retry.storage_failure((), [message]) is (word not in OLD_TERMINAL_WORDS)


@CHECK
@given(st.integers(min_value=400, max_value=599),
       st.sampled_from(["Forbidden (Service: Amazon S3; Status Code: {}; Error Code: x)",
                        "S3Exception: denied (Service: S3, Status Code: {}, Request ID: r)",
                        "AWS Error UNKNOWN (HTTP status {}) during GetObject operation"]))
def test_storage_error_statuses_follow_the_http_rule(status, template):
    assert retry.storage_failure(["AmazonS3Exception"], [template.format(status)]) is \
        retry.http_status(status)


def test_storage_words_are_whole_words():
    assert retry.storage_failure((), ["object NoSuchBucketPolicy is fine, network reset"])


# ---- EMR -------------------------------------------------------------------------------
@pytest.mark.parametrize("code,transient", [
    ("INTERNAL_ERROR", True), ("INSTANCE_FAILURE", True), ("INSTANCE_FLEET_TIMEOUT", True),
    ("BOOTSTRAP_FAILURE", False), ("VALIDATION_ERROR", False), ("USER_REQUEST", False),
    ("STEP_FAILURE", False), ("ALL_STEPS_COMPLETED", False), (None, False),
])
def test_emr_cluster_end(code, transient):
    assert retry.emr_cluster_end(code) is transient


# ---- the former call sites -------------------------------------------------------------
OLD_AWS_THROTTLING = ["Throttling", "ThrottlingException", "ThrottledException",
                      "RequestLimitExceeded", "SlowDown", "TooManyRequestsException",
                      "RequestThrottled", "RequestThrottledException",
                      "ProvisionedThroughputExceededException"]
OLD_AWS_SERVER = ["InternalError", "InternalFailure", "ServiceUnavailable",
                  "InternalServerError"]


@pytest.mark.parametrize("code,status", [(c, 400) for c in OLD_AWS_THROTTLING]
                         + [(c, 500) for c in OLD_AWS_SERVER]
                         + [("Whatever", s) for s in (500, 502, 503, 504)])
def test_aws_translate_keeps_the_old_transient_answers(code, status):
    from spark_lester.aws._private import translate

    err = translate(client_error(code, status), service="emr", operation="RunJobFlow")
    assert type(err).__name__ == "AwsError" and err.code == code
    assert isinstance(err, Transient) and err.retryable
    assert "try again later" in str(err)


@pytest.mark.parametrize("code,status", [("ValidationException", 400),
                                         ("AccessDenied", 403), ("NoSuchKey", 404)])
def test_aws_translate_keeps_the_old_terminal_answers(code, status):
    from spark_lester.aws._private import translate

    err = translate(client_error(code, status), service="s3", operation="GetObject")
    assert isinstance(err, AwsError) and isinstance(err, Terminal) and not err.retryable
    assert "Retrying does not help" in str(err)


def test_aws_call_types_network_faults_and_leaves_others_alone():
    from spark_lester.aws._private import aws_call

    with pytest.raises(AwsError) as info, aws_call("s3", "ListBuckets"):
        raise bx.EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    assert info.value.retryable and "cannot reach the endpoint" in str(info.value)
    with pytest.raises(AwsError) as info, aws_call("s3", "ListBuckets"):
        raise bx.NoRegionError()
    assert not info.value.retryable
    with pytest.raises(bx.ParamValidationError), aws_call("s3", "ListBuckets"):
        raise bx.ParamValidationError(report="Bucket is missing")


@pytest.mark.parametrize("err,transient", [
    (client_error("ThrottlingException", 400, "GetJobRuns"), True),
    (client_error("TooManyRequestsException", 429, "GetJobRuns"), True),
    (client_error("EntityNotFoundException", 400, "GetJobRuns"), False),
    (bx.EndpointConnectionError(endpoint_url="http://x"), True),
])
def test_analyze_history_keeps_its_answers(err, transient):
    from spark_lester.analyze.history import _call

    def get_job_runs(**_):
        raise err

    with pytest.raises(RemoteServiceError) as info:
        _call("glue", get_job_runs, JobName="j")
    assert info.value.retryable is transient and info.value.service == "glue"
    assert type(info.value).__name__ == "RemoteServiceError"


class _Throwable:
    """Enough of a py4j JavaObject for storage_errors: a class name, a message, a cause."""

    _target_id = "o1"  # read by Py4JJavaError

    def __init__(self, name: str, message: str = "", cause: _Throwable | None = None):
        self.name, self.message, self.cause = name, message, cause

    def getCause(self):  # noqa: N802 - the Java name
        return self.cause

    def getMessage(self):  # noqa: N802
        return self.message

    def getClass(self):  # noqa: N802
        return self

    def getSimpleName(self):  # noqa: N802
        return self.name


@pytest.mark.parametrize("chain,transient", [
    ([("AccessDeniedException", "s3a://b/t: getFileStatus: 403 Forbidden")], False),
    ([("DeltaIOException", "commit failed"), ("FileNotFoundException", "no such file")], False),
    ([("UnknownStoreException", "bucket b does not exist")], False),
    ([("AWSServiceThrottledException", "Slow Down (Status Code: 503)")], True),
    ([("IOException", "wrapped"), ("SocketTimeoutException", "Read timed out")], True),
    ([("AmazonS3Exception", "Forbidden (Service: Amazon S3; Status Code: 403)")], False),
])
def test_artifact_store_storage_errors_keep_their_answers(chain, transient):
    pytest.importorskip("py4j")
    from py4j.protocol import Py4JJavaError

    from spark_lester.artifacts.store import storage_errors

    throwable = None
    for name, message in reversed(chain):
        throwable = _Throwable(name, message, throwable)
    with pytest.raises(StorageError) as info, storage_errors("s3a://b/t"):
        raise Py4JJavaError("An error occurred", throwable)
    assert info.value.retryable is transient and type(info.value).__name__ == "StorageError"
    assert info.value.path == "s3a://b/t" and chain[-1][0] in str(info.value)


@pytest.mark.parametrize("reason,transient", [
    ("AWS Error SLOW_DOWN during GetObject operation: Please reduce your request rate.", True),
    ("AWS Error NETWORK_CONNECTION during ListObjectsV2 operation: curlCode: 7", True),
    ("AWS Error UNKNOWN (HTTP status 503) during GetObject operation: ", True),
    ("AWS Error ACCESS_DENIED during HeadObject operation: No response body.", False),
    ("AWS Error NO_SUCH_BUCKET during ListObjectsV2 operation: The bucket does not exist", False),
])
def test_verification_scan_keeps_its_answers(reason, transient):
    from spark_lester.deletion.verify import _storage_errors

    with pytest.raises(StorageError) as info, _storage_errors("s3://b/w/"):
        raise OSError(f"When reading information for key 'k' in bucket 'b': {reason}")
    assert info.value.retryable is transient and type(info.value).__name__ == "StorageError"


@pytest.mark.parametrize("fault,transient", [("429", True), ("500", True)])
def test_llm_client_statuses(fault, transient):
    from spark_lester.rewrite.client import LLMClient, LLMSettings
    from spark_lester.rewrite.fake_server import FakeServer, Step

    with FakeServer([Step(fault=fault)]) as server:
        client = LLMClient(LLMSettings(model="m", base_url=server.base_url, max_retries=0,
                                       structured="off"), key="k", sleep=lambda s: None)
        with pytest.raises(LLMError) as info:
            client.complete([{"role": "user", "content": "hi"}])
    assert info.value.status == int(fault) and info.value.retryable is transient


@pytest.mark.parametrize("reason_code,transient,exit_code", [
    ("INSTANCE_FAILURE", True, 75), ("BOOTSTRAP_FAILURE", False, 1), (None, False, 1),
])
def test_emr_cluster_end_drives_the_cli_exit_code(reason_code, transient, exit_code):
    from spark_lester.aws.emr import _cluster_ended
    from spark_lester.cli.emr import _failed

    err = _cluster_ended(cluster_id="j-1", state="TERMINATED_WITH_ERRORS",
                         reason_code=reason_code, reason="ended")
    assert isinstance(err, ClusterTerminatedError) and err.retryable is transient
    summary: dict = {}
    assert _failed(err, summary) == exit_code
    assert summary["error"] == "ClusterTerminatedError" and summary["retryable"] is transient


@pytest.mark.parametrize("fetches", [True, False])
def test_packaging_steps_that_fetch_are_transient(fetches):
    from spark_lester.aws.package import _run

    with pytest.raises(PackagingError) as info:
        _run([sys.executable, "-c", "raise SystemExit(3)"], step="venv", fetches=fetches)
    assert info.value.retryable is fetches and "exited 3" in str(info.value)
