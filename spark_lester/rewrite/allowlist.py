"""Static checks of a generated program before anything runs it (the AST allow-list).

The code a model returns is untrusted (a messy pipeline's comments or data can carry a prompt
injection), so this is a first line of defence only: the operating-system sandbox is the
boundary. Everything found is reported at once, each with a rule name and a line number.

A rewrite may import only the DataFrame subset (``spark_lester``'s frames and features,
``pyspark.sql.functions`` and ``pyspark.sql.types`` for column expressions), scikit-learn,
numpy, pandas, PyTorch for the model stage, and a few pure standard-library modules. A model
definition (``kind="model"``) may import only PyTorch, numpy and the standard modules
(:data:`KIND_MODULES`). The rules (:data:`RULES`):

``import``
    a module outside the allowed set (``os``, ``builtins``, ``signal``, ``ctypes``, ``mmap``,
    ``multiprocessing``, ``pathlib``, ``io``, ``pyarrow`` ... are always refused, and so are
    PyTorch's file, hub, JIT and C++ entry points, several of which read files from C++).
``name`` / ``attribute``
    a builtin or an attribute that runs code, reaches objects by string or touches files,
    processes, signals or the JVM (``exec``, ``open``, ``getattr``, ``builtins``,
    ``read_csv``, ``np.load``, ``torch.os``, ``io.open``, ``pa.OSFile``, ``spark.sql``).
    From ``pyspark.sql.functions``, ``.types``, ``.column`` and ``.window`` only the names
    each module defines (``F.SparkContext``, ``F.DataFrame`` are what it imported), and
    ``pyspark.sql``'s ``DataFrame`` only in the annotations of a function.
``dunder``
    a dunder attribute or name (``__class__``), or any string or bytes constant containing
    ``__`` (docstrings included).
``computed-dunder``
    a string built at run time (``+``, ``*``, ``%``, ``join``, ``format``, ``replace``,
    f-strings) from constant pieces that start or end with ``_``: ``"_" + "_class" + "__"``.
``private``
    an attribute or a module starting with ``_`` (``sc._gateway``, ``_posixsubprocess``,
    ``from torch import _C``; ``__future__`` and ``super().__init__`` excepted), also inside
    format fields (``"{0._jvm}".format(x)``).
``by-name``
    reaching attributes or methods by string: ``operator.attrgetter``/``methodcaller``,
    ``string.Formatter``, ``typing.get_type_hints``, ``functools.singledispatch``, and string
    dispatch (``df.agg("to_csv", ...)``) to a refused or private name.
``sql`` / ``sql-literal``
    SQL text (``F.expr``, ``selectExpr``, ``spark.sql``, ``filter``/``where`` given a
    string, ``F.call_function`` names, ``agg`` dicts) is tokenised (string literals
    skipped; comments both skipped and read, as Spark reads hints) and may not call
    ``reflect``, ``java_method``, ``try_reflect`` or ``IDENTIFIER(...)``, read files
    (``parquet.`/path```), run scripts (``TRANSFORM ... USING``) or be a statement
    (``SET``, ``ADD JAR``, ``LOAD DATA``, ``INSERT ... DIRECTORY``, ``CREATE ... LOCATION``).
    Every other string constant but docstrings is scanned for the reflection calls and file
    reads as well. SQL text must be a literal (``sql-literal``): not built at run time, and
    ``F.expr`` may only be called.
``udf``
    anything that runs Python in Spark's worker processes: ``udf``, ``pandas_udf``,
    ``mapInPandas``, ``applyInPandas``, ``rdd``, ``foreach``, ``mapPartitions`` ...
    (``F.transform`` and ``frame.project`` with a function stay allowed: the first builds an
    expression on the driver, the second is the subset's own projection, checked here).
``dunder-def`` / ``decorator``
    defining a dunder method other than ``__init__`` (``__del__``, ``__reduce__``,
    ``__getattr__``), and decorators outside :data:`SAFE_DECORATORS`.
``global``, ``async``, ``class``
    ``global`` statements, async functions and metaclasses.

>>> [str(v) for v in check_allowlist("import os")]
["line 1: module 'os' is not allowed (import)"]
>>> check_allowlist("from pyspark.sql import functions as F\\ndef prepare(m):\\n    return m")
[]
>>> [v.rule for v in check_allowlist("x = ().__class__.__bases__[0].__subclasses__()")]
['dunder', 'dunder', 'dunder']
>>> [str(v) for v in check_allowlist("import pandas", kind="model")]
["line 1: module 'pandas' is not allowed for a model definition (import)"]
>>> [v.rule for v in check_allowlist("y = F.expr(\\"reflect('java.lang.Runtime', 'exit', 1)\\")")]
['sql']
>>> check_allowlist("y = F.expr(\\"upper('reflect(x)')\\")")  # inside a SQL string literal
[]
>>> [v.rule for v in check_allowlist("y = F.expr('a > ' + limit)")]
['sql-literal']
>>> [v.rule for v in check_allowlist("import operator\\nf = operator.attrgetter('x')")]
['by-name']
>>> [v.rule for v in check_allowlist("gw = sc._gateway")]
['private']
>>> [v.rule for v in check_allowlist("name = '_' + '_class' + '__'")]
['computed-dunder', 'dunder']
>>> [v.rule for v in check_allowlist("class A:\\n    def __reduce__(self):\\n        pass")]
['dunder-def']
>>> [v.rule for v in check_allowlist("@F.udf('string')\\ndef f(x):\\n    return x")]
['decorator', 'udf']
>>> sorted(RULES) == sorted({'import', 'name', 'attribute', 'dunder', 'computed-dunder',
...     'private', 'by-name', 'sql', 'sql-literal', 'udf', 'dunder-def', 'decorator',
...     'global', 'async', 'class'})
True
"""

from __future__ import annotations

import ast
import re
import string
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: Every rule a :class:`Violation` can name, with what it refuses.
RULES: dict[str, str] = {
    "import": "a module outside the allow-list",
    "name": "a builtin that runs code, reaches objects by string or touches the outside",
    "attribute": "an attribute that reads or writes files, runs processes or reaches the JVM",
    "dunder": "a dunder name or attribute, or a string constant containing '__'",
    "computed-dunder": "a string built from pieces that start or end with '_'",
    "private": "an attribute or module whose name starts with '_'",
    "by-name": "reaching attributes or methods by a string",
    "sql": "SQL text that calls the JVM by reflection, reads files, runs scripts or is a "
           "statement",
    "sql-literal": "SQL text that is not a literal, or a SQL entry point not called directly",
    "udf": "Python code run in Spark's worker processes (UDFs, mapInPandas, RDDs)",
    "dunder-def": "a dunder method other than __init__",
    "decorator": "a decorator outside the known-safe set",
    "global": "a global statement",
    "async": "an async function",
    "class": "a metaclass",
}

