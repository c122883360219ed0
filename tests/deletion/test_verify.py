"""deletion/verify.py: the scan finds removed values and pattern matches, and only those.

A card-number pattern also matches the long numbers of Delta's own metadata (64-bit row ids
in file statistics, millisecond timestamps, UUIDs in file names): searching for the pattern
(a resumed request) must look at text values, not at those.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from spark_lester.deletion.request import CARD_NUMBER
from spark_lester.deletion.verify import scan

CARD = "4111 1111 1111 1111"
STATS = json.dumps({"numRecords": 2, "minValues": {"__lester_row_id": -9173091620592210052},
                    "maxValues": {"__lester_row_id": 9022463046154413333}})
PATH = "part-00000-12345678-1234-4234-8234-123456789012-c000.snappy.parquet"


def _table(folder, subject: str) -> None:
    """A Delta-like table: a data file, a commit and a checkpoint full of long numbers."""
    log = folder / "_delta_log"
    log.mkdir(parents=True)
    pq.write_table(pa.table({"__lester_row_id": [-9173091620592210052, 9022463046154413333],
                             "title": [subject, "hello"]}), folder / PATH)
    commit = {"add": {"path": PATH, "size": 1234, "modificationTime": 1795234539301,
                      "stats": STATS, "deletionVector": None},
              "commitInfo": {"timestamp": 1795234539301, "txnId": "87654321-1234-4234-8234-"
                             "123456789012", "operationParameters": {
                                 "predicate": json.dumps(["(__lester_row_id = 4)"])}}}
    (log / "00000000000000000003.json").write_text(
        "\n".join(json.dumps({k: v}) for k, v in commit.items()) + "\n")
    pq.write_table(pa.table({"add": [{"path": PATH, "stats": STATS,
                                      "modificationTime": 1795234539301}]}),
                   log / "00000000000000000003.checkpoint.parquet")
    (log / "_last_checkpoint").write_text(json.dumps({"version": 3, "size": 1234567890123456}))


def test_patterns_ignore_delta_metadata(tmp_path):
    _table(tmp_path / "t", "a plain subject")
    result = scan([str(tmp_path / "t")], [], patterns=[CARD_NUMBER], match_patterns=True)
    assert result.objects == 4
    assert result.verified is True, result.hits


def test_patterns_find_a_card_number_in_a_data_file(tmp_path):
    _table(tmp_path / "t", f"my card {CARD}")
    result = scan([str(tmp_path / "t")], [], patterns=[CARD_NUMBER], match_patterns=True)
    assert result.verified is False
    assert result.hits == [{"object": str(tmp_path / "t" / PATH), "match": "pattern"}]
    # without match_patterns only the given values are searched for
    assert scan([str(tmp_path / "t")], [], patterns=[CARD_NUMBER]).verified is True


def test_patterns_find_a_card_number_in_the_log(tmp_path):
    _table(tmp_path / "t", "a plain subject")
    log = tmp_path / "t" / "_delta_log" / "00000000000000000004.json"
    log.write_text(json.dumps({"commitInfo": {"operationParameters": {
        "predicate": json.dumps([f"title = '{CARD}'"])}}}) + "\n")
    result = scan([str(tmp_path / "t")], [], patterns=[CARD_NUMBER], match_patterns=True)
    assert [h["object"].rsplit("/", 1)[-1] for h in result.hits] == [log.name]


def test_values_are_found_raw_and_decoded(tmp_path):
    _table(tmp_path / "t", f"my card {CARD}")
    result = scan([str(tmp_path / "t")], [f"my card {CARD}"], patterns=[CARD_NUMBER])
    assert result.verified is False and result.needles == 2
    assert [h["object"] for h in result.hits] == [str(tmp_path / "t" / PATH)]


def test_model_artifacts_are_numbers_but_their_headers_are_text(tmp_path):
    """A stored model version (.npz bytes in a binary column) is full of long digit runs in
    its JSON header's floats: not text. A string in the header still is."""
    import io

    import numpy as np

    from spark_lester.models.params import ModelParams

    model = ModelParams(kind="logreg", d=2, lam=0.0012345678901234567, seed=0, n_train=7,
                        w=np.array([0.12345678901234567, -2.5, 1.0]))
    assert any(c.isdigit() for c in "12345678901234567")
    folder = tmp_path / "model"
    folder.mkdir()
    pq.write_table(pa.table({"params": pa.array([model.to_bytes()], pa.binary())}),
                   folder / PATH)
    clean = scan([str(folder)], [], patterns=[CARD_NUMBER], match_patterns=True)
    assert clean.verified is True, clean.hits
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps({"note": f"card {CARD}"}).encode(), np.uint8))
    pq.write_table(pa.table({"params": pa.array([buf.getvalue()], pa.binary())}),
                   folder / PATH)
    leaked = scan([str(folder)], [], patterns=[CARD_NUMBER], match_patterns=True)
    assert leaked.verified is False


