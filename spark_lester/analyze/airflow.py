"""Airflow DAGs: schedule, owners, retries, tasks, dependencies and the data each task touches.

The DAG file is parsed, never imported. DAGs are found as ``with DAG(...)``, ``dag = DAG(...)``
and ``@dag`` functions; tasks as operator calls with a ``task_id`` and as ``@task`` function
calls; TaskGroups prefix their tasks' ids (``group.task``) like Airflow does. Dependencies
come from ``>>``/``<<`` (with lists, anywhere in the module, also outside the ``with``
block), ``chain``, ``cross_downstream`` and ``set_upstream``/``set_downstream``; an edge into
or out of a TaskGroup goes to the group's first or last tasks. Operators' arguments map to
locations through :func:`operator_findings` (shared with dag-factory YAML).

>>> src = '''
... from airflow import DAG
... from airflow.operators.empty import EmptyOperator
... with DAG("d", schedule="@daily", default_args={"owner": "ana", "retries": 2}) as dag:
...     a = EmptyOperator(task_id="a")
...     b = EmptyOperator(task_id="b")
... a >> b
... '''
>>> [(d.dag_id, d.schedule, d.default_args_owner, d.retries, d.edges) for d in airflow(src)]
[('d', '@daily', ['ana'], 2, [['a', 'b']])]
"""

from __future__ import annotations

import ast
import dataclasses
import re
from typing import Any

from spark_lester.analyze._private import Findings, finalize_roles, role_from_name
from spark_lester.analyze.astro_sdk import astro_findings, is_astro_call
from spark_lester.analyze.dialects import SQLGLOT_DIALECTS, sql_engine, table_location
from spark_lester.analyze.embedded import embedded_scripts
from spark_lester.analyze.emr_steps import (
    args_findings,
    cluster_findings,
    split_command,
    steps_findings,
)
from spark_lester.analyze.locations import looks_like_location, normalize_uri, table_uri
from spark_lester.analyze.openlineage import _REDSHIFT_HOST
from spark_lester.analyze.pipeline import Pipeline
from spark_lester.analyze.pyspark import pyspark
from spark_lester.analyze.resolve import FileText, ModuleLookup, Placeholder, Resolver, call_name
from spark_lester.analyze.sql import sql_tables

_DAG_CALLS = frozenset({"DAG", "models.DAG", "airflow.DAG", "airflow.models.DAG"})
_GROUP_CALLS = frozenset({"TaskGroup", "task_group.TaskGroup", "utils.task_group.TaskGroup"})
_TIMETABLES = frozenset({"CronTriggerTimetable", "CronDataIntervalTimetable",
                         "DeltaDataIntervalTimetable", "DeltaTriggerTimetable",
                         "EventsTimetable", "MultipleCronTriggerTimetable",
                         "DatasetOrTimeSchedule", "AssetOrTimeSchedule"})
_DATASET_CALLS = frozenset({"Dataset", "Asset", "datasets.Dataset", "sdk.Asset"})


def _plain(node: ast.AST | None, r: Resolver) -> Any:
    """Like ``Resolver.value`` but knows Datasets, timetables and timedeltas."""
    if node is None:
        return None
    if isinstance(node, ast.Call):
        name = call_name(node)
        short = name.split(".")[-1]
        if name in _DATASET_CALLS or short in ("Dataset", "Asset"):
            uri = _plain(node.args[0], r) if node.args else _plain(_kw(node, "uri"), r)
            return {"dataset": uri}
        if short in _TIMETABLES:
            out: dict[str, Any] = {"timetable": short}
            if node.args:
                out["args"] = [_plain(a, r) for a in node.args]
            out.update({k.arg: _plain(k.value, r) for k in node.keywords if k.arg})
            return out
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_plain(e, r) for e in node.elts]
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitOr, ast.BitAnd)):
        return {"any" if isinstance(node.op, ast.BitOr) else "all": [_plain(node.left, r), _plain(node.right, r)]}
    if isinstance(node, ast.Name):
        target = r.lookup(node.id, node)
        if isinstance(target, (ast.Call, ast.List, ast.Tuple, ast.BinOp)):
            return _plain(target, r)
    if isinstance(node, ast.Dict):
        return {r.value(k): _plain(v, r) for k, v in zip(node.keys, node.values, strict=False) if k is not None}
    return r.value(node)


def _call_kwargs(call: ast.Call, r: Resolver) -> dict[str, ast.AST]:
    """Keyword arguments of a call by name, ``**mapping`` expanded where it is a dict literal.

    ``DAG("d", default_args=args, **dag_args)`` with ``dag_args = {"schedule_interval": ...}``
    gets its schedule from ``dag_args``; explicit keywords win, as in Python.
    """
    out: dict[str, ast.AST] = {}
    for k in call.keywords:
        if k.arg is None:
            target = r.lookup(k.value.id, k.value) if isinstance(k.value, ast.Name) else k.value
            if isinstance(target, ast.Dict):
                for key, value in zip(target.keys, target.values, strict=False):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        out.setdefault(key.value, value)
    out.update({k.arg: k.value for k in call.keywords if k.arg})
    return out


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def _datasets(value: Any) -> list[str]:
    out: list[str] = []
    if isinstance(value, dict):
        if "dataset" in value and isinstance(value["dataset"], str):
            out.append(value["dataset"])
        for v in value.values():
            if isinstance(v, (list, dict)):
                out += _datasets(v)
    elif isinstance(value, list):
        for v in value:
            out += _datasets(v)
    return out


