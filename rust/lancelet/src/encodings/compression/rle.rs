//! Run-length encoding: run values (at the original width) and u8 run lengths.
//!
//! A run longer than 255 is written as several entries of the same value. In mini-block
//! chunks the values and the lengths are two value buffers. In block form (2.2) they share one
//! buffer: `u64 LE byte length of the values | values | u8 run lengths`.

use std::ops::Range;

use bytes::Bytes;

use crate::encodings::compression::block::DataBlock;
use crate::error::{Error, Result};

/// Splits fixed-width values (`width` bytes each) into runs: `(run values, run lengths)`.
pub fn encode(data: &[u8], width: usize) -> (Vec<u8>, Vec<u8>) {
    let runs = encode_fitting(data, width, usize::MAX, usize::MAX);
    (runs.values, runs.lengths)
}

/// The runs of a prefix of some values.
#[derive(Debug, PartialEq)]
pub struct Runs {
    /// The runs' values, back to back.
    pub values: Vec<u8>,
    /// The runs' lengths (1 to 255).
    pub lengths: Vec<u8>,
    /// The values the runs cover.
    pub covered: usize,
}

impl Runs {
    /// Keeps the runs of the first `len` values (at least one, at most those covered).
    pub fn truncate(&mut self, len: usize, width: usize) {
        let mut total = 0usize;
        for (index, length) in self.lengths.iter_mut().enumerate() {
            let run = usize::from(*length);
            if total + run >= len {
                *length = (len - total) as u8;
                self.lengths.truncate(index + 1);
                self.values.truncate((index + 1) * width);
                self.covered = len;
                return;
            }
            total += run;
        }
    }
}

/// The runs of the longest prefix of `data` (at most `max_values` values) that `encode`
/// turns into at most `max_runs` runs, found and encoded in one pass.
pub fn encode_fitting(data: &[u8], width: usize, max_runs: usize, max_values: usize) -> Runs {
    // Whole-word comparisons for the common widths (a slice comparison is a call to `memcmp`
    // per value).
    match width {
        1 => encode_items(data.as_chunks::<1>().0, max_runs, max_values),
        2 => encode_items(data.as_chunks::<2>().0, max_runs, max_values),
        4 => encode_items(data.as_chunks::<4>().0, max_runs, max_values),
        8 => encode_items(data.as_chunks::<8>().0, max_runs, max_values),
        16 => encode_items(data.as_chunks::<16>().0, max_runs, max_values),
        _ => {
            let items: Vec<&[u8]> = data.chunks_exact(width.max(1)).collect();
            encode_items(&items, max_runs, max_values)
        }
    }
}

