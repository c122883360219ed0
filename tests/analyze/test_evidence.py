"""Lineage edges need evidence: placeholder-only and file-name-only matches are weak candidates."""

from __future__ import annotations

from spark_lester.analyze import analyze
from spark_lester.analyze.evidence import launch_match, weak_reason


def _edges(catalog):
    weak: dict[tuple[str, str], str] = {}
    for e in catalog["weak_lineage"]:
        weak[(e["from"], e["to"])] = "; ".join(filter(None, [weak.get((e["from"], e["to"])), e["reason"]]))
    return {(e["from"], e["to"]) for e in catalog["lineage"]}, weak


def test_unrelated_jobs_sharing_a_placeholder_are_not_linked(tmp_path):
    """The two cases the issue reports: {sys.argv[1]} and s3://{{ params.BUCKET_NAME }}."""
    a, b = tmp_path / "team_a", tmp_path / "team_b"
    a.mkdir()
    b.mkdir()
    (a / "write.py").write_text("import sys\nspark.range(3).write.parquet(f'{sys.argv[1]}/out')\n"
                                "spark.range(3).write.parquet('s3://{{ params.BUCKET_NAME }}/data/x')\n")
    (b / "read.py").write_text("import sys\nspark.read.parquet(f'{sys.argv[1]}/out')\n"
                               "spark.read.parquet('s3://{{ params.BUCKET_NAME }}/data/x')\n")
    edges, weak = _edges(analyze(tmp_path, git=False))
    assert ("team_a/write.py", "team_b/read.py") not in edges
    assert "not resolved" in weak[("team_a/write.py", "team_b/read.py")]


def test_concrete_locations_are_linked(tmp_path):
    (tmp_path / "write.py").write_text("spark.range(3).write.parquet('s3a://lake/curated/orders/')\n")
    (tmp_path / "read.py").write_text("spark.read.parquet('s3://lake/curated/orders/dt=2024-01-01')\n")
    edges, weak = _edges(analyze(tmp_path, git=False))
    assert edges == {("write.py", "read.py")} and weak == {}


def test_unqualified_tables_and_local_paths_are_weak(tmp_path):
    (tmp_path / "a.py").write_text("df.write.saveAsTable('temp')\ndf.write.parquet('/tmp/out')\n")
    (tmp_path / "b.py").write_text("spark.table('temp')\nspark.read.parquet('/tmp/out')\n")
    edges, weak = _edges(analyze(tmp_path, git=False))
    assert edges == set()
    assert "unqualified table name" in weak[("a.py", "b.py")] and "local path" in weak[("a.py", "b.py")]


def test_a_script_of_the_same_file_name_in_another_project_is_a_weak_candidate(tmp_path):
    (tmp_path / "project_a" / "dags").mkdir(parents=True)
    (tmp_path / "project_b" / "jobs").mkdir(parents=True)
    (tmp_path / "project_a" / "dags" / "dag.py").write_text(
        "from airflow import DAG\nfrom airflow.providers.amazon.aws.operators.glue import GlueJobOperator\n"
        "with DAG('d', schedule=None) as dag:\n"
        "    GlueJobOperator(task_id='g', job_name='j', script_location='s3://code/scripts/etl.py')\n")
    (tmp_path / "project_b" / "jobs" / "etl.py").write_text("spark.read.parquet('s3://x/y')\n")
    catalog = analyze(tmp_path, git=False)
    edges, weak = _edges(catalog)
    assert not any(b == "project_b/jobs/etl.py" for _, b in edges)
    assert "same file name only" in weak[("project_a/dags/dag.py:d", "project_b/jobs/etl.py")]
    assert catalog["pipelines"][0]["launches"] == ["s3://code/scripts/etl.py"]


def test_weak_reasons():
    assert weak_reason("s3://lake/orders") is None
    assert weak_reason("glue://sales.orders") is None
    assert weak_reason("redshift://{database}.public.fruit").startswith("part of the table name")
    assert weak_reason("hdfs:///tmp/x").startswith("hdfs path without a host")
    assert weak_reason("s3:///key").startswith("the bucket is not resolved")
    assert launch_match("s3://code/jobs/etl.py", "jobs/etl.py") is None
    assert launch_match("s3://code/etl.py", "other/etl.py") is not None


def test_impact_marks_hops_through_weak_locations(tmp_path):
    from spark_lester.analyze import impact

    (tmp_path / "a.py").write_text("spark.read.parquet('s3://acme-raw/cards').write.parquet('/tmp/cards')\n")
    (tmp_path / "b.py").write_text("spark.read.parquet('/tmp/cards').write.parquet('s3://acme-clean/x')\n")
    hits = {h["pipeline"]: h for h in impact(analyze(tmp_path, git=False), "s3://acme-raw/cards")}
    assert "weak" not in hits["a.py"]
    assert hits["b.py"]["weak"] == "local path: every machine has its own"
