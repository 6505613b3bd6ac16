//! Compressing a page's values into mini-block chunks.
//!
//! Each compressor cuts the values into chunks (every chunk but the last holds a power of two
//! of values, at least 2 and at most 4096) and encodes each chunk into its value buffers:
//!
//! | compressor | values per chunk | buffers per chunk |
//! |---|---|---|
//! | flat | the most that fit in 8186 bytes | the values |
//! | inline bit-packing | 1024 | `[width][packed block]` |
//! | RLE | the most whose runs fit in 8186 bytes | run values, u8 run lengths |
//! | variable | doubled from 2 while offsets and bytes fit in 4096 bytes | `[offsets][bytes]` |
//! | fixed-size list | as flat, for whole lists | item bitmap (with item nulls), items |
//!
//! [`with_general`] then compresses buffer 0 of every chunk with zstd or lz4 when that helps.

use bytes::Bytes;

use crate::encodings::compression::block::DataBlock;
use crate::encodings::compression::fastlanes::Word;
use crate::encodings::compression::fsl::FslValues;
use crate::encodings::compression::{bitpacking, rle, variable};
use crate::encodings::general::{self, Scheme};
use crate::encodings::zstd_frames;
use crate::error::{Error, Result};
use crate::format::pb::v2_1 as pb;
use pb::compressive_encoding::Compression as C;

/// Most bytes of values in one fixed-width chunk.
pub const MAX_CHUNK_VALUE_BYTES: usize = 8186;
/// Most values in one chunk.
pub const MAX_CHUNK_VALUES: usize = 4096;
/// Byte budget of a variable-width chunk (offsets included).
pub const VARIABLE_CHUNK_BYTES: usize = 4096;

/// One chunk's value buffers.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// The value buffers, in the order the encoding reads them.
    pub buffers: Vec<Bytes>,
    /// The number of values in the chunk.
    pub num_values: usize,
}

/// A page's values, chunked and compressed.
#[derive(Clone, Debug)]
pub struct ChunkedValues {
    /// How each chunk's buffers are encoded.
    pub encoding: pb::CompressiveEncoding,
    /// Buffers per chunk.
    pub num_buffers: usize,
    /// The chunks.
    pub chunks: Vec<Chunk>,
}

impl ChunkedValues {
    /// Bytes of all value buffers (a size estimate for choosing between compressors).
    pub fn size(&self) -> usize {
        self.chunks
            .iter()
            .flat_map(|c| c.buffers.iter())
            .map(|b| b.len().next_multiple_of(8))
            .sum()
    }
}

/// Wraps a compressive encoding variant.
pub fn encoding(variant: C) -> pb::CompressiveEncoding {
    pb::CompressiveEncoding {
        compression: Some(variant),
    }
}

/// `flat(bits)`.
pub fn flat_encoding(bits: u64) -> pb::CompressiveEncoding {
    encoding(C::Flat(pb::Flat {
        bits_per_value: bits,
        data: None,
    }))
}

/// The largest power of two `n` (2 ≤ n ≤ 4096) with `n · bytes ≤ limit`, or 1 when even two
/// values are too large.
fn values_per_chunk(bytes_per_value: usize, limit: usize) -> usize {
    let mut n = MAX_CHUNK_VALUES;
    while n > 2 && n * bytes_per_value > limit {
        n /= 2;
    }
    n
}

/// Cuts `num_values` values into chunks of `per_chunk` values.
fn spans(num_values: usize, per_chunk: usize) -> impl Iterator<Item = (usize, usize)> {
    let per_chunk = per_chunk.max(1);
    (0..num_values)
        .step_by(per_chunk)
        .map(move |start| (start, per_chunk.min(num_values - start)))
}

/// Flat fixed-width values (`bits` a multiple of 8, or 1 for bitmaps).
pub fn flat(data: &Bytes, bits: u64, num_values: usize) -> Result<ChunkedValues> {
    flat_chunked(data, bits, num_values, MAX_CHUNK_VALUE_BYTES)
}

