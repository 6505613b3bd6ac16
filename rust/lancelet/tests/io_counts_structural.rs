//! Exact I/O costs of 2.1/2.2 files: takes read whole mini-block chunks only where the rows
//! are, and exactly the rows' bytes from fixed-width full-zip pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use arrow_array::{
    ArrayRef, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field};
use common::*;
use lancelet::format::describe::describe;
use lancelet::{FileVersion, WriterOptions};

const ROWS: usize = 100_000;

fn file_batches() -> (Arc<arrow_schema::Schema>, Vec<RecordBatch>) {
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let schema = schema_of(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("vector", DataType::FixedSizeList(item.clone(), 128), false),
        Field::new("text", DataType::Utf8, true),
    ]);
    let mut random = Random(3);
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(
        (0..ROWS).map(|_| random.next() as i64),
    ));
    let values = Float32Array::from_iter_values((0..ROWS * 128).map(|i| (i % 1000) as f32));
    let vectors: ArrayRef =
        Arc::new(FixedSizeListArray::try_new(item, 128, Arc::new(values), None).unwrap());
    let text: ArrayRef =
        Arc::new(StringArray::from_iter((0..ROWS).map(|i| {
            (i % 10 != 0).then(|| format!("{i:08}-{}", "long text ".repeat(30)))
        })));
    let batch = RecordBatch::try_new(schema.clone(), vec![ids, vectors, text]).unwrap();
    let batches = (0..ROWS)
        .step_by(20_000)
        .map(|s| batch.slice(s, 20_000))
        .collect();
    (schema, batches)
}

#[tokio::test]
async fn takes_read_only_what_the_rows_need() {
    for version in [FileVersion::V2_1, FileVersion::V2_2] {
        let (schema, batches) = file_batches();
        let options = WriterOptions::default().with_version(version);
        let store = write(&schema, &batches, options).await;
        store.reset();
        let reader = open(&store).await;
        assert!(
            store.stats().read_requests <= 2,
            "open: {:?}",
            store.stats()
        );

        let columns = &reader.metadata().columns;
        assert!(
            describe(&columns[0].pages[0]).starts_with("mini_block"),
            "{}",
            describe(&columns[0].pages[0])
        );
        assert!(describe(&columns[1].pages[0]).starts_with("full_zip"));
        assert!(describe(&columns[2].pages[0]).starts_with("full_zip"));

        // Rows far apart, so no two share a chunk or a merged read.
        let mut random = Random(9);
        let k = 50u64;
        let indices: Vec<u64> = (0..k)
            .map(|i| i * (ROWS as u64 / k) + random.below(100))
            .collect();

        // Mini-block: a page's chunk table is read once per reader; then one whole chunk
        // per row at most.
        reader
            .take(vec![0])
            .with_columns(["id"])
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        store.reset();
        reader
            .take(indices.clone())
            .with_columns(["id"])
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let stats = store.stats();
        assert!(
            stats.read_requests <= k,
            "{version} mini-block: {} reads for {k} rows",
            stats.read_requests
        );
        let largest_chunk = 2 * 8192 + 64;
        assert!(
            stats
                .read_ranges
                .iter()
                .all(|r| r.end - r.start <= largest_chunk),
            "{stats:?}"
        );

        // Fixed-width full-zip without levels: exactly 512 bytes per row, one read per row.
        store.reset();
        reader
            .take(indices.clone())
            .with_columns(["vector"])
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let stats = store.stats();
        assert_eq!(stats.read_bytes, k * 512, "{version} full-zip: {stats:?}");
        assert_eq!(stats.read_requests, k);

        // Variable-width full-zip: two index entries per row, then the row's record.
        store.reset();
        let read = reader
            .take(indices.clone())
            .with_columns(["text"])
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let stats = store.stats();
        assert!(stats.read_requests <= 2 * k, "{version} strings: {stats:?}");
        let expected_rows = concat(&read[0].schema(), &read);
        assert_eq!(expected_rows.num_rows(), k as usize);
        let row_bytes = 4 + 1 + 8 + 10 * 30 + 16; // generous: entries, control word, length, text
        assert!(
            stats.read_bytes <= k * row_bytes,
            "{version} strings read {} bytes",
            stats.read_bytes
        );
    }
}

