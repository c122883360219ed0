"""Ownership from git history: alias merging, bot exclusion, P(author | component)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from spark_lester.analyze import analyze
from spark_lester.analyze.ownership import author_probabilities, directory_of, git_history, is_bot


def _git(repo: Path, *args: str, env: dict | None = None) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def _commit(repo: Path, name: str, email: str, path: str, text: str) -> None:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    _git(repo, "add", path)
    _git(repo, "-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "-q",
         "-m", f"change {path}", "--author", f"{name} <{email}>")


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git is not installed")
    _git(tmp_path, "init", "-q")
    job = "df = spark.read.parquet('s3://raw/orders/')\ndf.write.parquet('s3://curated/orders/')\n"
    # Ana under three identities: work address, personal address with the same name,
    # and a GitHub noreply login that matches her work address' local part.
    _commit(tmp_path, "Ana Lopez", "ana.lopez@acme.io", "jobs/orders.py", job)
    _commit(tmp_path, "ana lopez", "ana@gmail.com", "jobs/orders.py", job + "# 2\n")
    _commit(tmp_path, "analopez", "1234+ana.lopez@users.noreply.github.com", "jobs/orders.py", job + "# 3\n")
    _commit(tmp_path, "Bo Chen", "bo@acme.io", "jobs/orders.py", job + "# 4\n")
    _commit(tmp_path, "Bo Chen", "bo@acme.io", "jobs/other.py", job)
    _commit(tmp_path, "dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com",
            "jobs/orders.py", job + "# bump\n")
    _commit(tmp_path, "Renovate Bot", "bot@renovateapp.com", "jobs/other.py", job + "# bump\n")
    return tmp_path


def test_aliases_are_merged_and_bots_excluded(repo):
    commits = git_history(repo)
    assert len(commits) == 7
    probs = author_probabilities(commits)
    owners = probs["jobs/orders.py"]
    names = [o["name"] for o in owners]
    assert len(owners) == 2, owners  # Ana (3 aliases) and Bo; no bots
    assert not any(is_bot(n) for n in names)
    ana = next(o for o in owners if "ana" in o["name"].lower())
    assert len(ana["aliases"]) == 3
    assert ana["commits"] == 3


def test_probability_is_bayes_rule(repo):
    owners = author_probabilities(git_history(repo))["jobs/orders.py"]
    ana, bo = owners  # sorted by probability
    # touches (bots excluded): Ana 3 on orders; Bo 1 on orders + 1 on other -> total 5
    assert ana["p_author"] == pytest.approx(3 / 5)
    assert ana["p_component_given_author"] == pytest.approx(1.0)
    assert ana["p_component"] == pytest.approx(4 / 5)
    assert ana["probability"] == pytest.approx(1.0 * (3 / 5) / (4 / 5)) == pytest.approx(0.75)
    assert bo["probability"] == pytest.approx((1 / 2) * (2 / 5) / (4 / 5)) == pytest.approx(0.25)
    assert sum(o["probability"] for o in owners) == pytest.approx(1.0)


def test_directory_components(repo):
    probs = author_probabilities(git_history(repo), component_of=directory_of)
    owners = probs["jobs"]
    assert [round(o["probability"], 2) for o in owners] == [0.6, 0.4]


def test_catalog_lists_git_owners_with_probabilities(repo):
    (repo / "CODEOWNERS").write_text("/jobs/ @acme/data-eng\n")
    catalog = analyze(repo, git=True)
    p = next(p for p in catalog["pipelines"] if p["file"] == "jobs/orders.py")
    sources = [(o["source"], o["name"]) for o in p["owners"]]
    assert ("codeowners", "@acme/data-eng") in sources
    git_owners = [o for o in p["owners"] if o["source"] == "git"]
    assert [round(o["probability"], 2) for o in git_owners] == [0.75, 0.25]


def test_not_a_git_repository_gives_no_history(tmp_path):
    assert git_history(tmp_path) == []
