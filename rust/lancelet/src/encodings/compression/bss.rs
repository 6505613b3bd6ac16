//! Byte-stream split: the k-th bytes of all values stored together (all first bytes, then all
//! second bytes, ...), which makes floating-point data compress better. Used inside General
//! compression in mini-block chunks.

use bytes::Bytes;

use crate::encodings::compression::block::DataBlock;
use crate::error::{Error, Result};

/// Splits `num_values` values of `width` bytes into byte streams.
pub fn encode(data: &[u8], width: usize) -> Vec<u8> {
    let count = data.len() / width.max(1);
    let mut out = vec![0u8; count * width];
    for (i, value) in data.chunks_exact(width).enumerate() {
        for (j, byte) in value.iter().enumerate() {
            out[j * count + i] = *byte;
        }
    }
    out
}

/// Joins byte streams back into `num_values` values of `bits` bits.
pub fn decode(data: &[u8], bits: u64, num_values: usize) -> Result<DataBlock> {
    let width = match bits {
        16 | 32 | 64 => (bits / 8) as usize,
        other => {
            return Err(Error::corrupt(format!(
                "byte-stream split of {other}-bit values"
            )));
        }
    };
    if data.len() != width * num_values {
        return Err(Error::corrupt(format!(
            "byte-stream split buffer has {} bytes, expected {}",
            data.len(),
            width * num_values
        )));
    }
    let mut out = vec![0u8; data.len()];
    for i in 0..num_values {
        for j in 0..width {
            out[i * width + j] = data[j * num_values + i];
        }
    }
    Ok(DataBlock::Fixed {
        data: Bytes::from(out),
        bits_per_value: bits,
        num_values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_joins() {
        let values: Vec<u8> = [0x42ac_f5a3u32, 0x42ab_0f7d, 0x42a2_3466]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let split = encode(&values, 4);
        assert_eq!(&split[..3], &[0xa3, 0x7d, 0x66]);
        assert_eq!(&split[9..], &[0x42, 0x42, 0x42]);
        let DataBlock::Fixed { data, .. } = decode(&split, 32, 3).unwrap() else {
            panic!()
        };
        assert_eq!(data.as_ref(), values.as_slice());
    }
}
