"""The work of the Glue jobs: run a pipeline, apply a deletion request.

``glue_jobs/run_pipeline.py`` and ``glue_jobs/apply_deletion.py`` (copied into the bundle by
``spark-lester package``, run by Terraform's ``aws_glue_job`` resources) are thin: their
``main()`` is the only importer of ``awsglue``. It resolves the job's arguments, starts the
GlueContext and the Job, and hands a plain dict of arguments and the SparkSession to
:func:`run_pipeline` or :func:`apply_deletion`, which run on any Spark (the tests run them
on local Spark).

Job arguments (StartJobRun ``Arguments``; Terraform sets ``--warehouse`` as a default)::

    run_pipeline    --warehouse URI --pipeline URI --sources NAME=URI[,NAME=URI...]
                    [--name NAME] [--run-id ID] [--result-uri URI]
    apply_deletion  --warehouse URI --request URI|JSON [--result-uri URI]

Glue's arguments are a map, so all sources travel in ``--sources``, as ``NAME=URI`` pairs or
a JSON object. ``--request`` is a request JSON file (S3 or local) or the request itself as
inline JSON. With ``--result-uri`` a job writes its JSON summary there, also when it fails
(``"status": "failed"``, the error's type, and for spark_lester's own errors their message,
which never holds data values); the error is then raised again so the job run fails.

Pipeline files: ``unlearn`` re-imports the pipeline of every run it updates and checks the
file's hash, long after the run job's worker is gone. So the run job stores the pipeline at
``<warehouse>/_lester/pipelines/<sha256>/<folder>/<file>`` and runs it from the same relative
path under a local folder, which the registry records; the deletion job copies missing
pipeline files of the runs it updates back from the warehouse. ``<folder>`` is the name of
the folder the pipeline had (a run is named after it when the file is ``pipeline.py``).

>>> parse_sources("customers=s3://raw/c.csv,mails=s3://raw/mails/")
{'customers': 's3://raw/c.csv', 'mails': 's3://raw/mails/'}
>>> glue_job_arguments("apply_deletion", warehouse="s3://art/wh", request="s3://art/r1.json")
{'--warehouse': 's3://art/wh', '--request': 's3://art/r1.json'}
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts import store
from spark_lester.artifacts.layout import Layout
from spark_lester.errors import GlueJobArgumentError, LesterError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_lester.artifacts.registry import RunRecord
    from spark_lester.deletion.request import DeletionRequest


@dataclass(frozen=True)
class JobSpec:
    """A Glue job: its entry script in the bundle and its arguments (names without ``--``)."""

    name: str
    script: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def arguments(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def usage(self) -> str:
        return " ".join([*(f"--{a} ..." for a in self.required),
                         *(f"[--{a} ...]" for a in self.optional)])


RUN_PIPELINE = JobSpec("run_pipeline", "glue_jobs/run_pipeline.py",
                       required=("warehouse", "pipeline", "sources"),
                       optional=("name", "run-id", "result-uri"))
APPLY_DELETION = JobSpec("apply_deletion", "glue_jobs/apply_deletion.py",
                         required=("warehouse", "request"), optional=("result-uri",))
#: The Glue jobs by name (the keys of Terraform's ``glue_scripts``).
JOBS: dict[str, JobSpec] = {j.name: j for j in (RUN_PIPELINE, APPLY_DELETION)}

#: Local folder the run job stages pipeline files in (``<sha256>/<folder>/<file>`` below it).
PIPELINE_CACHE = Path(tempfile.gettempdir()) / "spark_lester" / "pipelines"

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


# ---- arguments ----------------------------------------------------------------------------
def glue_main(job: str, argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The body of a Glue entry script's ``main()``: the only code importing awsglue.

    Resolves the job's arguments, starts the GlueContext and the Job, runs the job's core
    (:func:`run_pipeline` or :func:`apply_deletion`) and commits the job.
    """
    import os

    os.environ["SPARK_LESTER_PLATFORM"] = "glue"
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    cores = {RUN_PIPELINE.name: run_pipeline, APPLY_DELETION.name: apply_deletion}
    argv = list(sys.argv if argv is None else argv)
    args = getResolvedOptions(argv, glue_options(job, argv))
    glue_context = GlueContext(SparkContext.getOrCreate())
    glue_job = Job(glue_context)
    glue_job.init(args["JOB_NAME"], args)
    summary = cores[job](args, glue_context.spark_session)
    glue_job.commit()
    return summary


