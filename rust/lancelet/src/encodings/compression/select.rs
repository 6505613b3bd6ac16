//! Cutting some values out of a [`DataBlock`]: a slice without copying where the layout
//! allows, and a selection of several ranges joined into one block.

use std::ops::Range;

use arrow_buffer::{BooleanBuffer, Buffer};

use super::block::DataBlock;
use crate::encodings::buffers::to_bytes;
use crate::error::{Error, Result};

impl DataBlock {
    /// Values `range` of the block. Byte-aligned fixed-width values, variable-width values
    /// and fixed-size lists of them share the block's buffers; booleans are copied.
    pub fn slice(&self, range: Range<usize>) -> Result<DataBlock> {
        if range.start > range.end || range.end > self.num_values() {
            return Err(Error::corrupt(format!(
                "values {range:?} are outside a block of {}",
                self.num_values()
            )));
        }
        let short = || Error::corrupt("a block's buffer is shorter than its values");
        let len = range.len();
        match self {
            DataBlock::Fixed {
                data,
                bits_per_value,
                ..
            } => {
                let bits = *bits_per_value;
                let data = if bits == 1 {
                    if data.len() * 8 < range.end {
                        return Err(short());
                    }
                    let bitmap = BooleanBuffer::new(Buffer::from(data.clone()), range.start, len);
                    to_bytes(bitmap.sliced())
                } else if bits.is_multiple_of(8) && bits > 0 {
                    let width = (bits / 8) as usize;
                    if data.len() < range.end * width {
                        return Err(short());
                    }
                    data.slice(range.start * width..range.end * width)
                } else {
                    return Err(Error::not_supported(format!("slicing {bits}-bit values")));
                };
                Ok(DataBlock::Fixed {
                    data,
                    bits_per_value: bits,
                    num_values: len,
                })
            }
            DataBlock::Variable {
                offsets,
                offset_bits,
                data,
                ..
            } => {
                let width = match offset_bits {
                    32 => 4,
                    64 => 8,
                    other => return Err(Error::corrupt(format!("{other}-bit offsets"))),
                };
                // Offsets need not start at 0, so the window of `len + 1` offsets is the slice.
                let end = (range.end + 1) * width;
                if offsets.len() < end {
                    return Err(short());
                }
                Ok(DataBlock::Variable {
                    offsets: offsets.slice(range.start * width..end),
                    offset_bits: *offset_bits,
                    data: data.clone(),
                    num_values: len,
                })
            }
            DataBlock::FixedSizeList {
                dimension,
                items,
                item_validity,
                ..
            } => {
                let scaled = |at: usize| {
                    at.checked_mul(*dimension)
                        .ok_or_else(|| Error::corrupt("fixed-size list item count overflows"))
                };
                let (start, end) = (scaled(range.start)?, scaled(range.end)?);
                let item_validity = match item_validity {
                    Some(validity) if validity.len() < end => return Err(short()),
                    Some(validity) => Some(validity.slice(start, end - start)),
                    None => None,
                };
                Ok(DataBlock::FixedSizeList {
                    dimension: *dimension,
                    items: Box::new(items.slice(start..end)?),
                    item_validity,
                    num_values: len,
                })
            }
            DataBlock::Struct { children, .. } => Ok(DataBlock::Struct {
                children: children
                    .iter()
                    .map(|child| child.slice(range.clone()))
                    .collect::<Result<_>>()?,
                num_values: len,
            }),
        }
    }