#: Standard modules every kind may import.
STANDARD_MODULES: frozenset[str] = frozenset({
    "math", "re", "datetime", "decimal", "fractions", "statistics", "string", "collections",
    "itertools", "functools", "operator", "typing", "dataclasses", "enum", "__future__",
    "unicodedata", "hashlib",
})
#: Top-level modules a rewrite may import (``sklearn`` covers ``sklearn.preprocessing`` etc.).
ALLOWED_MODULES: frozenset[str] = frozenset({
    "spark_lester", "sklearn", "numpy", "pandas", "torch"}) | STANDARD_MODULES
#: Kinds whose rewrites may import less than :data:`ALLOWED_MODULES` (plus the standard ones).
KIND_MODULES: dict[str, frozenset[str]] = {"model": frozenset({"torch", "numpy"})}
#: Allowed only in full (submodules of pyspark other than these are refused).
ALLOWED_EXACT: frozenset[str] = frozenset({
    "pyspark.sql.functions", "pyspark.sql.types", "pyspark.sql.column", "pyspark.sql.window",
    "pyspark.sql",
})
#: Names importable from ``pyspark.sql`` (``from pyspark.sql import functions as F``).
PYSPARK_SQL_NAMES = frozenset({"functions", "types", "Column", "Window"})
#: Names importable from ``pyspark.sql`` for the type annotations of functions only (``def
#: prepare(m: DataFrame) -> DataFrame``); any other use of them is refused.
PYSPARK_SQL_ANNOTATION_NAMES = frozenset({"DataFrame"})
#: The ``pyspark.sql`` modules a rewrite may take names from, each limited to the names it
#: defines itself: ``pyspark.sql.functions`` also passes on ``SparkContext``, ``DataFrame``,
#: ``get_active_spark_context`` and whole modules it imported (:func:`_pyspark_own_names`).
PYSPARK_OWN_NAMES: tuple[str, ...] = (
    "pyspark.sql.functions", "pyspark.sql.types", "pyspark.sql.column", "pyspark.sql.window")
#: The parts of ``spark_lester`` a rewrite may import (the rest runs pipelines, stores and
#: deletes data, or talks to the network), and the names it may take from the top level.
SPARK_LESTER_MODULES: frozenset[str] = frozenset({
    "spark_lester", "spark_lester.frame", "spark_lester.frame.frame", "spark_lester.errors",
    "spark_lester.features", "spark_lester.features.text", "spark_lester.features.encode",
})
SPARK_LESTER_NAMES: frozenset[str] = frozenset({"LesterFrame", "LesterError"})
#: Modules that reach the operating system, other processes, signals or files (refused
#: whatever else is allowed), and modules under an allowed root that still do I/O or load code.
DENIED_MODULES: frozenset[str] = frozenset({
    "os", "sys", "posix", "nt", "posixpath", "ntpath", "genericpath", "subprocess",
    "_posixsubprocess", "signal", "multiprocessing", "concurrent", "threading", "_thread",
    "ctypes", "mmap", "resource", "pty", "tty", "termios", "fcntl", "select", "selectors",
    "socket", "ssl", "io", "_io", "pathlib", "shutil", "tempfile", "glob", "fnmatch",
    "builtins", "importlib", "pkgutil", "runpy", "code", "codeop", "inspect", "gc",
    "atexit", "pickle", "marshal", "shelve", "dbm", "pyarrow", "pydoc", "webbrowser",
    "urllib", "http", "ftplib", "asyncio",
    "spark_lester.session", "spark_lester.cli", "spark_lester.rewrite", "numpy.ctypeslib",
    "numpy.distutils", "numpy.f2py", "numpy.testing", "pandas.io", "torch.hub",
    "torch.utils.cpp_extension", "sklearn.datasets", "torch.package", "torch.jit",
    "torch.serialization", "torch.onnx", "torch.distributed", "torch.multiprocessing",
    "torch.utils.model_zoo", "torch._C", "torch.utils.tensorboard", "torch.profiler",
    "torch.export", "torch.compiler", "torch.compile",
})
#: Builtins that execute code, reach objects by string or touch the outside world.
DENIED_NAMES: frozenset[str] = frozenset({
    "exec", "eval", "compile", "open", "__import__", "getattr", "setattr", "delattr",
    "hasattr", "globals", "locals", "vars", "input", "breakpoint", "help", "memoryview",
    "exit", "quit", "__builtins__", "__loader__", "__spec__", "copyright", "credits",
    "license", "type", "builtins",
})
#: Attributes (of any object) that read or write files, run code, or leave the subset.
DENIED_ATTRIBUTES: frozenset[str] = frozenset({
    "system", "popen", "spawn", "fork", "exec", "eval", "load", "loads", "save", "savez",
    "savetxt", "loadtxt", "genfromtxt", "fromfile", "tofile", "memmap", "open_memmap",
    "read_csv", "read_parquet", "read_delta", "read_json", "read_pickle", "read_table",
    "read_excel", "read_sql", "read_fwf", "read_html", "read_hdf", "read_feather",
    "read_orc", "read_sas", "read_spss", "read_stata", "read_xml", "read_clipboard",
    "to_csv", "to_parquet", "to_json", "to_pickle", "to_sql", "to_excel", "to_hdf",
    "to_feather", "to_orc", "to_stata", "to_html", "to_latex", "to_markdown", "to_xml",
    "to_clipboard", "write", "writeTo", "writeStream", "readStream", "read", "sql", "table",
    "sparkSession", "sparkContext", "sql_ctx", "_jvm", "_jdf", "_jc", "_jsc", "_jcol", "_sc",
    "get_spark", "gi_frame", "gi_code", "f_globals", "f_locals", "f_back", "f_builtins",
    "cr_frame", "tb_frame", "func_globals", "lib", "ctypes", "hub", "modules",
    # PyTorch's by-name file access and code loading, and the modules it re-exports
    "from_file", "load_library", "load_inline", "load_state_dict_from_url", "_C", "jit",
    "package", "cpp_extension", "onnx", "serialization", "distributed", "multiprocessing",
    "os", "sys", "subprocess", "shutil", "importlib", "builtins", "socket", "pathlib",
    "pickle", "tensorboard", "profiler", "compiler",
    # operating-system modules re-exported by allowed ones, signals, environment
    "signal", "mmap", "resource", "pty", "fcntl", "posix", "nt", "posixpath", "ntpath",
    "genericpath", "threading", "atexit", "gc", "inspect", "tempfile", "environ", "getenv",
    "kill", "killpg", "pidfd_send_signal", "fork_exec", "ctypeslib", "datasets", "testing",
    "model_zoo", "DataSource", "fromregex",
    # io's and pyarrow's C++ file handles
    "io", "open", "open_code", "FileIO", "pyarrow", "OSFile", "MemoryMappedFile",
    "memory_map", "create_memory_map", "input_stream", "output_stream", "fs",
    "LocalFileSystem", "parquet", "feather", "orc", "csv",
    # spark_lester entry points that run pipelines or change stored data; pandas' evaluators
    "run", "unlearn", "query",
    # Spark's context and JVM gateway, which pyspark.sql.functions, .types and .column pass
    # on, and the context's file readers
    "SparkContext", "SparkSession", "getOrCreate", "get_active_spark_context",
    "JavaGateway", "GatewayClient", "JVMView", "JavaClass", "JavaObject",
    "CloudPickleSerializer", "textFile", "wholeTextFiles", "binaryFiles", "binaryRecords",
    "addFile", "addPyFile", "addArchive", "pickleFile", "hadoopFile", "newAPIHadoopFile",
    "sequenceFile",
})
#: Attributes and names that reach attributes or methods by a string.
BY_NAME: frozenset[str] = frozenset({
    "attrgetter", "methodcaller", "Formatter", "get_field", "get_value", "vformat",
    "get_type_hints", "ForwardRef", "singledispatch", "singledispatchmethod", "resolve_name",
    "import_module",
})
#: Calls that look a method up by a string argument (pandas' ``agg("sum")``).
STRING_DISPATCH: frozenset[str] = frozenset({"agg", "aggregate", "apply", "transform"})
#: Attributes and names that run Python code in Spark's worker processes.
UDF_NAMES: frozenset[str] = frozenset({
    "udf", "pandas_udf", "udtf", "call_udf", "call_udtf", "UserDefinedFunction",
    "PandasUDFType", "mapInPandas", "mapInArrow", "applyInPandas", "applyInArrow",
    "applyInPandasWithState", "cogroup", "rdd", "toJSON", "foreach", "foreachPartition",
    "foreachBatch", "mapPartitions", "mapPartitionsWithIndex", "register",
    "registerJavaFunction", "registerJavaUDAF", "pandas_api", "to_pandas_on_spark",
    "to_koalas",
})
#: Decorators a rewrite may use (a call ``@dataclass(frozen=True)`` counts as its name);
#: ``@<name>.setter``/``getter``/``deleter`` of a property are allowed too.
SAFE_DECORATORS: frozenset[str] = frozenset({
    "staticmethod", "classmethod", "property", "dataclass", "dataclasses.dataclass",
    "functools.cache", "functools.lru_cache", "torch.no_grad",
})
#: Dunder methods a rewrite may define.
ALLOWED_DUNDER_DEFS: frozenset[str] = frozenset({"__init__"})

