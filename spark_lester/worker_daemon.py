"""PySpark's worker daemon with the heavy libraries of feature encoding imported once.

Spark forks every Python worker from one daemon process (``pyspark.daemon``) and kills a
worker after a minute without work; the next task's fresh worker imports again what it
needs. For the sentence embedder that is torch and sentence-transformers, about 10 s per
worker on 2 cores, paid again after every idle minute. This module imports them in the
daemon, before it forks, so every worker inherits them (copy-on-write) and starts at once.
It only imports: no model is loaded and no thread pool is started before a fork.

A local session runs it (``spark.python.daemon.module``, set in ``session.spark_conf``);
libraries that are not installed are skipped.
"""

from __future__ import annotations

import importlib
import importlib.util

#: Imported before the daemon forks its first worker, when installed.
PRELOAD = ("numpy", "pandas", "pyarrow", "sklearn", "torch", "sentence_transformers")


def preload(names: tuple[str, ...] = PRELOAD) -> list[str]:
    """Import the installed modules of ``names``; return the ones imported."""
    done = []
    for name in names:
        if importlib.util.find_spec(name) is None:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # a broken optional library must not stop the workers
            continue
        done.append(name)
    return done


if __name__ == "__main__":
    preload()
    from pyspark import daemon

    daemon.manager()
