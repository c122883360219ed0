"""``spark-lester demo``: the running example end to end on local Spark and Delta.

Generates customers and mails, runs the messy original and the declarative pipeline on the
same files, checks that they agree (prepared rows and feature matrix), cross-checks column
lineage against Spark's analyzed plan, writes the prepared data to the Delta warehouse and
prints the plan and lineage. Then the incident (card numbers in mail subjects) and a second
request: one customer is the only client of a bank, and a run of the pipeline variant that
one-hot encodes the bank (``pipeline_bank.py``) must forget that bank when the customer is
deleted (the encoder's categories, one column of X, one model weight), measured against a
run fitted anew on the cleaned data. ``--json PATH`` writes a machine-readable summary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: The running example (generator, messy original, pipelines), shipped inside the package so
#: the demo runs from an installed wheel: in a checkout a link to ``examples/running_example``,
#: in the wheel a copy of it.
EXAMPLE_DIR = Path(__file__).parent / "running_example"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run the running example end to end",
                       description=__doc__)
    p.add_argument("--mails", type=int, default=10_000, help="number of mails (default 10000)")
    p.add_argument("--customers", type=int, default=1_000,
                   help="number of customers (default 1000)")
    p.add_argument("--warehouse", default=None,
                   help="warehouse root (local folder, s3a://...); default SPARK_LESTER_WAREHOUSE")
    p.add_argument("--workdir", default=".lester/demo", help="where generated data goes")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--json", dest="json_path", default=None, help="write a JSON summary here")
    p.add_argument("--skip-deletion", action="store_true",
                   help="stop after the pipeline run (no incident, no baseline re-run)")
    p.set_defaults(func=run)


def _step(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from spark_lester.artifacts.layout import PREPARED
    from spark_lester.artifacts.run import run as run_pipeline
    from spark_lester.cli.running_example import check, generate
    from spark_lester.config import LesterConfig
    from spark_lester.frame.pipeline import load_pipeline
    from spark_lester.frame.pipeline import run_pipeline as run_frame
    from spark_lester.plan.lineage import lineage_summary
    from spark_lester.plan.serialize import to_mermaid
    from spark_lester.plan.spark_check import cross_check
    from spark_lester.session import get_spark

    config = LesterConfig.from_env(warehouse=args.warehouse)
    work = Path(args.workdir)
    _step(f"generating {args.customers} customers and {args.mails} mails in {work / 'data'}")
    paths = generate.write(work / "data", args.customers, args.mails, seed=args.seed)
    sources = {"customers": paths["customers"], "mails": paths["mails"]}
    lone_customer = plant_lone_bank(paths)

    _step("running the messy original (plain Python)")
    start = time.perf_counter()
    subprocess.run([sys.executable, str(EXAMPLE_DIR / "messy.py"), "--customers",
                    paths["customers"], "--mails", paths["mails"], "--out",
                    str(work / "messy_out")], check=True)
    messy_seconds = time.perf_counter() - start
    messy_rows, messy_x = check.read_messy_output(work / "messy_out")

    _step("starting Spark")
    spark = get_spark(config)
    module = load_pipeline(EXAMPLE_DIR / "pipeline.py")
    _step("running the declarative pipeline with provenance into the warehouse")
    start = time.perf_counter()
    record = run_pipeline(EXAMPLE_DIR / "pipeline.py", sources, warehouse=config.warehouse,
                          spark=spark)
    pipeline_seconds = time.perf_counter() - start
    target = record.tables[PREPARED].path
    prepared = spark.read.format("delta").load(target).toPandas()
    frame = run_frame(module, sources, spark=spark)

    data_cols = list(module.OUTPUT_COLUMNS)
    rows_check = check.compare_rows(messy_rows, prepared[data_cols].to_dict("records"))
    enc = module.encoder()
    x = enc.fit_transform(prepared[data_cols])
    features_check = check.compare_features(messy_rows, messy_x, prepared["mail_id"], x)
    lineage = cross_check(frame.plan, frame.df)
    agree = rows_check["equal"] and features_check["equal"]

    print(to_mermaid(frame.plan))
    print("\ncolumn lineage (direct | indirect):")
    for column, lin in lineage_summary(frame.plan).items():
        print(f"  {column:13s} <- {', '.join(lin['direct'])} | {', '.join(lin['indirect'])}")
    print(f"\nprepared rows: {len(prepared)}; messy original agrees: {agree}; "
          f"pipeline {pipeline_seconds:.1f}s, messy {messy_seconds:.1f}s; Delta table {target}")

    summary: dict[str, Any] = {
        "rows_prepared": int(len(prepared)),
        "pipeline_seconds": round(pipeline_seconds, 3),
        "messy_seconds": round(messy_seconds, 3),
        "outputs_match": agree,
        "rows_check": rows_check,
        "features_check": features_check,
        "lineage": lineage,
        "lineage_full": lineage_summary(frame.plan),
        "lineage_matches_spark": True,
        "plan": frame.plan.to_json(),
        "warehouse_table": target,
        "run_id": record.run_id,
        "sizes": {"customers": args.customers, "mails": args.mails},
    }
    if not args.skip_deletion:
        _step("incident: card numbers in mail subjects of "
              f"{len(json.loads(Path(paths['leaks']).read_text())['customer_ids'])} customers")
        summary["unlearning"], summary["deletion"] = incident(spark, config, record, paths, work)
        d, u = summary["deletion"], summary["unlearning"]
        print(f"deletion: {d['rows_affected']} rows updated in {d['seconds']:.1f}s "
              f"(re-execution {d['reexecution_seconds']:.1f}s, speedup {d['speedup']:.1f}x); "
              f"erasure {d['erasure_seconds']:.1f}s, verified: {d['erasure_verified']}; "
              f"matches recompute: {d['ivm_matches_recompute']}")
        print(f"model: {u['method']} in {u['seconds']:.2f}s (retraining "
              f"{u['retrain_seconds']:.2f}s), rho {u['rho']:.2g}, accuracy gap "
              f"{u['accuracy_gap']:+.4f}")
        agree = agree and d["ivm_matches_recompute"] and d["erasure_verified"]
        if lone_customer is not None:
            _step("second request: delete the only customer of a bank (encoder unlearning)")
            e = summary["encoder_request"] = encoder_request(spark, config, sources,
                                                             lone_customer, work)
            print(f"encoder: the lone bank left the fitted encoder: {e['category_removed']} "
                  f"({e['banks_before']} -> {e['banks_after']} banks); X {e['width_before']} -> "
                  f"{e['width_after']} columns; model {e['params_before']} -> "
                  f"{e['params_after']} parameters; rho vs retrained {e['rho']:.2g}; "
                  f"whole warehouse scanned ({e['objects_scanned']} objects), verified: "
                  f"{e['erasure_verified']}")
            agree = agree and e["category_removed"] and e["erasure_verified"] \
                and e["matches_refit"]
    if args.json_path:
        Path(args.json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_path).write_text(json.dumps(summary, indent=2, default=str))
        _step(f"summary written to {args.json_path}")
    return 0 if agree else 1


def incident(spark: Any, config: Any, record: Any, paths: dict[str, str], work: Path
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply the running example's incident and measure it against a full re-execution:
    the unlearning summary (the model against retraining) and the deletion summary."""
    import pandas as pd

    from spark_lester.artifacts.run import run as run_pipeline
    from spark_lester.deletion.compare import same_artifacts
    from spark_lester.deletion.request import CARD_NUMBER
    from spark_lester.deletion.unlearn import unlearn
    from spark_lester.features.encode import load_encoder

    leaked = json.loads(Path(paths["leaks"]).read_text())["customer_ids"]
    request = {"source": "customers", "keys": leaked, "action": "redact_columns",
               "columns": ["mails.mail_subject"], "verify_patterns": [CARD_NUMBER],
               "runs": [record.run_id]}
    from spark_lester.artifacts.layout import MODEL
    from spark_lester.artifacts.model import load_model
    from spark_lester.deletion.compare import model_against_retrain, training_rows_of

    original = load_model(spark, record.tables[MODEL].path).params
    from pyspark.sql import functions as F

    old_rows = training_rows_of(spark, record, F.col("customer_id").isin(leaked))
    result = unlearn(request, warehouse=config.warehouse, spark=spark, config=config)
    if result.status == "noop":  # tiny data: the leaked customers' mails were filtered out
        from spark_lester.errors import ConfigError

        raise ConfigError(f"the incident changes nothing at this size: {result.reason}; "
                          f"{record.rows['total']} prepared rows.",
                          hint="Generate more data: --mails 800 --customers 80 or more "
                               "(the defaults are 10000 and 1000).")

    _step("baseline: re-running the whole pipeline on the cleaned input")
    customers = pd.read_csv(paths["customers"])
    mails = pd.read_csv(paths["mails"])
    emails = set(customers[customers.customer_id.isin(leaked)].email)
    mails.loc[mails.email.isin(emails), "mail_subject"] = None
    cleaned = work / "cleaned" / "mails.csv"
    cleaned.parent.mkdir(parents=True, exist_ok=True)
    mails.to_csv(cleaned, index=False)
    start = time.perf_counter()
    baseline = run_pipeline(EXAMPLE_DIR / "pipeline.py",
                            {"customers": paths["customers"], "mails": str(cleaned)},
                            warehouse=str(work / "baseline_warehouse"), spark=spark,
                            encoder=load_encoder(record.encoder))
    reexecution = time.perf_counter() - start
    check = same_artifacts(spark, record, baseline)
    seconds = float(result.seconds_to_consistent or 0.0)
    model = (result.model or {}).get(record.run_id, {})
    unlearning = {**model_against_retrain(spark, record, baseline, original, old_rows),
                  "seconds": model.get("seconds"), "update": model}
    return unlearning, {
        "request_id": result.request_id,
        "seconds": round(seconds, 3),
        "erasure_seconds": result.erasure_seconds,
        "reexecution_seconds": round(reexecution, 3),
        "speedup": round(reexecution / seconds, 2) if seconds > 0 else None,
        "ivm_matches_recompute": check["equal"],
        "ivm_check": check,
        "erasure_verified": bool(result.verified),
        "rows_affected": result.rows_affected,
        "timings": result.timings,
        "changes": result.changes,
        "files_touched": {p: t.merge.to_json() if t.merge is not None else None
                          for p, t in result.tables.items()},
        "erasure": {p: t.erasure for p, t in result.tables.items()},
        "verification": result.verification,
        "quality": result.quality,
    }


