"""``spark-lester demo`` finds the running example inside the package, not in a checkout."""

from __future__ import annotations

import os
import subprocess
import sys

#: Runs in a fresh interpreter away from the checkout; stops run() right after its imports.
_IMPORTS_ONLY = """
import argparse, sys
from spark_lester import config

class Imported(Exception):
    pass

def stop(*args, **kwargs):
    raise Imported

config.LesterConfig.from_env = stop
before = list(sys.path)
from spark_lester.cli import demo
try:
    demo.run(argparse.Namespace(warehouse=None))
except Imported:
    pass
assert sys.path == before, "demo changed sys.path"
assert "examples" not in sys.modules, "demo imported the checkout's examples package"
assert sys.modules["spark_lester.cli.running_example.generate"].write
for name in ("pipeline.py", "pipeline_bank.py", "messy.py"):
    assert (demo.EXAMPLE_DIR / name).is_file(), name
print("imports ok")
"""


def test_demo_imports_do_not_need_the_checkout_on_sys_path(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", _IMPORTS_ONLY], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "imports ok"
