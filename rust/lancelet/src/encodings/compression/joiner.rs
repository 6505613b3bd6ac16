//! [`BlockJoiner`]: joins the decoded chunks of a page as they are decoded.

use bytes::Bytes;

use super::block::DataBlock;
use crate::error::{Error, Result};

/// Joins blocks one at a time, as they are decoded. Byte-aligned fixed-width values are
/// copied straight into one buffer of the final size, so each decoded chunk is freed (and its
/// memory reused, still in cache) before the next one is decoded; other kinds of blocks are
/// kept and joined at the end by [`DataBlock::concat`]. A single block is used as it is.
#[derive(Debug)]
pub struct BlockJoiner {
    expected_values: usize,
    first: Option<DataBlock>,
    fixed: Option<FixedValues>,
    others: Vec<DataBlock>,
}

/// Fixed-width values joined so far.
#[derive(Debug)]
struct FixedValues {
    data: Vec<u8>,
    bits_per_value: u64,
    num_values: usize,
}

impl FixedValues {
    fn append(&mut self, block: &DataBlock) -> Result<()> {
        let DataBlock::Fixed {
            data,
            bits_per_value,
            num_values,
        } = block
        else {
            return Err(Error::corrupt("chunks of one page have different shapes"));
        };
        if *bits_per_value != self.bits_per_value {
            return Err(Error::corrupt("chunks of one page have different widths"));
        }
        let bytes = num_values
            .checked_mul((*bits_per_value / 8) as usize)
            .and_then(|len| data.get(..len))
            .ok_or_else(|| Error::corrupt("short chunk"))?;
        self.data.extend_from_slice(bytes);
        self.num_values += num_values;
        Ok(())
    }
}

impl BlockJoiner {
    /// A joiner for blocks that should hold `expected_values` values in all (a capacity hint,
    /// trusted only up to 16 times the values actually decoded).
    pub fn new(expected_values: usize) -> Self {
        Self {
            expected_values,
            first: None,
            fixed: None,
            others: Vec::new(),
        }
    }

    /// Adds the next block.
    pub fn push(&mut self, block: DataBlock) -> Result<()> {
        if let Some(fixed) = &mut self.fixed {
            return fixed.append(&block);
        }
        let Some(first) = self.first.take() else {
            if self.others.is_empty() {
                self.first = Some(block);
            } else {
                self.others.push(block);
            }
            return Ok(());
        };
        match &first {
            DataBlock::Fixed {
                bits_per_value,
                num_values,
                ..
            } if bits_per_value.is_multiple_of(8) && *bits_per_value > 0 => {
                let width = (*bits_per_value / 8) as usize;
                // The expected count comes from the file's chunk table, which later chunks may
                // contradict: reserve at most 16 times what was decoded so far.
                let seen = num_values + block.num_values();
                let capacity = self.expected_values.clamp(seen, seen.saturating_mul(16));
                let mut fixed = FixedValues {
                    data: Vec::with_capacity(capacity.saturating_mul(width)),
                    bits_per_value: *bits_per_value,
                    num_values: 0,
                };
                fixed.append(&first)?;
                fixed.append(&block)?;
                self.fixed = Some(fixed);
            }
            _ => {
                self.others.push(first);
                self.others.push(block);
            }
        }
        Ok(())
    }

    /// The joined block (an error if no block was added).
    pub fn finish(self) -> Result<DataBlock> {
        if let Some(fixed) = self.fixed {
            return Ok(DataBlock::Fixed {
                data: Bytes::from(fixed.data),
                bits_per_value: fixed.bits_per_value,
                num_values: fixed.num_values,
            });
        }
        match self.first {
            Some(block) => Ok(block),
            None => DataBlock::concat(self.others),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(values: &[u16]) -> DataBlock {
        DataBlock::Fixed {
            data: Bytes::from(
                values
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<_>>(),
            ),
            bits_per_value: 16,
            num_values: values.len(),
        }
    }

    fn words(block: &DataBlock) -> Vec<u16> {
        let DataBlock::Fixed { data, .. } = block else {
            panic!("not fixed: {block:?}");
        };
        data.chunks_exact(2)
            .map(|w| u16::from_le_bytes([w[0], w[1]]))
            .collect()
    }

    #[test]
    fn fixed_blocks_are_joined_in_order() {
        let mut joiner = BlockJoiner::new(6);
        for part in [&[1u16, 2][..], &[3], &[4, 5, 6]] {
            joiner.push(fixed(part)).unwrap();
        }
        let joined = joiner.finish().unwrap();
        assert_eq!(joined.num_values(), 6);
        assert_eq!(words(&joined), [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_single_block_is_returned_as_it_is() {
        let mut joiner = BlockJoiner::new(1_000_000);
        joiner.push(fixed(&[7, 8])).unwrap();
        assert_eq!(words(&joiner.finish().unwrap()), [7, 8]);
    }

    #[test]
    fn blocks_of_different_widths_are_corrupt() {
        let mut joiner = BlockJoiner::new(3);
        joiner.push(fixed(&[1, 2])).unwrap();
        let wider = DataBlock::Fixed {
            data: Bytes::from(vec![0u8; 4]),
            bits_per_value: 32,
            num_values: 1,
        };
        assert!(matches!(joiner.push(wider), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn other_blocks_are_joined_at_the_end() {
        let text = |value: &str| DataBlock::Variable {
            offsets: Bytes::from(
                [0u32, value.len() as u32]
                    .iter()
                    .flat_map(|o| o.to_le_bytes())
                    .collect::<Vec<_>>(),
            ),
            offset_bits: 32,
            data: Bytes::from(value.as_bytes().to_vec()),
            num_values: 1,
        };
        let mut joiner = BlockJoiner::new(2);
        joiner.push(text("ab")).unwrap();
        joiner.push(text("cde")).unwrap();
        let DataBlock::Variable {
            data, num_values, ..
        } = joiner.finish().unwrap()
        else {
            panic!("not variable");
        };
        assert_eq!((&data[..], num_values), (&b"abcde"[..], 2));
    }

    #[test]
    fn a_joiner_without_blocks_is_an_error() {
        assert!(BlockJoiner::new(0).finish().is_err());
    }
}