# ---- SQL ----------------------------------------------------------------------------------
#: Calls whose every argument is SQL text (expressions, or a statement for ``sql``).
SQL_TEXT_CALLS: frozenset[str] = frozenset({"expr", "selectExpr", "sql"})
#: Calls whose condition is SQL text when it is a string (a Column otherwise).
SQL_CONDITION_CALLS: frozenset[str] = frozenset({"filter", "where"})
#: Calls whose first argument names a SQL function.
SQL_NAME_CALLS: frozenset[str] = frozenset({"call_function"})
#: SQL entry points that may only be called directly (never passed around or aliased).
SQL_ENTRY_POINTS = SQL_TEXT_CALLS | SQL_CONDITION_CALLS | SQL_NAME_CALLS
#: SQL functions that call the JVM by reflection, name functions at run time or read files.
SQL_DENIED_FUNCTIONS: dict[str, str] = {
    "reflect": "calls Java methods by reflection",
    "java_method": "calls Java methods by reflection",
    "try_reflect": "calls Java methods by reflection",
    "identifier": "names functions and tables at run time",
    "read_files": "reads files",
    "in_file": "reads files",
}
#: The reflection functions, also refused as Python names (``F.reflect``).
SQL_REFLECTION: frozenset[str] = frozenset({"reflect", "java_method", "try_reflect"})
#: Data sources of Spark's ``format.`path``` tables (reading files from SQL).
SQL_FILE_SOURCES: frozenset[str] = frozenset({
    "parquet", "csv", "json", "orc", "text", "binaryfile", "avro", "delta", "jdbc", "hive",
    "libsvm", "image", "xml", "file", "noop", "console", "kafka", "socket", "rate",
})
#: Words that begin a SQL statement other than a query (refused in any SQL text).
SQL_STATEMENTS: frozenset[str] = frozenset({
    "SET", "RESET", "ADD", "LOAD", "CREATE", "INSERT", "ALTER", "DROP", "TRUNCATE", "MSCK",
    "REFRESH", "CACHE", "UNCACHE", "CLEAR", "USE", "DELETE", "UPDATE", "MERGE", "REPLACE",
    "EXECUTE", "DECLARE", "GRANT", "REVOKE", "EXPORT", "IMPORT", "LIST", "ANALYZE", "REPAIR",
    "COMMENT", "DESCRIBE", "DESC", "SHOW", "EXPLAIN", "CALL",
})
#: Words that begin the queries ``spark.sql`` may run.
SQL_QUERIES: frozenset[str] = frozenset({"SELECT", "WITH", "VALUES", "FROM", "TABLE"})


@dataclass(frozen=True)
class Violation:
    """One refused construct: where, which rule (a key of :data:`RULES`), what."""

    line: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.detail} ({self.rule})"


