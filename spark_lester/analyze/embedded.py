r"""Glue and PySpark scripts embedded in Python strings, analyzed like script files.

DAGs sometimes carry the job they launch as a string: ``SCRIPT = '''...glueContext...'''``
uploaded with ``S3Hook.load_string(SCRIPT.format(bucket=BUCKET), ...)``. A string of several
lines that uses Spark or Glue and parses as Python is analyzed with the Glue and PySpark rules;
where it is filled in with ``.format(...)``, the formatted text is analyzed (so ``{bucket}``
becomes the bucket), and the template itself is not analyzed twice.

>>> import ast
>>> from spark_lester.analyze.resolve import Resolver
>>> src = "S = 'df = spark.read.parquet(\"s3://{b}/raw\")\\ndf.write.parquet(\"s3://{b}/out\")'\nx = S.format(b='lake')"
>>> t = ast.parse(src)
>>> [(l.role, l.uri) for l in embedded_scripts(t, Resolver(t))[0][1].locations]
[('input', 's3://lake/raw'), ('output', 's3://lake/out')]
"""

from __future__ import annotations

import ast

from spark_lester.analyze._private import Findings
from spark_lester.analyze.glue import glue
from spark_lester.analyze.pyspark import pyspark
from spark_lester.analyze.resolve import Placeholder, Resolver

#: Words that make a string a Spark or Glue program rather than prose or SQL.
MARKERS = ("create_dynamic_frame", "write_dynamic_frame", "spark.read", ".write.", "GlueContext(",
           "SparkSession", "spark.sql(", "getSink(")


def _is_script(text: object) -> bool:
    return isinstance(text, str) and "\n" in text and any(m in text for m in MARKERS)


def embedded_scripts(tree: ast.AST, r: Resolver) -> list[tuple[ast.AST, Findings]]:
    """(node, findings) for every embedded script in ``tree``; node is where it is used."""
    out: list[tuple[ast.AST, Findings]] = []
    templates: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            template: ast.AST = node.func.value
            if isinstance(template, ast.Name):
                target = r.lookup(template.id, template)
                template = target if target is not None else template
            if isinstance(template, ast.Constant) and _is_script(template.value):
                templates.add(id(template))
                text = r.value(node)
                if _is_script(text) and not isinstance(text, Placeholder):
                    out += _analyze(node, str(text))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in templates and _is_script(node.value) \
                and not isinstance(r.parent(node), ast.Expr):  # docstrings are prose
            out += _analyze(node, str(node.value))
    return out


def _analyze(node: ast.AST, text: str) -> list[tuple[ast.AST, Findings]]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return []
    r = Resolver(tree)
    f = Findings()
    f.extend(glue(tree, r))
    f.extend(pyspark(tree, r))
    line = getattr(node, "lineno", None)
    f.locations = [type(loc)(loc.role, loc.uri, loc.raw, line, f"embedded script: {loc.via or ''}".rstrip(": "),
                             loc.confidence) for loc in f.locations]
    for o in f.operations:
        o["line"] = line
    return [(node, f)] if f.locations or f.operations else []
