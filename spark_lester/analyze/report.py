"""Human-readable reports of a catalog: Markdown, or a standalone HTML page that works offline.

The lineage graph has one node per pipeline and per dataset; arrows go dataset -> pipeline for
reads and pipeline -> dataset for writes, and DAG -> script (dotted) for launches, so a reader
follows data across pipelines. A location whose bucket, host or table is an unresolved
placeholder (``{sys.argv[1]}``, ``s3://{{ params.bucket }}/x``) is drawn per pipeline, dashed:
a placeholder is not evidence that two pipelines share data. One the LLM assist resolved
(``source: "llm"``, see :mod:`spark_lester.analyze.assist`) is drawn blue and dotted.

A repository of 100+ pipelines gives one graph too large to read, so both reports split it
into connected components (largest first; Markdown lists, without drawing, one larger than
``MARKDOWN_GRAPH_NODES``), and the HTML page adds a searchable list of
pipelines, each with its own graph of its datasets and the pipelines one step up- and
downstream. The HTML page embeds the Mermaid bundle vendored in ``analyze/vendor`` (see its
README): it loads nothing from the network, and each graph is drawn at its natural size (the
page scrolls) only when its section is opened.

>>> cat = {"root": "/r", "pipelines": [{"file": "a.py", "dag_id": None, "kind": "pyspark", "schedule": None,
...   "owners": [], "locations": [{"role": "input", "uri": "s3://raw/x"}], "launches": [], "tasks": [],
...   "summary": "Reads s3://raw/x."}], "datasets": [], "lineage": [], "problems": [], "stats": {}}
>>> print(mermaid(cat))
graph LR
  p0["a.py"]
  d0[("s3://raw/x")]
  d0 --> p0
>>> components(cat)
[['p0', 'd0']]
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from spark_lester.analyze.locations import dataset_key
from spark_lester.errors import AnalyzeError

#: Mermaid version embedded in the HTML report, and the sha256 of its ``mermaid.min.js``.
MERMAID_VERSION = "11.12.2"
MERMAID_SHA256 = "d0830a6c05546e9edb8fe20a8f545f3e0dc7c4c3134d584bad9c13a99d7a71e0"
#: Components up to this many nodes are drawn when the page opens; larger ones on demand.
OPEN_COMPONENT_NODES = 60
#: Components larger than this are listed, not drawn, in the Markdown report.
MARKDOWN_GRAPH_NODES = 150
_ROLES_IN_GRAPH = ("input", "output", "interim")
_UNRESOLVED = re.compile(r"\{")


@dataclass
class _Graph:
    """Pipelines and datasets as Mermaid nodes, with read, write and launch edges."""

    labels: dict[str, str] = field(default_factory=dict)  # node id -> label
    pipelines: list[str] = field(default_factory=list)  # node ids of pipelines, catalog order
    unresolved: set[str] = field(default_factory=set)  # dataset nodes of placeholder locations
    llm: set[str] = field(default_factory=set)  # dataset nodes resolved by the LLM assist
    edges: dict[tuple[str, str, str], None] = field(default_factory=dict)  # (src, dst, kind)

    def neighbours(self) -> dict[str, set[str]]:
        adj: dict[str, set[str]] = {n: set() for n in self.labels}
        for a, b, _ in self.edges:
            adj[a].add(b)
            adj[b].add(a)
        return adj


def _pname(p: dict[str, Any]) -> str:
    return f"{p['file']}:{p['dag_id']}" if p.get("dag_id") else p["file"]


def _concrete(uri: str) -> bool:
    """Whether the store part of a location (scheme and bucket/host/database) is literal."""
    if "://" not in uri:
        return False
    scheme, rest = uri.split("://", 1)
    authority = rest.split("/", 1)[0] if scheme not in ("glue", "athena", "redshift") else rest.split(".", 1)[0]
    return bool(authority) and not _UNRESOLVED.search(scheme + authority)


def _graph(catalog: dict[str, Any]) -> _Graph:
    g = _Graph()
    alias_of: dict[str, str] = {}
    for ds in catalog.get("datasets", []):
        for u in ds.get("uris", []) + ds.get("aliases", []):
            alias_of[dataset_key(u)] = ds["id"]
    pids: dict[str, str] = {}
    for i, p in enumerate(catalog.get("pipelines", [])):
        pid = f"p{i}"
        pids[_pname(p)] = pid
        g.pipelines.append(pid)
        g.labels[pid] = p.get("dag_id") or p["file"]
    ds_ids: dict[str, str] = {}
    for p in catalog.get("pipelines", []):
        pid = pids[_pname(p)]
        for loc in p.get("locations", []):
            if loc["role"] not in _ROLES_IN_GRAPH:
                continue
            label = alias_of.get(dataset_key(loc["uri"]), dataset_key(loc["uri"]))
            concrete = _concrete(loc["uri"])
            key = label if concrete else f"{pid}\0{label}"
            if key not in ds_ids:
                ds_ids[key] = f"d{len(ds_ids)}"
                g.labels[ds_ids[key]] = label
                if not concrete:
                    g.unresolved.add(ds_ids[key])
            d = ds_ids[key]
            if loc.get("source") == "llm":
                g.llm.add(d)
            if loc["role"] in ("input", "interim"):
                g.edges[(d, pid, "read")] = None
            if loc["role"] in ("output", "interim"):
                g.edges[(pid, d, "write")] = None
    by_file = {p["file"]: pids[_pname(p)] for p in catalog.get("pipelines", [])}
    for p in catalog.get("pipelines", []):
        for launched in p.get("launches", []):
            if launched in by_file and by_file[launched] != pids[_pname(p)]:
                g.edges[(pids[_pname(p)], by_file[launched], "launch")] = None
    return g


def _label(text: str) -> str:
    """A label safe inside Mermaid's ``["..."]``: entity codes for what its parser would read."""
    text = re.sub(r"\s+", " ", text).replace("#", "#35;")
    for ch, code in (('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("`", "#96;"), ("&", "#amp;")):
        text = text.replace(ch, code)
    return text


def _mermaid(g: _Graph, nodes: set[str] | None = None, *, focus: str | None = None) -> str:
    keep = (lambda n: True) if nodes is None else nodes.__contains__
    lines = ["graph LR"]
    for n, label in g.labels.items():
        if keep(n):
            shape = f'["{_label(label)}"]' if n.startswith("p") else f'[("{_label(label)}")]'
            lines.append(f"  {n}{shape}")
    arrows = {"read": "-->", "write": "-->", "launch": "-.->|launches|"}
    lines += [f"  {a} {arrows[k]} {b}" for a, b, k in g.edges if keep(a) and keep(b)]
    unresolved = sorted(n for n in g.unresolved if keep(n))
    if unresolved:
        lines.append("  classDef unresolved stroke-dasharray:4 3,fill:#fff8e1")
        lines.append(f"  class {','.join(unresolved)} unresolved")
    llm = sorted(n for n in g.llm if keep(n))
    if llm:
        lines.append("  classDef llm stroke:#1565c0,stroke-dasharray:2 2,fill:#e8f0fe")
        lines.append(f"  class {','.join(llm)} llm")
    if focus is not None:
        lines.append("  classDef focus stroke-width:3px,fill:#e3f2fd")
        lines.append(f"  class {focus} focus")
    return "\n".join(lines)


def mermaid(catalog: dict[str, Any]) -> str:
    """A Mermaid ``graph LR`` of all pipelines and the datasets they read and write."""
    return _mermaid(_graph(catalog))


def _components(g: _Graph) -> list[list[str]]:
    adj, seen, out = g.neighbours(), set(), []
    for start in g.labels:
        if start in seen:
            continue
        comp, stack = [], [start]
        seen.add(start)
        while stack:
            n = stack.pop()
            comp.append(n)
            for m in sorted(adj[n] - seen):
                seen.add(m)
                stack.append(m)
        out.append(sorted(comp, key=lambda n: (n[0] != "p", int(n[1:]))))
    return sorted(out, key=lambda c: (-len(c), c[0][0] != "p", int(c[0][1:])))


def components(catalog: dict[str, Any]) -> list[list[str]]:
    """The connected components of the lineage graph as lists of node ids, largest first."""
    return _components(_graph(catalog))


def _neighbourhood(g: _Graph, pid: str, adj: dict[str, set[str]] | None = None) -> set[str]:
    """A pipeline, its datasets and launches, and the pipelines that share those datasets."""
    adj = g.neighbours() if adj is None else adj
    near = {pid} | adj[pid]
    for n in list(near):
        if n.startswith("d"):
            near |= {m for m in adj[n] if m.startswith("p")}
    return near


def _owners(p: dict[str, Any]) -> str:
    parts = []
    for o in p.get("owners", []):
        prob = f" {o['probability']:.2f}" if isinstance(o.get("probability"), (int, float)) else ""
        parts.append(f"{o['name']} ({o['source']}{prob})")
    return ", ".join(parts) or "unknown"


def _where(problem: dict[str, Any]) -> str:
    line = problem.get("line")
    return f"{problem.get('file', '?')}:{line}" if isinstance(line, int) else str(problem.get("file", "?"))


def _component_title(g: _Graph, comp: list[str]) -> str:
    ps = [g.labels[n] for n in comp if n.startswith("p")]
    names = ", ".join(ps[:4]) + (f" and {len(ps) - 4} more" if len(ps) > 4 else "")
    return f"{len(ps)} pipeline(s), {len(comp) - len(ps)} dataset(s): {names}"


def markdown(catalog: dict[str, Any]) -> str:
    """The report as Markdown (renders on GitHub, Mermaid included): one graph per component."""
    stats = catalog.get("stats", {})
    g = _graph(catalog)
    comps = _components(g)
    graphs = [c for c in comps if len(c) > 1]
    out = [f"# Pipeline analysis of `{catalog.get('root', '')}`", "",
           f"{stats.get('pipelines', len(catalog.get('pipelines', [])))} pipelines in "
           f"{stats.get('files', '?')} files, {len(catalog.get('datasets', []))} datasets, "
           f"{len(catalog.get('problems', []))} problems.", "", "## Lineage", ""]
    for i, comp in enumerate(graphs, 1):
        out += [f"### Component {i}: {_component_title(g, comp)}", ""]
        if len(comp) > MARKDOWN_GRAPH_NODES:
            # Too large to read as one picture (and past GitHub's Mermaid size limit): list it.
            out += [f"{len(comp)} nodes, not drawn here (the HTML report draws it on demand, and one graph "
                    "per pipeline). Pipelines: " + ", ".join(f"`{g.labels[n]}`" for n in comp if n.startswith("p")), ""]
            continue
        out += ["```mermaid", _mermaid(g, set(comp)), "```", ""]
    alone = [g.labels[c[0]] for c in comps if len(c) == 1 and c[0].startswith("p")]
    if alone:
        out += ["Pipelines with no dataset found: " + ", ".join(f"`{x}`" for x in alone), ""]
    out += ["## Pipelines", ""]
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
        out += ["## Problems", ""] + [f"- `{_where(x)}`: {x.get('error', '')}" for x in catalog["problems"]] + [""]
    return "\n".join(out)


@lru_cache(maxsize=1)
def mermaid_bundle() -> str:
    """The vendored ``mermaid.min.js`` (see ``analyze/vendor/README.md``), checked against its hash."""
    data = gzip.decompress((resources.files("spark_lester.analyze") / "vendor" / "mermaid.min.js.gz").read_bytes())
    if hashlib.sha256(data).hexdigest() != MERMAID_SHA256:
        raise AnalyzeError("the vendored Mermaid bundle does not match its recorded sha256",
                           hint="reinstall spark_lester, or re-vendor it as analyze/vendor/README.md says")
    # A literal "</script" inside an inline script would end it early.
    return data.decode("utf-8").replace("</script", "<\\/script")


_STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;line-height:1.4}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:left}
details{border:1px solid #ddd;border-radius:4px;margin:.4em 0;padding:.2em .6em}
summary{cursor:pointer}.graph{overflow:auto;max-height:80vh}.graph svg{max-width:none}
#search{font-size:1em;padding:.3em;width:30em;max-width:90%}.muted{color:#666}
pre.mermaid{margin:0;background:none}.hidden{display:none}"""

# Draws each closed graph when its <details> opens (a closed one has no size to lay out), the
# open ones on load and the one named by the URL fragment; filters by the search box (or by
# ``?q=`` in the URL, so a filtered view can be linked). Sets
# data-rendered/data-errors on <body> when the first drawing is done (the browser test reads them).
_SCRIPT = """(function(){
mermaid.initialize({startOnLoad:false,securityLevel:"strict",maxTextSize:10000000,maxEdges:100000,
  flowchart:{useMaxWidth:false}});
var queue=Promise.resolve(),errors=0;
function draw(d){
  var pres=Array.prototype.filter.call(d.querySelectorAll(":scope > .graph > pre.mermaid"),
    function(p){return !p.hasAttribute("data-processed");});
  pres.forEach(function(p){queue=queue.then(function(){return mermaid.run({nodes:[p]});})
    .catch(function(e){errors++;p.setAttribute("data-error",String(e));});});
  return queue;
}
document.querySelectorAll("details").forEach(function(d){
  d.addEventListener("toggle",function(){if(d.open){draw(d);}});});
var target=location.hash?document.getElementById(decodeURIComponent(location.hash.slice(1))):null;
if(target&&target.tagName==="DETAILS"){target.open=true;}
document.querySelectorAll("details[open]").forEach(draw);
queue.then(function(){document.body.setAttribute("data-rendered",
  String(document.querySelectorAll("pre.mermaid svg").length));
  document.body.setAttribute("data-errors",String(errors));});
var box=document.getElementById("search");
function filter(){
  var q=box.value.toLowerCase();
  document.querySelectorAll("[data-search]").forEach(function(el){
    el.classList.toggle("hidden",q!==""&&el.getAttribute("data-search").indexOf(q)<0);});
}
box.addEventListener("input",filter);
var q=new URLSearchParams(location.search).get("q");
if(q){box.value=q;filter();}
if(target){queue.then(function(){target.scrollIntoView();});}
})();"""


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _llm_note(loc: dict[str, Any]) -> str:
    if loc.get("source") != "llm":
        return ""
    ev = loc.get("evidence") or {}
    return (f' <small class="muted">(LLM, from <code>{_esc(loc.get("static_uri", ""))}</code>; evidence in '
            f'<code>{_esc(ev.get("file", "?"))}</code>: <code>{_esc(ev.get("text", ""))}</code>)</small>')


def render_html(catalog: dict[str, Any]) -> str:
    """A standalone HTML page with every graph drawn by the embedded Mermaid; no network needed."""
    g = _graph(catalog)
    comps = _components(g)
    pipelines = catalog.get("pipelines", [])
    shown, budget = [], 0
    sections = []
    for i, comp in enumerate(c for c in comps if len(c) > 1):
        is_open = len(comp) <= OPEN_COMPONENT_NODES and budget + len(comp) <= 8 * OPEN_COMPONENT_NODES
        budget += len(comp) if is_open else 0
        shown.append(comp)
        search = " ".join(g.labels[n] for n in comp).lower()
        sections.append(
            f'<details id="component-{i + 1}" class="component"{" open" if is_open else ""} data-search="{_esc(search)}">'
            f"<summary>Component {i + 1}: {_esc(_component_title(g, comp))}"
            + ("" if is_open else f' <span class="muted">({len(comp)} nodes: drawn when opened; every '
               "pipeline below also has its own graph)</span>")
            + "</summary>"
            f'<div class="graph"><pre class="mermaid">\n{_esc(_mermaid(g, set(comp)))}\n</pre></div></details>')
    alone = [g.labels[c[0]] for c in comps if len(c) == 1 and c[0].startswith("p")]
    rows = []
    adj = g.neighbours()
    for i, p in enumerate(pipelines):
        pid = g.pipelines[i]
        locs = "".join(f"<tr><td>{_esc(loc['role'])}</td><td><code>{_esc(loc['uri'])}</code>{_llm_note(loc)}</td>"
                       f"<td><code>{_esc(loc.get('raw', ''))}</code></td></tr>" for loc in p.get("locations", []))
        facts = [f"<li>file: <code>{_esc(p['file'])}</code> ({_esc(p['kind'])})</li>",
                 f"<li>schedule: <code>{_esc(json.dumps(p.get('schedule')))}</code></li>",
                 f"<li>owners: {_esc(_owners(p))}</li>"]
        if p.get("launches"):
            facts.append("<li>launches: " + ", ".join(f"<code>{_esc(x)}</code>" for x in p["launches"]) + "</li>")
        if p.get("summary"):
            facts.append(f"<li>summary: {_esc(p['summary'])}</li>")
        search = " ".join([_pname(p), p["kind"], _owners(p)] + [loc["uri"] for loc in p.get("locations", [])]).lower()
        graph = _mermaid(g, _neighbourhood(g, pid, adj), focus=pid)
        rows.append(
            f'<details id="pipeline-{i + 1}" class="pipeline" data-search="{_esc(search)}">'
            f"<summary><b>{_esc(p.get('dag_id') or p['file'])}</b> <span class=\"muted\">{_esc(p['kind'])}"
            f" · {_esc(p['file'])} · {_esc(_owners(p))}</span></summary><ul>{''.join(facts)}</ul>"
            + (f"<table><tr><th>role</th><th>location</th><th>as written</th></tr>{locs}</table>" if locs else "")
            + f'<div class="graph"><pre class="mermaid">\n{_esc(graph)}\n</pre></div></details>')
    problems = "".join(f"<li><code>{_esc(_where(x))}</code>: {_esc(x.get('error', ''))}</li>"
                       for x in catalog.get("problems", []))
    stats = catalog.get("stats", {})
    alone_html = ("<p>Pipelines with no dataset found: " + ", ".join(f"<code>{_esc(x)}</code>" for x in alone) + "</p>") if alone else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pipeline analysis</title>
<meta name="generator" content="spark_lester; Mermaid {MERMAID_VERSION} embedded">
<style>{_STYLE}</style>
</head><body>
<h1>Pipeline analysis of <code>{_esc(catalog.get('root', ''))}</code></h1>
<p>{len(pipelines)} pipelines in {_esc(stats.get('files', '?'))} files, {len(catalog.get('datasets', []))} datasets,
{len(catalog.get('problems', []))} problems. Dashed datasets are unresolved placeholders, drawn per pipeline;
blue dotted ones were resolved by the LLM assist with evidence from the repository.</p>
<p><input id="search" type="search" placeholder="Filter pipelines and graphs (name, owner, location)" aria-label="filter"></p>
<h2>Lineage: {len(shown)} connected component(s)</h2>
{''.join(sections)}
{alone_html}
<h2>Pipelines</h2>
{''.join(rows)}
<h2>Problems</h2><ul>{problems}</ul>
<script>{mermaid_bundle()}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def report(catalog: dict[str, Any], fmt: str = "md") -> str:
    """The report in ``fmt``: ``md`` or ``html``."""
    return render_html(catalog) if fmt == "html" else markdown(catalog)
