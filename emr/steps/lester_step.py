"""EMR step driver: run one ``spark-lester`` command inside ``spark-submit`` on the cluster.

    spark-submit --deploy-mode client s3://CODE/PREFIX/emr/steps/lester_step.py \\
        [--result-uri s3://ARTIFACTS/step-results/NAME.json] COMMAND ARGS...

``COMMAND ARGS`` are those of the ``spark-lester`` command line, e.g.
``run s3://CODE/PREFIX/inputs/pipeline.py --source mails=s3://RAW/mails/ --warehouse
s3://ARTIFACTS/warehouse`` or ``delete s3://.../request.json --warehouse s3://...``.

Why a driver script: the step runs the engine in the cluster's Spark with the cluster's Delta and
S3 connectors (``SPARK_LESTER_PLATFORM=emr``), the command's file argument (PIPELINE.py,
REQUEST.json) has to be a local file, and the command's ``--json`` summary should outlive the
node. The driver starts the session through spark_lester's factory, copies the file argument
from S3 through Hadoop's FileSystem (EMRFS; the nodes need no boto3), calls
``spark_lester.cli.main``, copies the ``--json`` summary to ``--result-uri``, and exits with the
command's exit code so that a failing command fails the step.

Pipeline files outlive the step, as with the Glue jobs (``spark_lester.aws.glue_jobs``): a
``delete`` re-imports the pipeline of every run it updates and checks its hash, maybe on
another cluster. So ``run`` stages its pipeline file at ``<cache>/<sha256>/<folder>/<file>``
and at the same path under ``<warehouse>/_lester/pipelines`` and runs it from the cache (the
registry records that path, and the run is named after ``<folder>`` as it would be without
the driver); ``delete`` first copies the staged files of the runs it updates back from the
warehouse where the cache lacks them.

This file is not part of the wheel: it is uploaded next to it and run by spark-submit.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: Commands whose first positional argument is a file the driver copies to local disk.
FILE_COMMANDS = frozenset({"run", "delete", "plan"})
REMOTE_SCHEMES = ("s3://", "s3a://", "s3n://", "hdfs://")
#: Where ``run`` stages pipeline files (kept after the step; a later ``delete`` needs them).
PIPELINE_CACHE = Path(tempfile.gettempdir()) / "spark_lester" / "pipelines"


def parse(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """Split ``[--result-uri URI] COMMAND ARGS...`` into the result URI and the command.

    >>> parse(["--result-uri", "s3://b/r.json", "run", "p.py"])
    ('s3://b/r.json', ['run', 'p.py'])
    >>> parse(["delete", "r.json"])
    (None, ['delete', 'r.json'])
    """
    args = list(argv)
    result_uri = None
    if args[:1] == ["--result-uri"]:
        if len(args) < 2:
            raise SystemExit("lester_step: --result-uri needs a value")
        result_uri, args = args[1], args[2:]
    if not args:
        raise SystemExit("usage: lester_step.py [--result-uri URI] COMMAND ARGS...")
    return result_uri, args


def localize(spark: Any, uri: str, folder: Path) -> str:
    """Copy ``uri`` (any Hadoop file system: s3://, s3a://, hdfs://) into ``folder``."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    src = jvm.org.apache.hadoop.fs.Path(uri)
    local = folder / Path(uri.rstrip("/")).name
    dst = jvm.org.apache.hadoop.fs.Path(local.absolute().as_uri())
    src.getFileSystem(conf).copyToLocalFile(False, src, dst, True)
    return str(local)


def publish(spark: Any, local: Path, uri: str) -> None:
    """Copy the local file ``local`` to ``uri`` (overwriting)."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    dst = jvm.org.apache.hadoop.fs.Path(uri)
    src = jvm.org.apache.hadoop.fs.Path(local.absolute().as_uri())
    dst.getFileSystem(conf).copyFromLocalFile(False, True, src, dst)


def option(argv: Sequence[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in ``argv``, else None.

    >>> option(["run", "p.py", "--warehouse", "s3://b/wh"], "--warehouse")
    's3://b/wh'
    >>> option(["delete", "r.json", "--warehouse=s3://b/wh"], "--warehouse")
    's3://b/wh'
    """
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1:]
    return None


