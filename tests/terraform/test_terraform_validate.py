"""``terraform init -backend=false`` and ``terraform validate`` of terraform/ with the real
AWS provider (hashicorp/aws 5.100.0) from a filesystem mirror on this machine: the provider
itself checks every resource argument, block and reference. No network: the mirror is the
only plugin source (``-plugin-dir``), and there is no backend.

Three planted mistakes (an argument the provider does not have, a reference to a variable
nobody declared, a required argument removed) must each fail validation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from spark_lester.config import project_root

TERRAFORM = shutil.which("terraform")
MIRROR = Path(os.environ.get("SPARK_LESTER_TF_PLUGINS", "/opt/tf-plugins"))
AWS_PROVIDER = MIRROR / "registry.terraform.io" / "hashicorp" / "aws"

pytestmark = pytest.mark.skipif(
    TERRAFORM is None or not AWS_PROVIDER.is_dir(),
    reason=f"terraform or the AWS provider mirror ({AWS_PROVIDER}) is not on this machine; "
           "test_provider_schema.py still checks the arguments against the provider schema")

EMR = "modules/lester/emr.tf"
GLUE = "modules/lester/glue.tf"

#: planted mistake -> (file, text as it is, text with the mistake, terraform's summary)
PLANTED = {
    "unknown_argument": (EMR, "  step_concurrency_level            = 1\n",
                         "  step_concurrency_level            = 1\n  concurrency_level = 2\n",
                         "Unsupported argument"),
    "undeclared_variable": (GLUE, "glue_version           = var.glue_version",
                            "glue_version           = var.glue_release",
                            "Reference to undeclared input variable"),
    "required_argument_removed": (EMR, "  release_label                     = var.release_label\n",
                                  "", "Missing required argument"),
}


def _env(tmp: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}


def _copy(tmp: Path) -> Path:
    folder = tmp / "terraform"
    shutil.copytree(project_root() / "terraform", folder,
                    ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "terraform.tfvars"))
    return folder


def _validate(folder: Path, tmp: Path) -> dict:
    init = subprocess.run([TERRAFORM, "init", "-backend=false", f"-plugin-dir={MIRROR}",
                           "-input=false", "-no-color"], cwd=folder, env=_env(tmp),
                          capture_output=True, text=True, timeout=300, check=False)
    assert init.returncode == 0, init.stdout + init.stderr
    proc = subprocess.run([TERRAFORM, "validate", "-json", "-no-color"], cwd=folder,
                          env=_env(tmp), capture_output=True, text=True, timeout=300,
                          check=False)
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def initialised(tmp_path_factory) -> tuple[Path, Path, dict]:
    """One init (the provider is large); each planted mistake validates a copy of it."""
    tmp = tmp_path_factory.mktemp("tf")
    folder = _copy(tmp)
    result = _validate(folder, tmp)
    return folder, tmp, result


def test_terraform_validates_with_the_real_aws_provider(initialised):
    _, _, result = initialised
    assert result["valid"] is True, json.dumps(result["diagnostics"], indent=1)[:4000]
    assert result["warning_count"] == 0, result["diagnostics"]


@pytest.mark.parametrize("mistake", sorted(PLANTED))
def test_a_planted_mistake_fails_validation(initialised, mistake, tmp_path):
    folder, _, _ = initialised
    copy = tmp_path / "terraform"
    shutil.copytree(folder, copy, symlinks=True)
    name, fixed, broken, summary = PLANTED[mistake]
    text = (copy / name).read_text(encoding="utf-8")
    assert text.count(fixed) == 1, f"{name} no longer has: {fixed!r}"
    (copy / name).write_text(text.replace(fixed, broken), encoding="utf-8")
    result = subprocess.run([TERRAFORM, "validate", "-json", "-no-color"], cwd=copy,
                            env=_env(tmp_path), capture_output=True, text=True, timeout=300,
                            check=False)
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is False
    assert [d["summary"] for d in verdict["diagnostics"]] == [summary], verdict["diagnostics"]