def test_still_live_finds_whole_cells_in_any_string_column(spark, tmp_path):
    """Values some remaining row still holds as a whole cell, in any string column of any
    table, and nothing else (not a substring, not a non-string column)."""
    from spark_lester.deletion.verify import still_live

    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    spark.createDataFrame([(1, "Fees are too high", "UK"), (2, "hello", "DE")],
                          "id LONG, title STRING, country STRING") \
        .write.format("delta").save(a)
    spark.createDataFrame([(3, "Northwind Bank"), (4, None)], "id LONG, bank STRING") \
        .write.format("delta").save(b)
    wanted = ["Fees are too high", "DE", "Northwind Bank", "Fees", "3", CARD]
    assert still_live(spark, [a, b], wanted) == {"Fees are too high", "DE", "Northwind Bank"}
    assert still_live(spark, [a], wanted) == {"Fees are too high", "DE"}
    assert still_live(spark, [a, b], []) == set()
    # pattern matches inside removed values: live when a cell holds them anywhere
    assert still_live(spark, [a, b], ["hello there"], ["too high", "wind Ba", CARD]) \
        == {"too high", "wind Ba"}
    assert still_live(spark, [b], [], ["too high"]) == set()


def _registry_file(folder, encoder_bytes: bytes, note: str = "plain") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"run_id": ["r1"], "plan": [note],
                             "encoder": pa.array([encoder_bytes], pa.binary())}),
                   folder / "part-0.zstd.parquet", compression="zstd",
                   write_statistics=False)


def _fitted_encoder(values):
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    from spark_lester.features.encode import dump_encoder

    # categories given as a numpy unicode array: pickled as UCS-4, not as UTF-8 text
    frame = pd.DataFrame({"town": np.asarray(values, dtype=str)})
    cats = [np.asarray(sorted(set(values)), dtype=str)]
    return dump_encoder(ColumnTransformer(
        [("t", OneHotEncoder(categories=cats, handle_unknown="ignore"), ["town"])]).fit(frame))


def test_encoder_blobs_are_decoded(tmp_path):
    """A category kept only inside a stored encoder (in a compressed Parquet page) is found
    by decoding the Parquet file and the encoder; the file's raw bytes do not show it."""
    blob = _fitted_encoder(["Atlantis-Vale", "London-Town"])
    _registry_file(tmp_path / "wh" / "_lester" / "runs", blob)
    raw = (tmp_path / "wh" / "_lester" / "runs" / "part-0.zstd.parquet").read_bytes()
    assert b"Atlantis-Vale" not in raw
    found = scan([str(tmp_path / "wh")], ["Atlantis-Vale"])
    assert not found.verified and found.hits[0]["match"] == "decoded"
    assert "_lester/runs" in found.hits[0]["object"]
    assert scan([str(tmp_path / "wh")], ["Nowhere-Town"]).verified is True
    # the same blob with the category unlearned is clean
    _registry_file(tmp_path / "wh" / "_lester" / "runs", _fitted_encoder(["London-Town"]))
    assert scan([str(tmp_path / "wh")], ["Atlantis-Vale"]).verified is True


def test_encoder_text_reads_unicode_arrays():
    """Strings held in numpy unicode arrays are pickled as UCS-4: the decoded encoder's
    strings include them."""
    import numpy as np

    from spark_lester.deletion.verify import _binary_text
    from spark_lester.features.encode import dump_encoder, load_encoder

    encoder = load_encoder(_fitted_encoder(["Atlantis-Vale", "London-Town"]))
    ohe = encoder.named_transformers_["t"]
    ohe.categories_ = [np.asarray(["Atlantis-Vale", "London-Town"], dtype="<U13")]
    ohe.categories = "auto"
    encoder.feature_names_in_ = np.asarray(["town"], dtype=object)
    blob = dump_encoder(encoder)
    assert b"Atlantis-Vale" not in blob
    assert "Atlantis-Vale" in _binary_text(blob).splitlines()


def test_statistics_and_key_value_metadata_are_searched(tmp_path):
    folder = tmp_path / "wh" / "t"
    folder.mkdir(parents=True)
    table = pa.table({"n": [1, 2]}).replace_schema_metadata({"note": "Atlantis-Vale"})
    pq.write_table(table, folder / "part-0.parquet", compression="snappy")
    result = scan([str(tmp_path / "wh")], ["Atlantis-Vale"])
    assert not result.verified


def test_excluded_prefixes_are_not_read(tmp_path):
    from spark_lester.deletion.verify import scan_warehouse

    _table(tmp_path / "wh" / "sources" / "mails", f"my card {CARD}")
    _table(tmp_path / "wh" / "pipe" / "r1" / "prepared", "a plain subject")
    root = str(tmp_path / "wh")
    assert scan_warehouse(root, [f"my card {CARD}"]).verified is False
    assert scan_warehouse(root, [f"my card {CARD}"],
                          exclude=[str(tmp_path / "wh" / "sources")]).verified is True
