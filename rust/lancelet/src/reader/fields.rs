//! The field readers of every format version behind one type.

use std::ops::Range;

use arrow_array::ArrayRef;
use arrow_schema::DataType;
use futures::FutureExt;
use futures::future::BoxFuture;

use super::fields_structural::StructuralFieldReader;
use super::fields_v2_0::FieldReader as FieldReaderV2_0;
use super::projection::Selection;
use crate::error::{Error, Result};
use crate::io::RangeRead;

/// Reads one top-level field, whatever the file's version.
#[derive(Debug, Clone)]
pub enum FieldReader {
    /// Format 2.0: one column per field, struct and list.
    V2_0(FieldReaderV2_0),
    /// Formats 2.1 and 2.2: leaf columns with rep/def levels.
    Structural(StructuralFieldReader),
}

impl FieldReader {
    /// The Arrow data type this reader produces.
    pub fn data_type(&self) -> DataType {
        match self {
            FieldReader::V2_0(reader) => reader.data_type(),
            FieldReader::Structural(reader) => reader.data_type(),
        }
    }

    /// Estimated stored bytes per top-level row.
    pub fn bytes_per_value(&self) -> f64 {
        match self {
            FieldReader::V2_0(reader) => reader.bytes_per_value(),
            FieldReader::Structural(reader) => reader.bytes_per_value(),
        }
    }

    /// Estimated bytes per top-level row once decoded into Arrow arrays: exact widths for
    /// fixed-width types; for the others (strings, lists, structs) a few times the stored
    /// bytes, as text compresses to about a third.
    pub fn decoded_bytes_per_value(&self) -> f64 {
        let stored = self.bytes_per_value();
        let decoded = fixed_width(&self.data_type()).unwrap_or(8.0 + 3.0 * stored);
        decoded.max(stored)
    }

    /// Whether reads of consecutive rows within a page become the values without a copy.
    pub fn decodes_in_place(&self) -> bool {
        match self {
            FieldReader::V2_0(_) => false,
            FieldReader::Structural(reader) => reader.decodes_in_place(),
        }
    }

    /// Where the field's pages begin (after the first), when it is one column of a 2.1+ file.
    pub fn page_boundaries(&self) -> Option<&[u64]> {
        match self {
            FieldReader::V2_0(_) => None,
            FieldReader::Structural(reader) => reader.page_boundaries(),
        }
    }

    /// Keeps only the children chosen by `selection`.
    pub fn project(&self, selection: &Selection) -> Result<FieldReader> {
        Ok(match self {
            FieldReader::V2_0(reader) => FieldReader::V2_0(reader.project(selection)?),
            FieldReader::Structural(reader) => FieldReader::Structural(reader.project(selection)?),
        })
    }

    /// Reads the rows of `ranges` (sorted, disjoint) into arrays that hold them in order when
    /// put end to end (one per page touched where pages can be kept apart; see
    /// [`StructuralFieldReader::read_pieces`]), so that the caller copies only where it must.
    /// Arrays are built from the file's bytes, so Arrow refusing one (invalid UTF-8, offsets
    /// out of order) means the file is corrupt.
    pub fn read_pieces<'a>(
        &'a self,
        io: &'a dyn RangeRead,
        ranges: &'a [Range<u64>],
    ) -> BoxFuture<'a, Result<Vec<ArrayRef>>> {
        let read = match self {
            FieldReader::V2_0(reader) => {
                reader.read(io, ranges).map(|r| r.map(|a| vec![a])).boxed()
            }
            FieldReader::Structural(reader) => reader.read_pieces(io, ranges),
        };
        read.map(|result| result.map_err(Error::arrow_means_corrupt))
            .boxed()
    }
}

/// Bytes per value of a fixed-width Arrow type (`None` for variable-width and nested types).
fn fixed_width(data_type: &DataType) -> Option<f64> {
    match data_type {
        DataType::Null => Some(0.0),
        DataType::Boolean => Some(0.125),
        DataType::FixedSizeBinary(width) => Some(f64::from((*width).max(0))),
        DataType::FixedSizeList(item, size) => {
            fixed_width(item.data_type()).map(|w| w * f64::from((*size).max(0)))
        }
        other => other.primitive_width().map(|w| w as f64),
    }
}
