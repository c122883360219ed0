"""Who owns a pipeline: ``default_args`` owners, CODEOWNERS rules and git history.

Git authors are read with ``git log`` (``%aN``/``%aE``, so a ``.mailmap`` is honoured), then
aliases of one person are merged: identities that share a normalised e-mail address
(lower-case, ``+tag`` removed, GitHub ``123+login@users.noreply.github.com`` -> ``login``) or
a normalised name (letters only: ``Ana López`` = ``ana.lopez`` = ``ANA LOPEZ``), or whose
name equals another identity's e-mail local part, are one author. Bots (``[bot]`` in the
name or address, ``dependabot``, ``renovate``, ``github-actions``, ``pre-commit-ci``...) are
excluded.

The probability that author A owns component C (a file by default, or its directory) is
Bayes' rule, each term estimated from commit-touches (one per commit and component it
changes, optionally weighted by recency with a half-life):

    P(A | C) = P(C | A) * P(A) / P(C)

- P(A)     = touches by A / all touches (how active A is in the repository),
- P(C | A) = touches of C by A / touches by A (how much of A's work is in C),
- P(C)     = touches of C / all touches (how much of all work is in C).

The counts make it equal to A's share of C's touches; the factored form is kept because
each factor is reported and can be re-weighted independently (e.g. a prior P(A) from team
membership).

>>> h = [Commit("a", "Ana", "ana@x.io", 0, ("dags/x.py",)), Commit("b", "Ana Lopez", "Ana@X.io", 0, ("dags/x.py",)),
...      Commit("c", "Bo", "bo@x.io", 0, ("dags/x.py", "jobs/y.py")), Commit("d", "dependabot[bot]", "d@x", 0, ("dags/x.py",))]
>>> [(o["name"], round(o["probability"], 2)) for o in author_probabilities(h)["dags/x.py"]]
[('Ana Lopez', 0.67), ('Bo', 0.33)]
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

_BOT_NAMES = ("dependabot", "renovate", "github-actions", "pre-commit-ci", "snyk-bot",
              "mergify", "semantic-release-bot", "greenkeeper", "codecov", "allcontributors")
CODEOWNERS_PATHS = ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")


@dataclass(frozen=True)
class Commit:
    sha: str
    name: str
    email: str
    timestamp: int
    files: tuple[str, ...]


def is_bot(name: str, email: str = "") -> bool:
    """Whether an identity is an automation account.

    >>> is_bot("dependabot[bot]"), is_bot("Renovate Bot", "bot@renovateapp.com"), is_bot("Ana")
    (True, True, False)
    """
    low = f"{name} {email}".lower()
    return "[bot]" in low or any(b in low for b in _BOT_NAMES) or bool(re.search(r"\bbot\b", name.lower()))


def _norm_name(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]", "", text)


def _norm_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if domain == "users.noreply.github.com":
        return "gh:" + local.split("+")[-1]
    return f"{local.split('+')[0]}@{domain}"


class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def merge_aliases(commits: Iterable[Commit]) -> tuple[dict[tuple[str, str], str], dict[str, dict[str, Any]]]:
    """Map every (name, email) to one author id; describe each author (name, emails, aliases)."""
    idents = Counter((c.name, c.email) for c in commits if not is_bot(c.name, c.email))
    u = _Union()
    for name, email in idents:
        key = f"id:{name}\x1f{email}"
        u.union(key, f"email:{_norm_email(email)}")
        if _norm_name(name):
            u.union(key, f"name:{_norm_name(name)}")
        local = _norm_email(email).split("@")[0].removeprefix("gh:")
        if _norm_name(local) and len(_norm_name(local)) >= 4:
            u.union(f"email:{_norm_email(email)}", f"name:{_norm_name(local)}")
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for ident in idents:
        groups[u.find(f"id:{ident[0]}\x1f{ident[1]}")].append(ident)
    ident_to_author: dict[tuple[str, str], str] = {}
    authors: dict[str, dict[str, Any]] = {}
    for members in groups.values():
        names = Counter()
        emails = Counter()
        for ident in members:
            names[ident[0]] += idents[ident]
            emails[ident[1]] += idents[ident]
        # Prefer the most used, then the longest (a full name over a login).
        display = max(names, key=lambda n: (names[n], len(n)))
        email = max(emails, key=lambda e: emails[e])
        aid = f"{display} <{email}>"
        authors[aid] = {"name": display, "email": email,
                        "aliases": sorted({f"{n} <{e}>" for n, e in members})}
        for ident in members:
            ident_to_author[ident] = aid
    return ident_to_author, authors


def git_history(root: Path) -> list[Commit]:
    """Commits of the repository at ``root`` (empty when it is not a git work tree)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "log", "--no-merges", "--no-renames",
             "--format=%x1e%H%x1f%aN%x1f%aE%x1f%at", "--name-only"],
            capture_output=True, text=True, timeout=120, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    prefix = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-prefix"],
                            capture_output=True, text=True, check=False).stdout.strip()
    commits = []
    for block in out.stdout.split("\x1e"):
        if not block.strip():
            continue
        header, _, files = block.partition("\n")
        sha, name, email, ts = (header.split("\x1f") + ["", "", "", "0"])[:4]
        paths = []
        for f in files.splitlines():
            f = f.strip()
            if f and (not prefix or f.startswith(prefix)):
                paths.append(f[len(prefix):])
        commits.append(Commit(sha, name, email, int(ts or 0), tuple(paths)))
    return commits


