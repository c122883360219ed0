"""The declarative running example equals the messy original on generated data."""

from __future__ import annotations

import json
import subprocess
import sys

from examples.running_example import check
from spark_lester.config import project_root

EXAMPLE = project_root() / "examples" / "running_example"


def test_declarative_equals_messy_original(running_example, running_example_data, tmp_path):
    module, frame = running_example
    subprocess.run([sys.executable, str(EXAMPLE / "messy.py"), "--customers",
                    running_example_data["customers"], "--mails",
                    running_example_data["mails"], "--out", str(tmp_path)], check=True)
    messy_rows, messy_x = check.read_messy_output(tmp_path)
    prepared = frame.df.toPandas()
    cols = list(module.OUTPUT_COLUMNS)
    rows = check.compare_rows(messy_rows, prepared[cols].to_dict("records"))
    assert rows["equal"], rows
    assert rows["rows_expected"] > 100
    x = module.encoder().fit_transform(prepared[cols])
    feats = check.compare_features(messy_rows, messy_x, prepared["mail_id"], x)
    assert feats["equal"], feats
    # the comparison can fail: one changed title is detected
    tampered = prepared[cols].to_dict("records")
    tampered[0]["title"] += "!"
    assert not check.compare_rows(messy_rows, tampered)["equal"]


def test_generator_is_deterministic_and_leaks_cards(tmp_path):
    from examples.running_example import generate

    a = generate.write(tmp_path / "a", 100, 1000, seed=3)
    b = generate.write(tmp_path / "b", 100, 1000, seed=3)
    for name in ("customers", "mails", "leaks"):
        assert open(a[name]).read() == open(b[name]).read()
    leaks = json.loads(open(a["leaks"]).read())
    assert len(leaks["customer_ids"]) == 5 and leaks["mail_ids"]
    mails = open(a["mails"]).read().splitlines()
    leaked = [m for m in mails[1:] if int(m.split(",")[0]) in set(leaks["mail_ids"])]
    assert all("Card 4000 " in m.split(",")[3] for m in leaked)


def test_plain_pyspark_gives_the_same_artifacts(spark, running_example_data, tmp_path):
    """The running example in plain PySpark (``withColumn``, ``where``, ``F.udf``) gives the
    artifacts its first form (``project``) gave: the same prepared rows with their
    provenance, the same X row by row, the same model."""
    import numpy as np

    from spark_lester.artifacts.layout import MODEL
    from spark_lester.artifacts.model import load_model
    from spark_lester.artifacts.run import run
    from tests.fuzz.harness import compare

    here = project_root() / "tests" / "examples"
    sources = {n: running_example_data[n] for n in ("customers", "mails")}
    plain = run(EXAMPLE / "pipeline.py", sources, warehouse=str(tmp_path / "a"),
                spark=spark, run_id="plain")
    first = run(here / "running_example_v1.py", sources,
                warehouse=str(tmp_path / "b"), spark=spark, run_id="first")
    assert plain.rows == first.rows and plain.rows["train"] > 100
    assert compare(spark, plain, first) == []
    w_plain = np.asarray(load_model(spark, plain.tables[MODEL].path).params.w)
    w_first = np.asarray(load_model(spark, first.tables[MODEL].path).params.w)
    assert np.array_equal(w_plain, w_first)
    assert plain.lineage == first.lineage