def _module_allowed(name: str, kind: str | None = None) -> bool:
    if any(name == d or name.startswith(d + ".") for d in DENIED_MODULES):
        return False
    root = name.split(".")[0]
    if kind in KIND_MODULES:
        return root in KIND_MODULES[kind] or root in STANDARD_MODULES
    if name in ALLOWED_EXACT:
        return True
    if root == "spark_lester":
        return name in SPARK_LESTER_MODULES
    return root in ALLOWED_MODULES


@lru_cache(maxsize=512)
def _is_spark_lester_module(name: str) -> bool:
    """Whether ``spark_lester.x.y`` is a module or package of this project (not a name)."""
    path = Path(__file__).resolve().parents[2].joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _spark_lester_reach_allowed(dotted: str) -> bool:
    """Whether ``spark_lester.a.b.c`` (reached by attributes) stays in the allowed parts."""
    parts = dotted.split(".")
    module = "spark_lester"
    for i in range(len(parts), 1, -1):
        if _is_spark_lester_module(".".join(parts[:i])):
            module = ".".join(parts[:i])
            break
    if module not in SPARK_LESTER_MODULES:
        return False
    return module != "spark_lester" or len(parts) == 1 or parts[1] in SPARK_LESTER_NAMES


def _is_private_module(name: str) -> bool:
    return any(part.startswith("_") and part != "__future__" for part in name.split("."))


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


# ---- the SQL tokenizer --------------------------------------------------------------------
def _sql_tokens(text: str, backslash: bool, comments: bool) -> list[tuple[str, str]]:
    """``(kind, value)`` tokens of SQL text: ``word`` (identifier, keyword or number),
    ``quoted`` (a backquoted identifier), ``string`` (a literal's text), ``punct``.

    ``backslash``: a backslash escapes the next character inside string literals (Spark's
    default; raw strings and ``spark.sql.parser.escapedStringLiterals`` do not).
    ``comments``: skip ``--`` and (nested) ``/* */`` comments; otherwise their markers are
    dropped and what they hold is read as SQL (Spark reads ``/*+ hints */``).
    """
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if backslash and text[j] == "\\" else 1
            out.append(("string" if c == "'" else "dstring", text[i + 1:j]))
            i = j + 1
        elif c == "`":
            j, name = i + 1, []
            while j < n:
                if text[j] == "`":
                    if text.startswith("``", j):
                        name.append("`")
                        j += 2
                        continue
                    break
                name.append(text[j])
                j += 1
            out.append(("quoted", "".join(name)))
            i = j + 1
        elif text.startswith("--", i):
            if comments:
                while i < n and text[i] not in "\r\n":
                    i += 1
            else:
                i += 2
        elif text.startswith("/*", i):
            if comments:
                depth, i = 1, i + 2
                while i < n and depth:
                    if text.startswith("/*", i):
                        depth, i = depth + 1, i + 2
                    elif text.startswith("*/", i):
                        depth, i = depth - 1, i + 2
                    else:
                        i += 1
            else:
                i += 2
        elif not comments and text.startswith("*/", i):
            i += 2
        elif c.isalnum() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            out.append(("word", text[i:j]))
            i = j
        elif c.isspace():
            i += 1
        else:
            out.append(("punct", c))
            i += 1
    return out


def _sql_token_problems(tokens: list[tuple[str, str]], statement: bool
                        ) -> set[tuple[str, str]]:
    """``(category, problem)`` pairs: ``call`` (a refused function), ``file`` (a file
    read as a table) or ``statement`` (a statement, a script)."""
    problems: set[tuple[str, str]] = set()
    words = [v.upper() for k, v in tokens if k == "word"]
    for i, (kind, value) in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if following == ("punct", "(") and kind in ("word", "quoted", "dstring"):
            name = value.strip().lower()
            if name in SQL_DENIED_FUNCTIONS:
                problems.add(("call", f"{name}() {SQL_DENIED_FUNCTIONS[name]}"))
        if kind in ("word", "quoted") and following == ("punct", ".") and i + 2 < len(tokens):
            target_kind, target = tokens[i + 2]
            if target_kind == "quoted" and (value.lower() in SQL_FILE_SOURCES
                                            or any(ch in target for ch in "/\\:")):
                problems.add(("file", f"{value}.`{target}` reads files"))
    if "USING" in words:
        problems.add(("statement", "USING is not allowed (TRANSFORM ... USING runs a "
                      "script, CREATE ... USING loads code)"))
    first = words[0] if words else ""
    if first in SQL_STATEMENTS:
        problems.add(("statement", f"the statement {first} is not allowed"))
    for a, b in zip(words, words[1:]):
        if (a, b) in {("LOAD", "DATA"), ("OVERWRITE", "DIRECTORY"), ("LOCAL", "DIRECTORY")} or \
                (a == "ADD" and b in {"JAR", "JARS", "FILE", "FILES", "ARCHIVE", "ARCHIVES"}):
            problems.add(("statement", f"{a} {b} is not allowed"))
    if "INSERT" in words and "DIRECTORY" in words[words.index("INSERT"):]:
        problems.add(("statement", "INSERT ... DIRECTORY writes files"))
    if "CREATE" in words and "LOCATION" in words[words.index("CREATE"):]:
        problems.add(("statement", "CREATE ... LOCATION writes files"))
    if statement:
        if first not in SQL_QUERIES:
            problems.add(("statement", f"only queries may run, not '{first}'"))
        for word in sorted(set(words) & SQL_STATEMENTS):
            problems.add(("statement", f"the statement word {word} is not allowed"))
    return problems


def _sql_all_readings(text: str, statement: bool) -> set[tuple[str, str]]:
    problems: set[tuple[str, str]] = set()
    for backslash in (True, False):
        for comments in (True, False):
            problems |= _sql_token_problems(_sql_tokens(text, backslash, comments), statement)
    return problems


def sql_problems(text: str, statement: bool = False) -> list[str]:
    """Why the SQL ``text`` is refused (empty: allowed); ``statement`` for ``spark.sql``.

    Tokenised four ways (backslash escapes in string literals or not, comments skipped or
    read as SQL), so that no reading Spark may take of the text hides a call.

    >>> sql_problems("upper(name) || 'reflect(x)'")
    []
    >>> sql_problems("ReFlEcT /* c */ ('java.lang.Thread', 'sleep', 1L)")
    ['reflect() calls Java methods by reflection']
    >>> sql_problems("(SELECT count(*) FROM csv.`/etc/passwd`) > 0")
    ['csv.`/etc/passwd` reads files']
    >>> sql_problems("ADD JAR '/tmp/x.jar'", statement=True)[:1]
    ['ADD JAR is not allowed']
    """
    return sorted(p for _, p in _sql_all_readings(text, statement))