#: The bank name planted for the second request (no other customer has it).
LONE_BANK = "Bank of Atlantis"


def plant_lone_bank(paths: dict[str, str]) -> int | None:
    """Make one customer (kept by the pipeline's filters, not one of the leaked ones, with
    mails since 2022) the only client of :data:`LONE_BANK`; returns its id (None: no such
    customer at this size)."""
    import pandas as pd

    from spark_lester.cli.running_example.pipeline import COUNTRIES, START_DATE

    customers = pd.read_csv(paths["customers"])
    mails = pd.read_csv(paths["mails"])
    leaked = set(json.loads(Path(paths["leaks"]).read_text())["customer_ids"])
    recent = mails[mails.date >= START_DATE].groupby("email").size()
    eligible = customers[customers.country.isin(COUNTRIES) & ~customers.customer_id.isin(leaked)
                         & customers.email.map(lambda e: recent.get(e, 0) >= 4)]
    if eligible.empty:
        return None
    # the customer with the most recent mails: one of them surely is a training row
    counts = eligible.email.map(lambda e: recent.get(e, 0))
    chosen = int(eligible.customer_id[counts.idxmax()])
    customers.loc[customers.customer_id == chosen, "bank"] = LONE_BANK
    customers.to_csv(paths["customers"], index=False)
    return chosen


