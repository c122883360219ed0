"""Storage locations and transformations of PySpark code, found in its syntax tree.

Readers (``spark.read.csv(p)``, ``.format(f).option("path", p).load()``, ``.load(p)``,
``spark.read.table(t)``, ``spark.table(t)``, ``.jdbc(url, table)``, ``readStream``,
``sc.textFile``), writers (``df.write...parquet(p)``, ``.save(p)``, ``.saveAsTable(t)``,
``.insertInto(t)``, ``writeStream...start(p)``/``toTable(t)``, ``saveAsTextFile``) and SQL
strings passed to ``spark.sql`` are recognised wherever they appear in a chain. Plain-Python
I/O that pipelines mix in (pandas ``read_*``/``to_*``, boto3 S3 calls) is recognised too.

>>> import ast
>>> from spark_lester.analyze.resolve import Resolver
>>> tree = ast.parse("df = spark.read.parquet('s3a://raw/x/')\\ndf.filter('a > 1').write.mode('overwrite').saveAsTable('db.t')")
>>> f = pyspark(tree, Resolver(tree))
>>> [(l.role, l.uri) for l in f.locations], [o["op"] for o in f.operations]
([('input', 's3://raw/x'), ('output', 'glue://db.t')], ['read', 'filter', 'write'])
"""

from __future__ import annotations

import ast
import itertools
import re

from spark_lester.analyze._private import Findings
from spark_lester.analyze.locations import looks_like_location, table_uri
from spark_lester.analyze.resolve import Placeholder, Resolver, call_name, chain
from spark_lester.analyze.sql import sql_tables

_READ_METHODS = frozenset({"csv", "json", "parquet", "orc", "text", "load", "avro", "table",
                           "jdbc", "delta", "textFile", "xml"})
_WRITE_METHODS = frozenset({"csv", "json", "parquet", "orc", "text", "save", "avro", "jdbc",
                            "saveAsTable", "insertInto", "start", "toTable", "delta", "xml"})
_TABLE_METHODS = frozenset({"table", "saveAsTable", "insertInto", "toTable"})
_OPS = {
    "filter": "filter", "where": "filter", "join": "join", "crossJoin": "join",
    "groupBy": "aggregate", "groupby": "aggregate", "agg": "aggregate", "rollup": "aggregate",
    "cube": "aggregate", "pivot": "aggregate", "withColumn": "derive", "withColumns": "derive",
    "select": "project", "selectExpr": "project", "drop": "drop", "distinct": "deduplicate",
    "dropDuplicates": "deduplicate", "union": "union", "unionByName": "union",
    "orderBy": "sort", "sort": "sort", "withColumnRenamed": "rename", "fillna": "clean",
    "dropna": "clean", "explode": "explode", "repartition": "repartition",
    "sample": "sample", "limit": "limit",
}
_TEMP_VIEW_CALLS = frozenset({"createOrReplaceTempView", "createTempView", "registerTempTable",
                              "createGlobalTempView", "createOrReplaceGlobalTempView", "registerDataFrameAsTable"})
_UDF_CALLS = frozenset({"udf", "F.udf", "functions.udf", "pandas_udf", "F.pandas_udf",
                        "spark.udf.register"})
_PANDAS_READ = frozenset({"read_csv", "read_parquet", "read_json", "read_excel", "read_orc",
                          "read_feather", "read_table"})
_PANDAS_WRITE = frozenset({"to_csv", "to_parquet", "to_json", "to_excel", "to_orc"})
_BOTO_IN = {"get_object": ("Bucket", "Key"), "download_file": ("Bucket", "Key"),
            "head_object": ("Bucket", "Key"), "list_objects_v2": ("Bucket", "Prefix"),
            "list_objects": ("Bucket", "Prefix")}
_BOTO_OUT = {"put_object": ("Bucket", "Key"), "upload_file": ("Bucket", "Key"),
             "delete_object": ("Bucket", "Key"), "copy_object": ("Bucket", "Key")}


def _chain_attrs(node: ast.AST) -> list[str]:
    return [n.attr for n in chain(node) if isinstance(n, ast.Attribute)]


