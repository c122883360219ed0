"""Row provenance is exact, checked differentially.

For random sets of deleted source rows, re-running a pipeline on the reduced inputs must give
exactly: every output row none of whose monomials contains a deleted id, unchanged; no row
whose monomials all contain a deleted id; and for merged rows (aggregate, distinct) that keep
some monomials, the row with exactly those monomials and its aggregate recomputed over them.
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from spark_lester import read_csv
from spark_lester.frame.provenance import surviving_monomials

N_A, N_B = 12, 30
RNG = np.random.RandomState(7)
TABLE_A = pd.DataFrame({"a_id": range(1, N_A + 1),
                        "g": RNG.choice(["x", "y", "z"], N_A),
                        "v": RNG.randint(0, 6, N_A)})
TABLE_B = pd.DataFrame({"b_id": range(100, 100 + N_B),
                        "a_ref": RNG.randint(1, N_A + 3, N_B),  # some refs match nothing
                        "w": RNG.randint(0, 9, N_B),
                        "s": RNG.choice(["p", "q", "r"], N_B)})


def shape_join(a, b):
    kept = a.filter(F.col("v") > 1)
    joined = kept.join(b, left_on="a_id", right_on="a_ref")
    return joined.withColumn("t", F.upper(F.col("s"))).select("a_id", "g", "w", "t")


def shape_union(a, b):
    low = b.filter(F.col("w") < 5).select("a_ref", "s")
    high = b.filter(F.col("w") >= 3).select("a_ref", "s")
    return low.union(high)


def shape_aggregate(a, b):
    joined = a.join(b, left_on="a_id", right_on="a_ref")
    return joined.groupBy("g").agg(F.sum("w").alias("sum_w"), F.count(F.lit(1)).alias("n"))


def shape_distinct(a, b):
    joined = a.join(b, left_on="a_id", right_on="a_ref")
    return joined.select("g", "s").distinct()


def shape_union_of_merged(a, b):
    merged = b.select("s").distinct()
    return merged.union(b.filter(F.col("w") > 6).select("s"))


def shape_pyspark_scalar(a, b):
    """The same operators under PySpark's names (issue 22): where, withColumn, a join on an
    equality Column, select with an alias, withColumnRenamed, drop, unionByName."""
    kept = a.where(F.col("v") > 1).withColumn("gv", F.concat("g", F.col("v").cast("string")))
    refs = b.withColumnRenamed("a_ref", "ref")
    joined = kept.join(refs, kept["a_id"] == refs["ref"], "inner")
    picked = joined.select("a_id", "gv", F.upper("s").alias("t"), "w").drop("nothing")
    return picked.where(F.col("w") < 4).unionByName(picked.where(F.col("w") > 6))


def shape_pyspark_groupby(a, b):
    joined = a.join(b, a["a_id"] == b["a_ref"])
    return joined.groupBy("g").agg(F.sum("w").alias("sum_w"), F.count(F.lit(1)).alias("n"))


def shape_pyspark_distinct(a, b):
    return b.withColumns({"s2": F.lower("s"), "big": F.col("w") > 4}) \
        .select("s2", "big").dropDuplicates()


def shape_pyspark_udf_positional(a, b):
    """A Python UDF as a Column, a join on a name, and PySpark's positional union (the right
    side takes the left's column names)."""
    tag = F.udf(lambda s: None if s is None else s + "#", "string")
    right = b.withColumnRenamed("a_ref", "a_id").withColumn("tag", tag(F.col("s")))
    joined = a.join(right, on="a_id").select("a_id", "g", "tag")
    return joined.union(b.where(F.col("w") > 5).select("a_ref", "s", F.lower("s").alias("low")))


# ---- generated chains of PySpark's methods -------------------------------------------------
#: Scalar steps a chain draws from; each keeps b's own columns (a_ref, w, s) as they are, so
#: that a finish can group, join and sum on them, and works on the columns it derived.
STEPS = ("where", "filter", "withColumn", "withColumns", "udf", "withColumnRenamed", "drop",
         "select")
#: How a chain ends (the provenance-changing operators) -> the seed of its drawn steps.
CHAIN_SEEDS = {"join": 18, "groupBy": 264, "unionByName": 207, "distinct": 131, "dropDuplicates": 42}


def draw_chain(seed: int) -> list[tuple[str, int]]:
    """Three to five scalar steps, each with a number that parameterises it."""
    rng = np.random.RandomState(seed)
    return [(STEPS[rng.randint(len(STEPS))], int(rng.randint(0, 6)))
            for _ in range(rng.randint(3, 6))]


