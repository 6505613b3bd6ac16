//! Hostile bytes: valid files of every version and many types, damaged in every way we can
//! think of, must open, scan and take with either a typed error or data of the declared
//! shape. Never a panic, never an internal error, never a hang, and never an allocation much
//! larger than the file: the test binary runs under a capped allocator, and the cap is
//! lowered around each damaged file, so a runaway allocation aborts the test.
//!
//! Damage: truncation at every length (small files), every byte of the footer, offset tables
//! and metadata flipped (xor 0xFF) and bit-flipped, their u64 fields set to huge values, random
//! flips in page data (also of the compressed encodings of larger pages), and page buffers
//! swapped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::alloc::System;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Fields};
use bytes::Bytes;
use cap::Cap;
use common::*;
use lancelet::format::metadata::decode_in_memory;
use lancelet::io::BytesReader;
use lancelet::{FileReader, FileVersion, WriterOptions};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// What one damaged file may allocate beyond what was allocated before: a fixed allowance for
/// the runtime and Arrow's buffers, plus a multiple of the file's size.
fn allowance(file_len: usize) -> usize {
    8 * 1024 * 1024 + 64 * file_len
}

/// The tests share the allocator's cap, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// How each damaged file ended.
#[derive(Default, Debug)]
struct Tally {
    read: usize,
    rejected: usize,
}

/// Opens `bytes`, scans every column, takes a few rows and reads the global buffers. Returns
/// whether everything succeeded; panics (failing the test) on a panic, an internal error, an
/// untyped error, a batch of the wrong shape, or a hang.
fn exercise(runtime: &tokio::runtime::Runtime, bytes: impl Into<Bytes>, what: &str) -> bool {
    let bytes: Bytes = bytes.into();
    let len = bytes.len();
    let base = ALLOCATOR.allocated();
    ALLOCATOR.set_limit(base + allowance(len)).unwrap();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(20), read_everything(bytes)).await
        })
    }));
    ALLOCATOR.set_limit(usize::MAX).unwrap();
    match outcome {
        Err(_) => panic!("{what}: the reader panicked"),
        Ok(Err(_)) => panic!("{what}: the reader hung"),
        Ok(Ok(Ok(()))) => true,
        Ok(Ok(Err(error))) => {
            assert!(
                error.is_bad_file(),
                "{what}: unexpected kind of error: {error:?}"
            );
            false
        }
    }
}

async fn read_everything(bytes: Bytes) -> lancelet::Result<()> {
    let reader = FileReader::open_reader(Arc::new(BytesReader::new(bytes))).await?;
    let schema = reader.schema();
    let rows = reader.num_rows();
    let batches = reader
        .scan()
        .with_batch_size(256)
        .into_stream()?
        .try_collect()
        .await?;
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    check_shape(&batches, &schema, total as u64 == rows);
    if rows > 0 {
        let take = vec![rows - 1, 0, rows / 2, rows / 2];
        let taken = reader
            .take(take.clone())
            .into_stream()?
            .try_collect()
            .await?;
        let total: usize = taken.iter().map(RecordBatch::num_rows).sum();
        check_shape(&taken, &schema, total == take.len());
        let ranged = reader
            .read_range(rows / 3..rows)
            .into_stream()?
            .try_collect()
            .await?;
        let total: usize = ranged.iter().map(RecordBatch::num_rows).sum();
        check_shape(&ranged, &schema, total as u64 == rows - rows / 3);
    }
    for index in 0..reader.num_global_buffers() {
        reader.read_global_buffer(index).await?;
    }
    for column in &reader.metadata().columns {
        for page in &column.pages {
            lancelet::format::describe::describe(page);
        }
    }
    Ok(())
}

/// A successful read returns batches of the declared schema and row count.
fn check_shape(batches: &[RecordBatch], schema: &arrow_schema::SchemaRef, rows_match: bool) {
    assert!(rows_match, "a read returned the wrong number of rows");
    for batch in batches {
        assert_eq!(
            batch.schema().fields(),
            schema.fields(),
            "batch schema differs"
        );
    }
}

