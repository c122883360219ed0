"""bench/llm/merge.py: the real-model benchmark's per-task files joined into runs, with made-up
rows in the shape ``spark-lester bench rewrite --task T`` writes (no model, no Spark)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

MERGE = Path(__file__).resolve().parents[2] / "bench" / "llm" / "merge.py"


@pytest.fixture(scope="module")
def mg():
    spec = importlib.util.spec_from_file_location("llm_merge", MERGE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def corpus(root: Path, *names: str) -> Path:
    for name in names:
        (root / "corpus" / name).mkdir(parents=True)
        (root / "corpus" / name / "task.json").write_text("{}")
    (root / "corpus" / "notes").mkdir()  # a folder without task.json is no task
    return root / "corpus"


def done(root: Path, run: str, task: str, *, accepted: bool, first: bool, rounds: int,
         tokens: int = 100, target: str | None = None, code: str | None = None) -> None:
    row = {"task": task, "kind": "prepare", "accepted": accepted, "pass_at_1": first,
           "rounds": rounds, "failing_stages": ["compare"] * (rounds - first),
           "reason": None, "tokens": {"total_tokens": tokens}, "seconds": 10.0 * rounds}
    folder = root / "runs" / run
    folder.mkdir(parents=True, exist_ok=True)
    result = {"model": "local", "target_api": target or run.rsplit("_", 1)[1], "tasks": [row]}
    if code:
        result["code"] = code
    (folder / f"{task}.json").write_text(json.dumps(result))


def test_a_run_with_tasks_left_says_it_is_incomplete(mg, tmp_path):
    tasks = corpus(tmp_path, "a", "b", "c")
    done(tmp_path, "qwen-0.5b_pyspark", "c", accepted=True, first=True, rounds=1)
    done(tmp_path, "qwen-0.5b_pyspark", "a", accepted=False, first=False, rounds=3, tokens=300)
    run = mg.merge(tmp_path / "runs", tasks)["runs"]["qwen-0.5b/pyspark"]
    assert (run["complete"], run["missing"], run["tasks_done"]) == (False, ["b"], 2)
    assert [t["task"] for t in run["tasks"]] == ["a", "c"]  # corpus order
    assert (run["pass_at_1"], run["accepted_rate"], run["mean_rounds"]) == (0.5, 0.5, 2.0)
    assert (run["total_tokens"], run["seconds"]) == (400, 40.0)


def test_a_finished_run_is_complete(mg, tmp_path):
    tasks = corpus(tmp_path, "a", "b")
    for t in "ab":
        done(tmp_path, "qwen-1.5b_pyspark", t, accepted=True, first=t == "a", rounds=1 + (t == "b"))
    run = mg.merge(tmp_path / "runs", tasks)["runs"]["qwen-1.5b/pyspark"]
    assert (run["complete"], run["missing"], run["pass_at_1"], run["accepted_rate"]) == \
        (True, [], 0.5, 1.0)


def test_the_target_apis_are_compared_on_the_tasks_both_did(mg, tmp_path):
    tasks = corpus(tmp_path, "a", "b", "c", "d")
    done(tmp_path, "qwen-1.5b_pyspark", "a", accepted=True, first=True, rounds=1)
    done(tmp_path, "qwen-1.5b_pyspark", "b", accepted=False, first=False, rounds=3)
    done(tmp_path, "qwen-1.5b_pyspark", "c", accepted=True, first=True, rounds=1)
    done(tmp_path, "qwen-1.5b_pyspark", "d", accepted=True, first=True, rounds=1)
    done(tmp_path, "qwen-1.5b_lester", "a", accepted=False, first=False, rounds=3)
    done(tmp_path, "qwen-1.5b_lester", "b", accepted=True, first=False, rounds=2)
    done(tmp_path, "qwen-1.5b_lester", "c", accepted=True, first=False, rounds=2)
    result = mg.merge(tmp_path / "runs", tasks)
    cmp = result["target_api_comparison"]["qwen-1.5b"]
    assert cmp["tasks_compared"] == 3  # d is not done on the first target API yet
    # c passes on both: it is in neither list
    assert (cmp["only_pyspark"], cmp["only_lester"]) == (["a"], ["b"])
    assert cmp["pyspark"]["pass_at_1"] == pytest.approx(2 / 3)
    assert (cmp["lester"]["pass_at_1"], cmp["lester"]["accepted_rate"]) == \
        (0.0, pytest.approx(2 / 3))
    assert "qwen-0.5b" not in result["target_api_comparison"]


def test_each_row_keeps_the_commit_that_ran_it_and_the_run_lists_them(mg, tmp_path):
    tasks = corpus(tmp_path, "a", "b", "c")
    done(tmp_path, "qwen-0.5b_pyspark", "a", accepted=False, first=False, rounds=2)
    done(tmp_path, "qwen-0.5b_pyspark", "b", accepted=False, first=False, rounds=2, code="abc1234")
    done(tmp_path, "qwen-0.5b_pyspark", "c", accepted=True, first=True, rounds=1, code="def5678")
    run = mg.merge(tmp_path / "runs", tasks)["runs"]["qwen-0.5b/pyspark"]
    assert [r["code"] for r in run["tasks"]] == [None, "abc1234", "def5678"]
    assert run["codes"] == ["abc1234", "def5678"]
    assert run["last_failing_stage"] == {"compare": 2}  # c was accepted


def test_a_file_of_another_target_api_is_refused(mg, tmp_path):
    tasks = corpus(tmp_path, "a")
    done(tmp_path, "qwen-1.5b_lester", "a", accepted=True, first=True, rounds=1,
         target="pyspark")
    with pytest.raises(SystemExit, match="target_api 'pyspark'"):
        mg.merge(tmp_path / "runs", tasks)


def test_the_command_writes_the_merged_file(mg, tmp_path, monkeypatch, capsys):
    tasks = corpus(tmp_path, "a")
    done(tmp_path, "qwen-0.5b_pyspark", "a", accepted=True, first=True, rounds=1)
    out = tmp_path / "rewrite_local.json"
    monkeypatch.setattr(sys, "argv", ["merge.py", str(tmp_path / "runs"), "--corpus",
                                      str(tasks), "--out", str(out)])
    mg.main()
    written = json.loads(out.read_text())
    assert written["corpus_tasks"] == 1
    assert written["runs"]["qwen-0.5b/pyspark"]["complete"] is True
    assert '"qwen-0.5b/pyspark"' in capsys.readouterr().out
