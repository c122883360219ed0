"""dag-factory YAML: DAGs declared as data (``tasks`` with ``operator`` and ``dependencies``).

The top-level ``default`` block is merged into every DAG, as dag-factory does, and so are the
``defaults.yml`` files of the YAML's folder and its parents (see :func:`defaults_chain`). Tasks may be
a mapping (name -> arguments) or a list with ``task_id``; ``task_group_name`` prefixes the
task id like a TaskGroup. Operator arguments go through
:func:`spark_lester.analyze.airflow.operator_findings`, the same rules as Python DAGs.

>>> doc = {"etl": {"default_args": {"owner": "ana"}, "schedule_interval": "@hourly",
...        "tasks": {"a": {"operator": "airflow.operators.bash.BashOperator", "bash_command": "echo"},
...                  "b": {"operator": "airflow.operators.bash.BashOperator", "bash_command": "echo",
...                        "dependencies": ["a"]}}}}
>>> [(p.dag_id, p.schedule, p.default_args_owner, p.edges) for p in dagfactory(doc, "d.yml")]
[('etl', '@hourly', ['ana'], [['a', 'b']])]
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from spark_lester.analyze._private import Findings, finalize_roles
from spark_lester.analyze.airflow import (
    _attribute,
    _jsonable,
    normalize_schedule,
    operator_findings,
)
from spark_lester.analyze.pipeline import Pipeline


def is_dagfactory(document: Any) -> bool:
    return isinstance(document, dict) and any(
        isinstance(v, dict) and "tasks" in v for k, v in document.items() if k != "default")


#: A dataset named inside a condition string: ``((s3://a & s3://b) | s3://c)``.
_CONDITION_TERM = re.compile(r"[^\s()&|]+")


def _dataset_names(value: Any) -> list[str]:
    """Dataset URIs in a dag-factory ``datasets``/``inlets``/``outlets`` value.

    A list of URIs, a condition string, or the ``__or__``/``__and__`` mapping syntax.

    >>> _dataset_names("((s3://a/x & s3://a/y) | s3://b/z)")
    ['s3://a/x', 's3://a/y', 's3://b/z']
    >>> _dataset_names({"__or__": [{"__and__": ["s3://a/x", "s3://a/y"]}, "s3://b/z"]})
    ['s3://a/x', 's3://a/y', 's3://b/z']
    """
    if isinstance(value, str):
        return _CONDITION_TERM.findall(value)
    if isinstance(value, list):
        return [d for v in value for d in _dataset_names(v)]
    if isinstance(value, dict):
        if "uri" in value and isinstance(value["uri"], str):
            return [value["uri"]]
        return [d for k, v in value.items() if k in ("__or__", "__and__", "datasets") for d in _dataset_names(v)]
    return []


def _deps(task: dict[str, Any]) -> list[Any]:
    deps = task.get("dependencies")
    return deps if isinstance(deps, list) else []


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


#: The file names dag-factory reads defaults from, in its order of preference within a folder.
DEFAULTS_FILE_NAMES = ("defaults.yml", "defaults.yaml")


def defaults_chain(folder: Path, root: Path) -> list[dict[str, Any]]:
    """The ``defaults.yml`` documents that apply to a dag-factory YAML in ``folder``, farthest first.

    dag-factory merges every ``defaults.yml`` (or ``defaults.yaml``) from the YAML's folder up
    to its ``defaults_config_path``, the Airflow dags folder unless the loader says otherwise;
    the closest file wins. The dags folder is not known statically, so the walk stops at
    ``root``, the analyzed repository. A file that does not parse is skipped.
    """
    chain: list[dict[str, Any]] = []
    folder, root = folder.resolve(), root.resolve()
    if folder != root and root not in folder.parents:
        return chain
    while True:
        for name in DEFAULTS_FILE_NAMES:
            path = folder / name
            if path.is_file():
                try:
                    doc = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
                except (yaml.YAMLError, OSError, RecursionError):
                    doc = None
                if isinstance(doc, dict):
                    chain.append(doc)
                break  # only the first name found in a folder counts
        if folder == root or folder.parent == folder:
            break
        folder = folder.parent
    return chain[::-1]


def _with_defaults(default: dict[str, Any], defaults: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The file's ``default`` block and the DAG-level arguments once ``defaults.yml`` files apply.

    As dag-factory's ``build_dags``: the files' ``default_args`` are merged key by key (closest
    file last), and the YAML's own ``default`` block wins over them; their other keys
    (``schedule``, ``catchup``...) go under each DAG's own keys, ``tags`` are united.

    >>> _with_defaults({"default_args": {"retries": 1}},
    ...                [{"default_args": {"owner": "root", "retries": 3}, "tags": ["a"]},
    ...                 {"default_args": {"owner": "team"}, "schedule": "@daily", "tags": ["b"]}])
    ({'default_args': {'owner': 'team', 'retries': 1}}, {'tags': ['a', 'b'], 'schedule': '@daily'})
    """
    global_args: dict[str, Any] = {}
    dag_level: dict[str, Any] = {}
    for config in defaults:
        args = config.get("default_args")
        if isinstance(args, dict):
            global_args.update(args)
        for key, value in config.items():
            if key == "default_args":
                continue
            if key == "tags" and isinstance(value, list) and isinstance(dag_level.get("tags"), list):
                dag_level["tags"] = sorted({str(t) for t in dag_level["tags"] + value})
            else:
                dag_level[key] = value
    own = default.get("default_args")
    default = {**default, "default_args": {**global_args, **(own if isinstance(own, dict) else {})}}
    return default, dag_level


