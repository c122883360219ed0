"""EMR step definitions rendered from the JSON templates in ``emr/steps/``.

The templates are the single spelling of how a step invokes the engine (spark-submit of
``emr/steps/lester_step.py`` with a ``spark-lester`` command); this module only fills them in.
A placeholder ``${name}`` inside a string is replaced by text; an argument that is exactly
``${name}`` and whose value is a list is replaced by that list's items (the ``--source`` pairs).
Every placeholder must be given: a missing one is a :class:`ConfigError`, never a literal
``${...}`` sent to EMR.

>>> step = render_step({"Name": "${name}", "HadoopJarStep": {"Jar": "command-runner.jar",
...     "Args": ["run", "${pipeline}", "${sources}"]}},
...     {"name": "run p", "pipeline": "s3://c/p.py",
...      "sources": ["--source", "mails=s3://raw/mails/"]})
>>> step["HadoopJarStep"]["Args"]
['run', 's3://c/p.py', '--source', 'mails=s3://raw/mails/']
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spark_lester.config import project_root
from spark_lester.errors import ConfigError

#: Template file per step kind, under ``emr/steps/``.
TEMPLATES: dict[str, str] = {
    "run": "run_pipeline.json",
    "delete": "apply_deletion.json",
    "unlearn": "unlearn.json",
}
STEP_SCRIPT = "emr/steps/lester_step.py"
ACTIONS_ON_FAILURE = ("TERMINATE_CLUSTER", "CANCEL_AND_WAIT", "CONTINUE")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def default_emr_dir() -> Path:
    """``emr/`` of the checkout this package lives in."""
    return project_root() / "emr"


def load_template(kind: str, emr_dir: Path | None = None) -> dict[str, Any]:
    """The JSON template of step ``kind`` (run, delete, unlearn)."""
    if kind not in TEMPLATES:
        raise ConfigError(f"unknown step kind {kind!r}; use one of {', '.join(TEMPLATES)}.")
    path = (emr_dir or default_emr_dir()) / "steps" / TEMPLATES[kind]
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"step template {path} does not exist.",
                          hint="Pass the bundle written by `spark-lester package` (it holds "
                               "emr/) or run from the checkout.") from None


def placeholders(template: Any) -> set[str]:
    """Every ``${name}`` a template uses."""
    return set(_PLACEHOLDER.findall(json.dumps(template)))


def render_step(template: Any, values: Mapping[str, str | Sequence[str]]) -> Any:
    """Fill ``template`` with ``values`` (see the module docstring)."""
    missing = sorted(placeholders(template) - set(values))
    if missing:
        raise ConfigError(f"step template needs values for: {', '.join(missing)}.")
    return _render(template, values)


def _render(node: Any, values: Mapping[str, str | Sequence[str]]) -> Any:
    if isinstance(node, dict):
        return {k: _render(v, values) for k, v in node.items()}
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            whole = _PLACEHOLDER.fullmatch(item) if isinstance(item, str) else None
            value = values.get(whole.group(1)) if whole else None
            if whole and not isinstance(value, str) and value is not None:
                out.extend(str(v) for v in value)
            else:
                out.append(_render(item, values))
        return out
    if isinstance(node, str):
        def text(m: re.Match[str]) -> str:
            value = values[m.group(1)]
            if not isinstance(value, str):
                raise ConfigError(f"${{{m.group(1)}}} is a list; it may only stand alone as an "
                                  "argument.")
            return value
        return _PLACEHOLDER.sub(text, node)
    return node


def source_args(sources: Mapping[str, str]) -> list[str]:
    """``{"mails": "s3://raw/mails/"}`` -> ``["--source", "mails=s3://raw/mails/"]``."""
    out: list[str] = []
    for name, uri in sources.items():
        out += ["--source", f"{name}={uri}"]
    return out


def lester_step(kind: str, *, target: str, warehouse: str, step_script: str, result_uri: str,
                sources: Mapping[str, str] | None = None, name: str | None = None,
                action_on_failure: str = "TERMINATE_CLUSTER", driver_memory: str = "4g",
                max_result_size: str = "4g", emr_dir: Path | None = None) -> dict[str, Any]:
    """One EMR step (the ``Steps`` item of RunJobFlow / AddJobFlowSteps).

    ``kind`` is ``run`` (``target`` = PIPELINE.py URI, ``sources`` required), ``delete``
    or ``unlearn`` (``target`` = REQUEST.json URI). The engine has no separate unlearning
    command: ``spark-lester delete`` updates the tables, then the model; the ``unlearn``
    template runs the same command with a driver sized for second-order updates (d x d
    Hessians reach the driver).
    """
    if action_on_failure not in ACTIONS_ON_FAILURE:
        raise ConfigError(f"action on failure {action_on_failure!r} is not one of "
                          f"{', '.join(ACTIONS_ON_FAILURE)}.")
    if kind == "run" and not sources:
        raise ConfigError("a run step needs at least one source (NAME=URI).")
    label = Path(target.rstrip("/")).name
    values: dict[str, str | Sequence[str]] = {
        "name": name or f"spark-lester {kind} {label}",
        "action_on_failure": action_on_failure,
        "driver_memory": driver_memory,
        "max_result_size": max_result_size,
        "step_script": step_script,
        "result_uri": result_uri,
        "warehouse": warehouse,
        "pipeline": target,
        "request": target,
        "sources": source_args(sources or {}),
    }
    return render_step(load_template(kind, emr_dir), values)
