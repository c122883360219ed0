"""The ordered validation of a rewrite: nothing is accepted before it passes every stage.

Stages, in order (:data:`STAGES`): ``parse`` (it is Python), ``allowlist`` (only the subset,
scikit-learn, numpy, pandas, PyTorch and safe standard modules; see :mod:`.allowlist`), ``original``
(the messy program runs on every input set: the oracle), ``rewrite`` (the rewrite runs on the
same input sets), ``compare`` (outputs equal as multisets; feature matrices through matrix
provenance; models by parameter shapes and outputs, see below) and ``provenance`` (every
output column of the rewrite's plan has a lineage path to a source column, and every output
row carries row provenance). Both programs run only in sandboxed subprocesses
(:mod:`.sandbox`).

The contract for the messy original (it is run as a plain script)::

    python messy.py --input NAME=inputs/FILE ... --output output

in a fresh temporary directory that holds a copy of each input under ``inputs/`` with its
original file (or folder) name, so legacy programs that hard-code ``inputs/customers.csv``
work unchanged; the same paths are in ``LESTER_INPUT_<NAME>`` and the output folder in
``LESTER_OUTPUT``. It must write one table to ``output/`` (one ``.csv`` with a header row,
``.parquet`` or ``.json``/``.jsonl`` file; for feature encoding a numeric matrix as ``.npy``
or an all-numeric table).

For a model definition (kind ``model``) the inputs hold a feature matrix ``X`` (``.npy``,
shape ``(n, n_features)``; the input named ``X``, or the only ``.npy`` input). The original
builds its model with ``torch.manual_seed(0)`` (the runner also seeds torch and numpy with 0)
and writes two files to ``output/``:

* ``parameters.npz``: every trainable parameter as an array, in the order of the module's
  ``parameters()`` (``np.savez(path, *[p.detach().numpy() for p in net.parameters()])``), in
  PyTorch's layout (a ``Linear(in, out)`` weight is ``(out, in)``; a hand-rolled numpy model
  stores ``W.T``);
* ``logits.npy`` (the raw outputs on ``X``, shape ``(n,)``, ``(n, 1)`` or ``(n, k)``) or
  ``probabilities.npy`` (sigmoid of the logits; softmax over the last axis when ``k > 1``),
  computed in evaluation mode (no dropout).

What is compared is the architecture's behaviour, not trained weights: the rewrite's module
``model(n_features)`` must have the same ordered parameter shapes, and after the original's
weights are loaded into it its outputs on ``X`` must equal the original's (``(n,)`` and
``(n, 1)`` are the same; tolerance of float32). That catches wrong layer sizes, a missing
bias, another activation, a missing or extra layer and swapped layers. Only arrays (``.npz``,
``.npy``) and JSON cross the sandbox boundary, never a pickle.

The contract for a rewrite (a pipeline module): ``prepare(**sources) -> LesterFrame`` whose
parameter names are source names, optional ``SOURCES = {"mails": {"key": "mail_id"}}``; for
feature encoding ``encoder()`` returning an unfitted scikit-learn ColumnTransformer; for a
model ``model(n_features)`` returning an untrained ``torch.nn.Module`` that maps a float
tensor ``(batch, n_features)`` to logits.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_lester.errors import RewriteError
from spark_lester.rewrite.allowlist import check_allowlist
from spark_lester.rewrite.compare import (
    Comparison,
    compare_matrices,
    compare_model_outputs,
    compare_parameter_shapes,
    compare_tables,
)
from spark_lester.rewrite.redact import redact
from spark_lester.rewrite.sandbox import Limits, PythonCommand, SandboxResult, run_sandboxed

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

STAGES = ("extract", "parse", "allowlist", "original", "rewrite", "sandbox", "compare",
          "provenance")
KINDS = ("prepare", "encoder", "model")
ENTRY_POINTS = {"prepare": "prepare", "encoder": "encoder", "model": "model"}
#: What a model original writes besides ``parameters.npz`` (see the module doc).
MODEL_OUTPUTS = ("logits.npy", "probabilities.npy")
DATA_SUFFIXES = (".csv", ".parquet", ".json", ".jsonl", ".npy")


def package_root() -> Path:
    import spark_lester

    return Path(spark_lester.__file__).resolve().parent.parent


@dataclass(frozen=True)
class Task:
    """What to rewrite: the messy program, its named sample inputs and the stage kind."""

    messy: Path
    inputs: Mapping[str, Path]
    kind: str = "prepare"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise RewriteError(f"unknown task kind {self.kind!r}; use one of {KINDS}.")
        if not Path(self.messy).is_file():
            raise RewriteError(f"messy program {self.messy} does not exist.", stage="input")
        for name, path in self.inputs.items():
            if not Path(path).exists():
                raise RewriteError(f"input {name}={path} does not exist.", stage="input")
        if self.kind == "model":
            self.features  # noqa: B018 - raises when no input is the feature matrix

    @property
    def source(self) -> str:
        return Path(self.messy).read_text(encoding="utf-8")

    @property
    def features(self) -> str:
        """The name of the feature-matrix input of a model task (``X`` or the only .npy)."""
        matrices = [n for n, p in self.inputs.items() if Path(p).suffix == ".npy"]
        if "X" in matrices:
            return "X"
        if len(matrices) == 1:
            return matrices[0]
        raise RewriteError(f"a model task needs its feature matrix as an .npy input; found "
                           f"{len(matrices)} .npy inputs ({', '.join(matrices) or 'none'}).",
                           stage="input", hint="Pass it as --input X=features.npy.")


@dataclass
class Failure:
    """Why a rewrite was rejected: the stage, a one-line message and the details the model
    needs (the exception and the last traceback lines, or the first differing rows)."""

    stage: str
    message: str
    details: str = ""
    input_set: str | None = None

    def __post_init__(self) -> None:
        # Whatever a sandboxed program printed or returned may hold a secret it should
        # never have had: this text goes to the report, the CLI and the next prompt.
        self.message, self.details = redact(self.message), redact(self.details)

    def signature(self) -> str:
        """Equal for the same error in two rounds (the loop stops early on a repeat)."""
        return f"{self.stage}|{self.message}|{self.details}"

    def feedback(self) -> str:
        where = f" on input set '{self.input_set}'" if self.input_set else ""
        text = f"Validation failed at stage '{self.stage}'{where}: {self.message}"
        return f"{text}\n{self.details}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "message": self.message, "details": self.details,
                "input_set": self.input_set}


@dataclass
class Outcome:
    """The result of validating one rewrite."""

    accepted: bool
    failure: Failure | None = None
    input_sets: list[str] = field(default_factory=list)
    comparisons: dict[str, dict[str, Any]] = field(default_factory=dict)
    lineage: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted,
                "failure": self.failure.to_dict() if self.failure else None,
                "input_sets": self.input_sets, "comparisons": self.comparisons}


# ---- static stages -----------------------------------------------------------------------
def static_failure(code: str, kind: str = "prepare") -> Failure | None:
    """Parse and allow-list checks; None when both pass."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return Failure("parse", f"SyntaxError: {exc.msg} (line {exc.lineno})",
                       (exc.text or "").rstrip())
    violations = check_allowlist(tree, kind)
    if violations:
        return Failure("allowlist", f"{len(violations)} construct(s) are not allowed",
                       "\n".join(str(v) for v in violations[:10]))
    entry = ENTRY_POINTS[kind]
    if not any(isinstance(n, ast.FunctionDef) and n.name == entry for n in tree.body):
        return Failure("parse", f"the module defines no top-level function '{entry}'")
    return None


