"""boto3 clients and the translation of botocore failures into typed errors.

Only ``spark_lester.aws`` (and ``analyze/``) import boto3, and only inside functions, so that
the CLI starts without it. Every AWS call of this package goes through :func:`aws_call`, which
turns botocore's exceptions into :class:`~spark_lester.errors.AwsError` subclasses that say
whether a retry can help (botocore's own retry rules decide, through
:func:`spark_lester.retry.botocore_failure`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from spark_lester import retry
from spark_lester.errors import (
    AwsCredentialsError,
    AwsError,
    BucketNotFoundError,
    TerminalAwsError,
    TransientAwsError,
    variant,
)

_CREDENTIAL_CODES = frozenset({
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "UnrecognizedClientException",
    "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "AuthFailure",
    "MissingAuthenticationToken",
})


def client(service: str, *, region: str | None = None, endpoint_url: str | None = None,
           session: Any = None) -> Any:
    """A boto3 client with standard retries (throttling is retried before it reaches us).

    ``endpoint_url`` points every service at one server (moto's, in tests); ``session`` is a
    ``boto3.session.Session`` (default: a new one, reading the usual AWS configuration).
    """
    import boto3
    from botocore.config import Config

    with aws_call(service, "client"):
        session = session or boto3.session.Session(region_name=region)
        return session.client(
            service, region_name=region, endpoint_url=endpoint_url,
            config=Config(retries={"max_attempts": 5, "mode": "standard"},
                          user_agent_extra="spark_lester"),
        )


@contextmanager
def aws_call(service: str, operation: str, *, bucket: str | None = None) -> Iterator[None]:
    """Run the body, translating botocore exceptions into typed errors."""
    from botocore import exceptions as bx

    try:
        yield
    except (bx.NoCredentialsError, bx.PartialCredentialsError) as err:
        raise AwsCredentialsError(f"no usable AWS credentials ({err}).", service=service,
                                  operation=operation) from None
    except bx.NoRegionError:
        raise TerminalAwsError("no AWS region configured.", service=service,
                               operation=operation,
                               hint="Pass --region or set AWS_DEFAULT_REGION.") from None
    except bx.ClientError as err:
        raise translate(err, service=service, operation=operation, bucket=bucket) from None
    except bx.BotoCoreError as err:
        if not retry.botocore_failure(err):  # not a network fault: not ours to type
            raise
        raise TransientAwsError(f"cannot reach the endpoint ({err}).", service=service,
                                operation=operation,
                                hint="Check the network (or --endpoint-url) and try again."
                                ) from None


def translate(err: Any, *, service: str, operation: str, bucket: str | None = None) -> AwsError:
    """The typed error for a botocore ``ClientError``."""
    error = err.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "") or code)
    status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _CREDENTIAL_CODES:
        return AwsCredentialsError(f"credentials rejected: {message}", service=service,
                                   operation=operation, code=code)
    if bucket and (code in ("NoSuchBucket", "404") or (status == 404 and code != "NoSuchKey")):
        return BucketNotFoundError(bucket, operation=operation)
    error = variant(AwsError, transient=retry.botocore_failure(err))
    return error(message, service=service, operation=operation, code=code or None)
