"""A cold ``spark-lester delete``: where the time of a fresh process goes, per code tree.

Per size: the running example's data and initial run (reused from ``--initial-dir`` in
``bench_deletion.py``'s layout, or built once by ``bench_deletion.py --initial-only``), then
for each code tree (``--tree NAME=PATH``; default this checkout as ``current``), alternating
trees, ``--repeat`` times: the warehouse is restored in place from the saved initial one (the
registry records absolute table paths), and the incident request (redact ``mail_subject``
of the leaked customers' mails, verify the card-number pattern) is applied by a fresh child
process running that tree's ``spark-lester delete REQUEST --warehouse WH --json OUT``
(``PYTHONPATH`` is the tree; the interpreter, ``.venv``, is shared). Nothing here starts
Spark: the parent holds no JVM while a child is timed.

Where the child's time goes (wall clock, one run):

- ``interpreter_start``: spawn until the child's first line (Python, site, the venv's .pth);
- ``before_session``: until Spark's first ``getOrCreate`` (imports, argument and request
  parsing, whatever ``unlearn`` does before ``get_spark``);
- ``session_start``: the first ``getOrCreate``: the JVM and the SparkContext;
- ``request_window``: from there until the CLI's ``main`` returns; it holds the request's
  own ``seconds`` (``--json``: the runner's clock, started after ``get_spark``), with its
  per-step ``timings`` and ``seconds_to_consistent``;
- ``exit``: ``main`` returned until the process is gone (the JVM and workers stop).

The five add up to ``total``. Imports come from ``-X importtime``, split by the same marks:
``imports_before_session`` (after the child's first line) and ``imports_in_request`` (lazy
imports, inside ``seconds`` when the clock runs; the interpreter's own are in
``imports.seconds_by_phase``), with the inclusive cost of the heavy packages and the
packages of most exclusive import time. ``remainder = total - imports_before_session -
session_start - seconds``: what is neither the deletion, nor Spark's start, nor an import.

The child is the CLI's own ``main`` (what the ``spark-lester`` entry point runs) behind a
few lines that print marks and time ``SparkSession.Builder.getOrCreate``; pyspark is
therefore imported first. ``--plain`` runs ``python -m spark_lester delete ...`` instead
(total and ``--json`` figures only; a run of its own next to an instrumented one shows what
the marks and ``-X importtime`` cost).

A probe child per run (``--no-probe`` leaves it out), started on the same tree with the
deletion's config before the timed child, measures the fixed costs one at a time: imports
of the session module, ``get_spark``, the first JVM-only job, the first and the next Python
worker job, and opening each Delta table of the saved warehouse (the first, the median of the
others, the first again). It reads the saved copy and changes nothing.

    git worktree add --detach /work/cold_before 3886c11
    ln -s /work/main/.venv /work/cold_before/.venv; ln -s /work/main/.jars /work/cold_before/.jars
    .venv/bin/python bench/bench_cold_delete.py --initial-dir /work/bench_initial \\
        --tree baseline=/work/cold_before --tree current=. --repeat 3 --wait-for-quiet 1.5

Writes ``bench/results/cold_delete.json`` (after every run: a stopped run keeps the rest;
sizes not measured now stay): per run every figure above and the load average at each
child's start; per tree the medians; per other tree the ratio of its medians to the
baseline's (``--baseline``, default the tree named ``baseline`` or else the first tree).
A reused warehouse is what the commit in its ``initial.json`` built; both trees read it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The incident: redact the leaked customers' mail subjects, prove no card number is left.
#: (spark_lester.deletion.request.CARD_NUMBER, spelled once there; read at run time.)
REQUEST = {"source": "customers", "action": "redact_columns",
           "columns": ["mails.mail_subject"]}

#: Packages whose inclusive import time is reported by name.
HEAVY = ("spark_lester", "pyspark", "py4j", "pandas", "numpy", "pyarrow", "torch",
         "sentence_transformers", "transformers", "sklearn", "scipy", "great_expectations",
         "delta", "boto3")

MARK = "##cold-delete "

#: The timed child: the CLI's main behind marks on stderr (interleaved with -X importtime's
#: lines) and a timer on Spark's first getOrCreate; the marks also go to COLD_DELETE_MARKS.
CHILD_DELETE = r"""
import json, os, sys, time
_marks = {}
def _mark(name):
    _marks.setdefault(name, time.time())
    print("##cold-delete " + name, file=sys.stderr, flush=True)
