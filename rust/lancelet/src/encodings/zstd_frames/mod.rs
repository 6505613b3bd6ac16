//! zstd frames that Lancelet writes itself (RFC 8878), for data whose shape zstd's compressor
//! serves less well than a frame built for it. Any zstd decoder reads them, pylance included;
//! Lancelet reads them with a decoder of its own ([`decode`]), which copies out their
//! literals and repeats without the per-sequence work of a general decoder.
//!
//! * [`stored_frame`]: the data in raw blocks. zstd's compressor has no setting that stores a
//!   buffer as it is; a decoder copies such blocks out.
//! * [`wide_values_frame`]: fixed-width values whose high bytes are the same in every value
//!   (128-bit decimals that fit in a few bytes, say). Each value is its low bytes as raw
//!   literals and a repeat of the high bytes, with every sequence code the same, so the frame
//!   carries no entropy tables and its sequences no bits.
//! * [`word_repeats_frame`]: words whose high bytes are mostly those of the word before
//!   (the offsets of strings, say). Each such word is its low bytes as raw literals and a
//!   repeat of the word before's high bytes; the others are literals.

pub mod decode;

/// The four bytes that start every zstd frame.
pub const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The most bytes one block may decode to.
const MAX_BLOCK: usize = 128 * 1024;

/// Block types (RFC 8878, section 3.1.1.2.2).
const RAW_BLOCK: u32 = 0;
const RLE_BLOCK: u32 = 1;
const COMPRESSED_BLOCK: u32 = 2;

/// Values that [`wide_values_frame`] stores whole before the first repeat. Each value's high
/// bytes are then copied from the value this many places back, which the decoder finished
/// writing a value earlier. Copied from the value just before, the 16-byte load a decoder
/// makes spans the two stores it has just made, which a CPU cannot forward: a prototype with
/// one lead value decoded TPC-H `l_extendedprice` in 62 instead of 39 ms (one core).
const LEAD_VALUES: usize = 2;

/// Appends `data` to `out` as a frame of raw blocks: the magic, a frame header declaring a
/// single segment of `data.len()` bytes, and blocks of at most 128 KiB.
pub fn stored_frame(data: &[u8], out: &mut Vec<u8>) {
    frame_header(data.len(), out);
    let mut blocks = data.chunks(MAX_BLOCK).peekable();
    if blocks.peek().is_none() {
        // An empty frame still has one (empty, last) block.
        block_header(0, RAW_BLOCK, true, out);
    }
    while let Some(block) = blocks.next() {
        block_header(block.len(), RAW_BLOCK, blocks.peek().is_none(), out);
        out.extend_from_slice(block);
    }
}

/// Appends `data` (values of `width` bytes) to `out` as a frame of raw literals and repeats,
/// when every value's bytes from some point on are the same as the first value's, leaving at
/// most 15 and at least one varying low byte and at least 3 (at most 34) repeated ones.
/// Returns whether it did; `out` is unchanged when the values do not have that shape.
///
/// The frame is a raw block of the first two values, then a block of one sequence
/// for the next value (its low bytes, then its high bytes copied from two values
/// back, at an offset given in full), then blocks of a sequence per value that repeat that
/// offset. TPC-H SF 1 `l_extendedprice` (16-byte decimals below 2^24) in chunks of 1 024
/// values: 18 343 583 bytes against zstd level 3's 18 813 174, decoded by libzstd in 38.7
/// against 51.0 ms, by [`decode`] in 6.7 ms (`examples/wide_values_zstd` of
/// `lancelet-bench`, one core).
pub fn wide_values_frame(data: &[u8], width: usize, out: &mut Vec<u8>) -> bool {
    let Some(low) = varying_low_bytes(data, width) else {
        return false;
    };
    let num_values = data.len() / width;
    if num_values <= LEAD_VALUES {
        stored_frame(data, out);
        return true;
    }
    let repeat = width - low;
    let distance = LEAD_VALUES * width;
    frame_header(data.len(), out);
    let (lead, rest) = data.split_at(distance);
    block_header(lead.len(), RAW_BLOCK, false, out);
    out.extend_from_slice(lead);
    // The first repeat names its offset: `distance + 3` (values 1 to 3 are repeat codes), as
    // offset code `log2` of it with the rest in as many extra bits. Those bits, then the end
    // mark above them, are the number itself, so the bit stream is its low bytes.
    let offset_value = distance + 3;
    let offset_code = offset_value.ilog2();
    let offset_bytes = (offset_code / 8 + 1) as usize;
    let (first, rest) = rest.split_at(width);
    let mut block = Vec::with_capacity(16);
    literals_header(low, &mut block);
    block.extend_from_slice(&first[..low]);
    sequences_header(1, rle_codes(low, offset_code as u8, repeat), &mut block);
    block.extend_from_slice(&offset_value.to_le_bytes()[..offset_bytes]);
    block_header(block.len(), COMPRESSED_BLOCK, rest.is_empty(), out);
    out.extend_from_slice(&block);
    // Later sequences repeat the offset (offset code 0: the last offset used); their bit
    // stream is the end mark alone. Each block decodes to at most 128 KiB.
    let mut blocks = rest.chunks(MAX_BLOCK / width * width).peekable();
    while let Some(values) = blocks.next() {
        let count = values.len() / width;
        block.clear();
        literals_header(count * low, &mut block);
        for value in values.chunks_exact(width) {
            block.extend_from_slice(&value[..low]);
        }
        sequences_header(count, rle_codes(low, 0, repeat), &mut block);
        block.push(1);
        block_header(block.len(), COMPRESSED_BLOCK, blocks.peek().is_none(), out);
        out.extend_from_slice(&block);
    }
    true
}

