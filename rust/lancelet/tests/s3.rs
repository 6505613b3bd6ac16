//! The writer and reader against a real S3-protocol server on 127.0.0.1: moto_server, from the
//! Python environment that `scripts/test.sh` sets up (`.venv/bin/moto_server`, or the program
//! named by `LANCELET_MOTO_SERVER`). Each test starts its own server and bucket.
//!
//! Covered: multipart parts of at least 5 MiB, nothing visible before `finish`, an abort or a
//! dropped writer leaves neither an object nor an unfinished upload, ranged reads are
//! coalesced, and the endpoint and credentials come from options. (The `AWS_*` environment
//! variables are covered by the CLI's tests.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Float32Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use common::*;
use futures::TryStreamExt;
use lancelet::io::upload::MIN_PART_BYTES;
use lancelet::io::{CountingStore, UploadOptions};
use lancelet::{FileReader, FileVersion, FileWriter, WriterOptions};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;

const BUCKET: &str = "lancelet-rust-tests";

/// A moto_server process with one bucket, stopped on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_program() -> PathBuf {
    if let Some(program) = std::env::var_os("LANCELET_MOTO_SERVER") {
        return program.into();
    }
    let program = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server");
    assert!(
        program.exists(),
        "moto_server not found at {}: run scripts/test.sh (it installs moto into .venv) or set \
         LANCELET_MOTO_SERVER",
        program.display()
    );
    program
}

impl Moto {
    /// Starts a server on a free port and creates the bucket. The server counts as up once
    /// the bucket's creation succeeds (a listening socket alone is not enough: the server may
    /// still restart); if it exits (say another process took the port), another port is tried.
    fn start() -> Moto {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(moto_program())
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut moto = Moto { child, port };
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(60) {
                if moto.child.try_wait().unwrap().is_some() {
                    break;
                }
                if let Ok((200, _)) = moto.try_http("PUT", &format!("/{BUCKET}")) {
                    return moto;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("moto_server did not start");
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One plain HTTP request (moto does not check signatures); returns status and body.
    fn try_http(&self, method: &str, target: &str) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.port
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok((status, response))
    }

    /// [`try_http`](Self::try_http) to a server that is up.
    fn http(&self, method: &str, target: &str) -> (u16, String) {
        self.try_http(method, target).unwrap()
    }

    /// Multipart uploads started and neither completed nor aborted.
    fn unfinished_uploads(&self) -> usize {
        let (status, body) = self.http("GET", &format!("/{BUCKET}?uploads"));
        assert_eq!(status, 200, "{body}");
        body.matches("<Upload>").count()
    }

    /// The bucket as a store, configured from options only.
    fn store(&self) -> Arc<CountingStore> {
        let s3 = AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(self.endpoint())
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .with_allow_http(true)
            .build()
            .unwrap();
        Arc::new(CountingStore::new(Arc::new(s3)))
    }
}

async fn object_names(store: &dyn ObjectStore) -> Vec<String> {
    let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
    listed.into_iter().map(|m| m.location.to_string()).collect()
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("vector", DataType::Float32, false),
        Field::new("text", DataType::Utf8, true),
    ]))
}

/// About 1 MiB of varied rows, deterministic for `seed`.
fn batch(seed: u64) -> RecordBatch {
    let rows = 32 * 1024;
    let mut random = Random(seed);
    let start = seed as i64 * rows as i64;
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(start..start + rows as i64));
    let floats: ArrayRef = Arc::new(Float32Array::from_iter_values(
        (0..rows).map(|_| random.next() as f32),
    ));
    let text: ArrayRef = Arc::new(StringArray::from_iter((0..rows).map(|i| {
        (i % 7 != 0).then(|| format!("row {} {:x}", start + i as i64, random.next()))
    })));
    RecordBatch::try_new(schema(), vec![ids, floats, text]).unwrap()
}

