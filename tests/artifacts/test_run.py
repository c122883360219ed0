"""artifacts/: running a pipeline into the warehouse, the registry, the table layout."""

from __future__ import annotations

import json

import pytest

from spark_lester.artifacts.layout import FEATURES, PREPARED, Layout
from spark_lester.artifacts.registry import get_run, list_runs
from spark_lester.cli import main
from spark_lester.config import project_root
from spark_lester.errors import ConfigError, RunNotFoundError

PIPELINE = project_root() / "examples" / "running_example" / "pipeline.py"


@pytest.fixture(scope="module")
def recorded(spark, running_example_data, tmp_path_factory):
    wh = str(tmp_path_factory.mktemp("artifacts") / "wh")
    out = tmp_path_factory.mktemp("cli") / "run.json"
    code = main(["run", str(PIPELINE), "--source", f"customers={running_example_data['customers']}",
                 "--source", f"mails={running_example_data['mails']}", "--warehouse", wh,
                 "--run-id", "first", "--rows-per-file", "60", "--json", str(out)])
    assert code == 0
    return wh, json.loads(out.read_text())


def test_run_is_recorded_and_listed(spark, recorded, capsys):
    wh, summary = recorded
    assert summary["run_id"] == "first" and summary["pipeline"] == "running_example"
    assert main(["runs", "--warehouse", wh, "--json", "-"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in listed] == ["first"]
    record = get_run(spark, Layout(wh), "first")
    assert set(record.sources) == {"customers", "mails"}
    assert record.sources["mails"]["fingerprint"]["bytes"] > 0
    assert record.matrix_provenance["title"] == [[0, 16]]
    assert record.matrix_provenance["country"] == [[49, 52]]
    assert record.rows["train"] + record.rows["test"] == record.rows["total"] > 0
    with pytest.raises(RunNotFoundError):
        get_run(spark, Layout(wh), "second")


def test_tables_have_ids_split_and_features(spark, recorded):
    wh, summary = recorded
    prepared = spark.read.format("delta").load(summary["tables"][PREPARED]["path"])
    features = spark.read.format("delta").load(summary["tables"][FEATURES]["path"])
    assert prepared.count() == features.count() == summary["rows"]["total"]
    assert {"__lester_row_id", "__lester_split", "__prov_mails", "__prov_customers"} <= \
        set(prepared.columns)
    assert prepared.select("__lester_row_id").distinct().count() == prepared.count()
    assert dict(features.dtypes)["features"] == "array<float>"
    widths = {len(r.features) for r in features.select("features").collect()}
    assert widths == {52}


def test_tables_keep_no_text_statistics_and_cluster_by_customer(spark, recorded):
    wh, summary = recorded
    path = summary["tables"][PREPARED]["path"]
    props = spark.sql(f"SHOW TBLPROPERTIES delta.`{path}`").collect()
    props = {r.key: r.value for r in props}
    assert props["delta.enableDeletionVectors"] == "true"
    assert "title" not in props["delta.dataSkippingStatsColumns"]
    stats = [json.loads(r.stats) for r in spark.read.json(f"{path}/_delta_log/*.json")
             .where("add IS NOT NULL").select("add.stats").collect()]
    assert stats and all("title" not in s.get("minValues", {}) for s in stats)
    # every data file covers its own range of customers (range clustering)
    assert len(stats) >= 2
    ranges = sorted((s["minValues"]["__prov_customers"], s["maxValues"]["__prov_customers"])
                    for s in stats)
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))


def test_layout_refuses_path_like_names():
    with pytest.raises(ConfigError):
        Layout("/tmp/wh").table("../etc", "r1", PREPARED)
    with pytest.raises(ConfigError):
        Layout("/tmp/wh").table("p", "r1", "secrets")


def test_runs_of_an_empty_warehouse(spark, tmp_path, capsys):
    assert list_runs(spark, Layout(str(tmp_path))) == []
    assert main(["runs", "--warehouse", str(tmp_path)]) == 0
    assert "no runs recorded" in capsys.readouterr().out


def test_run_trains_and_stores_model_version_zero(spark, recorded):
    """The run's model is trained on the train split of its X/y, deterministic for its seed,
    and stored with the statistics the next update needs."""
    from spark_lester.artifacts.layout import MODEL
    from spark_lester.artifacts.model import load_model, training_data
    from spark_lester.models import retrain
    from spark_lester.models.data import as_arrays

    wh, summary = recorded
    entry = summary["tables"][MODEL]
    stored = load_model(spark, entry["path"], d=52)
    assert (stored.version, stored.method, stored.params.kind) == (0, "train", "logreg")
    assert stored.params.n_train == summary["rows"]["train"] == stored.stats.n
    features = spark.read.format("delta").load(summary["tables"][FEATURES]["path"])
    assert (stored.params.lam, stored.params.seed) == (1e-2, 0)  # the pipeline's MODEL
    again = retrain(stored.params, as_arrays(training_data(features, "label")))
    assert again.digest() == stored.params.digest()
    from spark_lester.errors import DimensionMismatchError

    with pytest.raises(DimensionMismatchError):
        load_model(spark, entry["path"], d=51)


def test_run_takes_its_config_like_unlearn(monkeypatch, tmp_path):
    """``config=`` is the session's config; without it the environment's is used."""
    import spark_lester.session as session
    from spark_lester.artifacts.run import run
    from spark_lester.config import LesterConfig

    class Stop(Exception):
        pass

    seen = []

    def no_session(config=None):
        seen.append(config)
        raise Stop

    monkeypatch.setattr(session, "get_spark", no_session)
    given = LesterConfig.from_env(warehouse=str(tmp_path / "given"), shuffle_partitions=3)
    with pytest.raises(Stop):
        run(PIPELINE, {}, config=given)
    monkeypatch.setenv("SPARK_LESTER_WAREHOUSE", str(tmp_path / "env"))
    with pytest.raises(Stop):
        run(PIPELINE, {})
    assert seen[0] is given
    assert seen[1].warehouse == str(tmp_path / "env") and seen[1].shuffle_partitions != 3


def test_run_records_into_the_warehouse_of_its_config(spark, recorded, running_example_data):
    from spark_lester.artifacts.run import run
    from spark_lester.config import LesterConfig

    wh, _ = recorded
    sources = {k: running_example_data[k] for k in ("customers", "mails")}
    with pytest.raises(ConfigError, match="'first' is already recorded"):
        run(PIPELINE, sources, spark=spark, run_id="first",
            config=LesterConfig.from_env(warehouse=wh))
