//! Blob columns: `large_binary` values stored outside the pages.
//!
//! Pylance stores a field with metadata `lance-encoding:blob` = `true` as one description per
//! value, `(u64 position, u64 size)`, in the column's pages; the values themselves sit
//! elsewhere in the file (64-byte aligned, before the page), found by absolute position. An
//! empty value is `(0, 0)`; a null value has size 0 and a non-zero position: 1 in 2.0, and in
//! 2.1+ its levels, `def << 16 | rep`. Format 2.0 marks the column with `ColumnEncoding.blob`
//! and stores the descriptions as a packed struct of two u64; 2.1+ pages use `BlobLayout`,
//! whose inner layout holds the descriptions.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{ArrayRef, LargeBinaryArray};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields};
use bytes::Bytes;

use crate::encodings::buffers::concat_bytes;
use crate::error::{Error, Result};

/// Bytes of one description: u64 position, u64 size.
pub const DESCRIPTION_BYTES: usize = 16;

/// The Arrow type of decoded descriptions: a struct of `position` and `size`.
pub fn description_type() -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new("position", DataType::UInt64, false),
        Field::new("size", DataType::UInt64, false),
    ]))
}

/// The descriptions of some blob values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Descriptions {
    positions: Vec<u64>,
    sizes: Vec<u64>,
    /// Whether null positions hold levels (2.1+) rather than a flag (2.0).
    levels_in_nulls: bool,
}

impl Descriptions {
    /// Parses back-to-back 16-byte descriptions (format 2.0).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if !bytes.len().is_multiple_of(DESCRIPTION_BYTES) {
            return Err(Error::corrupt("blob descriptions are cut short"));
        }
        let word = |b: &[u8]| {
            let mut full = [0u8; 8];
            full.copy_from_slice(b);
            u64::from_le_bytes(full)
        };
        let (positions, sizes) = bytes
            .chunks_exact(DESCRIPTION_BYTES)
            .map(|d| (word(&d[..8]), word(&d[8..])))
            .unzip();
        Ok(Self {
            positions,
            sizes,
            levels_in_nulls: false,
        })
    }

    /// Reads descriptions decoded as [`description_type`] (formats 2.1+).
    pub fn from_array(array: &ArrayRef) -> Result<Self> {
        let structs = array
            .as_struct_opt()
            .ok_or_else(|| Error::corrupt("blob descriptions are not a struct"))?;
        let column = |index: usize| {
            structs
                .columns()
                .get(index)
                .and_then(|c| c.as_primitive_opt::<UInt64Type>())
                .map(|c| c.values().to_vec())
                .ok_or_else(|| Error::corrupt("blob descriptions are not two u64 values"))
        };
        Ok(Self {
            positions: column(0)?,
            sizes: column(1)?,
            levels_in_nulls: true,
        })
    }

    /// The number of descriptions.
    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    /// How many values are stored (non-empty).
    pub fn stored(&self) -> usize {
        self.sizes.iter().filter(|&&size| size > 0).count()
    }

    /// The definition level of each value: 0 when present, non-zero when null (in 2.0
    /// always 1).
    pub fn null_codes(&self) -> Result<Vec<u16>> {
        self.positions
            .iter()
            .zip(&self.sizes)
            .map(|(&position, &size)| {
                if size > 0 || position == 0 {
                    Ok(0)
                } else if !self.levels_in_nulls {
                    Ok(1)
                } else if position & 0xFFFF != 0 {
                    Err(Error::not_supported("blob values inside lists"))
                } else {
                    u16::try_from(position >> 16)
                        .map_err(|_| Error::corrupt("blob null marker is out of range"))
                }
            })
            .collect()
    }

    /// The file ranges of the non-empty values, in order, checked against the file size.
    pub fn ranges(&self, file_size: u64) -> Result<Vec<Range<u64>>> {
        self.positions
            .iter()
            .zip(&self.sizes)
            .filter(|(_, size)| **size > 0)
            .map(|(&position, &size)| match position.checked_add(size) {
                Some(end) if end <= file_size => Ok(position..end),
                _ => Err(Error::corrupt(format!(
                    "blob of {size} bytes at {position} lies outside the {file_size}-byte file"
                ))),
            })
            .collect()
    }

    /// The values, from the bytes of [`ranges`](Self::ranges) (in the same order); nulls
    /// where `null_codes` is non-zero.
    pub fn values(&self, blobs: Vec<Bytes>) -> Result<ArrayRef> {
        let mut offsets = Vec::with_capacity(self.len() + 1);
        offsets.push(0i64);
        let mut blobs_iter = blobs.iter();
        let mut total = 0u64;
        for &size in &self.sizes {
            if size > 0 {
                let blob = blobs_iter
                    .next()
                    .ok_or_else(|| Error::internal("fewer blobs read than described"))?;
                if blob.len() as u64 != size {
                    return Err(Error::internal("a blob read returned the wrong size"));
                }
                total += size;
            }
            offsets.push(
                i64::try_from(total).map_err(|_| Error::corrupt("blob values are too large"))?,
            );
        }
        let codes = self.null_codes()?;
        let nulls = codes
            .iter()
            .any(|&c| c > 0)
            .then(|| NullBuffer::from_iter(codes.iter().map(|&c| c == 0)));
        let array = LargeBinaryArray::try_new(
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            concat_bytes(blobs),
            nulls,
        )?;
        Ok(Arc::new(array) as ArrayRef)
    }
}