def dagfactory(document: Any, file: str, defaults: list[dict[str, Any]] | None = None) -> list[Pipeline]:
    """One pipeline per DAG in a dag-factory document (already ``yaml.safe_load``-ed).

    ``defaults`` are the ``defaults.yml`` documents that apply to it, farthest first
    (:func:`defaults_chain`).
    """
    if not is_dagfactory(document):
        return []
    default = document.get("default") if isinstance(document.get("default"), dict) else {}
    dag_level: dict[str, Any] = {}
    if defaults:
        default, dag_level = _with_defaults(default, defaults)
    out = []
    for dag_id, spec in document.items():
        if dag_id == "default" or not isinstance(spec, dict) or "tasks" not in spec:
            continue
        spec = _merge(default, {**dag_level, **spec})
        p = Pipeline(file=file, kind="dagfactory", dag_id=str(spec.get("dag_id", dag_id)))
        given = spec.get("default_args")
        default_args: dict[str, Any] = given if isinstance(given, dict) else {}
        owner = default_args.get("owner")
        if isinstance(owner, str) and owner:
            p.default_args_owner = [o.strip() for o in owner.split(",") if o.strip()]
        retries = default_args.get("retries", spec.get("retries"))
        p.retries = retries if isinstance(retries, int) else None
        p.sla = _jsonable(default_args.get("sla"))
        sched = spec.get("schedule", spec.get("schedule_interval"))
        if isinstance(sched, list):
            sched = [{"dataset": d} if isinstance(d, str) else d for d in sched]
        if isinstance(sched, dict) and "datasets" in sched:
            sched = [{"dataset": d} for d in _dataset_names(sched["datasets"])]
        p.schedule = normalize_schedule(sched)
        p.config = {k: _jsonable(spec[k]) for k in ("start_date", "catchup", "max_active_runs",
                                                    "dagrun_timeout_sec", "tags", "description") if k in spec}
        tasks = spec["tasks"]
        items = (list(tasks.items()) if isinstance(tasks, dict)
                 else [(t.get("task_id"), t) for t in tasks if isinstance(t, dict)] if isinstance(tasks, list)
                 else [])
        f = Findings()
        names: dict[str, str] = {}
        groups: dict[str, list[str]] = {}
        for name, task in items:
            if not isinstance(task, dict):
                continue
            group = task.get("task_group_name")
            full = f"{group}.{name}" if group else str(name)
            names[str(name)] = full
            if group:
                groups.setdefault(str(group), []).append(full)
        for name, task in items:
            if not isinstance(task, dict):
                continue
            full = names[str(name)]
            op = str(task.get("operator", ""))
            kwargs = {k: v for k, v in task.items() if k not in ("operator", "dependencies", "task_group_name")}
            tf, config = operator_findings(op, kwargs)
            for key, role in (("outlets", "output"), ("inlets", "input")):
                for ds in _dataset_names(task.get(key)):
                    tf.add(role, ds, None, key)
            f.extend(_attribute(tf, full))
            entry: dict[str, Any] = {"task_id": full, "operator": op.split(".")[-1]}
            if config:
                entry["config"] = config
            for key in ("retries", "sla_secs", "execution_timeout_secs", "pool", "trigger_rule"):
                if key in task:
                    entry[key] = task[key]
            p.tasks.append(entry)
            deps = task.get("dependencies")
            for dep in deps if isinstance(deps, list) else []:
                dep = str(dep)
                sources = groups[dep] if dep in groups and dep not in names else [names.get(dep, dep)]
                if dep in groups and dep not in names:  # a group dependency: its last tasks
                    members = set(groups[dep])
                    inner = {names.get(str(d), str(d)) for n, t in items if names.get(str(n)) in members
                             for d in _deps(t) if names.get(str(d)) in members}
                    sources = sorted(members - inner)
                for s in sources:
                    p.edges.append([s, full])
        if isinstance(p.schedule, dict):
            for ds in p.schedule.get("datasets", []):
                f.add("input", ds, None, "schedule")
        p.locations = finalize_roles(f.locations)
        p.operations = f.operations
        p.launches = list(f.launches)
        p.aliases = [list(a) for a in f.aliases]
        if f.sql_runs:
            p.config["sql_runs"] = [list(x) for x in f.sql_runs]
        out.append(p)
    return out