# ---- the oracle ----------------------------------------------------------------------------
@dataclass
class Oracle:
    """The original program's outputs on the samples and the kept variants.

    Built once per task (:meth:`build`) and reused for every round and candidate. Owns a
    temporary folder with the input sets; call :meth:`close` (or use ``with``).
    """

    task: Task
    root: Path
    sets: dict[str, dict[str, Path]]
    outputs: dict[str, Any]
    coverage: dict[str, Any] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, task: Task, *, variants: int | None = None, seed: int = 0,
              limits: Limits | None = None) -> Oracle:
        """Run the original on the samples (failure: :class:`RewriteError`) and on up to
        ``variants`` generated variants (default :data:`~.variants.DEFAULT_VARIANTS`; see
        :mod:`.variants`) of every input it can read: CSV, Parquet, folders of either and
        ``.npy`` matrices, written in the sample's format and layout.

        Every variant the original runs on is kept: coverage (``coverage``, with the lines
        each set reached first) is information only, never a reason to drop one. A variant
        the original fails on is outside its domain: its parts (when it merges several
        probes) are tried one by one, and whatever still fails is recorded in ``dropped``
        with the original's error."""
        from spark_lester.rewrite.variants import (
            DEFAULT_VARIANTS,
            load_input,
            plan_variants,
            write_input,
        )

        count = DEFAULT_VARIANTS if variants is None else variants
        root = Path(tempfile.mkdtemp(prefix="lester-oracle-"))
        sample = {n: Path(p).resolve() for n, p in task.inputs.items()}
        oracle = cls(task, root, {}, {})
        planned, readable = [], {}
        if count > 0:
            for name, path in sample.items():
                try:
                    data = load_input(name, path)
                except Exception as exc:  # noqa: BLE001 - an unreadable input stays the sample
                    oracle.dropped[f"input {name}"] = (f"no variants of {path.name}: "
                                                       f"{type(exc).__name__}: {exc}")
                    continue
                if data is not None:
                    readable[name] = data
            planned = plan_variants(readable, task.source, count=count, seed=seed,
                                    kind=task.kind)

        def write(label: str, variant: Any) -> dict[str, Path]:
            files = dict(sample)
            for name, value in variant.data.items():
                files[name] = write_input(readable[name], value, root / label / name)
            return files

        def attempt(label: str, files: dict[str, Path]) -> tuple[str, Any]:
            return label, run_original(task, files, limits=limits, trace=True)

        def run_variant(index: int, variant: Any) -> list[tuple[str, dict[str, Path], Any]]:
            label = f"variant{index}-{variant.name}"
            files = write(label, variant)
            _, run = attempt(label, files)
            if run[1] is None or not variant.parts:
                return [(label, files, run)]
            runs = [(label, files, run)]
            for part in variant.parts:
                part_label = f"variant{index}-{part.name}"
                part_files = write(part_label, part)
                runs.append((part_label, part_files, attempt(part_label, part_files)[1]))
            return runs

        result, failure, cov = run_original(task, sample, limits=limits, trace=True)
        if failure is not None:
            oracle.close()
            raise RewriteError(f"the original program fails on the sample inputs: "
                               f"{failure.message}\n{failure.details}", stage="original",
                               hint="The original is the oracle: make it run first.")
        runs: list[tuple[str, dict[str, Path], Any]] = [("sample", sample, (result, None, cov))]
        for i, variant in enumerate(planned):  # one at a time: the sandboxes share one user
            runs += run_variant(i + 1, variant)  # and its process limit
        hit: set[int] = set()
        executable: set[int] = set()
        first_hits: dict[str, int] = {}
        for name, files, (output, failed, coverage) in runs:
            if failed is not None:
                oracle.dropped[name] = ("the original fails on it: "
                                        f"{failed.message}").strip()[:500]
                continue
            oracle.sets[name] = files
            oracle.outputs[name] = output
            if coverage:
                first_hits[name] = len(set(coverage["hit"]) - hit)
                hit |= set(coverage["hit"])
                executable |= set(coverage["executable"])
        oracle.coverage = {"lines_hit": len(hit), "lines_executable": len(executable),
                           "missed_lines": sorted(executable - hit)[:50],
                           "new_lines_per_set": first_hits}
        return oracle

    @property
    def columns(self) -> list[str]:
        sample = self.outputs["sample"]
        return [str(c) for c in sample.columns] if hasattr(sample, "columns") else []

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Oracle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _copy_inputs(files: Mapping[str, Path], target: Path) -> dict[str, str]:
    target.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, path in files.items():
        dest = target / path.name
        if dest.exists():  # two inputs with one file name: keep them apart
            dest = target / name / path.name
            dest.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, dest)
        else:
            shutil.copyfile(path, dest)
        out[name] = str(dest.relative_to(target.parent))
    return out


