"""``spark-lester delete REQUEST.json``: apply a deletion request to every affected run.

Updates the artifact tables by MERGE, erases the removed values physically, proves it with
a scan of every object under the touched tables, and records all of it in the ledger.
Exit codes: 0 applied (or already applied, or nothing to do), 1 erasure not verified,
2 bad request or tables/sources changed outside spark_lester.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from spark_lester.cli._private import emit_json

if TYPE_CHECKING:
    from spark_lester.config import LesterConfig


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("delete", help="apply a deletion request", description=__doc__)
    p.add_argument("request", help="deletion request JSON file")
    p.add_argument("--warehouse", default=None, help="warehouse root")
    p.add_argument("--no-erase", action="store_true",
                   help="update the tables but skip the physical purge and the scan")
    p.add_argument("--json", dest="json_path", default=None, help="write JSON ('-': stdout)")
    p.set_defaults(func=run)


def config_for_delete(warehouse: str | None) -> LesterConfig:
    """The session settings of a deletion: no torch preloaded in the Python workers.

    A deletion runs the pipeline's own functions on a few rows and re-encodes them on the
    driver, so its workers rarely need the embedding model; a fresh ``spark-lester delete``
    at 100k mails was consistent after 30 s without the preload and 47 s with it
    (measured). ``SPARK_LESTER_WORKER_PRELOAD``, when set, still decides."""
    from spark_lester.config import PREFIX, LesterConfig

    preload = {} if os.environ.get(PREFIX + "WORKER_PRELOAD") else {"worker_preload": False}
    return LesterConfig.from_env(warehouse=warehouse, **preload)


#: What a request imports on its way (scikit-learn for the encoder, pandas and PyArrow for
#: the changed rows, SciPy for the model, Great Expectations for the quality suite): imported
#: while the JVM starts (``get_spark_while``). A cold delete at 100k mails spent about 4 s
#: importing them after the session had started (bench/results/cold_delete.json).
REQUEST_MODULES = ("pandas", "pyarrow", "scipy.linalg", "sklearn.compose", "sklearn.pipeline",
                   "sklearn.preprocessing", "sklearn.feature_extraction.text",
                   "spark_lester.deletion.runner", "spark_lester.deletion.encoder",
                   "spark_lester.features.downdate", "spark_lester.features.encode",
                   "spark_lester.unlearning.newton", "great_expectations",
                   "great_expectations.expectations")


def import_request_modules() -> None:
    """Import :data:`REQUEST_MODULES`; one that is missing (Great Expectations is optional)
    is left to the code that needs it to report."""
    import importlib

    for name in REQUEST_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def run(args: argparse.Namespace) -> int:
    from spark_lester.deletion.request import DeletionRequest
    from spark_lester.deletion.unlearn import unlearn
    from spark_lester.errors import ErasureNotVerifiedError
    from spark_lester.session import get_spark_while

    request = DeletionRequest.from_file(args.request)
    print(f"[delete] {request.request_id}: {request.describe()}", file=sys.stderr)
    config = config_for_delete(args.warehouse)
    spark = get_spark_while(config, import_request_modules)
    try:
        result = unlearn(request, warehouse=args.warehouse, spark=spark, config=config,
                         erase=not args.no_erase, hooks=getattr(args, "hooks", None))
    except ErasureNotVerifiedError as err:
        print(f"spark-lester delete: {err}", file=sys.stderr)
        return 1
    line = f"request {request.request_id}: {result.status}"
    if result.status == "completed":
        verified = result.verified
        line += (f"; {result.rows_affected} artifact rows changed in "
                 f"{result.seconds_to_consistent:.1f}s; erasure "
                 f"{'verified' if verified else 'skipped' if verified is None else 'FAILED'}")
        for run_id, update in sorted((result.model or {}).items()):
            why = f" ({update['retrain_reason']})" if update.get("retrain_reason") else ""
            line += (f"; model of {run_id}: {update['method']}{why}, version "
                     f"{update['model_version']}")
    elif result.reason:
        line += f" ({result.reason})"
    print(line)
    emit_json(result.to_json(), args.json_path)
    return 0
