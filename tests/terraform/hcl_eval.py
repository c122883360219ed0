"""A small evaluator of Terraform expressions, enough to compute what the module's IAM policy
documents grant for given variables, without `terraform init` (the provider registry is out of
reach here and in CI).

python-hcl2 parses the .tf files into a Lark tree; :class:`Module` evaluates attributes of that
tree: literals, strings with interpolation, tuples and objects, ``var.``/``local.``/``each.``
references, resource and data attributes, indexing, ``for`` expressions (with ``if``),
conditionals, comparisons and the functions the module uses. Resource attributes that only
exist after apply (ARNs, ids) are synthesized the way AWS forms them. Anything else raises
:class:`Unsupported`, so a construct the evaluator does not know is a failing test, never a
silently wrong policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ACCOUNT = "111122223333"
REGION = "eu-west-1"
PARTITION = "aws"


class Unsupported(Exception):
    """An expression form or function the evaluator does not implement."""


def _trees(node: Any) -> list[Any]:
    from lark import Tree

    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _name(node: Any) -> str:
    return str(node.children[0])


def _label(node: Any) -> str:
    """A block label: ``"aws_s3_bucket"`` (a string node) or a bare identifier."""
    if node.data == "identifier":
        return _name(node)
    return "".join(str(p.children[0]) for p in _trees(node))


def _body_items(body: Any) -> tuple[dict[str, Any], list[tuple[str, list[str], Any]]]:
    """Attributes (name -> expression tree) and blocks (type, labels, body) of a body."""
    attrs: dict[str, Any] = {}
    blocks: list[tuple[str, list[str], Any]] = []
    for item in _trees(body):
        if item.data == "attribute":
            ident, expr = _trees(item)
            attrs[_name(ident)] = expr
        elif item.data == "block":
            parts = _trees(item)
            blocks.append((_name(parts[0]), [_label(p) for p in parts[1:-1]], parts[-1]))
    return attrs, blocks


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "concat": lambda *lists: [x for xs in lists for x in xs],
    "values": lambda m: [m[k] for k in sorted(m)],
    "keys": lambda m: sorted(m),
    "compact": lambda xs: [x for x in xs if x not in (None, "")],
    "flatten": lambda xs: [y for x in xs for y in (x if isinstance(x, list) else [x])],
    "merge": lambda *ms: {k: v for m in ms for k, v in m.items()},
    "coalesce": lambda *xs: next(x for x in xs if x not in (None, "")),
    "trim": lambda s, chars: s.strip(chars),
    "trimsuffix": lambda s, suffix: s[: -len(suffix)] if suffix and s.endswith(suffix) else s,
    "distinct": lambda xs: list(dict.fromkeys(xs)),
    "lower": lambda s: s.lower(),
    "replace": lambda s, old, new: s.replace(old, new),
    "contains": lambda xs, x: x in xs,
    "length": len,
    "tostring": str,
    "one": lambda xs: xs[0] if xs else None,
    "can": lambda _x: True,
    "jsonencode": lambda x: __import__("json").dumps(x),
    "abspath": lambda p: __import__("os").path.abspath(p),
    "pathexpand": lambda p: __import__("os").path.expanduser(p),
    "startswith": lambda s, prefix: s.startswith(prefix),
    "endswith": lambda s, suffix: s.endswith(suffix),
}


class Module:
    """The .tf files of one folder, evaluated for ``variables`` (defaults filled in)."""

    def __init__(self, folder: Path, variables: Mapping[str, Any] | None = None,
                 *, text_override: Mapping[str, str] | None = None,
                 files: Mapping[str, str] | None = None) -> None:
        import hcl2

        self.folder = folder
        self.files = dict(files or {})
        self.variables: dict[str, Any] = {}
        self.locals: dict[str, Any] = {}
        self.blocks: dict[tuple[str, str, str], Any] = {}
        self._local_cache: dict[str, Any] = {}
        defaults: dict[str, Any] = {}
        non_null: set[str] = set()
        for path in sorted(folder.glob("*.tf")):
            text = (text_override or {}).get(path.name, path.read_text(encoding="utf-8"))
            tree = hcl2.parses_to_tree(text)
            _, blocks = _body_items(_trees(tree)[0])
            for kind, labels, body in blocks:
                attrs, _ = _body_items(body)
                if kind == "variable":
                    defaults[labels[0]] = attrs.get("default")
                    if "nullable" in attrs and self.eval(attrs["nullable"], {}) is False:
                        non_null.add(labels[0])
                elif kind == "locals":
                    self.locals.update(attrs)
                elif kind in ("resource", "data", "module"):
                    self.blocks[(kind, labels[0], labels[-1])] = body
        given = dict(variables or {})
        unknown = set(given) - set(defaults)
        if unknown:
            raise KeyError(f"no such variables in {folder}: {sorted(unknown)}")
        for name, tree in defaults.items():
            if name in given and not (given[name] is None and name in non_null):
                self.variables[name] = given[name]  # null for a nullable = false input: default
            elif tree is not None:
                self.variables[name] = self.eval(tree, {})
            else:
                self.variables[name] = None

    # --- values of blocks -------------------------------------------------------------------

    def local(self, name: str) -> Any:
        if name not in self._local_cache:
            self._local_cache[name] = self.eval(self.locals[name], {})
        return self._local_cache[name]

    def block(self, kind: str, type_: str, name: str) -> tuple[dict[str, Any], list[Any]]:
        return _body_items(self.blocks[(kind, type_, name)])

    def instances(self, type_: str, name: str) -> Any:
        """A resource's value: one object, or key -> object with ``for_each``."""
        attrs, _ = self.block("resource", type_, name)
        if "for_each" in attrs:
            each = self.eval(attrs["for_each"], {})
            if isinstance(each, list):
                each = {k: k for k in each}
            return {k: _Resource(self, type_, attrs, {"key": k, "value": v})
                    for k, v in each.items()}
        if "count" in attrs:
            return [_Resource(self, type_, attrs, {}) for _ in range(self.eval(attrs["count"], {}))]
        return _Resource(self, type_, attrs, {})

    def data(self, type_: str, name: str) -> Any:
        fixed = {"aws_caller_identity": {"account_id": ACCOUNT},
                 "aws_partition": {"partition": PARTITION},
                 "aws_region": {"name": REGION, "region": REGION}}
        if type_ in fixed:
            return fixed[type_]
        if type_ == "aws_iam_policy_document":
            return {"json": f"<policy {name}>"}
        raise Unsupported(f"data.{type_}")

    def policy(self, name: str, each: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The statements of ``data "aws_iam_policy_document" name``, evaluated."""
        _, blocks = self.block("data", "aws_iam_policy_document", name)
        scope = {"each": dict(each)} if each else {}
        out = []
        for kind, _labels, body in blocks:
            if kind != "statement":
                raise Unsupported(f"policy document block {kind}")
            attrs, inner = _body_items(body)
            statement = {k: self.eval(v, scope) for k, v in attrs.items()}
            statement.setdefault("effect", "Allow")
            statement["conditions"] = [
                {k: self.eval(v, scope) for k, v in _body_items(b)[0].items()}
                for kind2, _l, b in inner if kind2 == "condition"]
            statement["principals"] = [
                {k: self.eval(v, scope) for k, v in _body_items(b)[0].items()}
                for kind2, _l, b in inner if kind2 == "principals"]
            out.append(statement)
        return out

    # --- expressions --------------------------------------------------------------------------

    def eval(self, node: Any, scope: Mapping[str, Any]) -> Any:
        kind = node.data
        kids = _trees(node)
        if kind in ("expr_term", "object_elem_key") or (kind == "expression" and len(kids) == 1):
            if not kids:  # parenthesised or bare token
                raise Unsupported(f"empty {kind}")
            return self.eval(kids[0], scope)
        if kind == "int_lit":
            return int(str(node.children[0]))
        if kind == "float_lit":
            return float(str(node.children[0]))
        if kind == "literal_value":
            return {"true": True, "false": False, "null": None}[str(node.children[0])]
        if kind == "string":
            parts = [self._string_part(p, scope) for p in kids]
            if len(parts) == 1 and not isinstance(parts[0], str):
                return parts[0]  # "${x}" keeps x's type
            return "".join("" if p is None else str(p) for p in parts)
        if kind == "tuple":
            return [self.eval(k, scope) for k in kids]
        if kind == "object":
            out = {}
            for elem in kids:
                key_node, value = _trees(elem)
                inner = _trees(key_node)[0]
                while inner.data == "expr_term" and _trees(inner):
                    inner = _trees(inner)[0]
                key = _name(inner) if inner.data == "identifier" else self.eval(key_node, scope)
                out[key] = self.eval(value, scope)
            return out
        if kind == "identifier":
            return self._root(_name(node), scope)
        if kind == "get_attr_expr_term":
            base, attr = kids
            return self._attr(base, _name(_trees(attr)[0]), scope)
        if kind == "index_expr_term":
            base, index = kids
            value = self.eval(base, scope)
            key = self.eval(_trees(index)[0], scope)
            return value[key]
        if kind == "attr_splat_expr_term" or kind == "full_splat_expr_term":
            raise Unsupported("splat")
        if kind == "function_call":
            fname = _name(kids[0])
            args = [self.eval(a, scope) for a in (_trees(kids[1]) if len(kids) > 1 else [])]
            if fname == "file":  # files the test provides, by base name (no bundle here)
                return self.files[Path(args[0]).name]
            if fname == "jsondecode":
                return __import__("json").loads(args[0])
            if fname not in _FUNCTIONS:
                raise Unsupported(f"function {fname}()")
            return _FUNCTIONS[fname](*args)
        if kind in ("for_tuple_expr", "for_object_expr"):
            return self._for(node, scope)
        if kind == "conditional":
            cond, yes, no = kids
            return self.eval(yes if self.eval(cond, scope) else no, scope)
        if kind == "binary_op":
            left, term = kids
            op_node, right = _trees(term)
            return _binary(str(op_node.children[0]), self.eval(left, scope),
                           self.eval(right, scope))
        if kind == "unary_op":
            op = str(node.children[0])
            value = self.eval(kids[0], scope)
            return (not value) if op == "!" else -value
        raise Unsupported(kind)

    def _string_part(self, part: Any, scope: Mapping[str, Any]) -> Any:
        inner = _trees(part)
        if not inner:
            return str(part.children[0])
        if inner[0].data == "interpolation":
            return self.eval(_trees(inner[0])[0], scope)
        raise Unsupported(f"string part {inner[0].data}")

    def _root(self, name: str, scope: Mapping[str, Any]) -> Any:
        if name in scope:
            return scope[name]
        if name in ("var", "local", "data", "path", "module") or name.startswith("aws_"):
            return _Ref(self, name)
        raise Unsupported(f"reference {name}")

    def _attr(self, base: Any, attr: str, scope: Mapping[str, Any]) -> Any:
        value = self.eval(base, scope)
        if isinstance(value, _Ref):
            return value.get(attr)
        if isinstance(value, _Resource):
            return value.get(attr)
        if isinstance(value, Mapping):
            return value[attr]
        raise Unsupported(f".{attr} of {type(value).__name__}")

    def _for(self, node: Any, scope: Mapping[str, Any]) -> Any:
        kids = _trees(node)
        intro = kids[0]
        names = [_name(i) for i in _trees(intro) if i.data == "identifier"]
        source = self.eval([i for i in _trees(intro) if i.data != "identifier"][0], scope)
        cond = next((k for k in kids if k.data == "for_cond"), None)
        body = [k for k in kids[1:] if k.data != "for_cond"]
        items = source.items() if isinstance(source, Mapping) else enumerate(source)
        out_list, out_map = [], {}
        for key, value in items:
            inner = dict(scope)
            if len(names) == 2:
                inner[names[0]], inner[names[1]] = key, value
            else:
                inner[names[0]] = value
            if cond is not None and not self.eval(_trees(cond)[0], inner):
                continue
            if node.data == "for_tuple_expr":
                out_list.append(self.eval(body[0], inner))
            else:
                out_map[self.eval(body[0], inner)] = self.eval(body[1], inner)
        return out_list if node.data == "for_tuple_expr" else out_map


def _binary(op: str, left: Any, right: Any) -> Any:
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "&&": lambda a, b: a and b,
        "||": lambda a, b: a or b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, "<": lambda a, b: a < b, "+": lambda a, b: a + b,
        "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    }
    if op not in ops:
        raise Unsupported(f"operator {op}")
    return ops[op](left, right)


class _Ref:
    """``var``, ``local``, ``data``, a resource type: resolved one attribute at a time."""

    def __init__(self, module: Module, root: str, path: tuple[str, ...] = ()) -> None:
        self.module, self.root, self.path = module, root, path

    def get(self, attr: str) -> Any:
        m = self.module
        if self.root == "var":
            return m.variables[attr]
        if self.root == "local":
            return m.local(attr)
        if self.root == "path":
            return str(m.folder)
        if self.root == "data":
            if not self.path:
                return _Ref(m, "data", (attr,))
            return m.data(self.path[0], attr)
        if self.root.startswith("aws_"):
            return m.instances(self.root, attr)
        raise Unsupported(f"{self.root}.{attr}")


class _Resource:
    """One resource instance: arguments evaluated from its body, ARNs and ids synthesized."""

    def __init__(self, module: Module, type_: str, attrs: Mapping[str, Any],
                 each: Mapping[str, Any]) -> None:
        self.module, self.type, self.attrs, self.each = module, type_, attrs, each

    def arg(self, name: str) -> Any:
        return self.module.eval(self.attrs[name], {"each": dict(self.each)} if self.each else {})

    def get(self, attr: str) -> Any:
        if attr in self.attrs:
            return self.arg(attr)
        if self.type == "aws_s3_bucket":
            bucket = self.arg("bucket")
            return {"id": bucket, "arn": f"arn:{PARTITION}:s3:::{bucket}", "bucket": bucket}[attr]
        if self.type in ("aws_iam_role", "aws_iam_instance_profile"):
            name = self.arg("name")
            kind = "role" if self.type == "aws_iam_role" else "instance-profile"
            return {"name": name, "id": name,
                    "arn": f"arn:{PARTITION}:iam::{ACCOUNT}:{kind}/{name}"}[attr]
        if attr in ("id", "arn", "name"):
            return f"<{self.type}.{attr}>"
        raise Unsupported(f"{self.type}.{attr}")