/// Small valid files: every version, several groups of types.
async fn sample_files() -> Vec<(String, Vec<u8>)> {
    let item = |t: DataType| Arc::new(Field::new("item", t, true));
    let point = Fields::from(vec![
        Field::new("x", DataType::Int32, true),
        Field::new("s", DataType::Utf8, true),
    ]);
    let groups: Vec<(&str, Vec<Field>)> = vec![
        (
            "primitives",
            vec![
                Field::new("i32", DataType::Int32, true),
                Field::new("i64", DataType::Int64, false),
                Field::new("f64", DataType::Float64, true),
                Field::new("bool", DataType::Boolean, true),
                Field::new("dec", DataType::Decimal128(20, 2), true),
            ],
        ),
        (
            "strings",
            vec![
                Field::new("s", DataType::Utf8, true),
                Field::new("b", DataType::LargeBinary, true),
                Field::new(
                    "d",
                    DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8)),
                    true,
                ),
            ],
        ),
        (
            "nested",
            vec![
                Field::new("l", DataType::List(item(DataType::Int64)), true),
                Field::new(
                    "ll",
                    DataType::List(item(DataType::List(item(DataType::Utf8)))),
                    true,
                ),
                Field::new(
                    "v",
                    DataType::FixedSizeList(item(DataType::Float32), 4),
                    true,
                ),
                Field::new("st", DataType::Struct(point.clone()), false),
                Field::new("ls", DataType::List(item(DataType::Struct(point))), true),
            ],
        ),
    ];
    let mut files = Vec::new();
    for version in [FileVersion::V2_0, FileVersion::V2_1, FileVersion::V2_2] {
        for (name, fields) in &groups {
            let schema = schema_of(fields.clone());
            let batches = [batch_of(&schema, 40, 7), batch_of(&schema, 25, 8)];
            // A tiny cache makes several pages per column.
            let options = WriterOptions::default()
                .with_version(version)
                .with_data_cache_bytes(512)
                .unwrap();
            let store = write(&schema, &batches, options).await;
            let bytes = written_bytes(&store).await;
            files.push((format!("{version} {name}"), bytes.to_vec()));
        }
    }
    // Files written by pylance, with the encodings our writer does not choose for such small
    // data (see scripts/make_pylance_fixtures.py).
    for version in ["2_0", "2_1", "2_2"] {
        let path = format!(
            "{}/tests/data/pylance_{version}.lance",
            env!("CARGO_MANIFEST_DIR")
        );
        files.push((format!("pylance {version}"), std::fs::read(path).unwrap()));
    }
    files
}

/// At most `limit` positions of `range`, evenly spread (all of them when few enough).
fn spread(range: std::ops::Range<usize>, limit: usize) -> Vec<usize> {
    let len = range.end.saturating_sub(range.start);
    let step = len.div_ceil(limit.max(1)).max(1);
    range.step_by(step).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Where the metadata starts: the smallest of the schema buffer and the column metadata.
fn metadata_start(file: &[u8]) -> usize {
    let metadata = decode_in_memory(&Bytes::copy_from_slice(file)).unwrap();
    let schema = metadata.global_buffers[0].position;
    schema.min(metadata.footer.column_meta_start) as usize
}

#[test]
fn the_allocation_cap_is_enforced() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    ALLOCATOR
        .set_limit(ALLOCATOR.allocated() + allowance(0))
        .unwrap();
    // Other threads (the test harness, runtimes shutting down) may free memory while this
    // runs, so ask for well over the allowance rather than exactly one byte more.
    let too_much = Vec::<u8>::new().try_reserve_exact(allowance(0) + 256 * 1024 * 1024);
    ALLOCATOR.set_limit(usize::MAX).unwrap();
    assert!(
        too_much.is_err(),
        "the cap let an oversized allocation through"
    );
}

#[test]
fn valid_samples_read_back() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = runtime();
    for (name, file) in runtime.block_on(sample_files()) {
        assert!(
            exercise(&runtime, file, &name),
            "{name}: the valid file fails"
        );
    }
}

