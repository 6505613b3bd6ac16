//! [`DataBlock`]: values as the compressive encodings produce them, before they become Arrow
//! arrays of the field's type.

use arrow_array::{
    Array, ArrayRef, GenericBinaryArray, GenericStringArray, OffsetSizeTrait, UInt32Array,
    make_array,
};
use arrow_buffer::{
    ArrowNativeType, BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer,
};
use arrow_data::{ArrayData, ArrayDataBuilder};
use arrow_schema::DataType;
use bytes::Bytes;

use crate::encodings::compression::fastlanes::{Word, into_le_bytes};
use crate::error::{Error, Result};

/// Decoded values.
#[derive(Clone, Debug)]
pub enum DataBlock {
    /// `num_values` fixed-width values of `bits_per_value` bits, little-endian (1 bit: a
    /// bitmap, least significant bit first).
    Fixed {
        /// The values.
        data: Bytes,
        /// Bits per value.
        bits_per_value: u64,
        /// The number of values.
        num_values: usize,
    },
    /// `num_values` variable-width values: `num_values + 1` offsets (u32 or u64, little-endian)
    /// into `data`, not necessarily starting at 0.
    Variable {
        /// The offsets.
        offsets: Bytes,
        /// 32 or 64.
        offset_bits: u32,
        /// The bytes the offsets point into.
        data: Bytes,
        /// The number of values.
        num_values: usize,
    },
    /// Fixed-size lists: `dimension` items per value, with the items' validity if they have
    /// nulls.
    FixedSizeList {
        /// Items per value.
        dimension: usize,
        /// The `num_values · dimension` items.
        items: Box<DataBlock>,
        /// Validity of the items.
        item_validity: Option<BooleanBuffer>,
        /// The number of lists.
        num_values: usize,
    },
    /// A packed struct of fixed-width children.
    Struct {
        /// One block per child.
        children: Vec<DataBlock>,
        /// The number of values.
        num_values: usize,
    },
}

impl DataBlock {
    /// The number of values.
    pub fn num_values(&self) -> usize {
        match self {
            DataBlock::Fixed { num_values, .. }
            | DataBlock::Variable { num_values, .. }
            | DataBlock::FixedSizeList { num_values, .. }
            | DataBlock::Struct { num_values, .. } => *num_values,
        }
    }

