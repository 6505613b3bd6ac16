//! Variable-width values (strings, binaries).
//!
//! **Mini-block chunk**: one value buffer `[(m+1) offsets][bytes][0x48 padding]`, offsets of 4 or
//! 8 bytes counted from the start of the buffer (so the first is `(m+1)·width`), the whole padded
//! to a multiple of the offset width. Example for `['x','yy','','zzz']`: offsets `20 21 23 23 26`,
//! bytes `xyyzzz`, padding `48 48`.
//!
//! **Block** (dictionaries): `[width as u32 or u64][start of bytes, same type][(n+1) offsets
//! from 0][bytes]`, for example `20000000 2c000000 | 00000000 05000000 ... | "alpha" ...`.

use bytes::Bytes;

use crate::encodings::compression::block::DataBlock;
use crate::error::{Error, Result};

/// The pad byte after a chunk's variable-width values.
const PAD: u8 = 0x48;

fn offset_width(bits: u64) -> Result<usize> {
    match bits {
        32 => Ok(4),
        64 => Ok(8),
        other => Err(Error::corrupt(format!("{other}-bit offsets"))),
    }
}

/// Decodes a mini-block chunk buffer of `num_values` values with `bits`-bit offsets.
pub fn decode_chunk(buffer: Bytes, bits: u64, num_values: usize) -> Result<DataBlock> {
    let width = offset_width(bits)?;
    let offsets_len = num_values
        .checked_add(1)
        .and_then(|n| n.checked_mul(width))
        .filter(|&n| n <= buffer.len())
        .ok_or_else(|| Error::corrupt("variable-width chunk is shorter than its offsets"))?;
    Ok(DataBlock::Variable {
        offsets: buffer.slice(..offsets_len),
        offset_bits: bits as u32,
        data: buffer,
        num_values,
    })
}

/// Encodes `ends.len()` values as a mini-block chunk buffer: `starts` and `ends` index into
/// `data` (the values are `data[start..end]`, consecutive).
pub fn encode_chunk(data: &[u8], offsets: &[u64], bits: u64) -> Result<Vec<u8>> {
    let width = offset_width(bits)?;
    let (Some(&first), Some(&last)) = (offsets.first(), offsets.last()) else {
        return Err(Error::internal("no offsets"));
    };
    let header = (offsets.len() * width) as u64;
    let mut out = Vec::with_capacity(header as usize + (last - first) as usize + width);
    for &offset in offsets {
        let rebased = offset - first + header;
        if width == 4 {
            let rebased = u32::try_from(rebased).map_err(|_| Error::internal("chunk too large"))?;
            out.extend_from_slice(&rebased.to_le_bytes());
        } else {
            out.extend_from_slice(&rebased.to_le_bytes());
        }
    }
    out.extend_from_slice(&data[first as usize..last as usize]);
    while !out.len().is_multiple_of(width) {
        out.push(PAD);
    }
    Ok(out)
}

/// Decodes a block of `num_values` variable-width values.
pub fn decode_block(buffer: Bytes, num_values: usize) -> Result<DataBlock> {
    let word = |at: usize, width: usize| -> Option<u64> {
        let bytes = buffer.get(at..at + width)?;
        let mut full = [0u8; 8];
        full[..width].copy_from_slice(bytes);
        Some(u64::from_le_bytes(full))
    };
    let width = match word(0, 4) {
        Some(32) => 4,
        Some(64) if word(0, 8) == Some(64) => 8,
        _ => return Err(Error::corrupt("variable-width block has an unknown header")),
    };
    let start = word(width, width)
        .and_then(|s| usize::try_from(s).ok())
        .ok_or_else(|| Error::corrupt("variable-width block is too short"))?;
    let offsets_start = 2 * width;
    let offsets_end = num_values
        .checked_add(1)
        .and_then(|n| n.checked_mul(width))
        .and_then(|n| n.checked_add(offsets_start))
        .ok_or_else(|| Error::corrupt("variable-width block claims too many values"))?;
    if start != offsets_end || start > buffer.len() {
        return Err(Error::corrupt(format!(
            "variable-width block: bytes start at {start}, expected {offsets_end} for {num_values} values"
        )));
    }
    Ok(DataBlock::Variable {
        offsets: buffer.slice(offsets_start..offsets_end),
        offset_bits: (width * 8) as u32,
        data: buffer.slice(start..),
        num_values,
    })
}

/// Encodes values as a block with 32-bit offsets (`offsets` start anywhere in `data`).
pub fn encode_block(data: &[u8], offsets: &[u64]) -> Result<Vec<u8>> {
    let (Some(&first), Some(&last)) = (offsets.first(), offsets.last()) else {
        return Err(Error::internal("no offsets"));
    };
    let start = 8 + 4 * offsets.len();
    let mut out = Vec::with_capacity(start + (last - first) as usize);
    out.extend_from_slice(&32u32.to_le_bytes());
    out.extend_from_slice(&(start as u32).to_le_bytes());
    for &offset in offsets {
        let relative = u32::try_from(offset - first)
            .map_err(|_| Error::invalid_argument("dictionary larger than 4 GiB"))?;
        out.extend_from_slice(&relative.to_le_bytes());
    }
    out.extend_from_slice(&data[first as usize..last as usize]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, StringArray};
    use arrow_schema::DataType;

    #[test]
    fn chunks_match_pylance() {
        let buffer = encode_chunk(b"xyyzzz", &[0, 1, 3, 3, 6], 32).unwrap();
        let expected: Vec<u8> = [20u32, 21, 23, 23, 26]
            .iter()
            .flat_map(|o| o.to_le_bytes())
            .chain(*b"xyyzzz")
            .chain([0x48, 0x48])
            .collect();
        assert_eq!(buffer, expected);
        let array = decode_chunk(Bytes::from(buffer), 32, 4)
            .unwrap()
            .into_array(&DataType::Utf8)
            .unwrap();
        let strings = array.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            strings.iter().collect::<Vec<_>>(),
            vec![Some("x"), Some("yy"), Some(""), Some("zzz")]
        );
    }

    #[test]
    fn blocks_round_trip() {
        let buffer = encode_block(b"alphabeta", &[0, 5, 9]).unwrap();
        assert_eq!(&buffer[..8], &[32, 0, 0, 0, 20, 0, 0, 0]);
        let array = decode_block(Bytes::from(buffer.clone()), 2)
            .unwrap()
            .into_array(&DataType::Utf8)
            .unwrap();
        assert_eq!(array.len(), 2);
        assert!(decode_block(Bytes::from(buffer), 3).is_err());
    }
}
