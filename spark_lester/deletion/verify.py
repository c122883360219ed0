"""The verification scan: prove that erased values are in no object under a table prefix.

Every object under each touched table's prefix is read: data files, deletion vectors, the
``_delta_log`` (JSON commits, checkpoints, checksums) and change data, including objects the
table no longer references. Each object's raw bytes are searched, and Parquet files are also
decoded (pages are compressed, so a value need not appear in the raw bytes) and every string
in them, nested ones included, is searched. Deleted rows masked by a deletion vector are still
physical rows of their file, so they are found until the purge rewrites the file.

The needles are the old values of removed cells and whatever the request's verification
patterns (e.g. card numbers) match in them. They stay in memory: results carry object paths
and needle counts, never the values.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    import pyarrow as pa
    from pyarrow import fs as pafs

    from spark_lester.config import LesterConfig


@dataclass
class ScanResult:
    verified: bool
    objects: int = 0
    bytes: int = 0
    needles: int = 0
    hits: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"verified": self.verified, "objects": self.objects, "bytes": self.bytes,
                "needles": self.needles, "hits": self.hits, "seconds": self.seconds}


def needles_from(values: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """The values themselves plus every pattern match inside them (longest first)."""
    out: set[str] = set()
    for value in values:
        if not value:
            continue
        out.add(value)
        for pattern in patterns:
            out.update(m.group(0) for m in re.finditer(pattern, value) if len(m.group(0)) >= 6)
    return sorted(out, key=len, reverse=True)


def filesystem(uri: str, config: LesterConfig | None = None) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and the path inside it for a local path or an s3/s3a URI."""
    import os

    from pyarrow import fs as pafs

    parsed = urlparse(uri)
    if parsed.scheme in ("s3", "s3a"):
        endpoint = config.s3_endpoint if config is not None else None
        options: dict[str, Any] = {
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID"),
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
            "session_token": os.environ.get("AWS_SESSION_TOKEN"),
            "region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        }
        if endpoint:
            ep = urlparse(endpoint)
            options["endpoint_override"] = ep.netloc or endpoint
            options["scheme"] = ep.scheme or "http"
        return pafs.S3FileSystem(**{k: v for k, v in options.items() if v is not None}), \
            f"{parsed.netloc}{parsed.path}".rstrip("/")
    if parsed.scheme in ("", "file"):
        return pafs.LocalFileSystem(), os.path.abspath(parsed.path if parsed.scheme else uri)
    raise ValueError(f"cannot scan {parsed.scheme}:// locations")


def scan(prefixes: Sequence[str], values: Iterable[str], *, patterns: Sequence[str] = (),
         config: LesterConfig | None = None, match_patterns: bool = False) -> ScanResult:
    """Search every object under ``prefixes`` for ``values`` (and pattern matches in them).

    With ``match_patterns`` the patterns themselves are searched for too (any match fails).
    """
    from pyarrow import fs as pafs

    started = time.perf_counter()
    needles = needles_from(values, patterns)
    result = ScanResult(verified=True, needles=len(needles))
    exact = "|".join(re.escape(n) for n in needles)
    text_re = re.compile(exact) if exact else None
    bytes_re = re.compile(exact.encode()) if exact else None
    # Patterns (a resumed request's only evidence) are matched in the decoded strings of
    # data files only: the log holds our surrogate ids, long digit runs a card pattern
    # would match; it never holds text values (no statistics on text columns).
    pattern_re = re.compile("|".join(f"(?:{p})" for p in patterns)) \
        if match_patterns and patterns else None
    for prefix in prefixes:
        fs, root = filesystem(prefix, config)
        info = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
        for entry in info:
            if entry.type != pafs.FileType.File:
                continue
            with fs.open_input_stream(entry.path) as stream:
                data = stream.read()
            result.objects += 1
            result.bytes += len(data)
            kind = None
            if bytes_re is not None and bytes_re.search(data):
                kind = "raw"
            elif entry.path.endswith(".parquet"):
                in_log = "/_delta_log/" in entry.path
                if text_re is not None and _parquet_contains(data, text_re):
                    kind = "decoded"
                elif pattern_re is not None and not in_log and \
                        _parquet_contains(data, pattern_re):
                    kind = "pattern"
            if kind is not None:
                result.verified = False
                result.hits.append({"object": entry.path, "match": kind})
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _parquet_contains(data: bytes, pattern: re.Pattern[str]) -> bool:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - not readable as Parquet: the raw search stands
        return False
    return any(_array_contains(column, pattern) for column in table.columns)


def _array_contains(array: pa.ChunkedArray | pa.Array, pattern: re.Pattern[str]) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        return any(_array_contains(chunk, pattern) for chunk in array.chunks)
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        hits = pc.match_substring_regex(array, pattern.pattern)
        return bool(pc.any(hits).as_py())
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return any(v is not None and pattern.search(v.decode("utf-8", "replace"))
                   for v in array.to_pylist())
    if pa.types.is_struct(kind):
        return any(_array_contains(array.field(i), pattern) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _array_contains(array.flatten(), pattern)
    if pa.types.is_map(kind):
        return (_array_contains(array.keys, pattern)
                or _array_contains(array.items, pattern))
    return False


def still_live(spark: Any, paths: Sequence[str], values: Iterable[str]) -> set[str]:
    """The values that other, remaining rows of the tables still hold as a whole cell (a
    common subject line, a bank name): they are not evidence of an incomplete erasure."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    wanted = sorted(set(values))
    live: set[str] = set()
    if not wanted:
        return live
    for path in paths:
        df = spark.read.format("delta").load(path)
        for f in df.schema.fields:
            if isinstance(f.dataType, StringType):
                rows = df.where(F.col(f.name).isin(wanted)).select(f.name).distinct().collect()
                live.update(r[0] for r in rows)
    return live