    /// Joins blocks of the same shape (for example the chunks of a page) into one.
    pub fn concat(blocks: Vec<DataBlock>) -> Result<DataBlock> {
        let mut blocks = blocks.into_iter();
        let Some(first) = blocks.next() else {
            return Err(Error::internal("no blocks to join"));
        };
        let rest: Vec<DataBlock> = blocks.collect();
        if rest.is_empty() {
            return Ok(first);
        }
        let all: Vec<DataBlock> = std::iter::once(first).chain(rest).collect();
        let num_values = all
            .iter()
            .fold(0usize, |sum, block| sum.saturating_add(block.num_values()));
        match &all[0] {
            DataBlock::Fixed { bits_per_value, .. } => {
                let bits = *bits_per_value;
                if bits.is_multiple_of(8) {
                    // Room for what the blocks hold, not for the value counts they claim.
                    let held: usize = all
                        .iter()
                        .map(|block| match block {
                            DataBlock::Fixed { data, .. } => data.len(),
                            _ => 0,
                        })
                        .sum();
                    let mut data = Vec::with_capacity(
                        num_values.saturating_mul((bits / 8) as usize).min(held),
                    );
                    for block in &all {
                        let DataBlock::Fixed {
                            data: part,
                            bits_per_value,
                            num_values,
                        } = block
                        else {
                            return Err(Error::corrupt("chunks of one page have different shapes"));
                        };
                        if *bits_per_value != bits {
                            return Err(Error::corrupt("chunks of one page have different widths"));
                        }
                        let len = num_values.saturating_mul((bits / 8) as usize);
                        data.extend_from_slice(
                            part.get(..len)
                                .ok_or_else(|| Error::corrupt("short chunk"))?,
                        );
                    }
                    Ok(DataBlock::Fixed {
                        data: Bytes::from(data),
                        bits_per_value: bits,
                        num_values,
                    })
                } else if bits == 1 {
                    let mut builder = arrow_buffer::BooleanBufferBuilder::new(num_values);
                    for block in &all {
                        let DataBlock::Fixed {
                            data: part,
                            bits_per_value: 1,
                            num_values,
                        } = block
                        else {
                            return Err(Error::corrupt("chunks of one page have different shapes"));
                        };
                        if part.len() * 8 < *num_values {
                            return Err(Error::corrupt("short bitmap chunk"));
                        }
                        builder.append_packed_range(0..*num_values, part);
                    }
                    let bits = builder.finish();
                    Ok(DataBlock::Fixed {
                        data: Bytes::from(bits.sliced().as_slice().to_vec()),
                        bits_per_value: 1,
                        num_values,
                    })
                } else {
                    Err(Error::not_supported(format!("joining {bits}-bit values")))
                }
            }
            DataBlock::Variable { offset_bits, .. } => match offset_bits {
                32 => concat_variable::<u32>(&all),
                64 => concat_variable::<u64>(&all),
                other => Err(Error::corrupt(format!("{other}-bit offsets"))),
            },
            DataBlock::FixedSizeList { dimension, .. } => {
                let dimension = *dimension;
                let mut items = Vec::with_capacity(all.len());
                let mut validity: Option<arrow_buffer::BooleanBufferBuilder> = None;
                let any_validity = all.iter().any(|b| {
                    matches!(
                        b,
                        DataBlock::FixedSizeList {
                            item_validity: Some(_),
                            ..
                        }
                    )
                });
                if any_validity {
                    validity = Some(arrow_buffer::BooleanBufferBuilder::new(
                        num_values * dimension,
                    ));
                }
                for block in all {
                    let DataBlock::FixedSizeList {
                        dimension: d,
                        items: part,
                        item_validity,
                        ..
                    } = block
                    else {
                        return Err(Error::corrupt("chunks of one page have different shapes"));
                    };
                    if d != dimension {
                        return Err(Error::corrupt(
                            "chunks of one page have different dimensions",
                        ));
                    }
                    if let Some(builder) = validity.as_mut() {
                        match item_validity {
                            Some(bits) => builder.append_buffer(&bits),
                            None => builder.append_n(part.num_values(), true),
                        }
                    }
                    items.push(*part);
                }
                Ok(DataBlock::FixedSizeList {
                    dimension,
                    items: Box::new(DataBlock::concat(items)?),
                    item_validity: validity.map(|mut b| b.finish()),
                    num_values,
                })
            }
            DataBlock::Struct { children, .. } => {
                let width = children.len();
                let mut columns: Vec<Vec<DataBlock>> = (0..width).map(|_| Vec::new()).collect();
                for block in all {
                    let DataBlock::Struct { children, .. } = block else {
                        return Err(Error::corrupt("chunks of one page have different shapes"));
                    };
                    if children.len() != width {
                        return Err(Error::corrupt("chunks of one page have different children"));
                    }
                    for (column, child) in columns.iter_mut().zip(children) {
                        column.push(child);
                    }
                }
                Ok(DataBlock::Struct {
                    children: columns
                        .into_iter()
                        .map(DataBlock::concat)
                        .collect::<Result<_>>()?,
                    num_values,
                })
            }
        }
    }

    /// A fixed-width block's values as u64s (for indices and levels of up to 64 bits).
    pub fn to_u64s(&self) -> Result<Vec<u64>> {
        self.map_unsigned(|value| value)
    }

    /// The values as dictionary indices (unsigned; values beyond u32 become `u32::MAX`, which
    /// no dictionary holds, so the lookup reports them). 32-bit values on a little-endian
    /// machine are used without a copy; others are converted in one pass.
    pub fn to_indices(&self) -> Result<UInt32Array> {
        let (data, words, width) = self.unsigned_words()?;
        if width == 4 && cfg!(target_endian = "little") {
            // Arrow panics on a misaligned buffer, so the pointer is checked on the buffer
            // itself (an empty slice, for one, is not a pointer into `data`).
            let buffer = Buffer::from(data.slice_ref(words));
            if buffer.as_ptr().align_offset(std::mem::align_of::<u32>()) == 0 {
                return Ok(UInt32Array::new(
                    ScalarBuffer::new(buffer, 0, words.len() / 4),
                    None,
                ));
            }
        }
        Ok(self
            .map_unsigned(|value| u32::try_from(value).unwrap_or(u32::MAX))?
            .into())
    }

