"""The runner over the deletion stages, without Spark: fake stages, an in-memory ledger.

What the runner alone does: the order of the stages, the ``started`` row before a step is
reported, the ``failed`` row naming the step (with the tables or the runs), a stage's
``noop`` ending the request, an untyped failure becoming a ``DeletionFailedError``, and
``--no-erase`` skipping erase and verify. The same request through the real stages is in
``test_ledger_golden.py`` (each stage entered once, by the runner).
"""

from __future__ import annotations

import inspect
import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from spark_lester.artifacts.layout import Layout
from spark_lester.config import LesterConfig, project_root
from spark_lester.deletion import ledger, runner
from spark_lester.deletion.records import LedgerEntry
from spark_lester.deletion.request import DeletionRequest
from spark_lester.deletion.stages import Context, Hooks, Noop
from spark_lester.errors import DeletionFailedError, RequestError


@dataclass
class FakeRun:
    run_id: str


@dataclass
class FakePlan:
    erase_paths: list[str] = field(default_factory=lambda: ["/wh/p/r1/prepared"])
    before: dict[str, int] = field(default_factory=lambda: {"/wh/p/r1/prepared": 1})
    run_ids: list[str] = field(default_factory=lambda: ["r1"])
    cleanup: dict = field(default_factory=dict)
    touched: list = field(default_factory=list)


@dataclass
class Report:
    noop: Noop | None = None
    own: set = field(default_factory=set)
    own_sources: set = field(default_factory=set)
    plan: FakePlan = field(default_factory=FakePlan)
    summaries: list = field(default_factory=list)
    merges: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    erasure: dict = field(default_factory=dict)
    verification: dict = field(default_factory=lambda: {"verified": True, "hits": []})
    quality: dict | None = None
    seconds_to_consistent: float = 0.0
    timings: dict = field(default_factory=dict)


class World:
    """The fake stages' world: what ran, in order, and the ledger rows written."""

    def __init__(self, monkeypatch, *, fail_at: str | None = None, error=None,
                 noop_at: str | None = None):
        self.calls: list[str] = []
        self.rows: list[dict] = []
        self.steps: list[str] = []

        def stage(name):
            def fn(ctx):
                self.calls.append(name)
                if name == "check":
                    ctx.runs = [FakeRun("r1")]
                if name == "update":
                    ctx.step = "merge prepared"
                    ctx.after("merge:r1:prepared")
                if name == fail_at:
                    raise error
                return Report(noop=Noop("nothing", ["r1"], []) if name == noop_at else None)
            fn.__name__ = name
            return fn

        monkeypatch.setattr(runner, "STAGES", tuple(stage(n) for n in NAMES))
        monkeypatch.setattr(runner, "stamped", lambda spark, request_id: nullcontext())
        monkeypatch.setattr(ledger, "append",
                            lambda spark, layout, entry: self.rows.append(entry.to_json()))
        monkeypatch.setattr(ledger, "entries", lambda spark, layout: [
            LedgerEntry.from_json(r) for r in self.rows])
        monkeypatch.setattr(runner.registry, "list_runs", lambda spark, layout: [])
        monkeypatch.setattr(runner.store, "table_version", lambda spark, path: 2)

    def run(self, *, erase: bool = True) -> dict:
        req = DeletionRequest.from_dict({"request_id": "q", "source": "s", "keys": [1],
                                         "action": "delete_rows"})
        ctx = Context(spark=None, request=req, config=LesterConfig(), layout=Layout("/wh"),
                      erase=erase, hooks=Hooks(after_step=self.steps.append))
        return runner.run_request(ctx)


NAMES = ("check", "resolve", "update", "clean_source", "erase", "verify")