def make_chain(finish: str, steps: list[tuple[str, int]]):
    """A pipeline ``shape(a, b)`` of the drawn steps on b, then the finish."""
    def shape(a, b):
        bump = F.udf(lambda w: None if w is None else float(w) + 0.5, "double")
        x, derived = b, []
        for i, (step, k) in enumerate(steps):
            if step in ("where", "filter"):
                cond = F.col("w") >= k if step == "where" else F.col("s") != "pqr"[k % 3]
                x = getattr(x, step)(cond)
            elif step == "withColumn":
                x = x.withColumn(f"c{i}", F.concat(F.upper("s"), F.lit(str(k))))
                derived.append(f"c{i}")
            elif step == "withColumns":
                x = x.withColumns({f"p{i}": F.col("w") * k, f"q{i}": F.lower("s")})
                derived += [f"p{i}", f"q{i}"]
            elif step == "udf":
                x = x.withColumn(f"u{i}", bump(F.col("w")))
                derived.append(f"u{i}")
            elif step == "withColumnRenamed" and derived:
                old = derived.pop(k % len(derived))
                x = x.withColumnRenamed(old, f"{old}_r")
                derived.append(f"{old}_r")
            elif step == "drop" and derived:
                x = x.drop(derived.pop(k % len(derived)))
            elif step == "select":
                x = x.select("b_id", "a_ref", "w", "s", *derived)
        if finish == "join":
            return x.join(a, x["a_ref"] == a["a_id"]).select("b_id", "g", "s", "w", *derived)
        if finish == "groupBy":
            return x.groupBy("s").agg(F.sum("w").alias("sum_w"), F.count(F.lit(1)).alias("n"))
        if finish == "unionByName":
            return x.where(F.col("w") < 4).unionByName(x.where(F.col("w") > 6))
        if finish == "distinct":
            return x.select("s", *derived[:1]).distinct()
        return x.select("s", *derived[-1:]).dropDuplicates()

    return shape


CHAINS = {f"chain_{finish}": draw_chain(seed) for finish, seed in CHAIN_SEEDS.items()}


def effective_steps(steps: list[tuple[str, int]]) -> list[str]:
    """The steps that change the frame (a rename or drop needs a derived column)."""
    derived, out = 0, []
    for step, _ in steps:
        if step in ("withColumnRenamed", "drop") and not derived:
            continue
        derived += {"withColumn": 1, "withColumns": 2, "udf": 1, "drop": -1}.get(step, 0)
        out.append(step)
    return out


def test_the_drawn_chains_use_every_step():
    """The seeds above are chosen so that the chains exercise every scalar step at least
    once where it changes the frame (a rename or a drop with a derived column to act on),
    and every finish sees a derived column."""
    used = {step for steps in CHAINS.values() for step in effective_steps(steps)}
    assert used == set(STEPS), set(STEPS) - used
    for steps in CHAINS.values():
        assert {"withColumn", "withColumns", "udf"} & set(effective_steps(steps))


SHAPES = {
    **{name: (make_chain(name[len("chain_"):], steps),
              ("s",) if name == "chain_groupBy" else None)
       for name, steps in CHAINS.items()},
    "pyspark_scalar": (shape_pyspark_scalar, None),
    "pyspark_udf_positional": (shape_pyspark_udf_positional, None),
    "pyspark_groupby": (shape_pyspark_groupby, ("g",)),
    "pyspark_distinct": (shape_pyspark_distinct, ("s2", "big")),
    "join": (shape_join, None),
    "union": (shape_union, None),
    "aggregate": (shape_aggregate, ("g",)),
    "distinct": (shape_distinct, ("g", "s")),
    "union_of_merged": (shape_union_of_merged, None),
}


def _run(spark, shape, a_df, b_df, folder):
    folder.mkdir(parents=True, exist_ok=True)
    a_df.to_csv(folder / "a.csv", index=False)
    b_df.to_csv(folder / "b.csv", index=False)
    a = read_csv("a", str(folder / "a.csv"), key="a_id", spark=spark)
    b = read_csv("b", str(folder / "b.csv"), key="b_id", spark=spark)
    out = shape(a, b)
    rows = []
    for r in out.df.collect():
        d = r.asDict()
        data = tuple((c, d[c]) for c in out.columns)
        prov = {c[len("__prov_"):]: d[c] for c in out.provenance_columns}
        rows.append((data, prov))
    return out, rows


