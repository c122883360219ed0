"""The real-code corpus of the analyzer: fetch its files, score the analyzer on them.

The manifest (tests/analyze/realcode/manifest.json) lists public files by repository, commit,
path, license and sha256, with ground truth written by reading each one. The files are not
committed; ``fetch`` copies them from local git snapshots of the repositories (a directory
holding ``<owner>+<repo>/repo``, as the project's snapshot tool leaves them, or
``<owner>/<repo>`` clones) and checks each sha256. ``score`` analyzes the fetched tree
on one core and writes bench/results/analyze_realcode.json.

    PYTHONPATH=. python bench/realcode_corpus.py fetch --mirrors /work/.mirror
    PYTHONPATH=. python bench/realcode_corpus.py score
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.analyze import realcode_score

RESULT = ROOT / "bench" / "results" / "analyze_realcode.json"


def _git_dir(mirrors: Path, repo: str) -> Path | None:
    owner, name = repo.split("/")
    for candidate in (mirrors / f"{owner}+{name}" / "repo", mirrors / owner / name):
        for git in (candidate / ".git", candidate):
            if (git / "HEAD").is_file():
                return git
    return None


def fetch(mirrors: Path) -> int:
    """Copy every manifest file out of its snapshot; the number of files missing or altered."""
    bad = 0
    for key, entry in realcode_score.manifest()["files"].items():
        git = _git_dir(mirrors, entry["repository"])
        if git is None:
            print(f"missing snapshot of {entry['repository']} under {mirrors}", file=sys.stderr)
            bad += 1
            continue
        data = subprocess.run(["git", "--git-dir", str(git), "show", f"{entry['commit']}:{entry['path']}"],
                              capture_output=True, check=False).stdout
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            print(f"{key}: not at commit {entry['commit'][:10]} in {git} (sha256 differs)", file=sys.stderr)
            bad += 1
            continue
        dest = realcode_score.FILES / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return bad


def score() -> dict:
    from spark_lester.analyze import analyze

    started = time.perf_counter()
    catalog = analyze(realcode_score.FILES, git=False)
    seconds = time.perf_counter() - started
    result = realcode_score.score(catalog)
    result["seconds"] = round(seconds, 3)
    result["machine"] = {"python": platform.python_version(), "platform": platform.platform()}
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=1) + "\n")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="copy the corpus files out of local repository snapshots")
    f.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    sub.add_parser("score", help="analyze the corpus and write bench/results/analyze_realcode.json")
    args = parser.parse_args()
    if args.command == "fetch":
        bad = fetch(args.mirrors)
        print(f"fetched into {realcode_score.FILES}; {bad} missing or altered")
        return 1 if bad else 0
    if not realcode_score.present():
        print("corpus files missing: run `python bench/realcode_corpus.py fetch` first", file=sys.stderr)
        return 2
    r = score()
    print(json.dumps({k: r[k] for k in ("files", "repositories", "locations_role_blind", "locations_with_roles",
                                        "schedules", "owners", "lineage_edges", "weak_candidates")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