def sql_reflection(text: str) -> list[str]:
    """The reflection calls and file reads in any string (what every other string constant
    is scanned for: a string that is no SQL holds none of them).

    >>> sql_reflection("SELECT java_method('java.lang.System', 'exit', 0)")
    ['java_method() calls Java methods by reflection']
    >>> sql_reflection("reflection is fine; so is SET x = 1")
    []
    """
    return sorted(p for c, p in _sql_all_readings(text, False) if c in ("call", "file"))


# ---- strings built at run time ------------------------------------------------------------
_PERCENT_FIELD = re.compile(r"%(\([^)]*\))?[#0\- +]*(\*|\d+)?(\.(\*|\d+))?[hlL]?[a-zA-Z%]")
#: String methods whose constant arguments become part of the result.
#: Functions that concatenate or repeat strings (``functools.reduce(operator.add, ...)``).
_OPERATOR_BUILDERS = frozenset({
    "operator.add", "operator.concat", "operator.iadd", "operator.iconcat", "operator.mul",
    "operator.mod", "functools.reduce"})
_STR_BUILDERS = frozenset({"join", "format", "format_map", "replace", "ljust", "rjust",
                           "center", "zfill", "translate", "maketrans", "expandtabs"})


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
        return node.value.decode("latin-1")
    return None