/// Flat fixed-width values in chunks of at most `max_chunk_bytes` (more than
/// [`MAX_CHUNK_VALUE_BYTES`] only for chunks that are compressed afterwards, in 2.2, whose
/// chunk sizes are 32-bit).
pub fn flat_chunked(
    data: &Bytes,
    bits: u64,
    num_values: usize,
    max_chunk_bytes: usize,
) -> Result<ChunkedValues> {
    let chunks = if bits == 1 {
        // 4096 bits = 512 bytes per chunk, so chunks start on byte boundaries.
        spans(num_values, MAX_CHUNK_VALUES)
            .map(|(start, len)| Chunk {
                buffers: vec![data.slice(start / 8..(start + len).div_ceil(8))],
                num_values: len,
            })
            .collect()
    } else {
        let width = (bits / 8) as usize;
        let per_chunk = values_per_chunk(width, max_chunk_bytes);
        if per_chunk < 2 && num_values > 1 && 2 * width > max_chunk_bytes {
            return Err(Error::internal("values too wide for mini-block chunks"));
        }
        spans(num_values, per_chunk)
            .map(|(start, len)| Chunk {
                buffers: vec![data.slice(start * width..(start + len) * width)],
                num_values: len,
            })
            .collect()
    };
    Ok(ChunkedValues {
        encoding: flat_encoding(bits),
        num_buffers: 1,
        chunks,
    })
}

/// The bytes bit-packing would take, block by block.
pub fn bitpacked_size<T: Word>(values: &[T]) -> usize {
    values
        .chunks(1024)
        .map(|block| {
            let or = block.iter().fold(0u64, |acc, v| acc | v.to_u64());
            let width = (64 - or.leading_zeros()) as usize;
            T::BITS / 8 + 128 * width
        })
        .sum()
}

/// Inline bit-packing, 1024 values per chunk.
pub fn bitpacked<T: Word>(values: &[T]) -> ChunkedValues {
    let chunks = values
        .chunks(1024)
        .map(|block| Chunk {
            buffers: vec![Bytes::from(bitpacking::encode_inline(block))],
            num_values: block.len(),
        })
        .collect();
    ChunkedValues {
        encoding: encoding(C::InlineBitpacking(pb::InlineBitpacking {
            uncompressed_bits_per_value: T::BITS as u64,
            values: None,
        })),
        num_buffers: 1,
        chunks,
    }
}

/// Run-length encoding of fixed-width values of `width` bytes.
pub fn run_length(data: &[u8], width: usize, num_values: usize) -> ChunkedValues {
    let mut chunks = Vec::new();
    let mut start = 0;
    // A chunk of n values fits when its runs take at most MAX_CHUNK_VALUE_BYTES; runs only
    // grow with n, so one pass finds and encodes the longest prefix that fits, which is then
    // cut to the chunk.
    let max_runs = MAX_CHUNK_VALUE_BYTES / (width + 1);
    while start < num_values {
        let remaining = num_values - start;
        let mut runs = rle::encode_fitting(
            &data[start * width..num_values * width],
            width,
            max_runs,
            remaining.min(MAX_CHUNK_VALUES),
        );
        let fitting = runs.covered;
        let fits = |n: usize| n <= fitting;
        let len = if remaining <= MAX_CHUNK_VALUES && fits(remaining) {
            remaining
        } else {
            let mut n = MAX_CHUNK_VALUES
                .min(remaining.next_power_of_two() / 2)
                .max(2);
            while n > 2 && !fits(n) {
                n /= 2;
            }
            n.min(remaining)
        };
        if len > runs.covered {
            // Only when not even two values fit (never with the widths written).
            runs = rle::encode_fitting(&data[start * width..], width, usize::MAX, len);
        }
        runs.truncate(len, width);
        chunks.push(Chunk {
            buffers: vec![Bytes::from(runs.values), Bytes::from(runs.lengths)],
            num_values: len,
        });
        start += len;
    }
    ChunkedValues {
        encoding: encoding(C::Rle(Box::new(pb::Rle {
            values: Some(Box::new(flat_encoding((width * 8) as u64))),
            run_lengths: Some(Box::new(flat_encoding(8))),
        }))),
        num_buffers: 2,
        chunks,
    }
}

