//! Fixed-size lists of fixed-width items, possibly nested (`fixed_size_list<fixed_size_list<..>>`).
//!
//! A `fixed_size_list` encoding has one level per list, outermost first. A level whose items
//! have nulls (`has_validity`) stores a bitmap of those items. Every level's bitmap comes before
//! the values, outermost first:
//!
//! - in a mini-block chunk of n lists, as separate buffers: level k's bitmap holds
//!   `n · d1 · … · dk` bits, then one buffer of `n · d1 · … · dn` items;
//! - in a full-zip record of one list, back to back: level k's `d1 · … · dk` bits rounded up to
//!   whole bytes, then the `d1 · … · dn` items.

use arrow_buffer::{BooleanBuffer, BooleanBufferBuilder, Buffer};
use bytes::Bytes;

use super::block::DataBlock;
use crate::error::{Error, Result};
use crate::format::pb::v2_1 as pb;
use pb::compressive_encoding::Compression as C;

/// One level of a (nested) fixed-size list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FslLevel {
    /// Items per list at this level.
    pub dimension: usize,
    /// Whether this level's items have a validity bitmap.
    pub has_validity: bool,
}

/// The shape of a (nested) fixed-size list of fixed-width items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FslShape {
    /// The levels, outermost first.
    pub levels: Vec<FslLevel>,
    /// Bits per innermost item.
    pub item_bits: u64,
}

impl FslShape {
    /// Reads the shape of a `fixed_size_list` encoding whose innermost values are
    /// uncompressed `flat`; `None` for other encodings.
    pub fn parse(encoding: &pb::CompressiveEncoding) -> Result<Option<Self>> {
        let mut levels = Vec::new();
        let mut current = encoding;
        loop {
            match current.compression.as_ref() {
                Some(C::FixedSizeList(list)) => {
                    let dimension = usize::try_from(list.items_per_value)
                        .ok()
                        .filter(|&d| d > 0)
                        .ok_or_else(|| Error::corrupt("fixed-size list dimension is invalid"))?;
                    levels.push(FslLevel {
                        dimension,
                        has_validity: list.has_validity,
                    });
                    current = list
                        .values
                        .as_deref()
                        .ok_or_else(|| Error::corrupt("fixed-size list encoding has no values"))?;
                }
                Some(C::Flat(flat)) if flat.data.is_none() && !levels.is_empty() => {
                    return Ok(Some(FslShape {
                        levels,
                        item_bits: flat.bits_per_value,
                    }));
                }
                _ if levels.is_empty() => return Ok(None),
                _ => {
                    return Err(Error::not_supported(
                        "fixed-size lists of compressed items in full-zip pages",
                    ));
                }
            }
        }
    }

    /// Items per list at each level, counted from the outermost list: `d1`, `d1·d2`, ...
    fn items_per_list(&self) -> Result<Vec<usize>> {
        let mut product = 1usize;
        self.levels
            .iter()
            .map(|level| {
                product = product
                    .checked_mul(level.dimension)
                    .ok_or_else(|| Error::corrupt("fixed-size list is too large"))?;
                Ok(product)
            })
            .collect()
    }

    /// The bytes of one full-zip record (bitmaps, then items).
    pub fn record_bytes(&self) -> Result<usize> {
        if !self.item_bits.is_multiple_of(8) {
            return Err(Error::not_supported(
                "full-zip fixed-size lists of sub-byte items",
            ));
        }
        let counts = self.items_per_list()?;
        let bitmaps: usize = self
            .levels
            .iter()
            .zip(&counts)
            .filter(|(level, _)| level.has_validity)
            .map(|(_, count)| count.div_ceil(8))
            .sum();
        let items = counts.last().copied().unwrap_or(0);
        items
            .checked_mul((self.item_bits / 8) as usize)
            .and_then(|b| b.checked_add(bitmaps))
            .ok_or_else(|| Error::corrupt("fixed-size list is too large"))
    }

