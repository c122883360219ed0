"""dag-factory YAML: DAGs declared as data (``tasks`` with ``operator`` and ``dependencies``).

The top-level ``default`` block is merged into every DAG, as dag-factory does. Tasks may be
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

from typing import Any

from spark_lester.analyze._private import Findings, finalize_roles
from spark_lester.analyze.airflow import _attribute, _datasets, _jsonable, normalize_schedule, operator_findings
from spark_lester.analyze.pipeline import Pipeline


def is_dagfactory(document: Any) -> bool:
    return isinstance(document, dict) and any(
        isinstance(v, dict) and "tasks" in v for k, v in document.items() if k != "default")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def dagfactory(document: Any, file: str) -> list[Pipeline]:
    """One pipeline per DAG in a dag-factory document (already ``yaml.safe_load``-ed)."""
    if not is_dagfactory(document):
        return []
    default = document.get("default") if isinstance(document.get("default"), dict) else {}
    out = []
    for dag_id, spec in document.items():
        if dag_id == "default" or not isinstance(spec, dict) or "tasks" not in spec:
            continue
        spec = _merge(default, spec)
        p = Pipeline(file=file, kind="dagfactory", dag_id=str(spec.get("dag_id", dag_id)))
        default_args = spec.get("default_args") or {}
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
            sched = [{"dataset": d} for d in sched["datasets"] if isinstance(d, str)]
        p.schedule = normalize_schedule(sched)
        p.config = {k: _jsonable(spec[k]) for k in ("start_date", "catchup", "max_active_runs",
                                                    "dagrun_timeout_sec", "tags", "description") if k in spec}
        tasks = spec["tasks"]
        items = (list(tasks.items()) if isinstance(tasks, dict)
                 else [(t.get("task_id"), t) for t in tasks if isinstance(t, dict)])
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
            for ds in _datasets([{"dataset": d} for d in task.get("outlets") or [] if isinstance(d, str)]):
                tf.add("output", ds, None, "outlets")
            f.extend(_attribute(tf, full))
            entry: dict[str, Any] = {"task_id": full, "operator": op.split(".")[-1]}
            if config:
                entry["config"] = config
            for key in ("retries", "sla_secs", "execution_timeout_secs", "pool", "trigger_rule"):
                if key in task:
                    entry[key] = task[key]
            p.tasks.append(entry)
            for dep in task.get("dependencies") or []:
                dep = str(dep)
                sources = groups[dep] if dep in groups and dep not in names else [names.get(dep, dep)]
                if dep in groups and dep not in names:  # a group dependency: its last tasks
                    members = set(groups[dep])
                    inner = {names.get(str(d), str(d)) for n, t in items if names.get(str(n)) in members
                             for d in (t.get("dependencies") or []) if names.get(str(d)) in members}
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
        out.append(p)
    return out
