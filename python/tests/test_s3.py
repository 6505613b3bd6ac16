"""Lancelet's Python package against an S3-compatible server (moto) on 127.0.0.1.

Files go to `s3://bucket/key` with the endpoint and credentials in `storage_options`: large
files are uploaded in multipart parts and appear only when the writer closes; an aborted
write leaves nothing; reads (whole, ranges, takes) use ranged GETs; pylance reads the files.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import numpy as np
import pyarrow as pa
import pytest
from helpers import assert_tables_equal
from lance.file import LanceFileReader as PylanceReader

import lancelet

BUCKET = "lancelet-tests"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server with one bucket; yields (endpoint, boto3 client, storage options)."""
    port = _free_port()
    server = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(endpoint, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("moto_server did not start")
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
        client.create_bucket(Bucket=BUCKET)
        options = {"aws_endpoint": endpoint, "aws_region": "us-east-1",
                   "aws_access_key_id": "test", "aws_secret_access_key": "test",
                   "aws_allow_http": "true"}
        yield endpoint, client, options
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _keys(client, prefix):
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def _uploads(client):
    return client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def _table(rows, seed=0):
    rng = np.random.default_rng(seed)
    return pa.table({
        "id": np.arange(rows, dtype=np.int64),
        "x": rng.standard_normal(rows),
        "y": rng.standard_normal(rows),
        "s": [f"row {i} " * (i % 5) for i in range(rows)],
    })


@pytest.mark.parametrize("version", ["2.0", "2.2"])
def test_s3_round_trip_with_multipart_upload(s3, version):
    """About 30 MB in several batches (two columns of random floats keep the file above one
    5 MiB part once compressed): uploaded in parts, invisible until close, then read
    back whole, by range and by take, by Lancelet and by pylance."""
    _, client, options = s3
    key = f"{uuid.uuid4().hex}/big.lance"
    uri = f"s3://{BUCKET}/{key}"
    table = _table(600_000)
    # A small cache makes pages (and upload parts) go out while batches are written.
    writer = lancelet.FileWriter(uri, table.schema, version=version, storage_options=options,
                                 data_cache_bytes=1024 * 1024)
    for batch in table.to_batches(max_chunksize=100_000):
        writer.write_batch(batch)
    assert _keys(client, key) == [], "the file is visible before close"
    assert [u["Key"] for u in _uploads(client)] == [key], "no multipart upload in progress"
    assert writer.close() == table.num_rows
    assert _keys(client, key) == [key]
    size = client.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
    assert size == writer.size_bytes and size > 5 * 1024 * 1024
    assert _uploads(client) == []

    reader = lancelet.FileReader(uri, storage_options=options)
    assert reader.num_rows() == table.num_rows
    assert_tables_equal(reader.read_all().to_table(), table)
    assert_tables_equal(reader.read_range(123_456, 1000).to_table(), table.slice(123_456, 1000))
    rows = [599_999, 0, 300_000, 300_000, 17]
    assert_tables_equal(reader.take_rows(rows).to_table(), table.take(rows))
    projected = lancelet.FileReader(uri, ["s"], storage_options=options)
    assert_tables_equal(projected.read_range(10, 5).to_table(), table.select(["s"]).slice(10, 5))

    pylance_options = {**options, "allow_http": "true"}
    assert_tables_equal(PylanceReader(uri, storage_options=pylance_options).read_all().to_table(), table)


def test_s3_failed_write_leaves_nothing(s3):
    """An exception inside the `with` block aborts: no object and no pending upload remain."""
    _, client, options = s3
    key = f"{uuid.uuid4().hex}/aborted.lance"
    table = _table(400_000, seed=1)
    with pytest.raises(RuntimeError, match="stop here"):
        with lancelet.FileWriter(f"s3://{BUCKET}/{key}", storage_options=options) as writer:
            for batch in table.to_batches(max_chunksize=100_000):
                writer.write_batch(batch)
            raise RuntimeError("stop here")
    assert _keys(client, key) == []
    assert _uploads(client) == []


def test_s3_global_buffers_and_metadata(s3):
    _, client, options = s3
    uri = f"s3://{BUCKET}/{uuid.uuid4().hex}/small.lance"
    with lancelet.FileWriter(uri, storage_options=options) as writer:
        writer.write_batch(_table(100))
        writer.add_schema_metadata("origin", "s3 test")
        assert writer.add_global_buffer(b"\x00blob\xff") == 1
    reader = lancelet.FileReader(uri, storage_options=options)
    assert reader.read_global_buffer(1) == b"\x00blob\xff"
    assert reader.schema.metadata[b"origin"] == b"s3 test"


def test_s3_missing_object_and_bad_options(s3):
    _, _, options = s3
    with pytest.raises(FileNotFoundError):
        lancelet.FileReader(f"s3://{BUCKET}/no/such.lance", storage_options=options)
    with pytest.raises(ValueError, match="no_such_option"):
        lancelet.FileReader(f"s3://{BUCKET}/x.lance", storage_options={**options, "no_such_option": "1"})
    # No server at the endpoint: the store's error, an OSError.
    with pytest.raises(OSError):
        lancelet.FileReader(f"s3://{BUCKET}/x.lance",
                            storage_options={**options, "aws_endpoint": "http://127.0.0.1:9"})


def test_cli_takes_endpoint_and_credentials_from_the_environment(s3, lancelet_bin, tmp_path):
    """`lancelet convert` to and from s3:// with the endpoint and keys in AWS_* variables."""
    endpoint, client, options = s3
    table = _table(50_000, seed=2)
    source = tmp_path / "in.arrow"
    with pa.ipc.new_file(source, table.schema) as ipc:
        ipc.write_table(table)
    env = {**os.environ, "AWS_ENDPOINT": endpoint, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_ALLOW_HTTP": "true"}
    key = f"{uuid.uuid4().hex}/cli.lance"
    uri = f"s3://{BUCKET}/{key}"

    def cli(*args):
        proc = subprocess.run([lancelet_bin, *args], env=env, capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        return proc

    cli("convert", str(source), uri)
    assert _keys(client, key) == [key]
    assert '"num_rows": 50000' in cli("inspect", uri, "--json").stdout.decode()
    back = tmp_path / "back.arrow"
    cli("convert", uri, str(back), "--take", "49999,0,7")
    with pa.ipc.open_file(back) as ipc:
        assert_tables_equal(ipc.read_all(), table.take([49999, 0, 7]))
    assert_tables_equal(lancelet.FileReader(uri, storage_options=options).read_all().to_table(), table)

