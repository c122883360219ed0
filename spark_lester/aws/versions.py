"""The AWS runtimes spark_lester targets, stated once.

The code (``ClusterSpec``'s default release), Terraform (``release_label`` and
``glue_version`` defaults, compared by ``tests/terraform``), the Airflow example (its
``EMR_RELEASE``, compared by ``tests/airflow``) and the README (compared by
``tests/aws/test_versions.py``) all follow these values. They are the releases whose Spark
and Delta equal the versions the test suite runs with (``pyspark`` and ``delta-spark`` in
pyproject.toml), so what is tested is what runs:

- EMR 7.12.0: Spark 3.5.6-amzn-1, Delta 3.3.2-amzn-1, Python 3.11 (and 3.9), Scala 2.12.
- Glue 5.1: Spark 3.5.6, Delta 3.3.2, Python 3.11.

>>> EMR_RELEASE, GLUE_VERSION, SPARK_VERSION, DELTA_VERSION, PYTHON_VERSION
('emr-7.12.0', '5.1', '3.5.6', '3.3.2', '3.11')
"""

from __future__ import annotations

EMR_RELEASE = "emr-7.12.0"
GLUE_VERSION = "5.1"
SPARK_VERSION = "3.5.6"
DELTA_VERSION = "3.3.2"
PYTHON_VERSION = "3.11"
SCALA_VERSION = "2.12"

__all__ = ["DELTA_VERSION", "EMR_RELEASE", "GLUE_VERSION", "PYTHON_VERSION", "SCALA_VERSION",
           "SPARK_VERSION"]
