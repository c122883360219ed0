r"""The verification scan: prove that erased values are in no object under the warehouse.

``unlearn`` scans the whole warehouse root (:func:`scan_warehouse`): every artifact table of
every run, the run registry (``_lester/runs``, with each run's fitted encoder, plan, lineage
and source fingerprints), the ledger, the applied-changes table, model tables, copied
pipeline files, and any temporary, checkpoint or Spark warehouse folder under the root. Only
the sources the runs read are left out (when they live under the root and the request did not
clean them): they are the data lake's, not spark_lester's. Every object is read: data files,
deletion vectors, the ``_delta_log`` (JSON commits, checkpoints, checksums) and change data,
including objects a table no longer references. Each object's raw bytes are searched, and
Parquet files are also decoded (pages are compressed, so a value need not appear in the raw
bytes): every string in them, nested ones included, their column statistics and their
key-value metadata. Binary cells are searched after decoding their format: a stored encoder
(``features.encode.dump_encoder``: a pickle, whose strings may be UCS-4 numpy arrays) is
loaded and every string its fitted state holds is searched; a model's ``.npz`` is searched
through its JSON header. Deleted rows masked by a deletion vector are still physical rows of
their file, so they are found until the purge rewrites the file.

The needles are the old values of removed cells and whatever the request's verification
patterns (e.g. card numbers) match in them. They stay in memory: results carry object paths
and needle counts, never the values.

A resumed request no longer knows the old values, so the patterns themselves are searched
for (``match_patterns``). A pattern such as a card number also matches the long numbers every
Delta table is full of (64-bit row ids in file statistics, millisecond timestamps, file
names with UUIDs), so patterns are matched against the *text values* an object holds, not
its raw bytes: the strings of Parquet columns and of their min/max statistics, the string
values of JSON objects (a JSON document inside a string, like Delta's file statistics, is
parsed again, and its numbers are numbers, not text), with UUIDs masked; other objects
(deletion vectors) as text.

>>> card = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
>>> commit = (b'{"add":{"path":"part-00000-12345678-1234-4234-8234-123456789012-c000.parquet",'
...           b'"modificationTime":1795234539301,"stats":"{\\"minValues\\":{\\"id\\":-9173091620592210052}}"}}')
>>> _text_contains(commit, "_delta_log/00000000000000000003.json", card)
False
>>> _text_contains(b'{"commitInfo":{"note":"card 4111 1111 1111 1111"}}', "0.json", card)
True
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
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


def scan_warehouse(root: str, values: Iterable[str], *, patterns: Sequence[str] = (),
                   exclude: Sequence[str] = (), config: LesterConfig | None = None,
                   match_patterns: bool = False, skip: Iterable[str] = ()) -> ScanResult:
    """:func:`scan` of every object under the warehouse ``root`` but those under ``exclude``
    (sources the runs read that live under the root)."""
    return scan([root], values, patterns=patterns, config=config,
                match_patterns=match_patterns, exclude=exclude, skip=skip)


def scan(prefixes: Sequence[str], values: Iterable[str], *, patterns: Sequence[str] = (),
         config: LesterConfig | None = None, match_patterns: bool = False,
         exclude: Sequence[str] = (), skip: Iterable[str] = ()) -> ScanResult:
    """Search every object under ``prefixes`` for ``values`` (and pattern matches in them).

    With ``match_patterns`` the patterns themselves are searched for too, in the text values
    of each object (see the module docstring); any match fails. Objects under a prefix of
    ``exclude`` are not read. Needles in ``skip`` (values and pattern matches that remaining
    rows still hold, see :func:`still_live`) are not searched for.
    """
    from pyarrow import fs as pafs

    started = time.perf_counter()
    skipped_needles = set(skip)
    needles = [n for n in needles_from(values, patterns) if n not in skipped_needles]
    result = ScanResult(verified=True, needles=len(needles))
    text_re = bytes_re = pattern_re = None
    if needles:
        alternatives = "|".join(re.escape(n) for n in needles)
        text_re, bytes_re = re.compile(alternatives), re.compile(alternatives.encode())
    if match_patterns and patterns:
        pattern_re = re.compile("|".join(f"(?:{p})" for p in patterns))
    skipped = tuple(filesystem(p, config)[1].rstrip("/") + "/" for p in exclude)
    for prefix in prefixes:
        fs, root = filesystem(prefix, config)
        with _storage_errors(prefix):
            info = fs.get_file_info(pafs.FileSelector(root, recursive=True,
                                                      allow_not_found=True))
        for entry in info:
            if entry.type != pafs.FileType.File or entry.path.startswith(skipped):
                continue
            with _storage_errors(prefix), fs.open_input_stream(entry.path) as stream:
                data = stream.read()
            result.objects += 1
            result.bytes += len(data)
            kind = _search(data, entry.path, text_re, bytes_re, pattern_re)
            if kind is not None:
                result.verified = False
                result.hits.append({"object": entry.path, "match": kind})
    result.seconds = round(time.perf_counter() - started, 3)
    return result


@contextmanager
def _storage_errors(prefix: str) -> Iterator[None]:
    """pyarrow's OSError for a failed listing or read, as a :class:`StorageError` (transient
    unless its message names a lasting cause: :func:`spark_lester.retry.storage_failure`)."""
    from spark_lester import retry
    from spark_lester.errors import StorageError, variant

    try:
        yield
    except OSError as exc:
        if isinstance(exc, StorageError):
            raise
        reason = (str(exc).splitlines() or [""])[0][:200]
        error = variant(StorageError, transient=retry.storage_failure((), [reason]))
        raise error(f"verification scan of {prefix} failed: {reason}", path=prefix) from None


def _search(data: bytes, path: str, text_re: re.Pattern[str] | None,
            bytes_re: re.Pattern[bytes] | None, pattern_re: re.Pattern[str] | None
            ) -> str | None:
    """How ``data`` holds a needle or a pattern match ("raw", "decoded", "pattern"), or None."""
    parquet = path.endswith(".parquet")
    if bytes_re is not None and bytes_re.search(data) is not None:
        return "raw"
    if text_re is not None and parquet and _parquet_contains(data, text_re):
        return "decoded"
    if pattern_re is not None:
        if parquet:
            found = _parquet_contains(data, pattern_re, refine=True)
        else:
            found = _text_contains(data, path, pattern_re)
        if found:
            return "pattern"
    return None


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}")


def _text_contains(data: bytes, path: str, pattern: re.Pattern[str]) -> bool:
    """Whether a text value of a non-Parquet object matches ``pattern``: the string values of
    JSON lines (the Delta log, checksums), else the whole object decoded as text."""
    text = data.decode("utf-8", "replace")
    name = path.rsplit("/", 1)[-1]
    if name.endswith((".json", ".crc")) or name.startswith("_last_"):
        try:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            docs = None
        if docs is not None:
            return any(_value_matches(s, pattern) for doc in docs for s in _strings(doc))
    return _value_matches(text, pattern, parse=False)


def _strings(value: object) -> Iterator[str]:
    """Every string in a parsed JSON value (keys too); numbers are not text."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _value_matches(value: str, pattern: re.Pattern[str], *, parse: bool = True) -> bool:
    """A string that is itself a JSON object or array is searched value by value."""
    stripped = value.strip()
    if parse and stripped[:1] in ("{", "["):
        try:
            inner = json.loads(stripped)
        except ValueError:
            pass
        else:
            return any(_value_matches(s, pattern) for s in _strings(inner))
    return pattern.search(_UUID.sub("<uuid>", value)) is not None