_mark("child_start")
from pyspark import SparkContext as _SparkContext
from pyspark.sql import session as _session
_get_or_create = _session.SparkSession.Builder.getOrCreate
def _timed_get_or_create(self):
    cold = _SparkContext._active_spark_context is None
    if cold:
        _mark("session_start")
    spark = _get_or_create(self)
    if cold:
        _mark("session_ready")
    return spark
_session.SparkSession.Builder.getOrCreate = _timed_get_or_create
import spark_lester
from spark_lester.cli import main
_mark("main")
rc = main(sys.argv[1:])
_mark("main_returned")
with open(os.environ["COLD_DELETE_MARKS"], "w") as f:
    json.dump({"marks": _marks, "spark_lester": spark_lester.__file__}, f)
sys.exit(rc)
"""

#: The probe: the fixed costs of a cold process, one at a time, with the deletion's config.
#: argv: a scratch warehouse, then the Delta tables to open (read only).
CHILD_PROBE = r"""
import json, os, statistics, sys, time
out = {}
tick = time.time()
import spark_lester
from spark_lester.session import get_spark
try:
    from spark_lester.cli.delete import config_for_delete
    config = config_for_delete(sys.argv[1])
except ImportError:
    from spark_lester.config import LesterConfig
    config = LesterConfig.from_env(warehouse=sys.argv[1], worker_preload=False)
out["import_seconds"] = time.time() - tick
tick = time.time()
spark = get_spark(config)
out["session_start_seconds"] = time.time() - tick
tick = time.time()
spark.range(10).count()
out["first_jvm_job_seconds"] = time.time() - tick
rdd = spark.sparkContext.parallelize([1, 2], 1)
tick = time.time()
rdd.map(lambda x: x + 1).collect()
out["python_worker_first_seconds"] = time.time() - tick
tick = time.time()
rdd.map(lambda x: x + 2).collect()
out["python_worker_next_seconds"] = time.time() - tick
opened = []
for path in sys.argv[2:]:
    tick = time.time()
    spark.read.format("delta").load(path).schema
    opened.append(time.time() - tick)
if opened:
    tick = time.time()
    spark.read.format("delta").load(sys.argv[2]).schema
    out["delta_first_open_again_seconds"] = time.time() - tick
    out["delta_first_open_seconds"] = opened[0]
    out["delta_next_open_median_seconds"] = (statistics.median(opened[1:]) if opened[1:]
                                             else None)
    out["delta_tables_opened"] = len(opened)
    out["delta_open_all_seconds"] = sum(opened)
out["spark_lester"] = spark_lester.__file__
with open(os.environ["COLD_DELETE_PROBE"], "w") as f:
    json.dump(out, f)
