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
import dataclasses
import json
import time
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from spark_lester.analyze._private import Findings, finalize_roles, read_text, walk_files
from spark_lester.analyze.airflow import airflow
from spark_lester.analyze.dagfactory import dagfactory, defaults_chain, is_dagfactory
from spark_lester.analyze.dialects import table_location
from spark_lester.analyze.embedded import embedded_scripts
from spark_lester.analyze.emr_steps import emr_steps
from spark_lester.analyze.evidence import launch_match, weak_reason
from spark_lester.analyze.fallback import fallback
from spark_lester.analyze.glue import glue
from spark_lester.analyze.locations import dataset_key, table_uri
from spark_lester.analyze.modules import ModuleIndex
from spark_lester.analyze.ownership import (
    author_probabilities,
    codeowners_for,
    git_history,
    read_codeowners,
)
from spark_lester.analyze.pipeline import Pipeline
from spark_lester.analyze.pyspark import pyspark
from spark_lester.analyze.resolve import ModuleLookup, Resolver
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
    problems: list[dict[str, Any]] = []
    if root.is_file():
        files, base = [root], root.parent
    else:
        files, base = list(walk_files(root, problems)), root
    pipelines: list[Pipeline] = []
    skipped = 0
    modules = ModuleIndex(base, files)
    bar = _progress(files, progress)
    for file in bar:
        rel = file.relative_to(base).as_posix() if file.is_relative_to(base) else str(file)
        if not file.name.lower().endswith(SOURCE_SUFFIXES):
            skipped += 1
            continue
        found, problem = analyze_isolated(file, rel, modules)
        pipelines += found
        if problem:
            problems.append(problem)
        for p in found:
            problems += [{"file": rel, **x, "error": f"{rel}: {x['error']}"} for x in p.problems]
    if hasattr(bar, "close"):
        bar.close()
    weak_launches = _link_launches(pipelines, {f.relative_to(base).as_posix() for f in files if f.is_relative_to(base)})
    _owners(pipelines, base, git)
    for p in pipelines:
        if p.summary is None:
            try:
                p.summary = describe(p)
            except Exception as err:  # noqa: BLE001 - a summary is optional; the catalog entry is not
                problems.append({"file": p.file, "line": None,
                                 "error": f"{p.file}: no summary ({type(err).__name__}: {str(err)[:200]})"})
    datasets = _datasets(pipelines)
    lineage, weak = _lineage(pipelines, datasets)
    return {
        "root": str(root),
        "pipelines": [p.to_dict() for p in pipelines],
        "datasets": datasets,
        "lineage": lineage,
        "weak_lineage": weak + weak_launches,
        "problems": problems,
        "stats": {"files": len(files), "skipped": skipped, "pipelines": len(pipelines),
                  "problems": len(problems), "seconds": round(time.perf_counter() - started, 3)},
    }


def _progress(files: list[Path], enabled: bool) -> Any:
    if not enabled:
        return files
    from tqdm import tqdm

    return tqdm(files, desc="analyze", unit="file", disable=len(files) < 50)


def analyze_isolated(file: Path, rel: str, modules: ModuleLookup | None = None
                     ) -> tuple[list[Pipeline], dict[str, Any] | None]:
    """The pipelines of one file and the problem it raised, if any; never raises.

    Whatever goes wrong in one file (it does not parse, an extractor meets a value it does not
    expect) is reported with the file, the line and the error; the text is then read by the
    token fallback, whose locations carry ``confidence="low"``.
    """
    try:
        return analyze_file(file, rel, modules), None
    except RecursionError:
        problem: dict[str, Any] = {"file": rel, "line": None, "error": "too deeply nested to analyze"}
    except AnalyzeError as err:
        problem = {"file": rel, "line": getattr(err, "line", None), "error": str(err)}
    except Exception as err:  # noqa: BLE001 - an analyzer bug on odd input must not cost the report
        problem = {"file": rel, "line": _failing_line(err),
                   "error": f"{rel}: analyzer error {type(err).__name__}: {str(err)[:200]}"}
    try:
        found = fallback(read_text(file), rel)
    except Exception:  # noqa: BLE001 - binary, too large, or unreadable: already reported
        found = []
    if found:
        problem["fallback"] = f"{sum(len(p.locations) for p in found)} locations from the token fallback"
    return found, problem


