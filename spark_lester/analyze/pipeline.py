"""One analyzed pipeline: a DAG, a Glue or PySpark script, a SQL file or a set of EMR steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spark_lester.analyze.locations import Location

#: The kinds of pipeline the analyzer recognises.
KINDS: tuple[str, ...] = ("airflow_dag", "dagfactory", "glue_job", "pyspark", "sql", "emr_steps",
                          "python")


@dataclass
class Pipeline:
    """Everything known about one pipeline; :meth:`to_dict` is its JSON catalog entry."""

    file: str
    kind: str
    dag_id: str | None = None
    schedule: Any = None
    retries: int | None = None
    sla: Any = None
    owners: list[dict[str, Any]] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    edges: list[list[str]] = field(default_factory=list)
    launches: list[str] = field(default_factory=list)
    operations: list[dict[str, Any]] = field(default_factory=list)
    summary: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    aliases: list[list[str]] = field(default_factory=list)
    history: dict[str, Any] | None = None
    default_args_owner: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)  # parts that could not be analyzed

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown pipeline kind {self.kind!r}; use one of {', '.join(KINDS)}")

    @property
    def name(self) -> str:
        return f"{self.file}:{self.dag_id}" if self.dag_id else self.file

    def uris(self, *roles: str) -> list[str]:
        return [loc.uri for loc in self.locations if not roles or loc.role in roles]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "dag_id": self.dag_id,
            "schedule": self.schedule,
            "retries": self.retries,
            "sla": self.sla,
            "owners": self.owners,
            "locations": [loc.to_dict() for loc in self.locations],
            "tasks": self.tasks,
            "edges": self.edges,
            "launches": self.launches,
            "operations": self.operations,
            "summary": self.summary,
            "config": self.config,
            "aliases": self.aliases,
            "history": self.history,
        }
