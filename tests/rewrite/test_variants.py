from __future__ import annotations

import pandas as pd

from spark_lester.rewrite.validate import Oracle
from spark_lester.rewrite.variants import generate_variants, literals

TABLES = {
    "customers": pd.DataFrame({"email": ["a", "b"], "country": ["UK", "US"]}),
    "mails": pd.DataFrame({"email": ["a", "a", "c"], "date": ["2022-01-01", "2021-05-01",
                                                              "2023-01-01"]}),
}
SOURCE = "if country in ('UK', 'DE') and date >= '2022-01-01':\n    pass\n"


def test_variants_are_deterministic_and_differ_from_the_sample():
    first = generate_variants(TABLES, SOURCE, count=4)
    second = generate_variants(TABLES, SOURCE, count=4)
    assert len(first) == 4
    for a, b in zip(first, second):
        assert all(a[n].equals(b[n]) for n in TABLES)
        assert not all(a[n].equals(TABLES[n]) for n in TABLES)


def test_variants_use_program_literals_nulls_duplicates_and_unmatched_keys():
    variants = generate_variants(TABLES, SOURCE, count=12)
    values = {v for variant in variants for t in variant.values() for v in t.to_numpy().ravel()}
    assert values & {"2021-12-31", "2022-01-02", "2022-01-01", "DE"}
    assert "" in values
    assert any(v.startswith("unmatched_") for v in values)
    assert any(len(variant["mails"]) > 3 for variant in variants)
    # The "one" side of the join (unique emails) is never duplicated.
    assert all(len(variant["customers"]) == 2 for variant in variants)
    assert {"UK", "DE", "2022-01-01"} <= literals(SOURCE)


def test_oracle_runs_the_original_on_samples_and_variants(corpus):
    with Oracle.build(corpus["running_example"].task, variants=3) as oracle:
        assert "sample" in oracle.sets and len(oracle.sets) + len(oracle.dropped) == 4
        assert oracle.columns[:3] == ["mail_id", "email", "customer_id"]
        cov = oracle.coverage
        assert cov["lines_hit"] == cov["lines_executable"] > 10


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


def test_a_left_join_rewrite_of_an_inner_join_is_caught_only_by_a_variant(corpus, tmp_path):
    """The sample has no unmatched key (every recent mail belongs to a kept customer), so a
    left join computes the same rows on it; a variant with a key changed in one table tells
    the two apart."""
    from spark_lester.rewrite.validate import Task, validate_batch

    item = corpus["running_example"]
    customers, mails = item.task.inputs["customers"], item.task.inputs["mails"]
    (tmp_path / "customers.csv").write_text(customers.read_text())
    kept = [line for line in mails.read_text().splitlines()
            if not any(who in line for who in ("dan@", "zed@", "fay@"))]
    (tmp_path / "mails.csv").write_text("\n".join(kept) + "\n")
    task = Task(item.task.messy, {"customers": tmp_path / "customers.csv",
                                  "mails": tmp_path / "mails.csv"})
    left = item.reference.replace('how="inner"', 'how="left"')
    with Oracle.build(task, variants=0) as plain, Oracle.build(task, variants=3) as varied:
        assert len(varied.sets) >= 2, varied.dropped
        without, with_variants = validate_batch([(left, plain), (left, varied)])
    assert without.accepted  # the sample alone cannot tell inner from left
    assert not with_variants.accepted
    assert with_variants.failure.stage == "compare"
    assert with_variants.failure.input_set.startswith("variant")
    assert "only in rewrite" in with_variants.failure.details  # a mail without a customer
