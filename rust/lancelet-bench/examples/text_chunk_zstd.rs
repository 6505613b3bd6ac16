//! Size and zstd decompression time of 2.2 text chunks (FSST codes of TPC-H comments, offsets
//! first, 256 comments a chunk) under several framings: the whole chunk as one zstd frame,
//! or offsets and codes as two frames, the offsets zstd's or Lancelet's word repeats
//! (`zstd_frames::word_repeats_frame`, decoded by Lancelet's decoder), the codes stored,
//! compressed with raw literals or Huffman-coded; and each part alone. Offsets of 32 bits (what `Utf8` needs: pylance 14.0.2
//! rejects a `Utf8` page of 64-bit offsets) and of 64 bits (`LargeUtf8`) with chunks of the
//! same strings. One thread, best of the repetitions:
//!
//!     cargo build --release -p lancelet-bench --example text_chunk_zstd
//!     target/release/examples/text_chunk_zstd 1 5
//!
//! Arguments: the scale factor (default 0.3) and the repetitions (default 10).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use bytes::Bytes;
use lancelet::encodings::compression::encode;
use lancelet::encodings::compression::fsst::Encoder;
use lancelet::encodings::general::{self, Framing, Scheme};
use lancelet_bench::data;

/// Codes (and 32-bit offsets) of a text chunk, as the writer cuts them.
const CHUNK_BYTES: usize = 4 * 1024;

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
    // The same strings per chunk for both widths: 64-bit offsets get the room the 32-bit
    // ones of a chunk of 256 would leave.
    for (bits, chunk_bytes) in [(32u64, CHUNK_BYTES), (64, CHUNK_BYTES + 257 * 4)] {
        let width = (bits / 8) as usize;
        let chunked = encode::variable_chunks_of(&codes, &code_offsets, bits, chunk_bytes).unwrap();
        let chunks: Vec<(Bytes, usize)> = chunked
            .chunks
            .iter()
            .map(|chunk| (chunk.buffers[0].clone(), chunk.num_values))
            .collect();
        let raw: usize = chunks.iter().map(|(buffer, _)| buffer.len()).sum();
        println!(
            "{bits}-bit offsets: {} chunks, {raw} bytes uncompressed",
            chunks.len()
        );
        // Each chunk's parts (offsets, codes) compressed as asked; `None` leaves a part out.
        let framed = |offsets: Option<Framing>, codes: Option<Framing>| -> Vec<Bytes> {
            chunks
                .iter()
                .map(|(buffer, num_values)| {
                    let (head, tail) = buffer.split_at((num_values + 1) * width);
                    let parts: Vec<(&[u8], Framing)> = [(head, offsets), (tail, codes)]
                        .into_iter()
                        .filter_map(|(part, literals)| Some((part, literals?)))
                        .collect();
                    general::compress_zstd_parts(2, &parts).unwrap()
                })
                .collect()
        };
        let one_frame: Vec<Bytes> = chunks
            .iter()
            .map(|(buffer, _)| general::compress(Scheme::Zstd, Some(2), buffer).unwrap())
            .collect();
        let variants = [
            ("one frame", one_frame),
            (
                "offsets alone, Huffman",
                framed(Some(Framing::Huffman), None),
            ),
            (
                "offsets alone, raw literals",
                framed(Some(Framing::Raw), None),
            ),
            (
                "offsets alone, word repeats",
                framed(Some(Framing::WordRepeats(width)), None),
            ),
            ("codes alone, stored", framed(None, Some(Framing::Stored))),
            (
                "codes alone, raw literals",
                framed(None, Some(Framing::Raw)),
            ),
            ("codes alone, Huffman", framed(None, Some(Framing::Huffman))),
            (
                "apart, codes stored",
                framed(Some(Framing::Huffman), Some(Framing::Stored)),
            ),
            (
                "apart, word repeats, codes stored",
                framed(Some(Framing::WordRepeats(width)), Some(Framing::Stored)),
            ),
            (
                "apart, codes' literals raw",
                framed(Some(Framing::Huffman), Some(Framing::Raw)),
            ),
        ];
        for (name, framed) in &variants {
            let size: usize = framed.iter().map(Bytes::len).sum();
            let mut out = vec![0u8; chunk_bytes * 4];
            let mut best = f64::MAX;
            for _ in 0..reps {
                let started = Instant::now();
                for framed in framed {
                    let length = general::declared_length(Scheme::Zstd, framed)
                        .unwrap()
                        .unwrap();
                    let room = &mut out[..length as usize];
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
