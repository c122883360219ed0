"""deletion/unlearn.py when S3 fails mid-request: a typed error, consistent tables, a ledger
that says what happened, and a second attempt that finishes the request.

A small HTTP proxy in front of moto answers PUT requests under the features table's prefix
with S3's own 500 / 503 errors while its flag is on. One bucket is routed through it (S3A's
per-bucket endpoint, set before the bucket's first use), so the session's other buckets keep
talking to moto directly. The ledger lives under ``_lester/``, which the proxy never fails.
Both tests start from one run, made once and restored in place for each (``SavedRun`` in
conftest.py; the copies go to moto directly, not through the proxy).
"""

from __future__ import annotations

import http.client
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest

from spark_lester.artifacts import store
from spark_lester.artifacts.layout import FEATURES, MODEL, PREPARED, Layout
from spark_lester.config import LesterConfig
from spark_lester.deletion import ledger
from spark_lester.deletion.merge import commit_tag
from spark_lester.deletion.request import CARD_NUMBER, DeletionRequest
from spark_lester.deletion.stages import Hooks
from spark_lester.deletion.unlearn import unlearn
from spark_lester.errors import StorageError
from tests.deletion.conftest import (RUNNING_EXAMPLE, SavedRun, assert_same_artifacts,
                                     baseline_run, feature_map, table_rows)

# long profile (about 110 s in CI, over its 45 minutes): bash dev.sh test -m long
pytestmark = [pytest.mark.s3, pytest.mark.long]

BUCKET = "lester-faults"
WAREHOUSE = f"s3a://{BUCKET}/warehouse"
#: What S3 answers when it fails (the bodies S3 sends for these codes).
FAULTS = ((500, "InternalError", "We encountered an internal error. Please try again."),
          (503, "SlowDown", "Please reduce your request rate."))
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
        "upgrade", "expect", "server", "date"}


