"""Typed configuration read from ``SPARK_LESTER_*`` environment variables.

One frozen object, built once and passed explicitly. Secrets (S3 keys) are not stored here:
they are read where they are used (the session factory) and never logged.

>>> cfg = LesterConfig.from_env({"SPARK_LESTER_MASTER": "local[1]", "SPARK_LESTER_PLATFORM": "local"})
>>> cfg.master, cfg.platform, cfg.shuffle_partitions
('local[1]', 'local', 8)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from spark_lester.errors import ConfigError

PREFIX = "SPARK_LESTER_"
PLATFORMS = ("local", "emr", "glue")


def project_root() -> Path:
    """The checkout this package lives in (where pom.xml and .jars/ are)."""
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LesterConfig:
    """Settings of one spark_lester process.

    platform: ``local`` adds Delta and S3A jars from ``jars_dir``; ``emr`` and ``glue`` add
    nothing JVM-side and use the cluster's own Delta and S3 connectors.
    """

    platform: str = "local"
    master: str = "local[2]"
    app_name: str = "spark_lester"
    warehouse: str = "./.lester/warehouse"
    jars_dir: Path = field(default_factory=lambda: project_root() / ".jars")
    shuffle_partitions: int = 8
    driver_memory: str = "4g"
    s3_endpoint: str | None = None
    s3_path_style: bool = True
    s3_ssl: bool = False
    spark_ui: bool = False
    log_level: str = "WARN"
    #: Local sessions: Python workers fork from a daemon with torch and sentence-transformers
    #: imported (spark_lester.worker_daemon); off for short sessions that never embed text.
    worker_preload: bool = True
    #: Local sessions: the module Spark's Python worker daemon runs instead of the default
    #: (the rewrite sandbox's runner sets ``spark_lester.rewrite._worker_guard``).
    python_daemon_module: str | None = None
    #: Certified gradient-residual budget of a model update (above it: retrain); 0 = no bound.
    unlearning_budget: float = 1e-4
    #: Allow the refinement pass over X (one Spark job) when one Newton step's certified
    #: bound exceeds the budget (always taken when there is no budget).
    unlearning_refine: bool = True

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ConfigError(
                f"SPARK_LESTER_PLATFORM={self.platform!r} is not one of {', '.join(PLATFORMS)}."
            )
        if self.unlearning_budget < 0:
            raise ConfigError("SPARK_LESTER_UNLEARNING_BUDGET must be >= 0 (0: no bound).")
        if self.shuffle_partitions < 1:
            raise ConfigError("SPARK_LESTER_SHUFFLE_PARTITIONS must be a positive integer.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> LesterConfig:
        """Read every field from ``SPARK_LESTER_<FIELD>``; keyword overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, str(f.type), raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> LesterConfig:
        return replace(self, **changes)  # type: ignore[arg-type]


def _parse(name: str, type_name: str, raw: str) -> object:
    var = PREFIX + name.upper()
    if "bool" in type_name:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{var}={raw!r} is not a boolean; use true or false.")
    if "int" in type_name:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not an integer.") from None
    if "float" in type_name:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a number.") from None
    if "Path" in type_name:
        return Path(raw)
    return raw