def glue_options(job: str, argv: Sequence[str]) -> list[str]:
    """The names to give awsglue's ``getResolvedOptions``: ``JOB_NAME`` and those of the job's
    arguments that ``argv`` holds. ``getResolvedOptions`` makes every name it gets required
    (argparse exits on a missing one); asking only for the present ones lets
    :func:`job_options` report a missing argument as a typed error.

    >>> glue_options("apply_deletion", ["x.py", "--JOB_NAME", "j", "--request", "r.json"])
    ['JOB_NAME', 'request']
    """
    spec = _spec(job)
    tokens = set(argv)
    return ["JOB_NAME", *(a for a in spec.arguments if f"--{a}" in tokens)]


def job_options(job: str, args: Mapping[str, Any]) -> dict[str, str]:
    """The job's arguments out of ``args``, checked: every required one present and non-empty.

    ``args`` is ``getResolvedOptions``' dict (argparse spells ``--run-id`` as ``run_id``;
    Glue's own keys such as ``JOB_NAME`` and ``TempDir`` are ignored) or any plain dict with
    either spelling. Keys of the result use ``_``.

    >>> job_options("run_pipeline", {"JOB_NAME": "j", "warehouse": "s3://a/wh",
    ...                              "pipeline": "p.py", "sources": "m=s3://r/m/",
    ...                              "result-uri": "s3://a/r.json"})["result_uri"]
    's3://a/r.json'
    """
    spec = _spec(job)
    given = {str(k).replace("-", "_"): v for k, v in args.items() if v is not None}
    out: dict[str, str] = {}
    for name in spec.arguments:
        key = name.replace("-", "_")
        if key not in given:
            if name in spec.required:
                raise GlueJobArgumentError(
                    f"--{name} is missing.", job=job, argument=name,
                    hint=f"Pass it in the job run's Arguments: {spec.usage}")
            continue
        value = given[key]
        if not isinstance(value, str) or not value.strip():
            raise GlueJobArgumentError(f"--{name} is empty.", job=job, argument=name,
                                       hint=f"Usage: {spec.usage}")
        out[key] = value.strip()
    return out


def parse_sources(text: str, *, job: str = RUN_PIPELINE.name) -> dict[str, str]:
    """``--sources``: ``NAME=URI`` pairs separated by commas, or a JSON object name -> URI."""
    text = text.strip()
    pairs: list[tuple[Any, Any]] = []
    if text.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GlueJobArgumentError(
                f"--sources is not valid JSON (line {exc.lineno}, column {exc.colno}).",
                job=job, argument="sources") from None
        if not isinstance(data, dict):
            raise GlueJobArgumentError("--sources in JSON is an object name -> URI.", job=job,
                                       argument="sources")
        pairs = list(data.items())
    else:
        for i, item in enumerate(text.split(","), start=1):
            name, sep, uri = item.partition("=")
            if not sep:
                raise GlueJobArgumentError(
                    f"entry {i} of --sources is not NAME=URI.", job=job, argument="sources",
                    hint='Use --sources customers=s3://B/customers/,mails=s3://B/mails/ or a '
                         'JSON object {"customers": "s3://B/customers/"}.')
            pairs.append((name.strip(), uri.strip()))
    out: dict[str, str] = {}
    for name, uri in pairs:
        if not isinstance(name, str) or not isinstance(uri, str) or not name or not uri:
            raise GlueJobArgumentError("--sources has an empty or non-text source name or URI.",
                                       job=job, argument="sources")
        if name in out:
            raise GlueJobArgumentError(f"--sources names source '{name}' twice.", job=job,
                                       argument="sources")
        out[name] = uri
    if not out:
        raise GlueJobArgumentError("--sources names no source.", job=job, argument="sources")
    return out


def glue_job_arguments(job: str, **values: Any) -> dict[str, str]:
    """StartJobRun ``Arguments`` for ``job``, checked as the job checks them. Keywords spell
    ``-`` as ``_`` (``run_id``, ``result_uri``); ``sources`` may be a mapping."""
    spec = _spec(job)
    known = {a.replace("-", "_"): a for a in spec.arguments}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise GlueJobArgumentError(f"unknown argument(s) {', '.join(unknown)}.", job=job,
                                   argument=unknown[0], hint=f"Usage: {spec.usage}")
    out: dict[str, str] = {}
    for key, name in known.items():
        value = values.get(key)
        if value is None:
            continue
        if key == "sources" and isinstance(value, Mapping):
            value = ",".join(f"{k}={v}" for k, v in value.items())
        out[f"--{name}"] = str(value)
    checked = job_options(job, {k[2:]: v for k, v in out.items()})
    if "sources" in checked:
        parse_sources(checked["sources"], job=job)
    return out


