"""Reports: graph split by connected component, and the HTML page drawn offline by a real browser.

The browser tests run Debian's Chromium headless with every network request refused (a dead
proxy and a resolver that finds no host) on generated catalogs of 120+ pipelines whose names
carry the characters Mermaid's parser reads (quotes, ``#``, ``<>``, ``&``, brackets, braces).
They read back the DOM after the page's script ran and require every graph drawn with each
node and its label, at natural size. A control page that loads Mermaid from a CDN, as the
report did before, draws nothing under the same browser: the check can fail.
"""

from __future__ import annotations

import html
import importlib
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

# The package re-exports the function ``report``, which hides the module of the same name.
rep = importlib.import_module("spark_lester.analyze.report")

CHROMIUM = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; dev.sh does it as root)")

_ODD = ['"', "#", "<", ">", "&", "`", "[", "]", "(", ")", "{", "}", "|", ";", ":", "é", "中", "'", "%", "="]


def _name(rnd: random.Random) -> str:
    parts = ["".join(rnd.choice("abcdefghij_") for _ in range(rnd.randint(3, 8)))]
    parts += [rnd.choice(_ODD) + "".join(rnd.choice("xyz") for _ in range(rnd.randint(1, 3)))
              for _ in range(rnd.randint(0, 2))]
    return "".join(parts)