def encoder_request(spark: Any, config: Any, sources: dict[str, str], customer: int,
                    work: Path) -> dict[str, Any]:
    """Run the bank variant, delete the lone bank's customer (from every run), and compare
    the unlearned encoder, X and model with a run fitted anew on the cleaned customers."""
    import numpy as np
    import pandas as pd

    from spark_lester.artifacts.layout import MODEL, Layout
    from spark_lester.artifacts.model import load_model
    from spark_lester.artifacts.registry import get_run
    from spark_lester.artifacts.run import run as run_pipeline
    from spark_lester.deletion.unlearn import unlearn
    from spark_lester.features.encode import load_encoder

    pipeline = EXAMPLE_DIR / "pipeline_bank.py"
    variant = run_pipeline(pipeline, sources, warehouse=config.warehouse, spark=spark)
    before = load_encoder(variant.encoder)
    model_before = load_model(spark, variant.tables[MODEL].path).params
    result = unlearn({"source": "customers", "keys": [customer], "action": "delete_rows"},
                     warehouse=config.warehouse, spark=spark, config=config)
    updated = get_run(spark, Layout(config.warehouse), variant.run_id)
    after = load_encoder(updated.encoder)
    model_after = load_model(spark, variant.tables[MODEL].path).params

    customers = pd.read_csv(sources["customers"])
    cleaned = work / "cleaned_bank" / "customers.csv"
    cleaned.parent.mkdir(parents=True, exist_ok=True)
    customers[customers.customer_id != customer].to_csv(cleaned, index=False)
    oracle = run_pipeline(pipeline, {"customers": str(cleaned), "mails": sources["mails"]},
                          warehouse=str(work / "bank_oracle_warehouse"), spark=spark)
    refit = load_encoder(oracle.encoder)
    retrained = load_model(spark, oracle.tables[MODEL].path).params
    old_names = list(before.get_feature_names_out())
    kept = [i for i, n in enumerate(old_names) if n in set(after.get_feature_names_out())]
    original = np.concatenate([model_before.w[kept], model_before.w[model_before.d:]])
    gap = float(np.linalg.norm(original - retrained.w))
    rho = float(np.linalg.norm(model_after.w - retrained.w)) / gap if gap > 0 else 0.0
    banks_before = list(before.named_transformers_["bank"].categories_[0])
    banks_after = list(after.named_transformers_["bank"].categories_[0])
    change = next((c for c in result.changes or [] if c["run_id"] == variant.run_id), {})
    return {
        "run_id": variant.run_id, "request_id": result.request_id,
        "category_removed": LONE_BANK in banks_before and LONE_BANK not in banks_after,
        "banks_before": len(banks_before), "banks_after": len(banks_after),
        "matches_refit": banks_after == list(refit.named_transformers_["bank"].categories_[0]),
        "width_before": len(old_names), "width_after": len(after.get_feature_names_out()),
        "params_before": int(model_before.n_params), "params_after": int(model_after.n_params),
        "rho": rho, "encoder": change.get("encoder"),
        "model": (result.model or {}).get(variant.run_id),
        "erasure_verified": bool(result.verified),
        "objects_scanned": (result.verification or {}).get("objects"),
        "erasure_seconds": result.erasure_seconds, "seconds": result.seconds,
    }