# ---- the jobs -----------------------------------------------------------------------------
def run_pipeline(args: Mapping[str, Any], spark: SparkSession, *,
                 cache: Path | str | None = None) -> dict[str, Any]:
    """The ``run_pipeline`` job: :func:`spark_lester.run` of ``--pipeline`` on ``--sources``
    into ``--warehouse``, with the pipeline file staged (see the module's docstring) in
    ``cache`` (default :data:`PIPELINE_CACHE`). Returns the run's summary, which is also
    written to ``--result-uri``."""
    from spark_lester.artifacts.run import run

    opts = job_options(RUN_PIPELINE.name, args)
    base = {"job": RUN_PIPELINE.name, "pipeline_uri": opts["pipeline"]}
    with _reporting(spark, opts.get("result_uri"), base):
        sources = parse_sources(opts["sources"])
        layout = Layout(opts["warehouse"])
        local = stage_pipeline(spark, opts["pipeline"], layout,
                               Path(cache) if cache is not None else PIPELINE_CACHE)
        record = run(local, sources, warehouse=opts["warehouse"], name=opts.get("name"),
                     run_id=opts.get("run_id"), spark=spark)
    summary = {**base, "status": "completed", **record.summary()}
    _write_result(spark, summary, opts.get("result_uri"))
    return summary


def apply_deletion(args: Mapping[str, Any], spark: SparkSession) -> dict[str, Any]:
    """The ``apply_deletion`` job: :func:`spark_lester.unlearn` of ``--request`` on
    ``--warehouse``, after putting back the staged pipeline files of the runs it updates.
    Returns unlearn's result, which is also written to ``--result-uri``."""
    from spark_lester.artifacts import registry
    from spark_lester.deletion.resolve import affected_runs
    from spark_lester.deletion.unlearn import unlearn

    opts = job_options(APPLY_DELETION.name, args)
    inline = opts["request"].startswith("{")
    base = {"job": APPLY_DELETION.name, "request_uri": None if inline else opts["request"]}
    with _reporting(spark, opts.get("result_uri"), base):
        request = load_request(spark, opts["request"])
        layout = Layout(opts["warehouse"])
        runs = affected_runs(registry.list_runs(spark, layout), request)
        restored = restore_pipelines(spark, layout, runs)
        result = unlearn(request, warehouse=opts["warehouse"], spark=spark)
    summary = {**base, **result.to_json(), "restored_pipelines": restored}
    _write_result(spark, summary, opts.get("result_uri"))
    return summary


# ---- files --------------------------------------------------------------------------------
def load_request(spark: SparkSession, value: str) -> DeletionRequest:
    """``--request``: inline JSON, a JSON file on any Hadoop file system, or a local file."""
    from spark_lester.deletion.request import DeletionRequest

    text = value.strip()
    if text.startswith("{"):
        return DeletionRequest.from_json(text)
    if not is_remote(text):
        return DeletionRequest.from_file(text)
    if not exists(spark, text):
        raise GlueJobArgumentError(f"--request: no file at {text}.", job=APPLY_DELETION.name,
                                   argument="request")
    with tempfile.TemporaryDirectory(prefix="lester-glue-") as tmp:
        return DeletionRequest.from_file(fetch(spark, text, Path(tmp) / "request.json"))


def stage_pipeline(spark: SparkSession, uri: str, layout: Layout, cache: Path) -> Path:
    """Copy the pipeline file ``uri`` to ``cache/<sha256>/<folder>/<file>`` and to the same
    relative path under the warehouse's pipelines folder; return the local file."""
    from spark_lester.artifacts.run import file_sha256

    job, arg = RUN_PIPELINE.name, "pipeline"
    parts = PurePosixPath(_SCHEME.sub("", uri) if is_remote(uri)
                          else Path(uri).absolute().as_posix()).parts
    file = parts[-1] if parts else ""
    folder = parts[-2] if len(parts) > 1 and parts[-2] != "/" else "pipeline"
    if not file.endswith(".py") or folder in (".", ".."):
        raise GlueJobArgumentError(f"--pipeline {uri} is not a path to a .py file.", job=job,
                                   argument=arg)
    if not exists(spark, uri):
        raise GlueJobArgumentError(f"--pipeline: no file at {uri}.", job=job, argument=arg)
    with tempfile.TemporaryDirectory(prefix="lester-glue-") as tmp:
        fetched = fetch(spark, uri, Path(tmp) / file)
        relative = f"{file_sha256(fetched)}/{folder}/{file}"
        local = cache / relative
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fetched, local)
    publish(spark, local, f"{layout.pipelines}/{relative}")
    return local