def _format_pieces(fmt: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return [fmt]
    pieces = []
    for literal, _field, spec, _conv in parsed:
        pieces.append(literal)
        if spec:
            pieces.append(spec)
    return pieces


def _format_fields(fmt: str) -> list[str]:
    try:
        return [f for _, f, _, _ in string.Formatter().parse(fmt) if f]
    except ValueError:
        return []


class _Checker(ast.NodeVisitor):
    def __init__(self, tree: ast.AST, kind: str | None = None) -> None:
        self.violations: list[Violation] = []
        self.kind = kind
        self.aliases: dict[str, str] = {}
        self.bindings: Counter[str] = Counter()
        self.values: dict[str, list[ast.AST]] = {}
        self.docstrings: set[int] = set()
        self.callees: set[int] = set()
        self.sql_checked: set[int] = set()
        self.built: set[int] = set()
        self.annotations: set[int] = set()
        self.annotation_only: set[str] = set()
        self.imported: dict[str, set[str]] = {}
        #: The nodes an attribute is read from (``F`` of ``F.col``).
        self.attribute_bases = {id(n.value) for n in ast.walk(tree)
                                if isinstance(n, ast.Attribute)}
        self._survey(tree)

    # ---- what the module binds ------------------------------------------------------------
    def _survey(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef,
                                 ast.ClassDef)) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                        and isinstance(first.value.value, str):
                    self.docstrings.add(id(first.value))
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self._alias(node, alias.asname, alias.name)
                    else:
                        head = alias.name.split(".")[0]
                        self._alias(node, head, head)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self._alias(node, alias.asname or alias.name,
                                f"{node.module}.{alias.name}")
                    if node.module == "pyspark.sql" and \
                            alias.name in PYSPARK_SQL_ANNOTATION_NAMES:
                        self.annotation_only.add(alias.asname or alias.name)
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                self.bindings[node.id] += 1
            elif isinstance(node, ast.arg):
                self.bindings[node.arg] += 1
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.bindings[node.name] += 1
            elif isinstance(node, ast.alias):
                self.bindings[(node.asname or node.name).split(".")[0]] += 1
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self.bindings[node.name] += 1
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                for name in node.names:
                    self.bindings[name] += 2
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                self.bindings[node.name] += 1
            elif isinstance(node, ast.MatchMapping) and node.rest:
                self.bindings[node.rest] += 1
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and node.value is not None:
                        self.values.setdefault(target.id, []).append(node.value)
        for node in ast.walk(tree):  # once every import and binding is known
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for annotation in _annotations_of(node):
                    parts = list(ast.walk(annotation))
                    if all(self._typing_part(part) for part in parts):
                        self.annotations.update(id(part) for part in parts)
        self.module_strings: dict[str, str] = {}
        if isinstance(tree, ast.Module):
            for stmt in tree.body:
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                        isinstance(stmt.targets[0], ast.Name):
                    name = stmt.targets[0].id
                    text = self._literal(stmt.value, names=False)
                    if text is not None and self.bindings[name] == 1:
                        self.module_strings[name] = text

    def _alias(self, node: ast.AST, name: str, target: str) -> None:
        """Record that an import binds ``name`` to ``target``. One target per name: the
        checks resolve a name through one table, so a second import under the same name
        (in another function, or one that never runs) would hide what the first bound."""
        targets = self.imported.setdefault(name, set())
        if targets and target not in targets:
            self._add(node, "import", f"'{name}' is imported as {sorted(targets)[0]} and as "
                      f"{target}; give each import its own name")
        targets.add(target)
        self.aliases[name] = target

    def _typing_part(self, node: ast.AST) -> bool:
        """Whether ``node`` may be part of an annotation that an annotation-only name may
        appear in: names, dotted names, constants, ``|``, and subscripts of builtin or
        ``typing`` generics only (any other ``x[...]`` runs code of ``x``)."""
        if isinstance(node, ast.Subscript):
            target = node.value
            if isinstance(target, ast.Name) and target.id in _GENERIC_BUILTINS and \
                    target.id not in self.bindings:
                return True
            canonical = self._canonical(target) or ""
            return canonical.split(".")[0] == "typing" or canonical.startswith("collections.abc.")
        return isinstance(node, _TYPE_NODES)

    def _canonical(self, node: ast.AST) -> str | None:
        """The dotted name of ``node`` with its first part resolved through the imports."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def _literal(self, node: ast.AST, names: bool = True) -> str | None:
        """The text of a string known before the program runs, else None."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant)
                                                   for v in node.values):
            return "".join(str(v.value) for v in node.values)  # type: ignore[attr-defined]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._literal(node.left, names), self._literal(node.right, names)
            if left is not None and right is not None:
                return left + right
        if names and isinstance(node, ast.Name):
            return self.module_strings.get(node.id)
        return None

    def _stringish(self, node: ast.AST, seen: frozenset[str] = frozenset()) -> bool:
        """Whether ``node`` evaluates to a string (as far as the source shows)."""
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (str, bytes))
        if isinstance(node, ast.JoinedStr):
            return True
        if isinstance(node, ast.BinOp):
            return self._stringish(node.left, seen) or self._stringish(node.right, seen)
        if isinstance(node, ast.IfExp):
            return self._stringish(node.body, seen) or self._stringish(node.orelse, seen)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                return func.id in {"str", "format", "repr", "chr", "ascii"}
            if isinstance(func, ast.Attribute):
                return (func.attr in _STR_BUILDERS | {"lower", "upper", "strip", "decode",
                                                      "title", "casefold", "swapcase"}
                        and (self._stringish(func.value, seen)
                             or isinstance(func.value, ast.Name) and func.value.id == "str"))
            return False
        if isinstance(node, ast.Subscript):
            return self._stringish(node.value, seen)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return any(self._stringish(e, seen) for e in node.elts)
        if isinstance(node, ast.Dict):
            return any(v is not None and self._stringish(v, seen) for v in node.values)
        if isinstance(node, ast.Name) and node.id not in seen:
            return any(self._stringish(v, seen | {node.id})
                       for v in self.values.get(node.id, []))
        return False

    # ---- reporting ------------------------------------------------------------------------
    def _add(self, node: ast.AST, rule: str, detail: str) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), rule, detail))

    def _refused_module(self, node: ast.AST, name: str) -> None:
        where = " for a model definition" if self.kind == "model" else ""
        self._add(node, "import", f"module '{name}' is not allowed{where}")

    # ---- imports --------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if _is_private_module(alias.name):
                self._add(node, "private", f"private module '{alias.name}' is not allowed")
            elif not _module_allowed(alias.name, self.kind):
                self._refused_module(node, alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self._add(node, "import", "relative imports are not allowed")
        elif _is_private_module(module):
            self._add(node, "private", f"private module '{module}' is not allowed")
        elif not _module_allowed(module, self.kind):
            self._refused_module(node, module)
        for alias in node.names:
            name = alias.name
            if name == "*":
                self._add(node, "import", f"'from {module} import *' is not allowed")
            elif module == "pyspark.sql" and \
                    name not in PYSPARK_SQL_NAMES | PYSPARK_SQL_ANNOTATION_NAMES:
                self._add(node, "import", f"'{name}' from pyspark.sql is not allowed: each "
                          "input arrives as a DataFrame argument of prepare; build "
                          "expressions with pyspark.sql.functions")
            elif module == "spark_lester" and name not in SPARK_LESTER_NAMES and \
                    f"spark_lester.{name}" not in SPARK_LESTER_MODULES:
                self._add(node, "import", f"'{name}' from spark_lester is not allowed; inputs "
                          "arrive as LesterFrame arguments")
            elif _module_allowed(module, self.kind) and module not in ALLOWED_EXACT and \
                    not _module_allowed(f"{module}.{name}", self.kind) and \
                    (not module.startswith("spark_lester")
                     or _is_spark_lester_module(f"{module}.{name}")):
                self._add(node, "import", f"module '{module}.{name}' is not allowed")
            elif name in DENIED_NAMES or name in DENIED_ATTRIBUTES:
                self._add(node, "import", f"'{name}' may not be imported")
            elif name in UDF_NAMES:
                self._add(node, "udf", f"'{name}' runs Python code in Spark's workers; "
                          "use Column expressions (pyspark.sql.functions)")
            elif name in BY_NAME:
                self._add(node, "by-name", f"'{name}' reaches attributes by name")
            elif name in SQL_REFLECTION:
                self._add(node, "sql", f"'{name}' {SQL_DENIED_FUNCTIONS[name]}")
            elif module in PYSPARK_OWN_NAMES and name not in _pyspark_own_names(module):
                self._add(node, "import", _passed_on(module, name))
            if name.startswith("_") and name != "*":
                self._add(node, "private", f"private name '{name}' may not be imported")
        self.generic_visit(node)

    # ---- names and attributes -------------------------------------------------------------
    def _annotation_only(self, node: ast.AST, name: str) -> bool:
        """Whether ``node`` uses an annotation-only name (``name``: what it reads) outside
        the annotations of a function's arguments, its return or its local variables (the
        only annotations Python does not keep where a program could read them back)."""
        if id(node) in self.annotations:
            return False
        self._add(node, "name", f"'{name}' may appear only in the type annotations of a "
                  "function; each input arrives as a DataFrame argument of prepare")
        return True

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and node.id in self.annotation_only and \
                self._annotation_only(node, node.id):
            pass
        elif node.id in DENIED_NAMES:
            self._add(node, "name", f"'{node.id}' is not allowed")
        elif node.id.startswith("__") and node.id != "__name__":
            self._add(node, "dunder", f"'{node.id}' is not allowed")
        elif isinstance(node.ctx, ast.Load) and \
                self.aliases.get(node.id) in PYSPARK_OWN_NAMES and \
                id(node) not in self.attribute_bases:
            # bound to another name, put in a list or passed to a function, the module would
            # hand out the names it only passes on (G = F; G.DataFrame) past the check below
            self._add(node, "name", f"the module '{node.id}' may only be used by its "
                      f"attributes ({node.id}.<name>), not bound or passed as a value")
        elif isinstance(node.ctx, ast.Load) and id(node) not in self.callees:
            canonical = self.aliases.get(node.id, "")
            if canonical.startswith("pyspark.") and \
                    canonical.rsplit(".", 1)[-1] in SQL_ENTRY_POINTS:
                self._add(node, "sql-literal", f"'{node.id}' may only be called directly, "
                          "with literal SQL text")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        canonical = self._canonical(node) or ""
        module, _, name = canonical.rpartition(".")
        if module == "pyspark.sql" and name in PYSPARK_SQL_ANNOTATION_NAMES and \
                self._annotation_only(node, name):
            pass
        elif _is_dunder(attr):
            if not (attr == "__init__" and _is_super_call(node.value)):
                self._add(node, "dunder", f"attribute '{attr}' is not allowed")
        elif attr in DENIED_ATTRIBUTES or \
                any(canonical == d or canonical.startswith(d + ".") for d in DENIED_MODULES
                    if "." in d) or \
                canonical.startswith("spark_lester.") and \
                not _spark_lester_reach_allowed(canonical):
            self._add(node, "attribute", f"attribute '{attr}' is not allowed (file, process "
                      "or JVM access; inputs arrive as arguments of prepare)")
        elif attr.startswith("_"):
            self._add(node, "private", f"private attribute '{attr}' is not allowed")
        elif attr in BY_NAME:
            self._add(node, "by-name", f"'{attr}' reaches attributes or code by name")
        elif attr in UDF_NAMES:
            self._add(node, "udf", f"'{attr}' runs Python code in Spark's worker processes; "
                      "use Column expressions (pyspark.sql.functions)")
        elif attr in SQL_REFLECTION:
            self._add(node, "sql", f"'{attr}' {SQL_DENIED_FUNCTIONS[attr]}")
        elif attr in SQL_ENTRY_POINTS and id(node) not in self.callees:
            self._add(node, "sql-literal", f"'{attr}' may only be called directly, with "
                      "literal SQL text")
        elif module in PYSPARK_OWN_NAMES and name not in _pyspark_own_names(module):
            self._add(node, "attribute", _passed_on(module, name))
        self.generic_visit(node)

    # ---- definitions ----------------------------------------------------------------------
    def visit_Global(self, node: ast.Global) -> None:
        self._add(node, "global", "'global' is not allowed; keep state inside functions")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if _is_dunder(node.name) and node.name not in ALLOWED_DUNDER_DEFS:
            self._add(node, "dunder-def", f"defining '{node.name}' is not allowed (only "
                      "__init__ and plain method names such as forward)")
        self._check_decorators(node)
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._add(node, "async", "async functions are not allowed")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for kw in node.keywords:
            if kw.arg == "metaclass":
                self._add(node, "class", "metaclasses are not allowed")
        if _is_dunder(node.name):
            self._add(node, "dunder-def", f"a class named '{node.name}' is not allowed")
        self._check_decorators(node)
        self.generic_visit(node)

    def _check_decorators(self, node: ast.FunctionDef | ast.ClassDef) -> None:
        for dec in node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            canonical = self._canonical(target)
            if canonical in SAFE_DECORATORS:
                continue
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and \
                    target.attr in {"setter", "getter", "deleter"}:
                continue
            shown = canonical or ast.unparse(target)
            self._add(dec, "decorator", f"decorator '{shown}' is not allowed (only "
                      f"{', '.join(sorted(SAFE_DECORATORS))})")

    # ---- strings --------------------------------------------------------------------------
    def visit_Constant(self, node: ast.Constant) -> None:
        text = _text(node)
        if text is None:
            return
        if "__" in text:
            self._add(node, "dunder", "a string containing '__' is not allowed")
        if id(node) not in self.sql_checked and id(node) not in self.docstrings:
            problems = sql_reflection(text)
            if problems:
                self._add(node, "sql", f"string refused as SQL: {'; '.join(problems)}")

    def visit_BinOp(self, node: ast.BinOp) -> None:
        pieces: list[str] = []
        if isinstance(node.op, ast.Add):
            pieces = self._add_pieces(node)
        elif isinstance(node.op, ast.Mult):
            pieces = [t for t in (_text(node.left), _text(node.right)) if t is not None]
        elif isinstance(node.op, ast.Mod) and _text(node.left) is not None:
            pieces = [p for p in _PERCENT_FIELD.split(_text(node.left) or "")
                      if isinstance(p, str)]
            pieces += [t for t in map(_text, ast.walk(node.right)) if t is not None]
        self._check_built(node, pieces)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.op, (ast.Add, ast.Mult, ast.Mod)):
            self._check_built(node, [t for t in map(_text, ast.walk(node.value))
                                     if t is not None])
        self.generic_visit(node)

    def _add_pieces(self, node: ast.AST) -> list[str]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._add_pieces(node.left) + self._add_pieces(node.right)
        text = _text(node)
        if text is not None:
            return [text]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            return [t for t in (_text(node.left), _text(node.right)) if t is not None]
        return []

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        if any(isinstance(v, ast.FormattedValue) for v in node.values):
            self._check_built(node, [t for t in map(_text, ast.walk(node)) if t is not None])
        self.generic_visit(node)

    def _check_built(self, node: ast.AST, pieces: list[str]) -> None:
        """Refuse a string built from ``pieces`` that could be a dunder name: a piece that
        is only underscores, or one piece that starts and one that ends with ``_`` (once per
        expression: what it contains is not reported again). ``f"{c}_scaled"`` passes: no
        piece could close a dunder."""
        if id(node) in self.built:
            return
        opening = [p for p in pieces if p.startswith("_")]
        closing = [p for p in pieces if p.endswith("_")]
        # only underscores, or a format spec that pads with them (f"{'':_>2}")
        only = [p for p in pieces if p and (not p.strip("_") or p[:2] in
                                            ("_<", "_>", "_^", "_="))]
        bad = only or (opening + [p for p in closing if p not in opening]
                       if opening and closing else [])
        if bad:
            self.built.update(id(inner) for inner in ast.walk(node))
            self._add(node, "computed-dunder", "a string built from pieces that start or end "
                      f"with '_' ({', '.join(repr(p) for p in bad[:3])}) is not allowed; "
                      "write the whole name as one literal")

    # ---- calls ----------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        self.callees.add(id(node.func))
        func = node.func
        name = None
        if isinstance(func, ast.Attribute):
            name = func.attr
        elif isinstance(func, ast.Name):
            canonical = self.aliases.get(func.id)
            if canonical and canonical.startswith("pyspark."):
                name = canonical.rsplit(".", 1)[-1]
            elif canonical is None and self.bindings[func.id] == 0:
                name = func.id if func.id in SQL_TEXT_CALLS | SQL_NAME_CALLS else None
        if name in SQL_TEXT_CALLS:
            self._check_sql_args(node, name, list(node.args) + [k.value for k in node.keywords])
        elif name in SQL_CONDITION_CALLS and isinstance(func, ast.Attribute):
            conditions = node.args[:1] + [k.value for k in node.keywords
                                          if k.arg == "condition"]
            for arg in conditions:
                if self._stringish(arg):
                    self._check_sql_args(node, name, [arg])
        elif name in SQL_NAME_CALLS:
            first = node.args[:1] + [k.value for k in node.keywords if k.arg == "funcName"]
            for arg in first:
                self._check_sql_function_name(node, name, arg)
        if name == "agg":
            for arg in list(node.args) + [k.value for k in node.keywords]:
                if isinstance(arg, ast.Dict):
                    for value in arg.values:
                        if value is not None and self._stringish(value):
                            self._check_sql_function_name(node, name, value)
        if name in STRING_DISPATCH:
            self._check_dispatch(node, name)
        if isinstance(func, ast.Attribute) and func.attr in _STR_BUILDERS:
            self._check_str_builder(node, func)
        elif self._canonical(func) in _OPERATOR_BUILDERS:
            self._check_built(node, [t for arg in node.args for t in map(_text, ast.walk(arg))
                                     if t is not None])
        elif isinstance(func, ast.Name) and func.id == "format" and len(node.args) > 1:
            self._check_built(node, [t for t in map(_text, node.args[1:]) if t is not None])
        self.generic_visit(node)

    def _check_sql_args(self, node: ast.Call, name: str, args: list[ast.AST]) -> None:
        for arg in args:
            items = arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg]
            for item in items:
                text = self._literal(item)
                if text is None:
                    what = ast.unparse(item)
                    self._add(item, "sql-literal", f"SQL text must be a literal: {name}() is "
                              f"given {what[:60]!r}, which is built when the program runs")
                    continue
                for const in ast.walk(item):
                    self.sql_checked.add(id(const))
                problems = sql_problems(text, statement=name == "sql")
                if problems:
                    self._add(item, "sql", f"SQL text of {name}() refused: "
                              f"{'; '.join(problems)}")

    def _check_sql_function_name(self, node: ast.Call, name: str, arg: ast.AST) -> None:
        text = self._literal(arg)
        if text is None:
            self._add(arg, "sql-literal", f"the function name given to {name}() must be a "
                      "literal")
            return
        for const in ast.walk(arg):
            self.sql_checked.add(id(const))
        fn = text.strip().strip("`").lower().rsplit(".", 1)[-1]
        if fn in SQL_DENIED_FUNCTIONS:
            self._add(arg, "sql", f"{name}() may not call {fn}: it "
                      f"{SQL_DENIED_FUNCTIONS[fn]}")

    def _check_dispatch(self, node: ast.Call, name: str) -> None:
        args = list(node.args) + [k.value for k in node.keywords]
        for arg in args:
            items = [arg]
            if isinstance(arg, (ast.List, ast.Tuple, ast.Set)):
                items = list(arg.elts)
            elif isinstance(arg, ast.Dict):
                items = [v for v in arg.values if v is not None]
            for item in items:
                text = _text(item)
                if text is None:
                    continue
                if text.startswith("_") or text in DENIED_ATTRIBUTES | DENIED_NAMES | \
                        BY_NAME | UDF_NAMES:
                    self._add(item, "by-name", f"{name}({text!r}) would look up the method "
                              f"'{text}' by name")

    def _check_str_builder(self, node: ast.Call, func: ast.Attribute) -> None:
        """``"_".join(...)``, ``"{}_{}".format(...)``, ``s.replace("x", "_")`` on a string."""
        receiver = _text(func.value)
        if not (self._stringish(func.value) or isinstance(func.value, ast.Name)
                and func.value.id in {"str", "bytes"}):
            return
        pieces: list[str] = []
        if receiver is not None and func.attr in {"format", "format_map"}:
            pieces += _format_pieces(receiver)
            for field in _format_fields(receiver):
                if any(p.startswith("_") for p in re.split(r"[.\[]", field)[1:]):
                    self._add(node, "private", f"format field '{{{field}}}' reaches a private "
                              "attribute")
        elif receiver is not None:
            pieces.append(receiver)
        for arg in list(node.args) + [k.value for k in node.keywords]:
            pieces += [t for t in map(_text, ast.walk(arg)) if t is not None]
        self._check_built(node, pieces)


