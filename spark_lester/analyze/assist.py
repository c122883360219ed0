"""LLM assist: ask a model what an unresolved location is, and keep only answers the code shows.

Static analysis leaves a location unresolved when its store comes from run time
(``spark.read.parquet(sys.argv[1])`` is ``{sys.argv[1]}``; ``s3://{{ params.bucket }}/raw``).
Often the value is written elsewhere in the repository (the DAG that passes the argument, a
config module), which a model reading the code can point at. :func:`assist` asks the
configured OpenAI-compatible endpoint, through the project's one client
(:func:`spark_lester.analyze.summary.client_from_env`), for each unresolved read or write, and
accepts an answer only if it is consistent with the static facts:

1. it is a location whose store (scheme and bucket/host/database) is literal;
2. it keeps every literal part of the static location (``s3://{{ params.bucket }}/raw`` admits
   ``s3://lake/raw``, not ``s3://lake/other``);
3. it cites evidence: a snippet that occurs verbatim in a file of the repository and contains the
   answer's store, so no bucket or host is taken on the model's word.

An accepted location gets the answer as ``uri`` with ``source: "llm"``, the static value in
``static_uri`` and the evidence; a rejected one keeps its static value and gets ``llm_rejected``
with the reason. The catalog's ``datasets`` and ``lineage`` stay as static analysis found them:
a model's answer is never evidence for a lineage edge.

>>> consistent("{sys.argv[1]}", "s3://lake/raw/orders")
>>> consistent("s3://{{ params.bucket }}/raw", "s3://lake/other")
"it drops or changes the literal parts of 's3://{{ params.bucket }}/raw'"
>>> consistent("{args.input}", "s3://{{ var.bucket }}/x")
'its bucket, host or database is still unresolved'
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from spark_lester.analyze.locations import looks_like_location, normalize_uri
from spark_lester.analyze.summary import ask
from spark_lester.errors import LLMError

_ROLES = ("input", "interim", "output")
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{[^{}]*\}|\$\{[^{}]*\}")
_TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".json", ".sql", ".cfg", ".ini", ".toml", ".env", ".conf", ".sh",
                  ".properties", ".txt"}
_MAX_FILE_BYTES = 1_000_000
_CONTEXT_LINES = 40


def _store(uri: str) -> str | None:
    """``scheme://authority`` of a location (the database for catalog tables), or None."""
    if "://" not in uri:
        return None
    scheme, rest = uri.split("://", 1)
    if scheme in ("glue", "athena", "redshift"):
        return f"{scheme}://{rest.split('.', 1)[0]}"
    return f"{scheme}://{rest.split('/', 1)[0]}"


def unresolved(uri: str) -> bool:
    """Whether a location's store is unknown statically (no scheme, or a placeholder in it)."""
    store = _store(uri)
    return store is None or bool(_TEMPLATE.search(store)) or "$" in store


def consistent(static_uri: str, answer: str) -> str | None:
    """Why ``answer`` contradicts what static analysis knows of ``static_uri``; None if it does not."""
    if not looks_like_location(answer):
        return "it is not a storage location"
    norm = normalize_uri(answer)
    if unresolved(norm):
        return "its bucket, host or database is still unresolved"
    parts = _TEMPLATE.split(normalize_uri(static_uri))
    pattern = ".+?".join(re.escape(p) for p in parts)
    # The answer may name the dataset more precisely (a file, a partition) than the static value.
    if not re.fullmatch(pattern + r"(?:/.*)?", norm):
        return f"it drops or changes the literal parts of {static_uri!r}"
    return None