def restore_pipelines(spark: SparkSession, layout: Layout,
                      runs: Sequence[RunRecord]) -> list[str]:
    """Copy back from the warehouse the staged pipeline files of ``runs`` missing here (a job
    staged them on another worker); return the ids of those runs. A file that was not staged
    by a job, or whose warehouse copy is gone, is left to ``unlearn`` to report."""
    restored = []
    for run in runs:
        path = Path(run.pipeline_path)
        if path.is_file() or len(path.parts) < 4 or path.parent.parent.name != run.pipeline_sha256:
            continue
        copy = f"{layout.pipelines}/{'/'.join(path.parts[-3:])}"
        if exists(spark, copy):
            fetch(spark, copy, path)
            restored.append(run.run_id)
    return restored


def is_remote(uri: str) -> bool:
    """Whether ``uri`` has a scheme (``s3://``, ``s3a://``, ``hdfs://``, ``file://``).

    >>> is_remote("s3://b/p.py"), is_remote("examples/pipeline.py")
    (True, False)
    """
    return bool(_SCHEME.match(uri))


def exists(spark: SparkSession, uri: str) -> bool:
    """Whether a file is at ``uri`` (any Hadoop file system) or at the local path ``uri``."""
    if not is_remote(uri):
        return Path(uri).is_file()
    path, conf = _hadoop_path(spark, uri), _hadoop_conf(spark)
    with store.storage_errors(uri):
        return bool(path.getFileSystem(conf).isFile(path))


def fetch(spark: SparkSession, uri: str, local: Path) -> Path:
    """Copy ``uri`` (any Hadoop file system, or a local path) to the local file ``local``."""
    local.parent.mkdir(parents=True, exist_ok=True)
    if not is_remote(uri):
        shutil.copyfile(uri, local)
        return local
    src, dst = _hadoop_path(spark, uri), _hadoop_path(spark, local.absolute().as_uri())
    with store.storage_errors(uri):
        src.getFileSystem(_hadoop_conf(spark)).copyToLocalFile(False, src, dst, True)
    return local


def publish(spark: SparkSession, local: Path, uri: str) -> None:
    """Copy the local file ``local`` to ``uri`` (overwriting; any Hadoop file system)."""
    if not is_remote(uri):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, uri)
        return
    src, dst = _hadoop_path(spark, local.absolute().as_uri()), _hadoop_path(spark, uri)
    with store.storage_errors(uri):
        dst.getFileSystem(_hadoop_conf(spark)).copyFromLocalFile(False, True, src, dst)


def _hadoop_path(spark: SparkSession, uri: str) -> Any:
    return spark.sparkContext._jvm.org.apache.hadoop.fs.Path(uri)  # type: ignore[union-attr]


def _hadoop_conf(spark: SparkSession) -> Any:
    return spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]


def _write_result(spark: SparkSession, summary: Mapping[str, Any], uri: str | None) -> None:
    if not uri:
        return
    with tempfile.TemporaryDirectory(prefix="lester-glue-") as tmp:
        local = Path(tmp) / "result.json"
        local.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n",
                         encoding="utf-8")
        publish(spark, local, uri)


@contextmanager
def _reporting(spark: SparkSession, result_uri: str | None,
               base: Mapping[str, Any]) -> Iterator[None]:
    """On an error, write a failure summary to ``result_uri`` and raise the error again.
    Only spark_lester's errors contribute their message: others may quote data."""
    try:
        yield
    except Exception as err:
        failure = {**base, "status": "failed", "error": type(err).__name__,
                   "message": str(err) if isinstance(err, LesterError) else None,
                   "retryable": bool(getattr(err, "retryable", False))}
        try:
            _write_result(spark, failure, result_uri)
        except Exception as publish_err:  # noqa: BLE001 - the job's own error matters more
            print(f"spark_lester glue job: could not write the failure summary to "
                  f"{result_uri} ({type(publish_err).__name__})", file=sys.stderr)
        raise


def _spec(job: str) -> JobSpec:
    try:
        return JOBS[job]
    except KeyError:
        raise GlueJobArgumentError(f"no such job; known: {', '.join(JOBS)}.", job=job) from None
