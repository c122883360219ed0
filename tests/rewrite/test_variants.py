from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from spark_lester.rewrite.validate import Oracle, Task
from spark_lester.rewrite.variants import (
    DEFAULT_VARIANTS,
    PART,
    generate_variants,
    literals,
    load_input,
    plan_variants,
    probe_values,
    program_facts,
    write_input,
)

TABLES = {
    "customers": pd.DataFrame({"email": ["a", "b"], "country": ["UK", "US"]}),
    "mails": pd.DataFrame({"email": ["a", "a", "c"], "date": ["2022-01-01", "2021-05-01",
                                                              "2023-01-01"]}),
}
SOURCE = """
by_email = {}
for row in customers:
    if row["country"] in ("UK", "DE"):
        by_email[row["email"]] = row
for mail in mails:
    if mail["date"] >= "2022-01-01":
        pass
"""


def test_program_facts_tie_each_compared_literal_to_its_columns(corpus):
    facts = program_facts(corpus["csv_filter_project"].task.source,
                          ["order_id", "customer", "qty", "price", "status"])
    assert facts.compared == {"status": {"paid"}, "qty": {2}}  # qty = int(r["qty"]); qty >= 2
    assert facts.rounded["price"] == {2}  # round(qty * float(r["price"]), 2)
    assert facts.null_sensitive == {"status"}  # "" != "paid" but NULL != "paid" is NULL
    running = program_facts(corpus["running_example"].task.source,
                            ["email", "country", "date", "mail_id"])
    assert running.compared["country"] == {"UK", "DE", "FR"}
    assert running.compared["date"] == {"2022-01-01"}
    assert running.dict_keys == {"email"}  # customers_by_email[row["email"]] = row
    onehot = program_facts(corpus["onehot_and_scale"].task.source, ["country", "amount"])
    assert onehot.compared["country"] == {"DE", "FR", "UK"}  # for c in categories: ... == c
    clip = program_facts("y = np.clip(row['x'], -3, 3)\nz = max(row['w'], 0.5)", ["x", "w"])
    assert clip.compared == {"x": {-3, 3}, "w": {0.5}}


def test_probe_values_sit_at_just_below_and_just_above_each_literal():
    assert probe_values(5000, "int") == ["4999", "5000", "5001"]
    assert probe_values(1.5, "float") == ["1.4985", "1.5", "1.5015", "1", "2"]
    assert probe_values("2022-01-01", "date") == ["2021-12-31", "2022-01-01", "2022-01-02"]
    assert probe_values("paid", "text") == ["paid", "PAID", " paid"]
    assert probe_values("UK", "int") == []  # a string literal never goes into a number column


def test_variants_are_deterministic_and_differ_from_the_sample():
    first = generate_variants(TABLES, SOURCE, count=4)
    second = generate_variants(TABLES, SOURCE, count=4)
    assert len(first) == 3  # probes, nulls, empty (no repeated text value: no groups)
    for a, b in zip(first, second):
        assert all(a[n].equals(b[n]) for n in TABLES)
        assert not all(a[n].equals(TABLES[n]) for n in TABLES)


def test_variants_use_program_literals_nulls_duplicates_and_unmatched_keys():
    variants = generate_variants(TABLES, SOURCE, count=6)
    values = {v for variant in variants for t in variant.values() for v in t.to_numpy().ravel()}
    assert {"2021-12-31", "2022-01-01", "2022-01-02", "UK", "uk", "DE", "de"} <= values
    assert "" in values
    assert any(v.startswith("unmatched_") for v in values)
    assert any(len(variant["mails"]) > 3 for variant in variants)
    # The table kept in a dict keyed by its unique email (the last row wins) never gets a
    # second row with one email; its copies get fresh emails, and the mails of the copied
    # customer come along with the fresh email.
    for variant in variants:
        emails = list(variant["customers"]["email"])
        assert len(emails) == len(set(emails))
    boundary = variants[0]  # probes
    fresh = [e for e in boundary["customers"]["email"] if e.startswith("new")
             and e.endswith("_a")]  # copies of customer a, who has mails
    assert fresh and set(fresh) <= set(boundary["mails"]["email"])
    assert {"UK", "DE", "2022-01-01"} <= literals(SOURCE)


def test_boundary_probes_are_copies_of_sample_rows_with_fresh_ids(corpus):
    item = corpus["case_when_rename"]
    sample = pd.read_csv(item.task.inputs["employees"], dtype=str, keep_default_na=False)
    data = load_input("employees", item.task.inputs["employees"])
    (probes,) = plan_variants({"employees": data}, item.task.source, count=1)
    boundary = probes.parts[0]
    assert boundary.name == "boundary"
    table = boundary.data["employees"]
    assert table.iloc[:len(sample)].equals(sample)  # the sample rows stay as they are
    added = table.iloc[len(sample):]
    assert set(added["salary"]) == {"4999", "5000", "5001"}
    assert not set(added["emp_id"]) & set(sample["emp_id"])  # memorised ids do not match
    assert len(table) <= 60


