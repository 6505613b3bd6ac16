//! Blob pages of formats 2.1 and 2.2 (`PageLayout.blob_layout`).
//!
//! The inner layout (a mini-block page in pylance's files) holds one `(position, size)`
//! description per value, without levels of its own; the blob layout's `layers` carry the
//! field's real nesting, and a null value is a description `(def << 16, 0)` (see
//! [`crate::encodings::blob`]). Reading takes the inner page's round of I/O for the
//! descriptions, then one more for the values they point at.

use std::ops::Range;

use arrow_schema::DataType;
use bytes::Bytes;

use super::page::{PageContext, PageReader, leaf_levels};
use super::repdef::LeafLevels;
use crate::encodings::blob::{Descriptions, description_type};
use crate::error::{Error, Result};
use crate::format::pb::v2_1 as pb;
use crate::format::{BufferRange, FileVersion};

/// A blob page; see the module docs.
#[derive(Debug)]
pub struct BlobPage {
    ctx: PageContext,
    descriptions: PageReader,
    file_size: u64,
}

impl BlobPage {
    /// Checks the layout; `file_size` bounds the positions of the values.
    pub fn new(
        layout: &pb::BlobLayout,
        buffers: &[BufferRange],
        num_rows: u64,
        leaf_type: &DataType,
        version: FileVersion,
        file_size: u64,
    ) -> Result<Self> {
        if leaf_type != &DataType::LargeBinary {
            return Err(Error::corrupt(format!(
                "blob page for a field of type {leaf_type}"
            )));
        }
        let ctx = PageContext::new(&layout.layers, leaf_type, num_rows, version)?;
        if ctx.has_rep() {
            return Err(Error::not_supported("blob values inside lists"));
        }
        let inner = layout
            .inner_layout
            .as_deref()
            .ok_or_else(|| Error::corrupt("blob page has no inner layout"))?;
        match inner.layout {
            Some(pb::page_layout::Layout::BlobLayout(_)) => {
                return Err(Error::corrupt("blob page nested in a blob page"));
            }
            Some(pb::page_layout::Layout::FullZipLayout(_)) => {
                return Err(Error::not_supported("blob descriptions in a full-zip page"));
            }
            _ => {}
        }
        let descriptions = PageReader::new(
            inner,
            buffers,
            num_rows,
            &description_type(),
            version,
            file_size,
        )?;
        Ok(Self {
            ctx,
            descriptions,
            file_size,
        })
    }

    /// What the descriptions page keeps loaded.
    pub fn metadata_ranges(&self) -> Vec<Range<u64>> {
        self.descriptions.metadata_ranges()
    }

    /// Whether the descriptions page's metadata is loaded.
    pub fn metadata_loaded(&self) -> bool {
        self.descriptions.metadata_loaded()
    }

    /// Keeps the bytes of [`metadata_ranges`](Self::metadata_ranges).
    pub fn load_metadata(&self, bytes: Vec<Bytes>) -> Result<()> {
        self.descriptions.load_metadata(bytes)
    }

    /// Round 1: the descriptions of the rows.
    pub fn plan(&self, ranges: &[Range<u64>]) -> Result<Vec<Range<u64>>> {
        self.descriptions.plan(ranges)
    }

    /// Round 2: the values the descriptions point at.
    pub fn plan_second(&self, ranges: &[Range<u64>], first: &[Bytes]) -> Result<Vec<Range<u64>>> {
        self.read_descriptions(ranges, first)?
            .ranges(self.file_size)
    }

    /// The levels and values of the rows.
    pub fn decode(
        &self,
        ranges: &[Range<u64>],
        first: &[Bytes],
        second: &[Bytes],
    ) -> Result<LeafLevels> {
        let descriptions = self.read_descriptions(ranges, first)?;
        if second.len() != descriptions.stored() {
            return Err(Error::internal(
                "blob reads do not match their descriptions",
            ));
        }
        let codes = descriptions.null_codes()?;
        if let Some(bad) = codes.iter().find(|&&c| c > self.ctx.codes.max_def) {
            return Err(Error::corrupt(format!(
                "blob description marks a null with level {bad}, above the page's maximum {}",
                self.ctx.codes.max_def
            )));
        }
        let num_entries = codes.len();
        let def = (self.ctx.codes.max_def > 0).then_some(codes);
        let values = descriptions.values(second.to_vec())?;
        leaf_levels(&self.ctx, None, def, values, num_entries)
    }

    fn read_descriptions(&self, ranges: &[Range<u64>], first: &[Bytes]) -> Result<Descriptions> {
        let levels = self.descriptions.decode(ranges, first, &[])?;
        if levels.rep.is_some()
            || levels
                .def
                .as_ref()
                .is_some_and(|d| d.iter().any(|&d| d > 0))
        {
            return Err(Error::corrupt("blob descriptions have levels of their own"));
        }
        Descriptions::from_array(&levels.values)
    }
}
