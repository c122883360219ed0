"""``spark-lester delete REQUEST.json``: apply a deletion request to every affected run.

Updates the artifact tables by MERGE, erases the removed values physically, proves it with
a scan of every object under the touched tables, and records all of it in the ledger.
Exit codes: 0 applied (or already applied, or nothing to do), 1 erasure not verified,
2 bad request or tables/sources changed outside spark_lester.
"""

from __future__ import annotations

import argparse
import sys

from spark_lester.cli._private import emit_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("delete", help="apply a deletion request", description=__doc__)
    p.add_argument("request", help="deletion request JSON file")
    p.add_argument("--warehouse", default=None, help="warehouse root")
    p.add_argument("--no-erase", action="store_true",
                   help="update the tables but skip the physical purge and the scan")
    p.add_argument("--json", dest="json_path", default=None, help="write JSON ('-': stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spark_lester.deletion.request import DeletionRequest
    from spark_lester.deletion.unlearn import unlearn
    from spark_lester.errors import ErasureNotVerifiedError

    request = DeletionRequest.from_file(args.request)
    print(f"[delete] {request.request_id}: {request.describe()}", file=sys.stderr)
    try:
        result = unlearn(request, warehouse=args.warehouse, erase=not args.no_erase)
    except ErasureNotVerifiedError as err:
        print(f"spark-lester delete: {err}", file=sys.stderr)
        return 1
    status = result["status"]
    line = f"request {request.request_id}: {status}"
    if status == "completed":
        verified = (result.get("verification") or {}).get("verified")
        line += (f"; {result['rows_affected']} artifact rows changed in "
                 f"{result['seconds_to_consistent']:.1f}s; erasure "
                 f"{'verified' if verified else 'skipped' if verified is None else 'FAILED'}")
        for run_id, update in sorted((result.get("model") or {}).items()):
            why = f" ({update['retrain_reason']})" if update.get("retrain_reason") else ""
            line += (f"; model of {run_id}: {update['method']}{why}, version "
                     f"{update['model_version']}")
    elif result.get("reason"):
        line += f" ({result['reason']})"
    print(line)
    emit_json(result, args.json_path)
    return 0
