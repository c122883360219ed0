"""Unlearning vs retraining from scratch, side by side in one process, on the same X.

Synthetic data shaped like the running example's feature matrix (d = 52: hashed title and
text embeddings, standardised title length, one-hot country; AND-shaped labels), 100k
training rows by default plus held-out test rows. For logistic regression and the MLP:

* 20 random deletion sets of 0.1% and of 1% of the rows: each is unlearned (Newton with the
  downdated Hessian, with and without the refinement pass; Newton-CG for the MLP; first
  order for comparison) and retrained from scratch with the same seed; the quality metrics
  (rho, gradient residual vs no update, accuracy, disagreement, membership-inference AUC)
  and the seconds of both are recorded;
* the credit-card incident (1% of the rows' title ranges re-encoded): the same, once;
* optionally (``--spark``) the same update with X as a Spark DataFrame (local[2]), to show
  the partition-wise path: the refinement pass and the Hessian-vector products run as
  Spark jobs (mapInPandas + treeAggregate).

Both sides run with one thread (torch, BLAS), so the ratio compares work, not cores.

    PYTHONPATH=. .venv/bin/python bench/bench_unlearning.py            # full run
    PYTHONPATH=. .venv/bin/python bench/bench_unlearning.py --rows 20000 --sets 3  # quick

Writes ``bench/results/unlearning.json``: per model and deletion size, median seconds of
each update method and of retraining, the speed-up (retrain / update), and median metrics,
with the issue's targets (LR Newton: rho <= 0.05, residual >= 100x smaller than no update,
>= 20x faster; MLP: rho <= 0.5, >= 5x faster).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from spark_lester.models import ModelParams, retrain, train  # noqa: E402
from spark_lester.models.synthetic import synthetic_features, synthetic_incident  # noqa: E402
from spark_lester.unlearning import (  # noqa: E402
    UnlearningRequest,
    UnlearningResult,
    first_order,
    newton,
    newton_cg,
    training_stats,
    unlearning_quality,
)

TARGETS = {"logreg": {"rho": 0.05, "residual_ratio": 100.0, "speedup": 20.0},
           "mlp": {"rho": 0.5, "speedup": 5.0}}
METRICS = ("rho", "residual_ratio", "residual_unlearned", "residual_original",
           "accuracy_original", "accuracy_unlearned", "accuracy_retrained", "accuracy_gap",
           "disagreement_unlearned", "disagreement_original", "mia_auc_original",
           "mia_auc_unlearned", "mia_auc_retrained")


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def methods(kind: str) -> dict[str, Callable[..., UnlearningResult]]:
    """Update methods per model kind: name -> f(model, stats, request, remaining)."""
    if kind == "logreg":
        return {
            "newton": lambda m, s, r, data: newton(m, s, r, budget=None),
            "newton_refined": lambda m, s, r, data: newton(m, s, r, data=data, refine=True,
                                                           budget=None),
            "first_order": lambda m, s, r, data: first_order(m, r, stats=s),
        }
    return {
        "newton_cg": lambda m, s, r, data: newton_cg(m, s, r, data),
        "first_order": lambda m, s, r, data: first_order(m, r, stats=s),
    }


def one_request(model: ModelParams, stats: Any, request: UnlearningRequest,
                remaining: tuple[np.ndarray, np.ndarray], deleted: tuple[np.ndarray, np.ndarray],
                test: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    """Every method and a retrain for one request: seconds and metrics per method."""
    retrained, retrain_s = timed(lambda: retrain(model, remaining))
    out: dict[str, Any] = {"retrain_seconds": retrain_s, "methods": {}}
    for name, update in methods(model.kind).items():
        result, seconds = timed(lambda: update(model, stats, request, remaining))
        entry: dict[str, Any] = {"seconds": seconds, "passes": result.passes,
                                 "iterations": result.iterations,
                                 "residual_bound": result.residual_bound,
                                 "refused": result.retrain_reason}
        if result.params is not None:
            report = unlearning_quality(model, result.params, retrained, remaining=remaining,
                                        deleted=deleted, test=test)
            entry.update(report.to_dict())
        out["methods"][name] = entry
    return out


def summarise(runs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """Medians (and worst cases of rho) over the deletion sets, per method."""
    retrain_s = statistics.median(r["retrain_seconds"] for r in runs)
    summary: dict[str, Any] = {"sets": len(runs), "retrain_seconds_median": retrain_s,
                               "methods": {}}
    for name in runs[0]["methods"]:
        entries = [r["methods"][name] for r in runs]
        ok = [e for e in entries if e["refused"] is None]
        seconds = statistics.median(e["seconds"] for e in entries)
        m: dict[str, Any] = {"seconds_median": seconds, "speedup": retrain_s / seconds,
                             "refused": sum(1 for e in entries if e["refused"] is not None),
                             "passes_over_x": statistics.median(e["passes"] for e in entries)}
        if ok:
            for key in METRICS:
                m[f"{key}_median"] = statistics.median(e[key] for e in ok)
            m["rho_max"] = max(e["rho"] for e in ok)
            m["residual_bound_max"] = (max(e["residual_bound"] for e in ok)
                                       if ok[0]["residual_bound"] is not None else None)
        target = TARGETS[kind]
        if name in ("newton", "newton_refined", "newton_cg") and ok:
            m["meets_rho"] = m["rho_median"] <= target["rho"]
            m["meets_speedup"] = m["speedup"] >= target["speedup"]
            if "residual_ratio" in target:
                m["meets_residual_ratio"] = m["residual_ratio_median"] >= target["residual_ratio"]
        summary["methods"][name] = m
    return summary


def deletion_sets(kind: str, model: ModelParams, stats: Any, X: np.ndarray, y: np.ndarray,
                  test: tuple[np.ndarray, np.ndarray], fraction: float, sets: int,
                  seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    runs = []
    for i in range(sets):
        k = max(1, int(round(fraction * len(y))))
        idx = np.sort(rng.choice(len(y), k, replace=False))
        keep = np.ones(len(y), dtype=bool)
        keep[idx] = False
        remaining, deleted = (X[keep], y[keep]), (X[idx], y[idx])
        request = UnlearningRequest.remove(deleted, request_id=f"{kind}-{fraction}-{i}")
        runs.append(one_request(model, stats, request, remaining, deleted, test))
        print(f"  {kind} {fraction:.1%} set {i + 1}/{sets}: "
              + ", ".join(f"{n} rho={e.get('rho', float('nan')):.4f} {e['seconds']:.3f}s"
                          for n, e in runs[-1]["methods"].items())
              + f", retrain {runs[-1]['retrain_seconds']:.2f}s", flush=True)
    return summarise(runs, kind)


def incident(kind: str, rows: int, test_rows: int, seed: int) -> dict[str, Any]:
    """The credit-card incident: 1% of the rows' title ranges re-encoded (a change request)."""
    X, y, leaked, X_clean = synthetic_incident(rows + test_rows, seed=seed, leak_fraction=0.01)
    Xtr, ytr, test = X[:rows], y[:rows], (X[rows:], y[rows:])
    in_train = leaked < rows
    affected = leaked[in_train]
    X_after = Xtr.copy()
    X_after[affected] = X_clean[in_train]
    model, train_s = timed(lambda: train((Xtr, ytr), kind=kind))
    stats = training_stats(model, (Xtr, ytr))
    request = UnlearningRequest.change((Xtr[affected], ytr[affected]),
                                       (X_after[affected], ytr[affected]), request_id="cc-leak")
    run = one_request(model, stats, request, (X_after, ytr), (Xtr[affected], ytr[affected]), test)
    out = summarise([run], kind)
    out.update({"changed_rows": int(len(affected)), "train_seconds": train_s})
    return out


