//! Exact size budgets for fixed data: the writer's encoding choices must keep these columns
//! at most this many bytes per row, so a regression in the strategy fails the tests. (Speed
//! is measured by the benchmark harness, never here.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use arrow_array::{ArrayRef, Decimal128Array, Int32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use common::*;
use lancelet::format::describe::describe;
use lancelet::{FileVersion, WriterOptions};

const ROWS: usize = 100_000;

/// (column name, encoding description of its first page, bytes per row of its pages).
async fn column_costs(batch: &RecordBatch, version: FileVersion) -> Vec<(String, String, f64)> {
    let options = WriterOptions::default().with_version(version);
    let store = write(&batch.schema(), std::slice::from_ref(batch), options).await;
    let reader = open(&store).await;
    assert_same(batch, &read_scan(reader.scan()).await);
    let metadata = reader.metadata();
    batch
        .schema()
        .fields()
        .iter()
        .zip(&metadata.columns)
        .map(|(field, column)| {
            let bytes: u64 = column
                .pages
                .iter()
                .flat_map(|p| p.buffers.iter().map(|b| b.size))
                .sum();
            let encoding = describe(&column.pages[0]);
            (field.name().clone(), encoding, bytes as f64 / ROWS as f64)
        })
        .collect()
}

fn decimals(values: impl Iterator<Item = i128>) -> ArrayRef {
    Arc::new(
        Decimal128Array::from_iter_values(values)
            .with_precision_and_scale(15, 2)
            .unwrap(),
    )
}

