//! Lancelet's own decoder for zstd frames of the shapes its frame writers use (RFC 8878):
//! raw and RLE blocks, and compressed blocks whose literals are raw and whose sequences have
//! one literal length, offset and match length code each (RLE or repeat mode), so that they
//! need no entropy tables. Decoding such a frame is copying its literals and repeats; a
//! sequence of the same shape as the one before is one fixed-size copy of each.
//!
//! Anything else (Huffman-coded literals, FSE-coded sequences, checksums, dictionaries,
//! windows smaller than the frame, and anything that does not parse) is left to libzstd:
//! [`decode_frame`] returns `None`, and the caller hands the bytes over. A frame this decoder
//! accepts is one libzstd decodes to the same bytes (tests compare the two on every frame
//! the writers make, and on damaged ones).

use super::{COMPRESSED_BLOCK, MAGIC, MAX_BLOCK, RAW_BLOCK, RLE_BLOCK};

/// Decodes the zstd frame at the start of `src` into the start of `out` when it has the
/// shapes this module decodes. Returns how many bytes of `src` the frame took and how many it
/// decoded to, or `None` for a frame of another shape, or one that does not fit `out`, or is
/// damaged. Bytes of `out` may have been written even then.
pub fn decode_frame(src: &[u8], out: &mut [u8]) -> Option<(usize, usize)> {
    let mut input = Input { bytes: src };
    if input.take(4)? != MAGIC {
        return None;
    }
    let descriptor = input.byte()?;
    // A single segment (the window is the whole content), no checksum, no dictionary, and the
    // reserved bit clear.
    if descriptor & 0b0010_1111 != 0b0010_0000 {
        return None;
    }
    let size = match descriptor >> 6 {
        0 => u64::from(input.byte()?),
        1 => u64::from(u16::from_le_bytes(input.array()?)) + 256,
        2 => u64::from(u32::from_le_bytes(input.array()?)),
        _ => u64::from_le_bytes(input.array()?),
    };
    let out = out.get_mut(..usize::try_from(size).ok()?)?;
    let mut frame = Frame {
        written: 0,
        repeats: [1, 4, 8],
        codes: None,
    };
    loop {
        let [a, b, c] = input.array()?;
        let header = u32::from_le_bytes([a, b, c, 0]);
        let block_size = (header >> 3) as usize;
        if block_size > MAX_BLOCK {
            return None;
        }
        let start = frame.written;
        let end = start.checked_add(block_size);
        match (header >> 1) & 3 {
            RAW_BLOCK => {
                let bytes = input.take(block_size)?;
                out.get_mut(start..end?)?.copy_from_slice(bytes);
                frame.written = end?;
            }
            RLE_BLOCK => {
                let byte = input.byte()?;
                out.get_mut(start..end?)?.fill(byte);
                frame.written = end?;
            }
            COMPRESSED_BLOCK => {
                let content = input.take(block_size)?;
                frame.compressed_block(content, out)?;
                if frame.written - start > MAX_BLOCK {
                    return None;
                }
            }
            _ => return None,
        }
        if header & 1 == 1 {
            break;
        }
    }
    (frame.written == out.len()).then_some((src.len() - input.bytes.len(), out.len()))
}