/// [`encode_fitting`] of items (arrays or slices of the value width).
fn encode_items<T: PartialEq + AsRef<[u8]>>(
    items: &[T],
    max_runs: usize,
    max_values: usize,
) -> Runs {
    let items = items.get(..max_values).unwrap_or(items);
    let mut values = Vec::new();
    let mut lengths = Vec::new();
    let mut at = 0;
    while let Some(value) = items.get(at) {
        if lengths.len() == max_runs {
            break;
        }
        let mut run = 1usize;
        while run < 255 && items.get(at + run) == Some(value) {
            run += 1;
        }
        values.extend_from_slice(value.as_ref());
        lengths.push(run as u8);
        at += run;
    }
    Runs {
        values,
        lengths,
        covered: at,
    }
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
fn runs_of<T: PartialEq>(items: impl IntoIterator<Item = T>) -> usize {
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

/// Checks that `values` and `lengths` describe `num_values` values of `bits` bits; returns
/// the value width in bytes.
pub fn checked_width(values: &[u8], lengths: &[u8], bits: u64, num_values: usize) -> Result<usize> {
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
    Ok(width)
}

/// Expands runs back into `num_values` values of `bits` bits.
pub fn decode(values: &[u8], lengths: &[u8], bits: u64, num_values: usize) -> Result<DataBlock> {
    let width = checked_width(values, lengths, bits, num_values)?;
    let mut out = vec![0u8; num_values * width];
    expand_into(values, lengths, width, &mut out);
    Ok(DataBlock::Fixed {
        data: Bytes::from(out),
        bits_per_value: bits,
        num_values,
    })
}

/// Writes runs of `width`-byte values (as [`checked_width`] returned) into `out`, which
/// holds the runs' values exactly.
pub fn expand_into(values: &[u8], lengths: &[u8], width: usize, out: &mut [u8]) {
    match width {
        1 => expand::<1>(values, lengths, out),
        2 => expand::<2>(values, lengths, out),
        4 => expand::<4>(values, lengths, out),
        8 => expand::<8>(values, lengths, out),
        _ => expand::<16>(values, lengths, out),
    }
}

/// Writes each run value `W` bytes wide its run length times into `out` (which
/// [`checked_width`] has sized to the lengths' total).
///
/// A run of at most [`SHORT_RUN`] values is written as that many copies, whatever its length,
/// while there is room for them: the next run overwrites the extra ones. Runs of sorted keys
/// are short (TPC-H orders have 1 to 7 lines), and a loop of the run's own length cost a
/// branch mispredicted about once per run.
fn expand<const W: usize>(values: &[u8], lengths: &[u8], out: &mut [u8]) {
    let (slots, _) = out.as_chunks_mut::<W>();
    let mut at = 0usize;
    for (value, &length) in values.as_chunks::<W>().0.iter().zip(lengths) {
        let length = usize::from(length);
        if let Some(window) = slots
            .get_mut(at..)
            .and_then(<[[u8; W]]>::first_chunk_mut::<SHORT_RUN>)
            .filter(|_| length <= SHORT_RUN)
        {
            *window = [*value; SHORT_RUN];
        } else if let Some(run) = slots.get_mut(at..at + length) {
            run.fill(*value);
        }
        at += length;
    }
}

/// Runs of at most this many values are written as whole windows by [`expand`].
const SHORT_RUN: usize = 8;

/// The values of the rows in `ranges` (within `0..num_values`, in any order), without
/// expanding the other runs.
pub fn select(
    values: &[u8],
    lengths: &[u8],
    bits: u64,
    num_values: usize,
    ranges: &[Range<usize>],
) -> Result<DataBlock> {
    let width = checked_width(values, lengths, bits, num_values)?;
    // The row after each run ends.
    let ends: Vec<usize> = lengths
        .iter()
        .scan(0usize, |end, &l| {
            *end += usize::from(l);
            Some(*end)
        })
        .collect();
    let selected: usize = ranges.iter().map(|r| r.len()).sum();
    let mut out = Vec::with_capacity(selected * width);
    for range in ranges {
        if range.end > num_values {
            return Err(Error::corrupt(format!(
                "rows {range:?} of a run-length chunk of {num_values} values"
            )));
        }
        let mut run = ends.partition_point(|&end| end <= range.start);
        for row in range.clone() {
            while ends.get(run).is_some_and(|&end| end <= row) {
                run += 1;
            }
            let value = values
                .get(run * width..(run + 1) * width)
                .ok_or_else(|| Error::corrupt("run-length row past the last run"))?;
            out.extend_from_slice(value);
        }
    }
    Ok(DataBlock::Fixed {
        data: Bytes::from(out),
        bits_per_value: bits,
        num_values: selected,
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
    fn the_fitting_prefix_is_the_longest_with_few_enough_runs() {
        // Runs of 1 to 300 equal values (some cut at 255), 2-byte values.
        let mut state = 3u64;
        let mut data = Vec::new();
        for value in 0..200u16 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            for _ in 0..1 + (state >> 33) % 300 {
                data.extend_from_slice(&value.to_le_bytes());
            }
        }
        let values = data.len() / 2;
        for max_runs in [0, 1, 7, 50, 1000] {
            for max_values in [0, 1, 100, values] {
                let mut runs = encode_fitting(&data, 2, max_runs, max_values);
                let prefix = runs.covered;
                assert!(prefix <= max_values);
                assert!(count_runs(&data[..prefix * 2], 2) <= max_runs);
                if prefix < max_values {
                    assert!(count_runs(&data[..(prefix + 1) * 2], 2) > max_runs);
                }
                // The runs are those of the prefix, and cut to a shorter one, of that one.
                let (values, lengths) = encode(&data[..prefix * 2], 2);
                assert_eq!((&runs.values, &runs.lengths), (&values, &lengths));
                for len in [prefix, prefix / 3 + 1, 1] {
                    if (1..=prefix).contains(&len) {
                        runs.truncate(len, 2);
                        let (values, lengths) = encode(&data[..len * 2], 2);
                        assert_eq!(
                            (runs.values.clone(), runs.lengths.clone()),
                            (values, lengths)
                        );
                        assert_eq!(runs.covered, len);
                    }
                }
            }
        }
    }

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

    #[test]
    fn short_runs_expand_up_to_the_last_value() {
        // Runs of 1 to 9 values (9: longer than a window), the last ones within a window's
        // reach of the end, which they must not write past.
        for width in [1usize, 2, 4, 8, 16] {
            for count in [1usize, 2, 7, 50] {
                let mut data = Vec::new();
                for run in 0..count {
                    let value: Vec<u8> = (0..width).map(|b| (run * 31 + b) as u8 | 1).collect();
                    for _ in 0..run % 9 + 1 {
                        data.extend_from_slice(&value);
                    }
                }
                let (values, lengths) = encode(&data, width);
                let mut out = vec![0u8; data.len()];
                expand_into(&values, &lengths, width, &mut out);
                assert_eq!(out, data, "width {width}, {count} runs");
            }
        }
    }

    #[test]
    fn every_width_expands_and_selects_rows_of_runs() {
        for width in [1usize, 2, 4, 8, 16] {
            // Runs of 1 to 300 values (so some are split), values distinct per run.
            let mut data = Vec::new();
            for run in 0..40usize {
                let mut value = vec![0u8; width];
                value[0] = run as u8;
                value[width - 1] |= 0x80;
                for _ in 0..(run * 37) % 300 + 1 {
                    data.extend_from_slice(&value);
                }
            }
            let rows = data.len() / width;
            let bits = (width * 8) as u64;
            let (values, lengths) = encode(&data, width);
            let DataBlock::Fixed { data: back, .. } =
                decode(&values, &lengths, bits, rows).unwrap()
            else {
                panic!("not fixed-width")
            };
            assert_eq!(back.as_ref(), data.as_slice(), "width {width}");
            let ranges = [rows - 3..rows, 0..2, 250..260, 7..7, 1..2];
            let DataBlock::Fixed {
                data: picked,
                num_values,
                ..
            } = select(&values, &lengths, bits, rows, &ranges).unwrap()
            else {
                panic!("not fixed-width")
            };
            let expected: Vec<u8> = ranges
                .iter()
                .flat_map(|r| data[r.start * width..r.end * width].iter().copied())
                .collect();
            assert_eq!(num_values, 16);
            assert_eq!(picked.as_ref(), expected.as_slice(), "width {width}");
            assert!(
                select(
                    &values,
                    &lengths,
                    bits,
                    rows,
                    std::slice::from_ref(&(rows - 1..rows + 1))
                )
                .is_err()
            );
            assert!(
                select(
                    &values,
                    &lengths,
                    bits,
                    rows + 1,
                    std::slice::from_ref(&(0..1))
                )
                .is_err()
            );
        }
    }
}
