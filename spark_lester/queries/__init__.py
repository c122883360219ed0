"""Provenance queries on a recorded run, as one-liners.

The Lester user study found these hard to write by hand: they need the run's row provenance
(which source rows each artifact row came from) and the source as the run read it.

* :func:`used_rows`: every row of a source, and whether it reached the model's training data.
* :func:`fairness_report`: equal opportunity of the run's model on its test rows, grouped
  by any column of any source, also one the pipeline projected out.
"""

from spark_lester.queries.fairness_report import fairness_report
from spark_lester.queries.used_rows import used_rows

__all__ = ["fairness_report", "used_rows"]
