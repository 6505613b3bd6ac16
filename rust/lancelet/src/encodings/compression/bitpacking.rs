//! Bit-packing of integers (and the raw bits of floats) with FastLanes blocks.
//!
//! **Inline** (`InlineBitpacking`, mini-block chunks and small blocks): one block of at most
//! 1024 values, stored as `[W as one T-bit word][1024·W/T packed words]`, W being the bit length
//! of the largest value. A block with fewer than 1024 values is padded with zeros; the count
//! comes from outside.
//!
//! **Out-of-line** (`OutOfLineBitpacking`, whole buffers such as rep/def levels): one width W
//! for the buffer, given by the encoding. `n / 1024` packed blocks follow each other; the
//! `n % 1024` remaining values are either padded and packed as one more block, or appended as
//! raw T-bit words. A reader tells which from the buffer length (raw exactly when the buffer has
//! `full_blocks · 1024·W/T + tail` words).

use std::ops::Range;

use crate::encodings::compression::block::DataBlock;
use crate::encodings::compression::fastlanes::{self, BLOCK, Word, packed_words};
use crate::error::{Error, Result};

/// The bit length of the largest value.
fn width_of<T: Word>(values: &[T]) -> usize {
    let or = values.iter().fold(0u64, |acc, v| acc | v.to_u64());
    (64 - or.leading_zeros()) as usize
}

fn to_bytes<T: Word>(words: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(words.len() * T::BITS / 8);
    for word in words {
        word.write_le(&mut out);
    }
    out
}

fn fixed<T: Word>(values: Vec<T>) -> DataBlock {
    let num_values = values.len();
    let data = fastlanes::into_le_bytes(values);
    DataBlock::Fixed {
        data,
        bits_per_value: T::BITS as u64,
        num_values,
    }
}

/// Packs at most 1024 values inline: `[W][packed block]`.
pub fn encode_inline<T: Word>(values: &[T]) -> Vec<u8> {
    let width = width_of(values);
    let mut block = [T::default(); BLOCK];
    block[..values.len()].copy_from_slice(values);
    let mut words = vec![T::from_u64(width as u64)];
    fastlanes::pack(&block, width, &mut words);
    to_bytes(&words)
}

/// The width and packed bytes of an inline-packed block holding `num_values` values, checked.
fn inline_parts<T: Word>(buffer: &[u8], num_values: usize) -> Result<(usize, &[u8])> {
    let word_bytes = T::BITS / 8;
    if num_values > BLOCK {
        return Err(Error::corrupt(format!(
            "an inline bit-packed block holds at most 1024 values, not {num_values}"
        )));
    }
    if buffer.len() < word_bytes || !buffer.len().is_multiple_of(word_bytes) {
        return Err(Error::corrupt(format!(
            "inline bit-packed buffer of {} bytes is not whole {}-bit words",
            buffer.len(),
            T::BITS
        )));
    }
    let width = T::from_le(&buffer[..word_bytes]).to_u64();
    if width > T::BITS as u64 {
        return Err(Error::corrupt(format!(
            "bit width {width} exceeds the {}-bit value type",
            T::BITS
        )));
    }
    let width = width as usize;
    let payload = &buffer[word_bytes..];
    if payload.len() != packed_words::<T>(width) * word_bytes {
        return Err(Error::corrupt(format!(
            "inline bit-packed block of width {width} has {} bytes, expected {}",
            payload.len(),
            packed_words::<T>(width) * word_bytes
        )));
    }
    Ok((width, payload))
}

/// Decodes an inline-packed block holding `num_values` (at most 1024) values.
pub fn decode_inline<T: Word>(buffer: &[u8], num_values: usize) -> Result<DataBlock> {
    let mut out = vec![T::default(); BLOCK];
    let block: &mut [T; BLOCK] = out
        .as_mut_slice()
        .try_into()
        .map_err(|_| Error::internal("a block is 1024 values"))?;
    unpack_inline(buffer, num_values, block)?;
    out.truncate(num_values);
    Ok(fixed(out))
}