/// The bytes of a frame not read yet.
struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    /// The next `count` bytes.
    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.bytes.split_at_checked(count)?;
        self.bytes = rest;
        Some(taken)
    }

    /// The next byte.
    fn byte(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    /// The next `N` bytes.
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

/// What decoding a frame carries from block to block.
struct Frame {
    /// Bytes of the frame decoded so far.
    written: usize,
    /// The three repeat offsets, the most recent first.
    repeats: [usize; 3],
    /// The literal length, offset and match length codes of the last block with sequences.
    codes: Option<[u8; 3]>,
}

/// Literal length codes up to this one are the length itself, with no extra bits.
const MAX_PLAIN_LITERAL_CODE: u8 = 15;
/// Match length codes up to this one are the length less 3, with no extra bits.
const MAX_PLAIN_MATCH_CODE: u8 = 31;
/// The largest offset code this decoder reads (as many extra bits).
const MAX_OFFSET_CODE: u8 = 27;
/// The most sequences a block's match can repeat from, for [`Frame::repeat_periods`].
const MAX_PERIODS: usize = 4;

impl Frame {
    /// Decodes the content of a compressed block onto `out`.
    fn compressed_block(&mut self, content: &[u8], out: &mut [u8]) -> Option<()> {
        let mut input = Input { bytes: content };
        let literals = raw_literals(&mut input)?;
        let first = input.byte()?;
        let count = match first {
            0..=127 => usize::from(first),
            255 => 0x7f00 + usize::from(u16::from_le_bytes(input.array()?)),
            _ => (usize::from(first - 128) << 8) + usize::from(input.byte()?),
        };
        if count == 0 {
            // Literals alone; nothing may follow.
            if !input.bytes.is_empty() {
                return None;
            }
            return self.copy_literals(literals, out);
        }
        let modes = input.byte()?;
        if modes & 3 != 0 {
            return None;
        }
        let mut codes = [0u8; 3];
        for (i, code) in codes.iter_mut().enumerate() {
            *code = match (modes >> (6 - 2 * i)) & 3 {
                // RLE mode.
                1 => input.byte()?,
                // Repeat mode (the last block's codes were RLE ones: others are not read here).
                3 => self.codes?[i],
                _ => return None,
            };
        }
        self.codes = Some(codes);
        let [literal_code, offset_code, match_code] = codes;
        if literal_code == 0
            || literal_code > MAX_PLAIN_LITERAL_CODE
            || match_code > MAX_PLAIN_MATCH_CODE
            || offset_code > MAX_OFFSET_CODE
        {
            return None;
        }
        let shape = Shape {
            literal: usize::from(literal_code),
            repeat: usize::from(match_code) + 3,
        };
        let bits = BackwardBits::new(input.bytes)?;
        let offset_bits = u32::from(offset_code);
        if bits.remaining != (offset_bits as usize).checked_mul(count)? {
            return None;
        }
        let mut literals = literals;
        if offset_bits == 0 {
            // Every sequence repeats from the most recent offset.
            let offset = self.repeats[0];
            self.same_offset(shape, offset, count, &mut literals, out)?;
        } else if let Some(value) = same_value(bits, offset_bits, count).filter(|&v| v > 3) {
            // Every sequence names the same offset (as the first block of a frame of word
            // repeats does): the repeat offsets end as if each had been decoded on its own.
            let offset = value - 3;
            let [first, second, _] = self.repeats;
            self.repeats = match count {
                1 => [offset, first, second],
                2 => [offset, offset, first],
                _ => [offset; 3],
            };
            self.same_offset(shape, offset, count, &mut literals, out)?;
        } else {
            let mut bits = BackwardBits::new(input.bytes)?;
            for _ in 0..count {
                let value = (1usize << offset_bits) + bits.read(offset_bits)? as usize;
                let offset = self.offset(value);
                self.sequence(shape, offset, &mut literals, out)?;
            }
        }
        self.copy_literals(literals, out)
    }

    /// The offset of a sequence with offset value `value` (and literals), updating the repeat
    /// offsets: values 1 to 3 name a repeat offset, larger ones an offset 3 less.
    fn offset(&mut self, value: usize) -> usize {
        let [first, second, third] = self.repeats;
        let (offset, repeats) = match value {
            1 => (first, self.repeats),
            2 => (second, [second, first, third]),
            3 => (third, [third, first, second]),
            _ => (value - 3, [value - 3, first, second]),
        };
        self.repeats = repeats;
        offset
    }

    /// Copies the literals of a sequence of `shape`, then repeats the bytes `offset` back.
    fn sequence(
        &mut self,
        shape: Shape,
        offset: usize,
        literals: &mut &[u8],
        out: &mut [u8],
    ) -> Option<()> {
        let (now, rest) = literals.split_at_checked(shape.literal)?;
        *literals = rest;
        let at = self.written;
        let from = at.checked_add(now.len())?;
        out.get_mut(at..from)?.copy_from_slice(now);
        let source = from.checked_sub(offset)?;
        let end = from.checked_add(shape.repeat)?;
        if end > out.len() || offset == 0 {
            return None;
        }
        if offset >= shape.repeat {
            out.copy_within(source..source + shape.repeat, from);
        } else {
            // The repeat overlaps the bytes it makes: byte by byte.
            for i in from..end {
                let byte = *out.get(i - offset)?;
                *out.get_mut(i)? = byte;
            }
        }
        self.written = end;
        Some(())
    }

    /// Decodes `count` sequences of `shape` that all repeat from `offset`. When that is a
    /// whole number of sequences back (up to [`MAX_PERIODS`]) and the block starts at least
    /// that far into the frame, each sequence repeats what the sequence that far back
    /// repeated, so all of them are fixed-size copies of the block's literals and of the bytes
    /// before the block; otherwise they are decoded one by one.
    fn same_offset(
        &mut self,
        shape: Shape,
        offset: usize,
        count: usize,
        literals: &mut &[u8],
        out: &mut [u8],
    ) -> Option<()> {
        let period = shape.literal + shape.repeat;
        let start = self.written;
        if !offset.is_multiple_of(period)
            || !(period..=MAX_PERIODS * period).contains(&offset)
            || offset > start
        {
            for _ in 0..count {
                self.sequence(shape, offset, literals, out)?;
            }
            return Some(());
        }
        let (now, later) = literals.split_at_checked(count.checked_mul(shape.literal)?)?;
        *literals = later;
        let end = start.checked_add(count.checked_mul(period)?)?;
        let (done, rest) = out.split_at_mut(start);
        let before = done.get(start - offset..)?;
        let block = rest.get_mut(..end - start)?;
        match (shape.literal, period) {
            (1, 4) => fill_periods::<1, 4>(before, block, now),
            (1, 8) => fill_periods::<1, 8>(before, block, now),
            (2, 8) => fill_periods::<2, 8>(before, block, now),
            (3, 8) => fill_periods::<3, 8>(before, block, now),
            (4, 8) => fill_periods::<4, 8>(before, block, now),
            (5, 8) => fill_periods::<5, 8>(before, block, now),
            (2, 16) => fill_periods::<2, 16>(before, block, now),
            (3, 16) => fill_periods::<3, 16>(before, block, now),
            (4, 16) => fill_periods::<4, 16>(before, block, now),
            _ => {
                let templates = before.chunks_exact(period).cycle();
                let sequences = block
                    .chunks_exact_mut(period)
                    .zip(now.chunks_exact(shape.literal));
                for ((sequence, literal), template) in sequences.zip(templates) {
                    let (low, high) = sequence.split_at_mut(shape.literal);
                    low.copy_from_slice(literal);
                    high.copy_from_slice(template.get(shape.literal..)?);
                }
            }
        }
        self.written = end;
        Some(())
    }

    /// Copies `literals` (what the block's sequences left) onto `out`.
    fn copy_literals(&mut self, literals: &[u8], out: &mut [u8]) -> Option<()> {
        let end = self.written.checked_add(literals.len())?;
        out.get_mut(self.written..end)?.copy_from_slice(literals);
        self.written = end;
        Some(())
    }
}

/// The lengths of a block's sequences: `literal` bytes of literals, then `repeat` bytes of
/// repeat.
#[derive(Clone, Copy)]
struct Shape {
    literal: usize,
    repeat: usize,
}

/// Fills `block` with sequences of `LITERAL` literals (from `literals`) and `PERIOD - LITERAL`
/// repeated bytes, each repeating from as many sequences back as `before` (the bytes just
/// before the block, whole sequences, at most [`MAX_PERIODS`]) holds: the repeated bytes of
/// `before`'s sequences, in turn.
fn fill_periods<const LITERAL: usize, const PERIOD: usize>(
    before: &[u8],
    block: &mut [u8],
    literals: &[u8],
) {
    let mut templates = [[0u8; PERIOD]; MAX_PERIODS];
    // Whole sequences, one to MAX_PERIODS of them (what the caller gives); kept in that range
    // so that the turn of templates below stays within the array whatever it is given.
    let count = (before.len() / PERIOD).clamp(1, MAX_PERIODS);
    for (template, sequence) in templates.iter_mut().zip(before.chunks_exact(PERIOD)) {
        template.copy_from_slice(sequence);
    }
    let sequences = block
        .chunks_exact_mut(PERIOD)
        .zip(literals.chunks_exact(LITERAL));
    // The whole template is written first and the literals over it: a copy out of a template
    // just written to would wait for the small store to reach it.
    if count == 1 {
        let template = &templates[0];
        for (sequence, literal) in sequences {
            sequence.copy_from_slice(template);
            sequence[..LITERAL].copy_from_slice(literal);
        }
        return;
    }
    let mut next = 0;
    for (sequence, literal) in sequences {
        sequence.copy_from_slice(&templates[next]);
        sequence[..LITERAL].copy_from_slice(literal);
        next += 1;
        if next == count {
            next = 0;
        }
    }
}

/// A block's raw literals section: the header (type 0, the size in 5, 12 or 20 bits) and
/// the literals. Other literals sections are not read here.
fn raw_literals<'a>(input: &mut Input<'a>) -> Option<&'a [u8]> {
    let first = input.byte()?;
    if first & 3 != 0 {
        return None;
    }
    let size = match (first >> 2) & 3 {
        0 | 2 => usize::from(first >> 3),
        1 => usize::from(first >> 4) | usize::from(input.byte()?) << 4,
        _ => {
            let [second, third] = input.array()?;
            usize::from(first >> 4) | usize::from(second) << 4 | usize::from(third) << 12
        }
    };
    if size > MAX_BLOCK {
        return None;
    }
    input.take(size)
}

