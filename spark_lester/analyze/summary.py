"""What a pipeline does, in a short paragraph: offline from the static facts, or by an LLM.

:func:`describe` renders the operations and locations found statically; it needs nothing
but the pipeline. :func:`llm_summary` asks an OpenAI-compatible endpoint through the project's
one LLM client (:class:`spark_lester.rewrite.client.LLMClient`, see :func:`client_from_env`)
and accepts the answer only if every location it names was found statically
(:func:`check_locations`); otherwise it raises :class:`~spark_lester.errors.SummaryRejectedError`.

>>> from spark_lester.analyze.pipeline import Pipeline
>>> from spark_lester.analyze.locations import Location
>>> p = Pipeline("jobs/clean.py", "pyspark", locations=[Location("input", "s3://raw/orders", "s3://raw/orders/"),
...     Location("output", "glue://mart.orders", "mart.orders")],
...     operations=[{"op": "read"}, {"op": "filter"}, {"op": "join"}, {"op": "aggregate"}, {"op": "write"}])
>>> describe(p)
'PySpark job jobs/clean.py reads s3://raw/orders, filters rows, joins datasets and aggregates, and writes glue://mart.orders.'
>>> check_locations("Reads s3://raw/orders and writes glue://mart.orders.", p.uris())
[]
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spark_lester.analyze.locations import normalize_uri, overlaps
from spark_lester.analyze.pipeline import Pipeline
from spark_lester.errors import SummaryRejectedError

_KIND_NAMES = {"airflow_dag": "Airflow DAG", "dagfactory": "dag-factory DAG", "glue_job": "Glue job",
               "pyspark": "PySpark job", "sql": "SQL script", "emr_steps": "EMR step definition",
               "python": "Python script"}
_OP_PHRASES = (
    ("filter", "filters rows"), ("join", "joins datasets"), ("aggregate", "aggregates"),
    ("window", "uses window functions"), ("udf", "applies user-defined functions"),
    ("derive", "derives columns"), ("deduplicate", "removes duplicates"), ("union", "unions inputs"),
    ("merge", "merges into a table"), ("project", "selects columns"), ("cast", "resolves types"),
    ("flatten", "flattens nested data"), ("purge", "purges old data"), ("emr_step", "runs EMR steps"),
)
_URI = re.compile(r"""(?:s3a?|s3n|glue|athena|redshift|hdfs|gs|abfss?|dynamodb)://[^\s'"`,;)\]]+|jdbc:[^\s'"`,;)\]]+""")


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _few(uris: list[str], n: int = 3) -> str:
    uris = list(dict.fromkeys(uris))
    return _join(uris[:n] + ([f"{len(uris) - n} more"] if len(uris) > n else []))


def describe(p: Pipeline) -> str:
    """An offline summary from the statically found operations and locations."""
    head = f"{_KIND_NAMES.get(p.kind, p.kind)} {p.dag_id or p.file}"
    if p.dag_id:
        head += f" ({p.file})"
    parts: list[str] = []
    if p.schedule is not None:
        parts.append(f"runs on schedule {json.dumps(p.schedule) if not isinstance(p.schedule, str) else p.schedule}")
    if p.tasks:
        ops = Counter(t.get("operator", "?") for t in p.tasks)
        parts.append(f"has {len(p.tasks)} task{'s' * (len(p.tasks) != 1)} ({', '.join(f'{n}x {o}' for o, n in ops.most_common(3))})")
    ins, interim, outs = p.uris("input"), p.uris("interim"), p.uris("output")
    if ins:
        parts.append(f"reads {_few(ins)}")
    present = {o.get("op") for o in p.operations}
    phrases = [text for op, text in _OP_PHRASES if op in present]
    if phrases:
        parts.append(_join(phrases))
    if interim:
        parts.append(f"stages data in {_few(interim)}")
    if outs:
        parts.append(f"writes {_few(outs)}")
    if p.launches:
        parts.append(f"launches {_few(p.launches)}")
    if not parts:
        return f"{head} has no data input or output that static analysis can see."
    if len(parts) > 1:
        body = ", ".join(parts[:-1]) + ", and " + parts[-1]
    else:
        body = parts[0]
    return f"{head} {body}."


