"""The program that runs *inside* the sandbox (``python -I _runner.py job.json``).

Never imported by the host. It reads a JSON job, installs the guard (an audit hook that
cannot be removed), runs the original program or the rewrite, and writes results as Parquet
and JSON into the job's folders. A failure is written to ``error.json`` (stage, exception
type, message, last lines of the traceback) and the runner exits 1.

Job kinds:

``original``  run a messy script with ``runpy`` in ``set_dir`` (see
              :mod:`spark_lester.rewrite.validate` for the contract), optionally tracing
              which of its lines run (``coverage.json``).
``pipeline``  import each rewrite module, read every input set with the DataFrame subset
              (keys from the module's ``SOURCES``), call ``prepare(**sources)`` and write
              ``data.parquet``, ``provenance.parquet`` and ``lineage.json``. Spark starts
              once, before any rewrite is imported, then the guard allows loopback only.
``encoder``   call ``encoder()``, fit the unfitted ColumnTransformer on the input table
              and write ``features.parquet`` and ``matrix_provenance.json``.
``model``     build ``model(n_features)`` with ``torch.manual_seed(0)``, write its parameter
              shapes (``parameters.json``) and, when they equal the original's, load the
              original's weights (``weights.npz``, in parameter order), run it in eval mode
              on the feature matrix and write ``outputs.npy``.

Jobs may name modules to ``preload`` before the guard goes up (PyTorch loads shared
libraries with ctypes, which the guard refuses afterwards). PyTorch also reads and writes
files from C++ (``torch.from_file``, its zip reader), which no audit hook sees: those entry
points are replaced by refusals after the import (:func:`_disarm_torch`); the allow-list
keeps a rewrite from reaching the rest of ``torch._C``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

if __name__ == "__main__":  # pragma: no cover - only ever runs in the sandbox
    _here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0]) == _here:
        sys.path.pop(0)


def _write_json(path: str, payload: object) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, default=str)


def _error(exc: BaseException, stage: str, phase: str) -> dict[str, object]:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tb = "".join(lines).splitlines()
    return {"stage": stage, "phase": phase, "type": type(exc).__name__,
            "message": str(exc)[:2000], "traceback": tb[-15:]}


# ---- the guard ---------------------------------------------------------------------------
_PROCESS_EVENTS = {"os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                   "os.forkpty", "os.kill", "os.killpg", "subprocess.Popen", "pty.spawn",
                   "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "code.__new__",
                   "os.setuid", "os.setgid", "sys.remote_exec", "os.chroot",
                   "ctypes.string_at", "sys.setprofile", "signal.pthread_kill",
                   "os.posix_spawnp", "_posixsubprocess.fork_exec", "sys._current_frames"}
_WRITE_EVENTS = {"os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.link",
                 "os.symlink", "os.truncate", "os.utime", "shutil.rmtree", "shutil.move",
                 "shutil.copyfile", "os.chflags", "os.mknod"}


#: Out-of-band lines the host reads from the stderr pipe (see :mod:`.sandbox`).
REFUSAL_MARK = "LESTER-REFUSAL "
END_MARK = "LESTER-END "
#: Exit code of a run whose guard refused something (see ``sandbox.REFUSED_EXIT``).
REFUSED_EXIT = 86
#: Audited by the runner's own refusals outside the hook (PyTorch's disarmed entry points):
#: the hook turns it into a refusal.
REFUSED_EVENT = "lester.refused"


def install_guard(workdir: str, read_roots: list[str], *, loopback: bool,  # type: ignore[no-untyped-def]
                  allow: frozenset[str] = frozenset(), fail_closed: bool = True):
    """Refuse process creation, ctypes, network (loopback only if ``loopback``), writes
    outside ``workdir`` and reads outside ``workdir`` and ``read_roots``.

    Each refusal is written to file descriptor 2 as a ``LESTER-REFUSAL`` line, and then the
    process ends at once with :data:`REFUSED_EXIT` (``fail_closed``, the default): a program
    cannot swallow a refusal, hide it by pointing descriptor 2 elsewhere for a moment, or
    forge anything after it. With ``fail_closed=False`` (Spark's Python workers, whose death
    Spark reports as a task failure anyway) a ``PermissionError`` is raised instead.
    Everything the hook uses is bound here, in its closure: patching ``builtins``,
    ``os.path`` or this module's sets afterwards does not change what it refuses.

    ``allow`` names process events to let through (a Spark worker must build code objects:
    that is how a UDF arrives, pickled).

    Returns ``label(text)``: refusals made after it name ``text`` (``program 3``), so the
    host can tell which program of a batch made them."""
    import os as _os

    realpath, fsdecode, write, sep = _os.path.realpath, _os.fsdecode, _os.write, _os.sep
    exit_now = _os._exit
    is_a, tuple_of = isinstance, tuple
    writing_flags = _os.O_WRONLY | _os.O_RDWR | _os.O_CREAT
    permission_error, string, raw, integer = PermissionError, str, bytes, int
    work = realpath(workdir)
    roots = tuple({realpath(r) for r in read_roots if r} | {work})
    process_events = frozenset(_PROCESS_EVENTS) - allow
    write_events = frozenset(_WRITE_EVENTS | {"os.rename", "os.replace"})
    socket_events = frozenset({"socket.connect", "socket.sendto", "socket.bind",
                               "socket.sendmsg"})
    loop_hosts = ("127.0.0.1", "::1", "localhost") if loopback else ()
    current = [""]

    def label(text: str | None) -> None:
        current[0] = f"[{text}] " if text else ""

    def refuse(message: str) -> None:
        line = ("\n" + REFUSAL_MARK + current[0] + message.replace("\n", " ")[:300] + "\n")
        try:
            write(2, line.encode("utf-8", "replace"))
        except OSError:
            pass
        if fail_closed:
            exit_now(REFUSED_EXIT)
        raise permission_error("sandbox: " + message)

    def inside(path: object, allowed: tuple[str, ...]) -> bool:
        if is_a(path, integer):
            return True  # an already-open descriptor
        if is_a(path, raw):
            path = fsdecode(path)
        if not is_a(path, string):
            return False
        real = realpath(path)
        for root in allowed:
            if real == root or real.startswith(root + sep):
                return True
        return False

    def hook(event: str, args: tuple) -> None:
        if event in process_events:
            refuse(f"{event} is not allowed")
        if event == REFUSED_EVENT:
            refuse(f"{args[0] if args else 'an operation'}")
        if event == "open":
            path, mode, flags = (tuple_of(args) + (None, None))[:3]
            writing = (is_a(mode, string) and ("w" in mode or "a" in mode or
                                                     "x" in mode or "+" in mode)) or (
                is_a(flags, integer) and flags & writing_flags)
            if not inside(path, (work,) if writing else roots):
                refuse(f"opening {path!r} is not allowed")
        elif event in write_events:
            for path in args[:2]:
                if is_a(path, (string, raw)) and not inside(path, (work,)):
                    refuse(f"{event} outside the sandbox")
        elif event in ("os.listdir", "os.scandir"):
            if args and args[0] is not None and not inside(args[0], roots):
                refuse(f"listing {args[0]!r} is not allowed")
        elif event in socket_events:
            address = args[1] if args[1:] else None
            host = address[0] if is_a(address, tuple) and address else address
            if host not in loop_hosts:
                refuse(f"network access to {host!r} is not allowed")
        elif event == "socket.getaddrinfo":
            if not (args and args[0] in loop_hosts):
                refuse("name resolution is not allowed")

    sys.addaudithook(hook)
    return label


def _start(label, item: dict, position: int) -> int:  # type: ignore[no-untyped-def]
    """Announce the program of ``item`` (``LESTER-START program N`` on descriptor 2, so the
    host knows which programs a run reached) and label the guard's refusals with it; its
    number is the host's (``item["id"]``), else its position in the job."""
    number = int(item.get("id", position))
    label(f"program {number}")
    try:
        os.write(2, f"\nLESTER-START program {number}\n".encode())
    except OSError:
        pass
    return number


