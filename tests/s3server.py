"""moto's S3 server on loopback (a real S3 API over HTTP), with dummy credentials: for the
tests (``s3_endpoint`` fixture) and the benchmarks that keep a warehouse on ``s3a://``."""

from __future__ import annotations

import os
from typing import Any


def start_moto() -> tuple[Any, str]:
    """Start a server on a free port of 127.0.0.1: ``(server, "http://127.0.0.1:PORT")``;
    the caller stops it (``server.stop()``)."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"