"""


# -- -X importtime -------------------------------------------------------------------------


@dataclass
class Imported:
    """One line of ``-X importtime``: a module, its own and cumulative microseconds, its
    nesting level, the phase it completed in, and the imports it triggered."""

    name: str
    self_us: int
    cumulative_us: int
    level: int
    phase: str
    children: list[Imported] = field(default_factory=list)

    @property
    def package(self) -> str:
        return self.name.split(".", 1)[0]


def parse_importtime(text: str, first_phase: str = "start") -> list[Imported]:
    """The import tree of ``-X importtime`` output: the top-level imports, in order.

    Lines are printed when an import completes (children first, two spaces of indent per
    level); other lines are ignored, except ``##cold-delete NAME`` marks: every import
    completing after a mark belongs to phase ``NAME``.

    >>> tree = parse_importtime('''import time: self [us] | cumulative | imported package
    ... import time:       100 |        100 |   numpy.core
    ... import time:        50 |        150 | numpy
    ... ##cold-delete main
    ... import time:        30 |         30 | json''')
    >>> [(t.name, t.cumulative_us, t.phase, [c.name for c in t.children]) for t in tree]
    [('numpy', 150, 'start', ['numpy.core']), ('json', 30, 'main', [])]
    """
    phase = first_phase
    pending: list[Imported] = []  # completed imports whose parent has not completed yet
    for line in text.splitlines():
        if line.startswith(MARK):
            phase = line[len(MARK):].strip()
            continue
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:"):].split("|", 2)
        if len(parts) != 3:
            continue
        try:
            own, cumulative = int(parts[0]), int(parts[1])
        except ValueError:
            continue  # the header, or a line another process wrote into
        raw = parts[2].rstrip()
        name = raw.lstrip()
        if not name:
            continue
        level = (len(raw) - len(name) - 1) // 2
        node = Imported(name, own, cumulative, level, phase)
        while pending and pending[-1].level > level:
            node.children.insert(0, pending.pop())
        pending.append(node)
    return [node for node in pending if node.level == 0] or pending


def import_summary(tree: list[Imported], top: int = 10) -> dict:
    """Seconds of import per phase (top-level cumulative times), the inclusive seconds of
    each :data:`HEAVY` package imported (any import of it on the stack; packages overlap:
    torch under sentence_transformers counts for both) and the ``top`` packages by exclusive
    seconds.

    >>> tree = parse_importtime('''import time:  100 |  100 |   torch
    ... import time:   20 |  120 | sentence_transformers
    ... ##cold-delete main
    ... import time:   30 |   30 | json''')
    >>> s = import_summary(tree)
    >>> s["seconds_by_phase"], s["heavy_seconds"]["torch"], s["self_seconds_top"]["json"]
    ({'start': 0.00012, 'main': 3e-05}, 0.0001, 3e-05)
    """
    by_phase: dict[str, int] = {}
    for node in tree:
        by_phase[node.phase] = by_phase.get(node.phase, 0) + node.cumulative_us
    heavy: dict[str, int] = {}
    own: dict[str, int] = {}

    def walk(node: Imported, outer: frozenset[str]) -> None:
        own[node.package] = own.get(node.package, 0) + node.self_us
        if node.package in HEAVY and node.package not in outer:
            heavy[node.package] = heavy.get(node.package, 0) + node.cumulative_us
        for child in node.children:
            walk(child, outer | {node.package})

    for node in tree:
        walk(node, frozenset())
    ranked = sorted(own.items(), key=lambda kv: -kv[1])[:top]
    return {"seconds": _s(sum(by_phase.values())),
            "seconds_by_phase": {k: _s(v) for k, v in by_phase.items()},
            "heavy_seconds": {k: _s(heavy[k]) for k in HEAVY if k in heavy},
            "self_seconds_top": {k: _s(v) for k, v in ranked}}


def _s(microseconds: int) -> float:
    return round(microseconds / 1e6, 6)


# -- one run -------------------------------------------------------------------------------


def phases_of(spawn: float, marks: dict[str, float], end: float) -> dict[str, float]:
    """The wall-clock phases of one child from its marks (``time.time()`` on both sides);
    they add up to ``total``.

    >>> phases_of(0.0, {"child_start": 1.0, "session_start": 3.0, "session_ready": 13.0,
    ...                 "main_returned": 40.0}, 42.0)["session_start"]
    10.0
    """
    points = [("interpreter_start", spawn), ("before_session", marks["child_start"]),
              ("session_start", marks.get("session_start")),
              ("request_window", marks.get("session_ready")),
              ("exit", marks["main_returned"]), ("", end)]
    known = [(name, t) for name, t in points if t is not None]
    phases = {name: round(later - t, 3)
              for (name, t), (_, later) in zip(known, known[1:])}
    phases["total"] = round(end - spawn, 3)
    return phases


def run_delete(tree: Path, python: str, request: Path, warehouse: Path, scratch: Path,
               timeout: float, plain: bool) -> dict:
    """Time one cold ``spark-lester delete`` of ``tree``'s code; the child's log stays in
    ``scratch``."""
    out, marks_file, log = scratch / "result.json", scratch / "marks.json", scratch / "child.log"
    args = ["delete", str(request), "--warehouse", str(warehouse), "--json", str(out)]
    command = ([python, "-m", "spark_lester", *args] if plain
               else [python, "-X", "importtime", "-c", CHILD_DELETE, *args])
    env = _child_env(tree, COLD_DELETE_MARKS=str(marks_file))
    with open(log, "w") as sink:
        spawn = time.time()
        returncode = _run(command, scratch, env, sink, timeout)
        end = time.time()
    text = log.read_text(errors="replace")
    entry: dict = {"returncode": returncode, "total": round(end - spawn, 3), "log": str(log)}
    if returncode != 0 or not out.is_file():
        entry["error"] = text[-3000:]
        return entry
    result = json.loads(out.read_text())
    entry.update({"status": result.get("status"), "rows_affected": result.get("rows_affected"),
                  "seconds": result.get("seconds"),
                  "seconds_to_consistent": result.get("seconds_to_consistent"),
                  "erasure_seconds": result.get("erasure_seconds"),
                  "verified": (result.get("verification") or {}).get("verified"),
                  "timings": result.get("timings") or {}})
    if plain:
        return entry
    child = json.loads(marks_file.read_text())
    entry["spark_lester"] = child["spark_lester"]
    entry["phases"] = phases_of(spawn, child["marks"], end)
    imports = import_summary(parse_importtime(text, "interpreter_start"))
    entry["imports"] = imports
    by_phase = imports["seconds_by_phase"]
    before = round(sum(v for k, v in by_phase.items() if k in ("child_start", "main")), 3)
    entry["imports_before_session"] = before
    entry["imports_in_request"] = round(by_phase.get("session_ready", 0.0), 3)
    phases = entry["phases"]
    entry["remainder"] = round(phases["total"] - before - phases.get("session_start", 0.0)
                               - (entry["seconds"] or 0.0), 3)
    return entry


def run_probe(tree: Path, python: str, tables: list[str], scratch: Path,
              timeout: float) -> dict:
    """The probe child (see the module docstring) on ``tree``'s code."""
    out, log = scratch / "probe.json", scratch / "probe.log"
    env = _child_env(tree, COLD_DELETE_PROBE=str(out))
    with open(log, "w") as sink:
        spawn = time.time()
        returncode = _run([python, "-c", CHILD_PROBE, str(scratch / "probe_wh"), *tables],
                          scratch, env, sink, timeout)
        total = time.time() - spawn
    if returncode != 0 or not out.is_file():
        return {"returncode": returncode, "error": log.read_text(errors="replace")[-3000:]}
    return {k: round(v, 3) if isinstance(v, float) else v
            for k, v in {**json.loads(out.read_text()), "total": total}.items()}