def run_original(task: Task, files: Mapping[str, Path], *, limits: Limits | None = None,
                 trace: bool = False) -> tuple[Any, Failure | None, dict[str, Any] | None]:
    """Run the messy program on one input set in the sandbox; (output, failure, coverage)."""
    with tempfile.TemporaryDirectory(prefix="lester-original-") as tmp:
        work = Path(tmp)
        program = work / "messy.py"
        shutil.copyfile(task.messy, program)
        inputs = _copy_inputs(files, work / "inputs")
        job = {"kind": "original", "program": str(program), "workdir": str(work),
               "set_dir": str(work), "inputs": inputs, "trace": trace,
               "package_root": str(package_root()),
               "preload": ["torch"] if task.kind == "model" and "torch" in task.source
               else []}
        (work / "job.json").write_text(json.dumps(job), encoding="utf-8")
        default = Limits.for_torch() if task.kind == "model" else Limits()
        result = run_sandboxed(PythonCommand().argv(work / "job.json"), work,
                               limits or default)
        error = _read_error(work / "error.json")
        if error is not None:
            return None, _failure_from(error, "original"), None
        if not result.ok:
            return None, Failure("original", f"the original program was {result.describe()}",
                                 result.stderr[-1500:]), None
        try:
            output = read_output(work / "output", task.kind)
        except RewriteError as exc:
            return None, Failure("original", str(exc)), None
        cov = None
        if trace and (work / "coverage.json").is_file():
            cov = json.loads((work / "coverage.json").read_text(encoding="utf-8"))
        return output, None, cov