def spark_path(kind: str, model: ModelParams, stats: Any, X: np.ndarray, y: np.ndarray,
               fraction: float) -> dict[str, Any]:
    """One deletion with the remaining X as a cached Spark DataFrame (local[2])."""
    from spark_lester.config import LesterConfig
    from spark_lester.session import get_spark

    spark = get_spark(LesterConfig.from_env(master="local[2]", shuffle_partitions=4))
    k = max(1, int(round(fraction * len(y))))
    idx = np.random.default_rng(99).choice(len(y), k, replace=False)
    keep = np.ones(len(y), dtype=bool)
    keep[idx] = False
    import pandas as pd

    pdf = pd.DataFrame({"features": list(X[keep].astype(np.float32)),
                        "label": y[keep].astype(np.int32)})
    df = spark.createDataFrame(pdf, "features array<float>, label int").repartition(4).cache()
    df.count()
    request = UnlearningRequest.remove((X[idx], y[idx]))
    name, update = next((n, f) for n, f in methods(kind).items()
                        if n in ("newton_refined", "newton_cg"))
    on_spark, spark_s = timed(lambda: update(model, stats, request, df))
    on_numpy, numpy_s = timed(lambda: update(model, stats, request, (X[keep], y[keep])))
    df.unpersist()
    return {"method": name, "partitions": 4, "master": "local[2]", "spark_seconds": spark_s,
            "numpy_seconds": numpy_s, "passes_over_x": on_spark.passes,
            "max_abs_difference": float(np.max(np.abs(on_spark.params.w - on_numpy.params.w)))}


