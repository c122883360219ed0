"""Analyze a repository: every pipeline, its locations, owners, links and lineage.

:func:`analyze` walks the tree once (never importing or executing anything), dispatches each
file by type (Python: Airflow, Glue, PySpark; ``.sql``; dag-factory YAML; EMR step or Glue
job JSON), adds owners from ``default_args``, CODEOWNERS and git history, links DAGs to the
scripts they launch, joins Glue tables with their S3 locations into datasets, and derives
lineage between pipelines (one writes what another reads). Files that cannot be analyzed
(syntax errors, binary, too large, symlink loops) are listed under ``problems``.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "job.py").write_text("df = spark.read.csv('s3a://raw/in/')\\ndf.write.parquet('s3://out/x/')")
>>> c = analyze(d, git=False)
>>> [(p["file"], p["kind"], [(l["role"], l["uri"]) for l in p["locations"]]) for p in c["pipelines"]]
[('job.py', 'pyspark', [('input', 's3://raw/in'), ('output', 's3://out/x')])]
"""

from __future__ import annotations

import ast
import json
import time
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from spark_lester.analyze._private import Findings, finalize_roles, read_text, walk_files
from spark_lester.analyze.airflow import airflow
from spark_lester.analyze.dagfactory import dagfactory
from spark_lester.analyze.emr_steps import emr_steps
from spark_lester.analyze.glue import glue
from spark_lester.analyze.locations import dataset_key, table_uri
from spark_lester.analyze.ownership import (
    author_probabilities,
    codeowners_for,
    git_history,
    read_codeowners,
)
from spark_lester.analyze.pipeline import Pipeline
from spark_lester.analyze.pyspark import pyspark
from spark_lester.analyze.resolve import Resolver
from spark_lester.analyze.sql import REDSHIFT_HINT, sql_tables
from spark_lester.analyze.summary import describe
from spark_lester.errors import AnalyzeError

#: File suffixes the analyzer reads; everything else is counted and skipped.
SOURCE_SUFFIXES = (".py", ".sql", ".yml", ".yaml", ".json")
#: How many git authors to list per pipeline.
GIT_OWNERS = 3


def analyze(path: str | Path, *, git: bool = True, progress: bool = False) -> dict[str, Any]:
    """The JSON catalog of the repository at ``path`` (see the README for its shape)."""
    root = Path(path)
    if not root.exists():
        raise AnalyzeError("does not exist", path=str(path), hint="Pass the root of a repository.")
    root = root.resolve()
    started = time.perf_counter()
    problems: list[dict[str, str]] = []
    if root.is_file():
        files, base = [root], root.parent
    else:
        files, base = list(walk_files(root, problems)), root
    pipelines: list[Pipeline] = []
    skipped = 0
    bar = _progress(files, progress)
    for file in bar:
        rel = file.relative_to(base).as_posix() if file.is_relative_to(base) else str(file)
        if not file.name.lower().endswith(SOURCE_SUFFIXES):
            skipped += 1
            continue
        try:
            pipelines += analyze_file(file, rel)
        except AnalyzeError as err:
            problems.append({"file": rel, "error": str(err)})
        except RecursionError:
            problems.append({"file": rel, "error": "too deeply nested to analyze; skipped"})
    if hasattr(bar, "close"):
        bar.close()
    _link_launches(pipelines, {f.relative_to(base).as_posix() for f in files if f.is_relative_to(base)})
    _owners(pipelines, base, git)
    for p in pipelines:
        if p.summary is None:
            p.summary = describe(p)
    datasets = _datasets(pipelines)
    return {
        "root": str(root),
        "pipelines": [p.to_dict() for p in pipelines],
        "datasets": datasets,
        "lineage": _lineage(pipelines, datasets),
        "problems": problems,
        "stats": {"files": len(files), "skipped": skipped, "pipelines": len(pipelines),
                  "problems": len(problems), "seconds": round(time.perf_counter() - started, 3)},
    }


def _progress(files: list[Path], enabled: bool) -> Any:
    if not enabled:
        return files
    from tqdm import tqdm

    return tqdm(files, desc="analyze", unit="file", disable=len(files) < 50)


def analyze_file(file: Path, rel: str) -> list[Pipeline]:
    """The pipelines defined in one file (empty when it has none); AnalyzeError if unreadable."""
    try:
        text = read_text(file)
    except (ValueError, OSError) as err:
        raise AnalyzeError(str(err), path=rel) from None
    suffix = file.suffix.lower()
    if suffix == ".py":
        return _python(text, rel)
    if suffix == ".sql":
        return _sql_file(text, rel)
    if suffix in (".yml", ".yaml"):
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise AnalyzeError(f"YAML does not parse: {str(err).splitlines()[0]}", path=rel) from None
        return dagfactory(doc, rel)
    if suffix == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise AnalyzeError(f"JSON does not parse: {err}", path=rel) from None
        found = emr_steps(doc)
        if found is None:
            return []
        f, config = found
        kind = "glue_job" if "GlueVersion" in config or any(l.via == "Command.ScriptLocation" for l in f.locations) else "emr_steps"
        p = Pipeline(rel, kind, locations=finalize_roles(f.locations), operations=f.operations,
                     launches=list(f.launches), config=config)
        return [p]
    return []


def _imports(tree: ast.AST) -> set[str]:
    mods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module.split(".")[0])
    return mods