/// The offset value all `count` sequences of `bits` name, if they name the same one.
fn same_value(mut stream: BackwardBits, bits: u32, count: usize) -> Option<usize> {
    let first = stream.read(bits)?;
    for _ in 1..count {
        if stream.read(bits)? != first {
            return None;
        }
    }
    Some((1usize << bits) + first as usize)
}

/// A sequences bit stream, read from its end: the highest set bit of its last byte marks
/// the end, and the bits below it are read from the top down.
struct BackwardBits<'a> {
    bytes: &'a [u8],
    /// Bits not read yet.
    remaining: usize,
}

impl<'a> BackwardBits<'a> {
    /// The stream in `bytes`, which must end with a byte holding the end mark.
    fn new(bytes: &'a [u8]) -> Option<Self> {
        let last = *bytes.last()?;
        if last == 0 {
            return None;
        }
        let remaining = bytes.len() * 8 - 1 - last.leading_zeros() as usize;
        Some(Self { bytes, remaining })
    }

    /// The next `count` bits (at most 32).
    fn read(&mut self, count: u32) -> Option<u64> {
        self.remaining = self.remaining.checked_sub(count as usize)?;
        let first = self.remaining / 8;
        let window = match self.bytes.get(first..first + 8) {
            Some(eight) => u64::from_le_bytes(eight.try_into().ok()?),
            None => {
                // Near the stream's end: the bytes there, zeros above.
                let mut window = [0u8; 8];
                let available = self.bytes.get(first..)?;
                window[..available.len()].copy_from_slice(available);
                u64::from_le_bytes(window)
            }
        };
        let bits = window >> (self.remaining % 8);
        Some(bits & ((1u64 << count) - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encodings::zstd_frames::tests::mix;
    use crate::encodings::zstd_frames::{stored_frame, wide_values_frame, word_repeats_frame};
    use proptest::prelude::*;

    /// `frame` decoded by this module into room for `room` bytes (`None` when it declines),
    /// after checking that libzstd decodes it to the same bytes whenever this module does.
    fn decode_checked(frame: &[u8], room: usize) -> Option<Vec<u8>> {
        let mut out = vec![0xa5; room];
        let (taken, made) = decode_frame(frame, &mut out)?;
        assert!(taken <= frame.len());
        out.truncate(made);
        let reference = zstd::bulk::decompress(&frame[..taken], room.max(1))
            .expect("a frame decoded here decodes with libzstd");
        assert_eq!(out, reference, "decoded differently from libzstd");
        Some(out)
    }

    /// Offsets of `count` strings with lengths from `length` (as `width`-byte words).
    fn offsets(count: u64, width: usize, length: impl Fn(u64) -> u64) -> Vec<u8> {
        let mut at = 0u64;
        let mut out = Vec::new();
        for n in 0..=count {
            out.extend_from_slice(&at.to_le_bytes()[..width]);
            at += length(n);
        }
        out
    }

    #[test]
    fn decodes_every_frame_the_writers_make() {
        for size in [0usize, 1, 255, 256, 65_792, 131_072, 131_073, 300_000] {
            let data: Vec<u8> = (0..size as u64).map(|n| mix(n) as u8).collect();
            let mut frame = Vec::new();
            stored_frame(&data, &mut frame);
            assert_eq!(decode_checked(&frame, size).as_deref(), Some(&data[..]));
        }
        for (width, low) in [(16, 3), (16, 13), (32, 15), (8, 2), (4, 1)] {
            for count in [1u64, 2, 3, 5, 1024, 8193, 40_000] {
                let data: Vec<u8> = (0..count)
                    .flat_map(|n| {
                        let random = mix(n).to_le_bytes();
                        (0..width).map(move |i| if i < low { random[i % 8] } else { 0 })
                    })
                    .collect();
                let mut frame = Vec::new();
                assert!(wide_values_frame(&data, width, &mut frame));
                let decoded = decode_checked(&frame, data.len());
                assert_eq!(decoded.as_deref(), Some(&data[..]), "{width} {count}");
            }
        }
        for width in [4, 8] {
            // Short strings (most words repeat), long ones (few do), a mixture, and enough
            // words for blocks of 128 KiB.
            let lengths: [&dyn Fn(u64) -> u64; 4] = [
                &|n| 5 + mix(n) % 30,
                &|n| 200 + mix(n) % 900,
                &|n| {
                    if mix(n).is_multiple_of(7) {
                        3000
                    } else {
                        mix(n) % 20
                    }
                },
                &|_| 0,
            ];
            for length in lengths {
                for count in [1u64, 2, 3, 40, 255, 70_000] {
                    let data = offsets(count, width, length);
                    let mut frame = Vec::new();
                    assert!(word_repeats_frame(&data, width, &mut frame));
                    let decoded = decode_checked(&frame, data.len());
                    assert_eq!(decoded.as_deref(), Some(&data[..]), "{width} {count}");
                }
            }
        }
    }

    #[test]
    fn leaves_zstd_own_frames_to_libzstd_or_agrees_with_it() {
        let text: Vec<u8> = (0..50_000u64)
            .flat_map(|n| format!("word{} ", mix(n) % 300).into_bytes())
            .collect();
        let offsets = offsets(10_000, 4, |n| mix(n) % 40);
        for data in [&text[..], &offsets[..], &[7u8; 5000][..], &[][..]] {
            for level in [1, 3, 19] {
                let frame = zstd::bulk::compress(data, level).unwrap();
                // Huffman-coded literals or coded sequences are declined; anything decoded
                // is checked against libzstd.
                if let Some(decoded) = decode_checked(&frame, data.len()) {
                    assert_eq!(decoded, data);
                }
            }
        }
        let frame = zstd::bulk::compress(&text, 3).unwrap();
        assert_eq!(decode_checked(&frame, text.len()), None);
    }

    #[test]
    fn declines_frames_that_do_not_fit_or_are_cut_short() {
        let data = offsets(1000, 4, |n| 1 + mix(n) % 30);
        let mut frame = Vec::new();
        assert!(word_repeats_frame(&data, 4, &mut frame));
        let mut out = vec![0; data.len()];
        assert_eq!(
            decode_frame(&frame, &mut out),
            Some((frame.len(), data.len()))
        );
        assert_eq!(out, data);
        assert_eq!(decode_frame(&frame, &mut out[..data.len() - 1]), None);
        for cut in [0, 3, 4, 6, frame.len() / 2, frame.len() - 1] {
            assert_eq!(decode_frame(&frame[..cut], &mut out), None, "{cut}");
        }
        // A frame followed by more bytes takes only its own.
        frame.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            decode_frame(&frame, &mut out),
            Some((frame.len() - 3, data.len()))
        );
    }

    #[test]
    fn sequences_that_name_different_offsets_decode_one_by_one() {
        use crate::encodings::zstd_frames::{
            COMPRESSED_BLOCK, Code, RAW_BLOCK, block_header, frame_header, literals_header,
            sequences_header,
        };
        // A raw block "abcdefgh", then three sequences of a literal and 3 bytes repeated from
        // offsets 8, 6 and 6 (offset code 3: values 8 to 15, each the offset plus 3), and the
        // literal "!" after them.
        let expected = b"abcdefghxbcdyhxbzdyh!";
        let mut frame = Vec::new();
        frame_header(expected.len(), &mut frame);
        block_header(8, RAW_BLOCK, false, &mut frame);
        frame.extend_from_slice(b"abcdefgh");
        let mut block = Vec::new();
        literals_header(4, &mut block);
        block.extend_from_slice(b"xyz!");
        sequences_header(3, [Code::Rle(1), Code::Rle(3), Code::Rle(0)], &mut block);
        // Extra bits 011, 001, 001 (values 11, 9, 9), the first sequence's on top, under the
        // end mark.
        let stream: u32 = 0b1_011_001_001;
        block.extend_from_slice(&stream.to_le_bytes()[..2]);
        block_header(block.len(), COMPRESSED_BLOCK, true, &mut frame);
        frame.extend_from_slice(&block);
        assert_eq!(decode_checked(&frame, 64).as_deref(), Some(&expected[..]));
    }

    proptest! {
        #[test]
        fn damaged_frames_are_declined_or_decode_as_libzstd_does(
            kind in 0usize..3,
            count in 2u64..600,
            seed in any::<u64>(),
            damage in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        ) {
            let mut frame = Vec::new();
            let data = match kind {
                0 => {
                    let data = offsets(count, 4, |n| mix(seed ^ n) % 40);
                    prop_assert!(word_repeats_frame(&data, 4, &mut frame));
                    data
                }
                1 => {
                    let data = offsets(count, 8, |n| mix(seed ^ n) % 700);
                    prop_assert!(word_repeats_frame(&data, 8, &mut frame));
                    data
                }
                _ => {
                    let data: Vec<u8> = (0..count * 16)
                        .map(|i| if i % 16 < 3 { mix(seed ^ i) as u8 } else { 0 })
                        .collect();
                    prop_assert!(wide_values_frame(&data, 16, &mut frame));
                    data
                }
            };
            prop_assert_eq!(decode_checked(&frame, data.len()), Some(data.clone()));
            for (at, byte) in damage {
                let at = at % frame.len();
                frame[at] = byte;
            }
            // Room for more than the data, in case the damage makes the frame longer.
            decode_checked(&frame, data.len() * 2);
        }
    }
}
