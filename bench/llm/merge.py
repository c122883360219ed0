"""Join the real-model benchmark runs into ``bench/results/rewrite_local.json``.

    python bench/llm/merge.py bench/results/rewrite_local_*_*.json --out OUT

One entry per run (model file, target API): its summary and per task pass@1, acceptance
within the rounds, rounds used, tokens, seconds and the failing stage of each failed round;
then, per model run on both target APIs, the tasks each API passes that the other does not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    runs = {}
    for path in sorted(args.runs):
        model, target = path.stem.removeprefix("rewrite_local_").rsplit("_", 1)
        runs[f"{model}/{target}"] = {"model": model, "target_api": target,
                                     **json.loads(path.read_text())}
    comparison = {}
    for key, run in runs.items():
        other = runs.get(f"{run['model']}/lester")
        if run["target_api"] != "pyspark" or other is None:
            continue
        mine = {t["task"]: t["accepted"] for t in run["tasks"]}
        theirs = {t["task"]: t["accepted"] for t in other["tasks"]}
        comparison[run["model"]] = {
            "pyspark": {"pass_at_1": run["pass_at_1"], "accepted": run["accepted_rate"]},
            "lester": {"pass_at_1": other["pass_at_1"], "accepted": other["accepted_rate"]},
            "only_pyspark": sorted(t for t in mine if mine[t] and not theirs.get(t)),
            "only_lester": sorted(t for t in theirs if theirs[t] and not mine.get(t)),
        }
    result = {"runs": runs, "target_api_comparison": comparison,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_average_at_merge": os.getloadavg()}}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: {"pass_at_1": r["pass_at_1"], "accepted": r["accepted_rate"]}
                      for k, r in runs.items()}, indent=1))


if __name__ == "__main__":
    main()
