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
