"""Resolve string expressions in Python source without running it.

Constants, f-strings, ``str.format``, ``%``-formatting, ``+`` concatenation,
``os.path.join``/``"/".join`` and dictionary look-ups are evaluated from the assignments in
the module (the latest assignment before the use, in the same function, else at module
level). Whatever cannot be known statically becomes a placeholder ``{name}`` (the source
text of the expression) and is kept, never dropped. Jinja templates are plain strings here;
:func:`~spark_lester.analyze.locations.normalize_uri` spaces them.

>>> import ast
>>> tree = ast.parse('BUCKET = "lake"\\npath = f"s3://{BUCKET}/raw/{run_date}/" + "x"')
>>> Resolver(tree).value(tree.body[1].value)
's3://lake/raw/{run_date}/x'
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

_MAX_DEPTH = 25


class Placeholder(str):
    """A value that could not be resolved, spelled ``{source text}``."""


class FileText(Placeholder):
    """The text of a file read while the DAG is parsed (``open("sql/x.sql").read()``)."""

    path: str

    def __new__(cls, path: str) -> FileText:  # noqa: PYI034 - a str subclass built from another value
        obj = super().__new__(cls, "{file " + path + "}")
        obj.path = path
        return obj


def placeholder(node: ast.AST) -> Placeholder:
    try:
        text = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse of odd nodes
        text = type(node).__name__
    m = re.match(r"^\w+\[['\"](.+)['\"]\]$", text)  # args['input'] -> {input}
    if m:
        text = m.group(1)
    return Placeholder("{" + text + "}")


#: Finds the resolver of another module of the same repository by its dotted name.
ModuleLookup = Callable[[str], "Resolver | None"]


class Resolver:
    """Evaluates expressions of one parsed module; build once per file.

    ``file`` is the module's path in the repository (for ``__file__``); ``modules`` finds other
    modules of the repository, so ``import config; config.BUCKET`` and ``from config import
    BUCKET`` resolve to the constant assigned there.
    """

    def __init__(self, tree: ast.AST, *, file: str | None = None, modules: ModuleLookup | None = None) -> None:
        self.tree = tree
        self.file = file
        self.modules = modules
        self.parents: dict[int, ast.AST] = {}
        self.assigns: dict[str, list[tuple[int, int, ast.AST]]] = {}
        self.items: dict[str, list[tuple[int, int, ast.AST | None, ast.AST]]] = {}  # X["k"] = v, X.update()
        self.imports: dict[str, tuple[str, str | None]] = {}  # local name -> (module, attribute)
        self.bindings: dict[int, dict[str, ast.AST]] = {}  # function -> parameter -> argument
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[id(child)] = parent
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        self._add(target.id, node, node.value)
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        for t, v in zip(target.elts, node.value.elts, strict=False):
                            if isinstance(t, ast.Name):
                                self._add(t.id, node, v)
                    elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                        self._item(target.value.id, node, target.slice, node.value)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                    and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "update" \
                    and isinstance(node.value.func.value, ast.Name) and len(node.value.args) == 1:
                self._item(node.value.func.value.id, node, None, node.value.args[0])
            elif isinstance(node, ast.Import):
                for a in node.names:
                    self.imports[a.asname or a.name.split(".")[0]] = (a.name if a.asname else a.name.split(".")[0], None)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    self.imports[a.asname or a.name] = (node.module, a.name)
        for entries in self.assigns.values():
            entries.sort(key=lambda e: e[0])

    def _item(self, name: str, stmt: ast.AST, key: ast.AST | None, value: ast.AST) -> None:
        scope = id(self.function_of(stmt)) if self.function_of(stmt) else 0
        self.items.setdefault(name, []).append((getattr(stmt, "lineno", 0), scope, key, value))

    def bind(self, func: ast.AST, arguments: Mapping[str, ast.AST]) -> None:
        """Resolve ``func``'s parameters to these argument expressions (one level of inlining)."""
        self.bindings[id(func)] = dict(arguments)

    def unbind(self, func: ast.AST) -> None:
        self.bindings.pop(id(func), None)

    def module_value(self, module: str, name: str, depth: int) -> Any:
        """The value of ``name`` assigned at the top of another module of the repository."""
        other = self.modules(module) if self.modules else None
        if other is None or other is self:
            return None
        entries = [v for _, scope, v in other.assigns.get(name, []) if scope == 0]
        if not entries:
            return None
        return other.value(entries[-1], depth + 1)

    def _add(self, name: str, stmt: ast.AST, value: ast.AST) -> None:
        scope = id(self.function_of(stmt)) if self.function_of(stmt) else 0
        self.assigns.setdefault(name, []).append((getattr(stmt, "lineno", 0), scope, value))

    def function_of(self, node: ast.AST) -> ast.AST | None:
        cur = self.parents.get(id(node))
        while cur is not None:
            if isinstance(cur, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return cur
            cur = self.parents.get(id(cur))
        return None

    def _parameter(self, func: ast.AST, name: str) -> ast.AST | None:
        args = getattr(func, "args", None)
        if not isinstance(args, ast.arguments):
            return None
        bound = self.bindings.get(id(func), {})
        if name in bound:
            return bound[name]
        positional = args.posonlyargs + args.args
        defaults = dict(zip([a.arg for a in positional][len(positional) - len(args.defaults):], args.defaults,
                            strict=False))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=False) if d is not None})
        return defaults.get(name)

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(id(node))

    def lookup(self, name: str, at: ast.AST) -> ast.AST | None:
        """The expression last assigned to ``name`` before ``at`` (same function first).

        A parameter of an enclosing function resolves to the argument bound by :meth:`bind`
        (``op_kwargs``, the one call site of a helper), else to its default value.
        """
        line = getattr(at, "lineno", 10**9)
        func = self.function_of(at)
        scope = id(func) if func else 0
        entries = self.assigns.get(name) or []
        if func is not None and not any(s == scope and n < line for n, s, _ in entries):
            param = self._parameter(func, name)
            if param is not None:
                return param
        if not entries:
            return None
        for wanted in ([scope, 0] if scope else [0]):
            best = None
            for lineno, s, value in entries:
                if s == wanted and (lineno < line or wanted != scope):
                    best = value
            if best is not None:
                return best
        return None

    # -- evaluation -------------------------------------------------------------------------
    def value(self, node: ast.AST | None, depth: int = 0) -> Any:
        """The Python value of ``node``; unknown parts are :class:`Placeholder` strings."""
        if node is None:
            return None
        if depth > _MAX_DEPTH:
            return placeholder(node)
        d = depth + 1
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.JoinedStr):
            out = []
            for part in node.values:
                if isinstance(part, ast.Constant):
                    out.append(str(part.value))
                elif isinstance(part, ast.FormattedValue):
                    out.append(self.text(part.value, d))
            return "".join(out)
        if isinstance(node, ast.Name):
            if node.id == "__file__" and self.file:
                return self.file
            target = self.lookup(node.id, node)
            if target is None or target is node:
                imported = self.imports.get(node.id)
                if imported and imported[1]:  # from config import BUCKET
                    value = self.module_value(imported[0], imported[1], d)
                    if value is not None:
                        return value
                return placeholder(node)
            return self._mutated(node, self.value(target, d), d)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, d)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items: list[Any] = []
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    inner = self.value(elt.value, d)
                    items.extend(inner if isinstance(inner, list) else [inner])
                else:
                    items.append(self.value(elt, d))
            return items
        if isinstance(node, ast.Dict):
            out_d: dict[Any, Any] = {}
            for k, v in zip(node.keys, node.values, strict=False):
                if k is None:  # {**base, ...}
                    base = self.value(v, d)
                    if isinstance(base, dict):
                        out_d.update(base)
                    continue
                key = self.value(k, d)
                if isinstance(key, (str, int, float, bool)) or key is None:
                    out_d[key] = self.value(v, d)
            return out_d
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add):
                left, right = self.value(node.left, d), self.value(node.right, d)
                if isinstance(left, list) and isinstance(right, list):
                    return left + right
                if isinstance(left, (int, float)) and isinstance(right, (int, float)):
                    return left + right
                return self._s(left, node.left) + self._s(right, node.right)
            if isinstance(node.op, ast.Mod):
                return self._percent(node, d)
            if isinstance(node.op, ast.Div):  # pathlib: Path(x) / "y"
                left = self.value(node.left, d)
                if isinstance(left, str):
                    return left.rstrip("/") + "/" + self._s(self.value(node.right, d), node.right)
            if isinstance(node.op, ast.Mult):
                left, right = self.value(node.left, d), self.value(node.right, d)
                if isinstance(left, (int, float)) and isinstance(right, (int, float)):
                    return left * right
            return placeholder(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.value(node.operand, d)
            return -inner if isinstance(inner, (int, float)) else placeholder(node)
        if isinstance(node, ast.Subscript):
            base = self.value(node.value, d)
            key = self.value(node.slice, d)
            if isinstance(base, dict) and not isinstance(key, Placeholder) and _has_key(base, key):
                return base[key]
            if isinstance(base, list) and isinstance(key, int) and -len(base) <= key < len(base):
                return base[key]
            if isinstance(key, str) and not isinstance(key, Placeholder):
                return Placeholder("{" + key + "}")
            return placeholder(node)
        if isinstance(node, ast.Call):
            return self._call(node, d)
        if isinstance(node, ast.IfExp):  # a default beats an unknown: argv[2] if ... else "s3://..."
            body, orelse = self.value(node.body, d), self.value(node.orelse, d)
            if isinstance(body, Placeholder) and not isinstance(orelse, Placeholder):
                return orelse
            return body
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):  # x or "default"
            values = [self.value(v, d) for v in node.values]
            known = [v for v in values if not isinstance(v, Placeholder) and v]
            return known[-1] if known else values[0]
        return placeholder(node)

    def _returned(self, name: str, call: ast.Call, d: int) -> Any:
        """The value a one-line helper returns for these arguments (one level of inlining)."""
        func = next((n for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef) and n.name == name), None)
        if func is None or id(func) in self.bindings or self.function_of(call) is func:
            return None
        expr = _single_return(func)
        if expr is None:
            return None
        params = [a.arg for a in func.args.posonlyargs + func.args.args]
        bound = dict(zip(params, call.args, strict=False))
        bound.update({k.arg: k.value for k in call.keywords if k.arg})
        self.bind(func, bound)
        try:
            value = self.value(expr, d)
        finally:
            self.unbind(func)
        return None if isinstance(value, Placeholder) and not isinstance(value, FileText) else value

    def _mutated(self, name: ast.Name, value: Any, d: int) -> Any:
        """A dict with the items set after its literal and before ``name``: ``X["k"] = v``."""
        items = self.items.get(name.id)
        if not isinstance(value, dict) or not items:
            return value
        value = dict(value)
        line = getattr(name, "lineno", 10**9)
        func = self.function_of(name)
        for lineno, scope, key, item in items:
            if lineno >= line or scope not in (0, id(func) if func else 0):
                continue
            if key is None:
                update = self.value(item, d)
                if isinstance(update, dict):
                    value.update(update)
                continue
            k = self.value(key, d)
            if isinstance(k, (str, int)) and not isinstance(k, Placeholder):
                value[k] = self.value(item, d)
        return value

    def _attribute(self, node: ast.Attribute, d: int) -> Any:
        if isinstance(node.value, ast.Name) and node.value.id in self.imports \
                and self.lookup(node.value.id, node) is None:  # import config; config.BUCKET
            module, attr = self.imports[node.value.id]
            value = self.module_value(f"{module}.{attr}" if attr else module, node.attr, d)
            if value is not None:
                return value
        if node.attr in ("stem", "name", "parent", "suffix"):  # Path(__file__).stem
            base = self.value(node.value, d)
            if isinstance(base, str) and not isinstance(base, Placeholder):
                path = PurePosixPath(base)
                return str(getattr(path, node.attr))
        return placeholder(node)

    def text(self, node: ast.AST | None, depth: int = 0) -> str:
        """The value of ``node`` as a string (placeholders for whatever is not a string)."""
        return self._s(self.value(node, depth), node)

    def _s(self, value: Any, node: ast.AST | None) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return placeholder(node) if node is not None else "{?}"

    def _percent(self, node: ast.BinOp, d: int) -> str:
        fmt = self.value(node.left, d)
        if not isinstance(fmt, str):
            return placeholder(node)
        args = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
        values = iter([self.text(a, d) for a in args])
        return re.sub(r"%[sdr]", lambda m: next(values, "{?}"), fmt)

    def _call(self, node: ast.Call, d: int) -> Any:
        func = node.func
        name = call_name(node)
        if isinstance(func, ast.Attribute) and func.attr == "format":
            fmt = self.value(func.value, d)
            if isinstance(fmt, str):
                pos = [self.text(a, d) for a in node.args]
                kw = {k.arg: self.text(k.value, d) for k in node.keywords if k.arg}
                return _format(fmt, pos, kw)
        if isinstance(func, ast.Attribute) and func.attr == "join" and len(node.args) == 1:
            sep = self.value(func.value, d)
            parts = self.value(node.args[0], d)
            if isinstance(sep, str) and isinstance(parts, list):
                return sep.join(self._s(p, None) for p in parts)
        if name in ("os.path.join", "posixpath.join", "path.join", "join", "urljoin"):
            parts = [self.text(a, d).strip("/") if i else self.text(a, d).rstrip("/")
                     for i, a in enumerate(node.args)]
            return "/".join(p for p in parts if p)
        if name in ("Path", "pathlib.Path", "PurePosixPath", "str") and len(node.args) == 1:
            return self.value(node.args[0], d)
        if isinstance(func, ast.Attribute) and func.attr in ("read", "read_text") and not node.args:
            opened = func.value  # open("sql/x.sql").read(), Path("sql/x.sql").read_text()
            if isinstance(opened, ast.Call) and opened.args and call_name(opened) in (
                    "open", "io.open", "Path", "pathlib.Path") or func.attr == "read_text" and isinstance(opened, ast.Call):
                path = self.value(opened.args[0], d) if isinstance(opened, ast.Call) and opened.args else None
                if isinstance(path, str) and not isinstance(path, Placeholder):
                    return FileText(path)
        if isinstance(func, ast.Name) and d < _MAX_DEPTH // 2:
            returned = self._returned(func.id, node, d)
            if returned is not None:
                return returned
        if name == "dict" and not node.args:
            return {k.arg: self.value(k.value, d) for k in node.keywords if k.arg}
        if isinstance(func, ast.Attribute) and func.attr in ("strip", "rstrip", "lstrip", "lower", "upper",
                                                            "replace", "removesuffix", "removeprefix"):
            base = self.value(func.value, d)
            if isinstance(base, str) and not isinstance(base, Placeholder):
                args = [self.value(a, d) for a in node.args]
                if all(isinstance(a, str) for a in args) and (func.attr != "replace" or len(args) == 2):
                    return getattr(base, func.attr)(*args)
        if name in ("os.path.basename", "path.basename", "basename", "os.path.dirname", "path.dirname",
                    "dirname") and len(node.args) == 1:
            base = self.value(node.args[0], d)
            if isinstance(base, str) and not isinstance(base, Placeholder):
                return posixpath.basename(base) if name.endswith("basename") else posixpath.dirname(base)
        if name in ("os.path.splitext", "path.splitext", "splitext") and len(node.args) == 1:
            base = self.value(node.args[0], d)
            if isinstance(base, str) and not isinstance(base, Placeholder):
                return list(posixpath.splitext(base))
        if name in ("timedelta", "datetime.timedelta"):
            kw = {k.arg: self.value(k.value, d) for k in node.keywords if k.arg}
            if all(isinstance(v, (int, float)) for v in kw.values()):
                return {"timedelta": kw}
        # Variable.get("bucket"), os.environ.get("X"), os.getenv("X") -> {bucket}
        if isinstance(func, ast.Attribute) and func.attr in ("get", "getenv") and node.args:
            key = self.value(node.args[0], d)
            if isinstance(key, str) and not isinstance(key, Placeholder):
                default = self.value(node.args[1], d) if len(node.args) > 1 else None
                if name.startswith(("os.", "environ")) and isinstance(default, str):
                    return default
                base = self.value(func.value, d)
                if isinstance(base, dict) and key in base:
                    return base[key]
                return Placeholder("{" + key + "}")
        return placeholder(node)


