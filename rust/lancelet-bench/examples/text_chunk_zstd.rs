//! Size and zstd decompression time of 2.2 text chunks (FSST codes of TPC-H comments, offsets
//! first) under two framings: the whole chunk as one zstd frame, and offsets and codes as two
//! frames with the codes' literals raw (what the writer does; one thread, best of the
//! repetitions):
//!
//!     cargo build --release -p lancelet-bench --example text_chunk_zstd
//!     target/release/examples/text_chunk_zstd 0.3 10
//!
//! Arguments: the scale factor (default 0.3) and the repetitions (default 10).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use bytes::Bytes;
use lancelet::encodings::compression::encode;
use lancelet::encodings::compression::fsst::Encoder;
use lancelet::encodings::general::{self, Literals, Scheme};
use lancelet_bench::data;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sf: f64 = args.get(1).map_or("0.3", String::as_str).parse().unwrap();
    let reps: usize = args.get(2).map_or("10", String::as_str).parse().unwrap();
    let (text, offsets) = data::lineitem_comments(sf);
    let strings = offsets
        .windows(2)
        .map(|w| &text[w[0] as usize..w[1] as usize]);
    let encoder = Encoder::train(strings);
    let (codes, code_offsets) = encoder.compress_strings(&text, &offsets).unwrap();
    println!(
        "{} comments, {} bytes of text, {} bytes of FSST codes",
        offsets.len() - 1,
        text.len(),
        codes.len()
    );
    for chunk_bytes in [4 * 1024, 8 * 1024, 16 * 1024, 32 * 1024] {
        let chunked = encode::variable_chunks_of(&codes, &code_offsets, 32, chunk_bytes).unwrap();
        let chunks: Vec<(Bytes, usize)> = chunked
            .chunks
            .iter()
            .map(|chunk| (chunk.buffers[0].clone(), chunk.num_values))
            .collect();
        let raw: usize = chunks.iter().map(|(buffer, _)| buffer.len()).sum();
        println!(
            "chunks of {} KiB of codes: {} chunks, {raw} bytes",
            chunk_bytes / 1024,
            chunks.len()
        );
        let one_frame: Vec<Bytes> = chunks
            .iter()
            .map(|(buffer, _)| general::compress(Scheme::Zstd, Some(2), buffer).unwrap())
            .collect();
        let two_frames: Vec<Bytes> = chunks
            .iter()
            .map(|(buffer, num_values)| {
                let (head, tail) = buffer.split_at((num_values + 1) * 4);
                let parts = [(head, Literals::Huffman), (tail, Literals::Raw)];
                general::compress_zstd_parts(2, &parts).unwrap()
            })
            .collect();
        for (name, framed) in [
            ("one frame", &one_frame),
            ("offsets and codes apart, codes' literals raw", &two_frames),
        ] {
            let size: usize = framed.iter().map(Bytes::len).sum();
            let mut out = vec![0u8; chunk_bytes * 2];
            let mut best = f64::MAX;
            for _ in 0..reps {
                let started = Instant::now();
                for (framed, (buffer, _)) in framed.iter().zip(&chunks) {
                    let room = &mut out[..buffer.len()];
                    general::decompress_into(Scheme::Zstd, framed, room).unwrap();
                }
                best = best.min(started.elapsed().as_secs_f64());
            }
            println!(
                "  {name}: {size} bytes, decompressed in {:.2} ms",
                best * 1e3
            );
        }
    }
}