def _chain_calls(node: ast.Call) -> list[ast.Call]:
    return [n for n in chain(node) if isinstance(n, ast.Call)]


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def _options(calls: list[ast.Call], r: Resolver) -> dict[str, object]:
    opts: dict[str, object] = {}
    for c in calls:
        if isinstance(c.func, ast.Attribute) and c.func.attr == "option" and len(c.args) == 2:
            key = r.value(c.args[0])
            if isinstance(key, str):
                opts[key.lower()] = r.value(c.args[1])
        elif isinstance(c.func, ast.Attribute) and c.func.attr == "options":
            for k in c.keywords:
                if k.arg:
                    opts[k.arg.lower()] = r.value(k.value)
            for a in c.args:
                v = r.value(a)
                if isinstance(v, dict):
                    opts.update({str(k).lower(): x for k, x in v.items()})
    return opts


def _jdbc(url: object, table: object) -> str | None:
    if not isinstance(url, str):
        return None
    if isinstance(table, str) and table:
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}dbtable={table}"
    return url


def pyspark(tree: ast.AST, r: Resolver) -> Findings:
    """All Spark, pandas and boto3 data I/O and DataFrame operations in ``tree``."""
    f = Findings()
    temps = temp_views(tree, r)
    for node in ast.walk(tree):
        n_ops = len(f.operations)
        _visit(f, node, r, temps)
        for o in f.operations[n_ops:]:
            o["_end"] = (getattr(node, "end_lineno", 0), getattr(node, "end_col_offset", 0))
    # Calls of one chain share a line; inner calls end first and so happened first.
    f.operations.sort(key=lambda o: (o["line"] or 0, o.pop("_end", (0, 0))))
    _inline_helpers(f, tree, r, temps)
    return f


#: Call sites of one helper that are inlined; past this the helper keeps its placeholders.
MAX_CALL_SITES = 10


def _inline_helpers(f: Findings, tree: ast.AST, r: Resolver, temps: frozenset[str]) -> None:
    """One level of inlining: a helper's reads and writes once per call site with its arguments.

    ``def load(path): spark.read.parquet(path)`` called as ``load("s3://raw/a")`` and
    ``load("s3://raw/b")`` reads both paths; without call sites (or past
    :data:`MAX_CALL_SITES`) the helper keeps its ``{path}`` placeholder.
    """
    helpers = {n.name: n for n in ast.walk(r.tree) if isinstance(n, ast.FunctionDef)
               and (n.args.args or n.args.posonlyargs or n.args.kwonlyargs)}
    if not helpers:
        return
    sites: dict[str, list[ast.Call]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers:
            func = helpers[node.func.id]
            if r.function_of(node) is not func and id(func) not in r.bindings:
                sites.setdefault(func.name, []).append(node)
    for name, calls in sites.items():
        func = helpers[name]
        if len(calls) > MAX_CALL_SITES:
            continue
        bound = Findings()
        for call in calls:
            # an argument as unknown as the parameter itself adds nothing: keep {param}
            r.bind(func, {k: v for k, v in _arguments(func, call).items()
                          if not isinstance(r.value(v), Placeholder)})
            try:
                for node in ast.walk(func):
                    _visit(bound, node, r, temps)
            finally:
                r.unbind(func)
        if not bound.locations:
            continue
        first, last = func.lineno, getattr(func, "end_lineno", func.lineno)
        f.locations = [loc for loc in f.locations if not (loc.line and first <= loc.line <= last)]
        known = {(loc.role, loc.uri) for loc in f.locations}
        for loc in bound.locations:
            if (loc.role, loc.uri) not in known:
                known.add((loc.role, loc.uri))
                f.locations.append(loc)


def _arguments(func: ast.FunctionDef, call: ast.Call) -> dict[str, ast.AST]:
    params = [a.arg for a in func.args.posonlyargs + func.args.args]
    out: dict[str, ast.AST] = dict(zip(params, [a for a in call.args if not isinstance(a, ast.Starred)],
                                       strict=False))
    out.update({k.arg: k.value for k in call.keywords if k.arg})
    return out


def temp_views(tree: ast.AST, r: Resolver) -> frozenset[str]:
    """Names registered as session views (``df.createOrReplaceTempView("v")``): no catalog tables.

    >>> from spark_lester.analyze.resolve import Resolver
    >>> t = ast.parse("df.createOrReplaceTempView('people')\\nspark.sql('CREATE TEMP VIEW v AS SELECT 1')")
    >>> sorted(temp_views(t, Resolver(t)))
    ['people', 'v']
    """
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute) or not node.args:
            continue
        if node.func.attr in _TEMP_VIEW_CALLS:
            name = r.value(node.args[0])
            if isinstance(name, str):
                names.add(name.lower())
        elif node.func.attr == "sql":
            text = r.value(node.args[0])
            if isinstance(text, str) and re.search(r"\bTEMP(ORARY)?\s+VIEW\b", text, re.I):
                names.update(v.lower() for v in sql_tables(text, "spark").temp_views)
    return frozenset(names)


