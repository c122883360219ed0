"""Fault injection: ``spark-lester delete`` as a child process, killed with SIGKILL.

The child runs the CLI's ``main`` with one hook installed: when ``unlearn`` reports the step
``at`` (see ``deletion.stages.Hooks``: ``merge:<run>:<table>``, ``model:<run>``,
``clean_source:...``, ``erase:<path>``; ``#k``: the k-th step of any kind), the process
writes the kind of step to ``kill_step.txt`` in its folder and kills itself with SIGKILL: no
``finally`` block, no shutdown hook of Python runs. Its JVM sees its stdin close and exits;
the whole process group is killed after it, so nothing of it outlives the call.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from spark_lester.config import project_root

CHILD = """
import os, signal, sys
from spark_lester.cli import main
from spark_lester.deletion.stages import Hooks

at = os.environ["LESTER_FUZZ_KILL_AT"]
seen = [0]

def hook(step):
    seen[0] += 1
    if (seen[0] == int(at[1:])) if at.startswith("#") else step.startswith(at):
        with open(os.environ["LESTER_FUZZ_KILL_NOTE"], "w") as fh:
            fh.write(step.split(":")[0])
        os.kill(os.getpid(), signal.SIGKILL)

sys.exit(main(["delete", sys.argv[1], "--warehouse", sys.argv[2]],
              hooks=Hooks(after_step=hook)))
"""


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"SPARK_LESTER_MASTER": "local[1]", "SPARK_LESTER_SHUFFLE_PARTITIONS": "2",
                "SPARK_LESTER_DRIVER_MEMORY": "1g", "SPARK_LESTER_WORKER_PRELOAD": "false",
                "PYTHONPATH": os.pathsep.join([str(project_root()),
                                               env.get("PYTHONPATH", "")]).rstrip(os.pathsep)})
    env.update(extra or {})
    return env


def killed_delete(request: dict[str, Any], warehouse: str, at: str, folder: Path, *,
                  env: dict[str, str] | None = None, timeout: float = 400) -> int:
    """Run ``spark-lester delete`` on ``request`` in a child killed at step ``at``; its
    exit status (``-9`` when the kill came; the step may never come: a normal exit). The
    child's stderr is ``child.log`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{request.get('request_id', 'request')}.json"
    path.write_text(json.dumps(request))
    with (folder / "child.log").open("w") as log:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), warehouse],
                                 env=child_env({"LESTER_FUZZ_KILL_AT": at,
                                                "LESTER_FUZZ_KILL_NOTE":
                                                    str(folder / "kill_step.txt"),
                                                **(env or {})}),
                                 cwd=str(project_root()), stdout=subprocess.DEVNULL,
                                 stderr=log, start_new_session=True)
        try:
            code = child.wait(timeout=timeout)
        finally:
            try:  # the JVM and Python workers it started: its own process group
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if child.poll() is None:
                child.wait()
    return code


def forget_cached_logs(spark: Any) -> None:
    """Another process changed the tables: drop this session's cached Delta logs."""
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()


def temporary_files(warehouse: str) -> list[str]:
    out = []
    for folder, _, files in os.walk(warehouse):
        out.extend(os.path.join(folder, f) for f in files if ".tmp" in f)
    return out