def warm_up(kind: str, X: np.ndarray, y: np.ndarray) -> None:
    """Run every code path once on small data so imports and first calls are not timed."""
    model = train((X, y), kind=kind)
    stats = training_stats(model, (X, y))
    request = UnlearningRequest.remove((X[:5], y[:5]))
    for update in methods(kind).values():
        update(model, stats, request, (X[5:], y[5:]))
    retrain(model, (X[5:], y[5:]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--test-rows", type=int, default=20_000)
    parser.add_argument("--sets", type=int, default=20)
    parser.add_argument("--kinds", nargs="+", default=["logreg", "mlp"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--spark", action="store_true", help="also time the Spark path")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "unlearning.json")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    X, y = synthetic_features(args.rows + args.test_rows, seed=args.seed)
    Xtr, ytr = X[:args.rows], y[:args.rows]
    test = (X[args.rows:], y[args.rows:])
    results: dict[str, Any] = {
        "rows": args.rows, "test_rows": args.test_rows, "d": int(X.shape[1]),
        "sets_per_fraction": args.sets, "threads": 1, "targets": TARGETS, "models": {},
        "python": platform.python_version(), "torch": torch.__version__,
        "machine": platform.machine(), "cpus": os.cpu_count(),
    }
    for kind in args.kinds:
        warm_up(kind, Xtr[:2000], ytr[:2000])
        model, train_s = timed(lambda: train((Xtr, ytr), kind=kind))
        stats, stats_s = timed(lambda: training_stats(model, (Xtr, ytr)))
        print(f"{kind}: trained in {train_s:.2f}s ({model.info['iterations']} L-BFGS "
              f"iterations), stats pass {stats_s:.2f}s", flush=True)
        entry: dict[str, Any] = {
            "lam": model.lam, "hidden": model.hidden, "n_params": model.n_params,
            "train_seconds": train_s, "train_iterations": model.info["iterations"],
            "stats_seconds": stats_s, "stats_bytes": len(stats.to_bytes()),
            "deletions": {}, "incident": incident(kind, args.rows, args.test_rows, args.seed + 1),
        }
        for fraction in (0.001, 0.01):
            entry["deletions"][f"{fraction:.1%}"] = deletion_sets(
                kind, model, stats, Xtr, ytr, test, fraction, args.sets, seed=17)
        if args.spark:
            entry["spark"] = spark_path(kind, model, stats, Xtr, ytr, 0.01)
        results["models"][kind] = entry
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(_headline(results), indent=2))


def _headline(results: dict[str, Any]) -> dict[str, Any]:
    """The side-by-side numbers: seconds, speed-up, median rho per model and size."""
    out: dict[str, Any] = {}
    for kind, entry in results["models"].items():
        for size, s in entry["deletions"].items():
            for name, m in s["methods"].items():
                out[f"{kind} {size} {name}"] = {
                    "seconds": round(m["seconds_median"], 4),
                    "retrain_seconds": round(s["retrain_seconds_median"], 3),
                    "speedup": round(m["speedup"], 1),
                    "rho": round(m.get("rho_median", float("nan")), 4),
                    "residual_ratio": round(m.get("residual_ratio_median", float("nan")), 1)}
    return out


if __name__ == "__main__":
    main()