/// Unpacks an inline-packed block holding `num_values` (at most 1024) values into `out`:
/// all 1024 slots are written, those past `num_values` with the block's padding.
pub fn unpack_inline<T: Word>(
    buffer: &[u8],
    num_values: usize,
    out: &mut [T; BLOCK],
) -> Result<()> {
    let (width, payload) = inline_parts::<T>(buffer, num_values)?;
    fastlanes::unpack_le(payload, width, out);
    Ok(())
}

/// The values of `ranges` (in order) of an inline-packed block holding `num_values` values,
/// each unpacked on its own: a take wants a few values of a block, not all 1024.
pub fn select_inline<T: Word>(
    buffer: &[u8],
    num_values: usize,
    ranges: &[Range<usize>],
) -> Result<DataBlock> {
    let (width, payload) = inline_parts::<T>(buffer, num_values)?;
    let mut out = Vec::with_capacity(ranges.iter().map(Range::len).sum());
    for range in ranges {
        if range.start > range.end || range.end > num_values {
            return Err(Error::corrupt(format!(
                "values {range:?} are outside a block of {num_values}"
            )));
        }
        out.extend(
            range
                .clone()
                .map(|i| fastlanes::unpack_one::<T>(payload, width, i)),
        );
    }
    Ok(fixed(out))
}

/// Packs values out of line at one width for all of them (their largest bit length). Returns
/// the width and the buffer.
pub fn encode_out_of_line<T: Word>(values: &[T]) -> (usize, Vec<u8>) {
    let width = width_of(values);
    (width, encode_out_of_line_at(values, width))
}

/// Packs values out of line at `width` bits, which must be at least their largest bit length.
pub fn encode_out_of_line_at<T: Word>(values: &[T], width: usize) -> Vec<u8> {
    let mut words = Vec::new();
    let mut chunks = values.chunks_exact(BLOCK);
    let mut block = [T::default(); BLOCK];
    for chunk in chunks.by_ref() {
        block.copy_from_slice(chunk);
        fastlanes::pack(&block, width, &mut words);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        // Pad and pack only when padding costs fewer bits than packing saves.
        let padding_cost = width * (BLOCK - tail.len());
        let packing_saves = (T::BITS - width) * tail.len();
        if padding_cost < packing_saves {
            block = [T::default(); BLOCK];
            block[..tail.len()].copy_from_slice(tail);
            fastlanes::pack(&block, width, &mut words);
        } else {
            words.extend_from_slice(tail);
        }
    }
    to_bytes(&words)
}

/// Decodes `num_values` values packed out of line at `width` bits.
pub fn decode_out_of_line<T: Word>(
    buffer: &[u8],
    width: u64,
    num_values: usize,
) -> Result<DataBlock> {
    let word_bytes = T::BITS / 8;
    if width > T::BITS as u64 {
        return Err(Error::corrupt(format!(
            "bit width {width} exceeds {} bits",
            T::BITS
        )));
    }
    let width = width as usize;
    if !buffer.len().is_multiple_of(word_bytes) {
        return Err(Error::corrupt(
            "out-of-line bit-packed buffer is not whole words",
        ));
    }
    let num_words = buffer.len() / word_bytes;
    let per_block = packed_words::<T>(width);
    let (full, tail) = (num_values / BLOCK, num_values % BLOCK);
    let raw_tail = tail > 0 && num_words == full * per_block + tail;
    let expected = if tail == 0 {
        full * per_block
    } else if raw_tail {
        full * per_block + tail
    } else {
        (full + 1) * per_block
    };
    if num_words != expected {
        return Err(Error::corrupt(format!(
            "out-of-line bit-packed buffer has {num_words} words; {num_values} values of {width} bits need {expected}"
        )));
    }
    // The blocks are unpacked straight from the buffer's little-endian bytes.
    let block_bytes = per_block * word_bytes;
    let mut out = Vec::with_capacity(num_values);
    let mut block = [T::default(); BLOCK];
    for index in 0..full {
        fastlanes::unpack_le(
            &buffer[index * block_bytes..(index + 1) * block_bytes],
            width,
            &mut block,
        );
        out.extend_from_slice(&block);
    }
    if tail > 0 {
        let rest = &buffer[full * block_bytes..];
        if raw_tail {
            out.extend(rest.chunks_exact(word_bytes).map(T::from_le));
        } else {
            fastlanes::unpack_le(rest, width, &mut block);
            out.extend_from_slice(&block[..tail]);
        }
    }
    Ok(fixed(out))
}

