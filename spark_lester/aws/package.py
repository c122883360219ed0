"""Build what a cluster needs to run spark_lester: the wheel, pinned dependencies, archives.

``package(out)`` writes one folder (the *bundle*) that is uploaded to S3 as it is:

- ``spark_lester-<version>-py3-none-any.whl``, built from this checkout with
  ``pip wheel --no-deps --no-build-isolation`` (offline);
- ``requirements.txt``: the wheel's dependency closure pinned to the versions installed here
  (the versions the tests ran with), minus what EMR and Glue provide (``pyspark``, ``py4j``).
  The closure is complete, so nodes install it with ``pip install --no-deps`` and pip never
  pulls a second pyspark onto a cluster;
- ``deps-pyfiles.zip`` for ``spark-submit --py-files``: the pure-Python, zip-safe part of the
  closure, copied from the installed distributions (offline). Compiled packages (numpy,
  pandas, pyarrow, scikit-learn, scipy) and packages that open data files next to their
  sources (vaderSentiment's lexicon, pytz's zoneinfo) cannot be imported from a zip; the
  manifest lists them under ``pyfiles.needs_install`` (the EMR bootstrap installs them);
- optionally ``deps-venv.tar.gz``: a virtualenv packed with venv-pack, for
  ``spark-submit --archives deps-venv.tar.gz#environment``. It links to the base
  interpreter by path, so build it on the cluster's OS (Amazon Linux 2023, /usr/bin/python3.11);
- ``emr/`` (bootstrap action, step driver, step templates, configuration classifications) and
  ``glue_jobs/`` when the checkout has it, copied from the checkout;
- ``manifest.json``: every file with its sha256, the pins, and the spark-submit and Glue
  arguments (``{code_uri}`` stands for the S3 prefix the bundle is uploaded to).

>>> sorted(CLUSTER_PROVIDED)
['py4j', 'pyspark']
"""

from __future__ import annotations

import email.message
import email.parser
import hashlib
import importlib.metadata as metadata
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from spark_lester.config import project_root
from spark_lester.errors import PackagingError, variant

#: Distributions the cluster provides (EMR 7 and Glue 5 ship Spark's own Python side).
CLUSTER_PROVIDED = frozenset({"pyspark", "py4j"})
MANIFEST = "manifest.json"
REQUIREMENTS = "requirements.txt"
PYFILES_ZIP = "deps-pyfiles.zip"
VENV_ARCHIVE = "deps-venv.tar.gz"
#: Placeholder for the S3 prefix the bundle is uploaded to, in manifest arguments.
CODE_URI = "{code_uri}"
#: Python the EMR bootstrap installs and spark-env points PYSPARK_PYTHON at.
CLUSTER_PYTHON = "/usr/bin/python3.11"

_DATA_SUFFIXES_OK = (".py", ".pyi", ".pyc", ".typed", ".pth")
_COMPILED = re.compile(r"\.(so(\.\d+)*|pyd|dylib|dll)$")
_READS_OWN_FILES = re.compile(r"__file__|getsourcefile")