/// How many low bytes vary among values of `width` bytes (at least one), when the rest are
/// the same in all of them and the shape suits [`wide_values_frame`]: at most 15 varying
/// bytes (a literal length code without extra bits) and 3 to 34 repeated ones (a match length
/// code without extra bits).
fn varying_low_bytes(data: &[u8], width: usize) -> Option<usize> {
    if width < 4 || data.is_empty() || !data.len().is_multiple_of(width) {
        return None;
    }
    let first = data.get(..width)?;
    let mut low = 1;
    for value in data.chunks_exact(width) {
        while low < width && value[low..] != first[low..] {
            low += 1;
        }
    }
    let repeat = width - low;
    (low <= 15 && (3..=34).contains(&repeat)).then_some(low)
}

/// Appends `data` (words of `width` bytes, 4 to 8: the offsets of strings, say) to `out` as a
/// frame in which a word whose high bytes are those of the word before is its low bytes as raw
/// literals and a repeat of the rest from one word back; other words are literals. Returns
/// whether it did: `data` must be whole words, at least two; `out` is unchanged otherwise.
///
/// The frame is a raw block of the words before the first run of repeating words, then, for
/// each such run, a block of a sequence per word, with the words up to the next run as the
/// literals after its last sequence. Every sequence has the same three codes, in RLE mode in
/// the first block and repeated in the others, so the frame has no entropy tables. The first
/// block names the offset in full in each sequence's extra bits, the others repeat it, so
/// their bit streams are empty. How many low bytes a word keeps (1 for 4-byte words, up to 5
/// for 8-byte ones) is chosen for the smallest frame.
///
/// The 32-bit offsets of TPC-H SF 1 comments' FSST codes, in chunks of 256 comments: 8 954 867
/// bytes against zstd level 2's 14 358 190 (`examples/text_chunk_zstd` of `lancelet-bench`).
pub fn word_repeats_frame(data: &[u8], width: usize, out: &mut Vec<u8>) -> bool {
    if !(4..=8).contains(&width) || data.len() < 2 * width || !data.len().is_multiple_of(width) {
        return false;
    }
    let words: Vec<u64> = data
        .chunks_exact(width)
        .map(|word| {
            let mut bytes = [0u8; 8];
            bytes[..width].copy_from_slice(word);
            u64::from_le_bytes(bytes)
        })
        .collect();
    let Some((low, repeats)) = (1..=width - 3)
        .map(|low| {
            let repeats = repeating_words(&words, width, low);
            (repeats_frame_size(&repeats, width, low), low, repeats)
        })
        .min_by_key(|(size, _, _)| *size)
        .map(|(_, low, repeats)| (low, repeats))
    else {
        return false;
    };
    frame_header(data.len(), out);
    let max_words = MAX_BLOCK / width;
    let offset_value = width + 3;
    let offset_code = offset_value.ilog2() as u8;
    let mut block = Vec::new();
    let mut blocks_with_sequences = 0;
    let mut at = 0;
    while at < words.len() {
        // A run of repeating words (perhaps none), then a run of others, within one block.
        let run_end = |from: usize, repeating: bool| {
            (from..words.len())
                .find(|&k| repeats[k] != repeating || k - at >= max_words)
                .unwrap_or(words.len())
        };
        let literal_start = run_end(at, true);
        let end = run_end(literal_start, false);
        let count = literal_start - at;
        let (sequenced, literal) = (
            &data[at * width..literal_start * width],
            &data[literal_start * width..end * width],
        );
        let last = end == words.len();
        if count == 0 {
            block_header(literal.len(), RAW_BLOCK, last, out);
            out.extend_from_slice(literal);
            at = end;
            continue;
        }
        block.clear();
        literals_header(count * low + literal.len(), &mut block);
        for word in sequenced.chunks_exact(width) {
            block.extend_from_slice(&word[..low]);
        }
        block.extend_from_slice(literal);
        match blocks_with_sequences {
            0 => {
                sequences_header(count, rle_codes(low, offset_code, width - low), &mut block);
                push_same_bits(offset_value, offset_code, count, &mut block);
            }
            1 => {
                let codes = [Code::Repeat, Code::Rle(0), Code::Repeat];
                sequences_header(count, codes, &mut block);
                block.push(1);
            }
            _ => {
                sequences_header(count, [Code::Repeat; 3], &mut block);
                block.push(1);
            }
        }
        blocks_with_sequences += 1;
        block_header(block.len(), COMPRESSED_BLOCK, last, out);
        out.extend_from_slice(&block);
        at = end;
    }
    true
}