    /// Splits `num_values` full-zip records (back to back in `data`) into a block.
    pub fn split_records(&self, data: &Bytes, num_values: usize) -> Result<DataBlock> {
        let record = self.record_bytes()?;
        if Some(data.len()) != record.checked_mul(num_values) {
            return Err(Error::corrupt(
                "full-zip fixed-size list records do not add up",
            ));
        }
        let counts = self.items_per_list()?;
        let item_bytes = (self.item_bits / 8) as usize;
        let items_per_record = counts.last().copied().unwrap_or(0);
        let mut bitmaps: Vec<Option<BooleanBufferBuilder>> = self
            .levels
            .iter()
            .zip(&counts)
            .map(|(level, count)| {
                level
                    .has_validity
                    .then(|| BooleanBufferBuilder::new(count * num_values))
            })
            .collect();
        // Records without validity bitmaps are the items back to back.
        let items = if bitmaps.iter().all(Option::is_none) {
            data.clone()
        } else {
            let mut items = Vec::with_capacity(items_per_record * item_bytes * num_values);
            for mut rest in data.chunks_exact(record.max(1)).take(num_values) {
                for (builder, count) in bitmaps.iter_mut().zip(&counts) {
                    if let Some(builder) = builder {
                        let (bits, tail) = rest.split_at(count.div_ceil(8));
                        builder.append_packed_range(0..*count, bits);
                        rest = tail;
                    }
                }
                items.extend_from_slice(rest);
            }
            Bytes::from(items)
        };
        let mut block = DataBlock::Fixed {
            data: items,
            bits_per_value: self.item_bits,
            num_values: items_per_record * num_values,
        };
        for ((level, count), bitmap) in self.levels.iter().zip(&counts).zip(bitmaps).rev() {
            let lists = count / level.dimension * num_values;
            block = DataBlock::FixedSizeList {
                dimension: level.dimension,
                items: Box::new(block),
                item_validity: bitmap.map(|mut b| b.finish()),
                num_values: lists,
            };
        }
        Ok(block)
    }
}

/// A (nested) fixed-size list block seen level by level, for writing.
#[derive(Debug)]
pub struct FslValues<'a> {
    /// Per level, outermost first: the dimension and the items' validity.
    levels: Vec<(usize, Option<&'a BooleanBuffer>)>,
    /// The innermost items.
    items: &'a Bytes,
    /// Bits per innermost item.
    item_bits: u64,
}

impl<'a> FslValues<'a> {
    /// Flattens a fixed-size list block whose innermost items are fixed width.
    pub fn new(block: &'a DataBlock) -> Result<Self> {
        let mut levels = Vec::new();
        let mut current = block;
        loop {
            match current {
                DataBlock::FixedSizeList {
                    dimension,
                    items,
                    item_validity,
                    ..
                } => {
                    levels.push((*dimension, item_validity.as_ref()));
                    current = items;
                }
                DataBlock::Fixed {
                    data,
                    bits_per_value,
                    ..
                } if !levels.is_empty() => {
                    return Ok(FslValues {
                        levels,
                        items: data,
                        item_bits: *bits_per_value,
                    });
                }
                _ => {
                    return Err(Error::not_supported(
                        "fixed-size lists of items that are not fixed width",
                    ));
                }
            }
        }
    }

    /// The shape of these lists.
    pub fn shape(&self) -> FslShape {
        FslShape {
            levels: self
                .levels
                .iter()
                .map(|(dimension, validity)| FslLevel {
                    dimension: *dimension,
                    has_validity: validity.is_some(),
                })
                .collect(),
            item_bits: self.item_bits,
        }
    }

    /// Items per list at each level, outermost first.
    fn counts(&self) -> Vec<usize> {
        let mut product = 1;
        self.levels
            .iter()
            .map(|(dimension, _)| {
                product *= dimension;
                product
            })
            .collect()
    }

    /// The `fixed_size_list` encoding of these lists, with flat items.
    pub fn encoding(&self) -> pb::CompressiveEncoding {
        let mut encoding = flat(self.item_bits);
        for (dimension, validity) in self.levels.iter().rev() {
            encoding = pb::CompressiveEncoding {
                compression: Some(C::FixedSizeList(Box::new(pb::FixedSizeList {
                    items_per_value: *dimension as u64,
                    values: Some(Box::new(encoding)),
                    has_validity: validity.is_some(),
                }))),
            };
        }
        encoding
    }

    /// Bits of one list in a mini-block chunk (items and bitmaps).
    pub fn bits_per_list(&self) -> usize {
        let counts = self.counts();
        let bitmaps: usize = self
            .levels
            .iter()
            .zip(&counts)
            .filter(|((_, validity), _)| validity.is_some())
            .map(|(_, count)| count)
            .sum();
        bitmaps + counts.last().copied().unwrap_or(0) * self.item_bits as usize
    }

    /// The number of value buffers of a mini-block chunk: one per bitmap, then the items.
    pub fn buffer_count(&self) -> usize {
        1 + self.levels.iter().filter(|(_, v)| v.is_some()).count()
    }

    /// The buffers of a mini-block chunk holding lists `start..start + len`.
    pub fn chunk_buffers(&self, start: usize, len: usize) -> Vec<Bytes> {
        let counts = self.counts();
        let mut buffers = Vec::with_capacity(self.buffer_count());
        for ((_, validity), count) in self.levels.iter().zip(&counts) {
            if let Some(validity) = validity {
                buffers.push(bitmap_bytes(validity, start * count, len * count));
            }
        }
        let per_list = counts.last().copied().unwrap_or(0);
        let (first, count) = (start * per_list, len * per_list);
        buffers.push(if self.item_bits == 1 {
            let bits = BooleanBuffer::new(Buffer::from(self.items.clone()), first, count);
            bitmap_bytes(&bits, 0, count)
        } else {
            let width = (self.item_bits / 8) as usize;
            self.items.slice(first * width..(first + count) * width)
        });
        buffers
    }