#[test]
fn truncation_at_every_length() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = runtime();
    let mut tally = Tally::default();
    for (name, file) in runtime.block_on(sample_files()) {
        let file = Bytes::from(file);
        // Every length of small files; of large ones, every length in the last 16 KiB (where
        // the metadata is) and 500 others.
        let tail = file.len().saturating_sub(16 * 1024);
        let lengths: Vec<usize> = spread(0..tail, 500)
            .into_iter()
            .chain(tail..file.len())
            .collect();
        for len in lengths {
            let ok = exercise(&runtime, file.slice(..len), &format!("{name} cut to {len}"));
            assert!(!ok, "{name} cut to {len} bytes read without error");
            tally.rejected += 1;
        }
    }
    eprintln!("truncations: {tally:?}");
}

#[test]
fn every_metadata_byte_flipped() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = runtime();
    let mut tally = Tally::default();
    for (name, file) in runtime.block_on(sample_files()) {
        // Every metadata byte of small files, inverted and with one bit flipped; 300 bytes
        // spread over the metadata of large ones, inverted.
        let small = file.len() <= 64 * 1024;
        let positions = if small {
            (metadata_start(&file)..file.len()).collect()
        } else {
            spread(metadata_start(&file)..file.len(), 300)
        };
        for at in positions {
            let bit = 1u8 << (at % 8);
            let masks: &[u8] = if small { &[0xFF, bit] } else { &[0xFF] };
            for &mask in masks {
                let mut damaged = file.clone();
                damaged[at] ^= mask;
                let what = format!("{name}: byte {at} ^ {mask:#x}");
                if exercise(&runtime, damaged, &what) {
                    tally.read += 1;
                } else {
                    tally.rejected += 1;
                }
            }
        }
    }
    eprintln!("metadata flips: {tally:?}");
    assert!(tally.rejected > tally.read, "{tally:?}");
}

#[test]
fn huge_values_in_footer_and_offset_tables() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = runtime();
    let mut tally = Tally::default();
    for (name, file) in runtime.block_on(sample_files()) {
        let metadata = decode_in_memory(&Bytes::copy_from_slice(&file)).unwrap();
        let footer = &metadata.footer;
        // Every u64 of the offset tables, and the footer's three offsets.
        let tables = footer.column_meta_offsets_start as usize..file.len() - 40;
        let footer_fields = (file.len() - 40..file.len() - 16).step_by(8);
        let positions: Vec<usize> = tables.step_by(8).chain(footer_fields).collect();
        let len = file.len() as u64;
        for at in positions {
            for value in [u64::MAX, u64::MAX / 2, 1 << 40, len, len - 1, len + 1, 0] {
                let mut damaged = file.clone();
                damaged[at..at + 8].copy_from_slice(&value.to_le_bytes());
                let what = format!("{name}: u64 at {at} = {value}");
                if exercise(&runtime, damaged, &what) {
                    tally.read += 1;
                } else {
                    tally.rejected += 1;
                }
            }
        }
        // The footer's u32 counts.
        for at in [file.len() - 16, file.len() - 12] {
            for value in [u32::MAX, 1 << 20, 0] {
                let mut damaged = file.clone();
                damaged[at..at + 4].copy_from_slice(&value.to_le_bytes());
                if exercise(&runtime, damaged, &format!("{name}: u32 at {at} = {value}")) {
                    tally.read += 1;
                } else {
                    tally.rejected += 1;
                }
            }
        }
    }
    eprintln!("huge values: {tally:?}");
}

/// The `(position, size)` of every non-empty page buffer of `file`.
fn page_buffers(file: &[u8]) -> Vec<(usize, usize)> {
    let metadata = decode_in_memory(&Bytes::copy_from_slice(file)).unwrap();
    metadata
        .columns
        .iter()
        .flat_map(|c| c.pages.iter().flat_map(|p| p.buffers.clone()))
        .filter(|b| b.size > 0)
        .map(|b| (b.position as usize, b.size as usize))
        .collect()
}

