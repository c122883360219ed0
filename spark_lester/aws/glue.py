"""Glue 5 job arguments for the bundle: the wheel and pinned dependencies, Delta enabled.

Glue installs ``--additional-python-modules`` with pip. The wheel declares pyspark as a
dependency, and Glue's Spark is not a pip distribution, so the modules are installed with
``--no-deps`` from the complete pinned closure (the manifest's list), never resolving a
second pyspark. The same arguments are rendered by ``terraform/`` from ``manifest.json``.

>>> manifest = {"glue": {"default_arguments": {
...     "--additional-python-modules": "{code_uri}/spark_lester-0.1.0-py3-none-any.whl,tqdm==4.67.1",
...     "--python-modules-installer-option": "--no-deps"}}}
>>> glue_default_arguments(manifest, "s3://code/lester/")["--additional-python-modules"]
's3://code/lester/spark_lester-0.1.0-py3-none-any.whl,tqdm==4.67.1'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark_lester.aws.package import CODE_URI


def glue_default_arguments(manifest: Mapping[str, Any], code_uri: str, *,
                           warehouse: str | None = None) -> dict[str, str]:
    """The manifest's Glue ``DefaultArguments`` with ``{code_uri}`` filled in; with
    ``warehouse``, also ``--warehouse`` (read by the glue_jobs/ entry scripts)."""
    base = code_uri.rstrip("/")
    args = {k: str(v).replace(CODE_URI, base)
            for k, v in manifest["glue"]["default_arguments"].items()}
    if warehouse:
        args["--warehouse"] = warehouse
    return args