#: Words of a configuration key naming the component that writes, or reads, the path it holds.
_CONFIG_WRITERS = frozenset({"loader", "writer", "sink", "output", "dest", "destination", "target", "exporter"})
_CONFIG_READERS = frozenset({"extractor", "reader", "publisher", "source", "input"})
#: Words of a configuration key saying that its value is a path.
_CONFIG_PATH_WORDS = frozenset({"path", "dir", "directory", "folder", "file", "location", "uri", "prefix"})
#: Words of a configuration key whose path is a secret, not data (``key_path``, ``credentials_file``).
_CONFIG_SECRET_WORDS = frozenset({"credential", "credentials", "cred", "creds", "cert", "keyfile", "keytab",
                                  "secret", "token", "password", "ssl"})
_LOCAL_PATH = re.compile(r"^/[^\s/{}]+(/[^\s]*)?$")
_STAGING_DIR = re.compile(r"[?&;]s3_staging_dir=(s3a?://[^&;\s]+)", re.IGNORECASE)


def _key_words(key: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()) if w]


def _config_dict(f: Findings, node: ast.Dict, r: Resolver) -> None:
    """Paths handed from one component of a job to another through one configuration mapping.

    ETL frameworks configure a job with a flat mapping of dotted keys, the component first:
    ``{"loader.csv.node_dir_path": "/tmp/x/nodes", "publisher.neo4j.node_files_dir":
    "/tmp/x/nodes"}``: the loader writes the folder and the publisher reads it back, so it
    is interim. A key counts when it names a path (``path``, ``dir``, ``file``...) and a
    component whose direction is known (loader/writer/sink... write; extractor/reader/
    publisher/source... read) and no secret (``key_path``, ``credentials_file``); its value
    must be a storage URI or an absolute local path.
    Athena's ``s3_staging_dir=`` in a connection string is where query results are written
    and read back.

    >>> r = Resolver(ast.parse("d = '/var/tmp/x/nodes/'" + chr(10) + "c = {f'loader.fs.{L.NODE_DIR_PATH}': d, "
    ...     "f'publisher.db.{P.NODE_FILES_DIR}': d, 'extractor.conn': 'athena://h:443/?s3_staging_dir=s3://res/'}"))
    >>> f = Findings()
    >>> _config_dict(f, r.tree.body[1].value, r)
    >>> sorted((loc.role, loc.uri) for loc in f.locations)
    [('input', '/var/tmp/x/nodes'), ('interim', 's3://res'), ('output', '/var/tmp/x/nodes')]
    """
    for k, v in zip(node.keys, node.values, strict=False):
        if k is None:
            continue
        value = r.value(v)
        if not isinstance(value, str) or isinstance(value, Placeholder):
            continue
        staged = _STAGING_DIR.search(value)
        if staged:
            f.add("interim", staged.group(1), v.lineno, "s3_staging_dir")
            continue
        words = _key_words(r.text(k))
        if not _CONFIG_PATH_WORDS.intersection(words) or _CONFIG_SECRET_WORDS.intersection(words) or any(
                a == "key" and b in _CONFIG_PATH_WORDS for a, b in itertools.pairwise(words)):
            continue
        role = next(("output" if w in _CONFIG_WRITERS else "input" for w in words
                     if w in _CONFIG_WRITERS or w in _CONFIG_READERS), None)
        if role is None or not (looks_like_location(value) or _LOCAL_PATH.match(value)):
            continue
        f.add(role, value, v.lineno, "config " + ".".join(words[:2]))
        f.op("write" if role == "output" else "read", value, v.lineno)


