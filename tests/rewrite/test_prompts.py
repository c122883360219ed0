"""The data-preparation prompt per target API (no model, no Spark)."""

from __future__ import annotations

import pytest

from spark_lester.errors import RewriteError
from spark_lester.rewrite.loop import first_prompt


def test_the_prompt_asks_for_plain_pyspark_unless_the_first_target_is_named(corpus):
    task = corpus["group_sum"].task
    plain = first_prompt(task, None)
    assert "df.withColumn(" in plain and "groupBy(" in plain
    assert "project(" not in plain and ".aggregate(" not in plain
    first = first_prompt(task, None, target="lester")
    assert "frame.project(target, sources, expression)" in first and "withColumn" not in first
    for prompt in (plain, first):  # both carry the task itself
        assert "def prepare(sales)" in prompt and "inputs/sales.csv" in prompt


def test_an_unknown_target_api_is_refused(corpus):
    with pytest.raises(RewriteError, match="unknown target API 'polars'"):
        first_prompt(corpus["group_sum"].task, None, target="polars")
