//! Damaged 2.1/2.2 pages give `Corrupt` errors, never panics or wrong data: bad chunk metadata
//! words, impossible bit widths, chunk headers that claim more bytes or levels than the chunk
//! holds, and random byte damage anywhere in the pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use arrow_array::{Int32Array, RecordBatch};
use arrow_schema::{DataType, Field};
use bytes::Bytes;
use common::*;
use lancelet::format::metadata::decode_in_memory;
use lancelet::format::pb::v2_1::page_layout::Layout;
use lancelet::format::{BufferRange, PageEncoding};
use lancelet::io::BytesReader;
use lancelet::{Error, FileReader, FileVersion, WriterOptions};

const ROWS: usize = 5000;

/// A file with a bit-packed integer column, a list column with levels, a string column and a
/// full-zip column of long strings.
async fn sample(version: FileVersion) -> (Bytes, RecordBatch) {
    let wide = DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), 80);
    let schema = schema_of(vec![
        Field::new("ints", DataType::Int32, false),
        Field::new_list("list", Field::new("item", DataType::Int16, true), true),
        Field::new("text", DataType::Utf8, true),
        Field::new("wide", wide, true),
    ]);
    let random = batch_of(&schema, ROWS, 11);
    // Small non-null integers: bit-packed chunks without levels.
    let ints = Int32Array::from_iter_values((0..ROWS as i32).map(|i| (i * 7) % 1000));
    let mut columns = random.columns().to_vec();
    columns[0] = Arc::new(ints);
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let store = write(
        &schema,
        std::slice::from_ref(&batch),
        WriterOptions::default().with_version(version),
    )
    .await;
    let bytes = written_bytes(&store).await;
    (bytes, batch)
}

/// Reads every row of every column.
async fn read_all(bytes: Vec<u8>) -> lancelet::Result<RecordBatch> {
    let reader = FileReader::open_reader(Arc::new(BytesReader::new(Bytes::from(bytes)))).await?;
    let batches = reader.scan().into_stream()?.try_collect().await?;
    Ok(arrow_select::concat::concat_batches(&reader.schema(), &batches).unwrap())
}

/// The buffers of the first page of column `column`, and whether it is a mini-block page.
fn first_page(file: &Bytes, column: usize) -> (Vec<BufferRange>, bool) {
    let metadata = decode_in_memory(file).unwrap();
    let page = &metadata.columns[column].pages[0];
    let PageEncoding::Structural(layout) = &page.encoding else {
        panic!("not a 2.1+ page")
    };
    let mini_block = matches!(layout.layout, Some(Layout::MiniBlockLayout(_)));
    (page.buffers.clone(), mini_block)
}

fn assert_corrupt(result: lancelet::Result<RecordBatch>, what: &str) {
    match result {
        Err(Error::Corrupt { .. }) => {}
        Err(other) => panic!("{what}: expected Corrupt, got {other}"),
        Ok(_) => panic!("{what}: damaged file read without error"),
    }
}

#[tokio::test]
async fn the_sample_reads_back() {
    for version in [FileVersion::V2_1, FileVersion::V2_2] {
        let (file, batch) = sample(version).await;
        assert_same(&batch, &read_all(file.to_vec()).await.unwrap());
        for column in 0..3 {
            assert!(
                first_page(&file, column).1,
                "column {column} is not mini-block"
            );
        }
        let metadata = decode_in_memory(&file).unwrap();
        let described = lancelet::format::describe::describe(&metadata.columns[0].pages[0]);
        assert!(described.contains("inline_bitpacking"), "{described}");
    }
}

#[tokio::test]
async fn chunk_metadata_words_pointing_past_the_chunks_are_corrupt() {
    for version in [FileVersion::V2_1, FileVersion::V2_2] {
        let (file, _) = sample(version).await;
        for column in 0..3 {
            let (buffers, _) = first_page(&file, column);
            let words = buffers[0];
            let mut bytes = file.to_vec();
            // The first word claims the largest chunk the word can describe.
            let at = words.position as usize;
            let width = if version == FileVersion::V2_1 { 2 } else { 4 };
            bytes[at..at + width].fill(0xFF);
            assert_corrupt(read_all(bytes).await, &format!("{version} column {column}"));
        }
    }
}