@dataclass(frozen=True)
class ModelOutput:
    """What a model original wrote: its parameters (in order) and its outputs on ``X``."""

    parameters: list[np.ndarray]
    outputs: np.ndarray
    probabilities: bool

    @property
    def shapes(self) -> list[list[int]]:
        return [list(p.shape) for p in self.parameters]


def read_model_output(folder: Path) -> ModelOutput:
    """``parameters.npz`` and ``logits.npy`` (or ``probabilities.npy``) from ``folder``."""
    import numpy as np

    weights = folder / "parameters.npz"
    written = [folder / name for name in MODEL_OUTPUTS if (folder / name).is_file()]
    if not weights.is_file() or len(written) != 1:
        raise RewriteError("a model original must write output/parameters.npz and exactly one "
                           f"of output/{' or output/'.join(MODEL_OUTPUTS)}.", stage="original",
                           hint="np.savez('output/parameters.npz', *[p.detach().numpy() for p "
                                "in net.parameters()]); np.save('output/logits.npy', logits).")
    try:
        with np.load(weights, allow_pickle=False) as stored:
            keys = [f"arr_{i}" for i in range(len(stored.files))]
            if sorted(keys) != sorted(stored.files):
                raise RewriteError("output/parameters.npz must hold positional arrays "
                                   "(np.savez(path, *arrays)), in parameter order.",
                                   stage="original")
            parameters = [np.asarray(stored[k]) for k in keys]
        outputs = np.load(written[0], allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise RewriteError(f"unreadable model output: {exc}", stage="original") from None
    return ModelOutput(parameters, np.asarray(outputs, dtype=float),
                       written[0].name == "probabilities.npy")


def read_output(folder: Path, kind: str) -> Any:
    """The one table (or matrix, or model) the original wrote to ``folder``."""
    import pandas as pd

    if kind == "model":
        return read_model_output(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES
                   and not p.name.startswith((".", "_")))
    if not files:
        raise RewriteError("the original wrote no .csv/.parquet/.json/.npy file to output/.",
                           stage="original")
    suffix = files[0].suffix
    if suffix == ".npy":
        import numpy as np

        return np.load(files[0], allow_pickle=False)
    same = [p for p in files if p.suffix == suffix]
    if suffix == ".csv":
        frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in same]
    elif suffix == ".parquet":
        frames = [pd.read_parquet(p) for p in same]
    else:
        frames = [pd.read_json(p, lines=p.suffix == ".jsonl", dtype=False) for p in same]
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if kind == "encoder":
        return table.apply(pd.to_numeric).to_numpy(dtype=float)
    return table