def warehouse_layout(argv: Sequence[str]) -> Any:
    """The warehouse the command works on: its ``--warehouse``, else the configured one."""
    from spark_lester.artifacts.layout import Layout
    from spark_lester.config import LesterConfig

    return Layout(option(argv, "--warehouse") or LesterConfig.from_env().warehouse)


def restore(spark: Any, request_file: str, argv: Sequence[str]) -> list[str]:
    """Before ``delete``: copy back the staged pipeline files of the runs the request
    updates; return their run ids. A request the engine will reject is left to it."""
    from spark_lester.artifacts import registry
    from spark_lester.aws.glue_jobs import restore_pipelines
    from spark_lester.deletion.request import DeletionRequest
    from spark_lester.deletion.resolve import affected_runs
    from spark_lester.errors import LesterError

    try:
        request = DeletionRequest.from_file(request_file)
        layout = warehouse_layout(argv)
        runs = affected_runs(registry.list_runs(spark, layout), request)
        return list(restore_pipelines(spark, layout, runs))
    except LesterError as err:
        print(f"lester_step: no pipeline files restored ({type(err).__name__})",
              file=sys.stderr, flush=True)
        return []


def prepare(command: list[str], result_uri: str | None, spark: Any, folder: Path,
            cache: Path = PIPELINE_CACHE) -> tuple[list[str], Path | None]:
    """The command with its file argument made local and ``--json`` added when a result URI
    is wanted; returns (argv, local path of the JSON summary or None).

    ``run`` stages its pipeline file in ``cache`` and the warehouse; ``delete`` restores the
    pipeline files of the runs it updates; other files (a request) are copied to ``folder``.
    """
    from spark_lester.aws.glue_jobs import stage_pipeline

    argv = list(command)
    if argv[0] == "run" and len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = str(stage_pipeline(spark, argv[1], warehouse_layout(argv), cache))
    elif argv[0] in FILE_COMMANDS and len(argv) > 1 and argv[1].startswith(REMOTE_SCHEMES):
        argv[1] = localize(spark, argv[1], folder)
    if argv[0] == "delete" and len(argv) > 1:
        restored = restore(spark, argv[1], argv)
        if restored:
            print(f"lester_step: restored the pipeline files of run(s) {', '.join(restored)}",
                  file=sys.stderr, flush=True)
    summary = None
    if result_uri:
        if "--json" in argv:
            summary = Path(argv[argv.index("--json") + 1])
        else:
            summary = folder / "result.json"
            argv += ["--json", str(summary)]
    return argv, summary


def main(argv: Sequence[str] | None = None, *, spark: Any = None,
         cli_main: Callable[[list[str]], int] | None = None,
         cache: Path = PIPELINE_CACHE) -> int:
    """Run the step; ``spark``, ``cli_main`` and the pipeline ``cache`` are injectable for
    tests."""
    os.environ.setdefault("SPARK_LESTER_PLATFORM", "emr")
    result_uri, command = parse(sys.argv[1:] if argv is None else argv)
    if spark is None:
        from spark_lester.config import LesterConfig
        from spark_lester.session import get_spark

        spark = get_spark(LesterConfig.from_env())
    if cli_main is None:
        from spark_lester.cli import main as cli_main
    from spark_lester.cli import EXIT_BAD_INPUT
    from spark_lester.errors import LesterError

    with tempfile.TemporaryDirectory(prefix="lester-step-") as tmp:
        try:
            args, summary = prepare(command, result_uri, spark, Path(tmp), cache)
        except LesterError as err:  # e.g. no pipeline file at the URI: the command's exit code
            print(f"lester_step: error: {err}", file=sys.stderr, flush=True)
            return EXIT_BAD_INPUT
        print(f"lester_step: spark-lester {' '.join(args)}", file=sys.stderr, flush=True)
        code = int(cli_main(args) or 0)
        if result_uri and summary is not None and summary.is_file():
            publish(spark, summary, result_uri)
            print(f"lester_step: summary -> {result_uri}", file=sys.stderr, flush=True)
        elif result_uri:
            print(f"lester_step: the command wrote no summary; nothing copied to {result_uri}",
                  file=sys.stderr, flush=True)
    print(f"lester_step: exit code {code}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
