//! Run-length encoding: run values (at the original width) and u8 run lengths.
//!
//! A run longer than 255 is written as several entries of the same value. In mini-block
//! chunks the values and the lengths are two value buffers. In block form (2.2) they share one
//! buffer: `u64 LE byte length of the values | values | u8 run lengths`.

use bytes::Bytes;

use crate::encodings::compression::block::DataBlock;
use crate::error::{Error, Result};

/// Splits fixed-width values (`width` bytes each) into runs: `(run values, run lengths)`.
pub fn encode(data: &[u8], width: usize) -> (Vec<u8>, Vec<u8>) {
    let mut values = Vec::new();
    let mut lengths = Vec::new();
    let mut items = data.chunks_exact(width.max(1)).peekable();
    while let Some(value) = items.next() {
        let mut run = 1usize;
        while items.peek() == Some(&value) {
            items.next();
            run += 1;
        }
        while run > 0 {
            let length = run.min(255);
            values.extend_from_slice(value);
            lengths.push(length as u8);
            run -= length;
        }
    }
    (values, lengths)
}

/// The number of runs (entries) `encode` would produce.
pub fn count_runs(data: &[u8], width: usize) -> usize {
    // Whole-word comparisons for the common widths instead of a slice comparison per value.
    match width {
        1 => runs_of(data.as_chunks::<1>().0),
        2 => runs_of(data.as_chunks::<2>().0),
        4 => runs_of(data.as_chunks::<4>().0),
        8 => runs_of(data.as_chunks::<8>().0),
        16 => runs_of(data.as_chunks::<16>().0),
        _ => runs_of(data.chunks_exact(width.max(1))),
    }
}

/// Counts the runs (each at most 255 long) of equal items, as `encode` would cut them.
pub fn runs_of<T: PartialEq>(items: impl IntoIterator<Item = T>) -> usize {
    let mut runs = 0usize;
    let mut previous: Option<T> = None;
    let mut length = 0usize;
    for value in items {
        if previous.as_ref() == Some(&value) && length < 255 {
            length += 1;
        } else {
            runs += 1;
            length = 1;
        }
        previous = Some(value);
    }
    runs
}

/// Expands runs back into `num_values` values of `bits` bits.
pub fn decode(values: &[u8], lengths: &[u8], bits: u64, num_values: usize) -> Result<DataBlock> {
    let width = match bits {
        8 | 16 | 32 | 64 | 128 => (bits / 8) as usize,
        other => return Err(Error::corrupt(format!("run-length values of {other} bits"))),
    };
    if values.len() != lengths.len() * width {
        return Err(Error::corrupt(format!(
            "{} run values of {width} bytes do not match {} run lengths",
            values.len() / width,
            lengths.len()
        )));
    }
    let total: usize = lengths.iter().map(|&l| usize::from(l)).sum();
    if total != num_values {
        return Err(Error::corrupt(format!(
            "run lengths add up to {total} values, expected {num_values}"
        )));
    }
    let mut out = Vec::with_capacity(total * width);
    for (value, &length) in values.chunks_exact(width).zip(lengths) {
        for _ in 0..length {
            out.extend_from_slice(value);
        }
    }
    Ok(DataBlock::Fixed {
        data: Bytes::from(out),
        bits_per_value: bits,
        num_values,
    })
}

/// Decodes the 2.2 block form.
pub fn decode_block(buffer: &[u8], bits: u64, num_values: usize) -> Result<DataBlock> {
    if buffer.len() < 8 {
        return Err(Error::corrupt("run-length block has no length prefix"));
    }
    let (prefix, rest) = buffer.split_at(8);
    let mut word = [0u8; 8];
    word.copy_from_slice(prefix);
    let values_len = usize::try_from(u64::from_le_bytes(word))
        .ok()
        .filter(|&n| n <= rest.len())
        .ok_or_else(|| Error::corrupt("run-length block's value length exceeds the block"))?;
    let (values, lengths) = rest.split_at(values_len);
    decode(values, lengths, bits, num_values)
}

/// Encodes the 2.2 block form.
pub fn encode_block(data: &[u8], width: usize) -> Vec<u8> {
    let (values, lengths) = encode(data, width);
    let mut out = Vec::with_capacity(8 + values.len() + lengths.len());
    out.extend_from_slice(&(values.len() as u64).to_le_bytes());
    out.extend_from_slice(&values);
    out.extend_from_slice(&lengths);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_are_split_at_255() {
        let data: Vec<u8> = std::iter::repeat_n(7u32, 837)
            .chain(std::iter::repeat_n(9, 2))
            .flat_map(u32::to_le_bytes)
            .collect();
        let (values, lengths) = encode(&data, 4);
        assert_eq!(lengths, vec![255, 255, 255, 72, 2]);
        assert_eq!(count_runs(&data, 4), 5);
        let back = decode(&values, &lengths, 32, 839).unwrap();
        let DataBlock::Fixed { data: back, .. } = back else {
            panic!()
        };
        assert_eq!(back.as_ref(), data.as_slice());
        assert!(decode(&values, &lengths, 32, 840).is_err());
    }

    #[test]
    fn block_form_matches_pylance() {
        // From a 2.2 page: def levels [1, 0 x 1023] as u16.
        let bytes = [
            0x0c, 0, 0, 0, 0, 0, 0, 0, // 12 bytes of values
            1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // values 1, 0, 0, 0, 0, 0
            1, 255, 255, 255, 255, 3, // run lengths
        ];
        let levels = decode_block(&bytes, 16, 1024).unwrap().to_u16s().unwrap();
        assert_eq!(levels[0], 1);
        assert!(levels[1..].iter().all(|&l| l == 0));
        let data: Vec<u8> = levels.iter().flat_map(|l| l.to_le_bytes()).collect();
        assert_eq!(
            decode_block(&encode_block(&data, 2), 16, 1024)
                .unwrap()
                .to_u16s()
                .unwrap(),
            levels
        );
    }
}