/// Whether `field` is stored as a blob column when written by pylance.
pub fn is_blob_field(field: &Field) -> bool {
    matches!(field.data_type(), DataType::LargeBinary)
        && field
            .metadata()
            .get("lance-encoding:blob")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description(position: u64, size: u64) -> Vec<u8> {
        [position.to_le_bytes(), size.to_le_bytes()].concat()
    }

    #[test]
    fn values_nulls_and_empties() {
        let bytes = [
            description(0, 3),
            description(1, 0),
            description(0, 0),
            description(64, 2),
        ]
        .concat();
        let descriptions = Descriptions::from_bytes(&bytes).unwrap();
        assert_eq!(descriptions.null_codes().unwrap(), [0, 1, 0, 0]);
        assert_eq!(descriptions.ranges(100).unwrap(), [0..3, 64..66]);
        let values = descriptions
            .values(vec![Bytes::from_static(b"abc"), Bytes::from_static(b"xy")])
            .unwrap();
        let values = values.as_binary::<i64>();
        assert_eq!(
            values.iter().collect::<Vec<_>>(),
            [Some(&b"abc"[..]), None, Some(&b""[..]), Some(&b"xy"[..])]
        );
    }

    #[test]
    fn structural_nulls_carry_their_definition_level() {
        let descriptions = Descriptions {
            positions: vec![0, 2 << 16, 1 << 16, 0],
            sizes: vec![5, 0, 0, 0],
            levels_in_nulls: true,
        };
        assert_eq!(descriptions.null_codes().unwrap(), [0, 2, 1, 0]);
        let in_list = Descriptions {
            positions: vec![(1 << 16) | 1],
            sizes: vec![0],
            levels_in_nulls: true,
        };
        assert!(in_list.null_codes().is_err());
    }

    #[test]
    fn blobs_outside_the_file_are_corrupt() {
        let descriptions = Descriptions::from_bytes(&description(u64::MAX, 2)).unwrap();
        assert!(matches!(
            descriptions.ranges(1000),
            Err(Error::Corrupt { .. })
        ));
        let descriptions = Descriptions::from_bytes(&description(990, 20)).unwrap();
        assert!(descriptions.ranges(1000).is_err());
        assert!(Descriptions::from_bytes(&[0; 15]).is_err());
    }
}
