//! [`BlockJoiner`]: joins the decoded chunks of a page as they are decoded.

use arrow_buffer::{Buffer, MutableBuffer};

use super::block::{DataBlock, VariableValues};
use super::fastlanes::{BLOCK, Word};
use super::{bitpacking, fsst, rle};
use crate::encodings::buffers::to_bytes;
use crate::encodings::general::{self, Scheme};
use crate::error::{Error, Result};

/// Joins blocks one at a time, as they are decoded. Byte-aligned fixed-width values and
/// variable-width values are copied straight into buffers of about the final size, so each
/// decoded chunk is freed (and its memory reused, still in cache) before the next one is
/// decoded; other kinds of blocks are kept and joined at the end by [`DataBlock::concat`]. A
/// single block is used as it is. Bit-packed chunks ([`Self::push_inline_bits`]) and FSST
/// strings ([`Self::push_fsst`]) are decoded straight into the joined buffers, with no block
/// of their own to copy.
#[derive(Debug)]
pub struct BlockJoiner {
    expected_values: usize,
    /// Whether `expected_values` is a count the caller asked for rather than one read from
    /// the file.
    exact: bool,
    first: Option<DataBlock>,
    fixed: Option<FixedValues>,
    variable: Option<Variable>,
    /// Whether the joined variable-width bytes have had room reserved for all the values.
    variable_sized: bool,
    others: Vec<DataBlock>,
}

/// Variable-width values joined so far, by offset width.
#[derive(Debug)]
enum Variable {
    Narrow(VariableValues<u32>),
    Wide(VariableValues<u64>),
}

impl Variable {
    fn new(offset_bits: u32) -> Self {
        match offset_bits {
            64 => Variable::Wide(VariableValues::with_capacity(0, 0)),
            _ => Variable::Narrow(VariableValues::with_capacity(0, 0)),
        }
    }

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

/// Fixed-width values joined so far, in a buffer aligned for any word, so that bit-packed
/// chunks unpack straight into it.
#[derive(Debug)]
struct FixedValues {
    data: MutableBuffer,
    bits_per_value: u64,
    num_values: usize,
}

impl FixedValues {
    fn new(bits_per_value: u64) -> Self {
        Self {
            data: MutableBuffer::new(0),
            bits_per_value,
            num_values: 0,
        }
    }

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

