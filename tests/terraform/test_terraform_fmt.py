"""``terraform fmt -check`` on terraform/ (formatting only; no init, no network)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from spark_lester.config import project_root

TERRAFORM = shutil.which("terraform")


@pytest.mark.skipif(TERRAFORM is None, reason="the terraform binary is not installed on this machine; "
                                              "the structure test still checks terraform/")
def test_terraform_fmt_check():
    proc = subprocess.run([TERRAFORM, "fmt", "-check", "-recursive", "-diff", "-no-color",
                           str(project_root() / "terraform")],
                          capture_output=True, text=True, env={"TF_IN_AUTOMATION": "1",
                                                               "CHECKPOINT_DISABLE": "1",
                                                               "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}{proc.stderr}"