    /// The block's buffer, the bytes of its 8-, 16-, 32- or 64-bit values, and their width in
    /// bytes.
    fn unsigned_words(&self) -> Result<(&Bytes, &[u8], usize)> {
        let DataBlock::Fixed {
            data,
            bits_per_value,
            num_values,
        } = self
        else {
            return Err(Error::corrupt("expected fixed-width values"));
        };
        let width = match bits_per_value {
            8 | 16 | 32 | 64 => (*bits_per_value / 8) as usize,
            other => return Err(Error::corrupt(format!("{other}-bit integers"))),
        };
        let words = num_values
            .checked_mul(width)
            .and_then(|len| data.get(..len))
            .ok_or_else(|| Error::corrupt("fixed-width buffer is shorter than its values"))?;
        Ok((data, words, width))
    }

    /// Reads 8-, 16-, 32- or 64-bit unsigned values and converts each with `convert`.
    fn map_unsigned<T>(&self, convert: impl Fn(u64) -> T) -> Result<Vec<T>> {
        let (_, data, width) = self.unsigned_words()?;
        // One loop per width, so that each compiles to plain (vectorized) loads.
        Ok(match width {
            1 => data.iter().map(|&b| convert(u64::from(b))).collect(),
            2 => data
                .chunks_exact(2)
                .map(|w| convert(u64::from(u16::from_le_bytes([w[0], w[1]]))))
                .collect(),
            4 => data
                .chunks_exact(4)
                .map(|w| convert(u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))))
                .collect(),
            _ => data
                .chunks_exact(8)
                .map(|w| {
                    convert(u64::from_le_bytes([
                        w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
                    ]))
                })
                .collect(),
        })
    }

    /// The values as u16s (for rep/def levels).
    pub fn to_u16s(&self) -> Result<Vec<u16>> {
        self.to_u64s()?
            .into_iter()
            .map(|v| {
                u16::try_from(v).map_err(|_| Error::corrupt(format!("level {v} exceeds 16 bits")))
            })
            .collect()
    }

    /// Builds the Arrow array of `data_type` from the block.
    pub fn into_array(self, data_type: &DataType) -> Result<ArrayRef> {
        Ok(make_array(self.into_data(data_type)?))
    }

    fn into_data(self, data_type: &DataType) -> Result<ArrayData> {
        match self {
            DataBlock::Fixed {
                data,
                bits_per_value,
                num_values,
            } => fixed_data(data, bits_per_value, num_values, data_type),
            DataBlock::Variable {
                offsets,
                offset_bits,
                data,
                num_values,
            } => variable_data(&offsets, offset_bits, data, num_values, data_type),
            DataBlock::FixedSizeList {
                dimension,
                items,
                item_validity,
                num_values,
            } => {
                let DataType::FixedSizeList(item_field, size) = data_type else {
                    return Err(mismatch("fixed-size lists", data_type));
                };
                if usize::try_from(*size).ok() != Some(dimension) {
                    return Err(Error::corrupt(format!(
                        "page stores lists of {dimension} items but the field has {size}"
                    )));
                }
                let mut child = items.into_data(item_field.data_type())?;
                if let Some(validity) = item_validity {
                    if validity.len() != child.len() {
                        return Err(Error::corrupt("item validity does not match the items"));
                    }
                    let nulls = NullBuffer::new(validity);
                    child = child.into_builder().nulls(Some(nulls)).build()?;
                }
                Ok(ArrayDataBuilder::new(data_type.clone())
                    .len(num_values)
                    .child_data(vec![child])
                    .build()?)
            }
            DataBlock::Struct {
                children,
                num_values,
            } => {
                let DataType::Struct(fields) = data_type else {
                    return Err(mismatch("a packed struct", data_type));
                };
                if fields.len() != children.len() {
                    return Err(Error::corrupt(
                        "packed struct has the wrong number of children",
                    ));
                }
                let children = children
                    .into_iter()
                    .zip(fields.iter())
                    .map(|(child, field)| child.into_data(field.data_type()))
                    .collect::<Result<Vec<_>>>()?;
                Ok(ArrayDataBuilder::new(data_type.clone())
                    .len(num_values)
                    .child_data(children)
                    .build()?)
            }
        }
    }
}

