"""Astro SDK tasks in Airflow DAGs: ``aql.load_file`` and ``aql.export_to_file``.

The Astro SDK (``astro.sql as aql``) names data with ``File(path=...)`` and
``Table(name=..., conn_id=...)`` objects instead of operator arguments: a load reads its
``input_file`` and writes its ``output_table``; an export reads its ``input_data`` (a table or
the result of an earlier load) and writes its ``output_file``. A table behind an Airflow
connection is ``jdbc:<engine>:{connection <conn_id>}?dbtable=<name>``, the engine guessed from
the connection id (``postgres_conn`` -> ``postgresql``).

>>> import ast
>>> from spark_lester.analyze.resolve import Resolver
>>> t = ast.parse("t = aql.load_file(input_file=File(path='s3://b/homes.csv'), "
...               "output_table=Table(name='homes', conn_id='postgres_conn'))")
>>> [(l.role, l.uri) for l in astro_findings(t.body[0].value, Resolver(t)).locations]
[('input', 's3://b/homes.csv'), ('output', 'jdbc:postgresql:{connection postgres_conn}?dbtable=homes')]
"""

from __future__ import annotations

import ast

from spark_lester.analyze._private import Findings
from spark_lester.analyze.resolve import Resolver, call_name

#: Astro SDK functions that move data, by short name.
ASTRO_CALLS = frozenset({"load_file", "export_to_file", "export_file"})
_ENGINES = (("postgres", "postgresql"), ("redshift", "redshift"), ("mysql", "mysql"),
            ("snowflake", "snowflake"), ("mssql", "sqlserver"), ("bigquery", "bigquery"),
            ("sqlite", "sqlite"), ("duckdb", "duckdb"))


def is_astro_call(node: ast.Call) -> bool:
    name = call_name(node)
    return (name.split(".")[-1] in ASTRO_CALLS and (name.startswith(("aql.", "sql.", "astro.")) or "." not in name)
            and any(k.arg in ("input_file", "output_file", "output_table", "input_data") for k in node.keywords))


def astro_findings(node: ast.Call, r: Resolver) -> Findings:
    """What one ``aql.load_file``/``aql.export_to_file`` call reads and writes."""
    f = Findings()
    for kw in node.keywords:
        if kw.arg in ("input_file", "output_file", "output_table", "input_data", "input_table"):
            role = "input" if kw.arg.startswith("input") else "output"
            for uri in _objects(kw.value, r, 0):
                f.add(role, uri, node.lineno, f"aql {kw.arg}")
    return f


def _objects(node: ast.AST, r: Resolver, depth: int) -> list[str]:
    if depth > 5:
        return []
    if isinstance(node, ast.Name):  # the result of an earlier load: its output table
        target = r.lookup(node.id, node)
        if isinstance(target, ast.Call) and is_astro_call(target):
            out = next((k.value for k in target.keywords if k.arg == "output_table"), None)
            return _objects(out, r, depth + 1) if out is not None else []
        return _objects(target, r, depth + 1) if target is not None else []
    if not isinstance(node, ast.Call):
        return []
    short = call_name(node).split(".")[-1]
    kw = {k.arg: r.value(k.value) for k in node.keywords if k.arg}
    if short == "File":
        path = kw.get("path", r.value(node.args[0]) if node.args else None)
        return [path] if isinstance(path, str) else []
    if short == "Table":
        name = kw.get("name", r.value(node.args[0]) if node.args else None)
        conn = kw.get("conn_id")
        if not isinstance(name, str) or not isinstance(conn, str):
            return []  # an unnamed Table is a temporary table of the SDK
        engine = next((e for word, e in _ENGINES if word in conn.lower()), "jdbc")
        return [f"jdbc:{engine}:{{connection {conn}}}?dbtable={name}"]
    return []