#[tokio::test]
async fn impossible_bit_widths_are_corrupt() {
    for version in [FileVersion::V2_1, FileVersion::V2_2] {
        let (file, _) = sample(version).await;
        let (buffers, _) = first_page(&file, 0);
        let chunk = buffers[1].position as usize;
        // Chunk layout without levels: u16 levels, then the value size (u16 in 2.1, u32 in
        // 2.2), padded to 8 bytes; the inline bit-packed values start with their u16 bit width.
        let mut bytes = file.to_vec();
        let width_at = chunk + 8;
        assert!(u16::from_le_bytes([bytes[width_at], bytes[width_at + 1]]) <= 32);
        bytes[width_at..width_at + 2].copy_from_slice(&77u16.to_le_bytes());
        assert_corrupt(read_all(bytes).await, &format!("{version} bit width 77"));
    }
}

#[tokio::test]
async fn chunk_headers_claiming_too_much_are_corrupt() {
    for version in [FileVersion::V2_1, FileVersion::V2_2] {
        let (file, _) = sample(version).await;
        // The list column's chunks start with u16 levels, u16 rep bytes, u16 def bytes.
        let (buffers, _) = first_page(&file, 1);
        let chunk = buffers[1].position as usize;
        for (offset, what) in [(0, "levels"), (2, "rep bytes"), (4, "def bytes")] {
            let mut bytes = file.to_vec();
            bytes[chunk + offset..chunk + offset + 2].copy_from_slice(&u16::MAX.to_le_bytes());
            assert_corrupt(read_all(bytes).await, &format!("{version} chunk {what}"));
        }
        // The value size of the integer column's first chunk.
        let (buffers, _) = first_page(&file, 0);
        let chunk = buffers[1].position as usize;
        let mut bytes = file.to_vec();
        if version == FileVersion::V2_1 {
            bytes[chunk + 2..chunk + 4].copy_from_slice(&u16::MAX.to_le_bytes());
        } else {
            bytes[chunk + 2..chunk + 6].copy_from_slice(&u32::MAX.to_le_bytes());
        }
        assert_corrupt(read_all(bytes).await, &format!("{version} value size"));
    }
}

/// Random damage to page bytes: every read either fails with a typed error or returns data of
/// the right shape; nothing panics.
#[tokio::test]
async fn random_damage_never_panics() {
    let mut random = Random(99);
    for version in [FileVersion::V2_1, FileVersion::V2_2] {
        let (file, batch) = sample(version).await;
        let metadata = decode_in_memory(&file).unwrap();
        let buffers: Vec<BufferRange> = metadata
            .columns
            .iter()
            .flat_map(|c| c.pages.iter().flat_map(|p| p.buffers.clone()))
            .filter(|b| b.size > 0)
            .collect();
        let mut failures = 0;
        for _ in 0..300 {
            let buffer = buffers[random.below(buffers.len() as u64) as usize];
            let mut bytes = file.to_vec();
            // Headers sit at the start of buffers: damage there half of the time.
            let span = if random.one_in(2) {
                buffer.size.min(64)
            } else {
                buffer.size
            };
            for _ in 0..1 + random.below(4) {
                let at = buffer.position + random.below(span);
                bytes[at as usize] = random.next() as u8;
            }
            match read_all(bytes).await {
                Ok(read) => assert_eq!(read.num_rows(), batch.num_rows()),
                Err(Error::Corrupt { .. } | Error::NotSupported { .. }) => failures += 1,
                Err(other) => panic!("{version}: unexpected error kind: {other}"),
            }
        }
        assert!(failures > 0, "{version}: no damage was ever detected");
    }
}