fn mismatch(stored: &str, data_type: &DataType) -> Error {
    Error::corrupt(format!(
        "page stores {stored} but the field has type {data_type}"
    ))
}

/// The bits per value of a fixed-width Arrow type stored flat (1 for booleans).
pub fn fixed_bits(data_type: &DataType) -> Option<u64> {
    match data_type {
        DataType::Boolean => Some(1),
        DataType::FixedSizeBinary(width) => u64::try_from(*width).ok().map(|w| w * 8),
        other => other.primitive_width().map(|w| w as u64 * 8),
    }
}

fn fixed_data(
    data: Bytes,
    bits: u64,
    num_values: usize,
    data_type: &DataType,
) -> Result<ArrayData> {
    if fixed_bits(data_type) != Some(bits) {
        return Err(Error::corrupt(format!(
            "page stores {bits}-bit values but the field has type {data_type}"
        )));
    }
    let needed = (num_values as u64 * bits).div_ceil(8);
    if (data.len() as u64) < needed {
        return Err(Error::corrupt(format!(
            "{} bytes cannot hold {num_values} values of {bits} bits",
            data.len()
        )));
    }
    Ok(ArrayDataBuilder::new(data_type.clone())
        .len(num_values)
        .add_buffer(Buffer::from(data))
        .align_buffers(true)
        .build()?)
}

fn variable_data(
    offsets: &Bytes,
    offset_bits: u32,
    data: Bytes,
    num_values: usize,
    data_type: &DataType,
) -> Result<ArrayData> {
    let large = match data_type {
        DataType::Utf8 | DataType::Binary => false,
        DataType::LargeUtf8 | DataType::LargeBinary => true,
        other => return Err(mismatch("variable-width values", other)),
    };
    let width = match offset_bits {
        32 => 4,
        64 => 8,
        other => return Err(Error::corrupt(format!("{other}-bit offsets"))),
    };
    let words = num_values
        .checked_add(1)
        .and_then(|count| count.checked_mul(width))
        .and_then(|len| offsets.get(..len))
        .ok_or_else(|| Error::corrupt("offsets buffer is shorter than its values"))?;
    let target_width = if large { 8 } else { 4 };
    let offsets_buffer = if width == target_width && (words.as_ptr() as usize).is_multiple_of(width)
    {
        // Offsets of the field's own width are used in place; Arrow's validation below
        // rejects any that do not ascend within the data (or that are negative as signed).
        Buffer::from(offsets.slice(..words.len()))
    } else if large {
        offsets_as::<i64>(words, width)?
    } else {
        offsets_as::<i32>(words, width)?
    };
    let data = Buffer::from(data);
    if large {
        variable_array::<i64>(offsets_buffer, data, num_values, data_type)
    } else {
        variable_array::<i32>(offsets_buffer, data, num_values, data_type)
    }
}

/// Offsets (`num_values + 1` words of `O`) and bytes as an Arrow array of `data_type`: the
/// offsets are checked in one vectorized pass (not Arrow's per-value one), and text by
/// Arrow's check of the bytes as a whole and of each offset as a character boundary.
fn variable_array<O: OffsetSizeTrait>(
    offsets: Buffer,
    data: Buffer,
    num_values: usize,
    data_type: &DataType,
) -> Result<ArrayData> {
    let width = std::mem::size_of::<O>();
    // Checked here so that building the typed buffer below cannot fail.
    if Some(offsets.len()) != num_values.checked_add(1).and_then(|n| n.checked_mul(width))
        || !(offsets.as_ptr() as usize).is_multiple_of(width)
    {
        return Err(Error::internal("offsets of the wrong size or alignment"));
    }
    let offsets = ScalarBuffer::<O>::new(offsets, 0, num_values + 1);
    let first = offsets.first().copied().unwrap_or(O::zero());
    let last = offsets.last().copied().unwrap_or(O::zero());
    // A fold over pairs compiles to a vectorized loop.
    let descends = offsets
        .iter()
        .zip(offsets.iter().skip(1))
        .fold(false, |descends, (start, end)| descends | (end < start));
    if first < O::zero() || descends || last.as_usize() > data.len() {
        return Err(Error::corrupt(
            "variable-width offsets descend or point outside their data",
        ));
    }
    // Cannot panic: the offsets were checked to start at 0 or more and never descend.
    let offsets = OffsetBuffer::new(offsets);
    let array = match data_type {
        DataType::Utf8 | DataType::LargeUtf8 => text_array(offsets, data, None)?.into_data(),
        _ => GenericBinaryArray::<O>::try_new(offsets, data, None)?.into_data(),
    };
    Ok(array)
}

