//! Decoding the offsets pages of format 2.0 list columns.
//!
//! A list column holds only offsets; the items live in the following column(s), paged on their
//! own. Each offsets page counts items from its own first item (offsets restart at 0 on every
//! page) and says how many items it refers to (`num_items`), so the reader can place the page's
//! items: page p's items start after the items of pages 0..p.

use std::ops::Range;

use arrow_buffer::BooleanBuffer;
use bytes::Bytes;

use crate::encodings::buffers::Fetched;
use crate::encodings::v2_0::decode::{Flat, plain_flat};
use crate::error::{Error, Result};
use crate::format::BufferRange;
use crate::format::pb::v2_0 as pb;

/// A 2.0 list offsets page, ready to plan reads and decode rows.
#[derive(Debug, Clone)]
pub struct ListPageDecoder {
    offsets: Flat,
    null_adjustment: u64,
    num_items: u64,
    num_rows: u64,
}

/// The decoded lists of some row ranges of an offsets page.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRows {
    /// Arrow-style offsets of the rows into the concatenation of `item_ranges`
    /// (one more entry than rows, starting at 0).
    pub offsets: Vec<u64>,
    /// Validity of each row, if any row is null.
    pub validity: Option<BooleanBuffer>,
    /// The items each row range refers to, relative to the page's first item.
    pub item_ranges: Vec<Range<u64>>,
}

impl ListPageDecoder {
    /// Checks a list page's encoding against its buffers.
    pub fn new(
        encoding: &pb::ArrayEncoding,
        buffers: &[BufferRange],
        num_rows: u64,
    ) -> Result<Self> {
        let Some(pb::array_encoding::ArrayEncoding::List(list)) = encoding.array_encoding.as_ref()
        else {
            return Err(Error::corrupt("list column page is not a list encoding"));
        };
        let offsets = plain_flat(list.offsets.as_deref(), buffers, num_rows, "list offsets")?;
        Ok(Self {
            offsets,
            null_adjustment: list.null_offset_adjustment,
            num_items: list.num_items,
            num_rows,
        })
    }

    /// The number of items the page's lists refer to.
    pub fn num_items(&self) -> u64 {
        self.num_items
    }

    /// The byte ranges to read for `ranges` (one entry before each range is included).
    pub fn plan(&self, ranges: &[Range<u64>]) -> Result<Vec<Range<u64>>> {
        ranges
            .iter()
            .map(|r| {
                if r.start >= r.end || r.end > self.num_rows {
                    return Err(Error::internal(format!(
                        "bad row range {r:?} for a page of {} rows",
                        self.num_rows
                    )));
                }
                Ok(self.offsets.byte_range(&(r.start.saturating_sub(1)..r.end)))
            })
            .collect()
    }

    /// Decodes the lists of `ranges` from the planned bytes.
    pub fn decode(&self, ranges: &[Range<u64>], fetched: &[Bytes]) -> Result<ListRows> {
        let mut fetched = Fetched::new(fetched);
        let adjustment = self.null_adjustment;
        let end_of = |raw: u64| {
            if adjustment == 0 {
                raw
            } else {
                raw % adjustment
            }
        };
        let mut offsets = vec![0u64];
        let mut validity = Vec::new();
        let mut any_null = false;
        let mut item_ranges = Vec::with_capacity(ranges.len());
        let mut base = 0u64;
        for range in ranges {
            let raw = self
                .offsets
                .unsigned(std::slice::from_ref(range), &mut fetched)?;
            let (start, rows) = if range.start > 0 {
                let (before, rest) = raw
                    .split_first()
                    .ok_or_else(|| Error::corrupt("list offsets buffer is short"))?;
                (end_of(*before), rest)
            } else {
                (0, raw.as_slice())
            };
            let mut previous = start;
            for &raw in rows {
                let end = end_of(raw);
                if end < previous {
                    return Err(Error::corrupt(format!(
                        "list offsets decrease ({previous} then {end})"
                    )));
                }
                let is_null = adjustment != 0 && raw >= adjustment;
                any_null |= is_null;
                validity.push(!is_null);
                offsets.push(base + (end - start));
                previous = end;
            }
            if previous > self.num_items {
                return Err(Error::corrupt(format!(
                    "list offsets reach item {previous} of a page with {} items",
                    self.num_items
                )));
            }
            item_ranges.push(start..previous);
            base += previous - start;
        }
        Ok(ListRows {
            offsets,
            validity: any_null.then(|| BooleanBuffer::from(validity)),
            item_ranges,
        })
    }
}
