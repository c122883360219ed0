"""Storage locations: one normal form per URI, and the roles a pipeline gives them.

Every location the analyzer reports is normalised by :func:`normalize_uri` so the same data
written two ways compares equal: ``s3a://``/``s3n://`` become ``s3://``, no trailing slash,
Jinja expressions spaced as ``{{ ds }}``, concrete partition values (``dt=2024-01-01``)
replaced by ``{dt}``; unresolved parts stay as ``{name}`` or ``{{ ... }}``, never dropped.
Catalog tables get their own schemes: ``glue://db.table``, ``athena://db.table``,
``redshift://db.schema.table``; JDBC URLs stay ``jdbc:...``.

>>> normalize_uri("s3a://Raw-Zone/input/dt=2024-01-01/")
's3://Raw-Zone/input/dt={dt}'
>>> normalize_uri("s3://lake/events/{{ds}}/part.csv")
's3://lake/events/{{ ds }}/part.csv'
>>> dataset_key("s3://lake/events/dt={{ ds }}/part-0.parquet")
's3://lake/events'
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

#: The roles a location can have in one pipeline.
ROLES: tuple[str, ...] = ("input", "interim", "output", "log", "code")

_SCHEME_ALIASES = {"s3a": "s3", "s3n": "s3"}
_JINJA = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_PARTITION = re.compile(r"^([A-Za-z_][\w\-]*)=(.*)$")
_PLACEHOLDER = re.compile(r"^(\{\{.*\}\}|\{[^{}]*\})$")
_URI_START = re.compile(r"^(s3a?|s3n|hdfs|file|gs|abfss?|wasbs?|glue|athena|redshift)://", re.I)
#: Suffixes that make the last segment a file rather than a dataset folder.
_FILE_SUFFIX = re.compile(r"\.(csv|json|jsonl|parquet|orc|avro|txt|gz|snappy|zip|tsv|xml|py|jar|sql)$", re.I)


@dataclass(frozen=True)
class Location:
    """A storage location as one pipeline uses it."""

    role: str
    uri: str
    raw: str
    line: int | None = None
    via: str | None = None  # the call or operator argument it came from
    confidence: str | None = None  # "low" when found by the token fallback, not the syntax tree
    # What the code says about the store, for dataset naming (OpenLineage); None where it says nothing.
    cluster: str | None = None  # Redshift cluster identifier or Serverless workgroup
    region: str | None = None  # AWS region name of the store
    port: int | None = None  # when not the engine's default
    namenode: str | None = None  # "host:port" of an hdfs:/// path

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown location role {self.role!r}; use one of {', '.join(ROLES)}")

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def normalize_jinja(text: str) -> str:
    """Space every ``{{ expr }}`` the same way."""
    return _JINJA.sub(lambda m: "{{ " + re.sub(r"\s+", " ", m.group(1)) + " }}", text)


def looks_like_location(text: str) -> bool:
    """Whether a string written in code is plausibly a storage location (not free text).

    >>> looks_like_location("s3://bucket/key"), looks_like_location("hello world")
    (True, False)
    """
    t = _JINJA.sub("{{x}}", text.strip())
    if not t or " " in t and not t.startswith("jdbc:"):
        return False
    return bool(_URI_START.match(t)) or t.startswith("jdbc:")


def normalize_uri(raw: str) -> str:
    """The normal form of a location written in code (see the module docstring)."""
    text = normalize_jinja(raw.strip())
    if text.lower().startswith("jdbc:"):
        return text
    m = re.match(r"^([A-Za-z][\w+.\-]*)://(.*)$", text, re.S)
    if not m:
        return text.rstrip("/") or text
    scheme, rest = m.group(1).lower(), m.group(2)
    scheme = _SCHEME_ALIASES.get(scheme, scheme)
    if scheme in ("glue", "athena", "redshift"):
        return f"{scheme}://{rest.strip('/').lower()}"
    leading = "/" if rest.startswith("/") else ""  # file:///tmp, hdfs:///x
    segments = [s for s in rest.split("/") if s]
    segments = [_normalize_segment(s) for s in segments]
    return f"{scheme}://{leading}{'/'.join(segments)}"


def _normalize_segment(segment: str) -> str:
    m = _PARTITION.match(segment)
    if not m or "{" in m.group(1):
        return segment
    key, value = m.groups()
    if _PLACEHOLDER.match(value):
        return segment
    return f"{key}={{{key}}}"


def table_uri(scheme: str, name: str, *, database: str | None = None) -> str:
    """The URI of a catalog table; ``database`` qualifies an unqualified name.

    >>> table_uri("glue", "Sales.Orders"), table_uri("athena", "orders", database="sales")
    ('glue://sales.orders', 'athena://sales.orders')
    """
    name = name.strip().strip("`\"")
    if database and "." not in name:
        name = f"{database}.{name}"
    return normalize_uri(f"{scheme}://{name}")


def dataset_key(uri: str) -> str:
    """The identity of the dataset behind a location: no partitions, file names or globs.

    Two pipelines touch the same data when their keys are equal or one is a prefix of the
    other (see :func:`overlaps`). Athena tables live in the Glue catalog, so they share keys.
    """
    if uri.startswith("athena://"):
        uri = "glue://" + uri[len("athena://"):]
    if "://" not in uri or uri.startswith(("glue://", "redshift://")):
        return uri
    scheme, rest = uri.split("://", 1)
    parts = rest.split("/")
    while len(parts) > 1 and (
        _PARTITION.match(parts[-1]) or _FILE_SUFFIX.search(parts[-1]) or "*" in parts[-1]
        or _PLACEHOLDER.match(parts[-1])
    ):
        parts.pop()
    return f"{scheme}://{'/'.join(parts)}"


def overlaps(a: str, b: str) -> bool:
    """Whether two locations may hold the same data (equal keys, or one contains the other).

    >>> overlaps("s3://lake/raw", "s3://lake/raw/events/dt={dt}"), overlaps("s3://a/x", "s3://a/xy")
    (True, False)
    """
    ka, kb = dataset_key(a), dataset_key(b)
    if ka == kb:
        return True
    short, long_ = sorted((ka, kb), key=len)
    return long_.startswith(short.rstrip("/") + "/")
