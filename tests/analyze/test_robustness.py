"""Binary files, syntax errors, huge files and symlink loops are reported, never fatal."""

from __future__ import annotations

import os

import pytest

from spark_lester.analyze import analyze
from spark_lester.analyze._private import MAX_FILE_BYTES
from spark_lester.errors import AnalyzeError


def test_bad_files_are_reported(tmp_path):
    (tmp_path / "ok.py").write_text("import pyspark\nspark.read.csv('s3://raw/x')\n")
    (tmp_path / "binary.py").write_bytes(b"\x00\x01\x02 not python \xff\xfe")
    (tmp_path / "blob.parquet").write_bytes(os.urandom(4096))
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    (tmp_path / "huge.py").write_text("x = 1\n" * (MAX_FILE_BYTES // 6 + 10))
    (tmp_path / "bad.yaml").write_text("a: [unclosed\n")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "deep.py").write_text("x = " + "(" * 300 + "1" + ")" * 300 + "\n")
    (tmp_path / "latin1.sql").write_bytes("SELECT 'caf\xe9' FROM t".encode("latin-1"))
    loop = tmp_path / "loop"
    loop.mkdir()
    (loop / "again").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    catalog = analyze(tmp_path, git=False)
    problems = {p["file"]: p["error"] for p in catalog["problems"]}
    assert "binary" in problems["binary.py"]
    assert "syntax error" in problems["broken.py"]
    assert "too large" in problems["huge.py"]
    assert "YAML" in problems["bad.yaml"] and "JSON" in problems["bad.json"]
    assert any("symlink loop" in e for e in problems.values())
    assert any("broken symlink" in e for e in problems.values())
    assert "blob.parquet" not in problems  # not source: counted as skipped
    assert catalog["stats"]["skipped"] >= 1
    assert [p["file"] for p in catalog["pipelines"] if p["file"] == "ok.py"] == ["ok.py"]


def test_missing_path_is_a_typed_error(tmp_path):
    with pytest.raises(AnalyzeError, match="does not exist"):
        analyze(tmp_path / "nope")


def test_single_file(tmp_path):
    f = tmp_path / "q.sql"
    f.write_text("INSERT INTO a.b SELECT * FROM a.c")
    catalog = analyze(f, git=False)
    assert [(loc["role"], loc["uri"]) for loc in catalog["pipelines"][0]["locations"]] == [
        ("input", "glue://a.c"), ("output", "glue://a.b")]


def test_a_subscript_with_an_unhashable_key_is_no_crash(tmp_path):
    """Found by mutating real repository files: ``CFG[[1, x]]`` looked the list up in the
    dict literal and raised TypeError (unhashable), which ended the whole analysis."""
    (tmp_path / "job.py").write_text(
        "import pyspark\n"
        "CFG = {'raw': 's3://raw/mails/'}\n"
        "x = 2\n"
        "df = spark.read.parquet(CFG[[1, x]])\n"
        "spark.read.parquet(CFG['raw']).write.parquet('s3://clean/mails/')\n")
    catalog = analyze(tmp_path, git=False)
    assert catalog["problems"] == []
    uris = {loc["uri"] for p in catalog["pipelines"] for loc in p["locations"]}
    assert {"s3://raw/mails", "s3://clean/mails"} <= uris, uris