/// Dispatches [`select_inline`] on the word width.
pub fn select_inline_bits(
    bits: u64,
    buffer: &[u8],
    num_values: usize,
    ranges: &[Range<usize>],
) -> Result<DataBlock> {
    match bits {
        8 => select_inline::<u8>(buffer, num_values, ranges),
        16 => select_inline::<u16>(buffer, num_values, ranges),
        32 => select_inline::<u32>(buffer, num_values, ranges),
        64 => select_inline::<u64>(buffer, num_values, ranges),
        other => Err(Error::not_supported(format!(
            "bit-packing of {other}-bit values"
        ))),
    }
}

/// Dispatches on the word width.
pub fn decode_inline_bits(bits: u64, buffer: &[u8], num_values: usize) -> Result<DataBlock> {
    match bits {
        8 => decode_inline::<u8>(buffer, num_values),
        16 => decode_inline::<u16>(buffer, num_values),
        32 => decode_inline::<u32>(buffer, num_values),
        64 => decode_inline::<u64>(buffer, num_values),
        other => Err(Error::not_supported(format!(
            "bit-packing of {other}-bit values"
        ))),
    }
}

/// Dispatches on the word width.
pub fn decode_out_of_line_bits(
    bits: u64,
    buffer: &[u8],
    width: u64,
    num_values: usize,
) -> Result<DataBlock> {
    match bits {
        8 => decode_out_of_line::<u8>(buffer, width, num_values),
        16 => decode_out_of_line::<u16>(buffer, width, num_values),
        32 => decode_out_of_line::<u32>(buffer, width, num_values),
        64 => decode_out_of_line::<u64>(buffer, width, num_values),
        other => Err(Error::not_supported(format!(
            "bit-packing of {other}-bit values"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_round_trips_and_reads_pylance_layout() {
        let values: Vec<u32> = (0..476).map(|i| i % 100).collect();
        let buffer = encode_inline(&values);
        // Width word 7, then 1024 * 7 / 32 words: 900 bytes, as in pylance's chunks.
        assert_eq!(buffer.len(), 900);
        assert_eq!(&buffer[..4], &[7, 0, 0, 0]);
        let decoded = decode_inline::<u32>(&buffer, 476)
            .unwrap()
            .to_u64s()
            .unwrap();
        assert_eq!(
            decoded,
            values.iter().map(|&v| u64::from(v)).collect::<Vec<_>>()
        );
        assert!(decode_inline::<u32>(&buffer[..899], 476).is_err());
        assert!(
            decode_inline::<u32>(&[40, 0, 0, 0], 1).is_err(),
            "width above 32"
        );
        assert!(decode_inline::<u32>(&buffer, 2000).is_err());
        let picked = select_inline::<u32>(&buffer, 476, &[300..302, 5..6, 475..476])
            .unwrap()
            .to_u64s()
            .unwrap();
        assert_eq!(picked, vec![0, 1, 5, 75]);
        assert!(select_inline::<u32>(&buffer, 476, std::slice::from_ref(&(470..477))).is_err());
    }

    #[test]
    fn out_of_line_tails_are_raw_or_packed_as_pylance_chooses() {
        // 1127 def levels of width 2: tail 103 costs 2*921 >= 14*103, so it is stored raw.
        let levels: Vec<u16> = (0..1127).map(|i| (i % 3) as u16).collect();
        let (width, buffer) = encode_out_of_line(&levels);
        assert_eq!(width, 2);
        assert_eq!(buffer.len(), 256 + 206);
        // Width 1: tail 103 costs 921 < 15*103, so it is padded and packed.
        let rep: Vec<u16> = (0..1127).map(|i| (i % 2) as u16).collect();
        let (width, packed) = encode_out_of_line(&rep);
        assert_eq!((width, packed.len()), (1, 256));
        for (values, width, buffer) in [(&levels, 2, &buffer), (&rep, 1, &packed)] {
            let decoded = decode_out_of_line::<u16>(buffer, width, values.len()).unwrap();
            let decoded: Vec<u16> = decoded.to_u16s().unwrap();
            assert_eq!(&decoded, values);
        }
        assert!(decode_out_of_line::<u16>(&buffer, 2, 5000).is_err());
    }
}
