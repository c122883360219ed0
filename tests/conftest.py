"""One SparkSession for the whole test session (Spark is slow to start)."""

from __future__ import annotations

import pytest

from spark_lester.config import LesterConfig
from spark_lester.session import get_spark


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("warehouse")
    config = LesterConfig.from_env(master="local[2]", shuffle_partitions=2,
                                   warehouse=str(warehouse), driver_memory="2g")
    session = get_spark(config)
    yield session
    session.stop()
