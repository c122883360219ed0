"""Whether a failure is worth retrying: one classifier per transport.

Each classifier is a pure function that answers True when repeating the same call may
succeed (throttling, a server error, a dropped connection) and False when it fails again
until someone fixes the cause (denied access, a missing bucket, a bad request). Callers turn
the answer into the error's type with :func:`spark_lester.errors.variant`, so that
``isinstance(err, Transient)`` (and ``err.retryable``) is the one test downstream.

* :func:`http_status`: an HTTP status code (the LLM endpoint, and the status behind the
  other two);
* :func:`botocore_failure`: a boto3/botocore exception, judged by botocore's own
  standard-mode retry checkers;
* :func:`storage_failure`: a Delta/Hadoop failure (the Java exception classes of its cause
  chain and their messages) or pyarrow's S3 ``OSError`` message;
* :func:`emr_cluster_end`: the reason code of an EMR cluster that terminated.

>>> http_status(429), http_status(404)
(True, False)
>>> storage_failure(["AmazonS3Exception"], ["Slow Down (Service: Amazon S3; Status Code: 503)"])
True
>>> storage_failure([], ["AWS Error ACCESS_DENIED during GetObject operation: Access Denied"])
False
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus

#: 4xx statuses that report a passing condition rather than a bad request (RFC 9110, 8470, 6585).
_TRANSIENT_CLIENT_STATUSES = frozenset({
    HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_EARLY, HTTPStatus.TOO_MANY_REQUESTS,
})
#: 5xx statuses that describe the server's fixed capabilities, not its current state.
_TERMINAL_SERVER_STATUSES = frozenset({
    HTTPStatus.NOT_IMPLEMENTED, HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
})


def http_status(status: int) -> bool:
    """Whether a request answered with HTTP ``status`` may succeed when sent again: 408, 425,
    429 and the 5xx statuses except 501 and 505 (which say the server cannot, ever).

    >>> [s for s in (200, 400, 401, 408, 409, 429, 500, 501, 503) if http_status(s)]
    [408, 429, 500, 503]
    """
    if status in _TRANSIENT_CLIENT_STATUSES:
        return True
    return 500 <= status <= 599 and status not in _TERMINAL_SERVER_STATUSES


def botocore_failure(err: BaseException) -> bool:
    """Whether the boto3 call that raised ``err`` may succeed when repeated.

    botocore's standard retry mode decides (its throttling and transient error codes, the
    statuses 500/502/503/504, its connection and timeout exceptions), and
    :func:`http_status` for the statuses it leaves to the operation's model (429, other
    5xx). Besides botocore's, Python's own ``ConnectionError`` and ``TimeoutError`` are
    transient; any other exception is not.
    """
    if isinstance(err, (ConnectionError, TimeoutError)):
        return True
    try:
        from botocore.exceptions import ClientError
        from botocore.retries.standard import (
            RetryContext,
            ThrottledRetryableChecker,
            TransientRetryableChecker,
        )
    except ImportError:  # without botocore nothing can have raised a botocore error
        return False
    if isinstance(err, ClientError):
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        context = RetryContext(attempt_number=1, parsed_response=err.response,
                               http_response=_Response(status))
        if http_status(status):
            return True
    else:
        context = RetryContext(attempt_number=1, caught_exception=err)
    return bool(TransientRetryableChecker().is_retryable(context)
                or ThrottledRetryableChecker().is_retryable(context))


class _Response:
    """The one attribute of botocore's ``AWSResponse`` that its retry checkers read."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


#: Java exceptions (simple class names: Hadoop S3A's, the JDK's) whose cause a retry cannot
#: remove: denied, missing (a file, a bucket), a malformed request, no credentials.
_TERMINAL_JVM_CLASSES = frozenset({
    "AccessDeniedException", "FileNotFoundException", "NoSuchFileException",
    "UnknownStoreException", "AWSBadRequestException", "NoAuthWithAWSException",
})
#: S3 error codes (botocore's spelling; the AWS SDK for C++, which pyarrow reports, spells
#: them in upper snake case) whose cause a retry cannot remove.
_TERMINAL_S3_CODES = ("AccessDenied", "NoSuchBucket", "InvalidAccessKeyId",
                      "SignatureDoesNotMatch")
_TERMINAL_S3_WORDS = re.compile(r"\b(?:{})\b".format("|".join(
    [*_TERMINAL_S3_CODES, *(re.sub(r"(?<!^)(?=[A-Z])", "_", c).upper()
                            for c in _TERMINAL_S3_CODES)])))
#: "Status Code: 403" (AWS SDK for Java, v1 and v2), "HTTP status 503" (pyarrow).
_STATUS = re.compile(r"(?:Status Code|HTTP status):?\s*(\d{3})\b", re.IGNORECASE)


def storage_failure(class_names: Iterable[str], messages: Iterable[str]) -> bool:
    """Whether a failed read or write of the warehouse may succeed when repeated.

    ``class_names`` are the simple names of the Java exceptions in a Delta/Hadoop failure's
    cause chain (none for pyarrow), ``messages`` their first lines (pyarrow's ``OSError``
    text). A storage failure is transient unless something marks its cause as lasting: a
    Java exception for denied access, a missing file or bucket or a bad request; an S3
    error code for one of those; or an HTTP error status that :func:`http_status` calls
    terminal.

    >>> storage_failure(["SocketTimeoutException"], ["Read timed out"])
    True
    >>> storage_failure(["AmazonS3Exception"], ["Forbidden (Service: Amazon S3; Status Code: 403)"])
    False
    """
    if not _TERMINAL_JVM_CLASSES.isdisjoint(class_names):
        return False
    for message in messages:
        if _TERMINAL_S3_WORDS.search(message):
            return False
        statuses = (int(code) for code in _STATUS.findall(message))
        if any(400 <= status <= 599 and not http_status(status) for status in statuses):
            return False
    return True


#: EMR cluster state-change reasons after which a fresh cluster may succeed (EMR's API names).
_TRANSIENT_CLUSTER_ENDS = frozenset({"INTERNAL_ERROR", "INSTANCE_FAILURE",
                                     "INSTANCE_FLEET_TIMEOUT"})


def emr_cluster_end(reason_code: str | None) -> bool:
    """Whether a cluster that terminated with ``reason_code`` may do better on a fresh one:
    capacity and internal errors may pass; a bootstrap failure, a bad configuration, a
    person's request or a step's failure do not.

    >>> emr_cluster_end("INSTANCE_FAILURE"), emr_cluster_end("BOOTSTRAP_FAILURE")
    (True, False)
    """
    return reason_code in _TRANSIENT_CLUSTER_ENDS


__all__ = ["botocore_failure", "emr_cluster_end", "http_status", "storage_failure"]