#[tokio::test]
async fn a_take_loads_the_metadata_of_the_pages_it_touches_only() {
    // One mini-block column in many pages: a row's take reads its page's chunk table and one
    // chunk, not the chunk tables of every page.
    let schema = schema_of(vec![Field::new("id", DataType::Int64, false)]);
    let mut random = Random(5);
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(
        (0..ROWS).map(|_| random.next() as i64),
    ));
    let batch = RecordBatch::try_new(schema.clone(), vec![ids]).unwrap();
    let batches: Vec<RecordBatch> = (0..ROWS)
        .step_by(10_000)
        .map(|s| batch.slice(s, 10_000))
        .collect();
    let options = WriterOptions::default()
        .with_data_cache_bytes(64 * 1024)
        .unwrap();
    let store = write(&schema, &batches, options).await;
    let reader = open(&store).await;
    let pages = &reader.metadata().columns[0].pages;
    assert!(pages.len() >= 8, "{} pages", pages.len());
    assert!(pages.iter().all(|p| describe(p).starts_with("mini_block")));
    // Buffer 0 of a mini-block page is its chunk table.
    let tables: Vec<u64> = pages.iter().map(|p| p.buffers[0].size).collect();
    let largest_chunk = 8192 + 64;

    let mut first_row_of_page = 0u64;
    let mut seen = Vec::new();
    for (index, page) in pages.iter().enumerate().take(3) {
        store.reset();
        let row = first_row_of_page + page.num_rows / 2;
        let got = read_scan(reader.take(vec![row])).await;
        assert_same(&batch.slice(row as usize, 1), &got);
        let stats = store.stats();
        assert_eq!(stats.read_requests, 2, "page {index}: {stats:?}");
        assert!(
            stats.read_bytes <= tables[index] + largest_chunk,
            "page {index}: {stats:?}"
        );
        seen.push(row);
        first_row_of_page += page.num_rows;
    }
    // Pages already loaded are not read again: one chunk per row.
    store.reset();
    let got = read_scan(reader.take(seen.clone())).await;
    let stats = store.stats();
    assert_eq!(stats.read_requests, 3, "{stats:?}");
    assert_eq!(got.num_rows(), 3);
    // A scan loads the other pages and reads everything back.
    assert_same(&batch, &read_scan(reader.scan()).await);
}

#[tokio::test]
async fn a_take_reads_no_more_of_a_zstd_chunk_than_of_a_plain_one() {
    // 2.2 compresses comment-like text (FSST, then zstd per chunk) and dictionary indices that
    // repeat in patterns (zstd over bytes) in chunks that a take reads whole. Those chunks
    // hold what a plain chunk holds (4 KiB of codes and offsets; 1024 indices), so a row
    // costs no more bytes than FSST alone or bit-packing would.
    const WORDS: [&str; 12] = [
        "furiously",
        "quickly",
        "final",
        "regular",
        "pending",
        "ironic",
        "deposits",
        "requests",
        "accounts",
        "packages",
        "theodolites",
        "beans",
    ];
    let schema = schema_of(vec![
        Field::new("comment", DataType::Utf8, false),
        Field::new("code", DataType::Int64, false),
    ]);
    let mut random = Random(11);
    let comments: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..ROWS).map(|_| sentence(&mut random, &WORDS, 2, 5)),
    ));
    // Nine codes, one of them common: zstd's entropy coding of the index bytes saves far
    // more than 4-bit packing does.
    let codes: ArrayRef = Arc::new(arrow_array::Int64Array::from_iter_values((0..ROWS).map(
        |_| match random.below(100) {
            0..84 => 0,
            _ => (1 + random.below(8) as i64) * 1_000_003,
        },
    )));
    let batch = RecordBatch::try_new(schema.clone(), vec![comments, codes]).unwrap();
    let store = write(
        &schema,
        std::slice::from_ref(&batch),
        WriterOptions::default(),
    )
    .await;
    let reader = open(&store).await;
    let columns = &reader.metadata().columns;
    let comment_page = describe(&columns[0].pages[0]);
    assert!(
        comment_page.contains("general(zstd, fsst("),
        "{comment_page}"
    );
    let code_page = describe(&columns[1].pages[0]);
    assert!(
        code_page.contains("values=general(zstd, flat(8)), dictionary="),
        "{code_page}"
    );

    // (column, largest read of one row's chunk): 4 KiB of text chunk plus zstd's framing; 1024
    // four-bit indices bit-packed.
    for (index, (column, largest_read)) in [("comment", 4096 + 64), ("code", 1024 * 4 / 8)]
        .into_iter()
        .enumerate()
    {
        // The first take loads the pages' chunk tables and dictionaries; then a row costs
        // one read of its chunk.
        read_scan(reader.take(vec![0]).with_columns([column])).await;
        for row in [1_234u64, 50_000, 77_777, ROWS as u64 - 1] {
            store.reset();
            let got = read_scan(reader.take(vec![row]).with_columns([column])).await;
            assert_eq!(
                got.column(0).as_ref(),
                batch.column(index).slice(row as usize, 1).as_ref(),
                "{column} {row}"
            );
            let stats = store.stats();
            assert_eq!(stats.read_requests, 1, "{column} {row}: {stats:?}");
            assert!(
                stats.read_bytes <= largest_read,
                "{column} {row}: {stats:?}"
            );
        }
    }
}