def test_mixed_variant_holds_extremes_precision_case_and_duplicates(corpus):
    item = corpus["csv_filter_project"]
    sample = pd.read_csv(item.task.inputs["orders"], dtype=str, keep_default_na=False)
    variants = plan_variants({"orders": load_input("orders", item.task.inputs["orders"])},
                             item.task.source, count=DEFAULT_VARIANTS)
    assert [v.name for v in variants] == ["probes", "nulls"]
    assert [p.name for p in variants[0].parts] == ["boundary", "mixed-text", "mixed-numbers",
                                                   "mixed-duplicates", "mixed-groups"]
    mixed = variants[0].data["orders"]
    assert {"0", "-1", "1000", "-1000", "1000000"} <= set(mixed["qty"])
    assert {"1000.25", "-1000.25", "19.9937"} <= set(mixed["price"])  # price has 2 decimals
    assert {"PAID", " paid"} <= set(mixed["status"])
    rows = [tuple(r) for r in mixed.to_numpy()]
    assert any(rows.count(r) > 1 for r in rows)  # exact duplicates (duplicate keys)
    boundary = variants[0].parts[0].data["orders"]
    assert {"19.9937", "19.9859"} <= set(boundary["price"])  # just off round(x, 2)'s step
    assert len(mixed) < 120 and len(boundary) < 60
    assert not {"", "NA"} & set(mixed["status"]) - set(sample["status"])
    nulls = variants[1]
    assert [p.name for p in nulls.parts] == ["nulls-text", "nulls-numbers"]
    # status is compared with != "paid": an empty cell there differs between Python and SQL
    assert "" not in set(nulls.data["orders"]["status"])
    assert "" in set(nulls.data["orders"]["customer"])


def test_keys_with_different_names_get_unmatched_values_of_their_kind():
    tables = {"customers": pd.DataFrame({"id": ["1", "2", "3"], "name": ["A", "B", "C"]}),
              "orders": pd.DataFrame({"order_id": ["7", "8", "9"],
                                      "customer_id": ["1", "1", "3"]})}
    variants = generate_variants(tables, "", count=8)
    changed = {(name, v) for variant in variants for name, col in
               (("customers", "id"), ("orders", "customer_id"))
               for v in variant[name][col] if v not in {"1", "2", "3"}}
    assert changed, "no join key was changed"
    assert all(v.isdigit() and int(v) >= 1000 for _, v in changed)  # numbers stay numbers
    assert len({v for _, v in changed}) == len(changed)  # two tables never share one
    # and a reference moved to the key nothing referred to (a left join differs from inner)
    assert any("2" in set(v["orders"]["customer_id"]) for v in variants)


def test_parquet_files_and_folders_keep_their_format_types_and_layout(tmp_path):
    table = pa.table({"id": pa.array([1, 2, 3], pa.int64()),
                      "amount": pa.array([1.5, None, 3.25], pa.float64()),
                      "day": pa.array([dt.date(2022, 1, d) for d in (1, 2, 3)], pa.date32()),
                      "city": pa.array(["Rome", "Oslo", None], pa.string())})
    single = tmp_path / "single.parquet"
    pq.write_table(table, single)
    folder = tmp_path / "events"
    (folder / "dt=1").mkdir(parents=True)
    pq.write_table(table.slice(0, 2), folder / "dt=1" / "part-0.parquet")
    pq.write_table(table.slice(2), folder / "part-1.parquet")
    (folder / "_SUCCESS").write_text("")
    csv_folder = tmp_path / "csvs"
    csv_folder.mkdir()
    (csv_folder / "a.csv").write_text("k,qty\nx,1\ny,2\n")
    (csv_folder / "b.csv").write_text("k,qty\nz,3\n")
    source = "if row['amount'] > 2 and row['qty'] >= 2:\n    pass"
    for path in (single, folder, csv_folder):
        data = load_input(path.stem, path)
        assert data is not None and data.fmt == ("csv" if path == csv_folder else "parquet")
        for variant in plan_variants({data.name: data}, source, count=6):
            out = write_input(data, variant.data[data.name], tmp_path / "out" / variant.name)
            assert out.name == path.name
            if path.is_dir():
                assert out.is_dir()
                files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
                assert files == data.files  # same files (underscore files are not data)
                if path == csv_folder:
                    parts = [pd.read_csv(out / f, dtype=str) for f in files]
                else:
                    parts = [pq.ParquetFile(out / f).read() for f in files]
                    assert all(p.schema == table.schema for p in parts)
            else:
                written = pq.read_table(out)
                assert written.schema == table.schema
                assert written.num_rows >= 0
    data = load_input("single", single)
    boundary = plan_variants({"single": data}, source, count=1)[0].parts[0].data["single"]
    assert {"2", "1.998", "2.002"} <= set(boundary["amount"])
    folder_data = load_input("csvs", csv_folder)
    assert list(folder_data.table[PART]) == [0, 0, 1]