def _run(command: list[str], cwd: Path, env: dict[str, str], sink,
         timeout: float) -> int | None:
    """The child's exit status; ``None`` past ``timeout`` (the child is killed; its JVM
    leaves when the child's pipe closes)."""
    try:
        return subprocess.run(command, cwd=cwd, env=env, stdout=sink,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        return None


def _child_env(tree: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # the tree's code before the venv's editable install of this checkout
    env["PYTHONPATH"] = str(tree)
    env.update(extra)
    return env


def delta_tables(root: Path) -> list[str]:
    """Every Delta table under ``root`` (a folder holding ``_delta_log``), sorted."""
    return sorted(str(Path(d)) for d, subdirs, _ in os.walk(root) if "_delta_log" in subdirs)


def restore(work: Path) -> Path:
    """Put the saved initial warehouse back in place (``work/warehouse``); return it."""
    warehouse = work / "warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)
    shutil.copytree(work / "pristine", warehouse)
    return warehouse


# -- per size ------------------------------------------------------------------------------


def prepare(n_mails: int, root: Path, python: str) -> tuple[Path, dict]:
    """The size's folder under ``root`` in ``bench_deletion.py``'s layout (data, pristine,
    initial.json), built by ``bench_deletion.py --initial-only`` (this checkout) when absent."""
    work = root / str(n_mails)
    if not ((work / "pristine").is_dir() and (work / "initial.json").is_file()):
        print(f"[bench] {n_mails}: building the data and the initial run", file=sys.stderr,
              flush=True)
        subprocess.run([python, str(ROOT / "bench" / "bench_deletion.py"), "--sizes",
                        str(n_mails), "--initial-dir", str(root), "--initial-only"],
                       check=True)
        reused = False
    else:
        reused = True
    return work, {**json.loads((work / "initial.json").read_text()),
                  "initial_run_reused": reused}


def request_file(work: Path, scratch: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from spark_lester.deletion.request import CARD_NUMBER

    leaks = json.loads((work / "data" / "leaks.json").read_text())
    path = scratch / "request.json"
    path.write_text(json.dumps({**REQUEST, "keys": leaks["customer_ids"],
                                "verify_patterns": [CARD_NUMBER]}))
    return path


def wait_for_quiet(limit: float | None, what: str) -> dict:
    """Hold until the 1-minute load average is below ``limit`` (None: do not wait); the
    wait and the load ``what`` starts at."""
    start = time.perf_counter()
    if limit is not None and os.getloadavg()[0] >= limit:
        print(f"[bench] {what} waits for a load below {limit}", file=sys.stderr, flush=True)
        while os.getloadavg()[0] >= limit:
            time.sleep(5)
    return {"waited_seconds": round(time.perf_counter() - start, 1),
            "load_1min_at_start": round(os.getloadavg()[0], 2)}


#: Figures of a run that get a median per tree (dotted: nested).
FIGURES = ("total", "phases.interpreter_start", "phases.before_session",
           "phases.session_start", "phases.request_window", "phases.exit", "imports.seconds",
           "imports_before_session", "imports_in_request", "seconds", "seconds_to_consistent",
           "erasure_seconds", "remainder")


def medians(runs: list[dict]) -> dict:
    """Per figure, the median over the runs that have it; ``timings.*``, ``imports.*`` and
    ``probe.*`` figures too.

    >>> medians([{"total": 3.0, "timings": {"merge": 1.0}}, {"total": 5.0},
    ...          {"total": 4.0, "timings": {"merge": 2.0}}])
    {'total': 4.0, 'timings.merge': 1.5}
    """
    keys = list(FIGURES)
    for run in runs:
        for group in ("timings", "probe"):
            keys += [f"{group}.{k}" for k, v in (run.get(group) or {}).items()
                     if isinstance(v, (int, float)) and not isinstance(v, bool)
                     and (group == "timings" or k.endswith("seconds") or k == "total")
                     and f"{group}.{k}" not in keys]
        keys += [f"imports.heavy_seconds.{k}" for k in (run.get("imports") or {})
                 .get("heavy_seconds", {}) if f"imports.heavy_seconds.{k}" not in keys]
    out = {}
    for key in keys:
        values = [v for v in (_get(run, key) for run in runs) if v is not None]
        if values:
            out[key] = round(statistics.median(values), 3)
    return out


def ratios(of: dict, baseline: dict) -> dict:
    """``of[k] / baseline[k]`` for the figures both have (baseline not 0)."""
    return {k: round(of[k] / baseline[k], 3) for k in of if baseline.get(k)}


def _get(run: dict, dotted: str):
    value = run
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def measure(n_mails: int, root: Path, trees: dict[str, Path], args, record) -> dict:
    work, initial = prepare(n_mails, root, args.python)
    scratch_root = Path(tempfile.mkdtemp(prefix=f"lester-cold-{n_mails}-"))
    request = request_file(work, scratch_root)
    tables = delta_tables(work / "pristine")
    entry = {"mails": n_mails, **initial, "request": json.loads(request.read_text()),
             "runs": []}
    names = list(trees)
    for r in range(args.warmup + args.repeat):
        warmup = r < args.warmup
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            scratch = scratch_root / f"{name}-{r}"
            scratch.mkdir()
            run: dict = {"tree": name, "repeat": r - args.warmup, "warmup": warmup}
            if not args.no_probe:
                run["probe_load"] = wait_for_quiet(args.wait_for_quiet, f"{n_mails} {name} probe")
                run["probe"] = run_probe(trees[name], args.python, tables, scratch,
                                         args.timeout)
            warehouse = restore(work)
            run["load"] = wait_for_quiet(args.wait_for_quiet, f"{n_mails} {name} delete")
            run.update(run_delete(trees[name], args.python, request, warehouse, scratch,
                                  args.timeout, args.plain))
            print(f"[bench] {n_mails} {name} #{r}{' (warm-up)' if warmup else ''}: "
                  f"total {run['total']} s, request {run.get('seconds')} s, session "
                  f"{(run.get('phases') or {}).get('session_start')} s, imports "
                  f"{(run.get('imports') or {}).get('seconds')} s, status "
                  f"{run.get('status') or run.get('returncode')}", file=sys.stderr, flush=True)
            if "error" in run:
                print(run["error"], file=sys.stderr, flush=True)
            entry["runs"].append(run)
            summarise(entry, names, args.baseline)
            record(entry)
    restore(work)
    if not args.keep_logs:
        shutil.rmtree(scratch_root, ignore_errors=True)
    return entry


def summarise(entry: dict, names: list[str], baseline: str) -> None:
    timed = [run for run in entry["runs"] if not run["warmup"] and "error" not in run]
    entry["median"] = {name: medians([run for run in timed if run["tree"] == name])
                       for name in names}
    entry["ratio_to_" + baseline] = {name: ratios(entry["median"][name],
                                                  entry["median"][baseline])
                                     for name in names if name != baseline}


# -- main ----------------------------------------------------------------------------------


def tree_info(path: Path) -> dict:
    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], cwd=path, capture_output=True, text=True,
                              check=False).stdout.strip()

    return {"path": str(path), "commit": git("rev-parse", "--short", "HEAD") or None,
            "engine_changed_since_commit": bool(git("status", "--porcelain", "--",
                                                    "spark_lester"))}


def parse_trees(values: list[str] | None) -> dict[str, Path]:
    if not values:
        return {"current": ROOT}
    trees: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"--tree {value!r}: expected NAME=PATH")
        tree = Path(path).resolve()
        if not (tree / "spark_lester").is_dir():
            raise SystemExit(f"--tree {value!r}: no spark_lester/ in {tree}")
        if not (tree / ".jars").is_dir():
            raise SystemExit(f"--tree {value!r}: no .jars in {tree}; link it: "
                             f"ln -s {ROOT / '.jars'} {tree / '.jars'}")
        trees[name] = tree
    return trees


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--tree", action="append", metavar="NAME=PATH",
                        help="a code tree to time (repeatable; default: this checkout as "
                             "'current'); a baseline is a git worktree of an older commit "
                             "with .venv and .jars linked to this checkout's")
    parser.add_argument("--baseline", default=None,
                        help="the tree the others are divided by (default: 'baseline' if "
                             "given, else the first --tree)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=0,
                        help="untimed rounds first (each tree once per round)")
    parser.add_argument("--initial-dir", type=Path, default=None,
                        help="reuse (or keep) each size's data and initial warehouse under "
                             "DIR/<mails> (bench_deletion.py's layout)")
    parser.add_argument("--wait-for-quiet", type=float, metavar="LOAD",
                        help="hold each child until the 1-minute load average is below LOAD")
    parser.add_argument("--plain", action="store_true",
                        help="run `python -m spark_lester delete` without marks or "
                             "-X importtime (total and --json figures only)")
    parser.add_argument("--no-probe", action="store_true", help="leave out the probe child")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter of every child (default: this one)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per child")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep each child's log and --json output (paths in the result)")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / "cold_delete.json")
    args = parser.parse_args()
    trees = parse_trees(args.tree)
    if args.baseline is None:
        args.baseline = "baseline" if "baseline" in trees else next(iter(trees))
    if args.baseline not in trees:
        parser.error(f"--baseline {args.baseline}: no such --tree")
    root = args.initial_dir.resolve() if args.initial_dir else \
        Path(tempfile.mkdtemp(prefix="lester-cold-initial-"))
    # sizes measured earlier and not in this run stay in the file (each says its commits)
    results = [r for r in (json.loads(args.out.read_text())["results"] if args.out.is_file()
                           else []) if r["mails"] not in args.sizes]
    header = {
        "benchmark": "a cold `spark-lester delete` of the running example's incident (redact "
                     "the leaked customers' mail subjects, verify the card-number pattern) in "
                     "a fresh process: where its time goes, per code tree",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_1min_at_start": round(os.getloadavg()[0], 2)},
        "commit": tree_info(ROOT)["commit"],
        "trees": {name: tree_info(path) for name, path in trees.items()},
        "baseline": args.baseline, "repeat": args.repeat, "warmup": args.warmup,
        "plain": args.plain,
    }

    def record(entry: dict) -> None:
        done = sorted([*results, entry], key=lambda r: r["mails"])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**header, "results": done}, indent=2) + "\n")

    try:
        for n in args.sizes:
            entry = measure(n, root, trees, args, record)
            results.append(entry)
            print(json.dumps({"mails": n, "median": entry["median"],
                              f"ratio_to_{args.baseline}":
                                  entry[f"ratio_to_{args.baseline}"]}, indent=2), flush=True)
    finally:
        if args.initial_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
