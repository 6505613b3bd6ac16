//! A store that fails reads: the open, scan or take that hits the failure returns the store's
//! error (never a panic or a wrong batch), and the same opened reader reads everything again
//! once the store recovers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::{RecordBatch, UInt64Array};
use async_trait::async_trait;
use common::*;
use futures::StreamExt;
use futures::stream::BoxStream;
use lancelet::{Error, FileReader, FileVersion, FileWriter, WriterOptions};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// Wraps a store; while `failing` is above zero, each read fails and counts it down.
#[derive(Debug)]
struct FlakyStore {
    inner: Arc<dyn ObjectStore>,
    failing: AtomicUsize,
    reads: AtomicUsize,
}

impl FlakyStore {
    fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            failing: AtomicUsize::new(0),
            reads: AtomicUsize::new(0),
        }
    }

    /// Makes the next `n` reads fail.
    fn fail_next(&self, n: usize) {
        self.failing.store(n, Ordering::SeqCst);
    }
}

impl std::fmt::Display for FlakyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FlakyStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for FlakyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let fail = self
            .failing
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(object_store::Error::Generic {
                store: "FlakyStore",
                source: "injected read failure".into(),
            });
        }
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

const ROWS: usize = 40_000;

/// Writes a file of many pages (every 2.0 type) into a flaky store; returns the store and the
/// rows written.
async fn flaky_file(version: FileVersion) -> (Arc<FlakyStore>, RecordBatch) {
    let store = Arc::new(FlakyStore::new(Arc::new(InMemory::new())));
    let schema = schema_of(all_v2_0_fields());
    let batches: Vec<_> = (0..4)
        .map(|seed| batch_of(&schema, ROWS / 4, seed))
        .collect();
    let options = WriterOptions::default()
        .with_version(version)
        .with_max_page_bytes(16 * 1024)
        .unwrap();
    let mut writer = FileWriter::try_new(
        store.clone(),
        Path::from("flaky.lance"),
        schema.clone(),
        options,
    )
    .unwrap();
    for batch in &batches {
        writer.write_batch(batch).await.unwrap();
    }
    writer.finish().await.unwrap();
    (store, concat(&schema, &batches))
}

fn assert_injected(error: &Error) {
    assert!(
        matches!(error, Error::Io { .. }) && error.to_string().contains("injected read failure"),
        "expected the store's error, got {error:?}"
    );
}

/// Runs a scan to its end: all its rows in one batch, or the first error.
async fn collect(scan: lancelet::Scan) -> lancelet::Result<RecordBatch> {
    let stream = scan.into_stream()?;
    let schema = stream.schema();
    Ok(concat(&schema, &stream.try_collect().await?))
}

async fn read_all(reader: &FileReader) -> RecordBatch {
    collect(reader.scan()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_open_returns_the_error_and_can_be_retried() {
    for version in [FileVersion::V2_0, FileVersion::V2_2] {
        let (store, expected) = flaky_file(version).await;
        let path = Path::from("flaky.lance");
        store.fail_next(1);
        let error = FileReader::open(store.clone(), &path).await.unwrap_err();
        assert_injected(&error);
        let reader = FileReader::open(store.clone(), &path).await.unwrap();
        assert_same(&expected, &read_all(&reader).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_that_fails_midway_returns_the_error_and_the_reader_reads_again() {
    for version in [FileVersion::V2_0, FileVersion::V2_1, FileVersion::V2_2] {
        let (store, expected) = flaky_file(version).await;
        let reader = FileReader::open(store.clone(), &Path::from("flaky.lance"))
            .await
            .unwrap();
        let mut stream = reader
            .scan()
            .with_batch_size(1_000)
            .with_readahead_bytes(64 * 1024)
            .into_stream()
            .unwrap();
        let first = stream.next().await.unwrap().unwrap();
        assert_same(&expected.slice(0, first.num_rows()), &first);

        // Every read fails from now on: the scan must end in the store's error before it has
        // delivered all rows, and every batch it still delivers must be the right rows.
        store.fail_next(usize::MAX);
        let mut delivered = first.num_rows();
        let mut failed = false;
        while let Some(item) = stream.next().await {
            match item {
                Ok(batch) => {
                    assert_same(&expected.slice(delivered, batch.num_rows()), &batch);
                    delivered += batch.num_rows();
                }
                Err(error) => {
                    assert_injected(&error);
                    failed = true;
                    break;
                }
            }
        }
        assert!(
            failed,
            "{version:?}: the scan ended without the store's error"
        );
        assert!(delivered < ROWS, "{version:?}: the failure came too late");
        drop(stream);

        // The store recovers: the same reader scans and takes everything.
        store.fail_next(0);
        assert_same(&expected, &read_all(&reader).await);
        let before = store.reads.load(Ordering::SeqCst);
        let indices: Vec<u64> = (0..ROWS as u64).rev().step_by(997).collect();
        let taken = collect(reader.take(indices.clone())).await.unwrap();
        assert!(store.reads.load(Ordering::SeqCst) > before);
        let expected_rows =
            arrow_select::take::take_record_batch(&expected, &UInt64Array::from(indices.clone()))
                .unwrap();
        assert_same(&expected_rows, &taken);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_take_and_a_global_buffer_read_that_fail_can_be_retried() {
    let (store, expected) = flaky_file(FileVersion::V2_2).await;
    let reader = FileReader::open(store.clone(), &Path::from("flaky.lance"))
        .await
        .unwrap();
    let indices = vec![ROWS as u64 - 1, 5, 17_000, 5];
    store.fail_next(1);
    let error = collect(reader.take(indices.clone())).await.unwrap_err();
    assert_injected(&error);
    let taken = collect(reader.take(indices.clone())).await.unwrap();
    let expected_rows =
        arrow_select::take::take_record_batch(&expected, &UInt64Array::from(indices)).unwrap();
    assert_same(&expected_rows, &taken);

    // Global buffers are read through the store each time they are asked for.
    store.fail_next(1);
    assert_injected(&reader.read_global_buffer(0).await.unwrap_err());
    assert!(!reader.read_global_buffer(0).await.unwrap().is_empty());
}