/// Text from valid `offsets` into `values`, checked to be UTF-8 (Arrow checks the bytes as a
/// whole and each offset as a character boundary): bytes outside the offsets' span are left
/// out first, so that only the values' own bytes must be UTF-8.
pub fn text_array<O: OffsetSizeTrait>(
    offsets: OffsetBuffer<O>,
    values: Buffer,
    nulls: Option<NullBuffer>,
) -> Result<GenericStringArray<O>> {
    let first = offsets.first().map_or(0, |o| o.as_usize());
    let last = offsets.last().map_or(0, |o| o.as_usize());
    if first > last || last > values.len() {
        return Err(Error::corrupt("text offsets point outside their data"));
    }
    let (offsets, values) = if first == 0 {
        (offsets, values.slice_with_length(0, last))
    } else {
        let base = O::usize_as(first);
        let rebased: ScalarBuffer<O> = offsets.iter().map(|&o| o - base).collect();
        // Cannot panic: the offsets were valid, so they still start at 0 and never descend.
        (
            OffsetBuffer::new(rebased),
            values.slice_with_length(first, last - first),
        )
    };
    GenericStringArray::<O>::try_new(offsets, values, nulls)
        .map_err(|e| Error::corrupt(format!("text values are not valid UTF-8: {e}")))
}

/// Joins variable-width blocks whose offsets are words of `W`.
fn concat_variable<W: Word>(all: &[DataBlock]) -> Result<DataBlock> {
    // Room for what the blocks' buffers can hold, not for the value counts they claim.
    let (num_values, data_bytes) =
        all.iter()
            .fold((0usize, 0usize), |(values, bytes), block| match block {
                DataBlock::Variable {
                    offsets,
                    data,
                    num_values,
                    ..
                } => (
                    values.saturating_add((*num_values).min(offsets.len() / (W::BITS / 8))),
                    bytes.saturating_add(data.len()),
                ),
                _ => (values, bytes),
            });
    let mut joined = VariableValues::<W>::with_capacity(num_values, data_bytes);
    for block in all {
        joined.append(block)?;
    }
    Ok(joined.finish())
}

/// Variable-width values joined block by block: each block's offsets are rebased onto one data
/// buffer and its bytes copied in while they are still in cache.
#[derive(Debug)]
pub struct VariableValues<W: Word> {
    offsets: Vec<W>,
    data: Vec<u8>,
}

impl<W: Word> VariableValues<W> {
    /// Room for `num_values` values of `data_bytes` bytes in all (capacity hints only).
    pub fn with_capacity(num_values: usize, data_bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(num_values.saturating_add(1));
        offsets.push(W::from_u64(0));
        Self {
            offsets,
            data: Vec::with_capacity(data_bytes),
        }
    }