def _read_error(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"type": "UnknownError", "message": "unreadable error report", "traceback": []}
    return loaded if isinstance(loaded, dict) else None


#: Sandbox temporary folders differ per run; removed so the same error reads the same.
_TEMP_PATH = re.compile(r"/[^\s\"']*?/lester-[a-z]+-[^/\s\"']+/")


def _failure_from(error: Mapping[str, Any], stage: str, input_set: str | None = None
                  ) -> Failure:
    tb = [_TEMP_PATH.sub("", str(line)) for line in error.get("traceback", [])][-8:]
    phase = error.get("phase")
    message = _TEMP_PATH.sub("", f"{error.get('type')}: {error.get('message')}")
    if phase and stage == "rewrite":
        message = f"{message} (while {phase_text(str(phase))})"
    return Failure(stage, message[:1500], "\n".join(tb), input_set)


def phase_text(phase: str) -> str:
    return {"import": "importing the module", "read": "reading the inputs",
            "prepare": "running prepare()", "collect": "computing the result",
            "encoder": "calling encoder()", "fit": "fitting the ColumnTransformer",
            "model": "calling model(n_features)", "load": "loading the original's weights",
            "forward": "running the module on X",
            "plan": "checking the plan"}.get(phase, phase)


# ---- the rewrite ------------------------------------------------------------------------------
def validate(code: str, oracle: Oracle, *, limits: Limits | None = None) -> Outcome:
    """Validate one rewrite against ``oracle`` (all stages, in order)."""
    return validate_batch([(code, oracle)], limits=limits)[0]


def validate_many(codes: Sequence[str], oracle: Oracle, *, limits: Limits | None = None
                  ) -> list[Outcome]:
    """Validate several rewrites of one task (see :func:`validate_batch`)."""
    return validate_batch([(code, oracle) for code in codes], limits=limits)


def validate_batch(items: Sequence[tuple[str, Oracle]], *, limits: Limits | None = None
                   ) -> list[Outcome]:
    """Validate (rewrite, oracle) pairs. Those passing the static stages run together, one
    sandboxed process per task kind (so Spark starts once), each rewrite imported into its
    own module namespace and written to its own output folder."""
    outcomes: list[Outcome | None] = []
    runnable: dict[str, list[tuple[int, str, Oracle]]] = {}
    for i, (code, oracle) in enumerate(items):
        failure = static_failure(code, oracle.task.kind)
        outcomes.append(Outcome(False, failure) if failure else None)
        if failure is None:
            runnable.setdefault(oracle.task.kind, []).append((i, code, oracle))
    for kind, group in runnable.items():
        results = _run_rewrites(kind, [(c, o) for _, c, o in group], limits=limits)
        for (i, _, _), outcome in zip(group, results, strict=True):
            outcomes[i] = outcome
    return [o for o in outcomes if o is not None]


