"""bench/bench_deletion.py's cluster comparison, without Spark or a cluster: the command
line, where the storage puts sources and warehouses, the ratios and the JSON's shape from
made-up measurements."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_deletion", BENCH / "bench_deletion.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def entry(deletion: float, erasure: float, reexecution: float) -> dict:
    """A made-up ``measure`` entry with the fields the comparison divides."""
    return {"mails": 2000, "deletion_seconds": deletion, "erasure_seconds": erasure,
            "reexecution_seconds": reexecution,
            "speedup": round(reexecution / deletion, 2), "ivm_matches_recompute": True}


def test_start_cluster_writes_its_own_json(bench):
    args = bench.parse_args(["--start-cluster", "--sizes", "2000"])
    assert args.cluster and args.start_cluster and args.master is None
    assert args.sizes == [2000] and args.workers == 2 and args.executor_memory is None
    assert Path(args.out) == BENCH / "results" / "deletion_cluster.json"


def test_without_a_cluster_nothing_changes(bench):
    args = bench.parse_args(["--sizes", "10000"])
    assert not args.cluster
    assert Path(args.out) == BENCH / "results" / "deletion.json"


def test_master_takes_the_endpoint_and_executor_python(bench):
    args = bench.parse_args(["--master", "spark://10.0.0.5:7077", "--s3-endpoint",
                             "http://10.0.0.5:5000", "--executor-python", "/opt/py/bin/python",
                             "--out", "x.json"])
    assert args.cluster and not args.start_cluster
    assert (args.master, args.s3_endpoint, args.out) == (
        "spark://10.0.0.5:7077", "http://10.0.0.5:5000", "x.json")


@pytest.mark.parametrize("argv, says", [
    (["--master", "spark://h:7077"], "--s3-endpoint"),
    (["--master", "local[2]", "--s3-endpoint", "http://h:5000"], "spark://HOST:PORT"),
    (["--master", "spark://h:7077", "--start-cluster"], "not allowed with"),
    (["--start-cluster", "--s3-endpoint", "http://h:5000"], "go with --master"),
    (["--executor-python", "/usr/bin/python3"], "go with --master"),
    (["--start-cluster", "--initial-dir", "/tmp/x"], "--initial-dir is for the local"),
    (["--start-cluster", "--merge"], "--merge is for the local"),
    (["--start-cluster", "--workers", "0"], "at least 1"),
])
def test_bad_combinations_say_what_to_do(bench, capsys, argv, says):
    with pytest.raises(SystemExit) as exit_:
        bench.parse_args(argv)
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err


def test_storage_keeps_local_paths_and_names_s3_keys(bench, tmp_path):
    local = bench.Storage()
    data = str(tmp_path / "data" / "mails.csv")
    assert local.location(tmp_path, "warehouse") == str(tmp_path / "warehouse")
    assert local.source(data) == data and local.publish(data) == data
    s3 = bench.Storage("s3a://bucket/2000-ab", "http://127.0.0.1:1")
    assert s3.location(tmp_path, "baseline") == "s3a://bucket/2000-ab/baseline"
    # the generated and the cleaned mails share a file name, not a key
    assert s3.source(data) == "s3a://bucket/2000-ab/data/mails.csv"
    assert s3.source(str(tmp_path / "cleaned" / "mails.csv")) == \
        "s3a://bucket/2000-ab/cleaned/mails.csv"


def test_ratios_divide_cluster_by_local(bench):
    ratios = bench.cluster_vs_local(entry(20.0, 3.0, 120.0), entry(10.0, 2.0, 100.0))
    assert ratios == {"deletion_seconds": 2.0, "erasure_seconds": 1.5,
                      "reexecution_seconds": 1.2, "speedup": 0.6}
    assert bench.cluster_vs_local(entry(20.0, 3.0, 120.0), None) == dict.fromkeys(
        bench.RATIOS)
    assert bench.cluster_vs_local(entry(20.0, 3.0, 120.0), entry(10.0, 0.0, 100.0))[
        "erasure_seconds"] is None


def test_json_holds_both_sides_ratios_and_the_setup(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "_commit", lambda: "abc1234")
    args = bench.parse_args(["--start-cluster", "--sizes", "2000", "100000",
                             "--worker-memory", "2g"])
    header = bench.comparison_header(args, "http://127.0.0.1:5000")
    out = tmp_path / "results" / "deletion_cluster.json"
    cluster = {2000: entry(20.0, 3.0, 120.0), 100000: entry(40.0, 5.0, 900.0)}
    local = {2000: entry(10.0, 2.0, 100.0)}
    returned = bench.write_comparison(str(out), header, args.sizes, cluster, local)
    written = json.loads(out.read_text())
    assert written == returned
    assert written["sizes"] == [2000, 100000]
    assert written["commit"] == "abc1234"
    assert written["machine"]["cpus"] >= 1 and written["machine"]["memory_gib"] > 0
    shape = written["cluster"]
    assert (shape["started_here"], shape["workers"], shape["cores_per_worker"],
            shape["worker_memory"]) == (True, 2, 1, "2g")
    assert shape["storage"]["s3_endpoint"] == "http://127.0.0.1:5000"
    assert "moto" in shape["storage"]["server"] and "not AWS" in shape["note"]
    assert written["local"]["master"] == "local[2]"
    small, large = written["results"]
    assert (small["mails"], small["cluster"], small["local"]) == (2000, cluster[2000],
                                                                  local[2000])
    assert small["cluster_vs_local"]["deletion_seconds"] == 2.0
    # measured on the cluster only so far: the local side and the ratios are pending
    assert large["local"] is None and set(large["cluster_vs_local"].values()) == {None}


def test_an_existing_cluster_is_recorded_as_given(bench):
    args = bench.parse_args(["--master", "spark://10.0.0.5:7077", "--s3-endpoint",
                             "http://10.0.0.5:5000"])
    shape = bench.comparison_header(args, args.s3_endpoint)["cluster"]
    assert shape["master"] == "spark://10.0.0.5:7077" and shape["started_here"] is False
    assert shape["workers"] is None and shape["executor_cores_taken"] == 2
    assert shape["storage"]["server"] == "given by --s3-endpoint"


class FakeCluster:
    """Stands in for tests/sparkcluster.py's Cluster: records the submission and answers as a
    driver would (``returncode`` 0 writes the entry to OUT)."""

    master_url, endpoint = "spark://127.0.0.1:7077", "http://127.0.0.1:5000"

    def __init__(self, returncode: int = 0):
        self.returncode, self.calls = returncode, []

    def submit(self, script, *args, timeout, conf, env):  # type: ignore[no-untyped-def]
        import subprocess

        self.calls.append({"script": script, "args": args, "timeout": timeout, "conf": conf,
                           "env": env})
        if self.returncode == 0:
            Path(args[1]).write_text(json.dumps(entry(20.0, 3.0, 120.0)))
        return subprocess.CompletedProcess([], self.returncode, "[bench] 2000: done\nboom", "")


def test_a_size_is_submitted_as_a_driver_with_its_job(bench, tmp_path):
    args = bench.parse_args(["--start-cluster", "--sizes", "2000", "--executor-memory", "900m",
                             "--driver-timeout", "60"])
    cluster = FakeCluster()
    got = bench.on_cluster(cluster, 2000, "s3a://lester-bench/2000-ab", tmp_path, args)
    assert got == entry(20.0, 3.0, 120.0)
    call, = cluster.calls
    assert call["script"] == bench.DRIVER and call["timeout"] == 60
    assert call["conf"] == {"spark.executor.memory": "900m"}
    assert call["env"] == {"SPARK_LESTER_SHUFFLE_PARTITIONS": "4"}
    job = json.loads(Path(call["args"][0]).read_text())
    assert job == {"mails": 2000, "prefix": "s3a://lester-bench/2000-ab",
                   "endpoint": cluster.endpoint, "work": str(tmp_path / "work-2000"),
                   "wait_for_quiet": None}


def test_a_failed_driver_raises_with_its_output(bench, tmp_path):
    args = bench.parse_args(["--start-cluster"])
    with pytest.raises(bench.ClusterBenchError, match="exited 1 without a result") as error:
        bench.on_cluster(FakeCluster(returncode=1), 2000, "s3a://b/k", tmp_path, args)
    assert "boom" in str(error.value)