/// Which `words` a [`word_repeats_frame`] keeping `low` bytes of each writes as a sequence: those
/// whose high bytes are the word before's, in runs long enough to pay for a block of their
/// own.
fn repeating_words(words: &[u64], width: usize, low: usize) -> Vec<bool> {
    let shift = 8 * low;
    let mut repeats: Vec<bool> = std::iter::once(false)
        .chain(
            words
                .windows(2)
                .map(|pair| pair[0] >> shift == pair[1] >> shift),
        )
        .collect();
    // A run saves `width - low` bytes a word and costs a block of about 8 bytes of headers.
    let shortest = 9usize.div_ceil(width - low);
    let mut start = 0;
    while start < repeats.len() {
        let end = (start..repeats.len())
            .find(|&k| repeats[k] != repeats[start])
            .unwrap_or(repeats.len());
        if repeats[start] && end - start < shortest {
            repeats[start..end].fill(false);
        }
        start = end;
    }
    repeats
}

/// About how many bytes a [`word_repeats_frame`] of words marked `repeats` takes.
fn repeats_frame_size(repeats: &[bool], width: usize, low: usize) -> usize {
    let runs = repeats
        .iter()
        .zip(std::iter::once(&false).chain(repeats))
        .filter(|&(now, before)| *now && !*before)
        .count();
    let sequenced = repeats.iter().filter(|&&repeat| repeat).count();
    sequenced * low + (repeats.len() - sequenced) * width + runs * 8
}

/// Appends a sequences bit stream of `count` sequences that each have `bits` extra bits of
/// offset (the low bits of `value`), then the end mark.
fn push_same_bits(value: usize, bits: u8, count: usize, out: &mut Vec<u8>) {
    let extra = value as u64 & ((1 << bits) - 1);
    let (mut pending, mut filled) = (0u64, 0u32);
    for _ in 0..count {
        pending |= extra << filled;
        filled += u32::from(bits);
        while filled >= 8 {
            out.push(pending as u8);
            pending >>= 8;
            filled -= 8;
        }
    }
    // Fewer than 8 bits are pending, so the mark ends the last byte.
    out.push((pending | 1 << filled) as u8);
}

/// Appends the header of a raw literals section of `size` bytes: type 0, then the size in
/// 5, 12 or 20 bits.
fn literals_header(size: usize, out: &mut Vec<u8>) {
    match size {
        0..=31 => out.push((size << 3) as u8),
        32..=4095 => out.extend_from_slice(&[((size & 15) << 4 | 1 << 2) as u8, (size >> 4) as u8]),
        _ => out.extend_from_slice(&[
            ((size & 15) << 4 | 3 << 2) as u8,
            (size >> 4) as u8,
            (size >> 12) as u8,
        ]),
    }
}

