"""``spark-lester analyze``: catalog a repository of pipelines, or ask what a location touches.

    spark-lester analyze PATH [--format json|md|html|openlineage] [--out FILE] [--region R --account A]
    spark-lester analyze impact LOCATION [--repo PATH | --catalog FILE] [--json]

Exit codes: 0 success; 1 (impact only) no pipeline reads the location; 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FORMATS = ("json", "md", "html", "openlineage")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="static analysis of PySpark/Glue/Airflow pipelines; 'analyze impact LOCATION' for leaks",
        description="Analyze PATH (never executing it), or with 'impact LOCATION' list the "
                    "pipelines that read LOCATION directly or downstream, with owners.",
    )
    p.add_argument("target", nargs="+", metavar="PATH | impact LOCATION",
                   help="repository or file to analyze; or the word 'impact' and a location")
    p.add_argument("--format", choices=FORMATS, default="json", help="output format (default json)")
    p.add_argument("--out", type=Path, help="write the output here instead of stdout")
    p.add_argument("--repo", type=Path, default=Path("."), help="impact: repository to analyze (default .)")
    p.add_argument("--catalog", type=Path, help="impact: use a JSON catalog written earlier")
    p.add_argument("--json", action="store_true", help="impact: machine-readable output")
    p.add_argument("--no-git", action="store_true", help="skip ownership from git history")
    p.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show a progress bar on stderr (default: when stderr is a terminal)")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--history", action="store_true",
                   help="add EMR/Glue run history through boto3 (uses your AWS configuration)")
    p.add_argument("--region", help="AWS region: for --history, and in the OpenLineage names of Glue, "
                                    "Athena and Redshift datasets")
    p.add_argument("--account", help="12-digit AWS account id, in the OpenLineage names of Glue tables "
                                     "(without it and --region they are listed as unresolved, not named)")
    p.add_argument("--llm", action="store_true",
                   help="ask an LLM (OpenAI-compatible endpoint from SPARK_LESTER_LLM_BASE_URL, "
                        "SPARK_LESTER_LLM_MODEL, OPENAI_API_KEY) to resolve unresolved locations (accepted only "
                        "with evidence from the repository, marked source=llm) and to summarise pipelines "
                        "(answers naming unknown locations are rejected)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spark_lester.errors import AnalyzeError

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    if args.target[0] == "impact" and len(args.target) == 2:
        return _impact(args, args.target[1], progress)
    if len(args.target) != 1:
        raise AnalyzeError("expected one PATH, or 'impact LOCATION'",
                           hint="Usage: spark-lester analyze PATH | analyze impact LOCATION")
    from spark_lester.analyze import analyze, openlineage, report

    catalog = analyze(args.target[0], git=not args.no_git, progress=progress)
    if args.history:
        _history(catalog, args.region)
    if args.llm:
        from spark_lester.analyze.assist import assist
        from spark_lester.analyze.summary import add_llm_summaries, client_from_env

        client = client_from_env()
        catalog["llm_assist"] = asked = assist(catalog, client)
        add_llm_summaries(catalog, client)
        print(f"llm: {sum(r['accepted'] for r in asked)} of {len(asked)} unresolved location(s) resolved "
              "with evidence from the repository", file=sys.stderr)
    if args.format == "json":
        text = json.dumps(catalog, indent=2, default=str)
    elif args.format == "openlineage":
        from spark_lester.analyze.openlineage import unnamed_locations

        names = {"region": args.region, "account": args.account}
        text = "\n".join(json.dumps(e, default=str) for e in openlineage(catalog, **names))
        left = unnamed_locations(catalog, **names)
        if left:
            print(f"openlineage: {len(left)} read(s)/write(s) have no spec name and are listed in the jobs' "
                  f"spark_lester_unresolvedDatasets facet instead; e.g. {left[0]['file']}: {left[0]['reason']}",
                  file=sys.stderr)
    else:
        text = report(catalog, args.format)
    _emit(text, args.out)
    stats = catalog["stats"]
    print(f"analyzed {stats['files']} files: {stats['pipelines']} pipelines, {stats['problems']} problems "
          f"in {stats['seconds']} s", file=sys.stderr)
    return 0


def _history(catalog: dict, region: str | None) -> None:
    import boto3

    from spark_lester.analyze.history import attach_history

    attach_history(catalog, emr=boto3.client("emr", region_name=region),
                   glue=boto3.client("glue", region_name=region))


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")


def _impact(args: argparse.Namespace, location: str, progress: bool) -> int:
    from spark_lester.analyze import analyze, impact
    from spark_lester.analyze.impact import contacts
    from spark_lester.errors import AnalyzeError

    if args.catalog is not None:
        try:
            catalog = json.loads(args.catalog.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise AnalyzeError(f"cannot read catalog: {err}", path=str(args.catalog)) from None
    else:
        catalog = analyze(args.repo, git=not args.no_git, progress=progress)
    hits = impact(catalog, location)
    if args.json or args.format == "json" and args.out:
        text = json.dumps({"location": location, "pipelines": hits, "contacts": contacts(hits)}, indent=2)
    else:
        lines = [f"{len(hits)} pipeline(s) read {location} directly or downstream:"]
        for h in hits:
            owners = ", ".join(o["name"] for o in h["owners"]) or "unknown"
            lines.append(f"  [{h['distance']}] {h['pipeline']} ({h['kind']}) via {h['via']} - owners: {owners}")
        lines.append("contact: " + (", ".join(contacts(hits)) or "nobody found"))
        text = "\n".join(lines)
    _emit(text, args.out)
    return 0 if hits else 1
