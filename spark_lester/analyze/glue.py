"""Storage locations and transforms of AWS Glue scripts (``GlueContext`` APIs).

Sources: ``create_dynamic_frame.from_catalog`` (a Glue table), ``from_options`` (S3 paths or
a JDBC ``url``/``dbtable``), ``getSource``. Sinks: ``write_dynamic_frame.from_options``,
``from_catalog``, ``from_jdbc_conf`` (with its ``redshift_tmp_dir`` as interim), and
``getSink(path=...)`` followed by ``setCatalogInfo(catalogDatabase, catalogTableName)``, which
links the table and its S3 path as one dataset. Built-in transforms become operations.

>>> import ast
>>> from spark_lester.analyze.resolve import Resolver
>>> src = "dyf = glueContext.create_dynamic_frame.from_catalog(database='raw', table_name='orders')"
>>> tree = ast.parse(src)
>>> [(l.role, l.uri) for l in glue(tree, Resolver(tree)).locations]
[('input', 'glue://raw.orders')]
"""

from __future__ import annotations

import ast
from typing import Any

from spark_lester.analyze._private import Findings
from spark_lester.analyze.locations import table_uri
from spark_lester.analyze.resolve import Resolver, call_name

_TRANSFORMS = {
    "ApplyMapping": "project", "SelectFields": "project", "DropFields": "drop",
    "RenameField": "rename", "Filter": "filter", "Join": "join", "ResolveChoice": "cast",
    "DropNullFields": "clean", "Map": "derive", "Relationalize": "flatten",
    "SplitFields": "split", "SplitRows": "split", "Union": "union", "Spigot": "sample",
    "DropDuplicates": "deduplicate",
}
_JDBC_TYPES = frozenset({"postgresql", "mysql", "redshift", "sqlserver", "oracle", "jdbc",
                         "custom.jdbc", "marketplace.jdbc"})


def _kwargs(node: ast.Call, r: Resolver, positional: tuple[str, ...] = ()) -> dict[str, object]:
    out: dict[str, object] = {k.arg: r.value(k.value) for k in node.keywords if k.arg}
    for name, arg in zip(positional, node.args, strict=False):
        out.setdefault(name, r.value(arg))
    return out


def _lower(opts: dict[Any, Any]) -> dict[str, Any]:
    """Option names as Glue reads them: ``dbTable`` and ``dbtable`` are one option."""
    return {str(k).lower(): v for k, v in opts.items()}


def _jdbc_uri(ctype: object, opts: dict[str, object], connection: object = None) -> str | None:
    opts = _lower(opts)
    url = opts.get("url")
    table = opts.get("dbtable")
    if not isinstance(url, str):
        name = connection or opts.get("connectionname") or opts.get("connection_name")
        if not isinstance(name, str):
            return None
        url = f"jdbc:{ctype or 'glue'}:{{connection {name}}}"
        if isinstance(opts.get("database"), str):
            url += f"/{opts['database']}"
    if isinstance(table, str):
        url += ("&" if "?" in url else "?") + f"dbtable={table}"
    return url