def generated_catalog(n: int, seed: int) -> dict:
    """``n`` pipelines over a shared pool of datasets, so that components of many sizes form."""
    rnd = random.Random(seed)
    pool = ([f"s3://bucket-{rnd.randint(0, 30)}/{_name(rnd).replace('#', '')}" for _ in range(n)]
            + [f"glue://db{rnd.randint(0, 5)}.t{k}" for k in range(n // 3)]
            + ["{args.input}", "s3://{{ params.BUCKET }}/out", "{sys.argv[1]}"])
    pipelines = []
    for i in range(n):
        locs = [{"role": rnd.choice(["input", "output", "interim", "log"]), "uri": rnd.choice(pool)}
                for _ in range(rnd.randint(0, 4))]
        for loc in locs:
            loc["raw"] = loc["uri"]
        pipelines.append({"file": f"dags/{_name(rnd)}_{i}.py", "dag_id": f"{_name(rnd)}_{i}" if rnd.random() < 0.7 else None,
                          "kind": rnd.choice(["airflow_dag", "pyspark", "glue_job", "sql"]), "schedule": None,
                          "owners": [{"name": _name(rnd), "source": "default_args"}], "locations": locs,
                          "launches": [], "tasks": [], "summary": None})
    for p in rnd.sample(pipelines, n // 10):
        p["launches"] = [rnd.choice(pipelines)["file"]]
    return {"root": "/generated", "pipelines": pipelines, "datasets": [], "lineage": [],
            "problems": [{"file": "bad.py", "error": "SyntaxError <x> & 'y'"}], "stats": {"files": n}}


@pytest.mark.parametrize("seed", range(5))
def test_components_partition_the_graph_as_networkx_does(seed):
    nx = pytest.importorskip("networkx")
    cat = generated_catalog(80, seed)
    g = rep._graph(cat)
    oracle = nx.Graph()
    oracle.add_nodes_from(g.labels)
    oracle.add_edges_from((a, b) for a, b, _ in g.edges)
    ours = rep.components(cat)
    assert sorted(map(sorted, ours)) == sorted(sorted(c) for c in nx.connected_components(oracle))
    assert [len(c) for c in ours] == sorted((len(c) for c in ours), reverse=True)


def test_a_placeholder_never_joins_two_pipelines():
    cat = generated_catalog(2, 0)
    for p in cat["pipelines"]:
        p["locations"] = [{"role": "input", "uri": "{sys.argv[1]}"}, {"role": "output", "uri": "s3://{{ params.B }}/x"}]
        p["launches"] = []
    assert sorted(len(c) for c in rep.components(cat)) == [3, 3]


@pytest.mark.parametrize(("n", "seed"), [(60, 1), (1000, 1000)])
def test_markdown_has_one_graph_per_component_up_to_a_readable_size(n, seed):
    cat = generated_catalog(n, seed)
    text = rep.markdown(cat)
    multi = [c for c in rep.components(cat) if len(c) > 1]
    drawn = [c for c in multi if len(c) <= rep.MARKDOWN_GRAPH_NODES]
    assert text.count("```mermaid") == len(drawn) > 1
    assert text.count("not drawn here") == len(multi) - len(drawn)
    blocks = re.findall(r"```mermaid\n(.*?)```", text, re.S)
    assert max(len(b) for b in blocks) < 50_000  # GitHub's Mermaid text limit


def test_vendored_mermaid_matches_its_hash_and_the_page_references_no_network():
    assert "mermaid" in rep.mermaid_bundle()[:200]
    page = rep.render_html(generated_catalog(10, 2))
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page, re.I)
    assert rep.MERMAID_VERSION in page


def _browse(page: Path, tmp_path: Path, suffix: str = "") -> str:
    """The DOM of ``page`` after its scripts ran, in headless Chromium with no network."""
    args = [CHROMIUM, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=120000", "--dump-dom",
            page.as_uri() + suffix]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _drawn(dom: str) -> dict[str, dict[str, str]]:
    """Per drawn graph (keyed by its <details> id): node id -> label, read from the SVG."""
    out = {}
    for m in re.finditer(r'<details id="([\w-]+)"[^>]*>(.*?)</details>', dom, re.S):
        svg = re.search(r"<svg[^>]*>.*?</svg>", m.group(2), re.S)
        if not svg:
            continue
        nodes = {}
        for nm in re.finditer(r'<g class="node[^"]*" id="flowchart-([pd]\d+)-\d+"[^>]*>(.*?)</g></g>', svg.group(0), re.S):
            label = re.search(r'<span class="nodeLabel"[^>]*>(.*?)</span>', nm.group(2), re.S)
            nodes[nm.group(1)] = html.unescape(re.sub(r"<[^>]+>", "", label.group(1))) if label else ""
        out[m.group(1)] = nodes
    return out


def _norm(label: str) -> str:
    return re.sub(r"\s+", " ", label).strip()


@needs_chromium
def test_html_report_draws_every_graph_offline_in_chromium(tmp_path):
    cat = generated_catalog(130, 7)
    g = rep._graph(cat)
    page = tmp_path / "report.html"
    page.write_text(rep.render_html(cat), encoding="utf-8")
    dom = _browse(page, tmp_path)
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert 'data-errors="0"' in body, body
    drawn = _drawn(dom)
    multi = [c for c in rep.components(cat) if len(c) > 1]
    opened = [f"component-{i + 1}" for i, c in enumerate(multi) if re.search(
        rf'<details id="component-{i + 1}"[^>]*\bopen\b', dom)]
    assert len(opened) >= 5 and f'data-rendered="{len(opened)}"' in body
    for i, comp in enumerate(multi):
        key = f"component-{i + 1}"
        if key not in opened:
            assert key not in drawn  # drawn only when opened
            continue
        assert set(drawn[key]) == set(comp), key
        for node, label in drawn[key].items():
            assert _norm(label) == _norm(g.labels[node]), (node, label)
    # Natural size: the SVG is as wide as its own coordinates, not shrunk to the page.
    graphs = re.findall(r'<svg[^>]*aria-roledescription="flowchart-v2"[^>]*>', dom)
    assert len(graphs) == len(opened)
    for svg in graphs:
        width = float(re.search(r'\bwidth="([\d.]+)"', svg).group(1))
        view = [float(x) for x in re.search(r'viewBox="([^"]+)"', svg).group(1).split()]
        assert width == pytest.approx(view[2])


@needs_chromium
def test_per_pipeline_graph_and_search_in_chromium(tmp_path):
    cat = generated_catalog(120, 11)
    g = rep._graph(cat)
    page = tmp_path / "report.html"
    page.write_text(rep.render_html(cat), encoding="utf-8")
    target = next(i for i, p in enumerate(cat["pipelines"]) if len(p["locations"]) >= 3)
    needle = cat["pipelines"][target]["file"].lower()
    dom = _browse(page, tmp_path, f"?q={needle}#pipeline-{target + 1}")
    drawn = _drawn(dom)[f"pipeline-{target + 1}"]
    assert set(drawn) == rep._neighbourhood(g, f"p{target}")
    shown = re.findall(r'<details id="pipeline-(\d+)" class="pipeline(?: hidden)?"', dom)
    visible = re.findall(r'<details id="pipeline-(\d+)" class="pipeline"', dom)
    assert len(shown) == 120 and visible == [str(target + 1)]


@needs_chromium
def test_control_a_cdn_page_draws_nothing_offline(tmp_path):
    page = tmp_path / "cdn.html"
    cdn = '<script src="https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.min.js"></script>'
    page.write_text(rep.render_html(generated_catalog(20, 3)).replace(
        f"<script>{rep.mermaid_bundle()}</script>", cdn), encoding="utf-8")
    dom = _browse(page, tmp_path)
    assert _drawn(dom) == {} and "data-rendered" not in re.search(r"<body([^>]*)>", dom).group(1)


def test_llm_resolved_locations_are_marked():
    cat = generated_catalog(3, 4)
    cat["pipelines"][0]["locations"] = [{"role": "input", "uri": "s3://lake/orders", "raw": "x", "source": "llm",
                                         "static_uri": "{sys.argv[1]}",
                                         "evidence": {"file": "dags/d.py", "text": "'s3://lake/orders'"}}]
    g = rep._graph(cat)
    assert len(g.llm) == 1 and "class d0 llm" in rep.mermaid(cat)
    page = rep.render_html(cat)
    assert "evidence in <code>dags/d.py</code>" in page and "{sys.argv[1]}" in page


@needs_chromium
def test_a_large_component_is_closed_then_drawn_whole_at_natural_size(tmp_path):
    cat = generated_catalog(120, 11)
    g = rep._graph(cat)
    big = rep.components(cat)[0]
    assert len(big) > rep.OPEN_COMPONENT_NODES  # 140 nodes: closed on load
    page = tmp_path / "report.html"
    page.write_text(rep.render_html(cat), encoding="utf-8")
    assert not re.search(r'<details id="component-1"[^>]*\bopen\b', page.read_text(encoding="utf-8"))
    drawn = _drawn(_browse(page, tmp_path, "#component-1"))
    assert set(drawn["component-1"]) == set(big)
    assert all(_norm(label) == _norm(g.labels[n]) for n, label in drawn["component-1"].items())


@needs_chromium
def test_real_code_report_draws_in_chromium(tmp_path):
    """The report of the real-code corpus (public files nobody here wrote), where fetched."""
    from tests.analyze import realcode_score as rs

    if not rs.present():
        pytest.skip("real-code corpus not fetched: run `PYTHONPATH=. python bench/realcode_corpus.py fetch`")
    from spark_lester.analyze import analyze

    cat = analyze(rs.FILES, git=False)
    g = rep._graph(cat)
    page = tmp_path / "report.html"
    page.write_text(rep.render_html(cat), encoding="utf-8")
    dom = _browse(page, tmp_path)
    assert 'data-errors="0"' in re.search(r"<body([^>]*)>", dom).group(1)
    drawn = _drawn(dom)
    multi = [c for c in rep.components(cat) if len(c) > 1]
    for i, comp in enumerate(multi):
        if f"component-{i + 1}" in drawn:
            assert set(drawn[f"component-{i + 1}"]) == set(comp)
            assert all(_norm(label) == _norm(g.labels[n]) for n, label in drawn[f"component-{i + 1}"].items())
    opened = set(re.findall(r'<details id="(component-\d+)"[^>]*\bopen\b', dom))
    assert set(drawn) == opened and opened