def _visit(f: Findings, node: ast.AST, r: Resolver, temps: frozenset[str] = frozenset()) -> None:
    if isinstance(node, ast.Dict):
        _config_dict(f, node, r)
        return
    if isinstance(node, ast.FunctionDef):
        for dec in node.decorator_list:
            name = call_name(dec) if isinstance(dec, ast.Call) else call_name(dec)
            if name.split(".")[-1] in ("udf", "pandas_udf"):
                f.op("udf", node.name, node.lineno)
        return
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        if isinstance(node, ast.Call) and call_name(node) in _UDF_CALLS:
            f.op("udf", ast.unparse(node.args[0])[:60] if node.args else "", node.lineno)
        return
    method = node.func.attr
    attrs = _chain_attrs(node.func.value)
    name = call_name(node)
    line = node.lineno
    if name in _UDF_CALLS or method == "register" and "udf" in attrs:
        f.op("udf", ast.unparse(node.args[0])[:60] if node.args else "", line)
        return
    if method == "sql" and node.args and not attrs[:1] == ["F"]:
        _sql(f, r.text(node.args[0]), line, temps=temps)
        return
    # The nearest of read/write in the chain decides: spark.read.csv(a).write.parquet(b) writes b.
    near = next((a for a in attrs if a in ("read", "readStream", "write", "writeStream", "writeTo")), "")
    is_reader = near in ("read", "readStream")
    is_writer = near in ("write", "writeStream", "writeTo")
    if method in _READ_METHODS and is_reader:
        _reader(f, node, r, method)
    elif method in _WRITE_METHODS and is_writer:
        _writer(f, node, r, method)
    elif method == "table" and (name.split(".")[0] in ("spark", "sqlContext", "hiveContext", "ss", "session")
                                or "spark_session" in name or "sparkSession" in name):
        _table(f, "input", node.args[0] if node.args else None, r, line, "spark.table")
    elif method in ("textFile", "wholeTextFiles", "binaryFiles") and node.args:
        f.add("input", r.value(node.args[0]), line, name)
        f.op("read", method, line)
    elif method in ("saveAsTextFile", "saveAsPickleFile") and node.args:
        f.add("output", r.value(node.args[0]), line, name)
        f.op("write", method, line)
    elif method in ("forPath", "forName") and "DeltaTable" in name and len(node.args) > 1:
        if method == "forPath":
            f.add("input", r.value(node.args[1]), line, name)
        else:
            _table(f, "input", node.args[1], r, line, name)
    elif method == "merge" and attrs and "DeltaTable" not in name:
        f.op("merge", "", line)
    elif method in _PANDAS_READ and node.args:
        v = r.value(node.args[0])
        if isinstance(v, str) and looks_like_location(v):
            f.add("input", v, line, name)
            f.op("read", v, line)
    elif method in _PANDAS_WRITE and node.args:
        v = r.value(node.args[0])
        if isinstance(v, str) and looks_like_location(v):
            f.add("output", v, line, name)
            f.op("write", v, line)
    elif method in _BOTO_IN or method in _BOTO_OUT:
        _boto(f, node, r, method)
    elif method in _OPS and not is_reader and not is_writer:
        detail = ", ".join(ast.unparse(a) for a in node.args)[:100]
        if method == "join" and len(node.args) > 1:
            detail = ast.unparse(node.args[1])[:80]
            how = _kw(node, "how") or (node.args[2] if len(node.args) > 2 else None)
            if how is not None:
                detail += f" ({r.text(how)})"
        f.op(_OPS[method], detail, line)


def _path_args(node: ast.Call, r: Resolver) -> list[object]:
    vals: list[object] = []
    for a in node.args:
        v = r.value(a.value if isinstance(a, ast.Starred) else a)
        vals.extend(v if isinstance(v, list) else [v])
    p = _kw(node, "path")
    if p is not None:
        vals.append(r.value(p))
    return [v for v in vals if isinstance(v, str)]


def _fmt(calls: list[ast.Call], r: Resolver, default: str) -> str:
    for c in calls:
        if isinstance(c.func, ast.Attribute) and c.func.attr == "format" and c.args:
            v = r.value(c.args[0])
            if isinstance(v, str):
                return v
    return default


def _reader(f: Findings, node: ast.Call, r: Resolver, method: str) -> None:
    calls = _chain_calls(node)
    opts = _options(calls, r)
    line = node.lineno
    fmt = _fmt(calls, r, method)
    if method == "table":
        _table(f, "input", node.args[0] if node.args else None, r, line, "read.table")
        return
    if method == "jdbc" or fmt == "jdbc":
        url = r.value(node.args[0]) if method == "jdbc" and node.args else opts.get("url")
        table = (r.value(node.args[1]) if method == "jdbc" and len(node.args) > 1
                 else opts.get("dbtable") or opts.get("query"))
        uri = _jdbc(url, table if isinstance(table, str) and " " not in table.strip() else None)
        if uri:
            f.add("input", uri, line, "read.jdbc")
        if isinstance(table, str) and " " in table.strip():
            _sql(f, table, line, reads_only=True)
        f.op("read", f"jdbc {table}", line)
        return
    paths = _path_args(node, r) if method in _READ_METHODS else []
    if not paths and isinstance(opts.get("path"), str):
        paths = [opts["path"]]  # type: ignore[list-item]
    for p in paths:
        f.add("input", p, line, f"read.{method}")
    f.op("read", f"{fmt} {' '.join(str(p) for p in paths)}".strip(), line)


