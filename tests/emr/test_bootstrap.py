"""emr/bootstrap/install_lester.sh, run with stand-ins for aws, sudo and the node's Python.

The stand-ins copy from a local folder instead of S3 and record pip's arguments instead of
installing; everything else (argument handling, what is fetched, install order, --no-deps,
the import check) is the real script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spark_lester.config import project_root

SCRIPT = project_root() / "emr" / "bootstrap" / "install_lester.sh"

FAKE_AWS = """#!/bin/bash
# aws s3 cp [--only-show-errors] s3://BUCKET/KEY DEST  ->  cp $FAKE_S3/BUCKET/KEY DEST
args=(); for a in "$@"; do [ "$a" = "--only-show-errors" ] || args+=("$a"); done
[ "${args[0]} ${args[1]}" = "s3 cp" ] || { echo "unexpected: aws $*" >&2; exit 2; }
src="${args[2]#s3://}"
cp "$FAKE_S3/$src" "${args[3]}" || { echo "fatal error: An error occurred (404)" >&2; exit 1; }
"""
FAKE_PYTHON = """#!/bin/bash
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$*" >> "$PIP_LOG"; exit 0; fi
exec "$REAL_PYTHON" "$@"
"""


@pytest.fixture
def node(tmp_path, bundle):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("aws", FAKE_AWS), ("sudo", '#!/bin/bash\nexec "$@"\n'),
                       ("python3.11", FAKE_PYTHON)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    s3 = tmp_path / "s3"
    shutil.copytree(bundle, s3 / "code-bucket" / "spark_lester" / "0.1.0")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_S3": str(s3),
           "PIP_LOG": str(tmp_path / "pip.log"), "REAL_PYTHON": sys.executable}
    env.pop("LESTER_PYTHON", None)
    return env, tmp_path / "pip.log", s3


def _run(env, *args):
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True)


def test_installs_pinned_closure_then_wheel_without_resolving(node, bundle):
    env, pip_log, _ = node
    proc = _run(env, "s3://code-bucket/spark_lester/0.1.0/", "https://pypi.mirror.example/simple")
    assert proc.returncode == 0, proc.stderr
    calls = [line.split() for line in pip_log.read_text().splitlines()]
    installs = [c for c in calls if c[2] == "install"]
    assert len(installs) == 2
    reqs, wheel = installs
    for call in installs:
        assert "--no-deps" in call
        assert call[call.index("--index-url") + 1] == "https://pypi.mirror.example/simple"
    assert reqs[reqs.index("-r") + 1].endswith("/requirements.txt")
    wheel_name = next(p.name for p in bundle.glob("spark_lester-*.whl"))
    assert wheel[-1].endswith("/" + wheel_name)
    assert any(c[2] == "show" and c[-1] == "spark_lester" for c in calls)
    assert "install_lester: done" in proc.stderr


def test_fails_when_the_bundle_is_not_there(node):
    env, pip_log, _ = node
    proc = _run(env, "s3://code-bucket/not/uploaded")
    assert proc.returncode != 0
    assert not pip_log.exists() or "install" not in pip_log.read_text()


def test_needs_the_bundle_uri(node):
    env, _, _ = node
    proc = _run(env)
    assert proc.returncode != 0 and "usage: install_lester.sh" in proc.stderr


def test_script_is_valid_bash_and_executable():
    assert os.access(SCRIPT, os.X_OK)
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0
    assert Path(SCRIPT).read_text().startswith("#!/bin/bash\n")
