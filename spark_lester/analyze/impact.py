"""Which pipelines does a location touch? Readers, then everything downstream of them.

A pipeline is affected when one of its inputs (or interim locations) overlaps the leaked
location or an alias of it (a Glue table and its S3 path), directly or through data an
affected pipeline wrote; a DAG is affected when it launches an affected script. Each hit
says how far it is from the leak, through which location, and whom to contact; a downstream
hit reached only through a location that is no evidence of shared data (an unresolved bucket,
a local path: see :mod:`spark_lester.analyze.evidence`) carries the reason under ``weak``.

>>> cat = {"pipelines": [
...   {"file": "a.py", "dag_id": None, "kind": "pyspark", "owners": [{"name": "ana", "source": "git"}],
...    "locations": [{"role": "input", "uri": "s3://raw/cards"}, {"role": "output", "uri": "s3://clean/cards"}], "launches": []},
...   {"file": "b.sql", "dag_id": None, "kind": "sql", "owners": [],
...    "locations": [{"role": "input", "uri": "s3://clean/cards/dt={dt}"}], "launches": []}], "datasets": []}
>>> [(h["pipeline"], h["distance"]) for h in impact(cat, "s3a://raw/cards/")]
[('a.py', 0), ('b.sql', 1)]
"""

from __future__ import annotations

from typing import Any

from spark_lester.analyze.evidence import weak_reason
from spark_lester.analyze.locations import dataset_key, normalize_uri, overlaps


def _name(p: dict[str, Any]) -> str:
    return f"{p['file']}:{p['dag_id']}" if p.get("dag_id") else p["file"]


def _aliases(catalog: dict[str, Any], uri: str) -> set[str]:
    out = {uri}
    for g in catalog.get("datasets", []):
        members = list(g.get("uris", [])) + list(g.get("aliases", []))
        if any(overlaps(uri, m) for m in members):
            out.update(g.get("uris", []))
            out.update(g.get("aliases", []))
    return out


def impact(catalog: dict[str, Any], location: str) -> list[dict[str, Any]]:
    """Affected pipelines, nearest first, each with ``distance``, ``via``, ``path`` and ``owners``."""
    start = normalize_uri(location)
    frontier = {u: [] for u in _aliases(catalog, start)}  # uri -> path of pipelines so far
    seen: dict[str, dict[str, Any]] = {}
    pipelines = catalog.get("pipelines", [])
    by_file = {p["file"]: p for p in pipelines}
    distance = 0
    while frontier and distance < 50:
        next_frontier: dict[str, list[str]] = {}
        for p in pipelines:
            name = _name(p)
            if name in seen:
                continue
            reads = [loc["uri"] for loc in p.get("locations", []) if loc["role"] in ("input", "interim")]
            hit = next(((r, path) for u, path in frontier.items() for r in reads if overlaps(u, r)), None)
            if hit is None:
                continue
            uri, path = hit
            seen[name] = {"pipeline": name, "file": p["file"], "dag_id": p.get("dag_id"),
                          "kind": p.get("kind"), "distance": distance, "via": uri,
                          "path": path + [name], "owners": p.get("owners", [])}
            weak = weak_reason(uri) if distance else None  # downstream hops need the same evidence as lineage
            if weak:
                seen[name]["weak"] = weak
            for loc in p.get("locations", []):
                if loc["role"] in ("output", "interim"):
                    for alias in _aliases(catalog, loc["uri"]):
                        next_frontier.setdefault(alias, path + [name])
        # A DAG that reads the location passes it to the scripts it launches: they are affected.
        for p in pipelines:
            name = _name(p)
            if name not in seen or seen[name]["distance"] != distance:
                continue
            for launched in p.get("launches", []):
                target = by_file.get(launched)
                if target is not None and _name(target) not in seen:
                    seen[_name(target)] = {
                        "pipeline": _name(target), "file": target["file"], "dag_id": target.get("dag_id"),
                        "kind": target.get("kind"), "distance": distance, "via": f"launched by {name}",
                        "path": seen[name]["path"] + [_name(target)], "owners": target.get("owners", [])}
        # DAGs that launch an affected script are affected at the same distance.
        for p in pipelines:
            name = _name(p)
            if name in seen:
                continue
            for launched in p.get("launches", []):
                target = by_file.get(launched)
                if target is not None and _name(target) in seen:
                    hit_ = seen[_name(target)]
                    seen[name] = {"pipeline": name, "file": p["file"], "dag_id": p.get("dag_id"),
                                  "kind": p.get("kind"), "distance": hit_["distance"],
                                  "via": f"launches {launched}", "path": hit_["path"] + [name],
                                  "owners": p.get("owners", [])}
                    break
        frontier = {u: pth for u, pth in next_frontier.items()
                    if dataset_key(u) != dataset_key(start) or distance == 0}
        distance += 1
    return sorted(seen.values(), key=lambda h: (h["distance"], h["pipeline"]))


def contacts(hits: list[dict[str, Any]]) -> list[str]:
    """The distinct owners to contact, in order of first appearance."""
    out: list[str] = []
    for h in hits:
        for o in h["owners"]:
            if o["name"] not in out:
                out.append(o["name"])
    return out