def _writer(f: Findings, node: ast.Call, r: Resolver, method: str) -> None:
    calls = _chain_calls(node)
    opts = _options(calls, r)
    line = node.lineno
    fmt = _fmt(calls, r, method)
    if isinstance(opts.get("checkpointlocation"), str):
        f.add("interim", opts["checkpointlocation"], line, "checkpointLocation")
    path = opts.get("path")
    if method in _TABLE_METHODS:
        uri = _table(f, "output", node.args[0] if node.args else _kw(node, "name"), r, line, method)
        if uri and isinstance(path, str):
            storage = f.add("output", path, line, "option(path)")
            if storage:
                f.aliases.append((uri, storage))
        f.op("write", f"table {uri}", line)
        return
    if method == "jdbc" or fmt == "jdbc":
        url = r.value(node.args[0]) if method == "jdbc" and node.args else opts.get("url")
        table = (r.value(node.args[1]) if method == "jdbc" and len(node.args) > 1
                 else opts.get("dbtable"))
        uri = _jdbc(url, table)
        if uri:
            f.add("output", uri, line, "write.jdbc")
        f.op("write", f"jdbc {table}", line)
        return
    paths = _path_args(node, r)
    if not paths and isinstance(path, str):
        paths = [path]
    for p in paths:
        f.add("output", p, line, f"write.{method}")
    f.op("write", f"{fmt} {' '.join(str(p) for p in paths)}".strip(), line)


def _table(f: Findings, role: str, arg: ast.AST | None, r: Resolver, line: int, via: str) -> str | None:
    name = r.value(arg) if arg is not None else None
    if not isinstance(name, str) or not name:
        return None
    uri = table_uri("glue", name)
    f.add(role, uri, line, via)
    if role == "input":
        f.op("read", f"table {uri}", line)
    return uri


def _sql(f: Findings, text: str, line: int, *, reads_only: bool = False,
         temps: frozenset[str] = frozenset()) -> None:
    t = sql_tables(text, "spark")
    t.reads = [n for n in t.reads if n.lower() not in temps and n.lower().removeprefix("global_temp.") not in temps]
    t.writes = [n for n in t.writes if n.lower() not in temps]
    for name in t.reads:
        f.add("input", table_uri("glue", name), line, "sql")
    if not reads_only:
        for name in t.writes:
            f.add("output", table_uri("glue", name), line, "sql")
        for name, loc in t.locations.items():
            storage = f.add("output", loc, line, "sql LOCATION")
            if storage:
                f.aliases.append((table_uri("glue", name), storage))
    for p in t.s3_reads:
        f.add("input", p, line, "sql")
    for p in t.s3_writes:
        f.add("output", p, line, "sql")
    for op, detail in t.operations:
        f.op(op, detail, line)
    if t.writes and not reads_only:
        f.op("write", "table " + ", ".join(t.writes), line)


def _boto(f: Findings, node: ast.Call, r: Resolver, method: str) -> None:
    role = "input" if method in _BOTO_IN else "output"
    bkey, kkey = (_BOTO_IN.get(method) or _BOTO_OUT[method])
    kw = {k.arg: r.value(k.value) for k in node.keywords if k.arg}
    bucket, key = kw.get(bkey), kw.get(kkey)
    if method in ("upload_file", "download_file") and len(node.args) >= 3:
        i = 1 if method == "upload_file" else 0
        bucket, key = r.value(node.args[i]), r.value(node.args[i + 1])
    if not isinstance(bucket, str):
        return
    uri = f"s3://{bucket}/{key}" if isinstance(key, str) and key else f"s3://{bucket}"
    if isinstance(bucket, Placeholder) and not isinstance(key, str):
        return
    f.add(role, uri, node.lineno, f"boto3.{method}")
    f.op("read" if role == "input" else "write", uri, node.lineno)
    if method == "copy_object":
        src = kw.get("CopySource")
        if isinstance(src, dict) and isinstance(src.get("Bucket"), str):
            f.add("input", f"s3://{src['Bucket']}/{src.get('Key', '')}", node.lineno, "boto3.copy_object")
        elif isinstance(src, str):
            f.add("input", f"s3://{src}", node.lineno, "boto3.copy_object")
