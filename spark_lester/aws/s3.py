"""S3: URIs, bucket checks, uploading a bundle (once per content), reading (gzipped) logs.

>>> parse_s3_uri("s3://acme-code/spark_lester/0.1.0/")
('acme-code', 'spark_lester/0.1.0/')
>>> join_uri("s3://acme-code/spark_lester/", "emr", "steps/lester_step.py")
's3://acme-code/spark_lester/emr/steps/lester_step.py'
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from spark_lester.aws._private import aws_call
from spark_lester.errors import ConfigError

SCHEMES = ("s3://", "s3a://", "s3n://")
#: Object metadata key (x-amz-meta-sha256) holding the hex sha256 of an uploaded file.
SHA256_METADATA = "sha256"


def is_s3_uri(value: str) -> bool:
    return value.startswith(SCHEMES)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` (or s3a://, s3n://) -> ``(bucket, key)``."""
    for scheme in SCHEMES:
        if uri.startswith(scheme):
            bucket, _, key = uri[len(scheme):].partition("/")
            if bucket:
                return bucket, key
    raise ConfigError(f"{uri!r} is not an s3:// URI.", hint="Use s3://BUCKET/PREFIX.")


def join_uri(base: str, *parts: str) -> str:
    """Join an S3 URI and relative parts with single slashes (the scheme is kept)."""
    out = base.rstrip("/")
    for part in parts:
        out += "/" + part.strip("/")
    return out


def ensure_bucket(s3: Any, bucket: str) -> None:
    """Raise :class:`BucketNotFoundError` unless ``bucket`` exists and is reachable."""
    with aws_call("s3", "HeadBucket", bucket=bucket):
        s3.head_bucket(Bucket=bucket)


def ensure_buckets(s3: Any, uris: Iterable[str]) -> None:
    """:func:`ensure_bucket` for the bucket of every S3 URI in ``uris`` (others skipped)."""
    for bucket in dict.fromkeys(parse_s3_uri(u)[0] for u in uris if is_s3_uri(u)):
        ensure_bucket(s3, bucket)


def upload_file(s3: Any, path: Path, uri: str, *, sha256: str | None = None) -> str:
    """Upload one local file to ``uri``; returns the URI. ``sha256`` (hex) is stored as the
    object's ``sha256`` metadata, which :func:`upload_tree` compares to skip unchanged files."""
    bucket, key = parse_s3_uri(uri)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    extra: dict[str, Any] = {"ContentType": content_type}
    if sha256:
        extra["Metadata"] = {SHA256_METADATA: sha256}
    with aws_call("s3", "PutObject", bucket=bucket):
        s3.upload_file(str(path), bucket, key, ExtraArgs=extra)
    return f"s3://{bucket}/{key}"


def stored_sha256(s3: Any, uri: str) -> str | None:
    """The ``sha256`` metadata of the object at ``uri``; None when there is no object (or
    it was uploaded without one)."""
    from botocore.exceptions import ClientError

    bucket, key = parse_s3_uri(uri)
    with aws_call("s3", "HeadObject", bucket=bucket):
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
    return head.get("Metadata", {}).get(SHA256_METADATA)


def upload_tree(s3: Any, folder: Path, base_uri: str, *,
                skipped: list[str] | None = None) -> dict[str, str]:
    """Upload every file under ``folder`` to ``base_uri`` keeping relative paths; returns
    relative path -> URI. A file whose sha256 equals the ``sha256`` metadata of the object
    already there is not uploaded again (its relative path is appended to ``skipped``): a
    bundle is uploaded once per content, however often it is submitted. The bucket is
    checked first, so a missing bucket fails before any upload with
    :class:`BucketNotFoundError`."""
    bucket, _ = parse_s3_uri(base_uri)
    ensure_bucket(s3, bucket)
    out: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        rel = path.relative_to(folder).as_posix()
        uri = join_uri(base_uri, rel)
        digest = file_sha256(path)
        if stored_sha256(s3, uri) == digest:
            out[rel] = uri
            if skipped is not None:
                skipped.append(rel)
            continue
        out[rel] = upload_file(s3, path, uri, sha256=digest)
    return out


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_text(s3: Any, uri: str) -> str | None:
    """The object at ``uri`` as text (gunzipped when it is gzip), or None when it does not
    exist yet (EMR pushes logs to S3 every few minutes)."""
    from botocore.exceptions import ClientError

    bucket, key = parse_s3_uri(uri)
    with aws_call("s3", "GetObject", bucket=bucket):
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return body.decode("utf-8", errors="replace")


def tail(text: str, lines: int) -> str:
    """The last ``lines`` lines of ``text``.

    >>> tail("a\\nb\\nc\\n", 2)
    'b\\nc'
    """
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])
