"""The standalone cluster of tests/sparkcluster.py, once per test session."""

from __future__ import annotations

import pytest


def pytest_configure(config):  # type: ignore[no-untyped-def]
    config.addinivalue_line("markers", "cluster: starts a Spark standalone cluster on loopback "
                                       "(tests/sparkcluster.py)")


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory, s3_endpoint):
    """A master and two 1-core workers on 127.0.0.1, S3 (moto) the only shared storage;
    everything it started is stopped afterwards."""
    from tests.sparkcluster import start_cluster

    root = tmp_path_factory.mktemp("cluster")
    with start_cluster(root, s3_endpoint, workers=2, cores=1, memory="1g") as cluster:
        yield cluster