def glue(tree: ast.AST, r: Resolver) -> Findings:
    """All Glue sources, sinks and transforms in ``tree``."""
    f = Findings()
    sinks: dict[str, str] = {}  # variable of a getSink(...) -> its path uri
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = call_name(node)
        last = name.split(".")[-1]
        line = node.lineno
        parts = name.split(".")
        if len(parts) >= 2 and parts[-2] in _TRANSFORMS and last in ("apply", "__call__"):
            f.op(_TRANSFORMS[parts[-2]], ast.unparse(node)[:100], line)
            continue
        reading = "create_dynamic_frame" in name or "create_data_frame" in name or last.startswith(
            ("create_dynamic_frame_from", "create_data_frame_from"))
        writing = "write_dynamic_frame" in name or "write_data_frame" in name or last.startswith(
            ("write_dynamic_frame_from", "write_from"))
        if reading or writing:
            role = "input" if reading else "output"
            kind = "catalog" if "catalog" in last else "jdbc" if "jdbc" in last else "options"
            pos = ("frame",) if writing else ()
            if kind == "catalog":
                kw = _kwargs(node, r, pos + ("database", "table_name"))
                db, table = kw.get("database") or kw.get("name_space"), kw.get("table_name")
                if isinstance(table, str):
                    uri = f.add(role, table_uri("glue", table, database=db if isinstance(db, str) else None),
                                line, last)
                    f.op("read" if reading else "write", f"table {uri}", line)
                tmp = kw.get("redshift_tmp_dir")
                if isinstance(tmp, str) and tmp:
                    f.add("interim", tmp, line, "redshift_tmp_dir")
            elif kind == "jdbc":
                kw = _kwargs(node, r, pos + ("catalog_connection", "connection_options"))
                given = kw.get("connection_options")
                opts = _lower(given) if isinstance(given, dict) else {}
                conn = kw.get("catalog_connection")
                dbtable = opts.get("dbtable")
                if isinstance(conn, str) and "redshift" in conn.lower() and isinstance(dbtable, str):
                    db = opts.get("database") if isinstance(opts.get("database"), str) else "{database}"
                    table = dbtable if "." in dbtable else f"public.{dbtable}"
                    uri = table_uri("redshift", f"{db}.{table}")
                else:
                    uri = _jdbc_uri("glue", opts, conn)  # type: ignore[arg-type]
                if uri:
                    f.add(role, uri, line, last)
                    f.op("write" if writing else "read", uri, line)
                tmp = kw.get("redshift_tmp_dir")
                if isinstance(tmp, str) and tmp:
                    f.add("interim", tmp, line, "redshift_tmp_dir")
            else:
                kw = _kwargs(node, r, pos + ("connection_type", "connection_options", "format"))
                _options_io(f, role, kw, line, last)
            continue
        if last == "getSource":
            kw = _kwargs(node, r, ("connection_type",))
            _options_io(f, "input", {"connection_type": kw.get("connection_type"),
                                     "connection_options": kw}, line, last)
        elif last == "getSink":
            kw = _kwargs(node, r, ("connection_type",))
            path = kw.get("path")
            if isinstance(path, str):
                uri = f.add("output", path, line, "getSink")
                target = _assigned_name(node, r)
                if uri and target:
                    sinks[target] = uri
                f.op("write", f"{kw.get('format') or ''} {uri}".strip(), line)
        elif last == "setCatalogInfo":
            kw = _kwargs(node, r, ("catalogDatabase", "catalogTableName"))
            db, table = kw.get("catalogDatabase"), kw.get("catalogTableName")
            if isinstance(table, str):
                uri = f.add("output", table_uri("glue", table, database=db if isinstance(db, str) else None),
                            line, "setCatalogInfo")
                owner = node.func.value.id if isinstance(node.func, ast.Attribute) and isinstance(
                    node.func.value, ast.Name) else None
                if uri and owner in sinks:
                    f.aliases.append((uri, sinks[owner]))
        elif last == "purge_s3_path" and node.args:
            f.add("output", r.value(node.args[0]), line, "purge_s3_path")
            f.op("purge", r.text(node.args[0]), line)
        elif last == "purge_table":
            kw = _kwargs(node, r, ("database", "table_name"))
            if isinstance(kw.get("table_name"), str):
                f.add("output", table_uri("glue", kw["table_name"], database=kw.get("database")),  # type: ignore[arg-type]
                      line, "purge_table")
    f.operations.sort(key=lambda o: o["line"] or 0)
    return f


def _assigned_name(node: ast.Call, r: Resolver) -> str | None:
    parent = r.parent(node)
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
        return parent.targets[0].id
    return None


def _options_io(f: Findings, role: str, kw: dict[str, object], line: int, via: str) -> None:
    ctype = kw.get("connection_type")
    opts = kw.get("connection_options")
    if not isinstance(opts, dict):
        return
    opts = _lower(opts)
    tmp = opts.get("redshifttmpdir") or opts.get("tempdir")
    if isinstance(tmp, str) and tmp:
        f.add("interim", tmp, line, "redshiftTmpDir")
    if isinstance(ctype, str) and ctype.lower() == "redshift" and isinstance(opts.get("dbtable"), str):
        db = opts.get("database") if isinstance(opts.get("database"), str) else "{database}"
        rs_table = str(opts["dbtable"])
        uri = f.add(role, table_uri("redshift", f"{db}.{rs_table if '.' in rs_table else 'public.' + rs_table}"),
                    line, via)
        f.op("read" if role == "input" else "write", str(uri), line)
        return
    if ctype in ("s3", None) or (isinstance(ctype, str) and ctype.startswith("s3")):
        paths = opts.get("paths") if role == "input" else opts.get("path")
        if paths is None:
            paths = opts.get("path") or opts.get("paths")
        f.add(role, paths, line, via)
        f.op("read" if role == "input" else "write",
             f"{kw.get('format') or ''} {paths if isinstance(paths, str) else ' '.join(map(str, paths or []))}".strip(),
             line)
    elif isinstance(ctype, str) and ctype.lower() in _JDBC_TYPES:
        uri = _jdbc_uri(ctype, opts, opts.get("connectionname"))
        if uri:
            f.add(role, uri, line, via)
            f.op("read" if role == "input" else "write", uri, line)
    elif ctype == "dynamodb":
        table = opts.get("dynamodb.input.tablename") or opts.get("dynamodb.output.tablename")
        if isinstance(table, str):
            f.add(role, f"dynamodb://{table}", line, via)