def _parquet_contains(data: bytes, pattern: re.Pattern[str], *, refine: bool = False) -> bool:
    """Whether a string in the decoded Parquet file matches. With ``refine`` (patterns), the
    column statistics are searched too, and a candidate string counts only if it matches as
    a text value (:func:`_value_matches`)."""
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(io.BytesIO(data))
        # only columns that can hold text are decoded (X's float vectors cannot)
        wanted = [f.name for f in file.schema_arrow if _holds_text(f.type)]
        table = file.read(columns=wanted)
    except Exception:  # noqa: BLE001 - not readable as Parquet: the raw search stands
        return False
    if any(_array_contains(column, pattern, refine) for column in table.columns):
        return True
    texts = [*_statistics(file), *_key_value_metadata(file)]
    if refine:
        return any(_value_matches(s, pattern) for s in texts)
    return any(pattern.search(s) is not None for s in texts)


def _holds_text(kind: pa.DataType) -> bool:
    """Whether a column of this Arrow type can hold a string (directly or nested)."""
    import pyarrow as pa

    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or \
            pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return True
    if pa.types.is_struct(kind):
        return any(_holds_text(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _holds_text(kind.value_type)
    if pa.types.is_map(kind):
        return _holds_text(kind.key_type) or _holds_text(kind.item_type)
    return pa.types.is_dictionary(kind)


def _key_value_metadata(file: Any) -> Iterator[str]:
    """The file's key-value metadata (Spark's schema JSON, writer names), as text."""
    for key, value in (file.metadata.metadata or {}).items():
        yield key.decode("utf-8", "replace")
        yield value.decode("utf-8", "replace")


def _statistics(file: Any) -> Iterator[str]:
    """The min/max statistics of the string and binary columns of every row group, as text
    (a binary value through :func:`_binary_text`)."""
    meta = file.metadata
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        for j in range(group.num_columns):
            stats = group.column(j).statistics
            if stats is None or not stats.has_min_max:
                continue
            text = str(file.schema.column(j).logical_type.type) == "STRING"
            for value in (stats.min, stats.max):
                if isinstance(value, bytes):
                    yield value.decode("utf-8", "replace") if text else _binary_text(value)
                elif isinstance(value, str):
                    yield value


def _array_contains(array: pa.ChunkedArray | pa.Array, pattern: re.Pattern[str],
                    refine: bool = False) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        return any(_array_contains(chunk, pattern, refine) for chunk in array.chunks)
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        hits = pc.match_substring_regex(array, pattern.pattern)
        if not refine:
            return bool(pc.any(hits).as_py())
        candidates = pc.filter(array, pc.fill_null(hits, False)).to_pylist()
        return any(_value_matches(v, pattern) for v in candidates)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        values = [v for v in array.to_pylist() if v is not None]
        if refine:
            return any(_binary_matches(v, pattern) for v in values)
        return any(pattern.search(v.decode("utf-8", "replace"))
                   or pattern.search(_binary_text(v)) for v in values)
    if pa.types.is_struct(kind):
        return any(_array_contains(array.field(i), pattern, refine)
                   for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _array_contains(array.flatten(), pattern, refine)
    if pa.types.is_map(kind):
        return (_array_contains(array.keys, pattern, refine)
                or _array_contains(array.items, pattern, refine))
    return False


def _binary_matches(value: bytes, pattern: re.Pattern[str]) -> bool:
    return _value_matches(_binary_text(value), pattern)


def _binary_text(value: bytes) -> str:
    """The text a binary cell holds. An ``.npz`` archive (a stored model version or its
    training statistics) holds numbers and a JSON header: only the header is text. A stored
    encoder holds the strings of its fitted state (categories, vocabularies, fill values)."""
    if value.startswith(_ENCODER_MAGIC):
        return _encoder_text(value)
    if value.startswith(b"PK\x03\x04"):
        import numpy as np

        try:
            with np.load(io.BytesIO(value), allow_pickle=False) as npz:
                arrays = [npz[name] for name in npz.files]
        except Exception:  # noqa: BLE001 - some other zip: searched as text below
            arrays = None
        if arrays is not None:
            headers = [a.tobytes().decode("utf-8", "replace") for a in arrays
                       if a.dtype == np.uint8]
            return "\n".join(headers) if len(headers) != 1 else headers[0]
    return value.decode("utf-8", "replace")


#: First bytes of a stored encoder (``features.encode.dump_encoder``).
_ENCODER_MAGIC = b"spark_lester.encoder/"


def _encoder_text(value: bytes) -> str:
    """Every string a stored encoder's fitted state holds, one per line (numpy string arrays
    included, whose pickled form is UCS-4, not UTF-8). The warehouse is trusted storage (see
    ``load_encoder``); undecodable bytes are searched as text."""
    from spark_lester.errors import EncoderFormatError
    from spark_lester.features.encode import load_encoder

    try:
        encoder = load_encoder(value, check_version=False)
    except EncoderFormatError:
        return value.decode("utf-8", "replace")
    return "\n".join(sorted(set(_object_strings(encoder, set(), 0))))


def _object_strings(value: Any, seen: set[int], depth: int) -> Iterator[str]:
    """The strings reachable from a fitted estimator: attributes, containers, arrays."""
    import numpy as np

    if isinstance(value, str):
        yield value
        return
    if isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
        return
    if value is None or isinstance(value, (bool, int, float, complex)) or depth > 12 \
            or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OUS":
            for item in value.ravel().tolist():
                yield from _object_strings(item, seen, depth + 1)
        return
    if isinstance(value, np.generic):
        if value.dtype.kind in "US":
            yield str(value)
        return
    if isinstance(value, dict):
        items: Iterable[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        items = list(vars(value).values())
    else:
        return
    for item in items:
        yield from _object_strings(item, seen, depth + 1)


def still_live(spark: Any, paths: Sequence[str], values: Iterable[str],
               fragments: Iterable[str] = ()) -> set[str]:
    """The values that other, remaining rows of the tables still hold as a whole cell (a
    common subject line, a bank name), and the ``fragments`` (pattern matches inside
    removed values, a card number) that they hold inside a cell: neither is evidence of an
    incomplete erasure.

    One job per table (every string column at once), the tables concurrently."""
    from concurrent.futures import ThreadPoolExecutor

    wanted, parts = sorted(set(values)), sorted(set(fragments))
    if not (wanted or parts) or not paths:
        return set()
    with ThreadPoolExecutor(max_workers=min(8, len(paths))) as pool:
        found = list(pool.map(lambda p: _live_in(spark, p, wanted, parts), paths))
    return set().union(*found)


def _live_in(spark: Any, path: str, wanted: list[str], parts: list[str]) -> set[str]:
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    df = spark.read.format("delta").load(path)
    strings = [f.name for f in df.schema.fields if isinstance(f.dataType, StringType)]
    if not strings:
        return set()
    checks = [F.when(F.col(c).isin(wanted), F.col(c)) for c in strings] if wanted else []
    checks += [F.when(F.col(c).contains(part), F.lit(part)) for c in strings for part in parts]
    hits = F.array(*checks)
    rows = (df.where(F.exists(hits, lambda v: v.isNotNull()))
            .select(F.explode(hits).alias("v")).where("v IS NOT NULL").distinct().collect())
    return {r[0] for r in rows}
