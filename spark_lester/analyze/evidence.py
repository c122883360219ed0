"""When two pipelines' locations are the same data: evidence for a lineage edge.

A lineage edge says one pipeline's output is another's input. The analyzer draws one only
when the concrete parts of the two locations identify the same dataset. A match that rests on
what static analysis could not resolve, or on a name that means different data in different
places, is reported as a *weak candidate* with its reason instead:

- the bucket, host or database is a placeholder (``s3://{{ params.BUCKET }}/x``,
  ``s3://{sys.argv[1]}/x``, ``redshift://{database}.public.t``): two unknowns need not be equal;
- an unqualified table name (``glue://temp``): the default database of each session;
- a local path (``/tmp/out``) or an HDFS path without a namenode (``hdfs:///tmp/x``): every
  machine or cluster has its own;
- a launched script that matches a repository file by its file name only.

>>> weak_reason("s3://lake/orders"), weak_reason("glue://sales.orders")
(None, None)
>>> weak_reason("s3://{sys.argv[1]}/orders")
'the bucket is not resolved ({sys.argv[1]}): matching placeholders are no evidence'
>>> weak_reason("glue://temp")
'unqualified table name: each session has its own default database'
>>> weak_reason("s3://lake/{table}/dt={{ ds }}"), weak_reason("s3://lake/homes.csv")
('only the bucket is known: the rest of the path is not resolved', None)
"""

from __future__ import annotations

import posixpath
import re
from pathlib import PurePosixPath

from spark_lester.analyze.locations import dataset_key

_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{[^{}]*\}")


def weak_reason(key: str) -> str | None:
    """Why a location is no evidence that two pipelines share data; None if it is."""
    if key.startswith("jdbc:"):
        table = re.search(r"dbtable=([^&]+)", key)
        if table and not _concrete(table.group(1)):
            return f"the table name is not resolved ({table.group(1)})"
        return None
    if "://" not in key:
        if not _concrete(key) or _PLACEHOLDER.match(key):
            return f"the location is not resolved ({key}): matching placeholders are no evidence"
        return "local path: every machine has its own"
    scheme, rest = key.split("://", 1)
    if scheme in ("glue", "athena", "redshift"):
        parts = rest.split(".")
        if len(parts) < 2:
            return "unqualified table name: each session has its own default database"
        if not all(_concrete(p) for p in parts):
            unknown = next(p for p in parts if not _concrete(p))
            return f"part of the table name is not resolved ({unknown}): matching placeholders are no evidence"
        return None
    if rest.startswith("/") and scheme in ("hdfs", "file", "local", "viewfs"):
        return f"{scheme} path without a host: every cluster has its own"
    bucket = rest.split("/")[0]
    if not bucket or _PLACEHOLDER.search(bucket):
        return f"the bucket is not resolved ({bucket or 'empty'}): matching placeholders are no evidence"
    segments = rest.strip("/").split("/")[1:]
    if any(not _concrete(x) for x in segments) and "/" not in dataset_key(key).split("://", 1)[1]:
        return "only the bucket is known: the rest of the path is not resolved"
    return None


def _concrete(part: str) -> bool:
    return bool(re.search(r"[A-Za-z0-9]", _PLACEHOLDER.sub("", part))) and not _PLACEHOLDER.fullmatch(part)


def launch_match(uri: str, candidate: str, launcher: str | None = None) -> str | None:
    """Why a repository file is only a weak match for a launched script URI; None if it matches.

    The file name must match and so must at least one folder above it (``s3://code/jobs/etl.py``
    and ``jobs/etl.py``); a bare file-name match is weak.

    >>> launch_match("s3://code/jobs/etl.py", "project/jobs/etl.py") is None
    True
    >>> launch_match("s3://code/scripts/etl.py", "other/jobs/etl.py")
    'same file name only (etl.py): the folders differ'
    """
    tail = [p for p in uri.split("://", 1)[-1].split("/") if p]
    parts = candidate.split("/")
    if "://" not in uri and launcher:  # a template path: relative to the DAG's folder or one above it
        folder = posixpath.dirname(launcher)
        for base in (folder, posixpath.dirname(folder)):
            if posixpath.normpath(posixpath.join(base, uri)) == candidate:
                return None
        if launcher.split("/")[0] == parts[0] and candidate.endswith("/" + uri.lstrip("./")):
            return None  # same project folder; Airflow's template_searchpath
    common = 0
    for a, b in zip(reversed(parts), reversed(tail), strict=False):
        if a != b:
            break
        common += 1
    if common >= 2 or len(tail) == 1 and len(parts) == 1:
        return None
    return f"same file name only ({PurePosixPath(candidate).name}): the folders differ"
