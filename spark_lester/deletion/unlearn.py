"""``unlearn``: apply a deletion request to every artifact of every run that read its source.

The request goes through the stages of ``deletion.runner.STAGES``, each recorded in the
ledger and each safe to repeat:

1. check: the runs that read the source (registry); their tables are at the versions
   spark_lester left them (else ``TableChangedError``) and the sources still hold what the
   runs read (else ``SourceChangedError``);
2. resolve: the identified source rows, per run the change of each artifact table (rows,
   cells, feature ranges; see ``deletion.ivm.change``), the encoder's and the model's work;
3. update: one MERGE by row id per touched table, stamped with the request id; beside them
   the run's model forgets the changed training rows (influence-function update, or a
   retrain from scratch when the certified bound is exceeded; see ``deletion.model``) and a
   new model version is stored; the run's fitted encoder unlearns what the request removed
   (``deletion.encoder``: categories and terms no remaining fit row holds leave the encoder,
   X and the model; the registry row gets the new encoder);
4. clean_source: the request's rows leave the Delta sources it names (``clean_source``);
5. erase: purge, vacuum and expire the log of each touched table and of the run registry
   when an encoder changed (earlier model versions are deleted first: they were fitted on
   the removed data);
6. verify: scan every object under the warehouse root (the sources excepted) for the
   removed values, and run the data-quality suite.

A completed request is not applied again (idempotence); a request interrupted between steps
is finished by running it again (the changes are recomputed from the tables' current state).

>>> unlearn({"source": "mails", "keys": [1], "action": "delete_rows"},   # doctest: +SKIP
...         warehouse="./.lester/warehouse")["status"]
'completed'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_lester.artifacts.layout import Layout
from spark_lester.deletion.records import DeletionResult
from spark_lester.deletion.request import DeletionRequest
from spark_lester.deletion.stages import Context, Hooks

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_lester.config import LesterConfig


def _request(value: DeletionRequest | Mapping[str, Any] | str | Path) -> DeletionRequest:
    if isinstance(value, DeletionRequest):
        return value
    if isinstance(value, Mapping):
        return DeletionRequest.from_dict(dict(value))
    return DeletionRequest.from_file(value)


def unlearn(request: DeletionRequest | Mapping[str, Any] | str | Path, *,
            warehouse: str | None = None, spark: SparkSession | None = None,
            config: LesterConfig | None = None, erase: bool = True,
            hooks: Hooks | None = None) -> DeletionResult:
    """Apply ``request`` (object, dict or JSON file path); return what was done
    (:class:`~spark_lester.deletion.records.DeletionResult`).

    ``warehouse``, when given, is the warehouse (it replaces ``config.warehouse``); ``config``
    supplies every other setting (``SPARK_LESTER_*`` from the environment when absent).
    ``hooks``: test hooks (see :class:`~spark_lester.deletion.stages.Hooks`)."""
    from spark_lester.config import LesterConfig
    from spark_lester.deletion.runner import run_request
    from spark_lester.session import get_spark

    req = _request(request)
    if config is None:
        config = LesterConfig.from_env(warehouse=warehouse)
    elif warehouse is not None and warehouse != config.warehouse:
        config = dataclasses.replace(config, warehouse=warehouse)
    ctx = Context(spark=spark or get_spark(config), request=req, config=config,
                  layout=Layout(config.warehouse), erase=erase, hooks=hooks or Hooks())
    return run_request(ctx)
