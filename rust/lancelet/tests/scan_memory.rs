//! A full scan's memory stays within the readahead budget plus one batch, whatever the file's
//! size: the test binary runs under a capped allocator, and the cap is set to what was
//! allocated before the scan plus that budget (and a small allowance for the runtime), so a
//! scan that holds more aborts the test.
//!
//! The files are local (reads allocate their bytes, as they do on any real store), several
//! times larger than the budget, and written in pages smaller than a batch: wide vectors
//! (full-zip pages), and narrow integer and text columns (mini-block pages). A third file has
//! vector pages larger than a batch, read through [`FileReader::open_uri`]'s local reader: its
//! chunks hand out the read bytes as the vectors without a copy, and are counted once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::alloc::System;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use cap::Cap;
use common::Random;
use futures::TryStreamExt;
use lancelet::{FileReader, FileWriter, WriterOptions};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

const READAHEAD: usize = 4 * 1024 * 1024;
const BATCH_ROWS: usize = 512;
/// Room for what a scan needs besides its data: tasks, futures, schemas, Arrow array headers.
const ALLOWANCE: usize = 512 * 1024;

const DIM: i32 = 256;

fn vectors(rows: usize, seed: u64) -> RecordBatch {
    let mut random = Random(seed);
    let values: Vec<f32> = (0..rows * DIM as usize)
        .map(|_| random.below(1 << 20) as f32 / 1024.0)
        .collect();
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let vector = FixedSizeListArray::new(item, DIM, Arc::new(Float32Array::from(values)), None);
    let ids = Int64Array::from_iter_values(0..rows as i64);
    RecordBatch::try_new(
        vectors_schema(),
        vec![Arc::new(ids) as ArrayRef, Arc::new(vector)],
    )
    .unwrap()
}

fn vectors_schema() -> SchemaRef {
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("vector", DataType::FixedSizeList(item, DIM), false),
    ]))
}

fn narrow(rows: usize, seed: u64) -> RecordBatch {
    let mut random = Random(seed);
    let keys = Int64Array::from_iter_values((0..rows).map(|_| random.below(1 << 40) as i64));
    let text = StringArray::from_iter_values((0..rows).map(|_| {
        let len = 10 + random.below(60) as usize;
        (0..len)
            .map(|_| char::from(b'a' + random.below(26) as u8))
            .collect::<String>()
    }));
    RecordBatch::try_new(
        narrow_schema(),
        vec![Arc::new(keys) as ArrayRef, Arc::new(text)],
    )
    .unwrap()
}

fn narrow_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::Int64, false),
        Field::new("text", DataType::Utf8, false),
    ]))
}

async fn write_file(
    store: Arc<dyn ObjectStore>,
    name: &str,
    schema: SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
) -> u64 {
    // Pages far smaller than a batch, so that every chunk of the scan joins several pages.
    write_file_with_pages(store, name, schema, batches, 128 * 1024).await
}

async fn write_file_with_pages(
    store: Arc<dyn ObjectStore>,
    name: &str,
    schema: SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
    max_page_bytes: u64,
) -> u64 {
    let path = Path::from(name);
    let options = WriterOptions::default()
        .with_max_page_bytes(max_page_bytes)
        .unwrap();
    let mut writer = FileWriter::try_new(store.clone(), path.clone(), schema, options).unwrap();
    for batch in batches {
        writer.write_batch(&batch).await.unwrap();
    }
    writer.finish().await.unwrap();
    store.head(&path).await.unwrap().size
}

/// Scans the whole file under the cap and returns the number of rows read.
async fn scan_under_cap(reader: &FileReader) -> usize {
    // The first read loads the columns' page metadata (kept by the reader, like the footer):
    // load it before measuring.
    let warm_up = reader.take(vec![0]).into_stream().unwrap();
    let _: Vec<RecordBatch> = warm_up.try_collect().await.unwrap();

    let base = ALLOCATOR.allocated();
    ALLOCATOR
        .set_limit(base + READAHEAD + batch_bytes(reader) + ALLOWANCE)
        .unwrap();
    let mut stream = reader
        .scan()
        .with_batch_size(BATCH_ROWS)
        .with_readahead_bytes(READAHEAD as u64)
        .into_stream()
        .unwrap();
    let mut rows = 0;
    while let Some(batch) = stream.try_next().await.unwrap() {
        rows += batch.num_rows();
    }
    drop(stream);
    ALLOCATOR.set_limit(usize::MAX).unwrap();
    rows
}

/// The decoded bytes of one batch of the file (every batch here has the same size).
fn batch_bytes(reader: &FileReader) -> usize {
    let schema = reader.schema();
    let per_row: usize = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::FixedSizeList(_, dim) => 4 * *dim as usize,
            // Offsets plus the longest text of `narrow`.
            DataType::Utf8 => 4 + 70,
            _ => 8,
        })
        .sum();
    per_row * BATCH_ROWS
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_scan_holds_at_most_the_readahead_and_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());

    let vector_rows = 24 * 1024;
    let size = write_file(
        store.clone(),
        "vectors.lance",
        vectors_schema(),
        (0..6).map(|seed| vectors(vector_rows / 6, seed)),
    )
    .await;
    assert!(size > 5 * READAHEAD as u64, "file of {size} bytes");
    let reader = FileReader::open(store.clone(), &Path::from("vectors.lance"))
        .await
        .unwrap();
    assert_eq!(scan_under_cap(&reader).await, vector_rows);

    let narrow_rows = 800_000;
    let size = write_file(
        store.clone(),
        "narrow.lance",
        narrow_schema(),
        (0..4).map(|seed| narrow(narrow_rows / 4, seed)),
    )
    .await;
    assert!(size > 5 * READAHEAD as u64, "file of {size} bytes");
    let reader = FileReader::open(store.clone(), &Path::from("narrow.lance"))
        .await
        .unwrap();
    assert_eq!(scan_under_cap(&reader).await, narrow_rows);

    vectors_read_in_place_are_counted_once(store, dir.path()).await;
}

/// Vectors in pages of two batches, read in place through the local reader. Called from the
/// one test above: tests of one binary run at once and share the allocator's cap.
async fn vectors_read_in_place_are_counted_once(
    store: Arc<dyn ObjectStore>,
    dir: &std::path::Path,
) {
    let rows = 24 * 1024;
    // Pages of 1024 vectors (1 MiB): two batches each.
    let size = write_file_with_pages(
        store.clone(),
        "in_place.lance",
        vectors_schema(),
        (0..6).map(|seed| vectors(rows / 6, seed)),
        (1 << 20) + (64 << 10),
    )
    .await;
    assert!(size > 5 * READAHEAD as u64, "file of {size} bytes");
    let uri = dir.join("in_place.lance");
    let reader = FileReader::open_uri(uri.to_str().unwrap(), &Default::default())
        .await
        .unwrap();
    let pages = &reader.metadata().columns[1].pages;
    assert!(pages.iter().all(|page| page.num_rows == 1024), "{pages:?}");
    assert_eq!(scan_under_cap(&reader).await, rows);
}
