from __future__ import annotations

import pytest

from spark_lester.errors import ExtractionError
from spark_lester.rewrite.extract import extract_code


def test_structured_payload_wins():
    assert extract_code("ignored", {"code": "x = 1\n", "explanation": ""}) == "x = 1\n"


def test_picks_the_block_that_defines_the_entry_point():
    text = ("Setup:\n```python\nimport pandas\n```\nAnd:\n```python\n"
            "def prepare(m):\n    return m\n```\n")
    assert extract_code(text, entry_point="prepare").startswith("def prepare")


def test_unclosed_fence_means_cut_off():
    with pytest.raises(ExtractionError, match="cut off"):
        extract_code("```python\ndef prepare(m):\n")


def test_truncated_answer_is_refused():
    with pytest.raises(ExtractionError, match="cut off"):
        extract_code("```python\nx = 1\n```", truncated=True)


def test_no_fence():
    with pytest.raises(ExtractionError) as info:
        extract_code("Sure! I would use a join.")
    assert info.value.stage == "extract"
