//! Reading one page of a 2.1/2.2 leaf column, whatever its layout.
//!
//! A [`PageReader`] first names the small buffers it keeps for the reader's lifetime
//! ([`PageReader::metadata_ranges`]: mini-block chunk tables, repetition indices, dictionaries,
//! constant pages' levels), then reads rows in at most two rounds like the 2.0 decoders:
//! [`plan`](PageReader::plan), [`plan_second`](PageReader::plan_second), and
//! [`decode`](PageReader::decode), which returns the rows' levels and values.

use std::ops::Range;

use arrow_array::ArrayRef;
use arrow_schema::DataType;
use bytes::Bytes;

use crate::encodings::structural::blob::BlobPage;
use crate::encodings::structural::constant::ConstantPage;
use crate::encodings::structural::fullzip::FullZipPage;
use crate::encodings::structural::miniblock::MiniBlockPage;
use crate::encodings::structural::repdef::{Layer, LayerCodes, LeafLevels};
use crate::error::{Error, Result};
use crate::format::pb::v2_1 as pb;
use crate::format::{BufferRange, FileVersion};

/// What every layout needs to know about its page.
#[derive(Clone, Debug)]
pub struct PageContext {
    /// The rep/def layers, innermost first.
    pub layers: Vec<Layer>,
    /// Their codes and depths.
    pub codes: LayerCodes,
    /// Entries with a definition level up to this carry a value.
    pub max_visible_def: u16,
    /// The Arrow type of the leaf values.
    pub leaf_type: DataType,
    /// Top-level rows in the page.
    pub num_rows: u64,
    /// The file's version.
    pub version: FileVersion,
}

impl PageContext {
    /// Builds the context from a page's protobuf layers.
    pub fn new(
        layers: &[i32],
        leaf_type: &DataType,
        num_rows: u64,
        version: FileVersion,
    ) -> Result<Self> {
        let layers = layers
            .iter()
            .map(|&l| Layer::from_proto(l))
            .collect::<Result<Vec<_>>>()?;
        Self::from_layers(layers, leaf_type, num_rows, version)
    }

    /// Builds the context from layers (innermost first).
    pub fn from_layers(
        layers: Vec<Layer>,
        leaf_type: &DataType,
        num_rows: u64,
        version: FileVersion,
    ) -> Result<Self> {
        if layers.is_empty() {
            return Err(Error::corrupt("page has no rep/def layers"));
        }
        let codes = LayerCodes::new(&layers)?;
        let max_visible_def = match layers.iter().position(|l| l.is_list()) {
            Some(index) => codes.codes[index].first - 1,
            None => codes.max_def,
        };
        Ok(Self {
            layers,
            codes,
            max_visible_def,
            leaf_type: leaf_type.clone(),
            num_rows,
            version,
        })
    }

    /// Whether the page has repetition levels.
    pub fn has_rep(&self) -> bool {
        self.codes.max_rep > 0
    }
}

/// A page of a 2.1/2.2 leaf column; see the module docs.
#[derive(Debug)]
pub enum PageReader {
    /// Small values in compressed chunks.
    MiniBlock(Box<MiniBlockPage>),
    /// Large values stored one after another with their levels.
    FullZip(Box<FullZipPage>),
    /// All values null or equal.
    Constant(Box<ConstantPage>),
    /// Descriptions of values stored elsewhere in the file.
    Blob(Box<BlobPage>),
}

impl PageReader {
    /// Checks a page's layout against its buffers (`file_size` bounds what blob pages point at).
    pub fn new(
        layout: &pb::PageLayout,
        buffers: &[BufferRange],
        num_rows: u64,
        leaf_type: &DataType,
        version: FileVersion,
        file_size: u64,
    ) -> Result<Self> {
        use pb::page_layout::Layout;
        match layout.layout.as_ref() {
            Some(Layout::MiniBlockLayout(m)) => Ok(PageReader::MiniBlock(Box::new(
                MiniBlockPage::new(m, buffers, num_rows, leaf_type, version)?,
            ))),
            Some(Layout::FullZipLayout(f)) => Ok(PageReader::FullZip(Box::new(FullZipPage::new(
                f, buffers, num_rows, leaf_type, version,
            )?))),
            Some(Layout::ConstantLayout(c)) => Ok(PageReader::Constant(Box::new(
                ConstantPage::new(c, buffers, num_rows, leaf_type, version)?,
            ))),
            Some(Layout::BlobLayout(b)) => Ok(PageReader::Blob(Box::new(BlobPage::new(
                b, buffers, num_rows, leaf_type, version, file_size,
            )?))),
            None => Err(Error::corrupt("page layout has no variant")),
        }
    }

    /// Whether a read of consecutive rows becomes the values as it is, without a copy.
    pub fn decodes_in_place(&self) -> bool {
        match self {
            PageReader::FullZip(page) => page.decodes_in_place(),
            _ => false,
        }
    }