def _repository_text(root: Path, files: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    candidates = [root / f for f in files]
    if root.is_dir():
        candidates += sorted(p for p in root.rglob("*") if p.suffix.lower() in _TEXT_SUFFIXES
                             and ".git" not in p.parts)[:5000]
    for path in candidates:
        try:
            if path.is_file() and path.stat().st_size <= _MAX_FILE_BYTES:
                out.setdefault(path.relative_to(root).as_posix() if root.is_dir() else path.name,
                               path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError):
            continue
    return out


def _excerpt(text: str, line: int | None) -> str:
    lines = text.splitlines()
    if line is None:
        return "\n".join(lines[: 2 * _CONTEXT_LINES])
    lo = max(0, line - 1 - _CONTEXT_LINES)
    return "\n".join(f"{i + 1}: {x}" for i, x in enumerate(lines[lo: line + _CONTEXT_LINES], start=lo))


def _prompt(file: str, loc: dict[str, Any], source: str, known: list[str]) -> list[dict[str, str]]:
    question = {
        "file": file, "line": loc.get("line"), "role": loc["role"], "as_written": loc.get("raw", loc["uri"]),
        "static_value": loc["uri"], "via": loc.get("via"),
        "locations_written_literally_in_the_repository": known[:200],
    }
    user = ("Static analysis could not resolve where this pipeline reads or writes data. From the code, "
            "which concrete storage location does it take when the pipeline runs in production? Answer "
            'with JSON only: {"uri": "<location>", "evidence_file": "<path>", "evidence": "<an exact '
            'snippet of that file, copied verbatim, that contains the bucket or host>"}, or {"uri": null} '
            "if the code does not show it. Never guess a bucket or host.\n"
            f"Facts: {json.dumps(question, default=str)}\nSource of {file} around the line:\n{source}")
    return [{"role": "system", "content": "You read data-pipeline code precisely and never invent values."},
            {"role": "user", "content": user}]


def _parse(text: str) -> dict[str, Any] | None:
    m = re.search(r"\{.*\}", text, re.S)
    if not m:
        return None
    try:
        data = json.loads(m.group(0))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _judge(loc: dict[str, Any], answer: dict[str, Any] | None, texts: dict[str, str]) -> tuple[str | None, str]:
    """(accepted uri or None, reason or evidence file)."""
    if answer is None:
        return None, "the answer is not JSON"
    uri = answer.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        return None, "the model says the code does not show it"
    why = consistent(loc["uri"], uri.strip())
    if why:
        return None, why
    norm = normalize_uri(uri.strip())
    snippet, file = answer.get("evidence"), answer.get("evidence_file")
    if not isinstance(snippet, str) or not snippet.strip():
        return None, "no evidence cited"
    authority = (_store(norm) or "").split("://", 1)[-1]
    if authority.lower() not in snippet.lower():
        return None, f"the evidence does not contain {authority!r}"
    where = [f for f, t in texts.items() if snippet in t]
    if not where:
        return None, "the evidence does not occur verbatim in the repository"
    return norm, (file if file in where else where[0])


def assist(catalog: dict[str, Any], client: Any, *, root: str | Path | None = None) -> list[dict[str, Any]]:
    """Resolve unresolved reads and writes of ``catalog`` with the model; see the module doc.

    Returns one record per question (file, line, static value, answer, accepted, reason).
    A non-retryable :class:`~spark_lester.errors.LLMError` (bad key, unknown model) stops the
    run; a retryable one (after the client's own retries) is recorded and the run goes on.
    """
    base = Path(root if root is not None else catalog.get("root", "."))
    pipelines = catalog.get("pipelines", [])
    texts = _repository_text(base, [p["file"] for p in pipelines])
    known = sorted({loc["uri"] for p in pipelines for loc in p.get("locations", []) if not unresolved(loc["uri"])})
    records: list[dict[str, Any]] = []
    for p in pipelines:
        for loc in p.get("locations", []):
            if loc["role"] not in _ROLES or not unresolved(loc["uri"]):
                continue
            record: dict[str, Any] = {"file": p["file"], "line": loc.get("line"), "static_uri": loc["uri"]}
            try:
                text = ask(client, _prompt(p["file"], loc, _excerpt(texts.get(p["file"], ""), loc.get("line")), known))
            except LLMError as err:
                if not err.retryable:
                    raise
                loc["llm_rejected"] = record["reason"] = f"the endpoint failed: {err}"
                records.append({**record, "accepted": False})
                continue
            answer = _parse(text)
            uri, detail = _judge(loc, answer, texts)
            record["answer"] = answer.get("uri") if answer else text[:200]
            if uri is None:
                loc["llm_rejected"] = record["reason"] = detail
                records.append({**record, "accepted": False})
                continue
            evidence = {"file": detail, "text": str(answer.get("evidence"))[:500]} if answer else {}
            loc.update({"static_uri": loc["uri"], "uri": uri, "source": "llm", "evidence": evidence})
            loc.pop("llm_rejected", None)
            records.append({**record, "accepted": True, "uri": uri, "evidence": evidence})
    return records