def _failing_line(err: BaseException) -> int | None:
    """The source line the analyzer was looking at when it failed (a syntax node in a frame)."""
    line = None
    tb = err.__traceback__
    while tb is not None:
        for name in ("node", "call", "stmt"):
            value = tb.tb_frame.f_locals.get(name)
            lineno = getattr(value, "lineno", None) if isinstance(value, ast.AST) else None
            if isinstance(lineno, int) and lineno:
                line = lineno
        tb = tb.tb_next
    return line


def analyze_file(file: Path, rel: str, modules: ModuleLookup | None = None) -> list[Pipeline]:
    """The pipelines defined in one file (empty when it has none); AnalyzeError if unreadable."""
    try:
        text = read_text(file)
    except (ValueError, OSError) as err:
        raise AnalyzeError(str(err), path=rel) from None
    suffix = file.suffix.lower()
    if suffix == ".py":
        return _python(text, rel, modules)
    if suffix == ".sql":
        return _sql_file(text, rel)
    if suffix in (".yml", ".yaml"):
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise AnalyzeError(f"YAML does not parse: {str(err).splitlines()[0]}", path=rel) from None
        if not is_dagfactory(doc):
            return []
        return dagfactory(doc, rel, defaults_chain(file.parent, _base_of(file, rel)))
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


def _base_of(file: Path, rel: str) -> Path:
    """The analyzed root a file was found under, from its path relative to it."""
    parts = Path(rel).parts
    if Path(rel).is_absolute() or len(parts) > len(file.parents):
        return file.parent
    return file.parents[len(parts) - 1] if parts else file.parent


def _imports(tree: ast.AST) -> set[str]:
    mods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module.split(".")[0])
    return mods


def _python(text: str, rel: str, modules: ModuleLookup | None = None) -> list[Pipeline]:
    try:
        tree = ast.parse(text, filename=rel)
    except SyntaxError as err:
        error = AnalyzeError(f"syntax error at line {err.lineno}: {err.msg}", path=rel)
        error.line = err.lineno  # type: ignore[attr-defined]
        raise error from None
    except ValueError as err:  # null bytes and similar
        raise AnalyzeError(f"cannot parse: {err}", path=rel) from None
    mods = _imports(tree)
    if "airflow" in mods:
        dags = airflow(tree, rel, modules=modules)
        if dags:
            return dags
    r = Resolver(tree, file=rel, modules=modules)
    f = Findings()
    kind = "python"
    if "awsglue" in mods:
        kind = "glue_job"
        f.extend(glue(tree, r))
    if "pyspark" in mods or "delta" in mods:
        kind = "pyspark" if kind == "python" else kind
    f.extend(pyspark(tree, r))
    for _node, found in embedded_scripts(tree, r):
        f.extend(found)
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


def _link_launches(pipelines: list[Pipeline], files: set[str]) -> list[dict[str, str]]:
    """Replace launched script URIs by the repository file they name; weak matches are returned.

    A file links when its name and at least one folder above it match the launched URI (the
    longest common suffix wins); a file-name-only match stays a URI and becomes a weak candidate.
    """
    by_name: dict[str, list[str]] = defaultdict(list)
    for f in files:
        by_name[PurePosixPath(f).name].append(f)
    names = {p.file: p.name for p in pipelines}
    weak: list[dict[str, str]] = []
    retarget: list[tuple[Any, ...]] = []
    for p in pipelines:
        linked = []
        for uri in p.launches:
            name = PurePosixPath(uri.split("://", 1)[-1]).name
            tail = uri.split("://", 1)[-1].split("/")
            candidates = sorted(by_name.get(name, []), key=lambda c: (-sum(
                1 for a, b in zip(reversed(c.split("/")), reversed(tail), strict=False) if a == b), c))
            best = candidates[0] if candidates else None
            reason = launch_match(uri, best, p.file) if best else None
            if best and reason is None:
                linked.append(best)
                for run_uri, engine, database, conn, *where in p.config.get("sql_runs", []):
                    if run_uri == uri:
                        retarget.append((best, engine, database, conn, *where))
                continue
            linked.append(uri)
            for c in candidates if best else []:
                weak.append({"from": p.name, "to": names.get(c, c), "via": "launches", "uri": uri,
                             "reason": reason or "same file name only"})
        p.launches = list(dict.fromkeys(linked))
        if linked:
            p.config.setdefault("launch_uris", [u for u in p.launches])
    by_file = {p.file: p for p in pipelines}
    for file, engine, database, conn, *where in retarget:  # a .sql file's tables live where its runner runs it
        if file in by_file and by_file[file].kind == "sql":
            _retarget(by_file[file], engine, database, conn, where[0] if where else None)
    return weak