/// Variable-width values: `offsets` (num_values + 1 of them) into `data`.
pub fn variable_chunks(data: &[u8], offsets: &[u64], bits: u64) -> Result<ChunkedValues> {
    variable_chunks_of(data, offsets, bits, VARIABLE_CHUNK_BYTES)
}

/// [`variable_chunks`] with chunks of about `chunk_bytes` (offsets included) instead of 4 KiB.
pub fn variable_chunks_of(
    data: &[u8],
    offsets: &[u64],
    bits: u64,
    chunk_bytes: usize,
) -> Result<ChunkedValues> {
    let width = (bits / 8) as usize;
    let num_values = offsets.len().saturating_sub(1);
    let size_of =
        |start: usize, n: usize| (n + 1) * width + (offsets[start + n] - offsets[start]) as usize;
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < num_values {
        let remaining = num_values - start;
        let len = if remaining <= 1 {
            remaining
        } else {
            let mut n = 2;
            loop {
                let next = 2 * n;
                if next > remaining {
                    if size_of(start, remaining) <= chunk_bytes {
                        n = remaining;
                    }
                    break;
                }
                if size_of(start, next) <= chunk_bytes && 2 * next <= MAX_CHUNK_VALUES {
                    n = next;
                } else {
                    break;
                }
            }
            n
        };
        let buffer = variable::encode_chunk(data, &offsets[start..=start + len], bits)?;
        chunks.push(Chunk {
            buffers: vec![Bytes::from(buffer)],
            num_values: len,
        });
        start += len;
    }
    Ok(ChunkedValues {
        encoding: encoding(C::Variable(Box::new(pb::Variable {
            offsets: Some(Box::new(flat_encoding(bits))),
            values: None,
        }))),
        num_buffers: 1,
        chunks,
    })
}

/// Fixed-size lists (nested or not) of fixed-width items, flat: each chunk holds one bitmap per
/// level whose items have nulls, then the items.
pub fn fixed_size_list(block: &DataBlock) -> Result<ChunkedValues> {
    let lists = FslValues::new(block)?;
    let per_chunk = values_per_chunk(
        lists.bits_per_list().div_ceil(8).max(1),
        MAX_CHUNK_VALUE_BYTES,
    );
    // Boolean items: keep whole bytes of items in every chunk but the last.
    let per_chunk = if lists.shape().item_bits == 1 {
        per_chunk.max(8)
    } else {
        per_chunk
    };
    let chunks = spans(block.num_values(), per_chunk)
        .map(|(start, len)| Chunk {
            buffers: lists.chunk_buffers(start, len),
            num_values: len,
        })
        .collect();
    Ok(ChunkedValues {
        encoding: lists.encoding(),
        num_buffers: lists.buffer_count(),
        chunks,
    })
}

/// Compresses buffer 0 of every chunk with `scheme` when the buffers hold at least 4 KiB and
/// get smaller; otherwise returns the values unchanged.
pub fn with_general(
    values: ChunkedValues,
    scheme: Scheme,
    level: Option<i32>,
) -> Result<ChunkedValues> {
    compress_chunks(values, scheme, level, |buffer, _| {
        general::compress(scheme, level, buffer)
    })
}

/// [`with_general`] with zstd for values of `bits` (128 or 256) whose high bytes are the same
/// throughout a chunk, such as decimals that fit in a few bytes: such chunks are written as
/// [`zstd_frames::wide_values_frame`]s, which decode faster than zstd's own (no entropy
/// tables, no bits per sequence), unless zstd's frames of a sample of chunks are at least
/// [`ZSTD_MIN_SAVING`]% smaller. Chunks of other shapes get zstd's frames.
pub fn with_zstd_wide_values(values: ChunkedValues, bits: u64) -> Result<ChunkedValues> {
    let width = (bits / 8) as usize;
    with_own_zstd_frames(
        values,
        |buffer, out| zstd_frames::wide_values_frame(buffer, width, out),
        ZSTD_MIN_SAVING,
    )
}