def test_npy_variants_keep_columns_and_dtype_and_hit_constants_and_extremes(tmp_path, corpus):
    item = corpus["numpy_relu_mlp"]
    data = load_input("X", item.task.inputs["X"])
    variants = plan_variants({"X": data}, item.task.source, count=DEFAULT_VARIANTS,
                             kind="model")
    assert [v.name for v in variants] == ["boundary", "extremes"]
    sample = np.load(item.task.inputs["X"])
    for variant in variants:
        matrix = variant.data["X"]
        assert matrix.shape[1] == sample.shape[1] and matrix.dtype == sample.dtype
        assert 16 <= len(matrix) <= 80
        assert np.array_equal(matrix[:8], sample[:8])  # the sample rows come first
        path = write_input(data, matrix, tmp_path / variant.name)
        assert path.name == "X.npy" and np.array_equal(np.load(path), matrix)
    boundary, extremes = (v.data["X"] for v in variants)
    rows = {tuple(r) for r in boundary}
    assert (0.0,) * sample.shape[1] in rows  # around 0 (np.maximum(h, 0.0))
    assert any(np.allclose(r, 0.1) for r in boundary)  # a constant of the program
    assert any(np.allclose(r, 1e-3) for r in boundary)  # just above 0
    assert np.abs(extremes).max() >= 1e6 and (extremes < -999).any()


def test_oracle_runs_the_original_on_samples_and_variants(corpus):
    with Oracle.build(corpus["running_example"].task) as oracle:
        assert list(oracle.sets) == ["sample", "variant1-probes", "variant2-nulls"]
        assert oracle.dropped == {}
        assert oracle.columns[:3] == ["mail_id", "email", "customer_id"]
        cov = oracle.coverage
        assert cov["lines_hit"] == cov["lines_executable"] > 10
        # the variants reach no line the sample does not: kept all the same
        assert all(n == 0 for s, n in cov["new_lines_per_set"].items() if s != "sample")


def test_a_variant_the_original_fails_on_is_dropped_with_the_reason(corpus):
    with Oracle.build(corpus["case_when_rename"].task) as oracle:
        assert "variant2-nulls-text" in oracle.sets  # the text part of the NULLs survives
        assert set(oracle.dropped) == {"variant2-nulls", "variant2-nulls-numbers"}
        assert all("int() with base 10" in r for r in oracle.dropped.values())


def test_variants_of_parquet_folder_and_npy_inputs_reach_the_original(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    pq.write_table(pa.table({"k": ["a", "b"], "qty": [1, 5]}), folder / "p0.parquet")
    pq.write_table(pa.table({"k": ["c"], "qty": [3]}), folder / "p1.parquet")
    np.save(tmp_path / "X.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    messy = tmp_path / "messy.py"
    messy.write_text(
        "import glob, os\nimport numpy as np\nimport pandas as pd\n"
        "parts = sorted(glob.glob('inputs/events/*.parquet'))\n"
        "frame = pd.concat([pd.read_parquet(p) for p in parts])\n"
        "frame = frame[frame['qty'] >= 3]\n"
        "x = np.load('inputs/X.npy')\n"
        "frame['n'] = len(parts) * 100 + x.shape[1]\n"
        "os.makedirs('output', exist_ok=True)\n"
        "frame.to_csv('output/out.csv', index=False)\n")
    task = Task(messy, {"events": folder, "X": tmp_path / "X.npy"})
    with Oracle.build(task, variants=2) as oracle:
        assert list(oracle.sets) == ["sample", "variant1-probes", "variant2-extremes"]
        probes = oracle.outputs["variant1-probes"]
        assert {"3", "4"} <= set(probes["qty"]) and "2" not in set(probes["qty"])
        assert set(probes["n"]) == {"202"}  # still two Parquet files, X still 2 columns
        assert oracle.sets["variant1-probes"]["events"].is_dir()
        assert oracle.sets["variant2-extremes"]["events"] == oracle.sets["sample"]["events"]