    /// The values of `ranges`, in order, as one block (the block itself when the one range is
    /// all of it).
    pub fn select(self, ranges: &[Range<usize>]) -> Result<DataBlock> {
        match ranges {
            [only] if *only == (0..self.num_values()) => Ok(self),
            [only] => self.slice(only.clone()),
            _ => DataBlock::concat(
                ranges
                    .iter()
                    .map(|range| self.slice(range.clone()))
                    .collect::<Result<_>>()?,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Array, BooleanArray, FixedSizeListArray, Int32Array, StringArray};
    use arrow_schema::{DataType, Field};
    use bytes::Bytes;
    use std::sync::Arc;

    use super::*;

    fn ints(values: &[i32]) -> DataBlock {
        DataBlock::Fixed {
            data: Bytes::from(
                values
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<_>>(),
            ),
            bits_per_value: 32,
            num_values: values.len(),
        }
    }

    #[test]
    fn selects_ranges_of_fixed_values_in_order() {
        let block = ints(&[10, 11, 12, 13, 14, 15]);
        let picked = block.select(&[4..5, 0..2, 4..6]).unwrap();
        let array = picked.into_array(&DataType::Int32).unwrap();
        let array = array.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(array.values().to_vec(), vec![14, 10, 11, 14, 15]);
    }

    #[test]
    fn selects_booleans_at_any_bit() {
        // Bits 0..10: 1,0,1,1,0,0,1,0, 1,1.
        let block = DataBlock::Fixed {
            data: Bytes::from(vec![0b0100_1101, 0b0000_0011]),
            bits_per_value: 1,
            num_values: 10,
        };
        let picked = block.select(&[2..4, 8..10, 1..2]).unwrap();
        let array = picked.into_array(&DataType::Boolean).unwrap();
        let array = array.as_any().downcast_ref::<BooleanArray>().unwrap();
        let got: Vec<bool> = array.iter().map(|v| v.unwrap()).collect();
        assert_eq!(got, vec![true, true, true, true, false]);
    }

    #[test]
    fn selects_strings_whose_offsets_do_not_start_at_zero() {
        // Offsets 3..: "b", "cc", "", "ddd" inside "xxxbccddd".
        let offsets: Vec<u8> = [3u32, 4, 6, 6, 9]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let block = DataBlock::Variable {
            offsets: Bytes::from(offsets),
            offset_bits: 32,
            data: Bytes::from_static(b"xxxbccddd"),
            num_values: 4,
        };
        let picked = block.select(&[3..4, 0..2, 2..3]).unwrap();
        let array = picked.into_array(&DataType::Utf8).unwrap();
        let array = array.as_any().downcast_ref::<StringArray>().unwrap();
        let got: Vec<&str> = array.iter().map(|v| v.unwrap()).collect();
        assert_eq!(got, vec!["ddd", "b", "cc", ""]);
    }

    #[test]
    fn selects_lists_with_their_item_validity() {
        let validity = BooleanBuffer::from(vec![true, false, true, true, false, true]);
        let block = DataBlock::FixedSizeList {
            dimension: 2,
            items: Box::new(ints(&[1, 2, 3, 4, 5, 6])),
            item_validity: Some(validity),
            num_values: 3,
        };
        let picked = block.select(&[2..3, 0..1]).unwrap();
        let item = Arc::new(Field::new("item", DataType::Int32, true));
        let array = picked
            .into_array(&DataType::FixedSizeList(item, 2))
            .unwrap();
        let lists = array.as_any().downcast_ref::<FixedSizeListArray>().unwrap();
        let items = lists
            .values()
            .as_any()
            .downcast_ref::<Int32Array>()
            .unwrap();
        let got: Vec<Option<i32>> = items.iter().collect();
        assert_eq!(got, vec![None, Some(6), Some(1), None]);
    }

    #[test]
    fn ranges_outside_the_block_or_its_buffers_are_errors() {
        assert!(ints(&[1, 2]).select(std::slice::from_ref(&(1..3))).is_err());
        let short = DataBlock::Fixed {
            data: Bytes::from_static(&[0; 4]),
            bits_per_value: 32,
            num_values: 3,
        };
        assert!(short.select(std::slice::from_ref(&(1..3))).is_err());
        let short_offsets = DataBlock::Variable {
            offsets: Bytes::from_static(&[0; 8]),
            offset_bits: 32,
            data: Bytes::new(),
            num_values: 3,
        };
        assert!(short_offsets.select(std::slice::from_ref(&(0..2))).is_err());
    }
}