def check_locations(text: str, allowed: list[str]) -> list[str]:
    """Locations named in ``text`` that are not (within) a statically found location."""
    unknown = []
    for raw in _URI.findall(text):
        uri = normalize_uri(raw.rstrip("."))
        if not any(uri == a or overlaps(uri, a) for a in allowed):
            unknown.append(uri)
    return list(dict.fromkeys(unknown))


def client_from_env(**overrides: Any) -> Any:
    """The rewrite package's :class:`~spark_lester.rewrite.client.LLMClient`, configured from
    ``SPARK_LESTER_LLM_*`` and ``OPENAI_API_KEY`` (read there, never logged), plain answers only.

    ``overrides`` are :class:`~spark_lester.rewrite.client.LLMSettings` fields (``model``,
    ``base_url``, ...). Requires the ``rewrite`` extra (``openai``).
    """
    from spark_lester.rewrite.client import LLMClient, LLMSettings

    return LLMClient(LLMSettings.from_env(**{"structured": "off", **overrides}))


def ask(client: Any, messages: Sequence[Mapping[str, str]]) -> str:
    """The text of ``client.complete(messages)``: an ``LLMClient`` completion, or a plain string."""
    answer = client.complete(list(messages))
    return str(getattr(answer, "text", answer)).strip()


def _prompt(p: Pipeline, source: str | None) -> list[dict[str, str]]:
    facts: dict[str, Any] = {"file": p.file, "kind": p.kind, "dag_id": p.dag_id, "schedule": p.schedule,
                             "locations": [loc.to_dict() for loc in p.locations],
                             "operations": p.operations[:50], "tasks": [t.get("task_id") for t in p.tasks]}
    user = ("Summarise in at most four sentences what this data pipeline does: inputs, "
            "transformations, outputs. Name only storage locations from the facts; do not invent any.\n"
            f"Facts: {json.dumps(facts, default=str)}")
    if source:
        user += f"\nSource (truncated):\n{source[:6000]}"
    return [{"role": "system", "content": "You document data pipelines precisely and briefly."},
            {"role": "user", "content": user}]


def llm_summary(p: Pipeline, client: Any, *, source: str | None = None) -> str:
    """An LLM summary of ``p``; rejected if it names a location not found statically.

    ``client`` is an :class:`~spark_lester.rewrite.client.LLMClient` (:func:`client_from_env`);
    its :class:`~spark_lester.errors.LLMError` says whether a retry can help.
    """
    text = ask(client, _prompt(p, source))
    unknown = check_locations(text, p.uris())
    if unknown:
        raise SummaryRejectedError(unknown, path=p.file)
    return text


def add_llm_summaries(catalog: dict[str, Any], client: Any) -> dict[str, Any]:
    """Add ``llm_summary`` to each catalog pipeline; a rejected answer is recorded, not used."""
    from spark_lester.analyze.locations import Location

    root = catalog.get("root")
    for entry in catalog.get("pipelines", []):
        p = Pipeline(entry["file"], entry["kind"], dag_id=entry.get("dag_id"), schedule=entry.get("schedule"),
                     locations=[Location(loc["role"], loc["uri"], loc.get("raw", loc["uri"]))
                                for loc in entry.get("locations", [])],
                     operations=entry.get("operations", []), tasks=entry.get("tasks", []))
        source = None
        if root:
            try:
                source = (Path(root) / entry["file"]).read_text(encoding="utf-8", errors="replace")
            except OSError:
                source = None
        try:
            entry["llm_summary"] = llm_summary(p, client, source=source)
        except SummaryRejectedError as err:
            entry["llm_summary"] = None
            entry["llm_summary_rejected"] = list(err.unknown)
    return catalog
