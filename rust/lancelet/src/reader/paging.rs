//! Finding the pages that hold a set of rows.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::format::PageInfo;

/// The pages of one column with their first row numbers.
#[derive(Debug, Clone)]
pub(crate) struct Paging {
    /// First value of each page, plus the total at the end.
    starts: Vec<u64>,
}

impl Paging {
    pub(crate) fn new(pages: &[PageInfo]) -> Result<Self> {
        let mut starts = Vec::with_capacity(pages.len() + 1);
        let mut total = 0u64;
        starts.push(0);
        for page in pages {
            total = total
                .checked_add(page.num_rows)
                .ok_or_else(|| Error::corrupt("page row counts overflow"))?;
            starts.push(total);
        }
        Ok(Self { starts })
    }

    /// The first rows of every page but the first (where one page ends and the next begins).
    pub(crate) fn boundaries(&self) -> &[u64] {
        match self.starts.len() {
            0..=2 => &[],
            n => &self.starts[1..n - 1],
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Splits sorted ranges by page: `(page index, ranges relative to the page)` in order.
    pub(crate) fn split(&self, ranges: &[Range<u64>]) -> Vec<(usize, Vec<Range<u64>>)> {
        let mut out: Vec<(usize, Vec<Range<u64>>)> = Vec::new();
        for range in ranges {
            let mut start = range.start;
            while start < range.end {
                // The page holding `start`: the last page whose first row is <= start.
                let page = self
                    .starts
                    .partition_point(|&s| s <= start)
                    .saturating_sub(1);
                let (Some(&page_start), Some(&page_end)) =
                    (self.starts.get(page), self.starts.get(page + 1))
                else {
                    break;
                };
                let end = range.end.min(page_end);
                if end <= start {
                    break;
                }
                let relative = start - page_start..end - page_start;
                match out.last_mut() {
                    Some((last, ranges)) if *last == page => ranges.push(relative),
                    _ => out.push((page, vec![relative])),
                }
                start = end;
            }
        }
        out
    }
}
