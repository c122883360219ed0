"""Every resource and data block of terraform/ uses arguments and nested blocks that the AWS
provider has, and sets the ones it requires: checked against the provider's schema without
`terraform init` (the registry is not reachable here or in CI).

The schema comes from PyPI: cdktf-cdktf-provider-aws 19.65.1 is generated from the
hashicorp/aws 5.99.1 provider schema (the 5.x line terraform/versions.tf allows). Its Python
sources are read with ``ast``, never imported (importing needs jsii's Node runtime): the
resource class's keyword arguments are the schema's arguments and blocks (those without a
default are required), and each nested block is a struct class with its own arguments.
``test_planted_mistakes_are_caught`` shows the check failing on misspelt arguments.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from spark_lester.config import project_root

hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is in the dev extra")

TERRAFORM = project_root() / "terraform"
PROVIDER_VERSION = "5.99.1"
META = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"}
_NOT_ARGS = {"self", "scope", "id_", "connection", "count", "depends_on", "for_each",
             "lifecycle", "provider", "provisioners"}


@cache
def _package_dir() -> Path:
    try:
        dist = metadata.distribution("cdktf-cdktf-provider-aws")
    except metadata.PackageNotFoundError:
        pytest.fail("cdktf-cdktf-provider-aws (the AWS provider schema) is in the dev extra: "
                    "bash dev.sh installs it")
    return Path(str(dist.locate_file("cdktf_cdktf_provider_aws")))


@cache
def _classes(folder: str) -> dict[str, ast.ClassDef]:
    path = _package_dir() / folder / "__init__.py"
    if not path.exists():
        raise AssertionError(f"the AWS provider has no {folder} (no {path.name} in {path.parent})")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _init_args(cls: ast.ClassDef) -> dict[str, tuple[bool, str]]:
    """name -> (required, annotation source) of the class's keyword-only arguments."""
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    args = init.args
    out = {}
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if arg.arg not in _NOT_ARGS:
            out[arg.arg] = (default is None, ast.unparse(arg.annotation or ast.Constant("")))
    return out


@cache
def schema(kind: str, type_: str) -> dict[str, Any]:
    """{"args": {name: required}, "blocks": {name: schema}} of a resource or data source."""
    folder = type_.removeprefix("aws_") if kind == "resource" else f"data_{type_}"
    classes = _classes(folder)
    main = next(c for c in classes.values()
                if any(isinstance(n, ast.FunctionDef) and n.name == "__init__"
                       and any(a.arg == "scope" for a in n.args.args) for n in c.body))
    doc = ast.get_docstring(main) or ""
    assert f"hashicorp/aws/{PROVIDER_VERSION}/" in doc, doc[:200]
    return _struct(classes, _init_args(main))


def _struct(classes: dict[str, ast.ClassDef], args: dict[str, tuple[bool, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"args": {}, "blocks": {}}
    for name, (required, annotation) in args.items():
        nested = [c for c in re.findall(r"'(\w+)'|\"(\w+)\"", annotation) for c in c if c]
        nested = [c for c in nested if c in classes]
        if nested:
            out["blocks"][name] = _struct(classes, _init_args(classes[nested[0]]))
            out["blocks"][name]["required"] = required
        else:
            out["args"][name] = required
    return out


def _clean(node: Any) -> Any:
    from tests.terraform.test_terraform_structure import _clean as clean

    return clean(node)


def _blocks(text: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(kind, type, name, body) of every resource and data block of a .tf file's text."""
    doc = _clean(hcl2.loads(text))
    out = []
    for kind in ("resource", "data"):
        for block in doc.get(kind, []):
            for type_, named in block.items():
                for name, body in named.items():
                    out.append((kind, type_, name, body))
    return out


def problems(body: dict[str, Any], spec: dict[str, Any], where: str) -> list[str]:
    """What in ``body`` the schema ``spec`` does not allow, and what it requires but lacks."""
    found = []
    present = set(body)
    for dyn in body.get("dynamic", []) or []:
        for block_name, content in dyn.items():
            present.add(block_name)
            inner = content.get("content", [{}])
            inner = inner[0] if isinstance(inner, list) else inner
            if block_name not in spec["blocks"]:
                found.append(f"{where}: dynamic block {block_name} is not in the schema")
            else:
                found += problems(inner, spec["blocks"][block_name], f"{where}.{block_name}")
    for key, value in body.items():
        if key in META or key == "dynamic":
            continue
        if key in spec["args"]:
            continue
        if key in spec["blocks"]:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    found += problems(item, spec["blocks"][key], f"{where}.{key}")
            continue
        found.append(f"{where}: {key} is not an argument or block of the provider")
    for key, required in spec["args"].items():
        if required and key not in present:
            found.append(f"{where}: required argument {key} is missing")
    for key, sub in spec["blocks"].items():
        if sub.get("required") and key not in present:
            found.append(f"{where}: required block {key} is missing")
    return found


def check(files: dict[str, str]) -> list[str]:
    found = []
    for rel, text in files.items():
        for kind, type_, name, body in _blocks(text):
            found += problems(body, schema(kind, type_), f"{rel}: {kind}.{type_}.{name}")
    return found


def _tf_files() -> dict[str, str]:
    return {p.relative_to(TERRAFORM).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(TERRAFORM.rglob("*.tf")) if ".terraform" not in p.parts}


def test_every_block_matches_the_provider_schema():
    files = _tf_files()
    assert sum(len(_blocks(t)) for t in files.values()) >= 20
    assert check(files) == []


PLANTED = {
    "misspelt argument": ("modules/lester/emr.tf", "step_concurrency_level",
                          "step_concurency_level"),
    "nested block argument": ("modules/lester/emr.tf", "idle_timeout = var.idle_timeout_seconds",
                              "idle_timeout_seconds = var.idle_timeout_seconds"),
    "required argument dropped": ("modules/lester/glue.tf", "role_arn", "# role_arn"),
    "dynamic block content": ("modules/lester/emr.tf", "action_on_failure = var.action_on_failure",
                              "on_failure = var.action_on_failure"),
}


@pytest.mark.parametrize("mistake", sorted(PLANTED))
def test_planted_mistakes_are_caught(mistake):
    rel, old, new = PLANTED[mistake]
    files = _tf_files()
    assert old in files[rel], f"{mistake}: the planted text is no longer in {rel}"
    files[rel] = files[rel].replace(old, new, 1)
    assert check({rel: files[rel]}), mistake