def _run_rewrites(kind: str, items: Sequence[tuple[str, Oracle]], *, limits: Limits | None
                  ) -> list[Outcome]:
    """Run ``items`` in one sandboxed process; when the run does not end cleanly (the guard
    ended it at a refusal, a kill, the wall-clock limit, no end line), every program it
    reached is rejected and the ones it did not reach are run again in a fresh process and
    folder, so one hostile program costs the others of its batch nothing but time.

    Rejecting every program the run reached (not only the one running at the refusal) is
    deliberate: an earlier program may have left a thread or a patched module behind that
    made the refusal during a later one."""
    outcomes: list[Outcome | None] = [None] * len(items)
    pending = list(range(len(items)))
    while pending:
        result, judged = _run_once(kind, [items[i] for i in pending], limits=limits)
        clean = (result.finished and not result.timed_out and result.returncode in (0, 1)
                 and not [r for r in result.refusals if not r.startswith("[program ")])
        if clean:
            for position, outcome in zip(pending, judged, strict=True):
                outcomes[position] = outcome
            break
        reached = max(result.started) + 1 if result.started else len(pending)
        for n, position in enumerate(pending[:reached]):
            outcomes[position] = judged[n] if n == reached - 1 or not judged[n].accepted \
                else Outcome(False, Failure(
                    "sandbox", "another program of the same sandboxed run was refused or "
                    f"ended it ({result.describe()})", result.stderr[-1500:]))
        pending = pending[reached:]
    return [o for o in outcomes if o is not None]


def _run_once(kind: str, items: Sequence[tuple[str, Oracle]], *, limits: Limits | None
              ) -> tuple[SandboxResult, list[Outcome]]:
    with tempfile.TemporaryDirectory(prefix="lester-rewrite-") as tmp:
        work = Path(tmp)
        copies: dict[int, dict[str, dict[str, str]]] = {}
        weights: dict[int, dict[str, str]] = {}
        programs = []
        for i, (code, oracle) in enumerate(items):
            if id(oracle) not in copies:
                base = work / "sets" / str(len(copies))
                input_sets = {}
                for set_name, files in oracle.sets.items():
                    copied = _copy_inputs(files, base / set_name / "inputs")
                    input_sets[set_name] = {n: str(base / set_name / p)
                                            for n, p in copied.items()}
                copies[id(oracle)] = input_sets
                if kind == "model":
                    weights[id(oracle)] = _write_weights(oracle, base)
            path = work / f"rewrite_{i}.py"
            path.write_text(code, encoding="utf-8")
            program = {"program": str(path), "out": str(work / "out" / str(i)),
                       "input_sets": copies[id(oracle)], "id": i}
            if kind == "model":
                program.update(weights=weights[id(oracle)], features=oracle.task.features)
            programs.append(program)
        job_kind = {"prepare": "pipeline", "encoder": "encoder", "model": "model"}[kind]
        job = {"kind": job_kind, "workdir": str(work),
               "programs": programs, "package_root": str(package_root())}
        if kind == "prepare":  # the sandbox's environment is scrubbed: pass the jars on
            from spark_lester.config import LesterConfig

            job["jars_dir"] = str(LesterConfig.from_env().jars_dir)
        (work / "job.json").write_text(json.dumps(job), encoding="utf-8")
        default = {"prepare": Limits.for_spark(), "model": Limits.for_torch()}.get(kind,
                                                                                  Limits())
        if kind == "prepare":  # one Spark start, then about a second per program and set
            default = _scaled(default, sum(len(p["input_sets"]) for p in programs))
        result = run_sandboxed(PythonCommand().argv(work / "job.json"), work, limits or default)
        return result, [_sandbox_verdict(result, index, len(programs))
                        or _judge(Path(p["out"]), oracle, result)
                        for index, (p, (_, oracle)) in enumerate(zip(programs, items,
                                                                     strict=True))]


