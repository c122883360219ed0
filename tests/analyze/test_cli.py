"""The ``spark-lester analyze`` subcommand: PATH mode, impact mode, formats, exit codes."""

from __future__ import annotations

import argparse
import json

import pytest

from spark_lester.cli import analyze as analyze_cli
from tests.analyze.conftest import CORPUS


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="spark-lester")
    analyze_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["analyze", *argv])
    return args.func(args)


def test_registered_in_commands():
    from spark_lester.cli import COMMANDS

    assert "analyze" in COMMANDS


@pytest.mark.parametrize("fmt", ["json", "md", "html", "openlineage"])
def test_formats(tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    assert _run([str(CORPUS), "--format", fmt, "--out", str(out), "--no-git", "--no-progress"]) == 0
    text = out.read_text()
    if fmt == "json":
        assert len(json.loads(text)["pipelines"]) >= 20
    elif fmt == "md":
        assert "```mermaid" in text and "graph LR" in text
    elif fmt == "html":
        assert '<pre class="mermaid">' in text
    else:
        events = [json.loads(line) for line in text.splitlines()]
        assert all("eventTime" in e for e in events)


def test_impact_json(tmp_path, capsys):
    code = _run(["impact", "s3://acme-raw-zone/orders", "--repo", str(CORPUS), "--json", "--no-git"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pipelines"] and "data-platform" in data["contacts"]


def test_impact_nothing_found_exits_1(capsys):
    assert _run(["impact", "s3://nobody/x", "--repo", str(CORPUS), "--no-git"]) == 1
    assert "0 pipeline(s)" in capsys.readouterr().out


def test_impact_from_saved_catalog(tmp_path, capsys):
    cat = tmp_path / "c.json"
    _run([str(CORPUS), "--out", str(cat), "--no-git", "--no-progress"])
    assert _run(["impact", "glue://curated.orders", "--catalog", str(cat)]) == 0
    assert "sql/daily_revenue.sql" in capsys.readouterr().out


def test_bad_arguments_are_typed_errors():
    from spark_lester.errors import AnalyzeError

    with pytest.raises(AnalyzeError):
        _run(["a", "b", "c"])
