"""Join the real-model benchmark's per-task results into ``bench/results/rewrite_local.json``.

    python bench/llm/merge.py bench/results/rewrite_local --corpus examples/rewrite_corpus \
        --out bench/results/rewrite_local.json

``bench/llm/run_all.sh`` runs one ``spark-lester bench rewrite --task T`` per task and keeps
its result in ``<runs>/<model>_<target>/<task>.json``. Here they become one entry per run
(model file, target API): per task pass@1, acceptance within the rounds, rounds used, tokens,
seconds, the failing stage of each failed round and the commit that ran it (``code``, where
``run_all.sh`` recorded it), the run's rates over the tasks it has done, and whether every
corpus task is done (``complete``, ``missing``). Then, per model run on both target APIs,
the rates on the tasks both runs have done, and the tasks each API passes that the other
does not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections import Counter
from pathlib import Path
from typing import Any


def corpus_tasks(corpus: Path) -> list[str]:
    """The task names of a corpus folder (those with a ``task.json``)."""
    return sorted(p.parent.name for p in corpus.glob("*/task.json"))


def rates(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """pass@1, acceptance rate, mean rounds, tokens, seconds over ``rows``, and how many of
    the rejected ones failed last at each stage."""
    n = len(rows) or 1
    return {"tasks_done": len(rows),
            "pass_at_1": sum(r["pass_at_1"] for r in rows) / n,
            "accepted_rate": sum(r["accepted"] for r in rows) / n,
            "mean_rounds": sum(r["rounds"] for r in rows) / n,
            "total_tokens": sum(r["tokens"].get("total_tokens", 0) for r in rows),
            "seconds": round(sum(r["seconds"] for r in rows), 2),
            # how far the rejected rewrites got: the stage each task's last round failed at
            "last_failing_stage": dict(sorted(Counter(
                r["failing_stages"][-1] if r["failing_stages"] else "no round"
                for r in rows if not r["accepted"]).items()))}


def join_run(folder: Path, tasks: list[str]) -> dict[str, Any]:
    """One run from its per-task files: the rows in corpus order and the run's rates."""
    model, target = folder.name.rsplit("_", 1)
    rows = {}
    for path in sorted(folder.glob("*.json")):
        result = json.loads(path.read_text())
        if result.get("target_api", target) != target:
            raise SystemExit(f"{path}: target_api {result['target_api']!r}, "
                             f"but its folder says {target!r}")
        for row in result["tasks"]:
            rows[row["task"]] = {**row, "code": result.get("code")}
    ordered = [rows[t] for t in tasks if t in rows] + \
        [rows[t] for t in sorted(rows) if t not in tasks]
    missing = [t for t in tasks if t not in rows]
    return {"model": model, "target_api": target, "complete": not missing,
            "missing": missing, **rates(ordered),
            "codes": sorted({r["code"] for r in ordered if r["code"]}), "tasks": ordered}


def compare(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """Plain PySpark against the first target API on one model, over the tasks both did."""
    mine = {t["task"]: t for t in new["tasks"]}
    theirs = {t["task"]: t for t in old["tasks"]}
    shared = [t for t in mine if t in theirs]
    return {"tasks_compared": len(shared),
            "pyspark": rates([mine[t] for t in shared]),
            "lester": rates([theirs[t] for t in shared]),
            "only_pyspark": sorted(t for t in shared
                                   if mine[t]["accepted"] and not theirs[t]["accepted"]),
            "only_lester": sorted(t for t in shared
                                  if theirs[t]["accepted"] and not mine[t]["accepted"])}


def merge(runs_root: Path, corpus: Path) -> dict[str, Any]:
    tasks = corpus_tasks(corpus)
    runs = {}
    for folder in sorted(p for p in runs_root.iterdir() if p.is_dir()):
        run = join_run(folder, tasks)
        if run["tasks"]:
            runs[f"{run['model']}/{run['target_api']}"] = run
    comparison = {}
    for run in runs.values():
        old = runs.get(f"{run['model']}/lester")
        if run["target_api"] == "pyspark" and old is not None:
            comparison[run["model"]] = compare(run, old)
    return {"corpus_tasks": len(tasks), "runs": runs, "target_api_comparison": comparison,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "load_average_at_merge": os.getloadavg()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", type=Path, help="folder of <model>_<target>/<task>.json")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = merge(args.runs, args.corpus)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: {x: r[x] for x in ("complete", "tasks_done", "pass_at_1",
                                             "accepted_rate")}
                      for k, r in result["runs"].items()}, indent=1))


if __name__ == "__main__":
    main()