    /// Unpacks an inline bit-packed chunk of `num_values` words `T` (this joiner's width)
    /// onto the end: the block's 1024 slots are made, unpacked into and cut to its values.
    fn unpack_inline<T: Word>(&mut self, buffer: &[u8], num_values: usize) -> Result<()> {
        let width = T::BITS / 8;
        let start = self.num_values;
        self.data.resize((start + BLOCK) * width, 0);
        // The buffer is 64-byte aligned and holds whole words of `T`.
        let slots = self.data.typed_data_mut::<T>();
        let unpacked = match slots
            .get_mut(start..start + BLOCK)
            .and_then(|slots| <&mut [T; BLOCK]>::try_from(slots).ok())
        {
            Some(block) => bitpacking::unpack_inline(buffer, num_values, block),
            None => Err(Error::internal("joined values lost their block")),
        };
        let kept = if unpacked.is_ok() {
            start + num_values
        } else {
            start
        };
        self.data.truncate(kept * width);
        unpacked?;
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
            variable_sized: false,
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
                let mut variable = Variable::new(*offset_bits);
                variable.append(&first)?;
                variable.append(&block)?;
                self.variable = Some(variable);
                self.size_variable();
            }
            DataBlock::Fixed { bits_per_value, .. }
                if bits_per_value.is_multiple_of(8) && *bits_per_value > 0 =>
            {
                let mut fixed = FixedValues::new(*bits_per_value);
                fixed.append(&first)?;
                fixed.append(&block)?;
                let capacity = self.capacity(fixed.num_values);
                self.fixed = Some(Self::sized(fixed, capacity));
            }
            _ => {
                self.others.push(first);
                self.others.push(block);
            }
        }
        Ok(())
    }

    /// Adds an inline bit-packed chunk of `num_values` values of `bits` (8, 16, 32 or 64),
    /// unpacked straight into the joined values.
    pub fn push_inline_bits(&mut self, bits: u64, buffer: &[u8], num_values: usize) -> Result<()> {
        // The joined bytes are little-endian words; unpacked words are native.
        let direct = cfg!(target_endian = "little") && matches!(bits, 8 | 16 | 32 | 64);
        let Some(fixed) = direct
            .then(|| self.fixed_values(bits, num_values))
            .transpose()?
            .flatten()
        else {
            return self.push(bitpacking::decode_inline_bits(bits, buffer, num_values)?);
        };
        match bits {
            8 => fixed.unpack_inline::<u8>(buffer, num_values),
            16 => fixed.unpack_inline::<u16>(buffer, num_values),
            32 => fixed.unpack_inline::<u32>(buffer, num_values),
            _ => fixed.unpack_inline::<u64>(buffer, num_values),
        }
    }

    /// Decompresses a chunk of `num_values` plain values of `bits` under general compression
    /// (`framed`) straight into the joined values, when its declared length is theirs (at
    /// most `limit` bytes) and the joined values are of that width. Returns whether it did;
    /// otherwise the caller decodes the chunk into a block and pushes it.
    pub fn push_decompressed_in_place(
        &mut self,
        scheme: Scheme,
        framed: &[u8],
        bits: u64,
        num_values: usize,
        limit: u64,
    ) -> Result<bool> {
        let Some(length) = num_values
            .checked_mul((bits / 8) as usize)
            .filter(|&length| length as u64 <= limit)
        else {
            return Ok(false);
        };
        if !bits.is_multiple_of(8)
            || bits == 0
            || general::declared_length(scheme, framed)? != Some(length as u64)
        {
            return Ok(false);
        }
        let Some(fixed) = self.fixed_values(bits, num_values)? else {
            return Ok(false);
        };
        let start = fixed.data.len();
        fixed.data.resize(start + length, 0);
        let done =
            general::decompress_into(scheme, framed, &mut fixed.data.as_slice_mut()[start..]);
        if done.is_err() {
            fixed.data.truncate(start);
        } else {
            fixed.num_values += num_values;
        }
        done.map(|()| true)
    }

    /// Adds a chunk of runs (`values` of `bits`, one-byte `lengths`) of `num_values` values,
    /// expanded straight into the joined values.
    pub fn push_runs(
        &mut self,
        values: &[u8],
        lengths: &[u8],
        bits: u64,
        num_values: usize,
    ) -> Result<()> {
        let width = rle::checked_width(values, lengths, bits, num_values)?;
        let Some(fixed) = self.fixed_values(bits, num_values)? else {
            return self.push(rle::decode(values, lengths, bits, num_values)?);
        };
        let start = fixed.data.len();
        // The run lengths were checked to add up to `num_values`.
        fixed.data.resize(start + num_values * width, 0);
        rle::expand_into(
            values,
            lengths,
            width,
            &mut fixed.data.as_slice_mut()[start..],
        );
        fixed.num_values += num_values;
        Ok(())
    }

    /// Adds the strings of a block of FSST codes (with the serialized symbol `table`),
    /// decompressed straight into the joined bytes.
    pub fn push_fsst(&mut self, table: &[u8], codes: DataBlock) -> Result<()> {
        let DataBlock::Variable { offset_bits, .. } = &codes else {
            return Err(Error::corrupt("FSST values are not variable-width"));
        };
        let Some(variable) = self.variable_values(*offset_bits)? else {
            return self.push(fsst::decompress_with_table(table, codes)?);
        };
        match variable {
            Variable::Narrow(joined) => fsst::decompress_onto(table, &codes, joined)?,
            Variable::Wide(joined) => fsst::decompress_onto(table, &codes, joined)?,
        }
        if !self.variable_sized {
            self.size_variable();
        }
        Ok(())
    }

    /// The joined fixed-width values, for a direct push of `incoming` values of `bits`: set
    /// up on the first one (from the block held back, if any). `None` when blocks of another
    /// kind are held: the caller pushes a decoded block instead, which reports a mismatch.
    fn fixed_values(&mut self, bits: u64, incoming: usize) -> Result<Option<&mut FixedValues>> {
        if self.fixed.is_none() {
            if self.variable.is_some() || !self.others.is_empty() {
                return Ok(None);
            }
            let mut fixed = FixedValues::new(bits);
            if let Some(first) = self.first.take() {
                fixed.append(&first)?;
            }
            let capacity = self.capacity(fixed.num_values + incoming);
            self.fixed = Some(Self::sized(fixed, capacity));
        }
        match &mut self.fixed {
            Some(fixed) if fixed.bits_per_value == bits => Ok(Some(fixed)),
            Some(_) => Err(Error::corrupt("chunks of one page have different widths")),
            None => Ok(None),
        }
    }

    /// `fixed` with room for `capacity` values, and a block's worth more for the last
    /// bit-packed chunk to unpack into.
    fn sized(mut fixed: FixedValues, capacity: usize) -> FixedValues {
        let width = (fixed.bits_per_value / 8) as usize;
        let more = capacity
            .saturating_sub(fixed.num_values)
            .saturating_add(BLOCK);
        fixed.data.reserve(more.saturating_mul(width));
        fixed
    }

    /// The joined variable-width values with offsets of `offset_bits`, for a direct push:
    /// set up on the first one (from the block held back, if any). `None` when blocks of
    /// another kind are held.
    fn variable_values(&mut self, offset_bits: u32) -> Result<Option<&mut Variable>> {
        if self.variable.is_none() {
            if self.fixed.is_some() || !self.others.is_empty() {
                return Ok(None);
            }
            let mut variable = Variable::new(offset_bits);
            if let Some(first) = self.first.take() {
                variable.append(&first)?;
            }
            self.variable = Some(variable);
        }
        let wide = offset_bits == 64;
        let matches = match &self.variable {
            Some(Variable::Wide(_)) => wide,
            Some(Variable::Narrow(_)) => !wide,
            None => return Ok(None),
        };
        if !matches {
            return Err(Error::corrupt(
                "chunks of one page have different offset widths",
            ));
        }
        Ok(self.variable.as_mut())
    }

    /// Reserves room for all the variable-width values, sized from what the blocks so far
    /// turned out to hold (their offsets checked): the expected values at the bytes per value
    /// seen so far (plus an eighth), but at most 16 times the values and bytes decoded so far
    /// (plus 8 MiB of bytes), so that a few huge values first do not reserve memory for all
    /// the others.
    fn size_variable(&mut self) {
        let Some(variable) = &self.variable else {
            return;
        };
        let (values, bytes) = variable.size();
        let capacity = self.capacity(values);
        let estimate = capacity.saturating_mul(bytes) / values.max(1);
        let data_bytes = estimate
            .saturating_add(estimate / 8)
            .min(bytes.saturating_mul(16).saturating_add(8 << 20));
        if let Some(variable) = &mut self.variable {
            variable.reserve(
                capacity.saturating_sub(values),
                data_bytes.saturating_sub(bytes),
            );
        }
        self.variable_sized = true;
    }

    /// The joined block (an error if no block was added).
    pub fn finish(self) -> Result<DataBlock> {
        if let Some(fixed) = self.fixed {
            return Ok(DataBlock::Fixed {
                data: to_bytes(Buffer::from(fixed.data)),
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
    use bytes::Bytes;

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
        let text = |value: &str| narrow_text(&[0, value.len() as u32], value.as_bytes());
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
        text_block(offsets, data)
    }

    /// A block of `W` offsets into `data`.
    fn text_block<W: Word>(offsets: &[W], data: &[u8]) -> DataBlock {
        let mut words = Vec::new();
        for &offset in offsets {
            offset.write_le(&mut words);
        }
        DataBlock::Variable {
            offsets: Bytes::from(words),
            offset_bits: W::BITS as u32,
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

    fn narrow_text(offsets: &[u32], data: &[u8]) -> DataBlock {
        text_block(offsets, data)
    }

    fn text_of(block: &DataBlock) -> (Vec<u32>, Vec<u8>) {
        let DataBlock::Variable {
            offsets,
            offset_bits: 32,
            data,
            ..
        } = block
        else {
            panic!("not narrow text: {block:?}");
        };
        let offsets = offsets
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
            .collect();
        (offsets, data.to_vec())
    }

    #[test]
    fn bit_packed_chunks_unpack_onto_the_joined_values() {
        let values: Vec<u16> = (0..1500).map(|i| (i * 7 % 1000) as u16).collect();
        let mut joiner = BlockJoiner::for_values(2 + 1024 + 476);
        joiner.push(fixed(&[9, 8])).unwrap();
        let (head, tail) = values.split_at(1024);
        let packed = bitpacking::encode_inline(head);
        joiner.push_inline_bits(16, &packed, 1024).unwrap();
        let packed_tail = bitpacking::encode_inline(tail);
        // A damaged chunk is an error and leaves what was joined.
        let damaged = joiner.push_inline_bits(16, &packed_tail[..packed_tail.len() - 2], 476);
        assert!(matches!(damaged, Err(Error::Corrupt { .. })), "{damaged:?}");
        joiner.push_inline_bits(16, &packed_tail, 476).unwrap();
        let mut expected = vec![9, 8];
        expected.extend_from_slice(&values);
        let joined = joiner.finish().unwrap();
        assert_eq!(joined.num_values(), expected.len());
        assert_eq!(words(&joined), expected);
        // Other widths than the joined values' are corrupt.
        let mut joiner = BlockJoiner::new(2048);
        joiner.push_inline_bits(16, &packed, 1024).unwrap();
        let wider = joiner.push_inline_bits(32, &bitpacking::encode_inline(&[1u32, 2]), 2);
        assert!(matches!(wider, Err(Error::Corrupt { .. })), "{wider:?}");
    }

    #[test]
    fn runs_and_compressed_values_are_joined_in_place() {
        let mut joiner = BlockJoiner::new(10);
        // Runs 5 x 3 and 6 x 2 of 16-bit values.
        joiner.push_runs(&[5, 0, 6, 0], &[3, 2], 16, 5).unwrap();
        let plain: Vec<u8> = [1u16, 2, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
        let framed = general::compress(Scheme::Zstd, None, &plain).unwrap();
        let in_place = joiner.push_decompressed_in_place(Scheme::Zstd, &framed, 16, 3, 1 << 20);
        assert!(in_place.unwrap());
        // A bare zstd frame (no length prefix) and another width are left to the caller.
        let bare = joiner.push_decompressed_in_place(Scheme::Zstd, &framed[8..], 16, 3, 1 << 20);
        assert!(!bare.unwrap());
        let odd = joiner.push_decompressed_in_place(Scheme::Zstd, &framed, 12, 4, 1 << 20);
        assert!(!odd.unwrap());
        let short = joiner.push_runs(&[5, 0], &[3], 16, 4);
        assert!(matches!(short, Err(Error::Corrupt { .. })), "{short:?}");
        let cut = &framed[..framed.len() - 3];
        let truncated = joiner.push_decompressed_in_place(Scheme::Zstd, cut, 16, 3, 1 << 20);
        assert!(truncated.is_err());
        // What failed left the joined values as they were.
        assert_eq!(words(&joiner.finish().unwrap()), [5, 5, 5, 6, 6, 1, 2, 3]);
    }

    #[test]
    fn fsst_strings_decode_onto_the_joined_bytes() {
        let strings: Vec<String> = (0..300)
            .map(|i| format!("carefully final deposits {i} sleep quickly"))
            .collect();
        let mut data = Vec::new();
        let mut offsets = vec![0u64];
        for string in &strings {
            data.extend_from_slice(string.as_bytes());
            offsets.push(data.len() as u64);
        }
        let encoder = fsst::Encoder::train(strings.iter().map(|s| s.as_bytes()));
        let table = encoder.table().serialize();
        let (codes, code_offsets) = encoder.compress_strings(&data, &offsets).unwrap();
        let code_offsets: Vec<u32> = code_offsets.iter().map(|&o| o as u32).collect();
        assert!(codes.len() < data.len() / 2, "the table compresses");

        let mut joiner = BlockJoiner::for_values(301);
        joiner.push(narrow_text(&[0, 2], b"ab")).unwrap();
        joiner
            .push_fsst(&table, narrow_text(&code_offsets[..=100], &codes))
            .unwrap();
        // Offsets that point inside an escape or past the codes are corrupt and change nothing.
        let outside = narrow_text(&[code_offsets[100], codes.len() as u32 + 1], &codes);
        assert!(matches!(
            joiner.push_fsst(&table, outside),
            Err(Error::Corrupt { .. })
        ));
        let descending = narrow_text(
            &[code_offsets[100], code_offsets[102], code_offsets[101]],
            &codes,
        );
        assert!(matches!(
            joiner.push_fsst(&table, descending),
            Err(Error::Corrupt { .. })
        ));
        joiner
            .push_fsst(&table, narrow_text(&code_offsets[100..], &codes))
            .unwrap();
        let (joined_offsets, joined_data) = text_of(&joiner.finish().unwrap());
        let mut expected = b"ab".to_vec();
        expected.extend_from_slice(&data);
        assert_eq!(joined_data, expected);
        let expected_offsets: Vec<u32> = std::iter::once(0)
            .chain(offsets.iter().map(|&o| o as u32 + 2))
            .collect();
        assert_eq!(joined_offsets, expected_offsets);
    }

    #[test]
    fn a_joiner_without_blocks_is_an_error() {
        assert!(BlockJoiner::new(0).finish().is_err());
    }
}