def _read_roots(job: dict) -> list[str]:
    import site
    import sysconfig

    roots = [sys.prefix, sys.base_prefix, sys.exec_prefix, job["package_root"],
             sysconfig.get_paths()["stdlib"], "/usr/share/zoneinfo", "/dev/null",
             "/dev/urandom", "/proc/self", "/sys/devices/system/cpu", "/etc/localtime",
             "/usr/lib/locale", "/proc/meminfo", "/proc/cpuinfo"]
    roots += list(site.getsitepackages())
    return roots


def _preload(modules: list[str]) -> None:
    """Import ``modules`` while imports may still load shared libraries."""
    for module in modules:
        try:
            __import__(module)
        except ImportError:
            continue
        if module == "torch":
            import torch

            torch.set_num_threads(1)
            _disarm_torch(torch)


#: PyTorch entry points that open a file by name from C++ (invisible to the audit hook).
_TORCH_FILE_ENTRY_POINTS = (("", "from_file"), ("UntypedStorage", "from_file"),
                            ("TypedStorage", "from_file"), ("jit", "load"),
                            ("_C", "PyTorchFileReader"), ("_C", "PyTorchFileWriter"),
                            ("_C", "_load_jit_module_from_file"), ("_C", "import_ir_module"),
                            ("_C", "_load_for_lite_interpreter"),
                            ("_C", "_load_mobile_module_from_file"))