def _monomials(prov):
    return Counter(tuple(sorted(m.items())) for m in surviving_monomials(prov, {}))


def _ids(spark, folder):
    a = read_csv("a", str(folder / "a.csv"), key="a_id", spark=spark).df.toPandas()
    b = read_csv("b", str(folder / "b.csv"), key="b_id", spark=spark).df.toPandas()
    return (dict(zip(a["a_id"], a["__prov_a"])), dict(zip(b["b_id"], b["__prov_b"])))


@pytest.fixture(scope="module")
def full_runs(spark, tmp_path_factory):
    base = tmp_path_factory.mktemp("full")
    runs = {name: _run(spark, shape, TABLE_A, TABLE_B, base / name)
            for name, (shape, _) in SHAPES.items()}
    ids = _ids(spark, base / "join")
    return runs, ids


deletions = st.tuples(
    st.sets(st.integers(1, N_A), max_size=5),
    st.sets(st.integers(100, 100 + N_B - 1), max_size=10),
)


@pytest.mark.parametrize("name", list(SHAPES))
@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deleted=deletions)
def test_provenance_predicts_rerun_on_reduced_inputs(spark, tmp_path_factory, full_runs,
                                                     name, deleted):
    runs, (a_ids, b_ids) = full_runs
    shape, group_keys = SHAPES[name]
    _, full_rows = runs[name]
    del_a, del_b = deleted
    deleted_ids = {"a": {a_ids[k] for k in del_a}, "b": {b_ids[k] for k in del_b}}
    folder = tmp_path_factory.mktemp(f"reduced_{name}")
    _, rerun = _run(spark, shape, TABLE_A[~TABLE_A.a_id.isin(del_a)],
                    TABLE_B[~TABLE_B.b_id.isin(del_b)], folder)

    if group_keys is None and not any(isinstance(v, list) for _, p in full_rows for v in p.values()):
        # Scalar provenance: exactly the rows whose monomial avoids every deleted id.
        expected = Counter((data, tuple(sorted(p.items()))) for data, p in full_rows
                           if surviving_monomials(p, deleted_ids))
        actual = Counter((data, tuple(sorted(p.items()))) for data, p in rerun)
        assert actual == expected
        return

    # Merged rows: identify a row by its group key (distinct/aggregate) or by its data.
    def key(data):
        d = dict(data)
        return tuple(d[k] for k in group_keys) if group_keys else data

    predicted = Counter()
    unchanged = Counter()
    for data, p in full_rows:
        kept = surviving_monomials(p, deleted_ids)
        if not kept:
            continue
        monos = frozenset(Counter(tuple(sorted(m.items())) for m in kept).items())
        predicted[(key(data), monos)] += 1
        if len(kept) == len(surviving_monomials(p, {})):
            unchanged[(data, monos)] += 1
    actual = Counter((key(data), frozenset(_monomials(p).items())) for data, p in rerun)
    assert actual == predicted
    rerun_full = Counter((data, frozenset(_monomials(p).items())) for data, p in rerun)
    for row, count in unchanged.items():
        assert rerun_full[row] >= count, f"untouched row changed: {row}"
    if name in ("aggregate", "pyspark_groupby", "chain_groupBy"):
        # The recomputed aggregate equals the aggregate over the surviving contributors.
        w_of = {b_ids[k]: w for k, w in zip(TABLE_B.b_id, TABLE_B.w)}
        for data, p in rerun:
            d = dict(data)
            monos = surviving_monomials(p, {})
            assert d["n"] == len(monos)
            assert d["sum_w"] == sum(w_of[m["b"]] for m in monos)


def test_merged_provenance_is_aligned_arrays(spark, full_runs):
    runs, _ = full_runs
    out, rows = runs["aggregate"]
    assert out.provenance_columns == ["__prov_a", "__prov_b"]
    for _, prov in rows:
        assert isinstance(prov["a"], list) and len(prov["a"]) == len(prov["b"])
    # Every joined (a, b) pair appears in exactly one group.
    pairs = list(itertools.chain.from_iterable(zip(p["a"], p["b"]) for _, p in rows))
    assert len(pairs) == len(set(pairs)) == runs["join"][0].df.sparkSession.createDataFrame(
        TABLE_A).join(spark.createDataFrame(TABLE_B), F.col("a_id") == F.col("a_ref")).count()