def sandbox_failure(result: SandboxResult, index: int, count: int | None = None
                    ) -> Failure | None:
    """Why program ``index`` (of ``count``) of a sandboxed batch is rejected whatever its
    output; None when nothing speaks against it.

    Rejected: a refusal tagged with its index, or one no program of the batch can be cleared
    of (a Spark worker's, one made before or after the programs ran, one tagged with an index
    the batch does not have); and, for every program of the batch, a run that did not end
    cleanly: the guard ended it (it fails closed, :data:`sandbox.REFUSED_EXIT`), it was
    killed (a limit, seccomp), it passed the wall-clock limit, or it ended without the
    runner's end line (a program closed or replaced its error stream). The runner's own
    exit code 1 only says that some program failed in the ordinary way (its error.json)."""
    tag = f"[program {index}] "

    def applies(refusal: str) -> bool:
        if refusal.startswith(tag):
            return True
        match = re.match(r"\[program (\d+)\] ", refusal)
        return match is None or (count is not None and int(match.group(1)) >= count)

    mine = [r for r in result.refusals if applies(r)]
    if mine:
        shown = [r[len(tag):] if r.startswith(tag) else r for r in mine]
        return Failure("sandbox", "the rewrite attempted an operation the sandbox refuses: "
                       f"{shown[0]}", "\n".join(shown[:5]))
    if result.refusals or result.timed_out or result.returncode not in (0, 1) \
            or not result.finished:
        why = ("another program of the same sandboxed run made a refused attempt"
               if result.refusals else f"the sandboxed run was {result.describe()}")
        return Failure("sandbox", why, result.stderr[-1500:])
    return None


def _sandbox_verdict(result: SandboxResult, index: int, count: int) -> Outcome | None:
    failure = sandbox_failure(result, index, count)
    return Outcome(False, failure) if failure is not None else None


def _write_weights(oracle: Oracle, base: Path) -> dict[str, str]:
    """The original's parameters per input set as ``weights.npz`` (arrays, never pickle)."""
    import numpy as np

    out = {}
    for set_name, output in oracle.outputs.items():
        path = base / set_name / "weights.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, *output.parameters)
        out[set_name] = str(path)
    return out


def _scaled(limits: Limits, runs: int) -> Limits:
    from dataclasses import replace

    extra = max(0, runs - 8) * 10
    return replace(limits, wall_s=limits.wall_s + extra, cpu_s=limits.cpu_s + extra)


def _judge(out: Path, oracle: Oracle, result: Any) -> Outcome:
    kind = oracle.task.kind
    sets = list(oracle.sets)
    error = _read_error(out / "error.json")
    if error is not None:
        return Outcome(False, _failure_from(error, "rewrite"), sets)
    comparisons: dict[str, dict[str, Any]] = {}
    lineage = None
    for set_name in sets:
        folder = out / set_name
        error = _read_error(folder / "error.json")
        if error is not None:
            return Outcome(False, _failure_from(error, "rewrite", set_name), sets, comparisons)
        try:
            got = _read_rewrite(folder, kind)
        except (OSError, ValueError) as exc:
            detail = result.stderr[-1500:] if result is not None else ""
            message = (f"the rewrite produced no output ({type(exc).__name__}); the sandboxed "
                       f"run was {result.describe()}" if result is not None else str(exc))
            return Outcome(False, Failure("rewrite", message, detail, set_name), sets)
        comparison = _compare(oracle.outputs[set_name], got, folder, kind)
        comparisons[set_name] = comparison.to_dict()
        if not comparison.equal:
            return Outcome(False, Failure("compare", "the rewrite's output differs from the "
                                          "original's", comparison.summary(), set_name),
                           sets, comparisons)
        if kind == "prepare":
            failure = provenance_failure(folder, list(got.columns))
            if failure is not None:
                failure.input_set = set_name
                return Outcome(False, failure, sets, comparisons)
            if lineage is None:
                lineage = json.loads((folder / "lineage.json").read_text(encoding="utf-8"))
    return Outcome(True, None, sets, comparisons, lineage)


