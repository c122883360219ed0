"""Helpers shared by the analyzer modules: the findings collector and safe file reading."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spark_lester.analyze.locations import _FILE_SUFFIX, Location, normalize_uri, overlaps

#: Files larger than this are reported and skipped (generated code, data dumps).
MAX_FILE_BYTES = 2_000_000
#: Directories never analyzed.
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "node_modules",
                       ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages"})
#: Lowercased words in a flag or keyword name that say which way data flows.
_OUT_WORDS = ("output", "out", "dest", "destination", "target", "sink", "write", "export",
              "save", "to", "result", "results", "warehouse")
_IN_WORDS = ("input", "in", "source", "src", "read", "from", "raw", "landing", "load")
_INTERIM_WORDS = ("tmp", "temp", "tempdir", "staging", "checkpoint", "scratch")
_LOG_WORDS = ("log", "logs", "loguri", "log_uri", "eventlog")


@dataclass
class Findings:
    """What one extractor found in one file: locations, operations, launches and aliases."""

    locations: list[Location] = field(default_factory=list)
    operations: list[dict[str, Any]] = field(default_factory=list)
    launches: list[str] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (table uri, storage uri)
    # .sql, engine, db, conn[, where: the store the code names, e.g. {"cluster": ..., "region": ...}]
    sql_runs: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, role: str, raw: Any, line: int | None = None, via: str | None = None,
            confidence: str | None = None) -> str | None:
        if isinstance(raw, list):
            for item in raw:
                self.add(role, item, line, via, confidence)
            return None
        if not isinstance(raw, str) or not raw.strip():
            return None
        uri = normalize_uri(raw)
        self.locations.append(Location(role, uri, raw, line, via, confidence))
        return uri

    def op(self, op: str, detail: str = "", line: int | None = None) -> None:
        self.operations.append({"op": op, "detail": detail[:120], "line": line})

    def launch(self, uri: Any) -> None:
        if not isinstance(uri, str) or not uri.strip():
            return
        uri = normalize_uri(uri)
        if uri not in self.launches:
            self.launches.append(uri)

    def extend(self, other: Findings) -> None:
        self.locations += other.locations
        self.operations += other.operations
        for u in other.launches:
            self.launch(u)
        self.aliases += other.aliases
        self.sql_runs += other.sql_runs


def role_from_name(name: str, default: str = "input") -> str:
    """The role a location gets from the flag or keyword it is passed under.

    >>> role_from_name("--output_path"), role_from_name("--TempDir"), role_from_name("src")
    ('output', 'interim', 'input')
    """
    words = [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()) if w]
    joined = "".join(words)
    if any(w in _LOG_WORDS for w in words) or joined in _LOG_WORDS:
        return "log"
    if any(w in _INTERIM_WORDS for w in words) or joined in _INTERIM_WORDS:
        return "interim"
    if any(w in _OUT_WORDS for w in words):
        return "output"
    if any(w in _IN_WORDS for w in words):
        return "input"
    return default


def finalize_roles(locations: list[Location]) -> list[Location]:
    """Merge duplicates; a location both read and written in one pipeline is ``interim``."""
    roles: dict[str, set[str]] = {}
    first: dict[str, Location] = {}
    for loc in locations:
        roles.setdefault(loc.uri, set()).add(loc.role)
        base = first.setdefault(loc.uri, loc)
        if base is not loc and not _where(base) and _where(loc):  # the store as the code names it
            first[loc.uri] = dataclasses.replace(base, **_where(loc))
    written = [u for u, rs in roles.items() if "output" in rs or "interim" in rs]
    read = [u for u, rs in roles.items() if "input" in rs]
    for w in written:  # written at one path and read at an overlapping one: staged data
        for r in read:
            if w != r and overlaps(w, r) and not w.startswith(("glue://", "athena://", "redshift://")) \
                    and not (_is_file(w) and _is_file(r)):  # two files of one folder are two datasets
                roles[w].add("interim")
                roles[r].add("interim")
    out: list[Location] = []
    for uri, rs in roles.items():
        base = first[uri]
        if "input" in rs and "output" in rs:
            rs = (rs - {"input", "output"}) | {"interim"}
        if "interim" in rs:
            rs -= {"input", "output"}
        for role in sorted(rs):
            out.append(dataclasses.replace(base, role=role))
    return out


def _where(loc: Location) -> dict[str, Any]:
    return {k: v for k in ("cluster", "region", "port", "namenode") if (v := getattr(loc, k)) is not None}


def _is_file(uri: str) -> bool:
    return bool(_FILE_SUFFIX.search(uri.rsplit("/", 1)[-1]))


def is_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def read_text(path: Path) -> str:
    """The text of a source file; raises ``ValueError`` for binary or oversized files."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"file too large ({size} bytes > {MAX_FILE_BYTES}); skipped")
    data = path.read_bytes()
    if is_binary(data):
        raise ValueError("binary file; skipped")
    return data.decode("utf-8", errors="replace")


def walk_files(root: Path, problems: list[dict[str, Any]]) -> Iterator[Path]:
    """Every file under ``root`` in a stable order, following directory symlinks once.

    Symlink loops and unreadable directories are recorded in ``problems``, never raised.
    """
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            st = directory.stat()
        except OSError as err:
            problems.append({"file": _rel(directory, root), "line": None, "error": f"unreadable: {err}"})
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            problems.append({"file": _rel(directory, root), "line": None, "error": "symlink loop; skipped"})
            continue
        seen.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as err:
            problems.append({"file": _rel(directory, root), "line": None, "error": f"unreadable: {err}"})
            continue
        subdirs = []
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=True):
                    if entry.name not in SKIP_DIRS:
                        subdirs.append(path)
                elif entry.is_file(follow_symlinks=True):
                    yield path
                elif entry.is_symlink():
                    problems.append({"file": _rel(path, root), "line": None, "error": "broken symlink; skipped"})
            except OSError as err:
                problems.append({"file": _rel(path, root), "line": None, "error": f"unreadable: {err}"})
        stack.extend(reversed(subdirs))


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)