    /// Appends the full-zip record of list `i` (bitmaps, then items) to `out`.
    pub fn write_record(&self, i: usize, out: &mut Vec<u8>) -> Result<()> {
        let counts = self.counts();
        for ((_, validity), count) in self.levels.iter().zip(&counts) {
            if let Some(validity) = validity {
                out.extend_from_slice(&bitmap_bytes(validity, i * count, *count));
            }
        }
        let width = (self.item_bits / 8) as usize;
        let per_list = counts.last().copied().unwrap_or(0) * width;
        let items = self
            .items
            .get(i * per_list..(i + 1) * per_list)
            .ok_or_else(|| Error::internal("fixed-size list out of range"))?;
        out.extend_from_slice(items);
        Ok(())
    }
}

/// Bits `offset..offset + len` as whole bytes, the unused bits of the last byte zero.
fn bitmap_bytes(bits: &BooleanBuffer, offset: usize, len: usize) -> Bytes {
    let mut bytes = bits.slice(offset, len).sliced().as_slice().to_vec();
    bytes.truncate(len.div_ceil(8));
    if let Some(last) = bytes.last_mut()
        && !len.is_multiple_of(8)
    {
        *last &= (1u8 << (len % 8)) - 1;
    }
    Bytes::from(bytes)
}

fn flat(bits_per_value: u64) -> pb::CompressiveEncoding {
    pb::CompressiveEncoding {
        compression: Some(C::Flat(pb::Flat {
            bits_per_value,
            data: None,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested_block() -> DataBlock {
        // 2 lists of 2 lists of 3 u8 items; inner list 1 null, item 4 null.
        let items = DataBlock::Fixed {
            data: Bytes::from((0u8..12).collect::<Vec<_>>()),
            bits_per_value: 8,
            num_values: 12,
        };
        let item_valid: BooleanBuffer = (0..12).map(|i| i != 4 && i / 3 != 1).collect();
        let inner = DataBlock::FixedSizeList {
            dimension: 3,
            items: Box::new(items),
            item_validity: Some(item_valid),
            num_values: 4,
        };
        DataBlock::FixedSizeList {
            dimension: 2,
            items: Box::new(inner),
            item_validity: Some([true, false, true, true].into_iter().collect()),
            num_values: 2,
        }
    }

    #[test]
    fn records_round_trip_through_the_shape() {
        let block = nested_block();
        let values = FslValues::new(&block).unwrap();
        let shape = values.shape();
        assert_eq!(shape.record_bytes().unwrap(), 1 + 1 + 6);
        let mut data = Vec::new();
        values.write_record(0, &mut data).unwrap();
        values.write_record(1, &mut data).unwrap();
        assert_eq!(&data[..8], &[0b01, 0b0000_0111, 0, 1, 2, 3, 4, 5]);
        let back = shape.split_records(&Bytes::from(data), 2).unwrap();
        let DataBlock::FixedSizeList {
            dimension: 2,
            items,
            item_validity: Some(outer),
            num_values: 2,
        } = back
        else {
            panic!("not a nested list: {back:?}")
        };
        assert_eq!(outer.iter().collect::<Vec<_>>(), [true, false, true, true]);
        let DataBlock::FixedSizeList {
            dimension: 3,
            item_validity: Some(inner),
            num_values: 4,
            ..
        } = *items
        else {
            panic!("not a list of lists")
        };
        let expected: Vec<bool> = (0..12).map(|i| i != 4 && i / 3 != 1).collect();
        assert_eq!(inner.iter().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn chunk_buffers_slice_every_level() {
        let block = nested_block();
        let values = FslValues::new(&block).unwrap();
        assert_eq!(values.buffer_count(), 3);
        assert_eq!(values.bits_per_list(), 2 + 6 + 48);
        let buffers = values.chunk_buffers(1, 1);
        assert_eq!(buffers[0].as_ref(), &[0b11]);
        assert_eq!(buffers[1].as_ref(), &[0b11_1111]);
        assert_eq!(buffers[2].as_ref(), &[6, 7, 8, 9, 10, 11]);
    }

    #[test]
    fn parse_reads_the_encoding_back() {
        let block = nested_block();
        let values = FslValues::new(&block).unwrap();
        let shape = FslShape::parse(&values.encoding()).unwrap().unwrap();
        assert_eq!(shape, values.shape());
        assert_eq!(FslShape::parse(&flat(32)).unwrap(), None);
    }

    #[test]
    fn short_records_are_corrupt() {
        let shape = FslValues::new(&nested_block()).unwrap().shape();
        assert!(matches!(
            shape.split_records(&Bytes::from_static(&[0; 15]), 2),
            Err(Error::Corrupt { .. })
        ));
    }
}
