from __future__ import annotations

import json

from spark_lester.rewrite.loop import Round
from spark_lester.rewrite.report import to_markdown, write_report
from spark_lester.rewrite.validate import Failure


def test_report_files(tmp_path):
    payload = {"accepted": False, "rounds": 2, "reason": "stuck", "tokens": {"calls": 2},
               "per_round": [Round(1, Failure("compare", "differs", "  only in original: {}")
                                   ).to_dict(),
                             Round(2, Failure("compare", "differs")).to_dict()]}
    written = write_report(payload, tmp_path / "r.json")
    assert [p.name for p in written] == ["r.json", "r.md"]
    assert json.loads((tmp_path / "r.json").read_text())["per_round"][0]["failing_stage"] \
        == "compare"
    md = to_markdown(payload)
    assert "| 1 | rejected | compare | differs |" in md and "only in original" in md