#: What a type annotation may be built of for an annotation-only name to pass: names, dotted
#: names, ``|`` and constants, and subscripts of the generics below or of ``typing``
#: (``_Checker._typing_part``); nothing that calls code (annotations are evaluated when the
#: function is defined).
_TYPE_NODES = (ast.Name, ast.Attribute, ast.Constant, ast.Tuple, ast.List, ast.BinOp,
               ast.BitOr, ast.expr_context)
_GENERIC_BUILTINS = frozenset({"list", "dict", "tuple", "set", "frozenset", "type"})


@lru_cache(maxsize=None)
def _pyspark_own_names(module: str) -> frozenset[str]:
    """The public names that ``module`` (one of :data:`PYSPARK_OWN_NAMES`) defines itself:
    its functions and classes, not what it imported (read from the installed pyspark)."""
    import importlib

    loaded = importlib.import_module(module)
    return frozenset(name for name, value in vars(loaded).items()
                     if not name.startswith("_")
                     and getattr(value, "__module__", None) == module)


def _passed_on(module: str, name: str) -> str:
    """Why ``name``, which ``module`` only imported, is refused, and where it comes from."""
    home = [m for m in PYSPARK_OWN_NAMES if name in _pyspark_own_names(m)]
    advice = f"import it from {home[0]}" if home else \
        "use the functions of pyspark.sql.functions and the types of pyspark.sql.types"
    return f"'{name}' is not a name {module} defines (it only passes through it); {advice}"


def _annotations_of(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """The annotations of ``function``'s arguments, its return and the local variables of
    its own body (a local annotation is never evaluated; a class body's or a module's is
    kept in ``__annotations__``, where a dataclass's ``fields`` reads it back)."""
    args = function.args
    found = [a.annotation for a in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                                     *filter(None, [args.vararg, args.kwarg])]
             if a.annotation is not None]
    if function.returns is not None:
        found.append(function.returns)
    stack = list(function.body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, ast.AnnAssign):
            found.append(stmt.annotation)
        elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(child for child in ast.iter_child_nodes(stmt)
                         if isinstance(child, ast.stmt))
    return found


def _is_super_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "super")


def check_allowlist(source: str | ast.AST, kind: str | None = None) -> list[Violation]:
    """Every allow-list violation in ``source`` (empty: allowed), for a rewrite of ``kind``
    (None: any kind's modules), ordered by line. Raises SyntaxError when ``source`` does not
    parse (the parse stage comes first)."""
    tree = ast.parse(source) if isinstance(source, str) else source
    checker = _Checker(tree, kind)
    checker.visit(tree)
    return sorted(checker.violations, key=lambda v: v.line)