def _python(text: str, rel: str) -> list[Pipeline]:
    try:
        tree = ast.parse(text, filename=rel)
    except SyntaxError as err:
        raise AnalyzeError(f"syntax error at line {err.lineno}: {err.msg}", path=rel) from None
    except ValueError as err:  # null bytes and similar
        raise AnalyzeError(f"cannot parse: {err}", path=rel) from None
    mods = _imports(tree)
    if "airflow" in mods:
        dags = airflow(tree, rel)
        if dags:
            return dags
    r = Resolver(tree)
    f = Findings()
    kind = "python"
    if "awsglue" in mods:
        kind = "glue_job"
        f.extend(glue(tree, r))
    if "pyspark" in mods or "delta" in mods:
        kind = "pyspark" if kind == "python" else kind
    f.extend(pyspark(tree, r))
    if kind == "python" and any((loc.via or "").startswith(("read.", "write.", "sql", "spark.table"))
                                for loc in f.locations):
        kind = "pyspark"
    if kind == "python" and not f.locations:
        return []
    f.operations.sort(key=lambda o: o.get("line") or 0)
    return [Pipeline(rel, kind, locations=finalize_roles(f.locations), operations=f.operations,
                     launches=list(f.launches), aliases=[list(a) for a in f.aliases])]


def _sql_file(text: str, rel: str) -> list[Pipeline]:
    redshift = bool(REDSHIFT_HINT.search(text))
    t = sql_tables(text, "redshift" if redshift else None)
    f = Findings()

    def uri(name: str) -> str:
        if redshift:
            if name.count(".") >= 2:
                return table_uri("redshift", name)
            return table_uri("redshift", "{database}." + (name if "." in name else f"public.{name}"))
        return table_uri("glue", name)

    for name in t.reads:
        f.add("input", uri(name), None, "sql")
    for name in t.writes:
        f.add("output", uri(name), None, "sql")
    aliases = []
    for name, loc in t.locations.items():
        storage = f.add("output", loc, None, "LOCATION")
        if storage:
            aliases.append([uri(name), storage])
    f.add("input", t.s3_reads, None, "COPY")
    f.add("output", t.s3_writes, None, "UNLOAD")
    for op, detail in t.operations:
        f.op(op, detail)
    p = Pipeline(rel, "sql", locations=finalize_roles(f.locations), operations=f.operations, aliases=aliases)
    if t.error:
        p.config["parse_error"] = t.error
    return [p]


def _link_launches(pipelines: list[Pipeline], files: set[str]) -> None:
    """Replace launched script URIs by repository files with the same name, where unique."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for f in files:
        by_name[PurePosixPath(f).name].append(f)
    for p in pipelines:
        linked = []
        for uri in p.launches:
            name = PurePosixPath(uri.split("://", 1)[-1]).name
            candidates = by_name.get(name, [])
            if len(candidates) > 1:  # prefer the longest common path suffix
                tail = uri.split("://", 1)[-1].split("/")
                candidates = sorted(candidates, key=lambda c: -sum(
                    1 for a, b in zip(reversed(c.split("/")), reversed(tail), strict=False) if a == b))[:1]
            linked.append(candidates[0] if candidates else uri)
        p.launches = list(dict.fromkeys(linked))
        if linked:
            p.config.setdefault("launch_uris", [u for u in p.launches])


def _owners(pipelines: list[Pipeline], root: Path, git: bool) -> None:
    rules = read_codeowners(root)
    probs = author_probabilities(git_history(root)) if git else {}
    for p in pipelines:
        owners: list[dict[str, Any]] = [{"name": o, "source": "default_args", "probability": None}
                                        for o in p.default_args_owner]
        owners += [{"name": o, "source": "codeowners", "probability": None}
                   for o in codeowners_for(rules, p.file)]
        for o in probs.get(p.file, [])[:GIT_OWNERS]:
            owners.append({"name": o["name"], "email": o["email"], "source": "git",
                           "probability": round(o["probability"], 4), "commits": o["commits"]})
        p.owners = owners


def _datasets(pipelines: list[Pipeline]) -> list[dict[str, Any]]:
    """Locations grouped into datasets: a Glue table and its S3 location are one dataset."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pipelines:
        for loc in p.locations:
            if loc.role in ("input", "output", "interim"):
                find(dataset_key(loc.uri))
        for table, storage in p.aliases:
            parent[find(dataset_key(table))] = find(dataset_key(storage))
    groups: dict[str, dict[str, Any]] = {}
    for p in pipelines:
        for loc in p.locations:
            if loc.role not in ("input", "output", "interim"):
                continue
            root = find(dataset_key(loc.uri))
            g = groups.setdefault(root, {"id": root, "uris": [], "readers": [], "writers": []})
            if loc.uri not in g["uris"]:
                g["uris"].append(loc.uri)
            key = "readers" if loc.role == "input" else "writers"
            if p.name not in g[key]:
                g[key].append(p.name)
            if loc.role == "interim" and p.name not in g["readers"]:
                g["readers"].append(p.name)
    for key in list(parent):
        root = find(key)
        if root in groups and key not in groups[root]["uris"] and key != root:
            groups[root].setdefault("aliases", []).append(key)
    return sorted(groups.values(), key=lambda g: g["id"])


def _lineage(pipelines: list[Pipeline], datasets: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Edges writer -> reader between pipelines through shared datasets, and DAG -> script."""
    edges: list[dict[str, str]] = []
    for g in datasets:
        for w in g["writers"]:
            for r in g["readers"]:
                if w != r:
                    edges.append({"from": w, "to": r, "via": g["id"]})
    names = {p.file: p.name for p in pipelines}
    for p in pipelines:
        for launched in p.launches:
            if launched in names:
                edges.append({"from": p.name, "to": names[launched], "via": "launches"})
    unique = {(e["from"], e["to"], e["via"]): e for e in edges}
    return list(unique.values())
