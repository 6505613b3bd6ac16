//! Exact I/O costs, measured with a counting store: opening a file, taking rows, scanning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field};
use common::*;
use lancelet::WriterOptions;

/// A file with `rows` rows of an int64 column `id` (no nulls), a nullable float column and a
/// string column, in 1 MiB pages.
async fn numbers(rows: usize) -> (Arc<lancelet::io::CountingStore>, RecordBatch) {
    let schema = schema_of(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("x", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
    ]);
    let mut random = Random(5);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..rows as i64)),
        array_of(&DataType::Float64, rows, 10, &mut random),
        array_of(&DataType::Utf8, rows, 10, &mut random),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    // Batches of 10k rows and 1 MiB per column make pages of about 1 MiB.
    let batches: Vec<RecordBatch> = (0..rows)
        .step_by(10_000)
        .map(|start| batch.slice(start, 10_000.min(rows - start)))
        .collect();
    // Format 2.0; the mini-block and full-zip costs of 2.1/2.2 are tested in
    // io_counts_structural.rs.
    let options = WriterOptions::default()
        .with_version(lancelet::FileVersion::V2_0)
        .with_data_cache_bytes(3 << 20)
        .unwrap();
    let store = write(&schema, &batches, options).await;
    (store, batch)
}

#[tokio::test]
async fn opening_a_small_file_takes_one_read_and_no_head() {
    let (store, _) = numbers(1000).await;
    store.reset();
    let _reader = open(&store).await;
    let stats = store.stats();
    assert_eq!(stats.read_requests, 1, "{stats:?}");
    assert_eq!(stats.head_requests, 0);
    assert!(stats.read_bytes <= 4096);
}

#[tokio::test]
async fn opening_a_file_with_large_metadata_takes_two_reads() {
    // 300 columns: the metadata is far larger than the 4 KiB tail read.
    let fields: Vec<Field> = (0..300)
        .map(|i| Field::new(format!("column_{i}"), DataType::Int32, true))
        .collect();
    let schema = schema_of(fields);
    let batch = batch_of(&schema, 100, 3);
    let store = write(&schema, &[batch], WriterOptions::default()).await;
    store.reset();
    let reader = open(&store).await;
    let stats = store.stats();
    assert!(reader.metadata().metadata_bytes() > 4096);
    assert_eq!(stats.read_requests, 2, "{stats:?}");
    assert_eq!(stats.head_requests, 0);
}

#[tokio::test]
async fn a_take_of_k_rows_from_a_fixed_width_column_costs_at_most_k_reads() {
    let (store, batch) = numbers(1_000_000).await;
    let reader = open(&store).await;
    assert!(
        reader.metadata().columns[0].pages.len() > 1,
        "several pages"
    );
    let mut random = Random(11);
    for k in [1usize, 10, 100, 1000] {
        let indices: Vec<u64> = (0..k).map(|_| random.below(1_000_000)).collect();
        store.reset();
        let read = reader
            .take(indices.clone())
            .with_columns(["id"])
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let stats = store.stats();
        assert!(stats.read_requests as usize <= k, "k={k}: {stats:?}");
        // Every read is of whole rows: 8 bytes per distinct row at most, padded reads merge
        // only rows closer than the merge gap.
        let expected = arrow_select::take::take(
            batch.column(0).as_ref(),
            &arrow_array::UInt64Array::from(indices),
            None,
        )
        .unwrap();
        let got = concat(&read[0].schema(), &read);
        assert!(got.column(0).to_data() == expected.to_data());
    }
    // A single row reads exactly its 8 bytes.
    store.reset();
    reader
        .take(vec![123_456])
        .with_columns(["id"])
        .into_stream()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let stats = store.stats();
    assert_eq!((stats.read_requests, stats.read_bytes), (1, 8), "{stats:?}");
}

#[tokio::test]
async fn a_take_from_a_nullable_column_costs_at_most_two_reads_per_row() {
    let (store, _) = numbers(1_000_000).await;
    let reader = open(&store).await;
    let mut random = Random(12);
    let indices: Vec<u64> = (0..100).map(|_| random.below(1_000_000)).collect();
    for column in ["x", "s"] {
        store.reset();
        reader
            .take(indices.clone())
            .with_columns([column])
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let stats = store.stats();
        // x: validity + value; s: offsets, then bytes.
        assert!(stats.read_requests <= 200, "{column}: {stats:?}");
    }
}

#[tokio::test]
async fn a_full_scan_reads_each_page_byte_once() {
    let (store, _) = numbers(1_000_000).await;
    let reader = open(&store).await;
    for (index, name) in ["id", "x", "s"].iter().enumerate() {
        store.reset();
        reader
            .scan()
            .with_columns([*name])
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let stats = store.stats();
        let column = &reader.metadata().columns[index];
        let buffers: u64 = column.pages.iter().map(|p| p.buffers.len() as u64).sum();
        // Nothing is read twice; only the pad bytes between a page's buffers may be read
        // along with them when requests merge.
        let column_bytes = column.size_bytes();
        assert!(
            stats.read_bytes >= column_bytes && stats.read_bytes < column_bytes + 64 * buffers,
            "{name}: read {} bytes of a {column_bytes}-byte column",
            stats.read_bytes
        );
        let pages = column.pages.len() as u64;
        // One request per page buffer at most (strings need offsets and bytes).
        assert!(stats.read_requests <= 2 * pages + 2, "{name}: {stats:?}");
    }
}
