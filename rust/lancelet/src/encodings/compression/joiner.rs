//! [`BlockJoiner`]: joins the decoded chunks of a page as they are decoded.

use bytes::Bytes;

use super::block::{DataBlock, VariableValues};
use crate::error::{Error, Result};

/// Joins blocks one at a time, as they are decoded. Byte-aligned fixed-width values and
/// variable-width values are copied straight into buffers of about the final size, so each
/// decoded chunk is freed (and its memory reused, still in cache) before the next one is
/// decoded; other kinds of blocks are kept and joined at the end by [`DataBlock::concat`]. A
/// single block is used as it is.
#[derive(Debug)]
pub struct BlockJoiner {
    expected_values: usize,
    /// Whether `expected_values` is a count the caller asked for rather than one read from
    /// the file.
    exact: bool,
    first: Option<DataBlock>,
    fixed: Option<FixedValues>,
    variable: Option<Variable>,
    others: Vec<DataBlock>,
}

/// Variable-width values joined so far, by offset width.
#[derive(Debug)]
enum Variable {
    Narrow(VariableValues<u32>),
    Wide(VariableValues<u64>),
}

impl Variable {
    fn append(&mut self, block: &DataBlock) -> Result<()> {
        match self {
            Variable::Narrow(values) => values.append(block),
            Variable::Wide(values) => values.append(block),
        }
    }

    /// Values and value bytes joined so far.
    fn size(&self) -> (usize, usize) {
        match self {
            Variable::Narrow(values) => (values.num_values(), values.data_bytes()),
            Variable::Wide(values) => (values.num_values(), values.data_bytes()),
        }
    }