/// [`with_general`] with zstd for chunks whose buffer 0 is words of `bits` (32 or 64), such
/// as sorted keys or their runs: written as [`zstd_frames::word_repeats_frame`]s, which
/// Lancelet decodes without entropy tables, unless zstd's frames of a sample of chunks are at
/// least [`WORDS_ZSTD_MIN_SAVING`]% smaller.
pub fn with_zstd_words(values: ChunkedValues, bits: u64) -> Result<ChunkedValues> {
    let width = (bits / 8) as usize;
    with_own_zstd_frames(
        values,
        |buffer, out| zstd_frames::word_repeats_frame(buffer, width, out),
        WORDS_ZSTD_MIN_SAVING,
    )
}

/// The saving (in %) for which [`with_zstd_words`] keeps zstd's frames over its own. TPC-H
/// SF 1 `l_orderkey` as runs with zstd's frames: 3 079 152 bytes, scanned in 31.6-33 ms (one
/// core); with word repeats: 3 488 448 bytes, 14.6 ms.
pub const WORDS_ZSTD_MIN_SAVING: usize = 25;

/// [`with_general`] with zstd, each chunk's buffer 0 in a frame of Lancelet's own when
/// `own_frame` (which appends it after the length prefix, or returns `false` for a buffer of
/// another shape) makes one, unless zstd's frames of a sample of chunks are at least
/// `zstd_saving`% smaller. Chunks of other shapes get zstd's frames.
fn with_own_zstd_frames(
    values: ChunkedValues,
    own_frame: impl Fn(&[u8], &mut Vec<u8>) -> bool,
    zstd_saving: usize,
) -> Result<ChunkedValues> {
    let own = |buffer: &[u8]| -> Option<Bytes> {
        let mut out = Vec::with_capacity(8 + buffer.len() / 2);
        out.extend_from_slice(&(buffer.len() as u64).to_le_bytes());
        own_frame(buffer, &mut out).then(|| Bytes::from(out))
    };
    let (mut own_size, mut zstd_size) = (0, 0);
    for buffer in values
        .chunks
        .iter()
        .take(SAMPLE_CHUNKS)
        .filter_map(|chunk| chunk.buffers.first())
    {
        let zstd = general::compress(Scheme::Zstd, None, buffer)?.len();
        own_size += own(buffer).map_or(zstd, |frame| frame.len());
        zstd_size += zstd;
    }
    if zstd_size * 100 <= own_size * (100 - zstd_saving) {
        return with_general(values, Scheme::Zstd, None);
    }
    compress_chunks(values, Scheme::Zstd, None, |buffer, _| match own(buffer) {
        Some(frame) => Ok(frame),
        None => general::compress(Scheme::Zstd, None, buffer),
    })
}