class FaultProxy(ThreadingHTTPServer):
    """Forwards every request to ``upstream``; while armed, answers the requests that match
    its rule (method, key prefix ``/bucket/key...``, optionally a User-Agent substring) with
    an S3 error instead."""

    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), _Forward)
        parsed = urlsplit(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.rule: tuple[frozenset[str], str, str | None] | None = None
        self.failed: list[str] = []
        self._codes = itertools.cycle(FAULTS)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def arm(self, methods: set[str], prefix: str, agent: str | None = None) -> None:
        self.rule = (frozenset(methods), prefix, agent)

    def disarm(self) -> None:
        self.rule = None

    def fault(self, method: str, path: str, agent: str) -> tuple[int, str, str] | None:
        rule = self.rule
        if rule is None:
            return None
        methods, prefix, wanted_agent = rule
        key = unquote(urlsplit(path).path)
        if method not in methods or not key.startswith(prefix) or \
                (wanted_agent is not None and wanted_agent not in agent):
            return None
        with self._lock:
            self.failed.append(f"{method} {key}")
            return next(self._codes)


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and Expect: 100-continue, as S3A expects
    server: FaultProxy

    def log_message(self, *args: object) -> None:
        pass

    def _handle(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            self.send_error(501, "chunked request bodies are not forwarded")  # S3A never sends them
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        fault = self.server.fault(self.command, self.path,
                                  self.headers.get("User-Agent", ""))
        if fault is not None:
            status, code, message = fault
            xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                   f"<Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
                   ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(xml)))
            self.end_headers()
            self.wfile.write(xml)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        conn = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP and key.lower() != "content-length":
                self.send_header(key, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", response.getheader("Content-Length", "0"))
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _handle


@pytest.fixture(scope="module")
def proxy(s3_endpoint, spark):
    """The proxy, with the bucket created on moto and routed through the proxy in S3A."""
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=BUCKET)
    server = FaultProxy(s3_endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    # before the bucket's first use: S3A caches one file system per bucket
    settings = {"endpoint": server.url, "attempts.maximum": "1", "retry.limit": "1",
                "retry.interval": "10ms", "retry.throttle.limit": "1",
                "retry.throttle.interval": "10ms"}
    for key, value in settings.items():
        conf.set(f"fs.s3a.bucket.{BUCKET}.{key}", value)
    yield server
    for key in settings:
        conf.unset(f"fs.s3a.bucket.{BUCKET}.{key}")
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sources(proxy, s3_endpoint, small_example):
    return {n: _upload(s3_endpoint, small_example[n], f"raw/{n}.csv")
            for n in ("customers", "mails")}


@pytest.fixture(scope="module")
def saved_run(spark, proxy, sources, s3_endpoint):
    """The running example's run ``r1`` in ``WAREHOUSE`` (through the proxy, disarmed)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    return SavedRun(spark, RUNNING_EXAMPLE, sources, WAREHOUSE, s3=s3, rows_per_file=200)


def _upload(s3_endpoint: str, frame_or_path, key: str) -> str:
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    if isinstance(frame_or_path, pd.DataFrame):
        client.put_object(Bucket=BUCKET, Key=key, Body=frame_or_path.to_csv(index=False).encode())
    else:
        client.upload_file(frame_or_path, BUCKET, key)
    return f"s3a://{BUCKET}/{key}"


def _all_versions_readable(spark, path: str) -> int:
    latest = store.table_version(spark, path)
    for version in range(latest + 1):
        spark.read.format("delta").option("versionAsOf", version).load(path).count()
    return latest


def test_s3_errors_while_merging_then_resume(spark, proxy, sources, saved_run, s3_endpoint,
                                             small_example):
    """PUTs under the features table fail: its MERGE fails after the prepared table's
    committed; the second attempt resumes and equals a re-run on the cleaned sources."""
    _, original = saved_run.restore()
    prepared, features = (original.tables[n].path for n in (PREPARED, FEATURES))
    versions = {p: store.table_version(spark, p) for p in (prepared, features)}
    features_rows = table_rows(spark, features)
    features_x = feature_map(spark, features)
    assert not proxy.failed

    leaked = small_example["leaks_data"]["customer_ids"]
    request = DeletionRequest.from_dict({
        "source": "customers", "keys": leaked, "action": "redact_columns",
        "columns": ["mails.mail_subject"], "verify_patterns": [CARD_NUMBER]})
    config = LesterConfig.from_env(warehouse=WAREHOUSE, s3_endpoint=proxy.url)

    prefix = f"/{BUCKET}/warehouse/running_example/r1/{FEATURES}/"
    proxy.arm({"PUT"}, prefix)
    try:
        with pytest.raises(StorageError) as failure:
            unlearn(request, warehouse=WAREHOUSE, spark=spark, config=config)
    finally:
        proxy.disarm()
    assert failure.value.retryable is True
    assert proxy.failed and all(k.startswith(f"PUT {prefix}") for k in proxy.failed)
    failed = len(proxy.failed)

    # every committed version is readable; the prepared table's MERGE committed (stamped
    # with the request), the features table is exactly as the run left it
    assert _all_versions_readable(spark, prepared) == versions[prepared] + 1
    assert [c["userMetadata"] for c in store.history(spark, prepared, versions[prepared])] == \
        [commit_tag(request.request_id)]
    assert _all_versions_readable(spark, features) == versions[features]
    assert table_rows(spark, features) == features_rows
    assert {k: v.tolist() for k, v in feature_map(spark, features).items()} == \
        {k: v.tolist() for k, v in features_x.items()}

    rows = ledger.entries(spark, Layout(WAREHOUSE), request.request_id)
    assert [r.status for r in rows] == [ledger.STARTED, ledger.FAILED]
    assert rows[-1].reason.startswith(f"merge {FEATURES}: StorageError")
    # the model table is listed too: it is updated after the MERGEs, and erased
    assert set(rows[-1].tables) == {prepared, features, original.tables[MODEL].path}

    result = unlearn(request, warehouse=WAREHOUSE, spark=spark, config=config)
    assert result["status"] == "completed" and result["resumed"] is True
    assert result["verification"]["verified"] is True
    assert result["verification"]["objects"] > 0
    assert len(proxy.failed) == failed

    customers = pd.read_csv(small_example["customers"])
    mails = pd.read_csv(small_example["mails"])
    emails = set(customers[customers.customer_id.isin(leaked)].email)
    mails.loc[mails.email.isin(emails), "mail_subject"] = None
    cleaned = {"customers": sources["customers"],
               "mails": _upload(s3_endpoint, mails, "clean/mails.csv")}
    baseline = baseline_run(spark, RUNNING_EXAMPLE, cleaned, f"s3a://{BUCKET}/base", original)
    assert_same_artifacts(spark, original, baseline)

    after = {p: store.table_version(spark, p) for p in (prepared, features)}
    again = unlearn(request, warehouse=WAREHOUSE, spark=spark, config=config)
    assert again["status"] == "already_applied" and again["ledger"] == ledger.COMPLETED
    assert {p: store.table_version(spark, p) for p in (prepared, features)} == after
    statuses = [r.status for r in ledger.entries(spark, Layout(WAREHOUSE), request.request_id)]
    assert statuses == [ledger.STARTED, ledger.FAILED, ledger.STARTED, ledger.COMPLETED]


def test_s3_errors_in_the_verification_scan_then_resume(spark, proxy, saved_run):
    """Once the tables are erased, the scan's reads (pyarrow's, not Spark's) fail: a typed
    error, the ledger names the step, and the second attempt only erases and verifies."""
    warehouse, original = saved_run.restore()
    paths = [original.tables[n].path for n in (PREPARED, FEATURES)]
    request = DeletionRequest.from_dict({"source": "customers", "where": "customer_id % 7 = 3",
                                         "action": "delete_rows"})
    config = LesterConfig.from_env(warehouse=warehouse, s3_endpoint=proxy.url)

    def fail_scan(step: str) -> None:
        if step.startswith("erase:"):
            proxy.arm({"GET"}, f"/{BUCKET}/warehouse/", agent="aws-sdk-cpp")

    try:
        with pytest.raises(StorageError) as failure:
            unlearn(request, warehouse=warehouse, spark=spark, config=config,
                    hooks=Hooks(after_step=fail_scan))
    finally:
        proxy.disarm()
    assert failure.value.retryable is True
    assert "verification scan" in str(failure.value)
    rows = ledger.entries(spark, Layout(warehouse), request.request_id)
    assert [r.status for r in rows] == [ledger.STARTED, ledger.FAILED]
    assert rows[-1].reason.startswith("verify: StorageError")
    for path in paths:  # updated and erased: every retained commit is the request's
        assert {c["userMetadata"] for c in store.history(spark, path, -1)} == \
            {commit_tag(request.request_id)}
    contents = {p: table_rows(spark, p) for p in paths}
    assert len(contents[paths[0]]) < original.rows["total"]

    result = unlearn(request, warehouse=warehouse, spark=spark, config=config)
    assert result["status"] == "completed" and result["resumed"] is True
    assert result["verification"]["verified"] is True and result["verification"]["objects"] > 0
    assert {p: table_rows(spark, p) for p in paths} == contents
    assert unlearn(request, warehouse=warehouse, spark=spark,
                   config=config)["status"] == "already_applied"