/// How the sequences of a block get one of their three codes (literal length, offset, match
/// length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    /// RLE mode: this code for every sequence, with no table and no state bits.
    Rle(u8),
    /// Repeat mode: the code of the last block with sequences (RLE there too).
    Repeat,
}

/// Appends the head of a sequences section, up to its bit stream: the number of sequences
/// and how they get their literal length, offset and match length codes.
fn sequences_header(count: usize, codes: [Code; 3], out: &mut Vec<u8>) {
    // The number of sequences in one, two or three bytes.
    match count {
        0..=127 => out.push(count as u8),
        128..=0x7eff => out.extend_from_slice(&[((count >> 8) + 128) as u8, count as u8]),
        _ => {
            out.push(255);
            out.extend_from_slice(&((count - 0x7f00) as u16).to_le_bytes());
        }
    }
    let mode = |code: Code| match code {
        Code::Rle(_) => 1u8,
        Code::Repeat => 3,
    };
    out.push(mode(codes[0]) << 6 | mode(codes[1]) << 4 | mode(codes[2]) << 2);
    for code in codes {
        if let Code::Rle(symbol) = code {
            out.push(symbol);
        }
    }
}

/// The three RLE codes of sequences that each take `low` literals (a literal length code is
/// the length itself up to 15), then repeat `repeat` bytes (a match length code is the length
/// less 3, up to 34) at offset code `offset_code`.
fn rle_codes(low: usize, offset_code: u8, repeat: usize) -> [Code; 3] {
    [
        Code::Rle(low as u8),
        Code::Rle(offset_code),
        Code::Rle((repeat - 3) as u8),
    ]
}

/// Appends a frame header for `size` bytes of content in a single segment (the window is the
/// whole content): the magic, the descriptor, and the size in 1, 2 (less 256), 4 or 8 bytes.
fn frame_header(size: usize, out: &mut Vec<u8>) {
    const SINGLE_SEGMENT: u8 = 1 << 5;
    out.extend_from_slice(&MAGIC);
    let size = size as u64;
    match size {
        0..=255 => out.extend_from_slice(&[SINGLE_SEGMENT, size as u8]),
        256..=65_791 => {
            out.push(1 << 6 | SINGLE_SEGMENT);
            out.extend_from_slice(&((size - 256) as u16).to_le_bytes());
        }
        65_792..=0xffff_ffff => {
            out.push(2 << 6 | SINGLE_SEGMENT);
            out.extend_from_slice(&(size as u32).to_le_bytes());
        }
        _ => {
            out.push(3 << 6 | SINGLE_SEGMENT);
            out.extend_from_slice(&size.to_le_bytes());
        }
    }
}