/// [`with_general`] with zstd at `level` for chunks of variable-width values (offsets of
/// `offset_bits`, then the bytes): each chunk's offsets and bytes are separate zstd frames
/// (see [`general::compress_zstd_parts`]). The bytes are stored as they are, unless zstd makes
/// a sample of chunks at least [`ZSTD_MIN_SAVING`]% smaller with raw literals or
/// [`HUFFMAN_MIN_SAVING`]% smaller with Huffman-coded ones, and their literals raw unless
/// Huffman coding saves [`HUFFMAN_MIN_SAVING`]% more. For bytes that are already
/// entropy-reduced, such as FSST codes: stored, they decode with one copy; raw literals
/// decode several times faster than Huffman-coded ones. The offsets are a
/// [`zstd_frames::word_repeats_frame`] unless zstd's Huffman-coded frames of the sample are
/// [`ZSTD_MIN_SAVING`]% smaller: TPC-H comments' 32-bit offsets take 8 954 867 bytes so,
/// 14 358 190 as zstd's frames (level 2), and decode in 13.5 instead of 71 ms (one core,
/// `examples/text_chunk_zstd` of `lancelet-bench`).
pub fn with_zstd_offsets_apart(
    values: ChunkedValues,
    offset_bits: u64,
    level: i32,
) -> Result<ChunkedValues> {
    let width = (offset_bits / 8) as usize;
    let split = |buffer: &[u8], num_values: usize| -> Result<(usize, usize)> {
        let at = (num_values + 1) * width;
        (at <= buffer.len())
            .then_some((at, buffer.len()))
            .ok_or_else(|| Error::internal("a variable-width chunk shorter than its offsets"))
    };
    // From the cheapest to decode to the dearest.
    let choices = [
        general::Framing::Stored,
        general::Framing::Raw,
        general::Framing::Huffman,
    ];
    let mut sizes = [0usize; 3];
    let offset_choices = [
        general::Framing::WordRepeats(width),
        general::Framing::Huffman,
    ];
    let mut offset_sizes = [0usize; 2];
    for chunk in values.chunks.iter().take(SAMPLE_CHUNKS) {
        let Some(buffer) = chunk.buffers.first() else {
            continue;
        };
        let (at, end) = split(buffer, chunk.num_values)?;
        for (size, framing) in sizes.iter_mut().zip(choices) {
            *size += general::compress_zstd_parts(level, &[(&buffer[at..end], framing)])?.len();
        }
        for (size, framing) in offset_sizes.iter_mut().zip(offset_choices) {
            *size += general::compress_zstd_parts(level, &[(&buffer[..at], framing)])?.len();
        }
    }
    // A choice is taken over the one chosen so far when it saves enough: 10%, and 20% for
    // Huffman-coded literals, which decode at a fraction of the speed of raw ones (FSST codes
    // of TPC-H comments save 3.5% with raw literals and 8.3% Huffman-coded, close enough to 10%
    // for some pages' samples to have chosen Huffman coding over storing them).
    let chosen = |sizes: &[usize], savings: &[usize]| {
        let mut chosen = 0;
        for (better, saving) in savings.iter().enumerate().skip(1) {
            if sizes[better] * 100 <= sizes[chosen] * (100 - saving) {
                chosen = better;
            }
        }
        chosen
    };
    let framing = choices[chosen(&sizes, &[0, ZSTD_MIN_SAVING, HUFFMAN_MIN_SAVING])];
    let offset_framing = offset_choices[chosen(&offset_sizes, &[0, ZSTD_MIN_SAVING])];
    compress_chunks(values, Scheme::Zstd, Some(level), |buffer, num_values| {
        let (at, end) = split(buffer, num_values)?;
        general::compress_zstd_parts(
            level,
            &[(&buffer[..at], offset_framing), (&buffer[at..end], framing)],
        )
    })
}

/// Chunks compressed each way to choose how [`with_zstd_offsets_apart`] stores their bytes,
/// or whether [`with_zstd_wide_values`] writes its own frames.
const SAMPLE_CHUNKS: usize = 8;

/// The saving (in %) for which [`with_zstd_offsets_apart`] compresses a chunk's bytes with
/// raw literals (over storing them), and for which zstd's frames are chosen over Lancelet's
/// own. FSST codes of TPC-H comments in chunks of 256 save 3.5% with raw literals
/// (decompressing all of lineitem SF 1's took 29.8 ms, copying them stored 2.2 ms) and 5%
/// more with Huffman coding (117.6 ms).
pub const ZSTD_MIN_SAVING: usize = 10;

/// The saving (in %) for which [`with_zstd_offsets_apart`] Huffman-codes the literals of a
/// chunk's bytes, over storing them or leaving the literals raw. At 10%, the samples of some
/// pages chose Huffman coding for TPC-H SF 1 comments (6 656 of the 23 442 chunks); at 20%
/// all are stored: lineitem 153 048 669 -> 154 466 781 bytes, `l_comment` scanned
/// on one core in 142 instead of 179 ms (`examples/column_cpu scan 10` of `lancelet-bench`).
pub const HUFFMAN_MIN_SAVING: usize = 20;

