"""Hostile programs are blocked by the allow-list or contained by the sandbox; the host and
its files are unharmed.

Every program is checked twice: statically (it must be refused, unless it is plain Python
whose harm is resource exhaustion, which only the sandbox can stop), and by running it in the
sandbox *without* the allow-list (``raw`` jobs: only the in-child guard and the limits),
to show the second line of defence holds on its own. A canary file and folder outside the
sandbox's temporary directory must be unchanged afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from dataclasses import replace

import pytest

from spark_lester.rewrite.sandbox import (
    GIB,
    MIB,
    REFUSED_EXIT,
    Limits,
    PythonCommand,
    run_sandboxed,
)
from spark_lester.rewrite.validate import package_root, static_failure

#: Stored as ``*.py.hostile`` so that no test collector (``--doctest-modules`` imports every
#: ``.py`` file) ever runs them in the host process.
HOSTILE = sorted((Path(__file__).parent / "hostile").glob("*.py.hostile"))
#: Plain Python that only exhausts resources: no allow-list can refuse it.
RESOURCE_ONLY = {"infinite_loop", "huge_allocation", "deep_recursion_memory"}
#: Harmless when run as a bare script: they print plain objects or a scrubbed environment,
#: or their attack sits in ``prepare`` (only the allow-list sees it; a raw job never calls it).
HARMLESS_WITHOUT_PREPARE = {"frame_walk", "operator_attrgetter", "env_secrets",
                            "spark_sql_escape", "jvm_escape"}
LIMITS = Limits(cpu_s=2, wall_s=6.0, memory_bytes=1 * GIB, file_bytes=16 * MIB,
                processes=32)
#: Model-definition attacks: checked against the model allow-list, and run with PyTorch
#: imported before the guard (as the model runner does), under PyTorch's limits.
TORCH_LIMITS = replace(LIMITS, cpu_s=30, wall_s=60.0, memory_bytes=Limits.for_torch().memory_bytes)


def _name(path: Path) -> str:
    return path.name.split(".")[0]


def _is_torch(path: Path) -> bool:
    return _name(path).startswith("torch_")


def test_there_are_at_least_twenty_hostile_programs():
    assert len(HOSTILE) >= 20
    assert sum(map(_is_torch, HOSTILE)) >= 3


@pytest.mark.parametrize("path", HOSTILE, ids=lambda p: p.name.split('.')[0])
def test_allowlist_blocks_hostile_program(path):
    failure = static_failure(path.read_text(), "model" if _is_torch(path) else "prepare")
    if path.name.split('.')[0] in RESOURCE_ONLY:
        assert failure is None  # allowed code; the sandbox test below contains it
    else:
        assert failure is not None and failure.stage == "allowlist", path.name.split('.')[0]


@pytest.fixture
def canary(tmp_path_factory):
    folder = tmp_path_factory.mktemp("host-files")
    (folder / "canary.txt").write_text("precious host data\n")
    (folder / "keep").mkdir()
    (folder / "keep" / "also.txt").write_text("more data\n")
    return folder


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        digest.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            digest.update(p.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("path", HOSTILE, ids=lambda p: p.name.split('.')[0])
def test_sandbox_contains_hostile_program(path, canary, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret-never-leaks")
    before = _fingerprint(canary)
    work = tmp_path / "sandbox"
    work.mkdir()
    program = work / "hostile.py"
    program.write_text(path.read_text().replace("CANARY_DIR", str(canary / "keep"))
                       .replace("CANARY", str(canary / "canary.txt")))
    job = {"kind": "raw", "program": str(program), "workdir": str(work),
           "package_root": str(package_root()), "preload": ["torch"] if _is_torch(path) else []}
    (work / "job.json").write_text(json.dumps(job))
    result = run_sandboxed(PythonCommand().argv(work / "job.json"), work,
                           TORCH_LIMITS if _is_torch(path) else LIMITS)
    assert _fingerprint(canary) == before
    assert "root:x:0:0" not in result.stdout  # /etc/passwd was not read
    assert "precious" not in result.stdout
    assert "sk-host-secret" not in result.stdout + result.stderr  # the environment is scrubbed
    assert os.getpid() > 0 and Path(os.getcwd()).exists()  # the host is alive and well
    if path.name.split('.')[0] not in HARMLESS_WITHOUT_PREPARE:
        assert not result.ok, (path.name.split('.')[0], result.stdout[-500:])
    if _is_torch(path):  # refused by the guard (which ends the run), not another failure
        assert result.returncode == REFUSED_EXIT and result.refusals, result.stderr[-800:]