@dataclass(frozen=True)
class Pin:
    """One installed distribution of the closure: name, version, and how it can ship."""

    name: str
    version: str
    pure: bool
    zip_safe: bool

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def package(out: Path | str, *, source_dir: Path | str | None = None, venv: bool = False,
            venv_requirements: Sequence[str] | None = None,
            build_isolation: bool = False, extras: Sequence[str] = ()) -> dict:
    """Build the bundle into ``out`` (emptied first) and return its manifest.

    ``extras`` adds spark_lester's optional dependency groups to the closure (e.g.
    ``["embeddings"]`` for pipelines that embed text with the pretrained sentence model).
    ``venv_requirements`` overrides the requirements installed into the packed virtualenv
    (default: the whole pinned closure, which needs PyPI or a configured index).
    """
    source = Path(source_dir) if source_dir is not None else project_root()
    out = Path(out)
    _check_source(source)
    _check_out(out, source)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    started = time.perf_counter()

    wheel = build_wheel(source, out, build_isolation=build_isolation)
    requires = wheel_requirements(wheel)
    _check_extras(wheel, extras)
    pins = requirement_closure(requires, extras=extras)
    (out / REQUIREMENTS).write_text(
        "# spark_lester's dependency closure, pinned; install with pip --no-deps.\n"
        "# pyspark and py4j are left out: the cluster provides them.\n"
        + "".join(p.requirement + "\n" for p in pins), encoding="utf-8")
    zipped, needs_install = write_pyfiles(pins, out / PYFILES_ZIP)
    venv_info = None
    if venv:
        reqs = [p.requirement for p in pins] if venv_requirements is None else list(venv_requirements)
        venv_info = build_venv_archive(wheel, reqs, out / VENV_ARCHIVE)
    copied = _copy_tree(source / "emr", out / "emr")
    if (source / "glue_jobs").is_dir():
        copied += _copy_tree(source / "glue_jobs", out / "glue_jobs")

    manifest = _manifest(out, wheel, pins, zipped, needs_install, venv_info, copied,
                         seconds=time.perf_counter() - started)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def build_wheel(source: Path, out: Path, *, build_isolation: bool = False) -> Path:
    """Build spark_lester's wheel (no dependencies) from a clean copy of ``source``.

    The copy keeps stale ``build/`` folders of the checkout out of the wheel. Without build
    isolation (the default) nothing is downloaded: the backend (setuptools >= 70.1, which
    has ``bdist_wheel`` built in, or older setuptools plus ``wheel``) must be installed.
    """
    if not build_isolation:
        _check_backend()
    with tempfile.TemporaryDirectory(prefix="lester-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (source / name).is_file():
                shutil.copy2(source / name, src / name)
        shutil.copytree(source / "spark_lester", src / "spark_lester",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
               "-w", str(Path(tmp) / "dist"), str(src)]
        if not build_isolation:
            cmd[4:4] = ["--no-build-isolation", "--no-index"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted((Path(tmp) / "dist").glob("spark_lester-*.whl"))
        if proc.returncode != 0 or len(wheels) != 1:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise variant(PackagingError, transient=build_isolation)(
                f"pip wheel exited {proc.returncode}:\n{tail}", step="wheel",
                hint="Without --build-isolation the build backend must be installed: "
                     "pip install 'setuptools>=70.1'.")
        target = out / wheels[0].name
        shutil.move(str(wheels[0]), target)
    return target


def wheel_requirements(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel's METADATA."""
    return _wheel_metadata(wheel).get_all("Requires-Dist") or []


def _wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            raise PackagingError(f"{wheel.name} has no single METADATA file.", step="wheel")
        return email.parser.Parser().parsestr(zf.read(names[0]).decode("utf-8"))


def requirement_closure(requires: Iterable[str], *,
                        exclude: frozenset[str] = CLUSTER_PROVIDED,
                        extras: Iterable[str] = ()) -> list[Pin]:
    """Every distribution ``requires`` pulls in (markers evaluated for this interpreter;
    the requirements of the named ``extras`` of spark_lester included, and of every extra a
    requirement asks for, e.g. ``cuda-toolkit[cudart]``), pinned to the installed version;
    ``exclude`` and their own dependencies are left out. Raises when a dependency is not
    installed or does not satisfy its specifier: the bundle must hold what was tested.

    >>> [p.name for p in requirement_closure(["tqdm", 'xxhash; extra == "fast"'])]
    ['tqdm']
    >>> [p.name for p in requirement_closure(['xxhash; extra == "fast"'], extras=["fast"])]
    ['xxhash']
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: dict[str, Pin] = {}
    # Extras are followed wherever they are asked for: spark_lester's own (``extras``) and
    # those a dependency requests of another (torch needs cuda-toolkit[cudart,cublas,...]);
    # a distribution asked for again with new extras has its requirements walked again.
    asked: dict[str, set[str]] = {}
    todo = [(Requirement(r), "spark_lester", frozenset(extras)) for r in requires]
    while todo:
        req, parent, parent_extras = todo.pop()
        if req.marker is not None and not any(
                req.marker.evaluate({"extra": e}) for e in ("", *parent_extras)):
            continue
        name = canonicalize_name(req.name)
        if name in exclude:
            continue
        new_extras = set(req.extras) - asked.get(name, set())
        if name in seen and not new_extras:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise PackagingError(
                f"{req} (required by {parent}) is not installed in this environment.",
                step="requirements",
                hint="Install the package with its dependencies first (bash dev.sh, or "
                     "pip install -e '.[dev]').") from None
        if req.specifier and not req.specifier.contains(dist.version, prereleases=True):
            raise PackagingError(
                f"installed {req.name} {dist.version} does not satisfy {req} (required by "
                f"{parent}).", step="requirements",
                hint=f"pip install '{req}' and package again.")
        asked.setdefault(name, set()).update(req.extras)
        if name not in seen:
            pure = _is_pure(dist)
            seen[name] = Pin(name=str(name), version=dist.version, pure=pure,
                             zip_safe=pure and _zip_safe(dist))
        walk = frozenset(asked[name])
        todo.extend((Requirement(r), str(name), walk) for r in dist.requires or [])
    return sorted(seen.values(), key=lambda p: p.name)


def _check_extras(wheel: Path, extras: Sequence[str]) -> None:
    known = _wheel_metadata(wheel).get_all("Provides-Extra") or []
    unknown = [e for e in extras if e not in known]
    if unknown:
        raise PackagingError(f"unknown extra(s) {', '.join(unknown)}.", step="requirements",
                             hint=f"Choose among: {', '.join(sorted(known))}.")


def write_pyfiles(pins: Sequence[Pin], target: Path) -> tuple[list[Pin], list[Pin]]:
    """Zip the pure, zip-safe distributions of ``pins`` (their installed files, dist-info
    included so ``importlib.metadata`` works from the zip). Returns (zipped, needs_install)."""
    zipped = [p for p in pins if p.zip_safe]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for pin in zipped:
            dist = metadata.distribution(pin.name)
            for rel in dist.files or []:
                parts = Path(str(rel)).parts
                if not parts or parts[0] == ".." or "__pycache__" in parts:
                    continue
                path = Path(str(dist.locate_file(rel)))
                if is_compiled(path.name):  # never reached for a pure pin; a last guard
                    raise PackagingError(f"{pin.name} ships compiled code ({rel}); it cannot "
                                         "go into the pyfiles zip.", step="pyfiles")
                if path.is_file():
                    zf.write(path, "/".join(parts))
    return zipped, [p for p in pins if not p.zip_safe]


def build_venv_archive(wheel: Path, requirements: Sequence[str], target: Path) -> dict:
    """Create a virtualenv with this interpreter, install ``requirements`` and the wheel
    (both ``--no-deps``), and pack it with venv-pack into ``target``."""
    try:
        import venv_pack
    except ImportError:
        raise PackagingError("venv-pack is not installed.", step="venv",
                             hint="pip install 'spark_lester[package]' (or venv-pack).") from None
    with tempfile.TemporaryDirectory(prefix="lester-venv-") as tmp:
        env = Path(tmp) / "env"
        _run([sys.executable, "-m", "venv", str(env)], step="venv")
        python = str(env / "bin" / "python")
        pip = [python, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "-q"]
        if requirements:
            reqs = Path(tmp) / "requirements.txt"
            reqs.write_text("\n".join(requirements) + "\n", encoding="utf-8")
            _run(pip + ["-r", str(reqs)], step="venv", fetches=True)
        _run(pip + [str(wheel)], step="venv")
        home = _venv_home(env)
        venv_pack.pack(prefix=str(env), output=str(target), format="tar.gz", force=True)
    return {"file": target.name, "python_home": home, "requirements": list(requirements),
            "portable_to_emr": home == str(Path(CLUSTER_PYTHON).parent)}


def read_manifest(bundle: Path | str) -> dict:
    """The manifest of a bundle written by :func:`package`."""
    path = Path(bundle) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackagingError(f"{path} does not exist.", step="manifest",
                             hint="Build the bundle first: spark-lester package --out "
                                  f"{bundle}") from None
    except json.JSONDecodeError as err:
        raise PackagingError(f"{path} is not JSON: {err}", step="manifest") from None


def _manifest(out: Path, wheel: Path, pins: Sequence[Pin], zipped: Sequence[Pin],
              needs_install: Sequence[Pin], venv_info: dict | None, copied: Sequence[str],
              *, seconds: float) -> dict:
    from spark_lester import __version__

    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    install = [p.requirement for p in needs_install]
    spark_submit: dict = {
        "py_files": [f"{CODE_URI}/{wheel.name}", f"{CODE_URI}/{PYFILES_ZIP}"],
        "needs_install": install,
        "conf": {"spark.pyspark.python": CLUSTER_PYTHON},
    }
    if venv_info:
        spark_submit["venv"] = {
            "archives": [f"{CODE_URI}/{VENV_ARCHIVE}#environment"],
            "conf": {"spark.pyspark.python": "./environment/bin/python",
                     "spark.yarn.appMasterEnv.PYSPARK_PYTHON": "./environment/bin/python"},
        }
    modules = [f"{CODE_URI}/{wheel.name}"] + [p.requirement for p in pins]
    return {
        "name": "spark_lester",
        "version": __version__,
        "python": ".".join(map(str, sys.version_info[:3])),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(seconds, 3),
        "wheel": {"file": wheel.name, "sha256": _sha256(wheel)},
        "requirements": {"file": REQUIREMENTS, "pins": [p.requirement for p in pins],
                         "cluster_provided": sorted(CLUSTER_PROVIDED)},
        "pyfiles": {"file": PYFILES_ZIP, "packages": [p.requirement for p in zipped],
                    "needs_install": install},
        "venv": venv_info,
        "emr": {"bootstrap": "emr/bootstrap/install_lester.sh",
                "step_script": "emr/steps/lester_step.py",
                "configurations": "emr/configurations.json",
                "step_templates": sorted(c for c in copied if c.startswith("emr/steps/")
                                         and c.endswith(".json"))},
        "spark_submit": spark_submit,
        "glue": {"default_arguments": {
            "--additional-python-modules": ",".join(modules),
            "--python-modules-installer-option": "--no-deps",
            "--datalake-formats": "delta",
            "--conf": " --conf ".join(f"{k}={v}" for k, v in _glue_conf().items()),
        }},
        "files": {name: _sha256(out / name) for name in files if name != MANIFEST},
    }


def _glue_conf() -> dict[str, str]:
    """The engine's Delta settings, spelled once in the session factory."""
    from spark_lester.config import LesterConfig
    from spark_lester.session import spark_conf

    conf = spark_conf(LesterConfig(platform="glue"))
    keys = ("spark.sql.extensions", "spark.sql.catalog.spark_catalog",
            "spark.databricks.delta.retentionDurationCheck.enabled")
    return {k: conf[k] for k in keys}


def _check_source(source: Path) -> None:
    missing = [n for n in ("pyproject.toml", "spark_lester", "emr") if not (source / n).exists()]
    if missing:
        raise PackagingError(f"{source} is not a spark_lester checkout (no {', '.join(missing)}).",
                             step="wheel", hint="Run from the checkout or pass --source-dir.")


def _check_out(out: Path, source: Path) -> None:
    """``out`` is emptied: refuse anything but a new, empty or earlier bundle folder."""
    resolved, src = out.resolve(), source.resolve()
    if resolved == src or src.is_relative_to(resolved):
        raise PackagingError(f"--out {out} would delete the checkout.", step="wheel",
                             hint="Use a folder of its own, e.g. dist/spark_lester.")
    if out.is_file() or (out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file()):
        raise PackagingError(f"--out {out} exists and is not a bundle; refusing to empty it.",
                             step="wheel", hint="Remove it or choose another folder.")


def _check_backend() -> None:
    from packaging.version import Version

    try:
        setuptools = Version(metadata.version("setuptools"))
    except metadata.PackageNotFoundError:
        setuptools = Version("0")
    has_wheel = True
    try:
        metadata.version("wheel")
    except metadata.PackageNotFoundError:
        has_wheel = False
    if setuptools < Version("68") or (setuptools < Version("70.1") and not has_wheel):
        raise PackagingError(
            f"the build backend is missing (setuptools {setuptools}, wheel "
            f"{'present' if has_wheel else 'absent'}).", step="wheel",
            hint="pip install 'setuptools>=70.1', or pass --build-isolation (downloads it).")


def is_compiled(name: str) -> bool:
    """A shared library by its name: ``.so``, versioned ``.so.N[.M...]``, ``.pyd``,
    ``.dylib``, ``.dll``.

    >>> [is_compiled(n) for n in ("x.cpython-311-x86_64-linux-gnu.so", "libcublas.so.13",
    ...                            "libnccl.so.2.30.7", "m.pyd", "a.dylib", "so.py", "a.sox")]
    [True, True, True, True, True, False, False]
    """
    return _COMPILED.search(name) is not None


def _is_pure(dist: metadata.Distribution) -> bool:
    """Pure Python: a purelib wheel without shared libraries. The WHEEL tag alone is not
    enough: nvidia-* wheels declare Root-Is-Purelib and ship .so.N libraries."""
    wheel = dist.read_text("WHEEL") or ""
    if "Root-Is-Purelib: true" not in wheel:
        return False
    return not any(is_compiled(str(f)) for f in dist.files or [])


def _zip_safe(dist: metadata.Distribution) -> bool:
    """False when the distribution ships data files and its code locates files through
    ``__file__`` (those reads fail from inside a zip)."""
    files = [f for f in dist.files or [] if ".dist-info" not in str(f)
             and not str(f).startswith("..")]
    has_data = any(not str(f).endswith(_DATA_SUFFIXES_OK) for f in files)
    if not has_data:
        return True
    for f in files:
        parts = Path(str(f)).parts
        if str(f).endswith(".py") and not {"tests", "test", "testing"} & set(parts):
            try:
                text = Path(str(dist.locate_file(f))).read_text(encoding="utf-8", errors="ignore")
            except OSError:
                continue
            if _READS_OWN_FILES.search(text):
                return False
    return True


def _venv_home(env: Path) -> str:
    for line in (env / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home":
            return value.strip()
    return ""


def _run(cmd: list[str], *, step: str, fetches: bool = False) -> None:
    """Run ``cmd``; a failure is transient when the step ``fetches`` from a package index."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise variant(PackagingError, transient=fetches)(
            f"{' '.join(cmd[:4])} ... exited {proc.returncode}:\n{tail}", step=step)


def _copy_tree(src: Path, dst: Path) -> list[str]:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    base = dst.parent
    return sorted(str(p.relative_to(base)) for p in dst.rglob("*") if p.is_file())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