/// Compresses buffer 0 of every chunk with `compress` (given the buffer and the chunk's value
/// count), described as `scheme` at `level`, when the buffers hold at least 4 KiB and get
/// smaller; otherwise returns the values unchanged.
fn compress_chunks(
    values: ChunkedValues,
    scheme: Scheme,
    level: Option<i32>,
    compress: impl Fn(&[u8], usize) -> Result<Bytes>,
) -> Result<ChunkedValues> {
    let raw: usize = values
        .chunks
        .iter()
        .filter_map(|c| c.buffers.first())
        .map(Bytes::len)
        .sum();
    if raw < 4096 {
        return Ok(values);
    }
    let mut chunks = Vec::with_capacity(values.chunks.len());
    let mut compressed_total = 0usize;
    for chunk in &values.chunks {
        let mut buffers = chunk.buffers.clone();
        if let Some(first) = buffers.first_mut() {
            *first = compress(first, chunk.num_values)?;
            compressed_total += first.len();
        }
        chunks.push(Chunk {
            buffers,
            num_values: chunk.num_values,
        });
    }
    if compressed_total >= raw {
        return Ok(values);
    }
    Ok(ChunkedValues {
        encoding: encoding(C::General(Box::new(pb::General {
            compression: Some(buffer_compression(scheme, level)),
            values: Some(Box::new(values.encoding)),
        }))),
        num_buffers: values.num_buffers,
        chunks,
    })
}

/// The protobuf form of a general compression scheme.
pub fn buffer_compression(scheme: Scheme, level: Option<i32>) -> pb::BufferCompression {
    pb::BufferCompression {
        scheme: match scheme {
            Scheme::Lz4 => pb::CompressionScheme::CompressionAlgorithmLz4,
            Scheme::Zstd => pb::CompressionScheme::CompressionAlgorithmZstd,
        } as i32,
        level,
    }
}

/// Byte-stream split of 32- or 64-bit values, chunked like flat values.
pub fn byte_stream_split(data: &Bytes, bits: u64, num_values: usize) -> ChunkedValues {
    let width = (bits / 8) as usize;
    let per_chunk = values_per_chunk(width, 4096);
    let chunks = spans(num_values, per_chunk)
        .map(|(start, len)| Chunk {
            buffers: vec![Bytes::from(crate::encodings::compression::bss::encode(
                &data[start * width..(start + len) * width],
                width,
            ))],
            num_values: len,
        })
        .collect();
    ChunkedValues {
        encoding: encoding(C::ByteStreamSplit(Box::new(pb::ByteStreamSplit {
            values: Some(Box::new(flat_encoding(bits))),
        }))),
        num_buffers: 1,
        chunks,
    }
}

