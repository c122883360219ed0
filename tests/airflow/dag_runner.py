"""Run one DAG of a DAG file with ``dag.test()`` and write what happened as JSON.

Executed by the Airflow virtualenv's Python (deploy/airflow/setup.sh), never imported by the
tests (the project venv has no Airflow):

    python dag_runner.py DAG_FILE DAG_ID OUT.json [--set NAME=VALUE ...] [--date YYYY-MM-DD]
    python dag_runner.py --init-db   (create AIRFLOW_HOME's metadata database and exit)

``--set`` rewrites a top-level constant of a copy of the DAG file (``NAME = ...`` must occur
exactly once), as a user sets the constants to the Terraform outputs. Two settings of the
DAGs are production pacing that a test cannot wait for, and are changed on the loaded DAG:
sensors poke every 0.2 s instead of every minute, and retries are off (a retry waits 5
minutes). Nothing else is touched. The AWS endpoint (moto's server) comes from the
environment (AWS_ENDPOINT_URL and the aws_default connection).

The JSON: ``{"airflow": VERSION, "import_errors": {...}, "state": RUN_STATE,
"tasks": {task_id: state}}``; an exception in dag.test() is recorded under ``"error"``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
import tempfile
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path


def init_db() -> None:
    from airflow.utils import db

    db.resetdb() if not hasattr(db, "initdb") else db.initdb()


def copy_with_constants(dag_file: Path, settings: list[str], folder: Path) -> Path:
    text = dag_file.read_text(encoding="utf-8")
    for setting in settings:
        name, _, value = setting.partition("=")
        pattern = re.compile(rf"^{re.escape(name)} = .*$", re.MULTILINE)
        if len(pattern.findall(text)) != 1:
            raise SystemExit(f"dag_runner: {dag_file.name} has no single top-level {name} = ...")
        text = pattern.sub(lambda _m: f"{name} = {value!r}", text)
    out = folder / dag_file.name
    out.write_text(text, encoding="utf-8")
    return out


def run(dag_file: Path, dag_id: str, day: datetime) -> dict:
    import airflow

    try:  # Airflow 3: the file-based DagBag and the SDK's sensor base
        from airflow.dag_processing.dagbag import DagBag
        from airflow.sdk import BaseSensorOperator
    except ImportError:  # Airflow 2.10
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
        from airflow.sensors.base import BaseSensorOperator  # type: ignore[no-redef]

    # A deprecated import in the DAG file is an import error here: the next Airflow release
    # removes it (airflow.datasets went from 3.0 to 3.2). Providers' own warnings stay warnings.
    warnings.filterwarnings("error", category=DeprecationWarning, module=rf".*{dag_file.stem}$")
    bag = DagBag(dag_folder=str(dag_file))
    out: dict = {"airflow": airflow.__version__,
                 "import_errors": {Path(k).name: v for k, v in bag.import_errors.items()},
                 "dag_ids": sorted(bag.dag_ids)}
    dag = bag.dags.get(dag_id)
    if dag is None:
        return out
    for t in dag.tasks:
        t.retries = 0
        if isinstance(t, BaseSensorOperator):
            t.poke_interval = 0.2
    params = inspect.signature(dag.test).parameters
    when = {"logical_date": day} if "logical_date" in params else {"execution_date": day}
    try:
        dag.test(**when)
    except Exception:  # recorded: the test reads it
        out["error"] = traceback.format_exc(limit=8)
    out.update(run_state(dag_id))
    return out


def run_state(dag_id: str) -> dict:
    """The state of the DAG's only run and of its task instances, from the metadata DB."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == dag_id).all()
        tis = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id).all()
        return {"state": runs[0].state if len(runs) == 1 else [r.state for r in runs],
                "tasks": {ti.task_id: ti.state for ti in tis}}


def main(argv: list[str]) -> int:
    if argv == ["--init-db"]:
        init_db()
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("dag_file", type=Path)
    p.add_argument("dag_id")
    p.add_argument("out", type=Path)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--date", default="2025-06-01")
    args = p.parse_args(argv)
    day = datetime.fromisoformat(args.date).replace(tzinfo=timezone.utc)
    # Airflow 3's dag.test() serializes the DAG from the DAGs folder (its bundle): the copy
    # goes there.
    dags = Path(os.environ.get("AIRFLOW__CORE__DAGS_FOLDER") or tempfile.mkdtemp(prefix="dags-"))
    dags.mkdir(parents=True, exist_ok=True)
    dag_file = copy_with_constants(args.dag_file, args.set, dags)
    result = run(dag_file, args.dag_id, day)
    args.out.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