fn options() -> WriterOptions {
    WriterOptions::default()
        .with_version(FileVersion::V2_2)
        .with_data_cache_bytes(256 * 1024)
        .unwrap()
        .with_upload(
            UploadOptions::default()
                .with_part_bytes(MIN_PART_BYTES)
                .unwrap(),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_is_invisible_until_finish_and_reads_back() {
    let moto = Moto::start();
    let store = moto.store();
    let path = Path::from("dir/big.lance");
    let mut writer = FileWriter::try_new(store.clone(), path.clone(), schema(), options()).unwrap();
    let batches: Vec<_> = (0..24).map(batch).collect();
    for (i, batch) in batches.iter().enumerate() {
        writer.write_batch(batch).await.unwrap();
        if i == 20 {
            assert!(!store.stats().part_sizes.is_empty(), "no part uploaded yet");
            assert!(object_names(store.as_ref()).await.is_empty());
            assert_eq!(moto.unfinished_uploads(), 1);
        }
    }
    let summary = writer.finish().await.unwrap();
    let stats = store.stats();
    let (last, full) = stats.part_sizes.split_last().unwrap();
    assert!(full.len() >= 2, "parts: {:?}", stats.part_sizes);
    assert!(full.iter().all(|&size| size >= MIN_PART_BYTES as u64));
    assert_eq!(full.iter().sum::<u64>() + last, summary.file_size);
    assert_eq!(stats.completed_uploads, 1);
    assert_eq!(moto.unfinished_uploads(), 0);
    assert_eq!(object_names(store.as_ref()).await, ["dir/big.lance"]);

    let expected = concat(&schema(), &batches);
    store.reset();
    let reader = FileReader::open(store.clone(), &path).await.unwrap();
    assert!(store.stats().read_requests <= 2, "{:?}", store.stats());
    let scanned = reader.scan().into_stream().unwrap().try_collect().await;
    assert_same(&expected, &concat(&schema(), &scanned.unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranged_reads_are_coalesced() {
    let moto = Moto::start();
    let store = moto.store();
    let path = Path::from("ranged.lance");
    let batches: Vec<_> = (0..4).map(batch).collect();
    let mut writer = FileWriter::try_new(store.clone(), path.clone(), schema(), options()).unwrap();
    for batch in &batches {
        writer.write_batch(batch).await.unwrap();
    }
    let summary = writer.finish().await.unwrap();
    let expected = concat(&schema(), &batches);
    let reader = FileReader::open(store.clone(), &path).await.unwrap();

    // The first read of a page loads its chunk metadata (once per opened reader); a scan
    // touches every page.
    let warm_up = reader.scan().into_stream().unwrap();
    warm_up.try_collect().await.unwrap();

    // Ten adjacent rows of one fixed-width column: one ranged request.
    store.reset();
    let indices: Vec<u64> = (70_000..70_010).collect();
    let stream = reader
        .take(indices.clone())
        .with_columns(["id"])
        .into_stream()
        .unwrap();
    let taken = stream.try_collect().await.unwrap();
    let stats = store.stats();
    assert_eq!(stats.read_requests, 1, "{stats:?}");
    assert!(stats.read_bytes < summary.file_size / 10, "{stats:?}");
    let ids = taken[0].column(0).as_any().downcast_ref::<Int64Array>();
    assert_eq!(
        ids.unwrap().values(),
        &(70_000..70_010).collect::<Vec<i64>>()
    );

    // Scattered rows of all columns: at most one request per row and column, and the rows match.
    store.reset();
    let indices: Vec<u64> = vec![130_000, 3, 65_000, 3, 99_999];
    let stream = reader.take(indices.clone()).into_stream().unwrap();
    let taken = stream.try_collect().await.unwrap();
    let stats = store.stats();
    assert!(stats.read_requests <= 3 * 4, "{stats:?}");
    let rows =
        arrow_select::take::take_record_batch(&expected, &UInt64Array::from(indices)).unwrap();
    assert_same(&rows, &concat(&schema(), &taken));

    // Every request was a ranged read inside the file.
    assert!(
        stats
            .read_ranges
            .iter()
            .all(|r| r.start < r.end && r.end <= summary.file_size)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_and_drop_leave_nothing() {
    let moto = Moto::start();
    let store = moto.store();

    // Abort after parts went out.
    let mut writer = FileWriter::try_new(
        store.clone(),
        Path::from("aborted.lance"),
        schema(),
        options(),
    )
    .unwrap();
    for seed in 0..12 {
        writer.write_batch(&batch(seed)).await.unwrap();
    }
    assert!(!store.stats().part_sizes.is_empty());
    assert_eq!(moto.unfinished_uploads(), 1);
    writer.abort().await;
    assert_eq!(moto.unfinished_uploads(), 0);
    assert!(object_names(store.as_ref()).await.is_empty());
    assert!(writer.write_batch(&batch(0)).await.is_err());

    // Drop without finish: the writer aborts in the background.
    let mut writer = FileWriter::try_new(
        store.clone(),
        Path::from("dropped.lance"),
        schema(),
        options(),
    )
    .unwrap();
    for seed in 0..12 {
        writer.write_batch(&batch(seed)).await.unwrap();
    }
    drop(writer);
    let started = Instant::now();
    while moto.unfinished_uploads() > 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "never aborted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(object_names(store.as_ref()).await.is_empty());
    assert_eq!(store.stats().completed_uploads, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_and_missing_objects_are_errors() {
    let moto = Moto::start();
    let store = moto.store();
    let error = FileReader::open(store.clone(), &Path::from("missing.lance"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, lancelet::Error::NotFound { .. }),
        "{error:?}"
    );

    // A bucket that does not exist: the writer's error surfaces, nothing is left.
    let s3 = AmazonS3Builder::new()
        .with_bucket_name("no-such-bucket")
        .with_endpoint(moto.endpoint())
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_allow_http(true)
        .build()
        .unwrap();
    let mut writer =
        FileWriter::try_new(Arc::new(s3), Path::from("x.lance"), schema(), options()).unwrap();
    let mut failed = false;
    for seed in 0..12 {
        if writer.write_batch(&batch(seed)).await.is_err() {
            failed = true;
            break;
        }
    }
    if !failed {
        assert!(writer.finish().await.is_err());
    }
    assert!(object_names(store.as_ref()).await.is_empty());
}