/// Lineitem-like numbers: few distinct prices, discounts as cents, 24-bit amounts, keys that
/// repeat.
fn numbers() -> RecordBatch {
    let mut random = Random(11);
    let mut below = |n: u64| random.below(n);
    let quantity = decimals((0..ROWS).map(|_| (below(50) as i128 + 1) * 100));
    let discount = decimals((0..ROWS).map(|_| below(11) as i128));
    let price = decimals((0..ROWS).map(|_| 90_000 + below(10_000_000) as i128));
    let codes: ArrayRef = Arc::new(Int64Array::from_iter_values(
        (0..ROWS).map(|_| below(20) as i64 * 1_000_000_007),
    ));
    let flags: ArrayRef = Arc::new(Int64Array::from_iter_values(
        // Nine codes (as many as TPC-H's tax rates).
        (0..ROWS).map(|_| below(9) as i64 * 1_000_003),
    ));
    // Orders of 1 to 7 lines: sorted order keys with gaps, line numbers 1, 2, ... per order.
    let (mut keys, mut lines) = (Vec::with_capacity(ROWS), Vec::with_capacity(ROWS));
    let mut key = 0i64;
    while keys.len() < ROWS {
        key += 1 + below(8) as i64;
        for line in 1..=(1 + below(7) as i32) {
            keys.push(key);
            lines.push(line);
        }
    }
    keys.truncate(ROWS);
    lines.truncate(ROWS);
    let keys: ArrayRef = Arc::new(Int64Array::from(keys));
    let lines: ArrayRef = Arc::new(Int32Array::from(lines));
    let schema = Schema::new(vec![
        Field::new("quantity", DataType::Decimal128(15, 2), false),
        Field::new("discount", DataType::Decimal128(15, 2), false),
        Field::new("price", DataType::Decimal128(15, 2), false),
        Field::new("codes", DataType::Int64, false),
        Field::new("flags", DataType::Int64, false),
        Field::new("orderkey", DataType::Int64, false),
        Field::new("linenumber", DataType::Int32, false),
    ]);
    let columns = vec![quantity, discount, price, codes, flags, keys, lines];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

#[tokio::test]
async fn fixed_width_columns_stay_within_their_budgets_in_2_2() {
    let costs = column_costs(&numbers(), FileVersion::V2_2).await;
    // (name, encoding that must appear, bytes per row at most)
    let budgets = [
        ("quantity", "dictionary=", 0.8),
        ("discount", "dictionary=", 0.6),
        // zstd over chunks of 1024 values (16 KiB; 3.39 bytes/row with chunks of 256): frames
        // of Lancelet's own, three literal bytes per price and a repeat (3.08).
        ("price", "general(zstd, flat(128))", 3.1),
        ("codes", "dictionary=", 0.7),
        // Indices of nine items: zstd's entropy coding of bytes would save 12% over 4-bit
        // packing, short of the 40% that makes its slower decoding worth it.
        ("flags", "values=inline_bitpacking(32), dictionary=", 0.53),
        // Runs of sorted keys: zstd over the run-length encoded values, in word-repeat frames
        // of Lancelet's own (TPC-H SF 1 `l_orderkey`: 13% larger than zstd's frames, scanned
        // in half the time).
        ("orderkey", "general(zstd, rle(flat(64), flat(8)))", 0.61),
        // 1, 2, 3, ... per order: bit-packed in 3 bits. zstd finds the repeating sequences
        // (0.268 bytes/row in chunks of 1024 indices), but that saves less than the 40%
        // that makes its slower decoding worth it.
        ("linenumber", "values=inline_bitpacking(32)", 0.4),
    ];
    for ((name, encoding, per_row), (want_name, want_encoding, budget)) in costs.iter().zip(budgets)
    {
        println!("{name}: {per_row:.3} bytes/row, {encoding}");
        assert_eq!(name, want_name);
        assert!(encoding.contains(want_encoding), "{name}: {encoding}");
        assert!(
            *per_row <= budget,
            "{name}: {per_row:.3} bytes/row > {budget}"
        );
    }
}

#[tokio::test]
async fn version_2_1_keeps_fixed_width_values_plain() {
    // pylance 14.0.2 does not dictionary-encode or compress fixed-width values in 2.1; we do
    // not either, so that every reader of 2.1 files decodes ours.
    for (name, encoding, _) in column_costs(&numbers(), FileVersion::V2_1).await {
        assert!(!encoding.contains("dictionary="), "{name}: {encoding}");
        assert!(!encoding.contains("general("), "{name}: {encoding}");
    }
}

/// Comment-like text: sentences of 3 to 7 words from a small vocabulary.
fn text() -> RecordBatch {
    const WORDS: [&str; 24] = [
        "furiously",
        "quickly",
        "carefully",
        "slyly",
        "blithely",
        "final",
        "regular",
        "pending",
        "express",
        "ironic",
        "special",
        "bold",
        "deposits",
        "requests",
        "accounts",
        "packages",
        "theodolites",
        "pinto",
        "beans",
        "foxes",
        "ideas",
        "sleep",
        "haggle",
        "nag",
    ];
    let mut random = Random(5);
    let comments: Vec<String> = (0..ROWS)
        .map(|_| sentence(&mut random, &WORDS, 3, 5))
        .collect();
    let schema = Schema::new(vec![Field::new("comment", DataType::Utf8, false)]);
    let column: ArrayRef = Arc::new(arrow_array::StringArray::from(comments));
    RecordBatch::try_new(Arc::new(schema), vec![column]).unwrap()
}

#[tokio::test]
async fn text_is_fsst_and_zstd_compressed_in_2_2_and_fsst_compressed_in_2_1() {
    let batch = text();
    let raw = batch.column(0).to_data().buffers()[1].len() as f64 / ROWS as f64;
    let (_, encoding_2_2, per_row_2_2) = column_costs(&batch, FileVersion::V2_2).await.remove(0);
    let (_, encoding_2_1, per_row_2_1) = column_costs(&batch, FileVersion::V2_1).await.remove(0);
    println!(
        "text: {raw:.2} bytes/row raw; 2.2 {per_row_2_2:.3} {encoding_2_2}; 2.1 {per_row_2_1:.3} {encoding_2_1}"
    );
    assert!(
        encoding_2_2.contains("general(zstd, fsst(variable("),
        "{encoding_2_2}"
    );
    assert!(encoding_2_1.contains("fsst("), "{encoding_2_1}");
    // 7.95 and 10.62 bytes per row when written, with 4 KiB chunks as plain text has (7.42
    // with chunks of 32 KiB; 8.38 before each chunk's offsets and codes were separate zstd
    // frames; zstd over plain text chunks was 10.67).
    assert!(per_row_2_2 <= 8.1, "2.2: {per_row_2_2:.3} bytes/row");
    assert!(per_row_2_1 <= 10.9, "2.1: {per_row_2_1:.3} bytes/row");
}