/// `rounds` times, sets one to three random bytes of a random page buffer of `file` to random
/// values and reads the result, counting it in `tally`.
fn damage_page_bytes(
    runtime: &tokio::runtime::Runtime,
    name: &str,
    file: &[u8],
    buffers: &[(usize, usize)],
    rounds: usize,
    random: &mut Random,
    tally: &mut Tally,
) {
    for round in 0..rounds {
        let mut damaged = file.to_vec();
        let (position, size) = buffers[random.below(buffers.len() as u64) as usize];
        for _ in 0..1 + random.below(3) {
            let at = position + random.below(size as u64) as usize;
            damaged[at] = random.next() as u8;
        }
        let what = format!("{name}: page damage round {round}");
        if exercise(runtime, damaged, &what) {
            tally.read += 1;
        } else {
            tally.rejected += 1;
        }
    }
}

#[test]
fn random_damage_to_pages_and_swapped_pages() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = runtime();
    let mut random = Random(2024);
    let mut tally = Tally::default();
    for (name, file) in runtime.block_on(sample_files()) {
        let buffers = page_buffers(&file);
        damage_page_bytes(
            &runtime,
            &name,
            &file,
            &buffers,
            300,
            &mut random,
            &mut tally,
        );
        for round in 0..100 {
            let a = buffers[random.below(buffers.len() as u64) as usize];
            let b = buffers[random.below(buffers.len() as u64) as usize];
            let n = a.1.min(b.1);
            let mut damaged = file.clone();
            let first = file[a.0..a.0 + n].to_vec();
            damaged.copy_within(b.0..b.0 + n, a.0);
            damaged[b.0..b.0 + n].copy_from_slice(&first);
            let what = format!("{name}: swap round {round}");
            if exercise(&runtime, damaged, &what) {
                tally.read += 1;
            } else {
                tally.rejected += 1;
            }
        }
    }
    eprintln!("page damage: {tally:?}");
    assert!(tally.rejected > 0, "{tally:?}");
}

/// A 2.2 file of [`compressed_batch`]: the compressed encodings the small samples are too
/// small for.
async fn compressed_file() -> Vec<u8> {
    let (schema, batch) = compressed_batch();
    let options = WriterOptions::default().with_version(FileVersion::V2_2);
    let store = write(&schema, &[batch], options).await;
    written_bytes(&store).await.to_vec()
}

#[test]
fn random_damage_to_compressed_pages() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = runtime();
    let file = runtime.block_on(compressed_file());
    let metadata = decode_in_memory(&Bytes::copy_from_slice(&file)).unwrap();
    // The file holds the encodings this test is for.
    let encodings: String = metadata
        .columns
        .iter()
        .flat_map(|c| c.pages.iter().map(lancelet::format::describe::describe))
        .collect::<Vec<_>>()
        .join(" ");
    for wanted in ["rle(", "fsst(", "dictionary=", "general(zstd"] {
        assert!(encodings.contains(wanted), "no {wanted} in {encodings}");
    }
    assert!(exercise(&runtime, file.clone(), "undamaged"));
    let buffers = page_buffers(&file);
    let mut random = Random(2026);
    let mut tally = Tally::default();
    let name = "compressed pages";
    damage_page_bytes(
        &runtime,
        name,
        &file,
        &buffers,
        250,
        &mut random,
        &mut tally,
    );
    eprintln!("compressed page damage: {tally:?}");
    assert!(tally.rejected > 0, "{tally:?}");
}

/// A file of about 16 MiB (several pages per column) in `version`.
async fn large_file(version: FileVersion) -> Vec<u8> {
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let schema = schema_of(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("s", DataType::Utf8, true),
        Field::new("v", DataType::FixedSizeList(item, 16), true),
    ]);
    let batches: Vec<_> = (0..4).map(|seed| batch_of(&schema, 50_000, seed)).collect();
    let options = WriterOptions::default().with_version(version);
    let store = write(&schema, &batches, options).await;
    written_bytes(&store).await.to_vec()
}

