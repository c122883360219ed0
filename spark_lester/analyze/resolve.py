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
import re
from collections.abc import Iterator
from typing import Any

_MAX_DEPTH = 25


class Placeholder(str):
    """A value that could not be resolved, spelled ``{source text}``."""


def placeholder(node: ast.AST) -> Placeholder:
    try:
        text = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse of odd nodes
        text = type(node).__name__
    m = re.match(r"^\w+\[['\"](.+)['\"]\]$", text)  # args['input'] -> {input}
    if m:
        text = m.group(1)
    return Placeholder("{" + text + "}")


class Resolver:
    """Evaluates expressions of one parsed module; build once per file."""

    def __init__(self, tree: ast.AST) -> None:
        self.parents: dict[int, ast.AST] = {}
        self.assigns: dict[str, list[tuple[int, int, ast.AST]]] = {}
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
        for entries in self.assigns.values():
            entries.sort(key=lambda e: e[0])

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

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(id(node))

    def lookup(self, name: str, at: ast.AST) -> ast.AST | None:
        """The expression last assigned to ``name`` before ``at`` (same function first)."""
        entries = self.assigns.get(name)
        if not entries:
            return None
        line = getattr(at, "lineno", 10**9)
        func = self.function_of(at)
        scope = id(func) if func else 0
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
            target = self.lookup(node.id, node)
            if target is None or target is node:
                return placeholder(node)
            return self.value(target, d)
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
            if isinstance(base, dict) and not isinstance(key, Placeholder) and key in base:
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
        if name == "dict" and not node.args:
            return {k.arg: self.value(k.value, d) for k in node.keywords if k.arg}
        if isinstance(func, ast.Attribute) and func.attr in ("strip", "rstrip", "lstrip", "lower", "upper"):
            base = self.value(func.value, d)
            if isinstance(base, str) and not isinstance(base, Placeholder):
                arg = self.value(node.args[0], d) if node.args else None
                return getattr(base, func.attr)(*([arg] if isinstance(arg, str) else []))
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