    /// Values joined so far.
    pub fn num_values(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Bytes of the values joined so far.
    pub fn data_bytes(&self) -> usize {
        self.data.len()
    }

    /// The offsets and bytes, for a decoder that appends values straight onto them: it must
    /// leave the last offset equal to the bytes' length.
    pub(crate) fn parts_mut(&mut self) -> (&mut Vec<W>, &mut Vec<u8>) {
        (&mut self.offsets, &mut self.data)
    }

    /// Makes room for `values` more values of `bytes` more bytes.
    pub fn reserve(&mut self, values: usize, bytes: usize) {
        self.offsets.reserve(values);
        self.data.reserve(bytes);
    }

    /// Appends a variable-width block with offsets of `W` (its offsets checked to ascend
    /// within its data).
    pub fn append(&mut self, block: &DataBlock) -> Result<()> {
        let (words, data, num_values) = offset_words::<W>(block)?;
        let width = W::BITS / 8;
        let (head, rest) = words.split_at(width);
        let first = W::from_le(head).to_u64();
        let last = rest
            .get(rest.len().saturating_sub(width)..)
            .filter(|word| word.len() == width)
            .map_or(first, |word| W::from_le(word).to_u64());
        let part = usize::try_from(first)
            .ok()
            .zip(usize::try_from(last).ok())
            .and_then(|(first, last)| data.get(first..last))
            .ok_or_else(|| Error::corrupt("variable-width offsets out of range"))?;
        let base = self.data.len() as u64;
        if base + part.len() as u64 > W::from_u64(u64::MAX).to_u64() {
            return Err(Error::not_supported(
                "more than 4 GiB of values in one read",
            ));
        }
        let mut previous = first;
        let mut ascending = true;
        for word in rest.chunks_exact(width) {
            let end = W::from_le(word).to_u64();
            ascending &= end >= previous;
            previous = end;
            self.offsets
                .push(W::from_u64((base + end).wrapping_sub(first)));
        }
        // Ascending offsets that start at `first` and end at `last` all lie within `part`.
        if !ascending {
            self.offsets.truncate(self.offsets.len() - num_values);
            return Err(Error::corrupt("variable-width offsets out of range"));
        }
        self.data.extend_from_slice(part);
        Ok(())
    }

    /// The joined block.
    pub fn finish(self) -> DataBlock {
        DataBlock::Variable {
            num_values: self.num_values(),
            offsets: into_le_bytes(self.offsets),
            offset_bits: W::BITS as u32,
            data: Bytes::from(self.data),
        }
    }
}

/// The offsets of a variable-width block to be joined with offsets of `W` (its `num_values + 1`
/// little-endian words, checked to be there), its bytes and its value count.
pub(crate) fn offset_words<W: Word>(block: &DataBlock) -> Result<(&[u8], &Bytes, usize)> {
    let DataBlock::Variable {
        offsets,
        offset_bits,
        data,
        num_values,
    } = block
    else {
        return Err(Error::corrupt("chunks of one page have different shapes"));
    };
    if *offset_bits as usize != W::BITS {
        return Err(Error::corrupt(
            "chunks of one page have different offset widths",
        ));
    }
    let words = num_values
        .checked_add(1)
        .and_then(|n| n.checked_mul(W::BITS / 8))
        .and_then(|len| offsets.get(..len))
        .ok_or_else(|| Error::corrupt("short offsets"))?;
    Ok((words, data, *num_values))
}

/// Little-endian offsets of `width` bytes (4 or 8) as an Arrow buffer of `O`; one loop per
/// width and type, so that each compiles to plain loads.
fn offsets_as<O: ArrowNativeType + TryFrom<u64>>(words: &[u8], width: usize) -> Result<Buffer> {
    let too_large = || {
        Error::corrupt(format!(
            "offset too large for {}-bit offsets",
            std::mem::size_of::<O>() * 8
        ))
    };
    let mut values = Vec::with_capacity(words.len() / width.max(1));
    if width == 4 {
        for w in words.chunks_exact(4) {
            let word = u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            values.push(O::try_from(word).map_err(|_| too_large())?);
        }
    } else {
        for w in words.chunks_exact(8) {
            values.push(O::try_from(u64::from_le_bytes(eight(w))).map_err(|_| too_large())?);
        }
    }
    Ok(Buffer::from_vec(values))
}

/// The 8 bytes of a word cut by `chunks_exact(8)`.
fn eight(word: &[u8]) -> [u8; 8] {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(word);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(data: Bytes, bits_per_value: u64, num_values: usize) -> DataBlock {
        DataBlock::Fixed {
            data,
            bits_per_value,
            num_values,
        }
    }

    #[test]
    fn indices_of_every_width_and_alignment() {
        let words: Vec<u8> = [7u32, 0, 65_536]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let aligned = fixed(Bytes::from(words.clone()), 32, 3);
        assert_eq!(aligned.to_indices().unwrap().values(), &[7, 0, 65_536]);
        // The same words one byte into a buffer: copied rather than reinterpreted.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&words);
        let misaligned = fixed(Bytes::from(shifted).slice(1..), 32, 3);
        assert_eq!(misaligned.to_indices().unwrap().values(), &[7, 0, 65_536]);
        let bytes = fixed(Bytes::from(vec![1u8, 255]), 8, 2);
        assert_eq!(bytes.to_indices().unwrap().values(), &[1, 255]);
        let halves = fixed(Bytes::from(vec![1u8, 1, 0, 0]), 16, 2);
        assert_eq!(halves.to_indices().unwrap().values(), &[257, 0]);
        let wide = fixed(Bytes::from(u64::MAX.to_le_bytes().to_vec()), 64, 1);
        assert_eq!(wide.to_indices().unwrap().values(), &[u32::MAX]);
    }

    #[test]
    fn no_indices_from_an_empty_block() {
        for data in [Bytes::new(), Bytes::from(vec![0u8; 9]).slice(1..1)] {
            assert!(fixed(data, 32, 0).to_indices().unwrap().is_empty());
        }
    }

    /// A text block whose 32-bit offsets are `offsets`, starting `shift` bytes into their buffer.
    fn text(offsets: &[u32], data: &[u8], shift: usize) -> DataBlock {
        let mut words = vec![0u8; shift];
        words.extend(offsets.iter().flat_map(|o| o.to_le_bytes()));
        DataBlock::Variable {
            offsets: Bytes::from(words).slice(shift..),
            offset_bits: 32,
            data: Bytes::from(data.to_vec()),
            num_values: offsets.len() - 1,
        }
    }

    #[test]
    fn text_offsets_are_used_in_place_or_copied() {
        for shift in [0, 1] {
            let array = text(&[0, 2, 2, 5], b"abcde", shift)
                .into_array(&DataType::Utf8)
                .unwrap();
            let strings = array
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .unwrap();
            assert_eq!(
                strings.iter().flatten().collect::<Vec<_>>(),
                ["ab", "", "cde"]
            );
        }
        let large = text(&[0, 1], b"z", 0)
            .into_array(&DataType::LargeUtf8)
            .unwrap();
        assert_eq!(large.len(), 1);
    }

    #[test]
    fn text_offsets_past_the_signed_range_or_the_data_are_errors() {
        for offsets in [[0, u32::MAX], [0, 1 << 31], [0, 6]] {
            for shift in [0, 1] {
                let result = text(&offsets, b"abcde", shift).into_array(&DataType::Utf8);
                assert!(result.is_err(), "{offsets:?} at shift {shift}");
            }
        }
        let descending = text(&[0, 3, 1], b"abc", 0).into_array(&DataType::Binary);
        assert!(descending.is_err());
    }

    #[test]
    fn text_is_checked_only_within_its_offsets() {
        let offsets = |o: &[i32]| OffsetBuffer::new(ScalarBuffer::from(o.to_vec()));
        // Bytes before the first and after the last offset need not be UTF-8.
        let values = Buffer::from(b"\xffab\xc3\xa9c\xfe".to_vec());
        let strings = text_array(offsets(&[1, 3, 6]), values.clone(), None).unwrap();
        assert_eq!(
            strings.iter().flatten().collect::<Vec<_>>(),
            ["ab", "\u{e9}c"]
        );
        // Within them they must be, and no offset may split a character.
        let bad = text_array(offsets(&[0, 3]), values.clone(), None);
        assert!(matches!(bad, Err(Error::Corrupt { .. })), "{bad:?}");
        let split = text_array(offsets(&[1, 4, 6]), values.clone(), None);
        assert!(matches!(split, Err(Error::Corrupt { .. })), "{split:?}");
        let outside = text_array(offsets(&[1, 8]), values, None);
        assert!(matches!(outside, Err(Error::Corrupt { .. })), "{outside:?}");
        // Through a block: offsets that descend anywhere, or start below zero, are corrupt.
        for offsets in [[0, 2, 1, 3], [0, 1, 3, 2], [-1i32 as u32, 0, 1, 2]] {
            let result = text(&offsets, b"abc", 0).into_array(&DataType::Binary);
            assert!(matches!(result, Err(Error::Corrupt { .. })), "{offsets:?}");
        }
    }

    #[test]
    fn joining_a_block_that_claims_more_values_than_it_holds_is_corrupt() {
        let fine = fixed(Bytes::from(vec![1u8; 8]), 32, 2);
        let claims = fixed(Bytes::from(vec![1u8; 8]), 32, usize::MAX / 2);
        let joined = DataBlock::concat(vec![fine, claims]);
        assert!(matches!(joined, Err(Error::Corrupt { .. })), "{joined:?}");
    }

    #[test]
    fn indices_beyond_the_buffer_are_corrupt() {
        let short = fixed(Bytes::from(vec![0u8; 7]), 32, 2);
        assert!(matches!(short.to_indices(), Err(Error::Corrupt { .. })));
    }
}
