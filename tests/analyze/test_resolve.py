from __future__ import annotations

import ast

from spark_lester.analyze.resolve import Resolver


def _last(src: str):
    tree = ast.parse(src)
    return Resolver(tree).value(tree.body[-1].value)


def test_constants_fstrings_concat_format_percent_join():
    assert _last('B = "lake"\nx = f"s3://{B}/raw"') == "s3://lake/raw"
    assert _last('B = "lake"\nx = "s3://" + B + "/raw/" + day') == "s3://lake/raw/{day}"
    assert _last('x = "s3://{b}/{}/{k}".format("p", b="lake")') == "s3://lake/p/{k}"
    assert _last('x = "s3://%s/%s" % ("lake", part)') == "s3://lake/{part}"
    assert _last('import os\nB = "s3://lake/"\nx = os.path.join(B, "raw", "x")') == "s3://lake/raw/x"
    assert _last('parts = ["s3:/", "lake", "raw"]\nx = "/".join(parts)') == "s3://lake/raw"


def test_dicts_subscripts_and_placeholders():
    assert _last('C = {"bucket": "lake"}\nx = f"s3://{C[\'bucket\']}/y"') == "s3://lake/y"
    assert _last('x = f"s3://{args[\'input\']}/y"') == "s3://{input}/y"
    assert _last('x = f"s3://b/{args.date}"') == "s3://b/{args.date}"
    assert _last('x = "s3://b/{{ ds }}/" + "y"') == "s3://b/{{ ds }}/y"
    assert _last('x = {**{"a": 1}, "b": 2}') == {"a": 1, "b": 2}


def test_scoping_latest_assignment_before_use():
    src = 'P = "s3://a"\ndef f():\n    P = "s3://b"\n    return P\ndef g():\n    return P\n'
    tree = ast.parse(src)
    r = Resolver(tree)
    f_ret = tree.body[1].body[1].value
    g_ret = tree.body[2].body[0].value
    assert r.value(f_ret) == "s3://b" and r.value(g_ret) == "s3://a"


def test_defaults_and_env():
    assert _last('import sys\nx = sys.argv[1] if len(sys.argv) > 1 else "s3://d/x"') == "s3://d/x"
    assert _last('import os\nx = os.environ.get("B", "lake")') == "lake"
    assert _last('from airflow.models import Variable\nx = Variable.get("bucket")') == "{bucket}"


def test_self_reference_does_not_loop():
    assert _last('x = "a"\nx = x + "/b"') == "a/b"
