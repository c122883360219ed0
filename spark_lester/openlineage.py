"""OpenLineage documents, built with the openlineage-python client's classes.

Both emitters go through here: :func:`spark_lester.plan.serialize.to_openlineage` (a plan's
column lineage) and :mod:`spark_lester.analyze.openlineage` (job and dataset events of a
pipeline catalog). This module holds the one :data:`PRODUCER` they stamp on every event and
facet, and turns the client's objects into JSON-ready dicts (``None`` fields left out, as the
client's own serializer does). The JSON schemas the documents are checked against are vendored
in ``analyze/schemas`` (``analyze.openlineage.validation_errors``).

>>> ds = column_lineage("spark_lester", "prepared", {"title": [
...     ("file", "m.csv", "mail_subject", "DIRECT", "TRANSFORMATION")]})
>>> ds["facets"]["columnLineage"]["_producer"] == PRODUCER
True
>>> ds["facets"]["columnLineage"]["fields"]["title"]["inputFields"][0]["transformations"]
[{'type': 'DIRECT', 'subtype': 'TRANSFORMATION', 'masking': False}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    StaticDataset,
)
from openlineage.client.facet_v2 import BaseFacet, DatasetFacet, JobFacet, column_lineage_dataset
from openlineage.client.serde import Serde

#: The producer of every OpenLineage event and facet this project writes: the repository.
PRODUCER = "https://github.com/spark-lester/spark_lester"

F = TypeVar("F", bound=BaseFacet)


def facet(kind: type[F], **fields: Any) -> F:
    """A facet of the client's class ``kind``, stamped with :data:`PRODUCER`."""
    return kind(producer=PRODUCER, **fields)


def to_dict(document: Any) -> dict[str, Any]:
    """The JSON-ready dict of an event, dataset or facet (``None`` fields left out)."""
    return Serde.to_dict(document)


def event_time() -> str:
    """Now, in UTC, as OpenLineage's ``eventTime`` (``...Z``)."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _facets(facets: Mapping[str, DatasetFacet] | None) -> dict[str, DatasetFacet] | None:
    return dict(facets) if facets else None  # no empty "facets": {} on a bare dataset


def input_dataset(namespace: str, name: str) -> InputDataset:
    return InputDataset(namespace=namespace, name=name, facets=None, inputFacets=None)


def output_dataset(namespace: str, name: str,
                   facets: Mapping[str, DatasetFacet] | None = None) -> OutputDataset:
    return OutputDataset(namespace=namespace, name=name, facets=_facets(facets), outputFacets=None)


def job_event(*, when: str, namespace: str, name: str, facets: Mapping[str, JobFacet],
              inputs: Iterable[tuple[str, str]], outputs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A JobEvent (a job's static lineage, no run) as a dict; datasets are (namespace, name)."""
    return to_dict(JobEvent(
        eventTime=when, producer=PRODUCER,
        job=Job(namespace=namespace, name=name, facets=dict(facets)),
        inputs=[input_dataset(*d) for d in inputs], outputs=[output_dataset(*d) for d in outputs]))


def dataset_event(*, when: str, namespace: str, name: str,
                  facets: Mapping[str, DatasetFacet] | None = None) -> dict[str, Any]:
    """A DatasetEvent (a dataset's static metadata) as a dict."""
    return to_dict(DatasetEvent(
        eventTime=when, producer=PRODUCER,
        dataset=StaticDataset(namespace=namespace, name=name, facets=_facets(facets))))


#: One input of an output column: (namespace, name, field, transformation type, subtype).
InputField = tuple[str, str, str, str, str]


def column_lineage(namespace: str, name: str,
                   fields: Mapping[str, Iterable[InputField]]) -> dict[str, Any]:
    """An output dataset with the ``columnLineage`` facet, as a dict.

    ``fields`` maps each output column to its inputs; each input carries one transformation
    (``DIRECT``/``INDIRECT`` and its subtype), none of them masking.
    """
    cl = column_lineage_dataset
    lineage = facet(cl.ColumnLineageDatasetFacet, dataset=None, fields={
        column: cl.Fields(inputFields=[
            cl.InputField(namespace=ns, name=ds, field=field,
                          transformations=[cl.Transformation(type=kind, subtype=subtype, masking=False)])
            for ns, ds, field, kind, subtype in inputs])
        for column, inputs in fields.items()})
    return to_dict(output_dataset(namespace, name, {"columnLineage": lineage}))
