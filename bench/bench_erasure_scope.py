"""The erasure proof over the whole warehouse: what it costs next to the touched tables alone.

Per size: the running example's run (reused from ``bench_deletion.py --initial-dir`` when
there), the incident request applied with ``spark_lester.unlearn`` (whose verification now
scans every object under the warehouse root), then, on the erased warehouse, the same needles
scanned two ways, one after the other: the touched table prefixes (the scan before issue 18)
and the whole warehouse (the scan now). The needles are re-derived from the generated data
(the leaked mails' subjects, as stored and lower-cased) and stay in memory.

    .venv/bin/python bench/bench_erasure_scope.py --sizes 100000 --initial-dir /tmp/lester-bench

Writes ``bench/results/erasure_scope.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_deletion import _commit, initial_run  # noqa: E402
from spark_lester.config import LesterConfig  # noqa: E402
from spark_lester.session import get_spark  # noqa: E402


def needles_of(paths: dict[str, str]) -> set[str]:
    import pandas as pd

    leaks = json.loads(Path(paths["leaks"]).read_text())
    mails = pd.read_csv(paths["mails"])
    subjects = mails[mails.mail_id.isin(leaks["mail_ids"])].mail_subject.dropna()
    return set(subjects) | {s.lower() for s in subjects}


def measure(spark, n_mails: int, work: Path, keep: Path | None) -> dict:
    from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED, Layout
    from spark_lester.deletion.request import CARD_NUMBER
    from spark_lester.deletion.unlearn import unlearn
    from spark_lester.deletion.verify import scan, scan_warehouse

    record, paths, initial = initial_run(spark, n_mails, work, keep)
    wh = str(work / "warehouse")
    config = LesterConfig.from_env(warehouse=wh)
    leaked = json.loads(Path(paths["leaks"]).read_text())["customer_ids"]
    request = {"source": "customers", "keys": leaked, "action": "redact_columns",
               "columns": ["mails.mail_subject"], "verify_patterns": [CARD_NUMBER]}
    load = round(os.getloadavg()[0], 2)
    result = unlearn(request, warehouse=wh, spark=spark, config=config)
    needles = needles_of(paths)
    touched = [record.tables[n].path for n in (PREPARED, FEATURES, MODEL)]
    sources = [meta["path"] for meta in record.sources.values()]
    tick = time.perf_counter()
    old = scan(touched, needles, patterns=[CARD_NUMBER], config=config)
    old_seconds = time.perf_counter() - tick
    tick = time.perf_counter()
    new = scan_warehouse(Layout(wh).root, needles, patterns=[CARD_NUMBER], exclude=sources,
                         config=config)
    new_seconds = time.perf_counter() - tick
    timings = result.timings
    return {
        "mails": n_mails, "rows_prepared": record.rows["total"], **initial,
        "load_1min_at_request": load,
        "seconds_to_consistent": result.seconds_to_consistent,
        "erasure_seconds": result.erasure_seconds,
        "purge_seconds": timings.get("purge"), "verify_seconds": timings.get("verify"),
        "timings": timings,
        "verification": {k: (result.verification or {}).get(k) for k in
                         ("verified", "objects", "bytes", "needles", "scope", "seconds")},
        "encoder": [c.get("encoder") for c in result.changes or []],
        "rescan": {
            "touched_prefixes": {"seconds": round(old_seconds, 3), "objects": old.objects,
                                 "bytes": old.bytes, "verified": old.verified},
            "whole_warehouse": {"seconds": round(new_seconds, 3), "objects": new.objects,
                                "bytes": new.bytes, "verified": new.verified},
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--initial-dir", type=Path, default=None,
                        help="reuse (or keep) each size's initial run here (DIR/<mails>)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" /
                        "erasure_scope.json")
    args = parser.parse_args()
    config = LesterConfig.from_env()
    spark = get_spark(config)
    # sizes measured earlier and not in this run stay in the file (each entry says its commit)
    results = [r for r in (json.loads(args.out.read_text())["results"] if args.out.is_file()
                           else []) if r["mails"] not in args.sizes]
    for n in args.sizes:
        if args.initial_dir is not None:
            work = args.initial_dir / str(n)
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(tempfile.mkdtemp(prefix=f"lester-erasure-{n}-"))
        print(f"[bench] {n} mails in {work}", file=sys.stderr, flush=True)
        results.append(measure(spark, n, work, args.initial_dir and work)
                       | {"commit": _commit()})
        print(json.dumps(results[-1], indent=2), file=sys.stderr, flush=True)
        results.sort(key=lambda r: r["mails"])
        args.out.write_text(json.dumps({  # after each size: a long run stopped keeps the rest
            "benchmark": "the incident's erasure with the whole-warehouse verification scan; "
                         "the same needles rescanned over the touched tables and the whole "
                         "warehouse",
            "machine": {"cpus": os.cpu_count(), "spark_master": spark.sparkContext.master},
            "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