def author_probabilities(commits: list[Commit], *, component_of: Callable[[str], str] | None = None,
                         half_life_days: float | None = None, now: float | None = None,
                         ) -> dict[str, list[dict[str, Any]]]:
    """P(author | component) for every component, highest first (see the module docstring)."""
    component_of = component_of or (lambda path: path)
    ident_to_author, authors = merge_aliases(commits)
    now = now if now is not None else time.time()
    n_ac: dict[tuple[str, str], float] = defaultdict(float)
    n_a: dict[str, float] = defaultdict(float)
    n_c: dict[str, float] = defaultdict(float)
    total = 0.0
    for c in commits:
        aid = ident_to_author.get((c.name, c.email))
        if aid is None:  # a bot
            continue
        w = 0.5 ** (max(0.0, now - c.timestamp) / 86400 / half_life_days) if half_life_days else 1.0
        for comp in {component_of(f) for f in c.files}:
            n_ac[(aid, comp)] += w
            n_a[aid] += w
            n_c[comp] += w
            total += w
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (aid, comp), n in n_ac.items():
        p_a = n_a[aid] / total
        p_c_given_a = n / n_a[aid]
        p_c = n_c[comp] / total
        out[comp].append({
            "name": authors[aid]["name"], "email": authors[aid]["email"], "source": "git",
            "probability": p_c_given_a * p_a / p_c, "commits": n,
            "p_author": p_a, "p_component_given_author": p_c_given_a, "p_component": p_c,
            "aliases": authors[aid]["aliases"],
        })
    for comp in out:
        out[comp].sort(key=lambda o: (-o["probability"], o["name"]))
    return dict(out)


def directory_of(path: str) -> str:
    """Component function: the directory of a file (``.`` at the top level)."""
    return str(PurePosixPath(path).parent)


# -- CODEOWNERS -------------------------------------------------------------------------------
def read_codeowners(root: Path) -> list[tuple[str, list[str]]]:
    """The rules of the repository's CODEOWNERS file, in file order (last match wins)."""
    for rel in CODEOWNERS_PATHS:
        path = root / rel
        if path.is_file():
            rules = []
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                pattern, *owners = line.split()
                rules.append((pattern, owners))
            return rules
    return []


def _matches(pattern: str, path: str) -> bool:
    anchored = pattern.startswith("/")
    pat = pattern.lstrip("/")
    if pat.endswith("/"):
        pat += "**"
    if "/" not in pat.rstrip("/") and not anchored:
        # matches a file or directory name at any depth
        parts = path.split("/")
        return any(fnmatch.fnmatchcase(p, pat) for p in parts)
    regex = re.escape(pat).replace(r"\*\*", "\x00").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    regex = regex.replace("\x00/", "(?:.*/)?").replace("\x00", ".*")
    return re.fullmatch(regex + "(?:/.*)?", path) is not None


def codeowners_for(rules: list[tuple[str, list[str]]], path: str) -> list[str]:
    """The owners the last matching CODEOWNERS rule gives ``path``.

    >>> rules = [("*", ["@org/data"]), ("/dags/", ["@ana"]), ("*.sql", ["@bo"])]
    >>> codeowners_for(rules, "dags/x.py"), codeowners_for(rules, "dags/q.sql"), codeowners_for(rules, "x.py")
    (['@ana'], ['@bo'], ['@org/data'])
    """
    owners: list[str] = []
    for pattern, who in rules:
        if _matches(pattern, path):
            owners = who
    return owners
