//! Constant pages (2.2) and all-null pages (2.1 and 2.2): every visible value is null or the
//! same value.
//!
//! Buffers: an optional scalar buffer (variable-width constants and fixed-width ones over 32
//! bytes), then, when the page has levels, the repetition and definition levels (raw u16 unless
//! `rep_compression` / `def_compression` is set; an empty buffer means no such levels). A
//! fixed-width constant of up to 32 bytes is stored in `inline_value` instead. The scalar
//! buffer holds the Arrow buffers of a one-value array: `[u32 count][u32 size of each][the
//! buffers]`, for example `"hello"` as `02000000 08000000 05000000 | 00000000 05000000 | hello`.

use std::ops::Range;
use std::sync::OnceLock;

use arrow_array::{ArrayRef, UInt32Array, make_array, new_null_array};
use arrow_buffer::Buffer;
use arrow_data::ArrayDataBuilder;
use arrow_schema::DataType;
use bytes::Bytes;

use crate::encodings::compression::decode;
use crate::encodings::structural::page::{PageContext, leaf_levels, row_starts};
use crate::encodings::structural::repdef::LeafLevels;
use crate::error::{Error, Result};
use crate::format::pb::v2_1 as pb;
use crate::format::{BufferRange, FileVersion};

/// A constant or all-null page; see the module docs.
#[derive(Debug)]
pub struct ConstantPage {
    ctx: PageContext,
    layout: pb::ConstantLayout,
    scalar: Option<BufferRange>,
    rep: Option<BufferRange>,
    def: Option<BufferRange>,
    loaded: OnceLock<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    rep: Option<Vec<u16>>,
    def: Option<Vec<u16>>,
    /// The constant as a one-value array (`None`: every value is null).
    value: Option<ArrayRef>,
}

impl ConstantPage {
    /// Checks the layout against the page's buffers.
    pub fn new(
        layout: &pb::ConstantLayout,
        buffers: &[BufferRange],
        num_rows: u64,
        leaf_type: &DataType,
        version: FileVersion,
    ) -> Result<Self> {
        let ctx = PageContext::new(&layout.layers, leaf_type, num_rows, version)?;
        let (scalar, rep, def) = match buffers {
            [] => (None, None, None),
            [scalar] => (Some(*scalar), None, None),
            [rep, def] => (None, Some(*rep), Some(*def)),
            [scalar, rep, def] => (Some(*scalar), Some(*rep), Some(*def)),
            _ => {
                return Err(Error::corrupt(format!(
                    "constant page has {} buffers",
                    buffers.len()
                )));
            }
        };
        if layout.inline_value.as_ref().is_some_and(|v| v.len() > 32) {
            return Err(Error::corrupt(
                "constant page's inline value exceeds 32 bytes",
            ));
        }
        if version == FileVersion::V2_1 && (layout.inline_value.is_some() || scalar.is_some()) {
            return Err(Error::corrupt(
                "2.1 files have only all-null constant pages",
            ));
        }
        Ok(Self {
            ctx,
            layout: layout.clone(),
            scalar,
            rep,
            def,
            loaded: OnceLock::new(),
        })
    }

    /// The scalar and level buffers.
    pub fn metadata_ranges(&self) -> Vec<Range<u64>> {
        [self.scalar, self.rep, self.def]
            .into_iter()
            .flatten()
            .map(|b| b.range())
            .collect()
    }

    /// Whether [`load_metadata`](Self::load_metadata) has succeeded.
    pub fn metadata_loaded(&self) -> bool {
        self.loaded.get().is_some()
    }

    /// Parses and keeps the scalar and the levels.
    pub fn load_metadata(&self, bytes: Vec<Bytes>) -> Result<()> {
        let mut bytes = bytes.into_iter();
        let mut next = || {
            bytes
                .next()
                .ok_or_else(|| Error::internal("metadata bytes missing"))
        };
        let scalar = match self.scalar {
            Some(_) => Some(next()?),
            None => None,
        };
        let rep = match self.rep {
            Some(_) => self.levels(
                next()?,
                self.layout.rep_compression.as_ref(),
                self.layout.num_rep_values,
            )?,
            None => None,
        };
        let def = match self.def {
            Some(_) => self.levels(
                next()?,
                self.layout.def_compression.as_ref(),
                self.layout.num_def_values,
            )?,
            None => None,
        };
        let value = match (&self.layout.inline_value, scalar) {
            (Some(inline), _) => Some(self.inline_value(inline)?),
            (None, Some(bytes)) => Some(self.scalar_value(&bytes)?),
            (None, None) => None,
        };
        let _ = self.loaded.set(Loaded { rep, def, value });
        Ok(())
    }

