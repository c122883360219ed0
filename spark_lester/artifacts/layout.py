"""Where every artifact lives: table names and warehouse paths, spelled here once.

One warehouse root (a local folder by default, ``s3a://bucket/prefix`` on AWS) holds::

    <root>/_lester/runs                       run registry (Delta, one row per run)
    <root>/_lester/ledger                     audit ledger of deletion requests (Delta)
    <root>/_lester/applied                    source row ids each request removed or redacted
    <root>/_lester/pipelines/<sha256>/...     pipeline files that jobs fetched from S3 (Glue)
    <root>/<pipeline>/<run_id>/prepared       prepared rows: data, split, row id, provenance
    <root>/<pipeline>/<run_id>/features       X and y: row id, provenance, split, features, label
    <root>/<pipeline>/<run_id>/model          model parameters, one row per version

>>> layout = Layout("s3a://lake/warehouse")
>>> layout.table("running_example", "r1", PREPARED)
's3a://lake/warehouse/running_example/r1/prepared'
>>> layout.runs
's3a://lake/warehouse/_lester/runs'
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from spark_lester.errors import ConfigError

#: Artifact tables of one run, in the order a deletion updates them.
PREPARED, FEATURES, MODEL = "prepared", "features", "model"
RUN_TABLES = (PREPARED, FEATURES)
#: System tables under the root.
SYSTEM_DIR = "_lester"
RUNS, LEDGER, APPLIED = "runs", "ledger", "applied"
#: Copies of the pipeline files that jobs ran, by content hash (a run re-imports its pipeline).
PIPELINES = "pipelines"

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def check_name(kind: str, value: str) -> str:
    """Pipeline names and run ids become path segments: keep them plain."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(f"invalid {kind} {value!r}: use letters, digits, '_', '-', '.'.")
    return value


def normalize_root(warehouse: str) -> str:
    """Absolute local path, or the URI as given (``s3://`` is read through S3A)."""
    if "://" in warehouse:
        return warehouse.rstrip("/")
    return os.path.abspath(warehouse)


@dataclass(frozen=True)
class Layout:
    """Paths under one warehouse root."""

    root: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", normalize_root(self.root))

    @property
    def runs(self) -> str:
        return f"{self.root}/{SYSTEM_DIR}/{RUNS}"

    @property
    def ledger(self) -> str:
        return f"{self.root}/{SYSTEM_DIR}/{LEDGER}"

    @property
    def applied(self) -> str:
        return f"{self.root}/{SYSTEM_DIR}/{APPLIED}"

    @property
    def pipelines(self) -> str:
        return f"{self.root}/{SYSTEM_DIR}/{PIPELINES}"

    def run_dir(self, pipeline: str, run_id: str) -> str:
        return f"{self.root}/{check_name('pipeline name', pipeline)}/{check_name('run id', run_id)}"

    def table(self, pipeline: str, run_id: str, name: str) -> str:
        if name not in (*RUN_TABLES, MODEL):
            raise ConfigError(f"unknown artifact table {name!r}; known: "
                              f"{', '.join((*RUN_TABLES, MODEL))}.")
        return f"{self.run_dir(pipeline, run_id)}/{name}"