def _retarget(p: Pipeline, engine: str, database: str | None, conn: str | None,
              where: dict[str, Any] | None = None) -> None:
    def move(uri: str) -> str:
        for scheme in ("glue://", "redshift://"):
            if uri.startswith(scheme) and (scheme == "glue://" or engine == "redshift"):
                name = uri[len(scheme):]
                if scheme == "redshift://" and name.startswith("{database}."):
                    name = name[len("{database}."):]
                return table_location(name, engine, database=database, conn=conn)
        return uri

    if engine == "glue":
        return
    p.locations = [dataclasses.replace(loc, uri=move(loc.uri)) for loc in p.locations]
    if engine == "redshift" and where:  # the cluster and region its runner names
        p.locations = [dataclasses.replace(loc, **where) if loc.uri.startswith("redshift://") else loc
                       for loc in p.locations]
    p.aliases = [[move(a), b] for a, b in p.aliases]
    p.config["engine"] = engine


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


def _lineage(pipelines: list[Pipeline], datasets: list[dict[str, Any]]
             ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Edges writer -> reader through shared datasets and DAG -> script; and weak candidates.

    An edge needs evidence (see :mod:`spark_lester.analyze.evidence`): the writer and the reader
    use a location of the dataset whose concrete parts identify it. Matches that rest only on
    placeholders, unqualified table names or local paths are returned as weak candidates.
    """
    uris: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))  # dataset -> name -> uris
    member = {u: g["id"] for g in datasets for u in g["uris"]}
    for p in pipelines:
        for loc in p.locations:
            if loc.uri in member:
                uris[member[loc.uri]][p.name].add(loc.uri)
    edges: list[dict[str, str]] = []
    weak: list[dict[str, str]] = []
    for g in datasets:
        for w in g["writers"]:
            for r in g["readers"]:
                if w == r:
                    continue
                reasons = _edge_reasons(uris[g["id"]][w], uris[g["id"]][r])
                if not reasons:
                    edges.append({"from": w, "to": r, "via": g["id"]})
                else:
                    weak.append({"from": w, "to": r, "via": g["id"], "reason": "; ".join(sorted(reasons))})
    names = {p.file: p.name for p in pipelines}
    for p in pipelines:
        for launched in p.launches:
            if launched in names:
                edges.append({"from": p.name, "to": names[launched], "via": "launches"})
    unique = {(e["from"], e["to"], e["via"]): e for e in edges}
    weak_unique = {(e["from"], e["to"], e["via"]): e for e in weak if (e["from"], e["to"], e["via"]) not in unique}
    return list(unique.values()), list(weak_unique.values())


def _edge_reasons(written: set[str], read: set[str]) -> set[str]:
    """Why the writer's and the reader's locations do not show they are one dataset (empty: they do)."""
    reasons: set[str] = set()
    for w in written:
        for r in read:
            if dataset_key(w) != dataset_key(r) and (written & read or len(written | read) > 2):
                continue  # compare like with like when the pipelines share a location
            why = weak_reason(w) or weak_reason(r)
            if why is None:
                return set()
            reasons.add(why)
    if not reasons:  # linked only through an alias (a table and its LOCATION): both sides must be evidence
        if all(weak_reason(u) is None for u in written | read):
            return set()
        reasons = {x for u in written | read if (x := weak_reason(u))}
    return reasons