#[test]
fn swapped_5_mib_blocks_of_a_large_file() {
    const BLOCK: usize = 5 * 1024 * 1024;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = runtime();
    let mut tally = Tally::default();
    for version in [FileVersion::V2_0, FileVersion::V2_1, FileVersion::V2_2] {
        let file = runtime.block_on(large_file(version));
        assert!(file.len() >= 3 * BLOCK, "{version}: {} bytes", file.len());
        let last = file.len() - BLOCK;
        // Blocks of the data, and the last block (metadata and footer) with the first.
        for (a, b) in [(0, BLOCK), (0, 2 * BLOCK), (BLOCK, 2 * BLOCK), (0, last)] {
            let mut damaged = file.clone();
            let first = file[a..a + BLOCK].to_vec();
            damaged.copy_within(b..b + BLOCK, a);
            damaged[b..b + BLOCK].copy_from_slice(&first);
            let what = format!("{version}: blocks at {a} and {b} swapped");
            if exercise(&runtime, damaged, &what) {
                tally.read += 1;
            } else {
                tally.rejected += 1;
            }
        }
    }
    eprintln!("5 MiB block swaps: {tally:?}");
    assert!(tally.rejected >= 3, "{tally:?}");
}

/// A message's fields, as `(key, value)` pairs.
type WireFields = Vec<(u64, Wire)>;

/// A protobuf message read without its schema: varints, fixed-width values, and
/// length-delimited fields that are themselves messages when they parse as one.
#[derive(Clone, Debug)]
enum Wire {
    Varint(u64),
    Fixed64([u8; 8]),
    Fixed32([u8; 4]),
    Bytes(Vec<u8>),
    Message(Vec<(u64, Wire)>),
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Parses a message; `None` when the bytes are not one.
fn parse_message(bytes: &[u8]) -> Option<Vec<(u64, Wire)>> {
    let mut fields = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let key = read_varint(bytes, &mut at)?;
        let (number, kind) = (key >> 3, key & 7);
        if number == 0 {
            return None;
        }
        let value = match kind {
            0 => Wire::Varint(read_varint(bytes, &mut at)?),
            1 => {
                let v = bytes.get(at..at + 8)?.try_into().ok()?;
                at += 8;
                Wire::Fixed64(v)
            }
            5 => {
                let v = bytes.get(at..at + 4)?.try_into().ok()?;
                at += 4;
                Wire::Fixed32(v)
            }
            2 => {
                let len = usize::try_from(read_varint(bytes, &mut at)?).ok()?;
                let payload = bytes.get(at..at.checked_add(len)?)?;
                at += len;
                match parse_message(payload) {
                    Some(inner) if !payload.is_empty() => Wire::Message(inner),
                    _ => Wire::Bytes(payload.to_vec()),
                }
            }
            _ => return None,
        };
        fields.push((key, value));
    }
    Some(fields)
}

fn encode_message(fields: &[(u64, Wire)], out: &mut Vec<u8>) {
    for (key, value) in fields {
        write_varint(*key, out);
        match value {
            Wire::Varint(v) => write_varint(*v, out),
            Wire::Fixed64(v) => out.extend_from_slice(v),
            Wire::Fixed32(v) => out.extend_from_slice(v),
            Wire::Bytes(v) => {
                write_varint(v.len() as u64, out);
                out.extend_from_slice(v);
            }
            Wire::Message(inner) => {
                let mut payload = Vec::new();
                encode_message(inner, &mut payload);
                write_varint(payload.len() as u64, out);
                out.extend_from_slice(&payload);
            }
        }
    }
}

/// Visits every varint of a message (depth first) with its running index.
fn each_varint(fields: &mut [(u64, Wire)], next: &mut usize, f: &mut dyn FnMut(usize, &mut u64)) {
    for (_, value) in fields {
        match value {
            Wire::Varint(v) => {
                f(*next, v);
                *next += 1;
            }
            Wire::Message(inner) => each_varint(inner, next, f),
            _ => {}
        }
    }
}

