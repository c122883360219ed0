"""Static analysis of pipeline repositories: where data lives, who owns it, what runs when.

Nothing here imports or executes the analyzed code: Python is read with ``ast``, YAML with
``yaml.safe_load``, SQL with sqlglot, JSON with ``json``. Entry points: :func:`analyze`
(the JSON catalog), :func:`impact` (pipelines a location touches), :func:`report`
(Markdown/HTML with a Mermaid lineage graph) and :func:`openlineage` (OpenLineage events).
"""

from spark_lester.analyze.catalog import analyze
from spark_lester.analyze.impact import impact
from spark_lester.analyze.locations import normalize_uri
from spark_lester.analyze.openlineage import openlineage, validate_event
from spark_lester.analyze.report import report

__all__ = ["analyze", "impact", "normalize_uri", "openlineage", "report", "validate_event"]
