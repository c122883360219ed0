"""The data-preparation prompt (no model, no Spark)."""

from __future__ import annotations

from spark_lester.rewrite.loop import first_prompt


def test_the_prompt_asks_for_plain_pyspark(corpus):
    task = corpus["group_sum"].task
    plain = first_prompt(task, None)
    assert "df.withColumn(" in plain and "groupBy(" in plain
    assert "project(" not in plain and ".aggregate(" not in plain
    assert "def prepare(sales)" in plain and "inputs/sales.csv" in plain