    /// The buffers to read once and keep (see the module docs).
    pub fn metadata_ranges(&self) -> Vec<Range<u64>> {
        match self {
            PageReader::MiniBlock(page) => page.metadata_ranges(),
            PageReader::FullZip(_) => Vec::new(),
            PageReader::Constant(page) => page.metadata_ranges(),
            PageReader::Blob(page) => page.metadata_ranges(),
        }
    }

    /// Whether the page's metadata is loaded (or it needs none).
    pub fn metadata_loaded(&self) -> bool {
        match self {
            PageReader::MiniBlock(page) => page.metadata_loaded(),
            PageReader::FullZip(_) => true,
            PageReader::Constant(page) => page.metadata_loaded(),
            PageReader::Blob(page) => page.metadata_loaded(),
        }
    }

    /// Keeps the bytes of [`metadata_ranges`](Self::metadata_ranges).
    pub fn load_metadata(&self, bytes: Vec<Bytes>) -> Result<()> {
        let loaded = match self {
            PageReader::MiniBlock(page) => page.load_metadata(bytes),
            PageReader::FullZip(_) => Ok(()),
            PageReader::Constant(page) => page.load_metadata(bytes),
            PageReader::Blob(page) => page.load_metadata(bytes),
        };
        // Dictionaries and constants are decoded into Arrow arrays here.
        loaded.map_err(Error::arrow_means_corrupt)
    }

    /// Round 1 for `ranges` (sorted, disjoint, non-empty rows of the page).
    pub fn plan(&self, ranges: &[Range<u64>]) -> Result<Vec<Range<u64>>> {
        match self {
            PageReader::MiniBlock(page) => page.plan(ranges),
            PageReader::FullZip(page) => page.plan(ranges),
            PageReader::Constant(_) => Ok(Vec::new()),
            PageReader::Blob(page) => page.plan(ranges),
        }
    }

    /// Round 2, from the round-1 bytes.
    pub fn plan_second(&self, ranges: &[Range<u64>], first: &[Bytes]) -> Result<Vec<Range<u64>>> {
        match self {
            PageReader::FullZip(page) => page.plan_second(ranges, first),
            PageReader::Blob(page) => page.plan_second(ranges, first),
            PageReader::MiniBlock(_) | PageReader::Constant(_) => Ok(Vec::new()),
        }
    }

    /// The levels and values of the rows of `ranges`.
    pub fn decode(
        &self,
        ranges: &[Range<u64>],
        first: &[Bytes],
        second: &[Bytes],
    ) -> Result<LeafLevels> {
        let levels = match self {
            PageReader::MiniBlock(page) => page.decode(ranges, first),
            PageReader::FullZip(page) => page.decode(ranges, first, second),
            PageReader::Constant(page) => page.decode(ranges),
            PageReader::Blob(page) => page.decode(ranges, first, second),
        };
        levels.map_err(Error::arrow_means_corrupt)
    }
}

/// The number of rows in `num_entries` level entries (what [`row_starts`] would list, counted
/// without building the list).
pub fn row_count(rep: Option<&[u16]>, max_rep: u16, num_entries: usize) -> usize {
    match rep {
        Some(rep) if max_rep > 0 => rep.iter().filter(|&&r| r == max_rep).count(),
        _ => num_entries,
    }
}

/// The entry index at which each row starts (rows start at entries with the maximum
/// repetition level; without repetition every entry is a row).
pub fn row_starts(rep: Option<&[u16]>, max_rep: u16, num_entries: usize) -> Vec<usize> {
    match rep {
        Some(rep) if max_rep > 0 => rep
            .iter()
            .enumerate()
            .filter(|(_, r)| **r == max_rep)
            .map(|(i, _)| i)
            .collect(),
        _ => (0..num_entries).collect(),
    }
}

/// The number of entries before `entry` that carry a value.
fn visible_before(def: Option<&[u16]>, max_visible_def: u16, entry: usize) -> usize {
    match def {
        None => entry,
        Some(def) => def[..entry]
            .iter()
            .filter(|&&d| d <= max_visible_def)
            .count(),
    }
}

/// Cuts entries `[start, end)` out of levels, with their values.
pub fn slice_entries(
    levels: &LeafLevels,
    start: usize,
    end: usize,
    ctx: &PageContext,
) -> Result<LeafLevels> {
    if start > end || end > levels.num_entries {
        return Err(Error::corrupt(
            "row boundaries fall outside the page's levels",
        ));
    }
    let def = levels.def.as_deref();
    let first_value = visible_before(def, ctx.max_visible_def, start);
    let last_value = first_value
        + match def {
            None => end - start,
            Some(def) => def[start..end]
                .iter()
                .filter(|&&d| d <= ctx.max_visible_def)
                .count(),
        };
    if last_value > levels.values.len() {
        return Err(Error::corrupt(
            "the page's levels claim more values than it holds",
        ));
    }
    Ok(LeafLevels {
        layers: levels.layers.clone(),
        rep: levels.rep.as_ref().map(|r| r[start..end].to_vec()),
        def: levels.def.as_ref().map(|d| d[start..end].to_vec()),
        values: levels.values.slice(first_value, last_value - first_value),
        num_entries: end - start,
    })
}