/// Appends a 3-byte block header: the block's size in its stored form, its type, and whether
/// it is the frame's last.
fn block_header(size: usize, kind: u32, last: bool, out: &mut Vec<u8>) {
    let header = (size as u32) << 3 | kind << 1 | u32::from(last);
    out.extend_from_slice(&header.to_le_bytes()[..3]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A well-mixed 64-bit hash of `n` (SplitMix64's finalizer); the decoder's tests use it too.
    pub(super) fn mix(n: u64) -> u64 {
        let z = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `count` values of `width` bytes: `low` random low bytes, then `high` repeated.
    fn values(count: usize, width: usize, low: usize, high: u8) -> Vec<u8> {
        (0..count as u64)
            .flat_map(|n| {
                let random = mix(n).to_le_bytes();
                (0..width).map(move |i| if i < low { random[i % 8] } else { high })
            })
            .collect()
    }

    #[test]
    fn stored_frames_decode_with_zstd_at_every_size_field_and_block_count() {
        for size in [
            0usize, 1, 255, 256, 65_791, 65_792, 131_072, 131_073, 300_000,
        ] {
            let data: Vec<u8> = (0..size as u64).map(|n| mix(n) as u8).collect();
            let mut frame = Vec::new();
            stored_frame(&data, &mut frame);
            // The data and 6 to 13 bytes of headers, and 3 per block.
            let blocks = size.div_ceil(MAX_BLOCK).max(1);
            let headers = frame.len() - size - 3 * blocks;
            assert!((6..=13).contains(&headers), "{size}: {headers}");
            let out = zstd::bulk::decompress(&frame, size).unwrap();
            assert_eq!(out, data, "{size}");
        }
    }

    #[test]
    fn wide_values_decode_with_zstd_at_every_width_count_and_block_count() {
        // Counts around the lead, the 127/128 and 0x7f00 sequence-count fields and the 128 KiB
        // blocks; high bytes of zeros, of sign, and of any repeated byte.
        for (width, low, high) in [
            (4, 1, 0),
            (8, 3, 0xff),
            (16, 3, 0),
            (16, 13, 7),
            (32, 15, 0),
        ] {
            for count in [1, 2, 3, 4, 130, 1024, 8192, 8193, 40_000] {
                let data = values(count, width, low, high);
                let mut frame = vec![9];
                assert!(
                    wide_values_frame(&data, width, &mut frame),
                    "{width} {count}"
                );
                assert_eq!(frame[0], 9, "appended after what was there");
                let out = zstd::bulk::decompress(&frame[1..], data.len()).unwrap();
                assert_eq!(out, data, "{width} {low} {count}");
                // The low bytes and a few bytes per 128 KiB block.
                if count > LEAD_VALUES {
                    let blocks = (count * width).div_ceil(MAX_BLOCK) + 2;
                    let expected = LEAD_VALUES * width + (count - LEAD_VALUES) * low;
                    assert!(
                        frame.len() - 1 - expected <= 12 + blocks * 16,
                        "{}",
                        frame.len()
                    );
                }
            }
        }
    }

    #[test]
    fn identical_values_keep_one_literal_byte_each() {
        let data = [5u8, 0, 0, 0, 0, 0, 0, 0].repeat(100);
        let mut frame = Vec::new();
        assert!(wide_values_frame(&data, 8, &mut frame));
        assert_eq!(zstd::bulk::decompress(&frame, data.len()).unwrap(), data);
    }

    proptest! {
        #[test]
        fn wide_frames_decode_to_their_values_or_are_not_written(
            width in prop::sample::select(vec![1usize, 3, 4, 8, 16, 32]),
            count in 0usize..3000,
            low in 0usize..20,
            high in prop::sample::select(vec![0u8, 0xff, 0x5a]),
            seed in any::<u64>(),
            odd_byte in any::<Option<(usize, u8)>>(),
        ) {
            // Values with `low` random low bytes and the rest `high`, perhaps with one byte of
            // one value changed anywhere.
            let mut data: Vec<u8> = (0..(count * width) as u64)
                .map(|i| if (i as usize) % width < low { mix(seed ^ i) as u8 } else { high })
                .collect();
            if let Some((at, value)) = odd_byte.filter(|_| !data.is_empty()) {
                let at = at % data.len();
                data[at] = value;
            }
            let mut frame = vec![7, 7, 7];
            if wide_values_frame(&data, width, &mut frame) {
                prop_assert_eq!(&frame[..3], &[7, 7, 7]);
                let out = zstd::bulk::decompress(&frame[3..], data.len()).unwrap();
                prop_assert_eq!(out, data);
            } else {
                prop_assert_eq!(frame.len(), 3);
            }
        }
    }

    #[test]
    fn other_shapes_are_left_to_zstd() {
        let check = |data: &[u8], width: usize| {
            let mut frame = vec![1, 2];
            let done = wide_values_frame(data, width, &mut frame);
            assert_eq!(frame.len() == 2, !done);
            done
        };
        // High bytes that differ between values, too few repeated bytes, too many varying.
        let mut signs = values(100, 16, 3, 0);
        signs.extend(values(100, 16, 3, 0xff));
        assert!(!check(&signs, 16));
        assert!(!check(&values(100, 4, 2, 0), 4));
        assert!(!check(&values(100, 32, 16, 0), 32));
        assert!(check(&values(100, 32, 15, 0), 32));
        // Widths below 4, a length that is not whole values, nothing at all.
        assert!(!check(&values(100, 3, 0, 0), 3));
        assert!(!check(&values(100, 8, 2, 0)[..799], 8));
        assert!(!check(&[], 8));
    }
}
