"""Human-readable reports of a catalog: Markdown or HTML with a Mermaid lineage graph.

The graph has one node per pipeline and per dataset; arrows go dataset -> pipeline for
reads and pipeline -> dataset for writes, and DAG -> script (dotted) for launches, so a
reader follows data across pipelines.

>>> cat = {"root": "/r", "pipelines": [{"file": "a.py", "dag_id": None, "kind": "pyspark", "schedule": None,
...   "owners": [], "locations": [{"role": "input", "uri": "s3://raw/x"}], "launches": [], "tasks": [],
...   "summary": "Reads s3://raw/x."}], "datasets": [], "lineage": [], "problems": [], "stats": {}}
>>> print(mermaid(cat))
graph LR
  p0["a.py"]
  d0[("s3://raw/x")]
  d0 --> p0
"""

from __future__ import annotations

import html
import json
from typing import Any

from spark_lester.analyze.locations import dataset_key


def _label(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


def _pname(p: dict[str, Any]) -> str:
    return f"{p['file']}:{p['dag_id']}" if p.get("dag_id") else p["file"]


def mermaid(catalog: dict[str, Any]) -> str:
    """A Mermaid ``graph LR`` of pipelines and the datasets they read and write."""
    lines = ["graph LR"]
    ids: dict[str, str] = {}
    ds_ids: dict[str, str] = {}
    alias_of: dict[str, str] = {}
    for g in catalog.get("datasets", []):
        for u in g.get("uris", []) + g.get("aliases", []):
            alias_of[dataset_key(u)] = g["id"]
    edges: list[str] = []
    for i, p in enumerate(catalog.get("pipelines", [])):
        ids[_pname(p)] = f"p{i}"
        lines.append(f'  p{i}["{_label(p.get("dag_id") or p["file"])}"]')
    for p in catalog.get("pipelines", []):
        pid = ids[_pname(p)]
        for loc in p.get("locations", []):
            if loc["role"] not in ("input", "output", "interim"):
                continue
            key = alias_of.get(dataset_key(loc["uri"]), dataset_key(loc["uri"]))
            if key not in ds_ids:
                ds_ids[key] = f"d{len(ds_ids)}"
                lines.append(f'  {ds_ids[key]}[("{_label(key)}")]')
            d = ds_ids[key]
            if loc["role"] in ("input", "interim"):
                edges.append(f"  {d} --> {pid}")
            if loc["role"] in ("output", "interim"):
                edges.append(f"  {pid} --> {d}")
    by_file = {p["file"]: _pname(p) for p in catalog.get("pipelines", [])}
    for p in catalog.get("pipelines", []):
        for launched in p.get("launches", []):
            if launched in by_file:
                edges.append(f"  {ids[_pname(p)]} -.->|launches| {ids[by_file[launched]]}")
    return "\n".join(lines + list(dict.fromkeys(edges)))


def _owners(p: dict[str, Any]) -> str:
    parts = []
    for o in p.get("owners", []):
        prob = f" {o['probability']:.2f}" if isinstance(o.get("probability"), (int, float)) else ""
        parts.append(f"{o['name']} ({o['source']}{prob})")
    return ", ".join(parts) or "unknown"


def markdown(catalog: dict[str, Any]) -> str:
    """The report as Markdown (renders on GitHub, Mermaid included)."""
    stats = catalog.get("stats", {})
    out = [f"# Pipeline analysis of `{catalog.get('root', '')}`", "",
           f"{stats.get('pipelines', len(catalog.get('pipelines', [])))} pipelines in "
           f"{stats.get('files', '?')} files, {len(catalog.get('datasets', []))} datasets, "
           f"{len(catalog.get('problems', []))} problems.", "",
           "## Lineage", "", "```mermaid", mermaid(catalog), "```", "", "## Pipelines", ""]
    for p in catalog.get("pipelines", []):
        out.append(f"### {p.get('dag_id') or p['file']}")
        out.append("")
        out.append(f"- file: `{p['file']}` ({p['kind']})")
        if p.get("schedule") is not None:
            sched = p["schedule"] if isinstance(p["schedule"], str) else json.dumps(p["schedule"])
            out.append(f"- schedule: `{sched}`; retries: {p.get('retries')}")
        out.append(f"- owners: {_owners(p)}")
        if p.get("launches"):
            out.append("- launches: " + ", ".join(f"`{x}`" for x in p["launches"]))
        if p.get("tasks"):
            out.append(f"- tasks: {len(p['tasks'])}; edges: " + (", ".join(f"{a} → {b}" for a, b in p.get("edges", [])) or "none"))
        if p.get("history"):
            for key, h in p["history"].items():
                dur = (h.get("duration_s") or {}).get("median")
                gap = (h.get("interval_s") or {}).get("median")
                out.append(f"- history `{key}`: {h['runs']} runs, median duration {dur} s, median interval {gap} s")
        if p.get("summary"):
            out.append(f"- summary: {p['summary']}")
        if p.get("locations"):
            out += ["", "| role | location | as written |", "|---|---|---|"]
            for loc in p["locations"]:
                out.append(f"| {loc['role']} | `{loc['uri']}` | `{loc.get('raw', '')}` |")
        out.append("")
    if catalog.get("problems"):
        out += ["## Problems", ""] + [f"- `{x['file']}`: {x['error']}" for x in catalog["problems"]] + [""]
    return "\n".join(out)


def render_html(catalog: dict[str, Any]) -> str:
    """A standalone HTML page; the Mermaid graph renders where mermaid.js can be loaded."""
    rows = []
    for p in catalog.get("pipelines", []):
        locs = "<br>".join(f"{html.escape(loc['role'])}: <code>{html.escape(loc['uri'])}</code>"
                           for loc in p.get("locations", []))
        rows.append(f"<tr><td><code>{html.escape(p['file'])}</code></td><td>{html.escape(p.get('dag_id') or '')}</td>"
                    f"<td>{html.escape(p['kind'])}</td><td>{html.escape(json.dumps(p.get('schedule')))}</td>"
                    f"<td>{html.escape(_owners(p))}</td><td>{locs}</td><td>{html.escape(p.get('summary') or '')}</td></tr>")
    problems = "".join(f"<li><code>{html.escape(x['file'])}</code>: {html.escape(x['error'])}</li>"
                       for x in catalog.get("problems", []))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Pipeline analysis</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px;vertical-align:top}}</style>
<script type="module">import mermaid from "https://cdn.jsdelivr.net/npm/mermaid@10/dist/mermaid.esm.min.mjs"; mermaid.initialize({{startOnLoad: true}});</script>
</head><body>
<h1>Pipeline analysis of <code>{html.escape(str(catalog.get('root', '')))}</code></h1>
<h2>Lineage</h2>
<pre class="mermaid">
{html.escape(mermaid(catalog))}
</pre>
<h2>Pipelines</h2>
<table><tr><th>file</th><th>DAG</th><th>kind</th><th>schedule</th><th>owners</th><th>locations</th><th>summary</th></tr>
{''.join(rows)}
</table>
<h2>Problems</h2><ul>{problems}</ul>
</body></html>
"""


def report(catalog: dict[str, Any], fmt: str = "md") -> str:
    """The report in ``fmt``: ``md`` or ``html``."""
    return render_html(catalog) if fmt == "html" else markdown(catalog)