def _disarm_torch(torch) -> None:  # type: ignore[no-untyped-def]
    """Refuse PyTorch's by-name file access; file objects (already opened through the
    guarded ``open``) still work, so ``torch.save(model, fh)`` keeps working for originals."""
    import functools

    def refusing(fn):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        def guarded(*args, **kwargs):  # type: ignore[no-untyped-def]
            named = [a for a in (*args, *kwargs.values())
                     if isinstance(a, (str, bytes, os.PathLike))]
            if named:
                message = f"torch file access to {named[0]!r} is not allowed"
                sys.audit(REFUSED_EVENT, message)  # the guard's refusal (fail closed)
                raise PermissionError(f"sandbox: {message}")
            return fn(*args, **kwargs)
        return guarded

    for owner_name, attr in _TORCH_FILE_ENTRY_POINTS:
        owner = torch
        for part in filter(None, owner_name.split(".")):
            owner = getattr(owner, part, None)
        fn = getattr(owner, attr, None) if owner is not None else None
        if fn is None:
            continue
        try:
            patched = refusing(fn)
            if isinstance(owner, type):
                patched = staticmethod(patched)
            setattr(owner, attr, patched)
        except (AttributeError, TypeError):
            pass


# ---- original -----------------------------------------------------------------------------
def run_original(job: dict) -> int:
    import runpy

    set_dir = job["set_dir"]
    program = os.path.realpath(job["program"])
    os.chdir(set_dir)
    os.makedirs("output", exist_ok=True)
    argv = [program]
    for name, path in job["inputs"].items():
        argv += ["--input", f"{name}={path}"]
        os.environ[f"LESTER_INPUT_{name.upper()}"] = path
    argv += ["--output", "output"]
    os.environ["LESTER_OUTPUT"] = "output"
    _preload(["csv", "json", "math", "datetime", "collections", "glob", "numpy", "pandas",
              "pyarrow.parquet", *job.get("preload", [])])
    if "torch" in job.get("preload", []):
        import numpy
        import torch

        torch.manual_seed(0)
        numpy.random.seed(0)
    install_guard(job["workdir"], _read_roots(job), loopback=False)
    sys.argv = argv
    lines: set[int] = set()
    if job.get("trace"):
        def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
            if frame.f_code.co_filename != program:
                return None
            if event == "line":
                lines.add(frame.f_lineno)
            return tracer
        sys.settrace(tracer)
    try:
        runpy.run_path(program, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (0, None):
            sys.settrace(None)
            _write_json(os.path.join(set_dir, "error.json"),
                        _error(exc, "original", "run"))
            return 1
    except BaseException as exc:  # noqa: BLE001 - every failure is reported
        sys.settrace(None)
        _write_json(os.path.join(set_dir, "error.json"), _error(exc, "original", "run"))
        return 1
    finally:
        sys.settrace(None)
    if job.get("trace"):
        _write_json(os.path.join(set_dir, "coverage.json"),
                    {"hit": sorted(lines), "executable": sorted(_executable(program))})
    return 0


def _executable(program: str) -> set[int]:
    with open(program, encoding="utf-8") as fh:
        code = compile(fh.read(), program, "exec")
    out: set[int] = set()
    stack = [code]
    while stack:
        co = stack.pop()
        out.update(line for _, _, line in co.co_lines() if line)
        stack.extend(c for c in co.co_consts if hasattr(c, "co_lines"))
    return out


# ---- rewrites --------------------------------------------------------------------------------
def _load(path: str, index: int):  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"lester_rewrite_{index}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


#: SQL functions that call Java methods by reflection: dropped from every session's registry.
REFLECTION_FUNCTIONS = ("reflect", "java_method", "try_reflect")


def _start_spark(job: dict):  # type: ignore[no-untyped-def]
    """The sandbox's Spark session: local[1], Python workers that install the guard
    (:mod:`._worker_guard`), and no SQL function that calls Java by reflection."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ["LESTER_SANDBOX_WORKDIR"] = job["workdir"]
    # The JVM's temporary and local folders (spark-*/userFiles-*, which PySpark lists) in
    # the working directory, where the guard lets the driver read them.
    scratch = os.path.join(job["workdir"], ".tmp")
    os.makedirs(scratch, exist_ok=True)
    os.environ["SPARK_LOCAL_DIRS"] = scratch
    os.environ["JAVA_TOOL_OPTIONS"] = f"-Djava.io.tmpdir={scratch}"
    os.environ["LESTER_SANDBOX_READ_ROOTS"] = json.dumps(_read_roots(job))
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    from pyspark.sql import functions  # noqa: F401

    from spark_lester import LesterConfig, get_spark

    work = job["workdir"]
    config = LesterConfig.from_env({}, master="local[1]", shuffle_partitions=1,
                                   driver_memory=job.get("driver_memory", "768m"),
                                   warehouse=os.path.join(work, "warehouse"),
                                   log_level="ERROR", worker_preload=False,
                                   python_daemon_module="spark_lester.rewrite._worker_guard",
                                   jars_dir=Path(job["jars_dir"]) if job.get("jars_dir")
                                   else None)
    spark = get_spark(config)
    spark.sparkContext.setLogLevel("ERROR")
    jvm = spark._jvm
    identifier = jvm.org.apache.spark.sql.catalyst.FunctionIdentifier
    registries = [spark._jsparkSession.sessionState().functionRegistry(),
                  jvm.org.apache.spark.sql.catalyst.analysis.FunctionRegistry.builtin()]
    for registry in registries:
        for name in REFLECTION_FUNCTIONS:
            registry.dropFunction(identifier.apply(name))
    return spark


def _plan_refusal(frame, inputs: dict) -> str | None:  # type: ignore[no-untyped-def]
    """Why the plan of ``frame`` (a LesterFrame) is refused: a call by reflection, or a
    file read that is not one of ``inputs``; None when neither."""
    plan = frame.df._jdf.queryExecution().analyzed().toString()
    if "CallMethodViaReflection" in plan or "reflect(" in plan.lower():
        return "the plan calls Java methods by reflection"
    allowed = [os.path.realpath(p) for p in inputs.values()]
    for uri in frame.df.inputFiles():
        path = os.path.realpath(uri[len("file:"):] if uri.startswith("file:") else uri)
        if not any(path == a or path.startswith(a + os.sep) for a in allowed):
            return f"the plan reads {os.path.basename(path)!r}, which is not an input"
    return None


def run_pipeline(job: dict) -> int:
    import inspect

    from spark_lester import LesterFrame, read_csv, read_parquet
    from spark_lester.plan.lineage import lineage_summary

    spark = _start_spark(job)
    work = job["workdir"]
    label = install_guard(work, _read_roots(job), loopback=True)
    failures = 0
    for index, item in enumerate(job["programs"]):
        index = _start(label, item, index)
        out_root = item["out"]
        os.makedirs(out_root, exist_ok=True)
        try:
            module = _load(item["program"], index)
            prepare = module.prepare
            sources = dict(getattr(module, "SOURCES", {}) or {})
            params = list(inspect.signature(prepare).parameters)
        except BaseException as exc:  # noqa: BLE001
            _write_json(os.path.join(out_root, "error.json"), _error(exc, "rewrite", "import"))
            failures += 1
            continue
        for set_name, inputs in item["input_sets"].items():
            out = os.path.join(out_root, set_name)
            os.makedirs(out, exist_ok=True)
            phase = "read"
            try:
                missing = [p for p in params if p not in inputs]
                if missing:
                    raise TypeError(f"prepare() asks for source(s) {', '.join(missing)}; "
                                    f"the inputs are {', '.join(sorted(inputs))}")
                frames = {}
                for name in params:
                    path = inputs[name]
                    key = (sources.get(name) or {}).get("key")
                    reader = read_parquet if _is_parquet(path) else read_csv
                    frames[name] = reader(name, path, key=key, spark=spark)
                phase = "prepare"
                result = prepare(**frames)
                if not isinstance(result, LesterFrame):
                    # said in the model's words: a plain-PySpark prompt never names LesterFrame
                    raise TypeError("prepare() must return the DataFrame it built from its "
                                    f"input DataFrames, got {type(result).__name__}"
                                    + (" (is its `return` missing?)" if result is None else ""))
                phase = "plan"
                refusal = _plan_refusal(result, inputs)
                if refusal is not None:
                    os.write(2, ("\n" + REFUSAL_MARK + f"[program {index}] " + refusal
                                 + "\n").encode())
                    raise PermissionError(f"sandbox: {refusal}")
                phase = "collect"
                table = result.df.toPandas()
                data_cols, prov_cols = result.columns, result.provenance_columns
                table[data_cols].to_parquet(os.path.join(out, "data.parquet"), index=False)
                table[prov_cols].to_parquet(os.path.join(out, "provenance.parquet"),
                                            index=False)
                _write_json(os.path.join(out, "lineage.json"), lineage_summary(result.plan))
            except BaseException as exc:  # noqa: BLE001
                _write_json(os.path.join(out, "error.json"), _error(exc, "rewrite", phase))
                failures += 1
                break
    return 0 if failures == 0 else 1


def _is_parquet(path: str) -> bool:
    """A ``.parquet`` file, or a folder whose data files are Parquet (written by Spark or by
    the variant generator); a folder of CSV files is read as CSV."""
    if os.path.isdir(path):
        names = [n for n in sorted(os.listdir(path)) if not n.startswith((".", "_"))]
        return bool(names) and all(n.endswith(".parquet") for n in names)
    return path.endswith(".parquet")


def _read_frame(path: str):  # type: ignore[no-untyped-def]
    """One pandas frame from a file or a folder of CSV or Parquet files (in name order)."""
    import pandas as pd

    if not os.path.isdir(path):
        return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    names = [os.path.join(path, n) for n in sorted(os.listdir(path))
             if not n.startswith((".", "_"))]
    frames = [pd.read_parquet(n) if n.endswith(".parquet") else pd.read_csv(n) for n in names]
    return pd.concat(frames, ignore_index=True)


def _entry_point(item: dict, index: int, name: str) -> object:
    """The rewrite's function ``name``, or None after writing why it could not be loaded
    (the program's ``error.json``, phase ``import``)."""
    os.makedirs(item["out"], exist_ok=True)
    try:
        return getattr(_load(item["program"], index), name)
    except BaseException as exc:  # noqa: BLE001
        _write_json(os.path.join(item["out"], "error.json"), _error(exc, "rewrite", "import"))
        return None


def run_encoder(job: dict) -> int:
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer

    work = job["workdir"]
    label = install_guard(work, _read_roots(job), loopback=False)
    failures = 0
    for index, item in enumerate(job["programs"]):
        index = _start(label, item, index)
        out_root = item["out"]
        make = _entry_point(item, index, "encoder")
        if make is None:
            failures += 1
            continue
        for set_name, inputs in item["input_sets"].items():
            out = os.path.join(out_root, set_name)
            os.makedirs(out, exist_ok=True)
            phase = "encoder"
            try:
                enc = make()
                if not isinstance(enc, ColumnTransformer):
                    raise TypeError("encoder() must return a scikit-learn ColumnTransformer, "
                                    f"got {type(enc).__name__}")
                if hasattr(enc, "transformers_"):
                    raise ValueError("encoder() must return an unfitted ColumnTransformer")
                (path,) = inputs.values()
                frame = _read_frame(path)
                phase = "fit"
                matrix = enc.fit_transform(frame)
                if hasattr(matrix, "toarray"):
                    matrix = matrix.toarray()
                matrix = np.asarray(matrix, dtype="float64")
                pd.DataFrame(matrix, columns=[f"x{i}" for i in range(matrix.shape[1])]
                             ).to_parquet(os.path.join(out, "features.parquet"), index=False)
                _write_json(os.path.join(out, "matrix_provenance.json"),
                            _matrix_provenance(enc, list(frame.columns)))
            except BaseException as exc:  # noqa: BLE001
                _write_json(os.path.join(out, "error.json"), _error(exc, "rewrite", phase))
                failures += 1
                break
    return 0 if failures == 0 else 1


def _matrix_provenance(enc, columns: list[str]) -> dict[str, list[list[int]]]:  # type: ignore[no-untyped-def]
    """Input column -> [start, end) ranges of X, from the fitted transformer's slices."""
    out: dict[str, list[list[int]]] = {}
    for name, _trans, cols in enc.transformers_:
        block = enc.output_indices_.get(name)
        if block is None or block.stop == block.start:
            continue
        if isinstance(cols, str):
            cols = [cols]
        elif callable(cols):
            cols = []
        names = [columns[c] if isinstance(c, int) else str(c) for c in list(cols)]
        widths = _widths(_trans, len(names), block.stop - block.start)
        start = block.start
        for col, width in zip(names, widths):
            if width is None:  # a transformer mixing its inputs: the block is shared
                out.setdefault(col, []).append([block.start, block.stop])
            else:
                out.setdefault(col, []).append([start, start + width])
                start += width
    return out


def _widths(trans, n_inputs: int, width: int) -> list:  # type: ignore[no-untyped-def]
    """Per input column, how many output columns it owns (None: not separable)."""
    if trans == "passthrough" or width == n_inputs:
        return [1] * n_inputs
    categories = getattr(trans, "categories_", None)
    if categories is not None and len(categories) == n_inputs:
        sizes = [len(c) for c in categories]
        drop = getattr(trans, "drop_idx_", None)
        if drop is not None:
            sizes = [s - (d is not None) for s, d in zip(sizes, drop)]
        if sum(sizes) == width:
            return sizes
    return [None] * n_inputs


def run_model(job: dict) -> int:
    import numpy as np

    _preload(["torch"])
    import torch

    work = job["workdir"]
    label = install_guard(work, _read_roots(job), loopback=False)
    failures = 0
    for index, item in enumerate(job["programs"]):
        index = _start(label, item, index)
        out_root = item["out"]
        make = _entry_point(item, index, "model")
        if make is None:
            failures += 1
            continue
        for set_name, inputs in item["input_sets"].items():
            out = os.path.join(out_root, set_name)
            os.makedirs(out, exist_ok=True)
            phase = "read"
            try:
                features = np.load(inputs[item["features"]], allow_pickle=False)
                if features.ndim != 2:
                    raise ValueError(f"the feature matrix must be 2-d, got shape "
                                     f"{features.shape}")
                phase = "model"
                torch.manual_seed(0)
                net = make(int(features.shape[1]))
                if not isinstance(net, torch.nn.Module):
                    raise TypeError("model(n_features) must return a torch.nn.Module, got "
                                    f"{type(net).__name__}")
                params = list(net.parameters())
                shapes = [list(p.shape) for p in params]
                _write_json(os.path.join(out, "parameters.json"),
                            {"shapes": shapes, "count": int(sum(p.numel() for p in params))})
                with np.load(item["weights"][set_name], allow_pickle=False) as stored:
                    weights = [stored[f"arr_{i}"] for i in range(len(stored.files))]
                if [list(w.shape) for w in weights] != shapes:
                    continue  # the host names the difference; nothing to run
                phase = "load"
                with torch.no_grad():
                    for param, weight in zip(params, weights):
                        param.copy_(torch.as_tensor(weight, dtype=param.dtype))
                phase = "forward"
                net.eval()
                dtype = params[0].dtype if params else torch.float32
                with torch.no_grad():
                    result = net(torch.as_tensor(features, dtype=dtype))
                if not isinstance(result, torch.Tensor):
                    raise TypeError(f"the module must return a tensor, got "
                                    f"{type(result).__name__}")
                np.save(os.path.join(out, "outputs.npy"),
                        result.detach().to(torch.float64).numpy(), allow_pickle=False)
            except BaseException as exc:  # noqa: BLE001
                _write_json(os.path.join(out, "error.json"), _error(exc, "rewrite", phase))
                failures += 1
                break
    return 0 if failures == 0 else 1


def main(path: str) -> int:
    """Run the job at ``path``; after it, write ``LESTER-END <nonce>`` to descriptor 2 (the
    nonce is the host's first line on stdin, read before any program runs). A program that
    closes or replaces descriptor 2 thereby makes its run unclean (see :mod:`.sandbox`)."""
    nonce = sys.stdin.readline().strip() if sys.stdin is not None else ""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    write = os.write
    with open(path, encoding="utf-8") as fh:
        job = json.load(fh)
    sys.path.insert(0, job["package_root"])
    try:
        code = _dispatch(job)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if nonce:
        try:
            write(2, ("\n" + END_MARK + nonce + "\n").encode())
        except OSError:
            pass
    return code


def _dispatch(job: dict) -> int:
    kind = job["kind"]
    if kind == "original":
        return run_original(job)
    if kind == "pipeline":
        return run_pipeline(job)
    if kind == "encoder":
        return run_encoder(job)
    if kind == "model":
        return run_model(job)
    if kind == "raw":  # benchmarks and containment tests: the guard, then a bare script
        _preload(job.get("preload", []))
        if job.get("spark"):  # a Spark session first, as the pipeline runner starts it
            _start_spark(job)
            install_guard(job["workdir"], _read_roots(job), loopback=True)
        else:
            install_guard(job["workdir"], _read_roots(job), loopback=False)
        import runpy

        runpy.run_path(job["program"], run_name="__main__")
        return 0
    raise SystemExit(f"unknown job kind {kind!r}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1]))
