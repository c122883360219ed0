"""Spark's Python worker daemon for sandboxed runs: every worker it forks installs the guard.

Spark runs Python UDFs in workers that ``pyspark.daemon`` forks; they are not the runner's
process, so the runner's audit hook does not cover them. A sandboxed session names this
module as ``spark.python.daemon.module``: it wraps ``pyspark.daemon.worker`` so that each
forked worker installs :func:`spark_lester.rewrite._runner.install_guard` (loopback only,
writes only in the sandbox's working directory) before it runs any task. Its refusals reach
the host on the JVM's stderr, like the runner's. The operating-system boundary (bubblewrap)
holds for these processes regardless.

Runs only inside the sandbox (``LESTER_SANDBOX_WORKDIR`` and ``LESTER_SANDBOX_READ_ROOTS``
are set by the runner).
"""

from __future__ import annotations

if __name__ == "__main__":  # pragma: no cover - only ever runs in the sandbox
    import json
    import os

    from pyspark import daemon

    from spark_lester.rewrite._runner import install_guard

    _work = os.environ["LESTER_SANDBOX_WORKDIR"]
    _roots = json.loads(os.environ["LESTER_SANDBOX_READ_ROOTS"])
    _worker = daemon.worker

    def _guarded_worker(sock, authenticated):  # type: ignore[no-untyped-def]
        # A UDF arrives pickled: unpickling builds its code object (``code.__new__``).
        install_guard(_work, _roots, loopback=True, allow=frozenset({"code.__new__"}),
                      fail_closed=False)
        return _worker(sock, authenticated)

    daemon.worker = _guarded_worker
    daemon.manager()