def test_the_stages_run_in_order_and_the_runner_writes_started_then_completed(monkeypatch):
    world = World(monkeypatch)
    result = world.run()
    assert world.calls == list(NAMES)
    assert [r["status"] for r in world.rows] == ["started", "completed"]
    assert world.rows[0]["tables"] == {"/wh/p/r1/prepared": {"before": 1}}
    assert world.rows[1]["tables"]["/wh/p/r1/prepared"]["after"] == 2
    assert world.steps == ["merge:r1:prepared"]
    assert result["status"] == "completed" and result["resumed"] is False


def test_without_erasure_erase_and_verify_do_not_run(monkeypatch):
    world = World(monkeypatch)
    result = world.run(erase=False)
    assert world.calls == list(NAMES[:4])
    assert result["status"] == "updated" and result["verification"] == {"verified": None}


def test_a_noop_ends_the_request_with_one_row(monkeypatch):
    world = World(monkeypatch, noop_at="resolve")
    result = world.run()
    assert world.calls == ["check", "resolve"]
    assert [(r["status"], r["reason"], r["runs"]) for r in world.rows] == \
        [("noop", "nothing", ["r1"])]
    assert result["status"] == "noop"


def test_a_completed_request_is_not_applied_again(monkeypatch):
    world = World(monkeypatch)
    world.run()
    world.calls.clear()
    assert world.run()["status"] == "already_applied"
    assert world.calls == []


@pytest.mark.parametrize("stage, step, recorded", [
    ("check", "resolve", {"runs": ["r1"]}),
    ("resolve", "resolve", {"runs": ["r1"]}),
    ("update", "merge prepared", {"tables": {"/wh/p/r1/prepared": {}}}),
    ("erase", "erase", {"tables": {"/wh/p/r1/prepared": {}}}),
    ("verify", "verify", {"tables": {"/wh/p/r1/prepared": {}}})])
def test_an_untyped_failure_is_a_typed_error_and_one_failed_row(monkeypatch, stage, step,
                                                                  recorded):
    world = World(monkeypatch, fail_at=stage, error=ZeroDivisionError("boom"))
    with pytest.raises(DeletionFailedError) as failure:
        world.run()
    assert failure.value.step == step
    assert world.calls == list(NAMES[:NAMES.index(stage) + 1])
    failed = world.rows[-1]
    assert failed["status"] == "failed"
    assert failed["reason"].startswith(f"{step}: DeletionFailedError: step '{step}' failed")
    assert {k: failed[k] for k in recorded} == recorded
    changing = NAMES.index(stage) >= NAMES.index("update")
    assert [r["status"] for r in world.rows] == (["started", "failed"] if changing
                                                 else ["failed"])


def test_a_typed_failure_keeps_its_type(monkeypatch):
    world = World(monkeypatch, fail_at="check",
                  error=RequestError("no such column.", field="columns"))
    with pytest.raises(RequestError):
        world.run()
    assert world.rows[-1]["reason"].startswith("resolve: RequestError")


def test_a_crash_a_test_injects_is_not_recorded(monkeypatch):
    class Crash(Exception):
        pass

    world = World(monkeypatch, fail_at="erase", error=Crash())
    with pytest.raises(Crash):
        world.run()
    assert [r["status"] for r in world.rows] == ["started"]


def test_every_stage_is_a_module_with_one_function_of_its_name():
    stages_folder = project_root() / "spark_lester" / "deletion" / "stages"
    assert sorted(p.stem for p in stages_folder.glob("*.py") if p.stem != "__init__") == \
        sorted(NAMES)
    assert tuple(s.__name__ for s in runner.STAGES) == NAMES
    for stage in runner.STAGES:
        assert stage.__module__ == f"spark_lester.deletion.stages.{stage.__name__}"
        assert list(inspect.signature(stage).parameters) == ["ctx"]


def test_the_readme_layout_shows_the_stages_in_order():
    readme = Path(project_root() / "README.md").read_text()
    layout = readme[readme.index("## Layout"):readme.index("## Runs, deletion and erasure")]
    listed = re.findall(r"(?:stages/)?(\w+)\.py", layout[layout.index("stages/"):])
    assert tuple(listed[:len(NAMES)]) == NAMES