/// The values of a fixed-width block as words of `T` (for bit-packing).
pub fn words<T: Word>(block: &DataBlock) -> Result<Vec<T>> {
    let DataBlock::Fixed {
        data,
        bits_per_value,
        num_values,
    } = block
    else {
        return Err(Error::internal("expected fixed-width values"));
    };
    if *bits_per_value != T::BITS as u64 {
        return Err(Error::internal("word width mismatch"));
    }
    Ok(data
        .chunks_exact(T::BITS / 8)
        .take(*num_values)
        .map(T::from_le)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encodings::compression::decode;

    fn round_trip(values: &ChunkedValues, expected: &DataBlock) {
        let mut blocks = Vec::new();
        for chunk in &values.chunks {
            blocks.push(
                decode::miniblock(&values.encoding, &chunk.buffers, chunk.num_values).unwrap(),
            );
        }
        let joined = DataBlock::concat(blocks).unwrap();
        assert_eq!(format!("{joined:?}"), format!("{expected:?}"));
    }

    #[test]
    fn every_compressor_decodes_back() {
        let n = 5000;
        let ints: Vec<u32> = (0..n as u32).map(|i| i % 1000).collect();
        let data = Bytes::from(
            ints.iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>(),
        );
        let block = DataBlock::Fixed {
            data: data.clone(),
            bits_per_value: 32,
            num_values: n,
        };
        let flat_values = flat(&data, 32, n).unwrap();
        assert!(
            flat_values
                .chunks
                .iter()
                .rev()
                .skip(1)
                .all(|c| c.num_values == 1024)
        );
        round_trip(&flat_values, &block);
        let packed = bitpacked(&ints);
        assert_eq!(packed.chunks.len(), 5);
        round_trip(&packed, &block);
        let runs: Vec<u8> = (0..n as u32)
            .flat_map(|i| (i / 700).to_le_bytes())
            .collect();
        let runs = Bytes::from(runs);
        let run_block = DataBlock::Fixed {
            data: runs.clone(),
            bits_per_value: 32,
            num_values: n,
        };
        round_trip(&run_length(&runs, 4, n), &run_block);
        round_trip(
            &with_general(flat(&data, 32, n).unwrap(), Scheme::Zstd, None).unwrap(),
            &block,
        );
        round_trip(
            &with_general(byte_stream_split(&data, 32, n), Scheme::Lz4, None).unwrap(),
            &block,
        );
    }

    #[test]
    fn wide_values_are_chunked_by_the_byte_limit_given() {
        // 2000 decimals of 16 bytes: 256 per plain chunk, 1024 per 16 KiB chunk.
        let data = Bytes::from(
            (0..2000u128)
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>(),
        );
        let counts = |limit| -> Vec<usize> {
            let chunked = flat_chunked(&data, 128, 2000, limit).unwrap();
            chunked.chunks.iter().map(|c| c.num_values).collect()
        };
        assert_eq!(counts(MAX_CHUNK_VALUE_BYTES)[..7], [256; 7]);
        assert_eq!(counts(16 * 1024), [1024, 976]);
        let block = DataBlock::Fixed {
            data: data.clone(),
            bits_per_value: 128,
            num_values: 2000,
        };
        let wide = flat_chunked(&data, 128, 2000, 16 * 1024).unwrap();
        round_trip(&with_general(wide, Scheme::Zstd, None).unwrap(), &block);
    }

    #[test]
    fn wide_values_get_own_frames_unless_zstd_saves_enough() {
        // 16-byte values as chunks of 1024 (decimals). Prices below 2^24: three varying low
        // bytes each. A handful of prices repeated: zstd matches whole values. Sign changes
        // within a chunk: the high bytes differ, so every chunk gets zstd's frame.
        let wide = |values: &[i128]| -> (ChunkedValues, DataBlock) {
            let data = Bytes::from(
                values
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<_>>(),
            );
            let block = DataBlock::Fixed {
                data: data.clone(),
                bits_per_value: 128,
                num_values: values.len(),
            };
            (
                flat_chunked(&data, 128, values.len(), 16 * 1024).unwrap(),
                block,
            )
        };
        let prices: Vec<i128> = (0..10_000).map(|n| (mix(n) % 10_000_000) as i128).collect();
        let few: Vec<i128> = (0..10_000).map(|n| 100 * (mix(n) % 4) as i128).collect();
        let signs: Vec<i128> = (0..10_000)
            .map(|n| (mix(n) % 2_000_000) as i128 - 1_000_000)
            .collect();
        for (values, own) in [(&prices, true), (&few, false), (&signs, false)] {
            let (chunked, block) = wide(values);
            let compressed = with_zstd_wide_values(chunked.clone(), 128).unwrap();
            assert!(matches!(
                compressed.encoding.compression,
                Some(C::General(_))
            ));
            round_trip(&compressed, &block);
            let zstd = with_general(chunked.clone(), Scheme::Zstd, None).unwrap();
            let buffer = &chunked.chunks[1].buffers[0];
            let mut frame = (buffer.len() as u64).to_le_bytes().to_vec();
            assert!(zstd_frames::wide_values_frame(buffer, 16, &mut frame) || !own);
            let expected: &[u8] = if own {
                &frame
            } else {
                &zstd.chunks[1].buffers[0]
            };
            assert_eq!(
                compressed.chunks[1].buffers[0].as_ref(),
                expected,
                "own frames: {own}"
            );
            if own {
                // Three bytes a value and a few per chunk, smaller than zstd's frames here.
                assert!(compressed.size() < values.len() * 3 + 100 * chunked.chunks.len());
                assert!(compressed.size() < zstd.size(), "{}", zstd.size());
            } else {
                assert_eq!(compressed.size(), zstd.size());
            }
        }
    }

    /// A well-mixed 64-bit hash of `n` (SplitMix64's finalizer).
    fn mix(n: u64) -> u64 {
        let z = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `count` strings of 4 to 19 bytes drawn by `byte` (given a running counter).
    fn strings(count: u64, byte: impl Fn(u64) -> u8) -> (DataBlock, Vec<u8>, Vec<u64>) {
        let mut data = Vec::new();
        let mut offsets = vec![0u64];
        let mut n = 0u64;
        for i in 0..count {
            for _ in 0..4 + i * 7 % 16 {
                n += 1;
                data.push(byte(n));
            }
            offsets.push(data.len() as u64);
        }
        let block = DataBlock::Variable {
            offsets: Bytes::from(
                offsets
                    .iter()
                    .flat_map(|&o| (o as u32).to_le_bytes())
                    .collect::<Vec<_>>(),
            ),
            offset_bits: 32,
            data: Bytes::from(data.clone()),
            num_values: count as usize,
        };
        (block, data, offsets)
    }

    #[test]
    fn offsets_apart_chunks_decode_and_choose_their_literals_by_size() {
        // Random bytes: stored. Words of random bytes from a vocabulary of 64: matches save
        // most, and the few literals left are stored raw. Random bytes below 64: no matches,
        // but Huffman coding saves a quarter (six bits per byte instead of eight).
        let random = |n: u64| (mix(n) >> 56) as u8;
        let words = |n: u64| (mix(mix(n / 8 + 1) % 64 * 8 + n % 8) >> 56) as u8;
        let skewed = |n: u64| (mix(n) >> 58) as u8;
        let cases: [(&dyn Fn(u64) -> u8, general::Framing); 3] = [
            (&random, general::Framing::Stored),
            (&words, general::Framing::Raw),
            (&skewed, general::Framing::Huffman),
        ];
        for (byte, literals) in cases {
            for bits in [32, 64] {
                let (block, data, offsets) = strings(20_000, byte);
                let chunked = variable_chunks_of(&data, &offsets, bits, 16 * 1024).unwrap();
                let plain = chunked.size();
                let apart = with_zstd_offsets_apart(chunked.clone(), bits, 2).unwrap();
                assert!(matches!(apart.encoding.compression, Some(C::General(_))));
                let expected = match bits {
                    32 => block,
                    _ => DataBlock::Variable {
                        offsets: Bytes::from(
                            offsets
                                .iter()
                                .flat_map(|o| o.to_le_bytes())
                                .collect::<Vec<_>>(),
                        ),
                        offset_bits: 64,
                        data: Bytes::from(data.clone()),
                        num_values: offsets.len() - 1,
                    },
                };
                round_trip(&apart, &expected);
                // Each chunk: the length prefix, then two frames, the bytes' as chosen. Short
                // strings' 32-bit offsets are word repeats; 64-bit ones have four zero bytes
                // more, which zstd's matches cover better.
                let chunk = &apart.chunks[1];
                let buffer = &chunked.chunks[1].buffers[0];
                let width = bits as usize / 8;
                let split = (chunk.num_values + 1) * width;
                let offset_framing = match bits {
                    32 => general::Framing::WordRepeats(width),
                    _ => general::Framing::Huffman,
                };
                let expected = general::compress_zstd_parts(
                    2,
                    &[
                        (&buffer[..split], offset_framing),
                        (&buffer[split..], literals),
                    ],
                )
                .unwrap();
                assert!(
                    chunk.buffers[0] == expected,
                    "bytes not stored as expected ({literals:?}, {bits}-bit offsets)"
                );
                if literals != general::Framing::Stored {
                    assert!(
                        apart.size() * 100 < plain * 85,
                        "{literals:?}: {} of {plain}",
                        apart.size()
                    );
                }
            }
        }
    }

    #[test]
    fn variable_chunks_double_within_the_budget() {
        let strings: Vec<String> = (0..1000).map(|i| format!("value-{i}")).collect();
        let mut data = Vec::new();
        let mut offsets = vec![0u64];
        for s in &strings {
            data.extend_from_slice(s.as_bytes());
            offsets.push(data.len() as u64);
        }
        let chunked = variable_chunks(&data, &offsets, 32).unwrap();
        let counts: Vec<usize> = chunked.chunks.iter().map(|c| c.num_values).collect();
        assert!(
            counts[..counts.len() - 1]
                .iter()
                .all(|c| c.is_power_of_two() && *c >= 2)
        );
        assert_eq!(counts.iter().sum::<usize>(), 1000);
        for chunk in &chunked.chunks {
            assert!(chunk.buffers[0].len() <= 4096 + 4);
        }
    }
}