    fn levels(
        &self,
        bytes: Bytes,
        compression: Option<&pb::CompressiveEncoding>,
        count: u64,
    ) -> Result<Option<Vec<u16>>> {
        if bytes.is_empty() {
            return Ok(None);
        }
        let count = match compression {
            Some(_) => {
                usize::try_from(count).map_err(|_| Error::corrupt("level count too large"))?
            }
            None => {
                if !bytes.len().is_multiple_of(2) {
                    return Err(Error::corrupt("raw levels are not whole u16 values"));
                }
                bytes.len() / 2
            }
        };
        Ok(Some(decode::levels(compression, bytes, count)?))
    }

    fn inline_value(&self, inline: &[u8]) -> Result<ArrayRef> {
        let leaf_type = &self.ctx.leaf_type;
        let data = if matches!(leaf_type, DataType::Boolean) {
            let bit = inline.first().is_some_and(|&b| b != 0);
            ArrayDataBuilder::new(DataType::Boolean)
                .len(1)
                .add_buffer(Buffer::from(vec![u8::from(bit)]))
                .build()?
        } else {
            ArrayDataBuilder::new(leaf_type.clone())
                .len(1)
                .add_buffer(Buffer::from(inline.to_vec()))
                .align_buffers(true)
                .build()?
        };
        Ok(make_array(data))
    }

    fn scalar_value(&self, bytes: &[u8]) -> Result<ArrayRef> {
        let word = |at: usize| -> Result<usize> {
            let b = bytes
                .get(at..at + 4)
                .ok_or_else(|| Error::corrupt("constant scalar buffer is cut short"))?;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let count = word(0)?;
        if count > 4 {
            return Err(Error::corrupt(format!(
                "constant scalar has {count} buffers"
            )));
        }
        let mut at = 4 + 4 * count;
        let mut buffers = Vec::with_capacity(count);
        for index in 0..count {
            let size = word(4 + 4 * index)?;
            let part = bytes
                .get(at..at.saturating_add(size))
                .ok_or_else(|| Error::corrupt("constant scalar buffer is cut short"))?;
            buffers.push(Buffer::from(part.to_vec()));
            at += size;
        }
        let data = ArrayDataBuilder::new(self.ctx.leaf_type.clone())
            .len(1)
            .buffers(buffers)
            .align_buffers(true)
            .build()?;
        Ok(make_array(data))
    }

    /// The rows of `ranges`.
    pub fn decode(&self, ranges: &[Range<u64>]) -> Result<LeafLevels> {
        let loaded = self
            .loaded
            .get()
            .ok_or_else(|| Error::internal("constant page was not loaded"))?;
        let num_entries = match (&loaded.rep, &loaded.def) {
            (Some(rep), _) => rep.len(),
            (None, Some(def)) => def.len(),
            (None, None) => {
                usize::try_from(self.ctx.num_rows).map_err(|_| Error::corrupt("too many rows"))?
            }
        };
        if loaded.def.as_ref().is_some_and(|d| d.len() != num_entries) {
            return Err(Error::corrupt(
                "constant page's rep and def levels differ in length",
            ));
        }
        let starts = row_starts(loaded.rep.as_deref(), self.ctx.codes.max_rep, num_entries);
        if starts.len() as u64 != self.ctx.num_rows {
            return Err(Error::corrupt(format!(
                "constant page's levels hold {} rows, the page says {}",
                starts.len(),
                self.ctx.num_rows
            )));
        }
        // Without levels, every row is a single entry: null for all-null pages.
        let implied_def = if loaded.value.is_none() {
            self.ctx.codes.max_def
        } else {
            0
        };
        let mut parts = Vec::with_capacity(ranges.len());
        for range in ranges {
            let row = |r: u64| -> Result<usize> {
                match starts.get(r as usize) {
                    Some(&entry) => Ok(entry),
                    None if r == self.ctx.num_rows => Ok(num_entries),
                    None => Err(Error::corrupt("row outside the constant page")),
                }
            };
            let (start, end) = (row(range.start)?, row(range.end)?);
            let rep = loaded.rep.as_ref().map(|r| r[start..end].to_vec());
            let def = match &loaded.def {
                Some(def) => Some(def[start..end].to_vec()),
                None if implied_def > 0 => Some(vec![implied_def; end - start]),
                None => None,
            };
            let visible = match &def {
                Some(def) => def
                    .iter()
                    .filter(|&&d| d <= self.ctx.max_visible_def)
                    .count(),
                None => end - start,
            };
            let values = match &loaded.value {
                None => new_null_array(&self.ctx.leaf_type, visible),
                Some(value) => {
                    let zeros = UInt32Array::from(vec![0u32; visible]);
                    arrow_select::take::take(value.as_ref(), &zeros, None)?
                }
            };
            parts.push(leaf_levels(&self.ctx, rep, def, values, end - start)?);
        }
        LeafLevels::concat(parts)
    }
}