/// The file with its metadata (schema and column metadata) re-encoded after `mutate` has run
/// on their parsed messages; everything before the metadata stays where it was.
fn with_metadata(file: &[u8], mutate: &mut dyn FnMut(&mut Vec<WireFields>)) -> Vec<u8> {
    let metadata = decode_in_memory(&Bytes::copy_from_slice(file)).unwrap();
    let footer = &metadata.footer;
    let read_table = |start: u64, count: u32| -> Vec<(usize, usize)> {
        (0..count as usize)
            .map(|i| {
                let at = start as usize + 16 * i;
                let word = |o: usize| u64::from_le_bytes(file[o..o + 8].try_into().unwrap());
                (word(at) as usize, word(at + 8) as usize)
            })
            .collect()
    };
    let columns = read_table(footer.column_meta_offsets_start, footer.num_columns);
    let globals = read_table(footer.global_buff_offsets_start, footer.num_global_buffers);
    let (schema_at, schema_len) = globals[0];
    // Message 0 is the schema, then one per column.
    let mut messages: Vec<WireFields> = std::iter::once((schema_at, schema_len))
        .chain(columns.iter().copied())
        .map(|(at, len)| parse_message(&file[at..at + len]).unwrap())
        .collect();
    mutate(&mut messages);
    let start = schema_at.min(footer.column_meta_start as usize);
    let mut out = file[..start].to_vec();
    let mut spans = Vec::new();
    for message in &messages {
        let at = out.len();
        encode_message(message, &mut out);
        spans.push((at, out.len() - at));
    }
    let column_meta_start = spans[1..].first().map_or(out.len(), |s| s.0);
    let cmo_start = out.len();
    for &(at, len) in &spans[1..] {
        out.extend_from_slice(&(at as u64).to_le_bytes());
        out.extend_from_slice(&(len as u64).to_le_bytes());
    }
    let gbo_start = out.len();
    for (index, &(at, len)) in globals.iter().enumerate() {
        let (at, len) = if index == 0 { spans[0] } else { (at, len) };
        out.extend_from_slice(&(at as u64).to_le_bytes());
        out.extend_from_slice(&(len as u64).to_le_bytes());
    }
    out.extend_from_slice(&(column_meta_start as u64).to_le_bytes());
    out.extend_from_slice(&(cmo_start as u64).to_le_bytes());
    out.extend_from_slice(&(gbo_start as u64).to_le_bytes());
    out.extend_from_slice(&(globals.len() as u32).to_le_bytes());
    out.extend_from_slice(&(columns.len() as u32).to_le_bytes());
    out.extend_from_slice(&file[file.len() - 8..]);
    out
}

#[test]
fn every_metadata_number_set_to_huge_values() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = runtime();
    let mut tally = Tally::default();
    for (name, file) in runtime.block_on(sample_files()) {
        // Re-encoding without changes gives a readable file.
        let same = with_metadata(&file, &mut |_| {});
        assert!(
            exercise(&runtime, same, &name),
            "{name}: re-encoded file fails"
        );
        let mut count = 0;
        with_metadata(&file, &mut |messages| {
            for message in messages.iter_mut() {
                each_varint(message, &mut count, &mut |_, _| {});
            }
        });
        for target in 0..count {
            for value in [u64::MAX, 1 << 40, u64::from(u32::MAX), 1 << 20] {
                let damaged = with_metadata(&file, &mut |messages| {
                    let mut next = 0;
                    for message in messages.iter_mut() {
                        each_varint(message, &mut next, &mut |index, v| {
                            if index == target {
                                *v = value;
                            }
                        });
                    }
                });
                let what = format!("{name}: varint {target} of {count} = {value}");
                if exercise(&runtime, damaged, &what) {
                    tally.read += 1;
                } else {
                    tally.rejected += 1;
                }
            }
        }
    }
    eprintln!("metadata numbers: {tally:?}");
    assert!(tally.rejected > tally.read, "{tally:?}");
}
