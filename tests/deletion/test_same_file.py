"""deletion/same_file.py: a keyless file read under two names. A linked redaction's rows of
one name are mapped onto the other name's ids by their values (a content id hashes the name,
so the ids differ between the names)."""

from __future__ import annotations

from types import SimpleNamespace

from spark_lester import read_csv
from spark_lester.deletion.same_file import linked_group


def test_a_keyless_files_linked_rows_map_onto_the_other_names_ids(spark, tmp_path):
    """Found by a review: the ids were copied unchanged, so under the second name they named
    no row and its copy of the redacted value stayed. Rows 2 and 3 are identical: linking
    one of them maps onto one of the two under the other name."""
    path = tmp_path / "notes.csv"
    path.write_text("n,t\n1,alpha\n2,beta\n2,beta\n3,\n")
    schema = {"s1": "n INT, t STRING", "s2": "m INT, u STRING"}
    frames = {name: read_csv(name, str(path), schema=schema[name], spark=spark)
              for name in ("s1", "s2")}
    run = SimpleNamespace(run_id="r1", sources={
        name: {"path": str(path), "format": "csv", "key": None,
               "columns": [c.split()[0] for c in schema[name].split(", ")]}
        for name in ("s1", "s2")})

    def ids(name, column, value):
        df = frames[name].df
        cond = df[column].isNull() if value is None else df[column] == value
        return sorted(r[0] for r in df.where(cond).select(f"__prov_{name}").collect())

    one_beta = ids("s1", "t", "beta")[:1]
    linked = {*ids("s1", "t", "alpha"), *one_beta, *ids("s1", "t", None)}
    mapped = linked_group(run, frames, "s1", linked)
    assert mapped["s1"] == linked
    beta = set(ids("s2", "u", "beta"))
    assert mapped["s2"] - beta == {*ids("s2", "u", "alpha"), *ids("s2", "u", None)}
    assert len(mapped["s2"] & beta) == 1
