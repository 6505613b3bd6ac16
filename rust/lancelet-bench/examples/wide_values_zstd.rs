//! Size and decompression time of TPC-H `l_extendedprice` (16-byte decimals) in chunks of
//! 1 024 values, as zstd level 3 frames (what the writer made before) and as Lancelet's own
//! frames of raw low bytes and repeats (`zstd_frames::wide_values_frame`), decoded by libzstd,
//! and Lancelet's own frames decoded by Lancelet's decoder (`zstd_frames::decode`). One
//! thread, best of the repetitions:
//!
//!     cargo build --release -p lancelet-bench --example wide_values_zstd
//!     taskset -c 0 target/release/examples/wide_values_zstd 1 7
//!
//! Arguments: the scale factor (default 0.3) and the repetitions (default 5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use arrow_array::{Array, Decimal128Array};
use lancelet::encodings::zstd_frames;
use lancelet_bench::data;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sf: f64 = args.get(1).map_or("0.3", String::as_str).parse().unwrap();
    let reps: usize = args.get(2).map_or("5", String::as_str).parse().unwrap();
    let lineitem = data::lineitem(sf, None).unwrap();
    let column = lineitem.schema.index_of("l_extendedprice").unwrap();
    let mut bytes = Vec::new();
    for batch in &lineitem.batches {
        let prices = batch
            .column(column)
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .unwrap();
        for price in prices.values().iter() {
            bytes.extend_from_slice(&price.to_le_bytes());
        }
    }
    let chunks: Vec<&[u8]> = bytes.chunks(1024 * 16).collect();
    println!("{} prices, {} chunks", bytes.len() / 16, chunks.len());
    let zstd_frames: Vec<Vec<u8>> = chunks
        .iter()
        .map(|chunk| zstd::bulk::compress(chunk, 3).unwrap())
        .collect();
    let own_frames: Vec<Vec<u8>> = chunks
        .iter()
        .map(|chunk| {
            let mut frame = Vec::new();
            assert!(zstd_frames::wide_values_frame(chunk, 16, &mut frame));
            frame
        })
        .collect();
    let mut decompressor = zstd::bulk::Decompressor::new().unwrap();
    let mut out = vec![0u8; 1024 * 16];
    for (frame, chunk) in own_frames.iter().zip(&chunks) {
        let length = decompressor
            .decompress_to_buffer(frame, &mut out[..])
            .unwrap();
        assert_eq!(&out[..length], *chunk);
    }
    for (name, frames) in [("zstd level 3", &zstd_frames), ("own frames", &own_frames)] {
        let size: usize = frames.iter().map(Vec::len).sum();
        let mut best = f64::MAX;
        for _ in 0..reps {
            let started = Instant::now();
            for frame in frames.iter() {
                decompressor
                    .decompress_to_buffer(frame, &mut out[..])
                    .unwrap();
            }
            best = best.min(started.elapsed().as_secs_f64());
        }
        println!("{name}: {size} bytes, decompressed in {:.2} ms", best * 1e3);
    }
    let size: usize = own_frames.iter().map(Vec::len).sum();
    let mut best = f64::MAX;
    for _ in 0..reps {
        let started = Instant::now();
        for frame in &own_frames {
            zstd_frames::decode::decode_frame(frame, &mut out[..]).unwrap();
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "own frames, Lancelet's decoder: {size} bytes, decompressed in {:.2} ms",
        best * 1e3
    );
}
