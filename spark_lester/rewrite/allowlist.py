"""Static checks of a generated program before anything runs it (the AST allow-list).

A rewrite may import only the DataFrame subset (``spark_lester``, ``pyspark.sql.functions``
and ``pyspark.sql.types`` for column expressions), scikit-learn, numpy, pandas, PyTorch for
the model stage, and a few pure standard-library modules. It may not call ``exec``, ``eval``,
``compile``, ``open``, ``__import__``, ``getattr`` (and friends), touch any dunder attribute
(``__class__``, ``__subclasses__``, ``__globals__`` ...), use file or process APIs of the
allowed libraries (``read_csv``, ``to_parquet``, ``np.load``, ``spark.sql``), or reach into the
JVM (``_jvm``, ``_jdf``). Everything found is reported at once, with line numbers.

A model definition (``kind="model"``) may import only PyTorch, numpy and the standard modules
(:data:`KIND_MODULES`), and none of PyTorch's file, hub, JIT or C++ entry points: several of
them (``torch.from_file``, ``torch._C``'s zip reader) read files from C++, out of sight of the
sandbox's audit hook, so the allow-list is what keeps a rewrite from them.

>>> [str(v) for v in check_allowlist("import os")]
["line 1: module 'os' is not allowed (import)"]
>>> check_allowlist("from pyspark.sql import functions as F\\ndef prepare(m):\\n    return m")
[]
>>> [v.rule for v in check_allowlist("x = ().__class__.__bases__[0].__subclasses__()")]
['dunder', 'dunder', 'dunder']
>>> [str(v) for v in check_allowlist("import pandas", kind="model")]
["line 1: module 'pandas' is not allowed for a model definition (import)"]
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

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
#: Modules under an allowed root that still do I/O or load code.
DENIED_MODULES: frozenset[str] = frozenset({
    "spark_lester.session", "spark_lester.cli", "spark_lester.rewrite", "numpy.ctypeslib",
    "numpy.distutils", "numpy.f2py", "numpy.testing", "pandas.io", "torch.hub",
    "torch.utils.cpp_extension", "sklearn.datasets", "torch.package", "torch.jit",
    "torch.serialization", "torch.onnx", "torch.distributed", "torch.multiprocessing",
    "torch.utils.model_zoo", "torch._C",
})
#: Builtins that execute code, reach objects by string, or touch the outside world.
DENIED_NAMES: frozenset[str] = frozenset({
    "exec", "eval", "compile", "open", "__import__", "getattr", "setattr", "delattr",
    "hasattr", "globals", "locals", "vars", "input", "breakpoint", "help", "memoryview",
    "exit", "quit", "__builtins__", "__loader__", "__spec__", "copyright", "credits",
    "license", "type",
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
    "sparkSession", "sparkContext", "_jvm", "_jdf", "_jc", "_jsc", "_jcol", "_sc",
    "get_spark", "gi_frame", "gi_code", "f_globals", "f_locals", "f_back", "f_builtins",
    "cr_frame", "tb_frame", "func_globals", "lib", "ctypes", "hub", "modules",
    # PyTorch's by-name file access and code loading, and the modules it re-exports
    "from_file", "load_library", "load_inline", "load_state_dict_from_url", "_C", "jit",
    "package", "cpp_extension", "onnx", "serialization", "distributed", "multiprocessing",
    "os", "sys", "subprocess", "shutil", "importlib", "builtins", "socket", "pathlib",
    "pickle",
})


@dataclass(frozen=True)
class Violation:
    """One refused construct: where, which rule, what."""

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
    return root in ALLOWED_MODULES


class _Checker(ast.NodeVisitor):
    def __init__(self, kind: str | None = None) -> None:
        self.violations: list[Violation] = []
        self.kind = kind

    def _refused_module(self, node: ast.AST, name: str) -> None:
        where = " for a model definition" if self.kind == "model" else ""
        self._add(node, "import", f"module '{name}' is not allowed{where}")

    def _add(self, node: ast.AST, rule: str, detail: str) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), rule, detail))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not _module_allowed(alias.name, self.kind):
                self._refused_module(node, alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self._add(node, "import", "relative imports are not allowed")
        elif not _module_allowed(module, self.kind):
            self._refused_module(node, module)
        for alias in node.names:
            if alias.name == "*":
                self._add(node, "import", f"'from {module} import *' is not allowed")
            elif module == "pyspark.sql" and alias.name not in PYSPARK_SQL_NAMES:
                self._add(node, "import", f"'{alias.name}' from pyspark.sql is not allowed; "
                          "use spark_lester for data and pyspark.sql.functions for expressions")
            elif _module_allowed(module, self.kind) and \
                    not _module_allowed(f"{module}.{alias.name}", self.kind):
                self._add(node, "import", f"module '{module}.{alias.name}' is not allowed")
            elif alias.name in DENIED_NAMES or alias.name in DENIED_ATTRIBUTES:
                self._add(node, "import", f"'{alias.name}' may not be imported")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in DENIED_NAMES:
            self._add(node, "name", f"'{node.id}' is not allowed")
        elif node.id.startswith("__") and node.id != "__name__":
            self._add(node, "dunder", f"'{node.id}' is not allowed")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        if attr.startswith("__") and attr.endswith("__"):
            if not (attr == "__init__" and _is_super_call(node.value)):
                self._add(node, "dunder", f"attribute '{attr}' is not allowed")
        elif attr in DENIED_ATTRIBUTES:
            self._add(node, "attribute", f"attribute '{attr}' is not allowed (file, process "
                      "or JVM access; inputs arrive as arguments of prepare)")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self._add(node, "global", "'global' is not allowed; keep state inside functions")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._check_decorators(node)
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._add(node, "async", "async functions are not allowed")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for kw in node.keywords:
            if kw.arg == "metaclass":
                self._add(node, "class", "metaclasses are not allowed")
        self._check_decorators(node)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and "__" in node.value and _looks_dunder(node.value):
            self._add(node, "dunder", "string naming a dunder attribute is not allowed")

    def _check_decorators(self, node: ast.FunctionDef | ast.ClassDef) -> None:
        for dec in node.decorator_list:
            if isinstance(dec, ast.Name) and dec.id in DENIED_NAMES:
                self._add(dec, "name", f"decorator '{dec.id}' is not allowed")


def _is_super_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "super")


def _looks_dunder(text: str) -> bool:
    import re

    return re.search(r"__[A-Za-z_]+__", text) is not None


def check_allowlist(source: str | ast.AST, kind: str | None = None) -> list[Violation]:
    """Every allow-list violation in ``source`` (empty: allowed), for a rewrite of ``kind``
    (None: any kind's modules). Raises SyntaxError when ``source`` does not parse (the parse
    stage comes first)."""
    tree = ast.parse(source) if isinstance(source, str) else source
    checker = _Checker(kind)
    checker.visit(tree)
    return checker.violations
