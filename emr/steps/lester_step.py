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


def prepare(command: list[str], result_uri: str | None, spark: Any,
            folder: Path) -> tuple[list[str], Path | None]:
    """The command with its remote file argument localized and ``--json`` added when a
    result URI is wanted; returns (argv, local path of the JSON summary or None)."""
    argv = list(command)
    if argv[0] in FILE_COMMANDS and len(argv) > 1 and argv[1].startswith(REMOTE_SCHEMES):
        argv[1] = localize(spark, argv[1], folder)
    summary = None
    if result_uri:
        if "--json" in argv:
            summary = Path(argv[argv.index("--json") + 1])
        else:
            summary = folder / "result.json"
            argv += ["--json", str(summary)]
    return argv, summary


def main(argv: Sequence[str] | None = None, *, spark: Any = None,
         cli_main: Callable[[list[str]], int] | None = None) -> int:
    """Run the step; ``spark`` and ``cli_main`` are injectable for tests."""
    os.environ.setdefault("SPARK_LESTER_PLATFORM", "emr")
    result_uri, command = parse(sys.argv[1:] if argv is None else argv)
    if spark is None:
        from spark_lester.config import LesterConfig
        from spark_lester.session import get_spark

        spark = get_spark(LesterConfig.from_env())
    if cli_main is None:
        from spark_lester.cli import main as cli_main
    with tempfile.TemporaryDirectory(prefix="lester-step-") as tmp:
        args, summary = prepare(command, result_uri, spark, Path(tmp))
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