/// Where each row of some levels starts and how many values come before each entry: built
/// once, so that many row ranges can be cut from the same levels in time proportional to
/// their size.
#[derive(Debug)]
pub struct RowIndex {
    /// The first entry of each row (`None`: without repetition, row `i` is entry `i`).
    starts: Option<Vec<usize>>,
    /// Values carried by entries `0..i`, for `i` in `0..=num_entries` (`None`: one per entry).
    values_before: Option<Vec<usize>>,
}

impl RowIndex {
    /// Indexes `levels`.
    pub fn new(levels: &LeafLevels, ctx: &PageContext) -> Self {
        let repeated = levels.rep.is_some() && ctx.codes.max_rep > 0;
        let starts = repeated
            .then(|| row_starts(levels.rep.as_deref(), ctx.codes.max_rep, levels.num_entries));
        let values_before = levels.def.as_deref().map(|def| {
            let mut counts = Vec::with_capacity(def.len() + 1);
            let mut seen = 0;
            counts.push(0);
            for &d in def {
                seen += usize::from(d <= ctx.max_visible_def);
                counts.push(seen);
            }
            counts
        });
        Self {
            starts,
            values_before,
        }
    }

    /// Rows `rows` of the indexed `levels`.
    pub fn select(&self, levels: &LeafLevels, rows: Range<u64>) -> Result<LeafLevels> {
        let short = || Error::corrupt("a page holds fewer rows than its metadata says");
        let start_row =
            usize::try_from(rows.start).map_err(|_| Error::corrupt("row index too large"))?;
        let end_row =
            usize::try_from(rows.end).map_err(|_| Error::corrupt("row index too large"))?;
        let (start, end) = match &self.starts {
            None if end_row <= levels.num_entries => (start_row, end_row),
            None => return Err(short()),
            Some(starts) => {
                let start = *starts.get(start_row).ok_or_else(short)?;
                let end = match starts.get(end_row) {
                    Some(&entry) => entry,
                    None if end_row == starts.len() => levels.num_entries,
                    None => return Err(short()),
                };
                (start, end)
            }
        };
        if start > end || end > levels.num_entries {
            return Err(Error::corrupt(
                "row boundaries fall outside the page's levels",
            ));
        }
        let (first_value, last_value) = match &self.values_before {
            None => (start, end),
            Some(counts) => (counts[start], counts[end]),
        };
        if last_value > levels.values.len() {
            return Err(Error::corrupt(
                "the page's levels claim more values than it holds",
            ));
        }
        Ok(LeafLevels {
            layers: levels.layers.clone(),
            rep: levels.rep.as_ref().map(|r| r[start..end].to_vec()),
            def: levels.def.as_ref().map(|d| d[start..end].to_vec()),
            values: levels.values.slice(first_value, last_value - first_value),
            num_entries: end - start,
        })
    }
}

/// Checks that the entries carrying values match the number of values.
pub fn check_visible(levels: &LeafLevels, ctx: &PageContext) -> Result<()> {
    let visible = match levels.def.as_deref() {
        None => levels.num_entries,
        Some(def) => def.iter().filter(|&&d| d <= ctx.max_visible_def).count(),
    };
    if visible != levels.values.len() {
        return Err(Error::corrupt(format!(
            "{visible} entries carry values but {} values were decoded",
            levels.values.len()
        )));
    }
    Ok(())
}

/// Builds levels, checking that the counts agree.
pub fn leaf_levels(
    ctx: &PageContext,
    rep: Option<Vec<u16>>,
    def: Option<Vec<u16>>,
    values: ArrayRef,
    num_entries: usize,
) -> Result<LeafLevels> {
    if rep.as_ref().is_some_and(|r| r.len() != num_entries)
        || def.as_ref().is_some_and(|d| d.len() != num_entries)
    {
        return Err(Error::corrupt("rep/def level counts do not match"));
    }
    if ctx.has_rep() && rep.is_none() {
        return Err(Error::corrupt(
            "a page with list layers has no repetition levels",
        ));
    }
    if let Some(def) = &def
        && let Some(bad) = def.iter().find(|&&d| d > ctx.codes.max_def)
    {
        return Err(Error::corrupt(format!(
            "definition level {bad} exceeds the page's maximum {}",
            ctx.codes.max_def
        )));
    }
    if let Some(rep) = &rep
        && let Some(bad) = rep.iter().find(|&&r| r > ctx.codes.max_rep)
    {
        return Err(Error::corrupt(format!(
            "repetition level {bad} exceeds the page's maximum {}",
            ctx.codes.max_rep
        )));
    }
    let levels = LeafLevels {
        layers: ctx.layers.clone(),
        rep,
        def,
        values,
        num_entries,
    };
    check_visible(&levels, ctx)?;
    Ok(levels)
}
