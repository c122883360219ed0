"""Score the analyzer on the real-code corpus (tests/analyze/realcode/manifest.json).

The corpus files are public code that nobody here wrote; the manifest holds, per file, its
repository, commit, path, license and sha256, and the ground truth written by reading it.
The files are not committed: ``python bench/realcode_corpus.py fetch`` copies them into
``tests/analyze/realcode/files/`` from local snapshots of the repositories.

Scoring rules (the same for the truth and the prediction):

- a location is ``(file, role, uri)``; role-blind scores drop the role;
- a location whose bucket, host or table name is unknown (``s3://{repo}/...``, ``s3:///key``,
  ``{output_uri}``, ``redshift://{database}.public.{name}``) cannot be identified by anyone and
  is not scored; it is counted under ``unidentified``;
- schedules and default_args owners are compared per ``(file, dag_id)``;
- lineage edges ``writer -> reader`` between pipelines (``launches`` edges excluded) are
  compared with the manifest's edges; any other predicted edge is false.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

REALCODE = Path(__file__).parent / "realcode"
MANIFEST = REALCODE / "manifest.json"
FILES = REALCODE / "files"
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{[^{}]*\}")


def manifest() -> dict[str, Any]:
    return json.loads(MANIFEST.read_text())


def present() -> bool:
    """Whether every corpus file is on disk (fetched) with the manifest's content."""
    import hashlib

    m = manifest()
    for key, entry in m["files"].items():
        f = FILES / key
        if not f.is_file() or hashlib.sha256(f.read_bytes()).hexdigest() != entry["sha256"]:
            return False
    return True


def identified(uri: str) -> bool:
    """Whether a location names its bucket/host (or database): only those are scored.

    >>> identified("s3://{repo}/{sys.argv[1]}/x"), identified("s3://b-{x}/k"), identified("glue://db.t")
    (False, True, True)
    >>> identified("{output_uri}"), identified("redshift://{database}.public.{a}_{b}"), identified("/tmp/x")
    (False, False, True)
    """
    if not re.search(r"[A-Za-z0-9]", _PLACEHOLDER.sub("", uri)):
        return False  # a bare placeholder: {output_uri}
    if "://" not in uri:
        return True  # local paths, jdbc: URLs
    scheme, rest = uri.split("://", 1)
    if scheme in ("glue", "athena", "redshift"):  # the table name must be known
        return bool(re.search(r"[A-Za-z0-9]", _PLACEHOLDER.sub("", rest.rsplit(".", 1)[-1])))
    if rest.startswith("/"):  # hdfs:///path, local:///path; an S3 URI with no bucket is unknown
        return scheme not in ("s3", "gs", "abfs", "abfss", "wasb", "wasbs")
    return bool(re.search(r"[A-Za-z0-9]", _PLACEHOLDER.sub("", rest.split("/")[0])))


def _prf(pred: set, truth: set) -> dict[str, float | int]:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(truth) if truth else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4), "true_positives": tp,
            "predicted": len(pred), "truth": len(truth)}


def score(catalog: dict[str, Any]) -> dict[str, Any]:
    """Precision/recall of a catalog of ``FILES`` against the manifest's ground truth."""
    m = manifest()
    files = m["files"]
    truth = {(f, role, uri) for f, e in files.items() for role, uri in e["locations"]}
    pred = {(p["file"], loc["role"], loc["uri"]) for p in catalog["pipelines"] for loc in p["locations"]
            if p["file"] in files}
    unidentified = {"truth": sorted(x for x in truth if not identified(x[2])),
                    "predicted": sorted(x for x in pred if not identified(x[2]))}
    truth = {x for x in truth if identified(x[2])}
    pred = {x for x in pred if identified(x[2])}
    blind_t, blind_p = {(f, u) for f, _, u in truth}, {(f, u) for f, _, u in pred}
    dags = {(p["file"], p["dag_id"]): p for p in catalog["pipelines"] if p.get("dag_id")}
    want = {(f, d["dag_id"]): d for f, e in files.items() for d in e["pipelines"]}
    sched_ok = [k for k, d in want.items() if k in dags and dags[k]["schedule"] == d["schedule"]]
    owner_ok = [k for k, d in want.items() if k in dags and [
        o["name"] for o in dags[k]["owners"] if o["source"] == "default_args"] == d["owners"]]
    names = {p["file"] + (f":{p['dag_id']}" if p.get("dag_id") else "") for p in catalog["pipelines"]}
    edges_pred = {(e["from"], e["to"]) for e in catalog["lineage"] if e["via"] != "launches"
                  and e["from"] in names and e["to"] in names}
    edges_true = {(e["from"], e["to"]) for e in m["lineage"]}
    problems = [p for p in catalog["problems"] if p["file"] in files]
    return {
        "files": len(files),
        "repositories": len({e["repository"] for e in files.values()}),
        "locations_role_blind": _prf(blind_p, blind_t),
        "locations_with_roles": _prf(pred, truth),
        "unidentified_locations": {k: len(v) for k, v in unidentified.items()},
        "schedules": {"correct": len(sched_ok), "dags": len(want)},
        "owners": {"correct": len(owner_ok), "dags": len(want)},
        "dags_found": {"found": len(set(want) & set(dags)), "dags": len(want), "extra": sorted(
            f"{f}:{d}" for f, d in set(dags) - set(want))},
        "lineage_edges": _prf(edges_pred, edges_true),
        "weak_candidates": len(catalog.get("weak_lineage", [])),
        "problems": problems,
        "missed": sorted(blind_t - blind_p),
        "extra": sorted(blind_p - blind_t),
        "role_errors": sorted((pred - truth) & {x for x in pred if (x[0], x[2]) in blind_t}),
        "wrong_schedules": sorted(f"{k[0]}:{k[1]}" for k in set(want) - set(sched_ok)),
        "wrong_owners": sorted(f"{k[0]}:{k[1]}" for k in set(want) - set(owner_ok)),
        "false_edges": sorted(edges_pred - edges_true),
        "missed_edges": sorted(edges_true - edges_pred),
    }