def _single_return(func: ast.FunctionDef) -> ast.expr | None:
    body = [b for b in func.body if not (isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant))]
    if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
        return body[0].value
    # local names assigned straight before the return: host = "..."; return "x://%s" % host
    if len(body) > 1 and isinstance(body[-1], ast.Return) and body[-1].value is not None and all(
            isinstance(b, ast.Assign) and all(isinstance(t, ast.Name) for t in b.targets) for b in body[:-1]):
        return body[-1].value
    if len(body) == 1 and isinstance(body[0], ast.With) and len(body[0].body) == 1 \
            and isinstance(body[0].body[0], ast.Return) and isinstance(body[0].items[0].context_expr, ast.Call):
        # with open(path) as f: return f.read()
        ret, item = body[0].body[0].value, body[0].items[0]
        if isinstance(ret, ast.Call) and isinstance(ret.func, ast.Attribute) and ret.func.attr == "read" \
                and isinstance(ret.func.value, ast.Name) and isinstance(item.optional_vars, ast.Name) \
                and ret.func.value.id == item.optional_vars.id:
            return ast.Call(ast.Attribute(item.context_expr, "read", ast.Load()), [], [])
    return None


def _format(fmt: str, pos: list[str], kw: dict[str, str]) -> str:
    counter = iter(range(1000))

    def repl(m: re.Match[str]) -> str:
        field = m.group(1).split("!")[0].split(":")[0]
        if field == "":
            i = next(counter)
            return pos[i] if i < len(pos) else "{" + str(i) + "}"
        if field.isdigit():
            i = int(field)
            return pos[i] if i < len(pos) else "{" + field + "}"
        return kw.get(field, "{" + field + "}")

    # {{ ... }} in a .format string is an escaped brace (Jinja after formatting).
    out, i = [], 0
    for m in re.finditer(r"\{\{|\}\}|\{([^{}]*)\}", fmt):
        out.append(fmt[i:m.start()])
        tok = m.group(0)
        out.append(tok[0] if tok in ("{{", "}}") else repl(m))
        i = m.end()
    out.append(fmt[i:])
    return "".join(out)


def call_name(node: ast.Call | ast.AST) -> str:
    """Dotted name of a call's function: ``spark.read.csv`` for ``spark.read.csv(...)``."""
    func = node.func if isinstance(node, ast.Call) else node
    parts: list[str] = []
    while True:
        if isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        elif isinstance(func, ast.Name):
            parts.append(func.id)
            break
        elif isinstance(func, ast.Call):
            func = func.func
            parts.append("()")
        else:
            break
    return ".".join(p for p in reversed(parts) if p != "()")


def chain(node: ast.AST) -> Iterator[ast.AST]:
    """The receivers of a method chain, innermost call last: ``a.b(x).c()`` -> c, b, a."""
    cur: ast.AST | None = node
    while cur is not None:
        yield cur
        if isinstance(cur, ast.Call):
            cur = cur.func
        elif isinstance(cur, ast.Attribute):
            cur = cur.value
        else:
            cur = None


def _has_key(mapping: dict, key: Any) -> bool:
    """``key in mapping``, false for a key no dict can hold (``CFG[[1, x]]``: a list)."""
    try:
        return key in mapping
    except TypeError:
        return False
