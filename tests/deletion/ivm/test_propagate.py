"""deletion/ivm/propagate.py: which sources a deletion through a left join reads whole, and
when it recomputes (the plans of the three closure regressions in tests/fuzz/test_regressions.py;
no Spark: the verdict is a walk over the plan)."""

from __future__ import annotations

from spark_lester.deletion.ivm.propagate import INCREMENTAL, RECOMPUTE, propagate
from spark_lester.plan import nodes


def _source(name: str, *columns: str) -> nodes.Source:
    return nodes.Source(name=name, format="csv", path=f"{name}.csv", key=columns[0],
                        columns=columns)


VISITS = _source("visits", "id", "k", "g")
NOTES = _source("notes", "rid", "rk")
PEOPLE = _source("people", "pid", "pg")
REFS = _source("refs", "fid", "fk")


def _unmatched() -> nodes.PlanNode:
    """visits LEFT JOIN notes, keeping the visits that match no note."""
    joined = nodes.Join(left=VISITS, right=NOTES, left_on=("k",), right_on=("rk",), how="left")
    return nodes.Filter(child=joined, predicate="rid IS NULL", references=("rid",))


def test_a_lone_left_join_reads_only_its_right_side_whole():
    verdict = propagate(_unmatched(), "delete_rows", set(), "notes")
    assert (verdict.strategy, verdict.closure_sources, verdict.full_sources) == (
        INCREMENTAL, {"visits"}, {"notes"})


def test_a_join_above_reads_its_other_side_whole():
    plan = nodes.Join(left=_unmatched(), right=PEOPLE, left_on=("g",), right_on=("pg",))
    verdict = propagate(plan, "delete_rows", set(), "notes")
    assert verdict.strategy == INCREMENTAL
    assert verdict.full_sources == {"notes", "people"}


def test_a_closed_over_source_on_a_left_joins_right_side_recomputes():
    plan = nodes.Join(left=PEOPLE, right=_unmatched(), left_on=("pg",), right_on=("g",),
                      how="left")
    verdict = propagate(plan, "delete_rows", set(), "notes")
    assert verdict.strategy == RECOMPUTE
    assert "re-derives visits rows" in verdict.reason


def test_another_left_join_of_a_closed_over_source_reads_its_right_side_whole():
    refs = nodes.Join(left=VISITS, right=REFS, left_on=("k",), right_on=("fk",), how="left")
    a = nodes.Select(child=nodes.Filter(child=refs, predicate="fid IS NULL",
                                        references=("fid",)), selected=("id", "k"))
    notes = nodes.Join(left=VISITS, right=NOTES, left_on=("k",), right_on=("rk",), how="left")
    plan = nodes.Union(left=a, right=nodes.Select(child=notes, selected=("id", "k")))
    verdict = propagate(plan, "delete_rows", set(), "notes")
    assert verdict.strategy == INCREMENTAL
    assert verdict.full_sources == {"notes", "refs"}
    # a deletion on the left side closes over nothing: nothing else is read whole
    assert propagate(plan, "delete_rows", set(), "visits").full_sources == set()


def test_a_redaction_reads_the_left_joins_on_the_other_side_of_its_join_whole():
    """The plan of ``test_a_redacted_row_keeps_a_left_join_of_another_branch_exact``."""
    people = _source("people", "pid", "pg", "pt")
    refs = nodes.Join(left=VISITS, right=REFS, left_on=("k",), right_on=("fk",), how="left")
    kept = nodes.Filter(child=refs, predicate="fid IS NULL", references=("fid",))
    a = nodes.Select(child=nodes.Join(left=kept, right=people, left_on=("g",), right_on=("pg",)),
                     selected=("id", "pt"))
    b = nodes.Select(child=nodes.Join(left=VISITS, right=people, left_on=("g",),
                                      right_on=("pg",)), selected=("id", "pt"))
    plan = nodes.Union(left=a, right=b)
    verdict = propagate(plan, "redact_columns", {("people", "pt")}, "people")
    assert (verdict.strategy, verdict.full_sources) == (INCREMENTAL, {"refs"})
