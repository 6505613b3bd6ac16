//! Time of FSST compression and decoding alone, on TPC-H comments (decoded from 8 KiB blocks
//! of codes as a 2.2 page holds them; one thread, best of the repetitions):
//!
//!     cargo build --release -p lancelet-bench --example fsst_kernels
//!     target/release/examples/fsst_kernels 0.3 15
//!
//! Arguments: the scale factor (default 0.3) and the repetitions (default 15).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use bytes::Bytes;
use lancelet::encodings::compression::DataBlock;
use lancelet::encodings::compression::fsst::{self, Encoder};
use lancelet_bench::data;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sf: f64 = args.get(1).map_or("0.3", String::as_str).parse().unwrap();
    let reps: usize = args.get(2).map_or("15", String::as_str).parse().unwrap();
    let (data, offsets) = data::lineitem_comments(sf);
    let strings = offsets
        .windows(2)
        .map(|w| &data[w[0] as usize..w[1] as usize]);
    let encoder = Encoder::train(strings);
    let table = encoder.table().serialize();
    let mut best_compress = f64::MAX;
    for _ in 0..reps {
        let started = Instant::now();
        let compressed = encoder.compress_strings(&data, &offsets).unwrap();
        best_compress = best_compress.min(started.elapsed().as_secs_f64());
        assert!(!compressed.0.is_empty());
    }
    println!(
        "compression: best {:.2} ms ({:.2} GB/s of text)",
        best_compress * 1e3,
        data.len() as f64 / best_compress / 1e9
    );
    let (codes, code_offsets) = encoder.compress_strings(&data, &offsets).unwrap();
    // Blocks of about 8 KiB of codes, offsets rebased to each block.
    let mut blocks = Vec::new();
    let mut first = 0;
    while first + 1 < code_offsets.len() {
        let start = code_offsets[first];
        let mut last = first + 1;
        while last + 1 < code_offsets.len() && code_offsets[last] - start < 8192 {
            last += 1;
        }
        let block_offsets: Vec<u8> = code_offsets[first..=last]
            .iter()
            .flat_map(|&o| ((o - start) as u32).to_le_bytes())
            .collect();
        blocks.push(DataBlock::Variable {
            offsets: Bytes::from(block_offsets),
            offset_bits: 32,
            data: Bytes::copy_from_slice(&codes[start as usize..code_offsets[last] as usize]),
            num_values: last - first,
        });
        first = last;
    }
    let mut best = f64::MAX;
    let mut decoded = 0;
    for _ in 0..reps {
        let started = Instant::now();
        decoded = 0;
        for block in &blocks {
            let DataBlock::Variable { data, .. } =
                fsst::decompress_with_table(&table, block.clone()).unwrap()
            else {
                panic!("not variable");
            };
            decoded += data.len();
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "decoding of {} strings, {} bytes as {} bytes of codes in {} blocks: best {:.2} ms ({:.2} GB/s of output)",
        offsets.len() - 1,
        decoded,
        codes.len(),
        blocks.len(),
        best * 1e3,
        decoded as f64 / best / 1e9
    );
}