def _read_rewrite(folder: Path, kind: str) -> Any:
    import pandas as pd

    if kind == "model":
        import numpy as np

        shapes = json.loads((folder / "parameters.json").read_text(encoding="utf-8"))["shapes"]
        outputs = folder / "outputs.npy"
        return shapes, (np.load(outputs, allow_pickle=False) if outputs.is_file() else None)
    if kind == "encoder":
        return pd.read_parquet(folder / "features.parquet").to_numpy(dtype=float)
    return pd.read_parquet(folder / "data.parquet")


def _compare(expected: Any, got: Any, folder: Path, kind: str) -> Comparison:
    if kind == "model":
        shapes, outputs = got
        comparison = compare_parameter_shapes(expected.shapes, shapes)
        if not comparison.equal or outputs is None:
            return comparison
        return compare_model_outputs(expected.outputs, outputs,
                                     probabilities=expected.probabilities)
    if kind == "encoder":
        prov_path = folder / "matrix_provenance.json"
        prov = json.loads(prov_path.read_text(encoding="utf-8")) if prov_path.is_file() else {}
        return compare_matrices(expected, got, prov)
    extra = [c for c in got.columns if c not in expected.columns]
    if extra:
        return Comparison(False, [f"the rewrite has extra output column(s) {extra}; "
                                  f"the output columns must be exactly "
                                  f"{[str(c) for c in expected.columns]}"])
    return compare_tables(expected, got)


def provenance_failure(folder: Path, columns: Sequence[str]) -> Failure | None:
    """None when every output column has a lineage path and every row carries row ids."""
    import pandas as pd

    lineage = json.loads((folder / "lineage.json").read_text(encoding="utf-8"))
    orphans = [c for c in columns
               if not (lineage.get(c, {}).get("direct") or lineage.get(c, {}).get("indirect"))]
    if orphans:
        return Failure("provenance", f"output column(s) {orphans} have no provenance path to "
                       "a source column", "Compute every output column from the inputs' "
                       "columns (withColumn or select with Column expressions).")
    prov = pd.read_parquet(folder / "provenance.parquet")
    if prov.shape[1] == 0:
        return Failure("provenance", "the output carries no row provenance columns")
    if len(prov) and prov.isna().all(axis=1).any():
        return Failure("provenance", "some output rows carry no row provenance")
    return None


def describe_inputs(inputs: Mapping[str, Path], *, examples: int = 2) -> str:
    """The inferred schema of each input (name, path, columns with types and examples)."""
    import pandas as pd

    lines = []
    for name, path in inputs.items():
        path = Path(path)
        if path.suffix == ".npy":
            import numpy as np

            matrix = np.load(path, allow_pickle=False, mmap_mode="r")
            lines.append(f"- source `{name}` (.npy array of shape {tuple(matrix.shape)}, "
                         f"{matrix.dtype}, passed to the messy program as inputs/{path.name})")
            continue
        files = sorted(path.rglob("*.csv")) if path.is_dir() else [path]
        if not files:
            lines.append(f"- {name}: {path.name} (no readable files)")
            continue
        first = files[0]
        frame = (pd.read_parquet(first) if first.suffix == ".parquet"
                 else pd.read_csv(first, nrows=200))
        cols = ", ".join(
            f"{c} {frame[c].dtype.name} (e.g. {', '.join(repr(v)[:30] for v in frame[c].dropna().unique()[:examples])})"
            for c in frame.columns)
        shape = f"folder of {len(files)} {first.suffix} files" if path.is_dir() else first.suffix
        lines.append(f"- source `{name}` ({shape}, passed to the messy program as "
                     f"inputs/{path.name}): {cols}")
    return "\n".join(lines)


__all__ = ["Failure", "ModelOutput", "Oracle", "Outcome", "STAGES", "Task", "describe_inputs",
           "run_original", "static_failure", "validate", "validate_batch", "validate_many"]
_ = sys