def normalize_schedule(value: Any) -> Any:
    """A schedule in plain JSON: cron or preset strings, ``{"timedelta": ...}``, timetables,
    ``{"datasets": [...]}``; ``None`` for unscheduled DAGs."""
    if isinstance(value, list) or isinstance(value, dict) and ("dataset" in value or "any" in value or "all" in value):
        return {"datasets": _datasets(value)}
    if isinstance(value, dict) and value.get("timetable") in ("DatasetOrTimeSchedule", "AssetOrTimeSchedule"):
        return value
    return value


# -- operators ---------------------------------------------------------------------------
def _s3(bucket: Any, key: Any) -> str | None:
    if isinstance(key, str) and key.startswith(("s3://", "s3a://")):
        return key
    if not isinstance(bucket, str):
        return None
    return f"s3://{bucket}/{key.lstrip('/')}" if isinstance(key, str) and key else f"s3://{bucket}"


def _d(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict, else an empty one: arguments may be unresolved placeholders."""
    return value if isinstance(value, dict) else {}


def _generic(f: Findings, value: Any, key: str, line: int | None, default: str = "input") -> None:
    if isinstance(value, str):
        if looks_like_location(value):
            f.add(role_from_name(key, default), value, line, key)
    elif isinstance(value, dict):
        for k, v in value.items():
            _generic(f, v, str(k), line, role_from_name(key, default))
    elif isinstance(value, list):
        for v in value:
            _generic(f, v, key, line, default)


def _sql_findings(f: Findings, sql: Any, scheme: str, database: Any, line: int | None, via: str,
                  conn: str | None = None) -> None:
    texts = sql if isinstance(sql, list) else [sql]
    db = database if isinstance(database, str) and not isinstance(database, Placeholder) else None
    for text in texts:
        if not isinstance(text, str):
            continue
        path = text.path if isinstance(text, FileText) else text.strip() if (
            text.strip().endswith(".sql") and "\n" not in text) else None
        if path:  # a .sql file: its tables are named by this operator's engine
            f.launch(path)
            f.sql_runs.append((normalize_uri(path), scheme, db, conn))
            continue
        t = sql_tables(text, SQLGLOT_DIALECTS.get(scheme))
        def uri(name: str) -> str:
            return table_location(name, scheme, database=db, conn=conn)
        for name in t.reads:
            f.add("input", uri(name), line, via)
        for name in t.writes:
            f.add("output", uri(name), line, via)
        for name, loc in t.locations.items():
            storage = f.add("output", loc, line, via)
            if storage:
                f.aliases.append((uri(name), storage))
        f.add("input", t.s3_reads, line, via)
        f.add("output", t.s3_writes, line, via)
        for op, detail in t.operations:
            f.op(op, detail, line)


#: Arguments that name the Redshift cluster (or Serverless workgroup) an operator runs on.
_CLUSTER_ARGS = ("cluster_identifier", "workgroup_name")
#: Arguments that name an operator's AWS region.
_REGION_ARGS = ("region", "region_name", "aws_region")
_CONN_ARGS = ("redshift_conn_id", "conn_id")


def _known(value: Any) -> str | None:
    """``value`` if the code names it (a literal or a resolved constant), else ``None``."""
    if isinstance(value, str) and not isinstance(value, Placeholder) and value.strip() and "{" not in value:
        return value.strip()
    return None


def redshift_where(kw: dict[str, Any], connections: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """What an operator's arguments say about the Redshift store it runs on.

    ``cluster`` from ``cluster_identifier``/``workgroup_name``, ``region`` from
    ``region``/``region_name``/``aws_region``; where neither names the cluster, the connection
    (``redshift_conn_id``/``conn_id``) does when ``connections`` holds its host as a Redshift
    endpoint (``cluster.id.region.redshift.amazonaws.com``). Nothing is guessed.

    >>> redshift_where({"cluster_identifier": "dwh", "region": "eu-west-1", "database": "dev"})
    {'cluster': 'dwh', 'region': 'eu-west-1'}
    >>> redshift_where({"redshift_conn_id": "rs"}, {"rs": {"host": "dwh.c1x.us-east-1.redshift.amazonaws.com"}})
    {'cluster': 'dwh', 'region': 'us-east-1'}
    >>> redshift_where({"redshift_conn_id": "redshift_default"})
    {}
    """
    where: dict[str, Any] = {}
    cluster = next((c for k in _CLUSTER_ARGS if (c := _known(kw.get(k)))), None)
    region = next((c for k in _REGION_ARGS if (c := _known(kw.get(k)))), None)
    conn = next((c for k in _CONN_ARGS if (c := _known(kw.get(k)))), None)
    defined = (connections or {}).get(conn or "")
    if defined:
        m = _REDSHIFT_HOST.match(str(defined.get("host") or ""))
        if m and not cluster:
            cluster, region = m.group(1).lower(), region or m.group(2).lower()
        port = defined.get("port")
        if cluster and isinstance(port, int) and port != 5439:
            where["port"] = port
    if cluster:
        where["cluster"] = cluster
    if region:
        where["region"] = region
    return dict(sorted(where.items()))


def _stamp(f: Findings, where: dict[str, Any]) -> None:
    """Give the Redshift tables in ``f`` the store ``where`` names."""
    if not where:
        return
    for i, loc in enumerate(f.locations):
        if loc.uri.startswith("redshift://"):
            f.locations[i] = dataclasses.replace(loc, **where)
    f.sql_runs = [(*run[:4], where) if run[1] == "redshift" else run for run in f.sql_runs]


def operator_findings(op: str, kw: dict[str, Any], line: int | None = None, *,
                      connections: dict[str, dict[str, Any]] | None = None) -> tuple[Findings, dict[str, Any]]:
    """Locations, launched scripts and configuration of one operator from its arguments.

    ``connections`` maps connection ids the repository defines to their ``host``/``port``.
    """
    f = Findings()
    config: dict[str, Any] = {}
    short = op.split(".")[-1]
    if short.endswith("Async") and len(short) > 5:  # deferrable twins: S3KeySensorAsync, ...
        short = short[:-5]
    if short in ("EmrAddStepsOperator",):
        steps_findings(kw.get("steps"), f, line=line)
        if isinstance(kw.get("steps"), list):
            config["emr_steps"] = [s.get("Name") for s in kw["steps"] if isinstance(s, dict)]
    elif short in ("EmrCreateJobFlowOperator",):
        _, cluster = cluster_findings(kw.get("job_flow_overrides"), f, line=line)
        config["emr_cluster"] = cluster
    elif short in ("EmrServerlessStartJobOperator", "EmrContainerOperator", "EmrEksOperator"):
        job_driver = _d(kw.get("job_driver"))
        driver = _d(job_driver.get("sparkSubmit") or job_driver.get("sparkSubmitJobDriver"))
        entry = driver.get("entryPoint")
        if isinstance(entry, str):
            f.add("code", entry, line, "entryPoint")
            f.launch(entry)
        args = driver.get("entryPointArguments")
        args_findings(args if isinstance(args, (list, str)) else [], f, line=line, via="entryPointArguments")
        overrides = _d(kw.get("configuration_overrides"))
        mon = _d(_d(overrides.get("monitoringConfiguration")).get("s3MonitoringConfiguration"))
        if isinstance(mon.get("logUri"), str):
            f.add("log", mon["logUri"], line, "logUri")
        config["emr_serverless"] = {k: kw[k] for k in ("application_id", "execution_role_arn", "virtual_cluster_id") if k in kw}
    elif short in ("GlueJobOperator", "AwsGlueJobOperator"):
        script = kw.get("script_location")
        if isinstance(script, str):
            f.add("code", script, line, "script_location")
            f.launch(script)
        for k, v in _d(kw.get("script_args")).items():
            if isinstance(v, str) and looks_like_location(v):
                f.add(role_from_name(str(k)), v, line, f"script_args {k}")
        config["glue_job"] = {k: kw[k] for k in ("job_name", "iam_role_name", "create_job_kwargs",
                                                 "num_of_dpus", "concurrent_run_limit", "s3_bucket") if k in kw}
    elif short in ("GlueCrawlerOperator", "AwsGlueCrawlerOperator"):
        conf = _d(kw.get("config"))
        targets = _d(conf.get("Targets")).get("S3Targets")
        for target in targets if isinstance(targets, list) else []:
            if isinstance(target, dict) and isinstance(target.get("Path"), str):
                path = target["Path"]  # the API accepts "bucket/prefix" without the scheme
                f.add("input", path if "://" in path else "s3://" + path.lstrip("/"), line, "crawler S3Targets")
        config["glue_crawler"] = {k: conf.get(k) for k in ("Name", "DatabaseName", "Role") if k in conf}
    elif short in ("AthenaOperator", "AWSAthenaOperator"):
        _sql_findings(f, kw.get("query"), "athena", kw.get("database"), line, "athena query")
        out = (kw.get("output_location"))
        if isinstance(out, str):
            f.add("interim", out, line, "output_location")
        config["athena"] = {k: kw[k] for k in ("database", "workgroup") if k in kw}
    elif short in ("RedshiftSQLOperator", "RedshiftDataOperator", "RedshiftSqlOperator"):
        _sql_findings(f, kw.get("sql"), "redshift", kw.get("database"), line, "redshift sql",
                      kw.get("redshift_conn_id") if isinstance(kw.get("redshift_conn_id"), str) else None)
    elif short in ("SQLExecuteQueryOperator", "PostgresOperator", "SqlOperator", "SparkSqlOperator",
                   "MySqlOperator", "SnowflakeOperator", "TrinoOperator", "MsSqlOperator", "OracleOperator"):
        conn = next((kw[k] for k in ("conn_id", "postgres_conn_id", "mysql_conn_id", "snowflake_conn_id",
                                     "trino_conn_id", "mssql_conn_id", "oracle_conn_id", "redshift_conn_id")
                     if isinstance(kw.get(k), str)), None)
        engine = sql_engine(short, conn)
        _sql_findings(f, kw.get("sql"), engine, kw.get("database") or kw.get("schema"), line, "sql", conn)
    elif short == "S3ToRedshiftOperator":
        f.add("input", _s3(kw.get("s3_bucket"), kw.get("s3_key")), line, "s3_key")
        db = kw.get("database") if isinstance(kw.get("database"), str) else "{database}"
        if isinstance(kw.get("table"), str):
            f.add("output", table_uri("redshift", f"{db}.{kw.get('schema') or 'public'}.{kw['table']}"), line, "table")
    elif short == "RedshiftToS3Operator":
        db = kw.get("database") if isinstance(kw.get("database"), str) else "{database}"
        if isinstance(kw.get("table"), str):
            f.add("input", table_uri("redshift", f"{db}.{kw.get('schema') or 'public'}.{kw['table']}"), line, "table")
        elif isinstance(kw.get("select_query"), str):
            _sql_findings(f, kw["select_query"], "redshift", db, line, "select_query")
        f.add("output", _s3(kw.get("s3_bucket"), kw.get("s3_key")), line, "s3_key")
    elif short == "S3CopyObjectOperator":
        f.add("input", _s3(kw.get("source_bucket_name"), kw.get("source_bucket_key")), line, "source_bucket_key")
        f.add("output", _s3(kw.get("dest_bucket_name"), kw.get("dest_bucket_key")), line, "dest_bucket_key")
    elif short == "S3DeleteObjectsOperator":
        keys = kw.get("keys") or kw.get("prefix")
        for key in keys if isinstance(keys, list) else [keys]:
            f.add("output", _s3(kw.get("bucket"), key), line, "delete")
    elif short in ("S3KeySensor", "S3KeysUnchangedSensor", "S3PrefixSensor"):
        keys = kw.get("bucket_key") or kw.get("prefix")
        for key in keys if isinstance(keys, list) else [keys]:
            f.add("input", _s3(kw.get("bucket_name"), key), line, "bucket_key")
    elif short in ("S3CreateObjectOperator",):
        f.add("output", _s3(kw.get("s3_bucket"), kw.get("s3_key")), line, "s3_key")
    elif short in ("S3FileTransformOperator",):
        f.add("input", kw.get("source_s3_key"), line, "source_s3_key")
        f.add("output", kw.get("dest_s3_key"), line, "dest_s3_key")
        if isinstance(kw.get("transform_script"), str):
            f.launch(kw["transform_script"])
    elif short in ("S3ListOperator", "S3ListPrefixesOperator"):
        f.add("input", _s3(kw.get("bucket"), kw.get("prefix")), line, "prefix")
    elif short in ("SqlToS3Operator",):
        f.add("output", _s3(kw.get("s3_bucket"), kw.get("s3_key")), line, "s3_key")
    elif short in ("DynamoDBToS3Operator",):
        if isinstance(kw.get("dynamodb_table_name"), str):
            f.add("input", f"dynamodb://{kw['dynamodb_table_name']}", line, "dynamodb_table_name")
        f.add("output", _s3(kw.get("s3_bucket_name"), kw.get("s3_key_prefix")), line, "s3_key_prefix")
    elif short in ("LocalFilesystemToS3Operator",):
        f.add("output", _s3(kw.get("dest_bucket"), kw.get("dest_key")), line, "dest_key")
    elif short in ("LivyOperator",):
        app = kw.get("file")
        if isinstance(app, str):
            f.add("code", app, line, "file")
            f.launch(app)
        livy_args = kw.get("args")
        args_findings(livy_args if isinstance(livy_args, list) else [], f, line=line, via="args")
    elif short in ("SparkSubmitOperator",):
        app = kw.get("application")
        if isinstance(app, str):
            if looks_like_location(app):
                f.add("code", app, line, "application")
            f.launch(app)
        args_findings(kw.get("application_args") or [], f, line=line, via="application_args")
    elif short in ("BashOperator",) or "bash_command" in kw:
        _bash(f, kw.get("bash_command"), line)
    else:
        for key in ("op_kwargs", "op_args", "params", "templates_dict", "env", "arguments"):
            if key in kw:
                _generic(f, kw[key], key, line)
        for key, value in kw.items():
            if key not in ("op_kwargs", "op_args", "params", "templates_dict", "env", "arguments",
                           "outlets", "inlets", "task_id", "doc_md") and isinstance(value, str):
                _generic(f, value, key, line)
    if any(loc.uri.startswith("redshift://") for loc in f.locations) or any(r[1] == "redshift" for r in f.sql_runs):
        _stamp(f, redshift_where(kw, connections))
    return f, config


def _bash(f: Findings, command: Any, line: int | None) -> None:
    if not isinstance(command, str):
        return
    if command.strip().endswith(".sh") and " " not in command.strip():
        f.launch(command.strip())
        return
    for part in re.split(r"&&|;|\|\||\n", command):
        tokens = split_command(part)
        if len(tokens) >= 3 and tokens[0] == "aws" and tokens[1] == "s3":
            locs = [t for t in tokens[3:] if looks_like_location(t)]
            if tokens[2] in ("cp", "sync", "mv") and len(locs) >= 1:
                if len(locs) >= 2:
                    f.add("input", locs[0], line, "aws s3 " + tokens[2])
                    f.add("output", locs[1], line, "aws s3 " + tokens[2])
                else:
                    dest_is_last = looks_like_location(tokens[-1])
                    f.add("output" if dest_is_last else "input", locs[0], line, "aws s3 " + tokens[2])
            elif tokens[2] == "rm":
                f.add("output", locs, line, "aws s3 rm")
            else:
                f.add("input", locs, line, "aws s3 " + tokens[2])
        else:
            args_findings(tokens, f, line=line, via="bash_command")


# -- DAG structure -------------------------------------------------------------------------
class _Dag:
    def __init__(self, key: int, dag_id: str, call: ast.Call | None, line: int) -> None:
        self.key, self.dag_id, self.call, self.line = key, dag_id, call, line
        self.tasks: dict[str, dict[str, Any]] = {}
        self.findings = Findings()
        self.edges: list[tuple[str, str]] = []
        self.problems: list[dict[str, Any]] = []


def _connections(tree: ast.AST, r: Resolver) -> dict[str, dict[str, Any]]:
    """Airflow connections the file defines literally: ``Connection(conn_id=..., host=..., port=...)``,
    ``Connection(conn_id=..., uri="redshift://user:pw@host:port/db")`` and
    ``os.environ["AIRFLOW_CONN_<ID>"] = "<uri>"``; conn id -> ``{"host": ..., "port": ...}``."""
    out: dict[str, dict[str, Any]] = {}

    def from_uri(uri: Any) -> dict[str, Any]:
        m = re.match(r"^[\w+.-]+://(?:[^@/]*@)?([^:/?]+)(?::(\d+))?", _known(uri) or "")
        return {"host": m.group(1), "port": int(m.group(2)) if m.group(2) else None} if m else {}

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and call_name(node).split(".")[-1] == "Connection":
            kw = {k.arg: r.value(k.value) for k in node.keywords if k.arg}
            conn = _known(kw.get("conn_id"))
            found = from_uri(kw.get("uri")) if "uri" in kw else {"host": _known(kw.get("host")), "port": kw.get("port")}
            if conn and found.get("host"):
                out[conn] = found
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript):
            key = r.value(node.targets[0].slice)
            if call_name(node.targets[0].value) in ("os.environ", "environ") and isinstance(key, str) \
                    and key.startswith("AIRFLOW_CONN_") and (found := from_uri(r.value(node.value))):
                out[key[len("AIRFLOW_CONN_"):].lower()] = found
    return out


def _task(node: ast.Call, name: str, is_flow: bool, tree: ast.AST, r: Resolver,
          task: dict[str, Any], connections: dict[str, dict[str, Any]] | None = None) -> Findings:
    """The findings of one task (an operator call or a ``@task`` call); fills ``task``."""
    short = name.split(".")[-1]
    if is_flow:
        func = _find_function(tree, short)
        return pyspark(func, r) if func is not None else Findings()
    kwargs = {k.arg: _plain(k.value, r) for k in node.keywords if k.arg}
    f, config = operator_findings(name, kwargs, node.lineno)
    if connections:  # a connection the file defines may name the Redshift cluster
        _stamp(f, redshift_where(kwargs, connections))
    if config:
        task["config"] = config
    for key in ("retries", "sla", "execution_timeout", "retry_delay", "pool", "trigger_rule"):
        if key in kwargs:
            task[key] = kwargs[key]
    callable_ = _kw(node, "python_callable")
    if isinstance(callable_, ast.Name):
        func = _find_function(tree, callable_.id)
        task["python_callable"] = callable_.id
        if func is not None:  # its parameters are the operator's op_kwargs / op_args
            r.bind(func, _callable_arguments(node, func, r))
            try:
                f.extend(pyspark(func, r))
            finally:
                r.unbind(func)
    for ds in _datasets(kwargs.get("outlets")):
        f.add("output", ds, node.lineno, "outlets")
    for ds in _datasets(kwargs.get("inlets")):
        f.add("input", ds, node.lineno, "inlets")
    return f


def airflow(source: str | ast.AST, file: str = "<dag>", *, modules: ModuleLookup | None = None) -> list[Pipeline]:
    """Every DAG defined in one Python file, as pipelines."""
    tree = ast.parse(source) if isinstance(source, str) else source
    r = Resolver(tree, file=file, modules=modules)
    dags: dict[int, _Dag] = {}
    dag_vars: dict[str, int] = {}
    # 1. DAG definitions
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (call_name(node) in _DAG_CALLS):
            idv = node.args[0] if node.args else _kw(node, "dag_id")
            dag = _Dag(id(node), r.text(idv) if idv is not None else "{dag_id}", node, node.lineno)
            dags[id(node)] = dag
            parent = r.parent(node)
            if isinstance(parent, ast.withitem) and isinstance(parent.optional_vars, ast.Name):
                dag_vars[parent.optional_vars.id] = id(node)
            elif isinstance(parent, ast.Assign) and isinstance(parent.targets[0], ast.Name):
                dag_vars[parent.targets[0].id] = id(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                dname = call_name(dec)
                if dname in ("dag", "airflow.decorators.dag", "decorators.dag"):
                    call = dec if isinstance(dec, ast.Call) else None
                    idv = _kw(call, "dag_id") if call else None
                    dag = _Dag(id(node), r.text(idv) if idv is not None else node.name, call, node.lineno)
                    dags[id(node)] = dag
    if not dags:
        return []
    # 2. @task functions
    taskflow: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                dname = call_name(dec)
                if dname == "task" or dname.startswith("task.") or dname.endswith(".task"):
                    tid = _kw(dec, "task_id") if isinstance(dec, ast.Call) else None
                    taskflow[node.name] = r.text(tid) if tid is not None else node.name
    # 3. tasks
    node_task: dict[int, str] = {}
    var_refs: dict[str, list[str]] = {}
    groups: dict[str, set[str]] = {}
    used_ids: dict[str, int] = {}
    only = next(iter(dags)) if len(dags) == 1 else None
    connections = _connections(tree, r)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = call_name(node)
        short = name.split(".")[-1]
        is_op = _kw(node, "task_id") is not None and (short[:1].isupper() or short.endswith(("Operator", "Sensor")))
        is_flow = short in taskflow and isinstance(node.func, ast.Name | ast.Attribute)
        is_astro = not is_op and not is_flow and is_astro_call(node)
        if not (is_op or is_flow or is_astro):
            continue
        group = _group_of(node, r)
        if is_op:
            tid = r.text(_kw(node, "task_id"))
        else:
            override = _kw(node, "task_id")
            base = r.text(override) if override is not None else short if is_astro else taskflow[short]
            n = used_ids.get(base, 0)
            used_ids[base] = n + 1
            tid = base if n == 0 else f"{base}__{n}"
        full = f"{group}.{tid}" if group else tid
        if group:
            for i in range(len(group.split("."))):
                groups.setdefault(".".join(group.split(".")[: i + 1]), set()).add(full)
        dag_key = _dag_of(node, r, dags, dag_vars) or only
        if dag_key is None:
            continue
        dag = dags[dag_key]
        node_task[id(node)] = full
        task: dict[str, Any] = {"task_id": full, "operator": "@task" if is_flow else short, "line": node.lineno}
        try:
            found = astro_findings(node, r) if is_astro else _task(node, name, is_flow, tree, r, task, connections)
            dag.findings.extend(_attribute(found, full))
        except Exception as err:  # noqa: BLE001 - one odd task must not cost the DAG (nor the report)
            dag.problems.append({"line": node.lineno, "error": f"task {full}: {type(err).__name__}: {str(err)[:200]}"})
        if group:
            task["group"] = group
        dag.tasks[full] = task
        parent = r.parent(node)
        if isinstance(parent, ast.Assign):
            for t in parent.targets:
                if isinstance(t, ast.Name):
                    var_refs[t.id] = [full]
    for node in ast.walk(tree):  # with TaskGroup(...) as tg
        if isinstance(node, ast.withitem) and isinstance(node.context_expr, ast.Call) \
                and call_name(node.context_expr).split(".")[-1] == "TaskGroup" \
                and isinstance(node.optional_vars, ast.Name):
            gid = _group_id(node.context_expr, r)
            full_gid = ".".join(x for x in (_group_of(node.context_expr, r), gid) if x)
            var_refs[node.optional_vars.id] = [f"group:{full_gid}"]
    for node, found in embedded_scripts(tree, r):  # a Glue/Spark job carried as a string
        dag_key = _dag_of(node, r, dags, dag_vars) or only
        if dag_key is not None:
            dags[dag_key].findings.extend(found)
    # 4. edges
    edges: list[tuple[str, str]] = []
    seen_shift: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.RShift, ast.LShift)) and id(node) not in seen_shift:
            _shift(node, r, node_task, var_refs, edges, seen_shift, taskflow)
        elif isinstance(node, ast.Call):
            name = call_name(node)
            short = name.split(".")[-1]
            if short == "chain":
                refs = [_refs(a, r, node_task, var_refs, edges, taskflow) for a in node.args]
                for a, b in zip(refs, refs[1:], strict=False):
                    if len(a) == len(b) and len(a) > 1 and isinstance(node.args[0], ast.List):
                        edges.extend(zip(a, b, strict=False))  # chain pairs equal-length lists
                    else:
                        edges.extend((x, y) for x in a for y in b)
            elif short == "cross_downstream" and len(node.args) == 2:
                a = _refs(node.args[0], r, node_task, var_refs, edges, taskflow)
                b = _refs(node.args[1], r, node_task, var_refs, edges, taskflow)
                edges.extend((x, y) for x in a for y in b)
            elif short in ("set_downstream", "set_upstream") and isinstance(node.func, ast.Attribute) and node.args:
                a = _refs(node.func.value, r, node_task, var_refs, edges, taskflow)
                b = _refs(node.args[0], r, node_task, var_refs, edges, taskflow)
                pairs = [(x, y) for x in a for y in b]
                edges.extend(pairs if short == "set_downstream" else [(y, x) for x, y in pairs])
            elif short in taskflow and id(node) in node_task:  # load(transform(extract()))
                for arg in list(node.args) + [k.value for k in node.keywords]:
                    for x in _refs(arg, r, node_task, var_refs, edges, taskflow, nested=True):
                        edges.append((x, node_task[id(node)]))
    edges = _expand_groups(edges, groups)
    # 5. pipelines
    out: list[Pipeline] = []
    for dag in sorted(dags.values(), key=lambda d: d.line):
        p = Pipeline(file=file, kind="airflow_dag", dag_id=dag.dag_id)
        p.problems = dag.problems
        kwargs = _call_kwargs(dag.call, r) if dag.call else {}
        default_args = _plain(kwargs.get("default_args"), r) or {}
        if not isinstance(default_args, dict):
            default_args = {}
        sched_node = kwargs.get("schedule", kwargs.get("schedule_interval", kwargs.get("timetable")))
        p.schedule = normalize_schedule(_plain(sched_node, r)) if sched_node is not None else None
        owner = default_args.get("owner")
        if isinstance(owner, str) and owner and not isinstance(owner, Placeholder):
            p.default_args_owner = [o.strip() for o in owner.split(",") if o.strip()]
        retries = default_args.get("retries", _plain(kwargs.get("retries"), r) if "retries" in kwargs else None)
        p.retries = retries if isinstance(retries, int) else None
        p.sla = default_args.get("sla")
        p.config = {k: v for k, v in {
            "start_date": _jsonable(default_args.get("start_date", _plain(kwargs.get("start_date"), r))),
            "catchup": _plain(kwargs.get("catchup"), r) if "catchup" in kwargs else None,
            "max_active_runs": _plain(kwargs.get("max_active_runs"), r) if "max_active_runs" in kwargs else None,
            "dagrun_timeout": _jsonable(_plain(kwargs.get("dagrun_timeout"), r)) if "dagrun_timeout" in kwargs else None,
            "tags": _plain(kwargs.get("tags"), r) if "tags" in kwargs else None,
            "retry_delay": _jsonable(default_args.get("retry_delay")),
            "email": default_args.get("email"),
        }.items() if v is not None}
        if isinstance(p.schedule, dict) and p.schedule.get("datasets"):
            for ds in p.schedule["datasets"]:
                dag.findings.add("input", ds, dag.line, "schedule")
        p.locations = finalize_roles(dag.findings.locations)
        p.operations = dag.findings.operations
        p.launches = list(dag.findings.launches)
        p.aliases = [list(a) for a in dag.findings.aliases]
        if dag.findings.sql_runs:
            p.config["sql_runs"] = [list(x) for x in dag.findings.sql_runs]
        p.tasks = sorted(dag.tasks.values(), key=lambda t: t.get("line") or 0)
        p.edges = [list(e) for e in dict.fromkeys(edges) if e[0] in dag.tasks and e[1] in dag.tasks]
        for t in p.tasks:
            for key in ("sla",):
                if key in t:
                    t[key] = _jsonable(t[key])
        out.append(p)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return str(value)


def _attribute(f: Findings, task: str) -> Findings:
    for i, loc in enumerate(f.locations):
        if loc.via is None or not loc.via.startswith(task):
            f.locations[i] = dataclasses.replace(loc, via=f"{task}: {loc.via or ''}".rstrip(": "))
    for o in f.operations:
        o["task"] = task
    return f


def _callable_arguments(call: ast.Call, func: ast.AST, r: Resolver) -> dict[str, ast.AST]:
    """Parameter -> argument expression for a ``python_callable`` from ``op_kwargs``/``op_args``."""
    out: dict[str, ast.AST] = {}
    params = [a.arg for a in func.args.posonlyargs + func.args.args] if isinstance(func, ast.FunctionDef) else []
    op_args = _kw(call, "op_args")
    if isinstance(op_args, ast.Name):
        op_args = r.lookup(op_args.id, op_args)
    if isinstance(op_args, (ast.List, ast.Tuple)):
        out.update(zip(params, op_args.elts, strict=False))
    op_kwargs = _kw(call, "op_kwargs")
    if isinstance(op_kwargs, ast.Name):
        op_kwargs = r.lookup(op_kwargs.id, op_kwargs)
    if isinstance(op_kwargs, ast.Dict):
        for k, v in zip(op_kwargs.keys, op_kwargs.values, strict=False):
            if isinstance(k, ast.Constant) and isinstance(k.value, str):
                out[k.value] = v
    elif isinstance(op_kwargs, ast.Call) and call_name(op_kwargs) == "dict":
        out.update({k.arg: k.value for k in op_kwargs.keywords if k.arg})
    # Airflow hands the callable its context too: templates_dict and params, by name or in **kwargs
    context = {key: node for key in ("templates_dict", "params") if (node := _kw(call, key)) is not None}
    for key, node in context.items():
        if key in params:
            out.setdefault(key, node)
    kwarg = func.args.kwarg if isinstance(func, ast.FunctionDef) else None
    if kwarg is not None:
        extra = {k: v for k, v in {**context, **out}.items() if k not in params and isinstance(v, ast.expr)}
        if extra:
            out[kwarg.arg] = ast.Dict(keys=[ast.Constant(k) for k in extra],
                                      values=[v for v in extra.values() if isinstance(v, ast.expr)])
    return out


def _find_function(tree: ast.AST, name: str) -> ast.AST | None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def _group_id(call: ast.Call, r: Resolver) -> str:
    g = call.args[0] if call.args else _kw(call, "group_id")
    return r.text(g) if g is not None else "{group}"


def _group_of(node: ast.AST, r: Resolver) -> str:
    parts: list[str] = []
    cur = r.parent(node)
    child = node
    while cur is not None:
        if isinstance(cur, ast.With) and child in cur.body:
            for item in cur.items:
                if isinstance(item.context_expr, ast.Call) and call_name(item.context_expr).split(".")[-1] == "TaskGroup":
                    parts.append(_group_id(item.context_expr, r))
        child, cur = cur, r.parent(cur)
    if isinstance(node, ast.Call) and not parts:
        tg = _kw(node, "task_group")
        if isinstance(tg, ast.Name):
            target = r.lookup(tg.id, tg)
            if isinstance(target, ast.Call):
                parts.append(_group_id(target, r))
    return ".".join(reversed(parts))


def _dag_of(node: ast.AST, r: Resolver, dags: dict[int, _Dag], dag_vars: dict[str, int]) -> int | None:
    if isinstance(node, ast.Call):
        d = _kw(node, "dag")
        if isinstance(d, ast.Name) and d.id in dag_vars:
            return dag_vars[d.id]
    cur = r.parent(node)
    while cur is not None:
        if isinstance(cur, ast.With):
            for item in cur.items:
                if id(item.context_expr) in dags:
                    return id(item.context_expr)
        if id(cur) in dags:
            return id(cur)
        cur = r.parent(cur)
    return None


def _refs(node: ast.AST, r: Resolver, node_task: dict[int, str], var_refs: dict[str, list[str]],
          edges: list[tuple[str, str]], taskflow: dict[str, str], nested: bool = False,
          depth: int = 0) -> list[str]:
    if depth > 20:
        return []
    if id(node) in node_task:
        return [node_task[id(node)]]
    if isinstance(node, ast.Name):
        if node.id in var_refs:
            return var_refs[node.id]
        target = r.lookup(node.id, node)
        if target is not None and target is not node:
            return _refs(target, r, node_task, var_refs, edges, taskflow, nested, depth + 1)
        return []
    if isinstance(node, (ast.List, ast.Tuple)):
        out: list[str] = []
        for e in node.elts:
            out += _refs(e, r, node_task, var_refs, edges, taskflow, nested, depth + 1)
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.RShift, ast.LShift)):
        return _shift(node, r, node_task, var_refs, edges, set(), taskflow)
    if isinstance(node, ast.Attribute) and node.attr == "output":
        return _refs(node.value, r, node_task, var_refs, edges, taskflow, nested, depth + 1)
    return []


def _shift(node: ast.BinOp, r: Resolver, node_task: dict[int, str], var_refs: dict[str, list[str]],
           edges: list[tuple[str, str]], seen: set[int], taskflow: dict[str, str]) -> list[str]:
    seen.add(id(node))
    left = _refs(node.left, r, node_task, var_refs, edges, taskflow) if not (
        isinstance(node.left, ast.BinOp) and isinstance(node.left.op, (ast.RShift, ast.LShift))) \
        else _shift(node.left, r, node_task, var_refs, edges, seen, taskflow)
    right = _refs(node.right, r, node_task, var_refs, edges, taskflow)
    if isinstance(node.op, ast.RShift):
        edges.extend((a, b) for a in left for b in right)
    else:
        edges.extend((b, a) for a in left for b in right)
    return right


def _expand_groups(edges: list[tuple[str, str]], groups: dict[str, set[str]]) -> list[tuple[str, str]]:
    if not any(a.startswith("group:") or b.startswith("group:") for a, b in edges):
        return edges
    plain = [(a, b) for a, b in edges if not a.startswith("group:") and not b.startswith("group:")]

    def roots(g: str) -> list[str]:
        members = groups.get(g, set())
        inner = {b for a, b in plain if a in members and b in members}
        return sorted(members - inner)

    def leaves(g: str) -> list[str]:
        members = groups.get(g, set())
        inner = {a for a, b in plain if a in members and b in members}
        return sorted(members - inner)

    out: list[tuple[str, str]] = []
    for a, b in edges:
        srcs = leaves(a[6:]) if a.startswith("group:") else [a]
        dsts = roots(b[6:]) if b.startswith("group:") else [b]
        out.extend((x, y) for x in srcs for y in dsts)
    return out
