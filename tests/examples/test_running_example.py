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