    fn reserve(&mut self, values: usize, bytes: usize) {
        match self {
            Variable::Narrow(joined) => joined.reserve(values, bytes),
            Variable::Wide(joined) => joined.reserve(values, bytes),
        }
    }
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
            exact: false,
            first: None,
            fixed: None,
            variable: None,
            others: Vec::new(),
        }
    }

    /// A joiner for exactly `values` values, a count the caller chose (the rows it reads),
    /// not one read from the file: room for all of them is reserved up front.
    pub fn for_values(values: usize) -> Self {
        Self {
            exact: true,
            ..Self::new(values)
        }
    }

    /// Room to reserve once `decoded` values (checked against their buffers) are in: the
    /// expected count, which a count from the file's chunk table may contradict, so then at
    /// most 16 times the values decoded.
    fn capacity(&self, decoded: usize) -> usize {
        if self.exact {
            self.expected_values
        } else {
            self.expected_values
                .clamp(decoded, decoded.saturating_mul(16))
        }
    }

    /// Adds the next block.
    pub fn push(&mut self, block: DataBlock) -> Result<()> {
        if let Some(fixed) = &mut self.fixed {
            return fixed.append(&block);
        }
        if let Some(variable) = &mut self.variable {
            return variable.append(&block);
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
            DataBlock::Variable { offset_bits, .. } => {
                let mut variable = match offset_bits {
                    64 => Variable::Wide(VariableValues::with_capacity(0, 0)),
                    _ => Variable::Narrow(VariableValues::with_capacity(0, 0)),
                };
                variable.append(&first)?;
                variable.append(&block)?;
                // Sized from what the two blocks turned out to hold (their offsets checked):
                // the expected values at the bytes per value seen so far (plus an eighth), but
                // at most 16 times the values and bytes decoded so far (plus 8 MiB of bytes),
                // so that a few huge values first do not reserve memory for all the others.
                let (values, bytes) = variable.size();
                let capacity = self.capacity(values);
                let estimate = capacity.saturating_mul(bytes) / values.max(1);
                let data_bytes = estimate
                    .saturating_add(estimate / 8)
                    .min(bytes.saturating_mul(16).saturating_add(8 << 20));
                variable.reserve(
                    capacity.saturating_sub(values),
                    data_bytes.saturating_sub(bytes),
                );
                self.variable = Some(variable);
            }
            DataBlock::Fixed { bits_per_value, .. }
                if bits_per_value.is_multiple_of(8) && *bits_per_value > 0 =>
            {
                let width = (*bits_per_value / 8) as usize;
                let mut fixed = FixedValues {
                    data: Vec::new(),
                    bits_per_value: *bits_per_value,
                    num_values: 0,
                };
                fixed.append(&first)?;
                fixed.append(&block)?;
                // Sized from the values the two blocks turned out to hold.
                let more = self
                    .capacity(fixed.num_values)
                    .saturating_sub(fixed.num_values);
                fixed.data.reserve(more.saturating_mul(width));
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
        match self.variable {
            Some(Variable::Narrow(values)) => return Ok(values.finish()),
            Some(Variable::Wide(values)) => return Ok(values.finish()),
            None => {}
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

    /// A block of 64-bit offsets into `data`, which may start past its first byte.
    fn wide_text(offsets: &[u64], data: &[u8]) -> DataBlock {
        DataBlock::Variable {
            offsets: Bytes::from(
                offsets
                    .iter()
                    .flat_map(|o| o.to_le_bytes())
                    .collect::<Vec<_>>(),
            ),
            offset_bits: 64,
            data: Bytes::from(data.to_vec()),
            num_values: offsets.len() - 1,
        }
    }

    #[test]
    fn wide_offsets_that_start_inside_their_data_are_rebased() {
        let mut joiner = BlockJoiner::new(5);
        joiner.push(wide_text(&[2, 4, 4], b"xxabyy")).unwrap();
        joiner.push(wide_text(&[0, 3], b"cde")).unwrap();
        joiner.push(wide_text(&[1, 2, 3], b"zfg")).unwrap();
        let DataBlock::Variable {
            offsets,
            offset_bits: 64,
            data,
            num_values: 5,
        } = joiner.finish().unwrap()
        else {
            panic!("not five wide values");
        };
        let offsets: Vec<u64> = offsets
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
            .collect();
        assert_eq!(offsets, [0, 2, 2, 5, 6, 7]);
        assert_eq!(&data[..], b"abcdefg");
    }

    #[test]
    fn descending_or_overlong_offsets_are_corrupt() {
        let mut joiner = BlockJoiner::new(4);
        joiner.push(wide_text(&[0, 1], b"a")).unwrap();
        let descending = joiner.push(wide_text(&[0, 3, 1], b"abc"));
        assert!(
            matches!(descending, Err(Error::Corrupt { .. })),
            "{descending:?}"
        );
        let mut joiner = BlockJoiner::new(4);
        joiner.push(wide_text(&[0, 1], b"a")).unwrap();
        let overlong = joiner.push(wide_text(&[0, 9], b"abc"));
        assert!(
            matches!(overlong, Err(Error::Corrupt { .. })),
            "{overlong:?}"
        );
        let mut joiner = BlockJoiner::new(4);
        joiner.push(wide_text(&[0, 1], b"a")).unwrap();
        let narrow = DataBlock::Variable {
            offsets: Bytes::from(vec![0u8; 8]),
            offset_bits: 32,
            data: Bytes::new(),
            num_values: 1,
        };
        assert!(matches!(joiner.push(narrow), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn a_block_claiming_more_values_than_its_offsets_is_corrupt_not_reserved() {
        let claims_too_many = || DataBlock::Variable {
            offsets: Bytes::from(vec![0u8; 16]),
            offset_bits: 64,
            data: Bytes::new(),
            num_values: usize::MAX / 4,
        };
        let mut joiner = BlockJoiner::new(usize::MAX / 2);
        joiner.push(wide_text(&[0, 1], b"a")).unwrap();
        let pushed = joiner.push(claims_too_many());
        assert!(matches!(pushed, Err(Error::Corrupt { .. })), "{pushed:?}");
        let joined = DataBlock::concat(vec![wide_text(&[0, 1], b"a"), claims_too_many()]);
        assert!(matches!(joined, Err(Error::Corrupt { .. })), "{joined:?}");
    }

    #[test]
    fn a_fixed_block_claiming_more_values_than_it_holds_is_corrupt_not_reserved() {
        let mut joiner = BlockJoiner::new(usize::MAX / 2);
        joiner.push(fixed(&[1, 2])).unwrap();
        let claims = DataBlock::Fixed {
            data: Bytes::from(vec![0u8; 4]),
            bits_per_value: 16,
            num_values: usize::MAX / 4,
        };
        assert!(matches!(joiner.push(claims), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn a_joiner_without_blocks_is_an_error() {
        assert!(BlockJoiner::new(0).finish().is_err());
    }
}
