"""Fuzzing: mutated corpus files never crash an extractor, and ``analyze`` never raises.

Each example takes one file of the fixture corpus and mutates its syntax tree at random
(an expression replaced by an unresolvable one such as ``some_module.CRAWLER_CONFIG``, a
literal of another type, a statement dropped, two expressions swapped), or, for YAML and
JSON, replaces values of the parsed document by values of other types. The extractors may
report a file as unreadable (``AnalyzeError``) but must raise nothing else. Hypothesis runs
a fixed number of derandomized examples, so CI sees the same cases every time.
"""

from __future__ import annotations

import ast
import copy
import json
import random
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spark_lester.analyze import analyze
from spark_lester.analyze.catalog import analyze_file
from spark_lester.errors import AnalyzeError
from tests.analyze import realcode_score
from tests.analyze.conftest import CORPUS

FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".py", ".yml", ".yaml", ".json"))
PY_FILES = [p for p in FILES if p.suffix == ".py"]
DOC_FILES = [p for p in FILES if p.suffix != ".py"]


def _odd_expr(rng: random.Random) -> ast.expr:
    """An expression the analyzer cannot resolve or does not expect at that place."""
    choices = [
        lambda: ast.Attribute(ast.Name("some_module", ast.Load()), "CRAWLER_CONFIG", ast.Load()),
        lambda: ast.Name(rng.choice(["undefined", "BUCKET", "config", "args"]), ast.Load()),
        lambda: ast.Constant(rng.choice([None, 0, -1, 1.5, True, "", "s3://", "{x}", "s3://b/{{ ds }}/k", b"x"])),
        lambda: ast.List([ast.Constant(1), ast.Name("x", ast.Load())], ast.Load()),
        lambda: ast.Dict([ast.Constant("Targets"), None], [ast.Constant(3), ast.Name("extra", ast.Load())]),
        lambda: ast.Call(ast.Name("helper", ast.Load()), [ast.Constant("s3://a/b")], []),
        lambda: ast.Subscript(ast.Name("cfg", ast.Load()), ast.Constant("key"), ast.Load()),
        lambda: ast.BinOp(ast.Constant("s3://"), ast.Mod(), ast.Tuple([], ast.Load())),
        lambda: ast.JoinedStr([ast.FormattedValue(ast.Name("x", ast.Load()), -1, None)]),
        lambda: ast.Lambda(ast.arguments([], [], None, [], [], None, []), ast.Constant(1)),
        lambda: ast.Tuple([], ast.Load()),
    ]
    return rng.choice(choices)()


def _mutate_python(source: str, rng: random.Random, rounds: int) -> str:
    tree = ast.parse(source)
    for _ in range(rounds):
        exprs = [(parent, name, value) for parent in ast.walk(tree) for name, value in ast.iter_fields(parent)
                 if isinstance(value, ast.expr) and not isinstance(value, ast.Starred) and name != "format_spec"
                 and not isinstance(parent, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.comprehension,
                                             ast.withitem, ast.Delete, ast.NamedExpr)) or False]
        bodies = [n for n in ast.walk(tree) if isinstance(getattr(n, "body", None), list) and n.body
                  and isinstance(n.body[0], ast.stmt)]
        kind = rng.randrange(4)
        if kind <= 1 and exprs:
            parent, name, _ = rng.choice(exprs)
            setattr(parent, name, _odd_expr(rng))
        elif kind == 2 and bodies:
            body = rng.choice(bodies).body
            del body[rng.randrange(len(body))]
            if not body:
                body.append(ast.Pass())
        elif exprs and len(exprs) > 1:
            (p1, n1, v1), (p2, n2, v2) = rng.sample(exprs, 2)
            setattr(p1, n1, copy.deepcopy(v2))
            setattr(p2, n2, copy.deepcopy(v1))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.keywords]
        if calls and rng.random() < 0.5:  # an operator argument of an unexpected type
            kw = rng.choice(rng.choice(calls).keywords)
            kw.value = _odd_expr(rng)
    return ast.unparse(ast.fix_missing_locations(tree))


def _mutate_doc(doc: object, rng: random.Random) -> object:
    odd = [None, 1, "", "s3://x", [], {}, [1, "a"], {"Path": 3}, "{{ params.x }}"]
    if isinstance(doc, dict):
        out = {}
        for k, v in doc.items():
            out[k] = rng.choice(odd) if rng.random() < 0.25 else _mutate_doc(v, rng)
        return out
    if isinstance(doc, list):
        return [rng.choice(odd) if rng.random() < 0.25 else _mutate_doc(v, rng) for v in doc]
    return doc


def _check(path: Path, text: str) -> None:
    path.write_text(text)
    try:
        pipelines = analyze_file(path, path.name)
    except AnalyzeError:
        return  # reported as a problem, by design (e.g. a mutation that no longer parses)
    # A task the guard caught is an extractor error too: the fuzz test wants none.
    assert [x for p in pipelines for x in p.problems] == []


