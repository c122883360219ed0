"""Benchmark: the HTML report of 120 and 1,000 pipelines, built and drawn in headless Chromium.

Builds generated catalogs (the same generator as ``tests/analyze/test_report.py``: pipelines
over a shared pool of datasets, names with the characters Mermaid's parser reads), times
:func:`spark_lester.analyze.report.render_html`, then loads each page in Debian's Chromium with
the network refused and times until every graph open on load is drawn (``--dump-dom`` after
the page's script has finished; the process's wall time, start-up included). Writes
``bench/results/report.json``.

    PYTHONPATH=. python bench/bench_report.py [--sizes 120 1000]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.analyze.test_report import generated_catalog

rep = importlib.import_module("spark_lester.analyze.report")


def _draw(page: Path, profile: Path, chromium: str) -> tuple[float, str]:
    args = [chromium, "--headless", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
            "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=600000", "--dump-dom", page.as_uri()]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[120, 1000])
    parser.add_argument("--out", type=Path, default=Path("bench/results/report.json"))
    args = parser.parse_args()
    chromium = next((shutil.which(b) for b in ("chromium", "chromium-browser") if shutil.which(b)), None)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            cat = generated_catalog(n, seed=n)
            start = time.perf_counter()
            page_text = rep.render_html(cat)
            build_s = time.perf_counter() - start
            comps = [c for c in rep.components(cat) if len(c) > 1]
            page = Path(tmp) / f"report_{n}.html"
            page.write_text(page_text, encoding="utf-8")
            run = {"pipelines": n, "components": len(comps), "largest_component_nodes": len(comps[0]) if comps else 0,
                   "html_bytes": len(page_text.encode()), "build_s": round(build_s, 3)}
            if chromium:
                draw_s, dom = _draw(page, Path(tmp) / f"profile_{n}", chromium)
                body = re.search(r"<body([^>]*)>", dom).group(1)
                run.update(chromium_s=round(draw_s, 2),
                           graphs_drawn_on_load=int(re.search(r'data-rendered="(\d+)"', body).group(1)),
                           drawing_errors=int(re.search(r'data-errors="(\d+)"', body).group(1)))
            runs.append(run)
            print(run)
    result = {"benchmark": "html report build and offline draw", "runs": runs,
              "chromium": subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout.strip()
              if chromium else None,
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "load_avg_1m": round(os.getloadavg()[0], 2)}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