@settings(max_examples=600, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(index=st.integers(0, len(PY_FILES) - 1), seed=st.integers(0, 2**31), rounds=st.integers(1, 6))
def test_mutated_python_never_crashes_an_extractor(tmp_path, index, seed, rounds):
    src = PY_FILES[index]
    try:
        mutated = _mutate_python(src.read_text(), random.Random(seed), rounds)
    except SyntaxError:  # the corpus's deliberately broken file
        mutated = src.read_text()
    _check(tmp_path / src.name, mutated)


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(0, len(DOC_FILES) - 1), seed=st.integers(0, 2**31))
def test_mutated_yaml_and_json_never_crash_an_extractor(tmp_path, index, seed):
    src = DOC_FILES[index]
    rng = random.Random(seed)
    if src.suffix == ".json":
        doc = _mutate_doc(json.loads(src.read_text()), rng)
        _check(tmp_path / src.name, json.dumps(doc))
    else:
        doc = _mutate_doc(yaml.safe_load(src.read_text()), rng)
        _check(tmp_path / src.name, yaml.safe_dump(doc))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.sampled_from(list("s3:/{}()[]'\"\\\n =.,#ab_") + ["s3://", "def ", "DAG(", "spark.read"]),
                     max_size=120).map("".join))
def test_arbitrary_text_never_crashes(tmp_path, text):
    _check(tmp_path / "gen.py", text)


def test_crawler_config_from_another_module_is_no_crash(tmp_path):
    """The crash the issue reports: ``config=some_module.CRAWLER_CONFIG`` is not a dict."""
    (tmp_path / "dag.py").write_text(
        "from airflow import DAG\n"
        "from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator\n"
        "import some_module\n"
        "with DAG('crawl', schedule='@daily') as dag:\n"
        "    GlueCrawlerOperator(task_id='crawl', config=some_module.CRAWLER_CONFIG)\n"
        "    GlueCrawlerOperator(task_id='crawl2', config={'Targets': some_module.TARGETS})\n")
    catalog = analyze(tmp_path, git=False)
    assert [p["dag_id"] for p in catalog["pipelines"]] == ["crawl"]
    assert [t["task_id"] for t in catalog["pipelines"][0]["tasks"]] == ["crawl", "crawl2"]
    assert catalog["problems"] == []


def test_an_extractor_failure_is_a_problem_with_its_line_and_the_run_goes_on(tmp_path, monkeypatch):
    """A planted extractor bug: the file is reported (file, line, error) and read by the fallback."""
    from spark_lester.analyze import airflow as airflow_module

    def broken(op, kw, line=None):
        raise KeyError("planted")

    monkeypatch.setattr(airflow_module, "operator_findings", broken)
    (tmp_path / "dag.py").write_text(
        "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
        "with DAG('d') as dag:\n"
        "    BashOperator(task_id='t', bash_command='aws s3 cp s3://raw/a s3://tmp/a')\n")
    (tmp_path / "job.py").write_text("df = spark.read.parquet('s3://raw/b')\n")
    catalog = analyze(tmp_path, git=False)
    problem = next(p for p in catalog["problems"] if p["file"] == "dag.py")
    assert problem["line"] == 4 and "KeyError" in problem["error"]
    assert {p["file"] for p in catalog["pipelines"]} == {"dag.py", "job.py"}


def test_unparseable_file_falls_back_to_tokens_with_low_confidence(tmp_path):
    (tmp_path / "half.py").write_text(
        "with DAG('x') as dag\n"
        "    out_path = 's3a://lake/curated/orders/'\n"
        "    sql = 'INSERT INTO mart.daily SELECT * FROM raw.orders'\n")
    catalog = analyze(tmp_path, git=False)
    assert catalog["problems"][0]["line"] == 1
    locs = {(loc["role"], loc["uri"], loc.get("confidence")) for loc in catalog["pipelines"][0]["locations"]}
    assert locs == {("output", "s3://lake/curated/orders", "low"), ("output", "glue://mart.daily", "low"),
                    ("input", "glue://raw.orders", "low")}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_fixture_file_is_analyzed_without_an_internal_error(path):
    try:
        analyze_file(path, path.name)
    except AnalyzeError:
        pass


REAL_PY = sorted(realcode_score.FILES.rglob("*.py")) if realcode_score.FILES.is_dir() else []


@pytest.mark.skipif(not REAL_PY, reason="real-code corpus not fetched: run "
                    "`PYTHONPATH=. python bench/realcode_corpus.py fetch`")
@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pick=st.integers(0, 10**6), seed=st.integers(0, 2**31), rounds=st.integers(1, 6))
def test_mutated_real_code_never_crashes_an_extractor(tmp_path, pick, seed, rounds):
    """The same mutations on the public files of the real-code corpus (found: a dict looked
    up with a list, ``CFG[[1, x]]``; see test_robustness)."""
    src = REAL_PY[pick % len(REAL_PY)]
    try:
        mutated = _mutate_python(src.read_text(encoding="utf-8"), random.Random(seed), rounds)
    except SyntaxError:
        return
    _check(tmp_path / src.name, mutated)
